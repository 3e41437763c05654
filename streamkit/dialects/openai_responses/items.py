"""The tool items the Responses API added beside function, custom and apply_patch calls, both ways:
``shell_call``, ``local_shell_call``, ``computer_call``, ``tool_search_call`` and ``program``
(programmatic tool calling), the output items that answer them, and ``mcp_approval_request``.

For each: who runs it (:func:`provider_side`: the client, whose answer the API waits for, or the
provider, whose output is another item of the same response), which of its fields are the
canonical call's ``input`` (:func:`item_input`), which are kept in ``provider_metadata`` so that
the item can be written again (:func:`item_meta`, :func:`rebuild`), what the provider's output
item says (:func:`result_of`), and how the client answers in the next request
(:func:`answer_item`).

=====================  ==================  ===========================  ============================
item                   tool name           input                        run by
=====================  ==================  ===========================  ============================
``shell_call``         ``shell``           its ``action``               the client; the provider when
                                                                        its ``environment`` is a
                                                                        container (hosted shell),
                                                                        answered by a
                                                                        ``shell_call_output`` item
``local_shell_call``   ``local_shell``     its ``action``               the client
``computer_call``      ``computer``        ``{"action"}`` and/or        the client
                                           ``{"actions"}``
``tool_search_call``   ``tool_search``     its ``arguments``            by its ``execution``: the
                                                                        client, or the server with
                                                                        a ``tool_search_output``
``program``            ``programmatic_     ``{"code"}``                 the provider, with a
                       tool_calling``                                   ``program_output``
``custom_tool_call``   the item's name     ``{"input": <the text>}``    the client; the provider
                                                                        (xAI's server-side searches)
                                                                        when the item is added
                                                                        ``completed``, or when the
                                                                        response names its tools,
                                                                        none a custom tool of that
                                                                        name nor a tool search
=====================  ==================  ===========================  ============================

The client's answers: ``shell_call_output`` (``output``: a list of ``{stdout, stderr, outcome}``;
a tool's text output is one entry, its exit code 1 for an error), ``local_shell_call_output``
(``id`` the call's id, as the SDK's type says, ``output`` the text), ``computer_call_output``
(``output`` a ``computer_screenshot``: the result's own object, or its text as an ``image_url``,
a ``file-`` id as ``file_id``), ``tool_search_output`` (``tools``: the result's list, or its
``tools``). ``mcp_approval_request`` items become ``tool-approval-request`` events, answered by an
``mcp_approval_response``.
"""

from __future__ import annotations

from typing import Any

from ...canonical import parse_arguments
from .wire import NAME, _dumps, _meta

#: the tool name of each item type (computer's and program's input are several fields)
TOOL_NAMES = {
    "shell_call": "shell",
    "local_shell_call": "local_shell",
    "computer_call": "computer",
    "tool_search_call": "tool_search",
    "program": "programmatic_tool_calling",
}

#: the items whose input is not streamed: their call begins when they are done (the call id
#: they are added with may not be the one they end with)
WHOLE_ITEMS = frozenset(TOOL_NAMES)

#: the field whose value is the input (the others take several fields: see item_input)
_INPUT_FIELD = {"shell_call": "action", "local_shell_call": "action", "tool_search_call": "arguments"}
_INPUT_FIELDS = {"computer_call": ("action", "actions"), "program": ("code",)}

#: a provider-run call -> the output item that holds its result
OUTPUT_ITEMS = {"shell_call": "shell_call_output", "tool_search_call": "tool_search_output",
                "program": "program_output"}  # fmt: skip
#: an output item -> the call it answers
CALL_ITEMS = {output: call for call, output in OUTPUT_ITEMS.items()}

#: a client call's item type -> the item type of its answer
ANSWER_ITEMS = {
    "shell_call": "shell_call_output",
    "local_shell_call": "local_shell_call_output",
    "computer_call": "computer_call_output",
    "tool_search_call": "tool_search_output",
}


def provider_side(kind: str | None, item: dict[str, Any], added: bool, tools: Any) -> bool:
    """Whether an item of a type either side may run was run by the provider (``tools``: the
    tools the response says it was given, if it says)."""
    if kind == "shell_call":
        env = item.get("environment")
        return isinstance(env, dict) and env.get("type") not in (None, "local")
    if kind == "tool_search_call":
        return item.get("execution") != "client"
    if kind == "custom_tool_call":
        if added and item.get("status") == "completed":
            return True  # added as done: nothing was left for the client to do
        if isinstance(tools, list) and tools and not item.get("namespace"):
            return not _may_call(tools, item.get("name"))
    return kind == "program"


