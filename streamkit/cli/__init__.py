"""The ``streamkit`` command line: thin click commands over the stages.

Each command parses its options, wires ``read_events(stdin)`` → stage → writer, and leaves the
rest to :func:`~streamkit.cli.guard.run`, the one guard that maps errors to exit codes (README:
"Exit codes"), handles a closed stdout (``| head -1`` ends quietly) and Ctrl-C (flush, exit 130).

One module per family of commands: ``fetch``, ``agent``, ``stages`` (normalize, accumulate,
run-tools, render, convert), ``serve``, ``listing`` (dialects, formats, executors, plugins,
schema), each imported only when one of its commands runs (``group.BUILTIN``); ``group`` is the
``streamkit`` group, ``guard`` the guard, ``options`` what they share.
"""

from __future__ import annotations

import sys

from ..errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from .guard import _quiet_stdout, run

TYPE_CHECKING = False  # (not typing's: importing typing costs 4 ms of a stage's start)
if TYPE_CHECKING:
    from typing import Any


def main(argv: list[str] | None = None) -> None:
    """The console script: ``streamkit``."""
    # httpx imports its own command line (click, rich, pygments: 30 ms of a live fetch's start,
    # measured) whenever they are installed; streamkit's process never runs it
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    # (Ctrl-C while the modules load, tens of ms of a start, exits 130 as later, without a traceback)
    try:
        _import_orjson_whole()
        from .fast_start import parse, run_parsed

        parsed = parse(sys.argv[1:] if argv is None else argv)
        if parsed is not None:  # normalize or accumulate, started without click
            run_parsed(*parsed)
            return
        import click

        from .group import cli  # each command's module is imported when the command is asked for
    except KeyboardInterrupt:
        sys.exit(EXIT_INTERRUPTED)

    try:
        cli.main(args=argv, prog_name="streamkit", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help() if exc.ctx else str(exc), err=True)
        sys.exit(EXIT_USAGE)
    except click.UsageError as exc:
        exc.show()
        sys.exit(EXIT_USAGE)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_USAGE)
    except click.exceptions.Abort:
        sys.exit(EXIT_INTERRUPTED)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except BrokenPipeError:
        _quiet_stdout()
        sys.exit(EXIT_OK)
    except KeyboardInterrupt:
        sys.exit(EXIT_INTERRUPTED)


def _import_orjson_whole() -> None:
    """Import orjson with SIGINT held back until it is in: its module's initialisation crashes the
    interpreter (a segfault, not an exception) when one of the standard modules it imports fails
    to, as one does when a KeyboardInterrupt is raised inside it (ijl/orjson#310, open). Measured:
    SIGINT 30 to 60 ms after ``streamkit render`` or ``run-tools`` started segfaulted 9 starts of
    40. Held back, the signal comes as soon as the import is done, a KeyboardInterrupt that
    ``main``'s guard makes exit 130. (Where threads' signal masks cannot be set, as on Windows,
    orjson is imported as it is.)"""
    import signal

    if not hasattr(signal, "pthread_sigmask"):
        import orjson

        return
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        import orjson  # noqa: F401
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def __getattr__(name: str) -> Any:
    if name == "cli":  # the click group, imported when asked for (main may not need click)
        from .group import cli

        return cli
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["cli", "main", "run"]


if __name__ == "__main__":  # pragma: no cover
    main()
