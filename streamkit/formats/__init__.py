"""The built-in output formats, registered through the same hook as any plugin's.

``text``, ``ndjson``, ``json``, ``conversation`` and ``stats``, one module each; every dialect is also a
format, through :class:`~streamkit.formats.dialect.DialectFormat` (its encoder plus its framing).
"""

from __future__ import annotations

from collections.abc import Callable

from ..hookspecs import hookimpl
from .base import Format


@hookimpl(trylast=True)
def register_formats(register: Callable[[Format], None]) -> None:
    from .conversation import ConversationFormat
    from .json import JSONFormat, NDJSONFormat
    from .stats import StatsFormat
    from .text import TextFormat

    register(TextFormat())
    register(NDJSONFormat())
    register(JSONFormat())
    register(ConversationFormat())
    register(StatsFormat())
