"""Golden tests: each small stream under tests/data/anthropic/ (written for these tests, one per
feature of the Messages stream, shaped like what api.anthropic.com sends) normalizes and
accumulates to the events in the ``<case>.expected.ndjson`` beside it.

Adding a case is adding two files; ``STREAMKIT_UPDATE_GOLDEN=1 pytest`` writes a missing or
changed expectation (review the diff before committing it).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import orjson
import pytest
from anthropic.types import RawMessageStreamEvent
from anthropic.types.beta import BetaRawMessageStreamEvent
from pydantic import TypeAdapter

from streamkit.events import validate_event
from streamkit.stages.fetch import replay
from streamkit.stages.render import render
from tests.conftest import DATA, essence, events_of, messages

CASES = sorted((DATA / "anthropic").glob("*.sse"))
STABLE = TypeAdapter(RawMessageStreamEvent)
BETA = TypeAdapter(BetaRawMessageStreamEvent)


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_golden(case: Path) -> None:
    got = events_of(case)
    expected_path = case.with_suffix(".expected.ndjson")
    dumped = b"".join(orjson.dumps(e, option=orjson.OPT_APPEND_NEWLINE) for e in got)
    if os.environ.get("STREAMKIT_UPDATE_GOLDEN"):
        expected_path.write_bytes(dumped)
    expected = [orjson.loads(line) for line in expected_path.read_bytes().splitlines()]
    assert got == expected
    for event in got:
        validate_event(event)


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_reencoded_stream_gives_the_same_messages(case: Path) -> None:
    """render -f anthropic -O beta=true, then normalize again: the same final messages, and
    every event written validates as the official SDK's (beta) stream event."""
    first = events_of(case)
    wire = b"".join(render(iter(first), format="anthropic", beta=True))
    for raw in replay(io.BytesIO(wire)):
        if raw["event"] != "error":
            BETA.validate_python(raw["data"])
            assert raw["event"] == raw["data"]["type"]
    again = events_of(wire)
    assert [essence(m) for m in messages(again)] == [essence(m) for m in messages(first)]


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_default_encoding_validates_as_the_stable_stream_event(case: Path) -> None:
    """Without beta=true, every event is a RawMessageStreamEvent (beta-only blocks are dropped)."""
    wire = b"".join(render(iter(events_of(case)), format="anthropic"))
    for raw in replay(io.BytesIO(wire)):
        if raw["event"] != "error":
            STABLE.validate_python(raw["data"])
