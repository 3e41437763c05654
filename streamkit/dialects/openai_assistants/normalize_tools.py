"""Run steps' tool calls → canonical tool events: the part of the normalizer that reads
``thread.run.step.*`` (the client's ``function`` calls; ``code_interpreter`` and ``file_search``,
which the provider runs), a mixin of ``AssistantsNormalizer``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orjson import dumps

from ...canonical import tool_call
from ...errors import DataError
from ..base import wire_string
from .wire import _EXECUTED, NAME, _list, _obj


class _Call:
    """One tool call of a run step, as its deltas arrive."""

    __slots__ = ("args", "done", "id", "index", "kind", "name", "outputs", "result_sent", "search", "step")

    def __init__(self, call_id: str, kind: str, step: str, index: int) -> None:
        self.id = call_id
        self.kind = kind  # function, code_interpreter, file_search
        self.step = step
        self.index = index
        self.name = ""
        self.args: list[str] = []  # argument fragments (code_interpreter: JSON-escaped code)
        self.outputs: dict[int, dict[str, Any]] = {}  # code_interpreter outputs by index
        self.search: dict[str, Any] = {}  # the file_search object
        self.done = False  # tool-call written
        self.result_sent = False  # tool-result written (provider-executed)


class RunStepTools:
    """The tool calls of run steps, read into the state of ``AssistantsNormalizer``."""

    # the normalizer's state this part reads and writes (set in its __init__ and _reset)
    _generated: int
    call_id_prefix: str
    run_id: str | None
    steps_seen: set[str]
    step_runs: dict[str, str]
    calls: dict[tuple[str, int], _Call]
    by_id: dict[str, _Call]
    pending: list[_Call]
    emitted: list[str]

    if TYPE_CHECKING:  # the normalizer's own

        def _ensure_open(self, out: list[dict[str, Any]], run_id: Any) -> None: ...

        def _end_block(self, out: list[dict[str, Any]]) -> None: ...

    def _on_step(self, event: str, step: dict[str, Any]) -> list[dict[str, Any]]:
        step_id = step.get("id")
        if isinstance(step_id, str):
            self.steps_seen.add(step_id)
            if isinstance(step.get("run_id"), str):
                self.step_runs[step_id] = step["run_id"]
        return []

    def _on_step_delta(self, event: str, data: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        step_id = data.get("id")
        if not isinstance(step_id, str):
            raise DataError("thread.run.step.delta has no step id")
        delta = _obj(data.get("delta"), "thread.run.step.delta's delta")
        details = delta.get("step_details")
        if not isinstance(details, dict) or details.get("type") != "tool_calls":
            return out  # message_creation deltas say nothing the message events do not
        for tc in _list(details.get("tool_calls"), "step_details.tool_calls"):
            self._tool_delta(out, step_id, _obj(tc, "a tool_calls entry"))
        return out

    def _new_id(self) -> str:
        while True:
            candidate = f"{self.call_id_prefix}{self._generated}"
            self._generated += 1
            if candidate not in self.by_id:
                return candidate

    def _tool_delta(self, out: list[dict[str, Any]], step_id: str, tc: dict[str, Any]) -> None:
        index = tc.get("index")
        if not isinstance(index, int):
            index = len([k for k in self.calls if k[0] == step_id])
        call = self.calls.get((step_id, index))
        if call is None:
            kind = tc.get("type")
            if kind not in ("function", *_EXECUTED):
                raise DataError(f"unknown tool call type {kind!r} in a run step")
            fn = tc.get("function")
            if kind == "function" and isinstance(fn, dict) and fn.get("output") is not None:
                return  # already answered: the previous segment's call, completing
            self._ensure_open(out, self.run_id or self.step_runs.get(step_id))
            self._end_block(out)
            given = tc.get("id")
            call_id = given if isinstance(given, str) else self._new_id()
            call = _Call(call_id, kind, step_id, index)
            self.calls[(step_id, index)] = call
            self.by_id[call_id] = call
            self.pending.append(call)
            if kind == "function":
                call.name = wire_string(
                    (fn.get("name") if isinstance(fn, dict) else None) or "", "a function tool call's name"
                )
                out.append({"type": "tool-input-start", "id": call_id, "tool_name": call.name})
            else:
                call.name = kind
                out.append(
                    {"type": "tool-input-start", "id": call_id, "tool_name": kind, "provider_executed": True}
                )
                if kind == "code_interpreter":
                    call.args.append('{"input":"')
                    out.append({"type": "tool-input-delta", "id": call_id, "delta": '{"input":"'})
        if call.done and call.kind == "function":
            fn = tc.get("function")
            if isinstance(fn, dict) and fn.get("arguments"):
                raise DataError(f"arguments for tool call {call.id} arrived after the call was complete")
            return
        if call.kind == "function":
            fn = tc.get("function")
            if isinstance(fn, dict):
                if fn.get("name") and not call.name:
                    call.name = wire_string(fn["name"], "a function tool call's name")
                args = fn.get("arguments")
                if args and isinstance(args, str):
                    call.args.append(args)
                    out.append({"type": "tool-input-delta", "id": call.id, "delta": args})
        elif call.kind == "code_interpreter":
            ci = tc.get("code_interpreter")
            if isinstance(ci, dict):
                code = ci.get("input")
                if code and isinstance(code, str) and not call.done:
                    frag = dumps(code).decode()[1:-1]
                    call.args.append(frag)
                    out.append({"type": "tool-input-delta", "id": call.id, "delta": frag})
                for output in _list(ci.get("outputs"), "code_interpreter.outputs"):
                    if isinstance(output, dict):
                        key = output.get("index", len(call.outputs))
                        merged = call.outputs.setdefault(key, {})
                        merged.update({k: v for k, v in output.items() if k != "index"})
        else:
            fs = tc.get("file_search")
            if isinstance(fs, dict):
                call.search.update(fs)

    def _complete_calls(self, out: list[dict[str, Any]]) -> None:
        """Write the tool-call of every call still open (arguments as received so far)."""
        for call in self.pending:
            self._complete(out, call, None)
        self.pending = []

    def _complete(self, out: list[dict[str, Any]], call: _Call, final: dict[str, Any] | None) -> None:
        if call.done:
            return
        call.done = True
        if call.kind == "function":
            fn = final.get("function") if final is not None else None
            if (
                not call.args
                and isinstance(fn, dict)
                and isinstance(fn.get("arguments"), str)
                and fn["arguments"]
            ):
                call.args.append(fn["arguments"])
                out.append({"type": "tool-input-delta", "id": call.id, "delta": fn["arguments"]})
            if not call.name and isinstance(fn, dict) and fn.get("name"):
                call.name = wire_string(fn["name"], "a function tool call's name")
        elif call.kind == "code_interpreter":
            ci = final.get("code_interpreter") if final is not None else None
            if (
                len(call.args) == 1
                and isinstance(ci, dict)
                and isinstance(ci.get("input"), str)
                and ci["input"]
            ):
                frag = dumps(ci["input"]).decode()[1:-1]
                call.args.append(frag)
                out.append({"type": "tool-input-delta", "id": call.id, "delta": frag})
            call.args.append('"}')
            out.append({"type": "tool-input-delta", "id": call.id, "delta": '"}'})
        else:
            fs = final.get("file_search") if final is not None else None
            if isinstance(fs, dict):
                call.search.update(fs)
            query = {k: v for k, v in call.search.items() if k != "results"}
            arguments = dumps(query).decode()
            call.args.append(arguments)
            out.append({"type": "tool-input-delta", "id": call.id, "delta": arguments})
        out.append({"type": "tool-input-end", "id": call.id})
        arguments = "".join(call.args)
        ev = tool_call(call.id, call.name, arguments)
        if call.kind == "function":
            self.emitted.append(call.id)
        else:
            ev["provider_executed"] = True
            ev["provider_metadata"] = {NAME: {"step_id": call.step}}
        out.append(ev)

    def _result(
        self, out: list[dict[str, Any]], call: _Call, final: dict[str, Any] | None, error: Any = None
    ) -> None:
        """The tool-result of a provider-executed call, from the step's final snapshot."""
        if call.result_sent or call.kind == "function":
            return
        call.result_sent = True
        output: Any
        if error is not None:
            output = error
        elif call.kind == "code_interpreter":
            ci = final.get("code_interpreter") if final is not None else None
            if isinstance(ci, dict) and isinstance(ci.get("outputs"), list):
                output = ci["outputs"]
            else:
                output = [call.outputs[k] for k in sorted(call.outputs, key=str)]
        else:
            fs = final.get("file_search") if final is not None else None
            if isinstance(fs, dict):
                call.search.update(fs)
            output = call.search.get("results") or []
        out.append(
            {
                "type": "tool-result",
                "tool_call_id": call.id,
                "tool_name": call.name,
                "output": output,
                "is_error": error is not None,
                "provider_executed": True,
                "provider_metadata": {NAME: {"step_id": call.step}},
            }
        )

    def _whole_call(
        self, out: list[dict[str, Any]], call_id: str, name: str, arguments: str, run_id: Any = None
    ) -> None:
        """A client call known only whole (from required_action or a completed step)."""
        self._ensure_open(out, self.run_id or run_id)
        self._end_block(out)
        call = _Call(call_id, "function", "", -1)
        call.name = name
        self.by_id[call_id] = call
        out.append({"type": "tool-input-start", "id": call_id, "tool_name": name})
        if arguments:
            call.args.append(arguments)
            out.append({"type": "tool-input-delta", "id": call_id, "delta": arguments})
        self._complete(out, call, None)

    def _on_step_end(self, event: str, step: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        step_id = step.get("id")
        details = step.get("step_details")
        if (
            not isinstance(step_id, str)
            or not isinstance(details, dict)
            or details.get("type") != "tool_calls"
        ):
            return out
        failed = event != "thread.run.step.completed"
        error = step.get("last_error") or {
            "code": step.get("status") or "failed",
            "message": f"the step {event[16:]}",
        }
        finals = _list(details.get("tool_calls"), "step_details.tool_calls")
        seen: set[int] = set()
        for position, tc in enumerate(finals):
            tc = _obj(tc, "a tool_calls entry")
            call = self.by_id.get(tc["id"]) if isinstance(tc.get("id"), str) else None
            if call is None:
                call = self.calls.get((step_id, tc.get("index", position)))
            if call is None:
                kind = tc.get("type")
                fn = tc.get("function")
                if kind == "function":
                    if isinstance(fn, dict) and fn.get("output") is None and isinstance(tc.get("id"), str):
                        args = wire_string(fn.get("arguments") or "", "a function tool call's arguments")
                        name = wire_string(fn.get("name") or "", "a function tool call's name")
                        self._whole_call(out, tc["id"], name, args, step.get("run_id"))
                    continue  # answered: the previous segment's call
                if kind not in _EXECUTED:
                    raise DataError(f"unknown tool call type {kind!r} in a run step")
                self._ensure_open(out, step.get("run_id"))
                self._end_block(out)
                given = tc.get("id")
                call_id = given if isinstance(given, str) else self._new_id()
                call = _Call(call_id, kind, step_id, position)
                call.name = kind
                self.by_id[call_id] = call
                out.append(
                    {"type": "tool-input-start", "id": call_id, "tool_name": kind, "provider_executed": True}
                )
                if kind == "code_interpreter":
                    call.args.append('{"input":"')
                    out.append({"type": "tool-input-delta", "id": call_id, "delta": '{"input":"'})
            seen.add(id(call))
            self._complete(out, call, tc)
            self._result(out, call, tc, error if failed else None)
        for key, call in list(self.calls.items()):
            if key[0] == step_id and id(call) not in seen:
                self._complete(out, call, None)
                self._result(out, call, None, error if failed else None)
        self.pending = [c for c in self.pending if not c.done]
        return out
