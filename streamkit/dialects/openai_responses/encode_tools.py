"""Canonical tool calls → Responses output items, for the encoder: client calls written one item
after the other (a ``function_call`` streams its arguments; ``custom_tool_call`` and
``apply_patch_call`` items are written whole), and provider-executed tools as the item that
expresses them, with its progress events.

:class:`_ToolItems` is a mixin of :class:`~.encode.ResponsesEncoder`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...canonical import parse_arguments
from ..base import WireEvent
from .wire import _CLIENT_ITEMS, _PROVIDER_ITEMS, _dumps, _fits, _meta, _new_id

# other dialects' provider-executed tools -> the Responses item that expresses them
_FOREIGN_TOOLS = {
    "web_search": "web_search_call",
    "web_search_preview": "web_search_call",
    "google_search": "web_search_call",
    "browser_search": "web_search_call",
    "code_interpreter": "code_interpreter_call",
    "code_execution": "code_interpreter_call",
    "file_search": "file_search_call",
    "image_generation": "image_generation_call",
}

# the statuses each provider-executed item may have
_STATUSES = {
    "web_search_call": ("in_progress", "searching", "completed", "failed", "incomplete"),
    "file_search_call": ("in_progress", "searching", "completed", "incomplete", "failed"),
    "code_interpreter_call": ("in_progress", "completed", "incomplete", "interpreting", "failed"),
    "image_generation_call": ("in_progress", "completed", "generating", "failed"),
    "mcp_call": ("in_progress", "completed", "incomplete", "calling", "failed"),
}

_ITEM_PREFIX = {"function_call": "fc", "custom_tool_call": "ctc", "apply_patch_call": "apc"}


class _Call:
    """A client tool call on its way to the wire."""

    __slots__ = (
        "_item_id",
        "arguments",
        "complete",
        "frags",
        "id",
        "index",
        "input",
        "kind",
        "meta",
        "name",
        "sent",
        "wired",
    )

    def __init__(self, call_id: str, name: str, meta: dict[str, Any]) -> None:
        self.id = call_id
        self.name = name
        self.meta = dict(meta)
        kind = meta.get("type")
        self.kind = kind if kind in _CLIENT_ITEMS else "function_call"
        self.frags: list[str] = []
        self.sent = 0  # fragments already written
        self.complete = False  # its tool-call arrived
        self.arguments: str | None = None
        self.input: Any = None
        self.index = -1  # output_index, once on the wire
        self.wired = False
        self._item_id: str | None = None

    @property
    def item_id(self) -> str:
        """The item's id: the one it came with, else a new one; fixed once it is used."""
        if self._item_id is None:
            item_id = self.meta.get("item_id")
            self._item_id = (
                item_id if isinstance(item_id, str) else _new_id(_ITEM_PREFIX.get(self.kind, "fc"))
            )
        return self._item_id


