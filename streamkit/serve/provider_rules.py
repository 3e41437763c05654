"""What the providers' APIs refuse with a 400 that a lenient server would take: the rules of a
request's tools and turns, in words (:func:`problems`).

Two users: ``serve --strict`` refuses such a request from a client, with its dialect's own 400
(a fake upstream that answers what the real one would refuse hides a client's bug); and the
gateway tests check every request a gateway sent its scripted upstream against them, so that a
translation a real provider would refuse fails there. Each rule is one the provider documents
or answers with its own 400 message:

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
  declaration's ``parameters`` only in the fields of Gemini's ``Schema`` (:data:`GEMINI_SCHEMA`);
  every content has parts and the role ``user`` or ``model``; a turn of function calls is
  followed by a turn of as many function responses.
* Every dialect: a ``tool_choice`` that names a tool names one the request declares (Gemini's
  ``allowedFunctionNames`` too).
* Responses: a ``function_call_output`` answers a ``function_call`` of the input (unless the
  request continues a ``previous_response_id``, which holds the call); a ``reasoning`` item
  is one the API can read back: an ``rs_`` id, or ``encrypted_content`` of its own (never one
  streamkit sealed another dialect's signature in).

The rules read any JSON: a value of another type than the rule expects is left to the request's
parser (which refuses it, or takes it), never an exception here.
"""

from __future__ import annotations

import re
from typing import Any

_CHAT_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_ANTHROPIC_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_GEMINI_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_.:-]{0,127}")
#: the fields of Gemini's ``Schema`` (as the google-genai SDK's model names them; a test checks)
GEMINI_SCHEMA = frozenset({
    "additionalProperties", "anyOf", "default", "defs", "description", "enum", "example", "format", "items",
    "maxItems", "maxLength", "maxProperties", "maximum", "minItems", "minLength", "minProperties", "minimum",
    "nullable", "pattern", "properties", "propertyOrdering", "ref", "required", "title", "type",
})  # fmt: skip


def problems(dialect: str, body: Any) -> list[str]:
    """What the dialect's API would refuse in ``body``, a request's JSON, in words (none: no
    rule here refuses it, or the dialect has none)."""
    if not isinstance(body, dict):
        return []
    check = _CHECKS.get(dialect)
    return check(body) if check is not None else []


def _dicts(value: Any) -> list[dict[str, Any]]:
    """The objects of a list (none when it is no list)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _names(body: dict[str, Any], kind: str) -> list[tuple[int, Any]]:
    """The declared tools' names (Chat: ``{"type": "function", "function": {"name"}}``)."""
    return [(i, _dict(t.get(kind)).get("name")) for i, t in enumerate(_dicts(body.get("tools")))
            if t.get("type") == kind]  # fmt: skip


def _id(value: Any) -> Any:
    """An id as a set may hold it: a string or a number as it is, anything else by its JSON's
    repr (an id that is a list matches no call)."""
    return value if value is None or isinstance(value, (str, int, float)) else repr(value)


def _ids(values: Any) -> list[str]:
    """The strings among ``values`` (ids to name in a message), sorted."""
    return sorted(str(v) for v in values)


def _chat(body: dict[str, Any]) -> list[str]:
    out = [f"tools[{i}]: the name {n!r} is not ^[a-zA-Z0-9_-]{{1,64}}$" for i, n in _names(body, "function")
           if not _CHAT_NAME.fullmatch(str(n))]  # fmt: skip
    if "tool_choice" in body and not body.get("tools"):
        out.append("tool_choice without tools")
    chosen = _dict(_dict(body.get("tool_choice")).get("function"))
    if chosen and _id(chosen.get("name")) not in {_id(n) for _, n in _names(body, "function")}:
        out.append(f"tool_choice names {chosen.get('name')!r}, no function of the request")
    if "web_search_options" in body and "search" not in str(body.get("model")):
        out.append(f"web_search_options for {body.get('model')!r}, which is no search model")
    waiting: set[Any] = set()  # calls of the last assistant message not yet answered
    answerable: set[Any] = set()
    for i, message in enumerate(_dicts(body.get("messages"))):
        role = message.get("role")
        if role == "tool":
            answered = _id(message.get("tool_call_id"))
            if answered not in answerable:
                out.append(f"messages[{i}]: a tool message answering no call ({answered})")
            waiting.discard(answered)
            continue
        if waiting:
            out.append(f"messages[{i}]: tool calls {_ids(waiting)} have no tool message")
        calls = _dicts(message.get("tool_calls")) if role == "assistant" else []
        for call in calls:
            if not isinstance(_dict(call.get("function")).get("arguments"), str):
                out.append(f"messages[{i}]: a tool call's arguments are not a string")
        ids = {_id(c.get("id")) for c in calls}
        waiting, answerable = set(ids), set(ids)
        if role == "assistant" and message.get("content") is None and not calls:
            out.append(f"messages[{i}]: an assistant message with neither content nor tool_calls")
    if waiting:
        out.append(f"tool calls {_ids(waiting)} have no tool message")
    return out


