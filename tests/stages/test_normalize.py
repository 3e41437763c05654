"""normalize: detection, forcing, bare payloads, pass-through, and data errors."""

from __future__ import annotations

import io
import itertools
import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamkit.cli.outcome import Outcome
from streamkit.errors import DataError, UsageError
from streamkit.ndjson import EventWriter, read_events, write_events
from streamkit.stages.fetch import replay
from streamkit.stages.normalize import SNIFF_LIMIT, normalize, write_normalized

from ..test_ndjson import Trickle

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
    # counted by their event type, when they name one that is a string
    nameless = [raw({"type": {"a": 1}}, dialect="openai-chat"), raw({"type": ["x"]}, dialect="openai-chat")]
    assert kinds(normalize([*nameless, raw({"type": "x.y"}, dialect="openai-chat"), raw(CHUNK)])) == [
        "start", "text-start", "text-delta", "text-end", "finish"]  # fmt: skip
    assert "3 openai-chat events with no canonical meaning (chunk x2, x.y)" in capsys.readouterr().err


def test_a_stream_that_switches_dialect_closes_the_first(fresh_registry) -> None:
    events = list(normalize([raw(CHUNK, dialect="openai-chat"), raw(CHUNK, dialect="openai-chat")]))
    assert kinds(events)[-1] == "finish"


# --- the command's loop (write_normalized) against the generator -------------------------------

DATA = Path(__file__).parents[1] / "data"
RECORDINGS = sorted(p for p in DATA.glob("*/*") if not p.name.endswith(".expected.ndjson"))


def _raw_lines(path: Path) -> list[bytes]:
    dialect = path.parent.name
    return [orjson.dumps(e) + b"\n" for e in replay(io.BytesIO(path.read_bytes()), dialect=dialect)]


