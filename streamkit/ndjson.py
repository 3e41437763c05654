"""The NDJSON runtime every command shares: reading events, writing events, bad lines.

Reading never waits for more input while a complete line is already buffered, and it never
reads ahead of what the pipe has already delivered, so an event is handed to the stage as soon
as its line arrives. Writing goes through one buffer that is flushed whenever no further input
line is already waiting, and before every read that may wait for input: a token is never held
back for the next one (not even when the read's last line makes no event), while a bulk replay
(thousands of lines per read) costs one ``write`` syscall per read instead of one per line.
This does not rely on ``PYTHONUNBUFFERED`` (which would cost a syscall per event).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator
from io import BytesIO

import orjson

from . import diagnostics
from .canonical import CANONICAL_TYPES
from .errors import DataError

TYPE_CHECKING = False  # (not typing's: importing typing costs 4 ms of a stage's start)
if TYPE_CHECKING:
    from typing import IO, Any, Literal

    OnError = Literal["fail", "skip", "pass"]

ON_ERROR_CHOICES = ("fail", "skip", "pass")

CHUNK_SIZE = 1 << 16

#: the UTF-8 byte-order mark: skipped at the very start of a stream, in every framing
BOM = b"\xef\xbb\xbf"

_dumps = orjson.dumps
_NL = orjson.OPT_APPEND_NEWLINE


#: why a value that is valid JSON cannot be written: orjson writes at most 254 levels of nesting
TOO_DEEP = "its JSON is nested more than 254 levels deep, deeper than a line of NDJSON is written"


def dumps(event: Any) -> bytes:
    """Serialise one event as a compact JSON line (with its trailing newline)."""
    return _dumps(event, option=_NL)


def skip_bom(head: bytes) -> bytes | None:
    """The first bytes of a stream without their UTF-8 byte-order mark, if they start with one.

    None while ``head`` is too short to tell (empty, or the first one or two bytes of the mark):
    the caller keeps it and asks again with more. Only a mark at the very start of a stream is
    skipped; one anywhere else is data (and, in JSON, an error).
    """
    if head.startswith(BOM):
        return head[3:]
    if len(head) < 3 and BOM.startswith(head):
        return None
    return head


def describe_json_error(exc: orjson.JSONDecodeError) -> str:
    """Say what is wrong with a line in words a user can act on."""
    msg = str(exc)
    if "byte order mark" in msg:
        return "a byte-order mark (BOM) inside the stream (only one at its very start is skipped)"
    if "UTF-8" in msg:
        return "invalid UTF-8"
    reason = msg.split(":", 1)[0]
    if reason == "input data is empty":
        return "empty JSON value"
    if exc.pos == 0:
        return "not JSON"
    return f"invalid JSON ({reason}, column {exc.colno})"


def would_wait(stream: Any) -> bool:
    """Whether reading ``stream`` now would wait for input: a pipe or a terminal with nothing in
    it yet. False for a file, a stream with no descriptor (``BytesIO``), or one already at its
    end, and whenever it cannot be told: then nothing is done ahead."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    import select

    try:
        ready, _, _ = select.select([fd], [], [], 0)
    except (OSError, ValueError):
        return False
    return not ready


