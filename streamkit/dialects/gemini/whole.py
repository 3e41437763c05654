"""Gemini's whole answers: the ``GenerateContentResponse`` of ``:generateContent`` (from accumulated
``message`` events), and the error body the Gemini API answers a failed request with.

A whole response is what the chunks of a stream would merge into: one candidate per message
(``index`` its choice), ``content.parts`` in the message's order, each block one part:

* text → ``{"text"}``; reasoning → ``{"text", "thought": true}``; the block's
  ``thoughtSignature`` on its part (a signed empty block is an empty part that carries it; an empty
  block without one, another provider's redacted reasoning, is left out, and so is another
  provider's redacted or encrypted reasoning, with a warning);
* a client tool call → ``{"functionCall": {"id", "name", "args"}}`` (no ``id`` when normalize made
  it up; its ``thoughtSignature`` beside it); a call whose arguments are not a JSON object (cut off)
  cannot be a whole call and is left out, with a warning;
* Gemini's executed tools → ``executableCode`` / ``codeExecutionResult``, ``toolCall`` /
  ``toolResponse``; another provider's web search and code execution as Gemini's own (as a stream
  writes them: :mod:`.encode`), the search's pages also grounding chunks and its queries
  ``webSearchQueries``; other executed tools are left out, with a warning; files → ``inlineData``
  / ``fileData``;
* sources → ``groundingMetadata.groundingChunks`` (with the rest of the grounding metadata
  normalize kept) or, for citations, ``citationMetadata.citationSources``;
* ``finishReason`` from the finish reason (``OTHER`` where Gemini has no word for it: an error, a
  response cut off), the candidate fields normalize kept (``safetyRatings``, ``finishMessage``, ...)
  and the first ``logprobsResult``;
* ``usageMetadata`` as Gemini sent it, else from the canonical usage; ``modelVersion`` the ``model``
  option (the model of the request's path) or the message's; ``responseId``; ``createTime`` and
  ``promptFeedback`` when normalize kept them (a blocked prompt: no candidates).
"""

from __future__ import annotations

from typing import Any

from ...canonical import parse_arguments
from .._hidden import HIDDEN_REASONING, hidden_reasoning
from ..base import Encoder, search_queries
from .encode import add_pages, foreign_search, source_entry, wire_finish_reason, wire_usage
from .wire import (
    _CANDIDATE_FIELDS,
    NAME,
    executed_call_part,
    executed_result_part,
    file_part,
    foreign_image,
    generated_image_part,
)

#: HTTP status → the ``google.rpc.Code`` name Gemini writes in ``error.status``
STATUSES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def error_body(status: int, message: str, code: Any = None) -> dict[str, Any]:
    """``{"error": {"code": status, "message", "status"}}`` (a ``google.rpc.Status``), which the
    google-genai SDK raises as ``ClientError`` (4xx) or ``ServerError`` (5xx). ``status`` is
    ``code`` when that is already such a name (``RESOURCE_EXHAUSTED``), else the name of the HTTP
    status (:data:`STATUSES`; another 4xx is ``INVALID_ARGUMENT``, another 5xx ``INTERNAL``)."""
    if isinstance(code, str) and code.replace("_", "").isalpha() and code.isupper():
        name = code
    else:
        name = STATUSES.get(status) or ("INTERNAL" if status >= 500 else "INVALID_ARGUMENT")
    return {"error": {"code": status, "message": message, "status": name}}


def _meta(part: dict[str, Any]) -> dict[str, Any]:
    pm = part.get("provider_metadata")
    meta = pm.get(NAME) if isinstance(pm, dict) else None
    return meta if isinstance(meta, dict) else {}