def _may_call(tools: list[Any], name: Any) -> bool:
    """Whether the client's tools (namespaces included) may hold a custom tool ``name``: one is
    declared, or a tool search may load more tools than the list names."""
    for tool in tools:
        if not isinstance(tool, dict):
            continue
        if (tool.get("type") == "custom" and tool.get("name") == name) or tool.get("type") == "tool_search":
            return True
        inner = tool.get("tools")
        if isinstance(inner, list) and _may_call(inner, name):
            return True
    return False


def item_input(kind: str, item: dict[str, Any]) -> Any:
    """The canonical input of a call item."""
    field = _INPUT_FIELD.get(kind)
    if field is not None:
        value = item.get(field)
        return value if value is not None else {}
    return {k: item[k] for k in _INPUT_FIELDS[kind] if item.get(k) is not None}


def item_arguments(kind: str, item: dict[str, Any]) -> str:
    return _dumps(item_input(kind, item))


def item_meta(kind: str, item: dict[str, Any]) -> dict[str, Any]:
    """The item's fields that are neither its id, type, call id nor input (null ones left out)."""
    skip = {"id", "type", "call_id", _INPUT_FIELD.get(kind), *_INPUT_FIELDS.get(kind, ())}
    return {k: v for k, v in item.items() if k not in skip and v is not None}


def fits(kind: str, value: Any) -> bool:
    """Whether a canonical input can be the input of a client item of this type."""
    if kind == "tool_search_call":
        return value is not None
    if not isinstance(value, dict):
        return False
    if kind == "shell_call":
        return isinstance(value.get("commands"), list)
    if kind == "local_shell_call":
        return isinstance(value.get("command"), list)
    if kind == "computer_call":
        return bool(value) and set(value) <= {"action", "actions"}
    return False


def rebuild(
    kind: str, call_id: str | None, value: Any, meta: dict[str, Any], *, status: str = "completed"
) -> dict[str, Any]:
    """A call item from its canonical call: its input, its id and the fields ``meta`` kept."""
    item: dict[str, Any] = {"type": kind}
    if isinstance(meta.get("item_id"), str):
        item["id"] = meta["item_id"]
    item["call_id"] = call_id
    field = _INPUT_FIELD.get(kind)
    if field is not None:
        item[field] = value
    elif isinstance(value, dict):
        item.update({k: value[k] for k in _INPUT_FIELDS[kind] if k in value})
    item.update({k: v for k, v in meta.items() if k not in ("item_id", "type", "status") and k not in item})
    if kind != "program":  # the one with no status
        item["status"] = status
    if kind == "tool_search_call":
        item.setdefault("execution", "client")
    elif kind == "computer_call":
        item.setdefault("pending_safety_checks", [])
    return item


# --- provider-run calls: their output items ----------------------------------------------------


