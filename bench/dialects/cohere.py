"""Cohere v2 chat streaming: events shaped like today's api.cohere.com stream (SSE events named
after each payload's ``type``; one text content block).

There is no ``sdk_accumulate``: the cohere SDK types each event but has no accumulator.
"""

from __future__ import annotations

from typing import Any

NAME = "cohere"
WORDS = ["Hello", " world", ",", " this", " is", " a", " streamed", " token", ".", "\n"]


def wire_events(n: int) -> list[tuple[str | None, Any]]:
    start = {
        "id": "c9117d7f-a7e4-499f-b643-a2a1e139687b",
        "type": "message-start",
        "delta": {
            "message": {
                "role": "assistant",
                "content": [],
                "tool_plan": "",
                "tool_calls": [],
                "citations": [],
            }
        },
    }
    content_start = {
        "type": "content-start",
        "index": 0,
        "delta": {"message": {"content": {"type": "text", "text": ""}}},
    }
    events: list[tuple[str | None, Any]] = [("message-start", start), ("content-start", content_start)]
    events += [
        (
            "content-delta",
            {
                "type": "content-delta",
                "index": 0,
                "delta": {"message": {"content": {"text": WORDS[i % len(WORDS)]}}},
            },
        )
        for i in range(n - 4)
    ]
    events.append(("content-end", {"type": "content-end", "index": 0}))
    usage = {
        "billed_units": {"input_tokens": 8, "output_tokens": n - 4},
        "tokens": {"input_tokens": 1394, "output_tokens": n},
        "cached_tokens": 1360,
    }
    events.append(
        ("message-end", {"type": "message-end", "delta": {"finish_reason": "COMPLETE", "usage": usage}})
    )
    return events
