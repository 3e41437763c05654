"""fetch: the upstream's events as ``raw`` events.

This module holds the replay half: :class:`Replay` reads a recorded wire file (SSE with or
without ``event:`` lines, ``\\r\\n`` or ``\\n``, comments; NDJSON; one JSON array; AWS
event-stream binary frames; or an NDJSON recording of ``raw`` events) and yields the ``raw``
events a live fetch would have written. The framing is detected from the first bytes unless given.

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
from ..ndjson import CHUNK_SIZE


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
        self._queue: list[dict[str, Any]] = []
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

    def __iter__(self) -> Iterator[dict[str, Any]]:
        head = b""
        while True:
            chunk = self._read(CHUNK_SIZE)
            if not chunk:
                break
            head += chunk
            # enough to tell the framing: some text, or a whole binary prelude (whose first byte,
            # the high byte of a frame length, is 0)
            if head.strip(b"\xef\xbb\xbf \t\r\n") and (head[0] != 0 or len(head) >= 12):
                break
        if not head.strip():
            return
        framing = self.framing or detect(head)
        decoder: Any
        if framing == "sse":
            decoder = SSEDecoder()

            def convert(items: list[Any]) -> list[dict[str, Any]]:
                return [self._raw(e.event, parse_data(e.data)) for e in items]

        elif framing in ("ndjson", "json-array"):
            decoder = NDJSONDecoder() if framing == "ndjson" else JSONArrayDecoder()

            def convert(items: list[Any]) -> list[dict[str, Any]]:
                return [self._from_value(v) for v in items]

        elif framing == "eventstream":
            decoder = EventStreamDecoder()

            def convert(items: list[Any]) -> list[dict[str, Any]]:
                return [self._raw(*wire_event(f)) for f in items]

        else:
            raise DataError(f"unknown framing {framing!r}")

        chunk = head
        while chunk:
            self._queue = convert(decoder.feed(chunk))
            self._pos = 0
            for ev in self._queue:
                self._pos += 1
                self.count += 1
                yield ev
            chunk = self._read(CHUNK_SIZE)
        self._queue = convert(decoder.close())
        self._pos = 0
        for ev in self._queue:
            self._pos += 1
            self.count += 1
            yield ev


def replay(source: IO[bytes] | Any, *, dialect: str | None = None, framing: str | None = None) -> Replay:
    """Raw events from a recorded wire file (an open binary file, ``sys.stdin.buffer``, ``io.BytesIO``)."""
    return Replay(source, dialect=dialect, framing=framing)
