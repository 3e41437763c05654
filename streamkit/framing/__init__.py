"""Wire framings shared by every dialect: SSE, NDJSON, one JSON array, AWS event-stream frames.

A dialect names its framing; ``fetch --replay`` detects the framing of a recording from its
first bytes; ``render -f DIALECT`` frames the dialect's wire events with :func:`frame`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from ..dialects.base import PLAIN_COUNT, PLAIN_HOLE
from ..errors import UsageError
from ..ndjson import BOM
from . import eventstream, sse

FRAMINGS = ("sse", "ndjson", "json-array", "eventstream")


def detect(head: bytes) -> str:
    """Guess a recording's framing from its first bytes (after a UTF-8 byte-order mark, which
    every framing skips): a binary frame prelude whose CRC checks out (at least 12 bytes needed)
    an AWS event stream, ``[`` an array, ``{`` NDJSON, else SSE."""
    if head.startswith(BOM):
        head = head[len(BOM) :]
    if eventstream.is_prelude(head):
        return "eventstream"
    text = head.lstrip(b" \t\r\n")
    if text.startswith(b"["):
        return "json-array"
    if text.startswith(b"{"):
        return "ndjson"
    return "sse"


def frame(framing: str, event: str | None, data: Any) -> bytes:
    """Serialise one wire event in a framing (a JSON array's element alone: its brackets and commas
    are the writer's, as :class:`~streamkit.formats.dialect.DialectFormat` writes them)."""
    return framer(framing)(event, data)


def framer(framing: str) -> Callable[[str | None, Any], bytes]:
    """The function that serialises one wire event in a framing, as :func:`frame` does, looked up
    once for a loop that frames every event of a stream."""
    if framing == "sse":
        return sse.encode
    if framing == "ndjson":
        return _ndjson_line
    if framing == "json-array":
        return _json_element
    if framing == "eventstream":
        return eventstream.encode
    raise UsageError(f"unknown framing {framing!r} (known: {', '.join(FRAMINGS)})")


def _ndjson_line(event: str | None, data: Any) -> bytes:
    if isinstance(data, str):
        return data.encode() + b"\n"
    return orjson.dumps(data, option=orjson.OPT_APPEND_NEWLINE)  # (no second bytes made for the line end)


def _json_element(event: str | None, data: Any) -> bytes:
    return orjson.dumps(data)


def around_text(framing: str, event: str | None, data: Any) -> tuple[bytes, ...] | None:
    """A wire event framed and cut where :data:`~streamkit.dialects.base.PLAIN_HOLE` stands in
    ``data``: the bytes before and after it, such that ``before + orjson.dumps(text) + after`` is
    the event with ``text`` in the hole's place, as :func:`frame` writes it (a JSON array's element
    after the first, its comma included). JSON writes a string the same wherever it stands, so
    this holds for every text. When ``data`` also holds :data:`~streamkit.dialects.base.PLAIN_COUNT`
    after the text, three pieces: ``before + orjson.dumps(text) + between + b"%d" % count + after``.
    None where it cannot: AWS event-stream frames (their length and checksum depend on the text),
    or a template holding a hole other than once, or the count before the text."""
    if framing == "eventstream":
        return None
    whole = frame(framing, event, data)
    if whole.count(_HOLE) != 1 or whole.count(_COUNT) > 1:
        return None
    before, after = whole.split(_HOLE)
    if framing == "json-array":
        before = b",\n" + before
    if _COUNT in before:
        return None
    if _COUNT not in after:
        return before, after
    between, after = after.split(_COUNT)
    return before, between, after


def by_template(encoder: Any, event: Any, framing: str) -> bytes | None:
    """``event`` framed by the encoder's template (:attr:`~streamkit.dialects.base.Encoder.plain_delta`)
    without the encoder, its changes to the encoder's state made, when the template writes it (a
    delta of the block the encoder has one for); else None, for the encoder to write. The
    template is framed once (:func:`around_text`), on first use."""
    template = encoder.plain_delta
    if template is None or (text := template.fits(event)) is None:
        return None
    frames = template.frames
    if frames is None:
        frames = template.frames = around_text(framing, template.name, template.data) or ()
    if not frames:
        return None
    return frames[0] + orjson.dumps(text) + frames[1] if template.plain else template.written(encoder, text)


_HOLE = orjson.dumps(PLAIN_HOLE)
_COUNT = orjson.dumps(PLAIN_COUNT)
