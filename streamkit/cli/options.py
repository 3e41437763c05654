"""The ``streamkit`` command line: thin click commands over the stages.

Each command parses its options, wires ``read_events(stdin)`` → stage → writer, and leaves the
rest to :func:`run`, the one guard that maps errors to exit codes (README: "Exit codes"),
handles a closed stdout (``| head -1`` ends quietly) and Ctrl-C (flush, exit 130).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import IO, Any

import click

from . import diagnostics
from .errors import (
    EXIT_DATAERR,
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    DataError,
    StreamkitError,
    UsageError,
)

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


# --- the guard ---------------------------------------------------------------------------------


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
    from .ndjson import open_stdout

    diagnostics.set_prog(f"streamkit {command}")
    out = open_stdout()
    code = EXIT_OK
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
    except DataError as exc:
        diagnostics.error(str(exc))
        code = EXIT_DATAERR
    except StreamkitError as exc:
        diagnostics.error(str(exc))
        code = exc.exit_code
    except click.exceptions.Exit:
        raise
    except Exception as exc:
        if os.environ.get("STREAMKIT_DEBUG"):
            raise
        diagnostics.error(f"internal error: {type(exc).__name__}: {exc} (STREAMKIT_DEBUG=1 shows where)")
        code = EXIT_FAILURE
    if code == EXIT_INTERRUPTED:
        try:
            out.flush()
        except (BrokenPipeError, OSError):
            _quiet_stdout()
    sys.exit(code)


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


def _parse_options(pairs: tuple[str, ...]) -> dict[str, Any]:
    import orjson

    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="'-O'")
        try:
            options[key.replace("-", "_")] = orjson.loads(value)
        except orjson.JSONDecodeError:
            options[key.replace("-", "_")] = value
    return options


on_error_option = click.option(
    "--on-error",
    type=click.Choice(["fail", "skip", "pass"]),
    default="fail",
    show_default=True,
    help="What to do with a bad input line: stop with exit 65, drop it with a warning, or turn it into an error event.",
)

think_tags_option = click.option(
    "--think-tags",
    is_flag=True,
    help="Turn <think>...</think> inside the text into reasoning (servers that inline it).",
)

format_options = click.option(
    "-O",
    "--option",
    "options",
    multiple=True,
    metavar="KEY=VALUE",
    help="An option for the format or encoder (VALUE is JSON, or a plain string). Repeatable.",
)


# --- the group --------------------------------------------------------------------------------


class StreamkitGroup(click.Group):
    """Built-in commands resolve at once; plugin commands load only when asked for."""

    _loaded_for: object = None  # the registry whose plugins added their commands

    def _load_plugin_commands(self) -> None:
        from .plugins import default_registry

        registry = default_registry()
        if self._loaded_for is registry:
            return
        self._loaded_for = registry
        try:
            registry.pm.hook.register_commands(cli=self)
        except Exception as exc:
            diagnostics.warn(f"a plugin failed to add its commands: {exc}")

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None:
            self._load_plugin_commands()
            command = super().get_command(ctx, cmd_name)
        return command

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_plugin_commands()
        return super().list_commands(ctx)


@click.group(cls=StreamkitGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(package_name="streamkit", prog_name="streamkit")
def cli() -> None:
    """Small Unix commands for LLM streaming APIs, joined by pipes over NDJSON.

    \b
      streamkit fetch --replay rec.sse | streamkit normalize | streamkit accumulate | streamkit render
      streamkit convert --to anthropic rec.sse

    Every command reads and writes one JSON event per line. Exit codes: 0 ok, 1 runtime
    failure, 2 usage error, 65 bad input data, 130 interrupted.
    """


# --- stages ------------------------------------------------------------------------------------


def _json_options(pairs: tuple[str, ...], flag: str) -> dict[str, Any]:
    import orjson

    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint=f"'{flag}'")
        try:
            options[key] = orjson.loads(value)
        except orjson.JSONDecodeError:
            options[key] = value
    return options


NOTHING_TO_SEND = (
    "nothing to send: give a PROMPT, --conversation FILE, --body FILE, or a conversation on stdin"
)


def _read_json_file(path: str, what: str) -> Any:
    import orjson

    data = _open_input(path).read()
    if not data.strip():
        if path == "-":
            raise UsageError(NOTHING_TO_SEND)
        raise UsageError(f"{what} {path} is empty")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise UsageError(f"{what} {path} is not valid JSON: {exc}") from None


@cli.command()
@click.argument("prompt", required=False)
@click.option(
    "-d",
    "--dialect",
    help="The upstream's dialect (else STREAMKIT_DIALECT, else openai-chat). With --replay: stamped on each raw event.",
)
@click.option(
    "-m",
    "--model",
    help="The model (Assistants: the assistant id). Else the conversation's, or STREAMKIT_MODEL.",
)
@click.option("-s", "--system", help="A system prompt.")
@click.option(
    "--tools",
    "tools_file",
    metavar="FILE",
    help="A tools file (TOML or JSON) whose tools the model may call.",
)
@click.option("-o", "--option", "gen_options", multiple=True, metavar="KEY=VALUE",
              help="A generation option (max_tokens, temperature, top_p, stop, seed, or any native one). Repeatable.")  # fmt: skip
@click.option(
    "--conversation",
    "conversation_file",
    metavar="FILE",
    help="Send this canonical conversation ('-' for stdin).",
)
@click.option(
    "--body", "body_file", metavar="FILE", help="Send this native request body as-is ('-' for stdin)."
)
@click.option(
    "--base-url",
    help="The upstream's base URL (else STREAMKIT_BASE_URL, the provider's variable, its default).",
)
@click.option(
    "--key-file", help="Read the API key from this file (else STREAMKIT_API_KEY, the provider's variable)."
)
@click.option(
    "--retries",
    default=2,
    show_default=True,
    help="Retries for connect errors, 408, 409, 429 and 5xx, before the first byte.",
)
@click.option("--connect-timeout", default=10.0, show_default=True, help="Seconds to wait for a connection.")
@click.option(
    "--read-timeout",
    default=60.0,
    show_default=True,
    help="Seconds of silence after which a stream counts as stalled.",
)
@click.option(
    "--record",
    "record_file",
    metavar="FILE",
    help="Write the exact bytes received to FILE (what --replay reads).",
)
@click.option("--transport", type=click.Choice(["auto", "sse", "websocket"]), default="sse", show_default=True,
              envvar="STREAMKIT_TRANSPORT",
              help="openai-responses: HTTP streaming (sse), WebSocket (websocket), or WebSocket with fallback to SSE (auto).")  # fmt: skip
@click.option(
    "--replay",
    "replay_path",
    metavar="FILE",
    help="Replay a recorded wire file ('-' for stdin) instead of calling an upstream.",
)
@click.option(
    "--realtime", is_flag=True, help="With --replay of an NDJSON recording of raw events: keep its timing."
)
@click.option("--framing", type=click.Choice(["auto", "sse", "ndjson", "json-array", "eventstream"]), default="auto",
              show_default=True, help="How the replayed recording is framed.")  # fmt: skip
def fetch(prompt: str | None, dialect: str | None, model: str | None, system: str | None, tools_file: str | None,
          gen_options: tuple[str, ...], conversation_file: str | None, body_file: str | None, base_url: str | None,
          key_file: str | None, retries: int, connect_timeout: float, read_timeout: float, record_file: str | None,
          transport: str, replay_path: str | None, realtime: bool, framing: str) -> None:  # fmt: skip
    """Call an upstream and write its events as raw events.

    \b
      streamkit fetch -d openai-chat -m gpt-4o-mini "Say hi"
      streamkit fetch -d anthropic --conversation conv.json
      streamkit fetch --replay recording.sse

    The request is a PROMPT (with -s, --tools, -o), a canonical conversation (--conversation, or
    on stdin), or a native body (--body). With --replay, read a recording instead: SSE, NDJSON, a
    JSON array, AWS event-stream frames, or an NDJSON recording of raw events. Exit 1 when the
    upstream fails (after writing an error event).
    """

    def body(out: IO[bytes]) -> None:
        import os

        from .ndjson import EventWriter, write_events
        from .plugins import default_registry

        registry = default_registry()
        if replay_path is not None:
            from .stages.fetch import replay

            if dialect:
                registry.dialect(dialect)  # an unknown dialect is a usage error
            events: Any = replay(
                _open_input(replay_path), dialect=dialect, framing=None if framing == "auto" else framing
            )
            if realtime:
                events = _paced(events)
            write_events(events, EventWriter(out, events.pending))
            return
        target = registry.dialect(dialect or os.environ.get("STREAMKIT_DIALECT") or "openai-chat")
        request = _build_request(target, prompt, model, system, tools_file, gen_options, conversation_file, body_file,
                                 base_url, key_file)  # fmt: skip
        from .upstream import check_failed, open_stream

        record = None
        if record_file:
            try:
                record = open(record_file, "wb")  # noqa: SIM115 (closed below)
            except OSError as exc:
                raise UsageError(f"cannot write {record_file}: {exc.strerror}") from None
        try:
            fetched = open_stream(request, dialect=target.name, transport=transport, warn=diagnostics.warn, retries=retries,
                                  connect_timeout=connect_timeout, read_timeout=read_timeout, record=record)  # fmt: skip

            write_events(fetched, EventWriter(out, fetched.pending))
        finally:
            if record is not None:
                record.close()
        check_failed(fetched)

    run("fetch", body)


def _build_request(target: Any, prompt: str | None, model: str | None, system: str | None, tools_file: str | None,
                   gen_options: tuple[str, ...], conversation_file: str | None, body_file: str | None,
                   base_url: str | None, key_file: str | None) -> Any:  # fmt: skip
    import os

    from .endpoints import resolve

    if sum(x is not None for x in (prompt, conversation_file, body_file)) > 1:
        raise UsageError("give one of PROMPT, --conversation FILE or --body FILE")
    options = _json_options(gen_options, "-o")
    native = None
    conversation = None
    if body_file is not None:
        native = _read_json_file(body_file, "body")
        if system or tools_file or options:
            raise UsageError("--body is sent as-is: -s, --tools and -o do not apply")
    else:
        conversation = _conversation(prompt, conversation_file, system, NOTHING_TO_SEND)
    if conversation is not None:
        if tools_file:
            from .stages.run_tools import declarations
            from .tools import load_tools

            conversation["tools"] = declarations(load_tools(tools_file))
        if options:
            conversation["options"] = {**(conversation.get("options") or {}), **options}
        model = model or conversation.get("model") or os.environ.get("STREAMKIT_MODEL")
    endpoint = resolve(target, base_url=base_url, key_file=key_file, model=model)
    return target.build_request(conversation, endpoint, body=native)


def _conversation(
    prompt: str | None, conversation_file: str | None, system: str | None, nothing: str
) -> dict[str, Any]:
    """The conversation a command starts from: a PROMPT, --conversation FILE, or stdin
    (``nothing``: what to say when there is none)."""
    from . import conversation as conv

    if prompt is not None:
        return conv.from_prompt(prompt, system=system)
    if conversation_file is None and sys.stdin.isatty():
        raise UsageError(nothing)
    conversation = conv.check(
        _read_json_file(conversation_file or "-", "conversation"), conversation_file or "stdin"
    )
    if system:
        conversation["system"] = system
    return conversation


def _paced(events: Any) -> Any:
    """Replay raw events with the timing of their ``t`` values."""
    import time

    class Paced:
        def __init__(self) -> None:
            self.pending = events.pending

        def __iter__(self) -> Any:
            began = time.monotonic()
            for event in events:
                t = event.get("t")
                if isinstance(t, (int, float)):
                    wait = t - (time.monotonic() - began)
                    if wait > 0:
                        time.sleep(wait)
                yield event

    return Paced()


@cli.command()
@click.option("-d", "--dialect", help="The upstream dialect (default: detect it from the events).")
@click.option("--keep-raw", is_flag=True, help="Keep events with no canonical meaning, as raw events.")
@think_tags_option
@on_error_option
def normalize(dialect: str | None, keep_raw: bool, think_tags: bool, on_error: str) -> None:
    """Turn a dialect's raw events into canonical events.

    Reads raw events (from fetch) or a provider's bare JSON lines; canonical and unknown event
    types pass through unchanged.
    """

    def body(out: IO[bytes]) -> None:
        from .ndjson import EventWriter, read_events, write_events
        from .stages.normalize import normalize as normalize_stage

        reader = read_events(_stdin(), on_error=on_error)  # type: ignore[arg-type]
        options: dict[str, Any] = {"think_tags": True} if think_tags else {}
        events = normalize_stage(
            reader,
            dialect=dialect,
            keep_raw=keep_raw,
            on_error=on_error,  # type: ignore[arg-type]
            line_no=lambda: reader.line_no,
            **options,
        )
        write_events(events, EventWriter(out, reader.pending))

    run("normalize", body)


@cli.command()
@click.option("--final", is_flag=True, help="Write only the final message (and errors).")
@on_error_option
def accumulate(final: bool, on_error: str) -> None:
    """Fold deltas into whole texts and tool calls, and add a message per response."""

    def body(out: IO[bytes]) -> None:
        from .ndjson import EventWriter, read_events, write_events
        from .stages.accumulate import accumulate as accumulate_stage

        reader = read_events(_stdin(), on_error=on_error)  # type: ignore[arg-type]
        write_events(accumulate_stage(reader, final=final), EventWriter(out, reader.pending))

    run("accumulate", body)


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
def run_tools(tools_file: str, parallel: int, approve: bool, on_error: str) -> None:
    """Run each client tool-call through its tool's executor and add its tool-result.

    Every event passes through; results are written as their calls finish. Every call gets one
    result: failures, timeouts, unknown tools and bad arguments give is_error results.
    """

    def body(out: IO[bytes]) -> None:
        import threading
        from concurrent.futures import Future, wait

        from .ndjson import EventWriter, read_events
        from .stages.run_tools import ToolRunner, is_client_call, start_call
        from .tools import load_tools

        runner = ToolRunner(
            load_tools(tools_file), parallel=parallel, approve="always" if approve else "never"
        )
        reader = read_events(_stdin(), on_error=on_error)  # type: ignore[arg-type]
        writer = EventWriter(out, reader.pending)
        lock = threading.Lock()
        pending: list[Future[dict[str, Any]]] = []

        def write_result(future: Future[dict[str, Any]]) -> None:
            with lock:
                writer.write(future.result())
                writer.flush()

        try:
            for event in reader:
                with lock:
                    writer.write(event)
                if is_client_call(event):
                    written, future = start_call(runner, event)
                    with lock:
                        for extra in written:
                            writer.write(extra)
                    if future is not None:
                        pending.append(future)
                        future.add_done_callback(write_result)
            wait(pending)
        except BaseException:
            runner.close(cancel=True)
            raise
        runner.close()

    run("run-tools", body)


@cli.command()
@click.argument("prompt", required=False)
@click.option("-d", "--dialect", help="The upstream's dialect (else STREAMKIT_DIALECT, else openai-chat).")
@click.option(
    "-m",
    "--model",
    help="The model (Assistants: the assistant id). Else the conversation's, or STREAMKIT_MODEL.",
)
@click.option("-s", "--system", help="A system prompt.")
@click.option(
    "--tools",
    "tools_file",
    metavar="FILE",
    help="The tools file: the tools the model may call, and how each runs.",
)
@click.option(
    "-o",
    "--option",
    "gen_options",
    multiple=True,
    metavar="KEY=VALUE",
    help="A generation option. Repeatable.",
)
@click.option(
    "--conversation",
    "conversation_file",
    metavar="FILE",
    help="Start from this canonical conversation ('-' for stdin).",
)
@click.option(
    "--max-steps", default=8, show_default=True, help="The most responses to read (each with its tool calls)."
)
@click.option("--parallel", default=4, show_default=True, help="How many tool calls may run at once.")
@click.option("--approve", is_flag=True, help="Ask on the terminal before every tool call.")
@click.option("--final", is_flag=True, help="Write only the last message (and errors).")
@click.option("--base-url", help="The upstream's base URL.")
@click.option("--key-file", help="Read the API key from this file.")
@click.option(
    "--retries", default=2, show_default=True, help="Retries before the first byte of each response."
)
@click.option(
    "--read-timeout",
    default=60.0,
    show_default=True,
    help="Seconds of silence after which a stream counts as stalled.",
)
@click.option("--transport", type=click.Choice(["auto", "sse", "websocket"]), default="auto", show_default=True,
              help="openai-responses: one WebSocket for every step, with fallback to SSE (auto), or one of them only.")  # fmt: skip
def agent(prompt: str | None, dialect: str | None, model: str | None, system: str | None, tools_file: str | None,
          gen_options: tuple[str, ...], conversation_file: str | None, max_steps: int, parallel: int, approve: bool,
          final: bool, base_url: str | None, key_file: str | None, retries: int, read_timeout: float, transport: str) -> None:  # fmt: skip
    """Run the tool loop: ask, run the tools the model calls, send the results back, until done.

    \b
      streamkit agent -d anthropic -m claude-sonnet-4-5 --tools tools.toml "What's the weather in Oslo?"

    Writes canonical events, each response between start-step and finish-step; the last message is
    the answer (--final writes only it). Exit 1 when an upstream fails or --max-steps is reached
    while the model still asks for tools.
    """

    def body(out: IO[bytes]) -> None:
        import os

        from .endpoints import resolve
        from .ndjson import EventWriter
        from .plugins import default_registry
        from .stages.agent import agent as agent_loop
        from .tools import load_tools

        registry = default_registry()
        target = registry.dialect(dialect or os.environ.get("STREAMKIT_DIALECT") or "openai-chat")
        if prompt is not None and conversation_file is not None:
            raise UsageError("give a PROMPT or --conversation FILE, not both")
        conversation = _conversation(
            prompt,
            conversation_file,
            system,
            "nothing to ask: give a PROMPT, --conversation FILE, or a conversation on stdin",
        )
        options = _json_options(gen_options, "-o")
        if options:
            conversation["options"] = {**(conversation.get("options") or {}), **options}
        tools = load_tools(tools_file) if tools_file else []
        endpoint = resolve(target, base_url=base_url, key_file=key_file,
                           model=model or conversation.get("model") or os.environ.get("STREAMKIT_MODEL"))  # fmt: skip
        writer = EventWriter(out)
        last = None
        try:
            events = agent_loop(conversation, dialect=target.name, endpoint=endpoint, tools=tools, max_steps=max_steps,
                                registry=registry, parallel=parallel, approve="always" if approve else "never",
                                fetch_options={"retries": retries, "read_timeout": read_timeout},
                                transport=transport, warn=diagnostics.warn)  # fmt: skip
            for event in events:
                kind = event.get("type")
                if not final or kind == "error":
                    writer.write(event)
                elif kind == "message" and not event.get("choice"):
                    last = event
        finally:
            if final and last is not None:
                writer.write(last)  # the last answer, even when the loop ended in an error

    run("agent", body)


@cli.command()
@click.option("-f", "--format", "format_name", default="text", show_default=True, metavar="FORMAT",
              help="text, ndjson, json, or any dialect's wire format (streamkit formats lists them).")  # fmt: skip
@click.option("--reasoning", is_flag=True, help="text format: stream reasoning to stderr too.")
@click.option(
    "--base", "base_file", metavar="FILE", help="conversation format: the conversation this stream answered."
)
@format_options
@on_error_option
def render(
    format_name: str, reasoning: bool, base_file: str | None, options: tuple[str, ...], on_error: str
) -> None:
    """Write canonical events in a format: text, JSON, a dialect's wire format, or the next conversation."""
    opts = _parse_options(options)
    if reasoning:
        opts["reasoning"] = True
    if base_file:
        opts["base"] = base_file

    def body(out: IO[bytes]) -> None:
        from .ndjson import EventWriter, read_events
        from .stages.render import render as render_stage

        reader = read_events(_stdin(), on_error=on_error)  # type: ignore[arg-type]
        chunks = render_stage(reader, format=format_name, **opts)  # an unknown format fails here
        writer = EventWriter(out, reader.pending)
        for chunk in chunks:
            writer.write_bytes(chunk)

    run("render", body)


