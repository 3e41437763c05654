"""The round trip of openai-responses requests (hypothesis): build the request of any canonical
conversation, parse it back, and get the same conversation, up to the normalizations the
Responses format imposes, which :func:`expected` applies:

* the ``system`` prompt and the system messages that are not developer messages are joined (a
  blank line between) into ``system``: they travel as ``instructions``; developer messages stay
  in their place;
* user content given as a string is one text part; a non-image file sent inline with no
  ``filename`` gets ``file-<its index>``;
* assistant messages that follow each other are one message (the input is a flat list of items,
  read back one assistant turn per run of assistant items);
* assistant text parts with no item id (another dialect's text) that follow each other in one
  message are one text part, a refusal among them plain text: they travel as one plain assistant
  message; such a message right after another (two canonical messages, read back as one turn)
  has its part marked ``split``, so that it is still a message of its own when built again;
* function calls lose their item id (the builder leaves it out: an ``fc_`` id makes the API ask for
  the reasoning item before it);
* tool results: an output that is not a string is its JSON text (null: empty); ``is_error`` is not carried
  (only apply_patch outputs have an error flag);
* tools: an empty ``description`` and ``strict: false`` are left out, a missing ``parameters`` is
  the empty object schema;
* ``reasoning_budget`` is carried as the effort nearest to it (see the builder's table).

Everything else comes back as it was: developer messages, text and files, item ids and phases,
refusals with an item id, reasoning parts with their item ids, raw (``reasoning_text``) parts and
encrypted content (items without an id too, as Codex sends them), function and custom tool calls
with their arguments, tool results and the tool they answer, function and custom tools, and the
options (max tokens, temperature, top_p, parallel tool calls, tool choice, response format,
reasoning effort). Building again from what was parsed gives the same body.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from itertools import count
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from streamkit.dialects.base import Endpoint
from streamkit.dialects.openai_responses import OpenAIResponses
from streamkit.dialects.openai_responses.request import budget_effort

NAME = "openai-responses"
DIALECT = OpenAIResponses()
ENDPOINT = Endpoint("http://upstream.test/v1")

texts = st.text(max_size=12)
words = st.text(alphabet="abcdefgh_", min_size=1, max_size=8)
ids = st.text(alphabet="0123456789abcdef", min_size=4, max_size=8)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(words, inner, max_size=3),
    max_leaves=6,
)


def pm(**meta: Any) -> dict[str, Any]:
    kept = {k: v for k, v in meta.items() if v is not None}
    return {"provider_metadata": {NAME: kept}} if kept else {}


@st.composite
def user_parts(draw: st.DrawFn) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["text", "text", "image", "image-url", "pdf", "pdf-url"]))
        data = base64.b64encode(draw(st.binary(max_size=8))).decode()
        if kind == "text":
            parts.append({"type": "text", "text": draw(texts)})
        elif kind == "image":
            media = draw(st.sampled_from(["image/png", "image/jpeg", "image/webp"]))
            parts.append({"type": "file", "media_type": media, "data": data,
                          **pm(detail=draw(st.sampled_from([None, "low", "high"])))})  # fmt: skip
        elif kind == "image-url":
            parts.append(
                {"type": "file", "media_type": "image/png", "url": f"https://x.test/{draw(words)}.png"}
            )
        elif kind == "pdf":
            name = draw(st.none() | words.map(lambda w: f"{w}.pdf"))
            parts.append({"type": "file", "media_type": "application/pdf", "data": data,
                          **({"filename": name} if name else {})})  # fmt: skip
        else:
            parts.append(
                {"type": "file", "media_type": "application/pdf", "url": f"https://x.test/{draw(words)}.pdf"}
            )
    return parts


@st.composite
def assistant_turn(draw: st.DrawFn, calls: list[tuple[str, str]], serial: Iterator[int]) -> dict[str, Any]:
    """One assistant message: runs of text (an item, or another dialect's text), reasoning
    items (with an id, or Codex's: no id, encrypted content), calls."""
    content: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(1, 4))):
        k = next(serial)  # ids unique in the conversation
        kind = draw(st.sampled_from(["text", "text", "reasoning", "call", "custom"]))
        if kind == "text":
            item_id = draw(st.none() | ids.map(f"msg_{k}_".__add__))
            phase = draw(st.sampled_from([None, "commentary", "final_answer"])) if item_id else None
            for _ in range(draw(st.integers(1, 2))):
                part: dict[str, Any] = {"type": "text", "text": draw(texts)}
                if draw(st.booleans()) and item_id:
                    part["refusal"] = True
                content.append({**part, **pm(item_id=item_id, phase=phase)})
        elif kind == "reasoning":
            item_id = draw(st.none() | ids.map(f"rs_{k}_".__add__))
            encrypted = draw(st.none() | ids) if item_id else draw(ids)
            raw = draw(st.booleans())
            size = draw(st.integers(1, 3))
            for j in range(size):
                content.append({"type": "reasoning", "text": draw(st.text(min_size=1, max_size=10)),
                                **pm(item_id=item_id, part="reasoning_text" if raw else None,
                                     encrypted_content=encrypted if j == size - 1 else None)})  # fmt: skip
        else:
            call_id = f"call_{k}"
            name = draw(words)
            if kind == "call":
                value = draw(st.dictionaries(words, json_values, max_size=3))
                meta = pm(namespace=draw(st.none() | words))
            else:
                value = {"input": draw(texts)}
                meta = pm(type="custom_tool_call", item_id=draw(st.none() | ids.map(lambda i: f"ctc_{i}")))
            content.append({"type": "tool-call", "tool_call_id": call_id, "tool_name": name,
                            "arguments": orjson.dumps(value).decode(), "input": value, **meta})  # fmt: skip
            calls.append((call_id, name))
    return {"role": "assistant", "content": content}


