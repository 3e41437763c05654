"""Canonical events → OpenAI Responses API stream events.

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
  ``item_id``) are its parts, and ``encrypted_content`` comes back on the item. Another dialect's
  reasoning metadata (an Anthropic signature or redacted data, a Gemini thought signature) is
  sealed in the item's ``encrypted_content`` (``streamkit:`` and the metadata's JSON in base64url):
  a client that sends its reasoning items back, as Codex does, gives it back to ``parse``, so that
  the next request to that upstream carries it (such an item means nothing to OpenAI's API).
* Sources annotate the text part they arrive in, or the one before them, or else the next one
  (``url_citation`` at the current position when they did not come from here; documents as
  ``file_citation``); sources with no text to annotate are dropped.
* ``custom_tool_call`` and ``apply_patch_call`` items are written whole once their ``tool-call``
  arrives (the SDK has no event for a streamed patch), and so are ``shell_call``,
  ``local_shell_call``, ``computer_call`` and ``tool_search_call`` items, from the input and the
  item's fields their ``provider_metadata`` kept. Other dialects' provider-executed web
  searches and code execution become ``web_search_call`` / ``code_interpreter_call`` items.
  A provider-run shell call, tool search or program is written when its call arrives, its output
  item (``shell_call_output``, ...) when its result does; a custom tool call the provider ran is
  added ``completed``. A provider's ``tool-approval-request`` is an ``mcp_approval_request`` item
  (run-tools' own approval events are no part of a response).
* An ``error`` is written as an ``error`` event where it happened (unless it came from a
  ``response.failed``), and ``finish: error`` as ``response.failed`` with that error (codes the
  SDK does not know as ``server_error``).
* Every response ends with its terminal event, every item it opened closed first: a client such
  as the Codex CLI takes a stream that just stops for a dropped connection and retries. A
  response cut off upstream (``finish: other`` with no ``raw_finish_reason``, what normalize
  writes for a stream that stopped) and a stream of events that stops before its ``finish``
  (``close`` writes the end) end with ``response.failed``: the error that came before, else a
  ``server_error`` saying that the upstream stream ended early.
* ``custom_tools`` (the names of the tools the request declared as ``custom``, a
  :attr:`~streamkit.dialects.base.ParsedRequest.answer_options` of ``serve``): a call to one is
  written as a ``custom_tool_call`` item whose ``input`` is the string of the canonical input
  ``{"input": ...}``, streamed in ``response.custom_tool_call_input.delta`` events as its JSON
  arrives, even though the upstream (Chat Completions, Anthropic, ...) saw a function; an input
  of another shape is passed as it is (the one string of an object of one field, else the
  arguments' JSON text).
* ``namespaces`` (tool name → the ``namespace`` the request declared it in, an answer option of
  ``serve``): a call to one carries its ``namespace``, as the API writes it.
* Events of ``choice`` k>0 (Chat Completions ``n>1``), files and provider-executed tools with no
  Responses counterpart are dropped with a warning.

Tool calls (client calls and provider-executed tools) are written in ``encode_tools``, a mixin of
:class:`ResponsesEncoder`.
"""

from __future__ import annotations

from typing import Any

from ...canonical import message_to_events
from ...errors import UsageError
from ..base import (
    IMAGE_FORMATS,
    PLAIN_COUNT,
    PLAIN_HOLE,
    Encoder,
    PlainDelta,
    WireEvent,
    generated_image,
    unix_seconds,
)
from .encode_tools import _Call, _ToolItems
from .wire import NAME, _meta, _new_id, seal


def wire_usage(usage: dict[str, Any] | None, raw: Any = None) -> dict[str, Any] | None:
    """The usage object of the final response: the raw one when it came from this dialect (with
    the fields today's SDK requires filled in), else built from the canonical usage. A raw one
    that is no usage (a count that is no number, details that are no object) is not used."""
    if isinstance(raw, dict) and _is_usage(raw):
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


_COUNTS = frozenset((int, float, type(None)))
_DETAILS = frozenset((dict, type(None)))


def _is_usage(raw: dict[str, Any]) -> bool:
    """Whether a Responses usage object read back from metadata has the types the SDK reads."""
    return _COUNTS.issuperset(
        type(raw.get(key)) for key in ("input_tokens", "output_tokens", "total_tokens")
    ) and _DETAILS.issuperset(type(raw.get(key)) for key in ("input_tokens_details", "output_tokens_details"))


#: the error of a response whose stream stopped before its end
_CUT_OFF = "the upstream stream ended before the response was complete"
_CUT_OFF_FINISH = {"type": "finish", "finish_reason": "other", "raw_finish_reason": None}

