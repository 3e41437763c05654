"""Ollama request bodies → canonical conversations (``parse_request``): :mod:`.request` backwards.

What ``streamkit serve`` makes of an Ollama client's ``POST /api/chat`` or ``/api/generate`` (the
body as the official ``ollama`` client sends it):

* ``model`` → the conversation's ``model``; ``stream`` → :attr:`ParsedRequest.stream`, true when
  absent or null (Ollama's default; the official client sends ``false`` unless asked to stream).
* ``/api/chat`` ``messages``:

  - ``system`` messages before the first other message → ``system`` (joined with a blank line,
    as the builder joins them); a later one stays a ``system`` message in its place.
  - ``user``: ``content`` → a text part (left out when empty and there are images), ``images``
    (base64, or a ``data:`` URL) → ``file`` parts; the media type is read from the image's first
    bytes (PNG, JPEG, GIF, WebP, BMP, TIFF; ``image/png`` when none of those).
  - ``assistant``: ``thinking`` → a reasoning part (Ollama has no signatures), ``content`` →
    text, ``images`` → file parts, ``tool_calls`` → tool-call parts, in that order. Arguments
    are an object (a string holding a JSON object is taken too): ``input`` is it, ``arguments``
    its JSON text. Ollama usually sends no call ids: a call's own ``id`` is kept (marked with
    ``provider_metadata["ollama"]["index"]`` so that the builder sends it back), else it gets a
    stable ``call_N`` unique in the request (marked ``generated_id``, left out again by the
    builder), numbered in order across the conversation.
  - ``tool``: one result each, ``content`` → ``output`` (text; Ollama has no error flag), and
    ``images`` → file parts of the message's ``content`` (with its text).
    **Which call a result answers**: the results after an assistant turn answer that turn's
    calls: a result whose ``tool_call_id`` names a call answers it; else the first call not yet
    answered whose name is the result's ``tool_name``; else the first call not yet answered; a
    result left with no call (none pending) gets an id of its own. ``tool_name`` is the
    result's, else its call's.
* ``/api/generate``: ``system`` → ``system``; ``prompt`` and ``images`` → one user message;
  ``suffix``, ``raw``, ``template``, ``context`` → ``provider_metadata["ollama"]["generate"]``
  (the builder sends them to an Ollama upstream's ``/api/generate``; another dialect cannot
  carry them: listed in :attr:`ParsedRequest.dropped`).
* ``tools`` (``{"type": "function", "function": {name, description, parameters}}``) → canonical
  tools (an empty description left out); a tool of another type is listed as dropped.
* ``format``: ``"json"`` → ``response_format`` ``{"type": "json_object"}``, a schema →
  ``{"type": "json_schema", "schema": ...}``.
* ``think``: ``"low"`` / ``"medium"`` / ``"high"`` → ``reasoning_effort``; ``true`` → medium
  (what Ollama makes of it); ``false`` → ``reasoning_budget: 0`` (no thinking).
* ``options``: ``num_predict`` (not negative) → ``max_tokens``; ``temperature``, ``top_p``,
  ``top_k``, ``stop``, ``seed``, ``frequency_penalty``, ``presence_penalty`` → the canonical
  options of those names; every other model option (``num_ctx``, ``repeat_penalty``, a negative
  ``num_predict``, ...) → ``provider_metadata["ollama"]["options"]``.
* ``keep_alive``, ``logprobs``, ``top_logprobs`` and fields streamkit does not know →
  ``provider_metadata["ollama"]["body"]``, restored as they are for an Ollama upstream (asked-for
  logprobs are listed as dropped: other dialects' answers will not have them).

Wrong types in valid JSON (``messages`` not a list, a ``content`` that is not a string, images
that are not base64 text, ``think: "max"``) are a :class:`UsageError` naming the field, as
Ollama answers them with a 400.
"""

from __future__ import annotations

import binascii
from typing import Any

from ..base import ParsedRequest
from ..checks import Checks, quote
from .wire import NAME, _dumps

