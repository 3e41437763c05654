"""``streamkit agent``: the whole tool loop in one process."""

from __future__ import annotations

from typing import IO

import click

from .. import diagnostics
from ..errors import (
    UsageError,
)
from .group import cli
from .guard import run
from .options import (
    _conversation,
    _json_options,
    complete_dialects,
    require_terminal_for_approval,
)


@cli.command()
@click.argument("prompt", required=False)
@click.option("-d", "--dialect", shell_complete=complete_dialects,
              help="The upstream's dialect (else STREAMKIT_DIALECT, else openai-chat).")  # fmt: skip
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
@click.option("--timeout", "total_timeout", type=float, metavar="SECONDS",
              help="The most each response may take, first byte to last (default: no bound).")  # fmt: skip
@click.option("--transport", type=click.Choice(["auto", "sse", "websocket"]), default="auto", show_default=True,
              help="openai-responses: one WebSocket for every step, with fallback to SSE (auto), or one of them only.")  # fmt: skip
def agent(prompt: str | None, dialect: str | None, model: str | None, system: str | None, tools_file: str | None,
          gen_options: tuple[str, ...], conversation_file: str | None, max_steps: int, parallel: int, approve: bool,
          final: bool, base_url: str | None, key_file: str | None, retries: int, read_timeout: float, total_timeout: float | None, transport: str) -> None:  # fmt: skip
    """Run the tool loop: ask, run the tools the model calls, send the results back, until done.

    \b
      streamkit agent -d anthropic -m claude-sonnet-4-5 --tools tools.toml "What's the weather in Oslo?"

    Writes canonical events, each response between start-step and finish-step; the last message is
    the answer (--final writes only it). Exit 1 when an upstream fails or --max-steps is reached
    while the model still asks for tools.
    """

    def body(out: IO[bytes]) -> None:
        import os
        import time

        from ..endpoints import resolve
        from ..ndjson import EventWriter
        from ..plugins import default_registry
        from ..stages.agent import agent as agent_loop
        from ..tools import load_tools
        from .signals import sigterm_interrupts

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
        if approve:
            require_terminal_for_approval()
        endpoint = resolve(target, base_url=base_url, key_file=key_file,
                           model=model or conversation.get("model") or os.environ.get("STREAMKIT_MODEL"))  # fmt: skip
        writer = EventWriter(out)
        last = None
        # SIGTERM as Ctrl-C: the running tools' processes are stopped as the loop unwinds (with the
        # default, the agent ended alone and a shell tool's processes ran on, orphaned)
        with sigterm_interrupts():
            try:
                events = agent_loop(conversation, dialect=target.name, endpoint=endpoint, tools=tools, max_steps=max_steps,
                                    registry=registry, parallel=parallel, approve="always" if approve else "never",
                                    fetch_options={"retries": retries, "read_timeout": read_timeout, "timeout": total_timeout,
                                                   "note": diagnostics.note},
                                    transport=transport, warn=diagnostics.warn)  # fmt: skip
                began = time.monotonic()
                for event in events:
                    # one timeline for the whole run (each response's own t counts from its request):
                    # seconds since the agent began, when the event was written (render -f stats)
                    event["t"] = round(time.monotonic() - began, 6)
                    kind = event.get("type")
                    if not final or kind == "error":
                        writer.write(event)
                    elif kind == "message" and not event.get("choice"):
                        last = event
            finally:
                if final and last is not None:
                    writer.write(last)  # the last answer, even when the loop ended in an error

    run("agent", body)
