"""Responses tool-call items → canonical events, for the normalizer: client calls
(``function_call``, ``custom_tool_call``, ``apply_patch_call``), their arguments streamed as JSON
fragments, and provider-executed tools as a ``tool-call`` and its ``tool-result``.

:class:`_ToolCalls` is a mixin of :class:`~.normalize.ResponsesNormalizer`; the functions below it
say what each item type carries (the JSON before a streamed string, the whole arguments, the
metadata).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from ..._native import mypyc_attr
from ...canonical import tool_call
from . import items as wire_items
from .fields import _string, _text
from .normalize_blocks import _Blocks
from .wire import _CLIENT_ITEMS, _PROVIDER_ITEMS, NAME, _dumps

if TYPE_CHECKING:
    from .normalize import _Item

# item fields that are a provider-executed tool's input and its output (the rest is metadata)
_PROVIDER_INPUT = {
    "file_search_call": ("queries",),
    "code_interpreter_call": ("container_id", "code"),
    "mcp_list_tools": ("server_label",),
    "image_generation_call": (),
    "custom_tool_call": ("input", "name"),
}
_PROVIDER_OUTPUT = {
    "file_search_call": ("status", "results"),
    "code_interpreter_call": ("status", "outputs"),
    "mcp_list_tools": ("tools",),
    "custom_tool_call": ("status",),
}


def item_kind(kind: str | None, item: dict[str, Any], added: bool, tools: Any) -> str:
    """What an output item is to the normalizer: ``message``, ``reasoning``, ``client`` or
    ``provider`` (a tool call the client answers, or the provider ran), ``approval`` (an MCP
    approval request), ``output`` (the output item of a provider-run call), or ``other`` (no
    canonical meaning: counted)."""
    if kind == "message" or kind == "reasoning":
        return kind
    if kind == "function_call":
        return "client"
    if kind in _CLIENT_ITEMS or kind in _PROVIDER_ITEMS:
        if kind in _CLIENT_ITEMS and wire_items.provider_side(kind, item, added, tools):
            return "provider"  # a shell call in a container, a server tool search, xAI's searches
        return "client" if kind in _CLIENT_ITEMS else "provider"
    if kind in wire_items.CALL_ITEMS:
        return "other" if item.get("execution") == "client" else "output"  # not a provider's output
    if kind == "mcp_approval_request":
        return "approval"
    return "other"


def tool_name(kind: str | None, item: dict[str, Any]) -> str:
    """The tool a call item calls: fixed by its type, else the item's ``name``."""
    fixed = _PROVIDER_ITEMS.get(kind or "") or _CLIENT_ITEMS.get(kind or "", (None,))[0]
    if fixed:
        return fixed
    name = item.get("name")
    return name if isinstance(name, str) else ""


def _escape(text: str) -> str:
    """``text`` as the inside of a JSON string (fragments escape the same as the whole)."""
    return orjson.dumps(text).decode()[1:-1]


