"""convert: a recorded wire file → another wire format, in one process.

The same as ``fetch --replay FILE | normalize | render -f TO``, without the pipes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from ..plugins import Registry, default_registry
from .fetch import replay
from .normalize import normalize
from .render import render


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
    raw = replay(source, dialect=from_)
    events = normalize(raw, dialect=from_, registry=registry, **(normalize_options or {}))
    return render(events, format=to, registry=registry, **options)  # looks the format up at once
