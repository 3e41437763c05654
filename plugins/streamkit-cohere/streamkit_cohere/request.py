"""Canonical conversations → Cohere v2 chat requests (``POST {base}/v2/chat``, ``stream: true``).

Where: ``--base-url``, ``STREAMKIT_BASE_URL``, ``CO_API_URL`` (the official SDK's variable), else
``https://api.cohere.com``; a base URL that already ends in ``/v2`` is not doubled. The key:
``CO_API_KEY`` (the SDK's), else ``COHERE_API_KEY``, as ``Authorization: Bearer``.

The body:

* ``messages``: the system prompt first (``system`` and every system message, joined); user
  messages (text as a string when that is all, else ``text`` and ``image_url`` parts: images by
  URL or as data URLs); assistant turns with their text and thinking as ``content`` parts, a
  reasoning block marked ``tool_plan`` (see the normalizer) as ``tool_plan``, and client tool
  calls as ``tool_calls`` (``id``, ``type: function``, ``function.name``/``arguments``); ``tool``
  messages (``tool_call_id``, the output as text: JSON text unless a string).
* ``tools``: ``{"type": "function", "function": {name, description, parameters}}``.
* options: ``max_tokens``, ``temperature``, ``seed``, ``frequency_penalty``,
  ``presence_penalty`` as they are; ``top_p`` → ``p``, ``top_k`` → ``k``, ``stop`` →
  ``stop_sequences``; ``tool_choice`` ``required``/``none`` → ``REQUIRED``/``NONE`` (``auto`` is
  the default: not sent); ``response_format`` → ``{"type": "json_object", "json_schema"?}``;
  ``reasoning_budget`` → ``thinking: {"type": "enabled", "token_budget"}``. Any other option is
  a native one, passed through.

What Cohere cannot take is left out with one warning per kind: files other than images, a
``tool_choice`` naming one tool, ``parallel_tool_calls``, ``reasoning_effort``, provider-executed
tools, approval answers, other dialects' redacted or encrypted reasoning.
"""

from __future__ import annotations

from typing import Any

import orjson

from streamkit.conversation import is_approval, system_text, tool_parameters
from streamkit.dialects.web_search import split_tools
from streamkit.errors import UsageError

DEFAULT_BASE_URL = "https://api.cohere.com"

_RENAMED = {"top_p": "p", "top_k": "k", "stop": "stop_sequences"}
_AS_IS = ("max_tokens", "temperature", "seed", "frequency_penalty", "presence_penalty")
_UNSENDABLE = {
    "parallel_tool_calls": "parallel_tool_calls",
    "reasoning_effort": "reasoning_effort (Cohere takes a token budget: -o reasoning_budget=N)",
}


class _Drops:
    def __init__(self) -> None:
        self.kinds: dict[str, int] = {}

    def add(self, what: str) -> None:
        self.kinds[what] = self.kinds.get(what, 0) + 1

    def warn(self) -> None:
        from streamkit import diagnostics

        for what, count in self.kinds.items():
            diagnostics.warn(f"cohere cannot send {what} ({count}); left out of the request")


def chat_url(base_url: str) -> str:
    base = base_url.rstrip("/")
    return f"{base}/chat" if base.endswith("/v2") else f"{base}/v2/chat"


def _user_content(content: Any, drops: _Drops) -> Any:
    if isinstance(content, str):
        return content
    parts: list[dict[str, Any]] = []
    for part in content or ():
        kind = part.get("type")
        if kind == "text":
            parts.append({"type": "text", "text": part.get("text") or ""})
        elif kind == "file" and str(part.get("media_type", "")).startswith("image/"):
            url = part.get("url") or f"data:{part['media_type']};base64,{part.get('data') or ''}"
            parts.append({"type": "image_url", "image_url": {"url": url}})
        else:
            drops.add(f"{kind} parts other than images" if kind == "file" else f"{kind} parts")
    if all(p["type"] == "text" for p in parts):
        return "".join(p["text"] for p in parts)
    return parts


