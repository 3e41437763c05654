"""Conformance over the real recordings in ../shared/fixtures/openai-assistants.

Skipped, with the reason, when the fixtures are absent. For every recording: normalize succeeds
with no error and no warning; every event validates against the event models; the result
accumulates to the same text and client tool calls as the deliberately simple accumulator below
(written from the wire format, sharing no code with streamkit); the re-encoded stream validates
event by event as the official SDK's ``AssistantStreamEvent`` and re-normalizes to the same
messages.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from openai.types.beta import AssistantStreamEvent
from pydantic import TypeAdapter

from streamkit.events import validate_event
from streamkit.stages.fetch import replay
from streamkit.stages.render import render
from tests.conftest import essence, events_of, fixture_files, messages

RECORDINGS = fixture_files("openai-assistants")


def simple_accumulate(path: Path) -> tuple[str, list[tuple[str, str, Any]]]:
    """All message text and every function call streamed in run steps, read off the SSE lines."""
    text: list[str] = []
    calls: dict[tuple[str, int], dict[str, Any]] = {}
    event = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("event:"):
            event = line[6:].strip()
            continue
        if not line.startswith("data:") or line[5:].strip() == "[DONE]":
            continue
        data = json.loads(line[5:])
        if event == "thread.message.delta":
            for part in data["delta"].get("content") or []:
                if part.get("type") == "text":
                    text.append((part.get("text") or {}).get("value") or "")
        elif event == "thread.run.step.delta":
            details = data["delta"].get("step_details") or {}
            for tc in details.get("tool_calls") or []:
                if tc.get("type") != "function":
                    continue
                call = calls.setdefault((data["id"], tc["index"]), {"id": None, "name": "", "args": ""})
                call["id"] = call["id"] or tc.get("id")
                call["name"] = call["name"] or (tc.get("function") or {}).get("name") or ""
                call["args"] += (tc.get("function") or {}).get("arguments") or ""
    return "".join(text), [(c["id"], c["name"], json.loads(c["args"] or "{}")) for c in calls.values()]


@pytest.mark.parametrize("path", RECORDINGS)
def test_recording(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = events_of(path)
    assert "warning" not in capsys.readouterr().err
    assert not [e for e in events if e["type"] == "error" and e.get("code") == "bad-input"]
    for event in events:
        validate_event(event)

    ours = messages(events)
    assert ours, "no message"
    text = "".join(
        p["text"] for m in ours for p in m["content"] if p["type"] == "text" and not p.get("refusal")
    )
    calls = [
        (p["tool_call_id"], p["tool_name"], p["input"])
        for m in ours
        for p in m["content"]
        if p["type"] == "tool-call" and not p.get("provider_executed")
    ]
    assert (text, calls) == simple_accumulate(path)

    wire = b"".join(render(iter(events), format="openai-assistants"))
    adapter: TypeAdapter[Any] = TypeAdapter(AssistantStreamEvent)
    for raw in replay(io.BytesIO(wire)):
        if raw["event"] == "done":
            assert raw["data"] == "[DONE]"
        else:
            adapter.validate_python({"event": raw["event"], "data": raw["data"]})
    again = messages(events_of(wire))
    assert [essence(m) for m in again] == [essence(m) for m in ours]


@pytest.mark.parametrize("path", RECORDINGS)
def test_finish_carries_what_a_continuation_needs(path: Path) -> None:
    """Every segment's finish names its thread and run (submit_tool_outputs needs both)."""
    for finish in (e for e in events_of(path) if e["type"] == "finish"):
        meta = finish["provider_metadata"]["openai-assistants"]
        assert meta["thread_id"].startswith("thread_") and meta["run_id"].startswith("run_")
        if finish["finish_reason"] == "tool-calls":
            assert meta["tool_call_ids"]
