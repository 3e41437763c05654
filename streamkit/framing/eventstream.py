"""AWS event-stream binary framing (``application/vnd.amazon.eventstream``): decoder and encoder.

Amazon Bedrock's ConverseStream (and every AWS streaming API) sends its events as binary frames:

    total length    4 bytes, big-endian: the whole frame, these 4 bytes and the CRC included
    headers length  4 bytes, big-endian
    prelude CRC     4 bytes: CRC32 of the 8 bytes before it
    headers         name length (1 byte), name (UTF-8), value type (1 byte), value
    payload         total - headers - 16 bytes (for Bedrock: one JSON object)
    message CRC     4 bytes: CRC32 of everything before it

Header value types: 0 true, 1 false (no value bytes), 2 byte, 3 short, 4 int, 5 long (signed,
big-endian), 6 bytes and 7 string (2-byte length first), 8 timestamp (milliseconds since the
epoch, 8 bytes), 9 uuid (16 bytes). Decoded values are ``bool``, ``int``, ``bytes``, ``str``,
:class:`datetime.datetime` (UTC) and :class:`uuid.UUID`; :func:`encode_frame` writes the same
Python types back (``int`` as a 4-byte int when it fits, else 8 bytes).

:class:`EventStreamDecoder` is incremental: feed bytes as they arrive (a frame may be split across
reads anywhere), get the frames they complete. A bad prelude CRC, a bad message CRC, an
impossible length, a malformed header or a stream ending inside a frame is a
:class:`~streamkit.errors.DataError` naming the byte offset where the frame starts. The frames
before it are handed out first: the call that meets it returns them and the next call raises it
(a call with nothing good to return raises at once), as does every call after it. The decoder is
linear in the input however it is split: bytes are appended to one buffer, a frame is parsed once
it is whole, and an incomplete frame costs one look at its prelude per read.

A UTF-8 byte-order mark before the first frame (a recording that went through a text tool) is
skipped, as in the text framings; it cannot be the start of a frame, whose first four bytes
would then claim a length near 4 GB.

Frames as wire events (what ``fetch --replay`` writes as ``raw`` events):

* ``:message-type: event`` → ``event`` = the ``:event-type`` header, ``data`` = the parsed payload;
* ``:message-type: exception`` → ``event`` = the ``:exception-type`` header (``throttlingException``),
  ``data`` = the parsed payload (``{"message": ...}``);
* ``:message-type: error`` → ``event`` = ``"error"``, ``data`` = ``{"code": :error-code,
  "message": :error-message}``.

:func:`encode` is the way back: an event whose name ends in ``Exception`` is written as an
exception frame, ``"error"`` as an error frame, anything else as an event frame with
``:content-type: application/json``.
"""

from __future__ import annotations

import datetime
import struct
import uuid
import zlib
from collections.abc import Iterable, Mapping
from itertools import repeat
from typing import Any, NamedTuple, NoReturn
from zlib import crc32

import orjson

from ..errors import DataError
from ..ndjson import BOM, skip_bom

HeaderValue = bool | int | bytes | str | datetime.datetime | uuid.UUID

PRELUDE_LENGTH = 12
#: prelude + message CRC: the size of a frame with no headers and no payload
MIN_FRAME_LENGTH = 16
#: the limits the AWS SDKs enforce
MAX_HEADERS_LENGTH = 128 * 1024
MAX_PAYLOAD_LENGTH = 24 * 1024 * 1024

_PRELUDE = struct.Struct(">III")
_U32 = struct.Struct(">I")
_U16 = struct.Struct(">H")
#: a prelude as (its two lengths as one 8-byte int, its CRC): a frame size's key in a decoder
_PRELUDE_KEY = struct.Struct(">QI")
_INTS = {2: struct.Struct(">b"), 3: struct.Struct(">h"), 4: struct.Struct(">i"), 5: struct.Struct(">q")}
#: how many distinct header blocks a decoder keeps decoded
_CACHED_HEADERS = 64
#: how many distinct frame sizes (total and headers length) a decoder keeps what it knows of,
#: for header blocks up to how many bytes (what that keeps is then a few MB at most)
_CACHED_SIZES = 4096
_CACHED_BLOCK = 1024
#: the two lengths that start a frame
_LENGTHS = struct.Struct(">II")
#: an event frame's encoded header block, by the event's name (:func:`_event_headers`), for at
#: most this many names
_EVENT_HEADERS: dict[str, bytes] = {}
_CACHED_EVENTS = 256
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


class Frame(NamedTuple):
    """One decoded frame: its headers, its payload, and where it starts in the stream."""

    headers: dict[str, HeaderValue]
    payload: bytes
    offset: int = 0


