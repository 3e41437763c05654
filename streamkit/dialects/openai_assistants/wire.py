"""What the openai-assistants modules share: the dialect's name, the tools the provider runs
itself, this dialect's part of an event's ``provider_metadata``, and the checks that wire data
is an object or a list (a ``DataError`` if not)."""

from __future__ import annotations

from typing import Any

from ...errors import DataError

NAME = "openai-assistants"

_EXECUTED = ("code_interpreter", "file_search")


def _meta(ev: dict[str, Any]) -> dict[str, Any]:
    pm = ev.get("provider_metadata")
    meta = pm.get(NAME) if isinstance(pm, dict) else None
    return meta if isinstance(meta, dict) else {}


def _obj(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise DataError(f"{what} is a {type(value).__name__}, expected an object")
    return value


def _list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise DataError(f"{what} is a {type(value).__name__}, expected a list")
    return value
