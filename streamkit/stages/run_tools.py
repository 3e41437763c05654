"""run-tools: execute each client ``tool-call`` and add its ``tool-result``.

Every event passes through. For each ``tool-call`` that is not provider-executed, the tool its
name declares runs through its executor, concurrently with the other calls (``parallel`` at a
time); each ``tool-result`` is written as soon as its call finishes, always after the call
itself. Every call gets exactly one result, whatever happens: an unknown tool, arguments that are
not valid JSON, a timeout, a crash, an output over the cap (truncated, with a note) and an empty
answer all give ``is_error: true`` and a plain message the model can act on.

Approval (``approve="always"``, or a tool's own ``approve = "always"``) asks on the controlling
terminal (``/dev/tty``), never on stdin, which carries the events; the question and the answer
are written as ``tool-approval-request`` / ``tool-approval-response`` events, and a denied call
gets an error result saying so. Without a terminal to ask, a call that needs approval is denied
with that reason (not "denied by the user") and a warning; ``--approve`` itself, with no terminal,
is a usage error.
"""

from __future__ import annotations

import contextlib
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, wait
from dataclasses import dataclass, field
from typing import Any

import orjson

from ..canonical import parse_arguments
from ..errors import UsageError
from ..executors.base import Executor, ToolCall, ToolOutput
from ..plugins import Registry, default_registry
from ..tools import Tool

Asker = Callable[[str], bool]


def _text(output: Any) -> str:
    return output if isinstance(output, str) else orjson.dumps(output, default=str).decode()


class NoTerminal(Exception):
    """There is no terminal to ask on: an asker raises it instead of answering no."""


NO_TERMINAL = "no terminal to ask for approval on (approval asks on /dev/tty, never on stdin)"


def has_terminal() -> bool:
    """Can approval questions be asked here (is there a controlling terminal)?"""
    import os

    try:
        os.close(os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY))
    except OSError:
        return False
    return True


def ask_on_terminal(question: str) -> bool:
    """Ask a yes/no question on the controlling terminal; raise :class:`NoTerminal` without one."""
    import os

    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        raise NoTerminal(NO_TERMINAL) from None
    try:
        os.write(fd, f"{question} [y/N] ".encode())
        answer = b""
        while not answer.endswith(b"\n"):
            chunk = os.read(fd, 256)
            if not chunk:
                break
            answer += chunk
    except OSError:
        return False
    finally:
        os.close(fd)
    return answer.decode("utf-8", "replace").strip().lower() in ("y", "yes")


