"""Ollama ``/api/chat`` and ``/api/generate`` streaming (NDJSON), both ways.

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

``render -f ollama`` writes ``/api/chat`` lines (``/api/generate`` lines for a response that came
from there): one line per text or thinking delta, one per tool call (arguments as an object, the
call's ``function.index``), and the final ``done`` line with ``done_reason``, the counts when
usage is known and the durations when they came from Ollama. An error becomes an
``{"error": ...}`` line (one that comes before its response's events, as ``accumulate --final``
writes it, inside that response); a response cut off, or ended by an error, gets no ``done`` line, as on the
wire. Ollama's tool-call arguments are always an object: a call whose arguments are not one (cut
off, or invalid JSON) cannot be written and is dropped with a warning, as are sources, files,
provider-executed tools, choices other than the first, tool calls in ``/api/generate`` lines
(``-O endpoint=generate`` forces those, ``endpoint=chat`` chat lines); a refusal is written as
text, with a warning. ``-O stream=false`` writes each response as the one line Ollama answers a
request that does not stream (texts joined, tool calls and logprobs gathered, in its done line;
a response cut off or ended by an error: what came, not done, then the error line).

Requests (``fetch``, ``agent``): ``POST {base}/api/chat`` (base ``--base-url``, ``OLLAMA_HOST``,
which may be ``host:port`` without a scheme, default ``http://localhost:11434``). No key is needed;
one that is set (``STREAMKIT_API_KEY``, ``OLLAMA_API_KEY`` as the official client reads it: Ollama's
cloud, or a proxy) goes in ``Authorization: Bearer``. The body:

* ``messages``: the system prompt first; user turns (``content`` the text, ``images`` the base64
  data of image parts: an image by URL or another kind of file is a usage error); assistant turns
  with ``content``, ``thinking`` (the reasoning text) and ``tool_calls`` (``{"function": {"name",
  "arguments": <object>}}``, with the call's ``id`` only when Ollama itself sent one; arguments
  that are not an object are sent as ``{}``, with a warning); one ``{"role": "tool", "content":
  <text>, "tool_name": <name>}`` per result (``tool_call_id`` too when the call had Ollama's own
  id; the format has no error flag: a failed tool's text says so). Provider-executed tools and
  files of assistant turns cannot be sent (a warning).
* ``tools``: ``{"type": "function", "function": {name, description, parameters}}``.
* ``options``: ``max_tokens`` → ``num_predict``, ``temperature``, ``top_p``, ``stop`` (a string
  becomes a list), ``seed``, and every other Ollama model option (``num_ctx``, ``top_k``,
  ``min_p``, ``repeat_penalty``, ...); an ``options`` option is merged in. Any other option
  (``think``, ``format``, ``keep_alive``, ``logprobs``, ...) goes at the top level.
* ``stream: true``.

A native body (``--body``) is sent as it is: to ``/api/generate`` when it has a ``prompt`` and
no ``messages``, else to ``/api/chat``. ``serve`` answers on ``/api/chat`` (chat lines) and
``/api/generate`` (generate lines), a request with ``stream: false`` (the official client's
default) with one line. Ollama keeps no state: every request carries the whole conversation.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from ..canonical import message_to_events, parse_arguments
from ..errors import DataError, UsageError
from ._think import ThinkSplitter
from .base import Dialect, Encoder, Endpoint, Normalizer, Request, WireEvent
from .gemini import RequestDrops, object_input, rfc3339_epoch

NAME = "ollama"

DONE_REASONS = {"stop": "stop", "length": "length"}

# the done line's fields kept in finish.provider_metadata
_DURATIONS = ("total_duration", "load_duration", "prompt_eval_duration", "eval_duration")
_DONE_FIELDS = (*_DURATIONS, "context")


def map_usage(line: dict[str, Any]) -> dict[str, Any] | None:
    """The done line's counts → canonical usage (None when it has none)."""
    out: dict[str, Any] = {}
    if isinstance(line.get("prompt_eval_count"), int):
        out["input_tokens"] = line["prompt_eval_count"]
    if isinstance(line.get("eval_count"), int):
        out["output_tokens"] = line["eval_count"]
    return out or None


def _dumps(value: Any) -> str:
    from orjson import dumps

    return dumps(value).decode()


