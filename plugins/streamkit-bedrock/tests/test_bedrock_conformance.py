"""Conformance over the real Bedrock recordings in ../shared/fixtures/bedrock (binary event-stream
frames, and decoded JSON lines).

Skipped, with the reason, when the fixtures are absent. For every recording: normalize succeeds
with no error and no warning; every event validates against the event models; the result
accumulates to the same text and client tool calls as the deliberately simple accumulator below
(its own few lines of frame parsing, sharing no code with streamkit); the re-encoded stream
re-normalizes to the same messages, and every event of it validates against botocore's
ConverseStream shapes (when botocore is installed).
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import pytest
from bedrock_helpers import encode, essence, events_of, messages, recordings, validate_with_botocore

from streamkit.events import validate_event

RECORDINGS = recordings("bedrock")


def wire_events(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """(event name, payload) pairs, read straight off the file."""
    data = path.read_bytes()
    if path.suffix == ".jsonl":
        return [next(iter(json.loads(line).items())) for line in data.splitlines() if line.strip()]
    out, pos = [], 0
    while pos < len(data):
        total, headers_length = struct.unpack(">II", data[pos : pos + 8])
        headers, h = {}, pos + 12
        while h < pos + 12 + headers_length:
            name = data[h + 1 : h + 1 + data[h]].decode()
            h += 1 + data[h]
            assert data[h] == 7, "Bedrock only sends string headers"
            (length,) = struct.unpack(">H", data[h + 1 : h + 3])
            headers[name] = data[h + 3 : h + 3 + length].decode()
            h += 3 + length
        payload = json.loads(data[pos + 12 + headers_length : pos + total - 4])
        out.append((headers.get(":event-type") or headers[":exception-type"], payload))
        pos += total
    return out


def simple_accumulate(path: Path) -> tuple[str, list[tuple[str, Any]]]:
    """The text and the client tool calls (not Bedrock's own server tools) of the response."""
    text: list[str] = []
    calls: dict[int, dict[str, Any]] = {}
    for name, payload in wire_events(path):
        if name == "contentBlockStart" and "toolUse" in payload["start"]:
            tool = payload["start"]["toolUse"]
            if tool.get("type") != "server_tool_use":
                calls[payload["contentBlockIndex"]] = {"name": tool["name"], "input": ""}
        elif name == "contentBlockDelta":
            delta = payload["delta"]
            text.append(delta.get("text", ""))
            if "toolUse" in delta and payload["contentBlockIndex"] in calls:
                calls[payload["contentBlockIndex"]]["input"] += delta["toolUse"]["input"]
    return "".join(text), [(c["name"], json.loads(c["input"] or "{}")) for c in calls.values()]


@pytest.mark.parametrize("path", RECORDINGS)
def test_recording(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = events_of(path)
    assert "warning" not in capsys.readouterr().err
    assert not [e for e in events if e["type"] == "error"]
    for event in events:
        validate_event(event)
    assert {e["dialect"] for e in events if e["type"] == "start"} == {"bedrock"}

    (ours,) = messages(events)
    text = "".join(p["text"] for p in ours["content"] if p["type"] == "text")
    calls = [
        (p["tool_name"], p["input"])
        for p in ours["content"]
        if p["type"] == "tool-call" and not p.get("provider_executed")
    ]
    assert (text, calls) == simple_accumulate(path)
    assert ours["usage"]["total_tokens"] > 0

    wire = encode(events)
    again = messages(events_of(wire))
    assert [essence(m) for m in again] == [essence(ours)]
    assert [m["content"] for m in again] == [ours["content"]]  # signatures, redacted data, tool results too


@pytest.mark.parametrize("path", RECORDINGS)
def test_reencoded_recording_validates_with_botocore(path: Path) -> None:
    validate_with_botocore(encode(events_of(path)))