class FrameParts(NamedTuple):
    """The frames a read completed, as parallel lists: frame i's header block (its bytes), its
    headers, its payload and where it starts in the stream."""

    blocks: list[bytes]
    headers: list[dict[str, HeaderValue]]
    payloads: list[bytes]
    offsets: list[int]


def _bad_prelude(data: bytes, pos: int, at: int) -> NoReturn:
    """The DataError for the bad prelude at ``pos`` (of the frame at byte ``at``)."""
    total, headers_length, prelude_crc = _PRELUDE.unpack_from(data, pos)
    crc = crc32(data[pos : pos + 8])
    if crc != prelude_crc:
        raise DataError(
            f"bad prelude CRC in the event-stream frame at byte {at} "
            f"(computed {crc:#010x}, the frame says {prelude_crc:#010x})"
        )
    raise DataError(
        f"impossible length in the event-stream frame at byte {at} (total {total}, headers {headers_length})"
    )


def is_prelude(head: bytes) -> bool:
    """Whether the first 12 bytes are a frame prelude with a valid CRC (text never is)."""
    if len(head) < PRELUDE_LENGTH:
        return False
    total, headers_length, crc = _PRELUDE.unpack_from(head)
    return zlib.crc32(head[:8]) == crc and total >= MIN_FRAME_LENGTH and headers_length <= total - 16


