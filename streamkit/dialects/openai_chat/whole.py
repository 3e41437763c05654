"""Accumulated ``message`` events → one whole ``chat.completion`` (a client that did not ask for a
stream), and the error body of the API.

The completion, from the messages of one response (one per choice, ``choice`` k > 0 marked):

* ``id`` (the response's, else a new ``chatcmpl-...``), ``object: "chat.completion"``,
  ``created`` (now), ``model`` (the response's, else the request's), ``system_fingerprint`` and
  ``service_tier`` when the upstream was a Chat server that sent them.
* one choice per message: ``message`` with ``role: "assistant"``, ``content`` (the text, or
  null), ``refusal`` (refusal text, or null), ``reasoning_content`` when the message has reasoning
  (the field DeepSeek and vLLM use; ``reasoning_field`` names another), ``reasoning_details``
  for reasoning that carries OpenRouter signatures or encrypted data, ``tool_calls``
  (``function`` calls, or ``custom`` calls for the ``custom_tools`` the request declared),
  ``annotations`` (``url_citation`` for url sources), Groq's ``executed_tools`` for the tools it
  ran, ``audio`` for audio output (an audio file: ``id``, ``data``, ``expires_at``, which is now
  when the upstream gave none, and the ``transcript``: the text blocks marked as its transcript),
  ``images`` for images the model made (``image_url`` entries holding ``data:`` URLs, as
  OpenRouter and Vercel's AI Gateway give those of image models);
  ``finish_reason`` (``tool_calls`` when the turn calls a tool and the reason says nothing a
  client accepts), ``logprobs: null``.
* ``usage`` of the response (the Chat server's own object when it sent one), zeros when unknown.

What the format cannot hold (document sources, files other than audio and images, other dialects'
provider-executed tools, other dialects' redacted or encrypted reasoning) is left out with one
warning per kind.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from typing import Any

from .._hidden import HIDDEN_REASONING, hidden_reasoning
from .encode import WIRE_FINISH_REASONS, custom_input, wire_usage
from .wire import NAME, image_entry


def _meta(item: dict[str, Any]) -> dict[str, Any]:
    pm = item.get("provider_metadata")
    meta = pm.get(NAME) if isinstance(pm, dict) else None
    return meta if isinstance(meta, dict) else {}


def _arguments(part: dict[str, Any]) -> str:
    arguments = part.get("arguments")
    if isinstance(arguments, str):
        return arguments
    import orjson

    return orjson.dumps(part.get("input") or {}).decode()


class _Dropped:
    def __init__(self) -> None:
        self.kinds: dict[str, int] = {}

    def add(self, what: str) -> None:
        self.kinds[what] = self.kinds.get(what, 0) + 1

    def warn(self) -> None:
        from ... import diagnostics

        for what, count in self.kinds.items():
            diagnostics.warn(f"{NAME} cannot express {what} ({count}); dropped")


def _message(
    message: dict[str, Any], reasoning_field: str, custom: frozenset[str], dropped: _Dropped
) -> tuple[dict[str, Any], bool]:
    """One message → the choice's ``message`` object, and whether it calls a client tool."""
    text: list[str] = []
    refusal: list[str] = []
    reasoning: list[str] = []
    details: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    executed: dict[Any, dict[str, Any]] = {}
    transcript: list[str] = []
    audio: dict[str, Any] | None = None
    images: list[dict[str, Any]] = []
    for part in message.get("content") or ():
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind == "text":
            if part.get("refusal"):
                refusal.append(part.get("text") or "")
            else:
                (transcript if isinstance(_meta(part).get("audio"), dict) else text).append(
                    part.get("text") or ""
                )
        elif kind == "reasoning":
            reasoning.append(part.get("text") or "")
            meta = _meta(part)
            if hidden_reasoning(part, NAME):
                dropped.add(HIDDEN_REASONING)
            if meta.get("signature") or meta.get("data"):
                detail = {
                    "type": meta.get("type", "reasoning.text"),
                    **{k: v for k, v in meta.items() if k != "type"},
                }
                if detail["type"] == "reasoning.text":
                    detail.setdefault("text", part.get("text") or "")
                details.append(detail)
        elif kind in ("tool-call", "tool-result") and part.get("provider_executed"):
            tool = _meta(part).get("executed_tool")
            if not isinstance(tool, dict):
                dropped.add(f"provider-executed tool {'calls' if kind == 'tool-call' else 'results'}")
                continue
            entry = executed.setdefault(part.get("tool_call_id"), {})
            entry.update(tool)
            if kind == "tool-call":
                entry["arguments"] = part.get("arguments") or ""
            else:
                entry["output"] = part.get("output")
        elif kind == "tool-call":
            call: dict[str, Any] = {"id": part.get("tool_call_id") or f"call_{len(calls)}"}
            name = part.get("tool_name") or ""
            if name in custom:
                call.update(type="custom", custom={"name": name, "input": custom_input(part)})
            else:
                call.update(type="function", function={"name": name, "arguments": _arguments(part)})
            calls.append(call)
        elif kind == "source":
            if part.get("source_type") != "url" or not part.get("url"):
                dropped.add("document sources")
                continue
            cite = {"url": part["url"], "title": part.get("title") or "", **_meta(part)}
            cite.setdefault("start_index", 0)
            cite.setdefault("end_index", 0)
            annotations.append({"type": "url_citation", "url_citation": cite})
        elif kind == "file":
            data = part.get("data") or ""
            image = image_entry(part)
            if image is not None:  # (as OpenRouter gives an image model's: a data URL)
                images.append(image)
            elif audio is None and str(part.get("media_type")).startswith("audio/") and "://" not in data:
                meta = _meta(part).get("audio") or {}
                audio = {"id": meta.get("id") or f"audio_{uuid.uuid4().hex[:24]}", "data": data,
                         "expires_at": meta.get("expires_at") or int(time.time())}  # fmt: skip
            else:
                dropped.add("files other than audio and generated images")
    if audio is not None:
        audio["transcript"] = "".join(transcript)
    else:
        text += transcript  # a transcript without its audio: the message's text
    out: dict[str, Any] = {
        "role": "assistant",
        "content": "".join(text) if text else None,
        "refusal": "".join(refusal) if refusal else None,
    }
    if reasoning:
        out[reasoning_field] = "".join(reasoning)
    if details:
        out["reasoning_details"] = details
    if calls:
        out["tool_calls"] = calls
    if annotations:
        out["annotations"] = annotations
    if executed:
        out["executed_tools"] = list(executed.values())
    if audio is not None:
        out["audio"] = audio
    if images:
        out["images"] = images
    return out, bool(calls)


