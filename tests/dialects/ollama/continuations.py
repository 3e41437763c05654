"""Ollama: one ``tool`` role message per result, its output as ``content`` (no error flag in this
format)."""

from __future__ import annotations

from typing import Any


def results(body: dict[str, Any]) -> list[tuple[str, bool]]:
    return [(m["content"], False) for m in body["messages"] if m["role"] == "tool"]
