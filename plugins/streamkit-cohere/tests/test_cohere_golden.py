"""Golden tests: each small stream under tests/data/ (written for these tests, one per case of what
Cohere's v2 chat stream sends) normalizes and accumulates to the events in the
``<case>.expected.ndjson`` beside it, and ``render -f cohere`` re-normalizes to the same messages.

Adding a case is adding two files; ``STREAMKIT_UPDATE_GOLDEN=1 pytest`` writes a missing or
changed expectation (review the diff before committing it).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cohere_helpers import DATA, encode, essence, events_of, messages, registry

from streamkit.testing import assert_golden, check_plain_deltas, golden_cases, wrong_types

CASES = golden_cases(DATA, "sse")


@pytest.mark.parametrize("case", CASES)
def test_golden(case: Path) -> None:
    """The expected events, each valid, in the canonical order (streamkit.testing)."""
    assert_golden(case, registry=registry())


@pytest.mark.parametrize("case", CASES)
def test_reencoded_stream_gives_the_same_messages(case: Path) -> None:
    """render -f cohere, then normalize again: the same final messages, metadata included."""
    reg = registry()
    first = events_of(case, reg)
    again = events_of(encode(first, reg=reg), reg)
    assert [essence(m) for m in messages(again)] == [essence(m) for m in messages(first)]
    assert [m["content"] for m in messages(again)] == [m["content"] for m in messages(first)]


@pytest.mark.parametrize("case", CASES)
def test_a_wrong_type_anywhere_is_refused_or_harmless(case: Path) -> None:
    """A value of another type in every place of every payload (streamkit.testing.wrong_types):
    the normalizer refuses the line, or writes only events the next stage reads."""
    assert wrong_types(case, registry=registry()) == []


def test_the_encoders_templates_write_what_it_does() -> None:
    """Each delta written from the encoder's template (Encoder.plain_delta) is what the encoder
    itself writes for it, and leaves it as feeding it would (streamkit.testing.check_plain_deltas)."""
    reg = registry()
    written = sum(
        check_plain_deltas(iter(events_of(case.values[0], reg)), "cohere", registry=reg) for case in CASES
    )
    assert written > 0