def result_of(kind: str, item: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """An output item (``shell_call_output``, ``tool_search_output``, ``program_output``) → the
    tool-result's output and whether it is an error (the item did not complete)."""
    field = {"shell_call_output": "output", "tool_search_output": "tools"}.get(kind, "result")
    status = item.get("status")
    output: dict[str, Any] = {"status": status} if status else {}
    if field in item:
        output[field] = item[field]
    return output, status not in (None, "completed")


def output_meta(item: dict[str, Any]) -> dict[str, Any]:
    """An output item's fields beyond what the tool-result says (its id, type and output)."""
    skip = {"id", "type", "call_id", "status", "output", "tools", "result"}
    meta: dict[str, Any] = {k: v for k, v in item.items() if k not in skip and v is not None}
    if isinstance(item.get("id"), str):
        meta["output_item_id"] = item["id"]
    return meta


def output_item(kind: str, call_id: str | None, result: dict[str, Any]) -> dict[str, Any]:
    """The output item of a provider-run call (the encoder), from its ``tool-result``."""
    meta = _meta(result)
    output = result.get("output")
    out = output if isinstance(output, dict) else {}
    field = {"shell_call_output": "output", "tool_search_output": "tools"}.get(kind, "result")
    item: dict[str, Any] = {"id": meta.get("output_item_id"), "type": kind, "call_id": call_id}
    if kind == "tool_search_output":
        item["execution"] = meta.get("execution") or "server"
    if field in out:
        value = out[field]
    elif kind == "program_output":
        value = output if isinstance(output, str) else "" if output is None else _dumps(output)
    elif kind == "shell_call_output":
        value = [_shell_entry(output, bool(result.get("is_error")))] if output is not None else []
    else:
        value = output if isinstance(output, list) else []
    item[field] = value
    item["status"] = out.get("status") or ("incomplete" if result.get("is_error") else "completed")
    item.update(
        {k: v for k, v in meta.items() if k not in ("type", "item_id", "output_item_id") and k not in item}
    )
    return item


def _shell_entry(output: Any, is_error: bool) -> dict[str, Any]:
    """A tool's output as one entry of a shell call's output."""
    text = output if isinstance(output, str) else _dumps(output)
    return {"stdout": text, "stderr": "", "outcome": {"type": "exit", "exit_code": 1 if is_error else 0}}


# --- the client's answers ----------------------------------------------------------------------


def answer_item(kind: str, call: dict[str, Any], message: dict[str, Any], drops: Any) -> dict[str, Any]:
    """The next request's answer to a client call item, from the call's part and the ``tool``
    message of its result (``drops``: the request's RequestDrops)."""
    call_id = message["tool_call_id"]
    output = message.get("output")
    is_error = bool(message.get("is_error"))
    if kind == "local_shell_call":
        text = output if isinstance(output, str) else "" if output is None else _dumps(output)
        return {"type": "local_shell_call_output", "id": call_id, "output": text}
    if kind == "shell_call":
        item: dict[str, Any] = {"type": "shell_call_output", "call_id": call_id}
        if isinstance(output, dict) and isinstance(output.get("output"), list):
            output = output["output"]
        if isinstance(output, list) and all(isinstance(e, dict) and "outcome" in e for e in output):
            item["output"] = output
        else:
            item["output"] = [_shell_entry("" if output is None else output, is_error)]
        action = call.get("input")
        if isinstance(action, dict) and action.get("max_output_length") is not None:
            item["max_output_length"] = action["max_output_length"]  # the model's, passed back
        return item
    if kind == "computer_call":
        return {"type": "computer_call_output", "call_id": call_id, "output": _screenshot(output, drops)}
    # tool_search_call
    tools = output.get("tools") if isinstance(output, dict) else output
    if isinstance(tools, str):
        tools, _ = parse_arguments(tools)
        if isinstance(tools, dict):
            tools = tools.get("tools")
    if not isinstance(tools, list):
        drops.add("a tool_search result that is not a list of tools (sent as no tools)")
        tools = []
    return {"type": "tool_search_output", "call_id": call_id, "execution": "client", "status": "completed",
            "tools": tools}  # fmt: skip


def _screenshot(output: Any, drops: Any) -> dict[str, Any]:
    """A computer call's result as the ``computer_screenshot`` the API wants back."""
    if isinstance(output, dict) and output.get("type") == "computer_screenshot":
        return output
    if isinstance(output, str) and output.startswith("file-"):
        return {"type": "computer_screenshot", "file_id": output}
    if isinstance(output, str) and output.startswith(("data:image/", "http://", "https://")):
        return {"type": "computer_screenshot", "image_url": output}
    drops.add("a computer_call result that is not a screenshot (sent as it is)")
    text = output if isinstance(output, str) else "" if output is None else _dumps(output)
    return {"type": "computer_screenshot", "image_url": text}


# --- MCP approvals -----------------------------------------------------------------------------


def approval_request(item: dict[str, Any]) -> dict[str, Any]:
    """An ``mcp_approval_request`` item → its ``tool-approval-request`` event."""
    arguments = item.get("arguments")
    if not isinstance(arguments, str):
        arguments = _dumps(arguments) if arguments is not None else ""
    value, err = parse_arguments(arguments)
    ev: dict[str, Any] = {
        "type": "tool-approval-request",
        "tool_call_id": item.get("id") or "",
        "tool_name": item.get("name") if isinstance(item.get("name"), str) else "",
        "arguments": arguments,
        "input": value,
        "provider_executed": True,
    }
    if err:
        ev["input_error"] = err
    meta = {"item_id": item.get("id"), "type": "mcp_approval_request"}
    meta.update(
        {k: v for k, v in item.items() if k not in ("id", "type", "name", "arguments") and v is not None}
    )
    ev["provider_metadata"] = {NAME: {k: v for k, v in meta.items() if v is not None}}
    return ev


def approval_item(ev: dict[str, Any], item_id: str) -> dict[str, Any]:
    """A ``tool-approval-request`` → the ``mcp_approval_request`` item (the encoder, the request)."""
    meta = _meta(ev)
    arguments = ev.get("arguments")
    if not isinstance(arguments, str):
        arguments = _dumps(ev.get("input") if ev.get("input") is not None else {})
    item = {"id": item_id, "type": "mcp_approval_request", "arguments": arguments,
            "name": ev.get("tool_name") or "", "server_label": str(meta.get("server_label") or "")}  # fmt: skip
    item.update({k: v for k, v in meta.items() if k not in ("item_id", "type") and k not in item})
    return item


def approval_answer(message: dict[str, Any]) -> dict[str, Any]:
    """A ``tool`` message answering an approval request → its ``mcp_approval_response``."""
    item: dict[str, Any] = {
        "type": "mcp_approval_response",
        "approval_request_id": message["tool_call_id"],
        "approve": bool(message.get("approved")),
    }
    if isinstance(message.get("reason"), str):
        item["reason"] = message["reason"]
    return item
