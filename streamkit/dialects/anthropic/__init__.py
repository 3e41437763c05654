"""Anthropic Messages streaming, both ways.

Each SSE event is named after its payload's ``type``: ``message_start``, then per content block
``content_block_start`` / ``content_block_delta``\\* / ``content_block_stop`` (blocks carry their
position in ``index``), then ``message_delta`` (stop reason, usage) and ``message_stop``.

What the wire sends, and what becomes of it (canonical events on the right):

* ``message_start`` → ``start`` (``id``, ``model``; the message's usage as sent at the start in
  ``provider_metadata["anthropic"]["usage"]``). A ``message_start`` whose ``content`` already
  holds whole blocks (the follow-up messages of programmatic tool calling) gives those blocks'
  events at once; a ``stop_reason`` or ``container`` on it counts as if sent by ``message_delta``.
  Several messages in one recording are several responses; one cut off before its
  ``message_stop`` is finished when the next ``message_start`` (or the end of input) comes.
* ``text`` blocks → ``text-start`` / ``text-delta`` / ``text-end``, ids ``text-<index>``.
* ``citations_delta`` → ``source``: ``url`` for ``web_search_result_location`` (and for a
  ``search_result_location`` whose ``source`` is an http(s) URL), ``document`` for
  ``char_location`` / ``page_location`` / ``content_block_location`` (title from
  ``document_title``); the citation object itself in ``provider_metadata["anthropic"]["citation"]``.
  Ids ``src-<n>``, one source per citation (not deduplicated: each cites different text).
* ``thinking`` blocks → ``reasoning-*``, ids ``reasoning-<index>``; the ``signature_delta`` →
  ``reasoning-end.provider_metadata["anthropic"]["signature"]``.
* ``redacted_thinking`` → a reasoning block with empty text and
  ``provider_metadata["anthropic"]["redacted_data"]`` (the block's ``data``).
* ``compaction`` blocks (context management, beta) → a reasoning block marked
  ``provider_metadata["anthropic"]["type"] = "compaction"`` (on ``reasoning-start`` and
  ``reasoning-end``), the summary (``compaction_delta.content``) as its text, and
  ``encrypted_content``, ``signature``, ``tool_changes`` beside the type when sent. A summary of
  earlier context is neither the answer nor hidden state, and a reasoning block is what other
  dialects and renderers show as "not the answer" (dimmed), so nothing of it is lost elsewhere.
* ``tool_use`` → a client tool call: ``tool-input-start``, one ``tool-input-delta`` per non-empty
  ``input_json_delta``, ``tool-input-end`` and ``tool-call`` at ``content_block_stop``. A tool with
  no arguments (no delta, or only empty ones) gives arguments ``"{}"`` and ``input: {}``; an
  ``input`` already filled in the block itself (whole blocks in ``message_start``) is the
  arguments when no delta comes.
  Fields beyond ``id``/``name``/``input`` (``caller``, for programmatic tool calling) →
  ``provider_metadata["anthropic"]`` of ``tool-input-start`` and ``tool-call``.
* ``server_tool_use`` and ``mcp_tool_use`` (and any other block with ``id``, ``name`` and
  ``input``) → the same events with ``provider_executed: true``, the block's type and extra
  fields (``server_name``, ``caller``) in ``provider_metadata["anthropic"]``.
* ``*_tool_result`` blocks (``web_search_tool_result``, ``web_fetch_tool_result``,
  ``code_execution_tool_result``, ``bash_code_execution_tool_result``,
  ``text_editor_code_execution_tool_result``, ``tool_search_tool_result``, ``mcp_tool_result``,
  and any other block with a ``tool_use_id``) → ``tool-result`` with ``provider_executed: true``:
  ``output`` the block's ``content``, ``tool_name`` the name of the call it answers,
  ``is_error`` from ``is_error`` (MCP) or a content type ending in ``_error``; the block's type
  and other fields in ``provider_metadata["anthropic"]``, so encoding restores the block exactly.
* ``message_delta`` → the response's ``finish`` (written at ``message_stop``):
  ``stop_reason`` end_turn and stop_sequence → stop; max_tokens and
  model_context_window_exceeded → length; tool_use → tool-calls; refusal → content-filter;
  pause_turn → other (the server paused a long turn: send the conversation back as it is to let
  it continue); anything else → other; the original in ``raw_finish_reason``.
  ``stop_sequence``, ``stop_details`` (the refusal's category and explanation), ``container``
  (needed to continue with the same code-execution container) and ``context_management`` →
  ``finish.provider_metadata["anthropic"]``.
* Usage: ``message_start``'s usage, then each ``message_delta``'s usage overriding the fields it
  carries (so input tokens given late win). Anthropic's ``input_tokens`` leaves out cached
  tokens; canonical ``input_tokens`` is ``input_tokens + cache_read_input_tokens +
  cache_creation_input_tokens`` so that it means what it means in the other dialects;
  ``cached_input_tokens`` is ``cache_read_input_tokens``; ``reasoning_tokens`` is
  ``output_tokens_details.thinking_tokens``; ``total_tokens`` is input + output. The merged raw
  usage is kept in ``finish.provider_metadata["anthropic"]["usage"]``.
* ``ping`` → nothing (a keepalive: framing).
* ``error`` → ``error`` (``code`` the error's type; ``retryable`` for the types the official SDK
  retries: ``overloaded_error``, ``api_error``, ``rate_limit_error``, ``timeout_error``,
  ``gateway_timeout_error``), the error object in ``provider_metadata``; the response then
  finishes with ``finish_reason: error``.
* A text or thinking delta for a block never started (a capture that begins mid-stream) opens
  the block; an ``input_json_delta`` for one is a data error (a call with no id or name).
  Block types with no canonical meaning (``container_upload``, ...) are counted by normalize
  (kept as raw events with ``--keep-raw``).

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
* What Anthropic cannot express is dropped with a warning: sources that are not Anthropic
  citations (a citation needs an index into the request's documents or an encrypted
  search-result index, which a foreign source has not), provider-executed tools of other
  dialects, files, refusal marks on text (the text is kept), events of choices k>0. A client
  tool's ``tool-result`` belongs to the next request, not to this stream: it is left out.
* Blocks only the beta API has (``mcp_tool_use``, ``mcp_tool_result``, ``compaction``, ...) are
  not in ``RawMessageStreamEvent``: they are written with ``-O beta=true`` (the stream then
  validates as ``BetaRawMessageStreamEvent``, what ``client.beta.messages.stream()`` reads) and
  dropped with a warning otherwise.

Requests (``fetch``, ``agent``): ``POST {base}/v1/messages`` (a base URL that already ends in
``/v1`` is not doubled), base URL from ``ANTHROPIC_BASE_URL`` else ``https://api.anthropic.com``,
the key from ``ANTHROPIC_API_KEY`` in the ``x-api-key`` header (nowhere else), and
``anthropic-version: 2023-06-01``. The body, from a canonical conversation:

* ``model``; ``max_tokens`` (the API requires it): the ``max_tokens`` option, else 4096, plus the
  thinking budget when ``thinking.budget_tokens`` is set (the API wants it above the budget);
  ``system``: the ``system`` field and system messages, joined; ``stream: true``.
* ``messages`` alternate user / assistant: consecutive messages of one side are merged, so tool
  messages (and a user message that follows them) become one user message whose ``tool_result``
  blocks (``tool_use_id``, ``content``: the output, JSON text unless a string, ``is_error: true``
  for a failed tool) come first, as the API requires. User text is a string when it is all the
  message holds; file parts become ``image`` blocks (JPEG, PNG, GIF, WebP; base64 or URL source),
  ``document`` blocks for PDFs (base64 or URL) and plain text (``text/*``, decoded); anything else
  is a usage error.
* Earlier assistant turns keep their blocks in order: ``text``; reasoning that came from
  Anthropic as ``thinking`` with its exact ``signature``, ``redacted_thinking`` with its
  ``data``, ``compaction`` with its content and opaque fields (the API needs them back when
  thinking is on and tools are used); ``tool_use`` (``id``, ``name``, ``input``, and ``caller``
  when sent); provider-executed calls and results that came from Anthropic as the blocks they
  were (``server_tool_use``, ``web_search_tool_result``, ...). Reasoning with no signature (other
  dialects', or a thinking block cut off before its signature) is left out: the API rejects it.
  Sources are not sent back (they describe the answer). Provider-executed tools of other
  dialects and files in assistant turns cannot be sent: left out with a warning.
* ``container``: the code-execution container of the last Anthropic turn that had one (a
  programmatic tool call must be answered in its container), unless the options name one.
* ``tools``: ``name``, ``description``, ``input_schema``; a ``tools`` option (server tools such as
  ``{"type": "web_search_20250305", "name": "web_search"}``) is added after them.
* Options: ``max_tokens``, ``temperature``, ``top_p`` as they are, ``stop`` → ``stop_sequences``
  (a string becomes a list); ``seed`` has no Messages parameter (left out with a warning);
  ``betas`` (a list or a comma-separated string) goes to the ``anthropic-beta`` header; anything
  else (``thinking``, ``tool_choice``, ``metadata``, ``top_k``, ``context_management``, ...) is
  sent as it is.

The server keeps no state: every request carries the whole conversation (``continuation_state``
is ``None``). A ``pause_turn`` response is continued by sending the conversation back with the
paused assistant turn last, as it is. A native ``--body`` is sent as-is. ``streamkit serve -d
anthropic`` answers on ``/v1/messages`` and ``/messages``.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson

from ...canonical import message_to_events, parse_arguments
from ...errors import DataError, UsageError
from ..base import Dialect, Encoder, Endpoint, Normalizer, Request, WireEvent

NAME = "anthropic"

FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool-calls",
    "refusal": "content-filter",
    "pause_turn": "other",
}

#: every stop_reason the SDK's type accepts
WIRE_STOP_REASONS = frozenset(FINISH_REASONS)

# canonical finish reason -> stop_reason, when the finish did not come from Anthropic
CANONICAL_STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool-calls": "tool_use",
    "content-filter": "refusal",
}

#: error types worth a retry (the ones the official SDK retries: 429, 5xx, 529)
RETRYABLE_ERRORS = frozenset(
    {"overloaded_error", "api_error", "rate_limit_error", "timeout_error", "gateway_timeout_error"}
)

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

STREAM_TYPES = frozenset(
    {
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
        "ping",
    }
)

# message fields with a place of their own (the rest ride in start.provider_metadata)
_MESSAGE_FIELDS = frozenset(
    {
        "id",
        "type",
        "role",
        "model",
        "content",
        "stop_reason",
        "stop_sequence",
        "stop_details",
        "usage",
        "container",
    }
)
# message_delta.delta fields (the rest of the finish metadata goes at the event's top level)
_DELTA_FIELDS = ("stop_sequence", "stop_details", "container")
_USAGE_INPUTS = ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")


def _count(usage: dict[str, Any], key: str) -> int | None:
    value = usage.get(key)
    if value is None:
        return None
    if type(value) is not int:
        raise DataError(f"usage.{key} is {value!r}, expected an integer")
    return value


def map_usage(usage: dict[str, Any]) -> dict[str, Any]:
    """Anthropic usage → canonical usage (input counting cached tokens, as in other dialects)."""
    out: dict[str, Any] = {}
    inputs = [_count(usage, key) for key in _USAGE_INPUTS]
    if any(n is not None for n in inputs):
        out["input_tokens"] = sum(n or 0 for n in inputs)
    output = _count(usage, "output_tokens")
    if output is not None:
        out["output_tokens"] = output
    if "input_tokens" in out and output is not None:
        out["total_tokens"] = out["input_tokens"] + output
    if inputs[1] is not None:
        out["cached_input_tokens"] = inputs[1]
    details = usage.get("output_tokens_details")
    if isinstance(details, dict) and details.get("thinking_tokens") is not None:
        out["reasoning_tokens"] = _count(details, "thinking_tokens")
    return out


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


def _meta(event: dict[str, Any]) -> dict[str, Any]:
    """The anthropic part of an event's provider_metadata ({} when none)."""
    pm = event.get("provider_metadata")
    if not pm:
        return {}
    meta = pm.get(NAME)
    return meta if isinstance(meta, dict) else {}