#: Ollama model options → canonical option names
CANONICAL_OPTIONS = {
    "num_predict": "max_tokens",
    "temperature": "temperature",
    "top_p": "top_p",
    "top_k": "top_k",
    "stop": "stop",
    "seed": "seed",
    "frequency_penalty": "frequency_penalty",
    "presence_penalty": "presence_penalty",
}
_INTEGER_OPTIONS = frozenset({"num_predict", "top_k", "seed"})

#: ``think`` → ``reasoning_effort`` (``false`` is ``reasoning_budget: 0`` instead)
_EFFORTS = {True: "medium", "low": "low", "medium": "medium", "high": "high"}

#: the top-level fields parse reads; any other is kept in ``provider_metadata["ollama"]["body"]``
_CHAT_FIELDS = frozenset({"model", "messages", "tools", "format", "options", "stream", "think"})
_GENERATE_FIELDS = frozenset(
    {"model", "prompt", "system", "images", "format", "options", "stream", "think",
     "suffix", "raw", "template", "context"}
)  # fmt: skip
_ROLES = ("system", "user", "assistant", "tool")

_MAGIC = (
    (b"\x89PNG", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
    (b"BM", "image/bmp"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
)


_check = Checks(NAME)


def image_part(value: Any, field: str) -> dict[str, Any]:
    """One entry of ``images`` (base64, or a ``data:`` URL) → a canonical ``file`` part."""
    media = None
    if isinstance(value, str) and value.startswith("data:"):
        header, _, value = value.partition(",")
        media = header[5:].split(";")[0] or None
    if not isinstance(value, str) or not value:
        raise _check.fail(field, "must be an image's base64 data")
    try:
        data = binascii.a2b_base64(value.encode("ascii"), strict_mode=True)
    except ValueError:  # binascii.Error, UnicodeEncodeError
        raise _check.fail(field, "is not base64 data") from None
    if media is None:
        media = next((m for magic, m in _MAGIC if data.startswith(magic)), None)
        if media is None:
            media = "image/webp" if data[:4] == b"RIFF" and data[8:12] == b"WEBP" else "image/png"
    return {"type": "file", "media_type": media, "data": value}


def _images(message: dict[str, Any], field: str) -> list[dict[str, Any]]:
    """A message's (or a generate request's) ``images`` → file parts; ``field`` names where."""
    at = f"{field}.images" if field else "images"
    return [
        image_part(v, f"{at}[{i}]") for i, v in enumerate(_check.list(message.get("images"), at, default=[]))
    ]


def _arguments(value: Any, field: str) -> dict[str, Any]:
    """A call's ``arguments``: an object (or a string holding one)."""
    if isinstance(value, str):
        from ...canonical import parse_arguments

        value, _ = parse_arguments(value)
        if not isinstance(value, dict):
            raise _check.fail(field, "must be an object (a string that holds a JSON object is taken too)")
    return _check.object(value, field, default={})


class _Calls:
    """The tool-call ids of one request: Ollama's own where it sent them, else ``call_N``, and
    which call each result answers (the rule in the module's docstring)."""

    def __init__(self, messages: list[Any]) -> None:
        # every id the request names, so that a generated one never takes it
        self.taken: set[str] = set()
        for message in messages:
            calls = message.get("tool_calls") if isinstance(message, dict) else None
            for call in calls if isinstance(calls, list) else ():
                if isinstance(call, dict) and isinstance(call.get("id"), str):
                    self.taken.add(call["id"])
        self.used: set[str] = set()
        self.count = 0
        self.pending: list[tuple[str, str, str | None]] = []  # (id, name, Ollama's own id)

    def new_id(self) -> str:
        while True:
            candidate = f"call_{self.count}"
            self.count += 1
            if candidate not in self.taken and candidate not in self.used:
                self.used.add(candidate)
                return candidate

    def call(self, own: Any, name: str, index: int) -> tuple[str, dict[str, Any]]:
        """The id of a call and its ``provider_metadata["ollama"]``."""
        if isinstance(own, str) and own and own not in self.used:
            self.used.add(own)
            self.pending.append((own, name, own))
            return own, {"index": index}
        call_id = self.new_id()
        self.pending.append((call_id, name, None))
        return call_id, {"generated_id": True, "index": index}

    def answer(self, own: str | None, name: str | None) -> tuple[str, str | None]:
        """The id and name of the call a result answers."""
        for test in (
            lambda call: own is not None and call[2] == own,
            lambda call: name is not None and call[1] == name,
            lambda call: True,
        ):
            for i, call in enumerate(self.pending):
                if test(call):
                    del self.pending[i]
                    return call[0], call[1]
        return self.new_id(), None


def _assistant(message: dict[str, Any], field: str, calls: _Calls) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    thinking = _check.string(message.get("thinking"), f"{field}.thinking", default="")
    if thinking:
        content.append({"type": "reasoning", "text": thinking})
    text = _check.string(message.get("content"), f"{field}.content", default="")
    if text:
        content.append({"type": "text", "text": text})
    content += _images(message, field)
    calls.pending = []  # results after this turn answer its calls
    for i, call in enumerate(_check.list(message.get("tool_calls"), f"{field}.tool_calls", default=[])):
        at = f"{field}.tool_calls[{i}]"
        call = _check.object(call, at, default={})
        function = _check.object(call.get("function"), f"{at}.function", default={})
        name = function.get("name")
        if not isinstance(name, str) or not name:
            raise _check.fail(f"{at}.function.name", "must be a tool's name")
        value = _arguments(function.get("arguments"), f"{at}.function.arguments")
        call_id, meta = calls.call(call.get("id"), name, i)
        content.append({"type": "tool-call", "tool_call_id": call_id, "tool_name": name,
                        "arguments": _dumps(value), "input": value, "provider_metadata": {NAME: meta}})  # fmt: skip
    return {"role": "assistant", "content": content}


def _messages(raw: list[Any], conversation: dict[str, Any], dropped: set[str]) -> list[dict[str, Any]]:
    calls = _Calls(raw)
    out: list[dict[str, Any]] = []
    system: list[str] = []
    for i, message in enumerate(raw):
        at = f"messages[{i}]"
        _check.object(message, at)
        role = message.get("role")
        if role not in _ROLES:
            raise _check.fail(f"{at}.role", f"must be one of {', '.join(_ROLES)}, not {quote(role)}")
        if role == "assistant":
            out.append(_assistant(message, at, calls))
            continue
        text = _check.string(message.get("content"), f"{at}.content", default="")
        images = _images(message, at)
        if role == "user":
            parts: list[dict[str, Any]] = [{"type": "text", "text": text}] if text or not images else []
            out.append({"role": "user", "content": parts + images})
        elif role == "system":
            if images:
                dropped.add("images in system messages")
            if out:
                out.append({"role": "system", "content": [{"type": "text", "text": text}]})
            else:
                system.append(text)
        else:
            own = message.get("tool_call_id")
            own = _check.string(own, f"{at}.tool_call_id", default="") or None
            name = _check.string(message.get("tool_name"), f"{at}.tool_name", default="") or None
            call_id, call_name = calls.answer(own, name)
            result: dict[str, Any] = {"role": "tool", "tool_call_id": call_id}
            if name or call_name:
                result["tool_name"] = name or call_name
            result["output"] = text
            if images:  # an image the tool read: the result's content
                result["content"] = [*([{"type": "text", "text": text}] if text else []), *images]
            out.append(result)
    if "".join(system):
        conversation["system"] = "\n\n".join(s for s in system if s)
    return out


def _tools(raw: list[Any], dropped: set[str]) -> list[dict[str, Any]]:
    tools: list[dict[str, Any]] = []
    for i, tool in enumerate(raw):
        at = f"tools[{i}]"
        tool = _check.object(tool, at, default={})
        kind = tool.get("type", "function")
        if kind not in ("function", None):
            dropped.add(f"the {kind} tool" if isinstance(kind, str) else "tools of an unknown type")
            continue
        function = _check.object(tool.get("function"), f"{at}.function", default={})
        name = function.get("name")
        if not isinstance(name, str) or not name:
            raise _check.fail(f"{at}.function.name", "must be a tool's name")
        out: dict[str, Any] = {"name": name}
        description = _check.string(function.get("description"), f"{at}.function.description", default="")
        if description:
            out["description"] = description
        if function.get("parameters") is not None:
            out["parameters"] = _check.object(function["parameters"], f"{at}.function.parameters")
        tools.append(out)
    return tools


def _options(raw: dict[str, Any], options: dict[str, Any], native: dict[str, Any]) -> None:
    for key, value in raw.items():
        name = CANONICAL_OPTIONS.get(key)
        if value is None:
            continue
        if name is None:
            native[key] = value
        elif key == "stop":
            stop = [value] if isinstance(value, str) else _check.list(value, "options.stop")
            if not all(isinstance(s, str) for s in stop):
                raise _check.fail("options.stop", "must be a list of strings")
            options["stop"] = stop
        else:
            number: int | float
            if key in _INTEGER_OPTIONS:  # Ollama takes 2.0 for an integer
                number = _check.integer(value, f"options.{key}", whole_floats=True, bits=64)
            else:
                number = _check.number(value, f"options.{key}")
            if key == "num_predict" and number < 0:
                native[key] = number  # -1: no limit, -2: fill the context; no canonical meaning
            else:
                options[name] = number


def _format(value: Any) -> dict[str, Any] | None:
    if value in (None, ""):
        return None
    if value == "json":
        return {"type": "json_object"}
    if isinstance(value, dict):
        return {"type": "json_schema", "schema": value}
    raise _check.fail("format", 'must be "json" or a JSON Schema object')


def parse_request(body: Any, *, path: str = "") -> ParsedRequest:
    """An Ollama ``/api/chat`` or ``/api/generate`` body → a :class:`ParsedRequest` (see the
    module's docstring). The endpoint is the path's, else a body with a ``prompt`` and no
    ``messages`` is a generate request."""
    body = _check.body(body)
    path = path.rstrip("/")
    if path.endswith("/api/generate") or path.endswith("/api/chat"):
        generate = path.endswith("/api/generate")
    else:
        generate = "prompt" in body and "messages" not in body
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _check.fail("model", "is required (a model name)")
    stream = _check.boolean(body.get("stream"), "stream", default=None)
    dropped: set[str] = set()
    conversation: dict[str, Any] = {"model": model}
    meta: dict[str, Any] = {}
    if generate:
        system = _check.string(body.get("system"), "system", default="")
        if system:
            conversation["system"] = system
        prompt = _check.string(body.get("prompt"), "prompt", default="")
        images = _images(body, "")
        parts = [{"type": "text", "text": prompt}] if prompt else []
        conversation["messages"] = [{"role": "user", "content": parts + images}] if parts + images else []
        kept = {k: body[k] for k in ("suffix", "raw", "template", "context") if body.get(k) is not None}
        if kept:
            meta["generate"] = kept
            dropped.update(f"the /api/generate field {k!r}" for k in kept if body[k])
    else:
        raw = body.get("messages")
        conversation["messages"] = _messages(_check.list(raw, "messages", default=[]), conversation, dropped)
        tools = _tools(_check.list(body.get("tools"), "tools", default=[]), dropped)
        if tools:
            conversation["tools"] = tools
    options: dict[str, Any] = {}
    native: dict[str, Any] = {}
    _options(_check.object(body.get("options"), "options", default={}), options, native)
    if native:
        meta["options"] = native
    response_format = _format(body.get("format"))
    if response_format:
        options["response_format"] = response_format
    think = body.get("think")
    if think is False:
        options["reasoning_budget"] = 0
    elif think is not None:
        effort = _EFFORTS.get(think) if isinstance(think, (bool, str)) else None
        if effort is None:
            raise _check.fail("think", f'must be true, false, "low", "medium" or "high", not {quote(think)}')
        options["reasoning_effort"] = effort
    if options:
        conversation["options"] = options
    known = _GENERATE_FIELDS if generate else _CHAT_FIELDS
    fields = {k: v for k, v in body.items() if k not in known}
    if fields:
        meta["body"] = fields
    if fields.get("logprobs"):
        dropped.add("logprobs")
    if meta:
        conversation["provider_metadata"] = {NAME: meta}
    answer: dict[str, Any] = {"endpoint": "generate" if generate else "chat", "model": model}
    if stream is False:
        answer["stream"] = False
    return ParsedRequest(
        conversation, stream=stream is not False, answer_options=answer, dropped=sorted(dropped)
    )
