"""normalize: one dialect's raw events → the canonical vocabulary.

Input lines are ``raw`` events (from ``fetch``), or a provider's bare JSON payloads (a line
with no ``type``, or a ``type`` a dialect claims, like Anthropic's ``message_start``). Canonical
events and unknown event types pass through unchanged.

The dialect comes from ``dialect=`` (``-d``), else from each raw event's ``dialect`` field,
else it is detected: the first events of the stream are offered to every installed dialect's
``sniff`` until one claims them (events nobody claims yet are held back, at most
:data:`SNIFF_LIMIT` of them).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any

from .. import diagnostics
from ..errors import DataError
from ..ndjson import OnError
from ..plugins import Registry, default_registry
from ..vocabulary import CANONICAL_TYPES

SNIFF_LIMIT = 64


class _Detect:
    """Which dialect a stream is, decided from its first events."""

    def __init__(self, registry: Registry) -> None:
        self.dialects = list(registry.dialects().values())
        self.names = ", ".join(sorted(d.name for d in self.dialects)) or "none"

    def claims(self, data: Any, event: str | None) -> Any:
        for dialect in self.dialects:
            try:
                if dialect.sniff(data, event):
                    return dialect
            except Exception:  # a plugin's sniff must not break detection for the others
                continue
        return None


def normalize(
    events: Iterable[dict[str, Any]],
    *,
    dialect: str | None = None,
    keep_raw: bool = False,
    on_error: OnError = "fail",
    registry: Registry | None = None,
    line_no: Any = None,
    **options: Any,
) -> Iterator[dict[str, Any]]:
    """Normalize a stream of raw (or bare provider) events into canonical events.

    ``options`` go to the dialect's normalizer. ``line_no`` is a callable giving the current
    input line, used in error messages (the CLI passes its reader's).
    """
    registry = registry or default_registry()
    forced = registry.dialect(dialect) if dialect else None
    detect = _Detect(registry)
    current: Any = None  # the dialect of the stream being normalized
    normalizer: Any = None
    held: list[tuple[dict[str, Any], Any, str | None]] = []  # events waiting for detection
    unused: dict[str, int] = {}
    debug = bool(os.environ.get("STREAMKIT_DEBUG"))

    def where() -> int | None:
        return line_no() if line_no is not None else None

    def bad(message: str) -> dict[str, Any] | None:
        """A data error: raise, skip or pass it on, as on_error says."""
        line = where()
        if on_error == "fail":
            raise DataError(message, line)
        if on_error == "skip":
            diagnostics.warn(f"{f'line {line}: ' if line else ''}{message} (skipped)")
            return None
        ev: dict[str, Any] = {"type": "error", "message": message, "code": "bad-input"}
        if line:
            ev["line"] = line
        return ev

    def feed(raw: dict[str, Any], data: Any, event: str | None) -> Iterator[dict[str, Any]]:
        try:
            out = normalizer.feed(data, event)
        except DataError as exc:
            err = bad(f"{current.name}: {exc.message}")
            if err is not None:
                yield err
            return
        except (KeyError, TypeError, AttributeError, ValueError, IndexError) as exc:
            if debug:
                raise
            err = bad(f"{current.name}: malformed event ({type(exc).__name__}: {exc})")
            if err is not None:
                yield err
            return
        if out is None:
            if keep_raw:
                yield raw if raw.get("type") == "raw" else _as_raw(raw, current.name, data, event)
            else:
                kind = event or (data.get("type") if isinstance(data, dict) else None) or "chunk"
                unused[kind] = unused.get(kind, 0) + 1
            return
        yield from out

    def switch(new: Any) -> Iterator[dict[str, Any]]:
        nonlocal current, normalizer
        if normalizer is not None:
            yield from normalizer.close()
        current = new
        normalizer = new.normalizer(**options)

    for raw in events:
        kind = raw.get("type")
        if kind == "raw":
            data = raw.get("data")
            event = raw.get("event")
            named = raw.get("dialect")
        elif kind in CANONICAL_TYPES:
            yield raw
            continue
        else:
            # a bare provider payload, or an unknown event to pass through
            data, event, named = raw, None, None
            if kind is not None:
                claimant = forced if forced is not None and forced.sniff(data, None) else None
                if claimant is None and forced is None:
                    claimant = current if current is not None and current.sniff(data, None) else None
                    if claimant is None and current is None:
                        claimant = detect.claims(data, None)
                if claimant is None:
                    yield raw
                    continue
        if forced is not None:
            target = forced
        elif named:
            if current is not None and current.name == named:
                target = current
            else:
                try:
                    target = registry.dialect(named)
                except Exception:
                    err = bad(f"unknown dialect {named!r} (installed: {detect.names})")
                    if err is not None:
                        yield err
                    continue
        elif current is not None:
            target = current
        else:
            target = detect.claims(data, event)
            if target is None:
                held.append((raw, data, event))
                if len(held) >= SNIFF_LIMIT:
                    err = _undetected(held, detect, bad)
                    held.clear()
                    if err is not None:
                        yield err
                continue
        if target is not current:
            yield from switch(target)
        if held:
            for h_raw, h_data, h_event in held:
                yield from feed(h_raw, h_data, h_event)
            held.clear()
        yield from feed(raw, data, event)

    if held:
        err = _undetected(held, detect, bad)
        if err is not None:
            yield err
    if normalizer is not None:
        try:
            yield from normalizer.close()
        except DataError as exc:
            err = bad(f"{current.name}: {exc.message}")
            if err is not None:
                yield err
    if unused:
        total = sum(unused.values())
        kinds = ", ".join(f"{k} x{n}" if n > 1 else k for k, n in sorted(unused.items()))
        diagnostics.warn(
            f"{total} {current.name if current else ''} event{'s' if total > 1 else ''} with no canonical "
            f"meaning ({kinds}); --keep-raw keeps them"
        )


def _undetected(held: list[Any], detect: _Detect, bad: Any) -> dict[str, Any] | None:
    first = held[0][2] or (held[0][1].get("type") if isinstance(held[0][1], dict) else None)
    what = f" (first event: {first})" if first else ""
    return bad(
        f"no installed dialect recognizes this stream{what}; pass -d DIALECT (installed: {detect.names})"
    )


def _as_raw(payload: dict[str, Any], dialect: str, data: Any, event: str | None) -> dict[str, Any]:
    return {"type": "raw", "dialect": dialect, "event": event, "data": data}
