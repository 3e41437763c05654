"""OpenAI Responses API stream events → canonical events.

Also the dialect of the servers that copy it: xAI, DeepSeek, OpenRouter, LM Studio (Open
Responses), AWS Bedrock "mantle". Each SSE event is named after its payload's ``type``; there is
no ``[DONE]`` (one is accepted and ignored). ``sequence_number`` and ``obfuscation`` carry no
meaning for canonical events and are dropped.

What the wire sends, and what it becomes (canonical events on the right):

* ``response.created`` (or ``response.queued``) → ``start`` (``id``, ``model``, ``created``;
  ``previous_response_id``, ``background`` and the id of its ``conversation`` in
  ``provider_metadata``). A stream that begins
  mid-response (a resumed stream: no ``response.created``) starts at its first event, with the id
  left null (``finish`` names it); it holds the deltas after the resume point, as the client that
  resumes expects. Several responses in a row (a client tool loop) give one ``start``…``finish``
  each; a ``response.created`` while a response is still open ends that one first (unless none
  of its output came yet: then it is the same response under another id). Some compatible
  servers change the response's id and its items' ids between their first and last events: the
  terminal event ends the response open whatever id it names (``finish`` carries that id), and
  an event whose item id is new is about the item of that type at its ``output_index``.
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
  encrypted content) is one empty reasoning block. An ``encrypted_content`` our encoder sealed
  another dialect's reasoning metadata in (``streamkit:``, see the encoder) gives that metadata
  back, under that dialect's name.
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
* The later tool items (see :mod:`.items`): ``shell_call``, ``local_shell_call``,
  ``computer_call`` and a client ``tool_search_call`` are client calls, their input the action
  (or the search's arguments), their call beginning when the item is done (they stream no
  input; the call id they end with is the one to answer); a ``shell_call`` in a container, a
  server ``tool_search_call`` and a ``program`` are provider-executed, their ``tool-result``
  taken from their output item (``shell_call_output``, ``tool_search_output``,
  ``program_output``), which may come in a later response; a ``custom_tool_call`` the provider
  ran (xAI's server-side searches: added ``completed``, or not a custom tool the response says
  it was given) is provider-executed with a result of its ``status``. Shell command and output
  streaming events add nothing to the items and are consumed. An ``mcp_approval_request`` is a
  ``tool-approval-request`` (``provider_executed``, its id as ``tool_call_id``, the MCP tool's
  name and arguments, ``server_label`` in ``provider_metadata``); the response still finishes
  ``stop``.
* Other item types (``compaction``, ``additional_tools``, output items of the client's own
  answers, ...) and unknown events (``response.audio.*``, ``response.compaction.compacting``)
  have no canonical meaning: ``normalize`` counts them in a warning (``--keep-raw`` keeps them).

The text and reasoning blocks (and annotations) are read in ``normalize_blocks``, the tool-call
items (client calls and provider-executed tools) in ``normalize_tools``, mixins of
:class:`ResponsesNormalizer`; ``fields`` holds the typed readers of event fields.

Speed (``make bench``, real streams): ``feed`` takes a hot path for the deltas of the open text or
reasoning block after its first, and for the argument fragments of the call the last fragment was
about; every other event takes the general path, which reads and checks each field.
"""

from __future__ import annotations

from typing import Any

import orjson

from ..._native import mypyc_attr
from ...errors import DataError
from ..base import token_counts, unix_time
from .fields import _index, _list, _object, _text
from .items import WHOLE_ITEMS
from .normalize_blocks import _Block
from .normalize_tools import _STRING_EVENTS, _string_head, _ToolCalls, item_kind, tool_name
from .wire import NAME

# response.incomplete's reason -> canonical finish reason
INCOMPLETE_REASONS = {"max_output_tokens": "length", "content_filter": "content-filter"}

# error codes after which trying again may work
_RETRYABLE = frozenset({"rate_limit_exceeded", "server_error", "server_is_overloaded", "slow_down"})