class EventStreamDecoder:
    """Feed bytes as they arrive, get the frames they complete.

    Frames whose header blocks are the same bytes share one ``headers`` dict (decoded once): read
    it, do not change it. A frame with the prelude (lengths and CRC) and header block of a frame
    seen before takes a short way: its header block is compared with that one's and its message
    CRC is computed from the payload on, from the known CRC of the bytes before it.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._offset = 0  # stream offset of _buf[0]
        self._error: DataError | None = None  # found after good frames: raised on the next call
        self._started = False  # whether a BOM at the start was ruled in or out
        self._checked = False  # whether the prelude of the frame at the start of _buf is known good
        #: header blocks seen -> their decoded headers (an upstream sends a few, over and over)
        self._headers: dict[bytes, dict[str, HeaderValue]] = {}
        #: the preludes of good frames (see _PRELUDE_KEY) -> the total length, where the payload
        #: starts, the header block, its headers and the CRC of prelude and header block of the
        #: last such frame: an upstream's frames come in a few sizes and kinds, over and over
        self._seen: dict[tuple[int, int], tuple[int, int, bytes, dict[str, HeaderValue], int]] = {}

    def feed(self, chunk: bytes) -> list[Frame]:
        parts = self.feed_parts(chunk)
        return list(map(tuple.__new__, repeat(Frame), zip(parts.headers, parts.payloads, parts.offsets)))

    def feed_parts(self, chunk: bytes) -> FrameParts:
        """:meth:`feed`, the frames as parallel lists (with their header blocks' bytes)."""
        if self._error is not None:
            raise self._error
        out = FrameParts([], [], [], [])
        buf = self._buf
        buf += chunk
        if not self._started:
            if skip_bom(bytes(buf[:3])) is None:
                return out
            self._started = True
            if buf.startswith(BOM):
                del buf[:3]
                self._offset = 3
        n = len(buf)
        if n < PRELUDE_LENGTH:
            return out
        checked = self._checked  # whether the prelude of the frame at the start is known good
        if checked and n < _U32.unpack_from(buf)[0]:
            return out  # the rest of that frame is still to come
        # the buffer as bytes, copied once (a frame that takes many reads is copied when it is
        # whole, not at each read)
        data = bytes(buf)
        pos = 0
        cache = self._headers
        prelude, u32 = _PRELUDE.unpack_from, _U32.unpack_from
        blocks, headers_of, payloads, offsets = out
        add_block, add_headers, add_payload, add_offset = (
            blocks.append,
            headers_of.append,
            payloads.append,
            offsets.append,
        )
        seen = self._seen
        seen_get = seen.get
        prelude_of = _PRELUDE_KEY.unpack_from
        limit = n - PRELUDE_LENGTH
        try:
            while True:
                # The hot path: a whole frame with the lengths, prelude CRC and header block of
                # a frame seen before, and a good message CRC. Anything else (new lengths or
                # header block, a frame still to come, a bad CRC) is left to the frame-by-frame
                # loop below, which says what is wrong.
                while pos <= limit:
                    like = seen_get(prelude_of(data, pos))
                    if like is None:
                        break
                    total, skip, block, headers, head_crc = like
                    after = pos + total
                    if after > n:
                        break
                    end = after - 4
                    payload = data[pos + skip : end]
                    # the message CRC from that of the prelude and header block of the frame
                    # seen before: the same as this one's once its header block is checked the same
                    if (
                        crc32(payload, head_crc) != u32(data, end)[0]
                        or data[pos + PRELUDE_LENGTH : pos + skip] != block
                    ):
                        break
                    add_block(block)
                    add_headers(headers)
                    add_payload(payload)
                    add_offset(pos)
                    pos = after
                if pos:
                    checked = False
                if n - pos < PRELUDE_LENGTH:
                    break
                # one frame, checked step by step
                total, headers_length, prelude_crc = prelude(data, pos)
                if not checked and (
                    crc32(data[pos : pos + 8]) != prelude_crc
                    or total < MIN_FRAME_LENGTH
                    or headers_length > total - MIN_FRAME_LENGTH
                    or headers_length > MAX_HEADERS_LENGTH
                    or total - headers_length - MIN_FRAME_LENGTH > MAX_PAYLOAD_LENGTH
                ):
                    _bad_prelude(data, pos, self._offset + pos)
                if n - pos < total:
                    checked = True
                    break  # the rest of this frame is still to come
                checked = False
                end = pos + total - 4
                crc = crc32(data[pos:end])
                if crc != u32(data, end)[0]:
                    at = self._offset + pos
                    raise DataError(
                        f"bad message CRC in the event-stream frame at byte {at} "
                        f"(computed {crc:#010x}, the frame says {u32(data, end)[0]:#010x})"
                    )
                start = pos + PRELUDE_LENGTH
                block = data[start : start + headers_length]
                cached = cache.get(block)
                if cached is None:
                    headers = _decode_headers(memoryview(block), self._offset + pos)
                    if len(cache) < _CACHED_HEADERS:
                        cache[block] = headers
                else:
                    headers = cached
                add_block(block)
                add_headers(headers)
                add_payload(data[start + headers_length : end])
                add_offset(pos)
                if len(seen) < _CACHED_SIZES and headers_length <= _CACHED_BLOCK:
                    skip = start + headers_length - pos
                    seen[prelude_of(data, pos)] = (total, skip, block, headers, crc32(data[pos : pos + skip]))
                pos += total
        except DataError as exc:
            if not blocks:
                raise
            self._error = exc  # hand out the good frames before it first
        self._checked = checked
        if offsets and self._offset:
            out.offsets[:] = [self._offset + at for at in offsets]
        if pos:
            del buf[:pos]
            self._offset += pos
        return out

    @staticmethod
    def event_of(frame: Frame) -> tuple[str | None, Any]:
        """The wire event a frame stands for (:func:`wire_event`)."""
        return wire_event(frame)

    def close_parts(self) -> FrameParts:
        """:meth:`close`, as :meth:`feed_parts` hands out frames (there are none)."""
        self.close()
        return FrameParts([], [], [], [])

    def close(self) -> list[Frame]:
        """End of input: an error if it ends inside a frame."""
        if self._error is not None:
            raise self._error
        if self._buf:
            have = len(self._buf)
            if have >= PRELUDE_LENGTH:
                (total,) = _U32.unpack_from(self._buf)
                what = f"{have} of its {total} bytes"
            else:
                what = f"{have} bytes of its {PRELUDE_LENGTH}-byte prelude"
            self._error = DataError(f"the event stream ends inside the frame at byte {self._offset} ({what})")
            raise self._error
        return []


def _decode_headers(data: memoryview, at: int) -> dict[str, HeaderValue]:
    headers: dict[str, HeaderValue] = {}
    pos = 0
    n = len(data)
    try:
        while pos < n:
            name_length = data[pos]
            name = bytes(data[pos + 1 : pos + 1 + name_length]).decode()
            pos += 1 + name_length
            kind = data[pos]
            pos += 1
            value: HeaderValue
            if kind == 0 or kind == 1:
                value = kind == 0
            elif kind in _INTS:
                fmt = _INTS[kind]
                (value,) = fmt.unpack_from(data, pos)
                pos += fmt.size
            elif kind == 6 or kind == 7:
                (length,) = _U16.unpack_from(data, pos)
                raw = bytes(data[pos + 2 : pos + 2 + length])
                if len(raw) != length:
                    raise IndexError
                value = raw if kind == 6 else raw.decode()
                pos += 2 + length
            elif kind == 8:
                (millis,) = _INTS[5].unpack_from(data, pos)
                value = _EPOCH + datetime.timedelta(milliseconds=millis)
                pos += 8
            elif kind == 9:
                raw = bytes(data[pos : pos + 16])
                if len(raw) != 16:
                    raise IndexError
                value = uuid.UUID(bytes=raw)
                pos += 16
            else:
                raise DataError(f"unknown header value type {kind} in the event-stream frame at byte {at}")
            if pos > n:
                raise IndexError
            headers[name] = value
    except (IndexError, struct.error):
        raise DataError(f"truncated headers in the event-stream frame at byte {at}") from None
    except UnicodeDecodeError:
        raise DataError(f"a header of the event-stream frame at byte {at} is not UTF-8") from None
    return headers


def _encode_header(name: str, value: HeaderValue) -> bytes:
    key = name.encode()
    if len(key) > 255:
        raise ValueError(f"header name too long: {name!r}")
    head = bytes((len(key),)) + key
    if value is True or value is False:
        return head + (b"\x00" if value else b"\x01")
    if isinstance(value, int):
        if -(2**31) <= value < 2**31:
            return head + b"\x04" + _INTS[4].pack(value)
        return head + b"\x05" + _INTS[5].pack(value)
    if isinstance(value, str):
        value = value.encode()
        return head + b"\x07" + _U16.pack(len(value)) + value
    if isinstance(value, (bytes, bytearray)):
        return head + b"\x06" + _U16.pack(len(value)) + bytes(value)
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        millis = (value - _EPOCH) // datetime.timedelta(milliseconds=1)
        return head + b"\x08" + _INTS[5].pack(millis)
    if isinstance(value, uuid.UUID):
        return head + b"\x09" + value.bytes
    raise TypeError(f"cannot write a header value of type {type(value).__name__}")


def encode_frame(headers: Mapping[str, HeaderValue], payload: bytes = b"") -> bytes:
    """One frame with these headers and payload, CRCs included."""
    return _frame(_encode_headers(headers.items()), payload)


def _encode_headers(headers: Iterable[tuple[str, HeaderValue]]) -> bytes:
    """A frame's header block."""
    return b"".join(_encode_header(k, v) for k, v in headers)


def _frame(encoded: bytes, payload: bytes) -> bytes:
    """One frame of an encoded header block and a payload."""
    total = len(encoded) + len(payload) + MIN_FRAME_LENGTH
    prelude = _LENGTHS.pack(total, len(encoded))
    crc = crc32(prelude)
    body = prelude + _U32.pack(crc) + encoded + payload
    return body + _U32.pack(crc32(body[8:], crc))


def _event_headers(event: str) -> bytes:
    """The header block of an event frame named ``event``, encoded once per name (a stream names
    a handful of events: encoding its three headers anew was half of what ``render -f bedrock``
    spent on a frame)."""
    block = _EVENT_HEADERS.get(event)
    if block is None:
        block = _encode_headers(
            ((":event-type", event), (":content-type", "application/json"), (":message-type", "event"))
        )
        if len(_EVENT_HEADERS) < _CACHED_EVENTS:
            _EVENT_HEADERS[event] = block
    return block


def encode(event: str | None, data: Any) -> bytes:
    """A wire event as one frame: ``...Exception`` names an exception, ``error`` an error frame."""
    if event == "error" and isinstance(data, dict) and "code" in data:
        return encode_frame(
            {
                ":message-type": "error",
                ":error-code": str(data.get("code") or ""),
                ":error-message": str(data.get("message") or ""),
            }
        )
    payload = data.encode() if isinstance(data, str) else orjson.dumps(data)
    if event and event.endswith("Exception"):
        headers: dict[str, HeaderValue] = {
            ":exception-type": event,
            ":content-type": "application/json",
            ":message-type": "exception",
        }
        return encode_frame(headers, payload)
    return _frame(_event_headers(event or ""), payload)


def wire_event(frame: Frame) -> tuple[str | None, Any]:
    """A frame as a wire event ``(event name, data)``: see the module docstring."""
    headers = frame.headers
    kind = headers.get(":message-type", "event")
    if kind == "error":
        return "error", {"code": headers.get(":error-code"), "message": headers.get(":error-message")}
    name = headers.get(":exception-type" if kind == "exception" else ":event-type")
    event = name if isinstance(name, str) else None
    payload = frame.payload
    if not payload:
        return event, {}
    try:
        return event, orjson.loads(payload)
    except orjson.JSONDecodeError:
        content_type = headers.get(":content-type")
        if not isinstance(content_type, str) or "json" in content_type:
            raise DataError(
                f"the payload of the event-stream frame at byte {frame.offset} is not valid JSON"
            ) from None
    try:
        return event, payload.decode()  # a text payload, kept as the string (like SSE's [DONE])
    except UnicodeDecodeError:
        raise DataError(
            f"the payload of the event-stream frame at byte {frame.offset} is neither JSON nor UTF-8 text"
        ) from None
