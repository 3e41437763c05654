"""fetch --replay: every framing of a recording gives the same raw events."""

from __future__ import annotations

import io
import os
import re
import select
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

import orjson
import pytest

from streamkit.errors import DataError
from streamkit.stages.fetch import replay

from ..conftest import DATA, STREAMKIT, ndjson, run_cli

CHUNKS = [
    {
        "id": "c",
        "object": "chat.completion.chunk",
        "model": "m",
        "choices": [{"index": 0, "delta": {"content": "hi"}}],
    },
    {
        "id": "c",
        "object": "chat.completion.chunk",
        "model": "m",
        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
    },
]
EXPECTED = [{"type": "raw", "dialect": None, "event": None, "data": c} for c in CHUNKS]


def raws(data: bytes, **kw) -> list[dict]:
    return list(replay(io.BytesIO(data), **kw))


def test_sse() -> None:
    data = b"".join(b"data: " + orjson.dumps(c) + b"\n\n" for c in CHUNKS)
    assert raws(data) == EXPECTED


def test_ndjson_and_json_array() -> None:
    assert raws(b"".join(orjson.dumps(c) + b"\n" for c in CHUNKS)) == EXPECTED
    assert raws(b"\n [" + b",\r\n".join(orjson.dumps(c) for c in CHUNKS) + b"]") == EXPECTED


def test_an_ndjson_recording_of_raw_events_is_replayed_as_is() -> None:
    recorded = [{**e, "t": 0.25 * i} for i, e in enumerate(EXPECTED)]
    assert raws(b"".join(orjson.dumps(e) + b"\n" for e in recorded)) == recorded


def test_dialect_is_stamped_and_sse_event_names_kept() -> None:
    data = b'event: error\ndata: {"error": {"message": "x"}}\n\ndata: [DONE]\n\n'
    assert raws(data, dialect="openai-chat") == [
        {"type": "raw", "dialect": "openai-chat", "event": "error", "data": {"error": {"message": "x"}}},
        {"type": "raw", "dialect": "openai-chat", "event": None, "data": "[DONE]"},
    ]


def test_empty_recording_and_forced_framing() -> None:
    assert raws(b"  \n") == []
    with pytest.raises(DataError, match="expected a JSON array"):
        raws(b'{"a": 1}', framing="json-array")


def lines(data: bytes, **kw) -> list[bytes]:
    return list(replay(io.BytesIO(data), **kw).lines())


@pytest.mark.parametrize("dialect", [None, "openai-chat"])
def test_lines_say_what_the_events_say_and_keep_the_payload_spelling(dialect: str | None) -> None:
    data = (
        b'data: {"a": [1, 2.50], "s": "\\u00e9\\n"}\n\n'  # spaces, a number form, escapes
        b'event: named\ndata: {"b":1}\n\n'
        b'data: {"c":\ndata: 2}\n\n'  # JSON over two data lines
        b"data: [DONE]\n\n"
    )
    out = lines(data, dialect=dialect)
    assert [orjson.loads(line) for line in out] == raws(data, dialect=dialect)
    assert all(line.endswith(b"}\n") and line.count(b"\n") == 1 for line in out)
    assert out[0].endswith(b'"data":{"a": [1, 2.50], "s": "\\u00e9\\n"}}\n')


def test_lines_of_every_sse_recording_in_tests_data() -> None:
    paths = sorted(DATA.rglob("*.sse"))
    assert paths
    for path in paths:
        data = path.read_bytes()
        assert [orjson.loads(line) for line in lines(data)] == raws(data), path


def test_cli_replay_of_a_file_and_of_stdin() -> None:
    path = DATA / "openai-chat" / "usage-chunk.sse"
    from_file = run_cli("fetch", "--replay", str(path), "-d", "openai-chat")
    from_stdin = run_cli("fetch", "--replay", "-", "-d", "openai-chat", input=path.read_bytes())
    assert from_file.returncode == 0 and from_file.stdout == from_stdin.stdout
    events = ndjson(from_file.stdout)
    assert {e["dialect"] for e in events} == {"openai-chat"} and events[-1]["data"] == "[DONE]"
    assert run_cli("fetch", "--replay", str(path), "-d", "nope").returncode == 2
    nothing = run_cli("fetch")
    assert nothing.returncode == 2 and b"nothing to send: give a PROMPT" in nothing.stderr


