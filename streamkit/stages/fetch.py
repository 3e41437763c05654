"""fetch: the upstream's events as ``raw`` events.

This module holds the replay half: :class:`Replay` reads a recorded wire file (SSE with or
without ``event:`` lines, ``\\r\\n`` or ``\\n``, comments; NDJSON; one JSON array; AWS
event-stream binary frames; or an NDJSON recording of ``raw`` events) and yields the ``raw``
events a live fetch would have written. The framing is detected from the first bytes unless given.
A UTF-8 byte-order mark at the start is skipped in every framing.

Bad input fails after the good: everything decoded before a bad record (a line or array element
that is not JSON, invalid UTF-8, a corrupt frame) is handed out first, then the
:class:`~streamkit.errors.DataError` naming its line or byte offset is raised, however the reads
fell (the bad record in the same read as good ones, or in a read of its own).

An event-stream frame becomes one raw event: ``event`` is its ``:event-type`` header (the
``:exception-type`` header for an exception frame), ``data`` its parsed JSON payload (see
:mod:`streamkit.framing.eventstream`).
"""

from __future__ import annotations

import os
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from operator import length_hint
from typing import IO, Any

import orjson

from ..errors import DataError
from ..framing import detect
from ..framing.eventstream import EventStreamDecoder, Frame, FrameParts, wire_event
from ..framing.jsonseq import JSONArrayDecoder, NDJSONDecoder
from ..framing.sse import SSEBytes, SSEDecoder, parse_data
from ..ndjson import BOM, CHUNK_SIZE, TOO_DEEP, dumps, skip_bom


