"""What the openai-assistants modules share: the dialect's name, the tools the provider runs
itself, and this dialect's part of an event's ``provider_metadata``."""

from __future__ import annotations

from typing import Any

NAME = "openai-assistants"

_EXECUTED = ("code_interpreter", "file_search")


def _meta(ev: dict[str, Any]) -> dict[str, Any]:
    pm = ev.get("provider_metadata")
    meta = pm.get(NAME) if isinstance(pm, dict) else None
    return meta if isinstance(meta, dict) else {}
