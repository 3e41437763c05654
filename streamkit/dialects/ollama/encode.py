"""Canonical events → Ollama NDJSON lines (the encoder behind ``render -f ollama`` and ``serve``).

``render -f ollama`` writes ``/api/chat`` lines (``/api/generate`` lines for a response that came
from there): one line per text or thinking delta, one per tool call (arguments as an object, the
call's ``function.index``), and the final ``done`` line with ``done_reason``, the counts when
usage is known and the durations when they came from Ollama. An error becomes an
``{"error": ...}`` line (one that comes before its response's events, as ``accumulate --final``
writes it, inside that response); a response cut off, or ended by an error, gets no ``done`` line, as on the
wire. Ollama's tool-call arguments are always an object: a call whose arguments are not one (cut
off, or invalid JSON) cannot be written and is dropped with a warning, as are sources, files,
provider-executed tools, other dialects' redacted or encrypted reasoning, choices other than
the first, tool calls in ``/api/generate`` lines
(``-O endpoint=generate`` forces those, ``endpoint=chat`` chat lines); a refusal is written as
text, with a warning. ``-O stream=false`` writes each response as the one line Ollama answers a
request that does not stream (texts joined, tool calls and logprobs gathered, in its done line;
a response cut off or ended by an error: what came, not done, then the error line).
``-O model=NAME`` writes that model name on every line instead of the upstream's (Ollama echoes
the model a request named; ``serve``'s gateway passes the client's). :func:`whole_line` is the
one line of a response from its accumulated ``message`` (``Ollama.whole_response``).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from ...canonical import message_to_events, parse_arguments
from ...errors import UsageError
from .._hidden import HIDDEN_REASONING, hidden_reasoning
from ..base import PLAIN_HOLE, Encoder, PlainDelta, WireEvent, unix_time
from .wire import NAME


def _iso(epoch: Any) -> str:
    seconds = unix_time(epoch)
    moment = datetime.now(timezone.utc) if seconds is None else datetime.fromtimestamp(seconds, timezone.utc)
    return moment.isoformat().replace("+00:00", "Z")


class OllamaEncoder(Encoder):
    """Canonical events → Ollama NDJSON lines (``/api/chat``, or ``/api/generate`` for a response from there)."""

    dialect_name = NAME

    def __init__(
        self, *, endpoint: str | None = None, stream: bool = True, model: str | None = None, **options: Any
    ) -> None:
        if endpoint not in (None, "chat", "generate"):
            raise UsageError(f"ollama: endpoint must be chat or generate, not {endpoint!r}")
        if not isinstance(stream, bool):
            raise UsageError(f"ollama: stream must be true or false, not {stream!r}")
        if model is not None and not isinstance(model, str):
            raise UsageError(f"ollama: model must be a model name, not {model!r}")
        self.endpoint_option = endpoint
        #: the model name written on every line (the request's), else the upstream's
        self.model_option = model or None
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
        self.templates: dict[str, PlainDelta] = {}  # (see _template)
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
        self.plain_delta = None
        handler = self._handlers.get(event.get("type"))  # type: ignore[arg-type]
        if handler is None:
            return self.unhandled(event)
        if event.get("choice") and event.get("type") != "message":
            return self.drop("choices other than the first")
        out = handler(self, event)
        if self.plain_delta is not None:
            self.template_for(event)
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
        self.model = self.model_option or ev.get("model") or ""
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
            if self.templates_wanted:
                self._template(ev, content=PLAIN_HOLE)
        return out

    def _on_reasoning_delta(self, ev: dict[str, Any]) -> list[WireEvent]:
        out = self._ensure_open()
        if ev.get("delta"):
            out.append(self._with_logprobs(self._line(thinking=ev["delta"]), ev))
            if self.templates_wanted:
                self._template(ev, thinking=PLAIN_HOLE)
        return out

    def _template(self, ev: dict[str, Any], **fields: Any) -> None:
        """The next delta of the block: its own line (see Encoder.plain_delta). Not for a delta
        with logprobs or any other field, nor for ``stream: false`` (one line at the end)."""
        if len(ev) == 3 and not self.whole:
            template = self.templates.get(ev["type"])  # (the same for every block of the response)
            if template is None:
                template = self.templates[ev["type"]] = PlainDelta(
                    ev["type"], "", None, self._line(**fields)[1]
                )
            template.block_id = ev["id"]
            self.plain_delta = template

    def _on_reasoning_end(self, ev: dict[str, Any]) -> list[WireEvent]:
        if hidden_reasoning(ev, NAME):
            self.drop(HIDDEN_REASONING)  # a thinking line has no place for it
        return []

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
        "reasoning-end": _on_reasoning_end,
        "tool-call": _on_tool_call,
        "tool-result": _on_tool_result,
        "source": _on_source,
        "file": _on_file,
        "finish": _on_finish,
        "error": _on_error,
        "message": _on_message,
    }


def whole_line(messages: list[dict[str, Any]], **options: Any) -> dict[str, Any]:
    """Ollama's one line for a request that did not stream, from the response's accumulated
    ``message`` events (the first choice; ``options`` are the encoder's: ``endpoint``, ``model``):
    ``done: true`` with the whole message (``response`` for ``/api/generate``), the done reason,
    the counts and the durations the message's ``provider_metadata`` holds. A response cut off
    (no finish) is what came, ``done: false``."""
    encoder = OllamaEncoder(**{**options, "stream": False})
    lines: list[WireEvent] = []
    for message in messages:
        events = list(message_to_events(message))
        if message.get("provider_metadata") and events[-1].get("type") == "finish":
            # the done line's durations and context, which accumulate kept on the message
            events[-1]["provider_metadata"] = message["provider_metadata"]
        for event in events:
            lines += encoder.feed(event)
    lines += encoder.close()
    for _, line in lines:
        if isinstance(line, dict) and "done" in line:
            return line
    line = {"model": encoder.model_option or "", "created_at": _iso(None)}
    if options.get("endpoint") == "generate":
        line["response"] = ""
    else:
        line["message"] = {"role": "assistant", "content": ""}
    line["done"] = False
    return line
