"""streamkit-bedrock: Amazon Bedrock ConverseStream, both ways.

A streamkit dialect plugin written as any outside author would: it uses only streamkit's public
API (``Dialect``, ``Normalizer``, ``Encoder``, ``hookimpl``, :mod:`streamkit.canonical`,
:mod:`streamkit.errors`) and is found through its ``streamkit`` entry point.

``normalize`` reads ConverseStream (its docstring says what becomes of each event), ``encode``
writes it, ``wire`` holds what both need: the event and exception names, stop reasons, usage.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from streamkit import Dialect, hookimpl

from .wire import EVENTS, EXCEPTIONS, NAME

if TYPE_CHECKING:
    from .encode import BedrockEncoder
    from .normalize import BedrockNormalizer

__all__ = ["Bedrock", "BedrockEncoder", "BedrockNormalizer", "register_dialects"]


class Bedrock(Dialect):
    name = NAME
    description = (
        "Amazon Bedrock ConverseStream (binary AWS event-stream frames, or its decoded events as JSON lines)"
    )
    framing = "eventstream"

    def sniff(self, data: Any, event: str | None = None) -> bool:
        if event is not None:
            return event in EVENTS or event in EXCEPTIONS
        if type(data) is not dict or len(data) != 1:
            return False
        ((key, value),) = data.items()
        return (key in EVENTS or key in EXCEPTIONS) and isinstance(value, dict)

    # the directions are imported when first used: every command loads this plugin to know the
    # dialect's name and sniff, and few of them read or write Bedrock
    def normalizer(self, **options: Any) -> BedrockNormalizer:
        from .normalize import BedrockNormalizer

        return BedrockNormalizer(**options)

    def encoder(self, **options: Any) -> BedrockEncoder:
        from .encode import BedrockEncoder

        return BedrockEncoder(**options)


@hookimpl
def register_dialects(register: Callable[[Dialect], None]) -> None:
    register(Bedrock())


def __getattr__(name: str) -> Any:
    """``BedrockEncoder`` and ``BedrockNormalizer`` stay importable from here, loaded on first use."""
    if name == "BedrockEncoder":
        from .encode import BedrockEncoder

        return BedrockEncoder
    if name == "BedrockNormalizer":
        from .normalize import BedrockNormalizer

        return BedrockNormalizer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