class NDJSONReader:
    """Iterate over the JSON objects of a binary stream, one per line.

    ``line_no`` is the number of the line last handed out (1-based); ``pending()`` says
    whether a further complete line is already buffered (the writer's cue not to flush yet).
    Blank lines are skipped, and so is a UTF-8 byte-order mark at the very start of the stream
    (Windows tools write one); anywhere else it is bad input. A line that is not a JSON object
    is handled by ``on_error``: ``fail`` raises :class:`DataError` carrying the line number,
    ``skip`` drops it with a warning, ``pass`` turns it into an ``error`` event.
    """

    def __init__(self, stream: IO[bytes] | Any, *, on_error: OnError = "fail",
                 check: Callable[[dict], str | None] | None = None, unchecked: str | None = None) -> None:  # fmt: skip
        self._stream = stream
        self._read: Callable[[int], bytes] = getattr(stream, "read1", None) or stream.read
        self.on_error = on_error
        #: says what is wrong with an event (its fields' types), or None: a wrong one is bad input
        self.check = check
        #: the type of the events ``check`` leaves to the stage, which checks them itself
        self.unchecked = unchecked
        self.line_no = 0
        self._chunk_end = 0
        #: the event last handed out, and its line's own bytes with a b"\n": an event a stage
        #: passes on unchanged is written as those bytes (a big integer stays an integer)
        self.current: Any = None
        self.current_line = b""
        #: called before a read that may wait for input, once every line already read is handed
        #: out: the writer flushes there (:class:`EventWriter` sets it), so that what a read's
        #: last lines made is not held back when the very last line makes nothing (a ping)
        self.on_wait: Callable[[], Any] | None = None
        #: called once, before the first read, when that read would wait (nothing has come yet,
        #: as behind a ``fetch`` waiting for its upstream): a stage loads there what its first
        #: line will need, so that the first event is not held back by imports (see
        #: :func:`would_wait`)
        self.on_idle: Callable[[], Any] | None = None
        global _last_reader
        _last_reader = self

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
        """The rare path: blank lines, bad JSON, JSON that is not an object (``line`` with or
        without its b"\n")."""
        if line[-1:] == b"\n":
            line = line[:-1]
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
            return self._checked(obj, line, line_no)
        return self._bad(line_no, f"expected a JSON object, got {type(obj).__name__}")

    def _checked(self, obj: dict, line: bytes, line_no: int) -> dict | None:
        problem = self.check(obj) if self.check is not None else None
        if problem is not None:
            return self._bad(line_no, problem)
        self.current, self.current_line = obj, line + b"\n"
        return obj

    def _first(self) -> bytes:
        """The first read, without a leading BOM (read on while it may be one cut short)."""
        if self.on_idle is not None and would_wait(self._stream):
            self.on_idle()
        head = self._read(CHUNK_SIZE)
        while head:
            body = skip_bom(head)
            if body is not None:
                return body or self._read(CHUNK_SIZE)  # a read of the mark alone is not the end
            more = self._read(CHUNK_SIZE)
            if not more:
                return head  # one or two bytes of a BOM and nothing after: data (and bad)
            head += more
        return head

    def batches(self) -> Iterator[list[bytes]]:
        """The complete lines of each read, as soon as it is read, every line with its b"\\n" (a
        last line without one is given one). The caller counts them into ``line_no`` before it
        asks for the next batch; ``on_wait`` is called before every read that may wait."""
        read = self._read
        parts: list[bytes] = []
        chunk = self._first()
        while chunk:
            if b"\n" in chunk:
                # readlines finds line ends with memchr, where chunk.split(b"\n") compares byte
                # by byte: measured 14.7M against 55.8M instructions for 8.7 MB of chat
                lines = BytesIO(chunk).readlines()
                if parts:
                    parts.append(lines[0])
                    lines[0] = b"".join(parts)
                    parts = []
                if lines[-1][-1:] != b"\n":
                    parts.append(lines.pop())
                self._chunk_end = self.line_no + len(lines)
                yield lines
            else:
                parts.append(chunk)
            if self.on_wait is not None:
                self.on_wait()
            chunk = read(CHUNK_SIZE)
        if parts:
            self._chunk_end = self.line_no + 1
            yield [b"".join(parts) + b"\n"]

    def event_of(self, line: bytes, line_no: int) -> dict | None:
        """The event of one line of :meth:`batches`, as iterating hands it out (None: a blank
        line, or a bad one skipped)."""
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            return self._parse_slow(line, line_no)
        if type(obj) is dict and (
            self.check is None or obj.get("type") == self.unchecked or self.check(obj) is None
        ):
            self.current, self.current_line = obj, line
            return obj
        return self._parse_slow(line, line_no)

    def __iter__(self) -> Iterator[dict]:
        loads = orjson.loads
        check = self.check
        unchecked = self.unchecked
        line_no = self.line_no
        for lines in self.batches():
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
                if type(obj) is dict and (
                    check is None or obj.get("type") == unchecked or check(obj) is None
                ):
                    self.current = obj
                    self.current_line = line
                    yield obj
                else:
                    obj = self._parse_slow(line, line_no)
                    if obj is not None:
                        yield obj


