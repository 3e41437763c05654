"""The canonical events as plain dicts: their type names, and helpers that dialects, stages and
formats share (parsing tool arguments, expanding a ``message`` back into its events).

Stages work on plain dicts on the hot path and import this module, never pydantic. The same
vocabulary as pydantic models, for validation and ``streamkit schema``, is in
:mod:`streamkit.events`; a test checks that both name the same types and finish reasons.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

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


def parse_arguments(text: str) -> tuple[Any, str | None]:
    """Parse a tool call's JSON arguments: ``(input, None)`` or ``(None, error)``.

    Empty or blank text means "no arguments" and parses to ``{}`` (Anthropic and OpenAI both
    send that for tools without parameters).
    """
    if not text or text.isspace():
        return {}, None
    try:
        return orjson.loads(text), None
    except orjson.JSONDecodeError as exc:
        return None, f"arguments are not valid JSON: {str(exc).split(':', 1)[0]} at column {exc.colno}"


def with_choice(event: dict[str, Any], choice: int | None) -> dict[str, Any]:
    """Mark an event with its choice index (left out for choice 0)."""
    if choice:
        event["choice"] = choice
    return event


def message_to_events(message: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Expand an accumulated ``message`` back into the event sequence it stands for.

    Used by encoders and formats that receive only final messages (``accumulate --final |
    render -f anthropic``) and by ``serve --script``. The events are complete: text blocks have
    one delta each, tool calls their whole arguments.
    """
    choice = message.get("choice")
    start: dict[str, Any] = {"type": "start", "id": message.get("id"), "model": message.get("model")}
    if message.get("dialect"):
        start["dialect"] = message["dialect"]
    if message.get("provider_metadata"):
        start["provider_metadata"] = message["provider_metadata"]
    yield with_choice(start, choice)
    prefix = f"c{choice}." if choice else ""
    counters = {"text": 0, "reasoning": 0}
    for part in message.get("content") or ():
        kind = part.get("type")
        pm = part.get("provider_metadata")
        if kind in ("text", "reasoning"):
            block_id = f"{prefix}{kind}-{counters[kind]}"
            counters[kind] += 1
            start_ev: dict[str, Any] = {"type": f"{kind}-start", "id": block_id}
            if part.get("refusal"):
                start_ev["refusal"] = True
            if pm:
                start_ev["provider_metadata"] = pm  # encoders that open a block need it then
            yield with_choice(start_ev, choice)
            if part.get("text"):
                yield with_choice({"type": f"{kind}-delta", "id": block_id, "delta": part["text"]}, choice)
            end: dict[str, Any] = {"type": f"{kind}-end", "id": block_id, "text": part.get("text") or ""}
            if pm:
                end["provider_metadata"] = pm
            yield with_choice(end, choice)
        elif kind == "tool-call":
            call_id = part["tool_call_id"]
            arguments = part.get("arguments")
            if arguments is None:
                arguments = orjson.dumps(part.get("input") or {}).decode()
            tis: dict[str, Any] = {"type": "tool-input-start", "id": call_id, "tool_name": part["tool_name"]}
            if part.get("provider_executed"):
                tis["provider_executed"] = True
            if pm:
                tis["provider_metadata"] = pm
            yield with_choice(tis, choice)
            if arguments:
                yield with_choice({"type": "tool-input-delta", "id": call_id, "delta": arguments}, choice)
            yield with_choice({"type": "tool-input-end", "id": call_id}, choice)
            call = {k: v for k, v in part.items() if k != "type"}
            call["type"] = "tool-call"
            call["arguments"] = arguments
            if "input" not in part:
                call["input"], err = parse_arguments(arguments)
                if err:
                    call["input_error"] = err
            yield with_choice(call, choice)
        elif kind in ("tool-result", "source", "file"):
            ev = {k: v for k, v in part.items()}
            yield with_choice(ev, choice)
    finish: dict[str, Any] = {"type": "finish", "finish_reason": message.get("finish_reason") or "other"}
    if message.get("raw_finish_reason") is not None:
        finish["raw_finish_reason"] = message["raw_finish_reason"]
    if message.get("usage") is not None:
        finish["usage"] = message["usage"]
    yield with_choice(finish, choice)
