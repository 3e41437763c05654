"""Whether a stream a stage wrote or rendered ended in failure, and how the stage says so.

A stream *ends in an error* when it carries an ``error`` event that no later ``start`` (a new
response: a retry, the agent's next step) supersedes; what the failed response still sends after
its error (a ``finish``, the ``message`` accumulate makes of it) does not undo it. Error events
made from bad input lines under ``--on-error pass`` (``code: bad-input``) do not count: passing
them on is what the user asked for.

Such a stage exits 1 unless ``--ignore-errors`` is given. The message appears once in a pipeline:
a stage whose stdout is a pipe leaves it to the stage that reads the error event (the last one,
``render``, says it), a stage writing to a terminal or a file says it itself.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator

from ..errors import StreamFailed

TYPE_CHECKING = False  # (not typing's: importing typing costs 4 ms of a stage's start)
if TYPE_CHECKING:
    from typing import Any


class Outcome:
    """Pass events through, remembering the error event the stream ends in (if any)."""

    def __init__(self, events: Iterable[dict[str, Any]]) -> None:
        self._events = events
        #: the error event the stream ends in, or None
        self.error: dict[str, Any] | None = None

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for event in self._events:
            kind = event.get("type")
            if kind == "error" or kind == "start":
                self.see(event)
            yield event

    def see(self, event: dict[str, Any]) -> None:
        """Note an ``error`` or ``start`` event (one a stage wrote without passing it through
        here, too): a start supersedes the error before it, a bad input line's does not count."""
        if event.get("type") == "start":
            self.error = None
        elif event.get("code") != "bad-input":
            self.error = event

    def check(self, *, ignore: bool, reported: bool = False) -> None:
        """Raise :class:`StreamFailed` (exit 1) when the stream ended in an error, unless
        ``ignore``; quietly when the message was already ``reported`` on stderr or goes on down
        a pipe."""
        if self.error is None or ignore:
            return
        raise StreamFailed(message_of(self.error), quiet=reported or stdout_is_pipe())


def message_of(error: dict[str, Any]) -> str:
    """An error event in one line: ``HTTP 429: rate limited``."""
    status = f"HTTP {error['status']}: " if error.get("status") else ""
    return f"{status}{error.get('message')}"


def stdout_is_pipe() -> bool:
    """Is fd 1 a pipe or a socket (another process reads what this stage writes)?"""
    try:
        mode = os.fstat(1).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)