# ResponseError.code values the SDK accepts in response.failed (others are written as server_error)
_ERROR_CODES = frozenset({
    "server_error", "rate_limit_exceeded", "invalid_prompt", "data_residency_mismatch", "bio_policy",
    "misalignment_policy_violation", "vector_store_timeout", "invalid_image", "invalid_image_format",
    "invalid_base64_image", "invalid_image_url", "image_too_large", "image_too_small",
    "image_parse_error", "image_content_policy_violation", "invalid_image_mode",
    "image_file_too_large", "unsupported_image_media_type", "empty_image_file",
    "failed_to_download_image", "image_file_not_found",
})  # fmt: skip


def image_result(ev: dict[str, Any]) -> dict[str, Any] | None:
    """A ``file`` event that is an image the model made (:func:`~..base.generated_image`) as the
    provider-executed ``image_generation`` result that writes its ``image_generation_call``
    item; else None."""
    image = generated_image(ev)
    if image is None:
        return None
    media, data = image
    output: dict[str, Any] = {"result": data}
    if media[6:] in IMAGE_FORMATS:
        output["output_format"] = media[6:]
    return {"type": "tool-result", "tool_call_id": _new_id("ig"), "tool_name": "image_generation",
            "provider_executed": True, "output": output}  # fmt: skip


