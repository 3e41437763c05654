"""openai-chat round trip (hypothesis): build the Chat Completions request of any canonical
conversation, parse it back, and get the same conversation, up to what the Chat format imposes:

* ``system`` and every system message (developer or not) come back as ONE system message, first,
  holding their texts joined by blank lines (:func:`streamkit.conversation.system_text`), with
  no ``developer`` flag: the builder sends one ``system`` message.
* A user message that holds only text comes back as one text part (the texts joined); empty
  texts are left out. Files come back as they went (images by data or URL, WAV/MP3 audio, other
  files with their name).
* An assistant turn comes back in the Chat message's order: reasoning, text (joined), refusal
  (joined), tool calls. Reasoning comes back only where it can go back: parts that came from
  ``reasoning_details`` (their ``provider_metadata`` kept), or from a ``reasoning_content`` /
  ``reasoning`` field (joined into one part of that field); other reasoning is not sent.
* A tool result's output comes back as text (JSON text unless it was a string), named after its
  call; ``is_error`` has no place in the format.
* A tool without a description comes back without one (the builder sends ``""``), one without
  parameters with the empty object schema; a custom tool comes back as the function it was
  declared as (:data:`CUSTOM_TOOL_PARAMETERS`; its ``format`` has no place).
* ``response_format`` json_schema without a name comes back named ``"response"`` (the API requires
  a name); ``reasoning_budget`` without ``reasoning_effort`` comes back as the effort it was sent
  as; a string ``stop`` as a list.

And building the parsed conversation again gives the same body (the same-dialect gateway sends
what the client sent).
"""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from streamkit.conversation import CUSTOM_TOOL_PARAMETERS, check, system_text
from streamkit.dialects.base import Endpoint
from streamkit.dialects.openai_chat import OpenAIChat
from streamkit.dialects.openai_chat.request import budget_effort

DIALECT = OpenAIChat()
ENDPOINT = Endpoint("http://upstream.test/v1", model="m")
META = "openai-chat"

TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
WORD = st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)
B64 = st.sampled_from(["iVBORw0KGgo=", "/9j/4AAQ", "UklGRg==", "SUQzBA==", "JVBERi0xLjQ="])
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-1000, 1000) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(WORD, inner, max_size=3),
    max_leaves=6,
)

FILES = st.one_of(
    st.builds(lambda m, d: {"type": "file", "media_type": m, "data": d}, st.sampled_from(["image/png", "image/jpeg"]), B64),
    st.builds(
        lambda ext, d: {"type": "file", "media_type": {"png": "image/png", "gif": "image/gif", "webp": "image/webp"}[ext],
                        "url": f"https://img.test/{d}.{ext}", **({"provider_metadata": {META: {"detail": "low"}}} if len(d) % 2 else {})},
        st.sampled_from(["png", "gif", "webp"]), WORD,
    ),
    st.builds(lambda m, d: {"type": "file", "media_type": m, "data": d}, st.sampled_from(["audio/wav", "audio/mpeg"]), B64),
    st.builds(lambda d, n: {"type": "file", "media_type": "application/pdf", "data": d, "filename": f"{n}.pdf"}, B64, WORD),
)  # fmt: skip


@st.composite
def user_message(draw: Any) -> dict[str, Any]:
    texts = st.builds(lambda t: {"type": "text", "text": t}, TEXT)
    if draw(st.booleans()):
        return {"role": "user", "content": draw(TEXT)}
    return {"role": "user", "content": draw(st.lists(st.one_of(texts, FILES), min_size=1, max_size=4))}


@st.composite
def reasoning_parts(draw: Any) -> list[dict[str, Any]]:
    kind = draw(st.sampled_from(["none", "field", "details", "foreign"]))
    if kind == "field":
        field = draw(st.sampled_from(["reasoning_content", "reasoning"]))
        return [{"type": "reasoning", "text": draw(TEXT), "provider_metadata": {META: {"field": field}}}]
    if kind == "details":
        out = []
        for _ in range(draw(st.integers(1, 2))):
            if draw(st.booleans()):
                meta = {"type": "reasoning.text", "signature": draw(B64), "format": "anthropic-claude-v1"}
                out.append({"type": "reasoning", "text": draw(TEXT), "provider_metadata": {META: meta}})
            else:
                meta = {"type": "reasoning.encrypted", "data": draw(B64), "id": draw(WORD)}
                out.append({"type": "reasoning", "text": "", "provider_metadata": {META: meta}})
        return out
    if kind == "foreign":  # another dialect's reasoning: not sent to a Chat server
        return [
            {"type": "reasoning", "text": draw(TEXT), "provider_metadata": {"anthropic": {"signature": "s"}}}
        ]
    return []