class Replay:
    """Raw events from a recording, read incrementally (a pipe is replayed as it arrives).

    ``pending()`` says whether events decoded from the last read are still to be handed out,
    which is the writer's cue to hold its flush.
    """

    def __init__(
        self, source: IO[bytes] | Any, *, dialect: str | None = None, framing: str | None = None
    ) -> None:
        self._read = getattr(source, "read1", None) or source.read
        self.dialect = dialect
        self.framing = framing
        self._queue: list[Any] = []  # the items the last read completed
        self._pos = 0
        self.count = 0

    def pending(self) -> bool:
        return self._pos < len(self._queue)

    def _raw(self, event: str | None, data: Any) -> dict[str, Any]:
        return {"type": "raw", "dialect": self.dialect, "event": event, "data": data}

    def _from_value(self, value: Any) -> dict[str, Any]:
        if isinstance(value, dict) and value.get("type") == "raw" and "data" in value:
            if self.dialect and not value.get("dialect"):
                value = {**value, "dialect": self.dialect}
            return value  # already a raw event (an NDJSON recording of fetch's output)
        return self._raw(None, value)

    def _head(self) -> bytes:
        """The first reads, until they tell the framing: some text, or a whole binary prelude
        (whose first byte, the high byte of a frame length, is 0). A BOM does not count."""
        head = bytearray()
        text = False
        while True:
            chunk = self._read(CHUNK_SIZE)
            if not chunk:
                break
            head += chunk
            text = text or bool(chunk.strip(b"\xef\xbb\xbf \t\r\n"))  # only the new bytes
            start = 3 if head.startswith(BOM) else 0
            if text and (head[start] != 0 or len(head) - start >= 12):
                break
        return bytes(head)

    def _reads(self, *, as_bytes: bool = False) -> Iterator[Any]:
        """What each read of the recording decoded (a list of SSE events, JSON values or
        event-stream frames; with ``as_bytes``, SSE events as :class:`SSEBytes` and frames as
        :class:`FrameParts`); ``self.framing`` says
        which once the first read is in. The consumer adds what it takes to ``self.count``."""
        head = self._head()
        body = skip_bom(head)
        if not (head if body is None else body).strip():
            return  # nothing but white space (after a BOM)
        detected = self.framing is None
        framing = self.framing = self.framing or detect(head)
        decoder: Any
        if framing == "sse":
            decoder = SSEDecoder()
        elif framing in ("ndjson", "json-array"):
            decoder = NDJSONDecoder() if framing == "ndjson" else JSONArrayDecoder()
        elif framing == "eventstream":
            decoder = EventStreamDecoder()
        else:
            raise DataError(f"unknown framing {framing!r}")

        # A decoder's DataError comes on the call after the good items before it, so those are
        # handed out (and written) first.
        feed, close = decoder.feed, decoder.close
        if as_bytes and framing == "sse":
            feed, close = decoder.feed_bytes, decoder.close_bytes
        elif as_bytes and framing == "eventstream":
            feed, close = decoder.feed_parts, decoder.close_parts
        chunk = head
        while True:
            yield feed(chunk) if chunk else close()
            if not chunk:
                if detected and framing == "sse" and self.count == 0:
                    _not_sse(head if body is None else body)
                return
            chunk = self._read(CHUNK_SIZE)

    def _decoded(self) -> Iterator[Any]:
        """The decoded items of the recording, one at a time (see :meth:`_reads`)."""
        for items in self._reads():
            self._queue = items
            self._pos = 0
            for item in items:
                self._pos += 1
                self.count += 1
                yield item

    def _convert(self, item: Any) -> dict[str, Any]:
        if self.framing == "sse":
            return self._raw(item.event, parse_data(item.data))
        if self.framing == "eventstream":
            return self._raw(*wire_event(item))  # a payload that is not JSON: a DataError here
        return self._from_value(item)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        convert = self._convert
        for item in self._decoded():
            yield convert(item)

    def batches(self) -> Iterator[bytes]:
        """The raw events as NDJSON lines, those of one read in one ``bytes`` (what ``fetch
        --replay`` writes: a read's events in one write, before the next read waits).

        An SSE event whose data is one line of JSON is written around its data's own bytes: it is
        parsed (to know it is JSON) but not serialised again, which was a third of the work on
        real recordings. The line says the same as ``dumps`` of the raw event would (the same
        keys in the same order); only the payload keeps its own spelling (escapes, spaces,
        number forms), as the upstream sent it.
        """
        self._queue = []
        self._pos = 0
        head = b'{"type":"raw","dialect":' + orjson.dumps(self.dialect) + b',"event":'
        batch = None
        for decoded in self._reads(as_bytes=True):
            if batch is None:
                batch = _Batches(self, head)
            lines, error = batch.convert(decoded)
            if lines:
                yield lines
            if error is not None:
                raise error

    def lines(self) -> Iterator[bytes]:
        """The raw events as NDJSON lines, one at a time (the lines of :meth:`batches`)."""
        for batch in self.batches():
            lines = batch.split(b"\n")
            lines.pop()  # after the last newline
            self._queue = lines
            self._pos = 0
            for line in lines:
                self._pos += 1
                yield line + b"\n"
        self._queue = []


