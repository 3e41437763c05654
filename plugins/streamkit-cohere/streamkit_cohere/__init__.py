"""streamkit-cohere: Cohere's v2 chat streaming (``POST /v2/chat`` with ``stream: true``), both ways.

A streamkit dialect plugin written as any outside author would: it uses only streamkit's public
API (``Dialect``, ``Normalizer``, ``Encoder``, ``hookimpl``, :mod:`streamkit.canonical`,
:mod:`streamkit.errors`) and is found through its ``streamkit`` entry point.

What Cohere sends (SSE, each event named after its payload's ``type``; no ``[DONE]``), and what
becomes of it (canonical events on the right):

* ``message-start`` (``id``) → ``start`` (the stream does not name the model).
* ``content-start`` / ``content-delta`` / ``content-end``: content of type ``text`` → a text
  block, of type ``thinking`` (reasoning models) → a reasoning block.
* ``tool-plan-delta`` (the model's plan before its tool calls) → a reasoning block whose
  ``reasoning-start`` and ``reasoning-end`` carry ``provider_metadata["cohere"]["tool_plan"] =
  true``; ``render -f cohere`` writes such a block back as ``tool-plan-delta`` events.
* ``tool-call-start`` (``id``, ``function.name``) / ``tool-call-delta`` (argument fragments) /
  ``tool-call-end`` → ``tool-input-*`` and one ``tool-call`` at ``tool-call-end``; empty
  arguments parse to ``{}``.
* ``citation-start`` → one ``source`` per citation: ``url`` when one of its sources has a URL
  (a document's or a tool output's ``url``), else ``document``, titled after that source; the
  whole citation in ``provider_metadata["cohere"]["citation"]``. ``citation-end`` is framing.
* ``content-delta`` ``logprobs`` → ``provider_metadata["cohere"]["logprobs"]`` of its delta.
* ``message-end``: ``finish_reason`` COMPLETE, STOP_SEQUENCE → stop; MAX_TOKENS → length;
  TOOL_CALL → tool-calls; ERROR, TIMEOUT → error; ERROR_TOXIC (v1's name for the safety
  filter) → content-filter; anything else → other. ``delta.error`` → an ``error`` event first.
  ``usage.tokens`` (else ``usage.billed_units``) ``input_tokens``/``output_tokens`` and
  ``cached_tokens`` → ``finish.usage``; the raw usage in ``finish.provider_metadata``.
* ``debug`` events have no canonical meaning.

``render -f cohere`` writes SSE with ``event:`` lines named like the payload ``type``, every
payload valid for the official ``cohere`` SDK's ``V2ChatStreamResponse``. ``fetch -d cohere``
sends ``POST /v2/chat`` requests (see :mod:`.request`), and ``serve`` answers on that path.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from streamkit import Dialect, Encoder, hookimpl
from streamkit.canonical import message_to_events
from streamkit.dialects.base import PLAIN_HOLE, Endpoint, PlainDelta, Request

from .wire import _TOOL_PLAN, FINISH_REASONS, NAME, TYPES, WIRE_FINISH_REASONS, map_usage, wire_usage

if TYPE_CHECKING:
    from .normalize import CohereNormalizer

__all__ = ["NAME", "Cohere", "CohereEncoder", "CohereNormalizer", "map_usage", "wire_usage"]


class CohereEncoder(Encoder):
    """Canonical events → Cohere v2 chat stream events (SSE, named after each payload's ``type``).

    Content, tool calls and citations are numbered as Cohere numbers them, each kind on its own
    counter. A reasoning block marked ``tool_plan`` is written as ``tool-plan-delta`` events,
    any other as ``thinking`` content. An ``error`` is reported where Cohere reports one: on
    ``message-end`` (``delta.error``, ``finish_reason: ERROR``). What Cohere cannot say is dropped
    with a warning: files, provider-executed tools, redacted or encrypted reasoning, choices other
    than the first.
    """

    dialect_name = NAME

    def __init__(self, **options: Any) -> None:
        self.held_errors: list[str] = []  # errors that came before their response's events
        self._new_response()

    def _new_response(self) -> None:
        self.open = False
        self.seen = False  # this response was written from its events (its message is a summary)
        self.ncontent = self.ntools = self.ncites = 0
        self.blocks: dict[str, tuple[int | None, str]] = {}  # block id -> (content index, kind)
        self.calls: dict[str, int] = {}  # open tool call id -> tool call index
        self.done: set[str] = set()  # tool calls written whole (or dropped)
        self.error: str | None = None

    def feed(self, event: dict[str, Any]) -> list[tuple[str | None, Any]]:
        self.plain_delta = None
        handler = _ENCODERS.get(event.get("type"))  # type: ignore[arg-type]
        if handler is None:
            return self.unhandled(event)
        if event.get("choice"):
            return self.drop("choices other than the first")
        out: list[tuple[str | None, Any]] = handler(self, event)
        if self.plain_delta is not None:
            self.template_for(event)
        return out

    def close(self) -> list[tuple[str | None, Any]]:
        out = self._ensure_open() if self.held_errors else []
        out.extend(self._end_open() if self.open else [])
        self._take_held_errors()
        if self.open and self.error is not None:
            out.append(_event("message-end", delta={"finish_reason": "ERROR", "error": self.error}))
        self.open = False
        self.report_dropped()
        return out

    # --- helpers -------------------------------------------------------------------------------

    def _ensure_open(self) -> list[tuple[str | None, Any]]:
        return [] if self.open else self._on_start({"type": "start"})

    def _end_open(self) -> list[tuple[str | None, Any]]:
        out = []
        for index, kind in self.blocks.values():
            if kind != "plan":
                out.append(_event("content-end", index=index))
        for call_id, index in self.calls.items():
            out.append(_event("tool-call-end", index=index))
            self.done.add(call_id)
        self.blocks, self.calls = {}, {}
        return out

    def _block(self, ev: dict[str, Any], kind: str) -> tuple[int | None, str, list[tuple[str | None, Any]]]:
        """The block an event belongs to, opened (content-start) when it was not yet."""
        out = self._ensure_open()
        block = self.blocks.get(ev["id"])
        if block is not None:
            return block[0], block[1], out
        if kind == "reasoning":
            meta = (ev.get("provider_metadata") or {}).get(NAME) or {}
            kind = "plan" if meta.get("tool_plan") else "thinking"
        if kind == "plan":
            self.blocks[ev["id"]] = (None, kind)
            return None, kind, out
        index = self.ncontent
        self.ncontent += 1
        self.blocks[ev["id"]] = (index, kind)
        content = {"type": "text", "text": ""} if kind == "text" else {"type": "thinking", "thinking": ""}
        out.append(_event("content-start", index=index, delta={"message": {"content": content}}))
        return index, kind, out

    def _piece(self, index: int | None, kind: str, text: str, logprobs: Any = None) -> tuple[str | None, Any]:
        if kind == "plan":
            return _event("tool-plan-delta", delta={"message": {"tool_plan": text}})
        content = {"text": text} if kind == "text" else {"thinking": text}
        ev = _event("content-delta", index=index, delta={"message": {"content": content}})
        if logprobs is not None:
            ev[1]["logprobs"] = logprobs
        return ev

    # --- handlers ------------------------------------------------------------------------------

    def _on_start(self, ev: dict[str, Any]) -> list[tuple[str | None, Any]]:
        out = self._end_open() if self.open else []
        self._new_response()
        self.open = self.seen = True
        message = {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}
        start = _event("message-start", delta={"message": message})
        start[1]["id"] = ev.get("id") or str(uuid.uuid4())
        out.append(start)
        return out

    def _on_block_start(self, ev: dict[str, Any]) -> list[tuple[str | None, Any]]:
        return self._block(ev, "text" if ev["type"] == "text-start" else "reasoning")[2]

    def _on_delta(self, ev: dict[str, Any]) -> list[tuple[str | None, Any]]:
        index, kind, out = self._block(ev, "text" if ev["type"] == "text-delta" else "reasoning")
        if ev.get("delta"):
            logprobs = ((ev.get("provider_metadata") or {}).get(NAME) or {}).get("logprobs")
            out.append(self._piece(index, kind, ev["delta"], logprobs))
            if self.templates_wanted and len(ev) == 3:  # the block's next delta (Encoder.plain_delta)
                self.plain_delta = PlainDelta(ev["type"], ev["id"], *self._piece(index, kind, PLAIN_HOLE))
        return out

    def _on_block_end(self, ev: dict[str, Any]) -> list[tuple[str | None, Any]]:
        out: list[tuple[str | None, Any]] = []
        if ev["type"] == "reasoning-end" and _foreign_hidden_reasoning(ev):
            self.drop("redacted or encrypted reasoning")
        if ev["id"] not in self.blocks:
            if not ev.get("text"):
                return []
            # an end with its text and no deltas before it
            index, kind, out = self._block(ev, "text" if ev["type"] == "text-end" else "reasoning")
            out.append(self._piece(index, kind, ev["text"]))
        index, kind = self.blocks.pop(ev["id"])
        if kind != "plan":
            out.append(_event("content-end", index=index))
        return out

    def _on_tool_input_start(self, ev: dict[str, Any]) -> list[tuple[str | None, Any]]:
        if ev.get("provider_executed"):
            self.done.add(ev["id"])
            return self.drop("provider-executed tool calls")
        out = self._ensure_open()
        index = self.calls[ev["id"]] = self.ntools
        self.ntools += 1
        out.append(self._call_start(index, ev["id"], ev.get("tool_name") or ""))
        return out

    @staticmethod
    def _call_start(index: int, call_id: str, name: str) -> tuple[str | None, Any]:
        call = {"id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}
        return _event("tool-call-start", index=index, delta={"message": {"tool_calls": call}})

    @staticmethod
    def _call_delta(index: int, fragment: str) -> tuple[str | None, Any]:
        call = {"function": {"arguments": fragment}}
        return _event("tool-call-delta", index=index, delta={"message": {"tool_calls": call}})

    def _on_tool_input_delta(self, ev: dict[str, Any]) -> list[tuple[str | None, Any]]:
        index = self.calls.get(ev["id"])
        if index is None or not ev.get("delta"):
            return []  # a fragment of a call never started: its tool-call carries the whole input
        return [self._call_delta(index, ev["delta"])]

    def _on_tool_input_end(self, ev: dict[str, Any]) -> list[tuple[str | None, Any]]:
        index = self.calls.pop(ev["id"], None)
        if index is None:
            return []
        self.done.add(ev["id"])
        return [_event("tool-call-end", index=index)]

    def _on_tool_call(self, ev: dict[str, Any]) -> list[tuple[str | None, Any]]:
        call_id = ev["tool_call_id"]
        if call_id in self.done:
            return []
        self.done.add(call_id)
        if call_id in self.calls:
            return [_event("tool-call-end", index=self.calls.pop(call_id))]
        if ev.get("provider_executed"):
            return self.drop("provider-executed tool calls")
        out = self._ensure_open()
        index = self.ntools
        self.ntools += 1
        arguments = ev.get("arguments")
        if arguments is None:
            from orjson import dumps

            arguments = dumps(ev.get("input") if ev.get("input") is not None else {}).decode()
        out.append(self._call_start(index, call_id, ev.get("tool_name") or ""))
        if arguments:
            out.append(self._call_delta(index, arguments))
        out.append(_event("tool-call-end", index=index))
        return out

    def _on_tool_result(self, ev: dict[str, Any]) -> list[tuple[str | None, Any]]:
        if ev.get("provider_executed"):
            return self.drop("provider-executed tool results")
        return []  # a client tool's result belongs to the next request, not this stream

    def _on_source(self, ev: dict[str, Any]) -> list[tuple[str | None, Any]]:
        out = self._ensure_open()
        citation = ((ev.get("provider_metadata") or {}).get(NAME) or {}).get("citation")
        if not isinstance(citation, dict):
            document: dict[str, Any] = {"id": ev.get("id")}
            for key in ("title", "url"):
                if ev.get(key):
                    document[key] = ev[key]
            citation = {"sources": [{"type": "document", "id": ev.get("id"), "document": document}]}
        index = self.ncites
        self.ncites += 1
        out.append(_event("citation-start", index=index, delta={"message": {"citations": citation}}))
        out.append(_event("citation-end", index=index))
        return out

    def _on_file(self, ev: dict[str, Any]) -> list[tuple[str | None, Any]]:
        return self.drop("files")

    def _take_held_errors(self) -> None:
        if self.held_errors:
            self.error = self.error or "; ".join(self.held_errors)
            self.held_errors = []

    def _on_finish(self, ev: dict[str, Any]) -> list[tuple[str | None, Any]]:
        out = self._ensure_open()
        out.extend(self._end_open())
        self._take_held_errors()
        meta = (ev.get("provider_metadata") or {}).get(NAME) or {}
        reason = ev.get("finish_reason") or "other"
        raw = ev.get("raw_finish_reason")
        delta: dict[str, Any] = {}
        if self.error is not None:
            delta["error"] = self.error
        if raw in FINISH_REASONS and FINISH_REASONS[raw] == reason:
            delta["finish_reason"] = raw
        elif reason in WIRE_FINISH_REASONS:
            delta["finish_reason"] = WIRE_FINISH_REASONS[reason]
        usage = meta.get("usage") if isinstance(meta.get("usage"), dict) else None
        if usage is None and ev.get("usage"):
            usage = wire_usage(ev["usage"])
        if usage is not None:
            delta["usage"] = usage
        out.append(_event("message-end", delta=delta))
        self.open = False
        return out

    def _on_error(self, ev: dict[str, Any]) -> list[tuple[str | None, Any]]:
        if ev.get("code") == "bad-input":
            return []  # a bad line upstream of us, not an upstream error
        message = str(ev.get("message") or ev.get("code") or "error")
        if not self.open:
            # an error before any event of its response (``accumulate --final`` writes errors
            # before the message): held for that response, reported on its message-end
            self.held_errors.append(message)
        else:
            self.error = message
        return []

    def _on_message(self, ev: dict[str, Any]) -> list[tuple[str | None, Any]]:
        if self.open or self.seen:
            self.seen = self.open
            return []  # the events it sums up were already written
        events = list(message_to_events(ev))
        # a tool plan is marked on its reasoning-end; the encoder needs to know at its start
        plans = {e["id"] for e in events if e["type"] == "reasoning-end" and _is_plan(e)}
        out: list[tuple[str | None, Any]] = []
        for sub in events:
            if sub["type"] == "reasoning-start" and sub["id"] in plans:
                sub = {**sub, "provider_metadata": _TOOL_PLAN}
            out.extend(self.feed(sub))
        self.seen = False  # the next bare message starts its own response
        return out


def _foreign_hidden_reasoning(ev: dict[str, Any]) -> bool:
    """Whether a reasoning block carries (another dialect's) redacted or encrypted reasoning."""
    return any(
        isinstance(meta, dict) and (meta.get("redacted_data") or meta.get("encrypted_content"))
        for meta in (ev.get("provider_metadata") or {}).values()
    )


def _is_plan(ev: dict[str, Any]) -> bool:
    return bool(((ev.get("provider_metadata") or {}).get(NAME) or {}).get("tool_plan"))


def _event(kind: str, **fields: Any) -> tuple[str | None, Any]:
    """A wire event: the SSE event is named like the payload's ``type``."""
    return (kind, {"type": kind, **fields})


_ENCODERS: dict[str, Callable[..., list[tuple[str | None, Any]]]] = {
    "start": CohereEncoder._on_start,
    "text-start": CohereEncoder._on_block_start,
    "text-delta": CohereEncoder._on_delta,
    "text-end": CohereEncoder._on_block_end,
    "reasoning-start": CohereEncoder._on_block_start,
    "reasoning-delta": CohereEncoder._on_delta,
    "reasoning-end": CohereEncoder._on_block_end,
    "tool-input-start": CohereEncoder._on_tool_input_start,
    "tool-input-delta": CohereEncoder._on_tool_input_delta,
    "tool-input-end": CohereEncoder._on_tool_input_end,
    "tool-call": CohereEncoder._on_tool_call,
    "tool-result": CohereEncoder._on_tool_result,
    "source": CohereEncoder._on_source,
    "file": CohereEncoder._on_file,
    "finish": CohereEncoder._on_finish,
    "error": CohereEncoder._on_error,
    "message": CohereEncoder._on_message,
}


class Cohere(Dialect):
    name = NAME
    description = "Cohere v2 chat streaming events (message-start, content-delta, tool-plan-delta, ...)"
    framing = "sse"
    default_base_url = "https://api.cohere.com"
    base_url_env = ("CO_API_URL",)  # the official SDK's variables
    api_key_env = ("CO_API_KEY", "COHERE_API_KEY")
    serve_paths = ("/v2/chat",)

    def build_request(
        self, conversation: dict[str, Any] | None, endpoint: Endpoint, *, body: Any = None
    ) -> Request:
        """``POST {base}/v2/chat`` with ``Authorization: Bearer`` (see :mod:`.request`)."""
        from .request import chat_request_body, chat_url

        if body is None:
            body = chat_request_body(conversation or {"messages": []}, endpoint.model)
        headers = {"Accept": "text/event-stream", "Content-Type": "application/json"}
        if endpoint.api_key:
            headers["Authorization"] = f"Bearer {endpoint.api_key}"
        return Request(chat_url(endpoint.base_url), body, headers)

    def sniff(self, data: Any, event: str | None = None) -> bool:
        if type(data) is not dict:
            return False
        kind = data.get("type")
        return kind in TYPES and event in (None, kind)

    def normalizer(self, **options: Any) -> CohereNormalizer:
        # imported when first used: every command loads this plugin to know the dialect's name
        # and sniff, and few of them read Cohere
        from .normalize import CohereNormalizer

        return CohereNormalizer(**options)

    def encoder(self, **options: Any) -> CohereEncoder:
        return CohereEncoder(**options)


@hookimpl
def register_dialects(register: Callable[[Dialect], None]) -> None:
    register(Cohere())


def __getattr__(name: str) -> Any:
    """``CohereNormalizer`` stays importable from here, loaded on first use."""
    if name == "CohereNormalizer":
        from .normalize import CohereNormalizer

        return CohereNormalizer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
