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

It works in bytes (line ends and field names are ASCII, so cutting UTF-8 text at them never cuts
a character; the text is checked to be UTF-8 as it arrives): the events a read completes end at
its last blank line. When they are all of one of the shapes upstreams send (``data: VALUE``, or
``event: NAME`` and ``data: VALUE`` in either order, each followed by a blank line), the read
is taken apart at once by splits and slices in C; otherwise an event at a time, an event of those
shapes by a few look-ups and any other (comments, ``id:``, ``retry:``, several ``data:`` lines,
no space after a colon) by the line-by-line rules. :meth:`SSEDecoder.feed` hands out
:class:`SSEEvent` with ``str`` fields; ``fetch --replay`` takes the names and data as bytes
(:meth:`SSEDecoder.feed_bytes`) and writes them as they are.
"""

from __future__ import annotations

import codecs
from itertools import islice
from operator import itemgetter
from typing import NamedTuple

import orjson

from ..errors import DataError
from ..ndjson import BOM


class SSEEvent(NamedTuple):
    event: str | None
    data: str
    id: str | None = None
    retry: int | None = None


class SSEBytes(NamedTuple):
    """The events a read completed, as bytes: ``names[i]`` (b"" for an unnamed event) and
    ``datas[i]`` are event i's. ``fields`` is, for an event from which ``id`` or ``retry`` differ
    from the event before it (or for the first event of the read), ``(i, id, retry)``."""

    names: list[bytes]
    datas: list[bytes]
    fields: list[tuple[int, str | None, int | None]]


class SSEDecoder:
    """Feed bytes as they arrive, get the events they complete.

    Linear in the input however it is split: the pieces of the event being read are kept in a
    list and joined once, when its blank line arrives, and line ends are looked for only in the
    new bytes (one 40 MB event costs what forty thousand small ones do).

    A byte-order mark at the very start of the stream is skipped (the WHATWG rule); anywhere
    else U+FEFF is data. Invalid UTF-8 is bad input: the events completed before the bad byte
    are returned first, the event it falls in is dropped, and the :class:`DataError` (naming the
    byte offset) is raised by the next call to :meth:`feed` or :meth:`close`, and by every call
    after it.
    """

    def __init__(self) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")()  # checks the text; its output is dropped
        self._held = False  # the UTF-8 check holds the start of a character from the last read
        self._parts: list[bytes] = []  # the event being read (no blank line yet), in pieces
        self._cr = False  # the last line ended in "\r": a "\n" first in the next read belongs to it
        self._head = b""  # the first bytes, while they may be a byte-order mark cut short
        self._started = False  # a BOM at the start ruled in or out
        self._last_id: str | None = None
        self._retry: int | None = None
        self._offset = 0  # bytes consumed, for error messages
        self._error: DataError | None = None

    # -- the str API ----------------------------------------------------------------------------

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        return _events(self.feed_bytes(chunk))

    def close(self) -> list[SSEEvent]:
        """End of input: the last line even without its newline, and any pending event."""
        return _events(self.close_bytes())

    # -- the bytes API --------------------------------------------------------------------------

    def feed_bytes(self, chunk: bytes) -> SSEBytes:
        """:meth:`feed`, with each event's name and data the bytes of the stream."""
        if self._error is not None:
            raise self._error
        if self._held or not chunk.isascii():
            try:
                self._utf8.decode(chunk)
            except UnicodeDecodeError as exc:
                return self._invalid(chunk, exc)
            self._held = bool(self._utf8.getstate()[0])
        self._offset += len(chunk)
        return self._take(chunk)

    def close_bytes(self) -> SSEBytes:
        """:meth:`close`, with each event's name and data the bytes of the stream."""
        if self._error is not None:
            raise self._error
        try:
            self._utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            self._error = DataError(f"invalid UTF-8 at the end of the event stream (byte {self._offset})")
            raise self._error from None
        out = SSEBytes([], [], [(0, self._last_id, self._retry)])
        # (a BOM cut short, held in _head, is invalid UTF-8 at the end: it does not get here)
        if self._parts:
            rest = b"".join(self._parts)
            self._parts = []
            self._block(rest, out)
        return out

    def _invalid(self, chunk: bytes, exc: UnicodeDecodeError) -> SSEBytes:
        """Invalid UTF-8 in ``chunk``: the events completed before the bad byte, the error kept."""
        held, _ = self._utf8.getstate()  # the start of a character left over from the last read
        at = self._offset - len(held) + exc.start
        self._error = DataError(f"invalid UTF-8 in event stream at byte {at}")
        self._utf8.reset()
        good = exc.start - len(held)  # the bytes of this read before the bad one
        out = self._take(chunk[:good]) if good > 0 else SSEBytes([], [], [(0, self._last_id, self._retry)])
        self._parts = []  # the event the bad byte falls in is not complete
        return out

    def _take(self, chunk: bytes) -> SSEBytes:
        """The events the (checked) bytes of a read complete; the rest is kept for the next."""
        out = SSEBytes([], [], [(0, self._last_id, self._retry)])
        if not self._started:
            chunk = self._head + chunk
            if len(chunk) < 3 and BOM.startswith(chunk):
                self._head = chunk  # maybe a byte-order mark: wait for more
                return out
            self._head = b""
            self._started = True
            if chunk.startswith(BOM):
                chunk = chunk[3:]
        if self._cr:
            self._cr = False
            if chunk.startswith(b"\n"):  # the second half of a "\r\n" split across reads
                chunk = chunk[1:]
        if b"\r" in chunk:
            chunk = self._newlines(chunk)
        if not chunk:
            return out
        parts = self._parts
        if b"\n\n" not in chunk and not (parts and chunk[0] == 10 and parts[-1].endswith(b"\n")):
            parts.append(chunk)  # no blank line yet
            return out
        if parts:
            parts.append(chunk)
            chunk = b"".join(parts)
        end = chunk.rfind(b"\n\n")
        rest = chunk[end + 2 :]
        self._parts = [rest] if rest else []
        region = chunk[: end + 2]
        lines = region.split(b"\n")  # b"" for a blank line, and after the last line end
        if _usual(lines, out):
            return out
        # blank lines after the one that ends an event do nothing: drop them and look again
        lines = _one_blank_line(lines)
        if _usual(lines, out):
            return out
        # a mix: an event at a time, the usual shapes by a few look-ups, any other by the rules
        for block in b"\n".join(lines[:-2]).split(b"\n\n"):
            if block.startswith(b"data: "):
                newline = block.find(b"\n", 6)
                if newline == -1:
                    out.names.append(b"")
                    out.datas.append(block[6:])
                    continue
                if block.startswith(b"event: ", newline + 1) and block.find(b"\n", newline + 1) == -1:
                    out.names.append(block[newline + 8 :])
                    out.datas.append(block[6:newline])
                    continue
            elif block.startswith(b"event: "):
                newline = block.find(b"\n", 7)
                if (
                    newline != -1
                    and block.startswith(b"data: ", newline + 1)
                    and block.find(b"\n", newline + 1) == -1
                ):
                    out.names.append(block[7:newline])
                    out.datas.append(block[newline + 7 :])
                    continue
            self._block(block, out)
        return out

    def _newlines(self, chunk: bytes) -> bytes:
        """``chunk`` with its line ends (``\\r\\n``, ``\\r``) made ``\\n``."""
        self._cr = chunk.endswith(b"\r")
        pieces = chunk.split(b"\r")  # (a split and a join are many times as fast as a replace)
        last = len(pieces) - 1 if self._cr else len(pieces)
        if set(map(_FIRST, islice(pieces, 1, last))) <= {b"\n"}:  # all "\r\n" (and maybe an "\r" at the end)
            return b"".join(pieces) + b"\n" if self._cr else b"".join(pieces)
        return chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")

    def _block(self, block: bytes, out: SSEBytes) -> None:
        """One event's lines by the general rules (it ends at a blank line, or at the input's end)."""
        data: list[bytes] = []
        event = b""
        for line in block.split(b"\n"):
            if not line:
                if data:
                    self._dispatch(event, data, out)
                    data = []
                event = b""
                continue
            colon = line.find(b":")
            if colon == -1:
                field, value = line, b""
            else:
                field = line[:colon]
                value = line[colon + 2 :] if line.startswith(b" ", colon + 1) else line[colon + 1 :]
            if field == b"data":
                data.append(value)
            elif field == b"event":
                event = value
            elif field == b"id":
                if b"\0" not in value:
                    self._last_id = value.decode() or None
            elif field == b"retry" and value.isdigit():  # ASCII digits only (bytes), the WHATWG rule
                self._retry = int(value)
            # a comment (a line starting with ":") has the field b"", which is none of these
        if data:
            self._dispatch(event, data, out)
        self._note_fields(out)

    def _note_fields(self, out: SSEBytes) -> None:
        """Mark where ``id`` or ``retry`` changed, for the events from here on."""
        if out.fields[-1][1:] != (self._last_id, self._retry):
            out.fields.append((len(out.datas), self._last_id, self._retry))

    def _dispatch(self, event: bytes, data: list[bytes], out: SSEBytes) -> None:
        self._note_fields(out)
        out.names.append(event)
        out.datas.append(b"\n".join(data))


