"""Canonical tool calls → Responses output items, for the encoder: client calls written one item
after the other (a ``function_call`` streams its arguments, a ``custom_tool_call`` its input
string, decoded from the ``{"input": "..."}`` JSON as it arrives; ``apply_patch_call`` items are
written whole), and provider-executed tools as the item that expresses them, with its progress
events.

:class:`_ToolItems` is a mixin of :class:`~.encode.ResponsesEncoder`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import orjson

from ...canonical import parse_arguments
from ..base import PLAIN_COUNT, PLAIN_HOLE, PlainDelta, WireEvent
from . import items as wire_items
from .wire import _CLIENT_ITEMS, _PROVIDER_ITEMS, _dumps, _fits, _meta, _new_id

# other dialects' provider-executed tools -> the Responses item that expresses them
_FOREIGN_TOOLS = {
    "web_search": "web_search_call",
    "web_search_preview": "web_search_call",
    "google_search": "web_search_call",
    "google_search_web": "web_search_call",  # (a Gemini search's tool call: its toolType)
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

_ITEM_PREFIX = {"function_call": "fc", "custom_tool_call": "ctc", "apply_patch_call": "apc", "shell_call": "sh",
                "shell_call_output": "sho", "local_shell_call": "lsh", "computer_call": "cu",
                "tool_search_call": "tsc", "tool_search_output": "tso", "program": "cm",
                "program_output": "cmo"}  # fmt: skip

# the JSON before a custom tool's input string: {"input": "
_INPUT_HEAD = re.compile(r'\s*\{\s*"input"\s*:\s*"')
_PLAIN = re.compile(r'[^"\\]+')
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


class _InputStream:
    """The text of a custom tool's input as the JSON of its arguments (``{"input": "..."}``)
    arrives in fragments: :meth:`feed` returns what of the string it can decode so far (escapes
    split across fragments wait for their end). Arguments of another shape are not streamed
    (``off``): the item's ``.done`` events carry the whole input."""

    __slots__ = ("buffer", "state")

    def __init__(self) -> None:
        self.buffer = ""  # the head, until the string begins; then an escape not yet complete
        self.state = "head"  # head, string, end, off

    def feed(self, frag: str) -> str:
        if self.state == "head":
            self.buffer += frag
            match = _INPUT_HEAD.match(self.buffer)
            if match is None:
                if len(self.buffer) > 64:
                    self.state = "off"
                return ""
            frag, self.buffer, self.state = self.buffer[match.end() :], "", "string"
        if self.state != "string":
            return ""
        text, self.buffer = self.buffer + frag, ""
        out: list[str] = []
        i, n = 0, len(text)
        while i < n:
            plain = _PLAIN.match(text, i)
            if plain is not None:
                out.append(plain.group())
                i = plain.end()
                continue
            if text[i] == '"':
                self.state = "end"
                break
            # a backslash: an escape, perhaps not all here yet
            if i + 1 >= n:
                self.buffer = text[i:]
                break
            kind = text[i + 1]
            if kind != "u":
                if kind not in _ESCAPES:
                    self.state = "off"
                    break
                out.append(_ESCAPES[kind])
                i += 2
                continue
            size = 12 if text[i + 2 : i + 4].upper() in ("D8", "D9", "DA", "DB") else 6  # a surrogate pair
            if i + size > n:
                self.buffer = text[i:]
                break
            try:
                out.append(orjson.loads(f'"{text[i : i + size]}"'))
            except orjson.JSONDecodeError:
                self.state = "off"
                break
            i += size
        return "".join(out)


def custom_input(value: Any, arguments: str | None) -> str:
    """A custom tool call's input string from the canonical input: ``{"input": s}``; an object of
    one string (a model that named the field otherwise) or a string as it is; else the arguments'
    JSON text, so that the client still gets what the model wrote."""
    if isinstance(value, dict):
        if isinstance(value.get("input"), str):
            return str(value["input"])
        if len(value) == 1:
            (only,) = value.values()
            if isinstance(only, str):
                return only
    if isinstance(value, str):
        return value
    if arguments is not None:
        return arguments
    return _dumps(value if value is not None else {})


