"""Cohere v2 chat's vocabulary, shared by the normalizer and the encoder: event types, finish
reasons, usage both ways."""

from __future__ import annotations

from typing import Any

NAME = "cohere"

TYPES = frozenset(
    {
        "message-start",
        "content-start",
        "content-delta",
        "content-end",
        "tool-plan-delta",
        "tool-call-start",
        "tool-call-delta",
        "tool-call-end",
        "citation-start",
        "citation-end",
        "message-end",
        "debug",
    }
)

FINISH_REASONS = {
    "COMPLETE": "stop",
    "STOP_SEQUENCE": "stop",
    "MAX_TOKENS": "length",
    "TOOL_CALL": "tool-calls",
    "ERROR": "error",
    "TIMEOUT": "error",
    "ERROR_TOXIC": "content-filter",
}
WIRE_FINISH_REASONS = {
    "stop": "COMPLETE",
    "length": "MAX_TOKENS",
    "tool-calls": "TOOL_CALL",
    "error": "ERROR",
    "content-filter": "ERROR_TOXIC",
}

_TOOL_PLAN = {NAME: {"tool_plan": True}}


def map_usage(usage: dict[str, Any]) -> dict[str, Any]:
    """Cohere usage → canonical usage: the tokens processed (else those billed), cache hits."""
    out: dict[str, Any] = {}
    tokens = usage.get("tokens")
    billed = usage.get("billed_units")
    counts = tokens if isinstance(tokens, dict) and tokens else billed if isinstance(billed, dict) else {}
    for key in ("input_tokens", "output_tokens"):
        if isinstance(counts.get(key), (int, float)):
            out[key] = int(counts[key])
    if isinstance(usage.get("cached_tokens"), (int, float)):
        out["cached_input_tokens"] = int(usage["cached_tokens"])
    return out


def wire_usage(usage: dict[str, Any]) -> dict[str, Any]:
    """Canonical usage → Cohere usage."""
    tokens = {
        "input_tokens": usage.get("input_tokens") or 0,
        "output_tokens": usage.get("output_tokens") or 0,
    }
    out: dict[str, Any] = {"billed_units": dict(tokens), "tokens": tokens}
    if usage.get("cached_input_tokens") is not None:
        out["cached_tokens"] = usage["cached_input_tokens"]
    return out