class _Batches:
    """Turns what a read decoded into the NDJSON lines of its raw events, for one recording."""

    def __init__(self, replay: Replay, head: bytes) -> None:
        self.replay = replay
        self.head = head  # the start of every line, up to the event name
        self.unnamed = head + b'null,"data":'
        self.prefixes: dict[bytes, bytes] = {b"": self.unnamed}  # SSE event name -> line start
        #: an event-stream frame's header block -> its line start (None: an error frame)
        self.frame_starts: dict[bytes, bytes | None] = {}
        framing = replay.framing
        self.convert = (
            self._sse if framing == "sse" else self._frames if framing == "eventstream" else self._values
        )

    def _sse(self, decoded: SSEBytes) -> tuple[bytes, DataError | None]:
        names, datas, _ = decoded
        if not datas:
            return b"", None
        self.replay.count += len(datas)
        prefixes = self.prefixes
        new = set(names).difference(prefixes)
        if len(prefixes) + len(new) > _MAX_NAMES:
            prefixes.clear()
            prefixes[b""] = self.unnamed
            new = set(names)
        for name in new:
            prefixes[name] = self.head + orjson.dumps(name.decode()) + b',"data":'
        # each line without its closing "}\n", which joins them
        lines = list(map(bytes.__add__, map(prefixes.__getitem__, names), datas))
        # every data parsed (to know it is JSON) in one pass; one that is not is written as a
        # string, and the pass goes on after it
        # (the parsed values are dropped at once: kept, they would wake the garbage collector)
        not_json: set[int] = set()
        items = iter(datas)
        while True:
            try:
                _drain(map(orjson.loads, items))
                break
            except orjson.JSONDecodeError:
                i = len(datas) - length_hint(items) - 1
                not_json.add(i)
                lines[i] = self._line(names[i], datas[i].decode())
        if b"\n" in b"".join(datas):  # JSON over several data: lines, written anew on one
            for i, data in enumerate(datas):
                if b"\n" in data and i not in not_json:
                    lines[i] = self._line(names[i], orjson.loads(data))
        lines.append(b"")
        return b"}\n".join(lines), None

    def _line(self, name: bytes, data: Any) -> bytes:
        """A raw event's line, serialised, without its closing ``}\n``."""
        return dumps(self.replay._raw(name.decode() or None, data))[:-2]

    def _values(self, values: list[Any]) -> tuple[bytes, DataError | None]:
        if not values:
            return b"", None
        self.replay.count += len(values)
        try:
            dumped = list(map(orjson.dumps, values))
        except orjson.JSONEncodeError:  # nested too deep to write: the values before it, then why
            return self._one_by_one(values)
        if b'"raw"' in b"".join(dumped):  # maybe raw events already (an NDJSON recording of fetch's output)
            from_value = self.replay._from_value
            return b"".join([dumps(from_value(value)) for value in values]), None
        unnamed = self.unnamed
        return unnamed + (b"}\n" + unnamed).join(dumped) + b"}\n", None

    def _one_by_one(self, values: list[Any]) -> tuple[bytes, DataError | None]:
        from_value = self.replay._from_value
        lines = []
        for i, value in enumerate(values):
            try:
                lines.append(dumps(from_value(value)))
            except orjson.JSONEncodeError:
                record = self.replay.count - len(values) + i + 1
                return b"".join(lines), DataError(f"record {record}: {TOO_DEEP}")
        return b"".join(lines), None

    def _frames(self, frames: FrameParts) -> tuple[bytes, DataError | None]:
        blocks, headers, payloads, offsets = frames
        if not blocks:
            return b"", None
        self.replay.count += len(blocks)
        starts = self.frame_starts
        new = set(blocks).difference(starts)
        if new:
            if len(starts) + len(new) > _MAX_NAMES:
                starts.clear()
                new = set(blocks)
            headers_of = dict(zip(blocks, headers))
            for block in new:
                starts[block] = self._frame_start(headers_of[block])
        line_starts: list[Any] = list(map(starts.__getitem__, blocks))
        if None not in line_starts:  # event and exception frames
            joined = _frame_lines(line_starts, payloads)  # (an empty payload is no JSON there)
            if joined is not None:
                return joined, None
        # one payload at a time, each written by itself: a payload 254 levels deep is written so,
        # and not inside one array (255) nor inside its raw event (255), as below
        if None not in line_starts and b"" not in payloads:  # event and exception frames with data
            try:
                dumped = list(map(orjson.dumps, map(orjson.loads, payloads)))
            except (orjson.JSONDecodeError, orjson.JSONEncodeError):  # as wire_event says, below
                pass
            else:
                line_starts.append(b"")
                return b"}\n".join(map(bytes.__add__, line_starts, dumped)) + b"}\n", None
        # a frame at a time (an error frame, an empty payload, text, bad JSON): as wire_event says
        replay = self.replay
        lines = []
        for frame in zip(headers, payloads, offsets):
            try:
                lines.append(dumps(replay._raw(*wire_event(Frame(*frame)))))
            except DataError as exc:  # a payload that is not JSON: after the frames before it
                return b"".join(lines), exc
            except orjson.JSONEncodeError:
                return b"".join(lines), DataError(f"the event-stream frame at byte {frame[2]}: {TOO_DEEP}")
        return b"".join(lines), None

    def _frame_start(self, headers: dict[str, Any]) -> bytes | None:
        """The start of the line of an event or exception frame with these headers (see
        :func:`wire_event`), up to its data; None for an error frame."""
        kind = headers.get(":message-type", "event")
        if kind == "error":
            return None
        name = headers.get(":exception-type" if kind == "exception" else ":event-type")
        return self.head + orjson.dumps(name if isinstance(name, str) else None) + b',"data":'