class OllamaNormalizer(Normalizer):
    """One Ollama stream: the lines of one response, or of several, each ended by ``done: true``."""

    def __init__(self, *, think_tags: bool = False, **options: Any) -> None:
        self.think_tags = bool(think_tags)  # split <think>…</think> out of the content
        self._reset()

    def _reset(self) -> None:
        self.started = False
        self.text: str | None = None  # id of the open text block
        self.reasoning: str | None = None  # id of the open reasoning block
        self.nblocks = 0
        self.think: ThinkSplitter | None = None
        self.ids: set[str] = set()
        self.ngenerated = 0
        self.ncalls = 0
        self.error = False

    # --- the wire events -----------------------------------------------------------------

    def feed(self, data: Any, event: str | None = None) -> list[dict[str, Any]] | None:
        # The hot path, measured in `make bench`: a line of content only (chat or generate),
        # written into the text block already open.
        bid = self.text
        if bid is not None and type(data) is dict and len(data) == 4 and data.get("done") is False:
            msg = data.get("message")
            if type(msg) is dict:
                content = msg.get("content") if len(msg) == 2 else None
            else:
                content = data.get("response")
            if type(content) is str and not self.think_tags:
                return [{"type": "text-delta", "id": bid, "delta": content}] if content else []
        return self._feed(data)

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
        ev: dict[str, Any] = {"type": "start", "id": None, "model": None, "dialect": NAME}
        if isinstance(data.get("model"), str):
            ev["model"] = data["model"]
        meta: dict[str, Any] = {}
        created = rfc3339_epoch(data.get("created_at"))
        if created is not None:
            ev["created"] = int(created)
            meta["created_at"] = data["created_at"]
        if "response" in data and "message" not in data:
            meta["endpoint"] = "generate"
        if meta:
            ev["provider_metadata"] = {NAME: meta}
        out.append(ev)

    def _finish(self, data: dict[str, Any], out: list[dict[str, Any]]) -> None:
        self._end_blocks(out, flush=True)
        raw = data.get("done_reason")
        if raw is None or raw == "stop":
            reason = "tool-calls" if self.ncalls else "stop"
        else:
            reason = DONE_REASONS.get(raw, "other") if isinstance(raw, str) else "other"
        fin: dict[str, Any] = {"type": "finish", "finish_reason": reason, "raw_finish_reason": raw}
        usage = map_usage(data)
        if usage is not None:
            fin["usage"] = usage
        meta = {k: data[k] for k in _DONE_FIELDS if data.get(k) is not None}
        counts = {k: data[k] for k in ("prompt_eval_count", "eval_count") if data.get(k) is not None}
        if counts:
            meta["usage"] = counts
        if meta:
            fin["provider_metadata"] = {NAME: meta}
        out.append(fin)
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
        if meta:
            ev["provider_metadata"] = {NAME: meta}
        out.append(ev)

    def _generated_id(self) -> str:
        while True:
            candidate = f"call_{self.ngenerated}"
            self.ngenerated += 1
            if candidate not in self.ids:
                self.ids.add(candidate)
                return candidate


# --- the encoder ----------------------------------------------------------------------------------


def _iso(epoch: Any) -> str:
    moment = datetime.fromtimestamp(epoch, timezone.utc) if isinstance(epoch, (int, float)) else None
    return (moment or datetime.now(timezone.utc)).isoformat().replace("+00:00", "Z")


