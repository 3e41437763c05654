"""ConverseStream events → canonical events.

A streamkit dialect plugin written as any outside author would: it uses only streamkit's public
API (``Dialect``, ``Normalizer``, ``Encoder``, ``hookimpl``, :mod:`streamkit.canonical`,
:mod:`streamkit.errors`) and is found through its ``streamkit`` entry point.

What Bedrock sends, and what becomes of it (canonical events on the right). The wire is binary
AWS event-stream frames (``fetch --replay`` turns each into a raw event named after its
``:event-type`` header); the same events decoded by an SDK, one JSON object per line with one
key naming the event (``{"contentBlockDelta": {...}}``), are read too.

* ``messageStart`` → ``start`` (ConverseStream names neither the response nor the model).
* ``contentBlockDelta`` ``delta.text`` → text blocks (an empty delta opens nothing).
* ``delta.reasoningContent.text`` → reasoning; ``.signature`` → the reasoning block's
  ``reasoning-end.provider_metadata["bedrock"]["signature"]``; ``.redactedContent`` → a
  reasoning block with empty text and ``provider_metadata["bedrock"]["redacted_data"]``.
* ``contentBlockStart.start.toolUse`` (``toolUseId``, ``name``) and the ``delta.toolUse.input``
  fragments → ``tool-input-*`` and one ``tool-call`` at the block's ``contentBlockStop``. A
  ``toolUse`` of ``type: server_tool_use`` (Nova's built-in tools) is provider-executed, and
  its ``toolResult`` block (``start.toolResult``, ``delta.toolResult`` items) a ``tool-result``.
* ``delta.citation`` → ``source`` (``url`` for a web location, else ``document``), the
  citation kept in ``provider_metadata["bedrock"]["citation"]``.
* ``contentBlockStart.start.image`` and ``delta.image.source.bytes`` → ``file``.
* ``messageStop.stopReason``: end_turn, stop_sequence → stop; tool_use → tool-calls;
  max_tokens, model_context_window_exceeded → length; guardrail_intervened, content_filtered →
  content-filter; anything else → other. ``additionalModelResponseFields`` goes to
  ``finish.provider_metadata``.
* ``metadata`` (after ``messageStop``): ``usage`` (inputTokens, outputTokens, totalTokens,
  cacheReadInputTokens → cached_input_tokens; the raw object in ``provider_metadata``),
  ``metrics``, ``trace``, ``performanceConfig``, ``serviceTier`` → ``finish``, which is written
  when ``metadata`` arrives (or at the end of the stream, or at the next ``messageStart``).
* The exception events (``internalServerException``, ``modelStreamErrorException``,
  ``validationException``, ``throttlingException``, ``serviceUnavailableException``) and
  event-stream error frames → ``error`` (``code`` the exception's name; throttling,
  service-unavailable and internal-server errors are ``retryable``), then ``finish`` ``error``.
* The ``p`` field (padding against traffic analysis) is dropped.

``render -f bedrock`` writes binary event-stream frames (framing ``eventstream``) whose every
event validates against the ConverseStream shapes of botocore's service model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from streamkit import Normalizer
from streamkit.canonical import delta_head, tool_call
from streamkit.dialects.base import token_counts, wire_string
from streamkit.errors import DataError

from .wire import (
    _FINISH_FIELDS,
    EXCEPTIONS,
    FINISH_REASONS,
    NAME,
    map_usage,
)


def _strip(data: dict[str, Any]) -> dict[str, Any]:
    """A payload without the ``p`` padding."""
    return {k: v for k, v in data.items() if k != "p"} if "p" in data else data


#: the index of "no open block": equal to no contentBlockIndex (None included)
_NO_BLOCK: Any = object()
#: the type of the event that ends an open block of each kind
_ENDS = {"text": "text-end", "reasoning": "reasoning-end"}


# the heads of the deltas of the blocks at the first indexes
_HEADS = {f"{k}-{n}": delta_head(f"{k}-delta", f"{k}-{n}") for k in ("text", "reasoning") for n in range(64)}
_bytes = orjson.dumps


class _Tool:
    """A toolUse block: a tool call whose input arrives in fragments."""

    __slots__ = ("args", "executed", "id", "index", "name")

    def __init__(self, index: Any, call_id: str, name: str, executed: bool) -> None:
        self.index = index
        self.id = call_id
        self.name = name
        self.executed = executed
        self.args: list[str] = []


class _Result:
    """A toolResult block: the output of a tool Bedrock ran itself."""

    __slots__ = ("id", "index", "items", "meta")

    def __init__(self, index: Any, call_id: str, meta: dict[str, Any]) -> None:
        self.index = index
        self.id = call_id
        self.meta = meta
        self.items: list[Any] = []


class _Image:
    """An image block: the image's bytes (base64), possibly in several deltas."""

    __slots__ = ("chunks", "format", "index", "meta")

    def __init__(self, index: Any, fmt: str) -> None:
        self.index = index
        self.format = fmt
        self.chunks: list[str] = []
        self.meta: dict[str, Any] = {}


