"""Assistants: ``submit_tool_outputs`` carries one ``tool_outputs`` entry per call, its output a
string (no error flag in this format). A body without ``tool_outputs`` is not a continuation of a
paused run (a run on the thread, or a new thread): it carries no results."""

from __future__ import annotations

from typing import Any


def results(body: dict[str, Any]) -> list[tuple[str, bool]]:
    return [(o["output"], False) for o in body.get("tool_outputs") or ()]


def images(body: dict[str, Any]) -> list[str]:
    """None: an output is a string."""
    return []
