"""Chat Completions request bodies → canonical conversations (``parse_request``): :mod:`.request`
backwards.

What ``streamkit serve`` makes of a Chat Completions client's ``POST /v1/chat/completions`` (the
body as the official ``openai`` client sends it):

* ``model`` → the conversation's ``model``; ``stream`` → :attr:`ParsedRequest.stream` (false when
  absent: the client then gets a whole ``chat.completion``); ``stream_options.include_usage`` →
  the answer option ``include_usage`` (the usage chunk only when asked, as OpenAI does).
* ``messages``:

  - ``system`` and ``developer`` → ``system`` messages in place (``"developer": true`` for the
    latter), their content (a string or ``text`` parts) as text parts;
  - ``user``: a string → one text part; parts: ``text``; ``image_url`` → a ``file`` part (a
    ``data:`` URL gives ``media_type`` and base64 ``data``; another URL stays a ``url``, its
    media type guessed from its extension, ``image/jpeg`` when it says nothing; ``detail`` →
    the part's ``provider_metadata``); ``input_audio`` → a ``file`` part (``audio/wav`` or
    ``audio/mpeg``); ``file`` → a ``file`` part (``file_data``, a ``data:`` URL, and
    ``filename``; a ``file_id``, which only OpenAI can read, is kept in the part's
    ``provider_metadata`` and listed as dropped);
  - ``assistant``: reasoning first (``reasoning_details`` entries, OpenRouter's, each a
    reasoning part whose ``provider_metadata`` holds the entry as the normalizer keeps it:
    ``type``, ``signature``, encrypted ``data``, ``format``, ``id``; else ``reasoning_content``
    (DeepSeek, vLLM) or ``reasoning`` (OpenRouter, Groq): one part marked ``{"field": ...}``),
    then ``content`` (a string or ``text`` / ``refusal`` parts) as text, ``refusal`` as a text
    part with ``refusal: true``, then ``tool_calls`` (``function`` calls: ``arguments`` kept as
    sent, ``input`` parsed, or null with ``input_error``; ``custom`` calls: ``input`` is
    ``{"input": <the string>}``), and the legacy ``function_call``. Empty texts are left out;
  - ``tool`` → a tool message: ``tool_call_id``, ``output`` (the content's text), ``tool_name``
    (the name of the call it answers). Chat Completions has no error flag;
  - the legacy ``function`` role → a tool message answering the latest call of that name (a
    legacy call gets the id ``call_<n>``).

  A message's ``name`` (and an assistant's ``audio`` reference) → the message's
  ``provider_metadata["openai-chat"]["fields"]``.
* ``tools``: ``function`` tools → ``name``, ``description``, ``parameters`` (``strict`` → the
  tool's ``provider_metadata``); ``custom`` tools → ``"kind": "custom"`` with their ``format``;
  the legacy ``functions`` likewise. ``tool_choice`` (and the legacy ``function_call``):
  ``"auto"``, ``"none"``, ``"required"`` as they are, a named function or custom tool →
  ``{"name"}``, ``allowed_tools`` → its mode (the choice itself kept in ``provider_metadata``).
* Options: ``max_completion_tokens`` (or ``max_tokens``) → ``max_tokens`` (which name was used
  is kept); ``temperature``, ``top_p``, ``top_k``, ``seed``, ``frequency_penalty``,
  ``presence_penalty``, ``parallel_tool_calls``, ``reasoning_effort`` by the same names; ``stop``
  → a list; ``response_format`` json_schema → ``{"type": "json_schema", "name", "schema",
  "strict"?, "description"?}`` (json_object as it is; text, the default, left out); OpenRouter's
  ``reasoning`` object → ``reasoning_effort`` / ``reasoning_budget`` (and kept whole for a Chat
  upstream).
* ``n`` > 1 → the answer option ``n``: the gateway asks the upstream for one choice, so the
  answer has one (listed as dropped).
* ``modalities`` naming ``image`` (OpenRouter's and Vercel AI Gateway's image models) → the
  canonical image generation tool as well (the field is kept for a Chat upstream).
* ``web_search_options`` → the canonical web search tool (its ``user_location``'s
  ``approximate`` places and ``search_context_size``; the object itself kept in the tool's
  ``provider_metadata`` for a Chat upstream: :mod:`..web_search`).
* Everything else (``logprobs``, ``logit_bias``, ``metadata``, ``store``, ``user``,
  ``prompt_cache_key``, ``service_tier``, ``modalities``, ``audio``, ``prediction``, fields
  streamkit does not know) → ``provider_metadata["openai-chat"]["body"]``, restored as it is for a
  Chat upstream. Of those, what a user would miss from another dialect's answer is listed in
  :attr:`ParsedRequest.dropped` (audio output, logprobs, logit_bias).

Wrong types in valid JSON (``messages`` not a list, a ``content`` that is a number, a tool call
without a name, ``temperature: "hot"``) are a :class:`UsageError` naming the field, as OpenAI
answers them with a 400.
"""

