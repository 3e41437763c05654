"""Canonical conversations → Ollama ``/api/chat`` request bodies.

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
  id; the format has no error flag: a failed tool's text says so). Provider-executed tools and
  files of assistant turns cannot be sent (a warning).
* ``tools``: ``{"type": "function", "function": {name, description, parameters}}``.
* ``options``: ``max_tokens`` → ``num_predict``, ``temperature``, ``top_p``, ``stop`` (a string
  becomes a list), ``seed``, and every other Ollama model option (``num_ctx``, ``top_k``,
  ``min_p``, ``repeat_penalty``, ...); an ``options`` option is merged in. Any other option
  (``think``, ``format``, ``keep_alive``, ``logprobs``, ...) goes at the top level.
* ``stream: true``.

A native body (``--body``) is sent as it is: to ``/api/generate`` when it has a ``prompt`` and
no ``messages``, else to ``/api/chat``. ``serve`` answers on ``/api/chat`` (chat lines) and
``/api/generate`` (generate lines), a request with ``stream: false`` (the official client's
default) with one line. Ollama keeps no state: every request carries the whole conversation.
"""

from __future__ import annotations

from typing import Any

from ...errors import UsageError
from ..gemini import RequestDrops, object_input
from .wire import NAME, _dumps

#: canonical option names → Ollama model options
OPTION_NAMES = {
    "max_tokens": "num_predict",
    "temperature": "temperature",
    "top_p": "top_p",
    "stop": "stop",
    "seed": "seed",
}

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


def _assistant_message(
    content: list[dict[str, Any]], drops: RequestDrops, calls: dict[str, tuple[str, str | None]]
) -> dict[str, Any]:
    text: list[str] = []
    thinking: list[str] = []
    tool_calls: list[dict[str, Any]] = []
    for part in content:
        kind = part.get("type")
        if kind == "text":
            text.append(part.get("text") or "")
        elif kind == "reasoning":
            thinking.append(part.get("text") or "")
        elif kind == "tool-call" and not part.get("provider_executed"):
            call: dict[str, Any] = {
                "function": {"name": part["tool_name"], "arguments": object_input(part, drops)}
            }
            own_id = _own_id(part)
            if own_id:
                call = {"id": own_id, **call}
            calls[part["tool_call_id"]] = (part["tool_name"], own_id)
            tool_calls.append(call)
        elif kind in ("tool-call", "tool-result"):
            drops.add("provider-executed tools")
        elif kind == "file":
            drops.add("files of assistant turns")
    out: dict[str, Any] = {"role": "assistant", "content": "".join(text)}
    if "".join(thinking):
        out["thinking"] = "".join(thinking)
    if tool_calls:
        out["tool_calls"] = tool_calls
    return out


def ollama_messages(conversation: dict[str, Any], drops: RequestDrops) -> list[dict[str, Any]]:
    """Canonical messages → Ollama ``messages``: the system prompt first, user turns with their
    images, assistant turns with ``content``, ``thinking`` and ``tool_calls``, and one ``tool``
    message per result (``tool_name``; the call's id as ``tool_call_id`` when Ollama sent one)."""
    from ...conversation import system_text

    messages: list[dict[str, Any]] = []
    system = system_text(conversation)
    if system:
        messages.append({"role": "system", "content": system})
    calls: dict[str, tuple[str, str | None]] = {}  # tool call id -> (tool name, Ollama's own id)
    for message in conversation.get("messages", ()):
        role = message["role"]
        if role == "user":
            messages.append(_user_message(message["content"], drops))
        elif role == "assistant":
            messages.append(_assistant_message(message["content"], drops, calls))
        elif role == "tool":
            name, own_id = calls.get(message["tool_call_id"], (None, None))
            out: dict[str, Any] = {"role": "tool", "content": _output_text(message.get("output"))}
            name = message.get("tool_name") or name
            if name:
                out["tool_name"] = name
            if own_id:
                out["tool_call_id"] = own_id
            messages.append(out)
    return messages


def ollama_request_body(conversation: dict[str, Any], model: str | None) -> dict[str, Any]:
    """A canonical conversation → the ``/api/chat`` body."""
    model = model or conversation.get("model")
    if not model:
        raise UsageError(
            'no model: pass -m MODEL (llama3.2), put "model" in the conversation, or set STREAMKIT_MODEL'
        )
    drops = RequestDrops(NAME)
    body: dict[str, Any] = {"model": model, "messages": ollama_messages(conversation, drops)}
    if conversation.get("tools"):
        body["tools"] = [
            {"type": "function", "function": {"name": t["name"], "description": t.get("description", ""),
                                              "parameters": t.get("parameters") or {"type": "object", "properties": {}}}}
            for t in conversation["tools"]
        ]  # fmt: skip
    options: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in (conversation.get("options") or {}).items():
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
