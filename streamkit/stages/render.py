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
    """Render events in ``format``; yields the bytes to write, as soon as each can be written.

    The format is looked up at once (an unknown one fails before any event is read); a format
    that asks for it (``wants_registry``) gets the registry as its ``registry`` option.
    """
    registry = registry or default_registry()
    fmt = registry.format(format)
    if getattr(fmt, "wants_registry", False):
        options["registry"] = registry
    return fmt.render(events, **options)
