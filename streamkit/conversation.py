"""Canonical conversations: what ``fetch`` sends, ``render -f conversation`` builds and each
dialect's ``parse_request`` makes of a client's native request (``serve --upstream``).

A conversation is one JSON object::

    {
      "model": "gpt-4o-mini",
      "system": "You are terse.",
      "messages": [
        {"role": "system", "content": [{"type": "text", "text": "Answer in French."}],
         "developer": true},
        {"role": "user", "content": "What's the weather in Paris?"},
        {"role": "assistant", "content": [            # parts as in a `message` event
          {"type": "tool-call", "tool_call_id": "call_1", "tool_name": "get_weather",
           "arguments": "{\\"city\\": \\"Paris\\"}", "input": {"city": "Paris"}}]},
        {"role": "tool", "tool_call_id": "call_1", "tool_name": "get_weather", "output": "18°C"}
      ],
      "tools": [{"name": "get_weather", "description": "...", "parameters": {...}}],
      "options": {"temperature": 0.2, "max_tokens": 200},
      "provider_metadata": {"openai-chat": {...}},
      "state": {"openai-responses": {"previous_response_id": "resp_..."}}
    }

The fields:

* ``model``; ``system``: the system prompt. Messages of role ``system`` may also stand anywhere
  in ``messages``; their texts and ``system`` are joined (:func:`system_text`) by dialects that
  have one system prompt. ``"developer": true`` marks an OpenAI ``developer`` message (a
  system message as far as other dialects are concerned).
* ``messages``:

  - ``user``: content is a string or a list of parts: ``text``, and ``file`` with
    ``media_type`` and either ``data`` (base64) or ``url`` (and ``filename``, optional).
  - ``assistant``: the ordered parts of an accumulated ``message``: ``text`` (``refusal: true``
    for a refusal), ``reasoning`` (its ``provider_metadata`` keeps signatures, encrypted
    content and ids, as the dialect's normalizer put them), ``tool-call`` (``tool_call_id``,
    ``tool_name``, ``arguments`` as JSON text, ``input`` parsed, ``provider_metadata``
    optional), and ``tool-call`` / ``tool-result`` parts with ``provider_executed: true`` for
    tools the provider ran itself, and ``tool-approval-request`` parts (``tool_call_id``,
    ``tool_name``, ``arguments``, ``input``) where the provider asks before it runs one (an
    OpenAI Responses MCP approval request).
  - ``tool``: the result of one call: ``tool_call_id``, ``tool_name`` (optional), ``output`` (a
    string or any JSON value), ``is_error`` (optional), and ``content`` (optional) where the
    result holds more than text (an image a tool read: Codex's ``view_image``, Claude Code's
    ``Read`` of a picture): its parts, ``text`` and ``file`` as in a user turn, ``output`` then
    being its text. Each dialect sends the files where it can: Anthropic, Gemini and Responses
    inside the result, Ollama as the tool message's ``images``, Chat Completions (whose tool
    messages take text only) in a user turn right after the results; the Assistants API's
    outputs are text, and its files are left out with a warning. Or the answer to an approval
    request: ``tool_call_id`` (the request's), ``approved`` (true or false) and ``reason``
    (optional), and no ``output``. Dialects that cannot send such an answer leave it out, with a
    warning.

  A message, a part or a tool may carry ``provider_metadata`` keyed by dialect: what only that
  dialect can use (an image's ``detail``, a participant ``name``), restored by its builder.
* ``tools``: ``name``, ``description`` (optional), ``parameters`` (JSON Schema, optional).
  ``"kind": "custom"`` is a freeform tool (a Responses ``custom`` tool such as Codex's
  ``apply_patch``) whose input is ONE string, with its grammar in ``format`` (optional); it
  travels to dialects that only have functions as a function taking
  :data:`CUSTOM_TOOL_PARAMETERS` (see :func:`tool_parameters`), and its calls' ``input`` is then
  ``{"input": "<the string>"}``.
  ``"kind": "web_search"`` is the provider's own web search (named ``web_search``): the provider
  runs it, and its calls come back as provider-executed tool calls. Its optional settings:
  ``max_uses`` (int), ``allowed_domains`` and ``blocked_domains`` (lists of strings),
  ``user_location`` (``city``, ``region``, ``country``, ``timezone``: strings) and
  ``context_size`` (``"low"``, ``"medium"``, ``"high"``). Each builder sends it as its dialect's
  own (see :mod:`streamkit.dialects.web_search`), or leaves it out with a warning.
  ``"kind": "code_execution"`` (named ``code_execution``, no settings) is the provider's own
  Python sandbox: Anthropic's ``code_execution_20250522`` tool, a Responses ``code_interpreter``
  tool (in a container of its own), Gemini's ``codeExecution``; its calls come back as
  provider-executed ones too. ``"kind": "image_generation"`` (named ``image_generation``, no
  settings) asks for images in the answer: a Responses ``image_generation`` tool, Gemini's
  ``responseModalities`` with ``IMAGE`` (an image model); the images come back as a Responses
  ``image_generation_call`` or Gemini ``inlineData`` parts. A builder leaves out, with a warning,
  any tool of a kind it does not know.
* ``options``, by their canonical names, which every request builder maps to its dialect's own
  parameters (or drops with one warning where the dialect has none):

  ===========================  ==================================================================
  ``max_tokens``               int
  ``temperature``, ``top_p``   float
  ``top_k``, ``seed``          int
  ``stop``                     a list of strings (a string is one stop sequence)
  ``frequency_penalty``        float
  ``presence_penalty``         float
  ``tool_choice``              ``"auto"``, ``"none"``, ``"required"`` or ``{"name": str}``
  ``parallel_tool_calls``      bool
  ``response_format``          ``{"type": "json_schema", "name"?, "schema", "strict"?}`` or
                               ``{"type": "json_object"}``
  ``reasoning_effort``         ``"minimal"``, ``"low"``, ``"medium"``, ``"high"``
  ``reasoning_budget``         int: thinking tokens (Anthropic ``budget_tokens``, Gemini
                               ``thinkingBudget``)
  ===========================  ==================================================================

  Any other key is a native option of the target dialect, passed through as it is.
* ``provider_metadata``: ``{"<dialect>": {...}}``: the native-only fields of a client's request
  (hosted tools, ``include``, ``store``, cache hints, ...) that only an upstream of the SAME
  dialect can use; that dialect's builder restores them, the others ignore them.
* ``state``: what a dialect needs to continue a conversation it keeps on the server (a response
  id, a thread and run), keyed by dialect.

Plain dicts, checked here with messages that name the field, so a mistake is a usage error and
never a traceback; no pydantic on this path.
"""

