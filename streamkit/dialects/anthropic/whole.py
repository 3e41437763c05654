"""Whole (non-streamed) Anthropic answers: the ``message`` object a Messages request without
``stream`` gets, and the error body of a failed request.

The whole message is the stream :mod:`.encode` writes for the accumulated ``message`` event,
folded the way the official SDK's accumulator folds it (``message_start``'s message, each block
as started and then grown by its deltas, ``message_delta``'s stop reason and usage), so a
whole answer and a streamed one always agree: the same blocks (text with its citations,
thinking with its signature, redacted thinking, tool use, server tool use and results), the
same stop reason and usage. What differs from the stream:

* usage always has ``cache_creation_input_tokens`` and ``cache_read_input_tokens`` (0 when the
  upstream said nothing), as the API's own whole messages do;
* a tool call whose arguments were not valid JSON has ``input: {}`` (a ``tool_use`` input must
  be an object);
* only the first choice is answered (the Messages API has no ``n``); later ones are dropped
  with a warning.
"""

from __future__ import annotations

from typing import Any

import orjson

from ..base import WireEvent

#: error types of the Messages API, by HTTP status (others: api_error from 500, else
#: invalid_request_error)
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def error_type(status: int) -> str:
    """The Messages API's error ``type`` for an HTTP status."""
    return ERROR_TYPES.get(status) or ("api_error" if status >= 500 else "invalid_request_error")


def error_body(status: int, message: str, code: Any = None) -> dict[str, Any]:
    """``{"type": "error", "error": {"type", "message"}}``: the type is ``code`` when it is one of
    the API's error types (an Anthropic upstream's own), else the status's."""
    kind = code if isinstance(code, str) and code in ERROR_TYPES.values() else error_type(status)
    return {"type": "error", "error": {"type": kind, "message": message}}


def fold(wire: list[WireEvent]) -> dict[str, Any] | None:
    """A Messages stream's events → the message they build (the first one), or None."""
    message: dict[str, Any] | None = None
    blocks: dict[int, dict[str, Any]] = {}
    texts: dict[int, list[str]] = {}  # a block's text (or thinking, or input JSON) fragments
    for _, data in wire:
        kind = data.get("type") if isinstance(data, dict) else None
        if kind == "message_start":
            if message is not None:
                break  # one message only
            message = dict(data["message"])
            message["content"] = []
            message["usage"] = dict(message.get("usage") or {})
        elif message is None:
            continue
        elif kind == "content_block_start":
            block = dict(data["content_block"])
            blocks[data["index"]] = block
            texts[data["index"]] = []
            message["content"].append(block)
        elif kind == "content_block_delta":
            _delta(blocks[data["index"]], texts[data["index"]], data["delta"])
        elif kind == "content_block_stop":
            _stop(blocks.pop(data["index"]), texts.pop(data["index"]))
        elif kind == "message_delta":
            message.update((k, v) for k, v in data.get("delta", {}).items())
            message["usage"].update(data.get("usage") or {})
            message.update((k, v) for k, v in data.items() if k not in ("type", "delta", "usage"))
        elif kind == "message_stop":
            break
    if message is not None:
        for index in list(blocks):
            _stop(blocks.pop(index), texts.pop(index))
        message["usage"].setdefault("cache_creation_input_tokens", 0)
        message["usage"].setdefault("cache_read_input_tokens", 0)
    return message


def _delta(block: dict[str, Any], frags: list[str], delta: dict[str, Any]) -> None:
    kind = delta.get("type")
    if kind in ("text_delta", "thinking_delta", "input_json_delta"):
        frags.append(delta.get("text") or delta.get("thinking") or delta.get("partial_json") or "")
    elif kind == "signature_delta":
        block["signature"] = delta["signature"]
    elif kind == "citations_delta":
        block.setdefault("citations", []).append(delta["citation"])
    elif kind == "compaction_delta":
        block["content"] = delta.get("content")
        if delta.get("encrypted_content") is not None:
            block["encrypted_content"] = delta["encrypted_content"]


def _stop(block: dict[str, Any], frags: list[str]) -> None:
    if not frags:
        return
    text = "".join(frags)
    kind = block.get("type")
    if kind == "text":
        block["text"] += text
    elif kind == "thinking":
        block["thinking"] += text
    elif "input" in block:
        try:
            value = orjson.loads(text) if text.strip() else {}
        except orjson.JSONDecodeError:
            value = {}
        block["input"] = value if isinstance(value, dict) else {}


def whole_message(messages: list[dict[str, Any]], **options: Any) -> dict[str, Any]:
    """The whole ``message`` object for one response's accumulated ``message`` events (the first
    choice). ``options`` are the encoder's: ``beta`` (write the beta API's blocks), ``model`` (the
    model named when the upstream named none)."""
    from .encode import AnthropicEncoder

    encoder = AnthropicEncoder(**options)
    wire: list[WireEvent] = []
    for i, message in enumerate(messages):
        if i or message.get("choice"):
            encoder.drop("choices after the first (n>1)")
            continue
        wire.extend(encoder.feed({**message, "type": "message"}))
    wire.extend(encoder.close())
    if not any(isinstance(d, dict) and d.get("type") == "message_start" for _, d in wire):
        wire = encoder.feed({"type": "start"}) + encoder.close()  # no message at all: an empty one
    folded = fold(wire)
    assert folded is not None
    return folded
