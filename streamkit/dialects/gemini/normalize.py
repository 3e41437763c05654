"""Gemini ``streamGenerateContent`` chunks → canonical events (the normalizer).

The wire: each event is one ``GenerateContentResponse`` chunk, sent as a data-only SSE event with
``alt=sse``, or as one element of a single streamed JSON array without it (``fetch --replay``
decodes both into the same ``raw`` events). Vertex AI sends the same chunks (plus ``createTime``).

What the chunks hold, and what it becomes (canonical events on the right):

* One response per stream: ``responseId`` → ``start.id``, ``modelVersion`` → ``start.model``,
  Vertex's ``createTime`` → ``start.created`` (epoch seconds; the original string is kept in
  ``start.provider_metadata["gemini"]["create_time"]``). A chunk whose ``responseId`` differs from
  the current one's, once that one has a ``finishReason``, starts a new response (several
  responses written in a row, as ``render -f gemini`` does for a multi-response stream).
* The parts of ``candidates[0].content``:

  - ``text`` → a text block; ``text`` with ``thought: true`` → a reasoning block.
  - ``thoughtSignature`` (on a thought, a text or a function-call part, possibly one whose text
    is empty) → ``provider_metadata["gemini"]["thought_signature"]`` on the ``text-end`` /
    ``reasoning-end`` of the block of the part's kind, which it ends (a part with empty text
    and no open block of its kind gives an empty block that carries it), or on the
    ``tool-call``. ``render -f gemini`` writes it back on the same kind of part: Gemini 3
    rejects a continuation that loses it.
  - ``functionCall`` given whole (``name``, ``args`` object, optional ``id``) → one client tool
    call: ``arguments`` is the JSON of ``args`` (``{}`` when absent), the id the provider's or a
    stable generated ``call_N``.
  - ``functionCall`` streamed (Vertex ``streamFunctionCallArguments``): a part with ``name`` and
    ``willContinue: true`` opens the call, parts with ``partialArgs`` (``jsonPath`` + a
    ``stringValue`` / ``numberValue`` / ``boolValue`` / ``nullValue``, strings themselves
    continued with ``willContinue``) add to it, and a part without ``willContinue`` (usually
    ``{"functionCall": {}}``) ends it. The values are written as ``tool-input-delta`` JSON text
    as they arrive, nested objects and arrays included, so the deltas join to the ``arguments``
    of the ``tool-call``. Should a path go back into a container already closed (Vertex sends
    paths in document order, so this is only a safeguard), the deltas stop and the
    ``tool-call``'s ``arguments`` hold the object assembled from every path. A call still open
    when the response ends (cut off, or stopped by MAX_TOKENS) keeps the text received, which
    is not valid JSON: ``input`` is null with ``input_error``, so nobody runs it by mistake.
  - ``executableCode`` / ``codeExecutionResult`` → a provider-executed ``tool-call``
    (``tool_name: "code_execution"``, ``input: {language, code}``) / ``tool-result`` (``output:
    {outcome, output}``, ``is_error`` unless the outcome is ``OUTCOME_OK``), joined by the
    part's ``id`` or else by order.
  - ``toolCall`` / ``toolResponse`` (server-side tools such as file search, with
    ``includeServerSideToolInvocations``) → a provider-executed ``tool-call`` (``tool_name`` the
    ``toolType`` in lower case, but ``web_search`` for ``GOOGLE_SEARCH_WEB``, as every dialect's
    search; ``input`` its ``args``) / ``tool-result`` (``output`` its ``response``); the
    ``toolType`` is kept in ``provider_metadata``.
  - ``inlineData`` → ``file`` (base64 ``data``); ``fileData`` → ``file`` whose ``data`` is the URI.
* ``logprobsResult`` (asked with ``responseLogprobs``) → ``provider_metadata["gemini"]
  ["logprobs_result"]`` of the chunk's first text (or thought) delta, written back on that chunk.
* ``groundingMetadata.groundingChunks`` (``web``, ``maps``, or ``retrievedContext`` for file
  search and RAG) and ``citationMetadata`` citations → ``source`` events, once each (``url`` for an
  http(s) URI, ``document`` otherwise; the chunk's other fields in ``provider_metadata``). The
  rest of ``groundingMetadata`` (supports, search entry point, queries) →
  ``finish.provider_metadata["gemini"]["grounding_metadata"]``.
* ``usageMetadata`` (sent on many chunks, growing: the last one wins) → ``finish.usage``:
  ``promptTokenCount`` → ``input_tokens``; ``candidatesTokenCount`` + ``thoughtsTokenCount`` →
  ``output_tokens`` (thinking is billed as output, and other dialects count reasoning in their
  output tokens too); ``totalTokenCount`` → ``total_tokens``; ``cachedContentTokenCount`` →
  ``cached_input_tokens``; ``thoughtsTokenCount`` → ``reasoning_tokens``. The raw object is kept
  in ``finish.provider_metadata["gemini"]["usage"]``.
* ``finishReason`` (the last one wins: early Gemini repeats ``STOP`` on every chunk): STOP → stop
  (tool-calls when the response holds client function calls), MAX_TOKENS → length, SAFETY /
  RECITATION / BLOCKLIST / PROHIBITED_CONTENT / SPII / IMAGE_SAFETY (and IMAGE_PROHIBITED_CONTENT,
  IMAGE_RECITATION) → content-filter, MALFORMED_FUNCTION_CALL → error, anything else → other.
  ``safetyRatings``, ``urlContextMetadata``, ``finishMessage`` and ``avgLogprobs`` of the
  candidate → ``finish.provider_metadata["gemini"]``.
* ``promptFeedback`` → ``finish.provider_metadata["gemini"]["prompt_feedback"]``; with a
  ``blockReason`` and no candidates (the prompt was blocked) the response finishes
  ``content-filter`` with the block reason as ``raw_finish_reason``.
* An error object (``{"error": {"code", "message", "status"}}``) → ``error`` (``code`` the status,
  ``retryable`` for 429 and 5xx), after everything received before it; the response then
  finishes with ``finish_reason: error``.
* Candidates other than the first (``candidateCount`` > 1) are not normalized: a warning says so.

The ``finish`` is written when the response ends (a new response, or the end of input), since
usage and the finish reason may still change until then; text and tool calls are complete as
soon as their parts are.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

import orjson

from ..._native import mypyc_attr
from ...canonical import delta_head, tool_call
from ...errors import DataError
from ..base import token_counts, wire_string
from .normalize_server import _ServerParts
from .partial_args import PartialArgs
from .wire import _CANDIDATE_FIELDS, FINISH_REASONS, NAME, _dumps


def map_usage(usage: dict[str, Any]) -> dict[str, Any]:
    """Gemini ``usageMetadata`` → canonical usage (fields Gemini did not send are left out)."""
    prompt = usage.get("promptTokenCount")
    candidates = usage.get("candidatesTokenCount")
    thoughts = usage.get("thoughtsTokenCount")
    total = usage.get("totalTokenCount")
    cached = usage.get("cachedContentTokenCount")
    if prompt is not None and candidates is not None and total is not None and cached is None:
        # the usual final usage, built in one step
        if thoughts is None:
            return {"input_tokens": prompt, "output_tokens": (candidates or 0) + 0, "total_tokens": total}
        return {
            "input_tokens": prompt,
            "output_tokens": (candidates or 0) + (thoughts or 0),
            "total_tokens": total,
            "reasoning_tokens": thoughts,
        }
    out: dict[str, Any] = {}
    if prompt is not None:
        out["input_tokens"] = prompt
    if candidates is not None or thoughts is not None:
        out["output_tokens"] = (candidates or 0) + (thoughts or 0)
    if total is not None:
        out["total_tokens"] = total
    if cached is not None:
        out["cached_input_tokens"] = cached
    if thoughts is not None:
        out["reasoning_tokens"] = thoughts
    return out


_RFC3339 = re.compile(r"^(.*T\d\d:\d\d:\d\d)(\.\d+)?(.*)$")
# the usual form: UTC, and a fraction every Python's fromisoformat reads (3.10 takes 3 or 6 digits)
_PLAIN_UTC = re.compile(r"\d\d\d\d-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d\d\d(?:\d\d\d)?)?Z", re.ASCII)
_EPOCH = datetime(1970, 1, 1)


def rfc3339_epoch(timestamp: Any) -> float | None:
    """An RFC 3339 timestamp (``2026-05-04T20:01:02.264968Z``) → epoch seconds, or None."""
    if not isinstance(timestamp, str):
        return None
    if _PLAIN_UTC.fullmatch(timestamp) is not None:  # Gemini's and Ollama's usual form
        try:
            return (datetime.fromisoformat(timestamp[:-1]) - _EPOCH).total_seconds()
        except ValueError:  # no such day or time
            return None
    text = timestamp.strip().replace("Z", "+00:00").replace("z", "+00:00")
    match = _RFC3339.match(text)
    if match is None:
        return None
    head, frac, tz = match.groups()
    if frac:
        frac = (frac + "00000")[:7]  # Python 3.10 takes exactly 3 or 6 digits of fraction
    try:
        moment = datetime.fromisoformat(f"{head}{frac or ''}{tz}")
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


# the ids of a response's first blocks, made once
_bytes = orjson.dumps
_TEXT_IDS = tuple(f"text-{n}" for n in range(32))
_REASONING_IDS = tuple(f"reasoning-{n}" for n in range(32))


# the heads of the deltas of the blocks at the first indexes
_HEADS = {bid: delta_head("text-delta", bid) for bid in _TEXT_IDS} | {
    bid: delta_head("reasoning-delta", bid) for bid in _REASONING_IDS
}
# the first generated tool call ids (Vertex streams a call without one), and their deltas' heads
_CALL_IDS = tuple(f"call_{n}" for n in range(32))
_CALL_HEADS = {call_id: delta_head("tool-input-delta", call_id) for call_id in _CALL_IDS}

# the candidate fields _candidate_rest reads, by what it does with them
_META_FIELDS = frozenset(_CANDIDATE_FIELDS)
_SOURCE_FIELDS = frozenset(("groundingMetadata", "citationMetadata"))
_REST_FIELDS = _META_FIELDS | _SOURCE_FIELDS | {"logprobsResult", "finishReason"}
_MORE_FIELDS = _REST_FIELDS - {"finishReason"}  # (besides the usual finish reason)


# --- the normalizer ------------------------------------------------------------------------------


class _Call:
    """A function call whose arguments are being streamed."""

    __slots__ = ("args", "head", "id", "meta", "name")

    def __init__(self, call_id: str, name: str, meta: dict[str, Any]) -> None:
        self.id = call_id
        self.name = name
        self.meta = meta
        self.args = PartialArgs()
        # (see Normalizer.delta_bytes)
        self.head = _CALL_HEADS.get(call_id) or delta_head("tool-input-delta", call_id)


@mypyc_attr(allow_interpreted_subclasses=True)  # (a plugin's normalizer may derive from it)
class GeminiNormalizer(_ServerParts):
    """One Gemini stream: the chunks of one response (or several, by ``responseId``). (Compiled
    by mypyc: a Normalizer by registration, see :mod:`..native_normalizer`.)"""

    def __init__(self, **options: Any) -> None:
        self.warned_candidates = False
        self.ids: set[str] = set()  # tool call ids used in this response
        self.generated: set[str] = set()  # the ids of self.ids that were generated
        self.pending: dict[str, list[str]] = {}  # provider-executed calls waiting for a result, by kind
        self.sources: set[bytes] = set()  # grounding chunks and citations already turned into sources
        self.text: str | None = None  # id of the open text block
        self.reasoning: str | None = None  # id of the open reasoning block
        self.call: _Call | None = None  # the streamed function call open
        self._reset()

    def _reset(self) -> None:
        """Empty the response's state (its blocks and call were ended already)."""
        self.started = False
        self.rid: str | None = None
        self.nblocks = 0
        self.ngenerated = 0
        self.client_calls = 0
        self.finish_raw: str | None = None
        self.finish_meta: dict[str, Any] = {}  # (given to the finish, so a new one each response)
        self.grounding: dict[str, Any] | None = None
        self.usage: dict[str, Any] | None = None
        self.prompt_feedback: dict[str, Any] | None = None
        self.error = False
        # (the sets and the waiting calls are the normalizer's own: emptied, when used)
        if self.ids:
            self.ids.clear()
            self.generated.clear()
        if self.pending:
            self.pending.clear()
        if self.sources:
            self.sources.clear()

    # --- the wire events -----------------------------------------------------------------

    # (returns a list, None, or an event's bytes: Normalizer.delta_bytes; said as Any, since mypyc
    # checks a compiled function's return annotation when it returns)
    def feed(self, data: Any, event: str | None = None) -> Any:
        # The hot path, measured in `make bench`: a chunk of one candidate holding one part, in the
        # response under way. A part that goes on what is open is written here: for the streamed
        # function call a piece of its arguments, a continuation marker or its terminator; text
        # for the text block, a thought for the reasoning block. Any other part goes to its
        # handler as _candidate reads it, and the rest of the candidate (a finish reason, safety
        # ratings) is read as _candidate reads it. Anything else (several parts or candidates, a
        # new response, prompt feedback, an error) takes _feed.
        call = self.call
        try:
            (cand,) = data["candidates"]
            (part,) = cand["content"]["parts"]
            # what goes on the open call, else on the open text or reasoning block (the part is an
            # object: anything else raises here)
            value = part.get("functionCall") if call is not None else part.get("text")
        except (KeyError, TypeError, ValueError, IndexError, AttributeError):
            return self._feed(data)
        rid = self.rid
        if (new := data.get("responseId", rid)) != rid or "promptFeedback" in data:
            if new is not None and rid is not None and "promptFeedback" not in data and not cand.get("index"):
                return self._next_response(data, cand)
            return self._feed(data)
        n = len(cand)
        if n == 1:  # its content alone
            plain = True
        elif cand.get("index"):
            return self._feed(data)
        else:  # its content and index 0 (plain), or more: a finish reason, safety ratings...
            plain = n == 2 and "index" in cand
        out: list[dict[str, Any]] | None
        if call is not None:  # (no text or reasoning block is open beside it)
            if type(value) is dict and len(part) == 1 and not value.get("name"):
                partial = value.get("partialArgs")
                more = value.get("willContinue")
                if partial is None:
                    out = []
                elif delta := call.args.feed(partial):
                    if more and plain and self.delta_bytes:  # (the commonest chunk of all)
                        if type(usage := data.get("usageMetadata")) is dict:
                            self.usage = usage
                        return call.head + _bytes(delta)
                    out = [{"type": "tool-input-delta", "id": call.id, "delta": delta}]
                else:
                    out = []
                if not more:
                    self._end_call(out)
            else:
                out = None
        elif type(value) is str:
            if len(part) == 1:
                bid = self.text
                kind = "text-delta"
            elif len(part) == 2 and part.get("thought") is True:
                bid = self.reasoning
                kind = "reasoning-delta"
            else:
                bid = None
            if bid is None:
                out = None
            elif not value:
                out = []
            elif plain and self.delta_bytes:  # (the loop writes the bytes: Normalizer.delta_bytes)
                if type(usage := data.get("usageMetadata")) is dict:
                    self.usage = usage
                return (_HEADS.get(bid) or delta_head(kind, bid)) + _bytes(value)
            else:
                out = [{"type": kind, "id": bid, "delta": value}]
        else:
            out = None
        if out is None:  # another part (one that opens or ends a block, a call, a signature...)
            if not self.started:
                return self._feed(data)
            out = []
            self._candidate(cand, out)
        elif not plain and not _REST_FIELDS.isdisjoint(cand):
            self._candidate_rest(cand, out, 0)  # (more than the content and index)
        if type(usage := data.get("usageMetadata")) is dict:
            self.usage = usage
        return out

    def _next_response(self, data: dict[str, Any], cand: dict[str, Any]) -> list[dict[str, Any]] | None:
        """The first chunk of the next response, of one candidate (the response under way had an
        id, this one has another), as _feed reads it without its general checks."""
        if type(data["candidates"]) is not list:
            return self._feed(data)
        out: list[dict[str, Any]] = []
        self._end_response(out)
        self._start(data, out)
        self._candidate(cand, out)
        if isinstance(usage := data.get("usageMetadata"), dict):
            self.usage = usage
        return out

    def _feed(self, data: Any) -> list[dict[str, Any]] | None:
        if type(data) is not dict:
            return None
        out: list[dict[str, Any]] = []
        candidates = data.get("candidates")
        if "error" in data and candidates is None:
            return self._on_error(data["error"], out)
        rid = data.get("responseId")
        if (
            self.started
            and rid is not None
            and rid != self.rid
            and (self.rid is not None or self.finish_raw is not None)
        ):
            self._end_response(out)
        if not self.started:
            self._start(data, out)
        if candidates is not None:
            if type(candidates) is not list:
                raise DataError(f"'candidates' is a {type(candidates).__name__}, expected a list")
            for cand in candidates:
                if not isinstance(cand, dict):
                    raise DataError(f"a candidate is a {type(cand).__name__}, expected an object")
                if cand.get("index") or 0:
                    self._other_candidate()
                    continue
                self._candidate(cand, out)
        feedback = data.get("promptFeedback")
        if isinstance(feedback, dict):
            self.prompt_feedback = feedback
        usage = data.get("usageMetadata")
        if isinstance(usage, dict):
            self.usage = usage
        return out

    def close(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if self.started:
            self._end_response(out)
        return out

    # --- response start and end ------------------------------------------------------------

    def _start(self, data: dict[str, Any], out: list[dict[str, Any]]) -> None:
        self.started = True
        rid = data.get("responseId")
        self.rid = rid = rid if isinstance(rid, str) else None
        model = data.get("modelVersion")
        ev: dict[str, Any] = {
            "type": "start",
            "id": rid,
            "model": model if isinstance(model, str) else None,
            "dialect": NAME,
        }
        stamp = data.get("createTime")
        if stamp is not None:
            created = rfc3339_epoch(stamp)
            if created is not None:
                ev["created"] = int(created)
                ev["provider_metadata"] = {NAME: {"create_time": stamp}}
        out.append(ev)

    def _end_response(self, out: list[dict[str, Any]]) -> None:
        if self.call is not None:
            self._end_call(out, complete=False)  # a call still open at the end was cut off
        if self.text is not None or self.reasoning is not None:
            self._end_blocks(out)
        raw: Any = self.finish_raw  # (or the block reason, whatever the wire held)
        feedback = self.prompt_feedback
        if raw is None and isinstance(feedback, dict) and feedback.get("blockReason"):
            raw = feedback["blockReason"]
            reason = "content-filter"
        elif raw is None:
            reason = "error" if self.error else "other"
        else:
            reason = FINISH_REASONS.get(raw, "other")
            if reason == "stop" and self.client_calls:
                reason = "tool-calls"
        fin: dict[str, Any] = {"type": "finish", "finish_reason": reason, "raw_finish_reason": raw}
        meta = self.finish_meta
        if self.usage is not None:
            usage = token_counts(map_usage(self.usage), "usageMetadata")
            if usage:
                fin["usage"] = usage
            meta["usage"] = self.usage
        if self.grounding:
            meta["grounding_metadata"] = self.grounding
        if feedback is not None:
            meta["prompt_feedback"] = feedback
        if meta:
            fin["provider_metadata"] = {NAME: meta}
        out.append(fin)
        self._reset()

    def _on_error(self, err: Any, out: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not self.started:
            self._start({}, out)
        self._end_call(out, complete=False)
        self._end_blocks(out)
        if isinstance(err, dict):
            message = err.get("message") or err.get("status") or "upstream error"
            code = err.get("status") or err.get("code")
            status = err.get("code")
        else:
            message, code, status = str(err), None, None
        ev: dict[str, Any] = {"type": "error", "message": str(message)}
        if code is not None:
            ev["code"] = code
        if isinstance(status, int):
            ev["retryable"] = status == 429 or status >= 500
        ev["provider_metadata"] = {NAME: {"error": err}}
        out.append(ev)
        self.error = True
        return out

    def _other_candidate(self) -> None:
        if not self.warned_candidates:
            from ... import diagnostics

            diagnostics.warn("gemini: only the first candidate is normalized (candidateCount > 1)")
            self.warned_candidates = True

    # --- one candidate ---------------------------------------------------------------------------

    def _candidate(self, cand: dict[str, Any], out: list[dict[str, Any]]) -> None:
        first = len(out)
        content = cand.get("content")
        if isinstance(content, dict):
            parts = content.get("parts")
            if parts is not None:
                if not isinstance(parts, list):
                    raise DataError(f"content.parts is a {type(parts).__name__}, expected a list")
                handlers = _PART_HANDLERS
                for part in parts:
                    if not isinstance(part, dict):
                        raise DataError(f"a part is a {type(part).__name__}, expected an object")
                    for key in part:
                        handler = handlers.get(key)
                        if handler is not None:
                            handler(self, part, out)
                            break
                    else:
                        if part.get("thoughtSignature"):  # a signature alone
                            self._on_text({**part, "text": ""}, out)
        if not _REST_FIELDS.isdisjoint(cand):  # (else the usual: the content and index)
            self._candidate_rest(cand, out, first)

    def _candidate_rest(self, cand: dict[str, Any], out: list[dict[str, Any]], first: int) -> None:
        """What a candidate holds besides its parts, whose events are ``out[first:]`` (called
        when it holds one of _REST_FIELDS)."""
        finish = cand.get("finishReason")
        if isinstance(finish, str):
            self.finish_raw = finish
            if _MORE_FIELDS.isdisjoint(cand):  # (the usual: nothing else)
                return
        logprobs = cand.get("logprobsResult")
        if logprobs:
            for ev in out[first:]:
                if ev["type"] in ("text-delta", "reasoning-delta"):
                    ev["provider_metadata"] = {NAME: {"logprobs_result": logprobs}}
                    break
        if not _META_FIELDS.isdisjoint(cand):
            for key, name in _CANDIDATE_FIELDS.items():
                value = cand.get(key)
                if value is not None:
                    self.finish_meta[name] = value
        if not _SOURCE_FIELDS.isdisjoint(cand):
            grounding = cand.get("groundingMetadata")
            if isinstance(grounding, dict):
                self._grounding(grounding, out)
            citations = cand.get("citationMetadata")
            if isinstance(citations, dict):
                for cite in citations.get("citationSources") or citations.get("citations") or ():
                    if isinstance(cite, dict):
                        self._citation(cite, out)

    # --- blocks ------------------------------------------------------------------------------------

    def _open(self, kind: str, out: list[dict[str, Any]]) -> str:
        if self.call is not None:
            self._end_call(out)
        if self.text is not None or self.reasoning is not None:
            self._end_blocks(out)
        n = self.nblocks
        self.nblocks = n + 1
        if kind == "text":
            bid = self.text = _TEXT_IDS[n] if n < 32 else f"text-{n}"
            out.append({"type": "text-start", "id": bid})
        else:
            bid = self.reasoning = _REASONING_IDS[n] if n < 32 else f"reasoning-{n}"
            out.append({"type": "reasoning-start", "id": bid})
        return bid

    def _end_blocks(self, out: list[dict[str, Any]], signature: Any = None) -> None:
        if self.text is not None:
            ev: dict[str, Any] = {"type": "text-end", "id": self.text}
            self.text = None
        elif self.reasoning is not None:
            ev = {"type": "reasoning-end", "id": self.reasoning}
            self.reasoning = None
        else:
            return
        if signature:
            ev["provider_metadata"] = {NAME: {"thought_signature": signature}}
        out.append(ev)

    # --- parts, one handler each (see _PART_HANDLERS) ------------------------------------------

    def _on_text(self, part: dict[str, Any], out: list[dict[str, Any]]) -> None:
        text = part.get("text")
        thought = part.get("thought") is True
        signature = part.get("thoughtSignature")
        if text is not None and not isinstance(text, str):
            raise DataError(f"a part's text is a {type(text).__name__}, expected a string")
        if thought:
            bid = self.reasoning
            if text:
                bid = bid or self._open("reasoning", out)
                out.append({"type": "reasoning-delta", "id": bid, "delta": text})
            if signature:
                if bid is None:
                    self._open("reasoning", out)
                self._end_blocks(out, signature)
            return
        bid = self.text
        if text:
            bid = bid or self._open("text", out)
            out.append({"type": "text-delta", "id": bid, "delta": text})
        if signature:
            if bid is None:
                self._open("text", out)
            self._end_blocks(out, signature)

    def _new_id(self, given: Any) -> tuple[str, bool]:
        """The call's id: the provider's, or a generated ``call_N`` (and whether it was generated)."""
        if isinstance(given, str) and given:
            self.ids.add(given)
            return given, False
        while True:
            n = self.ngenerated
            prefix = self.call_id_prefix
            candidate = _CALL_IDS[n] if n < 32 and prefix == "call_" else f"{prefix}{n}"
            self.ngenerated = n + 1
            if candidate not in self.ids:
                self.ids.add(candidate)
                self.generated.add(candidate)
                return candidate, True

    def _call_meta(self, part: dict[str, Any], generated: bool, **extra: Any) -> dict[str, Any]:
        meta: dict[str, Any] = dict(extra)
        if part.get("thoughtSignature"):
            meta["thought_signature"] = part["thoughtSignature"]
        if generated:
            meta["generated_id"] = True
        return meta

    def _on_function_call(self, part: dict[str, Any], out: list[dict[str, Any]]) -> None:
        fc = part["functionCall"]
        if not isinstance(fc, dict):
            raise DataError(f"functionCall is a {type(fc).__name__}, expected an object")
        name = fc.get("name")
        if name:
            wire_string(name, "functionCall.name")
        more = bool(fc.get("willContinue"))
        partial = fc.get("partialArgs")
        call = self.call
        if call is not None and name:
            self._end_call(out)  # a new call starts without the last one's terminator
            call = None
        if call is None and name:
            if self.text is not None or self.reasoning is not None:
                self._end_blocks(out)
            call_id, generated = self._new_id(fc.get("id"))
            signature = part.get("thoughtSignature")
            meta: dict[str, Any] = {"thought_signature": signature} if signature else {}
            if generated:
                meta["generated_id"] = True
            self.client_calls += 1
            if not more and partial is None:  # the whole call in one part
                args = fc.get("args")
                arguments = args if isinstance(args, str) else _dumps(args if args is not None else {})
                self._whole_call(call_id, name, arguments, meta, out)
                return
            call = self.call = _Call(call_id, name, meta)
            out.append({"type": "tool-input-start", "id": call_id, "tool_name": name})
        elif call is None:
            if partial is None:
                return  # a terminator or continuation marker with no call open
            self._end_blocks(out)  # arguments with no call opened: a call with no name
            call_id, generated = self._new_id(fc.get("id"))
            call = self.call = _Call(call_id, "", self._call_meta(part, generated))
            self.client_calls += 1
            out.append({"type": "tool-input-start", "id": call_id, "tool_name": ""})
        elif part.get("thoughtSignature"):
            call.meta["thought_signature"] = part["thoughtSignature"]
        if partial is not None:
            delta = call.args.feed(partial)
            if delta:
                out.append({"type": "tool-input-delta", "id": call.id, "delta": delta})
        if not more:
            self._end_call(out)

    def _end_call(self, out: list[dict[str, Any]], complete: bool = True) -> None:
        call = self.call
        if call is None:
            return
        self.call = None
        tail, arguments = call.args.close(complete)
        call_id = call.id
        if tail:
            out.append({"type": "tool-input-delta", "id": call_id, "delta": tail})
        out.append({"type": "tool-input-end", "id": call_id})
        ev = tool_call(call_id, call.name, arguments)
        if call.meta:
            ev["provider_metadata"] = {NAME: call.meta}
        out.append(ev)


# part key -> handler; the first key of a part that has one decides (thoughtSignature and thought
# are modifiers, read by the handlers)
_PART_HANDLERS: dict[str, Any] = {
    "text": GeminiNormalizer._on_text,
    "functionCall": GeminiNormalizer._on_function_call,
    "executableCode": GeminiNormalizer._on_executable_code,
    "codeExecutionResult": GeminiNormalizer._on_code_execution_result,
    "toolCall": GeminiNormalizer._on_tool_call,
    "toolResponse": GeminiNormalizer._on_tool_response,
    "inlineData": GeminiNormalizer._on_inline_data,
    "fileData": GeminiNormalizer._on_file_data,
}
