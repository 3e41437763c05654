"""Gemini: ``alt=sse`` chunks shaped like today's generativelanguage.googleapis.com chunks.

google-genai has no stream accumulator of its own (it hands out each chunk), so there is no
``sdk_accumulate`` here.
"""

from __future__ import annotations

from typing import Any

NAME = "gemini"
WORDS = ["Hello", " world", ",", " this", " is", " a", " streamed", " token", ".", "\n"]


def chunk(i: int, parts: list[dict[str, Any]], finish: str | None = None) -> dict[str, Any]:
    cand: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
    if finish:
        cand = {"content": cand["content"], "finishReason": finish, "index": 0}
    usage: dict[str, Any] = {
        "promptTokenCount": 18,
        "candidatesTokenCount": i,
        "totalTokenCount": 18 + i + 35,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 18}],
        "thoughtsTokenCount": 35,
    }
    return {
        "candidates": [cand],
        "usageMetadata": usage,
        "modelVersion": "gemini-2.5-flash",
        "responseId": "ru1garvBEoOiqtsP2fznmQw",
    }


def wire_events(n: int) -> list[tuple[str | None, Any]]:
    events: list[tuple[str | None, Any]] = [
        (None, chunk(i, [{"text": WORDS[i % len(WORDS)]}])) for i in range(n - 1)
    ]
    events.append((None, chunk(n, [{"text": ""}], "STOP")))
    return events