from __future__ import annotations

import mimetypes
from typing import Any

from ...canonical import parse_arguments
from ...conversation import CONTEXT_SIZES
from .. import web_search
from ..base import ParsedRequest
from ..checks import Checks, quote
from .wire import NAME

_ROLES = ("system", "developer", "user", "assistant", "tool", "function")

#: numeric options (canonical name: whether it must be an integer)
_NUMBERS = {
    "temperature": False,
    "top_p": False,
    "frequency_penalty": False,
    "presence_penalty": False,
    "top_k": True,
    "seed": True,
}

#: the top-level fields parse reads; any other goes to ``provider_metadata["openai-chat"]["body"]``
_READ = frozenset(
    {"model", "messages", "stream", "stream_options", "tools", "functions", "tool_choice",
     "function_call", "max_tokens", "max_completion_tokens", "stop", "response_format",
     "reasoning_effort", "parallel_tool_calls", "n", "web_search_options", *_NUMBERS}
)  # fmt: skip

#: fields kept for a Chat upstream whose loss another dialect's answer would show
_NOTICED = {
    "logit_bias": "logit_bias",
}

#: ``input_audio`` formats → media types
_AUDIO_TYPES = {"wav": "audio/wav", "mp3": "audio/mpeg"}


_check = Checks(NAME)