@cli.command()
@click.option("--from", "from_", metavar="DIALECT", help="The recording's dialect (default: detect it).")
@click.option(
    "--to", "to", required=True, metavar="FORMAT", help="The format to write (a dialect, text, json, ...)."
)
@think_tags_option
@format_options
@click.argument("file", default="-")
def convert(from_: str | None, to: str, think_tags: bool, options: tuple[str, ...], file: str) -> None:
    """Convert a recorded wire FILE ('-' for stdin) into another format, in one process.

    The same as: fetch --replay FILE | normalize | render -f TO
    """
    opts = _parse_options(options)

    def body(out: IO[bytes]) -> None:
        from .ndjson import EventWriter
        from .plugins import default_registry
        from .stages.fetch import replay
        from .stages.normalize import normalize as normalize_stage
        from .stages.render import render as render_stage

        registry = default_registry()
        registry.format(to)
        if from_:
            registry.dialect(from_)
        raw = replay(_open_input(file), dialect=from_)
        extra: dict[str, Any] = {"dialect_flag": "--from"}
        if think_tags:
            extra["think_tags"] = True
        events = normalize_stage(raw, dialect=from_, registry=registry, line_no=lambda: raw.count, **extra)
        writer = EventWriter(out, raw.pending)
        for chunk in render_stage(events, format=to, registry=registry, **opts):
            writer.write_bytes(chunk)

    run("convert", body)


