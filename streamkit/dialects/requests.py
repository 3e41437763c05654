"""What the request builders of several dialects share: the drops they warn about once, and the
tool-call helpers of dialects whose calls carry an object (Gemini, Ollama)."""

from __future__ import annotations

from typing import Any

from ..canonical import parse_arguments


class RequestDrops:
    """What a request cannot carry, counted per kind and warned about once (never silently)."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        self.kinds: dict[str, int] = {}

    def add(self, what: str) -> None:
        self.kinds[what] = self.kinds.get(what, 0) + 1

    def warn(self) -> None:
        from .. import diagnostics

        for what, count in self.kinds.items():
            diagnostics.warn(f"{self.dialect} cannot send {what} ({count}); left out of the request")


def result_files(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``file`` parts of a tool message's ``content`` (an image a tool read), in order; the
    message's ``output`` is the result's text (see :mod:`streamkit.conversation`)."""
    content = message.get("content")
    if not isinstance(content, list):
        return []
    return [p for p in content if isinstance(p, dict) and p.get("type") == "file"]


def generated_id(part: dict[str, Any]) -> bool:
    """Whether normalize made up the call's id (any dialect's ``generated_id`` mark): such an id
    is ours, not the provider's, and is not sent."""
    pm = part.get("provider_metadata")
    return isinstance(pm, dict) and any(isinstance(m, dict) and m.get("generated_id") for m in pm.values())


def object_input(part: dict[str, Any], drops: RequestDrops) -> dict[str, Any]:
    """A tool call's arguments as an object (Gemini's ``args`` and Ollama's ``arguments`` must be
    one); arguments that are not one (a call cut off, invalid JSON) are sent as ``{}``, counted."""
    value = part.get("input")
    if not isinstance(value, dict):
        value, _ = parse_arguments(part.get("arguments") or "")
    if isinstance(value, dict):
        return value
    drops.add("tool-call arguments that are not a JSON object (sent as {})")
    return {}
