"""Canonical conversations → Ollama ``/api/chat`` request bodies (:mod:`.parse` goes the other way).

Requests (``fetch``, ``agent``): ``POST {base}/api/chat`` (base ``--base-url``, ``OLLAMA_HOST``,
which may be ``host:port`` without a scheme, default ``http://localhost:11434``). No key is needed;
one that is set (``STREAMKIT_API_KEY``, ``OLLAMA_API_KEY`` as the official client reads it: Ollama's
cloud, or a proxy) goes in ``Authorization: Bearer``. The body:

* ``messages``: the system prompt first; user turns (``content`` the text, ``images`` the base64
  data of image parts: an image by URL or another kind of file is a usage error); assistant turns
  with ``content``, ``thinking`` (the reasoning text) and ``tool_calls`` (``{"function": {"name",
  "arguments": <object>}}``, with the call's ``id`` only when Ollama itself sent one; arguments
  that are not an object are sent as ``{}``, with a warning); one ``{"role": "tool", "content":
  <text>, "tool_name": <name>}`` per result (``tool_call_id`` too when the call had Ollama's own
  id; the format has no error flag: a failed tool's text says so; the inline images a result
  holds as its ``images``, other files left out with a warning). Images of assistant turns go
  as their ``images``; provider-executed tools and other files of assistant turns cannot be sent
  (a warning).
* ``tools``: ``{"type": "function", "function": {name, description, parameters}}``; a ``custom``
  (freeform) tool goes as a function taking one string, ``{"input": <the string>}`` (its grammar
  ``format`` cannot be sent: a warning), and its calls' string input as ``{"input": ...}``.
* ``options``: ``max_tokens`` → ``num_predict``, ``temperature``, ``top_p``, ``top_k``, ``stop``
  (a string becomes a list), ``seed``, ``frequency_penalty``, ``presence_penalty``, and every
  other Ollama model option (``num_ctx``, ``min_p``, ``repeat_penalty``, ...); an ``options``
  option is merged in. Any other option (``think``, ``format``, ``keep_alive``, ``logprobs``, ...)
  goes at the top level. The canonical options Ollama has no parameter of its own for:

  ===================================  ==============================================================
  canonical                            Ollama
  ===================================  ==============================================================
  ``response_format`` json_schema      ``format``: the schema (``name`` and ``strict`` have no place:
                                       Ollama always constrains the output to the schema)
  ``response_format`` json_object      ``format: "json"``
  ``reasoning_effort``                 ``think``: minimal and low → ``"low"``, medium → ``true``
                                       (Ollama's own meaning of true), high (and xhigh) →
                                       ``"high"``, none → ``false``
  ``reasoning_budget`` (tokens)        ``think`` (when no effort is given): 0 → ``false``, under 4096
                                       → ``"low"``, under 16384 (or negative: dynamic) → ``true``,
                                       more → ``"high"``
  ``tool_choice``                      auto: nothing (Ollama's only behaviour); none: the tools are
                                       not sent; required or a named tool: dropped, with a warning
  ``parallel_tool_calls``              true: nothing (Ollama's behaviour); false: dropped, warned
  ===================================  ==============================================================

* ``provider_metadata["ollama"]`` of the conversation (what :mod:`.parse` keeps of an Ollama
  client's request that only Ollama can use) is restored: ``options`` (model options such as
  ``num_ctx``) under the body's ``options``, ``body`` (``keep_alive``, ``logprobs``, fields
  streamkit does not know) at the top level, and ``generate`` (``suffix``, ``raw``,
  ``template``, ``context``): then the request goes to ``/api/generate`` as a ``prompt`` (with
  ``system`` and ``images``) when the conversation is still one user turn, else those fields are
  dropped with a warning. The canonical options win over what the metadata holds.
* ``stream: true``.

A native body (``--body``) is sent as it is: to ``/api/generate`` when it has a ``prompt`` and
no ``messages``, else to ``/api/chat``. ``serve`` answers on ``/api/chat`` (chat lines) and
``/api/generate`` (generate lines), a request with ``stream: false`` (the official client's
default) with one line. Ollama keeps no state: every request carries the whole conversation.
"""

from __future__ import annotations

from typing import Any

from ...canonical import parse_arguments
from ...conversation import is_approval, tool_parameters
from ...errors import UsageError
from ..requests import RequestDrops, object_input, result_files
from ..web_search import split_tools
from .wire import NAME, _dumps