def _assistant(message: dict[str, Any], drops: _Drops) -> dict[str, Any] | None:
    content = message.get("content")
    if isinstance(content, str):
        return {"role": "assistant", "content": [{"type": "text", "text": content}]} if content else None
    out: dict[str, Any] = {"role": "assistant"}
    parts: list[dict[str, Any]] = []
    plan: list[str] = []
    calls: list[dict[str, Any]] = []
    for part in content or ():
        kind = part.get("type")
        meta = (part.get("provider_metadata") or {}).get("cohere") or {}
        if kind == "text" and part.get("text"):
            parts.append({"type": "text", "text": part["text"]})
        elif kind == "reasoning":
            if meta.get("tool_plan"):
                plan.append(part.get("text") or "")
            elif part.get("text"):
                parts.append({"type": "thinking", "thinking": part["text"]})
            else:
                drops.add("redacted or encrypted reasoning")
        elif kind == "tool-call" and not part.get("provider_executed"):
            arguments = part.get("arguments")
            if not isinstance(arguments, str):
                arguments = orjson.dumps(part.get("input") or {}).decode()
            calls.append({"id": part.get("tool_call_id"), "type": "function",
                          "function": {"name": part.get("tool_name"), "arguments": arguments}})  # fmt: skip
        elif kind in ("tool-call", "tool-result"):
            drops.add("provider-executed tools")
        elif kind not in ("source", "text"):
            drops.add(f"{kind} parts in assistant turns")
    if plan:
        out["tool_plan"] = "".join(plan)
    if parts:
        out["content"] = parts
    if calls:
        out["tool_calls"] = calls
    return out if len(out) > 1 else None


def _tool(message: dict[str, Any]) -> dict[str, Any]:
    output = message.get("output")
    text = output if isinstance(output, str) else orjson.dumps(output).decode()
    return {"role": "tool", "tool_call_id": message["tool_call_id"], "content": text}


def cohere_messages(conversation: dict[str, Any], drops: _Drops) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    system = system_text(conversation)
    if system:
        out.append({"role": "system", "content": system})
    for message in conversation.get("messages") or ():
        role = message.get("role")
        if role == "user":
            out.append({"role": "user", "content": _user_content(message.get("content"), drops)})
        elif role == "assistant":
            turn = _assistant(message, drops)
            if turn is not None:
                out.append(turn)
        elif role == "tool":
            if is_approval(message):
                drops.add("answers to approval requests")
            else:
                out.append(_tool(message))
    return out


def _options(options: dict[str, Any], body: dict[str, Any], drops: _Drops) -> None:
    for key, value in options.items():
        if key in _AS_IS:
            body[key] = value
        elif key in _RENAMED:
            body[_RENAMED[key]] = [value] if key == "stop" and isinstance(value, str) else value
        elif key == "tool_choice":
            if value in ("required", "none") and body.get("tools"):
                body["tool_choice"] = value.upper()
            elif value != "auto":
                drops.add("a tool_choice naming one tool")
        elif key == "response_format":
            if isinstance(value, dict) and value.get("type") in ("json_schema", "json_object"):
                fmt: dict[str, Any] = {"type": "json_object"}
                if isinstance(value.get("schema"), dict):
                    fmt["json_schema"] = value["schema"]
                body["response_format"] = fmt
            else:
                drops.add("this response_format")
        elif key == "reasoning_budget":
            body["thinking"] = {"type": "enabled", "token_budget": value}
        elif key in _UNSENDABLE:
            drops.add(_UNSENDABLE[key])
        else:
            body[key] = value  # a native option


def chat_request_body(conversation: dict[str, Any], model: str | None) -> dict[str, Any]:
    """The ``/v2/chat`` body for a canonical conversation (``model``: ``-m``, else the
    conversation's); warns once per kind about what it leaves out."""
    model = model or conversation.get("model")
    if not model:
        raise UsageError('no model: pass -m MODEL, put "model" in the conversation, or set STREAMKIT_MODEL')
    drops = _Drops()
    body: dict[str, Any] = {"model": model, "messages": cohere_messages(conversation, drops), "stream": True}
    tools, _ = split_tools(conversation.get("tools"), drops)
    if tools:
        body["tools"] = [{"type": "function", "function": {"name": t["name"], "description": t.get("description") or "",
                                                           "parameters": tool_parameters(t)}} for t in tools]  # fmt: skip
    _options(dict(conversation.get("options") or {}), body, drops)
    body["stream"] = True
    drops.warn()
    return body


__all__ = ["DEFAULT_BASE_URL", "chat_request_body", "chat_url", "cohere_messages"]