# --- bad input: everything good before a bad record comes out first, in every framing ----------


class Trickle(io.RawIOBase):
    """A pipe that hands out at most ``size`` bytes per read."""

    def __init__(self, data: bytes, size: int) -> None:
        self.data, self.size = data, size

    def read1(self, n: int = -1) -> bytes:
        chunk, self.data = self.data[: self.size], self.data[self.size :]
        return chunk

    read = read1


class Counted(Trickle):
    """A :class:`Trickle` that counts the bytes it handed out."""

    def __init__(self, data: bytes, size: int) -> None:
        super().__init__(data, size)
        self.given = 0

    def read1(self, n: int = -1) -> bytes:
        chunk = super().read1(n)
        self.given += len(chunk)
        return chunk

    read = read1


@pytest.mark.parametrize("framing", ["sse", "ndjson"])
@pytest.mark.parametrize("size", [1, 13, 1000])
def test_each_batch_is_what_the_reads_so_far_completed(framing: str, size: int) -> None:
    """fetch --replay writes a batch at a time: by each one, every event the bytes read so far
    completed is out (a pipe's events are written before the next read waits)."""
    if framing == "sse":
        data = b"".join(b"event: e\ndata: " + orjson.dumps(c) + b"\n\n: ping\n\n" for c in CHUNKS * 5)
        data += b"data: [DONE]\n\n"
        end = b"\n\n"
    else:
        data = b"".join(orjson.dumps(c) + b"\n\n" for c in CHUNKS * 5)
        end = b"\n"
    source = Counted(data, size)
    out = b""
    for batch in replay(source, dialect="d").batches():
        out += batch
        read = data[: source.given]
        assert out == b"".join(lines(read[: read.rfind(end) + len(end)], dialect="d"))
    assert out == b"".join(lines(data, dialect="d"))


class Broken(NamedTuple):
    """A recording whose last record is bad: ``good + bad``; ``error`` matches the message."""

    dialect: str
    good: bytes
    bad: bytes
    error: str


def _chat(text: str) -> bytes:
    chunk = {"id": "c", "object": "chat.completion.chunk", "model": "m"}
    return orjson.dumps({**chunk, "choices": [{"index": 0, "delta": {"content": text}}]})


def _ollama(text: str) -> bytes:
    return orjson.dumps({"model": "m", "message": {"role": "assistant", "content": text}, "done": False})


def _gemini(text: str) -> bytes:
    return orjson.dumps({"candidates": [{"content": {"role": "model", "parts": [{"text": text}]}}]})


INVALID = b"\xff"  # never in UTF-8