class OllamaEncoder(Encoder):
    """Canonical events → Ollama NDJSON lines (``/api/chat``, or ``/api/generate`` for a response from there)."""

    dialect_name = NAME

    def __init__(self, *, endpoint: str | None = None, stream: bool = True, **options: Any) -> None:
        if endpoint not in (None, "chat", "generate"):
            raise UsageError(f"ollama: endpoint must be chat or generate, not {endpoint!r}")
        if not isinstance(stream, bool):
            raise UsageError(f"ollama: stream must be true or false, not {stream!r}")
        self.endpoint_option = endpoint
        #: ``stream: false`` (a request that asked for one answer): each response as one line
        self.whole = not stream
        self.pending: dict[str, Any] | None = None  # the first line of the response being gathered
        self.texts: dict[str, list[str]] = {}
        self.calls: list[Any] = []
        self.logprobs: list[Any] = []
        self._new_response()

    def _new_response(self) -> None:
        self.open = False
        self.seen = False
        self.model = ""
        self.created_at = ""
        self.generate = self.endpoint_option == "generate"
        self.ncalls = 0

    def _ensure_open(self) -> list[WireEvent]:
        if self.open:
            return []
        return self._on_start({"type": "start"})

    def _line(self, **fields: Any) -> WireEvent:
        line: dict[str, Any] = {"model": self.model, "created_at": self.created_at}
        if self.generate:
            line["response"] = fields.pop("content", "")
            line.update(fields)
        else:
            line["message"] = {"role": "assistant", "content": fields.pop("content", ""), **fields}
        line["done"] = False
        return (None, line)

    def feed(self, event: dict[str, Any]) -> list[WireEvent]:
        handler = self._handlers.get(event.get("type"))  # type: ignore[arg-type]
        if handler is None:
            return []
        if event.get("choice") and event.get("type") != "message":
            return self.drop("choices other than the first")
        out = handler(self, event)
        return self._merge(out) if self.whole else out

    def close(self) -> list[WireEvent]:
        out: list[WireEvent] = []
        if self.holding_errors:
            out += self._ensure_open()
            out += self.release_errors()
        if self.whole:
            out = self._merge(out)
            if self.pending is not None:  # cut off before its done line: what came, not done
                out.append((None, self._whole(self.pending)))
        self.report_dropped()
        return out

    def _merge(self, out: list[WireEvent]) -> list[WireEvent]:
        """``stream: false``: a response's lines gathered into its done line, as Ollama answers a
        request that does not stream (texts joined, tool calls and logprobs in order). An error
        line comes after what was gathered before it."""
        merged: list[WireEvent] = []
        for name, line in out:
            if line.get("done") is False:
                self._gather(line)
                continue
            if line.get("done") is True:
                line = self._whole(line)
            elif self.pending is not None:
                merged.append((None, self._whole(self.pending)))
            merged.append((name, line))
        return merged

    def _gather(self, line: dict[str, Any]) -> None:
        if self.pending is None:
            self.pending = line
            self.texts = {"content": [], "response": [], "thinking": []}
            self.calls = []
            self.logprobs = []
        source = line["message"] if isinstance(line.get("message"), dict) else line
        for key, parts in self.texts.items():
            if isinstance(source.get(key), str):
                parts.append(source[key])
        self.calls += source.get("tool_calls") or ()
        self.logprobs += line.get("logprobs") or ()

    def _whole(self, line: dict[str, Any]) -> dict[str, Any]:
        """``line`` (a done line, or the first line of a response cut off) holding all gathered."""
        if self.pending is None:
            return line
        texts = {key: "".join(parts) for key, parts in self.texts.items()}
        out: dict[str, Any] = {}
        for key, value in line.items():
            if key == "message":
                message: dict[str, Any] = {
                    "role": value.get("role", "assistant"),
                    "content": texts["content"],
                }
                if texts["thinking"]:
                    message["thinking"] = texts["thinking"]
                if self.calls:
                    message["tool_calls"] = self.calls
                out[key] = message
            elif key == "response":
                out[key] = texts["response"]
                if texts["thinking"]:
                    out["thinking"] = texts["thinking"]
            elif key not in ("thinking", "logprobs"):
                if key in ("done_reason", "done") and self.logprobs and "logprobs" not in out:
                    out["logprobs"] = self.logprobs
                out[key] = value
        self.pending = None
        return out

    # --- handlers --------------------------------------------------------------------------

    def _on_start(self, ev: dict[str, Any]) -> list[WireEvent]:
        self._new_response()
        self.open = True
        self.seen = True
        meta = (ev.get("provider_metadata") or {}).get(NAME) or {}
        self.model = ev.get("model") or ""
        created = meta.get("created_at")
        self.created_at = created if isinstance(created, str) else _iso(ev.get("created"))
        if self.endpoint_option is None:
            self.generate = meta.get("endpoint") == "generate"
        return []

    def _on_text_start(self, ev: dict[str, Any]) -> list[WireEvent]:
        if ev.get("refusal"):
            self.drop("refusal marks (the refusal is written as text)")
        return self._ensure_open()

    def _on_text_delta(self, ev: dict[str, Any]) -> list[WireEvent]:
        out = self._ensure_open()
        if ev.get("delta"):
            out.append(self._with_logprobs(self._line(content=ev["delta"]), ev))
        return out

    def _on_reasoning_delta(self, ev: dict[str, Any]) -> list[WireEvent]:
        out = self._ensure_open()
        if ev.get("delta"):
            out.append(self._with_logprobs(self._line(thinking=ev["delta"]), ev))
        return out

    @staticmethod
    def _with_logprobs(line: WireEvent, ev: dict[str, Any]) -> WireEvent:
        pm = ev.get("provider_metadata")
        logprobs = ((pm or {}).get(NAME) or {}).get("logprobs") if pm else None
        if logprobs:
            data = line[1]
            data["logprobs"] = logprobs
            data["done"] = data.pop("done")  # keep done last, as Ollama writes it
        return line

    def _on_tool_call(self, ev: dict[str, Any]) -> list[WireEvent]:
        if ev.get("provider_executed"):
            return self.drop("provider-executed tool calls")
        if self.generate:
            return self.drop("tool calls in /api/generate lines")
        out = self._ensure_open()
        meta = (ev.get("provider_metadata") or {}).get(NAME) or {}
        value = ev.get("input")
        if "input" not in ev or (value is None and ev.get("arguments")):
            value, _ = parse_arguments(ev.get("arguments") or "")
        if not isinstance(value, dict):
            # Ollama's arguments are always an object: a call whose arguments are not one (cut
            # off, or invalid JSON) cannot be written, and is not turned into another call
            return out + self.drop("tool calls whose arguments are not a JSON object")
        index = meta["index"] if isinstance(meta.get("index"), int) else self.ncalls
        call: dict[str, Any] = {
            "function": {"index": index, "name": ev.get("tool_name") or "", "arguments": value}
        }
        self.ncalls += 1
        if meta and not meta.get("generated_id"):
            call = {"id": ev["tool_call_id"], **call}  # an id Ollama itself sent
        out.append(self._line(tool_calls=[call]))
        return out

    def _on_tool_result(self, ev: dict[str, Any]) -> list[WireEvent]:
        if ev.get("provider_executed"):
            return self.drop("provider-executed tool results")
        return []  # a client tool's result belongs to the next request, not this stream

    def _on_source(self, ev: dict[str, Any]) -> list[WireEvent]:
        return self.drop("sources")

    def _on_file(self, ev: dict[str, Any]) -> list[WireEvent]:
        return self.drop("files")

    def _on_finish(self, ev: dict[str, Any]) -> list[WireEvent]:
        out = self._ensure_open()
        if self.holding_errors:
            out.extend(self.release_errors())
        self.open = False
        reason = ev.get("finish_reason") or "other"
        raw = ev.get("raw_finish_reason")
        meta = (ev.get("provider_metadata") or {}).get(NAME) or {}
        if reason in ("error", "other") and raw is None:
            return out  # an error or a stream cut off: Ollama then ends without a done line
        if reason == "length":
            done_reason = "length"
        elif reason == "other" and raw in ("load", "unload"):
            done_reason = raw
        else:
            if reason == "content-filter":
                self.drop("the content-filter finish reason (written as stop)")
            done_reason = "stop"
        line: dict[str, Any] = {"model": self.model, "created_at": self.created_at}
        if self.generate:
            line["response"] = ""
        else:
            line["message"] = {"role": "assistant", "content": ""}
        line["done_reason"] = done_reason
        line["done"] = True
        if self.generate and meta.get("context") is not None:
            line["context"] = meta["context"]
        usage = ev.get("usage") or {}
        counts = {"prompt_eval_count": usage.get("input_tokens"), "eval_count": usage.get("output_tokens")}
        for key in ("total_duration", "load_duration", "prompt_eval_count", "prompt_eval_duration",
                    "eval_count", "eval_duration"):  # fmt: skip
            value = counts[key] if key in counts else meta.get(key)
            if isinstance(value, int):
                line[key] = value
        out.append((None, line))
        return out

    def _on_error(self, ev: dict[str, Any]) -> list[WireEvent]:
        if ev.get("code") == "bad-input":
            return []  # a bad line upstream of us, not an upstream error
        if not self.open:
            # an error before any event of its response (``accumulate --final`` writes errors
            # before the message): held for that response, written before its finish
            return self.hold_error(ev)
        out = self._ensure_open()
        error = ((ev.get("provider_metadata") or {}).get(NAME) or {}).get("error")
        out.append((None, {"error": error if isinstance(error, str) else ev.get("message", "")}))
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

    _handlers: dict[str, Any] = {
        "start": _on_start,
        "text-start": _on_text_start,
        "text-delta": _on_text_delta,
        "reasoning-delta": _on_reasoning_delta,
        "tool-call": _on_tool_call,
        "tool-result": _on_tool_result,
        "source": _on_source,
        "file": _on_file,
        "finish": _on_finish,
        "error": _on_error,
        "message": _on_message,
    }