class ToolRunner:
    """Runs calls, ``parallel`` at a time; gives every call exactly one result event.

    Each call runs in a daemon thread of its own, started when a slot is free (calls beyond
    ``parallel`` wait in order); its timeout counts from that start, never the time spent
    waiting. At the timeout, or when the run is cancelled, the executor's ``cancel`` event is set
    and it has ``STOP_GRACE`` seconds to end the tool before the result is written anyway. No
    thread is ever waited for beyond that: a tool that does not stop cannot keep the runner from
    exiting.
    """

    #: After a timeout or a cancel, how long an executor may take to end its tool.
    STOP_GRACE = 2.0

    def __init__(self, tools: list[Tool], *, registry: Registry | None = None, parallel: int = 4,
                 approve: str = "never", asker: Asker | None = None) -> None:  # fmt: skip
        registry = registry or default_registry()
        executors = registry.executor_entries()
        self.executors: dict[str, Executor] = {}
        self.tools: dict[str, Tool] = {}
        self.hosted: list[Tool] = []  # tools the provider runs (its web search): declared, not run
        try:
            for tool in tools:
                self._add(tool, executors)
        except BaseException:  # e.g. an MCP server that cannot be reached: close those already open
            for opened in self.executors.values():
                opened.close()
            raise
        self.parallel = max(1, parallel)
        self.approve = approve
        self.asker = asker or ask_on_terminal
        self.cancel = threading.Event()
        self._lock = threading.Lock()
        self._queue: deque[_Call] = deque()  # waiting for a slot
        self._running: set[_Call] = set()

    def _add(self, tool: Tool, executors: dict[str, Any]) -> None:
        """Check one tools-file entry and add the tools it stands for (``expand``)."""
        where = f"{tool.source}: " if tool.source else ""
        installed = ", ".join(sorted(executors))
        if tool.kind != "function":
            self.hosted.append(tool)
            return
        if tool.executor is None:
            raise UsageError(f"{where}tool {tool.name!r} has no 'executor' (installed: {installed})")
        entry = executors.get(tool.executor)
        if entry is None:
            raise UsageError(
                f"{where}tool {tool.name!r}: unknown executor {tool.executor!r} (installed: {installed})"
            )
        executor: Executor = entry.obj
        self.executors[tool.executor] = executor
        try:
            executor.check(tool)
            expanded = executor.expand(tool)  # an MCP server entry: the tools its server lists
        except UsageError as exc:
            raise UsageError(f"{where}{exc.message}") from None
        for one in expanded:
            if one.name in self.tools:
                raise UsageError(f"{where}tool {one.name!r} is declared twice (again by entry {tool.name!r})")
            self.tools[one.name] = one

    def warm_up(self) -> None:
        """Each executor's :meth:`~streamkit.executors.base.Executor.warm_up` (what fails is left
        for its first call): run-tools calls this while its first read waits."""
        for executor in self.executors.values():
            with contextlib.suppress(Exception):  # the call that needs it meets the failure
                executor.warm_up()

    # --- one call ----------------------------------------------------------------------------

    def _result(self, event: dict[str, Any], output: Any, is_error: bool) -> dict[str, Any]:
        result = {
            "type": "tool-result",
            "tool_call_id": event["tool_call_id"],
            "tool_name": event.get("tool_name"),
            "output": output,
            "is_error": is_error,
        }
        if event.get("choice"):
            result["choice"] = event["choice"]
        return result

    def immediate(self, event: dict[str, Any]) -> dict[str, Any] | None:
        """The result of a call that cannot run at all (unknown tool, bad arguments), else None."""
        name = event.get("tool_name")
        if name not in self.tools:
            known = ", ".join(sorted(self.tools)) or "none"
            return self._result(
                event, f"error: there is no tool named {name!r}; the available tools are: {known}", True
            )
        _, why = call_input(event)
        if why is not None:
            return self._result(
                event,
                f"error: the arguments could not be used ({why}); call {name} again with a valid JSON object",
                True,
            )
        return None

    def needs_approval(self, event: dict[str, Any]) -> bool:
        tool = self.tools.get(event.get("tool_name") or "")
        return self.approve == "always" or (tool is not None and tool.approve == "always")

    def approval(self, event: dict[str, Any]) -> tuple[list[dict[str, Any]], bool]:
        """Ask whether a call may run: the request and response events, and the answer."""
        request: dict[str, Any] = {"type": "tool-approval-request", "tool_call_id": event["tool_call_id"],
                                   "tool_name": event.get("tool_name"), "input": event.get("input")}  # fmt: skip
        arguments = event.get("arguments") or _text(event.get("input") or {})
        reason = "denied by the user"
        try:
            approved = self.asker(f"streamkit run-tools: run {event.get('tool_name')}({arguments})?")
        except NoTerminal:
            approved, reason = False, NO_TERMINAL
            from .. import diagnostics

            diagnostics.warn(f"{event.get('tool_name')} was not run: {NO_TERMINAL}")
        response: dict[str, Any] = {
            "type": "tool-approval-response",
            "tool_call_id": event["tool_call_id"],
            "approved": approved,
        }
        if not approved:
            response["reason"] = reason
        return [request, response], approved

    def submit(self, event: dict[str, Any]) -> Future[dict[str, Any]]:
        """Start one call (or queue it for a free slot); the future's result is its tool-result
        event (it never raises). The call must have passed :meth:`immediate`."""
        arguments, why = call_input(event)
        if arguments is None:
            raise ValueError(f"submit() of a call that immediate() refuses: {why}")
        call = _Call(event, self.tools[event["tool_name"]], arguments)
        with self._lock:
            cancelled = self.cancel.is_set()
            start = not cancelled and len(self._running) < self.parallel
            if start:
                self._running.add(call)
            elif not cancelled:
                self._queue.append(call)
        if cancelled:
            self._finish(call, _NOT_STARTED, True)
        elif start:
            self._start(call)
        return call.future

    def _start(self, call: _Call) -> None:
        threading.Thread(target=self._watch, args=(call,), daemon=True, name="streamkit-tool-call").start()

    def _watch(self, call: _Call) -> None:
        """The call's own thread: run the tool in another, and end it at its timeout or a cancel."""
        executor = self.executors[call.tool.executor or ""]
        job = ToolCall(call.tool, call.event["tool_call_id"], call.arguments)

        def execute() -> None:
            try:
                call.output = executor.run(job, call.stop)
            except BaseException as exc:  # an executor's bug is this call's error, nothing more
                call.failure = exc
            finally:
                call.returned = True
                call.wake.set()

        worker = threading.Thread(target=execute, daemon=True, name="streamkit-tool")
        try:
            worker.start()  # the timeout starts here, when the tool starts
            call.wake.wait(call.tool.timeout)
            if call.returned:
                if call.failure is not None:
                    failure = call.failure
                    self._finish(call, f"error: the tool failed: {type(failure).__name__}: {failure}", True)
                else:
                    out = call.output if call.output is not None else ToolOutput(None)
                    self._finish(call, *self._capped(call.tool, out))
                return
            cancelled = self.cancel.is_set()
            call.stop.set()
            worker.join(self.STOP_GRACE)  # let the executor end the tool before the result says so
            if cancelled:
                self._finish(call, "error: the run was interrupted before the tool finished", True)
            else:
                self._finish(
                    call,
                    f"error: the tool did not finish within {call.tool.timeout:g} seconds and was stopped",
                    True,
                )
        finally:
            self._next(call)

    def _finish(self, call: _Call, output: Any, is_error: bool) -> None:
        if not call.future.done():
            call.future.set_result(self._result(call.event, output, is_error))

    def _next(self, done: _Call) -> None:
        """A slot is free: start the first call waiting for one."""
        with self._lock:
            self._running.discard(done)
            following = self._queue.popleft() if self._queue and not self.cancel.is_set() else None
            if following is not None:
                self._running.add(following)
        if following is not None:
            self._start(following)

    @staticmethod
    def _capped(tool: Tool, out: ToolOutput) -> tuple[Any, bool]:
        text = _text(out.output) if out.output is not None else ""
        if not text.strip():
            return "error: the tool returned nothing", True
        data = text.encode()
        if len(data) > tool.max_output or out.truncated:
            kept = data[: tool.max_output].decode("utf-8", "ignore")
            if out.truncated:  # the executor stopped reading: how much more there was is unknown
                note = f"the tool wrote more than {tool.max_output} bytes, the limit, and was stopped there"
            else:
                note = f"the tool wrote {len(data)} bytes, the limit is {tool.max_output}"
            return f"{kept}\n[output truncated: {note}]", True
        return out.output, out.is_error

    def close(self, *, cancel: bool = False) -> None:
        """The run is over. ``cancel``: end the calls still running and queued, each with its
        error result (set before this returns, within ``STOP_GRACE``); then close the executors,
        which end whatever they still have running."""
        if cancel:
            self.cancel.set()
            with self._lock:
                queued = list(self._queue)
                self._queue.clear()
                running = list(self._running)
            for call in queued:
                self._finish(call, _NOT_STARTED, True)
            for call in running:
                call.wake.set()
            wait([call.future for call in running], timeout=self.STOP_GRACE + 1)
            for call in running:  # a thread that never got going (interrupted as it started)
                self._finish(call, "error: the run was interrupted before the tool finished", True)
        for executor in self.executors.values():
            executor.close()