class _Parser:
    """One request's parse: the state that spans messages (calls awaiting their results)."""

    def __init__(self) -> None:
        self.dropped: list[str] = []
        self.calls: dict[str, str] = {}  # tool call id -> tool name
        self.legacy: list[tuple[str, str]] = []  # (name, id) of legacy function calls not answered
        self.legacy_ids = 0

    def drop(self, what: str) -> None:
        if what not in self.dropped:
            self.dropped.append(what)

    # --- content ------------------------------------------------------------------------------

    def texts(self, content: Any, field: str, *, refusals: bool = False) -> list[dict[str, Any]]:
        """A string or a list of ``text`` (and, for assistants, ``refusal``) parts → text parts."""
        content = _check.string_or_list(content, field, "parts", default="")
        if isinstance(content, str):
            return [{"type": "text", "text": content}] if content else []
        out: list[dict[str, Any]] = []
        for j, part in enumerate(content):
            at = f"{field}[{j}]"
            part = _check.object(part, at)
            kind = part.get("type")
            if kind == "text":
                text = _check.string(part.get("text"), f"{at}.text")
                if text:
                    out.append({"type": "text", "text": text})
            elif kind == "refusal" and refusals:
                text = _check.string(part.get("refusal"), f"{at}.refusal")
                if text:
                    out.append({"type": "text", "text": text, "refusal": True})
            else:
                raise _check.fail(
                    f"{at}.type", f"must be {'text or refusal' if refusals else 'text'}, not {quote(kind)}"
                )
        return out

    def user_parts(self, content: Any, field: str) -> list[dict[str, Any]]:
        content = _check.string_or_list(content, field, "parts", default="")
        if isinstance(content, str):
            return self.texts(content, field)
        out: list[dict[str, Any]] = []
        for j, part in enumerate(content):
            at = f"{field}[{j}]"
            part = _check.object(part, at)
            kind = part.get("type")
            if kind == "text":
                text = _check.string(part.get("text"), f"{at}.text")
                if text:
                    out.append({"type": "text", "text": text})
            elif kind == "image_url":
                out.append(
                    self.image(_check.object(part.get("image_url"), f"{at}.image_url"), f"{at}.image_url")
                )
            elif kind == "input_audio":
                audio = _check.object(part.get("input_audio"), f"{at}.input_audio")
                data = _check.string(audio.get("data"), f"{at}.input_audio.data")
                fmt = audio.get("format")
                if fmt not in _AUDIO_TYPES:
                    raise _check.fail(f"{at}.input_audio.format", f"must be wav or mp3, not {quote(fmt)}")
                out.append({"type": "file", "media_type": _AUDIO_TYPES[fmt], "data": data})
            elif kind == "file":
                out.append(self.file(_check.object(part.get("file"), f"{at}.file"), f"{at}.file"))
            else:
                raise _check.fail(
                    f"{at}.type", f"must be text, image_url, input_audio or file, not {quote(kind)}"
                )
        return out

    def image(self, image: dict[str, Any], at: str) -> dict[str, Any]:
        url = _check.string(image.get("url"), f"{at}.url")
        part = _data_part(url, f"{at}.url")
        if part is None:
            media = mimetypes.guess_type(url.split("?", 1)[0].split("#", 1)[0])[0]
            part = {"type": "file", "media_type": media if media and media.startswith("image/") else "image/jpeg",
                    "url": url}  # fmt: skip
        detail = image.get("detail")
        if detail is not None:
            part["provider_metadata"] = {NAME: {"detail": _check.string(detail, f"{at}.detail")}}
        return part

    def file(self, file: dict[str, Any], at: str) -> dict[str, Any]:
        filename = file.get("filename")
        data = file.get("file_data")
        part: dict[str, Any] | None = None
        if data is not None:
            data = _check.string(data, f"{at}.file_data")
            part = _data_part(data, f"{at}.file_data")
            if part is None:  # bare base64: the type from the name, else PDF (what OpenAI reads)
                media = mimetypes.guess_type(filename)[0] if isinstance(filename, str) else None
                part = {"type": "file", "media_type": media or "application/pdf", "data": data}
        file_id = file.get("file_id")
        if file_id is not None:
            file_id = _check.string(file_id, f"{at}.file_id")
            if part is None:
                media = mimetypes.guess_type(filename)[0] if isinstance(filename, str) else None
                part = {"type": "file", "media_type": media or "application/pdf"}
            part["provider_metadata"] = {NAME: {"file_id": file_id}}
            self.drop("files by OpenAI file_id")
        if part is None:
            raise _check.fail(at, "needs file_data or file_id")
        if filename is not None:
            part["filename"] = _check.string(filename, f"{at}.filename")
        return part

    # --- assistant turns ----------------------------------------------------------------------

    def reasoning(self, message: dict[str, Any], at: str) -> list[dict[str, Any]]:
        details = message.get("reasoning_details")
        out: list[dict[str, Any]] = []
        if details is not None:
            for j, item in enumerate(_check.list(details, f"{at}.reasoning_details")):
                item = _check.object(item, f"{at}.reasoning_details[{j}]")
                kind = item.get("type", "reasoning.text")
                text = item.get("text") if kind == "reasoning.text" else item.get("summary")
                if text is not None:
                    text = _check.string(
                        text,
                        f"{at}.reasoning_details[{j}].{'text' if kind == 'reasoning.text' else 'summary'}",
                    )
                meta = {k: v for k, v in item.items() if k not in ("text", "summary", "index") and v}
                meta["type"] = kind  # what the builder recognises a reasoning_details entry by
                out.append({"type": "reasoning", "text": text or "", "provider_metadata": {NAME: meta}})
            if out:
                return out
        for field in ("reasoning_content", "reasoning"):
            value = message.get(field)
            if value is None:
                continue
            text = _check.string(value, f"{at}.{field}")
            if text:
                return [{"type": "reasoning", "text": text, "provider_metadata": {NAME: {"field": field}}}]
        return out

    def tool_call(self, call: Any, at: str) -> dict[str, Any]:
        call = _check.object(call, at)
        call_id = _check.string(call.get("id"), f"{at}.id")
        if call.get("type") == "custom" or ("custom" in call and "function" not in call):
            custom = _check.object(call.get("custom"), f"{at}.custom")
            name = _check.string(custom.get("name"), f"{at}.custom.name")
            value = {"input": _check.string(custom.get("input", ""), f"{at}.custom.input")}
            return self.call_part(call_id, name, _dumps(value), value, None)
        function = _check.object(call.get("function"), f"{at}.function")
        name = _check.string(function.get("name"), f"{at}.function.name")
        return self.call_part(
            call_id, name, *_arguments(function.get("arguments"), f"{at}.function.arguments")
        )

    def call_part(
        self, call_id: str, name: str, arguments: str, value: Any, err: str | None
    ) -> dict[str, Any]:
        part: dict[str, Any] = {"type": "tool-call", "tool_call_id": call_id, "tool_name": name,
                                "arguments": arguments, "input": value}  # fmt: skip
        if err:
            part["input_error"] = err
        self.calls[call_id] = name
        return part

    def assistant(self, message: dict[str, Any], at: str) -> list[dict[str, Any]]:
        parts = self.reasoning(message, at)
        parts += self.texts(message.get("content"), f"{at}.content", refusals=True)
        refusal = message.get("refusal")
        if refusal is not None and _check.string(refusal, f"{at}.refusal"):
            parts.append({"type": "text", "text": refusal, "refusal": True})
        calls = message.get("tool_calls")
        if calls is not None:
            parts += [
                self.tool_call(c, f"{at}.tool_calls[{j}]")
                for j, c in enumerate(_check.list(calls, f"{at}.tool_calls"))
            ]
        legacy = message.get("function_call")
        if legacy is not None:
            legacy = _check.object(legacy, f"{at}.function_call")
            name = _check.string(legacy.get("name"), f"{at}.function_call.name")
            call_id = f"call_{self.legacy_ids}"
            self.legacy_ids += 1
            while call_id in self.calls:
                call_id = f"call_{self.legacy_ids}"
                self.legacy_ids += 1
            self.legacy.append((name, call_id))
            parts.append(
                self.call_part(
                    call_id, name, *_arguments(legacy.get("arguments"), f"{at}.function_call.arguments")
                )
            )
        return parts

    # --- messages -----------------------------------------------------------------------------

    def message(self, message: Any, at: str) -> dict[str, Any]:
        message = _check.object(message, at)
        role = message.get("role")
        if role not in _ROLES:
            raise _check.fail(f"{at}.role", f"must be one of {', '.join(_ROLES)}, not {quote(role)}")
        out: dict[str, Any]
        if role in ("system", "developer"):
            out = {"role": "system", "content": self.texts(message.get("content"), f"{at}.content")}
            if role == "developer":
                out["developer"] = True
        elif role == "user":
            out = {"role": "user", "content": self.user_parts(message.get("content"), f"{at}.content")}
        elif role == "assistant":
            out = {"role": "assistant", "content": self.assistant(message, at)}
        elif role == "tool":
            call_id = _check.string(message.get("tool_call_id"), f"{at}.tool_call_id")
            out = {
                "role": "tool",
                "tool_call_id": call_id,
                "output": _text(self.texts(message.get("content"), f"{at}.content")),
            }
            if call_id in self.calls:
                out["tool_name"] = self.calls[call_id]
        else:  # the legacy function role: the answer to the latest call of that name
            name = _check.string(message.get("name"), f"{at}.name")
            answered = next((cid for n, cid in reversed(self.legacy) if n == name), None)
            if answered is None:
                call_id = f"call_{self.legacy_ids}"
                self.legacy_ids += 1
            else:
                call_id = answered
                self.legacy.remove((name, call_id))
            output = _text(self.texts(message.get("content"), f"{at}.content"))
            return {"role": "tool", "tool_call_id": call_id, "tool_name": name, "output": output}
        fields: dict[str, Any] = {}
        if message.get("name") is not None:
            fields["name"] = _check.string(message["name"], f"{at}.name")
        if role == "assistant" and message.get("audio") is not None:
            fields["audio"] = _check.object(message["audio"], f"{at}.audio")
        if fields:
            out["provider_metadata"] = {NAME: {"fields": fields}}
        return out

    # --- tools and options --------------------------------------------------------------------

    def tool(self, tool: Any, at: str, meta: dict[str, Any]) -> dict[str, Any] | None:
        tool = _check.object(tool, at)
        kind = tool.get("type", "function")
        if kind == "custom":
            custom = _check.object(tool.get("custom"), f"{at}.custom")
            out: dict[str, Any] = {
                "name": _check.string(custom.get("name"), f"{at}.custom.name"),
                "kind": "custom",
            }
            _describe(out, custom, f"{at}.custom")
            if custom.get("format") is not None:
                out["format"] = _check.object(custom["format"], f"{at}.custom.format")
            return out
        if kind != "function":
            meta.setdefault("tools", []).append(tool)
            self.drop(f"the {quote(kind)} tool")
            return None
        return self.function(_check.object(tool.get("function"), f"{at}.function"), f"{at}.function")

    def function(self, function: dict[str, Any], at: str) -> dict[str, Any]:
        out: dict[str, Any] = {"name": _check.string(function.get("name"), f"{at}.name")}
        _describe(out, function, at)
        if function.get("parameters") is not None:
            out["parameters"] = _check.object(function["parameters"], f"{at}.parameters")
        strict = _check.boolean(function.get("strict"), f"{at}.strict", default=None)
        if strict is not None:
            out["provider_metadata"] = {NAME: {"strict": strict}}
        return out

    def tool_choice(self, value: Any, field: str, meta: dict[str, Any]) -> Any:
        if isinstance(value, str):
            if value not in ("auto", "none", "required"):
                raise _check.fail(field, f"must be auto, none, required or an object, not {quote(value)}")
            return value
        value = _check.object(value, field)
        kind = value.get("type", "function")
        if kind in ("function", "custom") and (kind in value or "name" in value):
            named = _check.object(value.get(kind), f"{field}.{kind}") if kind in value else value
            return {"name": _check.string(named.get("name"), f"{field}.{kind}.name")}
        if kind == "allowed_tools":
            allowed = _check.object(value.get("allowed_tools"), f"{field}.allowed_tools")
            mode = allowed.get("mode")
            if mode not in ("auto", "required"):
                raise _check.fail(
                    f"{field}.allowed_tools.mode", f"must be auto or required, not {quote(mode)}"
                )
            meta["tool_choice"] = value
            self.drop("allowed_tools (a restriction of the tool choice)")
            return mode
        raise _check.fail(
            field, f"must name a function or custom tool, or be allowed_tools, not {quote(kind)}"
        )


