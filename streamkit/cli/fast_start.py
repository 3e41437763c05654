"""``normalize`` and ``accumulate``, the stages every event of a pipeline passes through,
``render``, which ends it, and ``fetch --replay``, which starts a replayed one, started without
click.

Measured (``make bench``, cold start; Python 3.11): importing click costs about 28 ms of
``normalize``'s 89 ms start (click.core and click.types bring in pathlib, inspect, uuid and
datetime), against 32 ms for the interpreter itself; and every stage of a pipeline starts once per
stream. So ``main`` first offers the arguments to :func:`parse`, which reads only the exact
spellings of these commands' own options (``-d NAME``, ``--dialect NAME`` or
``--dialect=NAME``, ``--on-error fail|skip|pass``, ``--replay FILE|-``, ``--framing F``,
``-f FORMAT``, the flags; ``fetch`` only with ``--replay``; ``render`` without ``-O`` or
``--base``), and runs the command's body here
without importing click. Anything else (``--help``, a typo, a value click would refuse, an
attached ``-dNAME``, shell completion) goes to click as before, which says what it always said.
A test checks that both read every accepted command line the same way. ``stages`` and ``fetch``
hold the click commands, whose help is the documentation of these options.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from ..ndjson import ON_ERROR_CHOICES
from .guard import _open_input, _stdin, run
from .outcome import Outcome

TYPE_CHECKING = False  # (not typing's: importing typing costs 4 ms of a stage's start)
if TYPE_CHECKING:
    from typing import IO, Any


def normalize(
    dialect: str | None, keep_raw: bool, think_tags: bool, on_error: str, ignore_errors: bool
) -> None:
    """``streamkit normalize``, its options parsed."""

    def body(out: IO[bytes]) -> None:
        from ..ndjson import EventWriter, read_events
        from ..stages.normalize import write_normalized

        # raw events are checked by the stage itself, on its hot path
        reader = read_events(_stdin(), on_error=on_error, check=True, unchecked="raw")  # type: ignore[arg-type]
        options: dict[str, Any] = {"think_tags": True} if think_tags else {}
        outcome = Outcome(())
        write_normalized(
            reader,
            EventWriter(out, reader.pending),
            outcome.see,
            dialect=dialect,
            keep_raw=keep_raw,
            on_error=on_error,  # type: ignore[arg-type]
            **options,
        )
        outcome.check(ignore=ignore_errors)

    run("normalize", body)


def accumulate(final: bool, on_error: str, ignore_errors: bool) -> None:
    """``streamkit accumulate``, its options parsed."""

    def body(out: IO[bytes]) -> None:
        from ..ndjson import EventWriter, read_events
        from ..stages.accumulate import write_accumulated

        reader = read_events(_stdin(), on_error=on_error, check=True)  # type: ignore[arg-type]
        outcome = Outcome(())
        write_accumulated(reader, EventWriter(out, reader.pending), outcome.see, final=final)
        outcome.check(ignore=ignore_errors)

    run("accumulate", body)


def render(format_name: str, reasoning: bool, as_json: bool, base_file: str | None, options: dict[str, Any],
           on_error: str, ignore_errors: bool) -> None:  # fmt: skip
    """``streamkit render``, its options parsed (``options``: the ``-O`` ones, read)."""
    opts = dict(options)
    if reasoning:
        opts["reasoning"] = True
    if as_json:
        opts["json"] = True
    if base_file:
        opts["base"] = base_file

    def body(out: IO[bytes]) -> None:
        from .. import diagnostics
        from ..formats.dialect import DialectFormat
        from ..ndjson import EventWriter, read_events
        from ..plugins import default_registry
        from ..stages.render import render as render_stage
        from ..stages.render import write_rendered

        reader = read_events(_stdin(), on_error=on_error, check=True)  # type: ignore[arg-type]
        outcome = Outcome(reader)
        fmt = default_registry().format(format_name)  # an unknown format fails here
        writer = EventWriter(out, reader.pending)
        diagnostics.before_write(out.flush)  # a note comes after the text before it
        if isinstance(fmt, DialectFormat):  # a wire format: one loop reads, encodes and writes
            write_rendered(reader, writer, outcome.see, fmt.dialect, **opts)
        else:
            for chunk in render_stage(outcome, format=format_name, **opts):
                writer.write_bytes(chunk)
        outcome.check(ignore=ignore_errors, reported=bool(getattr(fmt, "reports_errors", False)))

    run("render", body)


def reports_errors(format_name: str) -> bool:
    """Does the format say each error event on stderr itself (``text``, ``json``)? (``convert``
    asks; ``render`` reads it off the format it looked up.)"""
    from ..plugins import default_registry

    return bool(getattr(default_registry().format(format_name), "reports_errors", False))


def fetch_replay(dialect: str | None, replay_path: str, framing: str, ignore_errors: bool) -> None:
    """``streamkit fetch --replay FILE`` (not ``--realtime``), its options parsed: each read's raw
    event lines written at once. ``--ignore-errors`` changes nothing here (a recording's error
    events are data)."""

    def body(out: IO[bytes]) -> None:
        from ..ndjson import EventWriter
        from ..plugins import default_registry
        from ..stages.fetch import replay

        if dialect:
            default_registry().dialect(dialect)  # an unknown dialect is a usage error
        events = replay(
            _open_input(replay_path), dialect=dialect, framing=None if framing == "auto" else framing
        )
        writer = EventWriter(out)  # each read's lines in one write, flushed
        for batch in events.batches():
            writer.write_bytes(batch)

    run("fetch", body)


#: ``fetch``'s framings (its click option takes its choices from here)
FRAMINGS = ("auto", "sse", "ndjson", "json-array", "eventstream")

#: command -> (its flags, its options with a value, its parameters' defaults), as its click
#: command in ``stages`` (``fetch``: in ``fetch``) declares them; ``fetch`` only with ``--replay``
COMMANDS: dict[str, tuple[dict[str, str], dict[str, str], dict[str, Any]]] = {
    "normalize": (
        {"--keep-raw": "keep_raw", "--think-tags": "think_tags", "--ignore-errors": "ignore_errors"},
        {"-d": "dialect", "--dialect": "dialect", "--on-error": "on_error"},
        {"dialect": None, "keep_raw": False, "think_tags": False, "on_error": "fail", "ignore_errors": False},
    ),
    "accumulate": (
        {"--final": "final", "--ignore-errors": "ignore_errors"},
        {"--on-error": "on_error"},
        {"final": False, "on_error": "fail", "ignore_errors": False},
    ),
    "render": (
        {"--reasoning": "reasoning", "--json": "as_json", "--ignore-errors": "ignore_errors"},
        {"-f": "format_name", "--format": "format_name", "--on-error": "on_error"},
        {
            "format_name": "text",
            "reasoning": False,
            "as_json": False,
            "base_file": None,
            "options": (),
            "on_error": "fail",
            "ignore_errors": False,
        },
    ),
    "fetch": (
        {"--ignore-errors": "ignore_errors"},
        {"-d": "dialect", "--dialect": "dialect", "--replay": "replay_path", "--framing": "framing"},
        {"dialect": None, "replay_path": None, "framing": "auto", "ignore_errors": False},
    ),
}
BODIES: dict[str, Callable[..., None]] = {
    "normalize": normalize,
    "accumulate": accumulate,
    "fetch": fetch_replay,
    "render": lambda options, **params: render(options=dict(options), **params),  # (no -O here: ())
}


def parse(args: list[str]) -> tuple[str, dict[str, Any]] | None:
    """``normalize ...``, ``accumulate ...``, ``render ...`` or ``fetch --replay ...`` → the command
    and its parameters, when every argument is one of its options spelt in full with a value click
    would take; else None."""
    if not args or args[0] not in COMMANDS or "_STREAMKIT_COMPLETE" in os.environ:
        return None
    name = args[0]
    flags, valued, params = COMMANDS[name]
    params = dict(params)
    rest = iter(args[1:])
    for arg in rest:
        if arg in flags:
            params[flags[arg]] = True
            continue
        if arg in valued:
            value = next(rest, None)
            key = valued[arg]
        else:
            option, eq, value = arg.partition("=")
            if not eq or not option.startswith("--") or option not in valued:
                return None
            key = valued[option]
        if (
            value is None
            or (value.startswith("-") and not (key == "replay_path" and value == "-"))  # stdin
            or (key == "on_error" and value not in ON_ERROR_CHOICES)
            or (key == "framing" and value not in FRAMINGS)
        ):
            return None
        params[key] = value
    if name == "fetch" and params["replay_path"] is None:
        return None  # a live request: click's
    return name, params


def run_parsed(name: str, params: dict[str, Any]) -> None:
    """Run the command :func:`parse` read (it exits with the command's exit code)."""
    BODIES[name](**params)