_last_reader: NDJSONReader | None = None


def last_line() -> int | None:
    """The line the most recent reader last handed out (for the CLI's last-resort message about
    an event a stage could not process), or None."""
    return _last_reader.line_no if _last_reader is not None and _last_reader.line_no else None


def read_events(stream: IO[bytes] | Any, *, on_error: OnError = "fail", check: bool = False,
                unchecked: str | None = None) -> NDJSONReader:  # fmt: skip
    """Events from a binary stream of NDJSON (``sys.stdin.buffer``, an open file, ``io.BytesIO``);
    with ``check``, every canonical event's fields are checked (:func:`streamkit.canonical.check_event`)
    and a wrong one is bad input, handled by ``on_error`` like a line that is not JSON. Events of
    the type ``unchecked`` are left to the stage, which checks them itself (``normalize``: the raw
    events, checked on its hot path without a call per line)."""
    if check:
        from .canonical import check_event

        return NDJSONReader(stream, on_error=on_error, check=check_event, unchecked=unchecked)
    return NDJSONReader(stream, on_error=on_error)


def open_stdout() -> IO[bytes]:
    """A buffered binary writer on fd 1 that does not depend on PYTHONUNBUFFERED."""
    return open(1, "wb", buffering=CHUNK_SIZE, closefd=False)


class EventWriter:
    """Write events as NDJSON, flushing whenever no further input line is already waiting.

    ``pending`` is the reader's ``pending`` (or any callable saying more input is already
    buffered); without one, every event is flushed as it is written.

    An input event a stage passes on unchanged is written as its own line's bytes (the reader's
    ``current``): no second serialisation, and a big integer stays an integer. That holds for
    every event type the stage does not own; ``unchanged`` names the canonical types the stage
    also passes on as they are (``accumulate``: the deltas). A stage must not modify in place an
    event of those types.
    """

    def __init__(self, out: IO[bytes], pending: Callable[[], bool] | None = None,
                 unchanged: frozenset[str] = frozenset()) -> None:  # fmt: skip
        self.out = out
        self._write = out.write
        self._pending = pending or _never
        self.count = 0
        reader = getattr(pending, "__self__", None)
        self._reader = reader if type(reader) is NDJSONReader else None
        if self._reader is not None:
            self._reader.on_wait = out.flush
        #: the types whose events are written anew (owned by the stage, maybe changed)
        self.owned = CANONICAL_TYPES - unchanged

    def write(self, event: Any) -> None:
        reader = self._reader
        if reader is not None and event is reader.current and event.get("type") not in self.owned:
            self._write(reader.current_line)
        else:
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
    """Write every event; return how many were written.

    Once the first event is out, the stage has imported all it needs (a dialect is loaded when
    its first event is seen): what exists then is frozen out of the garbage collector's scans.
    """
    events = iter(events)
    for first in events:
        writer.write(first)
        gc.freeze()
        break
    else:
        return 0
    write = writer._write
    pending = writer._pending
    flush = writer.out.flush
    n = 0
    reader = getattr(pending, "__self__", None)
    if type(reader) is NDJSONReader:
        # the common case, inlined: is a further input line already buffered? and an event the
        # stage passed on unchanged is written as its own line (see EventWriter)
        owned = writer.owned
        for event in events:
            if event is reader.current and event.get("type") not in owned:
                write(reader.current_line)
            else:
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
    return n + 1
