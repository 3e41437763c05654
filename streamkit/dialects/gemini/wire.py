"""Google Gemini ``streamGenerateContent``, both ways.

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
    ``toolType`` in lower case, ``input`` its ``args``) / ``tool-result`` (``output`` its
    ``response``); the ``toolType`` is kept in ``provider_metadata``.
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

``render -f gemini`` writes ``alt=sse`` events holding chunks ``{"candidates": [{"content":
{"role": "model", "parts": [...]}, "index": 0}], "modelVersion", "responseId"}``, one part each,
the last chunk with ``finishReason``, ``usageMetadata``, ``groundingMetadata`` (sources),
``citationMetadata`` and ``safetyRatings``. Tool calls are whole ``functionCall`` parts, with
the call's id unless normalize generated it; one whose arguments are not a JSON object (cut off,
or invalid) cannot be a whole call, and is written as a streamed call that never completes (its
text as an unterminated string value), which normalizes back to a call with invalid arguments.
Code execution and server-side tools that came from Gemini go back as their parts; other
providers' executed tools, choices other than the first, and sources with neither URL nor title
are dropped with a warning; a refusal is written as text, with a warning. A later response with no id, or with the id of one already written,
gets one of its own (``response-N``, ``<id>-N``), so that the chunks of two responses do not read
as one. An error is an ``{"error": {...}}`` chunk; one that comes before its response's events
(``accumulate --final`` writes it before the message) is written inside that response. The
``model`` option names the model of every response (``serve`` passes the one in the request's
path, so that ``modelVersion`` echoes it).

Requests (``fetch``, ``agent``): ``POST {base}/v1beta/models/{model}:streamGenerateContent?alt=sse``
(base ``--base-url``, ``GEMINI_BASE_URL``, ``GOOGLE_GEMINI_BASE_URL``, default
``https://generativelanguage.googleapis.com``; a base whose path already names an API version,
``.../v1`` or a Vertex AI ``.../v1/projects/P/locations/L/publishers/google``, gets no ``/v1beta``;
``models/x`` and ``tunedModels/x`` are taken as they are). The key (``GEMINI_API_KEY``, then
``GOOGLE_API_KEY``) goes in the ``x-goog-api-key`` header, never in the URL. The body:

* ``contents``: user turns (text, ``inlineData`` for base64 files, ``fileData`` for URLs and
  ``gs://`` URIs), ``model`` turns given back as Gemini sent them: text, thoughts (``thought:
  true``), ``functionCall`` (``name``, ``args`` an object, ``id`` unless normalize made it up),
  Gemini's executed tools (``executableCode`` / ``codeExecutionResult``, ``toolCall`` /
  ``toolResponse``) and files, each ``thoughtSignature`` on the kind of part it came on (a
  signature-only empty part included: Gemini 3 rejects a continuation that drops the one on a
  function call; a current-turn step whose first call has none, another model's or one written by
  hand, gets the documented ``skip_thought_signature_validator`` when the model is Gemini 3 or
  later). Another provider's reasoning goes as thought text; its executed tools cannot
  be sent (a warning); sources are not sent back. The tool messages that follow a turn are one
  ``user`` turn of ``functionResponse`` parts: ``name`` (the message's, else the call's), the
  call's ``id`` when it was sent with one, ``response`` an object: an object output as it is,
  another output as ``{"result": output}``, a failed tool's as ``{"error": output}``.
* ``systemInstruction`` from the system prompt and system messages.
* ``tools``: ``[{"functionDeclarations": [{name, description, parameters}]}]`` (a top-level
  ``$schema`` removed; an object schema with no properties left out, which Gemini refuses); a
  ``tools`` option (Gemini's own: ``googleSearch``, ``codeExecution``, ...) is added after them.
* ``generationConfig``: ``max_tokens`` → ``maxOutputTokens``, ``temperature``, ``top_p`` →
  ``topP``, ``stop`` → ``stopSequences`` (a string becomes a list), ``seed``, and any option
  that names a generation setting in camelCase or snake_case (``top_k``, ``thinkingConfig``);
  a ``generationConfig`` option is merged in. ``safety_settings`` / ``tool_config`` /
  ``cached_content`` (either spelling) and any other option go at the top level of the body.

A native body (``--body``) is sent as it is; a ``model`` key in it (no field of Gemini's) names
the model and is taken out. ``serve`` answers on ``/v1beta/models/{model}:streamGenerateContent``
and ``/v1/models/{model}:streamGenerateContent``. Gemini keeps no state: every request carries
the whole conversation.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from ..canonical import message_to_events, parse_arguments
from ..errors import DataError, UsageError
from .base import Dialect, Encoder, Endpoint, Normalizer, Request, WireEvent

NAME = "gemini"

FINISH_REASONS = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content-filter",
    "RECITATION": "content-filter",
    "BLOCKLIST": "content-filter",
    "PROHIBITED_CONTENT": "content-filter",
    "SPII": "content-filter",
    "IMAGE_SAFETY": "content-filter",
    "IMAGE_PROHIBITED_CONTENT": "content-filter",
    "IMAGE_RECITATION": "content-filter",
    "MALFORMED_FUNCTION_CALL": "error",
}

# canonical finish reason -> what Gemini writes for it (error and a cut-off stream: none)
WIRE_FINISH_REASONS = {
    "stop": "STOP",
    "tool-calls": "STOP",
    "length": "MAX_TOKENS",
    "content-filter": "SAFETY",
}

# candidate fields kept in finish.provider_metadata, under these names
_CANDIDATE_FIELDS = {
    "safetyRatings": "safety_ratings",
    "urlContextMetadata": "url_context_metadata",
    "finishMessage": "finish_message",
    "avgLogprobs": "avg_logprobs",
}

CODE_EXECUTION = "code_execution"


def map_usage(usage: dict[str, Any]) -> dict[str, Any]:
    """Gemini ``usageMetadata`` → canonical usage (fields Gemini did not send are left out)."""
    out: dict[str, Any] = {}
    if usage.get("promptTokenCount") is not None:
        out["input_tokens"] = usage["promptTokenCount"]
    candidates = usage.get("candidatesTokenCount")
    thoughts = usage.get("thoughtsTokenCount")
    if candidates is not None or thoughts is not None:
        out["output_tokens"] = (candidates or 0) + (thoughts or 0)
    if usage.get("totalTokenCount") is not None:
        out["total_tokens"] = usage["totalTokenCount"]
    if usage.get("cachedContentTokenCount") is not None:
        out["cached_input_tokens"] = usage["cachedContentTokenCount"]
    if thoughts is not None:
        out["reasoning_tokens"] = thoughts
    return out


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


def rfc3339_epoch(timestamp: Any) -> float | None:
    """An RFC 3339 timestamp (``2026-05-04T20:01:02.264968Z``) → epoch seconds, or None."""
    if not isinstance(timestamp, str):
        return None
    text = timestamp.strip().replace("Z", "+00:00").replace("z", "+00:00")
    match = re.match(r"^(.*T\d\d:\d\d:\d\d)(\.\d+)?(.*)$", text)
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


def _dumps(value: Any) -> str:
    from orjson import dumps

    return dumps(value).decode()


# --- streamed function-call arguments ----------------------------------------------------------

_PATH_TOKEN = re.compile(
    r"\.([^.\[\]]+)|\[(\d+)\]|\[\s*'((?:[^'\\]|\\.)*)'\s*\]|\[\s*\"((?:[^\"\\]|\\.)*)\"\s*\]"
)


def parse_json_path(path: str) -> list[str | int]:
    """``$.recipe.ingredients[0].name`` → ``["recipe", "ingredients", 0, "name"]``."""
    if not isinstance(path, str) or not path.startswith("$"):
        raise DataError(f"partialArgs jsonPath {path!r} does not start with '$'")
    segments: list[str | int] = []
    pos = 1
    while pos < len(path):
        match = _PATH_TOKEN.match(path, pos)
        if match is None:
            raise DataError(f"cannot read the partialArgs jsonPath {path!r} at character {pos}")
        key, index, single, double = match.groups()
        if index is not None:
            segments.append(int(index))
        else:
            segments.append(key if key is not None else (single if single is not None else double))
        pos = match.end()
    return segments


class _Level:
    """An open container of the JSON text being written."""

    __slots__ = ("count", "is_array", "keys", "segment")

    def __init__(self, segment: str | int | None, is_array: bool) -> None:
        self.segment = segment
        self.is_array = is_array
        self.count = 0
        self.keys: set[str] = set()


class PartialArgs:
    """Vertex's ``partialArgs`` (values addressed by JSON path) → the arguments' JSON text, in order.

    ``feed`` returns the JSON text the new values add (a ``tool-input-delta``); ``close`` the text
    that ends it and the whole arguments. The object assembled from every path is kept alongside,
    so that arguments whose paths arrive out of document order still come out right (the deltas
    stop at the first such path).
    """

    def __init__(self) -> None:
        self.tree: dict[str, Any] = {}
        self.stack: list[_Level] = []  # open containers, the root object first
        self.open_string: tuple[str | int, ...] | None = None  # path of the string being written
        self.closed: set[tuple[str | int, ...]] = set()  # containers already ended
        self.frags: list[str] = []
        self.in_order = True

    def feed(self, partial_args: Any) -> str:
        if not isinstance(partial_args, list):
            raise DataError(f"functionCall.partialArgs is a {type(partial_args).__name__}, expected a list")
        out: list[str] = []
        for arg in partial_args:
            if not isinstance(arg, dict):
                raise DataError(f"a partialArgs entry is a {type(arg).__name__}, expected an object")
            self._arg(arg, out)
        text = "".join(out)
        if not self.in_order:
            return ""
        self.frags.append(text)
        return text

    def close(self, complete: bool = True) -> tuple[str, str]:
        """The text that ends the JSON (closing quote and brackets), and the whole arguments.

        With ``complete`` false (the stream was cut off inside the call) nothing is added: the
        arguments are the text received so far, which is not valid JSON.
        """
        if not self.in_order:
            return "", _dumps(self.tree)
        if not complete:
            return "", "".join(self.frags)
        out: list[str] = []
        if self.open_string is not None:
            out.append('"')
            self.open_string = None
        if not self.stack:
            out.append("{}")
        while self.stack:
            out.append("]" if self.stack.pop().is_array else "}")
        text = "".join(out)
        self.frags.append(text)
        return text, "".join(self.frags)

    def _arg(self, arg: dict[str, Any], out: list[str]) -> None:
        segments = parse_json_path(arg.get("jsonPath", ""))
        if not segments:
            return  # the root itself: nothing to place
        path = tuple(segments)
        more = bool(arg.get("willContinue"))
        if "stringValue" in arg and arg["stringValue"] is not None:
            value: Any = str(arg["stringValue"])
            if self.open_string == path:  # the string being written goes on
                self._set(segments, value, append=True)
                out.append(_dumps(value)[1:-1])
                if not more:
                    out.append('"')
                    self.open_string = None
                return
            json_text = _dumps(value)
            if more:
                json_text = json_text[:-1]  # the closing quote comes when the string ends
        elif "numberValue" in arg and arg["numberValue"] is not None:
            value = arg["numberValue"]
            json_text = _dumps(value)
        elif "boolValue" in arg and arg["boolValue"] is not None:
            value = bool(arg["boolValue"])
            json_text = _dumps(value)
        elif "nullValue" in arg:
            value = None
            json_text = "null"
        else:
            return  # no value: a continuation marker
        appended = self._set(segments, value, append="stringValue" in arg)
        if appended:  # more of a string whose end was already written: out of order
            self.in_order = False
        if not self.in_order:
            return
        if self.open_string is not None:
            out.append('"')
            self.open_string = None
        if not self._navigate(segments, out):
            self.in_order = False
            return
        out.append(json_text)
        if "stringValue" in arg and more:
            self.open_string = path

    def _navigate(self, segments: list[str | int], out: list[str]) -> bool:
        """Write the text from the current position to the new leaf's key; False if out of order."""
        if not self.stack:
            self.stack.append(_Level(None, False))
            out.append("{")
        container = segments[:-1]
        common = 0
        while (
            common < len(container)
            and common + 1 < len(self.stack)
            and self.stack[common + 1].segment == container[common]
        ):
            common += 1
        # end the containers the new path leaves
        path_of_stack = [lvl.segment for lvl in self.stack[1:] if lvl.segment is not None]
        while len(self.stack) > common + 1:
            level = self.stack.pop()
            self.closed.add(tuple(path_of_stack[: len(self.stack)]))
            out.append("]" if level.is_array else "}")
        # open the containers it enters
        for depth in range(common, len(container)):
            if tuple(container[: depth + 1]) in self.closed:
                return False
            if not self._key(self.stack[-1], container[depth], out):
                return False
            child = container[depth + 1] if depth + 1 < len(container) else segments[-1]
            is_array = isinstance(child, int)
            out.append("[" if is_array else "{")
            self.stack.append(_Level(container[depth], is_array))
        return self._key(self.stack[-1], segments[-1], out)

    @staticmethod
    def _key(level: _Level, segment: str | int, out: list[str]) -> bool:
        if level.is_array:
            if segment != level.count:  # arrays are written index after index
                return False
        else:
            if not isinstance(segment, str) or segment in level.keys:
                return False
            level.keys.add(segment)
        if level.count:
            out.append(",")
        level.count += 1
        if isinstance(segment, str):
            out.append(_dumps(segment) + ":")
        return True

    def _set(self, segments: list[str | int], value: Any, *, append: bool) -> bool:
        """Place a value in the tree; True when it extended a string already there."""
        node: Any = self.tree
        for depth, segment in enumerate(segments[:-1]):
            child_is_array = isinstance(segments[depth + 1], int)
            node = self._child(node, segment, [] if child_is_array else {})
        leaf = segments[-1]
        if isinstance(node, list):
            if not isinstance(leaf, int):
                raise DataError("partialArgs: a key inside an array")
            while len(node) <= leaf:
                node.append(None)
            if append and isinstance(node[leaf], str):
                node[leaf] += value
                return True
            node[leaf] = value
            return False
        if not isinstance(node, dict) or not isinstance(leaf, str):
            raise DataError("partialArgs: an index inside an object")
        if append and isinstance(node.get(leaf), str):
            node[leaf] += value
            return True
        node[leaf] = value
        return False

    @staticmethod
    def _child(node: Any, segment: str | int, empty: Any) -> Any:
        if isinstance(node, list):
            if not isinstance(segment, int):
                raise DataError("partialArgs: a key inside an array")
            while len(node) <= segment:
                node.append(None)
            if node[segment] is None:
                node[segment] = empty
            return node[segment]
        if not isinstance(node, dict) or not isinstance(segment, str):
            raise DataError("partialArgs: an index inside an object")
        if node.get(segment) is None:
            node[segment] = empty
        return node[segment]


