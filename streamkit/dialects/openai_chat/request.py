"""Canonical conversation → a Chat Completions request body (:mod:`.parse` goes the other way).

The body, from a canonical conversation:

* ``model``, ``messages``, ``stream: true`` and ``stream_options: {"include_usage": true}``
  (usage is always asked for).
* ``messages``:

  - one ``system`` message first: the ``system`` field and every ``system`` (and ``developer``)
    message of the conversation, joined by blank lines (many compatible servers accept one
    system message, at the start, and no ``developer`` role);
  - ``user``: a string when the message holds only text, else parts: ``text``; ``image_url``
    for images (a ``data:`` URL, or the image's URL; ``detail`` from the part's
    ``provider_metadata``); ``input_audio`` for WAV and MP3 data; ``file`` (``file_data`` as a
    ``data:`` URL, ``filename``; ``file_id`` from the part's ``provider_metadata``) for the rest;
  - ``assistant``: ``content`` (the text, or null), ``refusal`` (refusal text), ``tool_calls``
    (``function`` calls; a ``custom`` tool's call with ``{"input": <its string>}`` as arguments,
    since custom tools are declared as functions), and reasoning where it can go back: a
    reasoning part that came from OpenRouter's ``reasoning_details`` (its ``provider_metadata``
    holds the entry's ``type``, ``signature``, encrypted ``data``, ...) goes back as a
    ``reasoning_details`` entry, one that came from a Chat client's ``reasoning_content`` or
    ``reasoning`` (marked ``{"field": ...}`` by :mod:`.parse`) goes back in that field; other
    reasoning is left out (DeepSeek answers 400 to a ``reasoning_content`` it did not ask for);
  - ``tool``: ``tool_call_id`` and ``content`` (the output; JSON text unless a string). The
    format has no error flag: a failed tool's text says so. A tool message takes text only: the
    files of a result (an image a tool read) go in a ``user`` turn right after the results in a
    row, each call's files after a line naming its tool and call.

  Provider-executed tools and files of assistant turns cannot be sent: left out with a warning;
  sources are not sent back (they describe the answer). What :mod:`.parse` kept of a message
  in its ``provider_metadata["openai-chat"]["fields"]`` (a participant ``name``, an ``audio``
  reference) is restored.
* ``tools``: ``{"type": "function", "function": {name, description, parameters}}``, the
  parameters from :func:`streamkit.conversation.tool_parameters` (a ``custom`` tool takes one
  string ``input``; its grammar ``format`` cannot be sent: a warning), ``strict`` from the
  tool's ``provider_metadata``. The canonical web search → ``web_search_options``, for a search
  model (or as a Chat client sent it: :mod:`..web_search`); a tool of another kind is left out
  with a warning, and so is a ``tool_choice`` when no tool is left.
* Options (canonical name → Chat Completions):

  =========================  ===================================================================
  ``max_tokens``             ``max_tokens`` (``max_completion_tokens`` when the client's request
                             used that name: ``provider_metadata``)
  ``temperature``, ``top_p``,  the same names
  ``seed``, ``stop``,
  ``frequency_penalty``,
  ``presence_penalty``
  ``top_k``                  ``top_k``, as it is: not an OpenAI parameter, but vLLM, llama.cpp,
                             OpenRouter and most compatible servers read it
  ``tool_choice``            ``"auto"``, ``"none"``, ``"required"``; ``{"name"}`` →
                             ``{"type": "function", "function": {"name"}}``
  ``parallel_tool_calls``    ``parallel_tool_calls``
  ``response_format``        json_schema → ``{"type": "json_schema", "json_schema": {"name"
                             (default ``"response"``: the API requires one), "schema",
                             "strict"?, "description"?}}``; json_object and text as they are
  ``reasoning_effort``       ``reasoning_effort``
  ``reasoning_budget``       ``reasoning_effort`` when no effort is given (Chat Completions has no
                             budget): 0 → ``"none"``, under 4096 → ``"low"``, under 16384 (or
                             negative: dynamic) → ``"medium"``, more → ``"high"``
  =========================  ===================================================================

  Any other option is sent as it is (a native Chat Completions parameter).
* ``provider_metadata["openai-chat"]`` (what :mod:`.parse` kept of a Chat client's request that
  only Chat Completions can use) is restored: ``body`` (``logprobs``, ``metadata``, ``store``,
  ``user``, ``web_search_options``, an OpenRouter ``reasoning`` object, fields streamkit does
  not know, ...) at the top level, ``max_tokens_field`` as said, and ``tool_choice`` (an
  ``allowed_tools`` choice, which has no canonical form) when the canonical ``tool_choice`` is
  still its mode. The canonical options win over what the metadata holds.
"""

