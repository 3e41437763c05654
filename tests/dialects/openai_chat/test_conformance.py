"""Conformance over the real recordings in ../shared/fixtures (openai-chat and mistral).

Skipped, with the reason, when the fixtures are absent. For every recording:
normalize succeeds with no error and no warning; the result accumulates to the same text and
tool calls as the deliberately simple accumulator below (written from the wire format, sharing
no code with streamkit); every event validates against the event models; the re-encoded stream
re-normalizes to the same message; every re-encoded chunk validates as the official SDK's
``ChatCompletionChunk``.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from openai.types.chat import ChatCompletionChunk

from streamkit.events import validate_event
from streamkit.stages.fetch import replay
from streamkit.stages.render import render
from tests.conftest import essence, events_of, fixture_files, messages

RECORDINGS = fixture_files("openai-chat", "mistral")


def simple_accumulate(path: Path) -> tuple[str, list[tuple[str, object]]]:
    """Choice 0's text and tool calls, read straight off the SSE `data:` lines."""
    text: list[str] = []
    calls: list[dict] = []
    by_index: dict[int, dict] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("data:"):
            continue
        payload = line[5:].strip()
        if payload == "[DONE]":
            continue
        chunk = json.loads(payload)
        for choice in chunk.get("choices") or []:
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            content = delta.get("content")
            if isinstance(content, str):
                text.append(content)
            elif isinstance(content, list):
                text.extend(p.get("text", "") for p in content if p.get("type") == "text")
            for tc in delta.get("tool_calls") or []:
                index = tc.get("index")
                known = by_index.get(index) if index is not None else (calls[-1] if calls else None)
                if known is None or (tc.get("id") and known["id"] and tc["id"] != known["id"]):
                    known = {"id": tc.get("id"), "name": "", "args": ""}
                    calls.append(known)
                    if index is not None:
                        by_index[index] = known
                function = tc.get("function") or {}
                if not known["name"]:
                    known["name"] = function.get("name") or ""
                known["args"] += function.get("arguments") or ""
    return "".join(text), [(c["name"], json.loads(c["args"] or "{}")) for c in calls]


@pytest.mark.parametrize("path", RECORDINGS)
def test_recording(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = events_of(path)
    assert "warning" not in capsys.readouterr().err
    assert not [e for e in events if e["type"] == "error" and e.get("code") == "bad-input"]
    for event in events:
        validate_event(event)

    ours = messages(events)
    assert ours, "no message"
    first = next(m for m in ours if not m.get("choice"))
    text = "".join(p["text"] for p in first["content"] if p["type"] == "text" and not p.get("refusal"))
    calls = [
        (p["tool_name"], p["input"])
        for p in first["content"]
        if p["type"] == "tool-call" and not p.get("provider_executed")
    ]
    assert (text, calls) == simple_accumulate(path)

    wire = b"".join(render(iter(events), format="openai-chat"))
    for raw in replay(io.BytesIO(wire)):
        data = raw["data"]
        if isinstance(data, dict) and "error" not in data:
            ChatCompletionChunk.model_validate(data)
    again = messages(events_of(wire))
    assert [essence(m) for m in again] == [essence(m) for m in ours]