# --- the normalizer ------------------------------------------------------------------------------


class _Call:
    """A function call whose arguments are being streamed."""

    __slots__ = ("args", "id", "meta", "name")

    def __init__(self, call_id: str, name: str, meta: dict[str, Any]) -> None:
        self.id = call_id
        self.name = name
        self.meta = meta
        self.args = PartialArgs()


class GeminiNormalizer(Normalizer):
    """One Gemini stream: the chunks of one response (or several, by ``responseId``)."""

    def __init__(self, **options: Any) -> None:
        self.warned_candidates = False
        self._reset()

    def _reset(self) -> None:
        self.started = False
        self.rid: str | None = None
        self.start_event: dict[str, Any] = {"type": "start", "id": None, "model": None, "dialect": NAME}
        self.start_meta: dict[str, Any] = {}
        self.text: str | None = None  # id of the open text block
        self.reasoning: str | None = None  # id of the open reasoning block
        self.nblocks = 0
        self.call: _Call | None = None  # the streamed function call open
        self.ids: set[str] = set()  # tool call ids used in this response
        self.ngenerated = 0
        self.client_calls = 0
        self.generated: set[str] = set()  # the ids of self.ids that were generated
        self.pending: dict[str, list[str]] = {}  # provider-executed calls waiting for a result, by kind
        self.finish_raw: str | None = None
        self.finish_meta: dict[str, Any] = {}
        self.grounding: dict[str, Any] | None = None
        self.usage: dict[str, Any] | None = None
        self.prompt_feedback: dict[str, Any] | None = None
        self.error = False
        self.sources: set[bytes] = set()  # grounding chunks and citations already turned into sources

    # --- the wire events -----------------------------------------------------------------

    def feed(self, data: Any, event: str | None = None) -> list[dict[str, Any]] | None:
        # The hot path, measured in `make bench`: a chunk of one candidate holding one text part,
        # written into the text block already open.
        bid = self.text
        if bid is not None:
            try:
                (cand,) = data["candidates"]
                (part,) = cand["content"]["parts"]
                text = part["text"]
            except (KeyError, TypeError, ValueError, IndexError):
                return self._feed(data)
            n = len(cand)
            rid = data.get("responseId")
            if (
                len(part) == 1
                and type(text) is str
                and (n == 1 or (n == 2 and cand.get("index") == 0))
                and (rid is None or rid == self.rid)
                and "promptFeedback" not in data
            ):
                usage = data.get("usageMetadata")
                if usage is not None:
                    self.usage = usage
                return [{"type": "text-delta", "id": bid, "delta": text}] if text else []
        return self._feed(data)

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
            out.extend(self._end_response())
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
        if not self.started:
            return []
        return self._end_response()

    # --- response start and end ------------------------------------------------------------

    def _start(self, data: dict[str, Any], out: list[dict[str, Any]]) -> None:
        self.started = True
        ev = self.start_event
        rid = data.get("responseId")
        self.rid = rid if isinstance(rid, str) else None
        ev["id"] = self.rid
        if isinstance(data.get("modelVersion"), str):
            ev["model"] = data["modelVersion"]
        created = rfc3339_epoch(data.get("createTime"))
        if created is not None:
            ev["created"] = int(created)
            self.start_meta["create_time"] = data["createTime"]
        if self.start_meta:
            ev["provider_metadata"] = {NAME: self.start_meta}
        out.append(ev)

    def _end_response(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        self._end_call(out, complete=False)  # a call still open at the end was cut off
        self._end_blocks(out)
        raw = self.finish_raw
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
        meta = dict(self.finish_meta)
        if self.usage is not None:
            usage = map_usage(self.usage)
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
        return out

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
            from .. import diagnostics

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
        logprobs = cand.get("logprobsResult")
        if logprobs:
            for ev in out[first:]:
                if ev["type"] in ("text-delta", "reasoning-delta"):
                    ev["provider_metadata"] = {NAME: {"logprobs_result": logprobs}}
                    break
        finish = cand.get("finishReason")
        if isinstance(finish, str):
            self.finish_raw = finish
        for key, name in _CANDIDATE_FIELDS.items():
            value = cand.get(key)
            if value is not None:
                self.finish_meta[name] = value
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
        self._end_call(out)
        self._end_blocks(out)
        bid = f"{kind}-{self.nblocks}"
        self.nblocks += 1
        out.append({"type": f"{kind}-start", "id": bid})
        if kind == "text":
            self.text = bid
        else:
            self.reasoning = bid
        return bid

    def _end_blocks(self, out: list[dict[str, Any]], signature: str | None = None) -> None:
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
            candidate = f"call_{self.ngenerated}"
            self.ngenerated += 1
            if candidate not in self.ids:
                self.ids.add(candidate)
                self.generated.add(candidate)
                return candidate, True

    def _result_id(self, kind: str, given: Any) -> str:
        """The id of the call a provider-executed result answers: its own, else the oldest waiting."""
        pending = self.pending.get(kind) or []
        if isinstance(given, str) and given in pending:
            pending.remove(given)
            return given
        if pending:
            return pending.pop(0)
        return self._new_id(given)[0]

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
        more = bool(fc.get("willContinue"))
        partial = fc.get("partialArgs")
        call = self.call
        if call is not None and name:
            self._end_call(out)  # a new call starts without the last one's terminator
            call = None
        if call is None and name:
            self._end_blocks(out)
            call_id, generated = self._new_id(fc.get("id"))
            meta = self._call_meta(part, generated)
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

    def _whole_call(
        self,
        call_id: str,
        name: str,
        arguments: str,
        meta: dict[str, Any],
        out: list[dict[str, Any]],
        *,
        executed: bool = False,
    ) -> None:
        start: dict[str, Any] = {"type": "tool-input-start", "id": call_id, "tool_name": name}
        if executed:
            start["provider_executed"] = True
        out.append(start)
        if arguments:
            out.append({"type": "tool-input-delta", "id": call_id, "delta": arguments})
        out.append({"type": "tool-input-end", "id": call_id})
        out.append(self._tool_call(call_id, name, arguments, meta, executed=executed))

    @staticmethod
    def _tool_call(
        call_id: str, name: str, arguments: str, meta: dict[str, Any], *, executed: bool = False
    ) -> dict[str, Any]:
        value, err = parse_arguments(arguments)
        ev: dict[str, Any] = {
            "type": "tool-call",
            "tool_call_id": call_id,
            "tool_name": name,
            "arguments": arguments,
            "input": value,
        }
        if err:
            ev["input_error"] = err
        if executed:
            ev["provider_executed"] = True
        if meta:
            ev["provider_metadata"] = {NAME: meta}
        return ev

    def _end_call(self, out: list[dict[str, Any]], complete: bool = True) -> None:
        call = self.call
        if call is None:
            return
        self.call = None
        tail, arguments = call.args.close(complete)
        if tail:
            out.append({"type": "tool-input-delta", "id": call.id, "delta": tail})
        out.append({"type": "tool-input-end", "id": call.id})
        out.append(self._tool_call(call.id, call.name, arguments, call.meta))

    def _on_executable_code(self, part: dict[str, Any], out: list[dict[str, Any]]) -> None:
        code = part["executableCode"]
        if not isinstance(code, dict):
            raise DataError(f"executableCode is a {type(code).__name__}, expected an object")
        self._end_call(out)
        self._end_blocks(out)
        call_id, generated = self._new_id(code.get("id"))
        self.pending.setdefault(CODE_EXECUTION, []).append(call_id)
        value = {k: code[k] for k in ("language", "code") if code.get(k) is not None}
        meta = self._call_meta(part, generated)
        self._whole_call(call_id, CODE_EXECUTION, _dumps(value), meta, out, executed=True)

    def _on_code_execution_result(self, part: dict[str, Any], out: list[dict[str, Any]]) -> None:
        result = part["codeExecutionResult"]
        if not isinstance(result, dict):
            raise DataError(f"codeExecutionResult is a {type(result).__name__}, expected an object")
        self._end_call(out)
        self._end_blocks(out)
        call_id = self._result_id(CODE_EXECUTION, result.get("id"))
        output = {k: result[k] for k in ("outcome", "output") if result.get(k) is not None}
        ev: dict[str, Any] = {
            "type": "tool-result",
            "tool_call_id": call_id,
            "tool_name": CODE_EXECUTION,
            "output": output,
            "is_error": result.get("outcome") not in (None, "OUTCOME_OK"),
            "provider_executed": True,
        }
        meta = self._call_meta(part, call_id in self.generated)
        if meta:
            ev["provider_metadata"] = {NAME: meta}
        out.append(ev)

    def _on_tool_call(self, part: dict[str, Any], out: list[dict[str, Any]]) -> None:
        call = part["toolCall"]
        if not isinstance(call, dict):
            raise DataError(f"toolCall is a {type(call).__name__}, expected an object")
        self._end_call(out)
        self._end_blocks(out)
        tool_type = call.get("toolType")
        call_id, generated = self._new_id(call.get("id"))
        self.pending.setdefault(f"tool:{tool_type}", []).append(call_id)
        meta = self._call_meta(part, generated, tool_type=tool_type)
        name = str(tool_type).lower() if tool_type else "tool"
        args = call.get("args")
        self._whole_call(call_id, name, _dumps(args if args is not None else {}), meta, out, executed=True)

    def _on_tool_response(self, part: dict[str, Any], out: list[dict[str, Any]]) -> None:
        response = part["toolResponse"]
        if not isinstance(response, dict):
            raise DataError(f"toolResponse is a {type(response).__name__}, expected an object")
        self._end_call(out)
        self._end_blocks(out)
        tool_type = response.get("toolType")
        call_id = self._result_id(f"tool:{tool_type}", response.get("id"))
        meta = self._call_meta(part, call_id in self.generated, tool_type=tool_type)
        ev: dict[str, Any] = {
            "type": "tool-result",
            "tool_call_id": call_id,
            "tool_name": str(tool_type).lower() if tool_type else "tool",
            "output": response.get("response") if response.get("response") is not None else {},
            "is_error": False,
            "provider_executed": True,
            "provider_metadata": {NAME: meta},
        }
        out.append(ev)

    def _on_inline_data(self, part: dict[str, Any], out: list[dict[str, Any]]) -> None:
        blob = part["inlineData"]
        if not isinstance(blob, dict):
            raise DataError(f"inlineData is a {type(blob).__name__}, expected an object")
        self._file(part, blob.get("mimeType"), blob.get("data"), out)

    def _on_file_data(self, part: dict[str, Any], out: list[dict[str, Any]]) -> None:
        ref = part["fileData"]
        if not isinstance(ref, dict):
            raise DataError(f"fileData is a {type(ref).__name__}, expected an object")
        self._file(part, ref.get("mimeType"), ref.get("fileUri"), out, uri=True)

    def _file(
        self, part: dict[str, Any], mime: Any, data: Any, out: list[dict[str, Any]], *, uri: bool = False
    ) -> None:
        self._end_call(out)
        self._end_blocks(out)
        ev: dict[str, Any] = {
            "type": "file",
            "media_type": mime if isinstance(mime, str) else "application/octet-stream",
            "data": data if isinstance(data, str) else "",
        }
        meta: dict[str, Any] = {}
        if uri:
            meta["file_uri"] = True
        if part.get("thought") is True:
            meta["thought"] = True
        if part.get("thoughtSignature"):
            meta["thought_signature"] = part["thoughtSignature"]
        if meta:
            ev["provider_metadata"] = {NAME: meta}
        out.append(ev)

    # --- grounding and citations -------------------------------------------------------------------

    def _grounding(self, grounding: dict[str, Any], out: list[dict[str, Any]]) -> None:
        for chunk in grounding.get("groundingChunks") or ():
            if isinstance(chunk, dict):
                self._grounding_chunk(chunk, out)
        rest = {k: v for k, v in grounding.items() if k != "groundingChunks"}
        if rest:
            self.grounding = {**(self.grounding or {}), **rest}

    def _seen(self, value: Any) -> bool:
        from orjson import OPT_SORT_KEYS, dumps

        key = dumps(value, option=OPT_SORT_KEYS)
        if key in self.sources:
            return True
        self.sources.add(key)
        return False

    def _grounding_chunk(self, chunk: dict[str, Any], out: list[dict[str, Any]]) -> None:
        if self._seen(chunk):
            return
        for kind in ("web", "maps", "image", "retrievedContext"):
            body = chunk.get(kind)
            if isinstance(body, dict):
                break
        else:
            return
        uri = body.get("uri")
        meta: dict[str, Any] = {"grounding_chunk": kind}
        meta.update({k: v for k, v in body.items() if k not in ("uri", "title")})
        if isinstance(uri, str) and uri.startswith(("http://", "https://")):
            self._source("url", uri, body.get("title"), meta, out)
        else:
            if uri is not None:
                meta["uri"] = uri
            title = body.get("title") or body.get("documentName")
            filename = uri.rsplit("/", 1)[-1] if isinstance(uri, str) and uri else None
            self._source("document", None, title, meta, out, filename=filename)

    def _citation(self, cite: dict[str, Any], out: list[dict[str, Any]]) -> None:
        uri = cite.get("uri")
        if not isinstance(uri, str) or not uri or self._seen({"citation": cite}):
            return
        meta: dict[str, Any] = {"citation": {k: v for k, v in cite.items() if k not in ("uri", "title")}}
        kind = "url" if uri.startswith(("http://", "https://")) else "document"
        if kind == "document":
            meta["uri"] = uri
        self._source(kind, uri if kind == "url" else None, cite.get("title"), meta, out)

    def _source(
        self,
        kind: str,
        url: str | None,
        title: Any,
        meta: dict[str, Any],
        out: list[dict[str, Any]],
        *,
        filename: str | None = None,
    ) -> None:
        ev: dict[str, Any] = {"type": "source", "source_type": kind, "id": f"src-{len(self.sources) - 1}"}
        if url:
            ev["url"] = url
        if isinstance(title, str) and title:
            ev["title"] = title
        if filename:
            ev["filename"] = filename
        ev["provider_metadata"] = {NAME: meta}
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


# --- parts written back (by the encoder, and in the model turns of a request) --------------------


def executed_call_part(
    ev: dict[str, Any], value: Any, meta: dict[str, Any], code_ids: dict[str, str | None]
) -> dict[str, Any] | None:
    """A provider-executed call that came from Gemini as its part (``toolCall`` for a server-side
    tool, ``executableCode`` for code execution), or None for another provider's executed tool.
    ``code_ids`` (canonical call id → ``executableCode`` id) is filled for the results that follow."""
    part: dict[str, Any]
    if meta.get("tool_type"):
        call: dict[str, Any] = {"toolType": meta["tool_type"]}
        if value:
            call["args"] = value
        if not meta.get("generated_id"):
            call["id"] = ev["tool_call_id"]
        part = {"toolCall": call}
    elif ev.get("tool_name") == CODE_EXECUTION and isinstance(value, dict) and "code" in value:
        code: dict[str, Any] = {"language": value.get("language") or "PYTHON", "code": value["code"]}
        code_id = None if meta.get("generated_id") else ev["tool_call_id"]
        if code_id:
            code["id"] = code_id
        code_ids[ev["tool_call_id"]] = code_id
        part = {"executableCode": code}
    else:
        return None
    if meta.get("thought_signature"):
        part["thoughtSignature"] = meta["thought_signature"]
    return part


def executed_result_part(ev: dict[str, Any], code_ids: dict[str, str | None]) -> dict[str, Any] | None:
    """A provider-executed result as its Gemini part (``toolResponse`` / ``codeExecutionResult``),
    or None for another provider's executed tool."""
    meta = (ev.get("provider_metadata") or {}).get(NAME) or {}
    output = ev.get("output")
    part: dict[str, Any]
    if meta.get("tool_type"):
        response: dict[str, Any] = {"toolType": meta["tool_type"]}
        if not meta.get("generated_id"):
            response["id"] = ev["tool_call_id"]
        if output:
            response["response"] = output if isinstance(output, dict) else {"output": output}
        part = {"toolResponse": response}
    elif ev.get("tool_call_id") in code_ids or ev.get("tool_name") == CODE_EXECUTION:
        if isinstance(output, dict) and ("outcome" in output or "output" in output):
            result: dict[str, Any] = {k: output[k] for k in ("outcome", "output") if k in output}
        else:
            text = output if isinstance(output, str) else _dumps(output)
            result = {"outcome": "OUTCOME_FAILED" if ev.get("is_error") else "OUTCOME_OK", "output": text}
        if not meta.get("generated_id") and code_ids.get(ev.get("tool_call_id")):  # type: ignore[arg-type]
            result["id"] = ev["tool_call_id"]
        part = {"codeExecutionResult": result}
    else:
        return None
    if meta.get("thought_signature"):
        part["thoughtSignature"] = meta["thought_signature"]
    return part


def file_part(ev: dict[str, Any]) -> dict[str, Any]:
    """A file (event or part) as ``fileData`` (a URL: the part's ``url``, or a URI in ``data``) or
    ``inlineData`` (base64 ``data``), with its thought mark and signature."""
    meta = (ev.get("provider_metadata") or {}).get(NAME) or {}
    data = ev.get("data") or ""
    url = ev.get("url")
    mime = ev.get("media_type") or "application/octet-stream"
    part: dict[str, Any]
    if url or meta.get("file_uri") or data.startswith(("http://", "https://", "gs://")):
        part = {"fileData": {"mimeType": mime, "fileUri": url or data}}
    else:
        part = {"inlineData": {"mimeType": mime, "data": data}}
    if meta.get("thought"):
        part["thought"] = True
    if meta.get("thought_signature"):
        part["thoughtSignature"] = meta["thought_signature"]
    return part


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
        self.id: str | None = None
        self.model: str | None = None
        self.create_time: str | None = None
        self.sources: list[dict[str, Any]] = []  # grounding chunks, written with the finish
        self.citations: list[dict[str, Any]] = []  # citation sources, likewise
        self.code_ids: dict[str, str | None] = {}  # canonical call id -> executableCode id

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
        handler = self._handlers.get(event.get("type"))  # type: ignore[arg-type]
        if handler is None:
            return []
        if event.get("choice") and event.get("type") != "message":
            return self.drop("choices other than the first")
        return handler(self, event)

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
        return self._with_logprobs(self._part({"text": ev["delta"]}), ev)

    def _on_reasoning_delta(self, ev: dict[str, Any]) -> list[WireEvent]:
        if not ev.get("delta"):
            return self._ensure_open()
        return self._with_logprobs(self._part({"text": ev["delta"], "thought": True}), ev)

    @staticmethod
    def _with_logprobs(out: list[WireEvent], ev: dict[str, Any]) -> list[WireEvent]:
        pm = ev.get("provider_metadata")
        logprobs = ((pm or {}).get(NAME) or {}).get("logprobs_result") if pm else None
        if logprobs:
            out[-1][1]["candidates"][0]["logprobsResult"] = logprobs
        return out

    def _on_block_end(self, ev: dict[str, Any]) -> list[WireEvent]:
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
        part = executed_call_part(ev, value, meta, self.code_ids)
        if part is None:
            return self.drop("provider-executed tool calls other than code execution")
        return self._part(part)

    def _on_tool_result(self, ev: dict[str, Any]) -> list[WireEvent]:
        if not ev.get("provider_executed"):
            return []  # a client tool's result belongs to the next request, not this stream
        part = executed_result_part(ev, self.code_ids)
        if part is None:
            return self.drop("provider-executed tool results other than code execution")
        return self._part(part)

    def _on_source(self, ev: dict[str, Any]) -> list[WireEvent]:
        out = self._ensure_open()
        meta = dict((ev.get("provider_metadata") or {}).get(NAME) or {})
        kind = meta.pop("grounding_chunk", None)
        citation = meta.pop("citation", None)
        uri = ev.get("url") or meta.pop("uri", None)
        self.seen = True
        if isinstance(citation, dict) and uri:  # from citationMetadata: back there
            cite = {**citation, "uri": uri}
            if ev.get("title"):
                cite["title"] = ev["title"]
            self.citations.append(cite)
            return out
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
        if not body:
            return self.drop("sources with neither a URL nor a title")
        self.sources.append({kind: body})
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
        if isinstance(raw, str) and (FINISH_REASONS.get(raw, "other") == reason and raw.isupper()):
            wire_reason: str | None = raw
        elif reason == "other" and raw is not None:
            wire_reason = "OTHER"
        else:
            wire_reason = WIRE_FINISH_REASONS.get(reason)
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


# --- requests -------------------------------------------------------------------------------------

#: canonical option names → ``generationConfig`` fields
OPTION_NAMES = {
    "max_tokens": "maxOutputTokens",
    "temperature": "temperature",
    "top_p": "topP",
    "stop": "stopSequences",
    "seed": "seed",
}

#: ``generationConfig`` fields: an option so named (or named so in snake_case: ``top_k``,
#: ``thinking_config``) goes in ``generationConfig``
GENERATION_CONFIG_FIELDS = frozenset({
    "stopSequences", "responseMimeType", "responseSchema", "responseJsonSchema", "responseModalities",
    "candidateCount", "maxOutputTokens", "temperature", "topP", "topK", "seed", "presencePenalty",
    "frequencyPenalty", "responseLogprobs", "logprobs", "enableEnhancedCivicAnswers", "speechConfig",
    "thinkingConfig", "imageConfig", "mediaResolution", "audioTimestamp", "routingConfig",
    "modelSelectionConfig", "enableAffectiveDialog",
})  # fmt: skip

#: other request fields an option may name in snake_case (``safety_settings``); any other option
#: goes at the top level of the body under the name it was given
REQUEST_FIELDS = frozenset(
    {"safetySettings", "toolConfig", "cachedContent", "labels", "serviceTier", "store"}
)

#: a base URL whose path already names an API version (``.../v1beta``, a Vertex AI publisher path)
_VERSIONED = re.compile(r"/v\d+(?:alpha|beta)?\d*(?:/|$)")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


class RequestDrops:
    """What a request cannot carry, counted per kind and warned about once (never silently)."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        self.kinds: dict[str, int] = {}

    def add(self, what: str) -> None:
        self.kinds[what] = self.kinds.get(what, 0) + 1

    def warn(self) -> None:
        from .. import diagnostics

        for what, count in self.kinds.items():
            diagnostics.warn(f"{self.dialect} cannot send {what} ({count}); left out of the request")


def generated_id(part: dict[str, Any]) -> bool:
    """Whether normalize made up the call's id (any dialect's ``generated_id`` mark): such an id
    is ours, not the provider's, and is not sent."""
    pm = part.get("provider_metadata")
    return isinstance(pm, dict) and any(isinstance(m, dict) and m.get("generated_id") for m in pm.values())