@st.composite
def turn(draw: Any, tools: list[dict[str, Any]], n: list[int]) -> list[dict[str, Any]]:
    """An assistant message, then a result for each of its calls."""
    parts = draw(reasoning_parts())
    parts += [{"type": "text", "text": t} for t in draw(st.lists(TEXT, max_size=2))]
    if draw(st.booleans()):
        parts.append({"type": "text", "text": draw(TEXT), "refusal": True})
    calls = []
    for tool in draw(st.lists(st.sampled_from(tools), max_size=2)) if tools else ():
        value = (
            {"input": draw(TEXT)}
            if tool.get("kind") == "custom"
            else draw(st.dictionaries(WORD, JSON, max_size=3))
        )
        call_id = f"call_{n[0]}"
        n[0] += 1
        calls.append({"type": "tool-call", "tool_call_id": call_id, "tool_name": tool["name"],
                      "arguments": json.dumps(value), "input": value})  # fmt: skip
    order = draw(st.permutations(range(len(parts) + len(calls))))
    both = parts + calls
    results = [
        {"role": "tool", "tool_call_id": c["tool_call_id"], "tool_name": c["tool_name"],
         "output": draw(st.one_of(TEXT, JSON)), **({"is_error": True} if draw(st.booleans()) else {})}
        for c in calls
    ]  # fmt: skip
    return [{"role": "assistant", "content": [both[i] for i in order]}, *results]


TOOLS = st.lists(
    st.one_of(
        st.builds(lambda n, d, p: {"name": n, **d, **p}, WORD,
                  st.sampled_from([{}, {"description": "Does things."}]),
                  st.sampled_from([{}, {"parameters": {"type": "object", "properties": {"a": {"type": "string"}}}}])),
        st.builds(lambda n: {"name": f"custom_{n}", "kind": "custom", "format": {"type": "text"}}, WORD),
    ),
    max_size=3, unique_by=lambda t: t["name"],
)  # fmt: skip

JSON_SCHEMAS = st.builds(
    lambda name, strict: {"type": "json_schema", **name, "schema": {"type": "object"}, **strict},
    st.sampled_from([{}, {"name": "answer"}]),
    st.sampled_from([{}, {"strict": True}]),
)

OPTIONS = st.fixed_dictionaries(
    {},
    optional={
        "max_tokens": st.integers(1, 4096),
        "temperature": st.floats(0, 2),
        "top_p": st.floats(0, 1),
        "top_k": st.integers(1, 100),
        "seed": st.integers(0, 2**31),
        "stop": st.lists(WORD, min_size=1, max_size=3),
        "frequency_penalty": st.floats(-2, 2),
        "presence_penalty": st.floats(-2, 2),
        "parallel_tool_calls": st.booleans(),
        "response_format": st.one_of(st.just({"type": "json_object"}), JSON_SCHEMAS),
        "reasoning_effort": st.sampled_from(["minimal", "low", "medium", "high"]),
        "reasoning_budget": st.integers(-1, 40000),
    },
)


@st.composite
def conversations(draw: Any) -> dict[str, Any]:
    tools = draw(TOOLS)
    n = [0]
    messages: list[dict[str, Any]] = [draw(user_message())]
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["user", "user", "assistant", "system"]))
        if kind == "user":
            messages.append(draw(user_message()))
        elif kind == "assistant":
            messages += draw(turn(tools, n))
        else:
            messages.append(
                {
                    "role": "system",
                    "content": draw(TEXT),
                    **({"developer": True} if draw(st.booleans()) else {}),
                }
            )
    conversation: dict[str, Any] = {"model": "m", "messages": messages}
    if draw(st.booleans()):
        conversation["system"] = draw(TEXT)
    if tools:
        conversation["tools"] = tools
        if draw(st.booleans()):
            choice = draw(st.sampled_from(["auto", "none", "required", {"name": tools[0]["name"]}]))
            conversation["options"] = {"tool_choice": choice}
    options = draw(OPTIONS)
    if options:
        conversation["options"] = {**conversation.get("options", {}), **options}
    return check(conversation)


