"""OpenAI Chat Completions: chunks shaped like today's api.openai.com chunks."""

from __future__ import annotations

from typing import Any

NAME = "openai-chat"
WORDS = ["Hello", " world", ",", " this", " is", " a", " streamed", " token", ".", "\n"]


def chunk(i: int, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-D8Z5oo6uDh67AD85p73ksdT1KxhE0",
        "object": "chat.completion.chunk",
        "created": 1770933892,
        "model": "gpt-4.1-nano-2025-04-14",
        "service_tier": "default",
        "system_fingerprint": "fp_de604bd877",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        "usage": None,
        "obfuscation": "Qup1BsQ3"[: 1 + i % 8],
    }


def wire_events(n: int) -> list[tuple[str | None, Any]]:
    events: list[tuple[str | None, Any]] = [
        (None, chunk(0, {"role": "assistant", "content": "", "refusal": None}))
    ]
    events += [(None, chunk(i, {"content": WORDS[i % len(WORDS)]})) for i in range(n - 2)]
    events.append((None, chunk(n, {}, "stop")))
    events.append((None, "[DONE]"))
    return events


def sdk_accumulate(wire: list[tuple[str | None, Any]]) -> Any:
    from openai.lib.streaming.chat import ChatCompletionStreamState
    from openai.types.chat import ChatCompletionChunk

    state = ChatCompletionStreamState()
    for _, data in wire:
        if isinstance(data, dict):
            state.handle_chunk(ChatCompletionChunk.model_validate(data))
    return state.get_final_completion()
