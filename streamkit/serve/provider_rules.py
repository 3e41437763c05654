"""What the providers' APIs refuse with a 400 that a lenient scripted upstream would take: the rules
of a request's turns, checked on every request a gateway sent its scripted upstream (the gateway
tests' helpers call :func:`problems`), so that a translation that a real provider would refuse
fails here. Each rule is one the provider documents or answers with its own 400 message:

* Chat Completions: function names of ``[a-zA-Z0-9_-]{1,64}``; an assistant message has
  ``content`` or ``tool_calls``, whose arguments are strings; an assistant's tool calls are each
  answered by a ``tool`` message before the next other message, and a ``tool`` message answers a
  call of the assistant message it follows; a ``tool_choice`` only with ``tools``;
  ``web_search_options`` only for a search model.
* Anthropic Messages: tool names of ``[a-zA-Z0-9_-]{1,64}``; every message but a final
  assistant one has content, and no text block is empty; a ``thinking`` block has its signature;
  a ``tool_use``'s input is an object; each ``tool_use`` is answered by a ``tool_result`` in the
  very next message, and each ``tool_result`` answers a ``tool_use`` of the message before; the web
  search tool is named ``web_search`` and takes ``allowed_domains`` or ``blocked_domains``, not both.
* Gemini: function names a letter or ``_`` then ``[a-zA-Z0-9_.:-]``, 128 at most; a
  declaration's ``parameters`` only in the fields of Gemini's ``Schema``; every content
  has parts and the role ``user`` or ``model``; a turn of function calls is followed by a turn
  of as many function responses.
* Every dialect: a ``tool_choice`` that names a tool names one the request declares (Gemini's
  ``allowedFunctionNames`` too).
* Responses: a ``function_call_output`` answers a ``function_call`` of the input (unless the
  request continues a ``previous_response_id``, which holds the call); a ``reasoning`` item
  is one the API can read back: an ``rs_`` id, or ``encrypted_content`` of its own (never one
  streamkit sealed another dialect's signature in).
"""

from __future__ import annotations

import re
from typing import Any

_CHAT_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_ANTHROPIC_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_GEMINI_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_.:-]{0,127}")


def _names(body: dict[str, Any], kind: str) -> list[tuple[int, Any]]:
    """The declared tools' names (Chat: ``{"type": "function", "function": {"name"}}``)."""
    return [
        (i, (t.get(kind) or {}).get("name"))
        for i, t in enumerate(body.get("tools") or ())
        if t.get("type") == kind
    ]


def problems(dialect: str, body: Any) -> list[str]:
    """What the dialect's API would refuse in ``body``, a request's JSON, in words."""
    if not isinstance(body, dict):
        return []
    check = _CHECKS.get(dialect)
    return check(body) if check is not None else []


def _chat(body: dict[str, Any]) -> list[str]:
    out = [f"tools[{i}]: the name {n!r} is not ^[a-zA-Z0-9_-]{{1,64}}$" for i, n in _names(body, "function")
           if not _CHAT_NAME.fullmatch(str(n))]  # fmt: skip
    if "tool_choice" in body and not body.get("tools"):
        out.append("tool_choice without tools")
    chosen = (
        (body.get("tool_choice") or {}).get("function", {})
        if isinstance(body.get("tool_choice"), dict)
        else {}
    )
    if chosen and chosen.get("name") not in [n for _, n in _names(body, "function")]:
        out.append(f"tool_choice names {chosen.get('name')!r}, no function of the request")
    if "web_search_options" in body and "search" not in str(body.get("model")):
        out.append(f"web_search_options for {body.get('model')!r}, which is no search model")
    messages = body.get("messages") or []
    waiting: set[str] = set()  # calls of the last assistant message not yet answered
    answerable: set[str] = set()
    for i, message in enumerate(messages):
        role = message.get("role")
        if role == "tool":
            if message.get("tool_call_id") not in answerable:
                out.append(f"messages[{i}]: a tool message answering no call ({message.get('tool_call_id')})")
            waiting.discard(message.get("tool_call_id"))
            continue
        if waiting:
            out.append(f"messages[{i}]: tool calls {sorted(waiting)} have no tool message")
        calls = [c.get("id") for c in message.get("tool_calls") or ()] if role == "assistant" else []
        for call in message.get("tool_calls") or () if role == "assistant" else ():
            if not isinstance(call.get("function", {}).get("arguments"), str):
                out.append(f"messages[{i}]: a tool call's arguments are not a string")
        waiting, answerable = set(calls), set(calls)
        if role == "assistant" and message.get("content") is None and not calls:
            out.append(f"messages[{i}]: an assistant message with neither content nor tool_calls")
    if waiting:
        out.append(f"tool calls {sorted(waiting)} have no tool message")
    return out


