"""Ollama ``/api/chat`` and ``/api/generate`` NDJSON lines → canonical events (the normalizer).

The wire: one JSON object per line. What the lines hold, and what it becomes (canonical events
on the right):

* One response per stream; a line after a ``done: true`` line starts a new one. Ollama sends no
  response id (``start.id`` is null); ``model`` → ``start.model``; the first line's
  ``created_at`` → ``start.created`` (epoch seconds; the original string is kept in
  ``start.provider_metadata["ollama"]["created_at"]``).
* ``/api/chat`` lines: ``message.content`` → text, ``message.thinking`` → reasoning,
  ``message.tool_calls`` (whole calls, ``arguments`` an object, usually no id) → one client
  tool call each (``tool-input-start``/``-delta``/``-end`` then ``tool-call``, at once), whose
  ``arguments`` is the JSON of the object and whose id is the call's own ``id`` when the server
  sent one, else a stable generated ``call_N`` (marked ``generated_id`` in the call's
  ``provider_metadata`` so that ``render -f ollama`` leaves it out again).
* ``/api/generate`` lines: ``response`` → text, ``thinking`` → reasoning; the start's
  ``provider_metadata["ollama"]["endpoint"]`` says ``generate``, so that ``render -f ollama``
  writes generate lines back.
* The ``done: true`` line → ``finish``: ``done_reason`` stop → stop (tool-calls when the
  response holds tool calls; also when an older server sends no ``done_reason``), length →
  length, load / unload and anything else → other. Usage: ``prompt_eval_count`` →
  ``input_tokens``, ``eval_count`` → ``output_tokens`` (Ollama sends no total); the two counts
  (under ``usage``), the durations (``total_duration``, ``load_duration``,
  ``prompt_eval_duration``, ``eval_duration``, nanoseconds) and ``/api/generate``'s ``context``
  (what a client sends back to continue) → ``finish.provider_metadata["ollama"]``.
* ``logprobs`` (asked with ``logprobs: true``) → ``provider_metadata["ollama"]["logprobs"]`` of
  the line's first text (or thinking) delta; ``render -f ollama`` writes them back on that line.
* ``{"error": "..."}`` → ``error``, after everything received before it; the response then
  finishes with ``finish_reason: error``.
* ``normalize --think-tags`` (``think_tags=True``): older reasoning models inline
  ``<think>…</think>`` in the content; the text inside the tags becomes reasoning, correct
  however the tags are split across lines (:class:`streamkit.dialects._think.ThinkSplitter`).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from orjson import dumps as _bytes

from ..._native import mypyc_attr
from ...canonical import delta_head, tool_call
from ...errors import DataError
from .._think import ThinkSplitter
from ..base import wire_string
from ..native_normalizer import NativeNormalizer
from .wire import NAME, _dumps

DONE_REASONS = {"stop": "stop", "length": "length"}

# the done line's fields kept in finish.provider_metadata
_DURATIONS = ("total_duration", "load_duration", "prompt_eval_duration", "eval_duration")
_DONE_FIELDS = (*_DURATIONS, "context")

# Ollama's created_at: Go's RFC3339Nano in UTC, 1 to 9 digits of fraction (trailing zeros cut)
_UTC_NANO = re.compile(r"\d\d\d\d-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z", re.ASCII)
_EPOCH = datetime(1970, 1, 1)


def created_seconds(timestamp: Any) -> int | None:
    """``created_at`` → ``start.created``, or None: ``int()`` of what
    :func:`..gemini.rfc3339_epoch` gives, read in fewer steps for Ollama's usual form (which has 7
    to 9 digits of fraction more often than the 3 or 6 that rfc3339_epoch reads quickly). From
    1970 to 2242 the float's int is the whole seconds, whatever the fraction: nearer than a
    microsecond to the next second, a float of that size still tells the two apart."""
    if type(timestamp) is str and _UTC_NANO.fullmatch(timestamp) is not None:
        try:
            since = datetime.fromisoformat(timestamp[:19]) - _EPOCH
        except ValueError:  # no such day or time
            return None
        seconds: int = since.days * 86400 + since.seconds
        if 0 <= seconds < 1 << 33:
            return seconds
    from ..gemini import rfc3339_epoch  # any other form (an offset, spaces), or time: rare

    epoch = rfc3339_epoch(timestamp)
    return None if epoch is None else int(epoch)


def _finish_event(data: dict[str, Any], reason: str, raw: Any) -> dict[str, Any]:
    """The finish of a done line, whatever counts and durations it has (None ones left out)."""
    fin: dict[str, Any] = {"type": "finish", "finish_reason": reason, "raw_finish_reason": raw}
    # the counts: canonical usage (Ollama sends no total), and as sent in the metadata
    prompt = data.get("prompt_eval_count")
    completion = data.get("eval_count")
    usage: dict[str, Any] = {}
    if type(prompt) is int:  # (a count of another type is left out: it is kept in the metadata)
        usage["input_tokens"] = prompt
    if type(completion) is int:
        usage["output_tokens"] = completion
    if usage:
        fin["usage"] = usage
    meta = {k: data[k] for k in _DONE_FIELDS if data.get(k) is not None}
    counts = {k: data[k] for k in ("prompt_eval_count", "eval_count") if data.get(k) is not None}
    if counts:
        meta["usage"] = counts
    if meta:
        fin["provider_metadata"] = {NAME: meta}
    return fin


@mypyc_attr(allow_interpreted_subclasses=True)  # (a plugin's normalizer may derive from it)
class OllamaNormalizer(NativeNormalizer):
    """One Ollama stream: the lines of one response, or of several, each ended by ``done: true``.
    (Compiled by mypyc: a Normalizer by registration, see :mod:`..native_normalizer`.)"""

    checks_types = True  # (tests/stages/test_normalize_wire_types.py)

    def __init__(self, *, think_tags: bool = False, **options: Any) -> None:
        self.think_tags = bool(think_tags)  # split <think>…</think> out of the content
        self.ids: set[str] = set()
        self.ngenerated = 0
        self.ncalls = 0
        self._reset()

    def _reset(self) -> None:
        self.started = False
        self.text: str | None = None  # id of the open text block
        self.reasoning: str | None = None  # id of the open reasoning block
        self.nblocks = 0
        self.think: ThinkSplitter | None = None
        self.error = False
        self.heads: dict[str, bytes] = {}  # block id -> its deltas' head (a text or reasoning block's)
        if self.ncalls:  # the ids (and generated ids) of the response's tool calls
            self.ids = set()
            self.ngenerated = 0
            self.ncalls = 0

    # --- the wire events -----------------------------------------------------------------

    # (returns a list, None, or an event's bytes: Normalizer.delta_bytes; said as Any, since mypyc
    # checks a compiled function's return annotation)
    def feed(self, data: Any, event: str | None = None) -> Any:
        # The hot path, measured in `make bench`: a line (chat or generate, with or without
        # logprobs) that goes on the block already open: content for the text block, thinking
        # (and no content) for the reasoning block. The first line of a response with text, and
        # the done line with no content, have paths of their own (Ollama's responses are short:
        # those two lines are one in seven). Anything else (a tool call, a line that opens or
        # switches a block, <think> tags to split) takes _feed.
        if type(data) is not dict or self.think_tags:
            return self._feed(data)
        msg = data.get("message")
        if type(msg) is dict:
            content = msg.get("content")
            if len(msg) == 2 and "role" in msg:  # the common line: role and content
                thinking = None
            elif msg.get("tool_calls"):
                return self._feed(data)
            else:
                thinking = msg.get("thinking")
        elif msg is None and "error" not in data:
            content = data.get("response")
            thinking = data.get("thinking")
        else:
            return self._feed(data)
        if thinking:
            bid = self.reasoning
            if bid is None or content or type(thinking) is not str:
                return self._feed(data)
            kind, value = "reasoning-delta", thinking
        else:
            if type(content) is not str:
                return self._feed(data)
            bid = self.text
            if bid is None:
                if content and not self.started:
                    return self._begin(data, content)
                return self._feed(data)
            if not content:
                if data.get("done") is not True:
                    return []
                out: list[dict[str, Any]] = []
                self._finish(data, out)
                return out
            kind, value = "text-delta", content
        if data.get("done") is True:
            return self._feed(data)
        # (`in` costs less than get for a key that is nearly always absent)
        if "logprobs" not in data or not data["logprobs"]:
            if self.delta_bytes:  # (Normalizer.delta_bytes: the block's head made once)
                head = self.heads.get(bid)
                if head is None:
                    head = self.heads[bid] = delta_head(kind, bid)
                return head + _bytes(value)
            return [{"type": kind, "id": bid, "delta": value}]
        return [
            {
                "type": kind,
                "id": bid,
                "delta": value,
                "provider_metadata": {NAME: {"logprobs": data["logprobs"]}},
            }
        ]

    def _begin(self, data: dict[str, Any], content: str) -> list[dict[str, Any]]:
        """A response's first line, with text (and no thinking, no tool call): what _feed makes
        of it, in one step."""
        out: list[dict[str, Any]] = []
        self._start(data, out)
        bid = self.text = f"text-{self.nblocks}"
        self.nblocks += 1
        delta: dict[str, Any] = {"type": "text-delta", "id": bid, "delta": content}
        out.append({"type": "text-start", "id": bid})
        out.append(delta)
        logprobs = data.get("logprobs")
        if logprobs:
            delta["provider_metadata"] = {NAME: {"logprobs": logprobs}}
        if data.get("done") is True:
            self._finish(data, out)
        return out

    def _feed(self, data: Any) -> list[dict[str, Any]] | None:
        if type(data) is not dict:
            return None
        out: list[dict[str, Any]] = []
        if "error" in data and "message" not in data and "response" not in data:
            return self._on_error(data, out)
        if not self.started:
            self._start(data, out)
        first = len(out)
        msg = data.get("message")
        if msg is not None:
            if not isinstance(msg, dict):
                raise DataError(f"'message' is a {type(msg).__name__}, expected an object")
            self._thinking(msg.get("thinking"), out)
            self._content(msg.get("content"), out)
            calls = msg.get("tool_calls")
            if calls:
                if not isinstance(calls, list):
                    raise DataError(f"message.tool_calls is a {type(calls).__name__}, expected a list")
                for tc in calls:
                    self._tool_call(tc, out)
        else:
            self._thinking(data.get("thinking"), out)
            self._content(data.get("response"), out)
        logprobs = data.get("logprobs")
        if logprobs:
            for ev in out[first:]:
                if ev["type"] in ("text-delta", "reasoning-delta"):
                    ev["provider_metadata"] = {NAME: {"logprobs": logprobs}}
                    break
        if data.get("done") is True:
            self._finish(data, out)
        return out

    def close(self) -> list[dict[str, Any]]:
        if not self.started:
            return []
        out: list[dict[str, Any]] = []
        self._end_blocks(out, flush=True)
        out.append(
            {"type": "finish", "finish_reason": "error" if self.error else "other", "raw_finish_reason": None}
        )
        self._reset()
        return out

    # --- response start and end ------------------------------------------------------------

    def _start(self, data: dict[str, Any], out: list[dict[str, Any]]) -> None:
        self.started = True
        model = data.get("model")
        if not isinstance(model, str):
            model = None
        created_at = data.get("created_at")
        created = created_seconds(created_at)
        meta: dict[str, Any]
        if "response" in data and "message" not in data:
            meta = (
                {"endpoint": "generate"}
                if created is None
                else {"created_at": created_at, "endpoint": "generate"}
            )
        elif created is None:
            out.append({"type": "start", "id": None, "model": model, "dialect": NAME})
            return
        else:
            meta = {"created_at": created_at}
        ev: dict[str, Any] = {"type": "start", "id": None, "model": model, "dialect": NAME}
        if created is not None:
            ev["created"] = created
        ev["provider_metadata"] = {NAME: meta}
        out.append(ev)

    def _finish(self, data: dict[str, Any], out: list[dict[str, Any]]) -> None:
        if self.think is None:  # _end_blocks, inlined: the end of every response
            if self.text is not None:
                out.append({"type": "text-end", "id": self.text})
            if self.reasoning is not None:
                out.append({"type": "reasoning-end", "id": self.reasoning})
        else:
            self._end_blocks(out, flush=True)
        raw = data.get("done_reason")
        if raw is not None:
            wire_string(raw, "done_reason")
        if raw is None or raw == "stop":
            reason = "tool-calls" if self.ncalls else "stop"
        else:
            reason = DONE_REASONS.get(raw, "other") if isinstance(raw, str) else "other"
        prompt = data.get("prompt_eval_count")
        completion = data.get("eval_count")
        total = data.get("total_duration")
        load = data.get("load_duration")
        prompt_time = data.get("prompt_eval_duration")
        eval_time = data.get("eval_duration")
        if (
            type(prompt) is int
            and type(completion) is int
            and total is not None
            and load is not None
            and prompt_time is not None
            and eval_time is not None
        ):  # the usual done line: both counts and the four durations, built in one step
            meta: dict[str, Any] = {
                "total_duration": total,
                "load_duration": load,
                "prompt_eval_duration": prompt_time,
                "eval_duration": eval_time,
            }
            context = data.get("context")
            if context is not None:
                meta["context"] = context
            meta["usage"] = {"prompt_eval_count": prompt, "eval_count": completion}
            out.append(
                {
                    "type": "finish",
                    "finish_reason": reason,
                    "raw_finish_reason": raw,
                    "usage": {"input_tokens": prompt, "output_tokens": completion},
                    "provider_metadata": {NAME: meta},
                }
            )
        else:
            out.append(_finish_event(data, reason, raw))
        self._reset()

    def _on_error(self, data: dict[str, Any], out: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not self.started:
            self._start(data, out)
        self._end_blocks(out, flush=True)
        err = data["error"]
        if isinstance(err, dict):
            message = err.get("message") or "upstream error"
        else:
            message = str(err)
        ev: dict[str, Any] = {
            "type": "error",
            "message": message,
            "provider_metadata": {NAME: {"error": err}},
        }
        if isinstance(data.get("status_code"), int):
            ev["retryable"] = data["status_code"] == 429 or data["status_code"] >= 500
        out.append(ev)
        self.error = True
        return out

    # --- blocks ----------------------------------------------------------------------------

    def _open(self, kind: str, out: list[dict[str, Any]]) -> str:
        self._end_blocks(out)
        bid = f"{kind}-{self.nblocks}"
        self.nblocks += 1
        out.append({"type": f"{kind}-start", "id": bid})
        if kind == "text":
            self.text = bid
        else:
            self.reasoning = bid
        return bid

    def _end_blocks(self, out: list[dict[str, Any]], *, flush: bool = False) -> None:
        if flush and self.think is not None:
            think, self.think = self.think, None
            for kind, segment in think.close():
                self._delta(kind, segment, out)
        if self.text is not None:
            out.append({"type": "text-end", "id": self.text})
            self.text = None
        if self.reasoning is not None:
            out.append({"type": "reasoning-end", "id": self.reasoning})
            self.reasoning = None

    def _delta(self, kind: str, text: str, out: list[dict[str, Any]]) -> None:
        bid = self.text if kind == "text" else self.reasoning
        if bid is None:
            bid = self._open(kind, out)
        out.append({"type": f"{kind}-delta", "id": bid, "delta": text})

    def _content(self, content: Any, out: list[dict[str, Any]]) -> None:
        if not content:
            return
        if not isinstance(content, str):
            raise DataError(f"the content is a {type(content).__name__}, expected a string")
        if not self.think_tags:
            self._delta("text", content, out)
            return
        if self.think is None:
            self.think = ThinkSplitter()
        for kind, segment in self.think.feed(content):
            self._delta(kind, segment, out)

    def _thinking(self, thinking: Any, out: list[dict[str, Any]]) -> None:
        if not thinking:
            return
        if not isinstance(thinking, str):
            raise DataError(f"'thinking' is a {type(thinking).__name__}, expected a string")
        self._delta("reasoning", thinking, out)

    def _tool_call(self, tc: Any, out: list[dict[str, Any]]) -> None:
        if not isinstance(tc, dict) or not isinstance(tc.get("function"), dict):
            raise DataError("a tool_calls entry is not an object with a 'function' object")
        self._end_blocks(out, flush=True)
        fn = tc["function"]
        name = fn.get("name") if isinstance(fn.get("name"), str) else ""
        args = fn.get("arguments")
        arguments = args if isinstance(args, str) else _dumps(args if args is not None else {})
        meta: dict[str, Any] = {}
        call_id = tc.get("id")
        if isinstance(call_id, str) and call_id and call_id not in self.ids:
            self.ids.add(call_id)
        else:
            call_id = self._generated_id()
            meta["generated_id"] = True
        meta["index"] = fn["index"] if isinstance(fn.get("index"), int) else self.ncalls
        self.ncalls += 1
        out.append({"type": "tool-input-start", "id": call_id, "tool_name": name})
        out.append({"type": "tool-input-delta", "id": call_id, "delta": arguments})
        out.append({"type": "tool-input-end", "id": call_id})
        ev = tool_call(call_id, name, arguments)
        if meta:
            ev["provider_metadata"] = {NAME: meta}
        out.append(ev)

    def _generated_id(self) -> str:
        while True:
            candidate = f"{self.call_id_prefix}{self.ngenerated}"
            self.ngenerated += 1
            if candidate not in self.ids:
                self.ids.add(candidate)
                return candidate
