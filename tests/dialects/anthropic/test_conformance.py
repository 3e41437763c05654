"""Conformance over the real Anthropic recordings in ../shared/fixtures/anthropic.

Skipped, with the reason, when the fixtures are absent. For every recording: normalize succeeds
with no error and no warning (pings are framing); every event validates against the event
models; each message accumulates to the same text and client tool calls as the deliberately
simple accumulator below (written from the wire format, sharing no code with streamkit); the
re-encoded stream validates event by event as the official SDK's ``RawMessageStreamEvent``
(``BetaRawMessageStreamEvent`` with ``-O beta=true``), re-normalizes to the same messages, and the
official SDK's own accumulator reads the same messages from it as from the recording.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from anthropic.types import RawMessageStreamEvent
from anthropic.types.beta import BetaRawMessageStreamEvent
from pydantic import TypeAdapter

from streamkit.events import validate_event
from streamkit.stages.fetch import replay
from streamkit.stages.render import render
from tests.conftest import essence, events_of, fixture_files, messages
from tests.dialects.anthropic.test_encode import _sdk_messages

RECORDINGS = fixture_files("anthropic")


def simple_accumulate(path: Path) -> list[tuple[str, list[tuple[str, Any]]]]:
    """Per message: its text and client tool calls, read straight off the SSE lines."""
    out: list[dict[str, Any]] = []
    blocks: dict[int, dict[str, Any]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("data:"):
            continue
        event = json.loads(line[5:])
        kind = event.get("type")
        if kind == "message_start":
            blocks = {}
            out.append({"blocks": blocks})
            for i, block in enumerate(event["message"].get("content") or []):
                blocks[i] = {**block, "buf": ""}
        elif kind == "content_block_start":
            blocks[event["index"]] = {**event["content_block"], "buf": ""}
        elif kind == "content_block_delta":
            delta = event["delta"]
            block = blocks[event["index"]]
            if delta["type"] == "text_delta":
                block["text"] = block.get("text", "") + delta["text"]
            elif delta["type"] == "input_json_delta":
                block["buf"] += delta["partial_json"]
    result = []
    for message in out:
        ordered = [message["blocks"][i] for i in sorted(message["blocks"])]
        text = "".join(b.get("text") or "" for b in ordered if b["type"] == "text")
        calls = [
            (b["name"], json.loads(b["buf"]) if b["buf"] else b.get("input") or {})
            for b in ordered
            if b["type"] == "tool_use"
        ]
        result.append((text, calls))
    return result


@pytest.mark.parametrize("path", RECORDINGS)
def test_recording(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = events_of(path)
    assert "warning" not in capsys.readouterr().err
    assert not [e for e in events if e["type"] == "error"]
    for event in events:
        validate_event(event)

    ours = messages(events)
    summary = [
        (
            "".join(p["text"] for p in m["content"] if p["type"] == "text"),
            [
                (p["tool_name"], p["input"])
                for p in m["content"]
                if p["type"] == "tool-call" and not p.get("provider_executed")
            ],
        )
        for m in ours
    ]
    assert summary == simple_accumulate(path)

    stable = TypeAdapter(RawMessageStreamEvent)
    for raw in replay(io.BytesIO(b"".join(render(iter(events), format="anthropic")))):
        stable.validate_python(raw["data"])
        assert raw["event"] == raw["data"]["type"]
    capsys.readouterr()  # beta-only blocks are dropped with a warning without beta=true

    wire = b"".join(render(iter(events), format="anthropic", beta=True))
    beta = TypeAdapter(BetaRawMessageStreamEvent)
    reencoded = [(raw["event"], raw["data"]) for raw in replay(io.BytesIO(wire))]
    for _, data in reencoded:
        beta.validate_python(data)
    again = messages(events_of(wire))
    assert [essence(m) for m in again] == [essence(m) for m in ours]

    original = [(raw["event"], raw["data"]) for raw in replay(io.BytesIO(path.read_bytes()))]
    theirs, mine = _sdk_messages(original, beta=True), _sdk_messages(reencoded, beta=True)
    for message in theirs + mine:
        message["usage"].get("server_tool_use", {}).setdefault("web_fetch_requests", 0)  # filled in
    assert mine == theirs