@cli.command()
@click.option("-d", "--dialect", required=True, help="The dialect to speak (its endpoints and wire format).")
@click.option(
    "--replay",
    "replay_files",
    multiple=True,
    metavar="FILE",
    help="Answer each request with the next recording (more FILEs may follow).",
)
@click.option(
    "--script",
    "script_file",
    metavar="FILE",
    help="Answer each request with the next scripted assistant turn.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option(
    "--port",
    default=0,
    show_default=True,
    help="The port (0: a free one). The first line on stdout is the base URL.",
)
@click.option(
    "--realtime", is_flag=True, help="Pace replays with their recorded timing, scripts with --delay."
)
@click.option(
    "--delay", default=0.02, show_default=True, help="Seconds between events of a script under --realtime."
)
@click.option("--fail-status", type=int, help="Answer the first --fail-times requests with this HTTP status.")
@click.option("--fail-times", default=1, show_default=True, help="How many requests get --fail-status.")
@click.option(
    "--retry-after", default=1.0, show_default=True, help="The Retry-After (seconds) of injected failures."
)
@click.option(
    "--drop-after", type=int, metavar="N", help="Close the connection after N events of each response."
)
@click.option("--stall-after", type=int, metavar="N", help="Send N events of each response, then nothing.")
@click.option("--log-requests", metavar="FILE", help="Append every request body received to FILE as NDJSON.")
@click.option(
    "--websocket/--no-websocket",
    default=True,
    show_default=True,
    help="Answer on the dialect's WebSocket paths too.",
)
@click.argument("more_recordings", nargs=-1, metavar="[FILE]...")
def serve(dialect: str, replay_files: tuple[str, ...], script_file: str | None, host: str, port: int, realtime: bool,
          delay: float, fail_status: int | None, fail_times: int, retry_after: float, drop_after: int | None,
          stall_after: int | None, log_requests: str | None, more_recordings: tuple[str, ...], websocket: bool = True) -> None:  # fmt: skip
    """Run a local server that speaks DIALECT, answering with recordings or a script.

    \b
      streamkit serve -d openai-chat --script turns.json --port 0
      streamkit serve -d anthropic --replay a.sse b.sse --fail-status 429 --fail-times 2
    """

    def body(out: IO[bytes]) -> None:
        try:
            from . import serve as serving
        except ImportError as exc:  # pragma: no cover (the serve extra is missing)
            raise UsageError(f"serve needs the serve extra: pip install 'streamkit[serve]' ({exc})") from None
        from .plugins import default_registry

        registry = default_registry()
        served = registry.dialect(dialect)
        recordings = replay_files + more_recordings
        if more_recordings and not replay_files:
            raise UsageError("FILE arguments are recordings for --replay; pass --replay FILE")
        if bool(recordings) == bool(script_file):
            raise UsageError("pass either --replay FILE... or --script FILE")
        source: Any = (
            serving.ScriptSource(script_file, served)
            if script_file
            else serving.ReplaySource(recordings, served, registry)
        )
        faults = serving.Faults(
            fail_status, fail_times if fail_status else 0, retry_after, drop_after, stall_after
        )
        server = serving.Server(served, source, realtime=realtime, delay=delay, faults=faults,
                                log=serving.open_log(log_requests), websocket=websocket)  # fmt: skip

        def announce(url: str) -> None:
            out.write(url.encode() + b"\n")
            out.flush()
            diagnostics.note(f"serving {dialect} on {url} (Ctrl-C stops)")

        serving.run(server, host=host, port=port, announce=announce)

    run("serve", body)


