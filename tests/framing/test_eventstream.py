"""AWS event-stream frames: the decoder (any split of the input, every error with its byte offset),
the encoder, detection, and fetch --replay of binary recordings."""

from __future__ import annotations

import datetime
import io
import struct
import uuid
import zlib
from pathlib import Path

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamkit.errors import DataError
from streamkit.framing import FRAMINGS, detect, eventstream, frame
from streamkit.framing.eventstream import (
    EventStreamDecoder,
    Frame,
    encode,
    encode_frame,
    is_prelude,
    wire_event,
)
from streamkit.stages.fetch import replay

from ..conftest import fixture_files, run_cli

# The event-stream test vectors every AWS SDK checks itself against (bytes fixed by the format).
BODY = b"{'foo':'bar'}"
VECTORS = {
    "empty_message": ("00000010 00000000 05c248eb 7d98c8ff", {}, b""),
    "int32_header": (
        "0000002b 0000000e 348bec7b 08 6576656e742d6964 04 0000a00c 7b27666f6f273a27626172277d d3890285",
        {"event-id": 0xA00C},
        BODY,
    ),
    "payload_no_headers": ("0000001d 00000000 fd528c5a 7b27666f6f273a27626172277d c3653936", {}, BODY),
    "payload_one_str_header": (
        "0000003d 00000020 07fd8396 0c 636f6e74656e742d74797065 07 0010 6170706c69636174696f6e2f6a736f6e"
        " 7b27666f6f273a27626172277d 8d9c08b1",
        {"content-type": "application/json"},
        BODY,
    ),
}


