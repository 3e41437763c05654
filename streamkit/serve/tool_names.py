"""Tool names an upstream's API would refuse, sent under names it takes and given back.

A client's tools may be named in a way the upstream's API refuses: Claude Code names an MCP
server's tools ``mcp__<server>__<tool>``, often past the 64 characters the OpenAI and Anthropic
APIs take, and a Gemini function name must start with a letter or ``_``. Each dialect says what
its API takes (:attr:`~streamkit.dialects.base.Dialect.tool_name_pattern`). The gateway sends a
tool whose name does not fit under a name that does (:func:`fitted`): the name with every other
character made ``_``, cut short, and 8 hex digits of the name's SHA-1 after it, the same for the
same name in every request, so that the earlier turns' calls keep matching. The upstream's calls
are named back (:func:`named_back`) before the client's encoder sees them.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

#: what a fitted name keeps of the original: the characters every API takes
_OTHERS = re.compile(r"[^a-zA-Z0-9_-]")
#: a fitted name's length: the shortest limit among the APIs (64), the hash included
_LENGTH = 64

#: the event types that name a tool, and the field that does
_NAMED = {"tool-input-start": "tool_name", "tool-call": "tool_name", "tool-result": "tool_name",
          "tool-approval-request": "tool_name"}  # fmt: skip


def fit(name: str) -> str:
    """A name every API takes for ``name``, unique to it (see the module's docstring)."""
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    kept = _OTHERS.sub("_", name)
    if not kept[:1].isalpha() and kept[:1] != "_":
        kept = "_" + kept
    return f"{kept[: _LENGTH - 9]}_{digest}"


def fitted(conversation: dict[str, Any], pattern: str | None) -> tuple[dict[str, Any], dict[str, str]]:
    """The conversation with each tool name that ``pattern`` (a dialect's
    :attr:`~streamkit.dialects.base.Dialect.tool_name_pattern`) does not match replaced by
    :func:`fit`'s, in its tools, its tool choice, its calls and its results; and the names to give
    back (sent → the client's). The conversation is not changed: what it holds is copied where a
    name changes."""
    if pattern is None:
        return conversation, {}
    rule = re.compile(pattern)
    names = {t.get("name") for t in conversation.get("tools") or () if isinstance(t, dict)}
    for message in conversation.get("messages") or ():
        names.update(p.get("tool_name") for p in _parts(message))
        names.add(message.get("tool_name"))
    sent = {n: fit(n) for n in names if isinstance(n, str) and n and rule.fullmatch(n) is None}
    sent = {n: f for n, f in sent.items() if rule.fullmatch(f) is not None}
    if not sent:
        return conversation, {}
    out = dict(conversation)
    if out.get("tools"):
        out["tools"] = [_renamed(t, "name", sent) for t in out["tools"]]
    options = out.get("options")
    if isinstance(options, dict) and isinstance(options.get("tool_choice"), dict):
        out["options"] = {**options, "tool_choice": _renamed(options["tool_choice"], "name", sent)}
    messages = []
    for message in out.get("messages") or ():
        message = _renamed(message, "tool_name", sent)
        if any(p.get("tool_name") in sent for p in _parts(message)):
            message = {**message, "content": [_renamed(p, "tool_name", sent) for p in message["content"]]}
        messages.append(message)
    out["messages"] = messages
    return out, {f: n for n, f in sent.items()}


def named_back(events: list[dict[str, Any]], back: dict[str, str]) -> list[dict[str, Any]]:
    """The upstream's events with the tools :func:`fitted` renamed given their own names again
    (in place: the events are the gateway's own)."""
    for event in events:
        field = _NAMED.get(event.get("type"))  # type: ignore[arg-type]
        if field is not None and event.get(field) in back:
            event[field] = back[event[field]]
    return events


def _parts(message: Any) -> list[dict[str, Any]]:
    content = message.get("content") if isinstance(message, dict) else None
    return [p for p in content if isinstance(p, dict)] if isinstance(content, list) else []


def _renamed(item: Any, field: str, sent: dict[str, str]) -> Any:
    if isinstance(item, dict) and item.get(field) in sent:
        return {**item, field: sent[item[field]]}
    return item
