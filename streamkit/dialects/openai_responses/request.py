"""Conversations → OpenAI Responses API requests, and continuations.

Requests (``fetch``, ``agent``): ``POST {base}/responses`` (``OPENAI_BASE_URL``, default
https://api.openai.com/v1) with ``Authorization: Bearer`` (``OPENAI_API_KEY``), and the same request
for the WebSocket mode: ``{base with ws/wss}/responses``, the body sent as a ``response.create``
message without ``stream``, answered until ``response.completed``, ``.failed``, ``.incomplete`` or
``error``. The body: ``model``, ``instructions`` (the system prompt), ``input``, function ``tools``
(``strict: false``, the canonical declaration's meaning, unless the tool says otherwise),
``stream: true``, and the options as the table below says. ``input``:

* user messages → ``message`` items of ``input_text``, ``input_image`` (a URL or a data URL) and
  ``input_file`` (``file_url``, or ``file_data`` and a ``filename``) parts;
* earlier assistant turns → their output items: ``message`` (``output_text``/``refusal`` parts,
  the item id and ``phase``), ``reasoning`` (id, summary or ``reasoning_text`` parts,
  ``encrypted_content``), ``function_call`` (``call_id``, ``name``, ``arguments``),
  ``custom_tool_call``, ``apply_patch_call``, ``shell_call``, ``local_shell_call``,
  ``computer_call`` and ``tool_search_call`` for the calls that were those, and
  ``mcp_approval_request`` for the provider's approval requests. Provider-executed tools, sources
  and other dialects' reasoning are not sent (nor another dialect's metadata the encoder sealed
  in an ``encrypted_content``); text from other dialects is a plain assistant message;
* tool results → ``function_call_output`` (``custom_tool_call_output``, or
  ``apply_patch_call_output`` with ``status: failed`` for an error) with ``call_id`` and
  ``output``; the answers to the later items as :mod:`.items` says (``shell_call_output``,
  ``local_shell_call_output``, ``computer_call_output``, ``tool_search_output``); an answer to
  an approval request (a ``tool`` message with ``approved``) → ``mcp_approval_response``.

Continuation: :meth:`OpenAIResponses.continuation_state` keeps the response id and how many
messages it had seen; the next request names it as ``previous_response_id`` and carries only the
later messages' items (the tool outputs, a new user turn), over HTTP or on the WebSocket. When the
server keeps no state (the options say ``"store": false``) every request carries the whole input,
encrypted reasoning included (``include: ["reasoning.encrypted_content"]`` is added), and no
``previous_response_id``. ``streamkit serve`` answers on ``/v1/responses`` and ``/responses``,
over HTTP and WebSocket, its responses naming the ``previous_response_id`` they continue.

System messages: the ``system`` prompt and ``system`` messages are joined into ``instructions``;
a ``developer`` system message (an OpenAI ``developer`` message, ``"developer": true``) stays in
its place in ``input`` as a ``developer`` message item. Tools: a function tool as ``function``; a
freeform tool (``"kind": "custom"``) as a ``custom`` tool with its ``format``, and a call to it
(``{"input": <string>}``) as a ``custom_tool_call``; a tool's ``provider_metadata`` fields of this
dialect (``defer_loading``, ``output_schema``, ...) are added to its declaration; the canonical
web search as a ``web_search`` tool with its settings (:mod:`..web_search`); the canonical code
execution as a ``code_interpreter`` tool in an ``auto`` container; the canonical image
generation as an ``image_generation`` tool; a tool of another kind is left out with a warning. The canonical options:

=========================================  ===========================================================
canonical                                  Responses
=========================================  ===========================================================
``max_tokens``                             ``max_output_tokens``
``temperature``, ``top_p``                 ``temperature``, ``top_p``
``parallel_tool_calls``                    ``parallel_tool_calls``
``tool_choice``                            ``"auto"``, ``"none"``, ``"required"`` as they are; ``{"name":
                                           X}`` → ``{"type": "function", "name": X}`` (``"custom"``
                                           for a freeform tool); a native object as it is
``response_format``                        ``text.format``: ``json_schema`` (``name``, default
                                           ``"response"``; ``schema``, ``strict``, ``description``),
                                           ``json_object``
``reasoning_effort``                       ``reasoning.effort`` (any value the API takes: ``none``,
                                           ``minimal``, ``low``, ``medium``, ``high``, ``xhigh``,
                                           ``max``)
``reasoning_budget`` (tokens, when no      ``reasoning.effort``: under 4096 → ``low``, under 16384 →
effort is given)                           ``medium``, more → ``high``; 0 (no thinking) or negative
                                           (dynamic) → no effort (the model's default: the API has no
                                           off switch every model takes)
``top_k``, ``stop``, ``seed``,             no parameter in the Responses API: left out, with one
``frequency_penalty``, ``presence_penalty``  warning
=========================================  ===========================================================

Any other option is a Responses parameter and is sent as it is (``reasoning``, ``text``,
``include``, ``store``, ...; the canonical ones above are merged into ``reasoning`` and ``text``).

What :mod:`.parse` keeps of a Responses client's request that only this dialect can use
(``provider_metadata["openai-responses"]`` of the conversation) is restored, so that a gateway in
front of a Responses upstream loses nothing: ``body`` (``store``, ``include``,
``prompt_cache_key``, ``metadata``, ``previous_response_id``, fields streamkit does not know, ...)
at the top level where the conversation did not set them; ``reasoning`` and ``text`` fields
(``summary``, ``verbosity``, an effort the canonical options could only approximate) over the
canonical ones; ``tool_choice`` (a form the canonical one approximates, such as
``allowed_tools``); ``tools`` (hosted tools: ``web_search``, ``file_search``, ``mcp``, ...) after
the conversation's; ``input_items`` (input items with no canonical meaning, such as
``item_reference`` or ``local_shell_call``, each with the number of messages before it) in their
places. A part's ``provider_metadata`` restores an image's ``detail``, a file given by ``file_id``
and a part's other fields. A tool result holding files (its ``content``) sends its parts as the
output list (``input_text``, ``input_image``, ``input_file``); a tool message's ``output_parts``
(as stored before) sends its output list as it is.
"""

