"""Canonical events → Chat Completions chunks: the encoder, and usage written back in the wire's terms.

Audio output goes back as ``delta.audio``: a text block marked as an audio transcript
(``provider_metadata["openai-chat"]["audio"]``, as normalize marks it) as ``transcript``
fragments, an audio ``file`` as one ``data`` chunk, the audio's ``id`` once (on its first
chunk) and its ``expires_at`` last, alone, as OpenAI ends it (clients join the fragments of
``delta.audio`` field by field, so an id or an expiry said twice would be garbled). An image the
model made goes as ``delta.images`` (an ``image_url`` entry holding a ``data:`` URL), as
OpenRouter and Vercel's AI Gateway stream those of image models. Other files, and audio given by
URL, are dropped with a warning, as is other dialects' redacted or encrypted
reasoning (Anthropic's redacted thinking, a Responses item's encrypted content), which no Chat
Completions field carries.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from ...canonical import message_to_events, parse_arguments
from .._hidden import HIDDEN_REASONING, hidden_reasoning
from ..base import PLAIN_HOLE, Encoder, PlainDelta, WireEvent, unix_seconds
from .wire import NAME, image_entry

# canonical finish reason -> what a Chat Completions client accepts
WIRE_FINISH_REASONS = {
    "stop": "stop",
    "length": "length",
    "tool-calls": "tool_calls",
    "content-filter": "content_filter",
}


def wire_usage(usage: dict[str, Any], *, details: str = "prompt_tokens_details") -> dict[str, Any]:
    """Canonical usage → Chat Completions usage (``details``: how the dialect spells that field)."""
    prompt = usage.get("input_tokens") or 0
    completion = usage.get("output_tokens") or 0
    out: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": usage.get("total_tokens") or prompt + completion,
    }
    if usage.get("cached_input_tokens") is not None:
        out[details] = {"cached_tokens": usage["cached_input_tokens"]}
    if usage.get("reasoning_tokens") is not None:
        out["completion_tokens_details"] = {"reasoning_tokens": usage["reasoning_tokens"]}
    return out


def custom_input(call: dict[str, Any]) -> str:
    """The string input of a call to a custom (freeform) tool, which travelled as a function
    taking ``{"input": <the string>}``."""
    value = call.get("input")
    if isinstance(value, dict) and isinstance(value.get("input"), str):
        return value["input"]
    if isinstance(value, str):
        return value
    arguments = call.get("arguments")
    if isinstance(arguments, str):
        parsed, _ = parse_arguments(arguments)
        if isinstance(parsed, dict) and isinstance(parsed.get("input"), str):
            return parsed["input"]
        return arguments
    return ""


class ChatEncoder(Encoder):
    """Canonical events → Chat Completions chunks, ending each response with ``[DONE]``.

    Options (``streamkit serve`` passes a request's :attr:`ParsedRequest.answer_options`):

    * ``reasoning_field``: reasoning is written as ``delta.reasoning_content`` (DeepSeek, vLLM,
      Z.ai; the field most clients read) unless this says otherwise.
    * ``include_usage``: whether the usage chunk (empty ``choices``) ends the response. ``None``
      (the default, ``convert`` and ``render``): whenever the usage is known; ``True`` (the
      client's ``stream_options.include_usage``): likewise; ``False``: never, as OpenAI does for a
      client that did not ask.
    * ``custom_tools``: the names of the custom (freeform) tools the client declared; a call to
      one is written as a ``{"type": "custom", "custom": {"name", "input"}}`` tool call whose
      ``input`` is the call's string (the ``input`` field of the function it travelled as), in
      one chunk when the call is complete.
    * ``model``: the model named when the stream's ``start`` names none.
    * ``n``: accepted and not used: the gateway asks the upstream for one choice.
    """

    dialect_name = NAME

    def __init__(
        self,
        *,
        reasoning_field: str = "reasoning_content",
        include_usage: bool | None = None,
        custom_tools: Iterable[str] = (),
        model: str | None = None,
        **options: Any,
    ) -> None:
        self.reasoning_field = reasoning_field
        self.include_usage = include_usage
        self.custom_tools = frozenset(custom_tools or ())
        self.default_model = model or ""
        self._new_response()

    def _new_response(self) -> None:
        self.open = False  # a response is being written
        self.templates: dict[str | int, PlainDelta] = {}  # (see _template)
        self.id: str | None = None
        self.model = ""
        self.created = 0
        self.extra: dict[str, Any] = {}
        self.roles: set[int] = set()
        self.fields: dict[str, str] = {}  # text block id -> "refusal" or "audio" (else content)
        self.transcripts: dict[str, Any] = {}  # audio transcript block -> its audio id, until said
        self.audio_ids: dict[int, Any] = {}  # choice -> the audio id written for it
        self.tools: dict[tuple[int, str], int] = {}  # (choice, call id) -> tool index
        self.ntools: dict[int, int] = {}
        self.usage: dict[str, Any] | None = None
        self.raw_usage: dict[str, Any] | None = None
        self.finish_meta: dict[str, Any] = {}

    def _ensure_open(self) -> list[WireEvent]:
        if self.open:
            return []
        return self._on_start({"type": "start"})

    def _chunk(
        self, choice: int, delta: dict[str, Any], finish: str | None = None, logprobs: Any = None
    ) -> WireEvent:
        if choice not in self.roles:
            self.roles.add(choice)
            delta = {"role": "assistant", **delta}
        chunk: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            **self.extra,
            "choices": [{"index": choice, "delta": delta, "logprobs": logprobs, "finish_reason": finish}],
        }
        return (None, chunk)

    def feed(self, event: dict[str, Any]) -> list[WireEvent]:
        self.plain_delta = None
        handler = self._handlers.get(event.get("type"))  # type: ignore[arg-type]
        if handler is None:
            return self.unhandled(event)
        out: list[WireEvent] = handler(self, event)
        if self.plain_delta is not None:
            self.template_for(event)
        return out

    def _template(self, ev: dict[str, Any], key: str | int, delta: dict[str, Any]) -> None:
        """The next delta of the block ``ev`` is a delta of, in choice 0, once a chunk of that
        choice was written (it has its role): the chunk with ``delta`` (see
        Encoder.plain_delta), kept for the response by ``key`` (the delta's field, or the tool call's
        index). Not for a delta with a logprobs or any other field."""
        if not ev.get("choice") and len(ev) == 3:
            template = self.templates.get(key)
            if template is None:
                template = self.templates[key] = PlainDelta(ev["type"], "", None, self._chunk(0, delta)[1])
            template.block_id = ev["id"]
            self.plain_delta = template

    def close(self) -> list[WireEvent]:
        out: list[WireEvent] = []
        if self.holding_errors:
            out += self._ensure_open()
            out += self.release_errors()
        if self.open:
            out += self._end()
        self.report_dropped()
        return out

    # --- handlers --------------------------------------------------------------------------

    def _on_start(self, ev: dict[str, Any]) -> list[WireEvent]:
        out = self._end() if self.open else []
        self._new_response()
        self.open = True
        self.id = ev.get("id") or f"chatcmpl-{uuid.uuid4().hex[:24]}"
        self.model = ev.get("model") or self.default_model
        created = ev.get("created")
        self.created = unix_seconds(created)
        meta = (ev.get("provider_metadata") or {}).get(NAME) or {}
        for key in ("system_fingerprint", "service_tier"):
            if meta.get(key) is not None:
                self.extra[key] = meta[key]
        if meta.get("prompt_filter_results"):
            # Azure sends this first chunk with empty id/model/object; a valid chunk says the same
            out.append((None, self._envelope(prompt_filter_results=meta["prompt_filter_results"])))
        return out

    def _on_text_start(self, ev: dict[str, Any]) -> list[WireEvent]:
        if ev.get("refusal"):
            self.fields[ev["id"]] = "refusal"
        elif ev.get("provider_metadata"):
            audio = (ev["provider_metadata"].get(NAME) or {}).get("audio")
            if isinstance(audio, dict):  # the transcript of an audio output
                self.fields[ev["id"]] = "audio"
                self.transcripts[ev["id"]] = audio.get("id")
        return self._ensure_open()

    def _on_text_delta(self, ev: dict[str, Any]) -> list[WireEvent]:
        out = self._ensure_open()
        field = self.fields.get(ev["id"], "content")
        if field == "audio":
            choice = ev.get("choice") or 0
            audio = self._audio_id(choice, self.transcripts.pop(ev["id"], None))
            audio["transcript"] = ev["delta"]
            out.append(self._chunk(choice, {"audio": audio}))
            return out
        meta = (ev.get("provider_metadata") or {}).get(NAME) or {}
        logprobs = None
        if meta.get("logprobs") is not None:
            logprobs = {"content": None, "refusal": None, field: meta["logprobs"]}
        out.append(self._chunk(ev.get("choice") or 0, {field: ev["delta"]}, logprobs=logprobs))
        if self.templates_wanted:
            self._template(ev, field, {field: PLAIN_HOLE})
        return out

    def _on_reasoning_delta(self, ev: dict[str, Any]) -> list[WireEvent]:
        out = self._ensure_open()
        out.append(self._chunk(ev.get("choice") or 0, {self.reasoning_field: ev["delta"]}))
        if self.templates_wanted:
            self._template(ev, self.reasoning_field, {self.reasoning_field: PLAIN_HOLE})
        return out

    def _on_reasoning_end(self, ev: dict[str, Any]) -> list[WireEvent]:
        if hidden_reasoning(ev, NAME):
            self.drop(HIDDEN_REASONING)
        meta = (ev.get("provider_metadata") or {}).get(NAME) or {}
        if not (meta.get("signature") or meta.get("data")):
            return []
        detail = {
            "type": meta.get("type", "reasoning.text"),
            **{k: v for k, v in meta.items() if k != "type"},
        }
        return [self._chunk(ev.get("choice") or 0, {"reasoning_details": [detail]})]

    def _tool_index(self, choice: int, call_id: str) -> tuple[int, bool]:
        key = (choice, call_id)
        if key in self.tools:
            return self.tools[key], False
        index = self.ntools.get(choice, 0)
        self.ntools[choice] = index + 1
        self.tools[key] = index
        return index, True

    def _on_tool_input_start(self, ev: dict[str, Any]) -> list[WireEvent]:
        if ev.get("provider_executed") or ev.get("tool_name") in self.custom_tools:
            return []  # a custom tool's call is written whole, from its tool-call
        out = self._ensure_open()
        choice = ev.get("choice") or 0
        index, _ = self._tool_index(choice, ev["id"])
        call = {
            "index": index,
            "id": ev["id"],
            "type": "function",
            "function": {"name": ev["tool_name"], "arguments": ""},
        }
        out.append(self._chunk(choice, {"tool_calls": [call]}))
        return out

    def _on_tool_input_delta(self, ev: dict[str, Any]) -> list[WireEvent]:
        choice = ev.get("choice") or 0
        index = self.tools.get((choice, ev["id"]))
        if index is None:  # provider-executed, or a delta with no start: the tool-call carries it
            return []
        out = [
            self._chunk(choice, {"tool_calls": [{"index": index, "function": {"arguments": ev["delta"]}}]})
        ]
        if self.templates_wanted:
            self._template(
                ev, index, {"tool_calls": [{"index": index, "function": {"arguments": PLAIN_HOLE}}]}
            )
        return out

    def _on_tool_call(self, ev: dict[str, Any]) -> list[WireEvent]:
        choice = ev.get("choice") or 0
        if ev.get("provider_executed"):
            executed = ((ev.get("provider_metadata") or {}).get(NAME) or {}).get("executed_tool")
            if type(executed) is not dict:  # (none, or metadata that is not this dialect's)
                return self.drop("provider-executed tool calls")
            tool = {**executed, "arguments": ev.get("arguments") or ""}
            return [*self._ensure_open(), self._chunk(choice, {"executed_tools": [tool]})]
        index, new = self._tool_index(choice, ev["tool_call_id"])
        if not new:
            return []  # already written from its tool-input events
        out = self._ensure_open()
        call: dict[str, Any] = {"index": index, "id": ev["tool_call_id"]}
        if ev["tool_name"] in self.custom_tools:
            call["type"] = "custom"
            call["custom"] = {"name": ev["tool_name"], "input": custom_input(ev)}
        else:
            arguments = ev.get("arguments")
            if arguments is None:
                from orjson import dumps

                arguments = dumps(ev.get("input") or {}).decode()
            call["type"] = "function"
            call["function"] = {"name": ev["tool_name"], "arguments": arguments}
        out.append(self._chunk(choice, {"tool_calls": [call]}))
        return out

    def _on_tool_result(self, ev: dict[str, Any]) -> list[WireEvent]:
        meta = (ev.get("provider_metadata") or {}).get(NAME) or {}
        executed = meta.get("executed_tool")
        if not ev.get("provider_executed"):
            return []  # a client tool's result belongs to the next request, not this stream
        if type(executed) is not dict:  # (none, or metadata that is not this dialect's)
            return self.drop("provider-executed tool results")
        tool = {**executed, "output": ev.get("output")}
        return [*self._ensure_open(), self._chunk(ev.get("choice") or 0, {"executed_tools": [tool]})]

    def _on_source(self, ev: dict[str, Any]) -> list[WireEvent]:
        if ev.get("source_type") != "url" or not ev.get("url"):
            return self.drop("document sources")
        out = self._ensure_open()
        meta = (ev.get("provider_metadata") or {}).get(NAME) or {}
        cite = {"url": ev["url"], "title": ev.get("title") or "", **meta}
        cite.setdefault("start_index", 0)
        cite.setdefault("end_index", 0)
        out.append(
            self._chunk(
                ev.get("choice") or 0, {"annotations": [{"type": "url_citation", "url_citation": cite}]}
            )
        )
        return out

    def _on_file(self, ev: dict[str, Any]) -> list[WireEvent]:
        data = ev.get("data") or ""
        image = image_entry(ev)
        if image is not None:  # (OpenRouter's and Vercel AI Gateway's images, as data URLs)
            out = self._ensure_open()
            out.append(self._chunk(ev.get("choice") or 0, {"images": [image]}))
            return out
        if not str(ev.get("media_type")).startswith("audio/") or data.startswith(("http://", "https://")):
            return self.drop("files other than audio and generated images")
        out = self._ensure_open()
        choice = ev.get("choice") or 0
        meta = ((ev.get("provider_metadata") or {}).get(NAME) or {}).get("audio") or {}
        audio = self._audio_id(choice, meta.get("id") or f"audio_{uuid.uuid4().hex[:24]}")
        audio["data"] = data
        out.append(self._chunk(choice, {"audio": audio}))
        if meta.get("expires_at") is not None:
            out.append(self._chunk(choice, {"audio": {"expires_at": meta["expires_at"]}}))
        return out

    def _audio_id(self, choice: int, audio_id: Any) -> dict[str, Any]:
        """A ``delta.audio`` that names the audio's id if it is known and not yet said."""
        if audio_id is None or self.audio_ids.get(choice) is not None:
            return {}
        self.audio_ids[choice] = audio_id
        return {"id": audio_id}

    def _on_finish(self, ev: dict[str, Any]) -> list[WireEvent]:
        out = self._ensure_open()
        if self.holding_errors:
            out.extend(self.release_errors())
        choice = ev.get("choice") or 0
        meta = (ev.get("provider_metadata") or {}).get(NAME) or {}
        wire_reason = WIRE_FINISH_REASONS.get(ev.get("finish_reason") or "other")
        if wire_reason is not None:
            # error and other have no Chat Completions reason a client accepts: the stream then
            # ends without one, as it did on the wire (cut off, or an error mid-stream)
            out.append(self._chunk(choice, {}, finish=wire_reason))
        if choice == 0:
            self.usage = ev.get("usage")
            self.raw_usage = meta.get("usage")
            for key in ("moderation", "prompt_filter_results"):
                if meta.get(key):
                    self.finish_meta[key] = meta[key]
            out.extend(self._end())
        return out

    def _on_error(self, ev: dict[str, Any]) -> list[WireEvent]:
        if ev.get("code") == "bad-input":
            return []  # a bad line upstream of us, not an upstream error
        if not self.open:
            # an error before any event of its response (``accumulate --final`` writes errors
            # before the message): hold it for that response, written before its finish
            return self.hold_error(ev)
        out = self._ensure_open()
        meta = (ev.get("provider_metadata") or {}).get(NAME) or {}
        error = meta.get("error")
        if not isinstance(error, dict):
            error = {"message": ev.get("message", ""), "type": "error", "code": ev.get("code")}
        out.append((None, {"error": error}))
        return out

    def _on_message(self, ev: dict[str, Any]) -> list[WireEvent]:
        if self.open or self.id is not None:
            return []  # the events it sums up were already written
        out: list[WireEvent] = []
        for sub in message_to_events(ev):
            if sub["type"] == "finish" and self.holding_errors:
                out.extend(self.release_errors())
            out.extend(self.feed(sub))
        self.id = None  # allow the next bare message to start its own response
        return out

    def _end(self) -> list[WireEvent]:
        """End the response: the extra chunks that follow the last finish_reason, then [DONE]."""
        out: list[WireEvent] = []
        if self.finish_meta.get("moderation"):
            out.append((None, self._envelope(moderation=self.finish_meta["moderation"])))
        usage = self.raw_usage or (wire_usage(self.usage) if self.usage else None)
        if usage and self.include_usage is not False:
            out.append((None, self._envelope(usage=usage)))
        out.append((None, "[DONE]"))
        self.open = False
        return out

    def _envelope(self, **fields: Any) -> dict[str, Any]:
        """A chunk with no choices, carrying response-level fields (usage, moderation, filters)."""
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            **self.extra,
            "choices": [],
            **fields,
        }

    _handlers: dict[str, Any] = {
        "start": _on_start,
        "text-start": _on_text_start,
        "text-delta": _on_text_delta,
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
