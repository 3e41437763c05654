"""Ollama: one ``tool`` role message per result, its output as ``content`` (no error flag in this
format)."""

from __future__ import annotations

from typing import Any


def results(body: dict[str, Any]) -> list[tuple[str, bool]]:
    return [(m["content"], False) for m in body["messages"] if m["role"] == "tool"]


def images(body: dict[str, Any]) -> list[str]:
    """The ``images`` of the ``tool`` messages."""
    return [image for m in body["messages"] if m["role"] == "tool" for image in m.get("images") or ()]