from __future__ import annotations

from typing import Any

from ...canonical import parse_arguments
from ...conversation import CODE_EXECUTION, IMAGE_GENERATION, WEB_SEARCH, is_approval
from ...errors import UsageError
from .. import web_search
from ..requests import RequestDrops, result_files
from . import items as wire_items
from .wire import NAME, SEALED, _dumps, _fits

#: canonical option names → Responses parameters of the same meaning (other options, such as
#: ``reasoning``, ``include``, ``store``, pass through as they are)
OPTION_NAMES = {
    "max_tokens": "max_output_tokens",
    "temperature": "temperature",
    "top_p": "top_p",
    "parallel_tool_calls": "parallel_tool_calls",
}

#: canonical options with a rule of their own (the module's table)
SPECIAL_OPTIONS = frozenset({"tool_choice", "response_format", "reasoning_effort", "reasoning_budget"})

#: canonical options the Responses API has no parameter for: left out, with a warning
UNSUPPORTED_OPTIONS = frozenset({"top_k", "stop", "seed", "frequency_penalty", "presence_penalty"})

#: the reasoning efforts the API takes
EFFORTS = frozenset({"none", "minimal", "low", "medium", "high", "xhigh", "max"})

#: the events that end one answer on the WebSocket
WEBSOCKET_FINAL = frozenset({"response.completed", "response.failed", "response.incomplete", "error"})

