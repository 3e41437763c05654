"""Anthropic: one ``tool_result`` block per result in a user message (``content`` a string or a list
of text blocks), with its ``is_error`` flag (absent means false)."""

from __future__ import annotations

from typing import Any


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(
        b.get("text") or "" for b in content or () if isinstance(b, dict) and b.get("type") == "text"
    )


def results(body: dict[str, Any]) -> list[tuple[str, bool]]:
    return [
        (_text(block.get("content")), bool(block.get("is_error", False)))
        for message in body["messages"]
        if message["role"] == "user" and isinstance(message["content"], list)
        for block in message["content"]
        if isinstance(block, dict) and block.get("type") == "tool_result"
    ]


def images(body: dict[str, Any]) -> list[str]:
    """The base64 data of the ``image`` blocks inside the ``tool_result`` blocks."""
    return [
        inner["source"]["data"]
        for message in body["messages"]
        if message["role"] == "user" and isinstance(message["content"], list)
        for block in message["content"]
        if isinstance(block, dict)
        and block.get("type") == "tool_result"
        and isinstance(block.get("content"), list)
        for inner in block["content"]
        if inner.get("type") == "image"
    ]