def _anthropic(body: dict[str, Any]) -> list[str]:
    out = [f"tools[{i}]: the name {t.get('name')!r} is not ^[a-zA-Z0-9_-]{{1,64}}$"
           for i, t in enumerate(body.get("tools") or ()) if "input_schema" in t and not _ANTHROPIC_NAME.fullmatch(str(t.get("name")))]  # fmt: skip
    choice = body.get("tool_choice")
    tools = body.get("tools") or ()
    if (
        isinstance(choice, dict)
        and choice.get("type") == "tool"
        and choice.get("name") not in [t.get("name") for t in tools]
    ):
        out.append(f"tool_choice names {choice.get('name')!r}, no tool of the request")
    for i, t in enumerate(body.get("tools") or ()):
        if str(t.get("type")).startswith("web_search_"):
            if t.get("name") != "web_search":
                out.append(f"tools[{i}]: the web search named {t.get('name')!r}, not 'web_search'")
            if "allowed_domains" in t and "blocked_domains" in t:
                out.append(f"tools[{i}]: the web search with both allowed_domains and blocked_domains")
    messages = body.get("messages") or []
    uses: set[str] = set()  # the tool_use ids of the message before
    for i, message in enumerate(messages):
        content = message.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
        last_assistant = i == len(messages) - 1 and message.get("role") == "assistant"
        if not blocks and not last_assistant:
            out.append(f"messages.{i}: a message with no content")
        for block in blocks:
            if block.get("type") == "text" and not block.get("text") and not last_assistant:
                out.append(f"messages.{i}: an empty text block")
            if block.get("type") == "thinking" and not block.get("signature"):
                out.append(f"messages.{i}: a thinking block without its signature")
            if block.get("type") == "tool_use" and not isinstance(block.get("input"), dict):
                out.append(f"messages.{i}: a tool_use whose input is not an object")
        results = {b.get("tool_use_id") for b in blocks if b.get("type") == "tool_result"}
        if uses - results:
            out.append(f"messages.{i}: tool_use ids {sorted(uses - results)} have no tool_result here")
        if results - uses:
            out.append(f"messages.{i}: tool_result ids {sorted(results - uses)} answer no tool_use before")
        uses = {b.get("id") for b in blocks if b.get("type") == "tool_use"}
    if uses:
        out.append(f"tool_use ids {sorted(uses)} have no tool_result after them")
    return out


def _gemini(body: dict[str, Any]) -> list[str]:
    out = [f"functionDeclarations: the name {d.get('name')!r} is not one Gemini takes"
           for tool in body.get("tools") or () for d in tool.get("functionDeclarations") or ()
           if not _GEMINI_NAME.fullmatch(str(d.get("name")))]  # fmt: skip
    declared = []
    for tool in body.get("tools") or ():
        for d in tool.get("functionDeclarations") or ():
            declared.append(d.get("name"))
            out += [f"{d.get('name')}: parameters{p}" for p in _gemini_schema(d.get("parameters"), "")]
    calling = (body.get("toolConfig") or {}).get("functionCallingConfig") or {}
    for name in calling.get("allowedFunctionNames") or ():
        if name not in declared:
            out.append(f"toolConfig: allowedFunctionNames names {name!r}, no function declaration")
    contents = body.get("contents") or []
    calls = 0  # function calls of the turn before
    for i, content in enumerate(contents):
        parts = content.get("parts") or []
        if not parts:
            out.append(f"contents[{i}]: no parts")
        if content.get("role") not in ("user", "model"):
            out.append(f"contents[{i}]: the role {content.get('role')!r} is not user or model")
        responses = sum(1 for p in parts if "functionResponse" in p)
        if calls and responses != calls:
            out.append(f"contents[{i}]: {responses} function responses for {calls} function calls")
        calls = sum(1 for p in parts if "functionCall" in p)
    return out


def _gemini_schema(schema: Any, at: str) -> list[str]:
    """What Gemini's ``Schema`` (the fields the google-genai SDK's model has) does not take in a
    declaration's ``parameters`` (JSON Schema as it is goes in ``parametersJsonSchema``)."""
    from google.genai import types

    fields = {f.alias or name for name, f in types.Schema.model_fields.items()}
    if not isinstance(schema, dict):
        return []
    out = [f"{at}: {key!r} is no field of Gemini's Schema" for key in schema if key not in fields]
    if not isinstance(schema.get("type", ""), str):
        out.append(f"{at}.type: a list of types")
    for name, inner in (schema.get("properties") or {}).items():
        out += _gemini_schema(inner, f"{at}.properties.{name}")
    for key in ("items", "additionalProperties"):
        out += _gemini_schema(schema.get(key), f"{at}.{key}")
    for i, inner in enumerate(schema.get("anyOf") or ()):
        out += _gemini_schema(inner, f"{at}.anyOf[{i}]")
    return out


def _responses(body: dict[str, Any]) -> list[str]:
    choice = body.get("tool_choice")
    named = [t.get("name") for t in body.get("tools") or () if t.get("type") in ("function", "custom")]
    out = (
        [f"tool_choice names {choice.get('name')!r}, no function of the request"]
        if isinstance(choice, dict)
        and choice.get("type") in ("function", "custom")
        and choice.get("name") not in named
        else []
    )
    items = body.get("input")
    if not isinstance(items, list):
        return out
    out += [
        f"input[{n}]: a reasoning item the API cannot read back (no id, no encrypted_content of its own)"
        for n, item in enumerate(items)
        if isinstance(item, dict) and item.get("type") == "reasoning"
        and not str(item.get("id") or "").startswith("rs_")
        and not (item.get("encrypted_content") and not str(item["encrypted_content"]).startswith("streamkit:"))
    ]  # fmt: skip
    if body.get("previous_response_id"):
        return out
    calls = {i.get("call_id") for i in items if isinstance(i, dict) and i.get("type") == "function_call"}
    return out + [
        f"input[{n}]: no function_call with call_id {item.get('call_id')}"
        for n, item in enumerate(items)
        if isinstance(item, dict)
        and item.get("type") == "function_call_output"
        and item.get("call_id") not in calls
    ]


_CHECKS = {"openai-chat": _chat, "anthropic": _anthropic, "gemini": _gemini, "openai-responses": _responses}