def object_input(part: dict[str, Any], drops: RequestDrops) -> dict[str, Any]:
    """A tool call's arguments as an object (Gemini's ``args`` and Ollama's ``arguments`` must be
    one); arguments that are not one (a call cut off, invalid JSON) are sent as ``{}``, counted."""
    value = part.get("input")
    if not isinstance(value, dict):
        value, _ = parse_arguments(part.get("arguments") or "")
    if isinstance(value, dict):
        return value
    drops.add("tool-call arguments that are not a JSON object (sent as {})")
    return {}


def _meta(part: dict[str, Any]) -> dict[str, Any]:
    pm = part.get("provider_metadata")
    meta = pm.get(NAME) if isinstance(pm, dict) else None
    return meta if isinstance(meta, dict) else {}


def _user_parts(content: list[dict[str, Any]], drops: RequestDrops) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for part in content:
        kind = part.get("type")
        if kind == "text":
            if part.get("text"):
                parts.append({"text": part["text"]})
        elif kind == "file":
            parts.append(file_part(part))
        else:
            drops.add(f"{kind} parts in user turns")
    return parts


def _model_parts(
    content: list[dict[str, Any]], drops: RequestDrops, calls: dict[str, tuple[str, bool]]
) -> list[dict[str, Any]]:
    """An earlier assistant turn as the parts of a ``model`` content: text, thoughts, function
    calls, Gemini's executed tools and files, each thought signature on the kind of part it came
    on (Gemini 3 rejects a continuation that drops the one on a function call)."""
    parts: list[dict[str, Any]] = []
    code_ids: dict[str, str | None] = {}
    for p in content:
        kind = p.get("type")
        part: dict[str, Any] | None
        if kind in ("text", "reasoning"):
            meta = _meta(p)
            text = p.get("text") or ""
            if not text and not meta.get("thought_signature"):
                continue  # an empty block (another provider's redacted reasoning) says nothing
            part = {"text": text, "thought": True} if kind == "reasoning" else {"text": text}
            if meta.get("thought_signature"):
                part["thoughtSignature"] = meta["thought_signature"]
        elif kind == "tool-call" and not p.get("provider_executed"):
            call: dict[str, Any] = {"name": p["tool_name"], "args": object_input(p, drops)}
            own_id = not generated_id(p)
            if own_id:
                call = {"id": p["tool_call_id"], **call}
            calls[p["tool_call_id"]] = (p["tool_name"], own_id)
            part = {"functionCall": call}
            if _meta(p).get("thought_signature"):
                part["thoughtSignature"] = _meta(p)["thought_signature"]
        elif kind == "tool-call":
            value = p.get("input")
            if value is None and p.get("arguments"):
                value, _ = parse_arguments(p["arguments"])
            part = executed_call_part(p, value, _meta(p), code_ids)
            if part is None:
                drops.add("other providers' executed tool calls")
        elif kind == "tool-result" and p.get("provider_executed"):
            part = executed_result_part(p, code_ids)
            if part is None:
                drops.add("other providers' executed tool results")
        elif kind == "file":
            part = file_part(p)
        else:
            part = None  # sources annotate the answer; they are not sent back
        if part is not None:
            parts.append(part)
    return parts


