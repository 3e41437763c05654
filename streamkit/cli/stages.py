"""The stage commands over NDJSON: ``normalize``, ``accumulate``, ``run-tools``, ``render``, ``convert``."""

from __future__ import annotations

import os
from typing import IO, Any

import click

from .. import diagnostics
from . import fast_start
from .group import cli
from .guard import _open_input, _stdin, run
from .options import (
    _parse_options,
    complete_dialects,
    complete_formats,
    format_options,
    ignore_errors_option,
    on_error_option,
    require_terminal_for_approval,
    think_tags_option,
)
from .outcome import Outcome
from .signals import sigterm_interrupts


@cli.command()
@click.option("-d", "--dialect", shell_complete=complete_dialects,
              help="The upstream dialect (default: detect it from the events).")  # fmt: skip
@click.option("--keep-raw", is_flag=True, help="Keep events with no canonical meaning, as raw events.")
@think_tags_option
@on_error_option
@ignore_errors_option
def normalize(
    dialect: str | None, keep_raw: bool, think_tags: bool, on_error: str, ignore_errors: bool
) -> None:
    """Turn a dialect's raw events into canonical events.

    \b
      streamkit fetch --replay examples/haiku.sse | streamkit normalize | head -3
      streamkit fetch --replay rec.sse | streamkit normalize -d anthropic --keep-raw > events.ndjson

    Reads raw events (from fetch) or a provider's bare JSON lines; canonical and unknown event
    types pass through unchanged.
    """

    fast_start.normalize(dialect, keep_raw, think_tags, on_error, ignore_errors)


@cli.command()
@click.option("--final", is_flag=True, help="Write only the final message (and errors).")
@on_error_option
@ignore_errors_option
def accumulate(final: bool, on_error: str, ignore_errors: bool) -> None:
    """Fold deltas into whole texts and tool calls, and add a message per response.

    \b
      streamkit fetch --replay examples/haiku.sse | streamkit normalize | streamkit accumulate --final
      streamkit convert --to ndjson rec.sse | streamkit accumulate | jq -c 'select(.type == "tool-call")'
    """

    fast_start.accumulate(final, on_error, ignore_errors)


@cli.command("run-tools")
@click.option(
    "--tools",
    "tools_file",
    required=True,
    metavar="FILE",
    help="The tools file (TOML or JSON) declaring each tool and its executor.",
)
@click.option("--parallel", default=4, show_default=True, help="How many calls may run at once.")
@click.option(
    "--approve",
    is_flag=True,
    help='Ask on the terminal before every call (tools may also ask: approve = "always").',
)
@on_error_option
@ignore_errors_option
def run_tools(tools_file: str, parallel: int, approve: bool, on_error: str, ignore_errors: bool) -> None:
    """Run each client tool-call through its tool's executor and add its tool-result.

    \b
      streamkit fetch --tools examples/tools.toml -m gpt-4o-mini "Weather in Oslo?" \\
        | streamkit normalize | streamkit accumulate | streamkit run-tools --tools examples/tools.toml
      ... | streamkit run-tools --tools tools.toml --approve | streamkit render

    Every event passes through; results are written as their calls finish. Every call gets one
    result: failures, timeouts, unknown tools and bad arguments give is_error results. Ctrl-C
    and SIGTERM end the running tools, give each unfinished call an error result, and exit 130
    and 143.
    """

    def body(out: IO[bytes]) -> None:
        import functools
        import threading
        from concurrent.futures import Future

        from ..errors import DataError
        from ..ndjson import EventWriter, read_events
        from ..stages.run_tools import ToolRunner, is_client_call, start_call
        from ..tools import load_tools

        tools = load_tools(tools_file)
        if approve:
            require_terminal_for_approval()
        runner = ToolRunner(tools, parallel=parallel, approve="always" if approve else "never")
        reader = read_events(_stdin(), on_error=on_error, check=True)  # type: ignore[arg-type]
        reader.on_idle = runner.warm_up  # while a live pipe's first line is on its way
        outcome = Outcome(reader)
        from ..canonical import CANONICAL_TYPES

        writer = EventWriter(
            out, reader.pending, unchanged=CANONICAL_TYPES
        )  # every input event passes as it is
        lock = threading.Lock()
        # one per started call, set once its result is written: a future is done before its
        # callbacks run, so waiting for the futures alone could exit with a result unwritten
        outputs_written: list[threading.Event] = []

        # what stopped a result's write (the reader went away: | head -1), raised by this thread,
        # which the guard maps to an exit code (a callback's own exception would be a traceback)
        write_failed: list[BaseException] = []

        def write_result(future: Future[dict[str, Any]], done: threading.Event) -> None:
            try:
                with lock:
                    if not write_failed:
                        writer.write(future.result())
                        writer.flush()
            except BaseException as exc:
                write_failed.append(exc)
            finally:
                done.set()

        def all_written() -> None:
            for done in outputs_written:
                done.wait()
            if write_failed:
                raise write_failed[0]

        try:
            with sigterm_interrupts():
                try:
                    for event in outcome:
                        with lock:
                            writer.write(event)
                        if is_client_call(event):
                            written, future = start_call(runner, event)
                            with lock:
                                for extra in written:
                                    writer.write(extra)
                            if future is not None:
                                done = threading.Event()
                                outputs_written.append(done)
                                future.add_done_callback(functools.partial(write_result, done=done))
                except DataError:  # a bad line: the calls of the good lines before it finish first
                    all_written()
                    raise
                all_written()
        except BaseException:
            runner.close(cancel=True)  # every unfinished call's result is set by now,
            _wait_written(outputs_written)  # and written by its callback soon after
            raise
        runner.close()
        outcome.check(ignore=ignore_errors)

    run("run-tools", body)


