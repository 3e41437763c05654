"""Anthropic Messages stream → canonical events.

Each SSE event is named after its payload's ``type``: ``message_start``, then per content block
``content_block_start`` / ``content_block_delta``\\* / ``content_block_stop`` (blocks carry their
position in ``index``), then ``message_delta`` (stop reason, usage) and ``message_stop``.

What the wire sends, and what becomes of it (canonical events on the right):

* ``message_start`` → ``start`` (``id``, ``model``; the message's usage as sent at the start in
  ``provider_metadata["anthropic"]["usage"]``). A ``message_start`` whose ``content`` already
  holds whole blocks (the follow-up messages of programmatic tool calling) gives those blocks'
  events at once; a ``stop_reason`` or ``container`` on it counts as if sent by ``message_delta``.
  Several messages in one recording are several responses; one cut off before its
  ``message_stop`` is finished when the next ``message_start`` (or the end of input) comes. A
  ``message_start`` that repeats the id of the message in progress (some proxies send it twice)
  is the same response: it starts nothing and ends nothing.
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
* ``fallback`` blocks (server-side fallback, beta: the model asked for declined and another one
  took over from that point) → an empty reasoning block marked
  ``provider_metadata["anthropic"]["type"] = "fallback"`` with the block's ``from``, ``to`` and
  ``trigger`` beside it, in its place among the blocks (the API wants it back there). The model
  that answered is the last ``fallback`` block's ``to.model``, or the ``model`` of a
  ``fallback_message`` entry of ``usage.iterations`` (which the API sends even when no block
  marks the hand-over); when it is not the ``start``'s model it is ``finish.model`` (so
  accumulate's ``message.model`` names it), and the model asked for is kept in
  ``finish.provider_metadata["anthropic"]["requested_model"]``.
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
  ``usage.iterations`` (compaction, server-side tool loops, fallback: one entry per sampling pass,
  each billed) are what the caller pays for, and the top-level counts leave compaction passes
  out: with iterations, each count (input, output, cache read and cache creation) is the sum
  over the entries; when no entry is a ``message`` or ``fallback_message`` pass (the passes the
  top-level counts stand for), the top-level counts are added to that sum. The raw list stays in
  the raw usage (``finish.provider_metadata["anthropic"]["usage"]["iterations"]``).
* ``ping`` → nothing (a keepalive: framing).
* ``error`` → ``error`` (``code`` the error's type; ``retryable`` for the types the official SDK
  retries: ``overloaded_error``, ``api_error``, ``rate_limit_error``, ``timeout_error``,
  ``gateway_timeout_error``), the error object in ``provider_metadata``; the response then
  finishes with ``finish_reason: error``.
* A text or thinking delta for a block never started (a capture that begins mid-stream) opens
  the block; an ``input_json_delta`` for one is a data error (a call with no id or name).
  Block types with no canonical meaning (``container_upload``, ...) are counted by normalize
  (kept as raw events with ``--keep-raw``).
"""

from __future__ import annotations

from typing import Any

import orjson

from ..._native import mypyc_attr
from ...errors import DataError
from ..base import token_counts, wire_string
from ..native_normalizer import NativeNormalizer
from .blocks import CALL_FIELDS, RESULT_BLOCKS, TEXT_BLOCKS, Block, FastEntry, close_block, fast_entry
from .usage import map_usage
from .wire import _MESSAGE_FIELDS, FINISH_REASONS, NAME

#: error types worth a retry (the ones the official SDK retries: 429, 5xx, 529)
RETRYABLE_ERRORS = frozenset(
    {"overloaded_error", "api_error", "rate_limit_error", "timeout_error", "gateway_timeout_error"}
)

_dumps = orjson.dumps

# the ids of the reasoning blocks at the first indexes (the rest are formatted when needed)
_REASONING_IDS = {i: f"reasoning-{i}" for i in range(64)}
# the start event while no response is in progress (read for its id only: never emitted)
_NO_START: dict[str, Any] = {"type": "start", "id": None, "model": None, "dialect": NAME}


