"""Chat Completions: one `tool` message per result (no error flag in this format)."""

from __future__ import annotations

from typing import Any


def results(body: dict[str, Any]) -> list[tuple[str, bool]]:
    return [(m["content"], False) for m in body["messages"] if m["role"] == "tool"]


def images(body: dict[str, Any]) -> list[str]:
    """The base64 data of the images a result carried: a tool message takes text only, so they are
    in the user turn right after the results (``image_url`` data URLs)."""
    out = []
    for i, message in enumerate(body["messages"]):
        if message["role"] != "user" or not i or body["messages"][i - 1]["role"] != "tool":
            continue
        for part in message["content"] if isinstance(message["content"], list) else ():
            if part.get("type") == "image_url":
                out.append(part["image_url"]["url"].partition(";base64,")[2])
    return out
