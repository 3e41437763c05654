"""Conformance over the real Ollama recordings in ../shared/fixtures/ollama (``/api/chat`` and
``/api/generate`` NDJSON).

Skipped, with the reason, when the fixtures are absent. For every recording: normalize succeeds
with no error and no warning; every event validates against the event models; the result
accumulates to the same text and tool calls as the deliberately simple accumulator below (written
from the wire format, sharing no code with streamkit); the re-encoded stream re-normalizes to the
same messages, and every re-encoded line validates as the official ollama client's own type.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from streamkit.events import validate_event
from streamkit.stages.fetch import replay
from streamkit.stages.render import render
from tests.conftest import essence, events_of, fixture_files, messages

RECORDINGS = fixture_files("ollama")


def simple_accumulate(path: Path) -> tuple[str, list[tuple[str, Any]]]:
    """The first response's text and tool calls, read straight off the lines."""
    text: list[str] = []
    calls: list[tuple[str, Any]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        data = json.loads(line)
        message = data.get("message") or {}
        text.append(message.get("content") or data.get("response") or "")
        for call in message.get("tool_calls") or []:
            calls.append((call["function"]["name"], call["function"].get("arguments") or {}))
        if data.get("done"):
            break
    return "".join(text), calls


@pytest.mark.parametrize("path", RECORDINGS)
def test_recording(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ollama import ChatResponse, GenerateResponse

    events = events_of(path)
    assert "warning" not in capsys.readouterr().err
    assert not [e for e in events if e["type"] == "error"]
    for event in events:
        validate_event(event)

    ours = messages(events)[0]
    text = "".join(p["text"] for p in ours["content"] if p["type"] == "text")
    calls = [(p["tool_name"], p["input"]) for p in ours["content"] if p["type"] == "tool-call"]
    assert (text, calls) == simple_accumulate(path)

    wire = b"".join(render(iter(events), format="ollama"))
    for raw in replay(io.BytesIO(wire)):
        data = raw["data"]
        (ChatResponse if "message" in data else GenerateResponse).model_validate(data)
    again = messages(events_of(wire))
    assert [essence(m) for m in again] == [essence(m) for m in messages(events)]
