"""The canonical event type names as plain constants, for stages that must not import pydantic.

:mod:`streamkit.events` holds the models; a test checks that both name the same types.
"""

from __future__ import annotations

CANONICAL_TYPES: frozenset[str] = frozenset(
    {
        "raw",
        "start",
        "text-start",
        "text-delta",
        "text-end",
        "reasoning-start",
        "reasoning-delta",
        "reasoning-end",
        "tool-input-start",
        "tool-input-delta",
        "tool-input-end",
        "tool-call",
        "tool-approval-request",
        "tool-approval-response",
        "tool-result",
        "source",
        "file",
        "finish",
        "error",
        "message",
        "start-step",
        "finish-step",
    }
)

FINISH_REASONS: tuple[str, ...] = ("stop", "length", "tool-calls", "content-filter", "error", "other")

USAGE_FIELDS: tuple[str, ...] = (
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cached_input_tokens",
    "reasoning_tokens",
)