def _usual(lines: list[bytes], out: SSEBytes) -> bool:
    """Whether ``lines`` (of events, each ending in one blank line, and b"" after the last line
    end) are all of one of the usual shapes, and if so their names and data added to ``out``: a
    whole read taken apart at once, by where the shape puts each line."""
    first = lines[0]
    if first.startswith(b"data: ") and len(lines) % 2 == 1 and not any(lines[1::2]):
        return _shaped(None, lines[0:-1:2], out)  # data: VALUE, blank line, each time
    if len(lines) % 3 == 1 and not any(lines[2::3]):
        if first.startswith(b"event: "):  # event: NAME, data: VALUE, blank line
            return _shaped(lines[0:-1:3], lines[1::3], out)
        if first.startswith(b"data: "):  # data: VALUE, event: NAME, blank line
            return _shaped(lines[1::3], lines[0:-1:3], out)
    return False


def _shaped(names: list[bytes] | None, values: list[bytes], out: SSEBytes) -> bool:
    """Whether every name line is ``event: NAME`` and every value line ``data: VALUE``; if so
    the names and values added to ``out``."""
    if set(map(_FIRST_6, values)) != {b"data: "}:
        return False
    if names is None:
        out.names.extend([b""] * len(values))
    elif set(map(_FIRST_7, names)) == {b"event: "}:
        out.names.extend(map(_AFTER_7, names))
    else:
        return False
    out.datas.extend(map(_AFTER_6, values))
    return True


