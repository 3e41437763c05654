"""Golden tests: each small stream under tests/data/ (written for these tests, one per case of what
ConverseStream sends, as the decoded JSON lines an SDK logs) normalizes and accumulates to the
events in the ``<case>.expected.ndjson`` beside it; the same events framed as the binary wire
(with Bedrock's ``p`` padding) give the same result; and ``render -f bedrock`` re-normalizes to
the same messages.

Adding a case is adding two files; ``STREAMKIT_UPDATE_GOLDEN=1 pytest`` writes a missing or
changed expectation (review the diff before committing it).
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from bedrock_helpers import DATA, encode, essence, events_of, messages, registry

from streamkit.framing import frame
from streamkit.testing import assert_golden, golden_cases

CASES = golden_cases(DATA, "jsonl")


def binary(case: Path) -> bytes:
    """The case as Bedrock sends it: one event-stream frame per event, payloads padded with ``p``."""
    out = []
    for n, line in enumerate(case.read_bytes().splitlines()):
        ((name, payload),) = orjson.loads(line).items()
        out.append(frame("eventstream", name, {**payload, "p": "abcdefghijklmnopqrstuvwxyz"[: n % 26 + 1]}))
    return b"".join(out)


@pytest.mark.parametrize("case", CASES)
def test_golden(case: Path) -> None:
    """The expected events, each valid, in the canonical order (streamkit.testing)."""
    assert_golden(case, registry=registry())


@pytest.mark.parametrize("case", CASES)
def test_binary_frames_give_the_same_events(case: Path) -> None:
    assert events_of(binary(case)) == events_of(case)


@pytest.mark.parametrize("case", CASES)
def test_reencoded_stream_gives_the_same_messages(case: Path) -> None:
    """render -f bedrock, then normalize again: the same final messages."""
    reg = registry()
    first = events_of(case, reg)
    again = events_of(encode(first, reg=reg), reg)
    assert [essence(m) for m in messages(again)] == [essence(m) for m in messages(first)]
