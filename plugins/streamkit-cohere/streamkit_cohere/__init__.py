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
from typing import Any

from streamkit import Dialect, Encoder, Normalizer, hookimpl
from streamkit.canonical import message_to_events, parse_arguments
from streamkit.dialects.base import Endpoint, Request
from streamkit.errors import DataError

NAME = "cohere"

TYPES = frozenset(
    {
        "message-start",
        "content-start",
        "content-delta",
        "content-end",
        "tool-plan-delta",
        "tool-call-start",
        "tool-call-delta",
        "tool-call-end",
        "citation-start",
        "citation-end",
        "message-end",
        "debug",
    }
)

FINISH_REASONS = {
    "COMPLETE": "stop",
    "STOP_SEQUENCE": "stop",
    "MAX_TOKENS": "length",
    "TOOL_CALL": "tool-calls",
    "ERROR": "error",
    "TIMEOUT": "error",
    "ERROR_TOXIC": "content-filter",
}
WIRE_FINISH_REASONS = {
    "stop": "COMPLETE",
    "length": "MAX_TOKENS",
    "tool-calls": "TOOL_CALL",
    "error": "ERROR",
    "content-filter": "ERROR_TOXIC",
}

_TOOL_PLAN = {NAME: {"tool_plan": True}}
#: the content index while no content block is open (or a tool plan is): equal to no wire index
_NO_INDEX = object()


def map_usage(usage: dict[str, Any]) -> dict[str, Any]:
    """Cohere usage → canonical usage: the tokens processed (else those billed), cache hits."""
    out: dict[str, Any] = {}
    tokens = usage.get("tokens")
    billed = usage.get("billed_units")
    counts = tokens if isinstance(tokens, dict) and tokens else billed if isinstance(billed, dict) else {}
    for key in ("input_tokens", "output_tokens"):
        if isinstance(counts.get(key), (int, float)):
            out[key] = int(counts[key])
    if isinstance(usage.get("cached_tokens"), (int, float)):
        out["cached_input_tokens"] = int(usage["cached_tokens"])
    return out


def wire_usage(usage: dict[str, Any]) -> dict[str, Any]:
    """Canonical usage → Cohere usage."""
    tokens = {
        "input_tokens": usage.get("input_tokens") or 0,
        "output_tokens": usage.get("output_tokens") or 0,
    }
    out: dict[str, Any] = {"billed_units": dict(tokens), "tokens": tokens}
    if usage.get("cached_input_tokens") is not None:
        out["cached_tokens"] = usage["cached_input_tokens"]
    return out


def _message(data: dict[str, Any]) -> dict[str, Any]:
    """``data.delta.message`` (an empty dict when absent)."""
    delta = data.get("delta")
    message = delta.get("message") if isinstance(delta, dict) else None
    return message if isinstance(message, dict) else {}


class _Call:
    __slots__ = ("args", "id", "name")

    def __init__(self, call_id: str, name: str) -> None:
        self.id = call_id
        self.name = name
        self.args: list[str] = []