def _frame_lines(line_starts: list[bytes], payloads: list[bytes]) -> bytes | None:
    """The lines of frames whose payloads are all JSON, or None (the caller goes one by one and
    says which payload is not).

    The payloads are parsed in one go, as one array with a separator between them, a string no
    payload holds: this process's random ``_SEPARATOR``. The array holds every separator at its
    own place (every other item) only if each payload is one whole JSON value by itself. Written
    back, the array is the same bytes only if each payload is in orjson's own spelling: then the
    lines are written around the payloads' bytes; else each value is written anew, as ``dumps``
    would have (``1.50`` as ``1.5``).
    """
    count = len(payloads)
    joined = b"[" + _JOINER.join(payloads) + b"]"
    try:
        values = orjson.loads(joined)
        if len(values) != 2 * count - 1 or values[1::2] != [_SEPARATOR] * (count - 1):
            return None
        same = orjson.dumps(values) == joined
    except (orjson.JSONDecodeError, orjson.JSONEncodeError):  # too deep for one array, say
        return None
    lines: list[bytes] = [b"}\n"] * (3 * count)
    lines[0::3] = line_starts
    lines[1::3] = payloads if same else list(map(orjson.dumps, values[0::2]))
    return b"".join(lines)


#: joins the payloads of a read's frames into one JSON array (see _frame_lines): a string no
#: recording holds, as nobody knows it before this process drew it
_SEPARATOR = os.urandom(16).hex()
_JOINER = b',"' + _SEPARATOR.encode() + b'",'
#: runs an iterator to its end, keeping nothing
_drain: Callable[[Iterable[Any]], None] = deque(maxlen=0).extend
#: how many SSE event names a replay keeps the line start of (a stream of ever new names is
#: a stream, not a vocabulary)
_MAX_NAMES = 1000


#: How an SSE stream's first line starts: a comment, or one of the four fields (WHATWG).
_SSE_FIRST_LINE = re.compile(rb"[ \t]*(:|(data|event|id|retry)[ \t]*(:|\r?$))")


def _not_sse(head: bytes) -> None:
    """A recording that gave no event, taken for SSE only because it is not JSON or binary, whose
    first line is not SSE either (plain text, a log, an HTML page): a data error, not an empty
    stream (exit 0 with no output would look like success). Comments or fields with no data
    (``: ping``) are SSE, an empty stream, and pass."""
    text = head.lstrip(b" \t\r\n")
    first, newline, _ = text.partition(b"\n")
    if not newline and len(first) < 6:  # a first line cut by the read, too short to judge
        return
    if _SSE_FIRST_LINE.match(first):
        return
    line = head[: len(head) - len(text)].count(b"\n") + 1
    shown = first[:60].decode("utf-8", "replace").rstrip("\r")
    raise DataError(
        f"not a recording: expected SSE, NDJSON, a JSON array or AWS event-stream frames, got {shown!r}",
        line,
    )


def replay(source: IO[bytes] | Any, *, dialect: str | None = None, framing: str | None = None) -> Replay:
    """Raw events from a recorded wire file (an open binary file, ``sys.stdin.buffer``, ``io.BytesIO``)."""
    return Replay(source, dialect=dialect, framing=framing)