def _anthropic(body: dict[str, Any]) -> list[str]:
    tools = _dicts(body.get("tools"))
    out = [f"tools[{i}]: the name {t.get('name')!r} is not ^[a-zA-Z0-9_-]{{1,64}}$"
           for i, t in enumerate(tools) if "input_schema" in t and not _ANTHROPIC_NAME.fullmatch(str(t.get("name")))]  # fmt: skip
    choice = _dict(body.get("tool_choice"))
    if choice.get("type") == "tool" and _id(choice.get("name")) not in {_id(t.get("name")) for t in tools}:
        out.append(f"tool_choice names {choice.get('name')!r}, no tool of the request")
    for i, t in enumerate(tools):
        if str(t.get("type")).startswith("web_search_"):
            if t.get("name") != "web_search":
                out.append(f"tools[{i}]: the web search named {t.get('name')!r}, not 'web_search'")
            if "allowed_domains" in t and "blocked_domains" in t:
                out.append(f"tools[{i}]: the web search with both allowed_domains and blocked_domains")
    messages = _dicts(body.get("messages"))
    uses: set[Any] = set()  # the tool_use ids of the message before
    for i, message in enumerate(messages):
        content = message.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else _dicts(content)
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
        results = {_id(b.get("tool_use_id")) for b in blocks if b.get("type") == "tool_result"}
        if uses - results:
            out.append(f"messages.{i}: tool_use ids {_ids(uses - results)} have no tool_result here")
        if results - uses:
            out.append(f"messages.{i}: tool_result ids {_ids(results - uses)} answer no tool_use before")
        uses = {_id(b.get("id")) for b in blocks if b.get("type") == "tool_use"}
    if uses:
        out.append(f"tool_use ids {_ids(uses)} have no tool_result after them")
    return out


def _gemini(body: dict[str, Any]) -> list[str]:
    out: list[str] = []
    declared = set()
    for tool in _dicts(body.get("tools")):
        for d in _dicts(tool.get("functionDeclarations")):
            declared.add(_id(d.get("name")))
            if not _GEMINI_NAME.fullmatch(str(d.get("name"))):
                out.append(f"functionDeclarations: the name {d.get('name')!r} is not one Gemini takes")
            out += [f"{d.get('name')}: parameters{p}" for p in _gemini_schema(d.get("parameters"), "")]
    calling = _dict(_dict(body.get("toolConfig")).get("functionCallingConfig"))
    allowed = calling.get("allowedFunctionNames")
    for name in allowed if isinstance(allowed, list) else ():
        if _id(name) not in declared:
            out.append(f"toolConfig: allowedFunctionNames names {name!r}, no function declaration")
    calls = 0  # function calls of the turn before
    for i, content in enumerate(_dicts(body.get("contents"))):
        parts = _dicts(content.get("parts"))
        if not parts:
            out.append(f"contents[{i}]: no parts")
        if content.get("role") not in ("user", "model"):
            out.append(f"contents[{i}]: the role {content.get('role')!r} is not user or model")
        responses = sum(1 for p in parts if "functionResponse" in p)
        if calls and responses != calls:
            out.append(f"contents[{i}]: {responses} function responses for {calls} function calls")
        calls = sum(1 for p in parts if "functionCall" in p)
    return out


def _gemini_schema(schema: Any, at: str, depth: int = 0) -> list[str]:
    """What Gemini's ``Schema`` does not take in a declaration's ``parameters`` (JSON Schema as it
    is goes in ``parametersJsonSchema``)."""
    if not isinstance(schema, dict) or depth > 32:
        return []
    out = [f"{at}: {key!r} is no field of Gemini's Schema" for key in schema if key not in GEMINI_SCHEMA]
    if not isinstance(schema.get("type", ""), str):
        out.append(f"{at}.type: a list of types")
    for name, inner in _dict(schema.get("properties")).items():
        out += _gemini_schema(inner, f"{at}.properties.{name}", depth + 1)
    for key in ("items", "additionalProperties"):
        out += _gemini_schema(schema.get(key), f"{at}.{key}", depth + 1)
    for i, inner in enumerate(_dicts(schema.get("anyOf"))):
        out += _gemini_schema(inner, f"{at}.anyOf[{i}]", depth + 1)
    return out


def _responses(body: dict[str, Any]) -> list[str]:
    choice = _dict(body.get("tool_choice"))
    named = {_id(t.get("name")) for t in _dicts(body.get("tools")) if t.get("type") in ("function", "custom")}
    out = (
        [f"tool_choice names {choice.get('name')!r}, no function of the request"]
        if choice.get("type") in ("function", "custom") and _id(choice.get("name")) not in named
        else []
    )
    if not isinstance(body.get("input"), list):
        return out
    items = list(enumerate(body["input"]))
    out += [
        f"input[{n}]: a reasoning item the API cannot read back (no id, no encrypted_content of its own)"
        for n, item in items
        if isinstance(item, dict) and item.get("type") == "reasoning"
        and not str(item.get("id") or "").startswith("rs_")
        and not (item.get("encrypted_content") and not str(item["encrypted_content"]).startswith("streamkit:"))
    ]  # fmt: skip
    if body.get("previous_response_id"):
        return out
    calls = {
        _id(i.get("call_id")) for _, i in items if isinstance(i, dict) and i.get("type") == "function_call"
    }
    return out + [
        f"input[{n}]: no function_call with call_id {item.get('call_id')}"
        for n, item in items
        if isinstance(item, dict)
        and item.get("type") == "function_call_output"
        and _id(item.get("call_id")) not in calls
    ]


_CHECKS = {"openai-chat": _chat, "anthropic": _anthropic, "gemini": _gemini, "openai-responses": _responses}
