"""Errors and the exit codes they map to.

Every error a user can cause is one of these; the CLI turns it into a one-line message on
stderr and the exit code below. Anything else is a bug and shows a traceback only when
``STREAMKIT_DEBUG=1``.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1  # upstream or tool failed and the command could not continue
EXIT_USAGE = 2  # bad options, unknown dialect or format, missing file
EXIT_DATAERR = 65  # bad input data (sysexits EX_DATAERR)
EXIT_INTERRUPTED = 130  # Ctrl-C
EXIT_TERMINATED = 128 + 15  # SIGTERM, handled (as a shell reports a process it ended)


class StreamkitError(Exception):
    """Base class: a failure with a message meant for the user and an exit code."""

    exit_code = EXIT_FAILURE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(StreamkitError):
    """The command was called wrongly: an unknown dialect or format, a missing file."""

    exit_code = EXIT_USAGE


class DataError(StreamkitError):
    """Bad input data. ``line`` is the 1-based input line (or record) it was found on."""

    exit_code = EXIT_DATAERR

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line

    def __str__(self) -> str:
        if self.line is None:
            return self.message
        return f"line {self.line}: {self.message}"


class UpstreamError(StreamkitError):
    """The upstream (a server, a tool) failed and the command could not continue."""

    exit_code = EXIT_FAILURE


class StreamFailed(UpstreamError):
    """The stream a stage wrote or rendered ended in an ``error`` event (README: "Exit codes").

    ``quiet``: the message is not written on stderr, because the error event went on down a pipe
    and the stage reading it will say it (``fetch | normalize | render`` says it once).
    """

    def __init__(self, message: str, *, quiet: bool = False) -> None:
        super().__init__(message)
        self.quiet = quiet


class Terminated(BaseException):
    """SIGTERM stopped the command, which has cleaned up as after Ctrl-C: exit 143. (A
    BaseException, as KeyboardInterrupt is, so that no ``except Exception`` keeps it.)"""