@mypyc_attr(allow_interpreted_subclasses=True)  # (so may its subclasses: see streamkit._native)
class _ToolCalls(_Blocks):
    """The tool-call items of the response being read: the base of ResponsesNormalizer, which
    sets the attributes declared here and defines the methods that raise NotImplementedError here
    (see _Blocks)."""

    client_calls: bool
    items: dict[str, _Item]
    held: _Item | None
    hot_call: tuple[str, str, _Item, bool] | None

    def _new_call_id(self) -> str:
        raise NotImplementedError

    def _start_call(self, it: _Item, out: list[dict[str, Any]]) -> None:
        it.started = True
        ev: dict[str, Any] = {"type": "tool-input-start", "id": it.call_id, "tool_name": it.name}
        if it.kind == "provider":
            ev["provider_executed"] = True
        meta: dict[str, Any] = {}
        if not it.id.startswith("#"):
            meta["item_id"] = it.id
        if it.type != "function_call":
            meta["type"] = it.type
        if meta:
            ev["provider_metadata"] = {NAME: meta}
        out.append(ev)
        for frag in it.frags:  # fragments that came before the call id (a resumed stream)
            out.append({"type": "tool-input-delta", "id": it.call_id, "delta": frag})

    def _args(self, it: _Item, frag: str, out: list[dict[str, Any]]) -> None:
        """One fragment of a call's arguments (held back until the call has started)."""
        if not frag or it.done:
            return
        it.frags.append(frag)
        if it.started:
            out.append({"type": "tool-input-delta", "id": it.call_id, "delta": frag})

    def _on_args_delta(self, data: dict[str, Any], out: list[dict[str, Any]]) -> bool:
        """function_call_arguments.delta, mcp_call_arguments.delta: JSON text."""
        if not self.started:
            self._ensure(out)
        kind = "mcp_call" if data.get("type") == "response.mcp_call_arguments.delta" else "function_call"
        it = self._item_for(data, kind)
        self._args(it, _string(data, "delta"), out)
        self._hot_call(data, it, False)
        return True

    def _on_args_done(self, data: dict[str, Any], out: list[dict[str, Any]]) -> bool:
        """function_call_arguments.done, mcp_call_arguments.done: the call is complete."""
        if not self.started:
            self._ensure(out)
        kind = "mcp_call" if data.get("type") == "response.mcp_call_arguments.done" else "function_call"
        it = self._item_for(data, kind)
        if it.started and not it.done:
            self._complete(it, data.get("arguments") if isinstance(data.get("arguments"), str) else None, out)
        return True

    def _on_string_delta(self, data: dict[str, Any], out: list[dict[str, Any]]) -> bool:
        """custom_tool_call_input.delta, apply_patch_call_operation_diff.delta,
        code_interpreter_call_code.delta: a fragment of one string field of the input."""
        if not self.started:
            self._ensure(out)
        it = self._item_for(data, _STRING_EVENTS[data.get("type") or ""])
        delta = _string(data, "delta")
        if it.head is None:
            return True  # no known shape to stream into: the .done event gives the whole input
        if not it.streaming:
            it.streaming = True
            self._args(it, it.head + '"', out)
        self._args(it, _escape(delta), out)
        self._hot_call(data, it, True)
        return True

    def _hot_call(self, data: dict[str, Any], it: _Item, escape: bool) -> None:
        """The next fragments of this call, events of this type naming its item id, may take the
        hot path (see ResponsesNormalizer.feed): the item id stands for this item until the
        response ends (an item id, once known, is never moved to another item)."""
        wire, item_id = data.get("type"), data.get("item_id")
        if type(wire) is str and type(item_id) is str and self.items.get(item_id) is it:
            self.hot_call = (wire, item_id, it, escape)

    def _on_string_done(self, data: dict[str, Any], out: list[dict[str, Any]]) -> bool:
        """custom_tool_call_input.done, apply_patch_call_operation_diff.done,
        code_interpreter_call_code.done: the whole string; the call is complete."""
        if not self.started:
            self._ensure(out)
        kind = _STRING_EVENTS[data.get("type") or ""]
        it = self._item_for(data, kind)
        if not it.started or it.done:
            return True
        field = {"custom_tool_call": "input", "apply_patch_call": "diff"}.get(kind, "code")
        value = data.get(field)
        if not isinstance(value, str):
            return True
        if it.streaming:
            self._args(it, '"}', out)
        item = dict(it.item)
        if kind == "apply_patch_call":
            op = item.get("operation")
            item["operation"] = {**(op if isinstance(op, dict) else {}), "diff": value}
        else:
            item[field] = value
        self._complete(it, _item_arguments(kind, item), out)
        return True

    def _complete(self, it: _Item, arguments: str | None, out: list[dict[str, Any]]) -> None:
        """The call's arguments are complete: tool-input-end and its tool-call."""
        joined = "".join(it.frags)
        if not it.frags and arguments:
            self._args(it, arguments, out)
        elif arguments is None or (it.added and it.frags):
            arguments = joined  # the deltas, as received (they are the arguments)
        out.append({"type": "tool-input-end", "id": it.call_id})
        ev = tool_call(it.call_id, it.name, arguments)
        meta: dict[str, Any] = {}
        if not it.id.startswith("#"):
            meta["item_id"] = it.id
        if it.kind == "provider":
            ev["provider_executed"] = True
            meta["type"] = it.type
            meta.update(_provider_meta(it.type, it.item))
            meta.pop("status", None)  # the result says how it ended
        else:
            self.client_calls = True
            if it.type != "function_call":
                meta["type"] = it.type
            if it.type in wire_items.TOOL_NAMES:
                meta.update(wire_items.item_meta(it.type, it.item))
            else:
                for key in ("namespace", "caller"):  # caller: the program that made the call
                    if it.item.get(key):
                        meta[key] = it.item[key]
        if meta:
            ev["provider_metadata"] = {NAME: meta}
        out.append(ev)
        it.done = True

    def _tool_result(self, it: _Item, item: dict[str, Any]) -> dict[str, Any]:
        kind = it.type or ""
        status = item.get("status")
        if kind == "mcp_call":
            error = item.get("error")
            output: Any = error if error else item.get("output")
            is_error = bool(error) or status == "failed"
        else:
            if kind == "web_search_call":
                output = {"status": status} if status else {}
                action = item.get("action")
                if isinstance(action, dict) and action.get("sources"):
                    output["sources"] = action["sources"]
            elif kind == "image_generation_call":
                output = {k: v for k, v in item.items() if k not in ("id", "type")}
            else:
                output = {k: item[k] for k in _PROVIDER_OUTPUT[kind] if k in item}
            if item.get("error"):
                output["error"] = item["error"]
            is_error = status == "failed" or bool(item.get("error"))
        meta = {"item_id": it.id, "type": kind, **_provider_meta(kind, item)}
        return {
            "type": "tool-result",
            "tool_call_id": it.call_id,
            "tool_name": it.name,
            "output": output,
            "is_error": is_error,
            "provider_executed": True,
            "provider_metadata": {NAME: meta},
        }

    def _call_done(self, it: _Item, item: dict[str, Any], out: list[dict[str, Any]]) -> None:
        """A call item is done: its call completes (begun if need be), a provider-executed one
        with its result unless an output item of its own gives it.

        A ``shell_call`` that does not say where it runs (no ``environment``) is held until the
        next item: a ``shell_call_output`` of the same call id says the provider ran it (a hosted
        shell); anything else, or the response's end, that the client must run it."""
        if not it.done:
            unsaid = it.type == "shell_call" and it.kind == "client" and not item.get("environment")
            if unsaid and not it.waited:
                it.waited = True
                self.held = it
                return
            if it.call_id is None:
                it.call_id = self._new_call_id()
            if not it.started:
                self._end_block(out)
                self._start_call(it, out)
            if it.streaming:
                self._args(it, '"}', out)
            self._complete(it, _item_arguments(it.type, item), out)
        if it.kind == "provider" and it.type not in wire_items.OUTPUT_ITEMS:  # else its output item says
            out.append(self._tool_result(it, item))

    def _release(self, following: dict[str, Any] | None, out: list[dict[str, Any]]) -> None:
        """The held shell call, now that the item ``following`` it (None: the end) says who ran it."""
        held, self.held = self.held, None
        if held is None:
            return
        following = following or {}
        if following.get("type") == "shell_call_output" and following.get("call_id") == held.call_id:
            held.kind = "provider"
        self._call_done(held, held.item, out)

    def _answer_done(self, it: _Item, item: dict[str, Any], out: list[dict[str, Any]]) -> None:
        """An MCP approval request (→ ``tool-approval-request``), or the output item of a
        provider-run call (→ the call's ``tool-result``)."""
        self._end_block(out)
        if it.done:
            return
        it.done = True
        if it.kind == "approval":
            out.append(wire_items.approval_request(item))
            return
        kind = it.type or ""
        call_kind = wire_items.CALL_ITEMS[kind]
        call_id = _text(item, "call_id")
        # the call it answers: by call id, else the last call of its type still waiting
        waiting = [
            c for c in self.items.values() if c.kind == "provider" and c.type == call_kind and not c.answered
        ]
        call = next(
            (c for c in waiting if call_id and (c.call_id == call_id or c.item.get("call_id") == call_id)),
            None,
        )
        if call is None and not call_id and waiting:
            call = waiting[-1]
        output, is_error = wire_items.result_of(kind, item)
        meta = {"type": call_kind, **wire_items.output_meta(item)}
        if call is not None:
            call.answered = True
            if not call.id.startswith("#"):
                meta["item_id"] = call.id
        ev: dict[str, Any] = {
            "type": "tool-result",
            "tool_call_id": call.call_id if call is not None else (call_id or it.id),
            "tool_name": call.name if call is not None else wire_items.TOOL_NAMES[call_kind],
            "output": output,
            "is_error": is_error,
            "provider_executed": True,
            "provider_metadata": {NAME: meta},
        }
        out.append(ev)

    def _on_progress(self, data: dict[str, Any], out: list[dict[str, Any]]) -> bool:
        """Status events of provider-executed tools: the final item says it all."""
        if not self.started:
            self._ensure(out)
        return True