# --- the normalizations of the module's docstring --------------------------------------------------


def _output(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _assistant(parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    reasoning: list[dict[str, Any]] = []
    fields: dict[str, list[str]] = {}
    details = []
    for p in parts:
        meta = (p.get("provider_metadata") or {}).get(META) or {}
        if p["type"] != "reasoning" or not meta:
            continue
        if "field" in meta:
            fields.setdefault(meta["field"], []).append(p["text"])
        else:
            details.append(p)
    if details:
        reasoning = details  # parse prefers reasoning_details when both are sent
    else:
        reasoning = [
            {"type": "reasoning", "text": "".join(texts), "provider_metadata": {META: {"field": field}}}
            for field, texts in fields.items()
            if "".join(texts)
        ][:1]
    text = "".join(p["text"] for p in parts if p["type"] == "text" and not p.get("refusal"))
    refusal = "".join(p["text"] for p in parts if p["type"] == "text" and p.get("refusal"))
    out = list(reasoning)
    if text:
        out.append({"type": "text", "text": text})
    if refusal:
        out.append({"type": "text", "text": refusal, "refusal": True})
    out += [p for p in parts if p["type"] == "tool-call"]
    return out


def _user(parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if all(p["type"] == "text" for p in parts):
        text = "".join(p["text"] for p in parts)
        return [{"type": "text", "text": text}] if text else []
    return [p for p in parts if p["type"] != "text" or p["text"]]


def expected(conversation: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"model": "m", "messages": []}
    system = system_text(conversation)
    if system:
        out["messages"].append({"role": "system", "content": [{"type": "text", "text": system}]})
    for m in conversation["messages"]:
        if m["role"] == "user":
            out["messages"].append({"role": "user", "content": _user(m["content"])})
        elif m["role"] == "assistant":
            kept = _assistant(m["content"])
            if m["content"] and not kept and all(p["type"] == "reasoning" for p in m["content"]):
                continue  # (reasoning Chat cannot carry, alone: the turn is left out)
            out["messages"].append({"role": "assistant", "content": kept})
        elif m["role"] == "tool":
            out["messages"].append({"role": "tool", "tool_call_id": m["tool_call_id"], "output": _output(m["output"]),
                                    "tool_name": m["tool_name"]})  # fmt: skip
    tools = []
    for t in conversation.get("tools") or ():
        tool: dict[str, Any] = {"name": t["name"]}
        if t.get("description"):
            tool["description"] = t["description"]
        if t.get("kind") == "custom":
            tool["parameters"] = CUSTOM_TOOL_PARAMETERS
        else:
            tool["parameters"] = t.get("parameters") or {"type": "object", "properties": {}}
        tools.append(tool)
    if tools:
        out["tools"] = tools
    options = copy.deepcopy(conversation.get("options") or {})
    if "reasoning_budget" in options:
        budget = options.pop("reasoning_budget")
        options.setdefault("reasoning_effort", budget_effort(budget))
    fmt = options.get("response_format")
    if fmt and fmt["type"] == "json_schema":
        fmt.setdefault("name", "response")
    if options:
        out["options"] = options
    return out


def build(conversation: dict[str, Any]) -> dict[str, Any]:
    return DIALECT.build_request(conversation, ENDPOINT).body


@settings(max_examples=300, deadline=None)
@given(conversations())
def test_build_then_parse_gives_the_same_conversation(conversation: dict[str, Any]) -> None:
    body = json.loads(json.dumps(build(conversation)))  # over the wire
    parsed = DIALECT.parse_request(body)
    assert parsed.stream is True and parsed.answer_options["include_usage"] is True
    assert parsed.conversation == expected(conversation)
    assert build(check(parsed.conversation)) == body  # and the same-dialect gateway sends the same body
