"""Conversations → OpenAI Responses API requests, and continuations.

Requests (``fetch``, ``agent``): ``POST {base}/responses`` (``OPENAI_BASE_URL``, default
https://api.openai.com/v1) with ``Authorization: Bearer`` (``OPENAI_API_KEY``), and the same request
for the WebSocket mode: ``{base with ws/wss}/responses``, the body sent as a ``response.create``
message without ``stream``, answered until ``response.completed``, ``.failed``, ``.incomplete`` or
``error``. The body: ``model``, ``instructions`` (the system prompt), ``input``, function ``tools``
(``strict: false``, the canonical declaration's meaning, unless the tool says otherwise),
``stream: true``; ``max_tokens`` → ``max_output_tokens``, other options (``temperature``,
``top_p``, ``reasoning``, ``include``, ``store``, ...) as they are. ``input``:

* user messages → ``message`` items of ``input_text``, ``input_image`` (a URL or a data URL) and
  ``input_file`` (``file_url``, or ``file_data`` and a ``filename``) parts;
* earlier assistant turns → their output items: ``message`` (``output_text``/``refusal`` parts,
  the item id and ``phase``), ``reasoning`` (id, summary or ``reasoning_text`` parts,
  ``encrypted_content``), ``function_call`` (``call_id``, ``name``, ``arguments``),
  ``custom_tool_call`` and ``apply_patch_call`` for the calls that were those. Provider-executed
  tools, sources and other dialects' reasoning are not sent; text from other dialects is a plain
  assistant message;
* tool results → ``function_call_output`` (``custom_tool_call_output``, or
  ``apply_patch_call_output`` with ``status: failed`` for an error) with ``call_id`` and ``output``.

Continuation: :meth:`OpenAIResponses.continuation_state` keeps the response id and how many
messages it had seen; the next request names it as ``previous_response_id`` and carries only the
later messages' items (the tool outputs, a new user turn), over HTTP or on the WebSocket. When the
server keeps no state (the options say ``"store": false``) every request carries the whole input,
encrypted reasoning included (``include: ["reasoning.encrypted_content"]`` is added), and no
``previous_response_id``. ``streamkit serve`` answers on ``/v1/responses`` and ``/responses``,
over HTTP and WebSocket, its responses naming the ``previous_response_id`` they continue.
"""

from __future__ import annotations

from typing import Any

from ...canonical import parse_arguments
from ...errors import UsageError
from .wire import NAME, _dumps, _fits

#: canonical option names → Responses parameters (other options, such as ``reasoning``,
#: ``include``, ``store``, ``tool_choice``, pass through as they are)
OPTION_NAMES = {"max_tokens": "max_output_tokens", "temperature": "temperature", "top_p": "top_p"}

#: the events that end one answer on the WebSocket
WEBSOCKET_FINAL = frozenset({"response.completed", "response.failed", "response.incomplete", "error"})

# a client call's item type -> the item type of its answer
_OUTPUT_ITEMS = {
    "function_call": "function_call_output",
    "custom_tool_call": "custom_tool_call_output",
    "apply_patch_call": "apply_patch_call_output",
}


def _part_meta(part: dict[str, Any]) -> dict[str, Any]:
    """A conversation part's provider_metadata for this dialect (tolerant: parts are user input)."""
    pm = part.get("provider_metadata")
    meta = pm.get(NAME) if isinstance(pm, dict) else None
    return meta if isinstance(meta, dict) else {}


def _output_text(output: Any) -> str:
    """A tool's output as the string an ``*_output`` item carries (JSON for anything else)."""
    if isinstance(output, str):
        return output
    return "" if output is None else _dumps(output)


def _data_url(part: dict[str, Any]) -> str:
    if part.get("url"):
        return str(part["url"])
    return f"data:{part.get('media_type') or 'application/octet-stream'};base64,{part.get('data') or ''}"