class BedrockNormalizer(Normalizer):
    """One ConverseStream stream (possibly several responses, each opened by ``messageStart``)."""

    checks_types = True  # (tests/test_bedrock_golden.py: wrong_types)

    def __init__(self, **options: Any) -> None:
        self._call_ids = 0
        self._reset()

    def _reset(self) -> None:
        self.started = False
        # the open text or reasoning block, as attributes (one object per block cost more): its
        # contentBlockIndex (_NO_BLOCK when none is open), id, the type of the event that ends it
        # (which tells its kind; None when none is open), provider metadata; and its index again
        # under its kind's name, so that a delta of the open block is told by one comparison
        self.block_index: Any = _NO_BLOCK
        self.block_id: str | None = None
        self.block_end: str | None = None
        self.block_meta: dict[str, Any] | None = None
        self.text_index: Any = _NO_BLOCK
        self.reasoning_index: Any = _NO_BLOCK
        self.pending: dict[Any, _Tool | _Result | _Image] = {}  # contentBlockIndex -> open block
        self.names: dict[str, str] = {}  # toolUseId -> tool name
        self.nblocks = 0
        self.nsources = 0
        self.stop: str | None = None
        self.stopped = False
        self.error = False
        self.usage: dict[str, Any] | None = None
        self.finish_meta: dict[str, Any] = {}

    # --- the wire events -----------------------------------------------------------------

    def feed(self, data: Any, event: str | None = None) -> list[dict[str, Any]] | None:
        if event is None:
            # a decoded event: {"contentBlockDelta": {...}}
            if type(data) is not dict or len(data) != 1:
                return None
            (event,) = data
            data = data[event]
        # The hot paths, measured in `make bench` on real recordings: a delta with one member
        # (text, reasoning, a fragment of an open tool call's input, a tool result), the stop of
        # a block with nothing pending, and a response's start, stop and metadata when no block
        # is left open. Anything else, or anything odd, goes the long way (the handlers), which
        # says what is wrong.
        if type(data) is dict:
            if event == "contentBlockDelta":
                # the hottest: a text or reasoning delta of the open block, read by subscripts (a
                # missing member or a value of another type raises, and goes the way below)
                try:
                    delta = data["delta"]
                    index = data["contentBlockIndex"]
                    if len(delta) == 1:
                        if index == self.text_index:
                            text = delta["text"]
                            if type(text) is str and text:
                                if self.delta_bytes:
                                    bid = self.block_id
                                    return (_HEADS.get(bid) or delta_head("text-delta", bid)) + _bytes(text)  # type: ignore[arg-type,return-value]
                                return [{"type": "text-delta", "id": self.block_id, "delta": text}]
                        elif index == self.reasoning_index:
                            reasoning = delta["reasoningContent"]
                            if type(reasoning) is dict and len(reasoning) == 1:
                                if type(text := reasoning.get("text")) is str and text:
                                    if self.delta_bytes:
                                        bid = self.block_id
                                        return (
                                            _HEADS.get(bid) or delta_head("reasoning-delta", bid)
                                        ) + _bytes(text)  # type: ignore[arg-type,return-value]
                                    return [{"type": "reasoning-delta", "id": self.block_id, "delta": text}]
                                # the block's signature (_on_reasoning's usual case)
                                if type(signature := reasoning.get("signature")) is str and signature:
                                    meta = self.block_meta
                                    if meta is None:
                                        self.block_meta = {"signature": signature}
                                    else:
                                        meta["signature"] = meta.get("signature", "") + signature
                                    return []
                except (KeyError, TypeError):
                    pass
                delta = data.get("delta")
                if type(delta) is dict and len(delta) == 1:
                    index = data.get("contentBlockIndex")
                    if type(text := delta.get("text")) is str:
                        if index == self.text_index:
                            if text:
                                return [{"type": "text-delta", "id": self.block_id, "delta": text}]
                            return []
                        if not text:
                            return []
                        if self.block_end is None and self.started:  # _open's usual case
                            block_id = self.block_id = f"text-{self.nblocks}"
                            self.nblocks += 1
                            self.block_index = self.text_index = index
                            self.block_end = "text-end"
                            return [
                                {"type": "text-start", "id": block_id},
                                {"type": "text-delta", "id": block_id, "delta": text},
                            ]
                        out: list[dict[str, Any]] = []
                        self._open(index, "text", out)
                        out.append({"type": "text-delta", "id": self.block_id, "delta": text})
                        return out
                    if type(reasoning := delta.get("reasoningContent")) is dict:
                        if len(reasoning) == 1 and type(text := reasoning.get("text")) is str and text:
                            if index == self.reasoning_index:
                                return [{"type": "reasoning-delta", "id": self.block_id, "delta": text}]
                            if self.block_end is None and self.started:  # _open's usual case
                                block_id = self.block_id = f"reasoning-{self.nblocks}"
                                self.nblocks += 1
                                self.block_index = self.reasoning_index = index
                                self.block_end = "reasoning-end"
                                return [
                                    {"type": "reasoning-start", "id": block_id},
                                    {"type": "reasoning-delta", "id": block_id, "delta": text},
                                ]
                            out = []
                            self._open(index, "reasoning", out)
                            out.append({"type": "reasoning-delta", "id": self.block_id, "delta": text})
                            return out
                        if (  # redacted reasoning, a block of its own: _on_reasoning's usual case
                            len(reasoning) == 1
                            and type(redacted := reasoning.get("redactedContent")) is str
                            and redacted
                            and self.block_end is None
                            and self.started
                        ):
                            block_id = self.block_id = f"reasoning-{self.nblocks}"
                            self.nblocks += 1
                            self.block_index = self.reasoning_index = index
                            self.block_end = "reasoning-end"
                            self.block_meta = {"redacted_data": redacted}
                            return [{"type": "reasoning-start", "id": block_id}]
                        out = []
                        self._on_reasoning(index, reasoning, out)
                        return out
                    if (fragment := delta.get("toolUse")) is not None:
                        tool = self.pending.get(index)
                        if type(tool) is _Tool and type(fragment) is dict:
                            fragment = fragment.get("input")
                            if type(fragment) is str:
                                if not fragment:
                                    return []
                                tool.args.append(fragment)
                                return [{"type": "tool-input-delta", "id": tool.id, "delta": fragment}]
                    elif (result := delta.get("toolResult")) is not None:
                        out = []
                        self._on_tool_result(index, result, out)
                        return out
            elif event == "contentBlockStop":
                index = data.get("contentBlockIndex")
                if type(index) is int and index not in self.pending:
                    if index != self.block_index:
                        return []
                    ev = {"type": self.block_end, "id": self.block_id}
                    if self.block_meta:
                        ev["provider_metadata"] = {NAME: self.block_meta}
                    self.block_index = self.text_index = self.reasoning_index = _NO_BLOCK
                    self.block_id = self.block_end = self.block_meta = None
                    return [ev]
            elif event == "messageStart":
                if not self.started:
                    if self.pending or self.usage is not None or self.finish_meta:
                        self._reset()
                    self.started = True
                    return [{"type": "start", "id": None, "model": None, "dialect": NAME}]
            elif event == "messageStop":
                if self.started and self.block_end is None and not self.pending:
                    self._note_stop(data)
                    return []
            elif event == "metadata" and self.stopped and self.block_end is None and not self.pending:
                usage = data.get("usage")
                metrics = data.get("metrics")
                if (
                    type(usage) is dict
                    and metrics is not None
                    and len(data) == 2 + ("p" in data)
                    and not self.error
                ):
                    # the usual metadata (usage and metrics, the usage's three counts and no cache
                    # reads): the finish in one step, and what _end_response resets
                    count_in = usage.get("inputTokens")
                    count_out = usage.get("outputTokens")
                    total = usage.get("totalTokens")
                    if (
                        type(count_in) is int
                        and type(count_out) is int
                        and type(total) is int
                        and "cacheReadInputTokens" not in usage
                    ):
                        meta = self.finish_meta
                        meta["metrics"] = metrics
                        meta["usage"] = usage
                        raw = self.stop
                        self.started = self.stopped = False
                        if self.names:
                            self.names = {}
                        self.nblocks = self.nsources = 0
                        self.stop = self.usage = None
                        self.finish_meta = {}
                        return [
                            {
                                "type": "finish",
                                "finish_reason": FINISH_REASONS.get(raw, "other"),  # (None: other)
                                "raw_finish_reason": raw,
                                "usage": {
                                    "input_tokens": count_in,
                                    "output_tokens": count_out,
                                    "total_tokens": total,
                                },
                                "provider_metadata": {NAME: meta},
                            }
                        ]
                if isinstance(usage, dict):
                    self.usage = usage
                if len(data) == (usage is not None) + (metrics is not None) + ("p" in data):
                    if metrics is not None:  # the only one of _FINISH_FIELDS there
                        self.finish_meta["metrics"] = metrics
                else:
                    for key in _FINISH_FIELDS:
                        if data.get(key) is not None:
                            self.finish_meta[key] = data[key]
                return self._end_response()
            elif event == "contentBlockStart":
                # a toolUse block while no text or reasoning block is open: _on_block_start's usual case
                start = data.get("start")
                if type(start) is dict and self.started and self.block_end is None:
                    tool = start.get("toolUse")
                    if type(tool) is dict:
                        call_id = wire_string(
                            tool.get("toolUseId") or self._new_call_id(), "toolUse.toolUseId"
                        )
                        name = wire_string(tool.get("name") or "", "toolUse.name")
                        index = data.get("contentBlockIndex")
                        executed = tool.get("type") == "server_tool_use"
                        self.pending[index] = _Tool(index, call_id, name, executed)
                        self.names[call_id] = name
                        if executed:
                            return [
                                {
                                    "type": "tool-input-start",
                                    "id": call_id,
                                    "tool_name": name,
                                    "provider_executed": True,
                                }
                            ]
                        return [{"type": "tool-input-start", "id": call_id, "tool_name": name}]
        handler = _HANDLERS.get(event)
        if handler is None:
            if event in EXCEPTIONS or (type(event) is str and event.endswith("Exception")):
                return self._on_exception(event, data)
            if event == "error":
                return self._on_exception(None, data)
            return None
        if type(data) is not dict:
            raise DataError(f"a {event} event holds a {type(data).__name__}, expected an object")
        return handler(self, data)

    def close(self) -> list[dict[str, Any]]:
        if not self.started and not self.pending and self.usage is None:
            return []
        return self._end_response()

    # --- one handler per event -----------------------------------------------------------

    def _on_message_start(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        out = self._end_response() if self.started else []
        self._start(out)
        return out

    def _on_block_start(self, data: dict[str, Any]) -> list[dict[str, Any]] | None:
        index = data.get("contentBlockIndex")
        start = data.get("start")
        if not isinstance(start, dict):
            raise DataError("a contentBlockStart event without its 'start' object")
        out: list[dict[str, Any]] = []
        self._ensure_started(out)
        tool = start.get("toolUse")
        if isinstance(tool, dict):
            self._end_block(out)
            call_id = wire_string(tool.get("toolUseId") or self._new_call_id(), "toolUse.toolUseId")
            name = wire_string(tool.get("name") or "", "toolUse.name")
            executed = tool.get("type") == "server_tool_use"
            self.pending[index] = _Tool(index, call_id, name, executed)
            self.names[call_id] = name
            ev: dict[str, Any] = {
                "type": "tool-input-start",
                "id": call_id,
                "tool_name": name,
            }
            if executed:
                ev["provider_executed"] = True
            out.append(ev)
            return out
        result = start.get("toolResult")
        if isinstance(result, dict):
            self._end_block(out)
            meta = {k: v for k, v in result.items() if k != "toolUseId"}
            call_id = wire_string(result.get("toolUseId") or "", "toolResult.toolUseId")
            self.pending[index] = _Result(index, call_id, meta)
            return out
        image = start.get("image")
        if isinstance(image, dict):
            self._end_block(out)
            self.pending[index] = _Image(index, str(image.get("format") or "png"))
            return out
        return out if out else None

    def _on_block_delta(self, data: dict[str, Any]) -> list[dict[str, Any]] | None:
        index = data.get("contentBlockIndex")
        delta = data.get("delta")
        if not isinstance(delta, dict):
            raise DataError("a contentBlockDelta event without its 'delta' object")
        out: list[dict[str, Any]] = []
        used = False
        for key, value in delta.items():
            handler = _DELTA_HANDLERS.get(key)
            if handler is not None:
                handler(self, index, value, out)
                used = True
        return out if used else None

    def _on_block_stop(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        index = data.get("contentBlockIndex")
        out: list[dict[str, Any]] = []
        if self.block_end is not None and self.block_index == index:
            self._end_block(out)
        entry = self.pending.pop(index, None)
        if entry is not None:
            self._complete(entry, out)
        return out

    def _on_message_stop(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        self._ensure_started(out)
        self._end_blocks(out)
        self._note_stop(data)
        return out

    def _note_stop(self, data: dict[str, Any]) -> None:
        """messageStop: why the message stopped, and the model's extra fields for the finish."""
        reason = data.get("stopReason")
        self.stop = reason if isinstance(reason, str) else None
        extra = data.get("additionalModelResponseFields")
        if extra is not None:
            self.finish_meta["additionalModelResponseFields"] = extra
        self.stopped = True

    def _on_metadata(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        usage = data.get("usage")
        if isinstance(usage, dict):
            self.usage = usage
        for key in _FINISH_FIELDS:
            if data.get(key) is not None:
                self.finish_meta[key] = data[key]
        return self._end_response() if self.stopped else []

    def _on_exception(self, name: str | None, data: Any) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        self._ensure_started(out)
        self._end_blocks(out)
        payload = _strip(data) if isinstance(data, dict) else {"message": data}
        if name is None:  # an event-stream error frame: {"code", "message"}
            name = str(payload.get("code") or "error")
        message = payload.get("message") or payload.get("Message") or name
        ev: dict[str, Any] = {"type": "error", "message": str(message), "code": name}
        if name in EXCEPTIONS:
            ev["retryable"] = EXCEPTIONS[name]
        ev["provider_metadata"] = {NAME: {"exception": name, **payload}}
        out.append(ev)
        self.error = True
        out.extend(self._end_response())
        return out

    # --- delta members, one handler each (see _DELTA_HANDLERS) ----------------------------

    def _on_text(self, index: Any, value: Any, out: list[dict[str, Any]]) -> None:
        if type(value) is not str:
            raise DataError(f"delta.text is a {type(value).__name__}, expected a string")
        if value:
            self._open(index, "text", out)
            out.append({"type": "text-delta", "id": self.block_id, "delta": value})

    def _on_reasoning(self, index: Any, value: Any, out: list[dict[str, Any]]) -> None:
        if not isinstance(value, dict):
            raise DataError(f"delta.reasoningContent is a {type(value).__name__}, expected an object")
        text = value.get("text")
        signature = value.get("signature")
        redacted = value.get("redactedContent")
        if not (text or signature or redacted):
            return
        if text:
            wire_string(text, "delta.reasoningContent.text")
        self._open(index, "reasoning", out)
        if text:
            out.append({"type": "reasoning-delta", "id": self.block_id, "delta": text})
        if signature or redacted:
            meta = self.block_meta
            if meta is None:
                meta = self.block_meta = {}
            if signature:
                meta["signature"] = meta.get("signature", "") + signature
            if redacted:
                meta["redacted_data"] = meta.get("redacted_data", "") + redacted

    def _on_tool_use(self, index: Any, value: Any, out: list[dict[str, Any]]) -> None:
        tool = self.pending.get(index)
        if not isinstance(tool, _Tool):
            raise DataError(
                f"a toolUse delta for content block {index}, which no toolUse contentBlockStart opened"
            )
        fragment = value.get("input") if isinstance(value, dict) else None
        if fragment is not None and not isinstance(fragment, str):
            from orjson import dumps

            fragment = dumps(fragment).decode()
        if fragment:
            tool.args.append(fragment)
            out.append({"type": "tool-input-delta", "id": tool.id, "delta": fragment})

    def _on_tool_result(self, index: Any, value: Any, out: list[dict[str, Any]]) -> None:
        result = self.pending.get(index)
        if not isinstance(result, _Result):
            raise DataError(
                f"a toolResult delta for content block {index}, which no toolResult contentBlockStart opened"
            )
        result.items.extend(value if isinstance(value, list) else [value])

    def _on_citation(self, index: Any, value: Any, out: list[dict[str, Any]]) -> None:
        if not isinstance(value, dict):
            return
        self._ensure_started(out)
        location = value.get("location")
        web = location.get("web") if isinstance(location, dict) else None
        url = web.get("url") if isinstance(web, dict) else None
        ev: dict[str, Any] = {
            "type": "source",
            "source_type": "url" if url else "document",
            "id": f"src-{self.nsources}",
        }
        self.nsources += 1
        if url:
            ev["url"] = wire_string(url, "citation.location.web.url")
        if value.get("title"):
            ev["title"] = wire_string(value["title"], "citation.title")
        ev["provider_metadata"] = {NAME: {"citation": value}}
        out.append(ev)

    def _on_image(self, index: Any, value: Any, out: list[dict[str, Any]]) -> None:
        image = self.pending.get(index)
        if image is None:
            self._end_block(out)
            image = self.pending[index] = _Image(index, "png")
        if not isinstance(image, _Image) or not isinstance(value, dict):
            raise DataError(f"an image delta for content block {index}, which is not an image block")
        source = value.get("source")
        if isinstance(source, dict) and isinstance(source.get("bytes"), str):
            image.chunks.append(source["bytes"])
        if isinstance(source, dict) and source.get("s3Location"):
            image.meta["s3Location"] = source["s3Location"]
        if value.get("error"):
            image.meta["error"] = value["error"]

    # --- blocks ------------------------------------------------------------------------------

    def _start(self, out: list[dict[str, Any]]) -> None:
        # only a metadata or image event can have left state behind before the response started
        if self.pending or self.usage is not None or self.finish_meta:
            self._reset()
        self.started = True
        out.append({"type": "start", "id": None, "model": None, "dialect": NAME})

    def _ensure_started(self, out: list[dict[str, Any]]) -> None:
        if not self.started:
            self._start(out)

    def _open(self, index: Any, kind: str, out: list[dict[str, Any]]) -> None:
        """Make the block of this index and kind the open one (its id is then ``block_id``)."""
        if self.block_end is not None:
            if self.block_index == index and self.block_end == _ENDS[kind]:
                return
            self._end_block(out)
        if not self.started:
            self._start(out)
        block_id = self.block_id = f"{kind}-{self.nblocks}"
        self.nblocks += 1
        self.block_index = index
        if kind == "text":
            self.block_end = "text-end"
            self.text_index = index
            out.append({"type": "text-start", "id": block_id})
        else:
            self.block_end = "reasoning-end"
            self.reasoning_index = index
            out.append({"type": "reasoning-start", "id": block_id})

    def _end_block(self, out: list[dict[str, Any]]) -> None:
        if self.block_end is None:
            return
        ev: dict[str, Any] = {"type": self.block_end, "id": self.block_id}
        if self.block_meta:
            ev["provider_metadata"] = {NAME: self.block_meta}
        out.append(ev)
        self.block_index = self.text_index = self.reasoning_index = _NO_BLOCK
        self.block_id = self.block_end = self.block_meta = None

    def _end_blocks(self, out: list[dict[str, Any]]) -> None:
        """The message ended: end the open block and complete what is pending."""
        self._end_block(out)
        pending, self.pending = self.pending, {}
        for entry in pending.values():
            self._complete(entry, out)

    def _complete(self, entry: _Tool | _Result | _Image, out: list[dict[str, Any]]) -> None:
        if isinstance(entry, _Tool):
            out.append({"type": "tool-input-end", "id": entry.id})
            arguments = "".join(entry.args)
            ev = tool_call(entry.id, entry.name, arguments)
            if entry.executed:
                ev["provider_executed"] = True
                ev["provider_metadata"] = {NAME: {"type": "server_tool_use"}}
            out.append(ev)
        elif isinstance(entry, _Result):
            out.append(self._tool_result(entry))
        else:
            self._file(entry, out)

    def _tool_result(self, result: _Result) -> dict[str, Any]:
        items = result.items
        meta = dict(result.meta)
        output: Any
        if len(items) == 1 and isinstance(items[0], dict) and len(items[0]) == 1 and "json" in items[0]:
            output = items[0]["json"]
        elif items and all(isinstance(i, dict) and list(i) == ["text"] for i in items):
            output = "".join(i["text"] for i in items)
        else:
            output = items
            meta["content"] = items
        return {
            "type": "tool-result",
            "tool_call_id": result.id,
            "tool_name": self.names.get(result.id) or str(meta.get("type") or ""),
            "output": output,
            "is_error": meta.get("status") == "error",
            "provider_executed": True,
            "provider_metadata": {NAME: meta},
        }

    def _file(self, image: _Image, out: list[dict[str, Any]]) -> None:
        error = image.meta.get("error")
        if error:  # the model could not make the image
            message = error.get("message") if isinstance(error, dict) else None
            out.append(
                {
                    "type": "error",
                    "message": str(message or "image generation failed"),
                    "code": "image-error",
                }
            )
            return
        if image.chunks:
            if len(image.chunks) == 1:
                data = image.chunks[0]
            else:
                import base64

                data = base64.b64encode(b"".join(base64.b64decode(c) for c in image.chunks)).decode()
        elif isinstance(image.meta.get("s3Location"), dict) and image.meta["s3Location"].get("uri"):
            data = image.meta["s3Location"]["uri"]
        else:
            return  # an image block that never got its image
        ev: dict[str, Any] = {
            "type": "file",
            "media_type": f"image/{image.format}",
            "data": data,
        }
        if image.meta:
            ev["provider_metadata"] = {NAME: image.meta}
        out.append(ev)

    def _new_call_id(self) -> str:
        call_id = f"{self.call_id_prefix}{self._call_ids}"
        self._call_ids += 1
        return call_id

    def _end_response(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if not self.started:
            self._start(out)
        if self.block_end is not None or self.pending:
            self._end_blocks(out)
        raw = self.stop
        if self.error:
            reason = "error"
        elif raw is None:
            reason = "other"
        else:
            reason = FINISH_REASONS.get(raw, "other")
        meta = self.finish_meta
        usage = self.usage
        fin: dict[str, Any]
        if usage is not None:
            meta["usage"] = usage
            fin = {
                "type": "finish",
                "finish_reason": reason,
                "raw_finish_reason": raw,
                "usage": token_counts(map_usage(usage)),
                "provider_metadata": {NAME: meta},
            }
        else:
            fin = {"type": "finish", "finish_reason": reason, "raw_finish_reason": raw}
            if meta:
                fin["provider_metadata"] = {NAME: meta}
        out.append(fin)
        # what _reset would do: the blocks are ended and nothing is pending
        self.started = self.stopped = self.error = False
        if self.names:
            self.names = {}
        self.nblocks = self.nsources = 0
        self.stop = self.usage = None
        self.finish_meta = {}
        return out


_HANDLERS: dict[str, Callable[..., Any]] = {
    "messageStart": BedrockNormalizer._on_message_start,
    "contentBlockStart": BedrockNormalizer._on_block_start,
    "contentBlockDelta": BedrockNormalizer._on_block_delta,
    "contentBlockStop": BedrockNormalizer._on_block_stop,
    "messageStop": BedrockNormalizer._on_message_stop,
    "metadata": BedrockNormalizer._on_metadata,
}

_DELTA_HANDLERS: dict[str, Callable[..., None]] = {
    "text": BedrockNormalizer._on_text,
    "reasoningContent": BedrockNormalizer._on_reasoning,
    "toolUse": BedrockNormalizer._on_tool_use,
    "toolResult": BedrockNormalizer._on_tool_result,
    "citation": BedrockNormalizer._on_citation,
    "image": BedrockNormalizer._on_image,
}
