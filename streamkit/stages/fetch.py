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

import re
from collections.abc import Iterator
from itertools import chain
from typing import IO, Any

import orjson

from ..errors import DataError
from ..framing import detect
from ..framing.eventstream import EventStreamDecoder, wire_event
from ..framing.jsonseq import JSONArrayDecoder, NDJSONDecoder
from ..framing.sse import SSEDecoder, parse_data
from ..ndjson import BOM, CHUNK_SIZE, dumps, skip_bom


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

    def _decoded(self) -> Iterator[Any]:
        """The decoded items of the recording (SSE events, JSON values, event-stream frames);
        ``self.framing`` says which once the first read is in."""
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

        # Each item becomes a raw event as it is handed out, so that a bad one (a decoder's
        # DataError comes on the call after the good items before it) fails after those.
        chunk = head
        while True:
            self._queue = decoder.feed(chunk) if chunk else decoder.close()
            self._pos = 0
            for item in self._queue:
                self._pos += 1
                self.count += 1
                yield item
            if not chunk:
                if detected and framing == "sse" and self.count == 0:
                    _not_sse(head if body is None else body)
                return
            chunk = self._read(CHUNK_SIZE)

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

    def lines(self) -> Iterator[bytes]:
        """The raw events as NDJSON lines (what ``fetch --replay`` writes).

        An SSE event whose data is one line of JSON is written around its data's own text: it is
        parsed (to know it is JSON) but not serialised again, which was a third of the work on
        real recordings. The line says the same as ``dumps`` of the raw event would (the same
        keys in the same order); only the payload keeps its own spelling (escapes, spaces,
        number forms), as the upstream sent it.
        """
        items = self._decoded()
        first = next(items, _END)
        if first is _END:
            return
        if self.framing != "sse":
            for item in chain((first,), items):
                yield dumps(self._convert(item))
            return
        loads, decode_error = orjson.loads, orjson.JSONDecodeError
        head = b'{"type":"raw","dialect":' + orjson.dumps(self.dialect) + b',"event":'
        names: dict[str | None, bytes] = {None: head + b'null,"data":'}
        for item in chain((first,), items):
            data = item.data
            try:
                loads(data)
            except decode_error:
                yield dumps(self._raw(item.event, data))  # not JSON ([DONE]): the string
                continue
            if "\n" in data:  # JSON over several data: lines
                yield dumps(self._raw(item.event, loads(data)))
                continue
            prefix = names.get(item.event)
            if prefix is None:
                prefix = names[item.event] = head + orjson.dumps(item.event) + b',"data":'
            yield prefix + data.encode() + b"}\n"


_END = object()

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
