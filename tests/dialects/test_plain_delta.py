"""Encoders' templates for the deltas of an open block (``Encoder.plain_delta``), checked event by
event against the encoders themselves (``streamkit.testing.check_plain_deltas``): on every
recording of ours and the shared ones, with the fields real streams add to deltas, with blocks
interleaved and empty deltas, in every dialect."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamkit.dialects.base import PLAIN_HOLE, PlainDelta
from streamkit.dialects.ollama.encode import OllamaEncoder
from streamkit.plugins import default_registry
from streamkit.stages.accumulate import accumulate
from streamkit.testing import check_plain_deltas, events_of, recordings

DATA = Path(__file__).parents[1] / "data"
RECORDINGS = sorted(p for p in DATA.glob("*/*") if not p.name.endswith(".expected.ndjson"))
DIALECTS = sorted(default_registry().dialect_entries())
#: the dialects whose encoders have templates (the rest keep other state per delta, or frame in binary)
TEMPLATED = {
    "anthropic",
    "cohere",
    "gemini",
    "ollama",
    "openai-assistants",
    "openai-chat",
    "openai-responses",
}
DELTAS = ("text-delta", "reasoning-delta", "tool-input-delta")

Event = dict[str, Any]


def _timed(events: list[Event]) -> Iterator[Event]:
    """Every event with fetch's time (``t``)."""
    for n, event in enumerate(events):
        yield {**event, "t": n / 10}


def _with_metadata(events: list[Event]) -> Iterator[Event]:
    """Every delta with metadata of another dialect's, which no encoder writes back."""
    for event in events:
        yield {**event, "provider_metadata": {"x-other": {"k": 1}}} if event["type"] in DELTAS else event


#: per-token metadata of every dialect's own that its encoder writes back (and Anthropic's own
#: keys, which its encoder does not read on a delta)
LOGPROBS = {
    "anthropic": {"signature": "c2ln", "citation": {"type": "char_location", "cited_text": "a"}},
    "openai-chat": {"logprobs": [{"token": "a", "logprob": -0.5, "bytes": [97], "top_logprobs": []}]},
    "gemini": {"logprobs_result": {"chosenCandidates": [{"token": "a", "logProbability": -0.5}]}},
    "ollama": {"logprobs": [{"token": "a", "logprob": -0.5}]},
}


def _alternating(events: list[Event]) -> Iterator[Event]:
    """Deltas plain and with logprobs in turn, in the same block."""
    n = 0
    for event in events:
        if event["type"] in DELTAS:
            n += 1
            event = {k: v for k, v in event.items() if k != "provider_metadata"}
            if n % 2 == 0:
                event["provider_metadata"] = LOGPROBS
        yield event


def _interleaved(events: list[Event]) -> Iterator[Event]:
    """Every third delta for a block never started, and every delta followed by an empty one."""
    for n, event in enumerate(events):
        if event["type"] in DELTAS:
            yield {**event, "id": "x-elsewhere"} if n % 3 == 0 else event
            yield {**event, "delta": ""}
        else:
            yield event


def _accumulated(events: list[Event]) -> Iterator[Event]:
    """The deltas and the message summing them (accumulate's output)."""
    return accumulate(iter(events))


VARIANTS: dict[str, Callable[[list[Event]], Any]] = {
    "as recorded": iter,
    "timed": _timed,
    "with metadata": _with_metadata,
    "alternating": _alternating,
    "interleaved": _interleaved,
    "accumulated": _accumulated,
}