class _ToolItems:
    """The tool calls of the response being written (a part of ResponsesEncoder)."""

    if TYPE_CHECKING:  # provided by ResponsesEncoder and Encoder
        calls: dict[str, _Call]
        queue: list[str]
        current: _Call | None
        tools: dict[str, dict[str, Any]]

        def drop(self, what: str) -> list[WireEvent]: ...

        def _ev(self, kind: str, **fields: Any) -> WireEvent: ...

        def _fresh_id(self, item_id: Any, prefix: str) -> str: ...

        def _add_item(self, item: dict[str, Any], out: list[WireEvent]) -> int: ...

        def _done_item(self, index: int, item: dict[str, Any], out: list[WireEvent]) -> None: ...

        def _ensure_open(self) -> list[WireEvent]: ...

        def _close_message(self, out: list[WireEvent], status: str = "completed") -> None: ...

        def _close_reasoning(self, out: list[WireEvent]) -> None: ...

    # --- client tool calls ----------------------------------------------------------------------

    def _call(self, call_id: str, name: str, meta: dict[str, Any]) -> _Call:
        call = self.calls.get(call_id)
        if call is None:
            call = self.calls[call_id] = _Call(call_id, name, meta)
        return call

    def _on_tool_input_start(self, ev: dict[str, Any]) -> list[WireEvent]:
        if ev.get("provider_executed"):
            return []  # written whole with its result
        out = self._ensure_open()
        call = self._call(ev["id"], ev.get("tool_name") or "", _meta(ev))
        if call.kind == "function_call":
            self._schedule(call, out)
        return out  # the other kinds are written whole, with their tool-call

    def _on_tool_input_delta(self, ev: dict[str, Any]) -> list[WireEvent]:
        call = self.calls.get(ev["id"])
        if call is None or call.complete:
            return []  # provider-executed, or no start: the tool-call carries the arguments
        call.frags.append(ev["delta"])
        if call is not self.current:
            return []  # held back until the call on the wire is done
        call.sent = len(call.frags)
        return [
            self._ev(
                "response.function_call_arguments.delta",
                item_id=call.item_id,
                output_index=call.index,
                delta=ev["delta"],
            )
        ]

    def _on_tool_call(self, ev: dict[str, Any]) -> list[WireEvent]:
        out = self._ensure_open()
        if ev.get("provider_executed"):
            self.tools[ev["tool_call_id"]] = ev
            return out
        meta = _meta(ev)
        call = self._call(ev["tool_call_id"], ev.get("tool_name") or "", meta)
        if call.complete:
            return out  # written already
        call.meta.update(meta)
        call.name = ev.get("tool_name") or call.name
        arguments = ev.get("arguments")
        if arguments is None:
            arguments = _dumps(ev.get("input") or {})
        call.arguments = arguments
        call.input = ev["input"] if "input" in ev else parse_arguments(arguments)[0]
        call.complete = True
        if not call.wired:
            kind = meta.get("type")
            call.kind = kind if kind in _CLIENT_ITEMS and _fits(kind, call.input) else "function_call"
            self._schedule(call, out)
        elif call is self.current:
            self._call_done(call, out)
            self._advance(out)
        return out

    def _schedule(self, call: _Call, out: list[WireEvent]) -> None:
        if call.wired or call.id in self.queue:
            return
        if self.current is None and not self.queue:
            self._wire(call, out)
        else:
            self.queue.append(call.id)

    def _advance(self, out: list[WireEvent]) -> None:
        while self.current is None and self.queue:
            self._wire(self.calls[self.queue.pop(0)], out)

    def _wire(self, call: _Call, out: list[WireEvent]) -> None:
        """Put a call on the wire: a function call streams from here; other kinds are whole."""
        self._close_message(out)
        self._close_reasoning(out)
        call.wired = True
        call._item_id = self._fresh_id(call.meta.get("item_id"), _ITEM_PREFIX.get(call.kind, "fc"))
        if call.kind != "function_call":
            self._whole_client_item(call, out)
            return
        item: dict[str, Any] = {
            "id": call.item_id,
            "type": "function_call",
            "status": "in_progress",
            "arguments": "",
            "call_id": call.id,
            "name": call.name,
        }
        call.index = self._add_item(item, out)
        self.current = call
        if call.frags:
            call.sent = len(call.frags)
            out.append(self._ev("response.function_call_arguments.delta", item_id=call.item_id,
                                output_index=call.index, delta="".join(call.frags)))  # fmt: skip
        if call.complete:
            self._call_done(call, out)

    def _call_done(self, call: _Call, out: list[WireEvent]) -> None:
        arguments = call.arguments if call.arguments is not None else "".join(call.frags)
        ids = {"item_id": call.item_id, "output_index": call.index}
        if not call.sent and arguments:
            out.append(self._ev("response.function_call_arguments.delta", **ids, delta=arguments))
        elif call.sent < len(call.frags):
            out.append(
                self._ev(
                    "response.function_call_arguments.delta", **ids, delta="".join(call.frags[call.sent :])
                )
            )
        call.sent = len(call.frags)
        out.append(self._ev("response.function_call_arguments.done", **ids, arguments=arguments))
        item: dict[str, Any] = {
            "id": call.item_id,
            "type": "function_call",
            "status": "completed",
            "arguments": arguments,
            "call_id": call.id,
            "name": call.name,
        }
        if call.meta.get("namespace"):
            item["namespace"] = call.meta["namespace"]
        self._done_item(call.index, item, out)
        if self.current is call:
            self.current = None

    def _whole_client_item(self, call: _Call, out: list[WireEvent]) -> None:
        """A custom tool or apply_patch call: added, its input, done."""
        base = {"id": call.item_id, "type": call.kind}
        if call.kind == "custom_tool_call":
            text = call.input["input"]
            fields = {"call_id": call.id, "name": call.name}
            index = self._add_item({**base, "status": "in_progress", **fields, "input": ""}, out)
            ids = {"item_id": call.item_id, "output_index": index}
            if text:
                out.append(self._ev("response.custom_tool_call_input.delta", **ids, delta=text))
            out.append(self._ev("response.custom_tool_call_input.done", **ids, input=text))
            self._done_item(index, {**base, "status": "completed", **fields, "input": text}, out)
        else:
            op = dict(call.input)
            begun = {**op, "diff": ""} if "diff" in op else op
            index = self._add_item(
                {**base, "status": "in_progress", "call_id": call.id, "operation": begun}, out
            )
            self._done_item(index, {**base, "status": "completed", "call_id": call.id, "operation": op}, out)

    # --- provider-executed tools ------------------------------------------------------------------

    def _on_tool_result(self, ev: dict[str, Any]) -> list[WireEvent]:
        if not ev.get("provider_executed"):
            return []  # a client tool's result belongs to the next request, not this stream
        out = self._ensure_open()
        call = self.tools.pop(ev["tool_call_id"], None)
        self._provider_item(call, ev, out)
        return out

    def _provider_item(self, call: dict[str, Any] | None, result: dict[str, Any] | None,
                       out: list[WireEvent]) -> None:  # fmt: skip
        """One provider-executed tool as the item that expresses it, with its progress events."""
        first = call or result
        assert first is not None
        meta = {**_meta(call), **_meta(result)}
        name = first.get("tool_name") or ""
        kind = meta.get("type") or _FOREIGN_TOOLS.get(name)
        if kind not in _PROVIDER_ITEMS:
            self.drop(f"provider-executed {name or 'tool'} calls")
            return
        self._close_message(out)
        self._close_reasoning(out)
        item_id = self._fresh_id(meta.get("item_id") or first.get("tool_call_id"), "tool")
        value = call.get("input") if call else None
        inp: dict[str, Any] = value if isinstance(value, dict) else {}
        output = result.get("output") if result else None
        failed = bool(result and result.get("is_error"))
        status = (
            (output.get("status") if isinstance(output, dict) else None)
            or meta.get("status")
            or ("failed" if failed else "completed" if result else "incomplete")
        )
        if status not in _STATUSES.get(kind, (status,)):  # another dialect's status word
            status = "failed" if failed else "completed"
        rest = {
            k: v for k, v in meta.items() if k not in ("item_id", "type", "status", "event", "server_label")
        }
        base = {"id": item_id, "type": kind}
        steps: list[str]
        if kind == "web_search_call":
            if inp.get("type") in ("search", "open_page", "find_in_page"):
                action = dict(inp)
            else:  # xAI's or another dialect's search input: kept as xAI does, beside the action
                action = {"type": "search", "query": str(inp.get("query") or "")}
                rest["arguments"] = (call.get("arguments") if call else None) or _dumps(inp)
            if isinstance(output, dict) and output.get("sources") and action["type"] == "search":
                action["sources"] = output["sources"]
            begun: dict[str, Any] = {**base, "status": "in_progress", "action": {"type": "search"}}
            done: dict[str, Any] = {**base, "status": status, "action": action, **rest}
            steps = ["in_progress", "searching", "completed"]
        elif kind == "file_search_call":
            queries = inp.get("queries")
            if not isinstance(queries, list):
                queries = [inp["query"]] if isinstance(inp.get("query"), str) else []
            results = output.get("results") if isinstance(output, dict) else None
            begun = {**base, "status": "in_progress", "queries": [], "results": None}
            done = {**base, "status": status, "queries": queries, "results": results, **rest}
            steps = ["in_progress", "searching", "completed"]
        elif kind == "code_interpreter_call":
            code = str(inp.get("code") or "")
            container = str(inp.get("container_id") or meta.get("container_id") or "")
            if isinstance(output, dict) and "outputs" in output:
                outputs = output["outputs"]
            elif output is None:
                outputs = None
            else:  # another dialect's code execution result
                outputs = [{"type": "logs", "logs": output if isinstance(output, str) else _dumps(output)}]
            begun = {**base, "status": "in_progress", "code": "", "container_id": container, "outputs": None}
            done = {
                **base,
                "status": status,
                "code": code,
                "container_id": container,
                "outputs": outputs,
                **rest,
            }
            steps = ["in_progress", f"code:{code}", "interpreting", "completed"]
        elif kind == "mcp_call":
            arguments = (call.get("arguments") if call else None) or "{}"
            server = str(meta.get("server_label") or "")
            error = None
            if failed:
                error = output if isinstance(output, dict) and output.get("type") else {
                    "type": "mcp_tool_execution_error", "content": output}  # fmt: skip
                output = None
            elif output is not None and not isinstance(output, str):
                output = _dumps(output)
            fields = {"name": name, "server_label": server}
            begun = {
                **base,
                "status": "in_progress",
                **fields,
                "arguments": "",
                "output": None,
                "error": None,
            }
            done = {**base, "status": "failed" if failed else "completed", **fields, "arguments": arguments,
                    "output": output, "error": error, **rest}  # fmt: skip
            steps = ["in_progress", f"arguments:{arguments}", "failed" if failed else "completed"]
        elif kind == "mcp_list_tools":
            server = str(inp.get("server_label") or meta.get("server_label") or "")
            tools = output.get("tools") if isinstance(output, dict) else None
            begun = {**base, "server_label": server, "tools": []}
            done = {**base, "server_label": server, "tools": tools or []}
            if isinstance(output, dict) and output.get("error"):
                done["error"] = (
                    output["error"] if isinstance(output["error"], str) else _dumps(output["error"])
                )
            steps = ["in_progress", "failed" if failed else "completed"]
        else:  # image_generation_call
            fields = {k: v for k, v in output.items() if k != "status"} if isinstance(output, dict) else {}
            begun = {**base, "status": "in_progress"}
            done = {**base, **fields, "status": status}
            steps = ["in_progress", "generating", "completed"]
        index = self._add_item({**begun, **{k: v for k, v in rest.items() if k in ("call_id", "name")}}, out)
        ids = {"item_id": item_id, "output_index": index}
        for step in steps:
            if step.startswith("code:"):
                code = step[5:]
                if code:
                    out.append(self._ev("response.code_interpreter_call_code.delta", **ids, delta=code))
                out.append(self._ev("response.code_interpreter_call_code.done", **ids, code=code))
            elif step.startswith("arguments:"):
                arguments = step[10:]
                out.append(self._ev("response.mcp_call_arguments.delta", **ids, delta=arguments))
                out.append(self._ev("response.mcp_call_arguments.done", **ids, arguments=arguments))
            elif step != "completed" or done.get("status", "completed") == "completed":
                out.append(self._ev(f"response.{kind}.{step}", **ids))
        self._done_item(index, done, out)