def _string_head(kind: Any, item: dict[str, Any]) -> str | None:
    """The JSON text that comes before a streamed string field's value in the call's arguments:
    ``{"input":`` for a custom tool, ``{"type":...,"path":...,"diff":`` for apply_patch,
    ``{"container_id":...,"code":`` for code_interpreter; None when the shape is unknown."""
    if kind == "custom_tool_call":
        return '{"input":'
    if kind == "apply_patch_call":
        op = item.get("operation")
        if not isinstance(op, dict) or op.get("type") == "delete_file":
            return None
        rest = {k: v for k, v in op.items() if k != "diff"}
        return (_dumps(rest)[:-1] + ("," if rest else "")) + '"diff":'
    if kind == "code_interpreter_call":
        cid = item.get("container_id")
        return ('{"container_id":' + _dumps(cid) + ',"code":') if cid else '{"code":'
    return None


def _item_arguments(kind: Any, item: dict[str, Any]) -> str | None:
    """A call's whole arguments (JSON text) from its item; None when the item does not say."""
    if kind in wire_items.TOOL_NAMES:
        return wire_items.item_arguments(kind, item)
    if kind == "function_call" or kind == "mcp_call":
        args = item.get("arguments")
        return args if isinstance(args, str) else None
    if kind == "custom_tool_call":
        text = item.get("input")
        return _dumps({"input": text}) if isinstance(text, str) else None
    if kind == "apply_patch_call":
        op = item.get("operation")
        if not isinstance(op, dict):
            return None
        if "diff" in op:
            op = {**{k: v for k, v in op.items() if k != "diff"}, "diff": op["diff"]}
        return _dumps(op)
    if kind == "web_search_call":
        args = item.get("arguments")
        if isinstance(args, str) and args:
            return args  # xAI: the search's arguments
        action = item.get("action")
        return _dumps({k: v for k, v in action.items() if k != "sources"} if isinstance(action, dict) else {})
    if kind == "code_interpreter_call":
        cid = item.get("container_id")
        return _dumps(
            {"container_id": cid, "code": item.get("code") or ""} if cid else {"code": item.get("code") or ""}
        )
    fields = _PROVIDER_INPUT.get(kind)
    if fields is None:
        return None
    return _dumps({k: item[k] for k in fields if k in item})


