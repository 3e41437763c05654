"""Canonical events → an Anthropic Messages stream, as the official SDK reads it.

The encoder writes ``message_start`` (a whole message object: id, type, role, model, empty
content, null stop reason, usage), then ``content_block_start`` / ``_delta`` / ``_stop`` with
indexes 0..n in order, then ``message_delta`` (stop reason, usage) and ``message_stop``; every
event validates as the official SDK's ``RawMessageStreamEvent``. Details:

* The stop reason is the original when it is one of Anthropic's, else mapped back (stop →
  end_turn, length → max_tokens, tool-calls → tool_use, content-filter → refusal; error and
  other → null). Usage is the raw usage when it came from Anthropic (with the
  ``server_tool_use`` counts the SDK's types require filled in with 0 where an older API left
  one out), else built from the canonical counts (``input_tokens`` without the cached tokens,
  which go to ``cache_read_input_tokens``); ``message_start`` then says 0 and ``message_delta``
  carries the counts, which the SDK's accumulator takes.
* A text block's stop is written when the next thing begins, so that sources following its
  ``text-end`` still become its citations. A reasoning block's start waits for its first
  non-empty delta or its end, to know whether it is ``thinking``, ``redacted_thinking`` or
  ``compaction``.
* Tool calls streamed side by side (Chat Completions' parallel calls) become blocks one after
  the other: a call that starts while another is open waits, with its fragments, until that
  one ends. A ``tool-call`` with no ``tool-input-*`` events is written whole.
* A response that ended in an error ends at its ``error`` event, as Anthropic's do.
* Another provider's web search (a provider-executed call of a name in
  :data:`~streamkit.dialects.base.SEARCH_CALL_NAMES`: a
  Responses ``web_search_call``, a Gemini search) is written as Anthropic's own: a
  ``server_tool_use`` named ``web_search`` with the call's input, and a ``web_search_tool_result``
  listing the pages the search named (a Responses search's ``sources``), each with an empty
  ``encrypted_content``, or none; so that a client such as Claude Code sees the search it asked for.
  An answer another provider grounded in pages without a search call of its own (Gemini's Google
  Search grounding: url sources) gets one such search after its text, listing the pages. Another
  provider's code execution (Gemini's, a Responses ``code_interpreter_call``) is a
  ``server_tool_use`` named ``code_execution`` and a ``code_execution_tool_result`` (its output as
  ``stdout``, or ``stderr`` with ``return_code`` 1 when it failed).
* What Anthropic cannot express is dropped with a warning: sources that are not Anthropic
  citations (a citation needs an index into the request's documents or an encrypted
  search-result index, which a foreign source has not: url sources become a search's results, as
  said above, unless a search was written), provider-executed tools of other
  dialects but their web searches, files, other dialects' redacted or encrypted reasoning (its text, if any, is a
  thinking block), refusal marks on text (the text is kept), events of choices k>0. A client
  tool's ``tool-result`` belongs to the next request, not to this stream: it is left out.
* Blocks only the beta API has (``mcp_tool_use``, ``mcp_tool_result``, ``compaction``,
  ``fallback``, ...) are not in ``RawMessageStreamEvent``: they are written with ``-O beta=true``
  (the stream then validates as ``BetaRawMessageStreamEvent``, what
  ``client.beta.messages.stream()`` reads) and dropped with a warning otherwise. A ``fallback``
  block (a reasoning block typed ``fallback``) is written where it came, without deltas; the
  model that answered then reads back from it (and from the raw usage's ``iterations``, written
  as received), while ``message_start`` names the ``start``'s model, the one asked for.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson

from ...canonical import message_to_events
from .._hidden import HIDDEN_REASONING, hidden_reasoning
from ..base import PLAIN_HOLE, SEARCH_CALL_NAMES, Encoder, PlainDelta, WireEvent, search_pages
from .wire import _DELTA_FIELDS, _MESSAGE_FIELDS, FINISH_REASONS, NAME, _meta

#: every stop_reason the SDK's type accepts
WIRE_STOP_REASONS = frozenset(FINISH_REASONS)

# canonical finish reason -> stop_reason, when the finish did not come from Anthropic
CANONICAL_STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool-calls": "tool_use",
    "content-filter": "refusal",
}

#: content block types of the non-beta RawMessageStreamEvent; others need ``beta=True``
STABLE_BLOCKS = frozenset(
    {
        "text",
        "thinking",
        "redacted_thinking",
        "tool_use",
        "server_tool_use",
        "web_search_tool_result",
        "web_fetch_tool_result",
        "code_execution_tool_result",
        "bash_code_execution_tool_result",
        "text_editor_code_execution_tool_result",
        "tool_search_tool_result",
        "container_upload",
    }
)


# finish metadata of ours, not of the wire's message_delta
_OURS = frozenset({"usage", "requested_model"})


def wire_usage(usage: dict[str, Any]) -> dict[str, Any]:
    """Canonical usage → Anthropic usage (``input_tokens`` without the cached tokens)."""
    cached = usage.get("cached_input_tokens")
    out: dict[str, Any] = {}
    if usage.get("input_tokens") is not None:
        out["input_tokens"] = max(usage["input_tokens"] - (cached or 0), 0)
    if cached is not None:
        out["cache_read_input_tokens"] = cached
    out["output_tokens"] = usage.get("output_tokens") or 0
    if usage.get("reasoning_tokens") is not None:
        out["output_tokens_details"] = {"thinking_tokens": usage["reasoning_tokens"]}
    return out


def _raw_usage(usage: dict[str, Any]) -> dict[str, Any]:
    """Raw usage to write back: as received, with the ``server_tool_use`` counts the SDK's types
    require filled in (an older API sent only ``web_search_requests``; a count not sent is 0)."""
    out = dict(usage)
    tools = out.get("server_tool_use")
    if isinstance(tools, dict):
        out["server_tool_use"] = {"web_search_requests": 0, "web_fetch_requests": 0, **tools}
    return out


#: the names other dialects give their provider's code execution (Gemini's, Responses'
#: ``code_interpreter``), written as Anthropic's ``code_execution`` server tool and its result
FOREIGN_CODE = frozenset({"code_execution", "code_interpreter"})


def _page(url: str, title: str) -> dict[str, Any]:
    """A page another provider's search found, as a ``web_search_result`` (its ``encrypted_content``
    empty: only Anthropic's own results fill it)."""
    return {
        "type": "web_search_result",
        "url": url,
        "title": title,
        "encrypted_content": "",
        "page_age": None,
    }


