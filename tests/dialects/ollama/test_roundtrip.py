"""The round trip, for every canonical conversation: build the Ollama request, parse it back, and
get the same conversation, up to the normalizations the Ollama format imposes:

* the system prompt: ``system`` and every ``system`` message are joined (a blank line between)
  into the one system message the builder sends first, and come back as ``system``;
* user turns: the text parts joined into one text part, first (left out when empty and there
  are images), then the images (their ``filename`` lost; the media type read back from the
  image's bytes);
* assistant turns: reasoning joined into one part, first, then the text joined, then images,
  then the tool calls; reasoning loses other dialects' ``provider_metadata`` (signatures: Ollama
  has none); calls keep their input, ``arguments`` becomes its compact JSON text;
* tool-call ids: Ollama's own ids (``provider_metadata["ollama"]`` without ``generated_id``) come
  back as they were; any other id is not sent and comes back as ``call_N``, numbered in order
  across the conversation, each call marked ``{"generated_id": true, "index": i}`` (its place in
  its turn) and Ollama's own ``{"index": i}``; tool results follow their call's new id;
* tool results: ``output`` becomes text (JSON as its compact JSON text, null as ""), ``is_error``
  is lost (Ollama has no flag), ``tool_name`` is the call's when the result had none;
* tools: an empty ``description`` is left out, missing ``parameters`` come back as the empty
  object schema;
* options: ``response_format`` json_schema keeps only its ``schema``; ``reasoning_effort``
  minimal comes back low, none as ``reasoning_budget: 0``; ``reasoning_budget`` comes back as
  the effort it was sent as (0 stays a budget of 0), and is lost when an effort is given;
  ``tool_choice`` auto and ``parallel_tool_calls`` true (Ollama's own behaviour) are left out;
  ``tool_choice`` none leaves the tools out;
* ``provider_metadata``: Ollama's own (model options, top-level fields) comes back; other
  dialects' is an upstream of theirs only.

Results are generated in the order of their calls (Ollama matches results without ids to calls
by order and name: see :mod:`streamkit.dialects.ollama.parse`).
"""

from __future__ import annotations

import base64
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from streamkit.conversation import check
from streamkit.dialects.base import Endpoint
from streamkit.dialects.ollama import Ollama

NAME = "ollama"
DIALECT = Ollama()

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)
words = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12)
names = st.from_regex(r"[a-z][a-z_]{0,10}", fullmatch=True)
scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | text
json_objects = st.dictionaries(names, scalars | st.lists(scalars, max_size=3), max_size=4)
MAGIC = {
    "image/png": b"\x89PNG\r\n\x1a\n",
    "image/jpeg": b"\xff\xd8\xff\xe0",
    "image/gif": b"GIF89a",
    "image/webp": b"RIFF\x10\x00\x00\x00WEBPVP8 ",
}


@st.composite
def images(draw: Any) -> dict[str, Any]:
    media = draw(st.sampled_from(sorted(MAGIC)))
    data = base64.b64encode(MAGIC[media] + draw(st.binary(max_size=24))).decode()
    part = {"type": "file", "media_type": media, "data": data}
    if draw(st.booleans()):
        part["filename"] = draw(words)
    return part


def texts(draw: Any) -> list[dict[str, Any]]:
    return [{"type": "text", "text": t} for t in draw(st.lists(text, max_size=2))]


@st.composite
def calls(draw: Any, counter: list[int]) -> dict[str, Any]:
    counter[0] += 1
    value = draw(json_objects)
    part = {
        "type": "tool-call",
        "tool_call_id": draw(
            st.sampled_from([f"toolu_{counter[0]}", f"fc_{counter[0]}", f"call_{counter[0]}"])
        ),
        "tool_name": draw(names),
        "arguments": orjson.dumps(value).decode(),
        "input": value,
    }
    kind = draw(st.sampled_from(["foreign", "own", "generated"]))
    if kind == "own":
        part["tool_call_id"] = f"fc_{counter[0]}"  # an id Ollama sent
        part["provider_metadata"] = {NAME: {"index": draw(st.integers(0, 5))}}
    elif kind == "generated":
        part["provider_metadata"] = {NAME: {"generated_id": True, "index": 0}}
    return part