def whole_completion(
    messages: Iterable[dict[str, Any]],
    *,
    reasoning_field: str = "reasoning_content",
    custom_tools: Iterable[str] = (),
    model: str | None = None,
    **options: Any,
) -> dict[str, Any]:
    """The ``chat.completion`` object of one response's accumulated messages (see the module's
    docstring); ``options`` are the request's other answer options (``include_usage`` and ``n``
    change nothing here: a whole completion always has its usage, and one choice per message)."""
    dropped = _Dropped()
    custom = frozenset(custom_tools or ())
    ordered = sorted(messages, key=lambda m: m.get("choice") or 0)
    choices = []
    first: dict[str, Any] = ordered[0] if ordered else {}  # choice 0 carries the response's usage
    for message in ordered:
        index = message.get("choice") or 0
        body, calls = _message(message, reasoning_field, custom, dropped)
        reason = WIRE_FINISH_REASONS.get(message.get("finish_reason") or "other")
        if reason is None or (calls and reason == "stop"):
            reason = "tool_calls" if calls else "stop"
        choices.append({"index": index, "message": body, "logprobs": None, "finish_reason": reason})
    meta = _meta(first)
    raw_usage = meta.get("usage")
    usage = raw_usage if isinstance(raw_usage, dict) else wire_usage(first.get("usage") or {})
    completion: dict[str, Any] = {
        "id": first.get("id") or f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": first.get("model") or model or "",
        "choices": choices,
        "usage": usage,
    }
    for key in ("system_fingerprint", "service_tier"):
        if meta.get(key) is not None:
            completion[key] = meta[key]
    dropped.warn()
    return completion


def error_body(status: int, message: str, code: Any = None) -> dict[str, Any]:
    """OpenAI's error object: ``{"error": {"message", "type", "param", "code"}}``; the ``openai``
    client raises the error type of the status (``RateLimitError`` for 429, ...) with it."""
    if status >= 500:
        kind = "server_error"
    else:
        kind = {401: "authentication_error", 403: "permission_error", 404: "not_found_error",
                429: "rate_limit_error"}.get(status, "invalid_request_error")  # fmt: skip
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}
