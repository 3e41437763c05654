"""render: canonical events → bytes in a chosen format (text, json, a dialect's wire format...)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from ..plugins import Registry, default_registry


def render(
    events: Iterable[dict[str, Any]],
    *,
    format: str = "text",
    registry: Registry | None = None,
    **options: Any,
) -> Iterator[bytes]:
    """Render events in ``format``; yields the bytes to write, as soon as each can be written."""
    fmt = (registry or default_registry()).format(format)
    return fmt.render(events, **options)
