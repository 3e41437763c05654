"""Golden tests: each small stream under tests/data/openai-responses/ (written for these tests, one
per case of what the Responses API and compatible servers send) normalizes and accumulates to the
events in the ``<case>.expected.ndjson`` beside it.

Adding a case is adding two files; ``STREAMKIT_UPDATE_GOLDEN=1 pytest`` writes a missing or
changed expectation (review the diff before committing it).
"""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest

from streamkit.events import validate_event
from streamkit.stages.render import render
from tests.conftest import DATA, essence, events_of, messages

CASES = sorted((DATA / "openai-responses").glob("*.sse"))


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
    """render -f openai-responses, then normalize again: the same final messages.

    A response whose id never came (a stream resumed before ``response.completed`` named it)
    gets a new one on the wire; a response cut off (``finish: other`` with no raw reason) ends
    with ``response.failed`` on the wire, so it comes back as ``error``: those are the only
    things allowed to differ.
    """
    first = events_of(case)
    wire = b"".join(render(iter(first), format="openai-responses"))
    again = events_of(wire)
    theirs, ours = [essence(m) for m in messages(again)], [essence(m) for m in messages(first)]
    cut_off = [m["finish_reason"] == "other" and m.get("raw_finish_reason") is None for m in messages(first)]
    for before, after, cut in zip(ours, theirs, cut_off, strict=True):
        if before["id"] is None:
            after["id"] = None
        if cut and after["finish_reason"] == "error":
            after["finish_reason"] = "other"
    assert theirs == ours
