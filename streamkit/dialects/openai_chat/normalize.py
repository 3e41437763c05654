"""Chat Completions chunks → canonical events: the ``openai-chat`` normalizer.

Also the dialect of every server that copies it: Azure OpenAI, Mistral, DeepSeek, Groq,
OpenRouter, Perplexity, Z.ai, vLLM, llama.cpp, Ollama's ``/v1``, LiteLLM.

What real servers send, and what becomes of it (canonical events on the right):

* ``delta.content`` (a string, or Mistral's list of ``text``/``thinking`` parts) → text blocks.
* ``delta.reasoning_content`` (DeepSeek, Z.ai, vLLM), ``delta.reasoning`` (OpenRouter, Groq)
  and ``delta.reasoning_details`` (OpenRouter; preferred when present, since it carries
  signatures and encrypted reasoning, kept in the block's ``provider_metadata``) → reasoning.
* ``delta.refusal`` → a text block whose ``text-start`` has ``refusal: true``.
* ``delta.audio`` (audio output): its ``transcript`` fragments → a text block of their own, whose
  ``text-start`` is marked ``provider_metadata["openai-chat"]["audio"]`` (``{"id": ...}`` when the
  audio's id has come); its ``data`` (base64 fragments) → one ``file`` (``audio/pcm16``, the
  format streamed audio comes in) when the choice finishes, with the audio's ``id`` and
  ``expires_at`` in its ``provider_metadata["openai-chat"]["audio"]``. The encoder writes both
  back as ``delta.audio``.
* ``delta.images`` (OpenRouter's and Vercel AI Gateway's generated images: ``image_url`` entries
  holding ``data:`` URLs) → a ``file`` each (the base64 image and its type).
* ``delta.tool_calls`` → ``tool-input-*`` and one ``tool-call`` per call when the choice
  finishes. Deltas are keyed by ``id``, then ``index``, then the latest call; a call whose id
  (or name) has not arrived yet is held back until it does, so ids are never changed after the
  fact; a call that never gets one is given ``call_<n>``. A new name on an index that already
  holds a named call with arguments is a new call (servers that reuse index 0).
* ``logprobs`` → ``provider_metadata["openai-chat"]["logprobs"]`` of the delta they belong to.
* ``delta.annotations`` (url citations) and Perplexity's top-level ``citations`` → ``source``.
* Groq's ``delta.executed_tools`` → provider-executed ``tool-call`` / ``tool-result``.
* Azure's ``prompt_filter_results`` (on ``start``) and ``content_filter_results`` (on deltas),
  OpenAI's ``moderation`` chunk (on ``finish``), ``system_fingerprint``, ``service_tier`` →
  ``provider_metadata["openai-chat"]``. The ``obfuscation`` padding is dropped.
* Usage-only chunks with empty ``choices``, running usage (Perplexity), ``x_groq.usage`` →
  ``finish.usage``; the raw usage object is kept in ``finish.provider_metadata``.
  ``output_tokens`` always counts the reasoning tokens, also where ``completion_tokens`` leaves
  them out (xAI): the rule is in :mod:`.usage`.
* An error object mid-stream (``data: {"error": ...}``, or ``event: error``) → ``error``, after
  everything received before it; the response then finishes with ``finish_reason: error``.
* ``finish_reason``: stop → stop, length/model_length → length, tool_calls/function_call →
  tool-calls, content_filter → content-filter, error → error, anything else → other; the
  original is kept in ``raw_finish_reason``.
* ``n>1``: each choice is its own sequence of blocks. Events of choice k>0 carry
  ``"choice": k`` and block ids prefixed ``c<k>.``; each choice gets its own ``finish``, and the
  ``finish`` of choice 0 comes last and carries the response's usage.

The ``finish`` events of a response are written when it ends (``[DONE]``, a new response, or
the end of input), because usage arrives after the last ``finish_reason``; text and tool calls
are complete as soon as their choice's ``finish_reason`` arrives.

The rarer parts (citations, executed tools, audio, chunk-level extras) are read in
``normalize_rare``, the base class of :class:`ChatNormalizer`. Both are compiled with mypyc where
the build is made (:mod:`streamkit._native`).
"""

