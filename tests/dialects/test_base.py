"""What the encoders share from ``dialects/base.py``, and what they make of values a command would
refuse but a caller in process may hand them: a ``created`` that is no time, a dialect's metadata
of the wrong kind. They write what they can (now's time; the metadata left out), never crash."""

from __future__ import annotations

import io
from typing import Any

import orjson
import pytest

from streamkit.canonical import EPOCH_RANGE
from streamkit.dialects.base import unix_seconds, unix_time
from streamkit.plugins import default_registry
from streamkit.stages.render import render

NOW = 1_700_000_000  # (the steady fixture's clock)
TEXT = [
    {"type": "text-start", "id": "t"},
    {"type": "text-delta", "id": "t", "delta": "hi"},
    {"type": "text-end", "id": "t"},
    {"type": "finish", "finish_reason": "stop", "usage": {"input_tokens": 3, "output_tokens": 1}},
]


@pytest.mark.parametrize(
    ("created", "expected"),
    [
        (1_600_000_000, 1_600_000_000),
        (1_600_000_000.75, 1_600_000_000.75),
        (0, 0),
        (EPOCH_RANGE[0], EPOCH_RANGE[0]),
        (EPOCH_RANGE[1], None),  # (the year 10000)
        (1e300, None),
        (-1e20, None),
        (True, None),
        ("1600000000", None),
        (None, None),
    ],
)
def test_a_unix_time_is_a_number_a_wire_format_can_write(created: Any, expected: Any) -> None:
    assert unix_time(created) == expected


def test_unix_seconds_is_whole_and_now_when_there_is_no_time(steady: Any) -> None:
    assert unix_seconds(1_600_000_000.75) == 1_600_000_000
    assert unix_seconds(1e300) == unix_seconds("soon") == unix_seconds(None) == NOW


def _wire(events: list[dict[str, Any]], name: str) -> bytes:
    return b"".join(render(iter(events), format=name))


@pytest.mark.parametrize("name", sorted(default_registry().dialect_entries()))
def test_every_encoder_writes_a_start_whose_created_is_no_time(name: str, steady: Any) -> None:
    start = {"type": "start", "id": "r1", "model": "m"}
    for created in (1e300, -1e20, 253402300800):
        wire = _wire([{**start, "created": created}, *TEXT], name)
        assert b"hi" in wire or name == "bedrock", wire  # (Bedrock's frames hold the text in base64)
        assert str(int(created)).encode() not in wire


def test_chat_writes_a_created_it_can_and_now_for_one_it_cannot(steady: Any) -> None:
    def created_of(created: Any) -> set[int]:
        wire = _wire([{"type": "start", "id": "r1", "model": "m", "created": created}, *TEXT], "openai-chat")
        chunks = [orjson.loads(line[6:]) for line in wire.split(b"\n\n") if line.startswith(b"data: {")]
        return {chunk["created"] for chunk in chunks}

    assert created_of(1_600_000_000.5) == {1_600_000_000}
    assert created_of(1e300) == {NOW}


def test_ollama_keeps_a_fraction_of_a_second_and_writes_now_for_no_time(steady: Any) -> None:
    def created_at(created: Any) -> str:
        wire = _wire([{"type": "start", "id": "r1", "model": "m", "created": created}, *TEXT], "ollama")
        return orjson.loads(wire.splitlines()[0])["created_at"]

    assert created_at(1_600_000_000.5) == "2020-09-13T12:26:40.500000Z"
    assert created_at(1e300) == "2023-11-14T22:13:20Z"


def test_chat_drops_an_executed_tools_metadata_that_is_no_object(capsys: pytest.CaptureFixture[str]) -> None:
    meta = {"openai-chat": {"executed_tool": 1.5}}
    call = {"type": "tool-call", "tool_call_id": "c1", "tool_name": "search", "arguments": "{}",
            "provider_executed": True, "provider_metadata": meta}  # fmt: skip
    result = {"type": "tool-result", "tool_call_id": "c1", "tool_name": "search", "output": "ok",
              "provider_executed": True, "provider_metadata": meta}  # fmt: skip
    wire = _wire([{"type": "start", "id": "r1", "model": "m"}, call, result, *TEXT], "openai-chat")
    assert b"executed_tools" not in wire
    err = capsys.readouterr().err
    assert "openai-chat cannot express provider-executed tool calls (1); dropped" in err
    assert "openai-chat cannot express provider-executed tool results (1); dropped" in err


@pytest.mark.parametrize(
    "raw",
    [
        {"input_tokens": "3", "output_tokens": 1},
        {"input_tokens": 3, "output_tokens": 1, "input_tokens_details": [1]},
        {"input_tokens": 3, "output_tokens": 1, "output_tokens_details": 7},
        {"input_tokens": 3, "output_tokens": True},
    ],
)
def test_responses_builds_the_usage_from_the_canonical_one_when_the_kept_one_is_no_usage(raw: dict) -> None:
    finish = {**TEXT[-1], "provider_metadata": {"openai-responses": {"usage": raw}}}
    wire = _wire([{"type": "start", "id": "r1", "model": "m"}, *TEXT[:-1], finish], "openai-responses")
    completed = [
        orjson.loads(line[6:])
        for line in io.BytesIO(wire).read().split(b"\n")
        if line.startswith(b"data: ") and b'"response.completed"' in line
    ]
    usage = completed[0]["response"]["usage"]
    assert (usage["input_tokens"], usage["output_tokens"], usage["total_tokens"]) == (3, 1, 4)
    assert usage["input_tokens_details"]["cached_tokens"] == 0


def test_responses_leaves_out_logprobs_that_are_no_list() -> None:
    deltas = [{**TEXT[1], "provider_metadata": {"openai-responses": {"logprobs": 1.5}}}] * 2
    events = [{"type": "start", "id": "r1", "model": "m"}, TEXT[0], *deltas, *TEXT[2:]]
    wire = _wire(events, "openai-responses")
    data = [orjson.loads(line[6:]) for line in wire.split(b"\n") if line.startswith(b"data: ")]
    assert [d["logprobs"] for d in data if d["type"] == "response.output_text.delta"] == [[], []]
    done = [d for d in data if d["type"] == "response.output_text.done"]
    assert done[0]["text"] == "hihi" and done[0]["logprobs"] == []
