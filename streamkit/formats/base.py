"""What an output format is: the base class format plugins subclass."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, ClassVar


class Format:
    """An output format for ``streamkit render -f NAME``.

    ``render`` gets the canonical events (plain dicts, in order) and yields ``bytes`` as soon as
    they can be written: a text format yields each delta, a wire format each frame. Diagnostics
    (warnings, tool-call notes) go to stderr through :mod:`streamkit.diagnostics`, never into
    the yielded bytes.
    """

    #: The name given to ``-f``.
    name: ClassVar[str] = ""
    #: One line for ``streamkit formats``.
    description: ClassVar[str] = ""
    #: Set it to get the stage's registry as the ``registry`` option of ``render``, for a format
    #: that looks up dialects (the ``conversation`` format asks each dialect how to continue).
    wants_registry: ClassVar[bool] = False
    #: Set it when the format writes each ``error`` event's message on stderr itself (``text``,
    #: ``json``): then ``render`` does not say it a second time when the stream ends in one.
    reports_errors: ClassVar[bool] = False
    #: The file extension (no dot) of ``convert -o DIR``'s output files; empty: ``out`` (a
    #: dialect's wire format: by its framing, ``sse``, ``ndjson``, ``json``, ``eventstream``).
    extension: ClassVar[str] = ""

    def render(self, events: Iterable[dict[str, Any]], **options: Any) -> Iterator[bytes]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<format {self.name}>"