def _type(meta: dict[str, Any]) -> str | None:
    """The item type a call's metadata names (None for anything but a string)."""
    kind = meta.get("type")
    return kind if isinstance(kind, str) else None


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
        "stream",
        "streamed",
        "wired",
    )

    def __init__(self, call_id: str, name: str, meta: dict[str, Any], custom: bool = False) -> None:
        self.id = call_id
        self.name = name
        self.meta = dict(meta)
        kind = _type(meta)
        # a call to a tool the request declared as custom is a custom_tool_call, whatever the
        # upstream made of it (a function taking {"input": ...})
        self.kind = kind if kind in _CLIENT_ITEMS else "custom_tool_call" if custom else "function_call"
        self.stream: _InputStream | None = None  # a custom tool's input, decoded as it arrives
        self.streamed: list[str] = []  # the input text written in deltas
        self.frags: list[str] = []
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
        custom_tools: frozenset[str]
        namespaces: dict[str, str]
        calls: dict[str, _Call]
        queue: list[str]
        current: _Call | None
        tools: dict[str, dict[str, Any]]
        templates: dict[tuple[str, str], PlainDelta]
        templates_wanted: bool
        plain_delta: PlainDelta | None

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
            space = self.namespaces.get(name)
            if space and not meta.get("namespace"):
                meta = {**meta, "namespace": space}
            call = self.calls[call_id] = _Call(call_id, name, meta, name in self.custom_tools)
        return call

    def _on_tool_input_start(self, ev: dict[str, Any]) -> list[WireEvent]:
        if ev.get("provider_executed"):
            return []  # written whole with its result
        out = self._ensure_open()
        call = self._call(ev["id"], ev.get("tool_name") or "", _meta(ev))
        if call.kind in ("function_call", "custom_tool_call"):
            self._schedule(call, out)
        return out  # an apply_patch call is written whole, with its tool-call

    def _on_tool_input_delta(self, ev: dict[str, Any]) -> list[WireEvent]:
        call = self.calls.get(ev["id"])
        if call is None or call.complete:
            return []  # provider-executed, or no start: the tool-call carries the arguments
        call.frags.append(ev["delta"])
        if call is not self.current:
            return []  # held back until the call on the wire is done
        if call.kind == "custom_tool_call":
            return self._input_delta(call, ev["delta"])
        if ev["delta"] and self.templates_wanted and len(ev) == 3:
            self._arguments_template(ev, call)
        return [
            self._ev(
                "response.function_call_arguments.delta",
                item_id=call.item_id,
                output_index=call.index,
                delta=ev["delta"],
            )
        ]

    def _arguments_template(self, ev: dict[str, Any], call: _Call) -> None:
        """The next fragment of the arguments of the call on the wire (see Encoder.plain_delta):
        it goes on the call's fragments and takes the next sequence number."""
        key = ("response.function_call_arguments.delta", ev["id"])
        template = self.templates.get(key)
        if template is None or template.fragments is not call.frags:
            data = {"type": key[0], "item_id": call.item_id, "output_index": call.index, "delta": PLAIN_HOLE,
                    "sequence_number": PLAIN_COUNT}  # fmt: skip
            template = self.templates[key] = PlainDelta(
                "tool-input-delta", ev["id"], key[0], data, fragments=call.frags, counter="seq"
            )
        self.plain_delta = template

    def _input_delta(self, call: _Call, frag: str) -> list[WireEvent]:
        """A fragment of a custom tool call's arguments: the input text it completes, if any."""
        if call.stream is None:
            call.stream = _InputStream()
        text = call.stream.feed(frag)
        if not text:
            return []
        call.streamed.append(text)
        return [
            self._ev(
                "response.custom_tool_call_input.delta",
                item_id=call.item_id,
                output_index=call.index,
                delta=text,
            )
        ]

    def _on_tool_call(self, ev: dict[str, Any]) -> list[WireEvent]:
        out = self._ensure_open()
        if ev.get("provider_executed"):
            kind = _type(_meta(ev))
            if kind in wire_items.OUTPUT_ITEMS:
                self._provider_call_item(kind, ev, out)
            else:
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
            kind = _type(meta) or call.kind
            if kind == "custom_tool_call" and call.name in self.custom_tools:
                call.kind = kind  # any input: the client declared a custom tool
            else:
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
        """Put a call on the wire: a function call or custom tool call streams from here; an
        apply_patch call is whole."""
        self._close_message(out)
        self._close_reasoning(out)
        call.wired = True
        call._item_id = self._fresh_id(call.meta.get("item_id"), _ITEM_PREFIX.get(call.kind, "fc"))
        if call.kind == "custom_tool_call":
            self._wire_custom(call, out)
            return
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
        if call.meta.get("namespace"):
            item["namespace"] = call.meta["namespace"]
        call.index = self._add_item(item, out)
        self.current = call
        if call.frags:
            out.append(self._ev("response.function_call_arguments.delta", item_id=call.item_id,
                                output_index=call.index, delta="".join(call.frags)))  # fmt: skip
        if call.complete:
            self._call_done(call, out)

    def _wire_custom(self, call: _Call, out: list[WireEvent]) -> None:
        """A custom tool call on the wire: added, its input streamed as it comes."""
        item = {"id": call.item_id, "type": "custom_tool_call", "status": "in_progress",
                "call_id": call.id, "name": call.name, "input": ""}  # fmt: skip
        if call.meta.get("namespace"):
            item["namespace"] = call.meta["namespace"]
        call.index = self._add_item(item, out)
        self.current = call
        if call.frags and not call.complete:
            out.extend(self._input_delta(call, "".join(call.frags)))
        if call.complete:
            self._call_done(call, out)

    def _custom_done(self, call: _Call, out: list[WireEvent]) -> None:
        """The rest of a custom tool call's input, its ``.done`` events."""
        streamed = "".join(call.streamed)
        if call.input is None and streamed:
            text = streamed  # cut off upstream: the input as far as it came
        else:
            text = custom_input(
                call.input, call.arguments if call.arguments is not None else "".join(call.frags)
            )
        ids = {"item_id": call.item_id, "output_index": call.index}
        if text.startswith(streamed) and len(text) > len(streamed):
            out.append(self._ev("response.custom_tool_call_input.delta", **ids, delta=text[len(streamed) :]))
        out.append(self._ev("response.custom_tool_call_input.done", **ids, input=text))
        item = {"id": call.item_id, "type": "custom_tool_call", "status": "completed",
                "call_id": call.id, "name": call.name, "input": text}  # fmt: skip
        if call.meta.get("namespace"):
            item["namespace"] = call.meta["namespace"]
        self._done_item(call.index, item, out)
        if self.current is call:
            self.current = None

    def _call_done(self, call: _Call, out: list[WireEvent]) -> None:
        if call.kind == "custom_tool_call":
            self._custom_done(call, out)
            return
        arguments = call.arguments if call.arguments is not None else "".join(call.frags)
        ids = {"item_id": call.item_id, "output_index": call.index}
        # (the call on the wire, whose every fragment was written as it came: the arguments go
        # whole where none came)
        if not call.frags and arguments:
            out.append(self._ev("response.function_call_arguments.delta", **ids, delta=arguments))
        out.append(self._ev("response.function_call_arguments.done", **ids, arguments=arguments))
        item: dict[str, Any] = {
            "id": call.item_id,
            "type": "function_call",
            "status": "completed",
            "arguments": arguments,
            "call_id": call.id,
            "name": call.name,
        }
        for key in ("namespace", "caller"):
            if call.meta.get(key):
                item[key] = call.meta[key]
        self._done_item(call.index, item, out)
        if self.current is call:
            self.current = None

    def _whole_client_item(self, call: _Call, out: list[WireEvent]) -> None:
        """An apply_patch, shell, local shell, computer or tool search call: added, done."""
        if call.kind in wire_items.WHOLE_ITEMS:
            meta = {**call.meta, "item_id": call.item_id}
            done = wire_items.rebuild(call.kind, call.id, call.input, meta)
            index = self._add_item(
                wire_items.rebuild(call.kind, call.id, call.input, meta, status="in_progress"), out
            )
            self._done_item(index, done, out)
            return
        base = {"id": call.item_id, "type": call.kind}
        op = dict(call.input)
        begun = {**op, "diff": ""} if "diff" in op else op
        index = self._add_item({**base, "status": "in_progress", "call_id": call.id, "operation": begun}, out)
        self._done_item(index, {**base, "status": "completed", "call_id": call.id, "operation": op}, out)

    # --- provider-executed tools ------------------------------------------------------------------

    def _on_tool_result(self, ev: dict[str, Any]) -> list[WireEvent]:
        if not ev.get("provider_executed"):
            return []  # a client tool's result belongs to the next request, not this stream
        out = self._ensure_open()
        call = self.tools.pop(ev["tool_call_id"], None)
        kind = _type(_meta(ev))
        if call is None and kind in wire_items.OUTPUT_ITEMS:
            self._output_item(kind, ev, out)  # its call item is written already (or came before)
            return out
        self._provider_item(call, ev, out)
        return out

    def _provider_call_item(self, kind: str, ev: dict[str, Any], out: list[WireEvent]) -> None:
        """A provider-run shell call, tool search or program, written when its call arrives (its
        output is an item of its own, written with its result)."""
        self._close_message(out)
        self._close_reasoning(out)
        meta = _meta(ev)
        item_id = self._fresh_id(meta.get("item_id") or ev.get("tool_call_id"), _ITEM_PREFIX.get(kind, "tc"))
        # an item with no call id of its own (a server tool search) was called by its item id
        call_id = ev["tool_call_id"] if ev["tool_call_id"] != meta.get("item_id") else None
        meta = {**meta, "item_id": item_id}
        value = ev.get("input")
        if value is None:
            value = {}
        index = self._add_item(wire_items.rebuild(kind, call_id, value, meta, status="in_progress"), out)
        self._done_item(index, wire_items.rebuild(kind, call_id, value, meta), out)

    def _output_item(self, kind: str, result: dict[str, Any], out: list[WireEvent]) -> None:
        """The output item of a provider-run call (``shell_call_output``, ...)."""
        self._close_message(out)
        self._close_reasoning(out)
        meta = _meta(result)
        call_id = result["tool_call_id"] if result["tool_call_id"] != meta.get("item_id") else None
        done = wire_items.output_item(wire_items.OUTPUT_ITEMS[kind], call_id, result)
        done["id"] = self._fresh_id(done["id"], _ITEM_PREFIX.get(done["type"], "tco"))
        field = {"shell_call_output": "output", "tool_search_output": "tools"}.get(done["type"], "result")
        # a program's output has no in_progress status: it is added with its final one
        begun = {**done, "status": done["status"] if field == "result" else "in_progress",
                 field: "" if field == "result" else []}  # fmt: skip
        index = self._add_item(begun, out)
        self._done_item(index, done, out)

    def _server_custom_item(self, call: dict[str, Any] | None, result: dict[str, Any] | None,
                            out: list[WireEvent]) -> None:  # fmt: skip
        """A custom tool the provider ran (xAI's server-side searches): added as it was done, as
        ``completed`` (which tells the normalizer so), with its input."""
        first = call or result
        assert first is not None
        self._close_message(out)
        self._close_reasoning(out)
        meta = {**_meta(call), **_meta(result)}
        text = custom_input(call.get("input") if call else None, call.get("arguments") if call else None)
        item = {"call_id": str(meta.get("call_id") or first.get("tool_call_id") or ""), "input": text,
                "name": first.get("tool_name") or "", "type": "custom_tool_call",
                "id": self._fresh_id(meta.get("item_id"), "ctc"), "status": "completed"}  # fmt: skip
        index = self._add_item(item, out)
        self._done_item(index, item, out)

    def _on_approval_request(self, ev: dict[str, Any]) -> list[WireEvent]:
        """The provider's approval request (an MCP call): an ``mcp_approval_request`` item.
        run-tools' own questions about client calls are no part of the response."""
        if not ev.get("provider_executed"):
            return []
        out = self._ensure_open()
        self._close_message(out)
        self._close_reasoning(out)
        item = wire_items.approval_item(
            ev, self._fresh_id(_meta(ev).get("item_id") or ev["tool_call_id"], "mcpr")
        )
        index = self._add_item(item, out)
        self._done_item(index, item, out)
        return out

    def _provider_item(self, call: dict[str, Any] | None, result: dict[str, Any] | None,
                       out: list[WireEvent]) -> None:  # fmt: skip
        """One provider-executed tool as the item that expresses it, with its progress events."""
        first = call or result
        assert first is not None
        meta = {**_meta(call), **_meta(result)}
        name = first.get("tool_name") or ""
        kind = _type(meta) or _FOREIGN_TOOLS.get(name)
        if kind == "custom_tool_call":
            self._server_custom_item(call, result, out)
            return
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
            elif isinstance(output, list) and action["type"] == "search":  # (Anthropic's results: the pages)
                pages = [
                    {"type": "url", "url": r["url"]}
                    for r in output
                    if isinstance(r, dict) and isinstance(r.get("url"), str)
                ]
                if pages:
                    action["sources"] = pages
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