def map_usage(usage: dict[str, Any]) -> dict[str, Any]:
    """Responses usage → canonical usage (fields the server did not send are left out)."""
    out: dict[str, Any] = {}
    value = usage.get("input_tokens")
    if value is not None:
        out["input_tokens"] = value
    value = usage.get("output_tokens")
    if value is not None:
        out["output_tokens"] = value
    value = usage.get("total_tokens")
    if value is not None:
        out["total_tokens"] = value
    details = usage.get("input_tokens_details")
    if isinstance(details, dict) and details.get("cached_tokens") is not None:
        out["cached_input_tokens"] = details["cached_tokens"]
    details = usage.get("output_tokens_details")
    if isinstance(details, dict) and details.get("reasoning_tokens") is not None:
        out["reasoning_tokens"] = details["reasoning_tokens"]
    return out


class _Item:
    """One output item of the response being read."""

    __slots__ = (
        "added",
        "answered",
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
        "waited",
    )

    def __init__(self, key: str, item: dict[str, Any], index: Any, added: bool, kind: str,
                 item_type: str | None) -> None:  # fmt: skip
        self.id: str = key
        self.type = item_type  # the item's type (the field, read with _text)
        self.index = index
        self.item = item
        self.added = added  # seen from output_item.added (not implicit, in a resumed stream)
        # message, reasoning, client or provider (tool calls), approval, output (a provider-run
        # call's output item), other (no canonical meaning)
        self.kind = kind
        self.call_id: str | None = None
        self.name = ""
        self.frags: list[str] = []  # argument fragments written (or held until the call starts)
        self.started = False  # tool-input-start written
        self.done = False  # tool-call written
        self.answered = False  # a provider-run call's output item came
        self.waited = False  # held until the next item said who ran it (see _call_done)
        self.head: str | None = None  # JSON text before a streamed string field (see _stream_string)
        self.streaming = False  # the streamed string's opening quote was written
        self.nblocks = 0  # text or reasoning blocks opened for this item