def _normalized(path: Path) -> list[Event]:
    return [e for e in events_of(path, dialect=path.parent.name) if e["type"] != "message"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_template_writes_what_its_encoder_does_on_our_recordings(dialect: str) -> None:
    written = 0
    for path in RECORDINGS:
        events = _normalized(path)
        for variant, make in VARIANTS.items():
            try:
                written += check_plain_deltas(make(copy.deepcopy(events)), dialect)
            except AssertionError as exc:
                raise AssertionError(f"{path.relative_to(DATA)}, {variant}: {exc}") from None
    if dialect in TEMPLATED:  # (so the check checks something)
        assert written > 100
    else:
        assert written == 0


#: the shared recordings' folders: each dialect's, and Mistral's (Chat Completions chunks)
FOLDERS = {"mistral": "openai-chat", **{name: name for name in DIALECTS}}


@pytest.mark.parametrize("recording", recordings(*FOLDERS))
def test_every_template_writes_what_its_encoder_does_on_the_shared_recordings(recording: Path) -> None:
    events = [e for e in events_of(recording, dialect=_dialect_of(recording)) if e["type"] != "message"][
        :3000
    ]
    for dialect in sorted(TEMPLATED):
        check_plain_deltas(iter(events), dialect)
        check_plain_deltas(_timed(events), dialect)


def _dialect_of(recording: Path) -> str:
    return FOLDERS[recording.parent.name]


# --- the check itself fails a careless encoder --------------------------------------------------


class _CountingEncoder(OllamaEncoder):
    """Counts its text deltas (state a template skips), else Ollama's."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.deltas = 0

    def _on_text_delta(self, ev: Event) -> Any:
        self.deltas += 1
        return super()._on_text_delta(ev)

    _handlers = {**OllamaEncoder._handlers, "text-delta": _on_text_delta}


class _MisspeltEncoder(OllamaEncoder):
    """A template whose line is not the one the encoder writes (``content`` misspelt)."""

    def _template(self, ev: Event, **fields: Any) -> None:
        super()._template(ev, **fields)
        if self.plain_delta is not None:
            data = {**self.plain_delta.data, "message": {"role": "assistant", "contents": PLAIN_HOLE}}
            self.plain_delta = PlainDelta(ev["type"], ev["id"], None, data)


class _Dialect:
    name = "ollama"
    framing = "ndjson"

    def __init__(self, encoder: type) -> None:
        self.encoder = encoder


TEXT = [
    {"type": "start", "id": "r1", "model": "m"},
    {"type": "text-start", "id": "text-0"},
    *({"type": "text-delta", "id": "text-0", "delta": word} for word in ("One", " two", " three")),
    {"type": "text-end", "id": "text-0"},
    {"type": "finish", "finish_reason": "stop"},
]


def test_a_template_that_skips_the_encoders_state_fails_the_check() -> None:
    assert check_plain_deltas(iter(TEXT), "ollama") == 2  # (Ollama's own: the second and third delta)
    with pytest.raises(AssertionError, match="the encoder's state is not what feeding it makes"):
        check_plain_deltas(iter(TEXT), _Dialect(_CountingEncoder))


def test_a_template_that_writes_other_bytes_fails_the_check() -> None:
    with pytest.raises(AssertionError, match="its template writes"):
        check_plain_deltas(iter(TEXT), _Dialect(_MisspeltEncoder))


# --- any order of events ------------------------------------------------------------------------

WORDS = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6)
BLOCKS = st.sampled_from(["text-0", "text-1", "reasoning-0", "call_0", "call_1"])
EXTRAS = st.sampled_from(
    [{}, {}, {}, {"t": 1.5}, {"provider_metadata": LOGPROBS}, {"choice": 1}, {"choice": 0}]
)


def _event(kind: str, block: str, text: str, extra: Event) -> Event:
    """One canonical event of ``kind`` about ``block`` (with ``text``; ``extra`` fields on a delta)."""
    of = "tool-input" if block.startswith("call_") else block.split("-")[0]  # (text, reasoning)
    made: dict[str, Event] = {
        "start": {"type": "start", "id": f"r-{block}", "model": "m"},
        "block-start": {
            "type": f"{of}-start",
            "id": block,
            **({"tool_name": "f"} if of == "tool-input" else {}),
        },
        "delta": {"type": f"{of}-delta", "id": block, "delta": text, **extra},
        "block-end": {"type": f"{of}-end", "id": block},
        "call": {
            "type": "tool-call",
            "tool_call_id": block,
            "tool_name": "f",
            "arguments": "{}",
            "input": {},
        },
        "finish": {"type": "finish", "finish_reason": "stop"},
        "error": {"type": "error", "message": text or "x"},
    }
    return made[kind]


EVENTS = st.lists(
    st.builds(
        _event,
        st.sampled_from(
            ["delta"] * 6 + ["start", "block-start", "block-start", "block-end", "call", "finish", "error"]
        ),
        BLOCKS,
        WORDS,
        EXTRAS,
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(events=EVENTS)
def test_every_template_writes_what_its_encoder_does_in_any_order_of_events(events: list[Event]) -> None:
    for dialect in sorted(TEMPLATED):
        check_plain_deltas(iter(copy.deepcopy(events)), dialect)


@pytest.mark.parametrize("dialect", sorted(TEMPLATED))
def test_an_encoder_fed_every_event_makes_no_template(dialect: str) -> None:
    # (serve feeds every event to an answer read as data, a WebSocket's or the response store's: it
    # pays nothing for templates no loop asked for)
    encoder = default_registry().dialect(dialect).encoder()
    for path in RECORDINGS[::4]:
        for event in _normalized(path):
            encoder.feed(event)
            assert encoder.plain_delta is None


def test_the_responses_encoder_writes_the_arguments_of_the_call_on_the_wire_by_template() -> None:
    """The fragments after the first of a function call's streamed arguments (the call on the
    wire): each by the template, its sequence number and the call's fragments kept."""
    fragments = ['{"city"', ": ", '"Oslo"', "}"]
    events = [
        {"type": "start", "id": "r1", "model": "m"},
        {"type": "tool-input-start", "id": "call_1", "tool_name": "weather"},
        *({"type": "tool-input-delta", "id": "call_1", "delta": f} for f in fragments),
        {"type": "tool-input-end", "id": "call_1"},
        {"type": "tool-call", "tool_call_id": "call_1", "tool_name": "weather", "arguments": "".join(fragments),
         "input": {"city": "Oslo"}},
        {"type": "finish", "finish_reason": "tool-calls"},
    ]  # fmt: skip
    assert check_plain_deltas(iter(events), "openai-responses") == len(fragments) - 1
