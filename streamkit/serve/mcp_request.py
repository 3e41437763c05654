"""What a request asks of the gateway's MCP tool loop: the MCP servers it names, and the MCP items
of earlier turns in its conversation, read from the parsed request (:mod:`.mcp_tools` runs them).

* A Responses request names servers as ``{"type": "mcp", "server_label", "server_url",
  "headers", "authorization", "allowed_tools", "require_approval", "server_description"}``
  tools (the parser keeps hosted tools in ``provider_metadata["openai-responses"]["tools"]``).
  ``allowed_tools`` is a list of names or ``{"tool_names", "read_only"}``; ``require_approval``
  is ``always`` (the API's default), ``never``, or ``{"always": filter, "never": filter}`` where
  a tool matched by neither needs approval, as the API does. ``authorization`` becomes an
  ``Authorization: Bearer`` header. A tool with a ``connector_id`` or ``tunnel_id`` and no
  ``server_url`` is a 400: this gateway reaches only servers by URL.
* An Anthropic request names them in ``mcp_servers``: ``[{"type": "url", "url", "name",
  "authorization_token", "tool_configuration": {"enabled", "allowed_tools"}}]``; its tools never
  need approval (the API runs MCP tools without asking).
* Earlier turns: a Responses client sends back the items of earlier responses
  (``mcp_list_tools``, ``mcp_call``, ``mcp_approval_request``, ``mcp_approval_response``; the
  parser keeps them in ``input_items`` with their place). An Anthropic client sends back
  ``mcp_tool_use`` / ``mcp_tool_result`` blocks (parsed as provider-executed parts). Both become
  what the upstream understands: its own function call and a tool message with the result.
  A listing in the input is used instead of listing again; an approval request answered by an
  ``mcp_approval_response`` whose call is not in the input yet is a decision to carry out now.

The servers and every MCP item are taken out of the conversation the upstream gets: neither the
URLs nor the headers nor the hosted tool reach it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..dialects.checks import Checks, kind_of
from ..errors import UsageError
from .mcp_client import Tool

RESPONSES = "openai-responses"
ANTHROPIC = "anthropic"
_MCP_ITEMS = ("mcp_list_tools", "mcp_call", "mcp_approval_request", "mcp_approval_response")
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


@dataclass
class Server:
    """One MCP server a request named; ``headers`` are never shown (``repr`` hides them)."""

    label: str
    url: str
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    allowed: list[str] | None = None  # tool names; None: every one
    read_only: bool | None = None  # allowed_tools' read_only filter
    approval: Any = "never"  # "always", "never", or {"always": filter, "never": filter}
    description: str | None = None
    listed: list[Tool] | None = None  # from an mcp_list_tools item of the input

    def allows(self, tool: Tool) -> bool:
        if self.allowed is not None and tool.name not in self.allowed:
            return False
        return self.read_only is None or tool.read_only == self.read_only

    def needs_approval(self, tool: Tool) -> bool:
        if self.approval in ("always", "never"):
            return bool(self.approval == "always")
        for word in ("never", "always"):
            rule = self.approval.get(word)
            if isinstance(rule, dict) and _matches(rule, tool):
                return word == "always"
        return True  # named by no filter: the API's default, always


def _matches(rule: dict[str, Any], tool: Tool) -> bool:
    names, read_only = rule.get("tool_names"), rule.get("read_only")
    if names is None and read_only is None:
        return False
    return (names is None or tool.name in names) and (read_only is None or tool.read_only == read_only)


@dataclass
class Decision:
    """An answered approval request whose call has not run yet."""

    request_id: str
    server_label: str
    name: str
    arguments: str
    approve: bool
    reason: str | None
    at: int  # the place of the request in the conversation (messages before it)


@dataclass
class Plan:
    """The MCP side of one request."""

    servers: list[Server]
    #: the conversation for the upstream, with no MCP server or item in it
    conversation: dict[str, Any]
    #: earlier MCP calls, as (place, call id, server label, tool name, arguments, output, is_error)
    history: list[tuple[int, str, str, str, str, str, bool]] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    #: the parsed request's ``dropped`` without the MCP entries (they are run here)
    dropped: list[str] = field(default_factory=list)


def plan(client: str, conversation: dict[str, Any], dropped: list[str]) -> Plan | None:
    """The MCP side of a request parsed in dialect ``client``; None when it names no MCP server
    (and carries no MCP item: those alone mean nothing without their servers)."""
    pm = conversation.get("provider_metadata")
    own = pm.get(client) if isinstance(pm, dict) else None
    if not isinstance(own, dict):
        return None
    if client == RESPONSES:
        return _responses(conversation, own, dropped)
    if client == ANTHROPIC:
        return _anthropic(conversation, own, dropped)
    return None


def _without(conversation: dict[str, Any], client: str, own: dict[str, Any]) -> dict[str, Any]:
    out = dict(conversation)
    pm = dict(conversation["provider_metadata"])
    if own:
        pm[client] = own
    else:
        pm.pop(client)
    if pm:
        out["provider_metadata"] = pm
    else:
        out.pop("provider_metadata")
    return out


# --- Responses ---------------------------------------------------------------------------------

_check = Checks(RESPONSES)


def _responses(conversation: dict[str, Any], own: dict[str, Any], dropped: list[str]) -> Plan | None:
    hosted = own.get("tools") or []
    mcp = [t for t in hosted if isinstance(t, dict) and t.get("type") == "mcp"]
    if not mcp:
        return None
    servers = [_responses_server(tool, f"tools[{i}]") for i, tool in enumerate(mcp)]
    labels = [s.label for s in servers]
    if len(set(labels)) != len(labels):
        raise UsageError(f"{RESPONSES} request: two mcp tools have the same server_label")
    own = dict(own)
    rest = [t for t in hosted if t not in mcp]
    if rest:
        own["tools"] = rest
    else:
        own.pop("tools")
    items = own.get("input_items") or []
    mine = [entry for entry in items if entry[1].get("type") in _MCP_ITEMS]
    others = [entry for entry in items if entry[1].get("type") not in _MCP_ITEMS]
    if others:
        own["input_items"] = others
    else:
        own.pop("input_items", None)
    out = Plan(servers, _without(conversation, RESPONSES, own))
    out.dropped = [d for d in dropped if d != "the mcp tool" and not d.startswith("mcp_")]
    _responses_items(out, mine)
    return out


def _strings(value: Any, at: str) -> list[str]:
    names = _check.list(value, at)
    for j, name in enumerate(names):
        _check.string(name, f"{at}[{j}]")
    return list(names)


def _responses_server(tool: dict[str, Any], at: str) -> Server:
    label = _check.string(tool.get("server_label"), f"{at}.server_label")
    url = _check.string(tool.get("server_url"), f"{at}.server_url", default=None)
    if not url:
        raise _check.fail(f"{at}.server_url", "is needed: this gateway reaches MCP servers by URL only "
                          "(no connector_id or tunnel_id)")  # fmt: skip
    headers = dict(_check.object(tool.get("headers"), f"{at}.headers", default={}))
    for name, value in headers.items():
        if not isinstance(value, str):
            raise _check.fail(f"{at}.headers.{name}", f"must be a string, not {kind_of(value)}")
    token = _check.string(tool.get("authorization"), f"{at}.authorization", default=None)
    if token:
        headers["Authorization"] = f"Bearer {token}"
    server = Server(label, url, headers)
    server.description = _check.string(
        tool.get("server_description"), f"{at}.server_description", default=None
    )
    allowed = tool.get("allowed_tools")
    if isinstance(allowed, dict):
        if allowed.get("tool_names") is not None:
            server.allowed = _strings(allowed["tool_names"], f"{at}.allowed_tools.tool_names")
        server.read_only = _check.boolean(
            allowed.get("read_only"), f"{at}.allowed_tools.read_only", default=None
        )
    elif allowed is not None:
        server.allowed = _strings(allowed, f"{at}.allowed_tools")
    approval = tool.get("require_approval")
    if approval is None:
        server.approval = "always"
    elif approval in ("always", "never"):
        server.approval = approval
    elif isinstance(approval, dict):
        rules = {}
        for word in ("always", "never"):
            rule = _check.object(approval.get(word), f"{at}.require_approval.{word}", default=None)
            if rule is not None:
                names = rule.get("tool_names")
                rules[word] = {
                    "tool_names": None if names is None else _strings(names, f"{at}.require_approval.{word}.tool_names"),
                    "read_only": _check.boolean(rule.get("read_only"), f"{at}.require_approval.{word}.read_only", default=None),
                }  # fmt: skip
        server.approval = rules
    else:
        raise _check.fail(f"{at}.require_approval", "must be always, never or an object")
    return server


def _responses_items(out: Plan, entries: list[list[Any]]) -> None:
    """The MCP items of the input: listings, earlier calls, answered approval requests."""
    by_label = {s.label: s for s in out.servers}
    requests: dict[str, tuple[int, dict[str, Any]]] = {}
    answers: list[tuple[int, dict[str, Any]]] = []
    done: set[str] = set()  # approval requests whose call is in the input
    for at, item in entries:
        kind = item["type"]
        if kind == "mcp_list_tools":
            server = by_label.get(str(item.get("server_label")))
            tools = item.get("tools")
            if server is not None and isinstance(tools, list) and not item.get("error"):
                server.listed = [
                    Tool(
                        str(t.get("name")),
                        t.get("description"),
                        t.get("input_schema") or {"type": "object"},
                        t.get("annotations"),
                    )
                    for t in tools
                    if isinstance(t, dict) and isinstance(t.get("name"), str)
                ]
        elif kind == "mcp_call":
            if item.get("approval_request_id"):
                done.add(str(item["approval_request_id"]))
            error = item.get("error")
            output = item.get("output")
            is_error = bool(error) or item.get("status") == "failed"
            text = _error_text(error) if error else output if isinstance(output, str) else ""
            arguments = item.get("arguments") if isinstance(item.get("arguments"), str) else "{}"
            call_id = str(item.get("id") or f"mcp_{len(out.history)}")
            out.history.append((at, call_id, str(item.get("server_label") or ""), str(item.get("name") or ""),
                                arguments, text, is_error))  # fmt: skip
        elif kind == "mcp_approval_request":
            if isinstance(item.get("id"), str):
                requests[item["id"]] = (at, item)
        else:
            answers.append((at, item))
    for _, answer in answers:
        request_id = answer.get("approval_request_id")
        if not isinstance(request_id, str) or request_id in done:
            continue
        if request_id not in requests:
            raise UsageError(f"{RESPONSES} request: mcp_approval_response answers {request_id[:40]!r}, an approval "
                             "request the input does not hold (send the mcp_approval_request item too)")  # fmt: skip
        place, request = requests[request_id]
        arguments = request.get("arguments") if isinstance(request.get("arguments"), str) else "{}"
        approve = answer.get("approve")
        if not isinstance(approve, bool):
            raise UsageError(f"{RESPONSES} request: mcp_approval_response.approve must be a boolean")
        reason = answer.get("reason") if isinstance(answer.get("reason"), str) else None
        out.decisions.append(Decision(request_id, str(request.get("server_label") or ""), str(request.get("name") or ""),
                                      str(arguments), approve, reason, place))  # fmt: skip
        done.add(request_id)


def _error_text(error: Any) -> str:
    if isinstance(error, str):
        return error
    if isinstance(error, dict):
        if isinstance(error.get("message"), str):
            return str(error["message"])
        content = error.get("content")
        if isinstance(content, list):
            return "\n".join(str(c.get("text")) for c in content if isinstance(c, dict) and c.get("text"))
        if isinstance(content, str):
            return content
    import orjson

    return orjson.dumps(error, default=str).decode()


# --- Anthropic ---------------------------------------------------------------------------------

_acheck = Checks(ANTHROPIC)


def _anthropic(conversation: dict[str, Any], own: dict[str, Any], dropped: list[str]) -> Plan | None:
    body = own.get("body")
    listed = body.get("mcp_servers") if isinstance(body, dict) else None
    if listed is None:
        return None
    servers = []
    for i, entry in enumerate(_acheck.list(listed, "mcp_servers")):
        server = _anthropic_server(entry, f"mcp_servers[{i}]")
        if server is not None:
            servers.append(server)
    labels = [s.label for s in servers]
    if len(set(labels)) != len(labels):
        raise UsageError(f"{ANTHROPIC} request: two mcp_servers have the same name")
    assert isinstance(body, dict)
    own = dict(own)
    body = {k: v for k, v in body.items() if k != "mcp_servers"}
    if body:
        own["body"] = body
    else:
        own.pop("body")
    out = Plan(servers, _without(conversation, ANTHROPIC, own))
    out.dropped = [d for d in dropped if d != "MCP servers (mcp_servers)"]
    _anthropic_history(out)
    return out


def _anthropic_server(entry: Any, at: str) -> Server | None:
    _acheck.object(entry, at)
    kind = _acheck.string(entry.get("type"), f"{at}.type")
    if kind != "url":
        raise _acheck.fail(f"{at}.type", f"must be url, not {kind!r}")
    url = _acheck.string(entry.get("url"), f"{at}.url")
    name = _acheck.string(entry.get("name"), f"{at}.name")
    token = _acheck.string(entry.get("authorization_token"), f"{at}.authorization_token", default=None)
    config = _acheck.object(entry.get("tool_configuration"), f"{at}.tool_configuration", default={})
    if _acheck.boolean(config.get("enabled"), f"{at}.tool_configuration.enabled", default=True) is False:
        return None
    server = Server(name, url, {"Authorization": f"Bearer {token}"} if token else {})
    allowed = config.get("allowed_tools")
    if allowed is not None:
        names = _acheck.list(allowed, f"{at}.tool_configuration.allowed_tools")
        server.allowed = [
            _acheck.string(n, f"{at}.tool_configuration.allowed_tools[{j}]") for j, n in enumerate(names)
        ]
    return server


def _anthropic_history(out: Plan) -> None:
    """``mcp_tool_use`` / ``mcp_tool_result`` parts of earlier assistant turns → history entries
    (the parts themselves leave the messages)."""
    messages: list[dict[str, Any]] = []
    calls: dict[str, dict[str, Any]] = {}
    for message in out.conversation.get("messages") or ():
        content = message.get("content") if message.get("role") == "assistant" else None
        if not isinstance(content, list):
            messages.append(message)
            continue
        kept = []
        for part in content:
            kind = ((part.get("provider_metadata") or {}).get(ANTHROPIC) or {}).get("type")
            if kind == "mcp_tool_use" and part.get("type") == "tool-call":
                calls[part["tool_call_id"]] = part
                continue
            if kind == "mcp_tool_result" and part.get("type") == "tool-result":
                call = calls.pop(part["tool_call_id"], None)
                if call is not None:
                    server = ((call.get("provider_metadata") or {}).get(ANTHROPIC) or {}).get("server_name")
                    output = part.get("output")
                    text = _error_text({"content": output}) if isinstance(output, list) else str(output or "")
                    out.history.append((len(messages), call["tool_call_id"], str(server or ""),
                                        str(call.get("tool_name") or ""), str(call.get("arguments") or "{}"),
                                        text, bool(part.get("is_error"))))  # fmt: skip
                continue
            kept.append(part)
        if kept:
            messages.append({**message, "content": kept})
    out.conversation = {**out.conversation, "messages": messages}


# --- names and secrets ---------------------------------------------------------------------------


def function_name(label: str, tool: str, taken: set[str]) -> str:
    """The name the upstream knows an MCP tool by: its own where it is free and fits the
    function-name rules (letters, digits, ``_``, ``-``; 64 at most), else ``<label>__<tool>``
    with other characters as ``_`` (and a number where even that is taken)."""
    if not _UNSAFE.search(tool) and len(tool) <= 64 and tool not in taken:
        return tool
    base = _UNSAFE.sub("_", f"{label}__{tool}")[:60]
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    return name


def redact(body: Any) -> Any:
    """A request body with its MCP secrets (``headers`` values, ``authorization`` of mcp tools,
    ``authorization_token`` of ``mcp_servers``) replaced by ``[redacted]``: what ``serve
    --log-requests`` writes."""
    if not isinstance(body, dict):
        return body
    tools, servers = body.get("tools"), body.get("mcp_servers")
    if not (
        isinstance(tools, list) and any(isinstance(t, dict) and t.get("type") == "mcp" for t in tools)
    ) and not isinstance(servers, list):
        return body
    out = dict(body)
    if isinstance(tools, list):
        out["tools"] = [_redact_tool(t) for t in tools]
    if isinstance(servers, list):
        out["mcp_servers"] = [
            {**s, "authorization_token": "[redacted]"} if isinstance(s, dict) and s.get("authorization_token") else s
            for s in servers
        ]  # fmt: skip
    return out


def _redact_tool(tool: Any) -> Any:
    if not isinstance(tool, dict) or tool.get("type") != "mcp":
        return tool
    tool = dict(tool)
    if isinstance(tool.get("headers"), dict):
        tool["headers"] = {k: "[redacted]" for k in tool["headers"]}
    if tool.get("authorization"):
        tool["authorization"] = "[redacted]"
    return tool
