"""render: canonical events → bytes in a chosen format (text, json, a dialect's wire format...)."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import orjson

from ..canonical import DELTA_TYPES
from ..ndjson import EventWriter, NDJSONReader
from ..plugins import Registry, default_registry


def render(
    events: Iterable[dict[str, Any]],
    *,
    format: str = "text",
    registry: Registry | None = None,
    **options: Any,
) -> Iterator[bytes]:
    """Render events in ``format``; yields the bytes to write, as soon as each can be written.

    The format is looked up at once (an unknown one fails before any event is read); a format
    that asks for it (``wants_registry``) gets the registry as its ``registry`` option.
    """
    registry = registry or default_registry()
    fmt = registry.format(format)
    if getattr(fmt, "wants_registry", False):
        options["registry"] = registry
    return fmt.render(events, **options)


def write_rendered(
    reader: NDJSONReader,
    writer: EventWriter,
    see: Callable[[dict[str, Any]], Any],
    dialect: Any,
    **options: Any,
) -> None:
    """The ``render -f DIALECT`` command's loop: encode the reader's events in a dialect's wire
    format and write its frames, the same bytes as writing every chunk of ``render(reader,
    format=DIALECT)``; ``see`` is shown every ``error`` and ``start`` event read (how the stream
    ends).

    It is :class:`~streamkit.formats.dialect.DialectFormat`'s loop with the line read, checked,
    encoded and written in the same loop, as ``normalize`` and ``accumulate`` have: a line no
    longer passes through the reader's, the outcome's and the format's generators, a delta whose
    three fields are strings is checked inline rather than by
    :func:`~streamkit.canonical.check_event`, and the framing's encoder is looked up once. Any
    other line goes the reader's way (its checks, its bad-input handling). Output is flushed
    before each read that may wait (the reader's ``on_wait``). A delta the encoder has a template
    for (:attr:`~streamkit.dialects.base.Encoder.plain_delta`) is written around its text's JSON
    without the encoder.
    """
    from ..dialects.base import templated
    from ..framing import around_text, framer

    encoder = templated(dialect.encoder(**options))
    feed = encoder.feed
    framing = dialect.framing
    frame = framer(framing)
    array = framing == "json-array"
    first = True  # (a JSON array: no element written yet)
    deltas = DELTA_TYPES
    loads, dumps, bad_json = orjson.loads, orjson.dumps, orjson.JSONDecodeError
    check = reader.check
    write = writer.out.write
    reader.on_wait = writer.out.flush
    line_no = reader.line_no
    frozen = False
    # the line number is kept in a local on the hot path and given to the reader (whose line_no
    # its bad-input messages and the last-resort error handler read) before anything may fail
    try:
        for lines in reader.batches():
            for line in lines:
                line_no += 1
                try:
                    ev = loads(line)
                except bad_json:
                    ev = None
                if type(ev) is dict:
                    kind = ev.get("type")
                    if (  # the hot path: a plain delta
                        len(ev) == 3
                        and type(kind) is str
                        and kind in deltas
                        and type(ev.get("id")) is str
                        and type(text := ev.get("delta")) is str
                    ):
                        template = encoder.plain_delta
                        if template is not None and (
                            template.block_id != ev["id"] or template.kind != kind or not text
                        ):
                            template = None
                    else:
                        template = None
                        reader.line_no = line_no
                        if check is not None and check(ev) is not None:
                            ev = reader._parse_slow(line, line_no)  # (says what is wrong)
                            if ev is None:
                                continue
                            kind = ev.get("type")
                        if kind == "error" or kind == "start":
                            see(ev)
                        elif (  # a delta with more fields, which the template's encoder does not read
                            type(kind) is str
                            and kind in deltas
                            and (extra := encoder.plain_delta) is not None
                            and extra.extra_fields
                            and extra.block_id == ev.get("id")
                            and extra.kind == kind
                            and "choice" not in ev
                            and type(text := ev.get("delta")) is str
                            and text
                        ):
                            template = extra
                    if template is not None:  # a delta of the block the encoder has a template for
                        frames = template.frames
                        if frames is None:
                            frames = template.frames = (
                                around_text(framing, template.name, template.data) or ()
                            )
                        if frames:  # (the frame around the text, without the encoder)
                            if template.plain:
                                write(frames[0] + dumps(text) + frames[1])
                            else:
                                write(template.written(encoder, text))
                            continue
                else:  # a blank line, bad JSON, or JSON that is no object
                    reader.line_no = line_no
                    ev = reader._parse_slow(line, line_no)
                    if ev is None:
                        continue
                    kind = ev.get("type")
                    if kind == "error" or kind == "start":
                        see(ev)
                for name, data in feed(ev):
                    if array:
                        write((b"[" if first else b",\n") + frame(name, data))
                        first = False
                    else:
                        write(frame(name, data))
            reader.line_no = line_no
            if not frozen:  # the dialect is loaded: see write_events
                gc.freeze()
                frozen = True
    finally:
        reader.line_no = line_no
    for name, data in encoder.close():
        if array:
            write((b"[" if first else b",\n") + frame(name, data))
            first = False
        else:
            write(frame(name, data))
    if array:
        write(b"[]\n" if first else b"]\n")
    writer.out.flush()
