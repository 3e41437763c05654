"""Canonical events → ConverseStream events (``render -f bedrock``: binary event-stream frames
whose every event validates against botocore's ConverseStream shapes)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from streamkit import Encoder
from streamkit.canonical import message_to_events

from .wire import (
    _FINISH_FIELDS,
    _IMAGE_FORMATS,
    EXCEPTIONS,
    FINISH_REASONS,
    NAME,
    STOP_REASONS,
    WIRE_FINISH_REASONS,
    wire_usage,
)


class BedrockEncoder(Encoder):
    """Canonical events → ConverseStream events (framed as binary event-stream frames).

    Each response is ``messageStart``, its content blocks (numbered in order), ``messageStop``
    and ``metadata``. What ConverseStream cannot say is dropped with a warning: files that are
    not images, choices other than the first, other dialects' redacted or encrypted reasoning. A finish of ``error`` or ``other`` whose original
    reason is not a Bedrock stop reason writes no ``messageStop`` (the stream ends as it did).
    """

    dialect_name = NAME

    def __init__(self, **options: Any) -> None:
        self.held_errors: list[dict[str, Any]] = []  # errors that came before their response's events
        self._new_response()

    def _new_response(self) -> None:
        self.open = False  # between messageStart and the finish
        self.seen = False  # this response was written from its events (its message is a summary)
        self.errored = False
        self.nindex = 0
        self.blocks: dict[str, int] = {}  # open text/reasoning block id -> contentBlockIndex
        self.text_index: int | None = None  # the open text block's index (citations go there)
        self.calls: dict[str, int] = {}  # tool call id -> index of its open toolUse block
        self.done: set[str] = set()  # tool calls already written whole

    def feed(self, event: dict[str, Any]) -> list[tuple[str | None, Any]]:
        handler = _ENCODERS.get(event.get("type"))  # type: ignore[arg-type]
        if handler is None:
            return self.unhandled(event)
        if event.get("choice"):
            return self.drop("choices other than the first")
        return handler(self, event)

    def close(self) -> list[tuple[str | None, Any]]:
        out = self._flush_errors() if self.held_errors else []
        if self.open:
            out.extend(self._stop_open_blocks())
        self.report_dropped()
        return out

    def _flush_errors(self) -> list[tuple[str | None, Any]]:
        out = self._ensure_open()
        held, self.held_errors = self.held_errors, []
        for ev in held:
            out.extend(self._on_error(ev))
        return out

    # --- helpers -------------------------------------------------------------------------------

    def _ensure_open(self) -> list[tuple[str | None, Any]]:
        return [] if self.open else self._on_start({"type": "start"})

    def _index(self) -> int:
        index = self.nindex
        self.nindex += 1
        return index

    @staticmethod
    def _delta(index: int, delta: dict[str, Any]) -> tuple[str, Any]:
        return ("contentBlockDelta", {"contentBlockIndex": index, "delta": delta})

    @staticmethod
    def _stop(index: int) -> tuple[str, Any]:
        return ("contentBlockStop", {"contentBlockIndex": index})

    def _stop_open_blocks(self) -> list[tuple[str | None, Any]]:
        out: list[tuple[str | None, Any]] = [self._stop(i) for i in self.blocks.values()]
        out.extend(self._stop(i) for i in self.calls.values())
        self.done.update(self.calls)
        self.blocks, self.calls, self.text_index = {}, {}, None
        return out

    def _block(self, block_id: str, text: bool) -> tuple[int, list[tuple[str | None, Any]]]:
        out = self._ensure_open()
        index = self.blocks.get(block_id)
        if index is None:
            index = self.blocks[block_id] = self._index()
            if text:
                self.text_index = index
        return index, out

    def _end_block(self, block_id: str) -> int | None:
        index = self.blocks.pop(block_id, None)
        if index is not None and index == self.text_index:
            self.text_index = None
        return index

    # --- handlers ------------------------------------------------------------------------------

    def _on_start(self, ev: dict[str, Any]) -> list[tuple[str | None, Any]]:
        out = self._stop_open_blocks() if self.open else []
        self._new_response()
        self.open = self.seen = True
        out.append(("messageStart", {"role": "assistant"}))
        return out

    def _on_text_start(self, ev: dict[str, Any]) -> list[tuple[str | None, Any]]:
        return self._block(ev["id"], True)[1]

    def _on_text_delta(self, ev: dict[str, Any]) -> list[tuple[str | None, Any]]:
        index, out = self._block(ev["id"], True)
        if ev.get("delta"):
            out.append(self._delta(index, {"text": ev["delta"]}))
        return out

    def _on_text_end(self, ev: dict[str, Any]) -> list[tuple[str | None, Any]]:
        index = self._end_block(ev["id"])
        if index is None:
            if not ev.get("text"):
                return []
            # an end with its text and no deltas before it
            index, out = self._block(ev["id"], True)
            out.append(self._delta(index, {"text": ev["text"]}))
            self._end_block(ev["id"])
            return [*out, self._stop(index)]
        return [self._stop(index)]

    def _on_reasoning_start(self, ev: dict[str, Any]) -> list[tuple[str | None, Any]]:
        return self._block(ev["id"], False)[1]

    def _on_reasoning_delta(self, ev: dict[str, Any]) -> list[tuple[str | None, Any]]:
        index, out = self._block(ev["id"], False)
        if ev.get("delta"):
            out.append(self._delta(index, {"reasoningContent": {"text": ev["delta"]}}))
        return out

    def _on_reasoning_end(self, ev: dict[str, Any]) -> list[tuple[str | None, Any]]:
        out: list[tuple[str | None, Any]] = []
        index = self._end_block(ev["id"])
        if index is None:  # an end with no start: the block is whatever it says
            out = self._ensure_open()
            index = self._index()
            if ev.get("text"):
                out.append(self._delta(index, {"reasoningContent": {"text": ev["text"]}}))
        if _foreign_hidden_reasoning(ev):
            self.drop("redacted or encrypted reasoning from other dialects")
        meta = (ev.get("provider_metadata") or {}).get(NAME) or {}
        if meta.get("redacted_data"):
            out.append(
                self._delta(
                    index,
                    {"reasoningContent": {"redactedContent": meta["redacted_data"]}},
                )
            )
        if meta.get("signature"):
            out.append(self._delta(index, {"reasoningContent": {"signature": meta["signature"]}}))
        out.append(self._stop(index))
        return out

    def _on_tool_input_start(self, ev: dict[str, Any]) -> list[tuple[str | None, Any]]:
        out = self._ensure_open()
        index = self.calls[ev["id"]] = self._index()
        out.append(self._tool_start(index, ev["id"], ev.get("tool_name") or "", ev.get("provider_executed")))
        return out

    @staticmethod
    def _tool_start(index: int, call_id: str, name: str, executed: Any) -> tuple[str, Any]:
        tool: dict[str, Any] = {"toolUseId": call_id, "name": name}
        if executed:
            tool["type"] = "server_tool_use"
        return (
            "contentBlockStart",
            {"contentBlockIndex": index, "start": {"toolUse": tool}},
        )

    def _on_tool_input_delta(self, ev: dict[str, Any]) -> list[tuple[str | None, Any]]:
        index = self.calls.get(ev["id"])
        if index is None or not ev.get("delta"):
            return []  # a fragment of a call never started: its tool-call carries the whole input
        return [self._delta(index, {"toolUse": {"input": ev["delta"]}})]

    def _on_tool_input_end(self, ev: dict[str, Any]) -> list[tuple[str | None, Any]]:
        index = self.calls.pop(ev["id"], None)
        if index is None:
            return []
        self.done.add(ev["id"])
        return [self._stop(index)]

    def _on_tool_call(self, ev: dict[str, Any]) -> list[tuple[str | None, Any]]:
        call_id = ev["tool_call_id"]
        if call_id in self.done:
            return []
        index = self.calls.pop(call_id, None)
        self.done.add(call_id)
        if index is not None:
            return [self._stop(index)]
        out = self._ensure_open()
        index = self._index()
        arguments = ev.get("arguments")
        if arguments is None:
            from orjson import dumps

            arguments = dumps(ev.get("input") if ev.get("input") is not None else {}).decode()
        out.append(self._tool_start(index, call_id, ev.get("tool_name") or "", ev.get("provider_executed")))
        if arguments:
            out.append(self._delta(index, {"toolUse": {"input": arguments}}))
        out.append(self._stop(index))
        return out

    def _on_tool_result(self, ev: dict[str, Any]) -> list[tuple[str | None, Any]]:
        if not ev.get("provider_executed"):
            return []  # a client tool's result belongs to the next request, not this stream
        out = self._ensure_open()
        meta = (ev.get("provider_metadata") or {}).get(NAME) or {}
        result: dict[str, Any] = {"toolUseId": ev["tool_call_id"]}
        if meta.get("type"):
            result["type"] = meta["type"]
        result["status"] = "error" if ev.get("is_error") else "success"
        items = meta.get("content")
        if not isinstance(items, list):
            output = ev.get("output")
            items = [{"text": output}] if isinstance(output, str) else [{"json": output}]
        index = self._index()
        out.append(
            (
                "contentBlockStart",
                {"contentBlockIndex": index, "start": {"toolResult": result}},
            )
        )
        out.append(self._delta(index, {"toolResult": items}))
        out.append(self._stop(index))
        return out

    def _on_source(self, ev: dict[str, Any]) -> list[tuple[str | None, Any]]:
        out = self._ensure_open()
        citation = ((ev.get("provider_metadata") or {}).get(NAME) or {}).get("citation")
        if not isinstance(citation, dict):
            citation = {}
            if ev.get("title"):
                citation["title"] = ev["title"]
            if ev.get("source_type") == "url" and ev.get("url"):
                citation["location"] = {"web": {"url": ev["url"]}}
        if self.text_index is not None:
            out.append(self._delta(self.text_index, {"citation": citation}))
        else:
            index = self._index()
            out.extend((self._delta(index, {"citation": citation}), self._stop(index)))
        return out

    def _on_file(self, ev: dict[str, Any]) -> list[tuple[str | None, Any]]:
        media = str(ev.get("media_type") or "")
        fmt = media.partition("/")[2]
        data = ev.get("data") or ""
        if not media.startswith("image/") or fmt not in _IMAGE_FORMATS or "://" in data:
            return self.drop("files other than png, jpeg, gif or webp images")
        out = self._ensure_open()
        index = self._index()
        out.append(
            (
                "contentBlockStart",
                {"contentBlockIndex": index, "start": {"image": {"format": fmt}}},
            )
        )
        out.append(self._delta(index, {"image": {"source": {"bytes": data}}}))
        out.append(self._stop(index))
        return out

    def _on_finish(self, ev: dict[str, Any]) -> list[tuple[str | None, Any]]:
        out = self._flush_errors() if self.held_errors else self._ensure_open()
        out.extend(self._stop_open_blocks())
        meta = (ev.get("provider_metadata") or {}).get(NAME) or {}
        reason = ev.get("finish_reason") or "other"
        raw = ev.get("raw_finish_reason")
        if raw in STOP_REASONS and FINISH_REASONS.get(raw, "other") == reason:
            stop_reason = raw
        else:
            stop_reason = WIRE_FINISH_REASONS.get(reason)
        if stop_reason is not None:
            stop: dict[str, Any] = {"stopReason": stop_reason}
            if meta.get("additionalModelResponseFields") is not None:
                stop["additionalModelResponseFields"] = meta["additionalModelResponseFields"]
            out.append(("messageStop", stop))
        usage = meta.get("usage") if isinstance(meta.get("usage"), dict) else None
        if usage is None and ev.get("usage"):
            usage = wire_usage(ev["usage"])
        if usage is not None and not self.errored:
            metadata: dict[str, Any] = {
                "usage": usage,
                "metrics": meta.get("metrics") or {"latencyMs": 0},
            }
            for key in _FINISH_FIELDS[1:]:
                if meta.get(key) is not None:
                    metadata[key] = meta[key]
            out.append(("metadata", metadata))
        self.open = False
        return out

    def _on_error(self, ev: dict[str, Any]) -> list[tuple[str | None, Any]]:
        if ev.get("code") == "bad-input":
            return []  # a bad line upstream of us, not an upstream error
        if not self.open:
            # an error before any event of its response (``accumulate --final`` writes errors
            # before the message): held for that response, written where its finish is
            self.held_errors.append(ev)
            return []
        out: list[tuple[str | None, Any]] = []
        meta = dict((ev.get("provider_metadata") or {}).get(NAME) or {})
        name = meta.pop("exception", None)
        if name not in EXCEPTIONS:
            name = _exception_for(ev)
            meta = {}
        payload = {
            "message": ev.get("message") or "",
            **{k: v for k, v in meta.items() if k != "message"},
        }
        out.append((name, payload))
        self.errored = True
        return out

    def _on_message(self, ev: dict[str, Any]) -> list[tuple[str | None, Any]]:
        if self.open or self.seen:
            self.seen = self.open
            return []  # the events it sums up were already written
        out: list[tuple[str | None, Any]] = []
        for sub in message_to_events(ev):
            out.extend(self.feed(sub))
        self.seen = False  # the next bare message starts its own response
        return out


def _foreign_hidden_reasoning(ev: dict[str, Any]) -> bool:
    """Whether a reasoning block carries another dialect's redacted or encrypted reasoning."""
    return any(
        name != NAME
        and isinstance(meta, dict)
        and (meta.get("redacted_data") or meta.get("encrypted_content"))
        for name, meta in (ev.get("provider_metadata") or {}).items()
    )