_NOT_STARTED = "error: the run was interrupted before the tool started"


@dataclass(eq=False)
class _Call:
    """One call on its way: what runs, its result to come, and the events that end its wait."""

    event: dict[str, Any]
    tool: Tool
    arguments: dict[str, Any]
    future: Future[dict[str, Any]] = field(default_factory=Future)
    stop: threading.Event = field(default_factory=threading.Event)  # the executor's cancel
    wake: threading.Event = field(default_factory=threading.Event)  # returned, or cancelled
    output: ToolOutput | None = None
    failure: BaseException | None = None
    returned: bool = False


def call_input(event: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """A call's arguments as the object to run it with, or None and why it cannot run.

    ``input`` when the event has it; otherwise ``arguments`` (the JSON text) parsed here, blank
    meaning no arguments. Text that is not valid JSON, or not an object, is never run: the tool
    would get input the model did not give."""
    if event.get("input_error"):
        return None, str(event["input_error"])
    value = event.get("input")
    if value is None:
        text = event.get("arguments")
        if text is None:
            return None, "the call has neither input nor arguments"
        if not isinstance(text, str):
            return None, f"arguments must be JSON text, not {type(text).__name__}"
        value, why = parse_arguments(text)
        if why is not None:
            return None, why
    if not isinstance(value, dict):
        return None, "arguments must be a JSON object"
    return value, None


def declarations(tools: list[Tool], registry: Registry | None = None) -> list[dict[str, Any]]:
    """The declarations to send for a tools file's entries: each entry through its executor's
    ``expand`` (an MCP server entry declares the tools its server lists). An entry whose executor
    is not installed, or that names none, is declared as written: a request may declare tools
    that this machine does not run."""
    executors = (registry or default_registry()).executor_entries()
    used: list[Executor] = []
    out: dict[str, dict[str, Any]] = {}
    try:
        for tool in tools:
            where = f"{tool.source}: " if tool.source else ""
            entry = executors.get(tool.executor or "")
            if entry is not None:
                used.append(entry.obj)
            try:
                expanded = entry.obj.expand(tool) if entry is not None else [tool]
            except UsageError as exc:
                raise UsageError(f"{where}{exc.message}") from None
            for one in expanded:
                if one.name in out:
                    raise UsageError(
                        f"{where}tool {one.name!r} is declared twice (again by entry {tool.name!r})"
                    )
                out[one.name] = one.declaration()
    finally:
        for executor in dict.fromkeys(used):
            executor.close()
    return list(out.values())


def is_client_call(event: dict[str, Any]) -> bool:
    return event.get("type") == "tool-call" and not event.get("provider_executed")


def run_tools(events: Iterable[dict[str, Any]], tools: list[Tool], *, parallel: int = 4, approve: str = "never",
              registry: Registry | None = None, asker: Asker | None = None,
              runner: ToolRunner | None = None) -> Iterator[dict[str, Any]]:  # fmt: skip
    """Pass events through, adding one ``tool-result`` per client ``tool-call`` (in-process form:
    results are yielded between input events as they finish, and all of them by the end).
    ``runner``: an open :class:`ToolRunner` to use (and leave open) instead of ``tools``, so that
    several streams share the executors' sessions (the agent's steps)."""
    own = runner is None
    if runner is None:
        runner = ToolRunner(tools, registry=registry, parallel=parallel, approve=approve, asker=asker)
    pending: list[Future[dict[str, Any]]] = []
    try:
        for event in events:
            yield event
            if is_client_call(event):
                written, future = start_call(runner, event)
                yield from written
                if future is not None:
                    pending.append(future)
            for future in [f for f in pending if f.done()]:
                pending.remove(future)
                yield future.result()
        while pending:
            finished, _ = wait(pending, return_when="FIRST_COMPLETED")
            for future in [f for f in pending if f in finished]:
                pending.remove(future)
                yield future.result()
    except BaseException:
        if own:
            runner.close(cancel=True)
        raise
    if own:
        runner.close()


def start_call(
    runner: ToolRunner, event: dict[str, Any]
) -> tuple[list[dict[str, Any]], Future[dict[str, Any]] | None]:
    """Begin one call: the events to write now (approval, or an immediate result), and the
    future of its result when it was started."""
    result = runner.immediate(event)
    if result is not None:
        return [result], None
    written: list[dict[str, Any]] = []
    if runner.needs_approval(event):
        asked, approved = runner.approval(event)
        written += asked
        if not approved:
            why = "the user did not approve this call" if asked[-1].get("reason") != NO_TERMINAL else \
                "it needs approval and there was no terminal to ask on"  # fmt: skip
            written.append(runner._result(event, f"error: {why}, so it was not run", True))
            return written, None
    return written, runner.submit(event)