@st.composite
def conversations(draw: Any) -> dict[str, Any]:
    counter = [0]
    messages: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(1, 4))):
        if draw(st.integers(0, 5)) == 0:
            messages.append({"role": "system", "content": texts(draw)})
        messages.append({"role": "user", "content": texts(draw) + draw(st.lists(images(), max_size=2))})
        parts: list[dict[str, Any]] = []
        for _ in range(draw(st.integers(0, 4))):
            kind = draw(st.sampled_from(["text", "reasoning", "image", "call"]))
            if kind == "text":
                parts.append({"type": "text", "text": draw(text)})
            elif kind == "reasoning":
                part = {"type": "reasoning", "text": draw(text)}
                if draw(st.booleans()):
                    part["provider_metadata"] = {"anthropic": {"signature": draw(words)}}
                parts.append(part)
            elif kind == "image":
                parts.append(draw(images()))
            else:
                parts.append(draw(calls(counter)))
        messages.append({"role": "assistant", "content": parts})
        if draw(st.booleans()):
            for part in (p for p in parts if p["type"] == "tool-call"):
                result: dict[str, Any] = {
                    "role": "tool",
                    "tool_call_id": part["tool_call_id"],
                    "output": draw(text | json_objects | st.none()),
                }
                if draw(st.booleans()):
                    result["tool_name"] = part["tool_name"]
                if draw(st.booleans()):
                    result["is_error"] = draw(st.booleans())
                messages.append(result)
    conversation: dict[str, Any] = {"model": draw(names), "messages": messages}
    if draw(st.booleans()):
        conversation["system"] = draw(text)
    tools = []
    for name in draw(st.lists(names, max_size=3, unique=True)):
        tool: dict[str, Any] = {"name": name}
        if draw(st.booleans()):
            tool["description"] = draw(text)
        if draw(st.booleans()):
            tool["parameters"] = {"type": "object", "properties": {k: {"type": "string"} for k in draw(st.lists(names, max_size=2))}}  # fmt: skip
        tools.append(tool)
    if tools:
        conversation["tools"] = tools
    options = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "max_tokens": st.integers(1, 100_000),
                "temperature": st.floats(0, 2),
                "top_p": st.floats(0, 1),
                "top_k": st.integers(1, 100),
                "stop": st.lists(words, min_size=1, max_size=3),
                "seed": st.integers(-(2**31), 2**31),
                "frequency_penalty": st.floats(-2, 2),
                "presence_penalty": st.floats(-2, 2),
                "response_format": st.sampled_from(
                    [
                        {"type": "json_object"},
                        {
                            "type": "json_schema",
                            "name": "answer",
                            "schema": {"type": "object"},
                            "strict": True,
                        },
                        {"type": "json_schema", "schema": {"type": "array", "items": {"type": "integer"}}},
                    ]
                ),
                "reasoning_effort": st.sampled_from(["none", "minimal", "low", "medium", "high"]),
                "reasoning_budget": st.sampled_from([0, 1024, 8192, 32000, -1]),
                "tool_choice": st.sampled_from(["auto", "none"]),
                "parallel_tool_calls": st.just(True),
            },
        )
    )
    if options:
        conversation["options"] = options
    meta = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "options": st.fixed_dictionaries(
                    {},
                    optional={
                        "num_ctx": st.integers(1, 2**17),
                        "mirostat": st.integers(0, 2),
                        "repeat_penalty": st.floats(0, 2),
                    },
                ).filter(bool),
                "body": st.fixed_dictionaries(
                    {}, optional={"keep_alive": st.sampled_from(["5m", 0, -1]), "truncate": st.booleans()}
                ).filter(bool),
            },
        )
    )
    pm: dict[str, Any] = {"openai-chat": {"store": True}} if draw(st.booleans()) else {}
    if meta:
        pm[NAME] = meta
    if pm:
        conversation["provider_metadata"] = pm
    return conversation


# --- what the round trip must give -----------------------------------------------------------------------


def _effort(budget: int) -> dict[str, Any]:
    if budget == 0:
        return {"reasoning_budget": 0}
    if budget < 0:
        return {"reasoning_effort": "medium"}
    return {"reasoning_effort": "low" if budget < 4096 else "medium" if budget < 16384 else "high"}