def _function_response(message: dict[str, Any], calls: dict[str, tuple[str, bool]]) -> dict[str, Any]:
    """A tool message as a ``functionResponse`` part: the tool's name (the message's, else the
    call's), ``response`` an object (an object output as it is; otherwise ``{"result": output}``,
    or ``{"error": output}`` for a failed tool), and the call's id when it had one of its own."""
    call_id = message["tool_call_id"]
    name, own_id = calls.get(call_id, (None, False))
    name = message.get("tool_name") or name
    if not name:
        raise UsageError(
            f"gemini: the tool result for {call_id} names no tool, and no earlier tool call has that id"
        )
    output = message.get("output")
    if message.get("is_error"):
        response = output if isinstance(output, dict) and "error" in output else {"error": output}
    else:
        response = output if isinstance(output, dict) else {"result": output}
    result: dict[str, Any] = {"name": name, "response": response}
    if own_id:
        result = {"id": call_id, **result}
    return {"functionResponse": result}


def gemini_contents(conversation: dict[str, Any], drops: RequestDrops) -> list[dict[str, Any]]:
    """Canonical messages → Gemini ``contents``: user turns, ``model`` turns, and the tool results
    that follow a turn as one ``user`` turn of ``functionResponse`` parts (system messages go to
    ``systemInstruction``)."""
    contents: list[dict[str, Any]] = []
    calls: dict[str, tuple[str, bool]] = {}  # tool call id -> (tool name, sent with its id)
    results: dict[str, Any] | None = None  # the user turn of function responses being filled
    for message in conversation.get("messages", ()):
        role = message["role"]
        if role == "tool":
            if results is None:
                results = {"role": "user", "parts": []}
                contents.append(results)
            results["parts"].append(_function_response(message, calls))
            continue
        results = None
        if role == "user":
            parts, wire_role = _user_parts(message["content"], drops), "user"
        elif role == "assistant":
            parts, wire_role = _model_parts(message["content"], drops, calls), "model"
        else:
            continue
        if parts:
            contents.append({"role": wire_role, "parts": parts})
    return contents


