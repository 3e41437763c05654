"""JSON framings: newline-delimited JSON, and one JSON array streamed element by element.

Ollama streams NDJSON; Gemini without ``alt=sse`` streams a single JSON array whose elements
arrive one at a time (``[{...}\\r\\n,{...}]``). Both decoders are incremental: feed bytes as
they arrive, get the values they complete. Both are linear in the input however it is split (a
line or element that spans many reads is joined once, and only new bytes are scanned).

Both skip a UTF-8 byte-order mark at the very start of the stream. Bad input (a line or element
that is not JSON) is a :class:`~streamkit.errors.DataError` naming its line (NDJSON) or byte
offset (array); the values before it are handed out first: the call that meets it returns them
and the next call raises it (a call with nothing good to return raises at once), as does every
call after it. Integers beyond 64 bits are read as floats (orjson's rule).
"""

from __future__ import annotations

import re
from operator import length_hint
from typing import Any

import orjson

from ..errors import DataError
from ..ndjson import BOM, describe_json_error, skip_bom


class NDJSONDecoder:
    """Values of newline-delimited JSON; blank lines are skipped."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self.line_no = 0
        self._head: bytes | None = b""  # the first bytes, until a BOM is ruled in or out
        self._error: DataError | None = None

    def feed(self, chunk: bytes) -> list[Any]:
        if self._error is not None:
            raise self._error
        if self._head is not None:
            head = self._head + chunk
            body = skip_bom(head)
            if body is None:
                self._head = head
                return []
            self._head = None
            chunk = body
        if b"\n" not in chunk:
            self._parts.append(chunk)
            return []
        lines = chunk.split(b"\n")
        if self._parts:
            self._parts.append(lines[0])
            lines[0] = b"".join(self._parts)
            self._parts = []
        tail = lines.pop()
        if tail:
            self._parts.append(tail)
        return self._parse(lines)

    def close(self) -> list[Any]:
        if self._error is not None:
            raise self._error
        if self._head:  # one or two bytes of a BOM and nothing after: data after all
            self._parts.append(self._head)
        self._head = None
        rest = b"".join(self._parts)
        self._parts = []
        return self._parse([rest]) if rest.strip() else []

    def _parse(self, lines: list[bytes]) -> list[Any]:
        if b"" in lines:  # empty lines (a recording's last, the gap between two) left out first
            try:
                values = list(map(orjson.loads, filter(None, lines)))
            except orjson.JSONDecodeError:
                pass  # found again below, with its line number
            else:
                self.line_no += len(lines)
                return values
        # all the lines parsed in one pass; one that is not JSON stops it, and (when blank) the
        # pass goes on after it
        out: list[Any] = []
        items = iter(lines)
        while True:
            try:
                out.extend(map(orjson.loads, items))
                break
            except orjson.JSONDecodeError as exc:
                at = len(lines) - length_hint(items) - 1  # the index of the line that is not JSON
                if lines[at].strip():
                    self.line_no += at + 1
                    self._error = DataError(describe_json_error(exc), self.line_no)
                    if not out:
                        raise self._error from None
                    return out
        self.line_no += len(lines)
        return out


_INTERESTING = re.compile(rb'[{}\[\]"\\]')
_STRING_END = re.compile(rb'["\\]')


class JSONArrayDecoder:
    """Elements of one top-level JSON array, each handed out as soon as it is complete."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._started = False  # whether a BOM at the start was ruled in or out
        self._error: DataError | None = None
        self._pos = 0  # scan position in _buf
        self._start = -1  # start of the current element
        self._depth = 0  # nesting depth inside the top-level array
        self._in_string = False
        self._opened = False
        self._closed = False
        self._offset = 0  # bytes dropped from the front of _buf

    def feed(self, chunk: bytes) -> list[Any]:
        if self._error is not None:
            raise self._error
        self._buf += chunk
        out: list[Any] = []
        try:
            self._scan(out)
        except DataError as exc:
            self._error = exc
            if not out:
                raise
        return out

    def _scan(self, out: list[Any]) -> None:
        buf = self._buf
        pos = self._pos
        n = len(buf)
        if not self._opened:
            if not self._started:
                head = bytes(buf[:3])
                if skip_bom(head) is None:
                    return
                self._started = True
                if head == BOM:
                    pos = 3
            while pos < n and buf[pos] in b" \t\r\n":
                pos += 1
            if pos >= n:
                self._pos = pos
                return
            if buf[pos] != ord("["):
                raise DataError(f"expected a JSON array at byte {self._offset + pos}")
            self._opened = True
            pos += 1
        while pos < n and not self._closed:
            if self._in_string:
                m = _STRING_END.search(buf, pos)
                if m is None:
                    pos = n
                    break
                pos = m.start()
                if buf[pos] == ord("\\"):
                    pos += 2
                    continue
                self._in_string = False
                pos += 1
                continue
            if self._depth == 0:
                # between elements: skip whitespace and commas, find the next element
                c = buf[pos]
                if c in b" \t\r\n,":
                    pos += 1
                    continue
                if c == ord("]"):
                    self._closed = True
                    pos += 1
                    break
                if c in b"{[":
                    self._start = pos
                    self._depth = 1
                    pos += 1
                    continue
                raise DataError(f"expected an object in the JSON array at byte {self._offset + pos}")
            m = _INTERESTING.search(buf, pos)
            if m is None:
                pos = n
                break
            pos = m.start()
            c = buf[pos]
            pos += 1
            if c == ord('"'):
                self._in_string = True
            elif c == ord("\\"):
                pos += 1
            elif c in b"{[":
                self._depth += 1
            else:
                self._depth -= 1
                if self._depth == 0:
                    element = bytes(buf[self._start : pos])
                    try:
                        out.append(orjson.loads(element))
                    except orjson.JSONDecodeError as exc:
                        raise DataError(
                            f"{describe_json_error(exc)} in the array element at byte {self._offset + self._start}"
                        ) from None
                    self._start = -1
        # drop what is consumed
        keep_from = self._start if self._start >= 0 else pos
        if keep_from > 0:
            del buf[:keep_from]
            self._offset += keep_from
            pos -= keep_from
            if self._start >= 0:
                self._start = 0
        self._pos = pos

    def close(self) -> list[Any]:
        if self._error is not None:
            raise self._error
        if self._depth or self._in_string:
            raise DataError(f"the JSON array ends inside an element (byte {self._offset + self._pos})")
        return []