def _one_blank_line(lines: list[bytes]) -> list[bytes]:
    """``lines`` (as :func:`_usual` takes them) without blank lines that do nothing: those at
    the start and those after a blank line."""
    kept = []
    blank = True  # nothing pending: a blank line here does nothing
    for line in lines[:-1]:
        if line:
            kept.append(line)
            blank = False
        elif not blank:
            kept.append(line)
            blank = True
    kept.append(b"")
    return kept


_FIRST_6, _AFTER_6 = itemgetter(slice(6)), itemgetter(slice(6, None))
_FIRST_7, _AFTER_7 = itemgetter(slice(7)), itemgetter(slice(7, None))
_FIRST = itemgetter(slice(1))


def _events(decoded: SSEBytes) -> list[SSEEvent]:
    names, datas, fields = decoded
    out: list[SSEEvent] = []
    ends = [at for at, _, _ in fields[1:]] + [len(datas)]
    for (start, last_id, retry), end in zip(fields, ends):
        for i in range(start, end):
            name = names[i]
            out.append(SSEEvent(name.decode() if name else None, datas[i].decode(), last_id, retry))
    return out


def parse_data(data: str) -> object:
    """The ``data`` of an SSE event: parsed JSON, or the string itself (``[DONE]``)."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return data


def encode(event: str | None, data: object) -> bytes:
    """One SSE event: ``event: <name>`` when named, then ``data: <json or string>``, then a blank line.

    A JSON payload (the usual: every encoder's wire events but a sentinel such as ``[DONE]``)
    never holds a line end (orjson escapes them), and the lines before it are made once per event
    name (:data:`_HEADS`): 0.43 against 0.95 µs a frame, measured on a Responses text delta."""
    if isinstance(data, str):
        payload = data.encode()
        if b"\n" in payload:  # one data line per line
            payload = payload.replace(b"\n", b"\ndata: ")
        return _head(event) + payload + b"\n\n"
    head = _HEADS.get(event)
    if head is None:
        head = _head(event)
    return head + orjson.dumps(data) + b"\n\n"


#: ``event: <name>`` and ``data: ``, by the event's name, for at most this many names
_HEADS: dict[str | None, bytes] = {}
_CACHED_HEADS = 256


def _head(event: str | None) -> bytes:
    """What comes before an event's data: its name's line when it has one, then ``data: ``."""
    head = _HEADS.get(event)
    if head is None:
        head = b"event: " + event.encode() + b"\ndata: " if event else b"data: "
        if len(_HEADS) < _CACHED_HEADS:
            _HEADS[event] = head
    return head