def _provider_meta(kind: Any, item: dict[str, Any]) -> dict[str, Any]:
    """A provider-executed item's fields that are neither its input nor its output."""
    skip: frozenset[str]
    if kind == "mcp_call":
        skip = _MCP_SKIP
    elif kind == "web_search_call":
        skip = _WEB_SEARCH_SKIP
    elif kind == "image_generation_call":
        return {}
    elif kind in wire_items.TOOL_NAMES:
        return wire_items.item_meta(kind, item)
    else:
        skip = _PROVIDER_SKIP.get(kind) or _provider_skip(kind)
    return {k: v for k, v in item.items() if k not in skip and v is not None}


def _provider_skip(kind: Any) -> frozenset[str]:
    return frozenset({"id", "type", "error", *_PROVIDER_INPUT.get(kind, ()), *_PROVIDER_OUTPUT.get(kind, ())})


# the fields of a provider-executed item that are not its metadata
_MCP_SKIP = frozenset({"id", "type", "name", "arguments", "output", "error"})
_WEB_SEARCH_SKIP = frozenset({"id", "type", "action", "arguments", "status", "error"})
_PROVIDER_SKIP = {kind: _provider_skip(kind) for kind in (*_PROVIDER_INPUT, *_PROVIDER_OUTPUT)}


# streamed-string events -> the item type they belong to
_STRING_EVENTS = {
    "response.custom_tool_call_input.delta": "custom_tool_call",
    "response.custom_tool_call_input.done": "custom_tool_call",
    "response.apply_patch_call_operation_diff.delta": "apply_patch_call",
    "response.apply_patch_call_operation_diff.done": "apply_patch_call",
    "response.code_interpreter_call_code.delta": "code_interpreter_call",
    "response.code_interpreter_call_code.done": "code_interpreter_call",
}