def _both(data: bytes, pieces: list[int], capsys: pytest.CaptureFixture[str], **options: Any) -> list[Any]:
    """What the generator and what the command's loop make of the same bytes read in the same
    pieces: (bytes written, the error the stream ends in, the exception, stderr)."""
    results = []
    for loop in (False, True):
        cuts = sorted({0, len(data), *(p % (len(data) + 1) for p in pieces)})
        reader = read_events(Trickle([data[a:b] for a, b in itertools.pairwise(cuts)]), check=True,
                             unchecked="raw", on_error=options.get("on_error", "fail"))  # fmt: skip
        out = io.BytesIO()
        writer = EventWriter(out, reader.pending)
        outcome = Outcome(())
        raised = None
        try:
            if loop:
                write_normalized(reader, writer, outcome.see, **options)
            else:
                outcome = Outcome(normalize(reader, line_no=lambda r=reader: r.line_no, **options))
                write_events(outcome, writer)
        except DataError as exc:
            raised = str(exc)
        results.append((out.getvalue(), outcome.error, raised, capsys.readouterr().err))
    return results


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_command_loop_writes_what_the_generator_does(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = _raw_lines(path)
    dialect = path.parent.name
    timed = [line[:-2] + b',"t":%d.5}\n' % i for i, line in enumerate(lines)]  # as a live fetch writes
    unnamed = [line.replace(b'"dialect":"%s"' % dialect.encode(), b'"dialect":null', 1) for line in lines]
    bare = [orjson.dumps(orjson.loads(line)["data"]) + b"\n" for line in lines
            if isinstance(orjson.loads(line)["data"], dict)]  # fmt: skip
    middle = len(lines) // 2
    odd = [
        b"not json\n",
        b"\n",
        b'{ "type" : "x-unknown" , "n" : 1 }\n',  # passed on as its own bytes
        b'{"type":"text-delta","id":"t","delta":"canonical"}\n',
        b'{"type":"raw","dialect":"%s","event":7,"data":{}}\n' % dialect.encode(),  # a wrong type
        b'{"type":"raw","dialect":"%s","event":null,"data":{},"extra":1}\n' % dialect.encode(),
        # fields the hot path's decoder must read as orjson does: repeated (the last one counts),
        # a t of any type, a dialect or data of the wrong type or missing, nested deep
        b'{"type":"raw","dialect":"%s","event":null,"data":{},"type":"x-other"}\n' % dialect.encode(),
        b'{"type":"x-other","dialect":"%s","event":null,"data":{},"type":"raw"}\n' % dialect.encode(),
        b'{"type":"raw","dialect":"%s","event":null,"data":{"a":1},"data":[]}\n' % dialect.encode(),
        b'{"type":"raw","dialect":"%s","event":null,"data":{},"t":null}\n' % dialect.encode(),
        b'{"type":"raw","dialect":"%s","event":null,"data":{},"t":"soon"}\n' % dialect.encode(),
        b'{"type":"raw","dialect":7,"event":null,"data":{}}\n',
        b'{"type":"raw","dialect":"%s","event":null}\n' % dialect.encode(),
        b'{"type":"raw","dialect":"%s","event":null,"data":%s}\n'
        % (dialect.encode(), b"[" * 1100 + b"]" * 1100),
        b'{"type":"raw","dialect":"%s","event":null,"data":{"s":"\\ud800"}}\n' % dialect.encode(),
    ]
    variants = {
        "as-fetched": (lines, {}),
        "forced": (lines, {"dialect": dialect}),
        "timed": (timed, {"dialect": dialect}),
        "detected": (unnamed, {}),
        "bare": (bare, {}),
        "odd-pass": (lines[:middle] + odd + lines[middle:], {"on_error": "pass", "keep_raw": True}),
        "odd-skip": (lines[:middle] + odd + lines[middle:], {"on_error": "skip"}),
        "odd-fail": (lines[:middle] + odd[2:] + lines[middle:], {"dialect": dialect}),
    }
    for name, (stream, options) in variants.items():
        data = b"".join(stream)
        for pieces in ([], [len(data) // 3, len(data) // 3 + 1, 2 * len(data) // 3]):
            generator, loop = _both(data, pieces, capsys, **options)
            assert loop == generator, (name, pieces)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    picks=st.lists(st.integers(0, 1_000_000), min_size=1, max_size=30),
    pieces=st.lists(st.integers(0, 1_000_000), max_size=6),
    on_error=st.sampled_from(["fail", "skip", "pass"]),
    keep_raw=st.booleans(),
    forced=st.booleans(),
)
def test_the_command_loop_and_the_generator_agree_on_any_mix_of_lines(
    picks: list[int], pieces: list[int], on_error: str, keep_raw: bool, forced: bool,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    path = RECORDINGS[picks[0] % len(RECORDINGS)]
    pool = [*_raw_lines(path), b"nope\n", b"[1]\n", b'{"type":"x","n":1}\n', b'{"type":"raw","data":1}\n',
            b'{"type":"start","id":"r","model":"m"}\n', b'{"type":"raw","dialect":"nobody","event":null,"data":{}}\n']  # fmt: skip
    data = b"".join(pool[p % len(pool)] for p in picks[1:])
    if not data:
        return
    options = {
        "on_error": on_error,
        "keep_raw": keep_raw,
        **({"dialect": path.parent.name} if forced else {}),
    }
    generator, loop = _both(data, pieces, capsys, **options)
    assert loop == generator


def test_an_integer_beyond_64_bits_is_written_exactly_by_the_command_loop(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # msgspec reads it exactly where orjson reads a float, and orjson cannot write it: the event is
    # written by json instead (no traceback, nothing lost)
    big = 2**64 + 1
    chunk = {"id": "c", "model": "m", "choices": [{"index": 0, "delta": {"content": "hi"}}],
             "usage": {"prompt_tokens": big, "completion_tokens": -big, "total_tokens": 0}}  # fmt: skip
    lines = [
        json.dumps(
            {"type": "raw", "dialect": "openai-chat", "event": None, "data": chunk}, separators=(",", ":")
        ).encode()
        + b"\n",
        b'{"type":"raw","dialect":"openai-chat","event":null,"data":"[DONE]"}\n',
    ]
    data = lines[0] + lines[0].replace(b'"content":"hi"', b'"content":"!"') + lines[1]
    reader = read_events(io.BytesIO(data), check=True, unchecked="raw")
    out = io.BytesIO()
    write_normalized(reader, EventWriter(out, reader.pending), lambda ev: None)
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [e["delta"] for e in events if e["type"] == "text-delta"] == ["hi", "!"]
    (finish,) = [e for e in events if e["type"] == "finish"]
    assert finish["usage"]["input_tokens"] == big
    assert capsys.readouterr().err == ""