def _describe(out: dict[str, Any], declared: dict[str, Any], at: str) -> None:
    description = declared.get("description")
    if description is not None and _check.string(description, f"{at}.description"):
        out["description"] = description


def _dumps(value: Any) -> str:
    import orjson

    return orjson.dumps(value).decode()


def _text(parts: list[dict[str, Any]]) -> str:
    return "".join(p["text"] for p in parts)


def _arguments(value: Any, field: str) -> tuple[str, Any, str | None]:
    """A call's arguments (JSON text; an object some clients send is taken too): ``(text, input, error)``."""
    if value is None:
        value = ""
    elif isinstance(value, dict):
        value = _dumps(value)
    text = _check.string(value, field)
    parsed, err = parse_arguments(text)
    return text, parsed, err


def _data_part(url: str, field: str) -> dict[str, Any] | None:
    """A ``data:`` URL → a file part with its media type and base64 data (None for another URL)."""
    if not url.startswith("data:"):
        return None
    head, comma, payload = url[5:].partition(",")
    if not comma:
        raise _check.fail(field, "is a data: URL without data")
    media, _, encoding = head.partition(";")
    if encoding.split(";")[-1] != "base64":
        import base64
        from urllib.parse import unquote_to_bytes

        payload = base64.b64encode(unquote_to_bytes(payload)).decode()
    return {"type": "file", "media_type": media or "application/octet-stream", "data": payload}


