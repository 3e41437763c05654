"""Canonical events → Gemini ``streamGenerateContent`` chunks (the encoder).

``render -f gemini`` writes ``alt=sse`` events holding chunks ``{"candidates": [{"content":
{"role": "model", "parts": [...]}, "index": 0}], "modelVersion", "responseId"}``, one part each,
the last chunk with ``finishReason``, ``usageMetadata``, ``groundingMetadata`` (sources),
``citationMetadata`` and ``safetyRatings``. Tool calls are whole ``functionCall`` parts, with
the call's id unless normalize generated it; one whose arguments are not a JSON object (cut off,
or invalid) cannot be a whole call, and is written as a streamed call that never completes (its
text as an unterminated string value), which normalizes back to a call with invalid arguments.
Code execution and server-side tools that came from Gemini go back as their parts; other
providers' executed tools, choices other than the first, and sources with neither URL nor title
are dropped with a warning, as is other dialects' redacted or encrypted reasoning (Anthropic's
redacted thinking, a Responses item's encrypted content: a thought part has no place for it); a
refusal is written as text, with a warning. A later response with no id, or with the id of one already written,
gets one of its own (``response-N``, ``<id>-N``), so that the chunks of two responses do not read
as one. An error is an ``{"error": {...}}`` chunk; one that comes before its response's events
(``accumulate --final`` writes it before the message) is written inside that response. The
``model`` option names the model of every response (``serve`` passes the one in the request's
path, so that ``modelVersion`` echoes it).
"""

from __future__ import annotations

from typing import Any

from ...canonical import message_to_events, parse_arguments
from .._hidden import HIDDEN_REASONING, hidden_reasoning
from ..base import PLAIN_HOLE, SEARCH_CALL_NAMES, Encoder, PlainDelta, WireEvent, search_pages, search_queries
from .wire import (
    _CANDIDATE_FIELDS,
    FINISH_REASONS,
    NAME,
    executed_call_part,
    executed_result_part,
    file_part,
    foreign_image,
    generated_image_part,
)

# canonical finish reason -> what Gemini writes for it (error and a cut-off stream: none)
WIRE_FINISH_REASONS = {
    "stop": "STOP",
    "tool-calls": "STOP",
    "length": "MAX_TOKENS",
    "content-filter": "SAFETY",
}


def wire_usage(usage: dict[str, Any]) -> dict[str, Any]:
    """Canonical usage → Gemini ``usageMetadata``."""
    out: dict[str, Any] = {}
    reasoning = usage.get("reasoning_tokens")
    if usage.get("input_tokens") is not None:
        out["promptTokenCount"] = usage["input_tokens"]
    if usage.get("output_tokens") is not None:
        out["candidatesTokenCount"] = max(usage["output_tokens"] - (reasoning or 0), 0)
    if usage.get("total_tokens") is not None:
        out["totalTokenCount"] = usage["total_tokens"]
    elif out:
        out["totalTokenCount"] = (usage.get("input_tokens") or 0) + (usage.get("output_tokens") or 0)
    if usage.get("cached_input_tokens") is not None:
        out["cachedContentTokenCount"] = usage["cached_input_tokens"]
    if reasoning is not None:
        out["thoughtsTokenCount"] = reasoning
    return out


def wire_finish_reason(reason: str, raw: Any) -> str | None:
    """A canonical finish reason (and the raw one, when it was Gemini's) → Gemini's; None for an
    error or a cut-off response, for which Gemini writes none."""
    if isinstance(raw, str) and (FINISH_REASONS.get(raw, "other") == reason and raw.isupper()):
        return raw
    if reason == "other" and raw is not None:
        return "OTHER"
    return WIRE_FINISH_REASONS.get(reason)


def _meta_of(ev: dict[str, Any]) -> dict[str, Any]:
    meta = (ev.get("provider_metadata") or {}).get(NAME)
    return meta if isinstance(meta, dict) else {}


def foreign_search(ev: dict[str, Any]) -> bool:
    """Is the provider-executed call or result ``ev`` another provider's web search?"""
    return ev.get("tool_name") in SEARCH_CALL_NAMES and not _meta_of(ev).get("tool_type")


def add_pages(sources: list[dict[str, Any]], result: dict[str, Any], call_input: Any) -> None:
    """Another provider's search result's pages, added to ``sources`` as grounding chunks (as
    Gemini reports the pages of its own search: clients read them there), each page once."""
    known = {(c.get("web") or {}).get("uri") for c in sources}
    for url, title in search_pages(result.get("output"), call_input):
        if url not in known:
            known.add(url)
            sources.append({"web": {"uri": url, "title": title or url}})


