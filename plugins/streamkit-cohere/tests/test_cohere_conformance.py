"""Conformance over the real Cohere recordings in ../shared/fixtures/cohere.

Skipped, with the reason, when the fixtures are absent. For every recording: normalize succeeds
with no error and no warning; every event validates against the event models; the result
accumulates to the same text and tool calls as the deliberately simple accumulator below
(written from the wire format, sharing no code with streamkit); the re-encoded stream
re-normalizes to the same messages and validates against the official SDK's types (when the
cohere SDK is installed).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cohere_helpers import encode, essence, events_of, messages, recordings, validate_with_sdk

from streamkit.events import validate_event

RECORDINGS = recordings("cohere")


def simple_accumulate(path: Path) -> list[tuple[str, list[tuple[str, Any]]]]:
    """Per response: the text and the tool calls, read straight off the SSE `data:` lines."""
    responses: list[tuple[list[str], dict[int, list[str]]]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("data:"):
            continue
        event = json.loads(line[5:])
        kind = event["type"]
        if kind == "message-start":
            responses.append(([], {}))
        text, calls = responses[-1]
        if kind == "content-delta":
            text.append(event["delta"]["message"]["content"].get("text") or "")
        elif kind == "tool-call-start":
            function = event["delta"]["message"]["tool_calls"]["function"]
            calls[event["index"]] = [function["name"], function.get("arguments") or ""]
        elif kind == "tool-call-delta":
            calls[event["index"]][1] += event["delta"]["message"]["tool_calls"]["function"]["arguments"]
    return [
        ("".join(text), [(name, json.loads(args or "{}")) for name, args in calls.values()])
        for text, calls in responses
    ]


@pytest.mark.parametrize("path", RECORDINGS)
def test_recording(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = events_of(path)
    assert "warning" not in capsys.readouterr().err
    assert not [e for e in events if e["type"] == "error"]
    for event in events:
        validate_event(event)
    assert {e["dialect"] for e in events if e["type"] == "start"} == {"cohere"}

    ours = messages(events)
    summary = [
        (
            "".join(p["text"] for p in m["content"] if p["type"] == "text"),
            [(p["tool_name"], p["input"]) for p in m["content"] if p["type"] == "tool-call"],
        )
        for m in ours
    ]
    assert summary == simple_accumulate(path)
    assert all(m["usage"]["output_tokens"] > 0 for m in ours)

    again = messages(events_of(encode(events)))
    assert [essence(m) for m in again] == [essence(m) for m in ours]
    assert [m["content"] for m in again] == [m["content"] for m in ours]  # the tool plan mark too


@pytest.mark.parametrize("path", RECORDINGS)
def test_reencoded_recording_validates_with_the_sdk(path: Path) -> None:
    validate_with_sdk(encode(events_of(path)))
