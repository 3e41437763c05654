"""Gemini request bodies → canonical conversations (``parse_request``): :mod:`.request` backwards.

What ``streamkit serve`` makes of a Gemini client's ``POST .../models/{model}:streamGenerateContent``
or ``:generateContent`` (the body as the google-genai SDK sends it: camelCase at the top, but
snake_case in places, ``mime_type``, ``parameters_json_schema``, ``thinking_budget``; every field is
read under either spelling):

* The model is the path's (``params["model"]``, a ``models/`` prefix taken off), else a ``model``
  key in the body. ``:streamGenerateContent`` asks for a stream, ``:generateContent`` for the whole
  ``GenerateContentResponse``.
* ``contents`` (a non-empty list; a content's ``role`` is ``user`` (the default), ``model``, or
  the older ``function``):

  - ``user`` parts: ``text`` → text; ``inlineData`` → a ``file`` part (``media_type``, base64
    ``data``, ``displayName`` as its ``filename``); ``fileData`` → a ``file`` part with ``url``.
    ``functionResponse`` parts → ``tool`` messages, in place: a content that mixes them with
    other parts becomes tool messages and user messages in the order of its parts.
  - ``model`` parts → one assistant message, as the normalizer would have made it from the
    stream: ``text`` → text, ``thought: true`` → reasoning, each ``thoughtSignature`` in the part's
    ``provider_metadata["gemini"]["thought_signature"]`` (an empty part that carries only a
    signature included); ``functionCall`` → a ``tool-call`` (``input`` its ``args``, an object;
    ``arguments`` their JSON text); ``executableCode`` / ``codeExecutionResult`` and ``toolCall`` /
    ``toolResponse`` → provider-executed ``tool-call`` / ``tool-result`` (``code_execution``, or the
    ``toolType`` in lower case), joined by id, else by order, as the normalizer joins them;
    ``inlineData`` / ``fileData`` → ``file`` (a ``fileData`` URI in ``data``, marked ``file_uri``).
  - A part's other fields (``videoMetadata``, ``mediaResolution``, ``partMetadata``) are kept in
    its ``provider_metadata["gemini"]["part"]`` and sent again by the builder. A part of a kind
    streamkit does not know is listed in ``dropped`` and left out.

  **Call ids.** Gemini calls may have no ``id``. A call without one gets ``call_N`` (numbered in
  order across the conversation, skipping ids the body uses), marked ``generated_id`` so that the
  builder does not send it. **Which call a ``functionResponse`` answers**: the call not yet answered
  whose id is the response's ``id``; else the first call not yet answered (earliest first) with the
  response's ``name``; else the first call not yet answered; else none, and the result keeps its
  own id (or gets a new ``call_N``). The tool message's ``tool_name`` is the response's ``name``,
  else its call's.

  **A ``functionResponse``'s ``response``** → the tool message's ``output``: ``{"result": x}`` or
  ``{"output": x}`` alone → ``x`` (the builder writes ``result``; ``output``, Gemini's documented key,
  is remembered and written back); ``{"error": x}`` alone, ``x`` not null → ``x`` with ``is_error``;
  any other object as it is (``is_error`` when it has a non-null ``error``). Its ``parts`` (images in
  a function's answer: ``inlineData`` / ``fileData``) → file parts of the message's ``content``;
  ``willContinue`` and ``scheduling`` are kept in the message's
  ``provider_metadata["gemini"]["function_response"]``.
* ``systemInstruction`` (a content, or a plain string) → ``system``: its texts joined with a blank
  line (other parts listed in ``dropped``).
* ``tools``: ``functionDeclarations`` → canonical tools. ``parameters`` (Gemini's OpenAPI-style
  schema: ``"type": "OBJECT"``, ``nullable``, ``any_of``) becomes JSON Schema (types in lower case,
  keywords in camelCase, ``nullable`` as a ``"null"`` type); ``parametersJsonSchema`` is JSON Schema
  already. When the canonical form differs from what was sent (or was ``parametersJsonSchema``),
  the declaration as sent is kept in the tool's ``provider_metadata["gemini"]["declaration"]``, with
  ``response``, ``responseJsonSchema`` and ``behavior``, for a Gemini upstream. ``googleSearch``
  (or ``google_search``) → the canonical web search tool, its ``excludeDomains`` the blocked
  domains, the object itself kept in the tool's ``provider_metadata`` (:mod:`..web_search`).
  ``codeExecution`` → the canonical code execution. Every other tool (``urlContext``,
  ``fileSearch``, ...) is Gemini's own: kept in ``provider_metadata``, and listed in ``dropped``.
* ``toolConfig.functionCallingConfig.mode``: ``AUTO`` → ``tool_choice: "auto"``, ``NONE`` → ``"none"``,
  ``ANY`` → ``"required"``, or ``{"name": n}`` when ``allowedFunctionNames`` is that one name;
  ``VALIDATED`` → ``"auto"``. A tool config the canonical choice does not say whole (several
  allowed names, ``VALIDATED``, a ``retrievalConfig``) is also kept as it is, for a Gemini upstream.
* ``generationConfig``: ``maxOutputTokens`` → ``max_tokens``; ``temperature``; ``topP`` → ``top_p``;
  ``topK`` → ``top_k`` (these two, ``seed`` and ``thinkingBudget`` are protobuf ``int32``s: a
  whole float such as ``2.0`` is taken, a number beyond 32 bits is a 400); ``stopSequences`` → ``stop``; ``seed``; ``presencePenalty`` /
  ``frequencyPenalty`` → ``presence_penalty`` / ``frequency_penalty``; ``responseMimeType``
  ``application/json`` → ``response_format``: ``json_schema`` with ``responseJsonSchema`` (or
  ``responseSchema`` made JSON Schema, the original kept for Gemini), else ``json_object``;
  ``thinkingConfig``: ``thinkingBudget`` → ``reasoning_budget`` (``-1``, dynamic thinking, →
  ``reasoning_effort: "medium"``, the ``-1`` kept for Gemini), ``thinkingLevel`` →
  ``reasoning_effort`` (in lower case); ``includeThoughts`` is kept for Gemini when it is not what the
  builder sends (true with thinking on), null when it was absent (the builder then leaves it out).
  Every other field (``candidateCount``, ``responseModalities``, ``speechConfig``, logprobs, another
  MIME type) is kept for Gemini; those another dialect cannot give a client (several candidates,
  modalities other than text and images, speech, logprobs) are listed in ``dropped``.
  ``responseModalities`` naming ``IMAGE`` (an image model's answer) is also the canonical image
  generation tool, which a Responses upstream gets as its ``image_generation`` tool.
* ``safetySettings``, ``labels``, ``serviceTier``, ``store`` and fields streamkit does not know:
  kept quietly in ``provider_metadata["gemini"]["body"]``; ``cachedContent`` too, but listed in
  ``dropped`` (another upstream does not have that context).

What is kept for Gemini is ``conversation["provider_metadata"]["gemini"]["body"]``: a partial request
body that the builder merges into the one it builds, so that a Gemini upstream gets what the
client sent. Wrong types in valid JSON are a :class:`UsageError` naming the field
(``contents[2].parts[0].functionCall.args must be an object, not a list``), as Gemini answers them
with a 400.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs

from .. import web_search
from ..base import ParsedRequest
from ..checks import Checks, kind_of, quote
from .wire import CODE_EXECUTION, NAME, _dumps

#: ``generationConfig`` fields → canonical options (the numbers; the rest are read one by one)
_NUMBERS = {
    "maxOutputTokens": ("max_tokens", int),
    "temperature": ("temperature", float),
    "topP": ("top_p", float),
    "topK": ("top_k", int),
    "seed": ("seed", int),
    "presencePenalty": ("presence_penalty", float),
    "frequencyPenalty": ("frequency_penalty", float),
}

_EFFORTS = ("minimal", "low", "medium", "high", "xhigh")
_MODES = {"AUTO": "auto", "NONE": "none", "ANY": "required", "VALIDATED": "auto"}

#: ``generationConfig`` fields whose use a client of another dialect would miss
_NOTICED = {
    "speechConfig": "speech output (generationConfig.speechConfig)",
    "responseLogprobs": "logprobs (generationConfig.responseLogprobs)",
    "logprobs": "logprobs (generationConfig.logprobs)",
    "imageConfig": "image output (generationConfig.imageConfig)",
}

#: top-level fields read here; any other is kept for Gemini
_READ = frozenset({"contents", "systemInstruction", "tools", "toolConfig", "generationConfig", "model"})

_PART_KINDS = (
    "text", "inlineData", "fileData", "functionCall", "functionResponse", "executableCode",
    "codeExecutionResult", "toolCall", "toolResponse",
)  # fmt: skip
_MODIFIERS = frozenset({"thought", "thoughtSignature"})


_check = Checks(NAME)


def camel(name: str) -> str:
    """``mime_type`` → ``mimeType`` (a name already in camelCase is kept)."""
    head, *rest = name.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def camel_keys(value: dict[str, Any]) -> dict[str, Any]:
    """An object's keys in camelCase; a key sent under both spellings keeps the camelCase one."""
    out: dict[str, Any] = {}
    for key, item in value.items():
        name = camel(key)
        if name not in out or name == key:
            out[name] = item
    return out


