"""ConverseStream's vocabulary, shared by the normalizer and the encoder: event and exception
names, stop reasons, usage both ways."""

from __future__ import annotations

from typing import Any

NAME = "bedrock"

EVENTS = frozenset(
    {
        "messageStart",
        "contentBlockStart",
        "contentBlockDelta",
        "contentBlockStop",
        "messageStop",
        "metadata",
    }
)
#: exception event -> retryable
EXCEPTIONS = {
    "internalServerException": True,
    "modelStreamErrorException": False,
    "validationException": False,
    "throttlingException": True,
    "serviceUnavailableException": True,
}

FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool-calls",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "guardrail_intervened": "content-filter",
    "content_filtered": "content-filter",
}
WIRE_FINISH_REASONS = {
    "stop": "end_turn",
    "tool-calls": "tool_use",
    "length": "max_tokens",
    "content-filter": "content_filtered",
}
#: the stop reasons of the ConverseStream API (others are not written)
STOP_REASONS = frozenset({*FINISH_REASONS, "malformed_model_output", "malformed_tool_use"})

_FINISH_FIELDS = ("metrics", "trace", "performanceConfig", "serviceTier")
_IMAGE_FORMATS = frozenset({"png", "jpeg", "gif", "webp"})


def map_usage(usage: dict[str, Any]) -> dict[str, Any]:
    """Bedrock usage → canonical usage (fields Bedrock did not send are left out)."""
    out: dict[str, Any] = {}
    get = usage.get
    if isinstance(count := get("inputTokens"), int):
        out["input_tokens"] = count
    if isinstance(count := get("outputTokens"), int):
        out["output_tokens"] = count
    if isinstance(count := get("totalTokens"), int):
        out["total_tokens"] = count
    if isinstance(count := get("cacheReadInputTokens"), int):
        out["cached_input_tokens"] = count
    return out


def wire_usage(usage: dict[str, Any]) -> dict[str, Any]:
    """Canonical usage → Bedrock usage (the three counts it always sends, plus cache reads)."""
    inp = usage.get("input_tokens") or 0
    outp = usage.get("output_tokens") or 0
    out = {
        "inputTokens": inp,
        "outputTokens": outp,
        "totalTokens": usage.get("total_tokens") or inp + outp,
    }
    if usage.get("cached_input_tokens") is not None:
        out["cacheReadInputTokens"] = usage["cached_input_tokens"]
    return out
