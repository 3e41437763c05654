"""The round trip: a canonical conversation, built into a Messages request by the builder and
parsed back by the parser, is the same conversation, modulo what the dialect documents
(:mod:`streamkit.dialects.anthropic.request` and :mod:`.parse`):

* system messages are joined (blank lines between) into ``system``;
* a tool call's ``arguments`` become the compact JSON of its ``input``; a tool message gets the
  ``tool_name`` of the call it answers, its ``output`` the JSON text of a non-string output, and
  ``is_error: false`` is left out;
* reasoning without a signature (another dialect's) is left out, and so are empty text parts (an
  assistant turn left with nothing goes too, and the user turns around it become one);
* an image's ``filename`` is left out (image blocks have no title); an image by URL gets the
  media type its extension says;
* ``max_tokens`` is always there (4096 plus the thinking budget when absent);
  ``reasoning_effort`` becomes the ``reasoning_budget`` it maps to (the budget wins when both are
  given); ``stop`` as a string becomes a list; ``parallel_tool_calls: true`` (the default) is left
  out, and so are ``tool_choice`` and ``parallel_tool_calls`` without tools; a json_schema
  ``response_format`` keeps only its ``schema``; beside thinking, ``temperature`` other than 1,
  ``top_k`` and ``top_p`` under 0.95 are left out, and a forced ``tool_choice`` leaves thinking off;
* a tool without ``parameters`` gets an empty object schema, a freeform (``kind: custom``) tool
  the one-string-input schema, and an object schema without ``properties`` an empty one.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamkit.conversation import CUSTOM_TOOL_PARAMETERS, check, system_text
from streamkit.dialects.anthropic import Anthropic
from streamkit.dialects.anthropic.request import DEFAULT_MAX_TOKENS, EFFORT_BUDGETS
from streamkit.dialects.base import Endpoint

DIALECT = Anthropic()
ENDPOINT = Endpoint("https://api.test", None, None)
A = "anthropic"

words = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12)
names = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-1000, 1000) | words,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(names, inner, max_size=3),
    max_leaves=6,
)
inputs = st.dictionaries(names, json_values, max_size=3)
signatures = st.from_regex(r"[A-Za-z0-9+/]{8,24}={0,2}", fullmatch=True)


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


@st.composite
def user_parts(draw: Any) -> list[dict[str, Any]]:
    kinds = draw(
        st.lists(
            st.sampled_from(["text", "text", "image", "image-url", "pdf", "txt"]), min_size=1, max_size=4
        )
    )
    parts: list[dict[str, Any]] = []
    for kind in kinds:
        if kind == "text":
            parts.append(text(draw(words)))
        elif kind == "image":
            media = draw(st.sampled_from(["image/png", "image/jpeg", "image/gif", "image/webp"]))
            part = {"type": "file", "media_type": media, "data": base64.b64encode(draw(st.binary(min_size=1, max_size=16))).decode()}  # fmt: skip
            if draw(st.booleans()):
                part["filename"] = "pic"  # images have no title: left out
            parts.append(part)
        elif kind == "image-url":
            ext, media = draw(
                st.sampled_from([("png", "image/png"), ("jpg", "image/jpeg"), ("gif", "image/gif")])
            )
            parts.append(
                {"type": "file", "media_type": media, "url": f"https://img.test/{draw(names)}.{ext}"}
            )
        elif kind == "pdf":
            part = {"type": "file", "media_type": "application/pdf", "data": base64.b64encode(b"%PDF-1.4 " + draw(st.binary(max_size=8))).decode()}  # fmt: skip
            if draw(st.booleans()):
                part["filename"] = draw(names) + ".pdf"
            parts.append(part)
        else:
            part = {
                "type": "file",
                "media_type": "text/plain",
                "data": base64.b64encode(draw(words).encode()).decode(),
            }
            if draw(st.booleans()):
                part["filename"] = draw(names) + ".txt"
            parts.append(part)
    return parts


@st.composite
def assistant_parts(draw: Any, tools: list[str]) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for kind in draw(st.lists(st.sampled_from(["text", "thinking", "redacted", "unsigned", "call", "server"]), min_size=1, max_size=5)):  # fmt: skip
        if kind == "text":
            parts.append(text(draw(words)))
        elif kind == "thinking":
            parts.append({"type": "reasoning", "text": draw(words), "provider_metadata": {A: {"signature": draw(signatures)}}})  # fmt: skip
        elif kind == "redacted":
            parts.append(
                {
                    "type": "reasoning",
                    "text": "",
                    "provider_metadata": {A: {"redacted_data": draw(signatures)}},
                }
            )
        elif kind == "unsigned":  # another dialect's reasoning: left out
            parts.append({"type": "reasoning", "text": draw(words)})
        elif kind == "call":
            value = draw(inputs)
            name = draw(st.sampled_from(tools or ["f"]))
            call_id = f"toolu_{draw(names)}"
            part = {
                "type": "tool-call",
                "tool_call_id": call_id,
                "tool_name": name,
                "arguments": json.dumps(value),
            }
            part["input"] = value
            if draw(st.booleans()):
                part["provider_metadata"] = {A: {"caller": {"type": "direct"}}}
            parts.append(part)
        else:  # a web search Anthropic ran, and its result
            call_id = f"srvtoolu_{draw(names)}"
            query = {"query": draw(words)}
            parts.append({"type": "tool-call", "tool_call_id": call_id, "tool_name": "web_search", "arguments": json.dumps(query),
                          "input": query, "provider_executed": True, "provider_metadata": {A: {"type": "server_tool_use"}}})  # fmt: skip
            parts.append({"type": "tool-result", "tool_call_id": call_id, "tool_name": "web_search", "is_error": False,
                          "output": [{"type": "web_search_result", "url": "https://r.test", "title": draw(words),
                                      "encrypted_content": draw(signatures)}],
                          "provider_executed": True, "provider_metadata": {A: {"type": "web_search_tool_result"}}})  # fmt: skip
    if all(p["type"] == "reasoning" and "provider_metadata" not in p for p in parts):
        parts.append(text(draw(words)))  # a turn left with nothing is left out (not generated here)
    # ids unique within the conversation
    seen: set[str] = set()
    return [
        p
        for p in parts
        if p["type"] != "tool-call" or not (p["tool_call_id"] in seen or seen.add(p["tool_call_id"]))
    ]


@st.composite
def tool_decls(draw: Any) -> list[dict[str, Any]]:
    tools = []
    for name in draw(st.lists(names, max_size=3, unique=True)):
        tool: dict[str, Any] = {"name": name}
        if draw(st.booleans()):
            tool["description"] = draw(words)
        kind = draw(st.sampled_from(["schema", "schema", "none", "custom", "no-properties"]))
        if kind == "schema":
            tool["parameters"] = {"type": "object", "properties": {p: {"type": "string"} for p in draw(st.lists(names, max_size=2))}}  # fmt: skip
        elif kind == "custom":
            tool.update(
                kind="custom", format={"type": "grammar", "syntax": "lark", "definition": "start: /.+/"}
            )
        elif kind == "no-properties":
            tool["parameters"] = {"type": "object", "additionalProperties": False}
        tools.append(tool)
    return tools


def _response_format(name: str, strict: bool) -> dict[str, Any]:
    return {
        "type": "json_schema",
        "name": name,
        "schema": {"type": "object", "properties": {}},
        "strict": strict,
    }


@st.composite
def conversations(draw: Any) -> dict[str, Any]:
    tools = draw(tool_decls())
    messages: list[dict[str, Any]] = []
    if draw(st.booleans()):
        messages.append({"role": "system", "content": [text(draw(words))]})
    messages.append({"role": "user", "content": draw(user_parts())})
    for _ in range(draw(st.integers(0, 3))):
        parts = draw(assistant_parts([t["name"] for t in tools]))
        messages.append({"role": "assistant", "content": parts})
        calls = [p for p in parts if p["type"] == "tool-call" and not p.get("provider_executed")]
        for call in calls:
            output = draw(st.one_of(words, st.dictionaries(names, json_values, max_size=2)))
            tool_message: dict[str, Any] = {
                "role": "tool",
                "tool_call_id": call["tool_call_id"],
                "output": output,
            }
            if draw(st.booleans()):
                tool_message["tool_name"] = call["tool_name"]
            if draw(st.booleans()):
                tool_message["is_error"] = draw(st.booleans())
            messages.append(tool_message)
        if not calls or draw(st.booleans()):
            messages.append({"role": "user", "content": draw(user_parts())})
    conversation: dict[str, Any] = {"model": "claude-test", "messages": messages}
    if draw(st.booleans()):
        conversation["system"] = draw(words)
    if tools:
        conversation["tools"] = tools
    options: dict[str, Any] = {}
    budget = draw(st.none() | st.integers(1024, 8000))
    if budget is not None:
        options["reasoning_budget"] = budget
    if draw(st.booleans()):
        options["reasoning_effort"] = draw(st.sampled_from(sorted(EFFORT_BUDGETS)))
    if draw(st.booleans()):
        options["max_tokens"] = draw(st.integers(30000, 64000))
    for key, values in [
        ("temperature", st.sampled_from([0, 0.5, 1])),
        ("top_p", st.sampled_from([0.5, 0.97])),
        ("top_k", st.integers(1, 50)),
        ("stop", st.one_of(words, st.lists(words, min_size=1, max_size=2))),
        ("tool_choice", st.sampled_from(["auto", "none", "required", *({"name": t["name"]} for t in tools)])),
        ("parallel_tool_calls", st.booleans()),
        ("response_format", st.builds(_response_format, names, st.booleans())),
    ]:
        if draw(st.booleans()):
            options[key] = draw(values)
    if options:
        conversation["options"] = options
    return conversation


def normalized(conversation: dict[str, Any]) -> dict[str, Any]:
    """The conversation as it comes back: the normalizations of the module docstring."""
    out: dict[str, Any] = {"model": conversation["model"]}
    system = system_text(conversation)
    if system:
        out["system"] = system
    names = {}
    messages = []
    for message in conversation["messages"]:
        if message["role"] == "system":
            continue
        if message["role"] == "tool":
            tool = {
                "role": "tool",
                "tool_call_id": message["tool_call_id"],
                "tool_name": names[message["tool_call_id"]],
            }
            output = message["output"]
            tool["output"] = output if isinstance(output, str) else orjson.dumps(output).decode()
            if message.get("is_error"):
                tool["is_error"] = True
            messages.append(tool)
            continue
        parts = []
        for part in message["content"]:
            part = dict(part)
            if part["type"] == "reasoning" and not part.get("provider_metadata"):
                continue
            if part["type"] == "tool-call":
                names[part["tool_call_id"]] = part["tool_name"]
                part["arguments"] = orjson.dumps(part["input"]).decode()
            if part["type"] == "file" and part["media_type"].startswith("image/"):
                part.pop("filename", None)
            parts.append(part)
        messages.append({"role": message["role"], "content": parts})
    out["messages"] = messages
    tools = []
    for tool in conversation.get("tools") or ():
        entry = {k: tool[k] for k in ("name", "description") if k in tool}
        if tool.get("kind") == "custom":
            entry["parameters"] = CUSTOM_TOOL_PARAMETERS
        else:
            entry["parameters"] = {"properties": {}, **tool.get("parameters", {"type": "object"})}
        tools.append(entry)
    if tools:
        out["tools"] = tools
    options = dict(conversation.get("options") or {})
    effort = options.pop("reasoning_effort", None)
    if effort is not None and "reasoning_budget" not in options:
        options["reasoning_budget"] = EFFORT_BUDGETS[effort]
    if not tools:
        options.pop("tool_choice", None)
        options.pop("parallel_tool_calls", None)
    if options.get("parallel_tool_calls") is True or (
        options.get("tool_choice") == "none" and "parallel_tool_calls" in options
    ):
        del options["parallel_tool_calls"]
    if options.get("parallel_tool_calls") is False and "tool_choice" not in options:
        options["tool_choice"] = "auto"
    if "reasoning_budget" in options:
        forced = options.get("tool_choice") == "required" or isinstance(options.get("tool_choice"), dict)
        if forced:
            del options["reasoning_budget"]
        else:
            if options.get("temperature") not in (None, 1):
                del options["temperature"]
            options.pop("top_k", None)
            if options.get("top_p", 1) < 0.95:
                del options["top_p"]
    options.setdefault("max_tokens", DEFAULT_MAX_TOKENS + options.get("reasoning_budget", 0))
    if isinstance(options.get("stop"), str):
        options["stop"] = [options["stop"]]
    if "response_format" in options:
        options["response_format"] = {"type": "json_schema", "schema": options["response_format"]["schema"]}
    out["options"] = options
    return out


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(conversation=conversations())
def test_build_then_parse_gives_the_conversation_back(conversation: dict[str, Any]) -> None:
    request = DIALECT.build_request(check(conversation), ENDPOINT)
    parsed = DIALECT.parse_request(
        orjson.loads(orjson.dumps(request.body)), path="/v1/messages", headers=request.headers
    )
    assert parsed.stream is True and parsed.dropped == []
    assert parsed.conversation == normalized(conversation)
    # and the second trip changes nothing at all
    again = DIALECT.build_request(check(parsed.conversation), ENDPOINT)
    assert DIALECT.parse_request(again.body, headers=again.headers).conversation == parsed.conversation
