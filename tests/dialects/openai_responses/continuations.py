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