def _declaration(tool: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"name": tool["name"]}
    if tool.get("description"):
        out["description"] = tool["description"]
    params = tool.get("parameters")
    if isinstance(params, dict):
        params = {k: v for k, v in params.items() if k != "$schema"}
        # Gemini rejects an object schema with no properties: a tool without parameters has none
        if params and not (params.get("type") == "object" and not params.get("properties")):
            out["parameters"] = params
    return out


#: the thought signature Gemini documents for function calls it did not sign itself (another
#: model's, or written by hand): it skips the check instead of refusing the request
SKIP_SIGNATURE = "skip_thought_signature_validator"

_GEMINI_VERSION = re.compile(r"(?:^|/)gemini-(\d+)")


def signs_function_calls(model: str | None) -> bool:
    """Whether the model checks the signatures of the current turn's function calls (Gemini 3 on)."""
    match = _GEMINI_VERSION.search(model or "")
    return match is not None and int(match.group(1)) >= 3


def sign_current_turn(contents: list[dict[str, Any]]) -> None:
    """Gemini 3 refuses a request whose current turn (the model steps since the last user message)
    has a step whose first function call carries no signature: such a call (another model's, or
    written by hand) gets :data:`SKIP_SIGNATURE`. Real signatures are kept; later calls of a step
    are left as they are (Gemini signs the first of parallel calls only)."""
    start = 0
    for i, content in enumerate(contents):
        if content["role"] == "user" and any("functionResponse" not in p for p in content["parts"]):
            start = i + 1
    for content in contents[start:]:
        if content["role"] != "model":
            continue
        first = next((p for p in content["parts"] if "functionCall" in p), None)
        if first is not None and not first.get("thoughtSignature"):
            first["thoughtSignature"] = SKIP_SIGNATURE