def hexbytes(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


def decode(data: bytes, step: int | None = None) -> list[Frame]:
    decoder = EventStreamDecoder()
    out: list[Frame] = []
    step = step or len(data) or 1
    for i in range(0, len(data), step):
        out += decoder.feed(data[i : i + step])
    return out + decoder.close()


@pytest.mark.parametrize("name", sorted(VECTORS))
def test_the_aws_test_vectors(name: str) -> None:
    encoded, headers, body = VECTORS[name]
    data = hexbytes(encoded)
    assert decode(data) == [Frame(headers, body, 0)]
    assert encode_frame(headers, body) == data


@pytest.mark.parametrize(
    ("corrupted", "error"),
    [
        # a header name changed: the message CRC no longer matches
        ("0000003d 00000020 07fd8396 0c 636f6e74656e742b74797065 07 0010 6170706c69636174696f6e2f6a736f6e"
         " 7b27666f6f273a27626172277d 8d9c08b1", "bad message CRC"),
        # the headers length changed: the prelude CRC no longer matches
        ("0000003d 00000120 07fd8396 0c 636f6e74656e742d74797065 07 0010 6170706c69636174696f6e2f6a736f6e"
         " 7b27666f6f273a27626172277d 8d9c08b1", "bad prelude CRC"),
        ("0100001d 00000000 fd528c5a 7b27666f6f273a27626172277d c3653936", "bad prelude CRC"),
        ("0000001d 00000000 fd528c5a 7b27666f6f273a276261722781 c3653936", "bad message CRC"),
    ],
)  # fmt: skip
def test_the_aws_corrupted_vectors(corrupted: str, error: str) -> None:
    with pytest.raises(DataError, match=f"{error} in the event-stream frame at byte 0"):
        decode(hexbytes(corrupted))


def test_every_header_type_round_trips() -> None:
    headers = {
        "yes": True,
        "no": False,
        "int": -7,
        "long": 2**40,
        "bytes": b"\x00\xff",
        "string": "héllo",
        "when": datetime.datetime(2025, 1, 2, 3, 4, 5, 678000, tzinfo=datetime.timezone.utc),
        "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    }
    assert decode(encode_frame(headers, b"x")) == [Frame(headers, b"x", 0)]


def test_byte_and_short_headers_decode_as_ints() -> None:
    raw = b"\x01b\x02\xfe" + b"\x01s\x03\x01\x00"  # type 2 (byte) -2, type 3 (short) 256
    prelude = struct.pack(">II", 16 + len(raw), len(raw))
    body = prelude + struct.pack(">I", zlib.crc32(prelude)) + raw
    data = body + struct.pack(">I", zlib.crc32(body))
    assert decode(data) == [Frame({"b": -2, "s": 256}, b"", 0)]


FRAMES = [
    encode("messageStart", {"role": "assistant"}),
    encode("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "héllo ✓"}}),
    encode("throttlingException", {"message": "slow down"}),
]
STREAM = b"".join(FRAMES)


def test_a_frame_split_anywhere_across_reads() -> None:
    whole = decode(STREAM)
    assert [f.offset for f in whole] == [0, len(FRAMES[0]), len(FRAMES[0]) + len(FRAMES[1])]
    for step in (1, 2, 3, 5, 11, 12, 13, 64):
        assert decode(STREAM, step) == whole
    for cut in range(1, len(STREAM)):
        decoder = EventStreamDecoder()
        assert decoder.feed(STREAM[:cut]) + decoder.feed(STREAM[cut:]) + decoder.close() == whole


@given(st.lists(st.tuples(st.text(min_size=1, max_size=20), st.binary(max_size=200)), max_size=6),
       st.integers(1, 50))  # fmt: skip
def test_any_frames_any_split(frames: list[tuple[str, bytes]], step: int) -> None:
    data = b"".join(encode_frame({":event-type": name}, payload) for name, payload in frames)
    assert [(f.headers[":event-type"], f.payload) for f in decode(data, step)] == frames


def test_errors_name_the_offset_of_the_frame() -> None:
    second = len(FRAMES[0])
    flipped = bytearray(STREAM)
    flipped[second + 20] ^= 0xFF  # inside the second frame's headers
    with pytest.raises(DataError, match=f"bad message CRC in the event-stream frame at byte {second}"):
        decode(bytes(flipped))
    flipped = bytearray(STREAM)
    flipped[second + 3] ^= 0x01  # its length
    with pytest.raises(DataError, match=f"bad prelude CRC in the event-stream frame at byte {second}"):
        decode(bytes(flipped))
    with pytest.raises(DataError, match=f"the event stream ends inside the frame at byte {second}"):
        decode(STREAM[: second + 30])
    with pytest.raises(DataError, match=rf"ends inside the frame at byte {second} \(5 bytes of its 12-byte"):
        decode(STREAM[: second + 5])


def test_a_bad_last_frame_fails_after_the_frames_before_it() -> None:
    flipped = bytearray(STREAM)
    flipped[-5] ^= 0xFF  # the last frame's payload
    last = len(FRAMES[0]) + len(FRAMES[1])
    for step in (len(STREAM), 1, 13):  # in one read and in many
        decoder = EventStreamDecoder()
        frames: list[Frame] = []
        with pytest.raises(DataError, match=f"bad message CRC in the event-stream frame at byte {last}"):
            for i in range(0, len(flipped), step):
                frames += decoder.feed(bytes(flipped[i : i + step]))
            decoder.close()
        assert frames == decode(STREAM)[:2], step


@pytest.mark.parametrize("step", [1, 2, 3, 100])
def test_a_leading_byte_order_mark_is_skipped(step: int) -> None:
    frames = decode(b"\xef\xbb\xbf" + STREAM, step)
    assert [(f.headers, f.payload) for f in frames] == [(f.headers, f.payload) for f in decode(STREAM)]
    assert frames[0].offset == 3  # offsets count from the start of the stream
    assert detect(b"\xef\xbb\xbf" + STREAM) == "eventstream"
    with pytest.raises(DataError, match="bad prelude CRC in the event-stream frame at byte 0"):
        decode(b"\xef\xbb" + STREAM)


def _prelude(total: int, headers: int) -> bytes:
    head = struct.pack(">II", total, headers)
    return head + struct.pack(">I", zlib.crc32(head))


@pytest.mark.parametrize(("total", "headers"), [(8, 0), (20, 10), (2**31, 0), (200_000, 150_000)])
def test_impossible_lengths(total: int, headers: int) -> None:
    decoder = EventStreamDecoder()
    # found as soon as the prelude is read (not after waiting for 2 GB), once the good frame before
    # it is handed out
    assert len(decoder.feed(FRAMES[0] + _prelude(total, headers))) == 1
    with pytest.raises(
        DataError, match=f"impossible length in the event-stream frame at byte {len(FRAMES[0])}"
    ):
        decoder.feed(b"")


def test_malformed_headers() -> None:
    def with_headers(raw: bytes) -> bytes:
        body = _prelude(16 + len(raw), len(raw)) + raw
        return body + struct.pack(">I", zlib.crc32(body))

    with pytest.raises(DataError, match="truncated headers in the event-stream frame at byte 0"):
        decode(with_headers(b"\x04name\x07\x00\x09abc"))
    with pytest.raises(DataError, match="unknown header value type 12"):
        decode(with_headers(b"\x01x\x0c"))


def test_frames_as_wire_events() -> None:
    events = [wire_event(f) for f in decode(STREAM)]
    assert events == [
        ("messageStart", {"role": "assistant"}),
        ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "héllo ✓"}}),
        ("throttlingException", {"message": "slow down"}),
    ]
    (exception,) = decode(FRAMES[2])
    assert exception.headers == {
        ":exception-type": "throttlingException",
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    error = encode("error", {"code": "InternalFailure", "message": "boom"})
    (decoded,) = decode(error)
    assert decoded.headers[":message-type"] == "error" and decoded.payload == b""
    assert wire_event(decoded) == ("error", {"code": "InternalFailure", "message": "boom"})
    text = encode_frame({":event-type": "note", ":content-type": "text/plain"}, "plain ✓".encode())
    assert [wire_event(f) for f in decode(text)] == [("note", "plain ✓")]
    bad = encode_frame({":event-type": "x", ":content-type": "application/json"}, b"{nope")
    with pytest.raises(DataError, match="payload of the event-stream frame at byte 0 is not valid JSON"):
        wire_event(decode(bad)[0])


@given(st.lists(st.text(max_size=40), min_size=1, max_size=8), st.text(max_size=64))
def test_an_event_frame_is_its_headers_encoded_each_time(names: list[str], payload: str) -> None:
    # encode keeps each event name's header block: the frame is still the one encode_frame makes
    # of the three headers, the first time, the next times, and past the names it keeps
    for name in [*names, *names, *(f"event{i}" for i in range(eventstream._CACHED_EVENTS + 2))][:300]:
        headers = {":event-type": name, ":content-type": "application/json", ":message-type": "event"}
        assert encode(name, payload) == encode_frame(headers, payload.encode())
        assert decode(encode(name, {"a": 1}))[0].headers == headers
    assert len(eventstream._EVENT_HEADERS) <= eventstream._CACHED_EVENTS
    assert encode(None, {}) == encode_frame({":event-type": "", ":content-type": "application/json",
                                              ":message-type": "event"}, b"{}")  # fmt: skip
    with pytest.raises(ValueError, match="header name too long"):
        encode_frame({"k" * 256: "v"})


def test_detect_and_frame() -> None:
    assert "eventstream" in FRAMINGS
    assert detect(STREAM) == "eventstream"
    assert is_prelude(STREAM[:12]) and not is_prelude(STREAM[:11])
    for text in (b'data: {"a": 1}\n\n', b'{"a": 1}\n', b"[{}]", b"\x00\x00\x00\x10" + b"\x00" * 8):
        assert detect(text) != "eventstream"
    assert frame("eventstream", "metadata", {"usage": {}}) == encode("metadata", {"usage": {}})


class Trickle(io.RawIOBase):
    """A pipe that hands out a few bytes per read."""

    def __init__(self, data: bytes, size: int) -> None:
        self.data, self.size = data, size

    def read1(self, n: int = -1) -> bytes:
        chunk, self.data = self.data[: self.size], self.data[self.size :]
        return chunk


def test_replay_reads_binary_frames_however_they_arrive() -> None:
    expected = [
        {"type": "raw", "dialect": "bedrock", "event": "messageStart", "data": {"role": "assistant"}},
        {
            "type": "raw",
            "dialect": "bedrock",
            "event": "contentBlockDelta",
            "data": {"contentBlockIndex": 0, "delta": {"text": "héllo ✓"}},
        },
        {
            "type": "raw",
            "dialect": "bedrock",
            "event": "throttlingException",
            "data": {"message": "slow down"},
        },
    ]
    assert list(replay(io.BytesIO(STREAM), dialect="bedrock")) == expected
    for size in (1, 5, 13):  # the prelude itself arrives in pieces: detection waits for 12 bytes
        assert list(replay(Trickle(STREAM, size), dialect="bedrock")) == expected
    assert list(replay(io.BytesIO(STREAM), dialect="bedrock", framing="eventstream")) == expected


def test_replay_errors() -> None:
    with pytest.raises(DataError, match="bad prelude CRC in the event-stream frame at byte 0"):
        list(replay(io.BytesIO(b'data: {"a": 1}\n\n'), framing="eventstream"))
    with pytest.raises(DataError, match=f"ends inside the frame at byte {len(FRAMES[0])}"):
        list(replay(io.BytesIO(STREAM[: len(FRAMES[0]) + 20])))


def test_cli_replay_and_a_corrupt_frame(tmp_path: Path) -> None:
    path = tmp_path / "rec.eventstream"
    path.write_bytes(STREAM)
    result = run_cli("fetch", "--replay", str(path))
    assert result.returncode == 0, result.stderr
    assert [orjson.loads(line)["event"] for line in result.stdout.splitlines()] == [
        "messageStart",
        "contentBlockDelta",
        "throttlingException",
    ]
    corrupt = bytearray(STREAM)
    corrupt[len(FRAMES[0]) + 20] ^= 0xFF
    path.write_bytes(bytes(corrupt))
    result = run_cli("fetch", "--replay", str(path))
    assert result.returncode == 65
    assert result.stdout.count(b"\n") == 1  # the good frame first
    assert result.stderr.count(b"\n") == 1
    assert f"bad message CRC in the event-stream frame at byte {len(FRAMES[0])}".encode() in result.stderr


BINARY_RECORDINGS = [
    p for p in fixture_files("bedrock") if p.values[0] is None or p.values[0].suffix == ".eventstream"
]


@pytest.mark.parametrize("path", BINARY_RECORDINGS)
def test_real_recordings(path: Path) -> None:
    """Real Bedrock frames decode, read one byte at a time too, and re-encode to the same bytes."""
    data = path.read_bytes()
    assert is_prelude(data) and detect(data) == "eventstream"
    frames = decode(data)
    assert frames and decode(data, 1) == frames
    assert b"".join(encode_frame(f.headers, f.payload) for f in frames) == data
    for f in frames:
        assert f.headers[":message-type"] == "event" and f.headers[":content-type"] == "application/json"
        event, payload = wire_event(f)
        assert event == f.headers[":event-type"] and isinstance(payload, dict)
        assert encode(event, payload) == encode_frame(f.headers, orjson.dumps(payload))


def test_feed_parts_are_the_frames_and_a_header_block_is_decoded_once() -> None:
    data = b"".join(encode(name, {"i": i}) for i, name in enumerate(["a", "b", "a", "a", "b"]))
    for step in (1, 7, len(data)):
        decoder = EventStreamDecoder()
        frames: list[Frame] = []
        blocks: list[bytes] = []
        for i in range(0, len(data), step):
            parts = decoder.feed_parts(data[i : i + step])
            blocks += parts.blocks
            frames += [Frame(h, p, at) for h, p, at in zip(parts.headers, parts.payloads, parts.offsets)]
        assert decoder.close_parts() == ([], [], [], [])
        assert frames == decode(data, step)
        assert [f.headers[":event-type"] for f in frames] == ["a", "b", "a", "a", "b"]
        assert frames[0].headers is frames[2].headers  # the same header bytes: one dict
        assert blocks[0] == blocks[2] != blocks[1]


def _frame(name: str, payload: bytes) -> bytes:
    return encode_frame(
        {":event-type": name, ":content-type": "application/json", ":message-type": "event"}, payload
    )


def test_a_frame_of_a_size_seen_before_is_checked_as_fully() -> None:
    """The short way for a frame whose prelude was seen (its header block compared, its message CRC
    computed from the payload on) still tells a changed header block, a bad message CRC and a bad
    prelude CRC, at the same offsets as the frame-by-frame way."""
    a = _frame("aaaa", b'{"i":1}')
    same_size = _frame("bbbb", b'{"i":2}')  # the same lengths, another header block
    assert a[:12] == same_size[:12] and a != same_size
    frames = decode(a + a + same_size + a)
    assert [f.headers[":event-type"] for f in frames] == ["aaaa", "aaaa", "bbbb", "aaaa"]
    again = decode(a + same_size + a + same_size, 1)
    assert [f.headers[":event-type"] for f in again] == ["aaaa", "bbbb", "aaaa", "bbbb"]
    bad_payload = bytearray(a)
    bad_payload[-6] ^= 1
    with pytest.raises(DataError, match=f"bad message CRC in the event-stream frame at byte {2 * len(a)}"):
        decode(a + a + bytes(bad_payload))
    bad_block = bytearray(a)
    bad_block[14] ^= 1
    with pytest.raises(DataError, match=f"bad message CRC in the event-stream frame at byte {len(a)}"):
        decode(a + bytes(bad_block))
    bad_prelude = bytearray(a)
    bad_prelude[9] ^= 1
    with pytest.raises(DataError, match=f"bad prelude CRC in the event-stream frame at byte {len(a)}"):
        decode(a + bytes(bad_prelude))
    decoder = EventStreamDecoder()
    assert len(decoder.feed(a + a + bytes(bad_payload))) == 2  # the good frames first
    with pytest.raises(DataError):
        decoder.feed(b"")


@pytest.mark.parametrize(
    ("payloads", "error"),
    [
        ([b'{"a":1}', b'{"b":"\\u00e9\\/","c":1.50, "d":[1e2]}', b'{"a":1,"a":2}'], None),  # written anew
        ([b'{"a":1}', b'{"x":["a","b"]},{"y":1}', b'{"a":2}'], "not valid JSON"),  # two values joined
        ([b'{"a":[1', b"2]}"], "not valid JSON"),  # one value cut in two
        ([b'{"a":1}', b"[" * 254 + b"]" * 254], None),  # too deep to be written back in one array
    ],
)
def test_fetch_writes_each_payload_as_dumps_of_loads_would(payloads: list[bytes], error: str | None) -> None:
    """fetch parses a read's payloads as one array: the lines are still those of each payload parsed
    and written back by itself, and a payload that is no JSON value by itself is still an error."""
    data = b"".join(_frame("metadata", p) for p in payloads)
    expected = []
    for p in payloads:
        try:
            expected.append(orjson.loads(p))
        except orjson.JSONDecodeError:
            break
    lines = b""
    try:
        for batch in replay(io.BytesIO(data), dialect="bedrock").batches():
            lines += batch
    except DataError as exc:
        assert error is not None and error in str(exc)
    else:
        assert error is None
    start = b'{"type":"raw","dialect":"bedrock","event":"metadata","data":'
    assert lines == b"".join(start + orjson.dumps(v) + b"}\n" for v in expected)