def expected(conversation: dict[str, Any]) -> dict[str, Any]:
    """The conversation as it must come back (the module's docstring lists each rule)."""
    out: dict[str, Any] = {"model": conversation["model"]}
    systems = [conversation.get("system") or ""] + [
        "".join(p["text"] for p in m["content"]) for m in conversation["messages"] if m["role"] == "system"
    ]
    if "\n\n".join(s for s in systems if s):
        out["system"] = "\n\n".join(s for s in systems if s)
    taken = {
        p["tool_call_id"]
        for m in conversation["messages"]
        if m["role"] == "assistant"
        for p in m["content"]
        if p["type"] == "tool-call" and NAME in p.get("provider_metadata", {}) and not p["provider_metadata"][NAME].get("generated_id")
    }  # fmt: skip
    numbers = (f"call_{n}" for n in range(10_000) if f"call_{n}" not in taken)
    ids: dict[str, tuple[str, str]] = {}
    messages: list[dict[str, Any]] = []
    for message in conversation["messages"]:
        content = message.get("content") or []
        joined = {
            kind: "".join(p["text"] for p in content if p["type"] == kind) for kind in ("text", "reasoning")
        }
        files = [{k: v for k, v in p.items() if k != "filename"} for p in content if p["type"] == "file"]
        if message["role"] == "user":
            first = [{"type": "text", "text": joined["text"]}] if joined["text"] or not files else []
            messages.append({"role": "user", "content": first + files})
        elif message["role"] == "assistant":
            parts = [
                {"type": kind, "text": joined[kind]} for kind in ("reasoning", "text") if joined[kind]
            ] + files
            tool_calls = [p for p in content if p["type"] == "tool-call"]
            for index, call in enumerate(tool_calls):
                own = call["tool_call_id"] in taken
                new_id = call["tool_call_id"] if own else next(numbers)
                ids[call["tool_call_id"]] = (new_id, call["tool_name"])
                meta = {"index": index} if own else {"generated_id": True, "index": index}
                parts.append({"type": "tool-call", "tool_call_id": new_id, "tool_name": call["tool_name"],
                              "arguments": orjson.dumps(call["input"]).decode(), "input": call["input"],
                              "provider_metadata": {NAME: meta}})  # fmt: skip
            messages.append({"role": "assistant", "content": parts})
        elif message["role"] == "tool":
            new_id, name = ids[message["tool_call_id"]]
            output = message["output"]
            text = (
                output if isinstance(output, str) else "" if output is None else orjson.dumps(output).decode()
            )
            messages.append({"role": "tool", "tool_call_id": new_id, "tool_name": message.get("tool_name") or name, "output": text})  # fmt: skip
    out["messages"] = messages
    options = dict(conversation.get("options") or {})
    if conversation.get("tools") and options.get("tool_choice") != "none":
        out["tools"] = [
            {"name": t["name"], **({"description": t["description"]} if t.get("description") else {}),
             "parameters": t.get("parameters") or {"type": "object", "properties": {}}}
            for t in conversation["tools"]
        ]  # fmt: skip
    options.pop("tool_choice", None)
    options.pop("parallel_tool_calls", None)
    if options.get("response_format", {}).get("type") == "json_schema":
        options["response_format"] = {"type": "json_schema", "schema": options["response_format"]["schema"]}
    budget = options.pop("reasoning_budget", None)
    effort = options.pop("reasoning_effort", None)
    if effort is not None:
        options.update(
            _effort(0) if effort == "none" else {"reasoning_effort": "low" if effort == "minimal" else effort}
        )
    elif budget is not None:
        options.update(_effort(budget))
    if options:
        out["options"] = options
    meta = (conversation.get("provider_metadata") or {}).get(NAME)
    if meta:
        out["provider_metadata"] = {NAME: meta}
    return out


@settings(max_examples=150, deadline=None)
@given(conversations())
def test_build_then_parse_gives_the_conversation_back(conversation: dict[str, Any]) -> None:
    request = DIALECT.build_request(check(conversation), Endpoint("http://upstream"))
    assert request.url == "http://upstream/api/chat"
    body = orjson.loads(orjson.dumps(request.body))  # over the wire
    parsed = DIALECT.parse_request(body, path="/api/chat")
    assert parsed.stream is True and parsed.dropped == []
    assert parsed.conversation == expected(conversation)
    assert check(parsed.conversation) == check(expected(conversation))
    # and parsing is the builder's inverse on Ollama's own side: build again, the same body
    again = DIALECT.build_request(parsed.conversation, Endpoint("http://upstream"))
    assert again.body == request.body