def _wait_written(written: list[Any], timeout: float = 2.0) -> None:
    """After a cancel: give the results just set the time to be written (their writers hold
    the output's lock in turn), bounded, since a reader that went away may never take them."""
    import time

    deadline = time.monotonic() + timeout
    for done in written:
        if not done.wait(max(0.0, deadline - time.monotonic())):
            return


@cli.command()
@click.option("-f", "--format", "format_name", default="text", show_default=True, metavar="FORMAT",
              shell_complete=complete_formats,
              help="text, ndjson, json, stats, conversation, or any dialect's wire format (streamkit formats lists them).")  # fmt: skip
@click.option("--reasoning", is_flag=True, help="text format: stream reasoning to stderr too.")
@click.option("--json", "as_json", is_flag=True, help="stats format: one JSON object instead of a table.")
@click.option(
    "--base", "base_file", metavar="FILE", help="conversation format: the conversation this stream answered."
)
@format_options
@on_error_option
@ignore_errors_option
def render(format_name: str, reasoning: bool, as_json: bool, base_file: str | None, options: tuple[str, ...], on_error: str,
           ignore_errors: bool) -> None:  # fmt: skip
    """Write canonical events in a format: text, JSON, a dialect's wire format, or the next conversation.

    \b
      streamkit fetch --replay examples/haiku.sse | streamkit normalize | streamkit render --reasoning
      streamkit render -f stats --json < answer.ndjson
    """
    fast_start.render(
        format_name, reasoning, as_json, base_file, _parse_options(options), on_error, ignore_errors
    )


#: convert has no --keep-raw (a format has nothing to do with raw events): the pipeline that keeps them
KEEP_RAW_HINT = "fetch --replay FILE | normalize --keep-raw keeps them"


@cli.command()
@click.option("--from", "from_", metavar="DIALECT", shell_complete=complete_dialects,
              help="The recording's dialect (default: detect it).")  # fmt: skip
@click.option("--to", "to", metavar="FORMAT", shell_complete=complete_formats,
              help="The format to write (a dialect, text, json, ...).")  # fmt: skip
@click.option("-o", "--output-dir", metavar="DIR",
              help="Write each converted file into DIR (its name kept, the target's extension).")  # fmt: skip
@click.option("-j", "--jobs", metavar="N", type=click.IntRange(min=0),
              help="With -o: convert in N worker processes (0: one per core) [default: 1; Ray: every core].")  # fmt: skip
