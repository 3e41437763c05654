"""Server-sent events: an incremental decoder and the encoder.

The decoder follows the WHATWG event-stream rules: lines end in ``\\r\\n``, ``\\n`` or ``\\r``
(also when a ``\\r\\n`` pair is split across reads); ``data:`` with or without the space after
the colon; several ``data:`` lines join with ``\\n``; lines starting with ``:`` are comments;
a blank line dispatches the event; an event with no data is not dispatched. Unlike a browser,
an event still pending at the end of input is dispatched (recordings often lack the last blank
line), and the ``[DONE]`` sentinel is just data.

It is hand-written rather than taken from httpx-sse because it decodes whole reads at once
instead of line by line: ``make bench`` measures it against httpx-sse's decoder on the same
bytes, and a test checks that both give the same events on every recording.
"""

from __future__ import annotations

import codecs
from typing import NamedTuple

import orjson

from ..errors import DataError


class SSEEvent(NamedTuple):
    event: str | None
    data: str
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Feed bytes as they arrive, get the events they complete.

    Linear in the input however it is split: the pieces of the line being read are kept in a
    list and joined once, when its line end arrives, and line ends are looked for only in the
    new bytes (one 40 MB event costs what forty thousand small ones do).

    A byte-order mark at the very start of the stream is skipped (the WHATWG rule); anywhere
    else U+FEFF is data. Invalid UTF-8 is bad input: the events completed before the bad byte
    are returned first, the event it falls in is dropped, and the :class:`DataError` (naming the
    byte offset) is raised by the next call to :meth:`feed` or :meth:`close`, and by every call
    after it.
    """

    def __init__(self) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._parts: list[str] = []  # the line being read, in pieces
        self._cr = False  # the last line ended in "\r": a "\n" first in the next read belongs to it
        self._started = False  # some text seen (a BOM is only skipped at the very start)
        self._event: str | None = None
        self._data: list[str] = []
        self._id: str | None = None
        self._last_id: str | None = None
        self._retry: int | None = None
        self._offset = 0  # bytes consumed, for error messages
        self._error: DataError | None = None

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        if self._error is not None:
            raise self._error
        try:
            text = self._utf8.decode(chunk)
        except UnicodeDecodeError as exc:
            return self._invalid(chunk, exc)
        self._offset += len(chunk)
        return self._lines(self._split(text))

    def _invalid(self, chunk: bytes, exc: UnicodeDecodeError) -> list[SSEEvent]:
        """Invalid UTF-8 in ``chunk``: the events completed before the bad byte, the error kept."""
        held, _ = self._utf8.getstate()  # the start of a character left over from the last read
        data = held + chunk
        at = self._offset - len(held) + exc.start
        self._error = DataError(f"invalid UTF-8 in event stream at byte {at}")
        self._utf8.reset()
        good = data[: exc.start].decode()  # whole characters only: the error is the first bad byte
        lines = self._split(good)
        self._parts = []  # the line the bad byte falls in is not complete
        return self._lines(lines)

    def _split(self, text: str) -> list[str]:
        """The lines ``text`` completes (the piece of a line after the last line end is kept)."""
        if not text:
            return []
        if not self._started:
            self._started = True
            if text[0] == "\ufeff":
                text = text[1:]
        if self._cr:
            self._cr = False
            if text.startswith("\n"):  # the second half of a "\r\n" split across reads
                text = text[1:]
        if "\r" in text:
            self._cr = text[-1] == "\r"
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if "\n" not in text:
            if text:
                self._parts.append(text)
            return []
        lines = text.split("\n")
        if self._parts:
            self._parts.append(lines[0])
            lines[0] = "".join(self._parts)
            self._parts = []
        tail = lines.pop()
        if tail:
            self._parts.append(tail)
        return lines

    def close(self) -> list[SSEEvent]:
        """End of input: the last line even without its newline, and any pending event."""
        if self._error is not None:
            raise self._error
        try:
            rest = self._utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            self._error = DataError(f"invalid UTF-8 at the end of the event stream (byte {self._offset})")
            raise self._error from None
        lines = self._split(rest)
        if self._parts:
            lines.append("".join(self._parts))
            self._parts = []
        lines.append("")
        return self._lines(lines)

    def _lines(self, lines: list[str]) -> list[SSEEvent]:
        out: list[SSEEvent] = []
        data = self._data
        event = self._event
        for line in lines:
            if not line:
                if data:
                    out.append(SSEEvent(event, "\n".join(data), self._last_id, self._retry))
                    data.clear()
                event = None
                continue
            # the usual lines first, told apart by their first character (a profile of real
            # recordings: most time went to trying the general rule on every line)
            first = line[0]
            if first == "d" and line.startswith("data: "):  # the only line that may be large
                data.append(line[6:])  # one copy of its value
                continue
            if first == "e" and line.startswith("event: "):
                event = line[7:] or None
                continue
            if first == ":":
                continue
            colon = line.find(":")
            if colon == -1:
                field, value = line, ""
            else:
                field = line[:colon]
                value = line[colon + 2 :] if line.startswith(" ", colon + 1) else line[colon + 1 :]
            if field == "data":
                data.append(value)
            elif field == "event":
                event = value or None
            elif field == "id":
                if "\0" not in value:
                    self._last_id = value or None
            elif field == "retry" and value.isdigit():
                self._retry = int(value)
        self._event = event
        return out


def parse_data(data: str) -> object:
    """The ``data`` of an SSE event: parsed JSON, or the string itself (``[DONE]``)."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return data


def encode(event: str | None, data: object) -> bytes:
    """One SSE event: ``event: <name>`` when named, then ``data: <json or string>``, then a blank line."""
    payload = data.encode() if isinstance(data, str) else orjson.dumps(data)
    if b"\n" in payload:  # only possible for a string payload: one data line per line
        payload = payload.replace(b"\n", b"\ndata: ")
    if event:
        return b"event: " + event.encode() + b"\ndata: " + payload + b"\n\n"
    return b"data: " + payload + b"\n\n"
