"""OpenAI Responses API: events shaped like today's api.openai.com stream (sequence_number,
obfuscation, empty logprobs on every text delta)."""

from __future__ import annotations

from typing import Any

NAME = "openai-responses"
WORDS = ["Hello", " world", ",", " this", " is", " a", " streamed", " token", ".", "\n"]
RESPONSE_ID = "resp_0fe8ac2aae18ca0c0069c71b458dc08196b8cfdab19209e88f"
ITEM_ID = "msg_0fe8ac2aae18ca0c0069c71b4694fc819683c9cbd80f829110"


def response(status: str, output: list[Any], usage: Any = None) -> dict[str, Any]:
    return {
        "id": RESPONSE_ID,
        "object": "response",
        "created_at": 1774656325,
        "status": status,
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "max_output_tokens": None,
        "model": "gpt-4.1-nano-2025-04-14",
        "output": output,
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "service_tier": "default",
        "store": True,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": usage,
        "metadata": {},
    }


def wire_events(n: int) -> list[tuple[str | None, Any]]:
    seq = iter(range(n + 10))
    ids = {"item_id": ITEM_ID, "output_index": 0, "content_index": 0}

    def ev(kind: str, **fields: Any) -> tuple[str | None, Any]:
        return (kind, {"type": kind, "sequence_number": next(seq), **fields})

    deltas = [WORDS[i % len(WORDS)] for i in range(n - 8)]
    text = "".join(deltas)
    part = {"type": "output_text", "annotations": [], "logprobs": [], "text": text}
    item = {"id": ITEM_ID, "type": "message", "status": "completed", "content": [part], "role": "assistant"}
    usage = {
        "input_tokens": 12,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": len(deltas),
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 12 + len(deltas),
    }
    events = [
        ev("response.created", response=response("in_progress", [])),
        ev("response.in_progress", response=response("in_progress", [])),
        ev(
            "response.output_item.added",
            output_index=0,
            item={**item, "status": "in_progress", "content": []},
        ),
        ev("response.content_part.added", **ids, part={**part, "text": ""}),
    ]
    events += [
        ev("response.output_text.delta", **ids, delta=d, logprobs=[], obfuscation="Qup1BsQ3"[: 1 + i % 8])
        for i, d in enumerate(deltas)
    ]
    events += [
        ev("response.output_text.done", **ids, text=text, logprobs=[]),
        ev("response.content_part.done", **ids, part=part),
        ev("response.output_item.done", output_index=0, item=item),
        ev("response.completed", response=response("completed", [item], usage)),
    ]
    return events


def sdk_accumulate(wire: list[tuple[str | None, Any]]) -> Any:
    from openai._types import omit
    from openai.lib.streaming.responses._responses import ResponseStreamState
    from openai.types.responses import ResponseStreamEvent
    from pydantic import TypeAdapter

    adapter: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
    state: ResponseStreamState[Any] = ResponseStreamState(input_tools=omit, text_format=omit)
    for _, data in wire:
        state.handle_event(adapter.validate_python(data))
    return state._completed_response