@mypyc_attr(allow_interpreted_subclasses=True)  # (a plugin's normalizer may derive from it)
class ResponsesNormalizer(_ToolCalls):
    """One stream of Responses events (possibly several responses, one after the other).
    (Compiled by mypyc: a Normalizer by registration, see :mod:`..native_normalizer`.)"""

    checks_types = True  # (tests/stages/test_normalize_wire_types.py)

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
        self.tools: Any = None  # the tools the response says it was given (response.created)
        self.held: _Item | None = None  # a shell call waiting to see whether its output follows
        self.client_calls = False
        self.error = False
        self.nsources = 0
        # the hot path: the open block whose deltas may take it (see _delta), as the wire event
        # type of its deltas, their index field, its index, its item id, its block id, whether
        # it is a text block (else reasoning), and with delta_bytes its deltas' head
        self.hot_block: tuple[str, str, int, str, str, bool, bytes | None] | None = None
        # the call whose argument fragments may take the hot path (see _hot_call)
        self.hot_call: tuple[str, str, _Item, bool] | None = None

    # (returns a list, None, or an event's bytes: Normalizer.delta_bytes)
    def feed(self, data: Any, event: str | None = None) -> Any:
        # The hot paths, measured in `make bench` on real streams: a text delta (with its logprobs)
        # or a reasoning delta for the block already open, which has had a delta already; a
        # fragment of the arguments of the call an earlier fragment was about. Subscripts in a try
        # cost less than .get() here; a missing field (KeyError), or data that is not an object
        # (TypeError), takes the general path, which says what is wrong.
        hot = self.hot_block
        if hot is not None:
            wire, field, index, item_id, bid, text, head = hot
            try:
                if data["type"] == wire and data[field] is index and data["item_id"] == item_id:
                    delta = data["delta"]
                    if type(delta) is str and type(data) is dict:
                        if not text:
                            if not delta:
                                return []
                            if head is not None:
                                return head + orjson.dumps(delta)
                            return [{"type": "reasoning-delta", "id": bid, "delta": delta}]
                        logprobs = data.get("logprobs")
                        if not logprobs:
                            if logprobs is None or type(logprobs) is list:
                                if not delta:
                                    return []
                                if head is not None:
                                    return head + orjson.dumps(delta)
                                return [{"type": "text-delta", "id": bid, "delta": delta}]
                        elif type(logprobs) is list:
                            ev: dict[str, Any] = {"type": "text-delta", "id": bid, "delta": delta}
                            ev["provider_metadata"] = {NAME: {"logprobs": logprobs}}
                            return [ev]
            except (KeyError, TypeError):
                pass
        call = self.hot_call
        if call is not None:
            wire, item_id, it, escape = call
            try:
                if data["type"] == wire and data["item_id"] == item_id:
                    delta = data["delta"]
                    # a streamed string field (escape, see _on_string_delta) once its quote is out
                    if (
                        type(delta) is str
                        and type(data) is dict
                        and not it.done
                        and (not escape or (it.streaming and it.head is not None))
                    ):
                        if escape:
                            delta = orjson.dumps(delta).decode()[1:-1]  # as _escape
                        if not delta:
                            return []
                        it.frags.append(delta)
                        if not it.started:
                            return []
                        return [{"type": "tool-input-delta", "id": it.call_id, "delta": delta}]
            except (KeyError, TypeError):
                pass
        # the general path
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
            if unix_time(created) is not None:
                ev["created"] = created
            self.tools = response.get("tools")
            previous, background = response.get("previous_response_id"), response.get("background")
            conversation = response.get("conversation")
            if previous or background or conversation:
                meta = {"previous_response_id": previous} if previous else {}
                if background:
                    meta["background"] = background
                if type(conversation) is dict and type(conversation.get("id")) is str:
                    meta["conversation"] = conversation["id"]
                ev["provider_metadata"] = {NAME: meta}
        out.append(ev)

    def _on_lifecycle(self, data: dict[str, Any], out: list[dict[str, Any]]) -> bool:
        """response.created, .queued, .in_progress."""
        response = data.get("response")
        if type(response) is not dict:
            response = _object(data, "response")
        if self.started:
            new_id = response.get("id")
            if new_id is not None and type(new_id) is not str:
                new_id = _text(response, "id")  # says what is wrong (or takes a str subclass)
            if data.get("type") == "response.in_progress" or not new_id or new_id == self.response_id:
                return True
            if not self.items and self.block is None:
                return True  # nothing came yet: the same response, under another id
            out.extend(self.close())  # a new response while the last one never finished
        self._ensure(out, response)
        return True

    def _on_terminal(self, data: dict[str, Any], out: list[dict[str, Any]]) -> bool:
        """response.completed, .incomplete, .failed."""
        response = _object(data, "response")
        response_id = _text(response, "id")
        # the end of the response open, whatever id it carries (some servers give the response
        # another id at its end): a new response begins with its response.created
        self._ensure(out, response)
        self.response_id = response_id or self.response_id
        if self.tools is None:
            self.tools = response.get("tools")
        if self.held is not None:  # the final output says whether its output item followed
            call_id = self.held.call_id
            outputs = [
                i for i in _list(response, "output") if isinstance(i, dict) and i.get("call_id") == call_id
            ]
            self._release(next((i for i in outputs if i.get("type") == "shell_call_output"), None), out)
        items = self.items
        for index, item in enumerate(_list(response, "output")):
            if type(item) is dict and type(seen := item.get("id")) is str and seen in items:
                continue  # the common case of _seen, inlined
            if isinstance(item, dict) and not self._seen(item, index):
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
            fin["usage"] = token_counts(map_usage(usage))
            meta["usage"] = usage
        if response.get("service_tier"):
            meta["service_tier"] = response["service_tier"]
        fin["provider_metadata"] = {NAME: meta}
        out.append(fin)
        self._reset()
        return True

    def _on_error(self, data: dict[str, Any], out: list[dict[str, Any]]) -> bool:
        if not self.started:
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
        if self.held is not None:
            self._release(None, out)
        self._end_block(out)
        for it in self.items.values():
            if it.kind in ("client", "provider") and it.started and not it.done:
                if it.streaming:
                    self._args(it, '"}', out)
                self._complete(it, None, out)
            elif it.kind == "approval" and not it.done:
                self._answer_done(it, it.item, out)  # an approval request never done: as added

    # --- items ---------------------------------------------------------------------------------

    def _register(self, item: dict[str, Any], index: Any, added: bool) -> _Item:
        key = item.get("id")
        if type(key) is not str:
            key = _text(item, "id")  # None, or says what is wrong
        if not key:
            key = f"#{index}"
        it = self.items.get(key)
        if it is None and not added and index is not None:
            # a .done whose item id differs from its .added (or has none): the item at its index
            known = self.by_index.get(index)
            if known is not None and known.type == _text(item, "type"):
                it = self.items[key] = known  # its events may use the new id from here on
        if it is None:
            kind = _text(item, "type")
            it = _Item(key, item, index, added, item_kind(kind, item, added, self.tools), kind)
            self.items[key] = it
            if index is not None:
                self.by_index[index] = it
        it.item = item
        if it.kind == "client":
            if it.started:
                pass  # its id is written: it stays
            elif it.type in WHOLE_ITEMS:
                it.call_id = _text(item, "call_id") or it.call_id  # the last one the server names
            else:
                it.call_id = it.call_id or _text(item, "call_id") or None
            it.name = it.name or tool_name(it.type, item)
        elif it.kind == "provider":
            if not it.started:
                it.call_id = _text(item, "call_id") or it.call_id or _text(item, "id") or self._new_call_id()
            it.name = it.name or tool_name(it.type, item) or it.type or ""
        return it

    def _seen(self, item: dict[str, Any], index: int) -> bool:
        """Whether an item of the final response was read already: by its id, its call id, or
        its place (a server that gives items other ids at the end of the response)."""
        if _text(item, "id") in self.items:
            return True
        call_id = _text(item, "call_id")
        if call_id and any(it.call_id == call_id for it in self.items.values()):
            return True
        known = self.by_index.get(index)
        return known is not None and known.type == _text(item, "type")

    def _item_for(self, data: dict[str, Any], kind: str) -> _Item:
        """The item an event is about: by its id, else the item of that type at its place (a
        server that changes item ids mid-item); created on the spot in a stream resumed
        mid-item."""
        item_id = data.get("item_id")
        if type(item_id) is str:
            it = self.items.get(item_id)
        else:
            item_id = _text(data, "item_id")  # None, or says what is wrong
            it = self.items.get(item_id) if item_id is not None else None
        if it is None:
            index = _index(data, "output_index")
            it = self.by_index.get(index) if index is not None else None
            if it is None or (
                item_id is not None and it.id != item_id and not it.id.startswith("#") and it.type != kind
            ):
                it = self._register({"id": item_id, "type": kind}, index, False)
            elif item_id is not None:
                self.items[item_id] = it
        return it

    def _new_call_id(self) -> str:
        while True:
            candidate = f"{self.call_id_prefix}{self._call_ids}"
            self._call_ids += 1
            if not any(it.call_id == candidate for it in self.items.values()):
                return candidate

    def _item_event(
        self, data: dict[str, Any], added: bool, out: list[dict[str, Any]]
    ) -> tuple[dict[str, Any], _Item] | None:
        """An output_item event's item, registered (and the response started); None for an item
        with no canonical meaning."""
        item = data.get("item")
        if type(item) is not dict:
            item = _object(data, "item")
        index = data.get("output_index")
        if type(index) is not int:
            index = _index(data, "output_index")
        it = self._register(item, index, added)
        if self.held is not None and self.held is not it:
            self._release(item, out)
        if it.kind == "other":
            return None
        if not self.started:
            self._ensure(out)
        return item, it

    def _on_item_added(self, data: dict[str, Any], out: list[dict[str, Any]]) -> bool:
        got = self._item_event(data, True, out)
        if got is None:
            return False
        item, it = got
        if it.kind in ("client", "provider"):
            self._end_block(out)
            it.head = _string_head(it.type, item)
            if it.call_id is not None and it.type not in WHOLE_ITEMS:  # those start when done
                self._start_call(it, out)
        return True

    def _on_item_done(self, data: dict[str, Any], out: list[dict[str, Any]]) -> bool:
        got = self._item_event(data, False, out)
        if got is None:
            return False
        item, it = got
        if it.kind == "message":
            self._message_done(it, item, out)
        elif it.kind == "reasoning":
            self._reasoning_done(it, item, out)
        elif it.kind in ("approval", "output"):
            self._answer_done(it, item, out)
        else:
            self._call_done(it, item, out)
        return True


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
            ("shell_call_command", ("added", "delta", "done")),
            ("shell_call_output_content", ("delta", "done")),
        )
        for stage in stages
    },
}
