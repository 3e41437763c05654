"""Golden tests: each small stream under tests/data/ (written for these tests, one per case of what
ConverseStream sends, as the decoded JSON lines an SDK logs) normalizes and accumulates to the
events in the ``<case>.expected.ndjson`` beside it; the same events framed as the binary wire
(with Bedrock's ``p`` padding) give the same result; and ``render -f bedrock`` re-normalizes to
the same messages.

Adding a case is adding two files; ``STREAMKIT_UPDATE_GOLDEN=1 pytest`` writes a missing or
changed expectation (review the diff before committing it).
"""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import orjson
import pytest
from bedrock_helpers import DATA, STREAMKIT, encode, essence, events_of, messages, registry

from streamkit import normalize, replay
from streamkit.framing import frame
from streamkit.testing import assert_golden, golden_cases, wrong_types

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


@pytest.mark.parametrize("case", CASES)
def test_the_normalize_command_writes_what_the_stage_makes(case: Path, tmp_path: Path) -> None:
    """`streamkit normalize` (whose loop takes deltas as bytes: ``Normalizer.delta_bytes``) writes
    what the stage's generator makes of the same raw events, byte for byte, with and without fetch's t."""
    raws = list(replay(io.BytesIO(binary(case)), dialect="bedrock"))
    for timed in (False, True):
        events = [{**raw, "t": n / 8} for n, raw in enumerate(raws)] if timed else raws
        lines = b"".join(orjson.dumps(e) + b"\n" for e in events)
        (tmp_path / "raw.ndjson").write_bytes(lines)
        with open(tmp_path / "raw.ndjson", "rb") as stdin:
            done = subprocess.run([str(STREAMKIT), "normalize"], stdin=stdin, capture_output=True, timeout=60)
        expected = b"".join(orjson.dumps(e) + b"\n" for e in normalize(iter(events), registry=registry()))
        assert done.stdout == expected, (case.name, timed)


@pytest.mark.parametrize("case", CASES)
def test_a_wrong_type_anywhere_is_refused_or_harmless(case: Path) -> None:
    """A value of another type in every place of every payload (streamkit.testing.wrong_types):
    the normalizer refuses the line, or writes only events the next stage reads."""
    assert wrong_types(case, registry=registry()) == []