def gemini_request_body(conversation: dict[str, Any], model: str | None = None) -> dict[str, Any]:
    """A canonical conversation → the ``streamGenerateContent`` body (``model``: the model it goes
    to, which says whether the current turn's function calls need signatures)."""
    from ..conversation import system_text

    drops = RequestDrops(NAME)
    body: dict[str, Any] = {"contents": gemini_contents(conversation, drops)}
    if not body["contents"]:
        raise UsageError("gemini: nothing to send: the conversation has no message with content")
    if signs_function_calls(model):
        sign_current_turn(body["contents"])
    system = system_text(conversation)
    if system:
        body["systemInstruction"] = {"parts": [{"text": system}]}
    tools: list[dict[str, Any]] = []
    if conversation.get("tools"):
        tools.append({"functionDeclarations": [_declaration(t) for t in conversation["tools"]]})
    config: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in (conversation.get("options") or {}).items():
        name = OPTION_NAMES.get(key) or _camel(key)
        if name == "stopSequences" and isinstance(value, str):
            value = [value]
        if name in GENERATION_CONFIG_FIELDS:
            config[name] = value
        elif name == "generationConfig" and isinstance(value, dict):
            config.update(value)
        elif name == "tools" and isinstance(value, list):
            tools.extend(value)  # Gemini's own tools (googleSearch, codeExecution, ...) beside ours
        elif name in REQUEST_FIELDS:
            extra[name] = value
        else:
            extra[key] = value
    if tools:
        body["tools"] = tools
    if config:
        body["generationConfig"] = config
    body.update(extra)
    drops.warn()
    return body