from __future__ import annotations

from typing import Any

from ...canonical import parse_arguments
from ...conversation import IMAGE_GENERATION, WEB_SEARCH, is_approval
from .. import web_search
from ..requests import RequestDrops, result_files
from .wire import NAME

#: canonical option names → Chat Completions parameters (other options pass through as they are)
OPTION_NAMES = {
    "max_tokens": "max_tokens",
    "temperature": "temperature",
    "top_p": "top_p",
    "stop": "stop",
    "seed": "seed",
    "frequency_penalty": "frequency_penalty",
    "presence_penalty": "presence_penalty",
    "top_k": "top_k",
    "parallel_tool_calls": "parallel_tool_calls",
    "reasoning_effort": "reasoning_effort",
}

#: the canonical options with a rule of their own (see the module's table)
SPECIAL_OPTIONS = frozenset({"tool_choice", "response_format", "reasoning_budget"})

#: audio media types → ``input_audio`` formats
AUDIO_FORMATS = {"audio/wav": "wav", "audio/x-wav": "wav", "audio/wave": "wav", "audio/mpeg": "mp3",
                 "audio/mp3": "mp3"}  # fmt: skip


def _meta(item: dict[str, Any]) -> dict[str, Any]:
    """The ``openai-chat`` entry of an item's ``provider_metadata`` (``{}`` when none)."""
    pm = item.get("provider_metadata")
    meta = pm.get(NAME) if isinstance(pm, dict) else None
    return meta if isinstance(meta, dict) else {}


def _data_url(part: dict[str, Any]) -> str:
    if part.get("url"):
        return str(part["url"])
    return f"data:{part.get('media_type') or 'application/octet-stream'};base64,{part.get('data') or ''}"


def _file_part(part: dict[str, Any]) -> dict[str, Any]:
    media = str(part.get("media_type") or "")
    meta = _meta(part)
    if media.startswith("image/"):
        image: dict[str, Any] = {"url": _data_url(part)}
        if meta.get("detail"):
            image["detail"] = meta["detail"]
        return {"type": "image_url", "image_url": image}
    if media in AUDIO_FORMATS and part.get("data") and not part.get("url"):
        return {"type": "input_audio", "input_audio": {"data": part["data"], "format": AUDIO_FORMATS[media]}}
    file: dict[str, Any] = {}
    if meta.get("file_id"):
        file["file_id"] = meta["file_id"]
    if part.get("data") or part.get("url") or not file:
        file["file_data"] = _data_url(part)
    if part.get("filename"):
        file["filename"] = part["filename"]
    return {"type": "file", "file": file}


def _user_content(parts: list[dict[str, Any]]) -> Any:
    if all(p.get("type") == "text" for p in parts):
        return "".join(p.get("text") or "" for p in parts)
    out: list[dict[str, Any]] = []
    for part in parts:
        kind = part.get("type")
        if kind == "text" and part.get("text"):
            out.append({"type": "text", "text": part["text"]})
        elif kind == "file":
            out.append(_file_part(part))
    return out


def _output_text(output: Any) -> str:
    if isinstance(output, str):
        return output
    import orjson

    return orjson.dumps(output).decode()


def _custom_arguments(part: dict[str, Any]) -> str:
    """A custom tool's call as the arguments of the function it is declared as: ``{"input": ...}``
    (the call's own arguments when they are that object already)."""
    arguments = part.get("arguments")
    if isinstance(arguments, str) and arguments.strip():
        parsed, _ = parse_arguments(arguments)
        if isinstance(parsed, dict):
            return arguments
    value = part.get("input")
    if isinstance(value, str):
        return _output_text({"input": value})
    if isinstance(value, dict):
        return _output_text(value)
    return _output_text({"input": arguments or ""})