class _Block:
    """One open content block of the response being normalized."""

    __slots__ = ("args", "executed", "id", "initial", "kind", "meta", "name", "wire_type")

    def __init__(self, kind: str, wire_type: str, block_id: str | None = None) -> None:
        self.kind = kind  # text, reasoning, tool, other
        self.wire_type = wire_type
        self.id = block_id
        self.name = ""
        self.args: list[str] = []
        self.initial = ""  # a tool's arguments given whole in its block
        self.executed = False
        self.meta: dict[str, Any] = {}


class AnthropicNormalizer(Normalizer):
    """One stream of Messages events (possibly several messages, each a response)."""

    def __init__(self, **options: Any) -> None:
        self._call_ids = 0
        # tool call id -> tool name, for the results (kept across the messages of a stream: a
        # result may answer a call of an earlier message, as in programmatic tool calling)
        self.call_names: dict[str, str] = {}
        self._reset()

    def _reset(self) -> None:
        self.started = False
        self.start_event: dict[str, Any] = {"type": "start", "id": None, "model": None, "dialect": NAME}
        self.blocks: dict[int, _Block] = {}
        self.text_ids: dict[Any, str] = {}  # index of an open text block -> its id (the hot path)
        self.usage: dict[str, Any] | None = None
        self.stop_reason: str | None = None
        self.finish_meta: dict[str, Any] = {}
        self.error = False
        self.nsources = 0

    # --- the wire events -----------------------------------------------------------------

    def feed(self, data: Any, event: str | None = None) -> list[dict[str, Any]] | None:
        # The hot path, measured in `make bench`: a text delta in a text block already open
        # (subscripts rather than .get: anything else raises, or misses, and goes the long way).
        try:
            delta = data["delta"]
            if delta["type"] == "text_delta":
                text = delta["text"]
                if type(text) is str:
                    bid = self.text_ids[data["index"]]
                    return [{"type": "text-delta", "id": bid, "delta": text}] if text else []
        except (KeyError, TypeError):
            pass
        return self._feed(data, event)

    def _feed(self, data: Any, event: str | None) -> list[dict[str, Any]] | None:
        if type(data) is not dict:
            return None
        handler = _EVENT_HANDLERS.get(data.get("type") or event)  # type: ignore[arg-type]
        if handler is None:
            return None
        result: list[dict[str, Any]] | None = handler(self, data)
        return result

    def close(self) -> list[dict[str, Any]]:
        return self._end_response()

    # --- message level ---------------------------------------------------------------------

    def _start(self, out: list[dict[str, Any]]) -> None:
        if not self.started:
            self.started = True
            out.append(self.start_event)

    def _on_message_start(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        message = data.get("message")
        if not isinstance(message, dict):
            raise DataError("message_start without a message object")
        out = self._end_response()  # a message never stopped ends where the next one starts
        ev = self.start_event
        ev["id"] = message.get("id")
        ev["model"] = message.get("model")
        meta = {k: v for k, v in message.items() if k not in _MESSAGE_FIELDS and v is not None}
        usage = message.get("usage")
        if isinstance(usage, dict):
            self.usage = dict(usage)
            meta["usage"] = usage
        if meta:
            ev["provider_metadata"] = {NAME: meta}
        if message.get("stop_reason") is not None:
            self.stop_reason = message["stop_reason"]
        for key in _DELTA_FIELDS:
            if message.get(key) is not None:
                self.finish_meta[key] = message[key]
        self._start(out)
        content = message.get("content")
        if content and isinstance(content, list):
            for index, block in enumerate(content):
                if isinstance(block, dict):
                    self._block_start(index, block, out)
                    self._block_stop(index, out)
        return out

    def _on_message_delta(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        delta = data.get("delta") or {}
        if not isinstance(delta, dict):
            raise DataError(f"message_delta.delta is a {type(delta).__name__}, expected an object")
        for key, value in delta.items():
            if key == "stop_reason":
                if value is not None:
                    self.stop_reason = value
            elif value is not None:
                self.finish_meta[key] = value
        usage = data.get("usage")
        if isinstance(usage, dict):
            merged = self.usage or {}
            merged.update((k, v) for k, v in usage.items() if v is not None)
            self.usage = merged
        for key, value in data.items():
            if key not in ("type", "delta", "usage") and value is not None:
                self.finish_meta[key] = value
        return []

    def _on_message_stop(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        return self._end_response()

    def _on_ping(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        return []

    def _on_error(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        self._start(out)
        err = data.get("error")
        if not isinstance(err, dict):
            err = {k: v for k, v in data.items() if k != "type"}
        kind = err.get("type")
        ev: dict[str, Any] = {"type": "error", "message": str(err.get("message") or kind or "upstream error")}
        if isinstance(kind, str):
            ev["code"] = kind
            ev["retryable"] = kind in RETRYABLE_ERRORS
        meta: dict[str, Any] = {"error": err}
        if data.get("request_id"):
            meta["request_id"] = data["request_id"]
        ev["provider_metadata"] = {NAME: meta}
        out.append(ev)
        self.error = True
        return out

    def _end_response(self) -> list[dict[str, Any]]:
        """The response ends: close what is open, then its finish."""
        out: list[dict[str, Any]] = []
        if not self.started:
            if not (self.blocks or self.usage or self.error or self.stop_reason):
                self._reset()
                return out
            self._start(out)
        for index in list(self.blocks):
            self._block_stop(index, out)
        raw = self.stop_reason
        if raw is None:
            reason = "error" if self.error else "other"
        else:
            reason = FINISH_REASONS.get(raw, "other")
        fin: dict[str, Any] = {"type": "finish", "finish_reason": reason, "raw_finish_reason": raw}
        meta = dict(self.finish_meta)
        if self.usage is not None:
            fin["usage"] = map_usage(self.usage)
            meta["usage"] = self.usage
        if meta:
            fin["provider_metadata"] = {NAME: meta}
        out.append(fin)
        self._reset()
        return out

    # --- content blocks --------------------------------------------------------------------

    def _on_block_start(self, data: dict[str, Any]) -> list[dict[str, Any]] | None:
        index = data.get("index")
        block = data.get("content_block")
        if type(index) is not int or not isinstance(block, dict):
            raise DataError("content_block_start needs an integer index and a content_block object")
        out: list[dict[str, Any]] = []
        if index in self.blocks:
            self._block_stop(index, out)
        known = self._block_start(index, block, out)
        return out if known or out else None

    def _block_start(self, index: int, block: dict[str, Any], out: list[dict[str, Any]]) -> bool:
        """Open block ``index``; returns False for a block type with no canonical meaning."""
        kind = block.get("type")
        if kind == "text":
            self._start(out)
            b = self._open_text(index, out)
            if block.get("text"):
                out.append({"type": "text-delta", "id": b.id, "delta": block["text"]})
            for citation in block.get("citations") or ():
                self._source(citation, out)
        elif kind == "thinking":
            self._start(out)
            b = self._open_reasoning(index, "thinking", out)
            if block.get("thinking"):
                out.append({"type": "reasoning-delta", "id": b.id, "delta": block["thinking"]})
            if block.get("signature"):
                b.meta["signature"] = block["signature"]
        elif kind == "redacted_thinking":
            self._start(out)
            b = self._open_reasoning(index, "redacted_thinking", out)
            b.meta["redacted_data"] = block.get("data") or ""
        elif kind == "compaction":
            self._start(out)
            meta = {"type": "compaction"}
            meta.update((k, v) for k, v in block.items() if k not in ("type", "content") and v is not None)
            b = self._open_reasoning(index, "compaction", out, meta)
            if block.get("content"):
                out.append({"type": "reasoning-delta", "id": b.id, "delta": block["content"]})
        elif "tool_use_id" in block or (isinstance(kind, str) and kind.endswith("_tool_result")):
            self._start(out)
            self._tool_result(index, block, out)
        elif kind == "tool_use" or ("id" in block and "name" in block and "input" in block):
            self._start(out)
            self._open_call(index, block, out)
        else:
            self.blocks[index] = _Block("other", str(kind))
            return False
        return True

    def _open_text(self, index: int, out: list[dict[str, Any]]) -> _Block:
        b = self.blocks[index] = _Block("text", "text", f"text-{index}")
        self.text_ids[index] = b.id  # type: ignore[assignment]
        out.append({"type": "text-start", "id": b.id})
        return b

    def _open_reasoning(
        self, index: int, wire_type: str, out: list[dict[str, Any]], meta: dict[str, Any] | None = None
    ) -> _Block:
        b = self.blocks[index] = _Block("reasoning", wire_type, f"reasoning-{index}")
        ev: dict[str, Any] = {"type": "reasoning-start", "id": b.id}
        if meta:
            b.meta.update(meta)
            ev["provider_metadata"] = {NAME: dict(meta)}
        out.append(ev)
        return b

    def _open_call(self, index: int, block: dict[str, Any], out: list[dict[str, Any]]) -> None:
        kind = block.get("type")
        b = self.blocks[index] = _Block("tool", str(kind))
        call_id = block.get("id")
        if not isinstance(call_id, str) or not call_id:
            call_id = f"call_{self._call_ids}"
            self._call_ids += 1
        b.id = call_id
        b.name = str(block.get("name") or "")
        b.executed = kind != "tool_use"
        extra = {k: v for k, v in block.items() if k not in ("id", "name", "input", "type") and v is not None}
        if b.executed:
            b.meta = {"type": kind, **extra}
        else:
            b.meta = extra
        initial = block.get("input")
        if initial:
            b.initial = orjson.dumps(initial).decode()
        self.call_names[call_id] = b.name
        ev: dict[str, Any] = {"type": "tool-input-start", "id": call_id, "tool_name": b.name}
        if b.executed:
            ev["provider_executed"] = True
        if b.meta:
            ev["provider_metadata"] = {NAME: dict(b.meta)}
        out.append(ev)

    def _tool_result(self, index: int, block: dict[str, Any], out: list[dict[str, Any]]) -> None:
        self.blocks[index] = _Block("other", str(block.get("type")))  # whole at its start
        call_id = str(block.get("tool_use_id") or "")
        content = block.get("content")
        is_error = block.get("is_error")
        if not isinstance(is_error, bool):
            kind = content.get("type") if isinstance(content, dict) else None
            is_error = isinstance(kind, str) and kind.endswith("_error")
        meta = {k: v for k, v in block.items() if k not in ("tool_use_id", "content")}
        out.append(
            {
                "type": "tool-result",
                "tool_call_id": call_id,
                "tool_name": self.call_names.get(call_id) or str(block.get("type") or "tool"),
                "output": content,
                "is_error": is_error,
                "provider_executed": True,
                "provider_metadata": {NAME: meta},
            }
        )

    def _on_block_delta(self, data: dict[str, Any]) -> list[dict[str, Any]] | None:
        index = data.get("index")
        delta = data.get("delta")
        if type(index) is not int or not isinstance(delta, dict):
            raise DataError("content_block_delta needs an integer index and a delta object")
        handler = _DELTA_HANDLERS.get(delta.get("type"))  # type: ignore[arg-type]
        if handler is None:
            return None
        b = self.blocks.get(index)
        if b is not None and b.kind == "other":
            return None  # a delta of a block with no canonical meaning
        out: list[dict[str, Any]] = []
        handler(self, index, b, delta, out)
        return out

    def _expect(self, b: _Block | None, kind: str, index: Any, delta: dict[str, Any]) -> None:
        if b is not None and b.kind != kind:
            raise DataError(f"{delta.get('type')} for content block {index}, a {b.wire_type} block")

    def _on_text_delta(
        self, index: int, b: _Block | None, delta: dict[str, Any], out: list[dict[str, Any]]
    ) -> None:
        self._expect(b, "text", index, delta)
        text = delta.get("text")
        if not isinstance(text, str):
            raise DataError(f"text_delta for content block {index} without a text string")
        if b is None:  # a capture that begins mid-block
            self._start(out)
            b = self._open_text(index, out)
        if text:
            out.append({"type": "text-delta", "id": b.id, "delta": text})

    def _on_thinking_delta(
        self, index: int, b: _Block | None, delta: dict[str, Any], out: list[dict[str, Any]]
    ) -> None:
        self._expect(b, "reasoning", index, delta)
        if b is None:
            self._start(out)
            b = self._open_reasoning(index, "thinking", out)
        text = delta.get("thinking")
        if isinstance(text, str) and text:
            out.append({"type": "reasoning-delta", "id": b.id, "delta": text})

    def _on_signature_delta(
        self, index: int, b: _Block | None, delta: dict[str, Any], out: list[dict[str, Any]]
    ) -> None:
        self._expect(b, "reasoning", index, delta)
        if b is None:
            self._start(out)
            b = self._open_reasoning(index, "thinking", out)
        if delta.get("signature"):
            b.meta["signature"] = delta["signature"]  # the whole signature, as the SDK takes it

    def _on_compaction_delta(
        self, index: int, b: _Block | None, delta: dict[str, Any], out: list[dict[str, Any]]
    ) -> None:
        self._expect(b, "reasoning", index, delta)
        if b is None:
            self._start(out)
            b = self._open_reasoning(index, "compaction", out, {"type": "compaction"})
        if delta.get("content"):
            out.append({"type": "reasoning-delta", "id": b.id, "delta": delta["content"]})
        if delta.get("encrypted_content") is not None:
            b.meta["encrypted_content"] = delta["encrypted_content"]

    def _on_input_json_delta(
        self, index: int, b: _Block | None, delta: dict[str, Any], out: list[dict[str, Any]]
    ) -> None:
        if b is None:
            raise DataError(f"input_json_delta for content block {index}, which was never started")
        self._expect(b, "tool", index, delta)
        fragment = delta.get("partial_json")
        if not isinstance(fragment, str):
            raise DataError(f"input_json_delta for content block {index} without a partial_json string")
        if fragment:
            b.args.append(fragment)
            out.append({"type": "tool-input-delta", "id": b.id, "delta": fragment})

    def _on_citations_delta(
        self, index: int, b: _Block | None, delta: dict[str, Any], out: list[dict[str, Any]]
    ) -> None:
        self._start(out)
        self._source(delta.get("citation"), out)

    def _source(self, citation: Any, out: list[dict[str, Any]]) -> None:
        if not isinstance(citation, dict):
            raise DataError("a citation that is not an object")
        kind = citation.get("type")
        ev: dict[str, Any] = {"type": "source", "source_type": "document", "id": f"src-{self.nsources}"}
        self.nsources += 1
        if kind == "web_search_result_location":
            ev["source_type"] = "url"
            ev["url"] = citation.get("url")
            title = citation.get("title")
        elif kind == "search_result_location":
            source = citation.get("source")
            if isinstance(source, str) and source.startswith(("http://", "https://")):
                ev["source_type"] = "url"
                ev["url"] = source
            title = citation.get("title")
        else:  # char_location, page_location, content_block_location: a document of the request
            title = citation.get("document_title")
        if title:
            ev["title"] = title
        ev["provider_metadata"] = {NAME: {"citation": citation}}
        out.append(ev)

    def _on_block_stop(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        index = data.get("index")
        if index in self.blocks:
            self._block_stop(index, out)
        return out

    def _block_stop(self, index: int, out: list[dict[str, Any]]) -> None:
        b = self.blocks.pop(index)
        if b.kind == "text":
            self.text_ids.pop(index, None)
            out.append({"type": "text-end", "id": b.id})
        elif b.kind == "reasoning":
            ev: dict[str, Any] = {"type": "reasoning-end", "id": b.id}
            if b.meta:
                ev["provider_metadata"] = {NAME: b.meta}
            out.append(ev)
        elif b.kind == "tool":
            if not b.args:  # arguments given whole in the block, or none at all: "{}"
                b.args.append(b.initial or "{}")
                out.append({"type": "tool-input-delta", "id": b.id, "delta": b.args[0]})
            out.append({"type": "tool-input-end", "id": b.id})
            arguments = "".join(b.args)
            value, err = parse_arguments(arguments)
            call: dict[str, Any] = {
                "type": "tool-call",
                "tool_call_id": b.id,
                "tool_name": b.name,
                "arguments": arguments,
                "input": value,
            }
            if err:
                call["input_error"] = err
            if b.executed:
                call["provider_executed"] = True
            if b.meta:
                call["provider_metadata"] = {NAME: b.meta}
            out.append(call)


_EVENT_HANDLERS: dict[str, Any] = {
    "message_start": AnthropicNormalizer._on_message_start,
    "content_block_start": AnthropicNormalizer._on_block_start,
    "content_block_delta": AnthropicNormalizer._on_block_delta,
    "content_block_stop": AnthropicNormalizer._on_block_stop,
    "message_delta": AnthropicNormalizer._on_message_delta,
    "message_stop": AnthropicNormalizer._on_message_stop,
    "ping": AnthropicNormalizer._on_ping,
    "error": AnthropicNormalizer._on_error,
}

_DELTA_HANDLERS: dict[str, Any] = {
    "text_delta": AnthropicNormalizer._on_text_delta,
    "thinking_delta": AnthropicNormalizer._on_thinking_delta,
    "signature_delta": AnthropicNormalizer._on_signature_delta,
    "compaction_delta": AnthropicNormalizer._on_compaction_delta,
    "input_json_delta": AnthropicNormalizer._on_input_json_delta,
    "citations_delta": AnthropicNormalizer._on_citations_delta,
}


# --- the encoder ---------------------------------------------------------------------------------


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
    """

    dialect_name = NAME

    def __init__(self, *, beta: Any = False, **options: Any) -> None:
        self.beta = beta is True or (isinstance(beta, str) and beta.lower() in ("1", "true", "yes", "on"))
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
        self.errored = False

    def feed(self, event: dict[str, Any]) -> list[WireEvent]:
        if event.get("choice"):
            return self.drop("events of choices after the first (n>1)")
        handler = self._handlers.get(event.get("type"))  # type: ignore[arg-type]
        if handler is None:
            return []
        result: list[WireEvent] = handler(self, event)
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
            "model": ev.get("model") or "",
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
        out.append(self._delta(self.cur[2], {"type": "text_delta", "text": ev["delta"]}))  # type: ignore[index, arg-type]
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
        if meta.get("type") == "compaction":
            return "compaction"
        if meta.get("redacted_data") is not None:
            return "redacted_thinking"
        return "thinking"

    def _on_reasoning_delta(self, ev: dict[str, Any]) -> list[WireEvent]:
        out = [] if self._is("reasoning", ev["id"]) else self._on_reasoning_start(ev)
        kind = self._reasoning_kind()
        if kind == "compaction":
            self.compaction_text.append(ev["delta"])  # one compaction_delta holds it all
            return out
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
        return out

    def _on_reasoning_end(self, ev: dict[str, Any]) -> list[WireEvent]:
        out: list[WireEvent] = []
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
            return [self._delta(self.cur[2], {"type": "input_json_delta", "partial_json": ev["delta"]})]  # type: ignore[index, arg-type]
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

    def _on_source(self, ev: dict[str, Any]) -> list[WireEvent]:
        citation = _meta(ev).get("citation")
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
            return []
        out = self._close_blocks()
        out.extend(self._end(ev))
        return out

    def _end(self, ev: dict[str, Any]) -> list[WireEvent]:
        """message_delta and message_stop, from a finish event (or {} when there was none)."""
        out = self._close_blocks()
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
        message_delta: dict[str, Any] = {"type": "message_delta", "delta": delta, "usage": usage}
        message_delta.update((k, v) for k, v in meta.items() if k not in _DELTA_FIELDS and k != "usage")
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
            elif kind == "finish" and meta:
                sub["provider_metadata"] = {NAME: meta}
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


# --- requests ------------------------------------------------------------------------------------

API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096

#: canonical option names → Messages parameters (other options pass through as they are)
OPTION_NAMES = {
    "max_tokens": "max_tokens",
    "temperature": "temperature",
    "top_p": "top_p",
    "stop": "stop_sequences",
}
#: canonical options the Messages API has no parameter for
UNSUPPORTED_OPTIONS = frozenset({"seed"})

#: the image types the Messages API takes
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})


class _Dropped:
    """What a request cannot carry, counted per kind and warned about once (never silently)."""

    def __init__(self) -> None:
        self.kinds: dict[str, int] = {}

    def add(self, what: str) -> None:
        self.kinds[what] = self.kinds.get(what, 0) + 1

    def warn(self) -> None:
        from ... import diagnostics

        for what, count in self.kinds.items():
            diagnostics.warn(f"{NAME} cannot send {what} ({count}); left out of the request")


def messages_url(base_url: str) -> str:
    """``{base}/v1/messages``, or ``{base}/messages`` when the base URL already ends in ``/v1``."""
    base = base_url.rstrip("/")
    return f"{base}/messages" if base.endswith("/v1") else f"{base}/v1/messages"


def _json_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return orjson.dumps(value).decode()


def _file_data(part: dict[str, Any]) -> tuple[str | None, str | None, str]:
    """A file part's ``(url, base64 data, media type)``; a ``data:`` URL counts as data."""
    media = str(part.get("media_type") or "")
    data = part.get("data")
    url = part.get("url")
    if isinstance(data, str) and data:
        return None, data, media
    if isinstance(url, str) and url.startswith("data:"):
        head, _, payload = url[5:].partition(",")
        kind, _, encoding = head.partition(";")
        if encoding == "base64":
            return None, payload, media or kind
        import base64
        from urllib.parse import unquote_to_bytes

        return None, base64.b64encode(unquote_to_bytes(payload)).decode(), media or kind
    if isinstance(url, str) and url:
        return url, None, media
    raise UsageError(f"a {media or 'file'} part has neither 'data' nor 'url'")


def _source(url: str | None, data: str | None, media: str) -> dict[str, Any]:
    if url is not None:
        return {"type": "url", "url": url}
    return {"type": "base64", "media_type": media, "data": data}


def _file_block(part: dict[str, Any]) -> dict[str, Any]:
    """A user's file part as an ``image`` or ``document`` block."""
    url, data, media = _file_data(part)
    if media.startswith("image/") or (url is not None and not media):
        if data is not None and media not in IMAGE_TYPES:
            raise UsageError(f"{NAME} cannot send a {media} image: the API takes JPEG, PNG, GIF and WebP")
        return {"type": "image", "source": _source(url, data, media)}
    if media == "application/pdf":
        block: dict[str, Any] = {"type": "document", "source": _source(url, data, media)}
    elif media.startswith("text/") and data is not None:
        import base64
        import binascii

        try:
            text = base64.b64decode(data, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise UsageError(f"a {media} file part's data is not base64 of UTF-8 text") from None
        block = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": text}}
    else:
        what = f"{media} file by URL" if url is not None else f"{media or 'untyped'} file"
        raise UsageError(
            f"{NAME} cannot send a {what}: user messages take images (JPEG, PNG, GIF, WebP), PDFs "
            "(inline or by URL) and plain text"
        )
    if part.get("filename"):
        block["title"] = str(part["filename"])
    return block


def _user_blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    out: list[dict[str, Any]] = []
    for part in content or ():
        kind = part.get("type")
        if kind == "text":
            if part.get("text"):  # the API rejects empty text blocks
                out.append({"type": "text", "text": part["text"]})
        elif kind == "file":
            out.append(_file_block(part))
        else:
            raise UsageError(f"{NAME} cannot send a {kind} part in a user message")
    return out


def _tool_input(part: dict[str, Any], dropped: _Dropped) -> dict[str, Any]:
    """A call's input object: ``input``, else its ``arguments`` parsed."""
    value = part.get("input")
    if isinstance(value, dict):
        return value
    arguments = part.get("arguments")
    if value is None and isinstance(arguments, str):
        value, _ = parse_arguments(arguments)
        if isinstance(value, dict):
            return value
    elif value is None and arguments is None:
        return {}
    dropped.add("tool-call arguments that are not a JSON object (sent as {})")
    return {}


def _reasoning_block(part: dict[str, Any]) -> dict[str, Any] | None:
    """An earlier reasoning part as the block the API wants back, or None when it has none."""
    meta = _meta(part)
    if meta.get("type") == "compaction":
        block: dict[str, Any] = {"type": "compaction", "content": part.get("text") or None}
        block.update((k, v) for k, v in meta.items() if k != "type")
        return block
    if meta.get("redacted_data") is not None:
        return {"type": "redacted_thinking", "data": meta["redacted_data"]}
    if meta.get("signature"):
        return {"type": "thinking", "thinking": part.get("text") or "", "signature": meta["signature"]}
    return None


def _assistant_blocks(content: Any, dropped: _Dropped) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    out: list[dict[str, Any]] = []
    for part in content or ():
        kind = part.get("type")
        meta = _meta(part)
        if kind == "text":
            if part.get("text"):
                out.append({"type": "text", "text": part["text"]})
        elif kind == "reasoning":
            block = _reasoning_block(part)
            if block is not None:
                out.append(block)
        elif kind == "tool-call":
            block_type, extra = "tool_use", meta
            if part.get("provider_executed"):
                if not isinstance(meta.get("type"), str):
                    dropped.add("provider-executed tool calls of other dialects")
                    continue
                block_type = meta["type"]
                extra = {k: v for k, v in meta.items() if k != "type"}
            block = {"type": block_type, "id": part["tool_call_id"], "name": part["tool_name"],
                     "input": _tool_input(part, dropped)}  # fmt: skip
            block.update((k, v) for k, v in extra.items() if k not in block)
            out.append(block)
        elif kind == "tool-result":
            if not part.get("provider_executed") or not isinstance(meta.get("type"), str):
                dropped.add("provider-executed tool results of other dialects")
                continue
            block = dict(meta)
            block["tool_use_id"] = part.get("tool_call_id")
            block["content"] = part.get("output")
            out.append(block)
        elif kind == "file":
            dropped.add("files in assistant turns")
        # sources describe the answer's text: not sent back
    return out


def _tool_result(message: dict[str, Any]) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "tool_result",
        "tool_use_id": message["tool_call_id"],
        "content": _json_text(message.get("output")),
    }
    if message.get("is_error"):
        block["is_error"] = True
    return block


def anthropic_messages(conversation: dict[str, Any], dropped: _Dropped | None = None) -> list[dict[str, Any]]:
    """Canonical conversation messages → Messages ``messages``, alternating user / assistant."""
    dropped = dropped if dropped is not None else _Dropped()
    out: list[dict[str, Any]] = []

    def add(role: str, blocks: list[dict[str, Any]]) -> None:
        if not blocks:
            return
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})

    for message in conversation.get("messages", ()):
        role = message.get("role")
        if role == "user":
            add("user", _user_blocks(message.get("content")))
        elif role == "assistant":
            add("assistant", _assistant_blocks(message.get("content"), dropped))
        elif role == "tool":
            add("user", [_tool_result(message)])
        # system messages are part of ``system``
    for message in out:
        if message["role"] != "user":
            continue
        blocks = message["content"]
        results = [b for b in blocks if b["type"] == "tool_result"]
        if results and blocks[: len(results)] != results:  # tool results come first
            message["content"] = blocks = results + [b for b in blocks if b["type"] != "tool_result"]
        if len(blocks) == 1 and blocks[0]["type"] == "text":
            message["content"] = blocks[0]["text"]
    return out


def _container(conversation: dict[str, Any]) -> str | None:
    """The code-execution container of the last Anthropic turn that had one."""
    for message in reversed(conversation.get("messages") or ()):
        if message.get("role") != "assistant":
            continue
        container = _meta(message).get("container")
        if isinstance(container, dict) and isinstance(container.get("id"), str):
            return container["id"]
    return None


def _max_tokens(options: dict[str, Any]) -> int:
    thinking = options.get("thinking")
    budget = thinking.get("budget_tokens") if isinstance(thinking, dict) else None
    if isinstance(budget, int) and not isinstance(budget, bool) and budget > 0:
        return DEFAULT_MAX_TOKENS + budget
    return DEFAULT_MAX_TOKENS


def _betas(value: Any) -> list[str]:
    if isinstance(value, str):
        return [b.strip() for b in value.split(",") if b.strip()]
    if isinstance(value, list) and all(isinstance(b, str) for b in value):
        return [b.strip() for b in value if b.strip()]
    raise UsageError(f"the betas option must be a list of names or a comma-separated string, got {value!r}")


def anthropic_request(conversation: dict[str, Any], model: str | None) -> tuple[dict[str, Any], list[str]]:
    """A canonical conversation → the Messages request body, and the betas it asks for."""
    from ...conversation import system_text

    model = model or conversation.get("model")
    if not model:
        raise UsageError('no model: pass -m MODEL, put "model" in the conversation, or set STREAMKIT_MODEL')
    options = dict(conversation.get("options") or {})
    dropped = _Dropped()
    body: dict[str, Any] = {"model": model, "max_tokens": _max_tokens(options)}
    system = system_text(conversation)
    if system:
        body["system"] = system
    body["messages"] = anthropic_messages(conversation, dropped)
    tools: list[dict[str, Any]] = []
    for t in conversation.get("tools") or ():
        tool: dict[str, Any] = {"name": t["name"]}
        if t.get("description"):
            tool["description"] = t["description"]
        tool["input_schema"] = t.get("parameters") or {"type": "object", "properties": {}}
        tools.append(tool)
    extra_tools = options.pop("tools", None)
    if extra_tools is not None:
        if not isinstance(extra_tools, list):
            raise UsageError(f"the tools option must be a list of tool objects, got {extra_tools!r}")
        tools.extend(extra_tools)
    if tools:
        body["tools"] = tools
    container = _container(conversation)
    if container is not None:
        body["container"] = container
    body["stream"] = True
    betas = _betas(options.pop("betas")) if "betas" in options else []
    for key, value in options.items():
        if key in UNSUPPORTED_OPTIONS:
            dropped.add(f"the {key} option")
            continue
        if key == "stop" and isinstance(value, str):
            value = [value]
        body[OPTION_NAMES.get(key) or str(key)] = value
    dropped.warn()
    return body, betas


class Anthropic(Dialect):
    name = NAME
    description = "Anthropic Messages streaming events (message_start ... message_stop)"
    framing = "sse"
    default_base_url = "https://api.anthropic.com"
    base_url_env = ("ANTHROPIC_BASE_URL",)
    api_key_env = ("ANTHROPIC_API_KEY",)
    serve_paths = ("/v1/messages", "/messages")

    def wants_continuation(self, message: dict[str, Any]) -> bool:
        return message.get("raw_finish_reason") == "pause_turn"  # the server paused a long turn

    def build_request(
        self, conversation: dict[str, Any] | None, endpoint: Endpoint, *, body: Any = None
    ) -> Request:
        betas: list[str] = []
        if body is None:
            body, betas = anthropic_request(conversation or {"messages": []}, endpoint.model)
        headers = {
            "accept": "text/event-stream",
            "content-type": "application/json",
            "anthropic-version": API_VERSION,
        }
        if betas:
            headers["anthropic-beta"] = ",".join(betas)
        if endpoint.api_key:
            headers["x-api-key"] = endpoint.api_key
        return Request(messages_url(endpoint.base_url), body, headers)

    def sniff(self, data: Any, event: str | None = None) -> bool:
        if type(data) is not dict:
            return False
        kind = data.get("type")
        if kind in STREAM_TYPES:
            return True
        if kind == "error" and event in (None, "error"):
            err = data.get("error")
            return isinstance(err, dict) and isinstance(err.get("type"), str)
        return False

    def normalizer(self, **options: Any) -> AnthropicNormalizer:
        return AnthropicNormalizer(**options)

    def encoder(self, **options: Any) -> AnthropicEncoder:
        return AnthropicEncoder(**options)
