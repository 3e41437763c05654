"""``streamkit fetch``: call an upstream (or replay a recording) and write raw events."""

from __future__ import annotations

from typing import IO, Any

import click

from .. import diagnostics
from ..errors import (
    UsageError,
)
from . import fast_start
from .group import cli
from .guard import _open_input, run
from .options import (
    NOTHING_TO_SEND,
    _conversation,
    _json_options,
    _read_json_file,
    complete_dialects,
    ignore_errors_option,
)


@cli.command()
@click.argument("prompt", required=False)
@ignore_errors_option
@click.option(
    "-d",
    "--dialect",
    shell_complete=complete_dialects,
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
@click.option("--timeout", "total_timeout", type=float, metavar="SECONDS",
              help="The most the whole request may take, first byte to last (default: no bound).")  # fmt: skip
@click.option(
    "--record",
    "record_file",
    metavar="FILE",
    help="Write the exact bytes received to FILE (what --replay reads).",
)
@click.option(
    "--record-events",
    "record_events_file",
    metavar="FILE",
    help="Write the raw events with their timing (t) to FILE as NDJSON: what --replay --realtime, "
    "serve --replay --realtime and render -f stats use.",
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
@click.option("--framing", type=click.Choice(fast_start.FRAMINGS), default="auto",
              show_default=True, help="How the replayed recording is framed.")  # fmt: skip
def fetch(prompt: str | None, ignore_errors: bool, dialect: str | None, model: str | None, system: str | None, tools_file: str | None,
          gen_options: tuple[str, ...], conversation_file: str | None, body_file: str | None, base_url: str | None,
          key_file: str | None, retries: int, connect_timeout: float, read_timeout: float, total_timeout: float | None, record_file: str | None, record_events_file: str | None,
          transport: str, replay_path: str | None, realtime: bool, framing: str) -> None:  # fmt: skip
    """Call an upstream and write its events as raw events.

    \b
      streamkit fetch -d openai-chat -m gpt-4o-mini "Say hi"
      streamkit fetch -d anthropic --conversation conv.json
      streamkit fetch --replay recording.sse

    The request is a PROMPT (with -s, --tools, -o), a canonical conversation (--conversation, or
    on stdin), or a native body (--body). With --replay, read a recording instead: SSE, NDJSON, a
    JSON array, AWS event-stream frames, or an NDJSON recording of raw events. Exit 1 when the
    upstream fails (after writing an error event; --ignore-errors: 0), saying why on stderr
    unless stdout is a pipe, whose reader says it.
    """

    if replay_path is not None and not realtime:
        fast_start.fetch_replay(dialect, replay_path, framing, ignore_errors)
        return

    def body(out: IO[bytes]) -> None:
        import os

        from ..ndjson import EventWriter, write_events
        from ..plugins import default_registry

        registry = default_registry()
        if replay_path is not None:
            from ..stages.fetch import replay

            if dialect:
                registry.dialect(dialect)  # an unknown dialect is a usage error
            events: Any = replay(
                _open_input(replay_path), dialect=dialect, framing=None if framing == "auto" else framing
            )
            if realtime:
                paced = _paced(events)
                write_events(paced, EventWriter(out, paced.pending))
            else:
                writer = EventWriter(out)  # each read's lines in one write, flushed
                for batch in events.batches():
                    writer.write_bytes(batch)
            return
        target = registry.dialect(dialect or os.environ.get("STREAMKIT_DIALECT") or "openai-chat")
        request = _build_request(target, prompt, model, system, tools_file, gen_options, conversation_file, body_file,
                                 base_url, key_file)  # fmt: skip
        from ..upstream import open_stream

        record = _open_record(record_file)
        timed = _open_record(record_events_file)
        try:
            fetched = open_stream(request, dialect=target.name, transport=transport, warn=diagnostics.warn, retries=retries,
                                  connect_timeout=connect_timeout, read_timeout=read_timeout, record=record,
                                  timeout=total_timeout, note=diagnostics.note)  # fmt: skip

            write_events(
                fetched if timed is None else _tee(fetched, timed), EventWriter(out, fetched.pending)
            )
        finally:
            for file in (record, timed):
                if file is not None:
                    file.close()
        if fetched.failed is not None and not ignore_errors:
            from ..errors import StreamFailed
            from .outcome import message_of, stdout_is_pipe

            # down a pipe, the error event is said by the stage that reads it (render): once
            raise StreamFailed(message_of(fetched.failed), quiet=stdout_is_pipe())

    run("fetch", body)


def _build_request(target: Any, prompt: str | None, model: str | None, system: str | None, tools_file: str | None,
                   gen_options: tuple[str, ...], conversation_file: str | None, body_file: str | None,
                   base_url: str | None, key_file: str | None) -> Any:  # fmt: skip
    import os

    from ..endpoints import resolve

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
            from ..stages.run_tools import declarations
            from ..tools import load_tools

            conversation["tools"] = declarations(load_tools(tools_file))
        if options:
            conversation["options"] = {**(conversation.get("options") or {}), **options}
        model = model or conversation.get("model") or os.environ.get("STREAMKIT_MODEL")
    endpoint = resolve(target, base_url=base_url, key_file=key_file, model=model)
    return target.build_request(conversation, endpoint, body=native)


def _open_record(path: str | None) -> IO[bytes] | None:
    if not path:
        return None
    try:
        return open(path, "wb")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None


def _tee(events: Any, file: IO[bytes]) -> Any:
    """The events, each also written to ``file`` as an NDJSON line (flushed: a recording of a
    stream that fails part-way keeps what came)."""
    from ..ndjson import dumps

    for event in events:
        file.write(dumps(event))
        file.flush()
        yield event


def _paced(events: Any) -> Any:
    """Replay raw events with the timing of their ``t`` values, each written (flushed) as soon as
    it is due: its reader sees it then, not when the read it came in ends."""
    import time

    class Paced:
        def pending(self) -> bool:
            return False  # the writer flushes after every event

        def __iter__(self) -> Any:
            began = time.monotonic()
            first = True
            for event in events:
                t = event.get("t")
                if first and t is None:
                    diagnostics.warn("--realtime: this recording has no timing (no t on its events): it is "
                                     "replayed at once; fetch --record-events FILE records one with timing")  # fmt: skip
                first = False
                if isinstance(t, (int, float)):
                    wait = t - (time.monotonic() - began)
                    if wait > 0:
                        time.sleep(wait)
                yield event

    return Paced()
