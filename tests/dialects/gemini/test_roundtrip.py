"""The round trip, for every canonical conversation: build the Gemini request, parse it back, and
get the same conversation, up to the normalizations the Gemini format imposes:

* the system prompt: ``system`` and every ``system`` message are joined (a blank line between) into
  the ``systemInstruction`` and come back as ``system`` (the ``developer`` mark is lost);
* user turns: empty text parts are left out, and a turn left with nothing; a file keeps its media
  type and its base64 ``data`` or its ``url``, not its ``filename``;
* assistant turns: text and reasoning keep Gemini's ``thought_signature`` (other dialects'
  ``provider_metadata`` is not sent; an empty block without a signature is left out); calls keep
  their input, ``arguments`` becomes its compact JSON text; executed code goes back as Gemini's
  parts; a turn left with nothing is left out; for Gemini 3 and later, the first call of each
  model step of the current turn that has no signature comes back with the documented
  ``skip_thought_signature_validator``;
* call ids: a call's own id comes back; an id normalize made up (``generated_id``) is not sent and
  comes back as ``call_N``, numbered in order across the conversation, still marked
  ``generated_id``; tool results (and executed results) follow their call's new id;
* tool results: ``tool_name`` is the call's when the result had none; the output comes back as it
  was (the forms Gemini reads differently, ``{"result": x}``, ``{"output": x}`` and an object with an
  ``error``, are pinned in test_parse.py and not generated here);
* tools: an empty ``description`` is left out, parameters that declare nothing come back absent,
  a custom tool comes back as the function with one string ``input`` it was declared as;
* options: ``stop`` as a string comes back as a list; ``response_format`` json_schema keeps only
  its ``schema``; ``parallel_tool_calls`` is lost (true is what Gemini does; false is warned
  about); ``reasoning_budget`` wins over ``reasoning_effort``; an effort comes back as Gemini 3's
  level (none → minimal, xhigh → high; none, which asks for no thoughts, keeps
  ``includeThoughts`` absent in what is kept for Gemini) or, before Gemini 3, as the budget it
  was sent as (:data:`EFFORT_BUDGETS`);
* ``provider_metadata["gemini"]["body"]`` (what only Gemini can use) comes back as it was.

And building the parsed conversation again gives the same body: a gateway in front of Gemini sends
what its client sent.
"""

from __future__ import annotations

import base64
from typing import Any

import orjson
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from streamkit.conversation import CUSTOM_TOOL_PARAMETERS, check, system_text
from streamkit.dialects.base import Endpoint
from streamkit.dialects.gemini import SKIP_SIGNATURE, Gemini
from streamkit.dialects.gemini.request import EFFORT_BUDGETS, EFFORT_LEVELS

NAME = "gemini"
DIALECT = Gemini()
MODELS = ("gemini-2.5-flash", "gemini-3-flash-preview")
TRICKY_KEYS = {"result", "output", "error"}

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20)
words = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12)
names = st.from_regex(r"[a-z][a-z_]{0,10}", fullmatch=True)
own_ids = st.from_regex(r"fc_[a-z0-9]{0,4}_", fullmatch=True)
signatures = st.binary(min_size=1, max_size=12).map(lambda b: base64.b64encode(b).decode())
scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | text
json_objects = st.dictionaries(names, scalars | st.lists(scalars, max_size=3), max_size=4)
outputs = scalars | st.lists(scalars, max_size=3) | json_objects.filter(lambda d: not (TRICKY_KEYS & set(d)))


def gemini(**meta: Any) -> dict[str, Any]:
    return {"provider_metadata": {NAME: meta}} if meta else {}


@st.composite
def files(draw: Any) -> dict[str, Any]:
    media = draw(st.sampled_from(["image/png", "image/jpeg", "application/pdf", "audio/wav"]))
    part: dict[str, Any] = {"type": "file", "media_type": media}
    if draw(st.booleans()):
        part["data"] = base64.b64encode(b"\x89PNG" + draw(st.binary(max_size=16))).decode()
    else:
        part["url"] = draw(st.sampled_from(["https://example.com/", "gs://bucket/"])) + draw(names)
    if draw(st.booleans()):
        part["filename"] = draw(words)
    return part


