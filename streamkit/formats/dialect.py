"""A dialect's wire format as an output format: ``render -f anthropic`` writes Anthropic SSE."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from .base import Format


class DialectFormat(Format):
    """A dialect's wire format: canonical events through its encoder, framed as it frames them."""

    def __init__(self, dialect: Any) -> None:
        self.dialect = dialect
        self.name = dialect.name  # type: ignore[misc]
        self.description = f"{dialect.name} wire format ({dialect.framing})"  # type: ignore[misc]

    def render(self, events: Iterable[dict[str, Any]], **options: Any) -> Iterator[bytes]:
        from ..dialects.base import templated
        from ..framing import by_template, framer

        framing = self.dialect.framing
        frame = framer(framing)
        encoder = templated(self.dialect.encoder(**options))
        array = framing == "json-array"
        first = True
        feed = encoder.feed
        for event in events:
            # a delta of the block the encoder's template is for: its text's JSON in the frame's
            # bytes (Encoder.plain_delta), as the render command's loop writes it
            if (
                encoder.plain_delta is not None
                and (chunk := by_template(encoder, event, framing)) is not None
            ):
                yield chunk
                continue
            for name, data in feed(event):
                chunk = frame(name, data)
                if array:
                    chunk = (b"[" if first else b",\n") + chunk
                first = False
                yield chunk
        for name, data in encoder.close():
            chunk = frame(name, data)
            if array:
                chunk = (b"[" if first else b",\n") + chunk
            first = False
            yield chunk
        if array:
            yield b"[]\n" if first else b"]\n"