def _code_result(ev: dict[str, Any]) -> dict[str, Any]:
    """Another provider's code execution result as Anthropic's ``code_execution_result``: Gemini's
    ``outcome`` and ``output``, a Responses call's ``logs``, or the output as text."""
    output = ev.get("output")
    failed = bool(ev.get("is_error"))
    if isinstance(output, dict) and "outcome" in output:  # Gemini's codeExecutionResult
        text = output.get("output") if isinstance(output.get("output"), str) else ""
        failed = output.get("outcome") != "OUTCOME_OK"
    elif isinstance(output, dict) and isinstance(output.get("outputs"), list):  # a code_interpreter_call's
        text = "".join(
            o["logs"] for o in output["outputs"] if isinstance(o, dict) and isinstance(o.get("logs"), str)
        )
    elif isinstance(output, str):
        text = output
    else:
        text = "" if output is None else orjson.dumps(output).decode()
    return {"type": "code_execution_result", "stdout": "" if failed else text, "stderr": text if failed else "",
            "return_code": 1 if failed else 0, "content": []}  # fmt: skip


def _event(data: dict[str, Any]) -> WireEvent:
    return (data["type"], data)


class _QueuedCall:
    """A tool call that started while another was open: its block and what it has so far."""

    __slots__ = ("block", "done", "fragments")

    def __init__(self, block: dict[str, Any]) -> None:
        self.block = block
        self.fragments: list[str] = []
        self.done = False