from __future__ import annotations

import base64
from typing import Any

from orjson import dumps as _dumps

from ..._native import mypyc_attr
from ...canonical import delta_head, tool_call
from ...errors import DataError
from .._think import ThinkSplitter
from ..base import token_counts, unix_time, wire_string
from .normalize_rare import _RarerParts
from .usage import map_usage
from .wire import NAME

FINISH_REASONS = {
    "stop": "stop",
    "length": "length",
    "model_length": "length",
    "tool_calls": "tool-calls",
    "function_call": "tool-calls",
    "content_filter": "content-filter",
    "error": "error",
}


# chunk fields copied into start.provider_metadata (first non-null value wins)
_START_FIELDS = ("system_fingerprint", "service_tier", "provider")


class _Call:
    __slots__ = ("args", "held", "id", "index", "name", "started")

    def __init__(self, call_id: str | None, index: Any) -> None:
        self.id = call_id
        self.index = index
        self.name: str | None = None
        self.args: list[str] = []
        self.started = False  # tool-input-start written
        self.held: list[str] = []  # argument fragments waiting for the id or the name


class _Choice:
    __slots__ = (
        "audio",
        "by_id",
        "by_index",
        "calls",
        "closed",
        "finish",
        "latest",
        "meta",
        "n",
        "nblocks",
        "prefix",
        "reasoning",
        "reasoning_meta",
        "refusal",
        "text",
        "think",
        "transcript",
    )

    def __init__(self, n: int) -> None:
        self.n = n
        self.prefix = f"c{n}." if n else ""
        self.text: str | None = None  # id of the open text block
        self.transcript: str | None = None  # id of the open text block of an audio transcript
        self.reasoning: str | None = None
        self.refusal: str | None = None
        self.reasoning_meta: dict[str, Any] | None = None
        self.nblocks = 0
        self.calls: list[_Call] = []
        self.by_id: dict[str, _Call] = {}
        self.by_index: dict[int, _Call] = {}
        self.latest: _Call | None = None
        self.finish: str | None = None
        self.closed = False
        self.meta: dict[str, Any] = {}
        self.audio: dict[str, Any] | None = None
        self.think: ThinkSplitter | None = None