def gemini_url(base_url: str, model: str | None) -> str:
    """``{base}/v1beta/models/{model}:streamGenerateContent?alt=sse`` (no version added when the
    base URL names one; ``models/x`` and ``tunedModels/x`` names kept as they are)."""
    from urllib.parse import quote, urlsplit

    if not model:
        raise UsageError(
            'no model: pass -m MODEL (gemini-2.5-flash), put "model" in the conversation, or set STREAMKIT_MODEL'
        )
    collection, _, rest = model.partition("/")
    if not rest or collection not in ("models", "tunedModels"):
        collection, rest = "models", model
    version = "" if _VERSIONED.search(urlsplit(base_url).path) else "/v1beta"
    return f"{base_url}{version}/{collection}/{quote(rest, safe='')}:streamGenerateContent?alt=sse"


class Gemini(Dialect):
    name = NAME
    description = "Google Gemini streamGenerateContent (SSE with alt=sse, or one JSON array)"
    framing = "sse"
    default_base_url = "https://generativelanguage.googleapis.com"
    base_url_env = ("GEMINI_BASE_URL", "GOOGLE_GEMINI_BASE_URL")
    api_key_env = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
    serve_paths = (
        "/v1beta/models/{model}:streamGenerateContent",
        "/v1/models/{model}:streamGenerateContent",
    )

    def build_request(
        self, conversation: dict[str, Any] | None, endpoint: Endpoint, *, body: Any = None
    ) -> Request:
        """The request for a conversation, or a native body sent as it is (a ``model`` key in it,
        which is no field of Gemini's, names the model for the URL and is taken out)."""
        if body is None:
            conversation = conversation or {"messages": []}
            model = endpoint.model or conversation.get("model")
            body = gemini_request_body(conversation, model)
        else:
            model = endpoint.model
            if isinstance(body, dict) and isinstance(body.get("model"), str) and body["model"]:
                body = dict(body)
                model = body.pop("model")
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if endpoint.api_key:
            headers["x-goog-api-key"] = endpoint.api_key  # never in the URL (?key=) where logs keep it
        return Request(gemini_url(endpoint.base_url, model), body, headers)

    def serve_options(self, path: str, params: dict[str, str], body: Any) -> dict[str, Any]:
        """The model the request's path names, which the answer's ``modelVersion`` echoes."""
        return {"model": params["model"]} if params.get("model") else {}

    def sniff(self, data: Any, event: str | None = None) -> bool:
        if type(data) is not dict or "event_type" in data or "type" in data or "object" in data:
            return False
        candidates = data.get("candidates")
        if isinstance(candidates, list):
            return all(
                isinstance(c, dict) and ("content" in c or "finishReason" in c or "index" in c)
                for c in candidates
            ) and ("choices" not in data)
        if isinstance(data.get("promptFeedback"), dict):
            return True
        if isinstance(data.get("usageMetadata"), dict) and ("modelVersion" in data or "responseId" in data):
            return True
        error = data.get("error")
        # google.rpc.Status: {"code": 429, "message": "...", "status": "RESOURCE_EXHAUSTED"}
        return (
            len(data) == 1
            and isinstance(error, dict)
            and isinstance(error.get("code"), int)
            and isinstance(error.get("status"), str)
            and error["status"].isupper()
            and "type" not in error
        )

    def normalizer(self, **options: Any) -> GeminiNormalizer:
        return GeminiNormalizer(**options)

    def encoder(self, **options: Any) -> GeminiEncoder:
        return GeminiEncoder(**options)
