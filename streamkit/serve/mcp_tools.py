"""Server-side MCP tools for the gateway: a Responses request's ``mcp`` tools and an Anthropic
request's ``mcp_servers`` are run here, between the client and an upstream of any dialect.

:func:`mcp_answer` is called first by :meth:`UpstreamSource.answer
<streamkit.serve.gateway.UpstreamSource.answer>`; for a request that names MCP servers it
answers instead (None otherwise):

1. Earlier turns (:mod:`.mcp_request`) become the upstream's own function calls and tool
   results; an approval answered in the input is carried out now (approved: run; denied: the
   model gets a tool result saying the user denied it, which it can act on).
2. Each server without a listing in the input is listed (:mod:`.mcp_client`): a Responses client
   gets an ``mcp_list_tools`` item, failed with its ``error`` when the server is down, and the
   response goes on without that server's tools (a warning on stderr says so).
3. The allowed tools are offered to the upstream as functions (their own names, or
   ``<label>__<tool>`` where two would clash: :func:`.mcp_request.function_name`).
4. Round by round: the upstream's stream goes to the client as it comes, except its calls to MCP
   tools. When the round ends those calls run (concurrently) and are written as provider-executed
   tool events (Responses ``mcp_call`` items, Anthropic ``mcp_tool_use`` / ``mcp_tool_result``
   blocks); a call that needs approval is written as an ``mcp_approval_request`` and ends the
   response, as does a call to one of the client's own functions. Otherwise the tool results go
   back to the upstream as its tool-result turns, and the next round begins.
5. After ``--max-tool-rounds`` rounds of calls, a model that still calls gets no more runs: the
   response ends incomplete (Responses ``incomplete_details.reason: "max_tool_rounds"``, Anthropic
   ``stop_reason: "pause_turn"``, which asks the client to send the conversation again).

The client sees one response: one ``start`` (the first round's), one ``finish`` (the last
round's, with the usage of every round added up).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import orjson

from .. import diagnostics
from ..canonical import parse_arguments
from .mcp_client import Connection, Outcome, ServerError, Tool
from .mcp_request import ANTHROPIC, RESPONSES, Plan, Server, function_name, plan
from .sources import Answer, Call

Batch = list[dict[str, Any]]
DENIED = "The user denied this call of the {name} tool; it was not run."
_USAGE = ("input_tokens", "output_tokens", "total_tokens", "cached_input_tokens", "reasoning_tokens")


def _id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


async def mcp_answer(source: Any, call: Call) -> Answer | None:
    """The answer to a request that names MCP servers; None for any other request."""
    found = plan(call.dialect.name, call.parsed.conversation, call.parsed.dropped)
    if found is None:
        return None
    return await _Loop(source, call, found).begin()


class _Loop:
    """One client request's tool loop."""

    def __init__(self, source: Any, call: Call, found: Plan) -> None:
        self.source = source
        self.call = call
        self.plan = found
        self.client = call.dialect.name
        self.max_rounds = int(getattr(source, "max_tool_rounds", 5))
        self.connections = {
            s.label: Connection(s.url, s.headers, source.connect_timeout, source.read_timeout) for s in found.servers
        }  # fmt: skip
        self.functions: dict[str, tuple[Server, Tool]] = {}  # upstream function name -> its tool
        self.by_tool: dict[tuple[str, str], str] = {}  # (label, tool) -> function name
        self.conversation: dict[str, Any] = found.conversation
        self.usage: dict[str, int] = {}
        self._pending: dict[str, dict[str, Any]] = {}  # this round's results, by call id

    # --- before the first round ------------------------------------------------------------------

    async def begin(self) -> Answer:
        prefix: Batch = []
        listings = await asyncio.gather(*(self._listing(s) for s in self.plan.servers))
        taken = {t.get("name") for t in self.conversation.get("tools") or () if isinstance(t, dict)}
        declared = []
        for server, (tools, events) in zip(self.plan.servers, listings):
            prefix += events
            for tool in tools:
                if not server.allows(tool):
                    continue
                name = function_name(server.label, tool.name, taken)  # type: ignore[arg-type]
                taken.add(name)
                self.functions[name] = (server, tool)
                self.by_tool[(server.label, tool.name)] = name
                decl: dict[str, Any] = {"name": name, "parameters": tool.input_schema}
                description = tool.description or ""
                if server.description:
                    description = f"{description} (MCP server {server.label}: {server.description})".strip()
                if description:
                    decl["description"] = description
                declared.append(decl)
        messages = list(self.conversation.get("messages") or ())
        inserts: list[tuple[int, Batch]] = []
        for at, call_id, label, name, arguments, text, is_error in self.plan.history:
            inserts.append((at, self._turn(call_id, label, name, arguments, text, is_error)))
        for decision in self.plan.decisions:
            call_id = _id("mcp")
            if decision.approve:
                outcome = await self._run(decision.server_label, decision.name, decision.arguments)
            else:
                said = f" ({decision.reason})" if decision.reason else ""
                outcome = Outcome(DENIED.format(name=decision.name) + said, True)
            inserts.append((decision.at, self._turn(call_id, decision.server_label, decision.name,
                                                    decision.arguments, outcome.text, outcome.is_error)))  # fmt: skip
            if decision.approve:
                prefix += self._call_events(call_id, decision.server_label, decision.name, decision.arguments,
                                            outcome, decision.request_id)  # fmt: skip
        self.conversation = {
            **self.conversation,
            "messages": _merge(messages, inserts),
            "tools": [*(self.conversation.get("tools") or ()), *declared],
        }
        answer = await self._ask(first=True)
        if answer.error is not None or answer.events is None:
            return answer
        return Answer(events=self._rounds(answer.events, prefix))

    async def _listing(self, server: Server) -> tuple[list[Tool], Batch]:
        """The server's tools, and the events that say so (none when the input listed them)."""
        if server.listed is not None:
            return server.listed, []
        try:
            tools = await self.connections[server.label].list_tools()
            error = None
        except ServerError as exc:
            tools, error = [], str(exc)
            diagnostics.warn(f"the MCP server {server.label!r} could not list its tools ({error}); "
                             "answering without them")  # fmt: skip
        if self.client != RESPONSES:
            return tools, []
        list_id = _id("mcpl")
        meta = {RESPONSES: {"item_id": list_id, "type": "mcp_list_tools"}}
        arguments = orjson.dumps({"server_label": server.label}).decode()
        output: dict[str, Any] = {"tools": [t.item() for t in tools if server.allows(t)]}
        if error is not None:
            output["error"] = f"could not list the tools of {server.url}: {error}"
        return tools, [
            {"type": "tool-call", "tool_call_id": list_id, "tool_name": "mcp_list_tools", "arguments": arguments,
             "input": {"server_label": server.label}, "provider_executed": True, "provider_metadata": meta},
            {"type": "tool-result", "tool_call_id": list_id, "tool_name": "mcp_list_tools", "output": output,
             "is_error": error is not None, "provider_executed": True, "provider_metadata": meta},
        ]  # fmt: skip

    def _turn(self, call_id: str, label: str, name: str, arguments: str, text: str, is_error: bool) -> Batch:
        """An MCP call of an earlier turn as the upstream's own: its function call, its result."""
        function = self.by_tool.get((label, name), name)
        value, _ = parse_arguments(arguments)
        part = {"type": "tool-call", "tool_call_id": call_id, "tool_name": function, "arguments": arguments,
                "input": value if isinstance(value, dict) else {}}  # fmt: skip
        result: dict[str, Any] = {
            "role": "tool",
            "tool_call_id": call_id,
            "tool_name": function,
            "output": text,
        }
        if is_error:
            result["is_error"] = True
        return [{"role": "assistant", "content": [part]}, result]

    # --- rounds ------------------------------------------------------------------------------------

    async def _ask(self, *, first: bool = False) -> Answer:
        """The upstream's answer to the conversation so far (through the gateway's own path)."""
        parsed = replace(self.call.parsed, conversation=self.conversation,
                         dropped=self.plan.dropped if first else [])  # fmt: skip
        answer: Answer = await self.source.answer(replace(self.call, parsed=parsed))
        return answer

    async def _rounds(self, events: AsyncIterator[Batch], prefix: Batch) -> AsyncIterator[Batch]:
        from ..stages.accumulate import Accumulator

        rounds = 0
        started = False
        try:
            while True:
                accumulator = Accumulator()
                ours: set[str] = set()  # the ids of this round's MCP calls
                calls: list[dict[str, Any]] = []
                client_calls = False
                finish: dict[str, Any] | None = None
                failed = False
                made: list[dict[str, Any]] = []  # the round's message, once accumulated
                async for batch in events:
                    out: Batch = []
                    for ev in batch:
                        made += (m for m in accumulator.feed(ev) if m.get("type") == "message")
                        kind = ev.get("type")
                        if kind == "start":
                            if not started:
                                started = True
                                out.append(ev)
                                out += prefix
                        elif kind == "finish":
                            finish = ev
                        elif kind == "tool-input-start" and ev.get("tool_name") in self.functions:
                            ours.add(ev["id"])
                        elif kind in ("tool-input-delta", "tool-input-end") and ev.get("id") in ours:
                            pass  # written whole, with its result
                        elif kind == "tool-call" and ev.get("tool_name") in self.functions:
                            calls.append(ev)
                        else:
                            if kind == "tool-call":
                                client_calls = True
                            elif kind == "error":
                                failed = True
                            out.append(ev)
                    if out:
                        yield out
                await events.aclose()  # type: ignore[attr-defined]
                self._add_usage(finish)
                if failed or finish is None or not calls:
                    yield [self._final(finish)] if finish is not None else []
                    return
                if rounds >= self.max_rounds:
                    yield [self._limit(finish)]
                    return
                rounds += 1
                results, asked = await self._run_round(calls)
                yield results
                if asked or client_calls:
                    yield [self._final(finish)]
                    return
                made += (m for m in accumulator.close() if m.get("type") == "message")
                message = made[0] if made else None
                content = message.get("content", []) if message else []
                tool_messages = [m for m in results if m.get("type") == "tool-result"]
                self.conversation = {**self.conversation, "messages": [
                    *self.conversation.get("messages", []), {"role": "assistant", "content": content},
                    *({"role": "tool", "tool_call_id": r["tool_call_id"], "tool_name": r["function"],
                       "output": r["text"], **({"is_error": True} if r["is_error"] else {})}
                      for r in (self._pending.pop(m["tool_call_id"]) for m in tool_messages))]}  # fmt: skip
                answer = await self._ask()
                if answer.error is not None or answer.events is None:
                    error = answer.error
                    message_text = (
                        error.message if error is not None else "the upstream answered with nothing"
                    )
                    yield [{"type": "error", "message": message_text, **({"code": error.code} if error and error.code else {})},
                           {"type": "finish", "finish_reason": "error", "usage": dict(self.usage)}]  # fmt: skip
                    return
                events = answer.events
        finally:
            await events.aclose()  # type: ignore[attr-defined]

    async def _run_round(self, calls: list[dict[str, Any]]) -> tuple[Batch, bool]:
        """Run the round's MCP calls that need no approval (at once, side by side); the events of
        every call, and whether one waits for approval."""
        self._pending = {}
        asked = False
        runs = []
        for ev in calls:
            server, tool = self.functions[ev["tool_name"]]
            if self.client == RESPONSES and server.needs_approval(tool):
                asked = True
            runs.append((ev, server, tool))
        outcomes = await asyncio.gather(*(
            self._run(server.label, tool.name, ev.get("arguments") or "{}")
            for ev, server, tool in runs
            if not (self.client == RESPONSES and server.needs_approval(tool))
        ))  # fmt: skip
        out: Batch = []
        done = iter(outcomes)
        for ev, server, tool in runs:
            arguments = ev.get("arguments") or "{}"
            if self.client == RESPONSES and server.needs_approval(tool):
                request_id = _id("mcpr")
                value, _ = parse_arguments(arguments)
                out.append({"type": "tool-approval-request", "tool_call_id": request_id, "tool_name": tool.name,
                            "arguments": arguments, "input": value, "provider_executed": True,
                            "provider_metadata": {RESPONSES: {"item_id": request_id, "type": "mcp_approval_request",
                                                              "server_label": server.label}}})  # fmt: skip
                continue
            outcome = next(done)
            call_id = ev["tool_call_id"]
            out += self._call_events(call_id, server.label, tool.name, arguments, outcome)
            self._pending[call_id] = {"tool_call_id": call_id, "function": ev["tool_name"], "text": outcome.text,
                                      "is_error": outcome.is_error}  # fmt: skip
        return out, asked

    async def _run(self, label: str, name: str, arguments: str) -> Outcome:
        connection = self.connections.get(label)
        if connection is None:
            return Outcome(f"no MCP server labelled {label!r} in this request", True,
                           {"type": "mcp_tool_execution_error", "content": [{"type": "text", "text": "unknown server"}]})  # fmt: skip
        value, error = parse_arguments(arguments)
        if error or not isinstance(value, dict):
            text = f"the arguments are not a JSON object: {error or arguments[:80]}"
            return Outcome(
                text, True, {"type": "mcp_tool_execution_error", "content": [{"type": "text", "text": text}]}
            )
        return await connection.call(name, value)

    def _call_events(self, call_id: str, label: str, name: str, arguments: str, outcome: Outcome,
                     approval_id: str | None = None) -> Batch:  # fmt: skip
        """A call the gateway ran, as the client's dialect writes a provider-executed MCP call."""
        value, _ = parse_arguments(arguments)
        item_id = call_id if call_id.startswith("mcp_") else f"mcp_{call_id}"
        responses: dict[str, Any] = {"item_id": item_id, "type": "mcp_call", "server_label": label}
        if approval_id:
            responses["approval_request_id"] = approval_id
        output: Any
        if self.client == ANTHROPIC:
            output = [{"type": "text", "text": outcome.text}]
        elif outcome.is_error:
            output = outcome.error or {
                "type": "mcp_tool_execution_error",
                "content": [{"type": "text", "text": outcome.text}],
            }
        else:
            output = outcome.text
        call_meta = {RESPONSES: responses, ANTHROPIC: {"type": "mcp_tool_use", "server_name": label}}
        result_meta = {
            RESPONSES: responses,
            ANTHROPIC: {"type": "mcp_tool_result", "is_error": outcome.is_error},
        }
        return [
            {"type": "tool-call", "tool_call_id": call_id, "tool_name": name, "arguments": arguments, "input": value,
             "provider_executed": True, "provider_metadata": call_meta},
            {"type": "tool-result", "tool_call_id": call_id, "tool_name": name, "output": output,
             "is_error": outcome.is_error, "provider_executed": True, "provider_metadata": result_meta},
        ]  # fmt: skip

    # --- the end -------------------------------------------------------------------------------------

    def _add_usage(self, finish: dict[str, Any] | None) -> None:
        usage = (finish or {}).get("usage")
        if isinstance(usage, dict):
            for key in _USAGE:
                if isinstance(usage.get(key), int):
                    self.usage[key] = self.usage.get(key, 0) + usage[key]

    def _final(self, finish: dict[str, Any]) -> dict[str, Any]:
        """The last round's finish with the usage of every round (a raw usage of one round is
        dropped: it would say less than the sum)."""
        out = dict(finish)
        if self.usage:
            out["usage"] = dict(self.usage)
            pm = out.get("provider_metadata")
            if isinstance(pm, dict):
                out["provider_metadata"] = {
                    k: {f: v for f, v in m.items() if f != "usage"} if isinstance(m, dict) else m for k, m in pm.items()
                }  # fmt: skip
        return out

    def _limit(self, finish: dict[str, Any]) -> dict[str, Any]:
        """The finish of a response cut at ``--max-tool-rounds``."""
        diagnostics.warn(f"the model still called MCP tools after {self.max_rounds} rounds (--max-tool-rounds); "
                         "the response ends incomplete")  # fmt: skip
        out = self._final(finish)
        out["finish_reason"] = "length"
        pm = dict(out.get("provider_metadata") or {})
        pm[RESPONSES] = {**(pm.get(RESPONSES) or {}), "incomplete_details": {"reason": "max_tool_rounds"}}
        out["provider_metadata"] = pm
        out["raw_finish_reason"] = "pause_turn" if self.client == ANTHROPIC else "max_tool_rounds"
        return out


def _merge(messages: list[dict[str, Any]], inserts: list[tuple[int, Batch]]) -> list[dict[str, Any]]:
    """The conversation's messages with earlier MCP calls put back in their places. A call that
    follows an assistant turn (and only its tool results) joins that turn, so that every turn's
    tool results follow it together, as Chat Completions requires."""
    by_place: dict[int, list[Batch]] = {}
    for at, pair in inserts:
        by_place.setdefault(at, []).append(pair)
    out: list[dict[str, Any]] = []
    for i in range(len(messages) + 1):
        for call, result in by_place.get(i, ()):
            j = len(out) - 1
            while j >= 0 and out[j].get("role") == "tool":
                j -= 1
            if j >= 0 and out[j].get("role") == "assistant" and isinstance(out[j].get("content"), list):
                out[j] = {**out[j], "content": [*out[j]["content"], *call["content"]]}
            else:
                out.append(call)
            out.append(result)
        if i < len(messages):
            out.append(messages[i])
    return out