@st.composite
def conversations(draw: st.DrawFn) -> dict[str, Any]:
    messages: list[dict[str, Any]] = []
    serial = count()
    for _ in range(draw(st.integers(1, 4))):
        for _ in range(draw(st.integers(0, 1))):
            developer = draw(st.booleans())
            body = [{"type": "text", "text": draw(st.text(min_size=1, max_size=8))}]
            messages.append({"role": "system", "content": body, **({"developer": True} if developer else {})})
        if draw(st.booleans()):
            messages.append({"role": "user", "content": draw(texts)})
        else:
            messages.append({"role": "user", "content": draw(user_parts())})
        for _ in range(draw(st.integers(0, 2))):
            calls: list[tuple[str, str]] = []
            messages.append(draw(assistant_turn(calls, serial)))
            for call_id, name in calls:
                output = draw(texts | json_values)
                result = {"role": "tool", "tool_call_id": call_id, "tool_name": name, "output": output}
                if draw(st.booleans()):
                    result["is_error"] = True
                messages.append(result)
    conversation: dict[str, Any] = {"model": "gpt-test", "messages": messages}
    if draw(st.booleans()):
        conversation["system"] = draw(st.text(min_size=1, max_size=10))
    tools = []
    for i in range(draw(st.integers(0, 3))):
        tool: dict[str, Any] = {"name": f"{draw(words)}_{i}"}
        if draw(st.booleans()):
            tool["description"] = draw(texts)
        if draw(st.booleans()):
            tool["kind"] = "custom"
            if draw(st.booleans()):
                tool["format"] = {"type": "grammar", "syntax": "lark", "definition": draw(texts)}
        else:
            if draw(st.booleans()):
                tool["parameters"] = {"type": "object", "properties": {draw(words): {"type": "string"}}}
            if draw(st.booleans()):
                tool["strict"] = draw(st.booleans())
        tools.append(tool)
    if tools:
        conversation["tools"] = tools
    options: dict[str, Any] = {}
    for key, values in (
        ("max_tokens", st.integers(1, 100_000)),
        ("temperature", st.floats(0, 2)),
        ("top_p", st.floats(0, 1)),
        ("parallel_tool_calls", st.booleans()),
        ("tool_choice", st.sampled_from(["auto", "none", "required", *({"name": t["name"]} for t in tools)])),
        ("response_format", st.sampled_from([
            {"type": "json_object"},
            {"type": "json_schema", "name": "answer", "schema": {"type": "object"}, "strict": True},
            {"type": "json_schema", "name": "out", "schema": {"type": "object", "properties": {}}},
        ])),
        ("reasoning_effort", st.sampled_from(["minimal", "low", "medium", "high"])),
        ("reasoning_budget", st.integers(-1, 40_000)),
    ):  # fmt: skip
        if draw(st.booleans()):
            options[key] = draw(values)
    if options:
        conversation["options"] = options
    return conversation