def source_entry(ev: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """A ``source`` (event or part) as Gemini writes it: ``("citation", citationSource)`` for one
    that came from ``citationMetadata``, else ``("chunk", groundingChunk)``; None for a source with
    neither URL nor title."""
    meta = dict((ev.get("provider_metadata") or {}).get(NAME) or {})
    kind = meta.pop("grounding_chunk", None)
    citation = meta.pop("citation", None)
    uri = ev.get("url") or meta.pop("uri", None)
    if isinstance(citation, dict) and uri:  # from citationMetadata: back there
        cite = {**citation, "uri": uri}
        if ev.get("title"):
            cite["title"] = ev["title"]
        return "citation", cite
    if kind not in ("web", "maps", "image", "retrievedContext"):
        kind = "web" if ev.get("source_type") == "url" else "retrievedContext"
    body: dict[str, Any] = {}
    if uri:
        body["uri"] = uri
    if ev.get("title"):
        body["title"] = ev["title"]
    if kind == "retrievedContext" and not uri and not ev.get("title") and ev.get("filename"):
        body["title"] = ev["filename"]
    body.update(meta)
    return ("chunk", {kind: body}) if body else None


# --- the encoder ----------------------------------------------------------------------------------


class GeminiEncoder(Encoder):
    """Canonical events → Gemini ``GenerateContentResponse`` chunks (one SSE event each)."""

    dialect_name = NAME

    def __init__(self, *, model: str | None = None, **options: Any) -> None:
        #: the model every response names (``serve`` passes the one in the request's path)
        self.model_option = model
        self.responses = 0
        self.written_ids: set[str] = set()
        self._new_response()

    def _new_response(self) -> None:
        self.open = False
        self.seen = False  # events of this response were written (a later message is a summary)
        self.templates: dict[str, PlainDelta] = {}  # (see _template)
        self.id: str | None = None
        self.model: str | None = None
        self.create_time: str | None = None
        self.sources: list[dict[str, Any]] = []  # grounding chunks, written with the finish
        self.citations: list[dict[str, Any]] = []  # citation sources, likewise
        self.code_ids: dict[str, str | None] = {}  # canonical call id -> executableCode id
        self.searches: dict[str, Any] = {}  # another provider's search calls: id -> input
        self.queries: list[str] = []  # their queries (groundingMetadata.webSearchQueries)

    def _ensure_open(self) -> list[WireEvent]:
        if self.open:
            return []
        return self._on_start({"type": "start"})

    def _envelope(self, chunk: dict[str, Any]) -> WireEvent:
        if self.model:
            chunk["modelVersion"] = self.model
        if self.create_time:
            chunk["createTime"] = self.create_time
        if self.id:
            chunk["responseId"] = self.id
        return (None, chunk)

    def _part(self, part: dict[str, Any]) -> list[WireEvent]:
        out = self._ensure_open()
        self.seen = True
        out.append(
            self._envelope({"candidates": [{"content": {"role": "model", "parts": [part]}, "index": 0}]})
        )
        return out

    def feed(self, event: dict[str, Any]) -> list[WireEvent]:
        self.plain_delta = None
        handler = self._handlers.get(event.get("type"))  # type: ignore[arg-type]
        if handler is None:
            return self.unhandled(event)
        if event.get("choice") and event.get("type") != "message":
            return self.drop("choices other than the first")
        out: list[WireEvent] = handler(self, event)
        if self.plain_delta is not None:
            self.template_for(event)
        return out

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
        self.seen = True
        self.responses += 1
        self.id = ev.get("id")
        if self.responses > 1 and (not self.id or self.id in self.written_ids):
            # a later response needs an id of its own, or the chunks would read as one response
            # (Assistants continues a run under the same id)
            self.id = f"{self.id or 'response'}-{self.responses}"
        if self.id:
            self.written_ids.add(self.id)
        self.model = self.model_option or ev.get("model")
        meta = (ev.get("provider_metadata") or {}).get(NAME) or {}
        if isinstance(meta.get("create_time"), str):
            self.create_time = meta["create_time"]
        return out

    def _on_text_start(self, ev: dict[str, Any]) -> list[WireEvent]:
        if ev.get("refusal"):
            self.drop("refusal marks (the refusal is written as text)")
        return self._ensure_open()

    def _on_text_delta(self, ev: dict[str, Any]) -> list[WireEvent]:
        if not ev.get("delta"):
            return self._ensure_open()
        out = self._with_logprobs(self._part({"text": ev["delta"]}), ev)
        if self.templates_wanted:
            self._template(ev, {"text": PLAIN_HOLE})
        return out

    def _on_reasoning_delta(self, ev: dict[str, Any]) -> list[WireEvent]:
        if not ev.get("delta"):
            return self._ensure_open()
        out = self._with_logprobs(self._part({"text": ev["delta"], "thought": True}), ev)
        if self.templates_wanted:
            self._template(ev, {"text": PLAIN_HOLE, "thought": True})
        return out

    def _template(self, ev: dict[str, Any], part: dict[str, Any]) -> None:
        """The next delta of the block, once one was written: a chunk of that one part (see
        Encoder.plain_delta). Not for a delta with logprobs or any other field."""
        if len(ev) == 3:
            template = self.templates.get(ev["type"])  # (the same for every block of the response)
            if template is None:
                template = self.templates[ev["type"]] = PlainDelta(
                    ev["type"], "", None, self._part(part)[0][1]
                )
            template.block_id = ev["id"]
            self.plain_delta = template

    @staticmethod
    def _with_logprobs(out: list[WireEvent], ev: dict[str, Any]) -> list[WireEvent]:
        pm = ev.get("provider_metadata")
        logprobs = ((pm or {}).get(NAME) or {}).get("logprobs_result") if pm else None
        if logprobs:
            out[-1][1]["candidates"][0]["logprobsResult"] = logprobs
        return out

    def _on_block_end(self, ev: dict[str, Any]) -> list[WireEvent]:
        if ev["type"] == "reasoning-end" and hidden_reasoning(ev, NAME):
            self.drop(HIDDEN_REASONING)
        signature = ((ev.get("provider_metadata") or {}).get(NAME) or {}).get("thought_signature")
        if not signature:
            return []
        part: dict[str, Any] = {"text": ""}
        if ev["type"] == "reasoning-end":
            part["thought"] = True
        part["thoughtSignature"] = signature
        return self._part(part)

    def _on_tool_call(self, ev: dict[str, Any]) -> list[WireEvent]:
        meta = (ev.get("provider_metadata") or {}).get(NAME) or {}
        value = ev.get("input")
        if "input" not in ev or (value is None and ev.get("arguments")):
            value, _ = parse_arguments(ev.get("arguments") or "")
        if ev.get("provider_executed"):
            return self._executed_call(ev, value, meta)
        call: dict[str, Any] = {"name": ev.get("tool_name") or ""}
        if not meta.get("generated_id"):
            call = {"id": ev["tool_call_id"], **call}
        if isinstance(value, dict):
            call["args"] = value
            part: dict[str, Any] = {"functionCall": call}
            if meta.get("thought_signature"):
                part["thoughtSignature"] = meta["thought_signature"]
            return self._part(part)
        return self._unfinished_call(ev, call, meta)

    def _unfinished_call(
        self, ev: dict[str, Any], call: dict[str, Any], meta: dict[str, Any]
    ) -> list[WireEvent]:
        """Arguments that are not a JSON object (cut off, or invalid): Gemini's args must be an
        object, so the call is written as a streamed call that never completes, its text carried
        as an unterminated string value; normalized again it is a call whose arguments are not
        valid JSON, as it was."""
        self.drop("tool-call arguments that are not a JSON object (written as a call that never completes)")
        start: dict[str, Any] = {"functionCall": {**call, "willContinue": True}}
        if meta.get("thought_signature"):
            start["thoughtSignature"] = meta["thought_signature"]
        out = self._part(start)
        text = ev.get("arguments")
        if text:
            arg = {"jsonPath": "$.arguments", "stringValue": text, "willContinue": True}
            out.extend(self._part({"functionCall": {"partialArgs": [arg], "willContinue": True}}))
        return out

    def _executed_call(self, ev: dict[str, Any], value: Any, meta: dict[str, Any]) -> list[WireEvent]:
        if foreign_image(ev):
            return []  # (its image is its result's)
        if foreign_search(ev):
            self.searches[ev["tool_call_id"]] = value
            self.queries += [q for q in search_queries(value) if q not in self.queries]
        part = executed_call_part(ev, value, meta, self.code_ids, searches=True)
        if part is None:
            return self.drop("provider-executed tool calls other than code execution and web search")
        return self._part(part)

    def _on_tool_result(self, ev: dict[str, Any]) -> list[WireEvent]:
        if not ev.get("provider_executed"):
            return []  # a client tool's result belongs to the next request, not this stream
        if foreign_image(ev):
            image = generated_image_part(ev)
            return (
                self._part(image) if image is not None else self.drop("image generations that made no image")
            )
        part = executed_result_part(ev, self.code_ids, searches=True)
        if part is None:
            return self.drop("provider-executed tool results other than code execution and web search")
        if foreign_search(ev):
            add_pages(self.sources, ev, self.searches.get(str(ev.get("tool_call_id"))))
        return self._part(part)

    def _on_source(self, ev: dict[str, Any]) -> list[WireEvent]:
        out = self._ensure_open()
        self.seen = True
        entry = source_entry(ev)
        if entry is None:
            return self.drop("sources with neither a URL nor a title")
        found = self.citations if entry[0] == "citation" else self.sources
        if entry[1] not in found:  # (a page another provider's search listed, and then cited)
            found.append(entry[1])
        return out

    def _on_file(self, ev: dict[str, Any]) -> list[WireEvent]:
        return self._part(file_part(ev))

    def _on_finish(self, ev: dict[str, Any]) -> list[WireEvent]:
        out = self._ensure_open()
        if self.holding_errors:
            out.extend(self.release_errors())
        meta = (ev.get("provider_metadata") or {}).get(NAME) or {}
        reason = ev.get("finish_reason") or "other"
        raw = ev.get("raw_finish_reason")
        wire_reason = wire_finish_reason(reason, raw)
        usage = meta.get("usage") if isinstance(meta.get("usage"), dict) else None
        if usage is None and ev.get("usage"):
            usage = wire_usage(ev["usage"])
        feedback = meta.get("prompt_feedback")
        chunk: dict[str, Any] = {}
        blocked = (
            isinstance(feedback, dict) and feedback.get("blockReason") and raw == feedback["blockReason"]
        )
        if not blocked:
            cand: dict[str, Any] = {"index": 0}
            if wire_reason:
                cand["finishReason"] = wire_reason
            for key, name in _CANDIDATE_FIELDS.items():
                if meta.get(name) is not None:
                    cand[key] = meta[name]
            grounding = dict(meta.get("grounding_metadata") or {})
            if self.sources:
                grounding = {"groundingChunks": self.sources, **grounding}
            if self.queries and "webSearchQueries" not in grounding:
                grounding["webSearchQueries"] = self.queries
            if grounding:
                cand["groundingMetadata"] = grounding
            if self.citations:
                cand["citationMetadata"] = {"citationSources": self.citations}
            if len(cand) > 1 or not (feedback or usage):
                chunk["candidates"] = [cand]
        if feedback:
            chunk["promptFeedback"] = feedback
        if usage:
            chunk["usageMetadata"] = usage
        self.sources = []
        self.citations = []
        self.queries = []
        out.append(self._envelope(chunk))
        self.open = False
        return out

    def _on_error(self, ev: dict[str, Any]) -> list[WireEvent]:
        if ev.get("code") == "bad-input":
            return []  # a bad line upstream of us, not an upstream error
        if not self.open:
            # an error before any event of its response (``accumulate --final`` writes errors
            # before the message): held for that response, written before its finish
            return self.hold_error(ev)
        out = self._ensure_open()
        self.seen = True
        error = ((ev.get("provider_metadata") or {}).get(NAME) or {}).get("error")
        if not isinstance(error, dict):
            code = ev.get("code")
            error = {"code": code if isinstance(code, int) else 500, "message": ev.get("message", "")}
            if isinstance(code, str):
                error["status"] = code
        out.append((None, {"error": error}))
        return out

    def _on_message(self, ev: dict[str, Any]) -> list[WireEvent]:
        if ev.get("choice"):
            return self.drop("choices other than the first")
        if self.seen:
            self.seen = False
            return []  # the events it sums up were already written
        out: list[WireEvent] = []
        for sub in message_to_events(ev):
            out.extend(self.feed(sub))
        self.seen = False
        return out

    def _end(self) -> list[WireEvent]:
        """A response cut off before its finish: write the sources it still holds."""
        out: list[WireEvent] = []
        cand: dict[str, Any] = {"index": 0}
        if self.sources:
            cand["groundingMetadata"] = {"groundingChunks": self.sources}
        if self.citations:
            cand["citationMetadata"] = {"citationSources": self.citations}
        if len(cand) > 1:
            out.append(self._envelope({"candidates": [cand]}))
        self.sources = []
        self.citations = []
        self.queries = []
        self.open = False
        return out

    _handlers: dict[str, Any] = {
        "start": _on_start,
        "text-start": _on_text_start,
        "text-delta": _on_text_delta,
        "reasoning-delta": _on_reasoning_delta,
        "text-end": _on_block_end,
        "reasoning-end": _on_block_end,
        "tool-call": _on_tool_call,
        "tool-result": _on_tool_result,
        "source": _on_source,
        "file": _on_file,
        "finish": _on_finish,
        "error": _on_error,
        "message": _on_message,
    }
