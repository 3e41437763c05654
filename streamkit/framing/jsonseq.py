"""JSON framings: newline-delimited JSON, and one JSON array streamed element by element.

Ollama streams NDJSON; Gemini without ``alt=sse`` streams a single JSON array whose elements
arrive one at a time (``[{...}\\r\\n,{...}]``). Both decoders are incremental: feed bytes as
they arrive, get the values they complete.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from ..errors import DataError
from ..ndjson import describe_json_error


class NDJSONDecoder:
    """Values of newline-delimited JSON; blank lines are skipped."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self.line_no = 0

    def feed(self, chunk: bytes) -> list[Any]:
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
        rest = b"".join(self._parts)
        self._parts = []
        return self._parse([rest]) if rest.strip() else []

    def _parse(self, lines: list[bytes]) -> list[Any]:
        out = []
        for line in lines:
            self.line_no += 1
            if not line.strip():
                continue
            try:
                out.append(orjson.loads(line))
            except orjson.JSONDecodeError as exc:
                raise DataError(describe_json_error(exc), self.line_no) from None
        return out


_INTERESTING = re.compile(rb'[{}\[\]"\\]')
_STRING_END = re.compile(rb'["\\]')


class JSONArrayDecoder:
    """Elements of one top-level JSON array, each handed out as soon as it is complete."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._pos = 0  # scan position in _buf
        self._start = -1  # start of the current element
        self._depth = 0  # nesting depth inside the top-level array
        self._in_string = False
        self._opened = False
        self._closed = False
        self._offset = 0  # bytes dropped from the front of _buf

    def feed(self, chunk: bytes) -> list[Any]:
        self._buf += chunk
        out: list[Any] = []
        buf = self._buf
        pos = self._pos
        n = len(buf)
        if not self._opened:
            while pos < n and buf[pos] in b" \t\r\n\xef\xbb\xbf":
                pos += 1
            if pos >= n:
                self._pos = pos
                return out
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
        return out

    def close(self) -> list[Any]:
        if self._depth or self._in_string:
            raise DataError(f"the JSON array ends inside an element (byte {self._offset + self._pos})")
        return []
