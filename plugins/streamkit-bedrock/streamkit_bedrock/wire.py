"""streamkit-bedrock: Amazon Bedrock ConverseStream, both ways.

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

from streamkit import Dialect, Encoder, Normalizer, hookimpl
from streamkit.canonical import message_to_events, parse_arguments
from streamkit.errors import DataError

NAME = "bedrock"

EVENTS = frozenset(
    {"messageStart", "contentBlockStart", "contentBlockDelta", "contentBlockStop", "messageStop", "metadata"}
)
#: exception event -> retryable
EXCEPTIONS = {
    "internalServerException": True,
    "modelStreamErrorException": False,
    "validationException": False,
    "throttlingException": True,
    "serviceUnavailableException": True,
}

FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool-calls",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "guardrail_intervened": "content-filter",
    "content_filtered": "content-filter",
}
WIRE_FINISH_REASONS = {
    "stop": "end_turn",
    "tool-calls": "tool_use",
    "length": "max_tokens",
    "content-filter": "content_filtered",
}
#: the stop reasons of the ConverseStream API (others are not written)
STOP_REASONS = frozenset({*FINISH_REASONS, "malformed_model_output", "malformed_tool_use"})

_FINISH_FIELDS = ("metrics", "trace", "performanceConfig", "serviceTier")
_IMAGE_FORMATS = frozenset({"png", "jpeg", "gif", "webp"})


def map_usage(usage: dict[str, Any]) -> dict[str, Any]:
    """Bedrock usage → canonical usage (fields Bedrock did not send are left out)."""
    out: dict[str, Any] = {}
    for wire, canonical in (
        ("inputTokens", "input_tokens"),
        ("outputTokens", "output_tokens"),
        ("totalTokens", "total_tokens"),
        ("cacheReadInputTokens", "cached_input_tokens"),
    ):
        if isinstance(usage.get(wire), int):
            out[canonical] = usage[wire]
    return out


def wire_usage(usage: dict[str, Any]) -> dict[str, Any]:
    """Canonical usage → Bedrock usage (the three counts it always sends, plus cache reads)."""
    inp = usage.get("input_tokens") or 0
    outp = usage.get("output_tokens") or 0
    out = {"inputTokens": inp, "outputTokens": outp, "totalTokens": usage.get("total_tokens") or inp + outp}
    if usage.get("cached_input_tokens") is not None:
        out["cacheReadInputTokens"] = usage["cached_input_tokens"]
    return out


def _strip(data: dict[str, Any]) -> dict[str, Any]:
    """A payload without the ``p`` padding."""
    return {k: v for k, v in data.items() if k != "p"} if "p" in data else data


class _Block:
    """The open text or reasoning block."""

    __slots__ = ("id", "index", "kind", "meta")

    def __init__(self, index: Any, kind: str, block_id: str) -> None:
        self.index = index
        self.kind = kind
        self.id = block_id
        self.meta: dict[str, Any] = {}


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

    def __init__(self, **options: Any) -> None:
        self._call_ids = 0
        self._reset()

    def _reset(self) -> None:
        self.started = False
        self.block: _Block | None = None
        self.text_index: Any = None  # contentBlockIndex of the open text block (the hot path)
        self.text_id: str | None = None
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
        # The hot path, measured in `make bench`: a text delta in the open text block.
        if event == "contentBlockDelta":
            index = self.text_index
            if index is not None and type(data) is dict:
                delta = data.get("delta")
                if type(delta) is dict and len(delta) == 1:
                    text = delta.get("text")
                    if type(text) is str and data.get("contentBlockIndex") == index:
                        return [{"type": "text-delta", "id": self.text_id, "delta": text}] if text else []
        elif event is None:
            # a decoded event: {"contentBlockDelta": {...}}
            if type(data) is not dict or len(data) != 1:
                return None
            ((event, data),) = data.items()
            return self.feed(data, event)
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
            call_id = tool.get("toolUseId") or self._new_call_id()
            name = tool.get("name") or ""
            executed = tool.get("type") == "server_tool_use"
            self.pending[index] = _Tool(index, call_id, name, executed)
            self.names[call_id] = name
            ev: dict[str, Any] = {"type": "tool-input-start", "id": call_id, "tool_name": name}
            if executed:
                ev["provider_executed"] = True
            out.append(ev)
            return out
        result = start.get("toolResult")
        if isinstance(result, dict):
            self._end_block(out)
            meta = {k: v for k, v in result.items() if k != "toolUseId"}
            self.pending[index] = _Result(index, result.get("toolUseId") or "", meta)
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
        if self.block is not None and self.block.index == index:
            self._end_block(out)
        entry = self.pending.pop(index, None)
        if entry is not None:
            self._complete(entry, out)
        return out

    def _on_message_stop(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        self._ensure_started(out)
        self._end_blocks(out)
        reason = data.get("stopReason")
        self.stop = reason if isinstance(reason, str) else None
        extra = data.get("additionalModelResponseFields")
        if extra is not None:
            self.finish_meta["additionalModelResponseFields"] = extra
        self.stopped = True
        return out

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
            block = self._open(index, "text", out)
            out.append({"type": "text-delta", "id": block.id, "delta": value})

    def _on_reasoning(self, index: Any, value: Any, out: list[dict[str, Any]]) -> None:
        if not isinstance(value, dict):
            raise DataError(f"delta.reasoningContent is a {type(value).__name__}, expected an object")
        text = value.get("text")
        signature = value.get("signature")
        redacted = value.get("redactedContent")
        if not (text or signature or redacted):
            return
        block = self._open(index, "reasoning", out)
        if text:
            out.append({"type": "reasoning-delta", "id": block.id, "delta": text})
        if signature:
            block.meta["signature"] = block.meta.get("signature", "") + signature
        if redacted:
            block.meta["redacted_data"] = block.meta.get("redacted_data", "") + redacted

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
            ev["url"] = url
        if value.get("title"):
            ev["title"] = value["title"]
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
        self._reset()
        self.started = True
        out.append({"type": "start", "id": None, "model": None, "dialect": NAME})

    def _ensure_started(self, out: list[dict[str, Any]]) -> None:
        if not self.started:
            self._start(out)

    def _open(self, index: Any, kind: str, out: list[dict[str, Any]]) -> _Block:
        block = self.block
        if block is not None and block.index == index and block.kind == kind:
            return block
        self._ensure_started(out)
        self._end_block(out)
        block = self.block = _Block(index, kind, f"{kind}-{self.nblocks}")
        self.nblocks += 1
        out.append({"type": f"{kind}-start", "id": block.id})
        if kind == "text":
            self.text_index = index
            self.text_id = block.id
        return block

    def _end_block(self, out: list[dict[str, Any]]) -> None:
        block = self.block
        if block is None:
            return
        ev: dict[str, Any] = {"type": f"{block.kind}-end", "id": block.id}
        if block.meta:
            ev["provider_metadata"] = {NAME: block.meta}
        out.append(ev)
        self.block = None
        self.text_index = self.text_id = None

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
            value, err = parse_arguments(arguments)
            ev: dict[str, Any] = {
                "type": "tool-call",
                "tool_call_id": entry.id,
                "tool_name": entry.name,
                "arguments": arguments,
                "input": value,
            }
            if err:
                ev["input_error"] = err
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
                {"type": "error", "message": str(message or "image generation failed"), "code": "image-error"}
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
        ev: dict[str, Any] = {"type": "file", "media_type": f"image/{image.format}", "data": data}
        if image.meta:
            ev["provider_metadata"] = {NAME: image.meta}
        out.append(ev)

    def _new_call_id(self) -> str:
        call_id = f"call_{self._call_ids}"
        self._call_ids += 1
        return call_id

    def _end_response(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        self._ensure_started(out)
        self._end_blocks(out)
        raw = self.stop
        if self.error:
            reason = "error"
        elif raw is None:
            reason = "other"
        else:
            reason = FINISH_REASONS.get(raw, "other")
        fin: dict[str, Any] = {"type": "finish", "finish_reason": reason, "raw_finish_reason": raw}
        meta = dict(self.finish_meta)
        if self.usage is not None:
            fin["usage"] = map_usage(self.usage)
            meta["usage"] = self.usage
        if meta:
            fin["provider_metadata"] = {NAME: meta}
        out.append(fin)
        self._reset()
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
            return []
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
            out.append(self._delta(index, {"reasoningContent": {"redactedContent": meta["redacted_data"]}}))
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
        return ("contentBlockStart", {"contentBlockIndex": index, "start": {"toolUse": tool}})

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
        out.append(("contentBlockStart", {"contentBlockIndex": index, "start": {"toolResult": result}}))
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
        out.append(("contentBlockStart", {"contentBlockIndex": index, "start": {"image": {"format": fmt}}}))
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
            metadata: dict[str, Any] = {"usage": usage, "metrics": meta.get("metrics") or {"latencyMs": 0}}
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
        payload = {"message": ev.get("message") or "", **{k: v for k, v in meta.items() if k != "message"}}
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


class Bedrock(Dialect):
    name = NAME
    description = (
        "Amazon Bedrock ConverseStream (binary AWS event-stream frames, or its decoded events as JSON lines)"
    )
    framing = "eventstream"

    def sniff(self, data: Any, event: str | None = None) -> bool:
        if event is not None:
            return event in EVENTS or event in EXCEPTIONS
        if type(data) is not dict or len(data) != 1:
            return False
        ((key, value),) = data.items()
        return (key in EVENTS or key in EXCEPTIONS) and isinstance(value, dict)

    def normalizer(self, **options: Any) -> BedrockNormalizer:
        return BedrockNormalizer(**options)

    def encoder(self, **options: Any) -> BedrockEncoder:
        return BedrockEncoder(**options)


@hookimpl
def register_dialects(register: Callable[[Dialect], None]) -> None:
    register(Bedrock())
