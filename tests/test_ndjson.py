"""The NDJSON runtime: reading lines, bad lines, and when output is flushed."""

from __future__ import annotations

import io
import itertools
import os
import threading
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamkit.errors import DataError
from streamkit.ndjson import EventWriter, read_events, write_events

from .conftest import run_cli


class Trickle(io.RawIOBase):
    """A stream that hands out its bytes in the given pieces, like a pipe."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = list(pieces)

    def read1(self, n: int = -1) -> bytes:
        return self.pieces.pop(0) if self.pieces else b""

    read = read1


def test_blank_lines_crlf_and_no_final_newline() -> None:
    data = b'{"a":1}\r\n\n   \n{"a":2}\n{"a":3}'
    reader = read_events(io.BytesIO(data))
    assert list(reader) == [{"a": 1}, {"a": 2}, {"a": 3}]
    assert reader.line_no == 5


def test_a_line_split_across_many_reads() -> None:
    big = b'{"text":"' + b"x" * 300_000 + b'"}\n'
    pieces = [big[i : i + 1000] for i in range(0, len(big), 1000)] + [b'{"b":1}\n']
    assert [len(e.get("text", "")) for e in read_events(Trickle(pieces))] == [300_000, 0]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b'{"type": "text-del', "line 2: invalid JSON (unexpected end of data, column 19)"),
        (b"not json", "line 2: not JSON"),
        (b'{"a": "\xff"}', "line 2: invalid UTF-8"),
        (b"[1, 2]", "line 2: expected a JSON object, got list"),
    ],
)
def test_bad_lines_fail_with_the_line_number(line: bytes, message: str) -> None:
    reader = read_events(io.BytesIO(b'{"ok":1}\n' + line + b'\n{"ok":2}\n'))
    got = []
    with pytest.raises(DataError) as info:
        for event in reader:
            got.append(event)
    assert got == [{"ok": 1}]
    assert str(info.value).startswith(message)


@given(
    values=st.lists(st.integers(0, 10**6), min_size=1, max_size=8),
    ends=st.lists(st.sampled_from([b"\n", b"\r\n", b"\n\n", b"\n  \n"]), min_size=8, max_size=8),
    final_newline=st.booleans(),
    cuts=st.lists(st.integers(0, 400), max_size=12),
)
def test_a_line_passed_on_is_written_as_its_own_bytes_however_the_reads_cut_it(
    values: list[int], ends: list[bytes], final_newline: bool, cuts: list[int]
) -> None:
    # spaced JSON, so that a re-serialised event would differ from its line
    lines = [b'{ "type" : "x-unknown", "n" : %d }' % v for v in values]
    data = b"".join(line + end for line, end in zip(lines, ends, strict=False))
    if not final_newline:
        data = data.rstrip()
    points = sorted({0, len(data), *(c for c in cuts if c < len(data))})
    reader = read_events(Trickle([data[a:b] for a, b in itertools.pairwise(points)]))
    out = io.BytesIO()
    assert write_events(reader, EventWriter(out, reader.pending)) == len(values)
    # each line's own bytes (a CR before its line end kept), one b"\n" after each
    kept = [line + (b"\r" if end.startswith(b"\r") else b"") for line, end in zip(lines, ends, strict=False)]
    if not final_newline:
        kept[-1] = lines[-1]
    assert out.getvalue() == b"".join(line + b"\n" for line in kept)


def test_skip_and_pass(capsys: pytest.CaptureFixture[str]) -> None:
    data = b'{"ok":1}\nnope\n{"ok":2}\n'
    assert list(read_events(io.BytesIO(data), on_error="skip")) == [{"ok": 1}, {"ok": 2}]
    assert "line 2: not JSON (skipped)" in capsys.readouterr().err
    passed = list(read_events(io.BytesIO(data), on_error="pass"))
    assert passed[1]["type"] == "error" and passed[1]["line"] == 2 and passed[1]["code"] == "bad-input"
    assert passed[2] == {"ok": 2}


class CountingOut(io.BytesIO):
    def __init__(self) -> None:
        super().__init__()
        self.flushes: list[bytes] = []

    def flush(self) -> None:
        self.flushes.append(self.getvalue())


def test_flush_only_when_no_further_line_is_waiting() -> None:
    # Two reads: three lines, then one. Output is flushed after the third and the fourth event,
    # not after each: the bulk costs one write per read, and no event waits for the next read.
    reader = read_events(Trickle([b'{"n":1}\n{"n":2}\n{"n":3}\n', b'{"n":4}\n']))
    out = CountingOut()
    seen_at_flush = []
    writer = EventWriter(out, reader.pending)
    for event in reader:
        writer.write(event)
        if out.flushes and len(seen_at_flush) < len(out.flushes):
            seen_at_flush.append(event["n"])
    assert seen_at_flush == [3, 4]


def test_write_events_counts_and_flushes_at_the_end() -> None:
    out = CountingOut()
    n = write_events(iter([{"a": 1}, {"b": 2}]), EventWriter(out))
    assert n == 2 and out.getvalue() == b'{"a":1}\n{"b":2}\n'
    assert len(out.flushes) == 2  # no reader: every event is flushed


def test_a_wire_format_piped_where_events_belong_says_what_to_do() -> None:
    with pytest.raises(
        DataError,
        match=r"line 1: not JSON \(this is a wire format, SSE: read it with `streamkit fetch --replay -` first\)",
    ):
        list(read_events(io.BytesIO(b'data: {"a": 1}\n\n')))


BOM = b"\xef\xbb\xbf"


@pytest.mark.parametrize(
    "pieces",
    [
        [BOM + b'{"a":1}\n{"a":2}\n'],
        [b"\xef", b"\xbb", b'\xbf{"a":1}\n', b'{"a":2}'],  # the mark split across reads
        [BOM, b'{"a":1}\n{"a":2}\n'],
    ],
)
def test_a_leading_byte_order_mark_is_skipped(pieces: list[bytes]) -> None:
    reader = read_events(Trickle(pieces))
    assert list(reader) == [{"a": 1}, {"a": 2}]
    assert reader.line_no == 2


def test_a_byte_order_mark_anywhere_else_is_named() -> None:
    assert list(read_events(io.BytesIO(BOM))) == []
    with pytest.raises(DataError, match=r"^line 2: a byte-order mark \(BOM\) inside the stream"):
        list(read_events(io.BytesIO(b'{"a":1}\n' + BOM + b'{"a":2}\n')))
    with pytest.raises(DataError, match="^line 1: invalid UTF-8"):
        list(read_events(Trickle([b"\xef", b"\xbb"])))  # two thirds of a mark, then the end


def test_cli_stages_read_a_file_that_starts_with_a_byte_order_mark() -> None:
    events = b'{"type":"text-start","id":"t"}\n{"type":"text-delta","id":"t","delta":"hi"}\n'
    plain = run_cli("accumulate", input=events)
    marked = run_cli("accumulate", input=BOM + events)
    assert marked.returncode == 0 and marked.stderr == b""
    assert marked.stdout == plain.stdout and b'"text":"hi"' in marked.stdout


# --- what a reader does before a first read that would wait ------------------------------------


def test_would_wait_is_true_only_for_a_pipe_with_nothing_in_it_yet(tmp_path) -> None:
    from streamkit.ndjson import would_wait

    read_end, write_end = os.pipe()
    with open(read_end, "rb", buffering=0) as pipe, open(write_end, "wb", buffering=0) as feed:
        assert would_wait(pipe)
        feed.write(b"{}\n")
        assert not would_wait(pipe)
        pipe.read(3)
        assert would_wait(pipe)
        feed.close()
        assert not would_wait(pipe)  # at its end: a read returns at once
    path = tmp_path / "f.ndjson"
    path.write_bytes(b"")
    with open(path, "rb") as file:
        assert not would_wait(file)
    assert not would_wait(io.BytesIO(b""))  # no descriptor: nothing done ahead
    closed = open(path, "rb")
    closed.close()
    assert not would_wait(closed)


def test_on_idle_is_called_once_and_only_when_the_first_read_would_wait() -> None:
    calls: list[str] = []
    read_end, write_end = os.pipe()
    with open(read_end, "rb") as pipe, open(write_end, "wb", buffering=0) as feed:
        reader = read_events(pipe)
        reader.on_idle = lambda: calls.append("idle")
        done = threading.Event()
        got: list[dict] = []

        def consume() -> None:
            got.extend(reader)
            done.set()

        thread = threading.Thread(target=consume)
        thread.start()
        deadline = time.monotonic() + 10
        while not calls and time.monotonic() < deadline:
            time.sleep(0.01)
        assert calls == ["idle"]  # before anything was written
        feed.write(b'{"type":"a"}\n')
        time.sleep(0.05)
        feed.write(b'{"type":"b"}\n')
        feed.close()
        assert done.wait(10)
        thread.join(10)
    assert [e["type"] for e in got] == ["a", "b"] and calls == ["idle"]
    ready = read_events(io.BytesIO(b'{"type":"a"}\n'))
    ready.on_idle = lambda: calls.append("again")
    assert [e["type"] for e in ready] == ["a"] and calls == ["idle"]
