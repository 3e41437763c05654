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
  another output as ``{"result": output}``, a failed tool's as ``{"error": output}``; the files
  a result holds (an image a tool read) in its ``parts`` (``inlineData`` / ``fileData``: Gemini's
  multimodal function responses).
* ``systemInstruction`` from the system prompt and system messages.
* ``tools``: ``[{"functionDeclarations": [{name, description, parameters}]}]`` (the parameters of
  :func:`~streamkit.conversation.tool_parameters`, so a custom tool takes one string ``input``; a
  top-level ``$schema`` removed; an object schema with no properties left out, which Gemini
  refuses), as ``parametersJsonSchema`` when the schema says more than Gemini's OpenAPI subset
  (``const``, ``$ref``, a list of types...), which ``parameters`` refuses; the canonical web search
  as ``{"googleSearch": {}}`` (with ``toolConfig.includeServerSideToolInvocations`` beside
  functions, for Gemini 3; left out with a warning beside functions for Gemini 1 and 2:
  :mod:`..web_search`), the canonical code execution as ``{"codeExecution": {}}`` (by the same
  rule beside functions); the canonical image generation (another dialect's) as
  ``generationConfig.responseModalities: ["TEXT", "IMAGE"]``, images in the answer; a ``tools``
  option (Gemini's own: ``urlContext``, ...) is added after them. A tool of another kind is left
  out with a warning.
* The canonical options, in Gemini's words:

  ======================  ===========================================================================
  ``max_tokens``          ``generationConfig.maxOutputTokens``
  ``temperature``         ``generationConfig.temperature``
  ``top_p`` / ``top_k``   ``generationConfig.topP`` / ``topK``
  ``stop``                ``generationConfig.stopSequences`` (a string becomes a list)
  ``seed``                ``generationConfig.seed``
  ``frequency_penalty``   ``generationConfig.frequencyPenalty`` (``presence_penalty`` likewise)
  ``tool_choice``         ``toolConfig.functionCallingConfig.mode``: auto → AUTO, none → NONE,
                          required → ANY, ``{"name": n}`` → ANY + ``allowedFunctionNames: [n]``
  ``parallel_tool_calls`` no Gemini field: true is what Gemini does; false is dropped, with a warning
  ``response_format``     ``json_schema`` → ``responseMimeType: application/json`` +
                          ``responseJsonSchema`` (``name``, ``strict`` have no field: Gemini always
                          keeps to the schema); ``json_object`` → ``application/json``
  ``reasoning_budget``    ``generationConfig.thinkingConfig.thinkingBudget`` (0: thinking off)
  ``reasoning_effort``    from Gemini 3 on ``thinkingLevel`` (none and minimal → minimal, xhigh →
                          high); before, ``thinkingBudget``: none 0, minimal and low 1024, medium
                          8192, high and xhigh 24576 (Google's own mapping for its OpenAI-compatible
                          endpoint). A budget wins over an effort (Gemini refuses both).
                          Thinking asked for also sets ``includeThoughts``.
  ======================  ===========================================================================

  Any other option that names a generation setting in camelCase or snake_case (``thinkingConfig``,
  ``candidate_count``) goes in ``generationConfig``, and a ``generationConfig`` option is merged in;
  ``safety_settings`` / ``tool_config`` / ``cached_content`` (either spelling) and any other option
  go at the top level of the body, as they are (a native option wins over a canonical one).
* What ``parse_request`` kept of a Gemini client's request (``provider_metadata["gemini"]``: the
  ``body`` fields only Gemini can use, a tool's ``declaration`` as sent, a part's other fields, a
  function response's ``output`` key and extra fields) is written back, so that a gateway in front
  of Gemini loses nothing (see :func:`restore_kept`).

A native body (``--body``) is sent as it is; a ``model`` key in it (no field of Gemini's) names
the model and is taken out. ``serve`` answers on ``/v1beta/models/{model}:streamGenerateContent``
and ``/v1/models/{model}:streamGenerateContent`` (and, whole, on the ``:generateContent`` paths:
``Gemini.whole_paths``; a client's body is read by :mod:`.parse`). Gemini keeps no state: every
request carries the whole conversation.
"""

from __future__ import annotations

import re
from typing import Any

from ...canonical import parse_arguments
from ...conversation import CODE_EXECUTION, IMAGE_GENERATION, WEB_SEARCH, is_approval
from ...errors import UsageError
from .. import web_search
from ..requests import RequestDrops, generated_id, object_input, result_files
from .wire import NAME, executed_call_part, executed_result_part, file_part

# --- requests -------------------------------------------------------------------------------------

#: canonical option names → ``generationConfig`` fields
OPTION_NAMES = {
    "max_tokens": "maxOutputTokens",
    "temperature": "temperature",
    "top_p": "topP",
    "top_k": "topK",
    "stop": "stopSequences",
    "seed": "seed",
    "frequency_penalty": "frequencyPenalty",
    "presence_penalty": "presencePenalty",
}

#: the canonical options with a form of their own (see :func:`gemini_request_body`)
CANONICAL_OPTIONS = frozenset(
    {"tool_choice", "parallel_tool_calls", "response_format", "reasoning_effort", "reasoning_budget"}
)

#: ``tool_choice`` → ``functionCallingConfig.mode``
TOOL_CHOICE_MODES = {"auto": "AUTO", "none": "NONE", "required": "ANY"}

#: ``reasoning_effort`` → ``thinkingBudget`` before Gemini 3 (the budgets Google's own
#: OpenAI-compatible endpoint uses; ``none`` turns thinking off, where the model allows it)
EFFORT_BUDGETS = {"none": 0, "minimal": 1024, "low": 1024, "medium": 8192, "high": 24576, "xhigh": 24576}

#: ``reasoning_effort`` → ``thinkingLevel`` from Gemini 3 on (which cannot turn thinking off)
EFFORT_LEVELS = {"none": "minimal", "minimal": "minimal", "low": "low", "medium": "medium", "high": "high",
                 "xhigh": "high"}  # fmt: skip

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
                parts.append(_with_fields({"text": part["text"]}, part))
        elif kind == "file":
            parts.append(_with_fields(file_part(part), part))
        else:
            drops.add(f"{kind} parts in user turns")
    return parts


def _with_fields(wire: dict[str, Any], part: dict[str, Any]) -> dict[str, Any]:
    """A part's other Gemini fields (``videoMetadata``, ``mediaResolution``), which ``parse_request``
    keeps in ``provider_metadata["gemini"]["part"]``, written back on it."""
    fields = _meta(part).get("part")
    if isinstance(fields, dict):
        for key, value in fields.items():
            wire.setdefault(key, value)
    return wire


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
        elif kind == "tool-approval-request":
            drops.add("the provider's tool approval requests")
            continue
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
            parts.append(_with_fields(part, p))
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
    meta = _meta(message)
    if message.get("is_error"):
        response = output if isinstance(output, dict) and "error" in output else {"error": output}
    else:
        if meta.get("response_key") == "output":  # how the Gemini client wrote it
            response = {"output": output}
        else:
            response = output if isinstance(output, dict) else {"result": output}
    result: dict[str, Any] = {"name": name, "response": response}
    if own_id:
        result = {"id": call_id, **result}
    files = result_files(message)
    if files:  # (multimodal function responses: the media go in its own parts)
        result["parts"] = [
            {k: v for k, v in file_part(f).items() if k in ("inlineData", "fileData")} for f in files
        ]
    extra = meta.get("function_response")
    if isinstance(extra, dict):
        result.update({k: v for k, v in extra.items() if k not in result})
    return _with_fields({"functionResponse": result}, message)


def gemini_contents(conversation: dict[str, Any], drops: RequestDrops) -> list[dict[str, Any]]:
    """Canonical messages → Gemini ``contents``: user turns, ``model`` turns, and the tool results
    that follow a turn as one ``user`` turn of ``functionResponse`` parts (system messages go to
    ``systemInstruction``)."""
    contents: list[dict[str, Any]] = []
    calls: dict[str, tuple[str, bool]] = {}  # tool call id -> (tool name, sent with its id)
    results: dict[str, Any] | None = None  # the user turn of function responses being filled
    for message in conversation.get("messages", ()):
        role = message["role"]
        if role == "tool" and is_approval(message):
            drops.add("answers to tool approval requests")
            continue
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


def declaration(tool: dict[str, Any]) -> dict[str, Any]:
    """A canonical tool as a function declaration (its parameters from
    :func:`~streamkit.conversation.tool_parameters`: a custom tool takes one string ``input``)."""
    from ...conversation import tool_parameters

    out: dict[str, Any] = {"name": tool["name"]}
    if tool.get("description"):
        out["description"] = tool["description"]
    params = {k: v for k, v in tool_parameters(tool).items() if k != "$schema"}
    # Gemini rejects an object schema with no properties: a tool without parameters has none
    if params and not (params.get("type") == "object" and not params.get("properties")):
        out["parameters" if openapi_subset(params) else "parametersJsonSchema"] = params
    return out


#: the fields of Gemini's ``Schema`` (its subset of OpenAPI 3.0), which ``parameters`` takes: the
#: API refuses any other with a 400 ("Unknown name")
SCHEMA_FIELDS = frozenset({
    "type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems", "properties",
    "required", "minProperties", "maxProperties", "minLength", "maxLength", "pattern", "example", "anyOf",
    "propertyOrdering", "default", "items", "minimum", "maximum", "additionalProperties",
})  # fmt: skip


def openapi_subset(schema: Any) -> bool:
    """Whether a JSON Schema says nothing outside Gemini's ``Schema`` (see :data:`SCHEMA_FIELDS`;
    one ``type``, not a list). A schema that does (Claude Code's tools hold ``const``,
    ``exclusiveMinimum`` and ``propertyNames``) goes as ``parametersJsonSchema``, which takes JSON
    Schema as it is."""
    if not isinstance(schema, dict):
        return isinstance(schema, bool)  # (additionalProperties: false)
    if not SCHEMA_FIELDS.issuperset(schema) or not isinstance(schema.get("type", ""), str):
        return False
    properties = schema.get("properties", {})
    if not isinstance(properties, dict) or not all(openapi_subset(p) for p in properties.values()):
        return False
    inner = [schema[k] for k in ("items", "additionalProperties") if k in schema]
    variants = schema.get("anyOf")
    if isinstance(variants, list):
        inner += variants
    return all(openapi_subset(s) for s in inner)


def _declaration(tool: dict[str, Any]) -> dict[str, Any]:
    """The declaration a Gemini client sent (kept by ``parse_request`` when the canonical tool does
    not say it whole: Gemini's own schema, ``parametersJsonSchema``, ``behavior``), else
    :func:`declaration`."""
    sent = _meta(tool).get("declaration")
    return sent if isinstance(sent, dict) and sent.get("name") == tool["name"] else declaration(tool)


def tool_config(choice: Any) -> dict[str, Any] | None:
    """``tool_choice`` → ``toolConfig``: auto → AUTO, none → NONE, required → ANY, ``{"name": n}`` →
    ANY with ``allowedFunctionNames: [n]``."""
    if choice is None:
        return None
    if isinstance(choice, str) and choice in TOOL_CHOICE_MODES:
        return {"functionCallingConfig": {"mode": TOOL_CHOICE_MODES[choice]}}
    if isinstance(choice, dict) and isinstance(choice.get("name"), str) and choice["name"]:
        return {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [choice["name"]]}}
    raise UsageError(
        f'gemini: the tool_choice option must be "auto", "none", "required" or {{"name": ...}}, not {choice!r}'
    )


def response_format(value: Any, drops: RequestDrops) -> dict[str, Any]:
    """``response_format`` → ``generationConfig`` fields: ``json_schema`` → ``responseMimeType:
    application/json`` and ``responseJsonSchema`` (its ``name`` and ``strict`` have no Gemini field:
    Gemini always holds to the schema); ``json_object`` → ``application/json``; ``text`` → nothing."""
    kind = value.get("type") if isinstance(value, dict) else None
    if kind == "json_schema":
        schema = value.get("schema")
        if not isinstance(schema, (dict, bool)):
            raise UsageError("gemini: the response_format option's schema must be a JSON Schema object")
        return {"responseMimeType": "application/json", "responseJsonSchema": schema}
    if kind == "json_object":
        return {"responseMimeType": "application/json"}
    if kind != "text":
        drops.add(f"response_format {kind if isinstance(kind, str) else value!r}")
    return {}


def thinking_config(options: dict[str, Any], model: str | None, drops: RequestDrops) -> dict[str, Any] | None:
    """``reasoning_budget`` / ``reasoning_effort`` → ``thinkingConfig``.

    A budget is ``thinkingBudget`` as it is (0 turns thinking off) and wins over an effort (Gemini
    refuses a level and a budget together). An effort is ``thinkingLevel`` from Gemini 3 on
    (:data:`EFFORT_LEVELS`), else ``thinkingBudget`` (:data:`EFFORT_BUDGETS`). Thinking asked for
    (not off) also asks for the thoughts (``includeThoughts``), which other dialects show."""
    budget, effort = options.get("reasoning_budget"), options.get("reasoning_effort")
    config: dict[str, Any]
    if budget is not None:
        if isinstance(budget, bool) or not isinstance(budget, int):
            raise UsageError(f"gemini: the reasoning_budget option must be an integer, not {budget!r}")
        config = {"thinkingBudget": budget}
        on = budget != 0
    elif effort is None:
        return None
    elif type(effort) is not str or effort not in EFFORT_BUDGETS:
        drops.add(f"reasoning_effort {effort!r}")
        return None
    else:
        on = effort != "none"
        if gemini_version(model) >= 3:
            config = {"thinkingLevel": EFFORT_LEVELS[effort]}
        else:
            config = {"thinkingBudget": EFFORT_BUDGETS[effort]}
    if on:
        config["includeThoughts"] = True
    return config


def restore_kept(body: dict[str, Any], kept: Any) -> None:
    """Merge what ``parse_request`` kept of a Gemini client's request
    (``provider_metadata["gemini"]["body"]``: a partial body) into the built one: its ``tools``
    (Gemini's own) are added, its ``generationConfig`` fields merged (a ``responseSchema`` replaces
    the built ``responseJsonSchema``, a ``thinkingBudget`` or ``thinkingLevel`` the built one, an
    ``includeThoughts`` of null takes the built one out), any other field set as it was sent."""
    if not isinstance(kept, dict):
        return
    for key, value in kept.items():
        if key == "tools" and isinstance(value, list):
            body["tools"] = [*body.get("tools", ()), *value]
        elif key == "generationConfig" and isinstance(value, dict):
            config = body.setdefault("generationConfig", {})
            if "responseSchema" in value:
                config.pop("responseJsonSchema", None)
            thinking = value.get("thinkingConfig")
            if isinstance(thinking, dict):
                built = config.get("thinkingConfig")
                built = dict(built) if isinstance(built, dict) else {}
                if "thinkingBudget" in thinking or "thinkingLevel" in thinking:
                    built = {k: v for k, v in built.items() if k not in ("thinkingBudget", "thinkingLevel")}
                merged = {k: v for k, v in {**built, **thinking}.items() if v is not None}
                value = {**value, "thinkingConfig": merged}
            config.update(value)
        else:
            body[key] = value


#: the thought signature Gemini documents for function calls it did not sign itself (another
#: model's, or written by hand): it skips the check instead of refusing the request
SKIP_SIGNATURE = "skip_thought_signature_validator"

_GEMINI_VERSION = re.compile(r"(?:^|/)gemini-(\d+)")


def gemini_version(model: str | None) -> int:
    """The major version a model's name says (``gemini-3-flash`` → 3), 0 when it says none."""
    match = _GEMINI_VERSION.search(model or "")
    return int(match.group(1)) if match else 0


def signs_function_calls(model: str | None) -> bool:
    """Whether the model checks the signatures of the current turn's function calls (Gemini 3 on)."""
    return gemini_version(model) >= 3


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


#: the canonical hosted tools Gemini has
_HOSTED = frozenset({WEB_SEARCH, CODE_EXECUTION, IMAGE_GENERATION})


def takes_search_beside_functions(model: str | None) -> bool:
    """Whether the model takes ``googleSearch`` beside function declarations: Gemini 3 does (with
    ``toolConfig.includeServerSideToolInvocations``), Gemini 1 and 2 refuse the request."""
    name = (model or "").rpartition("/")[2]
    return not name.startswith(("gemini-1", "gemini-2"))


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
    functions, hosted = web_search.split_tools(conversation.get("tools"), drops, _HOSTED)
    if functions:
        tools.append({"functionDeclarations": [_declaration(t) for t in functions]})
    beside = False  # a search the model runs beside function calls (toolConfig says so)
    images = any(t["kind"] == IMAGE_GENERATION and not web_search.own(t, NAME) for t in hosted)
    hosted = [t for t in hosted if t["kind"] != IMAGE_GENERATION]  # (a Gemini client's: its own config, kept)
    for search in hosted:  # the web search, the code execution
        field = "codeExecution" if search["kind"] == CODE_EXECUTION else "googleSearch"
        sent = (web_search.own(search, NAME) or {}).get(field)
        if isinstance(sent, dict):  # a Gemini client's own, as it sent it
            tools.append({field: sent})
        elif functions and not takes_search_beside_functions(model):
            drops.add(
                f"the {search['kind']} tool beside function declarations (Gemini 1 and 2 models take one or the other)"
            )
        else:
            tools.append({field: {}})
            web_search.unsent(search, (), drops)
            beside = bool(functions)
    options = conversation.get("options") or {}
    config: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    if options.get("response_format") is not None:
        config.update(response_format(options["response_format"], drops))
    thinking = thinking_config(options, model, drops)
    if thinking:
        config["thinkingConfig"] = thinking
    if images:  # another dialect's image generation: images in the answer, as Gemini's image models give
        config["responseModalities"] = ["TEXT", "IMAGE"]
    choice = None
    hosted_choice = web_search.names_hosted(options.get("tool_choice"), conversation.get("tools"))
    if hosted_choice is not None:
        if hosted_choice == WEB_SEARCH:
            drops.add("a tool_choice naming the web search (Gemini cannot force a search)")
        else:
            drops.add("a tool_choice naming code execution (Gemini cannot force it)")
    else:
        choice = tool_config(options.get("tool_choice"))
    if choice:
        extra["toolConfig"] = choice
    if beside:
        extra["toolConfig"] = {**extra.get("toolConfig", {}), "includeServerSideToolInvocations": True}
    if options.get("parallel_tool_calls") is False:
        drops.add("parallel_tool_calls false (Gemini has no switch for it)")
    for key, value in options.items():
        if key in CANONICAL_OPTIONS:
            continue
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
    pm = conversation.get("provider_metadata")
    if isinstance(pm, dict) and isinstance(pm.get(NAME), dict):
        restore_kept(body, pm[NAME].get("body"))
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