# --- requests -------------------------------------------------------------------------------------

#: canonical option names → Ollama model options
OPTION_NAMES = {
    "max_tokens": "num_predict",
    "temperature": "temperature",
    "top_p": "top_p",
    "stop": "stop",
    "seed": "seed",
}

#: Ollama's model options (the body's ``options`` object); any other option goes at the top level
#: of the body (``think``, ``format``, ``keep_alive``, ``logprobs``, ``top_logprobs``, ...)
MODEL_OPTIONS = frozenset({
    "numa", "num_ctx", "num_batch", "num_gpu", "main_gpu", "low_vram", "f16_kv", "logits_all",
    "vocab_only", "use_mmap", "use_mlock", "embedding_only", "num_thread", "num_keep", "seed",
    "num_predict", "top_k", "top_p", "min_p", "tfs_z", "typical_p", "repeat_last_n", "temperature",
    "repeat_penalty", "presence_penalty", "frequency_penalty", "mirostat", "mirostat_tau",
    "mirostat_eta", "penalize_newline", "stop",
})  # fmt: skip


def _output_text(output: Any) -> str:
    if isinstance(output, str):
        return output
    return "" if output is None else _dumps(output)


def _own_id(part: dict[str, Any]) -> str | None:
    """The call's id when Ollama itself sent it (not one normalize made up, nor another provider's)."""
    meta = (part.get("provider_metadata") or {}).get(NAME)
    if isinstance(meta, dict) and meta and not meta.get("generated_id"):
        return str(part["tool_call_id"])
    return None


