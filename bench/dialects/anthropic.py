"""Anthropic Messages: events shaped like what api.anthropic.com sends today."""

from __future__ import annotations

from typing import Any

NAME = "anthropic"
WORDS = ["Hello", " world", ",", " this", " is", " a", " streamed", " token", ".", "\n"]


def wire_events(n: int) -> list[tuple[str | None, Any]]:
    message = {
        "model": "claude-sonnet-4-5-20250929",
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {
            "input_tokens": 25,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
            "output_tokens": 1,
            "service_tier": "standard",
        },
    }
    head: list[dict[str, Any]] = [
        {"type": "message_start", "message": message},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "ping"},
    ]
    tail: list[dict[str, Any]] = [
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {
                "input_tokens": 25,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "output_tokens": n,
            },
        },
        {"type": "message_stop"},
    ]
    deltas = [
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": WORDS[i % len(WORDS)]},
        }
        for i in range(max(n - len(head) - len(tail), 1))
    ]
    return [(e["type"], e) for e in (*head, *deltas, *tail)]


def sdk_accumulate(wire: list[tuple[str | None, Any]]) -> Any:
    """What ``client.messages.stream()`` does per event: build the event (loosely, as the SDK does
    when it reads a response), fold it into the message snapshot, build the helper events."""
    from anthropic._models import construct_type
    from anthropic.lib.streaming._messages import accumulate_event, build_events
    from anthropic.types import RawMessageStreamEvent

    snapshot = None
    json_bufs: dict[int, bytes] = {}
    for event, data in wire:
        if event == "ping":
            continue
        ev = construct_type(type_=RawMessageStreamEvent, value=data)
        snapshot = accumulate_event(event=ev, current_snapshot=snapshot, json_bufs=json_bufs)  # type: ignore[arg-type]
        build_events(event=ev, message_snapshot=snapshot)  # type: ignore[arg-type]
    return snapshot
