"""Diagnostics on stderr: warnings and notes, each one line, prefixed with the command's name.

stdout carries data only; everything a person should read goes through here.
"""

from __future__ import annotations

import sys

_prog = "streamkit"
#: warnings already written, when a long-running command (``serve``) writes each one once
_seen: set[str] | None = None
_SEEN_MAX = 10_000


def set_prog(name: str) -> None:
    """Name the running command (``streamkit normalize``) for every message that follows."""
    global _prog
    _prog = name


def prog() -> str:
    return _prog


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
    try:
        sys.stderr.write(text)
        sys.stderr.flush()
    except (OSError, ValueError):
        pass  # stderr closed: nothing sensible left to do
