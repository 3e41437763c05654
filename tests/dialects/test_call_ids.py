"""The ids a normalizer makes for tool calls that came without one: ``call_0``, ``call_1``... after
its ``call_id_prefix`` (``serve --upstream`` gives each response's normalizer a prefix of its own)."""

from __future__ import annotations

from typing import Any

import pytest

from streamkit.plugins import default_registry

#: a stream of each dialect whose two tool calls carry no id
STREAMS: dict[str, list[Any]] = {
    "ollama": [
        {"model": "m", "message": {"role": "assistant", "content": "", "tool_calls": [
            {"function": {"name": "f", "arguments": {}}}, {"function": {"name": "g", "arguments": {"a": 1}}}]},
         "done": False},
        {"model": "m", "message": {"role": "assistant", "content": ""}, "done": True, "done_reason": "stop"},
    ],
    "gemini": [
        {"candidates": [{"content": {"role": "model", "parts": [
            {"functionCall": {"name": "f", "args": {}}}, {"functionCall": {"name": "g", "args": {"a": 1}}}]},
            "finishReason": "STOP"}]},
    ],
    "openai-chat": [
        {"id": "c", "object": "chat.completion.chunk", "model": "m", "choices": [{"index": 0, "delta": {
            "role": "assistant", "tool_calls": [{"index": 0, "function": {"name": "f", "arguments": "{}"}},
                                                {"index": 1, "function": {"name": "g", "arguments": "{}"}}]}}]},
        {"id": "c", "object": "chat.completion.chunk", "model": "m",
         "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
    ],
    "anthropic": [
        {"type": "message_start", "message": {"id": "msg", "model": "m", "role": "assistant", "content": [],
                                              "usage": {"input_tokens": 1, "output_tokens": 1}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "name": "f", "input": {}}},
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "name": "g", "input": {}}},
        {"type": "content_block_stop", "index": 1},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 2}},
        {"type": "message_stop"},
    ],
}  # fmt: skip


def call_ids(dialect: str, prefix: str | None) -> list[str]:
    normalizer = default_registry().dialect(dialect).normalizer()
    if prefix is not None:
        normalizer.call_id_prefix = prefix
    events = [e for data in STREAMS[dialect] for e in normalizer.feed(data, None) or ()]
    events += normalizer.close()
    return [e["tool_call_id"] for e in events if e["type"] == "tool-call"]


@pytest.mark.parametrize("dialect", STREAMS)
def test_made_up_ids_follow_the_prefix(dialect: str) -> None:
    assert call_ids(dialect, None) == ["call_0", "call_1"]  # stable, for a recording converted again
    assert call_ids(dialect, "call_5f3a9c1e_") == ["call_5f3a9c1e_0", "call_5f3a9c1e_1"]