class _Candidate:
    """The parts, sources and citations of one message, as one candidate."""

    def __init__(self, drops: Encoder) -> None:
        self.drops = drops
        self.parts: list[dict[str, Any]] = []
        self.sources: list[dict[str, Any]] = []
        self.citations: list[dict[str, Any]] = []
        self.logprobs: Any = None
        self.code_ids: dict[str, str | None] = {}
        self.searches: dict[str, Any] = {}  # another provider's search calls: id -> input
        self.queries: list[str] = []

    def add(self, p: dict[str, Any]) -> None:
        kind = p.get("type")
        meta = _meta(p)
        part: dict[str, Any] | None
        if kind in ("text", "reasoning"):
            if kind == "reasoning" and hidden_reasoning(p, NAME):
                self.drops.drop(HIDDEN_REASONING)
            text = p.get("text") or ""
            if not text and not meta.get("thought_signature"):
                return
            part = {"text": text, "thought": True} if kind == "reasoning" else {"text": text}
            if self.logprobs is None and meta.get("logprobs_result"):
                self.logprobs = meta["logprobs_result"]
        elif kind == "tool-call":
            part = self._call(p, meta)
        elif kind == "tool-result":
            if not p.get("provider_executed"):
                return  # a client tool's result belongs to the next request
            if foreign_image(p):
                part = generated_image_part(p)
                if part is None:
                    self.drops.drop("image generations that made no image")
            elif (part := executed_result_part(p, self.code_ids, searches=True)) is None:
                self.drops.drop("provider-executed tool results other than code execution and web search")
            elif foreign_search(p):
                add_pages(self.sources, p, self.searches.get(str(p.get("tool_call_id"))))
        elif kind == "file":
            part = file_part(p)
        elif kind == "source":
            part = None
            entry = source_entry(p)
            if entry is None:
                self.drops.drop("sources with neither a URL nor a title")
            else:
                found = self.citations if entry[0] == "citation" else self.sources
                if entry[1] not in found:  # (a page another provider's search listed, then cited)
                    found.append(entry[1])
        else:
            part = None
        if part is None:
            return
        if meta.get("thought_signature"):
            part["thoughtSignature"] = meta["thought_signature"]
        self.parts.append(part)

    def _call(self, p: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any] | None:
        value = p.get("input")
        if "input" not in p or (value is None and p.get("arguments")):
            value, _ = parse_arguments(p.get("arguments") or "")
        if p.get("provider_executed"):
            if foreign_image(p):
                return None  # (its image is its result's)
            if foreign_search(p):
                self.searches[str(p.get("tool_call_id"))] = value
                self.queries += [q for q in search_queries(value) if q not in self.queries]
            part = executed_call_part(p, value, meta, self.code_ids, searches=True)
            if part is None:
                self.drops.drop("provider-executed tool calls other than code execution and web search")
            return part
        if not isinstance(value, dict):
            self.drops.drop("tool calls whose arguments are not a JSON object (left out)")
            return None
        call: dict[str, Any] = {"name": p.get("tool_name") or "", "args": value}
        if not meta.get("generated_id"):
            call = {"id": p["tool_call_id"], **call}
        return {"functionCall": call}


def _candidate(message: dict[str, Any], index: int, drops: Encoder) -> dict[str, Any]:
    built = _Candidate(drops)
    for part in message.get("content") or ():
        if isinstance(part, dict):
            built.add(part)
    meta = _meta(message)
    cand: dict[str, Any] = {"content": {"role": "model", "parts": built.parts}}
    reason = wire_finish_reason(message.get("finish_reason") or "other", message.get("raw_finish_reason"))
    cand["finishReason"] = reason or "OTHER"
    cand["index"] = index
    for key, name in _CANDIDATE_FIELDS.items():
        if meta.get(name) is not None:
            cand[key] = meta[name]
    grounding = dict(meta.get("grounding_metadata") or {})
    if built.sources:
        grounding = {"groundingChunks": built.sources, **grounding}
    if built.queries and "webSearchQueries" not in grounding:
        grounding["webSearchQueries"] = built.queries
    if grounding:
        cand["groundingMetadata"] = grounding
    if built.citations:
        cand["citationMetadata"] = {"citationSources": built.citations}
    if built.logprobs is not None:
        cand["logprobsResult"] = built.logprobs
    return cand


def whole_response(
    messages: list[dict[str, Any]], *, model: str | None = None, **options: Any
) -> dict[str, Any]:
    """The ``GenerateContentResponse`` of one response's accumulated ``message`` events (one per
    choice); ``model`` (the request path's) names it. See the module's docstring."""
    drops = Encoder()
    drops.dialect_name = NAME
    response: dict[str, Any] = {}
    candidates = []
    first = messages[0] if messages else {}
    for i, message in enumerate(messages):
        choice = message.get("choice")
        index = choice if isinstance(choice, int) else i
        meta = _meta(message)
        feedback = meta.get("prompt_feedback")
        if (
            isinstance(feedback, dict)
            and feedback.get("blockReason")
            and (message.get("raw_finish_reason") == feedback["blockReason"])
        ):
            continue  # the prompt was blocked: no candidate
        candidates.append(_candidate(message, index, drops))
    if candidates or not messages:
        response["candidates"] = candidates
    meta = _meta(first)
    if isinstance(meta.get("prompt_feedback"), dict):
        response["promptFeedback"] = meta["prompt_feedback"]
    usage = next((_meta(m).get("usage") for m in messages if isinstance(_meta(m).get("usage"), dict)), None)
    if usage is None:
        usage = next((wire_usage(m["usage"]) for m in messages if m.get("usage")), None)
    if usage:
        response["usageMetadata"] = usage
    version = model or first.get("model")
    if version:
        response["modelVersion"] = version
    if isinstance(meta.get("create_time"), str):
        response["createTime"] = meta["create_time"]
    if first.get("id"):
        response["responseId"] = first["id"]
    drops.report_dropped()
    return response
