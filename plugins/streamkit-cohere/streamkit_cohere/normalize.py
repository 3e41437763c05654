"""Cohere v2 chat stream events → canonical events (what becomes of each: see the package's
docstring)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from streamkit import Normalizer
from streamkit.canonical import tool_call
from streamkit.dialects.base import token_counts, wire_string
from streamkit.errors import DataError

from .wire import _TOOL_PLAN, FINISH_REASONS, NAME, map_usage

#: the content index while no content block is open (or a tool plan is): equal to no wire index
_NO_INDEX = object()


def _message(data: dict[str, Any]) -> dict[str, Any]:
    """``data.delta.message`` (an empty dict when absent)."""
    delta = data.get("delta")
    message = delta.get("message") if isinstance(delta, dict) else None
    return message if isinstance(message, dict) else {}


class _Call:
    __slots__ = ("args", "id", "name")

    def __init__(self, call_id: str, name: str) -> None:
        self.id = call_id
        self.name = name
        self.args: list[str] = []


class CohereNormalizer(Normalizer):
    """One Cohere v2 chat stream (possibly several responses, each opened by ``message-start``)."""

    checks_types = True  # (tests/test_cohere_golden.py: wrong_types)

    def __init__(self, **options: Any) -> None:
        self._call_ids = 0
        self._reset()

    def _reset(self) -> None:
        self.started = False
        self.block: str | None = None  # id of the open text or reasoning block
        self.kind: str | None = None  # its kind: text, reasoning, or plan (a tool plan)
        self.index: Any = _NO_INDEX  # its content index (the hot path compares it)
        self.key: str | None = None  # the member of its content deltas' content with the text
        self.delta_type: str | None = None  # the type of its deltas' events
        self.calls: dict[Any, _Call] = {}  # tool call index -> open call
        self.nblocks = 0
        self.nsources = 0

    # --- the wire events -----------------------------------------------------------------

    def feed(self, data: Any, event: str | None = None) -> list[dict[str, Any]] | None:
        if type(data) is not dict:
            return None
        # The hot path, measured in `make bench`: a content delta in the open block, a tool plan
        # delta in the open plan, a fragment of an open tool call's arguments, the end of the
        # open block. Looked up by subscripts (a missing member or a value of another type
        # raises): anything else, or anything odd, goes the long way, which says what is wrong.
        try:
            kind = data["type"]
            if kind == "content-delta":
                content = data["delta"]["message"]["content"]
                text = content[self.key]
                if (
                    data["index"] == self.index
                    and type(text) is str
                    and len(content) == 1
                    and "logprobs" not in data
                ):
                    return [{"type": self.delta_type, "id": self.block, "delta": text}] if text else []
            elif kind == "tool-plan-delta":
                plan = data["delta"]["message"]["tool_plan"]
                if self.kind == "plan" and type(plan) is str:
                    return [{"type": "reasoning-delta", "id": self.block, "delta": plan}] if plan else []
                if self.started and self.block is None and type(plan) is str:  # the plan's first delta
                    block = self.block = f"reasoning-{self.nblocks}"
                    self.nblocks += 1
                    self.kind, self.key, self.delta_type = "plan", "thinking", "reasoning-delta"
                    self.index = _NO_INDEX
                    start = {"type": "reasoning-start", "id": block, "provider_metadata": _TOOL_PLAN}
                    return (
                        [start, {"type": "reasoning-delta", "id": block, "delta": plan}] if plan else [start]
                    )
            elif kind == "tool-call-delta":
                call = self.calls.get(data.get("index"))
                fragment = data["delta"]["message"]["tool_calls"]["function"]["arguments"]
                if call is not None and type(fragment) is str:
                    if not fragment:
                        return []
                    call.args.append(fragment)
                    return [{"type": "tool-input-delta", "id": call.id, "delta": fragment}]
            elif kind == "content-end":
                if self.block is not None and self.index == data["index"]:
                    # (a tool plan's index matches no wire index: the block is text or thinking)
                    ev = {"type": "text-end" if self.kind == "text" else "reasoning-end", "id": self.block}
                    self.block = self.kind = self.key = self.delta_type = None
                    self.index = _NO_INDEX
                    return [ev]
                return []
            # The structural events of a response in their usual shapes, each in one step
            elif kind == "content-start":
                content = data["delta"]["message"]["content"]
                if self.started and self.block is None and type(content) is dict:
                    if content.get("type") == "thinking":
                        if content.get("thinking") == "":
                            block = self.block = f"reasoning-{self.nblocks}"
                            self.nblocks += 1
                            self.kind, self.key, self.delta_type = "reasoning", "thinking", "reasoning-delta"
                            self.index = data.get("index")
                            return [{"type": "reasoning-start", "id": block}]
                    elif content.get("text") == "":
                        block = self.block = f"text-{self.nblocks}"
                        self.nblocks += 1
                        self.kind, self.key, self.delta_type = "text", "text", "text-delta"
                        self.index = data.get("index")
                        return [{"type": "text-start", "id": block}]
            elif kind == "tool-call-start":
                tc = data["delta"]["message"]["tool_calls"]
                if self.started and type(tc) is dict:
                    fn = tc.get("function")
                    index = data.get("index")
                    # a new call with no arguments yet, after the open block: its usual start
                    if type(fn) is dict and fn.get("arguments") == "" and index not in self.calls:
                        out = []
                        if self.block is not None:
                            self._end_block(out)
                        call = _Call(
                            wire_string(tc.get("id") or self._new_call_id(), "a tool call's id"),
                            wire_string(fn.get("name") or "", "a tool call's function.name"),
                        )
                        self.calls[index] = call
                        out.append({"type": "tool-input-start", "id": call.id, "tool_name": call.name})
                        return out
            elif kind == "message-start":
                if not self.started:  # (then the state is as _reset leaves it)
                    self.started = True
                    return [{"type": "start", "id": data.get("id"), "model": None, "dialect": NAME}]
            elif kind == "message-end":
                delta = data["delta"]
                if self.started and self.block is None and not self.calls and type(delta) is dict:
                    reason = delta.get("finish_reason")
                    usage = delta.get("usage")
                    if type(reason) is str and type(usage) is dict and not delta.get("error"):
                        # map_usage's usual case: the tokens processed, and the cache hits
                        tokens = usage.get("tokens")
                        cached = usage.get("cached_tokens")
                        if (
                            type(tokens) is dict
                            and type(count_in := tokens.get("input_tokens")) is int
                            and type(count_out := tokens.get("output_tokens")) is int
                            and type(cached) is int
                        ):
                            # what _finish's _reset leaves (no block, no call open)
                            self.started = False
                            self.nblocks = self.nsources = 0
                            return [
                                {
                                    "type": "finish",
                                    "finish_reason": FINISH_REASONS.get(reason, "other"),
                                    "raw_finish_reason": reason,
                                    "usage": {
                                        "input_tokens": count_in,
                                        "output_tokens": count_out,
                                        "cached_input_tokens": cached,
                                    },
                                    "provider_metadata": {NAME: {"usage": usage}},
                                }
                            ]
        except (KeyError, TypeError):
            kind = data.get("type")
        handler = _HANDLERS.get(kind)  # type: ignore[arg-type]
        if handler is None:
            return None
        return handler(self, data)

    def close(self) -> list[dict[str, Any]]:
        if not self.started:
            return []
        return self._finish(None, None, [])

    # --- one handler per event type --------------------------------------------------------

    def _on_message_start(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        out = self._finish(None, None, []) if self.started else []
        self._start(out, data.get("id"))
        return out

    def _on_content_start(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        content = _message(data).get("content")
        if not isinstance(content, dict):
            raise DataError("a content-start event without delta.message.content")
        kind = "reasoning" if content.get("type") == "thinking" else "text"
        self._open(kind, data.get("index"), out)
        self._content(content, out)
        return out

    def _on_content_delta(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        content = _message(data).get("content")
        if not isinstance(content, dict):
            raise DataError("a content-delta event without delta.message.content")
        index = data.get("index")
        if self.block is None or self.index != index or self.kind == "plan":
            # a delta with no content-start: open the block its content says
            self._open("reasoning" if "thinking" in content else "text", index, out)
        self._content(content, out, data.get("logprobs"))
        return out

    def _on_content_end(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if self.block is not None and self.index == data.get("index"):
            self._end_block(out)
        return out

    def _on_tool_plan(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        plan = _message(data).get("tool_plan")
        if not isinstance(plan, str):
            raise DataError("a tool-plan-delta event without delta.message.tool_plan")
        if self.kind != "plan":
            self._open("plan", None, out)
        if plan:
            out.append({"type": "reasoning-delta", "id": self.block, "delta": plan})
        return out

    def _on_tool_call_start(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        self._ensure_started(out)
        self._end_block(out)
        tc = _message(data).get("tool_calls")
        if not isinstance(tc, dict):
            raise DataError("a tool-call-start event without delta.message.tool_calls")
        fn = tc.get("function")
        if not isinstance(fn, dict):
            fn = {}
        call = _Call(
            wire_string(tc.get("id") or self._new_call_id(), "a tool call's id"),
            wire_string(fn.get("name") or "", "a tool call's function.name"),
        )
        index = data.get("index")
        previous = self.calls.pop(index, None)
        if previous is not None:  # a start for an index still open: that call is complete
            self._complete(previous, out)
        self.calls[index] = call
        out.append({"type": "tool-input-start", "id": call.id, "tool_name": call.name})
        self._arguments(call, fn.get("arguments"), out)
        return out

    def _on_tool_call_delta(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        call = self.calls.get(data.get("index"))
        if call is None:
            raise DataError(
                f"a tool-call-delta for index {data.get('index')}, which no tool-call-start opened"
            )
        tc = _message(data).get("tool_calls")
        fn = tc.get("function") if isinstance(tc, dict) else None
        self._arguments(call, fn.get("arguments") if isinstance(fn, dict) else None, out)
        return out

    def _on_tool_call_end(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        call = self.calls.pop(data.get("index"), None)
        if call is not None:
            self._complete(call, out)
        return out

    def _on_citation_start(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        citation = _message(data).get("citations")
        if not isinstance(citation, dict):
            raise DataError("a citation-start event without delta.message.citations")
        self._ensure_started(out)
        ev: dict[str, Any] = {"type": "source", "source_type": "document", "id": f"cite-{self.nsources}"}
        self.nsources += 1
        url, title = _locate(citation.get("sources"))
        if url:
            ev["source_type"] = "url"
            ev["url"] = url
        if title:
            ev["title"] = title
        ev["provider_metadata"] = {NAME: {"citation": citation}}
        out.append(ev)
        return out

    def _on_citation_end(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        return []  # framing: the citation was whole at its start

    def _on_message_end(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        delta = data.get("delta")
        if not isinstance(delta, dict):
            delta = {}
        out: list[dict[str, Any]] = []
        self._ensure_started(out)
        error = delta.get("error")
        if error:
            self._end_blocks(out)
            out.append(
                {"type": "error", "message": str(error), "provider_metadata": {NAME: {"error": error}}}
            )
        reason = delta.get("finish_reason")
        return self._finish(reason if isinstance(reason, str) else None, delta.get("usage"), out, bool(error))

    def _on_debug(self, data: dict[str, Any]) -> None:
        return None  # the prompt as rendered: no canonical meaning

    # --- blocks ------------------------------------------------------------------------------

    def _start(self, out: list[dict[str, Any]], response_id: Any = None) -> None:
        self._reset()
        self.started = True
        out.append({"type": "start", "id": response_id, "model": None, "dialect": NAME})

    def _ensure_started(self, out: list[dict[str, Any]]) -> None:
        if not self.started:
            self._start(out)

    def _open(self, kind: str, index: Any, out: list[dict[str, Any]]) -> None:
        self._ensure_started(out)
        self._end_block(out)
        canonical = "text" if kind == "text" else "reasoning"
        block = self.block = f"{canonical}-{self.nblocks}"
        self.nblocks += 1
        self.kind = kind
        self.index = _NO_INDEX if kind == "plan" else index
        self.key = "text" if kind == "text" else "thinking"
        self.delta_type = f"{canonical}-delta"
        ev: dict[str, Any] = {"type": f"{canonical}-start", "id": block}
        if kind == "plan":
            ev["provider_metadata"] = _TOOL_PLAN
        out.append(ev)

    def _content(self, content: dict[str, Any], out: list[dict[str, Any]], logprobs: Any = None) -> None:
        text = content.get("text") if self.kind == "text" else content.get("thinking")
        if text is not None and not isinstance(text, str):
            raise DataError(f"content text is a {type(text).__name__}, expected a string")
        if text:
            ev: dict[str, Any] = {
                "type": "text-delta" if self.kind == "text" else "reasoning-delta",
                "id": self.block,
                "delta": text,
            }
            if logprobs:
                ev["provider_metadata"] = {NAME: {"logprobs": logprobs}}
            out.append(ev)

    def _end_block(self, out: list[dict[str, Any]]) -> None:
        if self.block is None:
            return
        if self.kind == "text":
            out.append({"type": "text-end", "id": self.block})
        elif self.kind == "plan":
            out.append({"type": "reasoning-end", "id": self.block, "provider_metadata": _TOOL_PLAN})
        else:
            out.append({"type": "reasoning-end", "id": self.block})
        self.block = self.kind = self.key = self.delta_type = None
        self.index = _NO_INDEX

    def _end_blocks(self, out: list[dict[str, Any]]) -> None:
        self._end_block(out)
        calls, self.calls = self.calls, {}
        for call in calls.values():
            self._complete(call, out)

    def _arguments(self, call: _Call, fragment: Any, out: list[dict[str, Any]]) -> None:
        if fragment is not None and not isinstance(fragment, str):
            from orjson import dumps

            fragment = dumps(fragment).decode()
        if fragment:
            call.args.append(fragment)
            out.append({"type": "tool-input-delta", "id": call.id, "delta": fragment})

    @staticmethod
    def _complete(call: _Call, out: list[dict[str, Any]]) -> None:
        out.append({"type": "tool-input-end", "id": call.id})
        arguments = "".join(call.args)
        ev = tool_call(call.id, call.name, arguments)
        out.append(ev)

    def _new_call_id(self) -> str:
        call_id = f"{self.call_id_prefix}{self._call_ids}"
        self._call_ids += 1
        return call_id

    def _finish(
        self, raw: str | None, usage: Any, out: list[dict[str, Any]], error: bool = False
    ) -> list[dict[str, Any]]:
        self._end_blocks(out)
        if raw is not None:
            reason = FINISH_REASONS.get(raw, "other")
        else:
            reason = "error" if error else "other"
        fin: dict[str, Any] = {"type": "finish", "finish_reason": reason, "raw_finish_reason": raw}
        if isinstance(usage, dict):
            fin["usage"] = token_counts(map_usage(usage))
            fin["provider_metadata"] = {NAME: {"usage": usage}}
        out.append(fin)
        self._reset()
        return out


def _locate(sources: Any) -> tuple[str | None, str | None]:
    """The URL and title of a citation: from its first source with a URL, else its first source."""
    first: tuple[str | None, str | None] | None = None
    for source in sources if isinstance(sources, list) else ():
        if not isinstance(source, dict):
            continue
        body = source.get("document") if source.get("type") != "tool" else source.get("tool_output")
        if not isinstance(body, dict):
            body = {}
        url = body.get("url") if isinstance(body.get("url"), str) else None
        title = body.get("title") if isinstance(body.get("title"), str) else None
        if url:
            return url, title
        if first is None:
            first = (None, title)
    return first or (None, None)


_HANDLERS: dict[str, Callable[..., Any]] = {
    "message-start": CohereNormalizer._on_message_start,
    "content-start": CohereNormalizer._on_content_start,
    "content-delta": CohereNormalizer._on_content_delta,
    "content-end": CohereNormalizer._on_content_end,
    "tool-plan-delta": CohereNormalizer._on_tool_plan,
    "tool-call-start": CohereNormalizer._on_tool_call_start,
    "tool-call-delta": CohereNormalizer._on_tool_call_delta,
    "tool-call-end": CohereNormalizer._on_tool_call_end,
    "citation-start": CohereNormalizer._on_citation_start,
    "citation-end": CohereNormalizer._on_citation_end,
    "message-end": CohereNormalizer._on_message_end,
    "debug": CohereNormalizer._on_debug,
}