class CohereNormalizer(Normalizer):
    """One Cohere v2 chat stream (possibly several responses, each opened by ``message-start``)."""

    def __init__(self, **options: Any) -> None:
        self._call_ids = 0
        self._reset()

    def _reset(self) -> None:
        self.started = False
        self.block: str | None = None  # id of the open text or reasoning block
        self.kind: str | None = None  # its kind: text, reasoning, or plan (a tool plan)
        self.index: Any = _NO_INDEX  # its content index (the hot path compares it)
        self.key: str | None = None  # the member of its content deltas' content with the text
        self.delta_type: str | None = None  # the type of its deltas' events
        self.calls: dict[Any, _Call] = {}  # tool call index -> open call
        self.nblocks = 0
        self.nsources = 0

    # --- the wire events -----------------------------------------------------------------

    def feed(self, data: Any, event: str | None = None) -> list[dict[str, Any]] | None:
        if type(data) is not dict:
            return None
        # The hot path, measured in `make bench`: a content delta in the open block, a tool plan
        # delta in the open plan, a fragment of an open tool call's arguments, the end of the
        # open block. Looked up by subscripts (a missing member or a value of another type
        # raises): anything else, or anything odd, goes the long way, which says what is wrong.
        try:
            kind = data["type"]
            if kind == "content-delta":
                content = data["delta"]["message"]["content"]
                text = content[self.key]
                if (
                    data["index"] == self.index
                    and type(text) is str
                    and len(content) == 1
                    and "logprobs" not in data
                ):
                    return [{"type": self.delta_type, "id": self.block, "delta": text}] if text else []
            elif kind == "tool-plan-delta":
                plan = data["delta"]["message"]["tool_plan"]
                if self.kind == "plan" and type(plan) is str:
                    return [{"type": "reasoning-delta", "id": self.block, "delta": plan}] if plan else []
            elif kind == "tool-call-delta":
                call = self.calls.get(data.get("index"))
                fragment = data["delta"]["message"]["tool_calls"]["function"]["arguments"]
                if call is not None and type(fragment) is str:
                    if not fragment:
                        return []
                    call.args.append(fragment)
                    return [{"type": "tool-input-delta", "id": call.id, "delta": fragment}]
            elif kind == "content-end":
                if self.block is not None and self.index == data["index"]:
                    out: list[dict[str, Any]] = []
                    self._end_block(out)
                    return out
                return []
        except (KeyError, TypeError):
            kind = data.get("type")
        handler = _HANDLERS.get(kind)  # type: ignore[arg-type]
        if handler is None:
            return None
        return handler(self, data)

    def close(self) -> list[dict[str, Any]]:
        if not self.started:
            return []
        return self._finish(None, None, [])

    # --- one handler per event type --------------------------------------------------------

    def _on_message_start(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        out = self._finish(None, None, []) if self.started else []
        self._start(out, data.get("id"))
        return out

    def _on_content_start(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        content = _message(data).get("content")
        if not isinstance(content, dict):
            raise DataError("a content-start event without delta.message.content")
        kind = "reasoning" if content.get("type") == "thinking" else "text"
        self._open(kind, data.get("index"), out)
        self._content(content, out)
        return out

    def _on_content_delta(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        content = _message(data).get("content")
        if not isinstance(content, dict):
            raise DataError("a content-delta event without delta.message.content")
        index = data.get("index")
        if self.block is None or self.index != index or self.kind == "plan":
            # a delta with no content-start: open the block its content says
            self._open("reasoning" if "thinking" in content else "text", index, out)
        self._content(content, out, data.get("logprobs"))
        return out

    def _on_content_end(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if self.block is not None and self.index == data.get("index"):
            self._end_block(out)
        return out

    def _on_tool_plan(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        plan = _message(data).get("tool_plan")
        if not isinstance(plan, str):
            raise DataError("a tool-plan-delta event without delta.message.tool_plan")
        if self.kind != "plan":
            self._open("plan", None, out)
        if plan:
            out.append({"type": "reasoning-delta", "id": self.block, "delta": plan})
        return out

    def _on_tool_call_start(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        self._ensure_started(out)
        self._end_block(out)
        tc = _message(data).get("tool_calls")
        if not isinstance(tc, dict):
            raise DataError("a tool-call-start event without delta.message.tool_calls")
        fn = tc.get("function")
        if not isinstance(fn, dict):
            fn = {}
        call = _Call(tc.get("id") or self._new_call_id(), fn.get("name") or "")
        index = data.get("index")
        previous = self.calls.pop(index, None)
        if previous is not None:  # a start for an index still open: that call is complete
            self._complete(previous, out)
        self.calls[index] = call
        out.append({"type": "tool-input-start", "id": call.id, "tool_name": call.name})
        self._arguments(call, fn.get("arguments"), out)
        return out

    def _on_tool_call_delta(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        call = self.calls.get(data.get("index"))
        if call is None:
            raise DataError(
                f"a tool-call-delta for index {data.get('index')}, which no tool-call-start opened"
            )
        tc = _message(data).get("tool_calls")
        fn = tc.get("function") if isinstance(tc, dict) else None
        self._arguments(call, fn.get("arguments") if isinstance(fn, dict) else None, out)
        return out

    def _on_tool_call_end(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        call = self.calls.pop(data.get("index"), None)
        if call is not None:
            self._complete(call, out)
        return out

    def _on_citation_start(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        citation = _message(data).get("citations")
        if not isinstance(citation, dict):
            raise DataError("a citation-start event without delta.message.citations")
        self._ensure_started(out)
        ev: dict[str, Any] = {"type": "source", "source_type": "document", "id": f"cite-{self.nsources}"}
        self.nsources += 1
        url, title = _locate(citation.get("sources"))
        if url:
            ev["source_type"] = "url"
            ev["url"] = url
        if title:
            ev["title"] = title
        ev["provider_metadata"] = {NAME: {"citation": citation}}
        out.append(ev)
        return out

    def _on_citation_end(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        return []  # framing: the citation was whole at its start

    def _on_message_end(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        delta = data.get("delta")
        if not isinstance(delta, dict):
            delta = {}
        out: list[dict[str, Any]] = []
        self._ensure_started(out)
        error = delta.get("error")
        if error:
            self._end_blocks(out)
            out.append(
                {"type": "error", "message": str(error), "provider_metadata": {NAME: {"error": error}}}
            )
        reason = delta.get("finish_reason")
        return self._finish(reason if isinstance(reason, str) else None, delta.get("usage"), out, bool(error))

    def _on_debug(self, data: dict[str, Any]) -> None:
        return None  # the prompt as rendered: no canonical meaning

    # --- blocks ------------------------------------------------------------------------------

    def _start(self, out: list[dict[str, Any]], response_id: Any = None) -> None:
        self._reset()
        self.started = True
        out.append({"type": "start", "id": response_id, "model": None, "dialect": NAME})

    def _ensure_started(self, out: list[dict[str, Any]]) -> None:
        if not self.started:
            self._start(out)

    def _open(self, kind: str, index: Any, out: list[dict[str, Any]]) -> None:
        self._ensure_started(out)
        self._end_block(out)
        canonical = "text" if kind == "text" else "reasoning"
        block = self.block = f"{canonical}-{self.nblocks}"
        self.nblocks += 1
        self.kind = kind
        self.index = _NO_INDEX if kind == "plan" else index
        self.key = "text" if kind == "text" else "thinking"
        self.delta_type = f"{canonical}-delta"
        ev: dict[str, Any] = {"type": f"{canonical}-start", "id": block}
        if kind == "plan":
            ev["provider_metadata"] = _TOOL_PLAN
        out.append(ev)

    def _content(self, content: dict[str, Any], out: list[dict[str, Any]], logprobs: Any = None) -> None:
        text = content.get("text") if self.kind == "text" else content.get("thinking")
        if text is not None and not isinstance(text, str):
            raise DataError(f"content text is a {type(text).__name__}, expected a string")
        if text:
            ev: dict[str, Any] = {
                "type": "text-delta" if self.kind == "text" else "reasoning-delta",
                "id": self.block,
                "delta": text,
            }
            if logprobs:
                ev["provider_metadata"] = {NAME: {"logprobs": logprobs}}
            out.append(ev)

    def _end_block(self, out: list[dict[str, Any]]) -> None:
        if self.block is None:
            return
        if self.kind == "text":
            out.append({"type": "text-end", "id": self.block})
        elif self.kind == "plan":
            out.append({"type": "reasoning-end", "id": self.block, "provider_metadata": _TOOL_PLAN})
        else:
            out.append({"type": "reasoning-end", "id": self.block})
        self.block = self.kind = self.key = self.delta_type = None
        self.index = _NO_INDEX

    def _end_blocks(self, out: list[dict[str, Any]]) -> None:
        self._end_block(out)
        calls, self.calls = self.calls, {}
        for call in calls.values():
            self._complete(call, out)

    def _arguments(self, call: _Call, fragment: Any, out: list[dict[str, Any]]) -> None:
        if fragment is not None and not isinstance(fragment, str):
            from orjson import dumps

            fragment = dumps(fragment).decode()
        if fragment:
            call.args.append(fragment)
            out.append({"type": "tool-input-delta", "id": call.id, "delta": fragment})

    @staticmethod
    def _complete(call: _Call, out: list[dict[str, Any]]) -> None:
        out.append({"type": "tool-input-end", "id": call.id})
        arguments = "".join(call.args)
        value, err = parse_arguments(arguments)
        ev: dict[str, Any] = {
            "type": "tool-call",
            "tool_call_id": call.id,
            "tool_name": call.name,
            "arguments": arguments,
            "input": value,
        }
        if err:
            ev["input_error"] = err
        out.append(ev)

    def _new_call_id(self) -> str:
        call_id = f"call_{self._call_ids}"
        self._call_ids += 1
        return call_id

    def _finish(
        self, raw: str | None, usage: Any, out: list[dict[str, Any]], error: bool = False
    ) -> list[dict[str, Any]]:
        self._end_blocks(out)
        if raw is not None:
            reason = FINISH_REASONS.get(raw, "other")
        else:
            reason = "error" if error else "other"
        fin: dict[str, Any] = {"type": "finish", "finish_reason": reason, "raw_finish_reason": raw}
        if isinstance(usage, dict):
            fin["usage"] = map_usage(usage)
            fin["provider_metadata"] = {NAME: {"usage": usage}}
        out.append(fin)
        self._reset()
        return out


def _locate(sources: Any) -> tuple[str | None, str | None]:
    """The URL and title of a citation: from its first source with a URL, else its first source."""
    first: tuple[str | None, str | None] | None = None
    for source in sources if isinstance(sources, list) else ():
        if not isinstance(source, dict):
            continue
        body = source.get("document") if source.get("type") != "tool" else source.get("tool_output")
        if not isinstance(body, dict):
            body = {}
        url = body.get("url") if isinstance(body.get("url"), str) else None
        title = body.get("title") if isinstance(body.get("title"), str) else None
        if url:
            return url, title
        if first is None:
            first = (None, title)
    return first or (None, None)


_HANDLERS: dict[str, Callable[..., Any]] = {
    "message-start": CohereNormalizer._on_message_start,
    "content-start": CohereNormalizer._on_content_start,
    "content-delta": CohereNormalizer._on_content_delta,
    "content-end": CohereNormalizer._on_content_end,
    "tool-plan-delta": CohereNormalizer._on_tool_plan,
    "tool-call-start": CohereNormalizer._on_tool_call_start,
    "tool-call-delta": CohereNormalizer._on_tool_call_delta,
    "tool-call-end": CohereNormalizer._on_tool_call_end,
    "citation-start": CohereNormalizer._on_citation_start,
    "citation-end": CohereNormalizer._on_citation_end,
    "message-end": CohereNormalizer._on_message_end,
    "debug": CohereNormalizer._on_debug,
}


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
        handler = _ENCODERS.get(event.get("type"))  # type: ignore[arg-type]
        if handler is None:
            return self.unhandled(event)
        if event.get("choice"):
            return self.drop("choices other than the first")
        return handler(self, event)

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
        return CohereNormalizer(**options)

    def encoder(self, **options: Any) -> CohereEncoder:
        return CohereEncoder(**options)


@hookimpl
def register_dialects(register: Callable[[Dialect], None]) -> None:
    register(Cohere())
