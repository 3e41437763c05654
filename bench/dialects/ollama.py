"""Ollama: ``/api/chat`` NDJSON lines shaped like today's Ollama server lines.

The ollama Python client has no stream accumulator of its own (it hands out each line), so there
is no ``sdk_accumulate`` here.
"""

from __future__ import annotations

from typing import Any

NAME = "ollama"
WORDS = ["Hello", " world", ",", " this", " is", " a", " streamed", " token", ".", "\n"]


def line(i: int, content: str) -> dict[str, Any]:
    return {
        "model": "llama3.2",
        "created_at": f"2025-06-12T09:14:{i % 60:02d}.118622Z",
        "message": {"role": "assistant", "content": content},
        "done": False,
    }


def wire_events(n: int) -> list[tuple[str | None, Any]]:
    events: list[tuple[str | None, Any]] = [(None, line(i, WORDS[i % len(WORDS)])) for i in range(n - 1)]
    last = line(n, "")
    last.update(
        done=True,
        done_reason="stop",
        total_duration=412950708,
        load_duration=21347125,
        prompt_eval_count=26,
        prompt_eval_duration=98455000,
        eval_count=n,
        eval_duration=291034000,
    )
    events.append((None, last))
    return events