from __future__ import annotations

from typing import Any

from .canonical import fields_problem, part_problem
from .errors import UsageError

ROLES = ("user", "assistant", "tool", "system")


def _fail(where: str, message: str) -> UsageError:
    return UsageError(f"{where}: {message}")


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(
        p.get("text") or "" for p in content or () if isinstance(p, dict) and p.get("type") == "text"
    )


def check(conversation: Any, where: str = "conversation") -> dict[str, Any]:
    """Validate a conversation; returns it with user content parts normalized to lists."""
    if not isinstance(conversation, dict):
        raise _fail(where, f"expected a JSON object, got {type(conversation).__name__}")
    messages = conversation.get("messages")
    if not isinstance(messages, list):
        raise _fail(where, "'messages' must be a list")
    out = dict(conversation)
    checked = []
    for i, message in enumerate(messages):
        at = f"{where}: messages[{i}]"
        if not isinstance(message, dict):
            raise UsageError(f"{at}: expected an object")
        role = message.get("role")
        if role not in ROLES:
            raise UsageError(f"{at}: 'role' must be one of {', '.join(ROLES)}, got {role!r}")
        if role == "tool":
            if not isinstance(message.get("tool_call_id"), str):
                raise UsageError(f"{at}: a tool message needs a 'tool_call_id'")
            if not isinstance(message.get("approved", False), bool):
                raise UsageError(f"{at}: 'approved' must be true or false")
            problem = fields_problem(_TOOL_MESSAGE, message)
            if problem:
                raise UsageError(f"{at}: {problem}")
            _check_metadata(message, at)
            if "content" in message:
                _check_parts(message["content"], at, ("text", "file"))
            checked.append(message)
            continue
        if role == "system" and not isinstance(message.get("developer", False), bool):
            raise UsageError(f"{at}: 'developer' must be true or false")
        _check_metadata(message, at)
        content = message.get("content")
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        if not isinstance(content, list):
            raise UsageError(f"{at}: 'content' must be a string or a list of parts")
        _check_parts(content, at)
        checked.append({**message, "content": content})
    out["messages"] = checked
    tools = conversation.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            raise _fail(where, "'tools' must be a list")
        for i, tool in enumerate(tools):
            if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
                raise _fail(where, f"tools[{i}] needs a 'name'")
            if not isinstance(tool.get("kind", "function"), str):
                raise _fail(where, f"tools[{i}]: 'kind' must be a string (\"custom\" for a freeform tool)")
            if not isinstance(tool.get("format", {}), dict):
                raise _fail(where, f"tools[{i}]: 'format' must be an object")
            if tool.get("kind") == WEB_SEARCH:
                problem = web_search_problem(tool)
                if problem:
                    raise _fail(where, f"tools[{i}]: {problem}")
            _check_metadata(tool, f"{where}: tools[{i}]")
    options = conversation.get("options")
    if options is not None and not isinstance(options, dict):
        raise _fail(where, "'options' must be an object")
    problem = fields_problem(_TOP, conversation)
    if problem:
        raise _fail(where, problem)
    _check_metadata(conversation, where)
    state = conversation.get("state")
    if state is not None and type(state) is not dict:
        raise _fail(where, "'state' must be an object keyed by dialect")
    for name, value in (state or {}).items():
        if type(value) is not dict:
            raise _fail(where, f"state.{name} must be an object")
    return out