class ResponsesEncoder(_ToolItems, Encoder):
    """Canonical events → Responses API stream events, each response complete from
    ``response.created`` to its terminal event."""

    dialect_name = NAME

    def __init__(self, *, reasoning_part: str = "summary", previous_response_id: str | None = None,
                 conversation: str | None = None, custom_tools: Any = (), namespaces: Any = None,
                 **options: Any) -> None:  # fmt: skip
        if reasoning_part not in ("summary", "text"):
            raise UsageError(f"reasoning_part must be 'summary' or 'text', not {reasoning_part!r}")
        if isinstance(custom_tools, str):
            custom_tools = custom_tools.split(",")  # -O custom_tools=apply_patch,other
        self.reasoning_part = reasoning_part
        # the tools the request being answered declared as custom (serve): their calls are
        # custom_tool_call items
        self.custom_tools = frozenset(str(t) for t in custom_tools or ())
        # the namespace of each tool the request declared in one (serve): on its calls' items
        self.namespaces: dict[str, str] = dict(namespaces) if isinstance(namespaces, dict) else {}
        # what the request being answered continues (serve): echoed on responses that name none
        self.previous_response_id = previous_response_id
        # the conversation the request being answered adds to (serve): named on its responses
        self.conversation = conversation if isinstance(conversation, str) and conversation else None
        self.open = False  # a response is being written
        self.wrote = False  # a response was written from events (a message after it sums them up)
        self._new_response()

    def _new_response(self) -> None:
        self.seq = 0
        self.templates: dict[tuple[str, str], PlainDelta] = {}  # (see _template)
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
        self.plain_delta = None
        handler = self._handlers.get(event.get("type"))  # type: ignore[arg-type]
        if handler is None:
            return self.unhandled(event)
        if event.get("choice"):
            return self.drop("choices other than the first (n>1)")
        out: list[WireEvent] = handler(self, event)
        if self.plain_delta is not None:
            self.template_for(event)
        return out

    def _template(self, ev: dict[str, Any], part: dict[str, Any], kind: str, fields: dict[str, Any]) -> None:
        """The next delta of the open part, a delta event of ``kind`` with ``fields`` before its
        text: its text goes on the part's fragments and it takes the next sequence number (see
        Encoder.plain_delta). Not for a delta with logprobs or any other field."""
        if len(ev) == 3:
            key = (kind, ev["id"])
            template = self.templates.get(key)
            if template is None or template.fragments is not part["frags"]:
                data = {"type": kind, **fields, "delta": PLAIN_HOLE}
                data.update({"logprobs": []} if kind == "response.output_text.delta" else {})
                data["sequence_number"] = PLAIN_COUNT
                template = self.templates[key] = PlainDelta(
                    ev["type"], ev["id"], kind, data, fragments=part["frags"], counter="seq"
                )
            self.plain_delta = template

    def close(self) -> list[WireEvent]:
        """The end of the stream: a response still open ends (``response.failed``: it stopped
        before its finish)."""
        out: list[WireEvent] = []
        if self.open:
            out = self._on_finish(_CUT_OFF_FINISH)
        self.report_dropped()
        return out

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
        # a response still open here was cut off upstream: it ends first
        out = self._on_finish(_CUT_OFF_FINISH) if self.open else []
        self._new_response()
        self.open = self.wrote = True
        meta = _meta(ev)
        created = ev.get("created")
        self.resp = {
            "id": ev.get("id") or _new_id("resp"),
            "object": "response",
            "created_at": unix_seconds(created),
            "model": ev.get("model") or "",
        }
        for key in ("previous_response_id", "background"):
            if meta.get(key) is not None:
                self.resp[key] = meta[key]
        if self.previous_response_id and "previous_response_id" not in self.resp:
            self.resp["previous_response_id"] = self.previous_response_id
        conversation = self.conversation or meta.get("conversation")
        if conversation and type(conversation) is str:
            self.resp["conversation"] = {"id": conversation}
        out.append(self._ev("response.created", response=self._response("in_progress")))
        out.append(self._ev("response.in_progress", response=self._response("in_progress")))
        return out

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
        if reason == "other" and ev.get("raw_finish_reason") is None:
            reason = "error"  # cut off upstream: the response failed
            if self.error is None:
                self.error = {"code": "server_error", "message": _CUT_OFF}
        status = {"length": "incomplete", "content-filter": "incomplete", "error": "failed"}.get(
            reason, "completed"
        )
        self._close_message(out, "completed" if status == "completed" else "incomplete")
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
        msg = self.msg
        part = msg["part"] if msg is not None else None
        if part is not None and part["id"] == ev["id"] and not part["refusal"]:
            # the usual: more text of the open part (what the general way below writes for it,
            # without building its ids and keywords: half the bytecodes a delta cost there)
            delta = ev.get("delta") or ""
            part["frags"].append(delta)
            logprobs = _meta(ev).get("logprobs") if ev.get("provider_metadata") else None
            if type(logprobs) is not list:  # (none, or metadata that is not this dialect's)
                logprobs = []
            elif logprobs:
                part["logprobs"].extend(logprobs)
            seq = self.seq
            self.seq = seq + 1
            data = {
                "type": "response.output_text.delta",
                "item_id": msg["id"],  # type: ignore[index]
                "output_index": msg["index"],  # type: ignore[index]
                "content_index": part["index"],
                "delta": delta,
                "logprobs": logprobs,
                "sequence_number": seq,
            }
            if delta and self.templates_wanted:
                ids = {
                    "item_id": data["item_id"],
                    "output_index": data["output_index"],
                    "content_index": part["index"],
                }
                self._template(ev, part, "response.output_text.delta", ids)
            return [("response.output_text.delta", data)]
        out: list[WireEvent] = []
        msg, part = self._text_part(ev, out)
        delta = ev.get("delta") or ""
        part["frags"].append(delta)
        ids = {"item_id": msg["id"], "output_index": msg["index"], "content_index": part["index"]}
        if part["refusal"]:
            out.append(self._ev("response.refusal.delta", **ids, delta=delta))
        else:
            logprobs = _meta(ev).get("logprobs")
            if type(logprobs) is not list:
                logprobs = []
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
        frags = part["frags"]
        if len(frags) > 1:  # folded into one string, so the next annotation counts from it
            frags[:] = ["".join(frags)]
        position = len(frags[0]) if frags else 0
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
                              "part": None, "foreign": {}}  # fmt: skip
        else:
            self._close_reasoning_part(out)
        self._foreign(rsn, ev)
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
            fields = {**ids, "content_index": part["index"]}
            kind = "response.reasoning_text.delta"
        else:
            fields = {**ids, "summary_index": part["index"]}
            kind = "response.reasoning_summary_text.delta"
        out.append(self._ev(kind, **fields, delta=delta))
        if self.templates_wanted:
            self._template(ev, part, kind, fields)
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
        self._foreign(rsn, ev)
        return out

    @staticmethod
    def _foreign(rsn: dict[str, Any], ev: dict[str, Any]) -> None:
        """Keep another dialect's reasoning metadata (its signature), sealed on the item at its end."""
        pm = ev.get("provider_metadata")
        for dialect, other in pm.items() if isinstance(pm, dict) else ():
            if dialect != NAME and isinstance(other, dict) and other:
                rsn["foreign"][dialect] = {**rsn["foreign"].get(dialect, {}), **other}

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
        elif rsn["foreign"]:
            item["encrypted_content"] = seal(rsn["foreign"])
        self._done_item(rsn["index"], item, out)

    def _on_file(self, ev: dict[str, Any]) -> list[WireEvent]:
        """A file the model made: an image (base64, as Gemini's image models write theirs) is an
        ``image_generation_call`` item, the API's generated image; any other file (a URL, a PDF,
        a Gemini thought's draft image) has no place in a response and is dropped."""
        result = image_result(ev)
        if result is None:
            return self.drop("files other than generated images")
        out = self._ensure_open()
        self._provider_item(None, result, out)
        return out

    _handlers: dict[str, Any] = {
        "start": _on_start,
        "text-start": _on_text_start,
        "text-delta": _on_text_delta,
        "text-end": _on_text_end,
        "reasoning-start": _on_reasoning_start,
        "reasoning-delta": _on_reasoning_delta,
        "reasoning-end": _on_reasoning_end,
        "tool-input-start": _ToolItems._on_tool_input_start,
        "tool-input-delta": _ToolItems._on_tool_input_delta,
        "tool-call": _ToolItems._on_tool_call,
        "tool-result": _ToolItems._on_tool_result,
        "tool-approval-request": _ToolItems._on_approval_request,
        "source": _on_source,
        "file": _on_file,
        "finish": _on_finish,
        "error": _on_error,
        "message": _on_message,
    }
