"""agent: the tool loop in one process.

fetch → normalize → accumulate → run-tools → continue, until a response asks for no client tool
(and its dialect does not want it continued, as Anthropic's ``pause_turn`` does) or ``max_steps``
responses have been read. Each response is wrapped in ``start-step`` /
``finish-step`` events (its tool results come before the ``finish-step``), and its accumulated
``message`` follows the ``finish-step``, so the output ends with the answer. Reaching the step limit with calls still to answer writes an
``error`` event naming the limit (and the CLI exits 1); an upstream failure ends the loop after
its ``error`` event (exit 1 too).

Each dialect continues in its own way (see ``Dialect.continuation_state`` and
``build_request``): chat appends the assistant message and tool messages, Responses sends only
the new items with ``previous_response_id``, Assistants submits the tool outputs to the same run
and reads that new stream to its end, Anthropic sends ``tool_result`` blocks with the thinking
blocks and their signatures kept, and so on.

In Python, :func:`run_agent` takes callbacks for people who want them in-process (the
``on_text_delta`` / ``on_tool_call_created`` / ``on_tool_call_done`` / ``on_message_done`` of
openai-python's event handler).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..continuation import next_conversation
from ..dialects.base import Endpoint
from ..errors import DataError, UpstreamError
from ..plugins import Registry, default_registry
from ..tools import Tool
from .accumulate import accumulate
from .normalize import normalize
from .run_tools import Asker, ToolRunner, run_tools

Callback = Callable[..., Any]


@dataclass
class Callbacks:
    """In-process hooks, each called with the event (and, for text, the text so far)."""

    on_event: Callback | None = None
    on_text_delta: Callback | None = None  # (delta: str, snapshot: str)
    on_tool_call_created: Callback | None = None  # (tool-input-start or tool-call event)
    on_tool_call_done: Callback | None = None  # (tool-call event)
    on_tool_result: Callback | None = None  # (tool-result event)
    on_message_done: Callback | None = None  # (message event)
    text: list[str] = field(default_factory=list, init=False)

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if self.on_event is not None:
            self.on_event(event)
        if kind == "start":
            self.text = []
        elif kind == "text-delta" and self.on_text_delta is not None:
            self.text.append(event["delta"])
            self.on_text_delta(event["delta"], "".join(self.text))
        elif kind == "tool-input-start" and self.on_tool_call_created is not None:
            self.on_tool_call_created(event)
        elif kind == "tool-call":
            if self.on_tool_call_done is not None:
                self.on_tool_call_done(event)
        elif kind == "tool-result" and self.on_tool_result is not None:
            self.on_tool_result(event)
        elif kind == "message" and self.on_message_done is not None:
            self.on_message_done(event)


class StepLimit(UpstreamError):
    """The model still wanted tools when the step limit was reached."""


def agent(conversation: dict[str, Any], *, dialect: str, endpoint: Endpoint, tools: list[Tool], max_steps: int = 8,
          registry: Registry | None = None, parallel: int = 4, approve: str = "never", asker: Asker | None = None,
          fetch_options: dict[str, Any] | None = None, client: Any = None, transport: str = "auto",
          warn: Callable[[str], None] | None = None) -> Iterator[dict[str, Any]]:  # fmt: skip
    """Run the tool loop; yields every event. Raises :class:`UpstreamError` after the events of a
    failed request, and :class:`StepLimit` after the ``error`` event of the step limit."""
    from ..upstream import open_stream
    from ..upstream_websocket import WebSocketSession

    registry = registry or default_registry()
    target = registry.dialect(dialect)
    # One runner for every step: executors keep their sessions (an MCP server) across steps, and
    # the declarations are the expanded tools (an MCP server entry stands for the tools it lists).
    runner = ToolRunner(tools, registry=registry, parallel=parallel, approve=approve, asker=asker)
    declared = [t.declaration() for t in [*runner.tools.values(), *runner.hosted]]
    if declared and not conversation.get("tools"):
        conversation = {**conversation, "tools": declared}
    completed = False
    # what the first call will need (each executor's warm_up) is made while the first request waits
    # for the model, as run-tools makes it while its first read waits
    warming = threading.Thread(target=runner.warm_up, name="streamkit-warm-up", daemon=True)
    warming.start()
    session = WebSocketSession()  # one connection for every step, when the dialect streams over WebSocket
    own_client = client is None
    if own_client:
        import httpx

        options = fetch_options or {}
        from ..upstream import tls_options

        client = httpx.Client(
            timeout=httpx.Timeout(
                options.get("read_timeout", 60.0), connect=options.get("connect_timeout", 10.0)
            ),
            **tls_options(endpoint.base_url or ""),
        )
    try:
        for step in range(1, max_steps + 1):
            yield {"type": "start-step", "step": step}
            request = target.build_request(conversation, endpoint)
            fetched = open_stream(request, dialect=target.name, transport=transport, session=session, warn=warn,
                                  client=client, **(fetch_options or {}))  # fmt: skip
            message: dict[str, Any] | None = None
            messages: list[dict[str, Any]] = []  # written after the step's finish-step
            results: list[dict[str, Any]] = []
            calls = 0
            # a call the upstream sent without an id (Ollama) gets one unique to the conversation:
            # call_0... in the first step, call_2_0... in the second
            prefix = "call_" if step == 1 else f"call_{step}_"
            events = run_tools(accumulate(normalize(fetched, dialect=target.name, registry=registry,
                                                    call_id_prefix=prefix)), tools, runner=runner)  # fmt: skip
            for event in _upstream_readable(events):
                kind = event.get("type")
                if kind == "message":
                    messages.append(event)
                    if not event.get("choice"):
                        message = event
                    continue
                if kind == "tool-call" and not event.get("provider_executed") and not event.get("choice"):
                    calls += 1
                elif kind == "tool-result" and not event.get("provider_executed"):
                    results.append(event)
                yield event
            yield {"type": "finish-step", "step": step}
            yield from messages  # so that the output ends with the answer
            if fetched.failed is not None:
                raise UpstreamError(fetched.failed["message"])
            if message is None or (calls == 0 and not target.wants_continuation(message)):
                completed = True
                return
            order = {p.get("tool_call_id"): i for i, p in enumerate(message.get("content") or ())}
            results.sort(
                key=lambda r: order.get(r.get("tool_call_id"), len(order))
            )  # call order, not finish order
            conversation = next_conversation(conversation, [(message, results)], registry)
        yield {
            "type": "error",
            "message": f"the step limit ({max_steps}) was reached and the model still asks for tools; raise --max-steps to go on",
            "code": "max-steps",
        }
        completed = True
        raise StepLimit(f"the step limit ({max_steps}) was reached")
    finally:
        warming.join()  # (a client it makes must not outlive close)
        runner.close(cancel=not completed)
        session.close()
        if own_client:
            client.close()


def _upstream_readable(events: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """A step's events; a stream the normalizer cannot read (a payload of the wrong type or
    shape: a :class:`DataError` from the stages, whose input is the upstream's) ends them with an
    ``error`` event, then :class:`UpstreamError`: the upstream failed (exit 1), the user's input
    was fine. ``serve --upstream`` says the same words."""
    try:
        yield from events
    except DataError as exc:
        message = f"the upstream sent what streamkit cannot read: {exc.message}"
        yield {"type": "error", "message": message}
        raise UpstreamError(message) from None


def run_agent(conversation: dict[str, Any] | str, *, dialect: str, tools: list[Tool] | str | None = None,
              model: str | None = None, base_url: str | None = None, key_file: str | None = None, max_steps: int = 8,
              registry: Registry | None = None, client: Any = None, **callbacks: Callback) -> dict[str, Any] | None:  # fmt: skip
    """The tool loop from Python: returns the last message; callbacks see the events as they come.

    ``conversation`` is a canonical conversation or a prompt; ``tools`` a list of tools or a
    tools file; ``callbacks`` any of ``on_event``, ``on_text_delta(delta, snapshot)``,
    ``on_tool_call_created``, ``on_tool_call_done``, ``on_tool_result``, ``on_message_done``.
    """
    from ..conversation import check, from_prompt
    from ..endpoints import resolve
    from ..tools import load_tools

    registry = registry or default_registry()
    conv = from_prompt(conversation) if isinstance(conversation, str) else check(conversation)
    tool_list = load_tools(tools) if isinstance(tools, str) else list(tools or [])
    endpoint = resolve(
        registry.dialect(dialect), base_url=base_url, key_file=key_file, model=model or conv.get("model")
    )
    hooks = Callbacks(**callbacks)
    last: dict[str, Any] | None = None
    for event in agent(
        conv,
        dialect=dialect,
        endpoint=endpoint,
        tools=tool_list,
        max_steps=max_steps,
        registry=registry,
        client=client,
    ):
        hooks(event)
        if event.get("type") == "message" and not event.get("choice"):
            last = event
    return last