@st.composite
def user_turns(draw: Any) -> dict[str, Any]:
    parts = draw(st.lists(st.builds(lambda t: {"type": "text", "text": t}, text) | files(), max_size=3))
    return {"role": "user", "content": parts}


@st.composite
def blocks(draw: Any) -> dict[str, Any]:
    part: dict[str, Any] = {"type": draw(st.sampled_from(["text", "reasoning"])), "text": draw(text)}
    kind = draw(st.sampled_from(["none", "gemini", "other"]))
    if kind == "gemini":
        part.update(gemini(thought_signature=draw(signatures)))
    elif kind == "other":
        part["provider_metadata"] = {"anthropic": {"signature": draw(signatures)}}
    return part


def unique(counter: list[int], generated: bool, own: str) -> str:
    """A call id unique in the conversation: ``call_N`` as normalize makes them, or an own one."""
    counter[0] += 1
    return f"call_{counter[0]}" if generated else f"{own}{counter[0]}"


@st.composite
def calls(draw: Any, counter: list[int]) -> dict[str, Any]:
    value = draw(json_objects)
    meta: dict[str, Any] = {}
    if draw(st.booleans()):
        meta["thought_signature"] = draw(signatures)
    generated = draw(st.booleans())
    if generated:
        meta["generated_id"] = True
    return {
        "type": "tool-call",
        "tool_call_id": unique(counter, generated, draw(own_ids)),
        "tool_name": draw(names),
        "arguments": orjson.dumps(value).decode(),
        "input": value,
        **gemini(**meta),
    }


@st.composite
def executed_code(draw: Any, counter: list[int]) -> list[dict[str, Any]]:
    value = {"language": "PYTHON", "code": draw(text)}
    generated = draw(st.booleans())
    call_id = unique(counter, generated, draw(own_ids))
    meta = gemini(generated_id=True) if generated else {}
    outcome = draw(st.sampled_from(["OUTCOME_OK", "OUTCOME_FAILED"]))
    call = {"type": "tool-call", "tool_call_id": call_id, "tool_name": "code_execution",
            "arguments": orjson.dumps(value).decode(), "input": value, "provider_executed": True, **meta}  # fmt: skip
    result = {"type": "tool-result", "tool_call_id": call_id, "tool_name": "code_execution",
              "output": {"outcome": outcome, "output": draw(text)}, "is_error": outcome != "OUTCOME_OK",
              "provider_executed": True, **meta}  # fmt: skip
    return [call, result]


@st.composite
def steps(draw: Any, counter: list[int]) -> list[dict[str, Any]]:
    """An assistant turn and the results of its calls, in the order of the calls."""
    content: list[dict[str, Any]] = []
    for kind in draw(st.lists(st.sampled_from(["block", "call", "code"]), max_size=4)):
        if kind == "block":
            content.append(draw(blocks()))
        elif kind == "call":
            content.append(draw(calls(counter)))
        else:
            content += draw(executed_code(counter))
    out = [{"role": "assistant", "content": content}]
    for part in content:
        if part["type"] == "tool-call" and not part.get("provider_executed"):
            output = draw(outputs)
            result: dict[str, Any] = {"role": "tool", "tool_call_id": part["tool_call_id"], "output": output}
            if draw(st.booleans()):
                result["tool_name"] = part["tool_name"]
            if output is not None and draw(st.booleans()):
                result["is_error"] = True
            out.append(result)
    return out


@st.composite
def tools(draw: Any) -> dict[str, Any]:
    tool: dict[str, Any] = {"name": draw(names)}
    if draw(st.booleans()):
        tool["description"] = draw(text)
    kind = draw(st.sampled_from(["none", "empty", "params", "custom"]))
    if kind == "empty":
        tool["parameters"] = {"type": "object", "properties": {}}
    elif kind == "params":
        props = draw(st.dictionaries(names, st.sampled_from([{"type": "string"}, {"type": "integer"}]), min_size=1, max_size=3))  # fmt: skip
        tool["parameters"] = {"type": "object", "properties": props, "required": sorted(props)[:1]}
    elif kind == "custom":
        tool["kind"] = "custom"
    return tool