def _reasoning_detail(part: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
    """A reasoning part that came from ``reasoning_details`` → that entry again."""
    detail = {k: v for k, v in meta.items() if k != "field"}
    kind = detail.setdefault("type", "reasoning.text")
    text = part.get("text") or ""
    if kind == "reasoning.text":
        detail["text"] = text
    elif kind == "reasoning.summary":
        detail["summary"] = text
    return detail


def _assistant_message(
    parts: list[dict[str, Any]], custom: frozenset[str], drops: RequestDrops
) -> dict[str, Any]:
    text: list[str] = []
    refusal: list[str] = []
    details: list[dict[str, Any]] = []
    reasoning: dict[str, list[str]] = {}  # field -> texts
    calls: list[dict[str, Any]] = []
    for part in parts:
        kind = part.get("type")
        if kind == "text":
            (refusal if part.get("refusal") else text).append(part.get("text") or "")
        elif kind == "reasoning":
            meta = _meta(part)
            if meta.get("field") in ("reasoning_content", "reasoning"):
                reasoning.setdefault(meta["field"], []).append(part.get("text") or "")
            elif meta.get("type") or meta.get("signature") or meta.get("data"):
                details.append(_reasoning_detail(part, meta))
        elif kind == "tool-call" and not part.get("provider_executed"):
            if part["tool_name"] in custom:
                arguments = _custom_arguments(part)
            else:
                arguments = part.get("arguments") or _output_text(part.get("input") or {})
            calls.append(
                {"id": part["tool_call_id"], "type": "function",
                 "function": {"name": part["tool_name"], "arguments": arguments}}
            )  # fmt: skip
        elif kind in ("tool-call", "tool-result"):
            drops.add("provider-executed tools")
        elif kind == "tool-approval-request":
            drops.add("the provider's tool approval requests")
        elif kind == "file":
            drops.add("files of assistant turns")
    out: dict[str, Any] = {"role": "assistant", "content": "".join(text) or None}
    if "".join(refusal):
        out["refusal"] = "".join(refusal)
    for field, texts in reasoning.items():
        if "".join(texts):
            out[field] = "".join(texts)
    if details:
        out["reasoning_details"] = details
    if calls:
        out["tool_calls"] = calls
    return out


#: the canonical hosted tools Chat Completions has (as a request parameter)
_HOSTED = frozenset({WEB_SEARCH})


def _web_search(tool: dict[str, Any], model: str, body: dict[str, Any], drops: RequestDrops) -> None:
    """The canonical web search → ``web_search_options``: a Chat client's own object as it sent
    it, else built for a search model (the only ones that take it: see :mod:`..web_search`)."""
    sent = (web_search.own(tool, NAME) or {}).get("web_search_options")
    if isinstance(sent, dict):
        body["web_search_options"] = sent
        return
    if "search" not in model:
        drops.add("the web_search tool (Chat Completions searches with search models only)")
        return
    options: dict[str, Any] = {}
    place = web_search.approximate(tool)
    if place:
        options["user_location"] = {"type": "approximate", "approximate": place}
    if tool.get("context_size") is not None:
        options["search_context_size"] = tool["context_size"]
    web_search.unsent(tool, ("user_location", "context_size"), drops)
    body["web_search_options"] = options


def _custom_tools(conversation: dict[str, Any]) -> frozenset[str]:
    return frozenset(
        t["name"]
        for t in conversation.get("tools") or ()
        if isinstance(t, dict) and t.get("kind") == "custom"
    )


def _reasoning_alone(message: dict[str, Any], out: dict[str, Any]) -> bool:
    """Whether a canonical assistant turn held reasoning alone, all of it left out of the Chat
    message ``out`` made of it, which so says nothing at all."""
    parts = message.get("content") or ()
    return (
        bool(parts)
        and all(isinstance(p, dict) and p.get("type") == "reasoning" for p in parts)
        and out.get("content") is None
        and set(out) <= {"role", "content"}
    )


def chat_messages(conversation: dict[str, Any], drops: RequestDrops | None = None) -> list[dict[str, Any]]:
    """Canonical conversation → Chat Completions ``messages`` (see the module's docstring)."""
    from ...conversation import system_text

    drops = drops if drops is not None else RequestDrops(NAME)
    custom = _custom_tools(conversation)
    messages: list[dict[str, Any]] = []
    system = system_text(conversation)
    if system:
        messages.append({"role": "system", "content": system})
    # the files of the tool results in a row (an image a tool read), which a tool message cannot
    # hold: a user turn right after the last of them carries them, each call named
    shown: list[dict[str, Any]] = []
    for message in conversation.get("messages", ()):
        role = message["role"]
        if role == "system":
            continue
        if shown and role != "tool":
            messages.append({"role": "user", "content": shown})
            shown = []
        if role == "user":
            out: dict[str, Any] = {"role": "user", "content": _user_content(message["content"])}
        elif role == "assistant":
            out = _assistant_message(message["content"], custom, drops)
        elif role == "tool" and is_approval(message):
            drops.add("answers to tool approval requests")
            continue
        elif role == "tool":
            out = {
                "role": "tool",
                "tool_call_id": message["tool_call_id"],
                "content": _output_text(message.get("output")),
            }
            files = result_files(message)
            if files:
                out["content"] = out["content"] or "(what it returned follows in the next message)"
                name = message.get("tool_name") or "the tool"
                shown.append(
                    {"type": "text", "text": f"What {name} returned for call {message['tool_call_id']}:"}
                )
                shown += [_file_part(f) for f in files]
        else:
            continue
        fields = _meta(message).get("fields")
        if isinstance(fields, dict):
            out.update({k: v for k, v in fields.items() if k not in out})
        if role == "assistant" and _reasoning_alone(message, out):
            # (an interrupted response's turn, say: the API refuses an assistant message with
            # neither content nor tool calls)
            drops.add("assistant turns with nothing but reasoning")
            continue
        messages.append(out)
    if shown:
        messages.append({"role": "user", "content": shown})
    return messages


def _tools(tools: list[dict[str, Any]], drops: RequestDrops) -> list[dict[str, Any]]:
    from ...conversation import tool_parameters

    out = []
    for t in tools:
        function: dict[str, Any] = {"name": t["name"], "description": t.get("description", ""),
                                    "parameters": tool_parameters(t)}  # fmt: skip
        if t.get("kind") == "custom" and (t.get("format") or {}).get("type", "text") != "text":
            drops.add("the grammars of custom tools")
        strict = _meta(t).get("strict")
        if isinstance(strict, bool):
            function["strict"] = strict
        out.append({"type": "function", "function": function})
    return out


def _tool_choice(value: Any) -> Any:
    if isinstance(value, dict) and isinstance(value.get("name"), str):
        return {"type": "function", "function": {"name": value["name"]}}
    return value


def _response_format(value: Any) -> Any:
    if not isinstance(value, dict) or value.get("type") != "json_schema":
        return value
    schema: dict[str, Any] = {"name": value.get("name") or "response", "schema": value.get("schema") or {}}
    for key in ("strict", "description"):
        if value.get(key) is not None:
            schema[key] = value[key]
    return {"type": "json_schema", "json_schema": schema}


def budget_effort(budget: Any) -> str | None:
    """A thinking budget (tokens) as a ``reasoning_effort``: 0 → none, under 4096 → low, under
    16384 (or negative: the provider decides) → medium, more → high; None for a non-number."""
    if isinstance(budget, bool) or not isinstance(budget, (int, float)):
        return None
    if budget == 0:
        return "none"
    if budget < 0 or budget >= 4096:
        return "medium" if budget < 16384 else "high"
    return "low"


def chat_request_body(conversation: dict[str, Any], model: str | None) -> dict[str, Any]:
    from ...errors import UsageError

    model = model or conversation.get("model")
    if not model:
        raise UsageError('no model: pass -m MODEL, put "model" in the conversation, or set STREAMKIT_MODEL')
    drops = RequestDrops(NAME)
    body: dict[str, Any] = {"model": model, "messages": chat_messages(conversation, drops), "stream": True,
                            "stream_options": {"include_usage": True}}  # fmt: skip
    tools = [  # (a Chat client's own image generation: its modalities are in the body kept for it)
        t
        for t in conversation.get("tools") or ()
        if t.get("kind") != IMAGE_GENERATION or not web_search.own(t, NAME)
    ]
    functions, searches = web_search.split_tools(tools, drops, _HOSTED)
    if functions:
        body["tools"] = _tools(functions, drops)
    for search in searches:
        _web_search(search, str(model), body, drops)
    meta = _meta(conversation)
    options: dict[str, Any] = dict(conversation.get("options") or {})
    restored: dict[str, Any] = meta["body"] if isinstance(meta.get("body"), dict) else {}
    for key, value in options.items():
        if key == "tool_choice":
            if "tools" not in body:
                continue  # (the API refuses a tool_choice without tools: a search alone has none)
            hosted_choice = web_search.names_hosted(value, conversation.get("tools"))
            if hosted_choice is not None:
                what = "the web search" if hosted_choice == WEB_SEARCH else "code execution"
                drops.add(f"a tool_choice naming {what} (left to the model)")
                continue
            native = meta.get("tool_choice")
            allowed = native.get("allowed_tools") if isinstance(native, dict) else None
            mode = allowed.get("mode") if isinstance(allowed, dict) else None
            body["tool_choice"] = native if mode is not None and mode == value else _tool_choice(value)
        elif key == "response_format":
            body["response_format"] = _response_format(value)
        elif key == "reasoning_budget":
            if "reasoning_effort" in options or "reasoning" in restored:
                continue  # the effort (or OpenRouter's reasoning object) says it already
            effort = budget_effort(value)
            if effort is None:
                drops.add(f"the reasoning budget {value!r}")
            else:
                body["reasoning_effort"] = effort
        elif key == "reasoning_effort" and "reasoning" in restored:
            continue
        elif key == "max_tokens" and meta.get("max_tokens_field") == "max_completion_tokens":
            body["max_completion_tokens"] = value
        else:
            body[OPTION_NAMES.get(key, key)] = value
    for key, value in restored.items():
        body.setdefault(key, value)
    drops.warn()
    return body