#: the fields of a conversation, a tool message and a user's file part that the builders read as
#: text (or a flag), beside those of the parts a message event has (canonical.PART_FIELDS)
_TEXT, _FLAG = (str, type(None)), (bool, type(None))
_TOP = (("model", _TEXT, False), ("system", _TEXT, False))
_TOOL_MESSAGE = (("tool_name", _TEXT, False), ("is_error", _FLAG, False), ("reason", _TEXT, False))
_FILE = (("url", _TEXT, False), ("filename", _TEXT, False))


#: the kind of the canonical tool that is the provider's own web search
WEB_SEARCH = "web_search"
#: the kind of the canonical tool that is the provider's own code execution (a Python sandbox)
CODE_EXECUTION = "code_execution"
#: the kind of the canonical tool that asks for generated images in the answer
IMAGE_GENERATION = "image_generation"
#: the places of a web search's ``user_location``
LOCATION_FIELDS = ("city", "region", "country", "timezone")
CONTEXT_SIZES = ("low", "medium", "high")


def web_search_problem(tool: dict[str, Any]) -> str | None:
    """What is wrong with a web search tool's settings (see the module's docstring), if anything."""
    uses = tool.get("max_uses")
    if uses is not None and (type(uses) is not int or uses < 1):
        return "'max_uses' must be a positive integer"
    for key in ("allowed_domains", "blocked_domains"):
        domains = tool.get(key)
        if domains is not None and not (
            isinstance(domains, list) and all(isinstance(d, str) for d in domains)
        ):
            return f"{key!r} must be a list of strings"
    place = tool.get("user_location")
    if place is not None:
        if not isinstance(place, dict):
            return "'user_location' must be an object"
        for key, value in place.items():
            if key not in LOCATION_FIELDS or not isinstance(value, str):
                return f"'user_location' holds {', '.join(LOCATION_FIELDS)}, strings ({key!r} is not one)"
    if tool.get("context_size", "medium") not in CONTEXT_SIZES:
        return f"'context_size' must be one of {', '.join(CONTEXT_SIZES)}"
    return None


