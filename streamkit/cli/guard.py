"""The one guard every command runs its body in: errors become exit codes and one line on stderr
(README: "Exit codes"), a closed stdout (``| head -1``) ends quietly, Ctrl-C flushes and exits 130.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable

from .. import diagnostics
from ..errors import (
    EXIT_DATAERR,
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TERMINATED,
    DataError,
    StreamkitError,
    Terminated,
    UsageError,
)

TYPE_CHECKING = False  # (not typing's: importing typing costs 4 ms of a stage's start)
if TYPE_CHECKING:
    from typing import IO


def _stdin() -> IO[bytes]:
    if sys.stdin is None:
        raise UsageError("no standard input")
    if sys.stdin.isatty():
        diagnostics.note("reading events from the terminal (Ctrl-D ends, Ctrl-C aborts)")
    return sys.stdin.buffer


def _open_input(path: str) -> IO[bytes]:
    if path == "-":
        return _stdin()
    try:
        return open(path, "rb")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None


def _is_click_exit(exc: Exception) -> bool:
    """Is this click's request to exit (from a command that uses click's own ``ctx.exit``)? Not
    imported for it: a command started without click (``fast_start``) cannot raise one."""
    click = sys.modules.get("click")
    return click is not None and isinstance(exc, click.exceptions.Exit)


def _too_deep(exc: Exception) -> bool:
    """Is this orjson refusing to write a value nested too deep (``Recursion limit reached``)?"""
    orjson = sys.modules.get("orjson")
    return orjson is not None and isinstance(exc, orjson.JSONEncodeError) and "Recursion limit" in str(exc)


def _quiet_stdout() -> None:
    """After EPIPE: point fd 1 at /dev/null so that no later flush complains."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def run(command: str, body: Callable[[IO[bytes]], None]) -> None:
    """Run a command's body with stdout as a buffered binary writer, and map every way it can
    end to an exit code: 0 ok (also when the reader of stdout went away), 1 runtime failure,
    2 usage error, 65 bad input data, 130 interrupted. No traceback for a user's mistake;
    ``STREAMKIT_DEBUG=1`` shows one for anything unexpected.
    """
    from ..ndjson import open_stdout

    diagnostics.set_prog(f"streamkit {command}")
    try:
        out = open_stdout()
    except OSError as exc:  # `>&-`: no standard output at all
        diagnostics.error(f"cannot write to standard output: {exc.strerror}")
        sys.exit(EXIT_FAILURE)
    code = EXIT_OK
    # Everything imported so far lives as long as the process: keep the collector from scanning
    # it again and again (a full collection walked every module's objects; fetch spent 12% there)
    gc.freeze()
    try:
        try:
            body(out)
        finally:
            out.flush()  # everything good before a failure is written
    except BrokenPipeError:
        _quiet_stdout()
        code = EXIT_OK
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    except Terminated:
        code = EXIT_TERMINATED
    except DataError as exc:
        diagnostics.error(str(exc))
        code = EXIT_DATAERR
    except StreamkitError as exc:
        if not getattr(exc, "quiet", False):
            diagnostics.error(str(exc))
        code = exc.exit_code
    except Exception as exc:
        if _is_click_exit(exc):
            raise
        if os.environ.get("STREAMKIT_DEBUG"):
            raise
        from ..ndjson import TOO_DEEP, last_line

        line = last_line()
        if line is not None and _too_deep(exc):  # valid JSON, but orjson writes 254 levels at most
            diagnostics.error(f"line {line}: {TOO_DEEP}")
            code = EXIT_DATAERR
        elif line is not None and isinstance(
            exc, (TypeError, ValueError, KeyError, AttributeError, IndexError)
        ):
            # the last resort for an event whose types were right but whose shape a stage could
            # not follow: it is bad input on that line, not a crash
            diagnostics.error(f"line {line}: this event cannot be processed ({type(exc).__name__}: {exc})")
            code = EXIT_DATAERR
        else:
            diagnostics.error(f"internal error: {type(exc).__name__}: {exc} (STREAMKIT_DEBUG=1 shows where)")
            code = EXIT_FAILURE
    if code == EXIT_INTERRUPTED:
        try:
            out.flush()
        except (BrokenPipeError, OSError):
            _quiet_stdout()
    sys.exit(code)