@mypyc_attr(allow_interpreted_subclasses=True)  # (a plugin's normalizer may derive from it)
class ChatNormalizer(_RarerParts):
    """One Chat Completions stream (possibly several responses, each ended by ``[DONE]``)."""

    checks_types = True  # (tests/stages/test_normalize_wire_types.py)

    def __init__(self, *, think_tags: bool = False, **options: Any) -> None:
        self._call_ids = 0
        self.think_tags = bool(think_tags)  # split <think>…</think> out of the content
        self._reset()

    def _reset(self) -> None:
        self.started = False
        self.text0: str | None = None  # the open text block of choice 0 (for the hot path)
        # its text-delta's head, with delta_bytes: what _delta's cache holds too, kept here for the
        # commonest line (2% less CPU on the real chat mix than asking _delta, compiled or not)
        self.text0_head: bytes | None = None
        self.choices: dict[int, _Choice] = {}
        self.start_event: dict[str, Any] = {"type": "start", "id": None, "model": None, "dialect": NAME}
        self.start_meta: dict[str, Any] = {}
        self.finish_meta: dict[str, Any] = {}
        self.usage: Any = None  # (as the wire sent it, of any type)
        self.error = False
        self.sources: set[str] = set()
        self.executed: dict[Any, str] = {}
        self.heads: dict[tuple[str, str | None], bytes] = {}  # (type, block id) -> a delta's head (_delta)

    # --- the wire events -----------------------------------------------------------------

    # (returns a list, None, or an event's bytes: Normalizer.delta_bytes; said as Any, since mypyc
    # checks a compiled function's return annotation)
    def feed(self, data: Any, event: str | None = None) -> Any:
        # The hot path, measured in `make bench` on real streams: a started response, one choice 0
        # that does not finish, whose delta has one field with a meaning (the others empty, or
        # ``role``, ``channel``): content or reasoning written into the block already open (with
        # the content's logprobs), or an argument fragment of a tool call already started.
        # Anything else, and any first fragment of a block, takes the general path (_feed).
        if type(data) is dict and event is None and self.started:
            choices = data.get("choices")
            if (
                type(choices) is list
                and len(choices) == 1
                # none of the rarer chunk-level fields with a meaning (_EXTRA_FIELDS), asked one by
                # one: quicker than _EXTRA_FIELDS.isdisjoint(data), which hashes every field
                and "error" not in data
                and "citations" not in data
                and "x_groq" not in data
                and "moderation" not in data
                and "prompt_filter_results" not in data
            ):
                ch = choices[0]
                if (
                    type(ch) is dict
                    and not ch.get("finish_reason")
                    and not ch.get("index")
                    and "content_filter_results" not in ch
                ):
                    out: Any = None
                    delta = ch.get("delta")
                    if type(delta) is dict:
                        size = len(delta)
                        if size == 1 or (size == 2 and ("role" in delta or "channel" in delta)):
                            value = delta.get("content")  # the commonest chunk: {"content": str}
                            if value is None:
                                out = self._hot_one(delta, size)
                            elif type(value) is str:
                                bid = self.text0  # None with think_tags: their content takes _feed
                                if bid is not None:
                                    if not value:
                                        out = []
                                    else:
                                        lp = ch.get("logprobs")
                                        if lp and type(lp) is dict and (logprobs := lp.get("content")):
                                            out = [
                                                {
                                                    "type": "text-delta",
                                                    "id": bid,
                                                    "delta": value,
                                                    "provider_metadata": {NAME: {"logprobs": logprobs}},
                                                }
                                            ]
                                        else:
                                            head = self.text0_head
                                            out = (
                                                [{"type": "text-delta", "id": bid, "delta": value}]
                                                if head is None
                                                else head + _dumps(value)
                                            )
                    if out is None:
                        out = self._hot(ch, delta)
                    if out is not None:
                        usage = data.get("usage")
                        if usage:
                            self.usage = usage
                        return out
        return self._feed(data, event)

    def _hot_one(self, delta: dict[str, Any], size: int) -> Any:
        """A delta of the hot path with no content, whose one field beyond ``role`` or ``channel``
        is reasoning, or (alone) an argument fragment; None for anything else."""
        value = delta.get("reasoning")
        if value is None:
            value = delta.get("reasoning_content")
            if value is None:
                if size == 1:
                    calls = delta.get("tool_calls")  # the next commonest: an argument fragment
                    if type(calls) is list and len(calls) == 1:
                        return self._hot_args(calls[0])
                return None
        if type(value) is not str or not value:
            return None
        st = self.choices.get(0)
        bid = None if st is None else st.reasoning
        if bid is None:
            return None
        return self._delta("reasoning-delta", bid, value)

    def _delta(self, kind: str, bid: str | None, value: str) -> Any:
        """The hot path's one ``kind`` event of ``value`` into the open block ``bid``: as bytes
        (:attr:`~streamkit.dialects.normalizer.Normalizer.delta_bytes`), the head of each block's
        events made once, or as a list."""
        if not self.delta_bytes:
            return [{"type": kind, "id": bid, "delta": value}]
        head = self.heads.get((kind, bid))
        if head is None:
            head = self.heads[(kind, bid)] = delta_head(kind, bid)
        return head + _dumps(value)

    @staticmethod
    def _hot_text(bid: str, value: str, ch: dict[str, Any]) -> list[dict[str, Any]]:
        """Content into the open text block ``bid``, with its logprobs."""
        if not value:
            return []
        ev: dict[str, Any] = {"type": "text-delta", "id": bid, "delta": value}
        lp = ch.get("logprobs")
        if lp and type(lp) is dict:
            logprobs = lp.get("content")
            if logprobs:
                ev["provider_metadata"] = {NAME: {"logprobs": logprobs}}
        return [ev]

    def _hot(self, ch: dict[str, Any], delta: Any) -> Any:
        """The events of one choice-0 chunk of the hot path, or None when it needs the general path."""
        st = self.choices.get(0)
        if st is None or (delta and type(delta) is not dict):
            return None
        key = value = None
        if delta:
            for k, v in delta.items():
                if v and k in _DELTA_HANDLERS:
                    if key is not None:
                        return None  # two fields with a meaning: the general path keeps their order
                    key, value = k, v
        if key is None:
            return []
        if type(value) is not str:
            if key == "tool_calls" and type(value) is list and len(value) == 1:
                return self._hot_args(value[0])
            return None
        if key == "content":
            bid = self.text0
            return None if bid is None else self._hot_text(bid, value, ch)
        if key == "reasoning" or key == "reasoning_content":
            bid = st.reasoning
            if bid is None:
                return None
            return self._delta("reasoning-delta", bid, value)
        return None

    def _hot_args(self, tc: Any) -> Any:
        """One argument fragment (``{"index", "function": {"arguments"}}``) of a call of choice 0
        already started."""
        if type(tc) is not dict or len(tc) != 2:
            return None
        fn = tc.get("function")
        st = self.choices.get(0)
        if type(fn) is not dict or len(fn) != 1 or st is None:
            return None
        args = fn.get("arguments")
        index = tc.get("index")
        call = st.by_index.get(index) if index is not None else None
        if call is None or not call.started or type(args) is not str:
            return None
        st.latest = call
        call.args.append(args)
        return self._delta("tool-input-delta", call.id, args) if args else []

    def _feed(self, data: Any, event: str | None) -> list[dict[str, Any]] | None:
        if type(data) is not dict:
            if isinstance(data, str) and data.strip() == "[DONE]":
                return self._end_response()
            return None
        choices = data.get("choices")
        if event == "error" or (choices is None and "error" in data):
            return self._on_error(data)
        out: list[dict[str, Any]] = []
        if not self.started:
            self._collect_start(data)
            if not choices:  # Azure's prompt-filter chunk, a usage or moderation chunk
                usage = data.get("usage")
                if usage:
                    self.usage = usage
                return out if self._extras(data, out) or usage else None
            self._start(out)
        try:
            if choices:
                if type(choices) is not list:
                    raise DataError(f"'choices' is a {type(choices).__name__}, expected a list")
                for ch in choices:
                    self._choice(ch, out)
            usage = data.get("usage")
            if usage:
                self.usage = usage
            self._extras(data, out)
        finally:  # (also when a bad choice follows one that opened or closed choice 0's text)
            st = self.choices.get(0)
            text0 = st.text if st is not None and not self.think_tags else None
            if text0 != self.text0:
                self.text0 = text0
                self.text0_head = (
                    None if text0 is None or not self.delta_bytes else delta_head("text-delta", text0)
                )
        return out

    def close(self) -> list[dict[str, Any]]:
        if not self.started and not self.choices:
            return []
        return self._end_response()

    # --- response start and end ------------------------------------------------------------

    def _collect_start(self, data: dict[str, Any]) -> None:
        ev = self.start_event
        if not ev["id"] and data.get("id"):
            ev["id"] = data["id"] if type(data["id"]) is int else wire_string(data["id"], "the chunk's id")
        if not ev["model"] and data.get("model"):
            ev["model"] = wire_string(data["model"], "the chunk's model")
        if "created" not in ev and data.get("created") and unix_time(data["created"]) is not None:
            ev["created"] = data["created"]  # (a time only: one of another kind is left out)
        for key in _START_FIELDS:
            if data.get(key) is not None and key not in self.start_meta:
                self.start_meta[key] = data[key]
        x_groq = data.get("x_groq")
        if isinstance(x_groq, dict) and "x_groq" not in self.start_meta:
            self.start_meta["x_groq"] = {k: v for k, v in x_groq.items() if k != "usage"}

    def _start(self, out: list[dict[str, Any]]) -> None:
        self.started = True
        ev = self.start_event
        if self.start_meta:
            ev["provider_metadata"] = {NAME: self.start_meta}
        out.append(ev)

    def _end_response(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if not self.started:
            if not self.choices and self.usage is None and not self.error:
                self._reset()
                return out
            self._start(out)
        if not self.choices:
            self._get_choice(0)
        ordered = sorted(self.choices.values(), key=lambda c: (c.n == 0, c.n))
        for st in ordered:
            if not st.closed:
                self._close_choice(st, out)
            raw = st.finish
            if raw is None:
                reason = "error" if self.error else "other"
            else:
                reason = FINISH_REASONS.get(raw, "other")
            fin: dict[str, Any] = {"type": "finish", "finish_reason": reason, "raw_finish_reason": raw}
            meta = dict(st.meta)
            if st.n == 0:
                if self.usage is not None:
                    fin["usage"] = token_counts(map_usage(self.usage))
                    meta["usage"] = self.usage
                meta.update(self.finish_meta)
            else:
                fin["choice"] = st.n
            if meta:
                fin["provider_metadata"] = {NAME: meta}
            out.append(fin)
        self._reset()
        return out

    def _on_error(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if not self.started:
            self._collect_start(data)
            self._start(out)
        err = data.get("error", data)
        if isinstance(err, dict):
            message = err.get("message") or err.get("type") or "upstream error"
            code = err.get("code") or err.get("type")
            status = err.get("status_code") or err.get("status")
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

    # --- one choice of one chunk -------------------------------------------------------------

    def _get_choice(self, n: int) -> _Choice:
        st = self.choices.get(n)
        if st is None:
            st = self.choices[n] = _Choice(n)
        return st

    def _choice(self, ch: Any, out: list[dict[str, Any]]) -> None:
        if not isinstance(ch, dict):
            raise DataError(f"a 'choices' entry is a {type(ch).__name__}, expected an object")
        n = ch.get("index") or 0
        if type(n) is not int:
            raise DataError(f"a choice's index is a {type(n).__name__}, expected an integer")
        st = self.choices.get(n) or self._get_choice(n)
        delta = ch.get("delta")
        if delta:
            if not isinstance(delta, dict):
                raise DataError(f"'delta' is a {type(delta).__name__}, expected an object")
            handlers = _DELTA_HANDLERS
            for key, value in delta.items():
                if value:
                    handler = handlers.get(key)
                    if handler is not None:
                        handler(self, st, value, ch, delta, out)
        finish = ch.get("finish_reason")
        if finish and st.finish is None:
            st.finish = wire_string(finish, "a choice's finish_reason")
            if ch.get("native_finish_reason"):
                st.meta["native_finish_reason"] = ch["native_finish_reason"]
            self._close_choice(st, out)

    # --- delta fields, one handler each (see _DELTA_HANDLERS) -------------------------------

    def _on_content(
        self, st: _Choice, value: Any, ch: dict[str, Any], delta: dict[str, Any], out: list[dict[str, Any]]
    ) -> None:
        if type(value) is not str:
            self._content_parts(st, value, out)
            return
        if self.think_tags:
            self._think(st, value, out)
            return
        ev = {"type": "text-delta", "id": st.text or self._open(st, "text", out), "delta": value}
        if ch.get("logprobs") or ch.get("content_filter_results"):
            self._delta_meta(ev, ch, "content")
        out.append(self._with_choice(ev, st))

    def _text(self, st: _Choice, text: str, out: list[dict[str, Any]]) -> None:
        if self.think_tags:
            self._think(st, text, out)
        else:
            bid = st.text or self._open(st, "text", out)
            out.append(self._with_choice({"type": "text-delta", "id": bid, "delta": text}, st))

    def _think(self, st: _Choice, text: str, out: list[dict[str, Any]]) -> None:
        """Content with inline <think>…</think>: reasoning inside the tags, text outside."""
        if st.think is None:
            st.think = ThinkSplitter()
        for kind, segment in st.think.feed(text):
            if kind == "reasoning":
                self._reasoning(st, segment, out)
            else:
                bid = st.text or self._open(st, "text", out)
                out.append(self._with_choice({"type": "text-delta", "id": bid, "delta": segment}, st))

    def _on_refusal(
        self, st: _Choice, value: Any, ch: dict[str, Any], delta: dict[str, Any], out: list[dict[str, Any]]
    ) -> None:
        value = wire_string(value, "delta.refusal")
        ev = {"type": "text-delta", "id": st.refusal or self._open(st, "refusal", out), "delta": value}
        if ch.get("logprobs"):
            self._delta_meta(ev, ch, "refusal")
        out.append(self._with_choice(ev, st))

    def _on_reasoning(
        self, st: _Choice, value: Any, ch: dict[str, Any], delta: dict[str, Any], out: list[dict[str, Any]]
    ) -> None:
        if not delta.get("reasoning_details"):  # else the same text, with signatures, comes from there
            self._reasoning(st, value, out)

    def _on_reasoning_details(
        self, st: _Choice, value: Any, ch: dict[str, Any], delta: dict[str, Any], out: list[dict[str, Any]]
    ) -> None:
        self._reasoning_details(st, value, out)

    def _on_tool_calls(
        self, st: _Choice, value: Any, ch: dict[str, Any], delta: dict[str, Any], out: list[dict[str, Any]]
    ) -> None:
        for tc in value if isinstance(value, list) else (value,):
            self._tool_delta(st, tc, out)

    def _on_function_call(
        self, st: _Choice, value: Any, ch: dict[str, Any], delta: dict[str, Any], out: list[dict[str, Any]]
    ) -> None:
        self._tool_delta(st, {"index": 0, "function": value}, out)  # the legacy single-function form

    def _on_annotations(
        self, st: _Choice, value: Any, ch: dict[str, Any], delta: dict[str, Any], out: list[dict[str, Any]]
    ) -> None:
        for ann in value if isinstance(value, list) else ():
            self._annotation(st, ann, out)

    def _on_executed_tools(
        self, st: _Choice, value: Any, ch: dict[str, Any], delta: dict[str, Any], out: list[dict[str, Any]]
    ) -> None:
        for tool in value if isinstance(value, list) else ():
            self._executed_tool(st, tool, out)

    def _on_audio(
        self, st: _Choice, value: Any, ch: dict[str, Any], delta: dict[str, Any], out: list[dict[str, Any]]
    ) -> None:
        self._audio(st, value, out)

    def _on_images(
        self, st: _Choice, value: Any, ch: dict[str, Any], delta: dict[str, Any], out: list[dict[str, Any]]
    ) -> None:
        self._images(st, value, out)

    def _delta_meta(self, ev: dict[str, Any], ch: dict[str, Any], which: str) -> None:
        meta: dict[str, Any] = {}
        lp = ch.get("logprobs")
        if isinstance(lp, dict) and lp.get(which):
            meta["logprobs"] = lp[which]
        cfr = ch.get("content_filter_results")
        if cfr:
            meta["content_filter_results"] = cfr
        if meta:
            ev["provider_metadata"] = {NAME: meta}

    def _open(
        self, st: _Choice, kind: str, out: list[dict[str, Any]], meta: dict[str, Any] | None = None
    ) -> str:
        """Open a text, refusal, reasoning or transcript block, ending whichever other block is
        open (the caller keeps a transcript block's id)."""
        if st.closed:
            st.closed = False  # content after finish_reason: keep it rather than drop it
        self._end_blocks(st, out)
        bid = f"{st.prefix}{'reasoning' if kind == 'reasoning' else 'text'}-{st.nblocks}"
        st.nblocks += 1
        ev: dict[str, Any] = {"type": "reasoning-start" if kind == "reasoning" else "text-start", "id": bid}
        if kind == "refusal":
            ev["refusal"] = True
            st.refusal = bid
        elif kind == "reasoning":
            st.reasoning = bid
        elif kind == "text":
            st.text = bid
        if meta:
            ev["provider_metadata"] = {NAME: meta}
        if st.n:
            ev["choice"] = st.n
        out.append(ev)
        return bid

    def _end_blocks(self, st: _Choice, out: list[dict[str, Any]]) -> None:
        for attr, kind in (
            ("text", "text"),
            ("refusal", "text"),
            ("reasoning", "reasoning"),
            ("transcript", "text"),
        ):
            bid = getattr(st, attr)
            if bid is None:
                continue
            ev: dict[str, Any] = {"type": f"{kind}-end", "id": bid}
            if attr == "reasoning" and st.reasoning_meta:
                ev["provider_metadata"] = {NAME: st.reasoning_meta}
                st.reasoning_meta = None
            if st.n:
                ev["choice"] = st.n
            out.append(ev)
            setattr(st, attr, None)

    def _content_parts(self, st: _Choice, parts: Any, out: list[dict[str, Any]]) -> None:
        """Mistral's content lists: ``text`` parts and ``thinking`` parts holding text parts."""
        if not isinstance(parts, list):
            raise DataError(f"delta.content is a {type(parts).__name__}, expected a string or a list")
        for part in parts:
            if not isinstance(part, dict):
                continue
            kind = part.get("type")
            if kind == "text" and part.get("text"):
                self._text(st, wire_string(part["text"], "a content part's text"), out)
            elif kind == "thinking":
                for sub in part.get("thinking") or ():
                    if isinstance(sub, dict) and sub.get("text"):
                        self._reasoning(st, sub["text"], out)

    @staticmethod
    def _with_choice(ev: dict[str, Any], st: _Choice) -> dict[str, Any]:
        if st.n:
            ev["choice"] = st.n
        return ev

    def _reasoning(self, st: _Choice, text: Any, out: list[dict[str, Any]]) -> None:
        if not isinstance(text, str):
            return
        bid = st.reasoning or self._open(st, "reasoning", out)
        out.append(self._with_choice({"type": "reasoning-delta", "id": bid, "delta": text}, st))

    def _reasoning_details(self, st: _Choice, details: Any, out: list[dict[str, Any]]) -> None:
        for item in details if isinstance(details, list) else ():
            if not isinstance(item, dict):
                continue
            kind = item.get("type")
            text = item.get("text") if kind == "reasoning.text" else item.get("summary")
            if text:
                self._reasoning(st, text, out)
            extra = {k: v for k, v in item.items() if k not in ("text", "summary", "index") and v}
            if extra.get("signature") or extra.get("data"):
                if st.reasoning is None:
                    self._open(st, "reasoning", out)
                meta = st.reasoning_meta or {}
                meta.update(extra)
                st.reasoning_meta = meta

    def _tool_delta(self, st: _Choice, tc: Any, out: list[dict[str, Any]]) -> None:
        if not isinstance(tc, dict):
            raise DataError(f"a tool_calls entry is a {type(tc).__name__}, expected an object")
        fn = tc.get("function") or {}
        call_id = tc.get("id") or None
        index = tc.get("index")
        name = fn.get("name") or None
        if call_id is not None:
            wire_string(call_id, "a tool call's id")
        if name is not None:
            wire_string(name, "a tool call's function.name")
        args = fn.get("arguments")
        if args is not None and not isinstance(args, str):  # some servers send an object
            from orjson import dumps

            args = dumps(args).decode()
        call: _Call | None = None
        if call_id is not None:
            call = st.by_id.get(call_id)
            if call is None:
                # an id we have not seen: the call at this index that is still waiting for its
                # id gets it (the id came late); otherwise it is a new call
                waiting = st.by_index.get(index) if index is not None else st.latest
                if (
                    waiting is not None
                    and waiting.id is None
                    and (name is None or waiting.name in (None, name))
                ):
                    call = waiting
                    call.id = call_id
                    st.by_id[call_id] = call
        elif index is not None:
            call = st.by_index.get(index)
            if call is not None and name and call.name and call.name != name and call.args:
                call = None  # the index was reused for a new call
        else:
            call = st.latest
            if call is not None and name and call.name and call.args:
                call = None
        if call is None:
            if st.closed:
                st.closed = False
            self._end_blocks(st, out)
            call = _Call(call_id, index)
            st.calls.append(call)
            if call_id is not None:
                st.by_id[call_id] = call
        if index is not None:
            st.by_index[index] = call
        st.latest = call
        if name and not call.name:
            call.name = name
        if not call.started and call.id is not None and call.name:
            self._start_call(st, call, out)
        if args:
            call.args.append(args)
            if call.started:
                out.append(self._with_choice({"type": "tool-input-delta", "id": call.id, "delta": args}, st))
            else:
                call.held.append(args)

    def _start_call(self, st: _Choice, call: _Call, out: list[dict[str, Any]]) -> None:
        if call.id is None:
            call.id = self._new_call_id(st, call)
        call.started = True
        out.append(
            self._with_choice({"type": "tool-input-start", "id": call.id, "tool_name": call.name or ""}, st)
        )
        for frag in call.held:
            out.append(self._with_choice({"type": "tool-input-delta", "id": call.id, "delta": frag}, st))
        call.held = []

    def _new_call_id(self, st: _Choice, call: _Call) -> str:
        while True:
            candidate = f"{self.call_id_prefix}{self._call_ids}"
            self._call_ids += 1
            if candidate not in st.by_id:
                st.by_id[candidate] = call
                return candidate

    def _close_choice(self, st: _Choice, out: list[dict[str, Any]]) -> None:
        """The choice finished: end its blocks, complete its tool calls."""
        if st.think is not None:
            for kind, segment in st.think.close():
                if kind == "reasoning":
                    self._reasoning(st, segment, out)
                else:
                    bid = st.text or self._open(st, "text", out)
                    out.append(self._with_choice({"type": "text-delta", "id": bid, "delta": segment}, st))
            st.think = None
        self._end_blocks(st, out)
        for call in st.calls:
            if not call.started:
                self._start_call(st, call, out)
            out.append(self._with_choice({"type": "tool-input-end", "id": call.id}, st))
            arguments = "".join(call.args)
            ev = tool_call(call.id, call.name or "", arguments)
            out.append(self._with_choice(ev, st))
        st.calls = []
        st.by_index = {}
        st.latest = None
        if st.audio is not None:
            audio = st.audio
            st.audio = None
            data = base64.b64encode(b"".join(audio["chunks"])).decode()
            ev = {"type": "file", "media_type": "audio/pcm16", "data": data}
            if audio.get("meta"):
                ev["provider_metadata"] = {NAME: {"audio": audio["meta"]}}
            out.append(self._with_choice(ev, st))
        st.closed = True


# delta field -> handler; fields not listed (role, channel, ...) carry no meaning of their own
_DELTA_HANDLERS: dict[str, Any] = {
    "content": ChatNormalizer._on_content,
    "refusal": ChatNormalizer._on_refusal,
    "reasoning_content": ChatNormalizer._on_reasoning,
    "reasoning": ChatNormalizer._on_reasoning,
    "reasoning_details": ChatNormalizer._on_reasoning_details,
    "tool_calls": ChatNormalizer._on_tool_calls,
    "function_call": ChatNormalizer._on_function_call,
    "annotations": ChatNormalizer._on_annotations,
    "executed_tools": ChatNormalizer._on_executed_tools,
    "audio": ChatNormalizer._on_audio,
    "images": ChatNormalizer._on_images,
}
