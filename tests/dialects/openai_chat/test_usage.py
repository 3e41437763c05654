"""Chat Completions usage in canonical terms: ``output_tokens`` counts the reasoning tokens,
whether ``completion_tokens`` holds them (OpenAI) or not (xAI)."""

from __future__ import annotations

import pytest

from streamkit.dialects.openai_chat import map_usage
from tests.conftest import DATA, events_of, messages


def usage(prompt: int, completion: int, reasoning: int, total: int | None) -> dict:
    out = {"prompt_tokens": prompt, "completion_tokens": completion}
    if total is not None:
        out["total_tokens"] = total
    out["completion_tokens_details"] = {"reasoning_tokens": reasoning}
    return out


@pytest.mark.parametrize(
    ("raw", "output", "total"),
    [
        # OpenAI: completion_tokens includes the reasoning, the total is prompt + completion
        (usage(20, 300, 256, 320), 300, 320),
        (usage(20, 256, 256, 276), 256, 276),  # all of it reasoning (cut off while thinking)
        (usage(20, 300, 256, None), 300, None),  # no total: OpenAI's reading
        # xAI: reasoning counted apart, in the total only
        (usage(14, 1, 290, 305), 291, 305),
        (usage(14, 400, 290, 704), 690, 704),  # more answer than reasoning: the total says so
        (usage(14, 1, 290, None), 291, 305),  # smaller than the reasoning: it cannot hold it
        (usage(14, 1, 290, 15), 291, 305),  # a total that leaves it out too is made consistent
    ],
)
def test_output_tokens_always_count_the_reasoning(raw: dict, output: int, total: int | None) -> None:
    got = map_usage(raw)
    assert got["output_tokens"] == output
    assert got.get("total_tokens") == total
    assert got["reasoning_tokens"] == raw["completion_tokens_details"]["reasoning_tokens"]
    assert got["input_tokens"] == raw["prompt_tokens"]


def test_no_reasoning_or_odd_counts_are_taken_as_sent() -> None:
    assert map_usage({"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}) == {
        "input_tokens": 5,
        "output_tokens": 2,
        "total_tokens": 7,
    }
    zero = map_usage(usage(5, 2, 0, 7))
    assert (zero["output_tokens"], zero["total_tokens"]) == (2, 7)
    # no completion count at all: nothing to add the reasoning to
    assert map_usage({"completion_tokens_details": {"reasoning_tokens": 9}}) == {"reasoning_tokens": 9}


def test_an_xai_stream_reports_its_reasoning_in_the_output() -> None:
    events = events_of(DATA / "openai-chat" / "usage-reasoning-apart.sse")
    (message,) = messages(events)
    assert message["usage"] == {
        "input_tokens": 14,
        "output_tokens": 1 + 290,
        "total_tokens": 305,
        "cached_input_tokens": 6,
        "reasoning_tokens": 290,
    }
    raw = message["provider_metadata"]["openai-chat"]["usage"]
    assert raw["completion_tokens"] == 1  # the raw usage is kept as sent
