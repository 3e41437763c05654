"""normalize: detection, forcing, bare payloads, pass-through, and data errors."""

from __future__ import annotations

import pytest

from streamkit.errors import DataError, UsageError
from streamkit.stages.normalize import SNIFF_LIMIT, normalize

CHUNK = {
    "id": "c1",
    "object": "chat.completion.chunk",
    "model": "m",
    "choices": [{"index": 0, "delta": {"content": "hi"}}],
}
STOP = {
    "id": "c1",
    "object": "chat.completion.chunk",
    "model": "m",
    "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
}


def raw(data, dialect=None, event=None):
    return {"type": "raw", "dialect": dialect, "event": event, "data": data}


def kinds(events) -> list[str]:
    return [e["type"] for e in events]


def test_detects_the_dialect_and_holds_back_what_it_cannot_place_yet() -> None:
    # an error payload alone says nothing about the dialect: it waits for the first chunk
    events = list(normalize([raw({"error": {"message": "x"}}), raw(CHUNK), raw("[DONE]")]))
    assert events[0]["type"] == "start" and events[0]["dialect"] == "openai-chat"
    assert "error" in kinds(events)


def test_bare_provider_lines_are_normalized() -> None:
    assert kinds(normalize([CHUNK, STOP])) == ["start", "text-start", "text-delta", "text-end", "finish"]


def test_canonical_and_unknown_events_pass_through_unchanged() -> None:
    unknown = {"type": "x-custom", "value": [1, 2]}
    canonical = {"type": "text-delta", "id": "t", "delta": "a"}
    assert list(normalize([unknown, canonical])) == [unknown, canonical]


def test_forced_dialect() -> None:
    assert kinds(normalize([raw(CHUNK)], dialect="openai-chat"))[:2] == ["start", "text-start"]
    with pytest.raises(UsageError, match="unknown dialect 'nope'"):
        list(normalize([], dialect="nope"))


def test_raw_event_of_an_unknown_dialect_is_a_data_error() -> None:
    with pytest.raises(DataError, match="unknown dialect 'klingon' \\(installed: .*openai-chat"):
        list(normalize([raw({}, dialect="klingon")], line_no=lambda: 7))


def test_undetectable_stream_says_which_flag_to_pass() -> None:
    with pytest.raises(
        DataError,
        match="no installed dialect recognizes this stream \\(first event: mystery\\); pass -d DIALECT",
    ):
        list(normalize([raw({"what": 1}, event="mystery")]))
    # it gives up after SNIFF_LIMIT events rather than holding everything
    events = iter([raw({"what": i}) for i in range(SNIFF_LIMIT + 10)])
    with pytest.raises(DataError):
        next(iter(normalize(events)))
    assert len(list(events)) == 10


def test_on_error_skip_and_pass(capsys: pytest.CaptureFixture[str]) -> None:
    bad = raw({"choices": "not a list", "object": "chat.completion.chunk"}, dialect="openai-chat")
    got = list(normalize([raw(CHUNK), bad, raw(STOP)], on_error="pass"))
    errors = [e for e in got if e["type"] == "error"]
    assert len(errors) == 1 and "'choices' is a str" in errors[0]["message"]
    assert got[-1]["type"] == "finish"  # went on after it
    got = list(normalize([raw(CHUNK), bad, raw(STOP)], on_error="skip"))
    assert "error" not in kinds(got) and "(skipped)" in capsys.readouterr().err


def test_events_with_no_canonical_meaning_are_counted_or_kept(capsys: pytest.CaptureFixture[str]) -> None:
    odd = raw("not json at all", dialect="openai-chat")
    assert kinds(normalize([raw(CHUNK), odd, raw(STOP)])) == [
        "start",
        "text-start",
        "text-delta",
        "text-end",
        "finish",
    ]
    assert (
        "1 openai-chat event with no canonical meaning (chunk); --keep-raw keeps them"
        in capsys.readouterr().err
    )
    kept = list(normalize([raw(CHUNK), odd, raw(STOP)], keep_raw=True))
    assert odd in kept


def test_a_stream_that_switches_dialect_closes_the_first(fresh_registry) -> None:
    events = list(normalize([raw(CHUNK, dialect="openai-chat"), raw(CHUNK, dialect="openai-chat")]))
    assert kinds(events)[-1] == "finish"
