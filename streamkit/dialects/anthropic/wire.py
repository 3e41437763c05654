"""The anthropic dialect's shared vocabulary: its name, the stop-reason table, the message
fields with a place of their own, and the anthropic part of an event's provider_metadata."""

from __future__ import annotations

from typing import Any

NAME = "anthropic"

FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool-calls",
    "refusal": "content-filter",
    "pause_turn": "other",
}

# message fields with a place of their own (the rest ride in start.provider_metadata)
_MESSAGE_FIELDS = frozenset(
    {
        "id",
        "type",
        "role",
        "model",
        "content",
        "stop_reason",
        "stop_sequence",
        "stop_details",
        "usage",
        "container",
    }
)
# message_delta.delta fields (the rest of the finish metadata goes at the event's top level)
_DELTA_FIELDS = ("stop_sequence", "stop_details", "container")


def _meta(event: dict[str, Any]) -> dict[str, Any]:
    """The anthropic part of an event's provider_metadata ({} when none)."""
    pm = event.get("provider_metadata")
    if not pm:
        return {}
    meta = pm.get(NAME)
    return meta if isinstance(meta, dict) else {}