def _object(value: Any, field: str) -> dict[str, Any]:
    """An object of Gemini's request, its keys in camelCase (the shared reader, then Gemini's own
    rule: the SDK sends some keys in snake_case). A value that is the client's own JSON (a call's
    ``args``, a function's ``response``, a schema) is read with ``_check.object``, keys as sent."""
    return camel_keys(_check.object(value, field))


def json_schema(schema: Any) -> Any:
    """Gemini's OpenAPI-style ``Schema`` (``"type": "OBJECT"``, ``nullable``, snake_case keywords as
    the SDK sends them) → JSON Schema; JSON Schema is given back as it is."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        name = {"defs": "$defs", "ref": "$ref"}.get(camel(key), camel(key))
        if name == "type" and isinstance(value, str):
            value = value.lower()
        elif name in ("properties", "$defs") and isinstance(value, dict):
            value = {k: json_schema(v) for k, v in value.items()}
        elif name in ("items", "additionalProperties", "not"):
            value = json_schema(value)
        elif name in ("anyOf", "oneOf", "allOf") and isinstance(value, list):
            value = [json_schema(v) for v in value]
        out[name] = value
    if out.get("nullable") is True and isinstance(out.get("type"), str):
        del out["nullable"]
        out["type"] = [out["type"], "null"]
    return out


def path_model(path: str, params: dict[str, str] | None) -> str | None:
    """The model a request's path names (``models/`` taken off)."""
    model = (params or {}).get("model")
    if not model:
        match = re.search(r"/models/([^/:]+):", path)
        model = match.group(1) if match else None
    if model and model.startswith("models/"):
        model = model[len("models/") :]
    return model or None


