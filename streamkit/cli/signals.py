"""SIGTERM for the commands that run tools (``run-tools``, ``agent``): handled as Ctrl-C is, so that
their tools' processes are stopped and what they made is written before the exit (143). Its own
module: every command's start imports :mod:`.guard`, and ``signal`` is not free there."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

from ..errors import Terminated


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """While inside, SIGTERM raises :class:`~streamkit.errors.Terminated` in the main thread (the
    guard's exit 143, after the command's clean-up); a second SIGTERM during the clean-up kills at
    once, as the default would."""

    def on_term(signum: int, frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        raise Terminated

    try:
        previous = signal.signal(signal.SIGTERM, on_term)
    except ValueError:  # not the main thread (an embedding): leave SIGTERM alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
