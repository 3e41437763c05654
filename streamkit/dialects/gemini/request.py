"""Canonical conversations → Gemini ``streamGenerateContent`` requests (body, URL).

Requests (``fetch``, ``agent``): ``POST {base}/v1beta/models/{model}:streamGenerateContent?alt=sse``
(base ``--base-url``, ``GEMINI_BASE_URL``, ``GOOGLE_GEMINI_BASE_URL``, default
``https://generativelanguage.googleapis.com``; a base whose path already names an API version,
``.../v1`` or a Vertex AI ``.../v1/projects/P/locations/L/publishers/google``, gets no ``/v1beta``;
``models/x`` and ``tunedModels/x`` are taken as they are). The key (``GEMINI_API_KEY``, then
``GOOGLE_API_KEY``) goes in the ``x-goog-api-key`` header, never in the URL. The body:

* ``contents``: user turns (text, ``inlineData`` for base64 files, ``fileData`` for URLs and
  ``gs://`` URIs), ``model`` turns given back as Gemini sent them: text, thoughts (``thought:
  true``), ``functionCall`` (``name``, ``args`` an object, ``id`` unless normalize made it up),
  Gemini's executed tools (``executableCode`` / ``codeExecutionResult``, ``toolCall`` /
  ``toolResponse``) and files, each ``thoughtSignature`` on the kind of part it came on (a
  signature-only empty part included: Gemini 3 rejects a continuation that drops the one on a
  function call; a current-turn step whose first call has none, another model's or one written by
  hand, gets the documented ``skip_thought_signature_validator`` when the model is Gemini 3 or
  later). Another provider's reasoning goes as thought text; its executed tools cannot
  be sent (a warning); sources are not sent back. The tool messages that follow a turn are one
  ``user`` turn of ``functionResponse`` parts: ``name`` (the message's, else the call's), the
  call's ``id`` when it was sent with one, ``response`` an object: an object output as it is,
  another output as ``{"result": output}``, a failed tool's as ``{"error": output}``.
* ``systemInstruction`` from the system prompt and system messages.
* ``tools``: ``[{"functionDeclarations": [{name, description, parameters}]}]`` (a top-level
  ``$schema`` removed; an object schema with no properties left out, which Gemini refuses); a
  ``tools`` option (Gemini's own: ``googleSearch``, ``codeExecution``, ...) is added after them.
* ``generationConfig``: ``max_tokens`` → ``maxOutputTokens``, ``temperature``, ``top_p`` →
  ``topP``, ``stop`` → ``stopSequences`` (a string becomes a list), ``seed``, and any option
  that names a generation setting in camelCase or snake_case (``top_k``, ``thinkingConfig``);
  a ``generationConfig`` option is merged in. ``safety_settings`` / ``tool_config`` /
  ``cached_content`` (either spelling) and any other option go at the top level of the body.

A native body (``--body``) is sent as it is; a ``model`` key in it (no field of Gemini's) names
the model and is taken out. ``serve`` answers on ``/v1beta/models/{model}:streamGenerateContent``
and ``/v1/models/{model}:streamGenerateContent``. Gemini keeps no state: every request carries
the whole conversation.
"""

from __future__ import annotations

import re
from typing import Any

from ...canonical import parse_arguments
from ...errors import UsageError
from .wire import NAME, executed_call_part, executed_result_part, file_part

# --- requests -------------------------------------------------------------------------------------

#: canonical option names → ``generationConfig`` fields
OPTION_NAMES = {
    "max_tokens": "maxOutputTokens",
    "temperature": "temperature",
    "top_p": "topP",
    "stop": "stopSequences",
    "seed": "seed",
}

#: ``generationConfig`` fields: an option so named (or named so in snake_case: ``top_k``,
#: ``thinking_config``) goes in ``generationConfig``
GENERATION_CONFIG_FIELDS = frozenset({
    "stopSequences", "responseMimeType", "responseSchema", "responseJsonSchema", "responseModalities",
    "candidateCount", "maxOutputTokens", "temperature", "topP", "topK", "seed", "presencePenalty",
    "frequencyPenalty", "responseLogprobs", "logprobs", "enableEnhancedCivicAnswers", "speechConfig",
    "thinkingConfig", "imageConfig", "mediaResolution", "audioTimestamp", "routingConfig",
    "modelSelectionConfig", "enableAffectiveDialog",
})  # fmt: skip

#: other request fields an option may name in snake_case (``safety_settings``); any other option
#: goes at the top level of the body under the name it was given
REQUEST_FIELDS = frozenset(
    {"safetySettings", "toolConfig", "cachedContent", "labels", "serviceTier", "store"}
)

#: a base URL whose path already names an API version (``.../v1beta``, a Vertex AI publisher path)
_VERSIONED = re.compile(r"/v\d+(?:alpha|beta)?\d*(?:/|$)")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