def _response_format(value: Any, field: str) -> dict[str, Any] | None:
    value = _check.object(value, field)
    kind = value.get("type")
    if kind == "text":
        return None
    if kind == "json_object":
        return {"type": "json_object"}
    if kind != "json_schema":
        raise _check.fail(f"{field}.type", f"must be text, json_object or json_schema, not {quote(kind)}")
    spec = _check.object(value.get("json_schema"), f"{field}.json_schema")
    out: dict[str, Any] = {"type": "json_schema"}
    if spec.get("name") is not None:
        out["name"] = _check.string(spec["name"], f"{field}.json_schema.name")
    schema = spec.get("schema")  # optional in the API: no schema is any JSON
    out["schema"] = {} if schema is None else _check.object(schema, f"{field}.json_schema.schema")
    if spec.get("strict") is not None:
        out["strict"] = _check.boolean(spec["strict"], f"{field}.json_schema.strict")
    if spec.get("description") is not None:
        out["description"] = _check.string(spec["description"], f"{field}.json_schema.description")
    return out


def _options(body: dict[str, Any], parser: _Parser, meta: dict[str, Any]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for name, integer in _NUMBERS.items():
        if body.get(name) is not None:
            options[name] = _check.integer(body[name], name) if integer else _check.number(body[name], name)
    for field in ("max_tokens", "max_completion_tokens"):
        if body.get(field) is not None:
            options["max_tokens"] = _check.integer(body[field], field)
            if field == "max_completion_tokens":
                meta["max_tokens_field"] = field
    stop = body.get("stop")
    if stop is not None:
        stops = [stop] if isinstance(stop, str) else _check.list(stop, "stop")
        options["stop"] = [_check.string(s, f"stop[{j}]") for j, s in enumerate(stops)]
    if body.get("parallel_tool_calls") is not None:
        options["parallel_tool_calls"] = _check.boolean(body["parallel_tool_calls"], "parallel_tool_calls")
    if body.get("reasoning_effort") is not None:
        options["reasoning_effort"] = _check.string(body["reasoning_effort"], "reasoning_effort")
    reasoning = body.get("reasoning")  # OpenRouter's: {effort, max_tokens, exclude, enabled}
    if isinstance(reasoning, dict):
        if isinstance(reasoning.get("effort"), str):
            options.setdefault("reasoning_effort", reasoning["effort"])
        budget = reasoning.get("max_tokens")
        if isinstance(budget, int) and not isinstance(budget, bool):
            options["reasoning_budget"] = budget
    if body.get("response_format") is not None:
        fmt = _response_format(body["response_format"], "response_format")
        if fmt is not None:
            options["response_format"] = fmt
    choice = body.get("tool_choice")
    if choice is None and body.get("function_call") is not None:
        choice, field = body["function_call"], "function_call"
        if isinstance(choice, dict) and "type" not in choice:
            choice = {"type": "function", "function": choice}
    else:
        field = "tool_choice"
    if choice is not None:
        options["tool_choice"] = parser.tool_choice(choice, field, meta)
    return options


def _web_search(value: Any) -> dict[str, Any]:
    """``web_search_options`` → the canonical web search tool, the object itself kept for a Chat
    upstream (see :mod:`..web_search`)."""
    at = "web_search_options"
    options = _check.object(value, at)
    size = _check.string(options.get("search_context_size"), f"{at}.search_context_size", default=None)
    if size is not None and size not in CONTEXT_SIZES:
        raise _check.fail(f"{at}.search_context_size", f"must be low, medium or high, not {quote(size)}")
    place = web_search.read_location(
        _check, options.get("user_location"), f"{at}.user_location", "approximate"
    )
    settings = {"user_location": place, "context_size": size}
    return web_search.canonical(settings, {"web_search_options": options}, _check, at)


def parse_chat_request(body: Any) -> ParsedRequest:
    """A Chat Completions request body → :class:`ParsedRequest` (see the module's docstring)."""
    body = _check.body(body)
    parser = _Parser()
    meta: dict[str, Any] = {}
    conversation: dict[str, Any] = {}
    if body.get("model") is not None:
        conversation["model"] = _check.string(body["model"], "model")
    messages = body.get("messages")
    if messages is None:
        raise _check.fail("messages", "is required")
    messages = _check.list(messages, "messages")
    if not messages:
        raise _check.fail("messages", "must not be empty")
    conversation["messages"] = [parser.message(m, f"messages[{i}]") for i, m in enumerate(messages)]
    tools: list[dict[str, Any]] = []
    if body.get("tools") is not None:
        for i, tool in enumerate(_check.list(body["tools"], "tools")):
            parsed = parser.tool(tool, f"tools[{i}]", meta)
            if parsed is not None:
                tools.append(parsed)
    if body.get("functions") is not None:
        tools += [parser.function(_check.object(f, f"functions[{i}]"), f"functions[{i}]")
                  for i, f in enumerate(_check.list(body["functions"], "functions"))]  # fmt: skip
    if body.get("web_search_options") is not None:
        tools.append(_web_search(body["web_search_options"]))
    modalities = body.get("modalities")
    if isinstance(modalities, list) and "image" in modalities:  # (OpenRouter's image models; kept below)
        tools.append(web_search.image_generation({"modalities": modalities}, NAME))
    if tools:
        conversation["tools"] = tools
    options = _options(body, parser, meta)
    if options:
        conversation["options"] = options

    stream = _check.boolean(body.get("stream"), "stream", default=None)
    answer: dict[str, Any] = {}
    if conversation.get("model"):
        answer["model"] = conversation["model"]
    if stream:
        stream_options = body.get("stream_options")
        include = (
            _check.object(stream_options, "stream_options").get("include_usage")
            if stream_options is not None
            else None
        )
        answer["include_usage"] = include is True
    custom = [t["name"] for t in tools if t.get("kind") == "custom"]
    if custom:
        answer["custom_tools"] = custom
    n = body.get("n")
    if n is not None and _check.integer(n, "n") > 1:
        answer["n"] = n
        parser.drop("n > 1 (one choice is answered)")

    extra = {k: v for k, v in body.items() if k not in _READ and v is not None}
    for key, what in _NOTICED.items():
        if key in extra:
            parser.drop(what)
    if extra.get("logprobs") is True:
        parser.drop("logprobs")
    modalities = extra.get("modalities")
    if extra.get("audio") is not None or (isinstance(modalities, list) and "audio" in modalities):
        parser.drop("audio output")
    if extra:
        meta["body"] = extra
    if meta:
        conversation["provider_metadata"] = {NAME: meta}
    return ParsedRequest(conversation, stream=bool(stream), answer_options=answer, dropped=parser.dropped)