def _user_content(content: list[dict[str, Any]], where: str) -> list[dict[str, Any]]:
    """User parts → ``input_text``, ``input_image`` (data URL or URL), ``input_file``."""
    out: list[dict[str, Any]] = []
    for j, part in enumerate(content):
        kind = part.get("type")
        if kind == "text":
            out.append({"type": "input_text", "text": part.get("text") or ""})
        elif kind == "file" and str(part.get("media_type") or "").startswith("image/"):
            out.append({"type": "input_image", "image_url": _data_url(part), "detail": "auto"})
        elif kind == "file":
            file: dict[str, Any] = {"type": "input_file"}
            if part.get("url"):
                file["file_url"] = str(part["url"])
            else:
                file["file_data"] = _data_url(part)
                file["filename"] = part.get("filename") or f"file-{j}"
            out.append(file)
        else:
            raise UsageError(f"{where}.content[{j}]: the {NAME} dialect cannot send a user {kind!r} part")
    return out


def _call_item(part: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
    """A client tool-call part → the item the model wrote (its type kept in provider_metadata)."""
    kind = meta.get("type")
    call_id, name = part["tool_call_id"], part["tool_name"]
    value = part.get("input")
    arguments = part.get("arguments")
    if not isinstance(arguments, str):
        arguments = _dumps(value if value is not None else {})
    elif value is None:
        value = parse_arguments(arguments)[0]
    if isinstance(value, dict) and kind in ("custom_tool_call", "apply_patch_call") and _fits(kind, value):
        item: dict[str, Any] = {"type": kind, "call_id": call_id}
        if kind == "custom_tool_call":
            item.update(name=name, input=value["input"])
        else:
            item.update(status="completed", operation=value)
        if isinstance(meta.get("item_id"), str):
            item["id"] = meta["item_id"]
        return item
    # function calls go back without their item id: the call_id pairs the output, and an fc_ id
    # would make the API ask for the reasoning item before it
    item = {"type": "function_call", "call_id": call_id, "name": name, "arguments": arguments}
    if isinstance(meta.get("namespace"), str):
        item["namespace"] = meta["namespace"]
    return item


def _assistant_items(content: list[dict[str, Any]], store: bool) -> list[dict[str, Any]]:
    """An earlier assistant turn → its output items, in order: ``message`` items (consecutive text
    parts of one item together, refusals as ``refusal`` parts, the item's id and ``phase``; text
    that came from elsewhere, with no item id, as one plain ``content`` string), ``reasoning`` items
    (their summary or reasoning_text parts, id and ``encrypted_content``), client calls.

    Left out: provider-executed tools (the server ran them; their outcome is in the text that
    follows), sources and files, reasoning of other dialects, and, when the server keeps no state
    (``store`` false), reasoning it could only find by id (no ``encrypted_content``).
    """
    items: list[dict[str, Any]] = []
    msg: dict[str, Any] | None = None  # the message item text parts are added to
    rsn: dict[str, Any] | None = None  # the reasoning item reasoning parts are added to
    for part in content:
        kind = part.get("type")
        meta = _part_meta(part)
        item_id = meta.get("item_id") if isinstance(meta.get("item_id"), str) else None
        if kind == "text":
            rsn = None
            if msg is None or msg.get("id") != item_id:
                msg = {"type": "message", "role": "assistant", "content": []}
                if item_id:
                    msg["id"] = item_id
                    msg["status"] = "completed"
                if meta.get("phase"):
                    msg["phase"] = meta["phase"]
                items.append(msg)
            text = part.get("text") or ""
            if part.get("refusal"):
                msg["content"].append({"type": "refusal", "refusal": text})
            else:
                msg["content"].append({"type": "output_text", "text": text, "annotations": []})
        elif kind == "reasoning":
            msg = None
            encrypted = meta.get("encrypted_content")
            if not item_id and not encrypted:
                rsn = None
                continue  # another dialect's reasoning: nothing this API can take back
            if rsn is None or not item_id or rsn.get("id") != item_id:
                rsn = {"type": "reasoning", "summary": []}
                if item_id:
                    rsn["id"] = item_id
                items.append(rsn)
            text = part.get("text") or ""
            if meta.get("part") == "reasoning_text":
                rsn.setdefault("content", []).append({"type": "reasoning_text", "text": text})
            elif text:
                rsn["summary"].append({"type": "summary_text", "text": text})
            if encrypted:
                rsn["encrypted_content"] = encrypted
        elif kind == "tool-call":
            msg = rsn = None
            if not part.get("provider_executed"):
                items.append(_call_item(part, meta))
        elif kind == "tool-result":
            msg = rsn = None
    for item in items:
        if item["type"] == "message" and "id" not in item:
            # text of another dialect: the plain form every Responses server takes
            item["content"] = "".join(p.get("text") or p.get("refusal") or "" for p in item["content"])
    if not store:
        items = [i for i in items if i["type"] != "reasoning" or i.get("encrypted_content")]
    return items


def responses_input(
    conversation: dict[str, Any], start: int = 0, *, store: bool = True
) -> list[dict[str, Any]]:
    """The ``input`` items of a conversation's messages from ``start`` on (system messages go in
    ``instructions``)."""
    messages = conversation.get("messages") or []
    # what each client call was, so that its output is the matching *_output item
    kinds: dict[str, str] = {}
    for message in messages:
        if message.get("role") == "assistant":
            for part in message.get("content") or ():
                if part.get("type") == "tool-call" and not part.get("provider_executed"):
                    kind = _part_meta(part).get("type")
                    if kind in _OUTPUT_ITEMS and kind != "function_call":
                        call = _call_item(part, _part_meta(part))
                        kinds[call["call_id"]] = call["type"]
    items: list[dict[str, Any]] = []
    for i in range(start, len(messages)):
        message = messages[i]
        role = message.get("role")
        if role == "user":
            content = message.get("content")
            if isinstance(content, str):
                content = [{"type": "text", "text": content}]
            parts = _user_content(content or [], f"conversation: messages[{i}]")
            items.append({"type": "message", "role": "user", "content": parts})
        elif role == "assistant":
            items.extend(_assistant_items(message.get("content") or [], store))
        elif role == "tool":
            call_id = message["tool_call_id"]
            kind = kinds.get(call_id, "function_call")
            item: dict[str, Any] = {"type": _OUTPUT_ITEMS[kind], "call_id": call_id}
            if kind == "apply_patch_call":  # the one answer with an error flag
                item["status"] = "failed" if message.get("is_error") else "completed"
            item["output"] = _output_text(message.get("output"))
            items.append(item)
    return items


def responses_request_body(conversation: dict[str, Any], model: str | None) -> dict[str, Any]:
    """A conversation → a streaming ``POST /responses`` body.

    With this dialect's continuation state (``state["openai-responses"]``: the last response's
    id and how many messages it had seen), the body continues on the server: it names
    ``previous_response_id`` and carries only the later messages' items (tool outputs, new user
    turns). When the server keeps no state (the options say ``"store": false``), or there is no
    usable state, it carries the whole conversation, encrypted reasoning included (``include``
    asks for ``reasoning.encrypted_content`` then).
    """
    from ...conversation import system_text

    model = model or conversation.get("model")
    if not model:
        raise UsageError('no model: pass -m MODEL, put "model" in the conversation, or set STREAMKIT_MODEL')
    options = conversation.get("options") or {}
    store = options.get("store") is not False
    messages = conversation.get("messages") or []
    body: dict[str, Any] = {"model": model}
    start = 0
    state = (conversation.get("state") or {}).get(NAME)
    if store and isinstance(state, dict) and isinstance(state.get("previous_response_id"), str):
        known = state.get("known")
        if isinstance(known, int) and not isinstance(known, bool) and 0 < known <= len(messages):
            body["previous_response_id"] = state["previous_response_id"]
            start = known
    instructions = system_text(conversation)
    if instructions:
        body["instructions"] = instructions  # not carried over by previous_response_id: always sent
    body["input"] = responses_input(conversation, start, store=store)
    tools = conversation.get("tools")
    if tools:
        body["tools"] = [
            {"type": "function", "name": t["name"], "description": t.get("description", ""),
             "parameters": t.get("parameters") or {"type": "object", "properties": {}},
             "strict": bool(t.get("strict", False))}
            for t in tools
        ]  # fmt: skip
    body["stream"] = True
    for key, value in options.items():
        body[OPTION_NAMES.get(key, key)] = value
    if not store:
        include = body.get("include")
        include = list(include) if isinstance(include, list) else []
        if "reasoning.encrypted_content" not in include:
            include.append("reasoning.encrypted_content")
        body["include"] = include
    return body


def _url(base_url: str, path: str, *, websocket: bool = False) -> str:
    """``base_url`` + ``path`` (a query in the base URL stays at the end); ws/wss for a WebSocket."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(base_url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme) if websocket else parts.scheme
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + path, parts.query, ""))
