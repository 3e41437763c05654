"""The Ollama dialect's shared vocabulary: its name, and the JSON writer the normalizer and the
request builder both use."""

from __future__ import annotations

from typing import Any

NAME = "ollama"


def _dumps(value: Any) -> str:
    from orjson import dumps

    return dumps(value).decode()