def _user_message(content: list[dict[str, Any]], drops: RequestDrops) -> dict[str, Any]:
    text: list[str] = []
    images: list[str] = []
    for part in content:
        kind = part.get("type")
        if kind == "text":
            text.append(part.get("text") or "")
        elif kind == "file":
            media = str(part.get("media_type") or "")
            if not media.startswith("image/"):
                raise UsageError(f"ollama cannot send a {media or 'file'} file: a message takes images only")
            if part.get("url") or not part.get("data"):
                raise UsageError("ollama takes images inline (base64 data), not by URL")
            images.append(part["data"])
        else:
            drops.add(f"{kind} parts in user turns")
    out: dict[str, Any] = {"role": "user", "content": "".join(text)}
    if images:
        out["images"] = images
    return out


def _assistant_message(
    content: list[dict[str, Any]], drops: RequestDrops, calls: dict[str, tuple[str, str | None]]
) -> dict[str, Any]:
    text: list[str] = []
    thinking: list[str] = []
    tool_calls: list[dict[str, Any]] = []
    for part in content:
        kind = part.get("type")
        if kind == "text":
            text.append(part.get("text") or "")
        elif kind == "reasoning":
            thinking.append(part.get("text") or "")
        elif kind == "tool-call" and not part.get("provider_executed"):
            call: dict[str, Any] = {
                "function": {"name": part["tool_name"], "arguments": object_input(part, drops)}
            }
            own_id = _own_id(part)
            if own_id:
                call = {"id": own_id, **call}
            calls[part["tool_call_id"]] = (part["tool_name"], own_id)
            tool_calls.append(call)
        elif kind in ("tool-call", "tool-result"):
            drops.add("provider-executed tools")
        elif kind == "file":
            drops.add("files of assistant turns")
    out: dict[str, Any] = {"role": "assistant", "content": "".join(text)}
    if "".join(thinking):
        out["thinking"] = "".join(thinking)
    if tool_calls:
        out["tool_calls"] = tool_calls
    return out


