"""OpenAI Responses API streaming events, both ways.

Also the dialect of the servers that copy it: xAI, DeepSeek, OpenRouter, LM Studio (Open
Responses), AWS Bedrock "mantle". Each SSE event is named after its payload's ``type``; there is
no ``[DONE]`` (one is accepted and ignored). ``sequence_number`` and ``obfuscation`` carry no
meaning for canonical events and are dropped.

What the wire sends, and what it becomes (canonical events on the right):

* ``response.created`` (or ``response.queued``) → ``start`` (``id``, ``model``, ``created``;
  ``previous_response_id`` and ``background`` in ``provider_metadata``). A stream that begins
  mid-response (a resumed stream: no ``response.created``) starts at its first event, with the id
  left null (``finish`` names it); it holds the deltas after the resume point, as the client that
  resumes expects. Several responses in a row (a client tool loop) give one ``start``…``finish``
  each; a ``response.created`` while a response is still open ends that one first.
* ``response.completed`` → ``finish``: ``stop``, or ``tool-calls`` when the response holds calls
  the client must answer; ``response.incomplete`` → ``length`` (``max_output_tokens``) or
  ``content-filter`` (``content_filter``), else ``other``, with the reason in
  ``raw_finish_reason``; ``response.failed`` → an ``error`` (the response's ``error``), then
  ``finish: error``. A top-level ``error`` event → ``error`` (``retryable`` for rate limits and
  server errors); a stream cut off ends with ``finish: error`` after one, else ``other``.
  ``finish.provider_metadata["openai-responses"]`` holds ``response_id`` (for
  ``previous_response_id`` continuations), the raw ``usage``, ``service_tier`` and
  ``incomplete_details``. Usage: ``input_tokens``, ``output_tokens``, ``total_tokens``,
  ``input_tokens_details.cached_tokens`` → ``cached_input_tokens``,
  ``output_tokens_details.reasoning_tokens`` → ``reasoning_tokens``.
* ``message`` items: each ``output_text`` content part → a text block (``text-N``); its
  ``response.output_text.delta`` → ``text-delta``, with non-empty ``logprobs`` in the delta's
  ``provider_metadata``. A ``refusal`` part → a text block with ``refusal: true``. Text and
  reasoning blocks carry ``{"item_id"}`` (and the message's ``phase``, e.g. ``commentary``) in
  ``provider_metadata`` so that a conversion back restores the items.
* ``response.output_text.annotation.added`` (``url_citation`` → ``source`` of type ``url``;
  ``file_citation``, ``container_file_citation``, ``file_path`` → ``document``, ``title`` the
  file name) → one ``source`` per annotation, the annotation's other fields in its
  ``provider_metadata``. Annotations that only arrive in ``content_part.done`` or
  ``output_item.done`` (some compatible servers) become sources there.
* ``reasoning`` items: each summary part (``reasoning_summary_text.delta``) and each
  ``reasoning_text`` content part (raw reasoning: DeepSeek, LM Studio, gpt-oss) → a reasoning
  block. The item's last block ends at ``output_item.done`` with ``item_id`` and
  ``encrypted_content`` in ``reasoning-end.provider_metadata``; an item with no text at all (only
  encrypted content) is one empty reasoning block.
* ``function_call`` items → ``tool-input-start`` at ``output_item.added`` (the call id is the
  item's ``call_id``, what the client answers with; the item ``id`` goes in
  ``provider_metadata``), ``tool-input-delta`` per ``function_call_arguments.delta`` (or the whole
  arguments of ``.done`` when no deltas came: LM Studio), ``tool-call`` at
  ``function_call_arguments.done``.
* ``custom_tool_call`` and ``apply_patch_call`` are answered by the client too (the API waits for
  a ``custom_tool_call_output`` / ``apply_patch_call_output``), so they are client tool calls with
  the item ``type`` in ``provider_metadata``: a custom tool's free-text input becomes the
  arguments ``{"input": text}``, an apply_patch call's arguments are its ``operation``. Their
  streamed text (``custom_tool_call_input.delta``, ``apply_patch_call_operation_diff.delta``) is
  streamed as fragments of that JSON.
* Provider-executed tools → ``tool-call`` and ``tool-result`` with ``provider_executed: true``,
  the item id as call id and ``{"item_id", "type", ...}`` in ``provider_metadata``:
  ``web_search_call`` (input: the ``action``, or xAI's ``arguments``; output: ``status`` and
  ``sources``), ``file_search_call`` (``queries`` → ``results``), ``code_interpreter_call``
  (``{"container_id", "code"}``, the code streamed from ``code_interpreter_call_code.delta`` →
  ``outputs``), ``mcp_call`` (tool name the MCP tool's; arguments streamed from
  ``mcp_call_arguments.delta``; output the tool's text, or its ``error`` with ``is_error``),
  ``mcp_list_tools`` (→ ``tools``), ``image_generation_call`` (→ ``result``, the base64 image, and
  the image's settings). Their progress events (``*.in_progress``, ``*.searching``,
  ``*.interpreting``, ``*.generating``, ``*.completed``) and partial images add nothing to the
  final item and are consumed silently.
* Content that was never streamed (a server that sends only ``output_item.done``, a resumed
  stream that missed it) is taken from the ``.done`` events, and items never seen at all from
  the final response's ``output``.
* Other item types (``mcp_approval_request``, ``computer_call``, ``shell_call``, ...) and unknown
  events have no canonical meaning: ``normalize`` counts them in a warning (``--keep-raw`` keeps
  them).

The encoder writes the whole sequence a client expects: ``response.created``,
``response.in_progress``, per item ``output_item.added``, ``content_part.added``, deltas, the
``.done`` events, ``output_item.done``, then ``response.completed`` (``response.incomplete`` for
``length``/``content-filter``, ``response.failed`` after an error) whose ``response`` holds every
output item, including every parallel tool call, and the usage (with the fields today's SDK
requires filled in). ``sequence_number`` counts from 0 in each response. Items keep the ids and
types they came with (``provider_metadata``); others get new ids. More precisely:

* Parallel tool calls are written one item after the other, as the API does: a call that streams
  while another is open (Chat Completions interleaves them) is held back until that one is done.
* Reasoning is written as summary parts (``-O reasoning_part=text`` for ``reasoning_text``
  content parts) unless it came from ``reasoning_text``; blocks of one reasoning item (same
  ``item_id``) are its parts, and ``encrypted_content`` comes back on the item. Other dialects'
  signatures cannot be expressed.
* Sources annotate the text part they arrive in, or the one before them, or else the next one
  (``url_citation`` at the current position when they did not come from here; documents as
  ``file_citation``); sources with no text to annotate are dropped.
* ``custom_tool_call`` and ``apply_patch_call`` items are written whole once their ``tool-call``
  arrives (the SDK has no event for a streamed patch). Other dialects' provider-executed web
  searches and code execution become ``web_search_call`` / ``code_interpreter_call`` items.
* An ``error`` is written as an ``error`` event where it happened (unless it came from a
  ``response.failed``), and ``finish: error`` as ``response.failed`` with that error (codes the
  SDK does not know as ``server_error``). A response cut off upstream (``finish: other`` with no
  ``raw_finish_reason``) ends without a terminal event, as it did.
* Events of ``choice`` k>0 (Chat Completions ``n>1``), files and provider-executed tools with no
  Responses counterpart are dropped with a warning.

Requests (``fetch``, ``agent``): ``POST {base}/responses`` (``OPENAI_BASE_URL``, default
https://api.openai.com/v1) with ``Authorization: Bearer`` (``OPENAI_API_KEY``), and the same request
for the WebSocket mode: ``{base with ws/wss}/responses``, the body sent as a ``response.create``
message without ``stream``, answered until ``response.completed``, ``.failed``, ``.incomplete`` or
``error``. The body: ``model``, ``instructions`` (the system prompt), ``input``, function ``tools``
(``strict: false``, the canonical declaration's meaning, unless the tool says otherwise),
``stream: true``; ``max_tokens`` → ``max_output_tokens``, other options (``temperature``,
``top_p``, ``reasoning``, ``include``, ``store``, ...) as they are. ``input``:

* user messages → ``message`` items of ``input_text``, ``input_image`` (a URL or a data URL) and
  ``input_file`` (``file_url``, or ``file_data`` and a ``filename``) parts;
* earlier assistant turns → their output items: ``message`` (``output_text``/``refusal`` parts,
  the item id and ``phase``), ``reasoning`` (id, summary or ``reasoning_text`` parts,
  ``encrypted_content``), ``function_call`` (``call_id``, ``name``, ``arguments``),
  ``custom_tool_call`` and ``apply_patch_call`` for the calls that were those. Provider-executed
  tools, sources and other dialects' reasoning are not sent; text from other dialects is a plain
  assistant message;
* tool results → ``function_call_output`` (``custom_tool_call_output``, or
  ``apply_patch_call_output`` with ``status: failed`` for an error) with ``call_id`` and ``output``.

Continuation: :meth:`OpenAIResponses.continuation_state` keeps the response id and how many
messages it had seen; the next request names it as ``previous_response_id`` and carries only the
later messages' items (the tool outputs, a new user turn), over HTTP or on the WebSocket. When the
server keeps no state (the options say ``"store": false``) every request carries the whole input,
encrypted reasoning included (``include: ["reasoning.encrypted_content"]`` is added), and no
``previous_response_id``. ``streamkit serve`` answers on ``/v1/responses`` and ``/responses``,
over HTTP and WebSocket, its responses naming the ``previous_response_id`` they continue.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import orjson

from ..canonical import message_to_events, parse_arguments
from ..errors import DataError, UsageError
from .base import Dialect, Encoder, Endpoint, Normalizer, Request, WireEvent

NAME = "openai-responses"

# response.incomplete's reason -> canonical finish reason
INCOMPLETE_REASONS = {"max_output_tokens": "length", "content_filter": "content-filter"}

# error codes after which trying again may work
_RETRYABLE = frozenset({"rate_limit_exceeded", "server_error", "server_is_overloaded", "slow_down"})

# items the client answers, beyond function_call: type -> (tool name, or None for the item's
# "name"; the field holding the input; whether the arguments wrap it as {field: value})
_CLIENT_ITEMS: dict[str, tuple[str | None, str, bool]] = {
    "custom_tool_call": (None, "input", True),
    "apply_patch_call": ("apply_patch", "operation", False),
}

# items the provider runs itself: type -> tool name (None: the item's "name")
_PROVIDER_ITEMS: dict[str, str | None] = {
    "web_search_call": "web_search",
    "file_search_call": "file_search",
    "code_interpreter_call": "code_interpreter",
    "mcp_call": None,
    "mcp_list_tools": "mcp_list_tools",
    "image_generation_call": "image_generation",
}

# item fields that are a provider-executed tool's input and its output (the rest is metadata)
_PROVIDER_INPUT = {
    "file_search_call": ("queries",),
    "code_interpreter_call": ("container_id", "code"),
    "mcp_list_tools": ("server_label",),
    "image_generation_call": (),
}
_PROVIDER_OUTPUT = {
    "file_search_call": ("status", "results"),
    "code_interpreter_call": ("status", "outputs"),
    "mcp_list_tools": ("tools",),
}


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _escape(text: str) -> str:
    """``text`` as the inside of a JSON string (fragments escape the same as the whole)."""
    return orjson.dumps(text).decode()[1:-1]


def map_usage(usage: dict[str, Any]) -> dict[str, Any]:
    """Responses usage → canonical usage (fields the server did not send are left out)."""
    out: dict[str, Any] = {}
    for key in ("input_tokens", "output_tokens", "total_tokens"):
        if usage.get(key) is not None:
            out[key] = usage[key]
    details = usage.get("input_tokens_details")
    if isinstance(details, dict) and details.get("cached_tokens") is not None:
        out["cached_input_tokens"] = details["cached_tokens"]
    details = usage.get("output_tokens_details")
    if isinstance(details, dict) and details.get("reasoning_tokens") is not None:
        out["reasoning_tokens"] = details["reasoning_tokens"]
    return out


def wire_usage(usage: dict[str, Any] | None, raw: Any = None) -> dict[str, Any] | None:
    """The usage object of the final response: the raw one when it came from this dialect (with
    the fields today's SDK requires filled in), else built from the canonical usage."""
    if isinstance(raw, dict):
        out = dict(raw)
    elif usage:
        out = {
            "input_tokens": usage.get("input_tokens") or 0,
            "output_tokens": usage.get("output_tokens") or 0,
        }
        if usage.get("total_tokens") is not None:
            out["total_tokens"] = usage["total_tokens"]
        if usage.get("cached_input_tokens") is not None:
            out["input_tokens_details"] = {"cached_tokens": usage["cached_input_tokens"]}
        if usage.get("reasoning_tokens") is not None:
            out["output_tokens_details"] = {"reasoning_tokens": usage["reasoning_tokens"]}
    else:
        return None
    out["input_tokens"] = out.get("input_tokens") or 0
    out["output_tokens"] = out.get("output_tokens") or 0
    if out.get("total_tokens") is None:
        out["total_tokens"] = out["input_tokens"] + out["output_tokens"]
    details = dict(out.get("input_tokens_details") or {})
    details.setdefault("cached_tokens", 0)
    details.setdefault("cache_write_tokens", 0)
    out["input_tokens_details"] = details
    details = dict(out.get("output_tokens_details") or {})
    details.setdefault("reasoning_tokens", 0)
    out["output_tokens_details"] = details
    return out


def _object(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise DataError(f"{data.get('type')}: '{key}' is {_kind(value)}, expected an object")
    return value


def _string(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise DataError(f"{data.get('type')}: '{key}' is {_kind(value)}, expected a string")
    return value


def _kind(value: Any) -> str:
    return "missing" if value is None else f"a {type(value).__name__}"


def _text(data: dict[str, Any], key: str) -> str | None:
    """An optional string field (ids, names, models)."""
    value = data.get(key)
    if value is None or isinstance(value, str):
        return value
    raise DataError(f"{_where(data)}: '{key}' is {_kind(value)}, expected a string")


def _index(data: dict[str, Any], key: str) -> int | None:
    """An optional index field (output_index, content_index, summary_index)."""
    value = data.get(key)
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise DataError(f"{_where(data)}: '{key}' is {_kind(value)}, expected an integer")


def _list(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    if isinstance(value, list):
        return value
    raise DataError(f"{_where(data)}: '{key}' is {_kind(value)}, expected a list")


def _where(data: dict[str, Any]) -> str:
    kind = data.get("type")
    return kind if isinstance(kind, str) else "an event"


# --- normalize ----------------------------------------------------------------------------------


class _Item:
    """One output item of the response being read."""

    __slots__ = (
        "added",
        "call_id",
        "done",
        "frags",
        "head",
        "id",
        "index",
        "item",
        "kind",
        "name",
        "nblocks",
        "started",
        "streaming",
        "type",
    )

    def __init__(self, key: str, item: dict[str, Any], index: Any, added: bool) -> None:
        self.id: str = key
        self.type = _text(item, "type")
        self.index = index
        self.item = item
        self.added = added  # seen from output_item.added (not implicit, in a resumed stream)
        if self.type == "message":
            self.kind = "message"
        elif self.type == "reasoning":
            self.kind = "reasoning"
        elif self.type == "function_call" or self.type in _CLIENT_ITEMS:
            self.kind = "client"
        elif self.type in _PROVIDER_ITEMS:
            self.kind = "provider"
        else:
            self.kind = "other"
        self.call_id: str | None = None
        self.name = ""
        self.frags: list[str] = []  # argument fragments written (or held until the call starts)
        self.started = False  # tool-input-start written
        self.done = False  # tool-call written
        self.head: str | None = None  # JSON text before a streamed string field (see _stream_string)
        self.streaming = False  # the streamed string's opening quote was written
        self.nblocks = 0  # text or reasoning blocks opened for this item


class _Block:
    __slots__ = ("annotated", "ended", "got", "hot", "id", "item", "key", "kind", "meta")

    def __init__(
        self, bid: str, kind: str, key: tuple[str, str, int], item: _Item, meta: dict[str, Any]
    ) -> None:
        self.id = bid
        self.kind = kind
        self.key = key
        self.item = item
        self.meta = meta
        self.got = False  # a delta was written
        self.ended = False
        self.annotated = False  # its annotations became sources
        self.hot = False  # a plain text block whose deltas may take the hot path


class ResponsesNormalizer(Normalizer):
    """One stream of Responses events (possibly several responses, one after the other)."""

    def __init__(self, **options: Any) -> None:
        self._call_ids = 0
        self._reset()

    def _reset(self) -> None:
        self.started = False
        self.response_id: str | None = None
        self.nblocks = 0
        self.block: _Block | None = None
        self.blocks: dict[tuple[str, str, int], _Block] = {}
        self.items: dict[str, _Item] = {}
        self.by_index: dict[Any, _Item] = {}
        self.client_calls = False
        self.error = False
        self.nsources = 0
        # the hot path: the open text block and the (item_id, content_index) of its deltas
        self.text_id: str | None = None
        self.text_item: str | None = None
        self.text_index: Any = None

    def feed(self, data: Any, event: str | None = None) -> list[dict[str, Any]] | None:
        # The hot path, measured in `make bench`: a text delta for the text block already open.
        if type(data) is dict and data.get("type") == "response.output_text.delta":
            bid = self.text_id
            if (
                bid is not None
                and data.get("item_id") == self.text_item
                and data.get("content_index") == self.text_index
                and not data.get("logprobs")
            ):
                delta = data.get("delta")
                if type(delta) is str:
                    return [{"type": "text-delta", "id": bid, "delta": delta}] if delta else []
        return self._feed(data, event)

    def _feed(self, data: Any, event: str | None) -> list[dict[str, Any]] | None:
        if type(data) is not dict:
            if isinstance(data, str) and data.strip() == "[DONE]":
                return []  # not sent by OpenAI; some compatible servers add it
            return None
        kind = data.get("type") or event
        if not isinstance(kind, str):
            raise DataError("an event without a 'type'")
        handler = _HANDLERS.get(kind)
        if handler is None:
            return None
        out: list[dict[str, Any]] = []
        if handler(self, data, out) is False:
            return out or None
        return out

    def close(self) -> list[dict[str, Any]]:
        if not self.started:
            return []
        out: list[dict[str, Any]] = []
        self._end_all(out)
        fin: dict[str, Any] = {"type": "finish", "finish_reason": "error" if self.error else "other"}
        fin["raw_finish_reason"] = None
        if self.response_id:
            fin["provider_metadata"] = {NAME: {"response_id": self.response_id}}
        out.append(fin)
        self._reset()
        return out

    # --- the response -------------------------------------------------------------------------

    def _ensure(self, out: list[dict[str, Any]], response: dict[str, Any] | None = None) -> None:
        if self.started:
            return
        self.started = True
        ev: dict[str, Any] = {"type": "start", "id": None, "model": None, "dialect": NAME}
        if response is not None:
            self.response_id = ev["id"] = _text(response, "id")
            ev["model"] = _text(response, "model") or None
            created = response.get("created_at")
            if isinstance(created, (int, float)) and not isinstance(created, bool):
                ev["created"] = created
            meta = {k: response[k] for k in ("previous_response_id", "background") if response.get(k)}
            if meta:
                ev["provider_metadata"] = {NAME: meta}
        out.append(ev)

    def _on_lifecycle(self, data: dict[str, Any], out: list[dict[str, Any]]) -> bool:
        """response.created, .queued, .in_progress."""
        response = _object(data, "response")
        if self.started:
            new_id = _text(response, "id")
            if data.get("type") == "response.in_progress" or not new_id or new_id == self.response_id:
                return True
            out.extend(self.close())  # a new response while the last one never finished
        self._ensure(out, response)
        return True

    def _on_terminal(self, data: dict[str, Any], out: list[dict[str, Any]]) -> bool:
        """response.completed, .incomplete, .failed."""
        response = _object(data, "response")
        response_id = _text(response, "id")
        if self.started and response_id and self.response_id and response_id != self.response_id:
            out.extend(self.close())
        self._ensure(out, response)
        self.response_id = response_id or self.response_id
        for index, item in enumerate(_list(response, "output")):
            if isinstance(item, dict) and not self._seen(item):
                self._on_item_done(
                    {"type": "response.output_item.done", "item": item, "output_index": index}, out
                )
        self._end_all(out)
        kind = data.get("type")
        meta: dict[str, Any] = {}
        if kind == "response.incomplete":
            details = response.get("incomplete_details")
            raw = _text(details, "reason") if isinstance(details, dict) else None
            reason = INCOMPLETE_REASONS.get(raw or "", "other")
            raw = raw or "incomplete"
            if details:
                meta["incomplete_details"] = details
        elif kind == "response.failed":
            if not self.error:
                err = response.get("error")
                out.append(self._error_event(err if isinstance(err, dict) else {}, "response.failed"))
            reason, raw = "error", "failed"
        else:
            reason = "tool-calls" if self.client_calls else "stop"
            raw = _text(response, "status") or "completed"
        fin: dict[str, Any] = {"type": "finish", "finish_reason": reason, "raw_finish_reason": raw}
        meta["response_id"] = response_id
        usage = response.get("usage")
        if isinstance(usage, dict):
            fin["usage"] = map_usage(usage)
            meta["usage"] = usage
        if response.get("service_tier"):
            meta["service_tier"] = response["service_tier"]
        fin["provider_metadata"] = {NAME: meta}
        out.append(fin)
        self._reset()
        return True

    def _on_error(self, data: dict[str, Any], out: list[dict[str, Any]]) -> bool:
        self._ensure(out)
        self._end_block(out)  # the error comes after everything received before it
        nested = data.get("error")
        err = (
            nested
            if isinstance(nested, dict)
            else {k: v for k, v in data.items() if k not in ("type", "sequence_number")}
        )
        out.append(self._error_event(err, "error"))
        return True

    def _error_event(self, err: dict[str, Any], source: str) -> dict[str, Any]:
        self.error = True
        code = err.get("code") or err.get("type")
        if not isinstance(code, (str, int)) or isinstance(code, bool):
            code = None
        ev: dict[str, Any] = {
            "type": "error",
            "message": str(err.get("message") or code or "the response failed"),
        }
        if code is not None:
            ev["code"] = code
            if code in _RETRYABLE:
                ev["retryable"] = True
        ev["provider_metadata"] = {NAME: {"error": err, "event": source}}
        return ev

    def _end_all(self, out: list[dict[str, Any]]) -> None:
        """The response ends: end the open block, complete calls whose arguments never completed."""
        self._end_block(out)
        for it in self.items.values():
            if it.kind in ("client", "provider") and it.started and not it.done:
                if it.streaming:
                    self._args(it, '"}', out)
                self._complete(it, None, out)

    # --- items ---------------------------------------------------------------------------------

    def _register(self, item: dict[str, Any], index: Any, added: bool) -> _Item:
        key = _text(item, "id") or f"#{index}"
        it = self.items.get(key)
        if it is None and not added and index is not None:
            # a .done whose item id differs from its .added (or has none): the item at its index
            known = self.by_index.get(index)
            if known is not None and known.type == _text(item, "type"):
                it = known
        if it is None:
            it = self.items[key] = _Item(key, item, index, added)
            if index is not None:
                self.by_index[index] = it
        it.item = item
        if it.kind == "client":
            it.call_id = it.call_id or _text(item, "call_id") or None
            fixed = _CLIENT_ITEMS.get(it.type or "", (None, "", False))[0]
            it.name = it.name or fixed or _text(item, "name") or ""
        elif it.kind == "provider":
            it.call_id = it.call_id or _text(item, "id") or self._new_call_id()
            it.name = it.name or _PROVIDER_ITEMS[it.type or ""] or _text(item, "name") or it.type or ""
        return it

    def _seen(self, item: dict[str, Any]) -> bool:
        if _text(item, "id") in self.items:
            return True
        call_id = _text(item, "call_id")
        return bool(call_id) and any(it.call_id == call_id for it in self.items.values())

    def _item_for(self, data: dict[str, Any], kind: str) -> _Item:
        """The item an event is about; created on the spot in a stream resumed mid-item."""
        item_id = _text(data, "item_id")
        it = self.items.get(item_id) if item_id is not None else None
        if it is None:
            index = _index(data, "output_index")
            it = self.by_index.get(index) if index is not None else None
            if it is None or (item_id is not None and it.id != item_id and not it.id.startswith("#")):
                it = self._register({"id": item_id, "type": kind}, index, False)
        return it

    def _new_call_id(self) -> str:
        while True:
            candidate = f"call_{self._call_ids}"
            self._call_ids += 1
            if not any(it.call_id == candidate for it in self.items.values()):
                return candidate

    def _on_item_added(self, data: dict[str, Any], out: list[dict[str, Any]]) -> bool:
        item = _object(data, "item")
        it = self._register(item, _index(data, "output_index"), True)
        if it.kind == "other":
            return False
        self._ensure(out)
        if it.kind in ("client", "provider"):
            self._end_block(out)
            it.head = _string_head(it.type, item)
            if it.call_id is not None:
                self._start_call(it, out)
        return True

    def _on_item_done(self, data: dict[str, Any], out: list[dict[str, Any]]) -> bool:
        item = _object(data, "item")
        it = self._register(item, _index(data, "output_index"), False)
        if it.kind == "other":
            return False
        self._ensure(out)
        if it.kind == "message":
            self._message_done(it, item, out)
        elif it.kind == "reasoning":
            self._reasoning_done(it, item, out)
        else:
            if not it.done:
                if it.call_id is None:
                    it.call_id = self._new_call_id()
                if not it.started:
                    self._end_block(out)
                    self._start_call(it, out)
                if it.streaming:
                    self._args(it, '"}', out)
                self._complete(it, _item_arguments(it.type, item), out)
            if it.kind == "provider":
                out.append(self._tool_result(it, item))
        return True

    # --- text and reasoning blocks --------------------------------------------------------------

    def _open_block(self, kind: str, it: _Item, part: str, index: int, out: list[dict[str, Any]],
                    refusal: bool = False) -> _Block:  # fmt: skip
        self._end_block(out)
        bid = f"{kind}-{self.nblocks}"
        self.nblocks += 1
        meta: dict[str, Any] = {}
        if not it.id.startswith("#"):
            meta["item_id"] = it.id
        if kind == "text" and it.item.get("phase"):
            meta["phase"] = it.item["phase"]
        if kind == "reasoning" and part == "content":
            meta["part"] = "reasoning_text"
        key = (it.id, part, index)
        block = self.blocks[key] = self.block = _Block(bid, kind, key, it, meta)
        it.nblocks += 1
        ev: dict[str, Any] = {"type": f"{kind}-start", "id": bid}
        if refusal:
            ev["refusal"] = True
        if meta:
            ev["provider_metadata"] = {NAME: dict(meta)}
        out.append(ev)
        block.hot = kind == "text" and not refusal and not it.id.startswith("#")
        return block

    def _end_block(self, out: list[dict[str, Any]], extra: dict[str, Any] | None = None) -> None:
        block = self.block
        if block is None:
            return
        self.block = None
        self.text_id = None
        block.ended = True
        ev: dict[str, Any] = {"type": f"{block.kind}-end", "id": block.id}
        meta = {**block.meta, **extra} if extra else block.meta
        if meta:
            ev["provider_metadata"] = {NAME: dict(meta)}
        out.append(ev)

    def _block_for(self, data: dict[str, Any], kind: str, part: str, index_field: str,
                   out: list[dict[str, Any]], refusal: bool = False) -> _Block:  # fmt: skip
        """The open block an event is about, or a new one (also in a stream resumed mid-part)."""
        self._ensure(out)
        it = self._item_for(data, "message" if kind == "text" else "reasoning")
        index = _index(data, index_field) or 0
        block = self.block
        if block is not None and block.key == (it.id, part, index):
            return block
        return self._open_block(kind, it, part, index, out, refusal)

    def _written_block(self, data: dict[str, Any], kind: str, part: str, index_field: str,
                       out: list[dict[str, Any]], refusal: bool = False) -> _Block:  # fmt: skip
        """For a .done event: the block its deltas were written to (open or ended), else the
        block it is about (opened if need be)."""
        self._ensure(out)
        it = self._item_for(data, "message" if kind == "text" else "reasoning")
        block = self.blocks.get((it.id, part, _index(data, index_field) or 0))
        if block is not None and block.got:
            return block
        return self._block_for(data, kind, part, index_field, out, refusal)

    def _delta(self, block: _Block, text: Any, out: list[dict[str, Any]], meta: Any = None) -> None:
        if not isinstance(text, str):
            raise DataError(f"a delta is {_kind(text)}, expected a string")
        if text or meta:
            ev: dict[str, Any] = {"type": f"{block.kind}-delta", "id": block.id, "delta": text}
            if meta:
                ev["provider_metadata"] = {NAME: meta}
            out.append(ev)
            if not block.got:
                block.got = True
                if block.hot and block is self.block:  # its next deltas take the hot path
                    self.text_id, self.text_item, self.text_index = block.id, block.item.id, block.key[2]

    def _on_part_added(self, data: dict[str, Any], out: list[dict[str, Any]]) -> bool:
        part = _object(data, "part")
        kind = part.get("type")
        if kind == "reasoning_text":
            self._block_for(data, "reasoning", "content", "content_index", out)
        else:
            self._block_for(data, "text", "content", "content_index", out, refusal=kind == "refusal")
        return True

    def _on_part_done(self, data: dict[str, Any], out: list[dict[str, Any]]) -> bool:
        part = _object(data, "part")
        self._ensure(out)
        it = self._item_for(data, "reasoning" if part.get("type") == "reasoning_text" else "message")
        index = _index(data, "content_index") or 0
        block = self.blocks.get((it.id, "content", index))
        if block is None:
            self._whole_part(it, index, part, out)
            return True
        if not block.got and block is self.block:
            text = part.get("refusal") if part.get("type") == "refusal" else part.get("text")
            self._delta(block, text or "", out)
        if not block.annotated:
            block.annotated = True
            self._sources(part, out)
        if block is self.block and block.kind == "text":
            self._end_block(out)
        return True

    def _whole_part(self, it: _Item, index: int, part: dict[str, Any], out: list[dict[str, Any]]) -> None:
        """A content part never streamed: all of it at once."""
        kind = part.get("type")
        if kind == "reasoning_text":
            block = self._open_block("reasoning", it, "content", index, out)
            self._delta(block, part.get("text") or "", out)
            return  # stays open: the item's end carries its encrypted content
        refusal = kind == "refusal"
        if not refusal and kind != "output_text":
            return
        block = self._open_block("text", it, "content", index, out, refusal)
        self._delta(block, (part.get("refusal") if refusal else part.get("text")) or "", out)
        block.annotated = True
        self._sources(part, out)
        self._end_block(out)

    def _on_text_delta(self, data: dict[str, Any], out: list[dict[str, Any]]) -> bool:
        block = self._block_for(data, "text", "content", "content_index", out)
        logprobs = _list(data, "logprobs")
        self._delta(block, data.get("delta"), out, {"logprobs": logprobs} if logprobs else None)
        return True

    def _on_refusal_delta(self, data: dict[str, Any], out: list[dict[str, Any]]) -> bool:
        block = self._block_for(data, "text", "content", "content_index", out, refusal=True)
        self._delta(block, data.get("delta"), out)
        return True

    def _on_text_done(self, data: dict[str, Any], out: list[dict[str, Any]]) -> bool:
        """output_text.done, refusal.done, reasoning_text.done, reasoning_summary_text.done:
        the whole text, written only when no delta came (some servers send only this)."""
        kind = data.get("type")
        if kind == "response.reasoning_summary_text.done":
            block = self._written_block(data, "reasoning", "summary", "summary_index", out)
        elif kind == "response.reasoning_text.done":
            block = self._written_block(data, "reasoning", "content", "content_index", out)
        else:
            refusal = kind == "response.refusal.done"
            block = self._written_block(data, "text", "content", "content_index", out, refusal)
        if not block.got:
            self._delta(block, data.get("refusal" if kind == "response.refusal.done" else "text") or "", out)
        return True

    def _on_reasoning_delta(self, data: dict[str, Any], out: list[dict[str, Any]]) -> bool:
        if data.get("type") == "response.reasoning_summary_text.delta":
            block = self._block_for(data, "reasoning", "summary", "summary_index", out)
        else:
            block = self._block_for(data, "reasoning", "content", "content_index", out)
        self._delta(block, data.get("delta"), out)
        return True

    def _on_summary_part(self, data: dict[str, Any], out: list[dict[str, Any]]) -> bool:
        """reasoning_summary_part.added and .done (the part's text, if no delta came)."""
        if data.get("type") == "response.reasoning_summary_part.done":
            block = self._written_block(data, "reasoning", "summary", "summary_index", out)
        else:
            block = self._block_for(data, "reasoning", "summary", "summary_index", out)
        part = data.get("part")
        if (
            data.get("type") == "response.reasoning_summary_part.done"
            and not block.got
            and isinstance(part, dict)
        ):
            self._delta(block, part.get("text") or "", out)
        return True

    def _message_done(self, it: _Item, item: dict[str, Any], out: list[dict[str, Any]]) -> None:
        if self.block is not None and self.block.item is it:
            self._end_block(out)
        for index, part in enumerate(_list(item, "content")):
            if not isinstance(part, dict):
                continue
            block = self.blocks.get((it.id, "content", index))
            if block is None:
                self._whole_part(it, index, part, out)
            elif not block.annotated:
                block.annotated = True
                self._sources(part, out)

    def _reasoning_done(self, it: _Item, item: dict[str, Any], out: list[dict[str, Any]]) -> None:
        for part, field in (("summary", "summary"), ("content", "content")):
            for index, entry in enumerate(_list(item, field)):
                if isinstance(entry, dict) and (it.id, part, index) not in self.blocks:
                    block = self._open_block("reasoning", it, part, index, out)
                    self._delta(block, entry.get("text") or "", out)
        extra = {"encrypted_content": item["encrypted_content"]} if item.get("encrypted_content") else {}
        last = self.block
        if last is not None and last.item is it:
            self._end_block(out, extra)
        elif it.nblocks == 0 or extra:
            # no text at all (only encrypted content), or its last block already ended
            self._open_block("reasoning", it, "summary", it.nblocks, out)
            self._end_block(out, extra)

    # --- annotations ---------------------------------------------------------------------------

    def _on_annotation(self, data: dict[str, Any], out: list[dict[str, Any]]) -> bool:
        annotation = _object(data, "annotation")
        self._ensure(out)
        it = self._item_for(data, "message")
        block = self.blocks.get((it.id, "content", _index(data, "content_index") or 0))
        if block is not None:
            block.annotated = True
        self._source(annotation, out)
        return True

    def _sources(self, part: dict[str, Any], out: list[dict[str, Any]]) -> None:
        for annotation in _list(part, "annotations"):
            if isinstance(annotation, dict):
                self._source(annotation, out)

    def _source(self, annotation: dict[str, Any], out: list[dict[str, Any]]) -> None:
        ev: dict[str, Any] = {"type": "source", "source_type": "url", "id": f"src-{self.nsources}"}
        self.nsources += 1
        url = _text(annotation, "url")
        if url:
            ev["url"] = url
            title = _text(annotation, "title")
            if title:
                ev["title"] = title
            meta = {k: v for k, v in annotation.items() if k not in ("url", "title")}
        else:
            ev["source_type"] = "document"
            filename = _text(annotation, "filename")
            if filename:
                ev["title"] = ev["filename"] = filename
            meta = {k: v for k, v in annotation.items() if k != "filename"}
        ev["provider_metadata"] = {NAME: meta}
        out.append(ev)

    # --- tool calls ------------------------------------------------------------------------------

    def _start_call(self, it: _Item, out: list[dict[str, Any]]) -> None:
        it.started = True
        ev: dict[str, Any] = {"type": "tool-input-start", "id": it.call_id, "tool_name": it.name}
        if it.kind == "provider":
            ev["provider_executed"] = True
        meta: dict[str, Any] = {}
        if not it.id.startswith("#"):
            meta["item_id"] = it.id
        if it.type != "function_call":
            meta["type"] = it.type
        if meta:
            ev["provider_metadata"] = {NAME: meta}
        out.append(ev)
        for frag in it.frags:  # fragments that came before the call id (a resumed stream)
            out.append({"type": "tool-input-delta", "id": it.call_id, "delta": frag})

    def _args(self, it: _Item, frag: str, out: list[dict[str, Any]]) -> None:
        """One fragment of a call's arguments (held back until the call has started)."""
        if not frag or it.done:
            return
        it.frags.append(frag)
        if it.started:
            out.append({"type": "tool-input-delta", "id": it.call_id, "delta": frag})

    def _on_args_delta(self, data: dict[str, Any], out: list[dict[str, Any]]) -> bool:
        """function_call_arguments.delta, mcp_call_arguments.delta: JSON text."""
        self._ensure(out)
        kind = "mcp_call" if data.get("type") == "response.mcp_call_arguments.delta" else "function_call"
        it = self._item_for(data, kind)
        self._args(it, _string(data, "delta"), out)
        return True

    def _on_args_done(self, data: dict[str, Any], out: list[dict[str, Any]]) -> bool:
        """function_call_arguments.done, mcp_call_arguments.done: the call is complete."""
        self._ensure(out)
        kind = "mcp_call" if data.get("type") == "response.mcp_call_arguments.done" else "function_call"
        it = self._item_for(data, kind)
        if it.started and not it.done:
            self._complete(it, data.get("arguments") if isinstance(data.get("arguments"), str) else None, out)
        return True

    def _on_string_delta(self, data: dict[str, Any], out: list[dict[str, Any]]) -> bool:
        """custom_tool_call_input.delta, apply_patch_call_operation_diff.delta,
        code_interpreter_call_code.delta: a fragment of one string field of the input."""
        self._ensure(out)
        it = self._item_for(data, _STRING_EVENTS[data.get("type") or ""])
        delta = _string(data, "delta")
        if it.head is None:
            return True  # no known shape to stream into: the .done event gives the whole input
        if not it.streaming:
            it.streaming = True
            self._args(it, it.head + '"', out)
        self._args(it, _escape(delta), out)
        return True

    def _on_string_done(self, data: dict[str, Any], out: list[dict[str, Any]]) -> bool:
        """custom_tool_call_input.done, apply_patch_call_operation_diff.done,
        code_interpreter_call_code.done: the whole string; the call is complete."""
        self._ensure(out)
        kind = _STRING_EVENTS[data.get("type") or ""]
        it = self._item_for(data, kind)
        if not it.started or it.done:
            return True
        field = {"custom_tool_call": "input", "apply_patch_call": "diff"}.get(kind, "code")
        value = data.get(field)
        if not isinstance(value, str):
            return True
        if it.streaming:
            self._args(it, '"}', out)
        item = dict(it.item)
        if kind == "apply_patch_call":
            op = item.get("operation")
            item["operation"] = {**(op if isinstance(op, dict) else {}), "diff": value}
        else:
            item[field] = value
        self._complete(it, _item_arguments(kind, item), out)
        return True

    def _complete(self, it: _Item, arguments: str | None, out: list[dict[str, Any]]) -> None:
        """The call's arguments are complete: tool-input-end and its tool-call."""
        joined = "".join(it.frags)
        if not it.frags and arguments:
            self._args(it, arguments, out)
        elif arguments is None or (it.added and it.frags):
            arguments = joined  # the deltas, as received (they are the arguments)
        out.append({"type": "tool-input-end", "id": it.call_id})
        value, err = parse_arguments(arguments)
        ev: dict[str, Any] = {
            "type": "tool-call",
            "tool_call_id": it.call_id,
            "tool_name": it.name,
            "arguments": arguments,
            "input": value,
        }
        if err:
            ev["input_error"] = err
        meta: dict[str, Any] = {}
        if not it.id.startswith("#"):
            meta["item_id"] = it.id
        if it.kind == "provider":
            ev["provider_executed"] = True
            meta["type"] = it.type
            meta.update(_provider_meta(it.type, it.item))
            meta.pop("status", None)  # the result says how it ended
        else:
            self.client_calls = True
            if it.type != "function_call":
                meta["type"] = it.type
            if it.item.get("namespace"):
                meta["namespace"] = it.item["namespace"]
        if meta:
            ev["provider_metadata"] = {NAME: meta}
        out.append(ev)
        it.done = True

    def _tool_result(self, it: _Item, item: dict[str, Any]) -> dict[str, Any]:
        kind = it.type or ""
        status = item.get("status")
        if kind == "mcp_call":
            error = item.get("error")
            output: Any = error if error else item.get("output")
            is_error = bool(error) or status == "failed"
        else:
            if kind == "web_search_call":
                output = {"status": status} if status else {}
                action = item.get("action")
                if isinstance(action, dict) and action.get("sources"):
                    output["sources"] = action["sources"]
            elif kind == "image_generation_call":
                output = {k: v for k, v in item.items() if k not in ("id", "type")}
            else:
                output = {k: item[k] for k in _PROVIDER_OUTPUT[kind] if k in item}
            if item.get("error"):
                output["error"] = item["error"]
            is_error = status == "failed" or bool(item.get("error"))
        meta = {"item_id": it.id, "type": kind, **_provider_meta(kind, item)}
        return {
            "type": "tool-result",
            "tool_call_id": it.call_id,
            "tool_name": it.name,
            "output": output,
            "is_error": is_error,
            "provider_executed": True,
            "provider_metadata": {NAME: meta},
        }

    def _on_progress(self, data: dict[str, Any], out: list[dict[str, Any]]) -> bool:
        """Status events of provider-executed tools: the final item says it all."""
        self._ensure(out)
        return True


def _string_head(kind: Any, item: dict[str, Any]) -> str | None:
    """The JSON text that comes before a streamed string field's value in the call's arguments:
    ``{"input":`` for a custom tool, ``{"type":...,"path":...,"diff":`` for apply_patch,
    ``{"container_id":...,"code":`` for code_interpreter; None when the shape is unknown."""
    if kind == "custom_tool_call":
        return '{"input":'
    if kind == "apply_patch_call":
        op = item.get("operation")
        if not isinstance(op, dict) or op.get("type") == "delete_file":
            return None
        rest = {k: v for k, v in op.items() if k != "diff"}
        return (_dumps(rest)[:-1] + ("," if rest else "")) + '"diff":'
    if kind == "code_interpreter_call":
        cid = item.get("container_id")
        return ('{"container_id":' + _dumps(cid) + ',"code":') if cid else '{"code":'
    return None


def _item_arguments(kind: Any, item: dict[str, Any]) -> str | None:
    """A call's whole arguments (JSON text) from its item; None when the item does not say."""
    if kind == "function_call" or kind == "mcp_call":
        args = item.get("arguments")
        return args if isinstance(args, str) else None
    if kind == "custom_tool_call":
        text = item.get("input")
        return _dumps({"input": text}) if isinstance(text, str) else None
    if kind == "apply_patch_call":
        op = item.get("operation")
        if not isinstance(op, dict):
            return None
        if "diff" in op:
            op = {**{k: v for k, v in op.items() if k != "diff"}, "diff": op["diff"]}
        return _dumps(op)
    if kind == "web_search_call":
        args = item.get("arguments")
        if isinstance(args, str) and args:
            return args  # xAI: the search's arguments
        action = item.get("action")
        return _dumps({k: v for k, v in action.items() if k != "sources"} if isinstance(action, dict) else {})
    if kind == "code_interpreter_call":
        cid = item.get("container_id")
        return _dumps(
            {"container_id": cid, "code": item.get("code") or ""} if cid else {"code": item.get("code") or ""}
        )
    fields = _PROVIDER_INPUT.get(kind)
    if fields is None:
        return None
    return _dumps({k: item[k] for k in fields if k in item})


def _provider_meta(kind: Any, item: dict[str, Any]) -> dict[str, Any]:
    """A provider-executed item's fields that are neither its input nor its output."""
    if kind == "mcp_call":
        skip = {"id", "type", "name", "arguments", "output", "error"}
    elif kind == "web_search_call":
        skip = {"id", "type", "action", "arguments", "status", "error"}
    elif kind == "image_generation_call":
        return {}
    else:
        skip = {"id", "type", "error", *_PROVIDER_INPUT.get(kind, ()), *_PROVIDER_OUTPUT.get(kind, ())}
    return {k: v for k, v in item.items() if k not in skip and v is not None}


# streamed-string events -> the item type they belong to
_STRING_EVENTS = {
    "response.custom_tool_call_input.delta": "custom_tool_call",
    "response.custom_tool_call_input.done": "custom_tool_call",
    "response.apply_patch_call_operation_diff.delta": "apply_patch_call",
    "response.apply_patch_call_operation_diff.done": "apply_patch_call",
    "response.code_interpreter_call_code.delta": "code_interpreter_call",
    "response.code_interpreter_call_code.done": "code_interpreter_call",
}

_R = ResponsesNormalizer
_HANDLERS: dict[str, Any] = {
    "response.created": _R._on_lifecycle,
    "response.queued": _R._on_lifecycle,
    "response.in_progress": _R._on_lifecycle,
    "response.completed": _R._on_terminal,
    "response.incomplete": _R._on_terminal,
    "response.failed": _R._on_terminal,
    "error": _R._on_error,
    "response.output_item.added": _R._on_item_added,
    "response.output_item.done": _R._on_item_done,
    "response.content_part.added": _R._on_part_added,
    "response.content_part.done": _R._on_part_done,
    "response.output_text.delta": _R._on_text_delta,
    "response.output_text.done": _R._on_text_done,
    "response.refusal.delta": _R._on_refusal_delta,
    "response.refusal.done": _R._on_text_done,
    "response.output_text.annotation.added": _R._on_annotation,
    "response.reasoning_summary_part.added": _R._on_summary_part,
    "response.reasoning_summary_part.done": _R._on_summary_part,
    "response.reasoning_summary_text.delta": _R._on_reasoning_delta,
    "response.reasoning_summary_text.done": _R._on_text_done,
    "response.reasoning_text.delta": _R._on_reasoning_delta,
    "response.reasoning_text.done": _R._on_text_done,
    "response.function_call_arguments.delta": _R._on_args_delta,
    "response.function_call_arguments.done": _R._on_args_done,
    "response.mcp_call_arguments.delta": _R._on_args_delta,
    "response.mcp_call_arguments.done": _R._on_args_done,
    **{kind: _R._on_string_delta for kind in _STRING_EVENTS if kind.endswith(".delta")},
    **{kind: _R._on_string_done for kind in _STRING_EVENTS if kind.endswith(".done")},
    **{
        f"response.{tool}.{stage}": _R._on_progress
        for tool, stages in (
            ("web_search_call", ("in_progress", "searching", "completed")),
            ("file_search_call", ("in_progress", "searching", "completed")),
            ("code_interpreter_call", ("in_progress", "interpreting", "completed")),
            ("mcp_call", ("in_progress", "completed", "failed")),
            ("mcp_list_tools", ("in_progress", "completed", "failed")),
            ("image_generation_call", ("in_progress", "generating", "completed", "partial_image")),
        )
        for stage in stages
    },
}


# --- encode ---------------------------------------------------------------------------------------

# ResponseError.code values the SDK accepts in response.failed (others are written as server_error)
_ERROR_CODES = frozenset({
    "server_error", "rate_limit_exceeded", "invalid_prompt", "data_residency_mismatch", "bio_policy",
    "misalignment_policy_violation", "vector_store_timeout", "invalid_image", "invalid_image_format",
    "invalid_base64_image", "invalid_image_url", "image_too_large", "image_too_small",
    "image_parse_error", "image_content_policy_violation", "invalid_image_mode",
    "image_file_too_large", "unsupported_image_media_type", "empty_image_file",
    "failed_to_download_image", "image_file_not_found",
})  # fmt: skip

# other dialects' provider-executed tools -> the Responses item that expresses them
_FOREIGN_TOOLS = {
    "web_search": "web_search_call",
    "web_search_preview": "web_search_call",
    "google_search": "web_search_call",
    "browser_search": "web_search_call",
    "code_interpreter": "code_interpreter_call",
    "code_execution": "code_interpreter_call",
    "file_search": "file_search_call",
    "image_generation": "image_generation_call",
}

# the statuses each provider-executed item may have
_STATUSES = {
    "web_search_call": ("in_progress", "searching", "completed", "failed", "incomplete"),
    "file_search_call": ("in_progress", "searching", "completed", "incomplete", "failed"),
    "code_interpreter_call": ("in_progress", "completed", "incomplete", "interpreting", "failed"),
    "image_generation_call": ("in_progress", "completed", "generating", "failed"),
    "mcp_call": ("in_progress", "completed", "incomplete", "calling", "failed"),
}

_ITEM_PREFIX = {"function_call": "fc", "custom_tool_call": "ctc", "apply_patch_call": "apc"}


def _meta(ev: dict[str, Any] | None) -> dict[str, Any]:
    """This dialect's provider_metadata of an event."""
    if not ev:
        return {}
    meta = (ev.get("provider_metadata") or {}).get(NAME)
    return meta if isinstance(meta, dict) else {}


def _new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def _fits(kind: str, value: Any) -> bool:
    """Whether a call's input has the shape its item type needs (else it is written as a function call)."""
    if not isinstance(value, dict):
        return False
    if kind == "custom_tool_call":
        return isinstance(value.get("input"), str)
    if kind == "apply_patch_call":
        op = value.get("type")
        return (
            op in ("create_file", "update_file", "delete_file")
            and isinstance(value.get("path"), str)
            and (op == "delete_file" or isinstance(value.get("diff"), str))
        )
    return False


class _Call:
    """A client tool call on its way to the wire."""

    __slots__ = (
        "_item_id",
        "arguments",
        "complete",
        "frags",
        "id",
        "index",
        "input",
        "kind",
        "meta",
        "name",
        "sent",
        "wired",
    )

    def __init__(self, call_id: str, name: str, meta: dict[str, Any]) -> None:
        self.id = call_id
        self.name = name
        self.meta = dict(meta)
        kind = meta.get("type")
        self.kind = kind if kind in _CLIENT_ITEMS else "function_call"
        self.frags: list[str] = []
        self.sent = 0  # fragments already written
        self.complete = False  # its tool-call arrived
        self.arguments: str | None = None
        self.input: Any = None
        self.index = -1  # output_index, once on the wire
        self.wired = False
        self._item_id: str | None = None

    @property
    def item_id(self) -> str:
        """The item's id: the one it came with, else a new one; fixed once it is used."""
        if self._item_id is None:
            item_id = self.meta.get("item_id")
            self._item_id = (
                item_id if isinstance(item_id, str) else _new_id(_ITEM_PREFIX.get(self.kind, "fc"))
            )
        return self._item_id


class ResponsesEncoder(Encoder):
    """Canonical events → Responses API stream events, each response complete from
    ``response.created`` to its terminal event."""

    dialect_name = NAME

    def __init__(self, *, reasoning_part: str = "summary", previous_response_id: str | None = None,
                 **options: Any) -> None:  # fmt: skip
        if reasoning_part not in ("summary", "text"):
            raise UsageError(f"reasoning_part must be 'summary' or 'text', not {reasoning_part!r}")
        self.reasoning_part = reasoning_part
        # what the request being answered continues (serve): echoed on responses that name none
        self.previous_response_id = previous_response_id
        self.open = False  # a response is being written
        self.wrote = False  # a response was written from events (a message after it sums them up)
        self._new_response()

    def _new_response(self) -> None:
        self.seq = 0
        self.resp: dict[str, Any] = {}
        self.output: list[dict[str, Any]] = []  # the items, by output_index
        self.msg: dict[str, Any] | None = None  # the open message item
        self.rsn: dict[str, Any] | None = None  # the open reasoning item
        self.calls: dict[str, _Call] = {}
        self.queue: list[str] = []  # calls waiting for the one on the wire
        self.current: _Call | None = None  # the function call streaming on the wire
        self.tools: dict[str, dict[str, Any]] = {}  # provider-executed calls waiting for their result
        self.sources: list[dict[str, Any]] = []  # sources waiting for a text part
        self.error: dict[str, Any] | None = None
        self.ids: set[str] = set()  # item ids used in this response

    def feed(self, event: dict[str, Any]) -> list[WireEvent]:
        handler = self._handlers.get(event.get("type"))  # type: ignore[arg-type]
        if handler is None:
            return []
        if event.get("choice"):
            return self.drop("choices other than the first (n>1)")
        return handler(self, event)

    def close(self) -> list[WireEvent]:
        self.report_dropped()
        return []

    # --- wire helpers -------------------------------------------------------------------------

    def _ev(self, kind: str, **fields: Any) -> WireEvent:
        data = {"type": kind, **fields, "sequence_number": self.seq}
        self.seq += 1
        return (kind, data)

    def _fresh_id(self, item_id: Any, prefix: str) -> str:
        """The id an item came with, unless this response already used it (then a new one)."""
        if not isinstance(item_id, str) or not item_id or item_id in self.ids:
            item_id = _new_id(prefix)
        self.ids.add(item_id)
        return item_id

    def _add_item(self, item: dict[str, Any], out: list[WireEvent]) -> int:
        index = len(self.output)
        self.output.append(item)
        out.append(self._ev("response.output_item.added", output_index=index, item=item))
        return index

    def _done_item(self, index: int, item: dict[str, Any], out: list[WireEvent]) -> None:
        self.output[index] = item
        out.append(self._ev("response.output_item.done", output_index=index, item=item))

    def _response(self, status: str, **more: Any) -> dict[str, Any]:
        return {
            **self.resp,
            "status": status,
            "error": None,
            "incomplete_details": None,
            "output": [],
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
            "usage": None,
            **more,
        }

    def _ensure_open(self) -> list[WireEvent]:
        return [] if self.open else self._on_start({"type": "start"})

    # --- the response -------------------------------------------------------------------------

    def _on_start(self, ev: dict[str, Any]) -> list[WireEvent]:
        # a response still open here was cut off upstream: it stays cut off
        self._new_response()
        self.open = self.wrote = True
        meta = _meta(ev)
        created = ev.get("created")
        self.resp = {
            "id": ev.get("id") or _new_id("resp"),
            "object": "response",
            "created_at": int(created) if isinstance(created, (int, float)) else int(time.time()),
            "model": ev.get("model") or "",
        }
        for key in ("previous_response_id", "background"):
            if meta.get(key) is not None:
                self.resp[key] = meta[key]
        if self.previous_response_id and "previous_response_id" not in self.resp:
            self.resp["previous_response_id"] = self.previous_response_id
        return [
            self._ev("response.created", response=self._response("in_progress")),
            self._ev("response.in_progress", response=self._response("in_progress")),
        ]

    def _on_finish(self, ev: dict[str, Any]) -> list[WireEvent]:
        out = self._ensure_open()
        # calls never completed upstream are written with the arguments they have
        for call in [self.current, *(self.calls[c] for c in self.queue)]:
            if call is not None and not call.complete:
                call.complete = True
                call.arguments = "".join(call.frags)
        if self.current is not None:
            self._call_done(self.current, out)
        self._advance(out)
        for call_ev in list(self.tools.values()):
            self._provider_item(call_ev, None, out)
        self.tools = {}
        reason = ev.get("finish_reason") or "other"
        status = {"length": "incomplete", "content-filter": "incomplete", "error": "failed"}.get(
            reason, "completed"
        )
        self._close_message(out, "incomplete" if status == "incomplete" else "completed")
        self._close_reasoning(out)
        for _ in self.sources:
            self.drop("sources with no text to cite them")
        self.sources = []
        meta = _meta(ev)
        more: dict[str, Any] = {"output": list(self.output)}
        usage = wire_usage(ev.get("usage"), meta.get("usage"))
        if usage is not None:
            more["usage"] = usage
        if meta.get("service_tier"):
            more["service_tier"] = meta["service_tier"]
        if status == "incomplete":
            details = meta.get("incomplete_details")
            if not isinstance(details, dict):
                details = {"reason": "content_filter" if reason == "content-filter" else "max_output_tokens"}
            more["incomplete_details"] = details
            kind = "response.incomplete"
        elif status == "failed":
            err = self.error or {}
            code = err.get("code")
            more["error"] = {
                "code": code if isinstance(code, str) and code in _ERROR_CODES else "server_error",
                "message": str(err.get("message") or "the response failed"),
            }
            kind = "response.failed"
        elif reason == "other" and ev.get("raw_finish_reason") is None:
            self.open = False
            return out  # cut off upstream: the stream ends without a terminal event, as it did
        else:
            kind = "response.completed"
        out.append(self._ev(kind, response=self._response(status, **more)))
        self.open = False
        return out

    def _on_error(self, ev: dict[str, Any]) -> list[WireEvent]:
        if ev.get("code") == "bad-input":
            return []  # a bad line upstream of us, not an upstream error
        out = self._ensure_open()
        meta = _meta(ev)
        err: dict[str, Any] = meta["error"] if isinstance(meta.get("error"), dict) else {}
        code = ev.get("code") if ev.get("code") is not None else err.get("code")
        message = str(ev.get("message") or err.get("message") or "upstream error")
        param = err.get("param") if isinstance(err.get("param"), str) else None
        self.error = {"code": code, "message": message}
        if meta.get("event") != "response.failed":  # else response.failed itself carries it
            out.append(
                self._ev("error", code=str(code) if code is not None else None, message=message, param=param)
            )
        return out

    def _on_message(self, ev: dict[str, Any]) -> list[WireEvent]:
        if self.open or self.wrote:
            return []  # the events it sums up were already written
        events = list(message_to_events(ev))
        # the starts get the metadata their ends (and calls) carry, so that items keep their ids
        meta = {
            e.get("id") or e.get("tool_call_id"): e.get("provider_metadata")
            for e in events
            if e["type"] in ("text-end", "reasoning-end", "tool-call")
        }
        out: list[WireEvent] = []
        for sub in events:
            if sub["type"] in ("text-start", "reasoning-start", "tool-input-start") and meta.get(sub["id"]):
                sub = {**sub, "provider_metadata": meta[sub["id"]]}
            out.extend(self.feed(sub))
        self.wrote = False  # the next bare message is a response of its own
        return out

    # --- text ---------------------------------------------------------------------------------

    def _open_message(self, meta: dict[str, Any], out: list[WireEvent]) -> dict[str, Any]:
        self._close_reasoning(out)
        msg = self.msg
        item_id = meta.get("item_id")
        if msg is not None and item_id in (None, msg["id"]) and meta.get("phase") == msg["phase"]:
            return msg
        self._close_message(out)
        item: dict[str, Any] = {
            "id": self._fresh_id(item_id, "msg"),
            "type": "message",
            "status": "in_progress",
            "content": [],
            "role": "assistant",
        }
        if meta.get("phase"):
            item["phase"] = meta["phase"]
        index = self._add_item(item, out)
        self.msg = {"id": item["id"], "index": index, "phase": meta.get("phase"), "parts": [], "part": None}
        return self.msg

    def _on_text_start(self, ev: dict[str, Any]) -> list[WireEvent]:
        out = self._ensure_open()
        msg = self._open_message(_meta(ev), out)
        self._close_part(out)
        refusal = bool(ev.get("refusal"))
        part: dict[str, Any] = {
            "id": ev["id"],
            "index": len(msg["parts"]),
            "refusal": refusal,
            "frags": [],
            "logprobs": [],
            "annotations": [],
            "text": None,
        }
        msg["parts"].append(part)
        msg["part"] = part
        wire = (
            {"type": "refusal", "refusal": ""}
            if refusal
            else {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
        )
        out.append(
            self._ev(
                "response.content_part.added",
                item_id=msg["id"],
                output_index=msg["index"],
                content_index=part["index"],
                part=wire,
            )
        )
        if not refusal:
            pending, self.sources = self.sources, []
            for annotation in pending:
                self._annotate(msg, part, annotation, out)
        return out

    def _text_part(self, ev: dict[str, Any], out: list[WireEvent]) -> tuple[dict[str, Any], dict[str, Any]]:
        msg = self.msg
        part = msg["part"] if msg is not None else None
        if msg is None or part is None or part["id"] != ev["id"]:
            out.extend(self._on_text_start({"type": "text-start", "id": ev["id"]}))  # a delta with no start
            msg = self.msg
            assert msg is not None
            part = msg["part"]
        return msg, part

    def _on_text_delta(self, ev: dict[str, Any]) -> list[WireEvent]:
        out: list[WireEvent] = []
        msg, part = self._text_part(ev, out)
        delta = ev.get("delta") or ""
        part["frags"].append(delta)
        ids = {"item_id": msg["id"], "output_index": msg["index"], "content_index": part["index"]}
        if part["refusal"]:
            out.append(self._ev("response.refusal.delta", **ids, delta=delta))
        else:
            logprobs = _meta(ev).get("logprobs") or []
            part["logprobs"].extend(logprobs)
            out.append(self._ev("response.output_text.delta", **ids, delta=delta, logprobs=logprobs))
        return out

    def _on_text_end(self, ev: dict[str, Any]) -> list[WireEvent]:
        msg = self.msg
        if (msg is None or msg["part"] is None or msg["part"]["id"] != ev["id"]) and not ev.get("text"):
            return []  # an end of nothing
        out: list[WireEvent] = []
        msg, part = self._text_part(ev, out)
        if not part["frags"] and ev.get("text"):
            out.extend(self._on_text_delta({"type": "text-delta", "id": ev["id"], "delta": ev["text"]}))
        self._close_part(out)
        return out

    def _close_part(self, out: list[WireEvent]) -> None:
        msg = self.msg
        if msg is None or msg["part"] is None:
            return
        part = msg["part"]
        msg["part"] = None
        text = part["text"] = "".join(part["frags"])
        part["frags"] = [text]
        ids = {"item_id": msg["id"], "output_index": msg["index"], "content_index": part["index"]}
        if part["refusal"]:
            out.append(self._ev("response.refusal.done", **ids, refusal=text))
        else:
            out.append(
                self._ev("response.output_text.done", **ids, text=text, logprobs=list(part["logprobs"]))
            )
        out.append(self._ev("response.content_part.done", **ids, part=self._wire_part(part)))

    @staticmethod
    def _wire_part(part: dict[str, Any]) -> dict[str, Any]:
        text = "".join(part["frags"])
        if part["refusal"]:
            return {"type": "refusal", "refusal": text}
        return {
            "type": "output_text",
            "annotations": list(part["annotations"]),
            "logprobs": list(part["logprobs"]),
            "text": text,
        }

    def _close_message(self, out: list[WireEvent], status: str = "completed") -> None:
        msg = self.msg
        if msg is None:
            return
        self._close_part(out)
        self.msg = None
        item: dict[str, Any] = {
            "id": msg["id"],
            "type": "message",
            "status": status,
            "content": [self._wire_part(p) for p in msg["parts"]],
            "role": "assistant",
        }
        if msg["phase"]:
            item["phase"] = msg["phase"]
        self._done_item(msg["index"], item, out)

    # --- sources --------------------------------------------------------------------------------

    def _on_source(self, ev: dict[str, Any]) -> list[WireEvent]:
        out = self._ensure_open()
        if ev.get("source_type") == "url" and not ev.get("url"):
            return self.drop("url sources without a url")
        msg = self.msg
        target = None
        if msg is not None:
            if msg["part"] is not None:
                target = msg["part"]
            elif msg["parts"]:
                target = msg["parts"][-1]  # the text it follows
        if msg is None or target is None or target["refusal"]:
            self.sources.append(ev)  # for the next text part
            return out
        self._annotate(msg, target, ev, out)
        return out

    def _annotate(
        self, msg: dict[str, Any], part: dict[str, Any], ev: dict[str, Any], out: list[WireEvent]
    ) -> None:
        position = sum(len(f) for f in part["frags"])
        annotation = self._annotation(ev, position)
        index = len(part["annotations"])
        part["annotations"].append(annotation)
        out.append(
            self._ev(
                "response.output_text.annotation.added",
                item_id=msg["id"],
                output_index=msg["index"],
                content_index=part["index"],
                annotation_index=index,
                annotation=annotation,
            )
        )

    @staticmethod
    def _annotation(ev: dict[str, Any], position: int) -> dict[str, Any]:
        """A source as an annotation: as it was when it came from this dialect; else a
        ``url_citation`` at the current position, or a ``file_citation`` for a document."""
        meta = _meta(ev)
        if ev.get("source_type") == "url":
            rest = {k: v for k, v in meta.items() if k not in ("type", "start_index", "end_index")}
            return {
                "type": "url_citation",
                "start_index": meta.get("start_index", position),
                "end_index": meta.get("end_index", position),
                "title": ev.get("title") or "",
                "url": ev["url"],
                **rest,
            }
        kind = meta.get("type")
        filename = ev.get("filename") or ev.get("title")
        if kind in ("file_citation", "container_file_citation", "file_path") and meta.get("file_id"):
            annotation = dict(meta)
            if kind != "file_path":
                annotation["filename"] = filename or meta.get("filename") or ""
            return annotation
        return {
            "type": "file_citation",
            "file_id": str(meta.get("file_id") or ev.get("id") or ""),
            "filename": filename or str(ev.get("id") or ""),
            "index": position,
        }

    # --- reasoning ------------------------------------------------------------------------------

    def _on_reasoning_start(self, ev: dict[str, Any]) -> list[WireEvent]:
        out = self._ensure_open()
        meta = _meta(ev)
        self._close_message(out)
        rsn = self.rsn
        item_id = meta.get("item_id")
        if rsn is None or item_id is None or item_id != rsn["id"]:
            self._close_reasoning(out)
            item: dict[str, Any] = {"id": self._fresh_id(item_id, "rs"), "type": "reasoning", "summary": []}
            index = self._add_item(item, out)
            rsn = self.rsn = {"id": item["id"], "index": index, "summary": [], "content": [], "encrypted": None,
                              "part": None}  # fmt: skip
        else:
            self._close_reasoning_part(out)
        as_text = meta["part"] == "reasoning_text" if meta.get("part") else self.reasoning_part == "text"
        rsn["part"] = {"id": ev["id"], "text": as_text, "frags": [], "index": None}
        return out

    def _reasoning_part(
        self, ev: dict[str, Any], out: list[WireEvent]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        rsn = self.rsn
        part = rsn["part"] if rsn is not None else None
        if rsn is None or part is None or part["id"] != ev["id"]:
            start = {
                "type": "reasoning-start",
                "id": ev["id"],
                "provider_metadata": ev.get("provider_metadata"),
            }
            out.extend(self._on_reasoning_start(start))
            rsn = self.rsn
            assert rsn is not None
            part = rsn["part"]
        return rsn, part

    def _on_reasoning_delta(self, ev: dict[str, Any]) -> list[WireEvent]:
        out: list[WireEvent] = []
        rsn, part = self._reasoning_part(ev, out)
        delta = ev.get("delta") or ""
        if not delta:
            return out
        ids = {"item_id": rsn["id"], "output_index": rsn["index"]}
        if part["index"] is None:  # the part's first text: the part begins on the wire
            if part["text"]:
                part["index"] = len(rsn["content"])
                rsn["content"].append({"type": "reasoning_text", "text": ""})
                out.append(self._ev("response.content_part.added", **ids, content_index=part["index"],
                                    part={"type": "reasoning_text", "text": ""}))  # fmt: skip
            else:
                part["index"] = len(rsn["summary"])
                rsn["summary"].append({"type": "summary_text", "text": ""})
                out.append(self._ev("response.reasoning_summary_part.added", **ids, summary_index=part["index"],
                                    part={"type": "summary_text", "text": ""}))  # fmt: skip
        part["frags"].append(delta)
        if part["text"]:
            out.append(
                self._ev("response.reasoning_text.delta", **ids, content_index=part["index"], delta=delta)
            )
        else:
            out.append(
                self._ev(
                    "response.reasoning_summary_text.delta", **ids, summary_index=part["index"], delta=delta
                )
            )
        return out

    def _on_reasoning_end(self, ev: dict[str, Any]) -> list[WireEvent]:
        out: list[WireEvent] = []
        rsn, part = self._reasoning_part(ev, out)
        if not part["frags"] and ev.get("text"):
            out.extend(
                self._on_reasoning_delta({"type": "reasoning-delta", "id": ev["id"], "delta": ev["text"]})
            )
        self._close_reasoning_part(out)
        meta = _meta(ev)
        if meta.get("encrypted_content"):
            rsn["encrypted"] = meta["encrypted_content"]
        for dialect, other in (ev.get("provider_metadata") or {}).items():
            if (
                dialect != NAME
                and isinstance(other, dict)
                and other.keys() & {"signature", "redacted_data", "data"}
            ):
                self.drop("reasoning signatures of other dialects")
        return out

    def _close_reasoning_part(self, out: list[WireEvent]) -> None:
        rsn = self.rsn
        if rsn is None or rsn["part"] is None:
            return
        part = rsn["part"]
        rsn["part"] = None
        if part["index"] is None:
            return  # no text: no part on the wire
        text = "".join(part["frags"])
        ids = {"item_id": rsn["id"], "output_index": rsn["index"]}
        if part["text"]:
            rsn["content"][part["index"]] = {"type": "reasoning_text", "text": text}
            out.append(
                self._ev("response.reasoning_text.done", **ids, content_index=part["index"], text=text)
            )
            out.append(self._ev("response.content_part.done", **ids, content_index=part["index"],
                                part={"type": "reasoning_text", "text": text}))  # fmt: skip
        else:
            rsn["summary"][part["index"]] = {"type": "summary_text", "text": text}
            out.append(
                self._ev(
                    "response.reasoning_summary_text.done", **ids, summary_index=part["index"], text=text
                )
            )
            out.append(self._ev("response.reasoning_summary_part.done", **ids, summary_index=part["index"],
                                part={"type": "summary_text", "text": text}))  # fmt: skip

    def _close_reasoning(self, out: list[WireEvent]) -> None:
        rsn = self.rsn
        if rsn is None:
            return
        self._close_reasoning_part(out)
        self.rsn = None
        item: dict[str, Any] = {"id": rsn["id"], "type": "reasoning", "summary": list(rsn["summary"])}
        if rsn["content"]:
            item["content"] = list(rsn["content"])
        if rsn["encrypted"]:
            item["encrypted_content"] = rsn["encrypted"]
        self._done_item(rsn["index"], item, out)

    # --- client tool calls ----------------------------------------------------------------------

    def _call(self, call_id: str, name: str, meta: dict[str, Any]) -> _Call:
        call = self.calls.get(call_id)
        if call is None:
            call = self.calls[call_id] = _Call(call_id, name, meta)
        return call

    def _on_tool_input_start(self, ev: dict[str, Any]) -> list[WireEvent]:
        if ev.get("provider_executed"):
            return []  # written whole with its result
        out = self._ensure_open()
        call = self._call(ev["id"], ev.get("tool_name") or "", _meta(ev))
        if call.kind == "function_call":
            self._schedule(call, out)
        return out  # the other kinds are written whole, with their tool-call

    def _on_tool_input_delta(self, ev: dict[str, Any]) -> list[WireEvent]:
        call = self.calls.get(ev["id"])
        if call is None or call.complete:
            return []  # provider-executed, or no start: the tool-call carries the arguments
        call.frags.append(ev["delta"])
        if call is not self.current:
            return []  # held back until the call on the wire is done
        call.sent = len(call.frags)
        return [
            self._ev(
                "response.function_call_arguments.delta",
                item_id=call.item_id,
                output_index=call.index,
                delta=ev["delta"],
            )
        ]

    def _on_tool_call(self, ev: dict[str, Any]) -> list[WireEvent]:
        out = self._ensure_open()
        if ev.get("provider_executed"):
            self.tools[ev["tool_call_id"]] = ev
            return out
        meta = _meta(ev)
        call = self._call(ev["tool_call_id"], ev.get("tool_name") or "", meta)
        if call.complete:
            return out  # written already
        call.meta.update(meta)
        call.name = ev.get("tool_name") or call.name
        arguments = ev.get("arguments")
        if arguments is None:
            arguments = _dumps(ev.get("input") or {})
        call.arguments = arguments
        call.input = ev["input"] if "input" in ev else parse_arguments(arguments)[0]
        call.complete = True
        if not call.wired:
            kind = meta.get("type")
            call.kind = kind if kind in _CLIENT_ITEMS and _fits(kind, call.input) else "function_call"
            self._schedule(call, out)
        elif call is self.current:
            self._call_done(call, out)
            self._advance(out)
        return out

    def _schedule(self, call: _Call, out: list[WireEvent]) -> None:
        if call.wired or call.id in self.queue:
            return
        if self.current is None and not self.queue:
            self._wire(call, out)
        else:
            self.queue.append(call.id)

    def _advance(self, out: list[WireEvent]) -> None:
        while self.current is None and self.queue:
            self._wire(self.calls[self.queue.pop(0)], out)

    def _wire(self, call: _Call, out: list[WireEvent]) -> None:
        """Put a call on the wire: a function call streams from here; other kinds are whole."""
        self._close_message(out)
        self._close_reasoning(out)
        call.wired = True
        call._item_id = self._fresh_id(call.meta.get("item_id"), _ITEM_PREFIX.get(call.kind, "fc"))
        if call.kind != "function_call":
            self._whole_client_item(call, out)
            return
        item: dict[str, Any] = {
            "id": call.item_id,
            "type": "function_call",
            "status": "in_progress",
            "arguments": "",
            "call_id": call.id,
            "name": call.name,
        }
        call.index = self._add_item(item, out)
        self.current = call
        if call.frags:
            call.sent = len(call.frags)
            out.append(self._ev("response.function_call_arguments.delta", item_id=call.item_id,
                                output_index=call.index, delta="".join(call.frags)))  # fmt: skip
        if call.complete:
            self._call_done(call, out)

    def _call_done(self, call: _Call, out: list[WireEvent]) -> None:
        arguments = call.arguments if call.arguments is not None else "".join(call.frags)
        ids = {"item_id": call.item_id, "output_index": call.index}
        if not call.sent and arguments:
            out.append(self._ev("response.function_call_arguments.delta", **ids, delta=arguments))
        elif call.sent < len(call.frags):
            out.append(
                self._ev(
                    "response.function_call_arguments.delta", **ids, delta="".join(call.frags[call.sent :])
                )
            )
        call.sent = len(call.frags)
        out.append(self._ev("response.function_call_arguments.done", **ids, arguments=arguments))
        item: dict[str, Any] = {
            "id": call.item_id,
            "type": "function_call",
            "status": "completed",
            "arguments": arguments,
            "call_id": call.id,
            "name": call.name,
        }
        if call.meta.get("namespace"):
            item["namespace"] = call.meta["namespace"]
        self._done_item(call.index, item, out)
        if self.current is call:
            self.current = None

    def _whole_client_item(self, call: _Call, out: list[WireEvent]) -> None:
        """A custom tool or apply_patch call: added, its input, done."""
        base = {"id": call.item_id, "type": call.kind}
        if call.kind == "custom_tool_call":
            text = call.input["input"]
            fields = {"call_id": call.id, "name": call.name}
            index = self._add_item({**base, "status": "in_progress", **fields, "input": ""}, out)
            ids = {"item_id": call.item_id, "output_index": index}
            if text:
                out.append(self._ev("response.custom_tool_call_input.delta", **ids, delta=text))
            out.append(self._ev("response.custom_tool_call_input.done", **ids, input=text))
            self._done_item(index, {**base, "status": "completed", **fields, "input": text}, out)
        else:
            op = dict(call.input)
            begun = {**op, "diff": ""} if "diff" in op else op
            index = self._add_item(
                {**base, "status": "in_progress", "call_id": call.id, "operation": begun}, out
            )
            self._done_item(index, {**base, "status": "completed", "call_id": call.id, "operation": op}, out)

    # --- provider-executed tools ------------------------------------------------------------------

    def _on_tool_result(self, ev: dict[str, Any]) -> list[WireEvent]:
        if not ev.get("provider_executed"):
            return []  # a client tool's result belongs to the next request, not this stream
        out = self._ensure_open()
        call = self.tools.pop(ev["tool_call_id"], None)
        self._provider_item(call, ev, out)
        return out

    def _provider_item(self, call: dict[str, Any] | None, result: dict[str, Any] | None,
                       out: list[WireEvent]) -> None:  # fmt: skip
        """One provider-executed tool as the item that expresses it, with its progress events."""
        first = call or result
        assert first is not None
        meta = {**_meta(call), **_meta(result)}
        name = first.get("tool_name") or ""
        kind = meta.get("type") or _FOREIGN_TOOLS.get(name)
        if kind not in _PROVIDER_ITEMS:
            self.drop(f"provider-executed {name or 'tool'} calls")
            return
        self._close_message(out)
        self._close_reasoning(out)
        item_id = self._fresh_id(meta.get("item_id") or first.get("tool_call_id"), "tool")
        value = call.get("input") if call else None
        inp: dict[str, Any] = value if isinstance(value, dict) else {}
        output = result.get("output") if result else None
        failed = bool(result and result.get("is_error"))
        status = (
            (output.get("status") if isinstance(output, dict) else None)
            or meta.get("status")
            or ("failed" if failed else "completed" if result else "incomplete")
        )
        if status not in _STATUSES.get(kind, (status,)):  # another dialect's status word
            status = "failed" if failed else "completed"
        rest = {
            k: v for k, v in meta.items() if k not in ("item_id", "type", "status", "event", "server_label")
        }
        base = {"id": item_id, "type": kind}
        steps: list[str]
        if kind == "web_search_call":
            if inp.get("type") in ("search", "open_page", "find_in_page"):
                action = dict(inp)
            else:  # xAI's or another dialect's search input: kept as xAI does, beside the action
                action = {"type": "search", "query": str(inp.get("query") or "")}
                rest["arguments"] = (call.get("arguments") if call else None) or _dumps(inp)
            if isinstance(output, dict) and output.get("sources") and action["type"] == "search":
                action["sources"] = output["sources"]
            begun: dict[str, Any] = {**base, "status": "in_progress", "action": {"type": "search"}}
            done: dict[str, Any] = {**base, "status": status, "action": action, **rest}
            steps = ["in_progress", "searching", "completed"]
        elif kind == "file_search_call":
            queries = inp.get("queries")
            if not isinstance(queries, list):
                queries = [inp["query"]] if isinstance(inp.get("query"), str) else []
            results = output.get("results") if isinstance(output, dict) else None
            begun = {**base, "status": "in_progress", "queries": [], "results": None}
            done = {**base, "status": status, "queries": queries, "results": results, **rest}
            steps = ["in_progress", "searching", "completed"]
        elif kind == "code_interpreter_call":
            code = str(inp.get("code") or "")
            container = str(inp.get("container_id") or meta.get("container_id") or "")
            if isinstance(output, dict) and "outputs" in output:
                outputs = output["outputs"]
            elif output is None:
                outputs = None
            else:  # another dialect's code execution result
                outputs = [{"type": "logs", "logs": output if isinstance(output, str) else _dumps(output)}]
            begun = {**base, "status": "in_progress", "code": "", "container_id": container, "outputs": None}
            done = {
                **base,
                "status": status,
                "code": code,
                "container_id": container,
                "outputs": outputs,
                **rest,
            }
            steps = ["in_progress", f"code:{code}", "interpreting", "completed"]
        elif kind == "mcp_call":
            arguments = (call.get("arguments") if call else None) or "{}"
            server = str(meta.get("server_label") or "")
            error = None
            if failed:
                error = output if isinstance(output, dict) and output.get("type") else {
                    "type": "mcp_tool_execution_error", "content": output}  # fmt: skip
                output = None
            elif output is not None and not isinstance(output, str):
                output = _dumps(output)
            fields = {"name": name, "server_label": server}
            begun = {
                **base,
                "status": "in_progress",
                **fields,
                "arguments": "",
                "output": None,
                "error": None,
            }
            done = {**base, "status": "failed" if failed else "completed", **fields, "arguments": arguments,
                    "output": output, "error": error, **rest}  # fmt: skip
            steps = ["in_progress", f"arguments:{arguments}", "failed" if failed else "completed"]
        elif kind == "mcp_list_tools":
            server = str(inp.get("server_label") or meta.get("server_label") or "")
            tools = output.get("tools") if isinstance(output, dict) else None
            begun = {**base, "server_label": server, "tools": []}
            done = {**base, "server_label": server, "tools": tools or []}
            if isinstance(output, dict) and output.get("error"):
                done["error"] = (
                    output["error"] if isinstance(output["error"], str) else _dumps(output["error"])
                )
            steps = ["in_progress", "failed" if failed else "completed"]
        else:  # image_generation_call
            fields = {k: v for k, v in output.items() if k != "status"} if isinstance(output, dict) else {}
            begun = {**base, "status": "in_progress"}
            done = {**base, **fields, "status": status}
            steps = ["in_progress", "generating", "completed"]
        index = self._add_item({**begun, **{k: v for k, v in rest.items() if k in ("call_id", "name")}}, out)
        ids = {"item_id": item_id, "output_index": index}
        for step in steps:
            if step.startswith("code:"):
                code = step[5:]
                if code:
                    out.append(self._ev("response.code_interpreter_call_code.delta", **ids, delta=code))
                out.append(self._ev("response.code_interpreter_call_code.done", **ids, code=code))
            elif step.startswith("arguments:"):
                arguments = step[10:]
                out.append(self._ev("response.mcp_call_arguments.delta", **ids, delta=arguments))
                out.append(self._ev("response.mcp_call_arguments.done", **ids, arguments=arguments))
            elif step != "completed" or done.get("status", "completed") == "completed":
                out.append(self._ev(f"response.{kind}.{step}", **ids))
        self._done_item(index, done, out)

    def _on_file(self, ev: dict[str, Any]) -> list[WireEvent]:
        return self.drop("files")

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
        "tool-call": _on_tool_call,
        "tool-result": _on_tool_result,
        "source": _on_source,
        "file": _on_file,
        "finish": _on_finish,
        "error": _on_error,
        "message": _on_message,
    }


# --- requests -----------------------------------------------------------------------------------

#: canonical option names → Responses parameters (other options, such as ``reasoning``,
#: ``include``, ``store``, ``tool_choice``, pass through as they are)
OPTION_NAMES = {"max_tokens": "max_output_tokens", "temperature": "temperature", "top_p": "top_p"}

#: the events that end one answer on the WebSocket
WEBSOCKET_FINAL = frozenset({"response.completed", "response.failed", "response.incomplete", "error"})

# a client call's item type -> the item type of its answer
_OUTPUT_ITEMS = {
    "function_call": "function_call_output",
    "custom_tool_call": "custom_tool_call_output",
    "apply_patch_call": "apply_patch_call_output",
}


def _part_meta(part: dict[str, Any]) -> dict[str, Any]:
    """A conversation part's provider_metadata for this dialect (tolerant: parts are user input)."""
    pm = part.get("provider_metadata")
    meta = pm.get(NAME) if isinstance(pm, dict) else None
    return meta if isinstance(meta, dict) else {}


def _output_text(output: Any) -> str:
    """A tool's output as the string an ``*_output`` item carries (JSON for anything else)."""
    if isinstance(output, str):
        return output
    return "" if output is None else _dumps(output)


def _data_url(part: dict[str, Any]) -> str:
    if part.get("url"):
        return str(part["url"])
    return f"data:{part.get('media_type') or 'application/octet-stream'};base64,{part.get('data') or ''}"


def _user_content(content: list[dict[str, Any]], where: str) -> list[dict[str, Any]]:
    """User parts → ``input_text``, ``input_image`` (data URL or URL), ``input_file``."""
    out: list[dict[str, Any]] = []
    for j, part in enumerate(content):
        kind = part.get("type")
        if kind == "text":
            out.append({"type": "input_text", "text": part.get("text") or ""})
        elif kind == "file" and str(part.get("media_type") or "").startswith("image/"):
            out.append({"type": "input_image", "image_url": _data_url(part), "detail": "auto"})
        elif kind == "file":
            file: dict[str, Any] = {"type": "input_file"}
            if part.get("url"):
                file["file_url"] = str(part["url"])
            else:
                file["file_data"] = _data_url(part)
                file["filename"] = part.get("filename") or f"file-{j}"
            out.append(file)
        else:
            raise UsageError(f"{where}.content[{j}]: the {NAME} dialect cannot send a user {kind!r} part")
    return out


def _call_item(part: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
    """A client tool-call part → the item the model wrote (its type kept in provider_metadata)."""
    kind = meta.get("type")
    call_id, name = part["tool_call_id"], part["tool_name"]
    value = part.get("input")
    arguments = part.get("arguments")
    if not isinstance(arguments, str):
        arguments = _dumps(value if value is not None else {})
    elif value is None:
        value = parse_arguments(arguments)[0]
    if isinstance(value, dict) and kind in ("custom_tool_call", "apply_patch_call") and _fits(kind, value):
        item: dict[str, Any] = {"type": kind, "call_id": call_id}
        if kind == "custom_tool_call":
            item.update(name=name, input=value["input"])
        else:
            item.update(status="completed", operation=value)
        if isinstance(meta.get("item_id"), str):
            item["id"] = meta["item_id"]
        return item
    # function calls go back without their item id: the call_id pairs the output, and an fc_ id
    # would make the API ask for the reasoning item before it
    item = {"type": "function_call", "call_id": call_id, "name": name, "arguments": arguments}
    if isinstance(meta.get("namespace"), str):
        item["namespace"] = meta["namespace"]
    return item


def _assistant_items(content: list[dict[str, Any]], store: bool) -> list[dict[str, Any]]:
    """An earlier assistant turn → its output items, in order: ``message`` items (consecutive text
    parts of one item together, refusals as ``refusal`` parts, the item's id and ``phase``; text
    that came from elsewhere, with no item id, as one plain ``content`` string), ``reasoning`` items
    (their summary or reasoning_text parts, id and ``encrypted_content``), client calls.

    Left out: provider-executed tools (the server ran them; their outcome is in the text that
    follows), sources and files, reasoning of other dialects, and, when the server keeps no state
    (``store`` false), reasoning it could only find by id (no ``encrypted_content``).
    """
    items: list[dict[str, Any]] = []
    msg: dict[str, Any] | None = None  # the message item text parts are added to
    rsn: dict[str, Any] | None = None  # the reasoning item reasoning parts are added to
    for part in content:
        kind = part.get("type")
        meta = _part_meta(part)
        item_id = meta.get("item_id") if isinstance(meta.get("item_id"), str) else None
        if kind == "text":
            rsn = None
            if msg is None or msg.get("id") != item_id:
                msg = {"type": "message", "role": "assistant", "content": []}
                if item_id:
                    msg["id"] = item_id
                    msg["status"] = "completed"
                if meta.get("phase"):
                    msg["phase"] = meta["phase"]
                items.append(msg)
            text = part.get("text") or ""
            if part.get("refusal"):
                msg["content"].append({"type": "refusal", "refusal": text})
            else:
                msg["content"].append({"type": "output_text", "text": text, "annotations": []})
        elif kind == "reasoning":
            msg = None
            encrypted = meta.get("encrypted_content")
            if not item_id and not encrypted:
                rsn = None
                continue  # another dialect's reasoning: nothing this API can take back
            if rsn is None or not item_id or rsn.get("id") != item_id:
                rsn = {"type": "reasoning", "summary": []}
                if item_id:
                    rsn["id"] = item_id
                items.append(rsn)
            text = part.get("text") or ""
            if meta.get("part") == "reasoning_text":
                rsn.setdefault("content", []).append({"type": "reasoning_text", "text": text})
            elif text:
                rsn["summary"].append({"type": "summary_text", "text": text})
            if encrypted:
                rsn["encrypted_content"] = encrypted
        elif kind == "tool-call":
            msg = rsn = None
            if not part.get("provider_executed"):
                items.append(_call_item(part, meta))
        elif kind == "tool-result":
            msg = rsn = None
    for item in items:
        if item["type"] == "message" and "id" not in item:
            # text of another dialect: the plain form every Responses server takes
            item["content"] = "".join(p.get("text") or p.get("refusal") or "" for p in item["content"])
    if not store:
        items = [i for i in items if i["type"] != "reasoning" or i.get("encrypted_content")]
    return items


def responses_input(
    conversation: dict[str, Any], start: int = 0, *, store: bool = True
) -> list[dict[str, Any]]:
    """The ``input`` items of a conversation's messages from ``start`` on (system messages go in
    ``instructions``)."""
    messages = conversation.get("messages") or []
    # what each client call was, so that its output is the matching *_output item
    kinds: dict[str, str] = {}
    for message in messages:
        if message.get("role") == "assistant":
            for part in message.get("content") or ():
                if part.get("type") == "tool-call" and not part.get("provider_executed"):
                    kind = _part_meta(part).get("type")
                    if kind in _OUTPUT_ITEMS and kind != "function_call":
                        call = _call_item(part, _part_meta(part))
                        kinds[call["call_id"]] = call["type"]
    items: list[dict[str, Any]] = []
    for i in range(start, len(messages)):
        message = messages[i]
        role = message.get("role")
        if role == "user":
            content = message.get("content")
            if isinstance(content, str):
                content = [{"type": "text", "text": content}]
            parts = _user_content(content or [], f"conversation: messages[{i}]")
            items.append({"type": "message", "role": "user", "content": parts})
        elif role == "assistant":
            items.extend(_assistant_items(message.get("content") or [], store))
        elif role == "tool":
            call_id = message["tool_call_id"]
            kind = kinds.get(call_id, "function_call")
            item: dict[str, Any] = {"type": _OUTPUT_ITEMS[kind], "call_id": call_id}
            if kind == "apply_patch_call":  # the one answer with an error flag
                item["status"] = "failed" if message.get("is_error") else "completed"
            item["output"] = _output_text(message.get("output"))
            items.append(item)
    return items


def responses_request_body(conversation: dict[str, Any], model: str | None) -> dict[str, Any]:
    """A conversation → a streaming ``POST /responses`` body.

    With this dialect's continuation state (``state["openai-responses"]``: the last response's
    id and how many messages it had seen), the body continues on the server: it names
    ``previous_response_id`` and carries only the later messages' items (tool outputs, new user
    turns). When the server keeps no state (the options say ``"store": false``), or there is no
    usable state, it carries the whole conversation, encrypted reasoning included (``include``
    asks for ``reasoning.encrypted_content`` then).
    """
    from ..conversation import system_text

    model = model or conversation.get("model")
    if not model:
        raise UsageError('no model: pass -m MODEL, put "model" in the conversation, or set STREAMKIT_MODEL')
    options = conversation.get("options") or {}
    store = options.get("store") is not False
    messages = conversation.get("messages") or []
    body: dict[str, Any] = {"model": model}
    start = 0
    state = (conversation.get("state") or {}).get(NAME)
    if store and isinstance(state, dict) and isinstance(state.get("previous_response_id"), str):
        known = state.get("known")
        if isinstance(known, int) and not isinstance(known, bool) and 0 < known <= len(messages):
            body["previous_response_id"] = state["previous_response_id"]
            start = known
    instructions = system_text(conversation)
    if instructions:
        body["instructions"] = instructions  # not carried over by previous_response_id: always sent
    body["input"] = responses_input(conversation, start, store=store)
    tools = conversation.get("tools")
    if tools:
        body["tools"] = [
            {"type": "function", "name": t["name"], "description": t.get("description", ""),
             "parameters": t.get("parameters") or {"type": "object", "properties": {}},
             "strict": bool(t.get("strict", False))}
            for t in tools
        ]  # fmt: skip
    body["stream"] = True
    for key, value in options.items():
        body[OPTION_NAMES.get(key, key)] = value
    if not store:
        include = body.get("include")
        include = list(include) if isinstance(include, list) else []
        if "reasoning.encrypted_content" not in include:
            include.append("reasoning.encrypted_content")
        body["include"] = include
    return body


def _url(base_url: str, path: str, *, websocket: bool = False) -> str:
    """``base_url`` + ``path`` (a query in the base URL stays at the end); ws/wss for a WebSocket."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(base_url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme) if websocket else parts.scheme
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + path, parts.query, ""))


class OpenAIResponses(Dialect):
    name = NAME
    description = "OpenAI Responses API events (response.*), over SSE; also Responses-compatible servers"
    framing = "sse"
    default_base_url = "https://api.openai.com/v1"
    base_url_env = ("OPENAI_BASE_URL",)
    api_key_env = ("OPENAI_API_KEY",)
    serve_paths = ("/v1/responses", "/responses")
    websocket_paths = ("/v1/responses", "/responses")

    def build_request(
        self, conversation: dict[str, Any] | None, endpoint: Endpoint, *, body: Any = None
    ) -> Request:
        """``POST {base}/responses`` with ``Authorization: Bearer``, and the same request for the
        WebSocket mode: ``{base with ws/wss}/responses``, the body as a ``response.create`` message
        (without ``stream``: every answer streams there)."""
        if body is None:
            body = responses_request_body(conversation or {"messages": []}, endpoint.model)
        headers = {"Accept": "text/event-stream"}
        if endpoint.api_key:
            headers["Authorization"] = f"Bearer {endpoint.api_key}"
        request = Request(_url(endpoint.base_url, "/responses"), body, headers)
        if isinstance(body, dict):
            request.websocket_url = _url(endpoint.base_url, "/responses", websocket=True)
            request.websocket_message = {
                "type": "response.create",
                **{k: v for k, v in body.items() if k != "stream"},
            }
            request.websocket_final = WEBSOCKET_FINAL
        return request

    def continuation_state(self, message: dict[str, Any], known: int) -> dict[str, Any] | None:
        """The response to continue from (``previous_response_id``) and how many messages it saw.

        None (the next request carries the whole conversation) for a response that failed or was
        cut off before its terminal event: the server may hold nothing to continue from.
        """
        response_id = _meta(message).get("response_id") or message.get("id")
        if not isinstance(response_id, str) or not response_id:
            return None
        if message.get("finish_reason") == "error" or not message.get("raw_finish_reason"):
            return None
        return {"previous_response_id": response_id, "known": known}

    def serve_options(self, path: str, params: dict[str, str], body: Any) -> dict[str, Any]:
        """The answer names the response it continues, as the API's does."""
        previous = body.get("previous_response_id") if isinstance(body, dict) else None
        return {"previous_response_id": previous} if isinstance(previous, str) and previous else {}

    def sniff(self, data: Any, event: str | None = None) -> bool:
        if type(data) is not dict:
            return False
        kind = data.get("type")
        if not isinstance(kind, str):
            return False
        if kind.startswith("response."):
            return True
        # the Responses error event (Anthropic's error events nest an "error" object instead)
        return kind == "error" and "sequence_number" in data and "error" not in data

    def normalizer(self, **options: Any) -> ResponsesNormalizer:
        return ResponsesNormalizer(**options)

    def encoder(self, **options: Any) -> ResponsesEncoder:
        return ResponsesEncoder(**options)