@mypyc_attr(allow_interpreted_subclasses=True)  # (a plugin's normalizer may derive from it)
class AnthropicNormalizer(NativeNormalizer):
    """One stream of Messages events (possibly several messages, each a response). (Compiled by
    mypyc: a Normalizer by registration, see :mod:`..native_normalizer`.)"""

    def __init__(self, **options: Any) -> None:
        self._call_ids = 0
        # tool call id -> tool name, for the results (kept across the messages of a stream: a
        # result may answer a call of an earlier message, as in programmatic tool calling)
        self.call_names: dict[str, str] = {}
        self._reset()

    def _reset(self) -> None:
        self.started = False
        # the start of the response in progress (made when it starts: meaningful only while started)
        self.start_event: dict[str, Any] = _NO_START
        self.blocks: dict[int, Block] = {}
        # index of an open text, reasoning or tool block -> (the delta type it takes, the delta's
        # field, the canonical event type, the block's id, the list its fragments go in or None):
        # what feed's hot path needs
        self.fast: dict[Any, FastEntry] = {}
        self.usage: dict[str, Any] | None = None
        self.stop_reason: str | None = None
        self.finish_meta: dict[str, Any] = {}
        self.error = False
        self.nsources = 0
        self.fallback: dict[str, Any] | None = None  # the last fallback block's from/to models

    # --- the wire events -----------------------------------------------------------------

    # (returns a list, None, or an event's bytes: Normalizer.delta_bytes; said as Any, since mypyc
    # checks a compiled function's return annotation when it returns: said as a list, the bytes
    # raised a TypeError that the hot path's own except took for bad data)
    def feed(self, data: Any, event: str | None = None) -> Any:
        # The hot path, measured in `make bench`: a non-empty text, thinking or tool-argument
        # delta of a block already open (the block's entry in ``fast`` says which delta it takes
        # and what it becomes). Anything else, or anything odd, goes the long way.
        if type(data) is not dict:
            return None
        delta = data.get("delta")
        if delta is not None:
            index = data.get("index")
            try:
                fast = self.fast.get(index) if type(index) is int else None
                if fast is not None:
                    kind, field, canonical, bid, args, head = fast
                    if kind == delta["type"]:
                        text = delta[field]
                        if type(text) is str:
                            if not text:
                                return []  # (tool calls open with an empty partial_json)
                            if args is not None:
                                args.append(text)
                            if self.delta_bytes:
                                return head + _dumps(text)
                            return [{"type": canonical, "id": bid, "delta": text}]
            except (KeyError, TypeError):
                pass
        handler = _EVENT_HANDLERS.get(data.get("type") or event)  # type: ignore[arg-type]
        if handler is None:
            return None
        result: list[dict[str, Any]] | None = handler(self, data)
        return result

    def close(self) -> list[dict[str, Any]]:
        return self._end_response()

    # --- message level ---------------------------------------------------------------------

    def _start(self, out: list[dict[str, Any]]) -> None:
        """Start the response (once): a ``start`` with no id or model, for what comes before any
        ``message_start``."""
        if not self.started:
            self.started = True
            ev = self.start_event = {"type": "start", "id": None, "model": None, "dialect": NAME}
            out.append(ev)

    def _on_message_start(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        message = data.get("message")
        if type(message) is not dict and not isinstance(message, dict):
            raise DataError("message_start without a message object")
        if self.started:
            if message.get("id") and message.get("id") == self.start_event["id"]:
                return []  # the message in progress announced again (some proxies repeat it)
            out = self._end_response()  # a message never stopped ends where the next one starts
        elif (
            self.usage is None
            and self.stop_reason is None
            and not self.error
            and not self.blocks
            and not self.finish_meta
        ):
            out = []  # the previous message stopped (or none came): nothing to end, nothing to reset
        else:
            out = self._end_response()  # what came before any message_start
        get = message.get
        usage = get("usage")
        rid, model = get("id"), get("model")
        if type(rid) is not str and rid is not None:  # (a call only when it is odd)
            wire_string(rid, "message.id")
        if type(model) is not str and model is not None:
            wire_string(model, "message.model")
        if _MESSAGE_FIELDS.issuperset(message) and type(usage) is dict:
            # the common shape: no field of its own beyond the usage. The usage is kept as sent
            # (message_delta merges into a copy of it)
            self.usage = usage
            ev = {
                "type": "start",
                "id": rid,
                "model": model,
                "dialect": NAME,
                "provider_metadata": {NAME: {"usage": usage}},
            }
        else:
            ev = {"type": "start", "id": rid, "model": model, "dialect": NAME}
            meta = (
                {}
                if _MESSAGE_FIELDS.issuperset(message)
                else {k: v for k, v in message.items() if k not in _MESSAGE_FIELDS and v is not None}
            )
            if isinstance(usage, dict):
                self.usage = usage if type(usage) is dict else dict(usage)
                meta["usage"] = usage
            if meta:
                ev["provider_metadata"] = {NAME: meta}
        self.start_event = ev
        if get("stop_reason") is not None:
            self.stop_reason = wire_string(message["stop_reason"], "message.stop_reason")
        if get("stop_sequence") is not None:  # (_DELTA_FIELDS, in their order)
            self.finish_meta["stop_sequence"] = message["stop_sequence"]
        if get("stop_details") is not None:
            self.finish_meta["stop_details"] = message["stop_details"]
        if get("container") is not None:
            self.finish_meta["container"] = message["container"]
        self.started = True
        out.append(ev)
        content = get("content")
        if content and isinstance(content, list):
            for index, block in enumerate(content):
                if type(block) is dict and block.get("type") == "tool_use" and "tool_use_id" not in block:
                    self._whole_call(index, block, out)  # the common whole block (programmatic tool calling)
                elif isinstance(block, dict):
                    self._block_start(index, block, out)
                    self._block_stop(index, out)
        return out

    def _on_message_delta(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        delta = data.get("delta") or {}
        if type(delta) is not dict and not isinstance(delta, dict):
            raise DataError(f"message_delta.delta is a {type(delta).__name__}, expected an object")
        if len(delta) == 2 and "stop_reason" in delta and delta.get("stop_sequence", 0) is None:
            # the common shape: a stop reason and no stop sequence
            reason = delta["stop_reason"]
            if type(reason) is str:
                self.stop_reason = reason
            elif reason is not None:
                wire_string(reason, "message_delta.delta.stop_reason")
        else:
            for key, value in delta.items():
                if key == "stop_reason":
                    if value is not None:
                        self.stop_reason = wire_string(value, "message_delta.delta.stop_reason")
                elif value is not None:
                    self.finish_meta[key] = value
        usage = data.get("usage")
        if type(usage) is dict or isinstance(usage, dict):
            # merged into a copy: the usage message_start sent is also in its start event
            merged = dict(self.usage) if self.usage else {}
            if None in usage.values():
                merged.update((k, v) for k, v in usage.items() if v is not None)
            else:
                merged.update(usage)
            self.usage = merged
        if len(data) != 3 or "delta" not in data or "usage" not in data or "type" not in data:
            for key, value in data.items():
                if key not in ("type", "delta", "usage") and value is not None:
                    self.finish_meta[key] = value
        return []

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

    def _end_response(self, data: Any = None) -> list[dict[str, Any]]:
        """The response ends (``message_stop``, the next message or the end of input): close what
        is open, then its finish."""
        out: list[dict[str, Any]] = []
        if not self.started:
            if not (self.blocks or self.usage or self.error or self.stop_reason):
                self._reset()
                return out
            self._start(out)
        if self.blocks:
            for index in list(self.blocks):
                self._block_stop(index, out)
        raw = self.stop_reason
        if raw is None:
            reason = "error" if self.error else "other"
        else:
            reason = FINISH_REASONS.get(raw, "other")
        usage = self.usage
        if usage is not None and self.fallback is None and not usage.get("iterations"):
            # the common shape: the metadata gathered is the finish's own (nothing after this
            # can fail, so it is taken rather than copied)
            fin: dict[str, Any] = {
                "type": "finish",
                "finish_reason": reason,
                "raw_finish_reason": raw,
                "usage": token_counts(map_usage(usage)),
            }
            meta = self.finish_meta
            meta["usage"] = usage
            fin["provider_metadata"] = {NAME: meta}
        else:
            fin = {"type": "finish", "finish_reason": reason, "raw_finish_reason": raw}
            meta = dict(self.finish_meta) if self.finish_meta else {}
            if usage is not None:
                fin["usage"] = token_counts(map_usage(usage))
                meta["usage"] = usage
                self._answered_by(fin, meta)
            elif self.fallback is not None:
                self._answered_by(fin, meta)
            if meta:
                fin["provider_metadata"] = {NAME: meta}
        out.append(fin)
        # _reset, but the blocks are all closed (their dicts empty), so only what holds something
        # is made anew
        self.started = False
        self.finish_meta = {}
        self.usage = None
        self.stop_reason = None
        self.error = False
        self.nsources = 0
        self.fallback = None
        return out

    def _answered_by(self, fin: dict[str, Any], meta: dict[str, Any]) -> None:
        """Server-side fallback: the model that answered on the finish, the one asked for in its
        metadata (when they differ)."""
        fallback = self.fallback or {}
        model = fallback.get("to")
        for entry in (self.usage or {}).get("iterations") or ():
            if isinstance(entry, dict) and entry.get("type") == "fallback_message":
                model = entry.get("model") if isinstance(entry.get("model"), str) else model
        asked = self.start_event["model"] or fallback.get("from")
        if isinstance(model, str) and model and model != self.start_event["model"]:
            fin["model"] = model
            if isinstance(asked, str) and asked:
                meta["requested_model"] = asked

    # --- content blocks --------------------------------------------------------------------

    def _on_block_start(self, data: dict[str, Any]) -> list[dict[str, Any]] | None:
        index = data.get("index")
        block = data.get("content_block")
        if type(index) is not int or not isinstance(block, dict):
            raise DataError("content_block_start needs an integer index and a content_block object")
        out: list[dict[str, Any]] = []
        if index in self.blocks:
            self._block_stop(index, out)
        kind = block.get("type")
        if kind == "text" and not block.get("text") and not block.get("citations"):
            # the common shape: an empty text block, its text to come in deltas
            if not self.started:
                self._start(out)
            opened = TEXT_BLOCKS.get(index)
            if opened is None:
                self._open_text(index, out)
                return out
            b, self.fast[index] = opened
            self.blocks[index] = b
            out.append({"type": "text-start", "id": b.id})
            return out
        if (
            kind == "tool_use"
            or (kind == "server_tool_use" and "id" in block and "name" in block and "input" in block)
        ) and "tool_use_id" not in block:  # the next most common (as _block_start does it)
            if not self.started:
                self._start(out)
            self._open_call(index, block, out)
            return out
        if type(kind) is str and kind.endswith("_tool_result"):  # (as _block_start does it)
            if not self.started:
                self._start(out)
            self._tool_result(index, block, out)
            return out
        known = self._block_start(index, block, out)
        return out if known or out else None

    def _block_start(self, index: int, block: dict[str, Any], out: list[dict[str, Any]]) -> bool:
        """Open block ``index``; returns False for a block type with no canonical meaning."""
        kind = block.get("type")
        if (
            kind == "tool_use"
            or (kind == "server_tool_use" and "id" in block and "name" in block and "input" in block)
        ) and "tool_use_id" not in block:  # the most common, first
            if not self.started:
                self._start(out)
            self._open_call(index, block, out)
        elif kind == "text":
            self._start(out)
            b = self._open_text(index, out)
            if block.get("text"):
                text = wire_string(block["text"], "content_block.text")
                out.append({"type": "text-delta", "id": b.id, "delta": text})
            for citation in block.get("citations") or ():
                self._source(citation, out)
        elif kind == "thinking":
            self._start(out)
            b = self._open_reasoning(index, "thinking", out)
            if block.get("thinking"):
                text = wire_string(block["thinking"], "content_block.thinking")
                out.append({"type": "reasoning-delta", "id": b.id, "delta": text})
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
                text = wire_string(block["content"], "content_block.content")
                out.append({"type": "reasoning-delta", "id": b.id, "delta": text})
        elif kind == "fallback":
            self._start(out)
            meta = {"type": "fallback"}
            meta.update((k, v) for k, v in block.items() if k != "type")
            self._open_reasoning(index, "fallback", out, meta)
            models = {k: m.get("model") for k in ("from", "to") if isinstance(m := block.get(k), dict)}
            if self.fallback is not None:
                models["from"] = self.fallback.get("from")  # the first hop's: the model asked for
            self.fallback = models
        elif "tool_use_id" in block or (isinstance(kind, str) and kind.endswith("_tool_result")):
            self._start(out)
            self._tool_result(index, block, out)
        elif kind == "tool_use" or ("id" in block and "name" in block and "input" in block):
            self._start(out)
            self._open_call(index, block, out)
        else:
            self.blocks[index] = Block("other", str(kind))
            return False
        return True

    def _open_text(self, index: int, out: list[dict[str, Any]]) -> Block:
        opened = TEXT_BLOCKS.get(index)
        if opened is None:
            bid = f"text-{index}"
            opened = (Block("text", "text", bid), fast_entry("text_delta", "text", "text-delta", bid, None))
        b, self.fast[index] = opened
        self.blocks[index] = b
        out.append({"type": "text-start", "id": b.id})
        return b

    def _open_reasoning(
        self, index: int, wire_type: str, out: list[dict[str, Any]], meta: dict[str, Any] | None = None
    ) -> Block:
        bid = _REASONING_IDS.get(index) or f"reasoning-{index}"
        b = self.blocks[index] = Block("reasoning", wire_type, bid)
        self.fast[index] = fast_entry("thinking_delta", "thinking", "reasoning-delta", bid, None)
        ev: dict[str, Any] = {"type": "reasoning-start", "id": bid}
        if meta:
            b.meta.update(meta)
            ev["provider_metadata"] = {NAME: dict(meta)}
        out.append(ev)
        return b

    def _open_call(self, index: int, block: dict[str, Any], out: list[dict[str, Any]]) -> None:
        kind = block.get("type")
        call_id = block.get("id")
        if not isinstance(call_id, str) or not call_id:
            call_id = f"{self.call_id_prefix}{self._call_ids}"
            self._call_ids += 1
        name = block.get("name") or ""
        if type(name) is not str:
            name = str(name)
        client = kind == "tool_use"
        if CALL_FIELDS.issuperset(block):
            meta = {} if client else {"type": kind}
        else:
            extra = {}
            for k, v in block.items():
                if v is not None and k not in CALL_FIELDS:
                    extra[k] = v
            meta = extra if client else {"type": kind, **extra}
        wire_type = kind if type(kind) is str else str(kind)
        b = self.blocks[index] = Block("tool", wire_type, call_id, meta, name, not client)
        initial = block.get("input")
        if initial:
            b.initial = orjson.dumps(initial).decode()
        self.call_names[call_id] = name
        self.fast[index] = fast_entry("input_json_delta", "partial_json", "tool-input-delta", call_id, b.args)
        if not client:
            out.append(
                {
                    "type": "tool-input-start",
                    "id": call_id,
                    "tool_name": name,
                    "provider_executed": True,
                    "provider_metadata": {NAME: dict(meta)},
                }
            )
        elif meta:
            out.append(
                {
                    "type": "tool-input-start",
                    "id": call_id,
                    "tool_name": name,
                    "provider_metadata": {NAME: dict(meta)},
                }
            )
        else:
            out.append({"type": "tool-input-start", "id": call_id, "tool_name": name})

    def _whole_call(self, index: int, block: dict[str, Any], out: list[dict[str, Any]]) -> None:
        """A whole ``tool_use`` block (in ``message_start``'s content): its events at once, the
        ones _block_start then _block_stop give."""
        initial = block.get("input")
        if initial:
            try:
                arguments = orjson.dumps(initial).decode()
            except TypeError:  # not JSON: the long way says so, as it always did
                self._block_start(index, block, out)
                self._block_stop(index, out)
                return
            value = orjson.loads(arguments)  # (what orjson wrote, it reads)
        else:
            arguments = "{}"
            value = {}
        call_id = block.get("id")
        if not call_id or not isinstance(call_id, str):
            call_id = f"{self.call_id_prefix}{self._call_ids}"
            self._call_ids += 1
        name = block.get("name") or ""
        if type(name) is not str:
            name = str(name)
        self.call_names[call_id] = name
        start: dict[str, Any] = {"type": "tool-input-start", "id": call_id, "tool_name": name}
        call: dict[str, Any] = {
            "type": "tool-call",
            "tool_call_id": call_id,
            "tool_name": name,
            "arguments": arguments,
            "input": value,
        }
        if not CALL_FIELDS.issuperset(block):
            extra = {}
            for k, v in block.items():  # (a loop: no comprehension's frame for a field or two)
                if v is not None and k not in CALL_FIELDS:
                    extra[k] = v
            if extra:
                start["provider_metadata"] = {NAME: dict(extra)}
                call["provider_metadata"] = {NAME: extra}
        out += (
            start,
            {"type": "tool-input-delta", "id": call_id, "delta": arguments},
            {"type": "tool-input-end", "id": call_id},
            call,
        )

    def _tool_result(self, index: int, block: dict[str, Any], out: list[dict[str, Any]]) -> None:
        # whole at its start: a block of no kind of its own till its stop (its state never
        # changes: one object per block type serves every stream)
        kind = block.get("type")
        b = RESULT_BLOCKS.get(kind) if type(kind) is str else None
        if b is None:
            b = Block("other", str(kind))
            if type(kind) is str and len(RESULT_BLOCKS) < 64:
                RESULT_BLOCKS[kind] = b
        self.blocks[index] = b
        call_id = block.get("tool_use_id") or ""
        if type(call_id) is not str:
            call_id = str(call_id)
        content = block.get("content")
        is_error = block.get("is_error")
        if not isinstance(is_error, bool):
            result = content.get("type") if isinstance(content, dict) else None
            is_error = isinstance(result, str) and result.endswith("_error")
        meta = {}
        for k, v in block.items():
            if k != "tool_use_id" and k != "content":
                meta[k] = v
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

    def _expect(self, b: Block | None, kind: str, index: Any, delta: dict[str, Any]) -> None:
        if b is not None and b.kind != kind:
            raise DataError(f"{delta.get('type')} for content block {index}, a {b.wire_type} block")

    def _on_text_delta(
        self, index: int, b: Block | None, delta: dict[str, Any], out: list[dict[str, Any]]
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
        self, index: int, b: Block | None, delta: dict[str, Any], out: list[dict[str, Any]]
    ) -> None:
        self._expect(b, "reasoning", index, delta)
        if b is None:
            self._start(out)
            b = self._open_reasoning(index, "thinking", out)
        text = delta.get("thinking")
        if isinstance(text, str) and text:
            out.append({"type": "reasoning-delta", "id": b.id, "delta": text})

    def _on_signature_delta(
        self, index: int, b: Block | None, delta: dict[str, Any], out: list[dict[str, Any]]
    ) -> None:
        self._expect(b, "reasoning", index, delta)
        if b is None:
            self._start(out)
            b = self._open_reasoning(index, "thinking", out)
        if delta.get("signature"):
            b.meta["signature"] = delta["signature"]  # the whole signature, as the SDK takes it

    def _on_compaction_delta(
        self, index: int, b: Block | None, delta: dict[str, Any], out: list[dict[str, Any]]
    ) -> None:
        self._expect(b, "reasoning", index, delta)
        if b is None:
            self._start(out)
            b = self._open_reasoning(index, "compaction", out, {"type": "compaction"})
        if delta.get("content"):
            text = wire_string(delta["content"], "compaction_delta.content")
            out.append({"type": "reasoning-delta", "id": b.id, "delta": text})
        if delta.get("encrypted_content") is not None:
            b.meta["encrypted_content"] = delta["encrypted_content"]

    def _on_input_json_delta(
        self, index: int, b: Block | None, delta: dict[str, Any], out: list[dict[str, Any]]
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
        self, index: int, b: Block | None, delta: dict[str, Any], out: list[dict[str, Any]]
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
            ev["url"] = wire_string(citation.get("url"), "a web search citation's url")
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
            ev["title"] = wire_string(title, "a citation's title")
        ev["provider_metadata"] = {NAME: {"citation": citation}}
        out.append(ev)

    def _on_block_stop(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        index: Any = data.get("index")
        b = self.blocks.pop(index, None)
        if b is None:
            return []
        self.fast.pop(index, None)
        if b.kind == "text":  # the common case, as _close does it
            return [{"type": "text-end", "id": b.id}]
        out: list[dict[str, Any]] = []
        close_block(b, out)
        return out

    def _block_stop(self, index: int, out: list[dict[str, Any]]) -> None:
        b = self.blocks.pop(index)
        self.fast.pop(index, None)
        close_block(b, out)


_EVENT_HANDLERS: dict[str, Any] = {
    "message_start": AnthropicNormalizer._on_message_start,
    "content_block_start": AnthropicNormalizer._on_block_start,
    "content_block_delta": AnthropicNormalizer._on_block_delta,
    "content_block_stop": AnthropicNormalizer._on_block_stop,
    "message_delta": AnthropicNormalizer._on_message_delta,
    "message_stop": AnthropicNormalizer._end_response,
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