# a client call's item type -> the item type of its answer
_OUTPUT_ITEMS = {
    "function_call": "function_call_output",
    "custom_tool_call": "custom_tool_call_output",
    "apply_patch_call": "apply_patch_call_output",
    **wire_items.ANSWER_ITEMS,
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
    """User parts → ``input_text``, ``input_image`` (data URL or URL), ``input_file``; a part's
    ``provider_metadata`` gives back an image's ``detail``, a ``file_id`` and its other fields."""
    out: list[dict[str, Any]] = []
    for j, part in enumerate(content):
        kind = part.get("type")
        meta = _part_meta(part)
        item: dict[str, Any]
        if kind == "text":
            item = {"type": "input_text", "text": part.get("text") or ""}
        elif kind == "file" and str(part.get("media_type") or "").startswith("image/"):
            item = {"type": "input_image"}
            if isinstance(meta.get("file_id"), str):
                item["file_id"] = meta["file_id"]
            else:
                item["image_url"] = _data_url(part)
            item["detail"] = meta.get("detail") or "auto"
        elif kind == "file":
            item = {"type": "input_file"}
            if isinstance(meta.get("file_id"), str):
                item["file_id"] = meta["file_id"]
                if part.get("filename"):
                    item["filename"] = part["filename"]
            elif part.get("url"):
                item["file_url"] = str(part["url"])
            else:
                item["file_data"] = _data_url(part)
                item["filename"] = part.get("filename") or f"file-{j}"
            if meta.get("detail"):
                item["detail"] = meta["detail"]
        else:
            raise UsageError(f"{where}.content[{j}]: the {NAME} dialect cannot send a user {kind!r} part")
        fields = meta.get("fields")
        if isinstance(fields, dict):
            item.update({k: v for k, v in fields.items() if k != "type"})
        out.append(item)
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
    if kind in wire_items.WHOLE_ITEMS and _fits(kind, value):
        return wire_items.rebuild(kind, call_id, value, meta)
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
    if isinstance(meta.get("caller"), dict):
        item["caller"] = meta["caller"]  # the program that made the call (programmatic tool calling)
    return item


def _encrypted(meta: dict[str, Any]) -> Any:
    """A reasoning part's encrypted content for the API: none when it is another dialect's
    metadata sealed by the encoder (it would mean nothing to OpenAI)."""
    encrypted = meta.get("encrypted_content")
    return None if isinstance(encrypted, str) and encrypted.startswith(SEALED) else encrypted


def _reasoning_group(content: list[dict[str, Any]], i: int) -> int:
    """Where the reasoning item a part without an item id belongs to ends (exclusive): the parts
    of an item that came with no id (Codex sends none) follow each other, and its
    ``encrypted_content`` is on its last part. 0 when the run of such parts holds no encrypted
    content (another dialect's reasoning: nothing this API can take back)."""
    j = i
    while j < len(content):
        part = content[j]
        meta = _part_meta(part)
        if part.get("type") != "reasoning" or isinstance(meta.get("item_id"), str):
            return 0
        j += 1
        if _encrypted(meta):
            return j
    return 0


def _assistant_items(content: list[dict[str, Any]], store: bool) -> list[dict[str, Any]]:
    """An earlier assistant turn → its output items, in order: ``message`` items (consecutive text
    parts of one item together, refusals as ``refusal`` parts, the item's id and ``phase``; text
    that came from elsewhere, with no item id, as one plain ``content`` string, a part marked
    ``split`` beginning another), ``reasoning`` items
    (their summary or reasoning_text parts, id and ``encrypted_content``; the parts of an item with
    no id are the ones up to the part holding its encrypted content), client calls.

    The provider's approval requests are ``mcp_approval_request`` items (the answer that follows
    names them). Left out: provider-executed tools (the server ran them; their outcome is in the
    text that follows), sources and files, reasoning of other dialects, and, when the server keeps
    no state (``store`` false), reasoning it could only find by id (no ``encrypted_content``).
    """
    items: list[dict[str, Any]] = []
    msg: dict[str, Any] | None = None  # the message item text parts are added to
    rsn: dict[str, Any] | None = None  # the reasoning item reasoning parts are added to
    group_end = 0  # the end of the id-less reasoning item being read
    for i, part in enumerate(content):
        kind = part.get("type")
        meta = _part_meta(part)
        item_id = meta.get("item_id") if isinstance(meta.get("item_id"), str) else None
        if kind == "text":
            rsn = None
            if msg is None or msg.get("id") != item_id or meta.get("split"):
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
            encrypted = _encrypted(meta)
            if item_id is None:
                if i >= group_end:  # the first part of an item with no id
                    group_end = _reasoning_group(content, i)
                    rsn = None
                if not group_end:
                    continue  # another dialect's reasoning: nothing this API can take back
            if rsn is None or rsn.get("id") != item_id:
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
            if item_id is None and i + 1 >= group_end:
                rsn = None  # the id-less item ends with its encrypted content
        elif kind == "tool-call":
            msg = rsn = None
            if not part.get("provider_executed"):
                items.append(_call_item(part, meta))
        elif kind == "tool-approval-request":
            msg = rsn = None
            if part.get("provider_executed") and isinstance(part.get("tool_call_id"), str):
                items.append(wire_items.approval_item(part, item_id or part["tool_call_id"]))
        elif kind == "tool-result":
            msg = rsn = None
    for item in items:
        if item["type"] == "message" and "id" not in item:
            # text of another dialect: the plain form every Responses server takes
            item["content"] = "".join(p.get("text") or p.get("refusal") or "" for p in item["content"])
    if not store:
        items = [i for i in items if i["type"] != "reasoning" or i.get("encrypted_content")]
    return items


def _own_meta(conversation: dict[str, Any]) -> dict[str, Any]:
    """``provider_metadata["openai-responses"]`` of the conversation: what only this dialect can use."""
    return _part_meta(conversation)


def _extra_items(conversation: dict[str, Any]) -> dict[int, list[dict[str, Any]]]:
    """The input items with no canonical meaning (``input_items``), by the message they come before."""
    out: dict[int, list[dict[str, Any]]] = {}
    entries = _own_meta(conversation).get("input_items")
    for entry in entries if isinstance(entries, list) else ():
        if (
            isinstance(entry, (list, tuple))
            and len(entry) == 2
            and isinstance(entry[0], int)
            and isinstance(entry[1], dict)
        ):
            out.setdefault(entry[0], []).append(entry[1])
    return out


def _system_item(message: dict[str, Any]) -> dict[str, Any]:
    """A developer message, in its place."""
    from ...conversation import text_of

    content = message.get("content")
    parts = content if isinstance(content, list) else [{"type": "text", "text": text_of(content)}]
    return {
        "type": "message",
        "role": "developer",
        "content": [
            {"type": "input_text", "text": p.get("text") or ""} for p in parts if p.get("type") == "text"
        ],
    }


def responses_input(
    conversation: dict[str, Any], start: int = 0, *, store: bool = True, drops: RequestDrops | None = None
) -> list[dict[str, Any]]:
    """The ``input`` items of a conversation's messages from ``start`` on (system messages go in
    ``instructions``, developer messages stay in their place); ``drops`` counts what cannot be
    sent (else it is warned about here)."""
    if drops is None:
        drops = RequestDrops(NAME)
        sent = responses_input(conversation, start, store=store, drops=drops)
        drops.warn()
        return sent
    messages = conversation.get("messages") or []
    extras = _extra_items(conversation)
    # what each client call was, so that its output is the matching *_output item
    kinds: dict[str, str] = {}
    calls: dict[str, dict[str, Any]] = {}
    for message in messages:
        if message.get("role") == "assistant":
            for part in message.get("content") or ():
                if part.get("type") == "tool-call" and not part.get("provider_executed"):
                    kind = _part_meta(part).get("type")
                    if isinstance(kind, str) and kind in _OUTPUT_ITEMS and kind != "function_call":
                        call = _call_item(part, _part_meta(part))
                        kinds[call["call_id"]] = call["type"]
                        calls[call["call_id"]] = part
    items: list[dict[str, Any]] = []
    for i in range(start, len(messages)):
        items.extend(extras.pop(i, ()))
        message = messages[i]
        role = message.get("role")
        if role == "user":
            content = message.get("content")
            if isinstance(content, str):
                content = [{"type": "text", "text": content}]
            parts = _user_content(content or [], f"conversation: messages[{i}]")
            items.append({"type": "message", "role": "user", "content": parts})
        elif role == "system" and message.get("developer"):
            items.append(_system_item(message))
        elif role == "assistant":
            items.extend(_assistant_items(message.get("content") or [], store))
        elif role == "tool" and is_approval(message):
            items.append(wire_items.approval_answer(message))
        elif role == "tool":
            call_id = message["tool_call_id"]
            kind = kinds.get(call_id, "function_call")
            if kind in wire_items.ANSWER_ITEMS:
                items.append(wire_items.answer_item(kind, calls[call_id], message, drops))
                continue
            item: dict[str, Any] = {"type": _OUTPUT_ITEMS[kind], "call_id": call_id}
            if kind == "apply_patch_call":  # the one answer with an error flag
                item["status"] = "failed" if message.get("is_error") else "completed"
            output = message.get("output")
            if _part_meta(message).get("output_parts") and isinstance(output, list):
                item["output"] = output  # a client's own list of parts, as stored before `content`
            elif result_files(message):  # a result holding files: its parts, text and images
                parts = message["content"]
                text = _output_text(output)
                if text and not any(p.get("type") == "text" for p in parts):
                    parts = [{"type": "text", "text": text}, *parts]
                item["output"] = _user_content(parts, f"conversation: messages[{i}]")
            else:
                item["output"] = _output_text(output)
            items.append(item)
    for position in sorted(extras):
        if position >= start:
            items.extend(extras[position])
    return items


def _instructions(conversation: dict[str, Any]) -> str | None:
    """The ``system`` prompt and the system messages that are not developer messages, joined."""
    from ...conversation import system_text

    return system_text(
        {
            "system": conversation.get("system"),
            "messages": [
                m
                for m in conversation.get("messages") or ()
                if m.get("role") == "system" and not m.get("developer")
            ],
        }
    )


def _tool(tool: dict[str, Any]) -> dict[str, Any]:
    """A canonical tool → its declaration: ``function``, or ``custom`` for a freeform tool."""
    if tool.get("kind") == "custom":
        out: dict[str, Any] = {"type": "custom", "name": tool["name"]}
        if tool.get("description"):
            out["description"] = tool["description"]
        if isinstance(tool.get("format"), dict):
            out["format"] = tool["format"]
    else:
        out = {
            "type": "function",
            "name": tool["name"],
            "description": tool.get("description", ""),
            "parameters": tool.get("parameters") or {"type": "object", "properties": {}},
            "strict": bool(tool.get("strict", False)),
        }
    fields = _part_meta(tool).get("fields")
    if isinstance(fields, dict):
        out.update({k: v for k, v in fields.items() if k not in ("type", "name")})
    return out


#: the canonical hosted tools the Responses API has
_HOSTED = frozenset({WEB_SEARCH, CODE_EXECUTION, IMAGE_GENERATION})


def _web_search(tool: dict[str, Any], drops: RequestDrops) -> dict[str, Any]:
    """The canonical web search → a ``web_search`` tool (see :mod:`..web_search`)."""
    out: dict[str, Any] = {"type": "web_search", **(web_search.own(tool, NAME) or {})}
    if tool.get("allowed_domains") is not None:
        filters = out.get("filters")
        out["filters"] = {
            **(filters if isinstance(filters, dict) else {}),
            "allowed_domains": tool["allowed_domains"],
        }
    place = web_search.approximate(tool)
    if place:
        out["user_location"] = {"type": "approximate", **place}
    if tool.get("context_size") is not None:
        out["search_context_size"] = tool["context_size"]
    web_search.unsent(tool, ("allowed_domains", "user_location", "context_size"), drops)
    return out


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _tool_choice(value: Any, tools: list[dict[str, Any]], drops: RequestDrops) -> Any:
    """The canonical ``tool_choice`` → the API's (None: not sent)."""
    if value in ("auto", "none", "required"):
        return value
    if isinstance(value, dict):
        if isinstance(value.get("type"), str):
            return value  # the API's own form, as it is
        name = value.get("name")
        if isinstance(name, str) and name:
            custom = any(t.get("name") == name and t.get("kind") == "custom" for t in tools)
            return {"type": "custom" if custom else "function", "name": name}
    drops.add(f"the tool_choice {_short(value)}")
    return None


def _text_format(value: Any, drops: RequestDrops) -> dict[str, Any] | None:
    """``response_format`` → ``text.format`` (None: not sent)."""
    kind = value.get("type") if isinstance(value, dict) else value
    if kind == "json_schema" and isinstance(value, dict) and isinstance(value.get("schema"), dict):
        name = value.get("name")
        fmt: dict[str, Any] = {
            "type": "json_schema",
            "name": name if isinstance(name, str) and name else "response",
            "schema": value["schema"],
        }
        if isinstance(value.get("strict"), bool):
            fmt["strict"] = value["strict"]
        if isinstance(value.get("description"), str):
            fmt["description"] = value["description"]
        return fmt
    if kind in ("json_object", "text"):
        return {"type": kind}
    drops.add(f"the response format {_short(kind)}")
    return None


def budget_effort(budget: int) -> str | None:
    """A thinking budget (tokens) → the reasoning effort nearest to it (None: the model's default)."""
    if budget <= 0:
        return None  # no thinking, or a dynamic budget: no effort every model takes says so
    if budget < 4096:
        return "low"
    return "medium" if budget < 16384 else "high"


def _effort(options: dict[str, Any], drops: RequestDrops) -> str | None:
    """``reasoning_effort``, else ``reasoning_budget`` → ``reasoning.effort`` (None: not sent)."""
    effort = options.get("reasoning_effort")
    if effort is not None:
        if isinstance(effort, str) and effort in EFFORTS:
            return effort
        drops.add(f"the reasoning effort {_short(effort)}")
        return None
    budget = options.get("reasoning_budget")
    if budget is None:
        return None
    if not isinstance(budget, int) or isinstance(budget, bool):
        drops.add(f"the reasoning budget {_short(budget)}")
        return None
    return budget_effort(budget)


def _merged(*parts: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in parts:
        if isinstance(part, dict):
            out.update(part)
    return out


def responses_request_body(conversation: dict[str, Any], model: str | None) -> dict[str, Any]:
    """A conversation → a streaming ``POST /responses`` body.

    With this dialect's continuation state (``state["openai-responses"]``: the last response's
    id and how many messages it had seen), the body continues on the server: it names
    ``previous_response_id`` and carries only the later messages' items (tool outputs, new user
    turns). When the server keeps no state (the options say ``"store": false``), or there is no
    usable state, it carries the whole conversation, encrypted reasoning included (``include``
    asks for ``reasoning.encrypted_content`` then). The canonical options are mapped as the
    module's table says; what the conversation's ``provider_metadata`` keeps is restored.
    """
    model = model or conversation.get("model")
    if not model:
        raise UsageError('no model: pass -m MODEL, put "model" in the conversation, or set STREAMKIT_MODEL')
    drops = RequestDrops(NAME)
    options = conversation.get("options") or {}
    own = _own_meta(conversation)
    native: dict[str, Any] = own["body"] if isinstance(own.get("body"), dict) else {}
    store = (options["store"] if "store" in options else native.get("store")) is not False
    messages = conversation.get("messages") or []
    body: dict[str, Any] = {"model": model}
    start = 0
    state = (conversation.get("state") or {}).get(NAME)
    if store and isinstance(state, dict) and isinstance(state.get("previous_response_id"), str):
        known = state.get("known")
        if isinstance(known, int) and not isinstance(known, bool) and 0 < known <= len(messages):
            body["previous_response_id"] = state["previous_response_id"]
            start = known
    instructions = _instructions(conversation)
    if instructions:
        body["instructions"] = instructions  # not carried over by previous_response_id: always sent
    body["input"] = responses_input(conversation, start, store=store, drops=drops)
    tools = conversation.get("tools") or []
    kept = own.get("tools")
    hosted = [t for t in kept if isinstance(t, dict)] if isinstance(kept, list) else []
    # a namespace a Responses client declared goes whole, so its tools do not go again on their own
    spaces = {t.get("name") for t in hosted if t.get("type") == "namespace"}
    functions, provider_run = web_search.split_tools(tools, drops, _HOSTED)
    declared = [_tool(t) for t in functions if _part_meta(t).get("namespace") not in spaces]
    for t in provider_run:  # the web search; the code execution in a container made for the request
        if t["kind"] == CODE_EXECUTION:
            declared.append(
                {"type": "code_interpreter", "container": {"type": "auto"}, **(web_search.own(t, NAME) or {})}
            )
        elif t["kind"] == IMAGE_GENERATION:  # (a Responses client's own settings, as it sent them)
            declared.append({**(web_search.own(t, NAME) or {}), "type": "image_generation"})
        else:
            declared.append(_web_search(t, drops))
    declared += hosted
    if declared:
        body["tools"] = declared
    body["stream"] = True
    reasoning: dict[str, Any] = {}
    text: dict[str, Any] = {}
    for key, value in options.items():
        if key in SPECIAL_OPTIONS:
            continue
        if key in UNSUPPORTED_OPTIONS:
            drops.add(f"the {key} option")
        elif key == "reasoning" and isinstance(value, dict):
            reasoning.update(value)
        elif key == "text" and isinstance(value, dict):
            text.update(value)
        else:
            body[OPTION_NAMES.get(key, key)] = value
    hosted_choice = web_search.names_hosted(options.get("tool_choice"), tools)
    if hosted_choice == WEB_SEARCH:
        if len(declared) == 1:
            body["tool_choice"] = "required"  # (the search is the one tool there is to use)
        else:
            drops.add("a tool_choice naming the web search beside other tools (left to the model)")
    elif hosted_choice == CODE_EXECUTION:
        if any(t.get("type") == "code_interpreter" for t in declared):
            body["tool_choice"] = {"type": "code_interpreter"}  # (the API's choice of a hosted tool)
        else:
            drops.add("a tool_choice naming code execution, which is not sent (left to the model)")
    elif "tool_choice" in options:
        choice = _tool_choice(options["tool_choice"], tools, drops)
        if choice is not None:
            body["tool_choice"] = choice
    if isinstance(own.get("tool_choice"), (dict, str)):
        body["tool_choice"] = own[
            "tool_choice"
        ]  # the client's own form, which the canonical one approximates
    if options.get("response_format") is not None:
        fmt = _text_format(options["response_format"], drops)
        if fmt is not None:
            text["format"] = fmt
    effort = _effort(options, drops)
    if effort is not None:
        reasoning["effort"] = effort
    reasoning = _merged(reasoning, own.get("reasoning"))
    text = _merged(text, own.get("text"))
    if reasoning:
        body["reasoning"] = reasoning
    if text:
        body["text"] = text
    for key, value in native.items():
        body.setdefault(key, value)
    if not store:
        include = body.get("include")
        include = list(include) if isinstance(include, list) else []
        if "reasoning.encrypted_content" not in include:
            include.append("reasoning.encrypted_content")
        body["include"] = include
    drops.warn()
    return body


def _url(base_url: str, path: str, *, websocket: bool = False) -> str:
    """``base_url`` + ``path`` (a query in the base URL stays at the end); ws/wss for a WebSocket."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(base_url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme) if websocket else parts.scheme
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + path, parts.query, ""))