def _check_parts(content: Any, at: str, kinds: tuple[str, ...] | None = None) -> None:
    """A message's content parts (of ``kinds`` only, when given: a tool result's text and files)."""
    if not isinstance(content, list):
        raise UsageError(f"{at}: 'content' must be a list of parts")
    for j, part in enumerate(content):
        if not isinstance(part, dict) or not isinstance(part.get("type"), str):
            raise UsageError(f"{at}.content[{j}]: expected a part object with a 'type'")
        if kinds is not None and part["type"] not in kinds:
            raise UsageError(
                f"{at}.content[{j}]: a tool result's parts are {' or '.join(kinds)}, not {part['type']!r}"
            )
        if part["type"] == "tool-call" and (not part.get("tool_call_id") or not part.get("tool_name")):
            raise UsageError(f"{at}.content[{j}]: a tool-call part needs 'tool_call_id' and 'tool_name'")
        problem = part_problem(part) or _part_extras(part)
        if problem:
            raise UsageError(f"{at}.content[{j}]: {problem}")


def _part_extras(part: dict[str, Any]) -> str | None:
    return fields_problem(_FILE, part) if part["type"] == "file" else None


def _check_metadata(item: dict[str, Any], at: str) -> None:
    """``provider_metadata``, where present, is an object keyed by dialect, of objects (as an
    event's: each dialect's builder reads its own)."""
    meta = item.get("provider_metadata")
    if meta is None:
        return
    if not isinstance(meta, dict) or not all(isinstance(v, dict) for v in meta.values()):
        raise UsageError(f"{at}: 'provider_metadata' must be an object of objects keyed by dialect")


def from_prompt(prompt: str, *, model: str | None = None, system: str | None = None,
                tools: list[dict[str, Any]] | None = None, options: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    """The conversation of one user prompt."""
    conversation: dict[str, Any] = {
        "messages": [{"role": "user", "content": [{"type": "text", "text": prompt}]}]
    }
    if model:
        conversation["model"] = model
    if system:
        conversation["system"] = system
    if tools:
        conversation["tools"] = tools
    if options:
        conversation["options"] = options
    return conversation


def is_approval(message: dict[str, Any]) -> bool:
    """Whether a ``tool`` message answers an approval request (rather than carrying a result)."""
    return message.get("approved") is not None


def system_text(conversation: dict[str, Any]) -> str | None:
    """The system prompt: the ``system`` field and any ``system`` role messages, joined."""
    parts = [conversation["system"]] if conversation.get("system") else []
    parts += [
        _text_of(m.get("content")) for m in conversation.get("messages", ()) if m.get("role") == "system"
    ]
    return "\n\n".join(p for p in parts if p) or None


def text_of(content: Any) -> str:
    """The text of a message's content (a string or parts)."""
    return _text_of(content)


#: The parameters a freeform tool (``"kind": "custom"``: a Responses ``custom`` tool such as Codex's
#: ``apply_patch``, whose input is one string) is declared with to a dialect that has only
#: functions; its calls' input is then ``{"input": "<the string>"}``.
CUSTOM_TOOL_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {"input": {"type": "string", "description": "The tool's input, as free text."}},
    "required": ["input"],
    "additionalProperties": False,
}


def tool_parameters(tool: dict[str, Any]) -> dict[str, Any]:
    """The JSON Schema a tool is declared with as a function: its ``parameters``, the freeform
    schema for a custom tool, or an empty object schema."""
    if tool.get("kind") == "custom":
        return CUSTOM_TOOL_PARAMETERS
    parameters = tool.get("parameters")
    return parameters if isinstance(parameters, dict) and parameters else {"type": "object", "properties": {}}
