"""convert: a recorded wire file → another wire format, in one process.

The same as ``fetch --replay FILE | normalize | render -f TO``, without the pipes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from ..plugins import Registry, default_registry
from .fetch import replay
from .normalize import normalize


def convert(
    source: IO[bytes] | Any,
    *,
    to: str,
    from_: str | None = None,
    registry: Registry | None = None,
    normalize_options: dict[str, Any] | None = None,
    **options: Any,
) -> Iterator[bytes]:
    """Re-encode the recording ``source`` (of dialect ``from_``, detected when None) as format ``to``."""
    registry = registry or default_registry()
    fmt = registry.format(to)  # fail on a bad format before reading anything
    raw = replay(source, dialect=from_)
    events = normalize(raw, dialect=from_, registry=registry, **(normalize_options or {}))
    return fmt.render(events, **options)