#: canonical option names → Ollama model options
OPTION_NAMES = {
    "max_tokens": "num_predict",
    "temperature": "temperature",
    "top_p": "top_p",
    "top_k": "top_k",
    "stop": "stop",
    "seed": "seed",
    "frequency_penalty": "frequency_penalty",
    "presence_penalty": "presence_penalty",
}

#: the canonical options that are not model options: each has its own rule (the module's table)
SPECIAL_OPTIONS = frozenset(
    {"tool_choice", "parallel_tool_calls", "response_format", "reasoning_effort", "reasoning_budget"}
)

#: ``reasoning_effort`` → ``think`` (``true`` is Ollama's medium)
THINK_LEVELS: dict[str, bool | str] = {
    "none": False, "minimal": "low", "low": "low", "medium": True, "high": "high", "xhigh": "high",
}  # fmt: skip

#: the ``/api/generate`` fields a conversation's ``provider_metadata["ollama"]["generate"]`` holds
GENERATE_FIELDS = ("suffix", "raw", "template", "context")

#: Ollama's model options (the body's ``options`` object); any other option goes at the top level
#: of the body (``think``, ``format``, ``keep_alive``, ``logprobs``, ``top_logprobs``, ...)
MODEL_OPTIONS = frozenset({
    "numa", "num_ctx", "num_batch", "num_gpu", "main_gpu", "low_vram", "f16_kv", "logits_all",
    "vocab_only", "use_mmap", "use_mlock", "embedding_only", "num_thread", "num_keep", "seed",
    "num_predict", "top_k", "top_p", "min_p", "tfs_z", "typical_p", "repeat_last_n", "temperature",
    "repeat_penalty", "presence_penalty", "frequency_penalty", "mirostat", "mirostat_tau",
    "mirostat_eta", "penalize_newline", "stop",
})  # fmt: skip


def _output_text(output: Any) -> str:
    if isinstance(output, str):
        return output
    return "" if output is None else _dumps(output)


def _own_id(part: dict[str, Any]) -> str | None:
    """The call's id when Ollama itself sent it (not one normalize made up, nor another provider's)."""
    meta = (part.get("provider_metadata") or {}).get(NAME)
    if isinstance(meta, dict) and meta and not meta.get("generated_id"):
        return str(part["tool_call_id"])
    return None


def _image(part: dict[str, Any]) -> str | None:
    """The base64 data of an inline image part, else None."""
    if str(part.get("media_type") or "").startswith("image/") and part.get("data") and not part.get("url"):
        return str(part["data"])
    return None


def _user_message(content: list[dict[str, Any]], drops: RequestDrops) -> dict[str, Any]:
    text: list[str] = []
    images: list[str] = []
    for part in content:
        kind = part.get("type")
        if kind == "text":
            text.append(part.get("text") or "")
        elif kind == "file":
            media = str(part.get("media_type") or "")
            if not media.startswith("image/"):
                raise UsageError(f"ollama cannot send a {media or 'file'} file: a message takes images only")
            if part.get("url") or not part.get("data"):
                raise UsageError("ollama takes images inline (base64 data), not by URL")
            images.append(part["data"])
        else:
            drops.add(f"{kind} parts in user turns")
    out: dict[str, Any] = {"role": "user", "content": "".join(text)}
    if images:
        out["images"] = images
    return out


def _call_arguments(part: dict[str, Any], custom: frozenset[str], drops: RequestDrops) -> dict[str, Any]:
    """A call's arguments as the object Ollama takes; a custom tool's string input as ``{"input": ...}``."""
    if part["tool_name"] in custom:
        value = part.get("input")
        if isinstance(value, str):
            return {"input": value}
        if not isinstance(value, dict) and isinstance(part.get("arguments"), str):
            parsed, _ = parse_arguments(part["arguments"])
            return parsed if isinstance(parsed, dict) else {"input": part["arguments"]}
    return object_input(part, drops)


