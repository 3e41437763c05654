"""Conformance over the real Responses recordings in ../shared/fixtures/openai-responses (OpenAI,
xAI, DeepSeek, LM Studio, Bedrock "mantle").

Skipped, with the reason, when the fixtures are absent. For every recording: normalize succeeds
with no error and no warning; every event validates against the event models; each response
accumulates to the same text and client tool calls as the deliberately simple accumulator below
(written from the wire format, sharing no code with streamkit); the re-encoded stream validates
event by event as the official SDK's ``ResponseStreamEvent``, the SDK's own accumulator
(``ResponseStreamState``) ends each response with our text, and it re-normalizes to the same
messages.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from openai._types import omit
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types.responses import ResponseStreamEvent
from pydantic import TypeAdapter

from streamkit.events import validate_event
from streamkit.stages.fetch import replay
from streamkit.stages.render import render
from tests.conftest import essence, events_of, fixture_files, messages

RECORDINGS = fixture_files("openai-responses")
STREAM_EVENT: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)


def simple_accumulate(path: Path) -> list[tuple[str, list[tuple[str, Any]]]]:
    """Per response: the output_text deltas joined, and the client tool calls of the done items."""
    responses: list[tuple[list[str], list[tuple[str, Any]]]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("data:"):
            continue
        event = json.loads(line[5:])
        kind = event.get("type")
        if kind == "response.created" or not responses:
            responses.append(([], []))
        text, calls = responses[-1]
        if kind == "response.output_text.delta":
            text.append(event["delta"])
        elif kind == "response.output_item.done":
            item = event["item"]
            if item["type"] == "function_call":
                calls.append((item["name"], json.loads(item["arguments"] or "{}")))
            elif item["type"] == "custom_tool_call":
                calls.append((item["name"], {"input": item["input"]}))
            elif item["type"] == "apply_patch_call":
                calls.append(("apply_patch", item["operation"]))
    return [("".join(text), calls) for text, calls in responses]


def summary(message: dict) -> tuple[str, list[tuple[str, Any]]]:
    text = "".join(p["text"] for p in message["content"] if p["type"] == "text" and not p.get("refusal"))
    calls = [
        (p["tool_name"], p["input"])
        for p in message["content"]
        if p["type"] == "tool-call" and not p.get("provider_executed")
    ]
    return text, calls


@pytest.mark.parametrize("path", RECORDINGS)
def test_recording(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = events_of(path)
    assert "warning" not in capsys.readouterr().err
    assert not [e for e in events if e["type"] == "error" and e.get("code") == "bad-input"]
    for event in events:
        validate_event(event)

    ours = messages(events)
    assert ours, "no message"
    assert [summary(m) for m in ours] == simple_accumulate(path)

    wire = b"".join(render(iter(events), format="openai-responses"))
    responses: list[list[Any]] = []
    for raw in replay(io.BytesIO(wire)):
        data = raw["data"]
        assert raw["event"] == data["type"]
        if data["type"] == "response.created":
            responses.append([])
        responses[-1].append(STREAM_EVENT.validate_python(data))
    for message, response in zip(ours, responses, strict=True):
        state = ResponseStreamState(input_tools=omit, text_format=omit)
        for event in response:
            state.handle_event(event)
        final = state._completed_response
        assert final is not None and final.output_text == summary(message)[0]
    again = messages(events_of(wire))
    assert [essence(m) for m in again] == [essence(m) for m in ours]
