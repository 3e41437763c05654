"""The ``ndjson`` and ``json`` formats."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from .base import Format


class NDJSONFormat(Format):
    name = "ndjson"
    description = "The canonical events themselves, one JSON object per line"
    extension = "ndjson"

    def render(self, events: Iterable[dict[str, Any]], **options: Any) -> Iterator[bytes]:
        dumps = orjson.dumps
        opt = orjson.OPT_APPEND_NEWLINE
        for ev in events:
            yield dumps(ev, option=opt)


class JSONFormat(Format):
    name = "json"
    description = "Each final message as one pretty-printed JSON document (accumulating if needed)"
    reports_errors = True
    extension = "json"

    def render(self, events: Iterable[dict[str, Any]], **options: Any) -> Iterator[bytes]:
        from ..stages.accumulate import accumulate

        opt = orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE
        for ev in accumulate(events, final=True):
            if ev.get("type") == "message":
                yield orjson.dumps(ev, option=opt)
            elif ev.get("type") == "error":
                from .. import diagnostics

                diagnostics.error(f"error: {ev.get('message')}")