@click.option("--engine", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="With -o: run in this process's workers, or as Ray Data tasks (pip install 'streamkit[ray]').")  # fmt: skip
@click.option(
    "--address", metavar="ADDR", help="--engine ray: join this Ray cluster (default: start a local Ray)."
)
@click.option("--column", metavar="COL",
              help="--engine ray: the inputs are Parquet/JSONL datasets of recordings in column COL.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="stats format: one JSON object instead of a table.")
@think_tags_option
@format_options
@ignore_errors_option
@click.argument("files", nargs=-1, metavar="[FILE|DIR]...")
def convert(from_: str | None, to: str | None, output_dir: str | None, jobs: int | None, engine: str, address: str | None,
            column: str | None, as_json: bool, think_tags: bool, options: tuple[str, ...], ignore_errors: bool,
            files: tuple[str, ...]) -> None:  # fmt: skip
    """Convert a recorded wire FILE ('-' or none: stdin) into another format, in one process.

    \b
      streamkit convert --to anthropic examples/haiku.sse
      streamkit convert --to text -o out/ -j 2 recordings/ more.sse
      streamkit convert --engine ray --column body -o messages.parquet recordings.parquet

    The same as: fetch --replay FILE | normalize | render -f TO. With -o DIR, every FILE and
    every file under each DIR is converted into DIR, a summary of failures ends the run, and the
    exit code is 65 if any file could not be converted. With --engine ray, -o NAME.parquet or
    NAME.jsonl writes a dataset of messages (path, dialect, model, usage, error) instead.
    """
    opts = _parse_options(options)
    if as_json:
        opts["json"] = True
    if engine == "ray" or address or column:
        if output_dir is None:
            raise click.UsageError(
                "--engine ray, --address and --column write into -o DIR (or -o NAME.parquet)"
            )
        if engine != "ray":
            raise click.UsageError("--address and --column need --engine ray")

        def on_ray(out: IO[bytes]) -> None:
            from .distributed import convert_on_ray

            convert_on_ray(files, output_dir, to=to, from_=from_, jobs=jobs or 0, address=address, column=column,
                           think_tags=think_tags, options=opts, ignore_errors=ignore_errors)  # fmt: skip

        run("convert", on_ray)
        return
    if to is None:
        raise click.UsageError("Missing option '--to'.")
    if output_dir is not None:

        def batch(out: IO[bytes]) -> None:
            from .batch import convert_many

            convert_many(files or ("-",), output_dir, to=to, from_=from_, jobs=1 if jobs is None else jobs, think_tags=think_tags,
                         options=opts, ignore_errors=ignore_errors)  # fmt: skip

        run("convert", batch)
        return
    if len(files) > 1:
        raise click.UsageError("several inputs are converted into a directory: add -o DIR")
    file = files[0] if files else "-"
    if os.path.isdir(file):
        raise click.UsageError(f"{file} is a directory: add -o DIR to convert the files in it")

    def body(out: IO[bytes]) -> None:
        from ..ndjson import EventWriter
        from ..plugins import default_registry
        from ..stages.fetch import replay
        from ..stages.normalize import normalize as normalize_stage
        from ..stages.render import render as render_stage

        registry = default_registry()
        registry.format(to)
        if from_:
            registry.dialect(from_)
        raw = replay(_open_input(file), dialect=from_)
        extra: dict[str, Any] = {"dialect_flag": "--from", "keep_raw_hint": KEEP_RAW_HINT}
        if think_tags:
            extra["think_tags"] = True
        events = normalize_stage(raw, dialect=from_, registry=registry, line_no=lambda: raw.count, **extra)
        outcome = Outcome(events)
        writer = EventWriter(out, raw.pending)
        diagnostics.before_write(out.flush)  # a note comes after the text before it
        for chunk in render_stage(outcome, format=to, registry=registry, **opts):
            writer.write_bytes(chunk)
        outcome.check(ignore=ignore_errors, reported=fast_start.reports_errors(to))

    run("convert", body)
