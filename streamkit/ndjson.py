"""The NDJSON runtime every command shares: reading events, writing events, bad lines.

Reading never waits for more input while a complete line is already buffered, and it never
reads ahead of what the pipe has already delivered, so an event is handed to the stage as soon
as its line arrives. Writing goes through one buffer that is flushed whenever no further input
line is already waiting: a token is never held back for the next one, while a bulk replay
(thousands of lines per read) costs one ``write`` syscall per read instead of one per line.
This does not rely on ``PYTHONUNBUFFERED`` (which would cost a syscall per event).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, Literal

import orjson

from . import diagnostics
from .errors import DataError

OnError = Literal["fail", "skip", "pass"]
ON_ERROR_CHOICES = ("fail", "skip", "pass")

CHUNK_SIZE = 1 << 16

_dumps = orjson.dumps
_NL = orjson.OPT_APPEND_NEWLINE


def dumps(event: Any) -> bytes:
    """Serialise one event as a compact JSON line (with its trailing newline)."""
    return _dumps(event, option=_NL)


def describe_json_error(exc: orjson.JSONDecodeError) -> str:
    """Say what is wrong with a line in words a user can act on."""
    msg = str(exc)
    if "UTF-8" in msg:
        return "invalid UTF-8"
    reason = msg.split(":", 1)[0]
    if reason == "input data is empty":
        return "empty JSON value"
    if exc.pos == 0:
        return "not JSON"
    return f"invalid JSON ({reason}, column {exc.colno})"


class NDJSONReader:
    """Iterate over the JSON objects of a binary stream, one per line.

    ``line_no`` is the number of the line last handed out (1-based); ``pending()`` says
    whether a further complete line is already buffered (the writer's cue not to flush yet).
    Blank lines are skipped. A line that is not a JSON object is handled by ``on_error``:
    ``fail`` raises :class:`DataError` carrying the line number, ``skip`` drops it with a
    warning, ``pass`` turns it into an ``error`` event.
    """

    def __init__(self, stream: IO[bytes] | Any, *, on_error: OnError = "fail") -> None:
        self._read: Callable[[int], bytes] = getattr(stream, "read1", None) or stream.read
        self.on_error = on_error
        self.line_no = 0
        self._chunk_end = 0

    def pending(self) -> bool:
        return self.line_no < self._chunk_end

    def _bad(self, line_no: int, message: str) -> dict | None:
        if self.on_error == "fail":
            raise DataError(message, line_no)
        if self.on_error == "skip":
            diagnostics.warn(f"line {line_no}: {message} (skipped)")
            return None
        return {"type": "error", "message": message, "code": "bad-input", "line": line_no}

    def _parse_slow(self, line: bytes, line_no: int) -> dict | None:
        """The rare path: blank lines, bad JSON, JSON that is not an object."""
        if not line.strip():
            return None
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            message = describe_json_error(exc)
            if line.startswith((b"data:", b"event:", b": ")):
                message += " (this is a wire format, SSE: read it with `streamkit fetch --replay -` first)"
            return self._bad(line_no, message)
        if type(obj) is dict:
            return obj
        return self._bad(line_no, f"expected a JSON object, got {type(obj).__name__}")

    def __iter__(self) -> Iterator[dict]:
        loads = orjson.loads
        read = self._read
        parts: list[bytes] = []
        line_no = 0
        while True:
            chunk = read(CHUNK_SIZE)
            if not chunk:
                break
            if b"\n" not in chunk:
                parts.append(chunk)
                continue
            lines = chunk.split(b"\n")
            if parts:
                parts.append(lines[0])
                lines[0] = b"".join(parts)
                parts = []
            tail = lines.pop()
            if tail:
                parts.append(tail)
            self._chunk_end = line_no + len(lines)
            for line in lines:
                line_no += 1
                self.line_no = line_no
                try:
                    obj = loads(line)
                except orjson.JSONDecodeError:
                    obj = self._parse_slow(line, line_no)
                    if obj is None:
                        continue
                    yield obj
                    continue
                if type(obj) is dict:
                    yield obj
                else:
                    obj = self._parse_slow(line, line_no)
                    if obj is not None:
                        yield obj
        if parts:
            line_no += 1
            self.line_no = line_no
            self._chunk_end = line_no
            obj = self._parse_slow(b"".join(parts), line_no)
            if obj is not None:
                yield obj


def read_events(stream: IO[bytes] | Any, *, on_error: OnError = "fail") -> NDJSONReader:
    """Events from a binary stream of NDJSON (``sys.stdin.buffer``, an open file, ``io.BytesIO``)."""
    return NDJSONReader(stream, on_error=on_error)


def open_stdout() -> IO[bytes]:
    """A buffered binary writer on fd 1 that does not depend on PYTHONUNBUFFERED."""
    return open(1, "wb", buffering=CHUNK_SIZE, closefd=False)


class EventWriter:
    """Write events as NDJSON, flushing whenever no further input line is already waiting.

    ``pending`` is the reader's ``pending`` (or any callable saying more input is already
    buffered); without one, every event is flushed as it is written.
    """

    def __init__(self, out: IO[bytes], pending: Callable[[], bool] | None = None) -> None:
        self.out = out
        self._write = out.write
        self._pending = pending or _never
        self.count = 0

    def write(self, event: Any) -> None:
        self._write(_dumps(event, option=_NL))
        self.count += 1
        if not self._pending():
            self.out.flush()

    def write_bytes(self, data: bytes) -> None:
        """Write pre-encoded bytes (a wire frame, rendered text) under the same flush rule."""
        if data:
            self._write(data)
            if not self._pending():
                self.out.flush()

    def flush(self) -> None:
        self.out.flush()


def _never() -> bool:
    return False


def write_events(events: Iterable[Any], writer: EventWriter) -> int:
    """Write every event; return how many were written."""
    write = writer._write
    pending = writer._pending
    flush = writer.out.flush
    n = 0
    reader = getattr(pending, "__self__", None)
    if type(reader) is NDJSONReader:
        # the common case, inlined: is a further input line already buffered?
        for event in events:
            write(_dumps(event, option=_NL))
            n += 1
            if reader.line_no >= reader._chunk_end:
                flush()
    else:
        for event in events:
            write(_dumps(event, option=_NL))
            n += 1
            if not pending():
                flush()
    writer.count += n
    return n