def _meta(part: dict[str, Any]) -> dict[str, Any]:
    return part.get("provider_metadata", {}).get(NAME, {})


def expected(conversation: dict[str, Any]) -> dict[str, Any]:
    """The conversation as it comes back: the normalizations of the module's docstring."""
    out: dict[str, Any] = {"model": conversation["model"]}
    system = [conversation["system"]] if conversation.get("system") else []
    messages: list[dict[str, Any]] = []
    for message in conversation["messages"]:
        role = message["role"]
        if role == "system" and not message.get("developer"):
            system += [p["text"] for p in message["content"] if p["text"]]
            continue
        if role == "user":
            content = message["content"]
            if isinstance(content, str):
                content = [{"type": "text", "text": content}]
            parts = []
            for j, part in enumerate(content):
                if part["type"] == "file" and part["media_type"] == "application/pdf" and "data" in part:
                    part = {**part, "filename": part.get("filename") or f"file-{j}"}
                parts.append(part)
            messages.append({"role": "user", "content": parts})
        elif role == "tool":
            result = {k: v for k, v in message.items() if k != "is_error"}
            if result["output"] is None:
                result["output"] = ""
            elif not isinstance(result["output"], str):
                result["output"] = orjson.dumps(result["output"]).decode()
            messages.append(result)
        elif role == "assistant":
            if not messages or messages[-1]["role"] != "assistant":
                messages.append({"role": "assistant", "content": []})
            turn = messages[-1]["content"]
            first = len(turn)  # the parts of this message (the builder joins texts within one)
            for part in message["content"]:
                meta = _meta(part)
                if part["type"] == "text" and not meta.get("item_id"):
                    last = turn[-1] if turn else None
                    after_text = (
                        last is not None and last["type"] == "text" and not _meta(last).get("item_id")
                    )
                    if after_text and len(turn) > first:
                        last["text"] += part["text"]  # type: ignore[index]
                        continue
                    part = {"type": "text", "text": part["text"],
                            **pm(phase=meta.get("phase"), split=True if after_text else None)}  # fmt: skip
                elif part["type"] == "tool-call" and not meta.get("type"):
                    part = {k: v for k, v in part.items() if k != "provider_metadata"}
                    part.update(pm(namespace=meta.get("namespace")))
                turn.append(dict(part))
        else:
            messages.append(message)
    if system:
        out["system"] = "\n\n".join(system)
    out["messages"] = messages
    tools = []
    for tool in conversation.get("tools", ()):
        tool = {
            k: v
            for k, v in tool.items()
            if not (k == "description" and not v) and not (k == "strict" and not v)
        }
        if tool.get("kind") != "custom" and not tool.get("parameters"):
            tool["parameters"] = {"type": "object", "properties": {}}
        tools.append(tool)
    if tools:
        out["tools"] = tools
    options = dict(conversation.get("options", {}))
    budget = options.pop("reasoning_budget", None)
    if budget is not None and "reasoning_effort" not in options and budget_effort(budget):
        options["reasoning_effort"] = budget_effort(budget)
    if options:
        out["options"] = options
    return out


def build(conversation: dict[str, Any]) -> dict[str, Any]:
    return DIALECT.build_request(conversation, ENDPOINT).body


@settings(max_examples=300, deadline=None)
@given(conversation=conversations())
def test_build_then_parse_gives_the_conversation_back(conversation: dict[str, Any]) -> None:
    body = build(conversation)
    parsed = DIALECT.parse_request(body, path="/v1/responses", params={}, headers={})
    assert parsed.stream is True
    assert parsed.dropped == []
    assert parsed.conversation == expected(conversation)
    assert build(parsed.conversation) == body
    custom = [t["name"] for t in conversation.get("tools", ()) if t.get("kind") == "custom"]
    assert parsed.answer_options == ({"custom_tools": custom} if custom else {})