# --- what is installed ---------------------------------------------------------------------------


def _listing(
    command: str, entries: dict[str, Any], as_json: bool, extra: Callable[[Any], dict[str, Any]]
) -> None:
    import orjson

    def body(out: IO[bytes]) -> None:
        rows = []
        for name in sorted(entries):
            entry = entries[name]
            row = {"name": name, "description": getattr(entry.obj, "description", ""), "plugin": entry.plugin}
            row.update(extra(entry.obj))
            if entry.shadowed:
                row["replaces"] = entry.shadowed
            rows.append(row)
        if as_json:
            out.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE))
            return
        width = max((len(r["name"]) for r in rows), default=0)
        for r in rows:
            origin = "" if r["plugin"].startswith("streamkit.") else f"  [{r['plugin']}]"
            out.write(f"{r['name']:<{width}}  {r['description']}{origin}\n".encode())

    run(command, body)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Write JSON.")
def dialects(as_json: bool) -> None:
    """List the installed dialects (for -d, --from and -f)."""
    from .plugins import default_registry

    _listing("dialects", default_registry().dialect_entries(), as_json, lambda d: {"framing": d.framing})


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Write JSON.")
def formats(as_json: bool) -> None:
    """List the output formats for render -f (every dialect is one too)."""
    from .plugins import Entry, default_registry

    registry = default_registry()
    entries = dict(registry.format_entries())
    for name, entry in registry.dialect_entries().items():
        if name not in entries:
            entries[name] = Entry(name, entry.obj, entry.plugin)
    _listing(
        "formats", entries, as_json, lambda f: {"kind": "dialect" if hasattr(f, "framing") else "format"}
    )


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Write JSON.")
def executors(as_json: bool) -> None:
    """List the tool executor kinds a tools file may name (executor = "...")."""
    from .plugins import default_registry

    _listing("executors", default_registry().executor_entries(), as_json, lambda e: {})


@cli.command()
def plugins() -> None:
    """List the loaded plugins, their packages and the hooks they implement, as JSON."""
    import orjson

    def body(out: IO[bytes]) -> None:
        from .plugins import default_registry, plugin_info

        out.write(
            orjson.dumps(
                plugin_info(default_registry().pm), option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE
            )
        )

    run("plugins", body)


@cli.command()
def schema() -> None:
    """Print the JSON Schema of every canonical event."""
    import orjson

    def body(out: IO[bytes]) -> None:
        from .events import json_schema

        out.write(orjson.dumps(json_schema(), option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE))

    run("schema", body)


def main(argv: list[str] | None = None) -> None:
    """The console script: ``streamkit``."""
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


__all__ = ["cli", "main", "run"]


if __name__ == "__main__":  # pragma: no cover
    main()
