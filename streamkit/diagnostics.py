"""Diagnostics on stderr: warnings and notes, each one line, prefixed with the command's name.

stdout carries data only; everything a person should read goes through here.
"""

from __future__ import annotations

import sys

_prog = "streamkit"


def set_prog(name: str) -> None:
    """Name the running command (``streamkit normalize``) for every message that follows."""
    global _prog
    _prog = name


def prog() -> str:
    return _prog


def warn(message: str) -> None:
    """Write ``<command>: warning: <message>`` to stderr."""
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