def _exception_for(ev: dict[str, Any]) -> str:
    """The ConverseStream exception closest to an error from another dialect."""
    code = str(ev.get("code") or "").lower()
    if "throttl" in code or "rate" in code or code == "429":
        return "throttlingException"
    if "overload" in code or "unavailable" in code or code in ("503", "529"):
        return "serviceUnavailableException"
    if "invalid" in code or "validation" in code or code == "400":
        return "validationException"
    return "internalServerException" if ev.get("retryable") else "modelStreamErrorException"


_ENCODERS: dict[str, Callable[..., list[tuple[str | None, Any]]]] = {
    "start": BedrockEncoder._on_start,
    "text-start": BedrockEncoder._on_text_start,
    "text-delta": BedrockEncoder._on_text_delta,
    "text-end": BedrockEncoder._on_text_end,
    "reasoning-start": BedrockEncoder._on_reasoning_start,
    "reasoning-delta": BedrockEncoder._on_reasoning_delta,
    "reasoning-end": BedrockEncoder._on_reasoning_end,
    "tool-input-start": BedrockEncoder._on_tool_input_start,
    "tool-input-delta": BedrockEncoder._on_tool_input_delta,
    "tool-input-end": BedrockEncoder._on_tool_input_end,
    "tool-call": BedrockEncoder._on_tool_call,
    "tool-result": BedrockEncoder._on_tool_result,
    "source": BedrockEncoder._on_source,
    "file": BedrockEncoder._on_file,
    "finish": BedrockEncoder._on_finish,
    "error": BedrockEncoder._on_error,
    "message": BedrockEncoder._on_message,
}