class RequestDrops:
    """What a request cannot carry, counted per kind and warned about once (never silently)."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        self.kinds: dict[str, int] = {}

    def add(self, what: str) -> None:
        self.kinds[what] = self.kinds.get(what, 0) + 1

    def warn(self) -> None:
        from ... import diagnostics

        for what, count in self.kinds.items():
            diagnostics.warn(f"{self.dialect} cannot send {what} ({count}); left out of the request")


def generated_id(part: dict[str, Any]) -> bool:
    """Whether normalize made up the call's id (any dialect's ``generated_id`` mark): such an id
    is ours, not the provider's, and is not sent."""
    pm = part.get("provider_metadata")
    return isinstance(pm, dict) and any(isinstance(m, dict) and m.get("generated_id") for m in pm.values())


def object_input(part: dict[str, Any], drops: RequestDrops) -> dict[str, Any]:
    """A tool call's arguments as an object (Gemini's ``args`` and Ollama's ``arguments`` must be
    one); arguments that are not one (a call cut off, invalid JSON) are sent as ``{}``, counted."""
    value = part.get("input")
    if not isinstance(value, dict):
        value, _ = parse_arguments(part.get("arguments") or "")
    if isinstance(value, dict):
        return value
    drops.add("tool-call arguments that are not a JSON object (sent as {})")
    return {}


def _meta(part: dict[str, Any]) -> dict[str, Any]:
    pm = part.get("provider_metadata")
    meta = pm.get(NAME) if isinstance(pm, dict) else None
    return meta if isinstance(meta, dict) else {}


def _user_parts(content: list[dict[str, Any]], drops: RequestDrops) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for part in content:
        kind = part.get("type")
        if kind == "text":
            if part.get("text"):
                parts.append({"text": part["text"]})
        elif kind == "file":
            parts.append(file_part(part))
        else:
            drops.add(f"{kind} parts in user turns")
    return parts


def _model_parts(
    content: list[dict[str, Any]], drops: RequestDrops, calls: dict[str, tuple[str, bool]]
) -> list[dict[str, Any]]:
    """An earlier assistant turn as the parts of a ``model`` content: text, thoughts, function
    calls, Gemini's executed tools and files, each thought signature on the kind of part it came
    on (Gemini 3 rejects a continuation that drops the one on a function call)."""
    parts: list[dict[str, Any]] = []
    code_ids: dict[str, str | None] = {}
    for p in content:
        kind = p.get("type")
        part: dict[str, Any] | None
        if kind in ("text", "reasoning"):
            meta = _meta(p)
            text = p.get("text") or ""
            if not text and not meta.get("thought_signature"):
                continue  # an empty block (another provider's redacted reasoning) says nothing
            part = {"text": text, "thought": True} if kind == "reasoning" else {"text": text}
            if meta.get("thought_signature"):
                part["thoughtSignature"] = meta["thought_signature"]
        elif kind == "tool-call" and not p.get("provider_executed"):
            call: dict[str, Any] = {"name": p["tool_name"], "args": object_input(p, drops)}
            own_id = not generated_id(p)
            if own_id:
                call = {"id": p["tool_call_id"], **call}
            calls[p["tool_call_id"]] = (p["tool_name"], own_id)
            part = {"functionCall": call}
            if _meta(p).get("thought_signature"):
                part["thoughtSignature"] = _meta(p)["thought_signature"]
        elif kind == "tool-call":
            value = p.get("input")
            if value is None and p.get("arguments"):
                value, _ = parse_arguments(p["arguments"])
            part = executed_call_part(p, value, _meta(p), code_ids)
            if part is None:
                drops.add("other providers' executed tool calls")
        elif kind == "tool-result" and p.get("provider_executed"):
            part = executed_result_part(p, code_ids)
            if part is None:
                drops.add("other providers' executed tool results")
        elif kind == "file":
            part = file_part(p)
        else:
            part = None  # sources annotate the answer; they are not sent back
        if part is not None:
            parts.append(part)
    return parts


def _function_response(message: dict[str, Any], calls: dict[str, tuple[str, bool]]) -> dict[str, Any]:
    """A tool message as a ``functionResponse`` part: the tool's name (the message's, else the
    call's), ``response`` an object (an object output as it is; otherwise ``{"result": output}``,
    or ``{"error": output}`` for a failed tool), and the call's id when it had one of its own."""
    call_id = message["tool_call_id"]
    name, own_id = calls.get(call_id, (None, False))
    name = message.get("tool_name") or name
    if not name:
        raise UsageError(
            f"gemini: the tool result for {call_id} names no tool, and no earlier tool call has that id"
        )
    output = message.get("output")
    if message.get("is_error"):
        response = output if isinstance(output, dict) and "error" in output else {"error": output}
    else:
        response = output if isinstance(output, dict) else {"result": output}
    result: dict[str, Any] = {"name": name, "response": response}
    if own_id:
        result = {"id": call_id, **result}
    return {"functionResponse": result}


