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

from collections.abc import Iterator
from typing import IO, Any

from ..errors import DataError
from ..framing import detect
from ..framing.eventstream import EventStreamDecoder, wire_event
from ..framing.jsonseq import JSONArrayDecoder, NDJSONDecoder
from ..framing.sse import SSEDecoder, parse_data
from ..ndjson import BOM, CHUNK_SIZE, skip_bom


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

    def __iter__(self) -> Iterator[dict[str, Any]]:
        head = self._head()
        body = skip_bom(head)
        if not (head if body is None else body).strip():
            return  # nothing but white space (after a BOM)
        framing = self.framing or detect(head)
        decoder: Any
        convert: Any
        if framing == "sse":
            decoder = SSEDecoder()

            def convert(e: Any) -> dict[str, Any]:
                return self._raw(e.event, parse_data(e.data))

        elif framing in ("ndjson", "json-array"):
            decoder = NDJSONDecoder() if framing == "ndjson" else JSONArrayDecoder()
            convert = self._from_value
        elif framing == "eventstream":
            decoder = EventStreamDecoder()

            def convert(f: Any) -> dict[str, Any]:
                return self._raw(*wire_event(f))  # a payload that is not JSON: a DataError here

        else:
            raise DataError(f"unknown framing {framing!r}")

        # Each item becomes a raw event as it is handed out, so that a bad one (a decoder's
        # DataError comes on the call after the good items before it) fails after those.
        chunk = head
        while True:
            self._queue = decoder.feed(chunk) if chunk else decoder.close()
            self._pos = 0
            for item in self._queue:
                ev = convert(item)
                self._pos += 1
                self.count += 1
                yield ev
            if not chunk:
                return
            chunk = self._read(CHUNK_SIZE)


def replay(source: IO[bytes] | Any, *, dialect: str | None = None, framing: str | None = None) -> Replay:
    """Raw events from a recorded wire file (an open binary file, ``sys.stdin.buffer``, ``io.BytesIO``)."""
    return Replay(source, dialect=dialect, framing=framing)