def stream_of(path: str, body: dict[str, Any]) -> bool:
    """``:streamGenerateContent`` streams, ``:generateContent`` does not; otherwise a ``stream`` key
    (no field of Gemini's) says, and a stream is the default."""
    head = path.partition("?")[0]
    if head.endswith(":streamGenerateContent"):
        return True
    if head.endswith(":generateContent"):
        return False
    return body.get("stream") is not False


#: the URL-safe base64 alphabet's two letters → the standard one's
_URLSAFE = str.maketrans("-_", "+/")


def standard_base64(data: str) -> str:
    """Base64 as every other dialect takes it: Gemini's JSON reads bytes in either alphabet, and
    the google-genai SDK writes the URL-safe one (``-`` and ``_``), which Anthropic, the data
    URLs of the OpenAI APIs and Ollama refuse. Missing padding is added."""
    if "-" in data or "_" in data:
        data = data.translate(_URLSAFE)
    return data + "=" * (-len(data) % 4)


class _Parser:
    """One request body → a conversation; what it drops is listed, what only Gemini can use kept."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        self.dropped: list[str] = []
        self.keep: dict[str, Any] = {}  # the partial body kept for a Gemini upstream
        self.images: list[Any] | None = None  # the responseModalities that ask for images
        self.used: set[str] = set()  # ids the body gives (generated ids avoid them)
        self.ngenerated = 0
        self.pending: list[tuple[str, str]] = []  # client calls not yet answered: (id, name)
        self.executed: dict[str, list[str]] = {}  # executed calls waiting for a result, by kind
        self.generated: set[str] = set()

    def drop(self, what: str) -> None:
        if what not in self.dropped:
            self.dropped.append(what)

    def keep_config(self, key: str, value: Any) -> None:
        self.keep.setdefault("generationConfig", {})[key] = value

    # --- ids -------------------------------------------------------------------------------

    def _scan_ids(self, contents: list[Any]) -> None:
        for content in contents:
            parts = content.get("parts") if isinstance(content, dict) else None
            for part in parts if isinstance(parts, list) else ():
                if not isinstance(part, dict):
                    continue
                for key, value in part.items():
                    if key != "text" and isinstance(value, dict) and isinstance(value.get("id"), str):
                        self.used.add(value["id"])

    def _new_id(self) -> str:
        while True:
            candidate = f"call_{self.ngenerated}"
            self.ngenerated += 1
            if candidate not in self.used:
                self.used.add(candidate)
                self.generated.add(candidate)
                return candidate

    def _call_id(self, given: Any, field: str) -> tuple[str, bool]:
        if given is None or given == "":
            return self._new_id(), True
        return _check.string(given, field), False

    # --- the whole body ----------------------------------------------------------------------

    def parse(self) -> dict[str, Any]:
        body = self.body
        conversation: dict[str, Any] = {}
        contents = _check.list(body.get("contents"), "contents")
        if not contents:
            raise _check.fail("contents", "must not be empty")
        self._scan_ids(contents)
        system = body.get("systemInstruction")
        if system is not None:
            text = self._system(system)
            if text:
                conversation["system"] = text
        messages: list[dict[str, Any]] = []
        for i, content in enumerate(contents):
            messages.extend(self._content(content, f"contents[{i}]"))
        conversation["messages"] = messages
        tools = self._tools(body["tools"]) if body.get("tools") is not None else []
        if tools:
            conversation["tools"] = tools
        options: dict[str, Any] = {}
        if body.get("generationConfig") is not None:
            self._generation_config(body["generationConfig"], options)
        if self.images is not None:  # (its own config is kept for a Gemini upstream)
            tool = web_search.image_generation({"responseModalities": self.images}, NAME)
            conversation["tools"] = [*conversation.get("tools", ()), tool]
        if body.get("toolConfig") is not None:
            self._tool_config(body["toolConfig"], options)
        if options:
            conversation["options"] = options
        for key, value in body.items():
            if key in _READ or key == "stream":
                continue
            if key == "cachedContent":
                _check.string(value, "cachedContent")
                self.drop("cachedContent (a context cached on Gemini's servers)")
            self.keep[key] = value
        if self.keep:
            conversation["provider_metadata"] = {NAME: {"body": self.keep}}
        return conversation

    def _system(self, system: Any) -> str:
        if isinstance(system, str):
            return system
        content = _object(system, "systemInstruction")
        texts = []
        for j, part in enumerate(_check.list(content.get("parts") or [], "systemInstruction.parts")):
            part = _object(part, f"systemInstruction.parts[{j}]")
            if "text" in part:
                texts.append(_check.string(part["text"], f"systemInstruction.parts[{j}].text"))
            else:
                self.drop("parts other than text in the system instruction")
        return "\n\n".join(t for t in texts if t)

    # --- contents ----------------------------------------------------------------------------

    def _content(self, content: Any, at: str) -> list[dict[str, Any]]:
        content = _object(content, at)
        role = content.get("role")
        if role is None or role == "":
            role = "user"
        role = _check.string(role, f"{at}.role")
        if role not in ("user", "model", "function"):
            raise _check.fail(f"{at}.role", f"must be user or model, not {quote(role)}")
        parts = _check.list(content.get("parts"), f"{at}.parts")
        if not parts:
            raise _check.fail(f"{at}.parts", "must not be empty")
        parts = [_object(p, f"{at}.parts[{j}]") for j, p in enumerate(parts)]
        if role == "model":
            return [{"role": "assistant", "content": self._model_parts(parts, at)}]
        return self._user_parts(parts, at)

    def _part_kind(self, part: dict[str, Any], at: str) -> str | None:
        kind = next((k for k in _PART_KINDS if k in part), None)
        if "thoughtSignature" in part:
            _check.string(part["thoughtSignature"], f"{at}.thoughtSignature")
        if "thought" in part:
            _check.boolean(part["thought"], f"{at}.thought")
        if kind is None and not part.get("thoughtSignature"):
            extra = sorted(set(part) - _MODIFIERS)
            self.drop(f"parts of kinds streamkit does not know ({', '.join(extra) or 'empty parts'})")
        return kind

    @staticmethod
    def _extras(part: dict[str, Any], kind: str | None, meta: dict[str, Any]) -> dict[str, Any]:
        extra = {k: v for k, v in part.items() if k != kind and k not in _MODIFIERS}
        if extra:
            meta["part"] = extra
        return meta

    def _user_parts(self, parts: list[dict[str, Any]], at: str) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        user: dict[str, Any] | None = None
        for j, part in enumerate(parts):
            where = f"{at}.parts[{j}]"
            kind = self._part_kind(part, where)
            if kind == "functionResponse":
                user = None
                messages.append(self._function_response(part, where))
                continue
            canonical: dict[str, Any] | None
            if kind == "text":
                canonical = {"type": "text", "text": _check.string(part["text"], f"{where}.text")}
            elif kind in ("inlineData", "fileData"):
                canonical = self._file(part, kind, where, in_user_turn=True)
            elif kind is None:
                continue
            else:
                self.drop(f"{kind} parts in user turns")
                continue
            meta = self._extras(part, kind, {})
            if meta:
                canonical["provider_metadata"] = {NAME: meta}
            if user is None:
                user = {"role": "user", "content": []}
                messages.append(user)
            user["content"].append(canonical)
        return messages

    def _file(self, part: dict[str, Any], kind: str, at: str, *, in_user_turn: bool) -> dict[str, Any]:
        """An ``inlineData`` / ``fileData`` part → a ``file`` part (its data in standard base64)."""
        blob = _object(part[kind], f"{at}.{kind}")
        mime = blob.get("mimeType")
        out: dict[str, Any] = {"type": "file", "media_type": "application/octet-stream"}
        if mime is not None:
            out["media_type"] = _check.string(mime, f"{at}.{kind}.mimeType")
        if kind == "inlineData":
            out["data"] = standard_base64(_check.string(blob.get("data"), f"{at}.inlineData.data"))
        else:
            uri = _check.string(blob.get("fileUri"), f"{at}.fileData.fileUri")
            if in_user_turn:
                out["url"] = uri
            else:  # as the normalizer writes a file of an answer
                out["data"] = uri
        name = blob.get("displayName")
        if isinstance(name, str) and name:
            out["filename"] = name
        return out

    def _model_parts(self, parts: list[dict[str, Any]], at: str) -> list[dict[str, Any]]:
        content: list[dict[str, Any]] = []
        for j, part in enumerate(parts):
            where = f"{at}.parts[{j}]"
            kind = self._part_kind(part, where)
            meta: dict[str, Any] = {}
            signature = part.get("thoughtSignature")
            if kind is None:
                if not signature:
                    continue
                kind = "text"  # a signature alone: an empty part of text (or thought) that carries it
                part = {**part, "text": ""}
            handler = _MODEL_PARTS.get(kind)
            if handler is None:
                self.drop(f"{kind} parts in model turns")
                continue
            canonical = handler(self, part, where, meta)
            if signature:
                meta["thought_signature"] = signature
            self._extras(part, kind, meta)
            if meta:
                canonical["provider_metadata"] = {NAME: meta}
            content.append(canonical)
        return content

    def _on_text(self, part: dict[str, Any], at: str, meta: dict[str, Any]) -> dict[str, Any]:
        text = _check.string(part["text"], f"{at}.text")
        return {"type": "reasoning" if part.get("thought") else "text", "text": text}

    def _on_file(self, part: dict[str, Any], at: str, meta: dict[str, Any]) -> dict[str, Any]:
        kind = "inlineData" if "inlineData" in part else "fileData"
        if kind == "fileData":
            meta["file_uri"] = True
        if part.get("thought"):
            meta["thought"] = True
        return self._file(part, kind, at, in_user_turn=False)

    def _on_function_call(self, part: dict[str, Any], at: str, meta: dict[str, Any]) -> dict[str, Any]:
        call = _object(part["functionCall"], f"{at}.functionCall")
        name = call.get("name")
        if not isinstance(name, str) or not name:
            raise _check.fail(f"{at}.functionCall.name", "must be a function's name")
        args = _check.object(call.get("args"), f"{at}.functionCall.args", default={})
        call_id, generated = self._call_id(call.get("id"), f"{at}.functionCall.id")
        if generated:
            meta["generated_id"] = True
        self.pending.append((call_id, name))
        return {
            "type": "tool-call",
            "tool_call_id": call_id,
            "tool_name": name,
            "arguments": _dumps(args),
            "input": args,
        }

    def _executed_call(
        self, kind: str, name: str, value: Any, given: Any, at: str, meta: dict[str, Any]
    ) -> dict[str, Any]:
        call_id, generated = self._call_id(given, f"{at}.id")
        if generated:
            meta["generated_id"] = True
        self.executed.setdefault(kind, []).append(call_id)
        return {
            "type": "tool-call",
            "tool_call_id": call_id,
            "tool_name": name,
            "arguments": _dumps(value),
            "input": value,
            "provider_executed": True,
        }

    def _result_id(self, kind: str, given: Any, at: str, meta: dict[str, Any]) -> str:
        pending = self.executed.get(kind) or []
        if isinstance(given, str) and given in pending:
            pending.remove(given)
            call_id = given
        elif pending:
            call_id = pending.pop(0)
        else:
            call_id = self._call_id(given, f"{at}.id")[0]
        if call_id in self.generated:
            meta["generated_id"] = True
        return call_id

    def _on_executable_code(self, part: dict[str, Any], at: str, meta: dict[str, Any]) -> dict[str, Any]:
        code = _object(part["executableCode"], f"{at}.executableCode")
        value = {k: code[k] for k in ("language", "code") if code.get(k) is not None}
        return self._executed_call(CODE_EXECUTION, CODE_EXECUTION, value, code.get("id"), at, meta)

    def _on_code_result(self, part: dict[str, Any], at: str, meta: dict[str, Any]) -> dict[str, Any]:
        result = _object(part["codeExecutionResult"], f"{at}.codeExecutionResult")
        call_id = self._result_id(CODE_EXECUTION, result.get("id"), at, meta)
        return {
            "type": "tool-result",
            "tool_call_id": call_id,
            "tool_name": CODE_EXECUTION,
            "output": {k: result[k] for k in ("outcome", "output") if result.get(k) is not None},
            "is_error": result.get("outcome") not in (None, "OUTCOME_OK"),
            "provider_executed": True,
        }

    def _on_tool_call(self, part: dict[str, Any], at: str, meta: dict[str, Any]) -> dict[str, Any]:
        call = _object(part["toolCall"], f"{at}.toolCall")
        tool_type = call.get("toolType")
        meta["tool_type"] = tool_type
        name = str(tool_type).lower() if tool_type else "tool"
        args = call.get("args")
        value = args if args is not None else {}
        return self._executed_call(f"tool:{tool_type}", name, value, call.get("id"), at, meta)

    def _on_tool_response(self, part: dict[str, Any], at: str, meta: dict[str, Any]) -> dict[str, Any]:
        response = _object(part["toolResponse"], f"{at}.toolResponse")
        tool_type = response.get("toolType")
        call_id = self._result_id(f"tool:{tool_type}", response.get("id"), at, meta)
        meta["tool_type"] = tool_type
        return {
            "type": "tool-result",
            "tool_call_id": call_id,
            "tool_name": str(tool_type).lower() if tool_type else "tool",
            "output": response.get("response") if response.get("response") is not None else {},
            "is_error": False,
            "provider_executed": True,
        }

    def _function_response(self, part: dict[str, Any], at: str) -> dict[str, Any]:
        """A ``functionResponse`` part → a tool message, matched to its call (see the module's doc)."""
        fr = _object(part["functionResponse"], f"{at}.functionResponse")
        at = f"{at}.functionResponse"
        name = _check.string(fr.get("name"), f"{at}.name", default=None)
        given = _check.string(fr.get("id"), f"{at}.id", default=None)
        pending = self.pending
        match = next((c for c in pending if given and c[0] == given), None)
        if match is None and not given:
            match = next((c for c in pending if c[1] == name), None) or (pending[0] if pending else None)
        if match is not None:
            pending.remove(match)
            call_id, name = match[0], name or match[1]
        else:
            call_id = given or self._new_id()
        if not name:
            raise _check.fail(
                f"{at}.name", "is missing, and no earlier function call is waiting for an answer"
            )
        response = _check.object(fr.get("response"), f"{at}.response", default={})
        message: dict[str, Any] = {"role": "tool", "tool_call_id": call_id, "tool_name": name}
        meta: dict[str, Any] = {}
        keys = list(response)
        if keys in (["result"], ["output"]):
            message["output"] = response[keys[0]]
            if keys == ["output"]:
                meta["response_key"] = "output"
        elif keys == ["error"] and response["error"] is not None:
            message["output"] = response["error"]
            message["is_error"] = True
        else:
            message["output"] = response
            if response.get("error") is not None:
                message["is_error"] = True
        extra = {k: v for k, v in fr.items() if k not in ("id", "name", "response", "parts")}
        files = []  # a multimodal function response's media → the tool message's content
        for j, media in enumerate(_check.list(fr.get("parts"), f"{at}.parts", default=[])):
            media = _object(media, f"{at}.parts[{j}]")
            kind = "inlineData" if "inlineData" in media else "fileData" if "fileData" in media else None
            if kind is None:
                self.drop("function response parts other than inlineData and fileData")
                continue
            files.append(self._file(media, kind, f"{at}.parts[{j}]", in_user_turn=True))
        if files:
            output = message["output"]
            message["content"] = [
                *([{"type": "text", "text": output}] if isinstance(output, str) and output else []),
                *files,
            ]
        if extra:
            meta["function_response"] = extra
        meta = self._extras(part, "functionResponse", meta)
        if meta:
            message["provider_metadata"] = {NAME: meta}
        return message

    # --- tools and their configuration -------------------------------------------------------------

    def _tools(self, tools: Any) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        hosted: list[dict[str, Any]] = []
        for i, tool in enumerate(_check.list(tools, "tools")):
            tool = _object(tool, f"tools[{i}]")
            for key, value in tool.items():
                if key in ("googleSearch", "google_search"):
                    out.append(self._web_search(value, f"tools[{i}].{key}"))
                    continue
                if key in ("codeExecution", "code_execution"):
                    meta = {"codeExecution": _object(value, f"tools[{i}].{key}")}
                    out.append(web_search.code_execution(meta, NAME))
                    continue
                if key != "functionDeclarations":
                    hosted.append({key: value})
                    self.drop(f"the {key} tool")
                    continue
                for j, declaration in enumerate(_check.list(value, f"tools[{i}].functionDeclarations")):
                    out.append(self._declaration(declaration, f"tools[{i}].functionDeclarations[{j}]"))
        if hosted:
            self.keep["tools"] = hosted
        return out

    @staticmethod
    def _web_search(value: Any, at: str) -> dict[str, Any]:
        """``googleSearch`` → the canonical web search (its ``excludeDomains`` the blocked domains),
        the object itself kept for a Gemini upstream (see :mod:`..web_search`)."""
        search = _object(value, at)
        blocked = web_search.read_domains(_check, search.get("excludeDomains"), f"{at}.excludeDomains")
        return web_search.canonical({"blocked_domains": blocked}, {"googleSearch": search}, _check, at)

    def _declaration(self, declaration: Any, at: str) -> dict[str, Any]:
        from .request import declaration as build_declaration

        raw = declaration
        declaration = _object(declaration, at)
        name = declaration.get("name")
        if not isinstance(name, str) or not name:
            raise _check.fail(f"{at}.name", "must be a function's name")
        tool: dict[str, Any] = {"name": name}
        description = declaration.get("description")
        if description is not None and _check.string(description, f"{at}.description"):
            tool["description"] = description
        schema = declaration.get("parametersJsonSchema")
        field = "parametersJsonSchema"
        if schema is None:
            schema, field = declaration.get("parameters"), "parameters"
        if schema is not None:
            tool["parameters"] = json_schema(_check.object(schema, f"{at}.{field}"))
        if build_declaration(tool) != raw:  # the canonical tool does not say it whole: keep it
            tool["provider_metadata"] = {NAME: {"declaration": raw}}
        return tool

    def _tool_config(self, config: Any, options: dict[str, Any]) -> None:
        from .request import tool_config as build_tool_config

        config = _object(config, "toolConfig")
        native = dict(config)
        fcc = config.get("functionCallingConfig")
        if fcc is not None:
            fcc = _object(fcc, "toolConfig.functionCallingConfig")
            native["functionCallingConfig"] = fcc
            mode = fcc.get("mode")
            if mode is not None:
                mode = _check.string(mode, "toolConfig.functionCallingConfig.mode").upper()
                if mode not in (*_MODES, "MODE_UNSPECIFIED"):
                    message = f"must be AUTO, ANY, NONE or VALIDATED, not {quote(mode)}"
                    raise _check.fail("toolConfig.functionCallingConfig.mode", message)
            names = fcc.get("allowedFunctionNames")
            if names is not None:
                names = _check.list(names, "toolConfig.functionCallingConfig.allowedFunctionNames")
                for k, n in enumerate(names):
                    _check.string(n, f"toolConfig.functionCallingConfig.allowedFunctionNames[{k}]")
            if mode in _MODES:
                choice: Any = _MODES[mode]
                if mode == "ANY" and names and len(names) == 1:
                    choice = {"name": names[0]}
                options["tool_choice"] = choice
        if build_tool_config(options.get("tool_choice")) != native:
            self.keep["toolConfig"] = native

    # --- generation settings --------------------------------------------------------------------------

    def _generation_config(self, config: Any, options: dict[str, Any]) -> None:
        config = _object(config, "generationConfig")
        at = "generationConfig"
        for key, value in config.items():
            if value is None:
                continue
            if key in _NUMBERS:
                name, kind = _NUMBERS[key]
                if kind is int:  # protobuf's JSON takes 2.0 for an integer; these are int32
                    options[name] = _check.integer(value, f"{at}.{key}", whole_floats=True, bits=32)
                else:
                    options[name] = _check.number(value, f"{at}.{key}")
            elif key == "stopSequences":
                stops = _check.list(value, f"{at}.stopSequences")
                options["stop"] = [_check.string(s, f"{at}.stopSequences[{k}]") for k, s in enumerate(stops)]
            elif key in ("responseMimeType", "responseSchema", "responseJsonSchema", "thinkingConfig"):
                continue  # read below, together
            else:
                self.keep_config(key, value)
                self._notice(key, value)
        self._response_format(config, options)
        if config.get("thinkingConfig") is not None:
            self._thinking(config["thinkingConfig"], options)

    def _notice(self, key: str, value: Any) -> None:
        if key in _NOTICED and value:
            self.drop(_NOTICED[key])
        elif key == "candidateCount" and isinstance(value, int) and value > 1:
            self.drop("several candidates (generationConfig.candidateCount)")
        elif key == "responseModalities" and isinstance(value, list):
            kinds = {str(m).upper() for m in value}
            if "IMAGE" in kinds:  # (an image model's answer: the canonical image generation)
                self.images = value
            if kinds - {"TEXT", "IMAGE"}:
                self.drop(
                    "output modalities other than text and images (generationConfig.responseModalities)"
                )

    def _response_format(self, config: dict[str, Any], options: dict[str, Any]) -> None:
        at = "generationConfig"
        mime = config.get("responseMimeType")
        if mime is not None:
            mime = _check.string(mime, f"{at}.responseMimeType")
        schema, native = config.get("responseJsonSchema"), None
        if schema is None and config.get("responseSchema") is not None:
            native = _check.object(config["responseSchema"], f"{at}.responseSchema")
            schema = json_schema(native)
        elif schema is not None and not isinstance(schema, (dict, bool)):
            raise _check.fail(f"{at}.responseJsonSchema", f"must be an object, not {kind_of(schema)}")
        if mime == "application/json":
            if schema is not None:
                options["response_format"] = {"type": "json_schema", "schema": schema}
                if native is not None:
                    self.keep_config("responseSchema", native)
            else:
                options["response_format"] = {"type": "json_object"}
            return
        for key in ("responseMimeType", "responseSchema", "responseJsonSchema"):
            if config.get(key) is not None:
                self.keep_config(key, config[key])

    def _thinking(self, thinking: Any, options: dict[str, Any]) -> None:
        at = "generationConfig.thinkingConfig"
        thinking = _object(thinking, at)
        kept = {k: v for k, v in thinking.items() if k not in ("thinkingBudget", "thinkingLevel")}
        budget, level = thinking.get("thinkingBudget"), thinking.get("thinkingLevel")
        if budget is not None and level is not None:
            raise _check.fail(at, "may give thinkingBudget or thinkingLevel, not both")
        if budget is not None:
            budget = _check.integer(budget, f"{at}.thinkingBudget", whole_floats=True, bits=32)
            if budget == -1:  # dynamic thinking
                options["reasoning_effort"] = "medium"
                kept["thinkingBudget"] = -1
            else:
                options["reasoning_budget"] = budget
        elif level is not None:
            effort = _check.string(level, f"{at}.thinkingLevel").lower()
            if effort in _EFFORTS:
                options["reasoning_effort"] = effort
            else:
                kept["thinkingLevel"] = level
        includes = _check.boolean(kept.pop("includeThoughts", None), f"{at}.includeThoughts", default=None)
        # the builder asks for thoughts with thinking; kept when the client said otherwise (null: absent)
        on = options.get("reasoning_budget", 0) != 0 or "reasoning_effort" in options
        if includes != (True if on else None):
            kept["includeThoughts"] = includes
        if kept:
            self.keep_config("thinkingConfig", kept)


_MODEL_PARTS: dict[str, Any] = {
    "text": _Parser._on_text,
    "inlineData": _Parser._on_file,
    "fileData": _Parser._on_file,
    "functionCall": _Parser._on_function_call,
    "executableCode": _Parser._on_executable_code,
    "codeExecutionResult": _Parser._on_code_result,
    "toolCall": _Parser._on_tool_call,
    "toolResponse": _Parser._on_tool_response,
}


def parse_request(
    body: Any, *, path: str = "", params: dict[str, str] | None = None, headers: dict[str, str] | None = None
) -> ParsedRequest:
    """A Gemini ``generateContent`` / ``streamGenerateContent`` body → :class:`ParsedRequest` (see the
    module's docstring for what becomes what)."""
    body = camel_keys(_check.body(body))
    parser = _Parser(body)
    conversation = parser.parse()
    model = path_model(path, params)
    if model is None and isinstance(body.get("model"), str) and body["model"]:
        model = body["model"].removeprefix("models/")
    if model:
        conversation = {"model": model, **conversation}
    answer: dict[str, Any] = {"model": model} if model else {}
    alt = (params or {}).get("alt")
    if alt is None and "?" in path:
        alt = next(iter(parse_qs(path.partition("?")[2]).get("alt") or ()), None)
    if alt is not None and alt != "sse":
        answer["framing"] = "json-array"
    return ParsedRequest(
        conversation=conversation,
        stream=stream_of(path, body),
        answer_options=answer,
        dropped=parser.dropped,
    )
