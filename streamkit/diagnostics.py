"""Diagnostics on stderr: warnings and notes, each one line, prefixed with the command's name.

stdout carries data only; everything a person should read goes through here.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

_prog = "streamkit"
#: warnings already written, when a long-running command (``serve``) writes each one once
_seen: set[str] | None = None
_SEEN_MAX = 10_000
#: called before anything is written to stderr (render and convert flush stdout there, so that a
#: note comes after the text that preceded it, on a terminal that shows both)
_before: Callable[[], object] | None = None


def set_prog(name: str) -> None:
    """Name the running command (``streamkit normalize``) for every message that follows."""
    global _prog
    _prog = name


def before_write(hook: Callable[[], object] | None) -> None:
    """Call ``hook`` (say, stdout's flush) before each message written to stderr; None: nothing."""
    global _before
    _before = hook


def prog() -> str:
    return _prog


def color(stream: object) -> bool:
    """Whether to write colours and styles (ANSI escapes) to ``stream``: only to a terminal, and
    never when ``NO_COLOR`` is set to anything but the empty string (https://no-color.org)."""
    import os

    if os.environ.get("NO_COLOR"):
        return False
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def warn_once() -> None:
    """From now on, write each distinct warning once (a server answering many requests would
    otherwise repeat the same warning for each; the log stays bounded)."""
    global _seen
    _seen = set()


def warn(message: str) -> None:
    """Write ``<command>: warning: <message>`` to stderr."""
    if _seen is not None:
        if message in _seen or len(_seen) >= _SEEN_MAX:
            return
        _seen.add(message)
    _write(f"{_prog}: warning: {message}\n")


def error(message: str) -> None:
    """Write ``<command>: <message>`` to stderr (the one line before a non-zero exit)."""
    _write(f"{_prog}: {message}\n")


def note(message: str) -> None:
    """Write ``<command>: <message>`` to stderr without the word warning (progress, hints)."""
    _write(f"{_prog}: {message}\n")


def _write(text: str) -> None:
    if _before is not None:
        try:
            _before()
        except (OSError, ValueError):
            pass  # a closed stdout is the guard's business, not the message's
    try:
        sys.stderr.write(text)
        sys.stderr.flush()
    except (OSError, ValueError):
        pass  # stderr closed: nothing sensible left to do
