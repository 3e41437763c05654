"""Responses: one `*_output` item per result in `input` (only `apply_patch_call_output` has an error
flag, its `status`). Over the WebSocket the body is the `response.create` message: the same fields."""

from __future__ import annotations

from typing import Any

_OUTPUTS = ("function_call_output", "custom_tool_call_output", "apply_patch_call_output")


def results(body: dict[str, Any]) -> list[tuple[str, bool]]:
    return [
        (item.get("output") or "", item.get("status") == "failed")
        for item in body["input"]
        if isinstance(item, dict) and item.get("type") in _OUTPUTS
    ]


def images(body: dict[str, Any]) -> list[str]:
    """The base64 data of the ``input_image`` parts of the outputs given as lists."""
    return [
        part["image_url"].partition(";base64,")[2]
        for item in body["input"]
        if isinstance(item, dict) and item.get("type") in _OUTPUTS and isinstance(item.get("output"), list)
        for part in item["output"]
        if part.get("type") == "input_image"
    ]