def _broken() -> dict[str, Broken]:
    from streamkit.framing.eventstream import encode, encode_frame

    sse_good = b"".join(b"data: " + _chat(t) + b"\n\n" for t in "ab")
    sse_bad = b'data: {"choices": [{"index": 0, "delta": {"content": "\xff"}}]}\n\n'
    array_good = b"[" + _gemini("a") + b"\r\n," + _gemini("b") + b"\r\n,"
    es_good = b"".join(
        [encode("messageStart", {"role": "assistant"})]
        + [encode("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": t}}) for t in "ab"]
    )
    es_headers = {
        ":event-type": "contentBlockDelta",
        ":content-type": "application/json",
        ":message-type": "event",
    }
    crc_bad = bytearray(encode("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "c"}}))
    crc_bad[-5] ^= 0xFF
    return {
        "sse": Broken(
            "openai-chat",
            sse_good,
            sse_bad,
            f"invalid UTF-8 in event stream at byte {len(sse_good) + sse_bad.index(INVALID)}",
        ),
        "ndjson": Broken(
            "ollama",
            b"".join(_ollama(t) + b"\n" for t in "ab"),
            _ollama("c")[:-8] + b"\n",
            r"line 3: invalid JSON \(unexpected end of data",
        ),
        "json-array": Broken(
            "gemini",
            array_good,
            _gemini("c")[:-1] + b" x}]",
            rf"invalid JSON \(.*\) in the array element at byte {len(array_good)}",
        ),
        "eventstream-payload": Broken(
            "bedrock",
            es_good,
            encode_frame(es_headers, b'{"contentBlockIndex": 0, "delta": {"text": "c"'),
            f"the payload of the event-stream frame at byte {len(es_good)} is not valid JSON",
        ),
        "eventstream-crc": Broken(
            "bedrock",
            es_good,
            bytes(crc_bad),
            f"bad message CRC in the event-stream frame at byte {len(es_good)}",
        ),
    }


BROKEN = _broken()


def until_error(events: Iterable[dict[str, Any]]) -> tuple[list[dict[str, Any]], DataError]:
    got = []
    with pytest.raises(DataError) as info:
        for event in events:
            got.append(event)
    return got, info.value


@pytest.mark.parametrize("name", sorted(BROKEN))
@pytest.mark.parametrize("size", [None, 1, 7, 100])
def test_the_good_records_before_a_bad_one_come_out_first(name: str, size: int | None) -> None:
    """In one read (None) and in many: the good records, then the error naming where it is."""
    case = BROKEN[name]
    expected = raws(case.good)
    assert len(expected) >= 2
    data = case.good + case.bad
    got, error = until_error(replay(io.BytesIO(data) if size is None else Trickle(data, size)))
    assert got == expected
    assert re.search(case.error, str(error)), str(error)


def _check_failed_run(returncode: int, stdout: bytes, stderr: bytes, command: str, case: Broken) -> None:
    assert returncode == 65, stderr
    lines = stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"streamkit {command}: "), lines
    assert re.search(case.error, lines[0]), lines[0]


def read_lines(stream: Any, want: int, deadline: float) -> bytes:
    """What a pipe delivers until it holds ``want`` lines (or the deadline passes, or it ends)."""
    got = b""
    while got.count(b"\n") < want and time.monotonic() < deadline:
        ready, _, _ = select.select([stream], [], [], 0.5)
        if ready:
            data = os.read(stream.fileno(), 65536)
            if not data:
                break
            got += data
    return got


def run_in_pieces(args: list[str], first: bytes, then: bytes, lines: int) -> tuple[int, bytes, bytes]:
    """Run the CLI writing ``first`` to its stdin 16 bytes at a time, wait until ``lines`` lines of
    output came out, then write ``then`` the same way: each part arrives in reads of its own."""
    proc = subprocess.Popen([str(STREAMKIT), *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None
    deadline = time.monotonic() + 30
    out = b""
    try:
        for part in (first, then):
            for i in range(0, len(part), 16):
                proc.stdin.write(part[i : i + 16])
                proc.stdin.flush()
            if part is first:
                out = read_lines(proc.stdout, lines, deadline)  # written before the rest is sent
        proc.stdin.close()
    except BrokenPipeError:
        pass
    proc.stdin = None  # communicate() must not touch it again
    rest, err = proc.communicate(timeout=30)
    return proc.returncode, out + rest, err


@pytest.mark.parametrize("name", sorted(BROKEN))
@pytest.mark.parametrize("how", ["file", "pipe"])
def test_cli_replay_writes_the_good_records_then_fails(name: str, how: str, tmp_path: Path) -> None:
    case = BROKEN[name]
    if how == "file":  # read in one chunk
        path = tmp_path / "recording"
        path.write_bytes(case.good + case.bad)
        result = run_cli("fetch", "--replay", str(path))
        code, out, err = result.returncode, result.stdout, result.stderr
    else:  # arriving in pieces: the good records are written before the bad one arrives
        code, out, err = run_in_pieces(["fetch", "--replay", "-"], case.good, case.bad, len(raws(case.good)))
    assert ndjson(out) == raws(case.good)
    _check_failed_run(code, out, err, "fetch", case)


# --- a byte-order mark at the start ------------------------------------------------------------

NAMED_SSE = b'event: ping\ndata: {"type": "ping"}\n\nevent: done\ndata: [DONE]\n\n'


@pytest.mark.parametrize("name", [*sorted(BROKEN), "sse-named"])
def test_a_leading_byte_order_mark_is_skipped_in_every_framing(name: str) -> None:
    good = NAMED_SSE if name == "sse-named" else BROKEN[name].good
    expected = raws(good)
    assert expected
    with_bom = b"\xef\xbb\xbf" + good
    assert raws(with_bom) == expected
    for size in (1, 2, 5):  # the mark itself split across reads
        assert list(replay(Trickle(with_bom, size))) == expected, size
    if name == "sse-named":
        assert [e["event"] for e in expected] == ["ping", "done"]  # the first name is not lost


def test_cli_replay_of_a_recording_with_a_byte_order_mark(tmp_path: Path) -> None:
    path = DATA / "anthropic" / "text.sse"
    marked = tmp_path / "marked.sse"
    marked.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    plain, bom = run_cli("fetch", "--replay", str(path)), run_cli("fetch", "--replay", str(marked))
    assert bom.returncode == 0 and bom.stderr == b""
    assert bom.stdout == plain.stdout and ndjson(bom.stdout)[0]["event"] == "message_start"


# --- --realtime ----------------------------------------------------------------------------------


def test_realtime_replay_writes_each_event_when_it_is_due(tmp_path: Path) -> None:
    """A real process and pipe: the first event arrives well before the last one is due."""
    stamps = [0.0, 0.5, 1.0, 1.5, 2.0]
    path = tmp_path / "timed.ndjson"
    path.write_bytes(
        b"".join(orjson.dumps({**EXPECTED[0], "dialect": "openai-chat", "t": t}) + b"\n" for t in stamps)
    )
    proc = subprocess.Popen([str(STREAMKIT), "fetch", "--replay", str(path), "--realtime"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    assert proc.stdout is not None
    arrivals: list[float] = []
    buffered = b""
    deadline = time.monotonic() + 30
    try:
        while len(arrivals) < len(stamps) and time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stdout], [], [], 1.0)
            if not ready:
                continue
            data = os.read(proc.stdout.fileno(), 65536)
            if not data:
                break
            now = time.monotonic()
            buffered += data
            arrivals += [now] * (buffered.count(b"\n") - len(arrivals))
    finally:
        proc.kill()
        proc.communicate(timeout=30)
    assert len(arrivals) == len(stamps), buffered
    assert [orjson.loads(line)["t"] for line in buffered.splitlines()] == stamps
    # each event is seen about when it is due, relative to the first (not all at once at the end)
    for stamp, arrival in zip(stamps, arrivals, strict=True):
        assert stamp - 0.05 <= arrival - arrivals[0] <= stamp + 1.0, (
            stamps,
            [a - arrivals[0] for a in arrivals],
        )


DEEP = b"[" * 300 + b"]" * 300  # valid JSON (orjson reads 1024 levels), too deep to write (254)


def _deep_recordings() -> dict[str, bytes]:
    from streamkit.framing.eventstream import encode_frame

    good, deep = b'{"message":{"content":"a"},"done":false}', b'{"message":{"content":"b"},"x":' + DEEP + b"}"
    headers = {
        ":event-type": "contentBlockDelta",
        ":content-type": "application/json",
        ":message-type": "event",
    }
    return {
        "ndjson": good + b"\n" + deep + b"\n" + good + b"\n",
        "json": b"[" + good + b"," + deep + b"," + good + b"]",
        "eventstream": encode_frame(headers, good)
        + encode_frame(headers, deep)
        + encode_frame(headers, good),
    }


@pytest.mark.parametrize("suffix", ["ndjson", "json", "eventstream"])
def test_a_record_nested_too_deep_to_write_is_bad_input_after_the_ones_before(
    suffix: str, tmp_path: Path
) -> None:
    """A value orjson reads but will not write (over 254 levels): one line naming it, exit 65, and
    the records before it written (it was an internal error, a TypeError, before)."""
    path = tmp_path / f"deep.{suffix}"
    path.write_bytes(_deep_recordings()[suffix])
    result = run_cli("fetch", "--replay", str(path))
    assert result.returncode == 65, result.stderr
    assert [e["data"]["message"]["content"] for e in ndjson(result.stdout)] == ["a"]
    where = "the event-stream frame at byte " if suffix == "eventstream" else "record 2: "
    message = result.stderr.decode()
    assert message.count("\n") == 1 and where in message and "nested more than 254 levels deep" in message