def ollama_messages(conversation: dict[str, Any], drops: RequestDrops) -> list[dict[str, Any]]:
    """Canonical messages → Ollama ``messages``: the system prompt first, user turns with their
    images, assistant turns with ``content``, ``thinking`` and ``tool_calls``, and one ``tool``
    message per result (``tool_name``; the call's id as ``tool_call_id`` when Ollama sent one)."""
    from ..conversation import system_text

    messages: list[dict[str, Any]] = []
    system = system_text(conversation)
    if system:
        messages.append({"role": "system", "content": system})
    calls: dict[str, tuple[str, str | None]] = {}  # tool call id -> (tool name, Ollama's own id)
    for message in conversation.get("messages", ()):
        role = message["role"]
        if role == "user":
            messages.append(_user_message(message["content"], drops))
        elif role == "assistant":
            messages.append(_assistant_message(message["content"], drops, calls))
        elif role == "tool":
            name, own_id = calls.get(message["tool_call_id"], (None, None))
            out: dict[str, Any] = {"role": "tool", "content": _output_text(message.get("output"))}
            name = message.get("tool_name") or name
            if name:
                out["tool_name"] = name
            if own_id:
                out["tool_call_id"] = own_id
            messages.append(out)
    return messages


def ollama_request_body(conversation: dict[str, Any], model: str | None) -> dict[str, Any]:
    """A canonical conversation → the ``/api/chat`` body."""
    model = model or conversation.get("model")
    if not model:
        raise UsageError(
            'no model: pass -m MODEL (llama3.2), put "model" in the conversation, or set STREAMKIT_MODEL'
        )
    drops = RequestDrops(NAME)
    body: dict[str, Any] = {"model": model, "messages": ollama_messages(conversation, drops)}
    if conversation.get("tools"):
        body["tools"] = [
            {"type": "function", "function": {"name": t["name"], "description": t.get("description", ""),
                                              "parameters": t.get("parameters") or {"type": "object", "properties": {}}}}
            for t in conversation["tools"]
        ]  # fmt: skip
    options: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in (conversation.get("options") or {}).items():
        name = OPTION_NAMES.get(key, key)
        if name == "stop" and isinstance(value, str):
            value = [value]  # Ollama takes a list only
        if name in MODEL_OPTIONS:
            options[name] = value
        elif name == "options" and isinstance(value, dict):
            options.update(value)
        else:
            extra[key] = value
    if options:
        body["options"] = options
    body.update(extra)
    body["stream"] = True
    drops.warn()
    return body


class Ollama(Dialect):
    name = NAME
    description = "Ollama /api/chat and /api/generate NDJSON"
    framing = "ndjson"
    default_base_url = "http://localhost:11434"
    default_port = 11434  # OLLAMA_HOST=host (no port) means this port, as the ollama client reads it
    base_url_env = ("OLLAMA_HOST",)
    api_key_env = ("OLLAMA_API_KEY",)
    serve_paths = ("/api/chat", "/api/generate")

    def build_request(
        self, conversation: dict[str, Any] | None, endpoint: Endpoint, *, body: Any = None
    ) -> Request:
        """``/api/chat`` for a conversation; a native body is sent as it is, to ``/api/generate``
        when it has a ``prompt`` and no ``messages``."""
        if body is None:
            body = ollama_request_body(conversation or {"messages": []}, endpoint.model)
            path = "/api/chat"
        else:
            generate = isinstance(body, dict) and "prompt" in body and "messages" not in body
            path = "/api/generate" if generate else "/api/chat"
        headers = {"Content-Type": "application/json", "Accept": "application/x-ndjson"}
        if endpoint.api_key:
            headers["Authorization"] = f"Bearer {endpoint.api_key}"  # Ollama's cloud, or a proxy
        return Request(f"{endpoint.base_url}{path}", body, headers, framing="ndjson")

    def serve_options(self, path: str, params: dict[str, str], body: Any) -> dict[str, Any]:
        """``/api/generate`` is answered with generate lines, ``/api/chat`` with chat lines; a
        request with ``stream: false`` with one line (the response whole, as Ollama answers it)."""
        options: dict[str, Any] = {
            "endpoint": "generate" if path.rstrip("/").endswith("/api/generate") else "chat"
        }
        if isinstance(body, dict) and body.get("stream") is False:
            options["stream"] = False
        return options

    def sniff(self, data: Any, event: str | None = None) -> bool:
        if type(data) is not dict:
            return False
        if isinstance(data.get("done"), bool) and "model" in data:
            return isinstance(data.get("message"), dict) or isinstance(data.get("response"), str)
        # an error line: {"error": "model 'x' not found"}
        return len(data) == 1 and isinstance(data.get("error"), str)

    def normalizer(self, **options: Any) -> OllamaNormalizer:
        return OllamaNormalizer(**options)

    def encoder(self, **options: Any) -> OllamaEncoder:
        return OllamaEncoder(**options)