def gemini_contents(conversation: dict[str, Any], drops: RequestDrops) -> list[dict[str, Any]]:
    """Canonical messages → Gemini ``contents``: user turns, ``model`` turns, and the tool results
    that follow a turn as one ``user`` turn of ``functionResponse`` parts (system messages go to
    ``systemInstruction``)."""
    contents: list[dict[str, Any]] = []
    calls: dict[str, tuple[str, bool]] = {}  # tool call id -> (tool name, sent with its id)
    results: dict[str, Any] | None = None  # the user turn of function responses being filled
    for message in conversation.get("messages", ()):
        role = message["role"]
        if role == "tool":
            if results is None:
                results = {"role": "user", "parts": []}
                contents.append(results)
            results["parts"].append(_function_response(message, calls))
            continue
        results = None
        if role == "user":
            parts, wire_role = _user_parts(message["content"], drops), "user"
        elif role == "assistant":
            parts, wire_role = _model_parts(message["content"], drops, calls), "model"
        else:
            continue
        if parts:
            contents.append({"role": wire_role, "parts": parts})
    return contents


def _declaration(tool: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"name": tool["name"]}
    if tool.get("description"):
        out["description"] = tool["description"]
    params = tool.get("parameters")
    if isinstance(params, dict):
        params = {k: v for k, v in params.items() if k != "$schema"}
        # Gemini rejects an object schema with no properties: a tool without parameters has none
        if params and not (params.get("type") == "object" and not params.get("properties")):
            out["parameters"] = params
    return out


#: the thought signature Gemini documents for function calls it did not sign itself (another
#: model's, or written by hand): it skips the check instead of refusing the request
SKIP_SIGNATURE = "skip_thought_signature_validator"

_GEMINI_VERSION = re.compile(r"(?:^|/)gemini-(\d+)")


def signs_function_calls(model: str | None) -> bool:
    """Whether the model checks the signatures of the current turn's function calls (Gemini 3 on)."""
    match = _GEMINI_VERSION.search(model or "")
    return match is not None and int(match.group(1)) >= 3


def sign_current_turn(contents: list[dict[str, Any]]) -> None:
    """Gemini 3 refuses a request whose current turn (the model steps since the last user message)
    has a step whose first function call carries no signature: such a call (another model's, or
    written by hand) gets :data:`SKIP_SIGNATURE`. Real signatures are kept; later calls of a step
    are left as they are (Gemini signs the first of parallel calls only)."""
    start = 0
    for i, content in enumerate(contents):
        if content["role"] == "user" and any("functionResponse" not in p for p in content["parts"]):
            start = i + 1
    for content in contents[start:]:
        if content["role"] != "model":
            continue
        first = next((p for p in content["parts"] if "functionCall" in p), None)
        if first is not None and not first.get("thoughtSignature"):
            first["thoughtSignature"] = SKIP_SIGNATURE


def gemini_request_body(conversation: dict[str, Any], model: str | None = None) -> dict[str, Any]:
    """A canonical conversation → the ``streamGenerateContent`` body (``model``: the model it goes
    to, which says whether the current turn's function calls need signatures)."""
    from ...conversation import system_text

    drops = RequestDrops(NAME)
    body: dict[str, Any] = {"contents": gemini_contents(conversation, drops)}
    if not body["contents"]:
        raise UsageError("gemini: nothing to send: the conversation has no message with content")
    if signs_function_calls(model):
        sign_current_turn(body["contents"])
    system = system_text(conversation)
    if system:
        body["systemInstruction"] = {"parts": [{"text": system}]}
    tools: list[dict[str, Any]] = []
    if conversation.get("tools"):
        tools.append({"functionDeclarations": [_declaration(t) for t in conversation["tools"]]})
    config: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in (conversation.get("options") or {}).items():
        name = OPTION_NAMES.get(key) or _camel(key)
        if name == "stopSequences" and isinstance(value, str):
            value = [value]
        if name in GENERATION_CONFIG_FIELDS:
            config[name] = value
        elif name == "generationConfig" and isinstance(value, dict):
            config.update(value)
        elif name == "tools" and isinstance(value, list):
            tools.extend(value)  # Gemini's own tools (googleSearch, codeExecution, ...) beside ours
        elif name in REQUEST_FIELDS:
            extra[name] = value
        else:
            extra[key] = value
    if tools:
        body["tools"] = tools
    if config:
        body["generationConfig"] = config
    body.update(extra)
    drops.warn()
    return body


def gemini_url(base_url: str, model: str | None) -> str:
    """``{base}/v1beta/models/{model}:streamGenerateContent?alt=sse`` (no version added when the
    base URL names one; ``models/x`` and ``tunedModels/x`` names kept as they are)."""
    from urllib.parse import quote, urlsplit

    if not model:
        raise UsageError(
            'no model: pass -m MODEL (gemini-2.5-flash), put "model" in the conversation, or set STREAMKIT_MODEL'
        )
    collection, _, rest = model.partition("/")
    if not rest or collection not in ("models", "tunedModels"):
        collection, rest = "models", model
    version = "" if _VERSIONED.search(urlsplit(base_url).path) else "/v1beta"
    return f"{base_url}{version}/{collection}/{quote(rest, safe='')}:streamGenerateContent?alt=sse"