def _assistant_message(
    content: list[dict[str, Any]],
    drops: RequestDrops,
    calls: dict[str, tuple[str, str | None]],
    custom: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    text: list[str] = []
    thinking: list[str] = []
    images: list[str] = []
    tool_calls: list[dict[str, Any]] = []
    for part in content:
        kind = part.get("type")
        if kind == "text":
            text.append(part.get("text") or "")
        elif kind == "reasoning":
            thinking.append(part.get("text") or "")
        elif kind == "tool-call" and not part.get("provider_executed"):
            call: dict[str, Any] = {
                "function": {"name": part["tool_name"], "arguments": _call_arguments(part, custom, drops)}
            }
            own_id = _own_id(part)
            if own_id:
                call = {"id": own_id, **call}
            calls[part["tool_call_id"]] = (part["tool_name"], own_id)
            tool_calls.append(call)
        elif kind in ("tool-call", "tool-result"):
            drops.add("provider-executed tools")
        elif kind == "tool-approval-request":
            drops.add("the provider's tool approval requests")
        elif kind == "file":
            image = _image(part)
            if image is None:
                drops.add("files of assistant turns other than inline images")
            else:
                images.append(image)
    out: dict[str, Any] = {"role": "assistant", "content": "".join(text)}
    if "".join(thinking):
        out["thinking"] = "".join(thinking)
    if images:
        out["images"] = images
    if tool_calls:
        out["tool_calls"] = tool_calls
    return out


def _custom_tools(conversation: dict[str, Any]) -> frozenset[str]:
    return frozenset(
        t["name"]
        for t in conversation.get("tools") or ()
        if isinstance(t, dict) and t.get("kind") == "custom"
    )


def ollama_messages(conversation: dict[str, Any], drops: RequestDrops) -> list[dict[str, Any]]:
    """Canonical messages → Ollama ``messages``: the system prompt first, user turns with their
    images, assistant turns with ``content``, ``thinking``, ``images`` and ``tool_calls``, and one
    ``tool`` message per result (``tool_name``; the call's id as ``tool_call_id`` when Ollama sent
    one)."""
    from ...conversation import system_text

    messages: list[dict[str, Any]] = []
    system = system_text(conversation)
    if system:
        messages.append({"role": "system", "content": system})
    custom = _custom_tools(conversation)
    calls: dict[str, tuple[str, str | None]] = {}  # tool call id -> (tool name, Ollama's own id)
    for message in conversation.get("messages", ()):
        role = message["role"]
        if role == "user":
            messages.append(_user_message(message["content"], drops))
        elif role == "assistant":
            messages.append(_assistant_message(message["content"], drops, calls, custom))
        elif role == "tool" and is_approval(message):
            drops.add("answers to tool approval requests")
        elif role == "tool":
            name, own_id = calls.get(message["tool_call_id"], (None, None))
            out: dict[str, Any] = {"role": "tool", "content": _output_text(message.get("output"))}
            images = [_image(f) for f in result_files(message)]
            if None in images:
                drops.add("files other than inline images in tool results")
            if any(images):
                out["images"] = [i for i in images if i]
            name = message.get("tool_name") or name
            if name:
                out["tool_name"] = name
            if own_id:
                out["tool_call_id"] = own_id
            messages.append(out)
    return messages


def _tools(conversation: dict[str, Any], drops: RequestDrops) -> list[dict[str, Any]]:
    tools = []
    functions, _ = split_tools(conversation.get("tools"), drops)
    for t in functions:
        if t.get("kind") == "custom" and (t.get("format") or {}).get("type", "text") != "text":
            drops.add("the grammars of custom tools")
        function = {
            "name": t["name"],
            "description": t.get("description", ""),
            "parameters": tool_parameters(t),
        }
        tools.append({"type": "function", "function": function})
    return tools


def _format(value: Any, drops: RequestDrops) -> Any:
    """``response_format`` → ``format`` (None: no format)."""
    kind = value.get("type") if isinstance(value, dict) else value
    if kind == "json_schema" and isinstance(value.get("schema"), dict):
        return value["schema"]
    if kind == "json_object":
        return "json"
    if kind not in (None, "text"):
        drops.add(f"the response format {kind!r}")
    return None


def _think(options: dict[str, Any], drops: RequestDrops) -> bool | str | None:
    """``reasoning_effort``, else ``reasoning_budget`` → ``think`` (None: not asked)."""
    effort = options.get("reasoning_effort")
    if effort is not None:
        level = THINK_LEVELS.get(effort) if isinstance(effort, str) else None
        if level is None:
            drops.add(f"the reasoning effort {effort!r}")
        return level
    budget = options.get("reasoning_budget")
    if budget is None:
        return None
    if not isinstance(budget, int) or isinstance(budget, bool):
        drops.add(f"the reasoning budget {budget!r}")
        return None
    if budget == 0:
        return False
    if budget < 0:
        return True  # a dynamic budget (Gemini's -1)
    if budget < 4096:
        return "low"
    return True if budget < 16384 else "high"


def _own_meta(conversation: dict[str, Any]) -> dict[str, Any]:
    """``provider_metadata["ollama"]`` of the conversation: what only an Ollama upstream can use."""
    pm = conversation.get("provider_metadata")
    meta = pm.get(NAME) if isinstance(pm, dict) else None
    return meta if isinstance(meta, dict) else {}


def _generate_body(conversation: dict[str, Any], generate: dict[str, Any]) -> dict[str, Any] | None:
    """The ``/api/generate`` body of a conversation that is still one user turn (text and inline
    images), with the generate fields of an Ollama client's request; else None."""
    from ...conversation import system_text

    if conversation.get("tools"):
        return None
    turns = [m for m in conversation.get("messages", ()) if m["role"] != "system"]
    if len(turns) > 1 or any(m["role"] != "user" for m in turns):
        return None
    text: list[str] = []
    images: list[str] = []
    for part in turns[0]["content"] if turns else ():
        image = _image(part) if part.get("type") == "file" else None
        if part.get("type") == "text":
            text.append(part.get("text") or "")
        elif image is None:
            return None
        else:
            images.append(image)
    body: dict[str, Any] = {"prompt": "".join(text)}
    system = system_text(conversation)
    if system:
        body["system"] = system
    if images:
        body["images"] = images
    body.update((k, generate[k]) for k in GENERATE_FIELDS if generate.get(k) is not None)
    return body


def ollama_request_body(conversation: dict[str, Any], model: str | None) -> dict[str, Any]:
    """A canonical conversation → the ``/api/chat`` body (or the ``/api/generate`` one, with a
    ``prompt``, for an Ollama client's generate request that goes to an Ollama upstream)."""
    model = model or conversation.get("model")
    if not model:
        raise UsageError(
            'no model: pass -m MODEL (llama3.2), put "model" in the conversation, or set STREAMKIT_MODEL'
        )
    drops = RequestDrops(NAME)
    meta = _own_meta(conversation)
    generate = meta.get("generate")
    prompt = _generate_body(conversation, generate) if isinstance(generate, dict) else None
    if isinstance(generate, dict) and prompt is None:
        for key in GENERATE_FIELDS:
            if generate.get(key) is not None:
                drops.add(f"the /api/generate field {key!r} in a chat request")
    body: dict[str, Any] = {"model": model}
    if prompt is not None:
        body.update(prompt)
    else:
        body["messages"] = ollama_messages(conversation, drops)
    given = conversation.get("options") or {}
    choice = given.get("tool_choice")  # none: the tools are left out; auto: Ollama's own behaviour
    if choice not in (None, "auto", "none"):
        drops.add("tool_choice required or a named tool (the model chooses)")
    if conversation.get("tools") and choice != "none":
        tools = _tools(conversation, drops)
        if tools:
            body["tools"] = tools
    if given.get("parallel_tool_calls") is False:
        drops.add("parallel_tool_calls false (the model may call several tools)")
    restored = meta.get("options")
    options: dict[str, Any] = dict(restored) if isinstance(restored, dict) else {}
    extra: dict[str, Any] = {}
    fields = meta.get("body")
    if isinstance(fields, dict):
        extra.update((k, v) for k, v in fields.items() if k not in ("model", "messages", "prompt", "stream"))
    response_format = _format(given.get("response_format"), drops)
    if response_format is not None:
        extra["format"] = response_format
    think = _think(given, drops)
    if think is not None:
        extra["think"] = think
    for key, value in given.items():
        if key in SPECIAL_OPTIONS:
            continue
        name = OPTION_NAMES.get(key, key)
        if name == "stop" and isinstance(value, str):
            value = [value]  # Ollama takes a list only
        if name in MODEL_OPTIONS:
            options[name] = value
        elif name == "options" and isinstance(value, dict):
            options.update(value)
        else:
            extra[key] = value
    if options:
        body["options"] = options
    body.update(extra)
    body["stream"] = True
    drops.warn()
    return body