@st.composite
def options(draw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, values in {
        "max_tokens": st.integers(1, 10_000),
        "temperature": st.floats(0, 2),
        "top_p": st.floats(0, 1),
        "top_k": st.integers(1, 100),
        "seed": st.integers(0, 2**31 - 1),  # an int32 (a larger one is refused, as Gemini does)
        "frequency_penalty": st.floats(-2, 2),
        "presence_penalty": st.floats(-2, 2),
        "stop": words | st.lists(words, max_size=3),
        "tool_choice": st.sampled_from(["auto", "none", "required"]) | st.builds(lambda n: {"name": n}, names),
        "parallel_tool_calls": st.booleans(),
        "response_format": st.just({"type": "json_object"})
        | st.builds(lambda s, n: {"type": "json_schema", "name": n, "strict": True, "schema": s},
                    st.just({"type": "object"}) | st.builds(lambda p: {"type": "object", "properties": {p: {"type": "string"}}}, names), names),
        "reasoning_effort": st.sampled_from(sorted(EFFORT_BUDGETS)),
        "reasoning_budget": st.integers(0, 30_000),
    }.items():  # fmt: skip
        if draw(st.booleans()):
            out[key] = draw(values)
    return out


@st.composite
def conversations(draw: Any) -> dict[str, Any]:
    messages: list[dict[str, Any]] = [draw(user_turns())]
    counter = [0]
    for kind in draw(st.lists(st.sampled_from(["user", "step", "system"]), max_size=4)):
        if kind == "user":
            messages.append(draw(user_turns()))
        elif kind == "step":
            messages += draw(steps(counter))
        else:
            messages.append(
                {"role": "system", "content": [{"type": "text", "text": draw(text)}], "developer": True}
            )
    conversation: dict[str, Any] = {"model": draw(st.sampled_from(MODELS)), "messages": messages}
    if draw(st.booleans()):
        conversation["system"] = draw(text)
    found = draw(st.lists(tools(), max_size=3, unique_by=lambda t: t["name"]))
    if found:
        conversation["tools"] = found
    opts = draw(options())
    if opts:
        conversation["options"] = opts
    if draw(st.booleans()):
        conversation["provider_metadata"] = {NAME: {"body": {
            "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}],
            "cachedContent": "cachedContents/" + draw(names),
        }}}  # fmt: skip
    return conversation


# --- what the round trip gives back ------------------------------------------------------------


def expected(conversation: dict[str, Any]) -> dict[str, Any]:
    """The conversation, normalized as the module's docstring says."""
    out: dict[str, Any] = {"model": conversation["model"]}
    system = system_text(conversation)
    if system:
        out["system"] = system
    messages = [m for m in conversation["messages"] if m["role"] != "system"]
    renamed = _renumber(messages)
    names = {p["tool_call_id"]: p["tool_name"] for m in messages if m["role"] == "assistant" for p in m["content"] if p["type"] == "tool-call"}  # fmt: skip
    turns: list[dict[str, Any]] = []
    for message in messages:
        if message["role"] == "user":
            parts = [_user_part(p) for p in message["content"] if p["type"] != "text" or p["text"]]
            if parts:
                turns.append({"role": "user", "content": parts})
        elif message["role"] == "assistant":
            parts = [q for p in message["content"] if (q := _model_part(p, renamed)) is not None]
            if parts:
                turns.append({"role": "assistant", "content": parts})
        else:
            tool = {"role": "tool", "tool_call_id": renamed.get(message["tool_call_id"], message["tool_call_id"]),
                    "tool_name": message.get("tool_name") or names[message["tool_call_id"]], "output": message["output"]}  # fmt: skip
            if message.get("is_error"):
                tool["is_error"] = True
            turns.append(tool)
    if signs(conversation["model"]):
        _skip_signatures(turns)
    out["messages"] = turns
    if conversation.get("tools"):
        out["tools"] = [_tool(t) for t in conversation["tools"]]
    opts = _options(conversation.get("options") or {}, conversation["model"])
    if opts:
        out["options"] = opts
    kept = dict((conversation.get("provider_metadata") or {}).get(NAME, {}).get("body") or {})
    if opts.get("reasoning_effort") == "minimal" and conversation["options"]["reasoning_effort"] == "none":
        kept["generationConfig"] = {"thinkingConfig": {"includeThoughts": None}}  # thoughts not asked for
    if kept:
        out["provider_metadata"] = {NAME: {"body": kept}}
    return out


def signs(model: str) -> bool:
    return model.startswith("gemini-3")


def _renumber(messages: list[dict[str, Any]]) -> dict[str, str]:
    """Made-up call ids → the ``call_N`` parse gives, in order across the conversation."""
    used = {p["tool_call_id"] for m in messages if m["role"] == "assistant" for p in m["content"]
            if p["type"] == "tool-call" and not _meta(p).get("generated_id")}  # fmt: skip
    renamed: dict[str, str] = {}
    n = 0
    for message in messages:
        for part in message.get("content") or () if message["role"] == "assistant" else ():
            if part["type"] == "tool-call" and _meta(part).get("generated_id"):
                while f"call_{n}" in used:
                    n += 1
                renamed[part["tool_call_id"]] = f"call_{n}"
                n += 1
    return renamed


def _meta(part: dict[str, Any]) -> dict[str, Any]:
    return (part.get("provider_metadata") or {}).get(NAME) or {}


def _user_part(part: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in part.items() if k != "filename"}


def _model_part(part: dict[str, Any], renamed: dict[str, str]) -> dict[str, Any] | None:
    meta = _meta(part)
    if part["type"] in ("text", "reasoning"):
        if not part["text"] and not meta.get("thought_signature"):
            return None
        return {"type": part["type"], "text": part["text"], **gemini(**meta)}
    return {**part, "tool_call_id": renamed.get(part["tool_call_id"], part["tool_call_id"])}


def _skip_signatures(messages: list[dict[str, Any]]) -> None:
    """Gemini 3: the first call of each model step after the last user message gets the skip
    signature when it has none."""
    last_user = max((i for i, m in enumerate(messages) if m["role"] == "user"), default=-1)
    for message in messages[last_user + 1 :]:
        if message["role"] != "assistant":
            continue
        first = next((p for p in message["content"] if p["type"] == "tool-call" and not p.get("provider_executed")), None)  # fmt: skip
        if first is not None and not _meta(first).get("thought_signature"):
            first["provider_metadata"] = {NAME: {**_meta(first), "thought_signature": SKIP_SIGNATURE}}


def _tool(tool: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"name": tool["name"]}
    if tool.get("description"):
        out["description"] = tool["description"]
    if tool.get("kind") == "custom":
        out["parameters"] = CUSTOM_TOOL_PARAMETERS
    elif (tool.get("parameters") or {}).get("properties"):
        out["parameters"] = tool["parameters"]
    return out


def _options(options: dict[str, Any], model: str) -> dict[str, Any]:
    out = {
        k: v
        for k, v in options.items()
        if k not in ("parallel_tool_calls", "reasoning_effort", "reasoning_budget")
    }
    if isinstance(out.get("stop"), str):
        out["stop"] = [out["stop"]]
    if out.get("response_format", {}).get("type") == "json_schema":
        out["response_format"] = {"type": "json_schema", "schema": out["response_format"]["schema"]}
    if "reasoning_budget" in options:
        out["reasoning_budget"] = options["reasoning_budget"]
    elif "reasoning_effort" in options and signs(model):
        out["reasoning_effort"] = EFFORT_LEVELS[options["reasoning_effort"]]
    elif "reasoning_effort" in options:
        out["reasoning_budget"] = EFFORT_BUDGETS[options["reasoning_effort"]]
    return out


def build(conversation: dict[str, Any]) -> dict[str, Any]:
    return DIALECT.build_request(check(conversation), Endpoint("http://gemini.test", None, None)).body


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conversations())
def test_build_then_parse_gives_the_conversation_back(conversation: dict[str, Any]) -> None:
    if not any(m["role"] in ("user", "assistant", "tool") for m in expected(conversation)["messages"]):
        return  # nothing to send: the builder says so (a usage error)
    body = build(conversation)
    parsed = DIALECT.parse_request(
        body,
        path=f"/v1beta/models/{conversation['model']}:generateContent",
        params={"model": conversation["model"]},
    )
    assert parsed.conversation == expected(conversation)
    assert build(parsed.conversation) == body
    roles = {m["role"] for m in parsed.conversation["messages"]}
    event(f"roles: {', '.join(sorted(roles))}")
    event(
        f"parts: {', '.join(sorted({p['type'] for m in parsed.conversation['messages'] for p in m.get('content') or ()}))}"
    )