class AnthropicEncoder(Encoder):
    """Canonical events → Messages stream events, one ``message_start`` … ``message_stop`` per response.

    ``beta=True`` also writes the blocks only the beta API has (MCP tool use and results,
    compaction) when they came from Anthropic; without it they are dropped with a warning.
    ``model`` is the model ``message_start`` names when the stream's ``start`` names none (the
    model the client asked for: ``streamkit serve`` passes it), else ``""``.
    """

    dialect_name = NAME

    def __init__(self, *, beta: Any = False, model: Any = None, **options: Any) -> None:
        self.beta = beta is True or (isinstance(beta, str) and beta.lower() in ("1", "true", "yes", "on"))
        self.model = model if isinstance(model, str) else ""
        self._new_response()

    def _new_response(self) -> None:
        self.open = False  # a message is being written
        self.id: str | None = None
        self.index = 0  # the next block's index
        self.cur: tuple[str, str, int | None] | None = None  # the open block: kind, canonical id, index
        self.pending_text: int | None = None  # a text block ended, its stop not yet written
        self.reasoning_meta: dict[str, Any] = {}
        self.compaction_text: list[str] = []
        self.calls: dict[str, str] = {}  # tool call id -> "open", "queued", "done" or "dropped"
        self.queued: dict[str, _QueuedCall] = {}  # calls waiting for the open one to end, in order
        self.searches: set[str] = set()  # ids of other providers' web searches written as server tools
        self.code_runs: set[str] = set()  # ... and of their code executions
        self.pages: dict[str, str] = {}  # another provider's url sources (url -> title), see _grounding
        self.search_inputs: dict[str, Any] = {}  # provider-executed calls' inputs, by id
        self.errored = False
        self.templates: dict[tuple[str, int], PlainDelta] = {}  # (see _template)

    def feed(self, event: dict[str, Any]) -> list[WireEvent]:
        self.plain_delta = None
        if event.get("choice"):
            return self.drop("events of choices after the first (n>1)")
        handler = self._handlers.get(event.get("type"))  # type: ignore[arg-type]
        if handler is None:
            return self.unhandled(event)
        result: list[WireEvent] = handler(self, event)
        if self.plain_delta is not None:
            self.template_for(event)
        return result

    def close(self) -> list[WireEvent]:
        out = self._end({}) if self.open else []
        self.report_dropped()
        return out

    # --- blocks --------------------------------------------------------------------------

    def _ensure_open(self) -> list[WireEvent]:
        return [] if self.open else self._on_start({"type": "start"})

    def _block_start(self, block: dict[str, Any]) -> tuple[int, WireEvent]:
        index = self.index
        self.index += 1
        return index, _event({"type": "content_block_start", "index": index, "content_block": block})

    @staticmethod
    def _delta(index: int, delta: dict[str, Any]) -> WireEvent:
        return _event({"type": "content_block_delta", "index": index, "delta": delta})

    @staticmethod
    def _stop(index: int) -> WireEvent:
        return _event({"type": "content_block_stop", "index": index})

    def _close_blocks(self) -> list[WireEvent]:
        """Stop whatever block is open (and the text block whose stop was held back)."""
        out = self._ensure_open()
        if self.pending_text is not None:
            out.append(self._stop(self.pending_text))
            self.pending_text = None
        cur = self.cur
        if cur is not None:
            self.cur = None
            if cur[0] == "reasoning":
                out.extend(self._end_reasoning(cur))
            elif cur[2] is not None:
                out.append(self._stop(cur[2]))
            if cur[0] == "tool":
                self.calls[cur[1]] = "done"
        while self.queued:  # calls still waiting: written with the arguments they have so far
            out.extend(self._next_queued())
            if self.cur is not None:
                out.append(self._stop(self.cur[2]))  # type: ignore[arg-type]
                self.calls[self.cur[1]] = "done"
                self.cur = None
        return out

    def _template(self, kind: str, block_id: str, index: int, delta_type: str, field: str) -> None:
        """The next delta of the open block: a content_block_delta, which reads none of the
        event's other fields (see Encoder.plain_delta), kept for the response by kind and index."""
        template = self.templates.get((kind, index))
        if template is None:
            data = {
                "type": "content_block_delta",
                "index": index,
                "delta": {"type": delta_type, field: PLAIN_HOLE},
            }
            template = self.templates[(kind, index)] = PlainDelta(
                kind, block_id, "content_block_delta", data, extra_fields=True
            )
        template.block_id = block_id
        self.plain_delta = template

    def _is(self, kind: str, block_id: Any) -> bool:
        cur = self.cur
        return cur is not None and cur[0] == kind and cur[1] == block_id

    # --- handlers ------------------------------------------------------------------------

    def _on_start(self, ev: dict[str, Any]) -> list[WireEvent]:
        out = self._end({}) if self.open else []
        self._new_response()
        self.open = True
        meta = _meta(ev)
        self.id = ev.get("id") or f"msg_{uuid.uuid4().hex[:24]}"
        usage = _raw_usage(meta["usage"]) if isinstance(meta.get("usage"), dict) else {}
        usage.setdefault("input_tokens", 0)
        usage.setdefault("output_tokens", 0)
        message: dict[str, Any] = {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": ev.get("model") or self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage,
        }
        message.update((k, v) for k, v in meta.items() if k not in _MESSAGE_FIELDS)
        out.append(_event({"type": "message_start", "message": message}))
        return out

    def _on_text_start(self, ev: dict[str, Any]) -> list[WireEvent]:
        out = self._close_blocks()
        if ev.get("refusal"):
            self.drop("refusal marks on text (the text is kept)")
        index, start = self._block_start({"type": "text", "text": ""})
        out.append(start)
        self.cur = ("text", ev["id"], index)
        return out

    def _on_text_delta(self, ev: dict[str, Any]) -> list[WireEvent]:
        out = [] if self._is("text", ev["id"]) else self._on_text_start(ev)
        index = self.cur[2]  # type: ignore[index]
        out.append(self._delta(index, {"type": "text_delta", "text": ev["delta"]}))  # type: ignore[arg-type]
        if self.templates_wanted:
            self._template("text-delta", ev["id"], index, "text_delta", "text")  # type: ignore[arg-type]
        return out

    def _on_text_end(self, ev: dict[str, Any]) -> list[WireEvent]:
        out: list[WireEvent] = []
        if not self._is("text", ev["id"]):  # an end without a start: the block is its text
            if not ev.get("text"):
                return out
            out = self._on_text_delta({"type": "text-delta", "id": ev["id"], "delta": ev["text"]})
        self.pending_text = self.cur[2]  # type: ignore[index]
        self.cur = None
        return out

    def _on_reasoning_start(self, ev: dict[str, Any]) -> list[WireEvent]:
        out = self._close_blocks()
        # the block's start is written with its first delta or at its end, once its kind is known
        self.cur = ("reasoning", ev["id"], None)
        self.reasoning_meta = dict(_meta(ev))
        self.compaction_text = []
        return out

    def _reasoning_kind(self) -> str:
        meta = self.reasoning_meta
        if meta.get("type") in ("compaction", "fallback"):
            return str(meta["type"])
        if meta.get("redacted_data") is not None:
            return "redacted_thinking"
        return "thinking"

    def _on_reasoning_delta(self, ev: dict[str, Any]) -> list[WireEvent]:
        out = [] if self._is("reasoning", ev["id"]) else self._on_reasoning_start(ev)
        kind = self._reasoning_kind()
        if kind == "compaction":
            self.compaction_text.append(ev["delta"])  # one compaction_delta holds it all
            return out
        if kind == "fallback":
            return out  # a fallback block has no text
        cur = self.cur
        assert cur is not None
        index = cur[2]
        if not ev["delta"]:
            return out  # says nothing (and must not make a redacted block a thinking one)
        if index is None:
            index, start = self._block_start({"type": "thinking", "thinking": "", "signature": ""})
            out.append(start)
            self.cur = (cur[0], cur[1], index)
        out.append(self._delta(index, {"type": "thinking_delta", "thinking": ev["delta"]}))
        if self.templates_wanted:
            self._template("reasoning-delta", ev["id"], index, "thinking_delta", "thinking")
        return out

    def _on_reasoning_end(self, ev: dict[str, Any]) -> list[WireEvent]:
        out: list[WireEvent] = []
        if hidden_reasoning(ev, NAME):
            self.drop(HIDDEN_REASONING)  # no Anthropic block can carry another provider's
        if not self._is("reasoning", ev["id"]):
            out = self._on_reasoning_start(ev)
            if ev.get("text"):
                out.extend(
                    self._on_reasoning_delta({"type": "reasoning-delta", "id": ev["id"], "delta": ev["text"]})
                )
        self.reasoning_meta.update(_meta(ev))
        cur = self.cur
        self.cur = None
        out.extend(self._end_reasoning(cur))  # type: ignore[arg-type]
        return out

    def _end_reasoning(self, cur: tuple[str, str, int | None]) -> list[WireEvent]:
        out: list[WireEvent] = []
        meta = self.reasoning_meta
        kind = self._reasoning_kind()
        index = cur[2]
        if kind == "compaction":
            if not self.beta:
                return self.drop("compaction blocks (beta: -O beta=true writes them)")
            block = {"type": "compaction", "content": None}
            block.update((k, v) for k, v in meta.items() if k not in ("type", "encrypted_content"))
            index, start = self._block_start(block)
            out.append(start)
            delta: dict[str, Any] = {
                "type": "compaction_delta",
                "content": "".join(self.compaction_text) or None,
            }
            if meta.get("encrypted_content") is not None:
                delta["encrypted_content"] = meta["encrypted_content"]
            out.append(self._delta(index, delta))
        elif kind == "fallback":
            if not self.beta:
                return self.drop("fallback blocks (beta: -O beta=true writes them)")
            block = {"type": "fallback"}
            block.update((k, v) for k, v in meta.items() if k != "type")
            index, start = self._block_start(block)
            out.append(start)
        elif index is None and kind == "redacted_thinking":
            index, start = self._block_start({"type": "redacted_thinking", "data": meta["redacted_data"]})
            out.append(start)
        else:
            if index is None:
                index, start = self._block_start({"type": "thinking", "thinking": "", "signature": ""})
                out.append(start)
            if meta.get("signature"):
                out.append(self._delta(index, {"type": "signature_delta", "signature": meta["signature"]}))
        out.append(self._stop(index))
        return out

    def _tool_block(self, ev: dict[str, Any]) -> dict[str, Any] | None:
        """The content block that starts a tool call, or None (counted) when it cannot be written."""
        meta = _meta(ev)
        if ev.get("provider_executed"):
            kind = meta.get("type")
            if not isinstance(kind, str) and ev.get("tool_name") in SEARCH_CALL_NAMES:
                self.searches.add(ev["id"])  # another provider's web search, as Anthropic's own
                return {"type": "server_tool_use", "id": ev["id"], "name": "web_search", "input": {}}
            if not isinstance(kind, str) and ev.get("tool_name") in FOREIGN_CODE:
                self.code_runs.add(ev["id"])  # another provider's code execution, as Anthropic's own
                return {"type": "server_tool_use", "id": ev["id"], "name": "code_execution", "input": {}}
            if not isinstance(kind, str):
                self.drop("provider-executed tool calls of other dialects")
                return None
            if kind not in STABLE_BLOCKS and not self.beta:
                self.drop(f"{kind} blocks (beta: -O beta=true writes them)")
                return None
            extra = {k: v for k, v in meta.items() if k != "type"}
        else:
            kind, extra = "tool_use", meta
        return {"type": kind, "id": ev["id"], "name": ev.get("tool_name") or "", "input": {}, **extra}

    def _open_call(self, call_id: str, block: dict[str, Any], fragments: list[str]) -> list[WireEvent]:
        index, start = self._block_start(block)
        out = [start]
        out.extend(self._delta(index, {"type": "input_json_delta", "partial_json": f}) for f in fragments)
        self.cur = ("tool", call_id, index)
        self.calls[call_id] = "open"
        return out

    def _next_queued(self) -> list[WireEvent]:
        """Write the first waiting call: whole if it has ended, else open, to stream the rest."""
        call_id = next(iter(self.queued))
        call = self.queued.pop(call_id)
        out = self._open_call(call_id, call.block, call.fragments)
        if call.done:
            out.append(self._stop(self.cur[2]))  # type: ignore[index, arg-type]
            self.calls[call_id] = "done"
            self.cur = None
        return out

    def _on_tool_input_start(self, ev: dict[str, Any]) -> list[WireEvent]:
        call_id = ev["id"]
        if call_id in self.calls:
            return []
        block = self._tool_block(ev)
        if block is None:
            self.calls[call_id] = "dropped"
            return []
        if self.cur is not None and self.cur[0] == "tool":
            # calls streamed side by side (Chat Completions' parallel calls): Anthropic's blocks
            # come one after the other, so this one waits until the open one ends
            self.queued[call_id] = _QueuedCall(block)
            self.calls[call_id] = "queued"
            return []
        out = self._close_blocks()
        out.extend(self._open_call(call_id, block, []))
        return out

    def _on_tool_input_delta(self, ev: dict[str, Any]) -> list[WireEvent]:
        state = self.calls.get(ev["id"])
        if state == "open":
            index = self.cur[2]  # type: ignore[index]
            if self.templates_wanted:
                self._template("tool-input-delta", ev["id"], index, "input_json_delta", "partial_json")  # type: ignore[arg-type]
            return [self._delta(index, {"type": "input_json_delta", "partial_json": ev["delta"]})]  # type: ignore[arg-type]
        if state == "queued":
            self.queued[ev["id"]].fragments.append(ev["delta"])
        return []  # a dropped call, or one already written

    def _on_tool_input_end(self, ev: dict[str, Any]) -> list[WireEvent]:
        return self._end_call(ev["id"], None)

    def _end_call(self, call_id: str, arguments: str | None) -> list[WireEvent]:
        state = self.calls.get(call_id)
        if state == "queued":
            call = self.queued[call_id]
            call.done = True
            if arguments is not None and "".join(call.fragments) != arguments:
                call.fragments = [arguments] if arguments else []
            return []
        if state != "open":
            return []
        out = [self._stop(self.cur[2])]  # type: ignore[index, arg-type]
        self.calls[call_id] = "done"
        self.cur = None
        while self.queued and self.cur is None:
            out.extend(self._next_queued())
        return out

    def _on_tool_call(self, ev: dict[str, Any]) -> list[WireEvent]:
        call_id = ev["tool_call_id"]
        if ev.get("provider_executed") and isinstance(ev.get("input"), dict):
            self.search_inputs[call_id] = ev["input"]  # (read if it is a search: _search_results)
        arguments = ev.get("arguments")
        if arguments is None:
            arguments = orjson.dumps(ev.get("input") or {}).decode()
        if call_id in self.calls:  # written from its tool-input events (or dropped)
            return self._end_call(call_id, arguments)
        # a call with no tool-input events: written whole
        start = {
            "type": "tool-input-start",
            "id": call_id,
            "tool_name": ev.get("tool_name") or "",
            "provider_executed": ev.get("provider_executed"),
            "provider_metadata": ev.get("provider_metadata"),
        }
        out = self._on_tool_input_start(start)
        if arguments:
            out.extend(self._on_tool_input_delta({"id": call_id, "delta": arguments}))
        out.extend(self._end_call(call_id, arguments))
        return out

    def _on_tool_result(self, ev: dict[str, Any]) -> list[WireEvent]:
        if not ev.get("provider_executed"):
            return []  # a client tool's result belongs to the next request, not to this stream
        meta = _meta(ev)
        kind = meta.get("type")
        if not isinstance(kind, str) and ev["tool_call_id"] in self.searches:
            kind, meta = "web_search_tool_result", {}
            ev = {**ev, "output": self._search_results(ev)}
        elif not isinstance(kind, str) and ev["tool_call_id"] in self.code_runs:
            kind, meta = "code_execution_tool_result", {}
            ev = {**ev, "output": _code_result(ev)}
        if not isinstance(kind, str):
            return self.drop("provider-executed tool results of other dialects")
        if kind not in STABLE_BLOCKS and not self.beta:
            return self.drop(f"{kind} blocks (beta: -O beta=true writes them)")
        out = self._close_blocks()
        block = {"type": kind, "tool_use_id": ev["tool_call_id"], "content": ev.get("output")}
        block.update((k, v) for k, v in meta.items() if k != "type")
        index, start = self._block_start(block)
        out.append(start)
        out.append(self._stop(index))
        return out

    def _search_results(self, ev: dict[str, Any]) -> list[dict[str, Any]]:
        """Another provider's search results as ``web_search_result`` blocks: the pages its
        result or its call's input names (a Responses search's ``sources``), else none; each has
        an empty ``encrypted_content``, which only Anthropic's own results fill."""
        pages = search_pages(ev.get("output"), self.search_inputs.get(ev["tool_call_id"]))
        return [_page(url, title or url) for url, title in pages]

    def _on_source(self, ev: dict[str, Any]) -> list[WireEvent]:
        citation = _meta(ev).get("citation")
        if (
            not isinstance(citation, dict)
            and ev.get("source_type") == "url"
            and isinstance(ev.get("url"), str)
        ):
            title = ev.get("title")
            self.pages.setdefault(ev["url"], title if isinstance(title, str) and title else ev["url"])
            return []  # (written at the end: _grounding)
        if not isinstance(citation, dict):
            return self.drop("sources that are not Anthropic citations")
        if self.cur is not None and self.cur[0] == "text":
            index = self.cur[2]
        elif self.pending_text is not None:
            index = self.pending_text
        else:
            return self.drop("citations outside a text block")
        return [self._delta(index, {"type": "citations_delta", "citation": citation})]  # type: ignore[arg-type]

    def _on_file(self, ev: dict[str, Any]) -> list[WireEvent]:
        return self.drop("files")

    def _on_finish(self, ev: dict[str, Any]) -> list[WireEvent]:
        if ev.get("finish_reason") == "error" and self.errored:
            self.open = False  # the stream ends at its error event, as Anthropic's do
            for _ in self.pages:  # (whose search is never written)
                self.drop("sources that are not Anthropic citations")
            self.pages = {}
            return []
        out = self._close_blocks()
        out.extend(self._end(ev))
        return out

    def _grounding(self, ev: dict[str, Any]) -> list[WireEvent]:
        """The pages another provider grounded its answer in (Gemini's Google Search grounding, url
        citations) when no search of its was written: one ``web_search`` after the text, its
        query the provider's own if it said one, its results the pages; so that a client such as
        Claude Code lists them. After a search that was written they are citations, which
        Anthropic cannot write without its own encrypted indexes: dropped, with a warning."""
        pages, self.pages = self.pages, {}
        if not pages:
            return []
        if self.searches:
            for _ in pages:
                self.drop("sources that are not Anthropic citations")
            return []
        grounding = ((ev.get("provider_metadata") or {}).get("gemini") or {}).get("grounding_metadata")
        queries = grounding.get("webSearchQueries") if isinstance(grounding, dict) else None
        call_id = f"srvtoolu_{self.id}"
        self.searches.add(call_id)
        index, start = self._block_start(
            {"type": "server_tool_use", "id": call_id, "name": "web_search", "input": {}}
        )
        out = [start]
        if isinstance(queries, list) and queries and isinstance(queries[0], str):
            query = orjson.dumps({"query": queries[0]}).decode()
            out.append(self._delta(index, {"type": "input_json_delta", "partial_json": query}))
        out.append(self._stop(index))
        results = [_page(url, title) for url, title in pages.items()]
        index, start = self._block_start(
            {"type": "web_search_tool_result", "tool_use_id": call_id, "content": results}
        )
        out += [start, self._stop(index)]
        return out

    def _end(self, ev: dict[str, Any]) -> list[WireEvent]:
        """message_delta and message_stop, from a finish event (or {} when there was none)."""
        out = self._close_blocks()
        out.extend(self._grounding(ev))
        meta = _meta(ev)
        raw = ev.get("raw_finish_reason")
        reason = (
            raw if raw in WIRE_STOP_REASONS else CANONICAL_STOP_REASONS.get(ev.get("finish_reason") or "")
        )
        delta: dict[str, Any] = {"stop_reason": reason, "stop_sequence": meta.get("stop_sequence")}
        for key in _DELTA_FIELDS[1:]:
            if meta.get(key) is not None:
                delta[key] = meta[key]
        if isinstance(meta.get("usage"), dict):
            usage = _raw_usage(meta["usage"])
            usage.setdefault("output_tokens", 0)
        else:
            usage = wire_usage(ev.get("usage") or {})
            if self.searches:  # (another provider's searches, counted as Anthropic counts its own)
                usage["server_tool_use"] = {
                    "web_search_requests": len(self.searches),
                    "web_fetch_requests": 0,
                }
        message_delta: dict[str, Any] = {"type": "message_delta", "delta": delta, "usage": usage}
        message_delta.update((k, v) for k, v in meta.items() if k not in _DELTA_FIELDS and k not in _OURS)
        out.append(_event(message_delta))
        out.append(_event({"type": "message_stop"}))
        self.open = False
        return out

    def _on_error(self, ev: dict[str, Any]) -> list[WireEvent]:
        if ev.get("code") == "bad-input":
            return []  # a bad line upstream of us, not an upstream error
        err = _meta(ev).get("error")
        if not isinstance(err, dict):
            code = ev.get("code")
            err = {
                "type": code if isinstance(code, str) and code else "api_error",
                "message": ev.get("message", ""),
            }
        self.errored = True
        return [("error", {"type": "error", "error": err})]

    def _on_message(self, ev: dict[str, Any]) -> list[WireEvent]:
        if self.open or self.id is not None:
            return []  # the events it sums up were already written
        # message_to_events leaves a part's provider_metadata off the events that start it; the
        # start of a block needs it here (a call's caller or server type, a compaction's type)
        parts = {
            kind: iter([p for p in ev.get("content") or () if p.get("type") == kind])
            for kind in ("reasoning", "tool-call")
        }
        meta = _meta(ev)
        out: list[WireEvent] = []
        for sub in message_to_events(ev):
            kind = sub.get("type")
            if kind == "start":  # the message's final usage stands for the one at its start
                sub.pop("provider_metadata", None)
                if isinstance(meta.get("usage"), dict):
                    sub["provider_metadata"] = {NAME: {"usage": meta["usage"]}}
            elif kind == "finish" and ev.get("provider_metadata"):
                # (the message's own, and another dialect's that the end reads: Gemini's grounding)
                sub["provider_metadata"] = (
                    {**ev["provider_metadata"], NAME: meta} if meta else ev["provider_metadata"]
                )
            elif kind in ("reasoning-start", "tool-input-start"):
                part = next(parts["reasoning" if kind == "reasoning-start" else "tool-call"], None)
                if part is not None and part.get("provider_metadata"):
                    sub["provider_metadata"] = part["provider_metadata"]
            out.extend(self.feed(sub))
        self.id = None  # the next bare message starts its own response
        return out

    _handlers: dict[str, Any] = {
        "start": _on_start,
        "text-start": _on_text_start,
        "text-delta": _on_text_delta,
        "text-end": _on_text_end,
        "reasoning-start": _on_reasoning_start,
        "reasoning-delta": _on_reasoning_delta,
        "reasoning-end": _on_reasoning_end,
        "tool-input-start": _on_tool_input_start,
        "tool-input-delta": _on_tool_input_delta,
        "tool-input-end": _on_tool_input_end,
        "tool-call": _on_tool_call,
        "tool-result": _on_tool_result,
        "source": _on_source,
        "file": _on_file,
        "finish": _on_finish,
        "error": _on_error,
        "message": _on_message,
    }
