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
gets an error result saying so. Without a terminal to ask, a call that needs approval is denied.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

import orjson

from ..errors import UsageError
from ..executors.base import Executor, ToolCall, ToolOutput
from ..plugins import Registry, default_registry
from ..tools import Tool

Asker = Callable[[str], bool]


def _text(output: Any) -> str:
    return output if isinstance(output, str) else orjson.dumps(output, default=str).decode()


def ask_on_terminal(question: str) -> bool:
    """Ask a yes/no question on the controlling terminal; no terminal means no."""
    import os

    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return False
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
    """Runs calls in worker threads; gives every call exactly one result event."""

    def __init__(self, tools: list[Tool], *, registry: Registry | None = None, parallel: int = 4,
                 approve: str = "never", asker: Asker | None = None) -> None:  # fmt: skip
        registry = registry or default_registry()
        executors = registry.executor_entries()
        self.executors: dict[str, Executor] = {}
        self.tools: dict[str, Tool] = {}
        try:
            for tool in tools:
                self._add(tool, executors)
        except BaseException:  # e.g. an MCP server that cannot be reached: close those already open
            for opened in self.executors.values():
                opened.close()
            raise
        self.pool = ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="streamkit-tool")
        self.approve = approve
        self.asker = asker or ask_on_terminal
        self.cancel = threading.Event()

    def _add(self, tool: Tool, executors: dict[str, Any]) -> None:
        """Check one tools-file entry and add the tools it stands for (``expand``)."""
        where = f"{tool.source}: " if tool.source else ""
        installed = ", ".join(sorted(executors))
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
        arguments = event.get("input")
        if event.get("input_error") or (arguments is not None and not isinstance(arguments, dict)):
            why = event.get("input_error") or "arguments must be a JSON object"
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
        approved = self.asker(f"streamkit run-tools: run {event.get('tool_name')}({arguments})?")
        response: dict[str, Any] = {
            "type": "tool-approval-response",
            "tool_call_id": event["tool_call_id"],
            "approved": approved,
        }
        if not approved:
            response["reason"] = "denied by the user"
        return [request, response], approved

    def submit(self, event: dict[str, Any]) -> Future[dict[str, Any]]:
        """Start one call; the future's result is its tool-result event (it never raises)."""
        tool = self.tools[event["tool_name"]]
        call = ToolCall(tool, event["tool_call_id"], event.get("input") or {})
        executor = self.executors[tool.executor or ""]
        done: Future[dict[str, Any]] = Future()
        stop = threading.Event()

        def run() -> ToolOutput:
            return executor.run(call, stop)

        inner = self.pool.submit(run)

        def finish(output: Any, is_error: bool) -> None:
            if not done.done():
                done.set_result(self._result(event, *self._capped(tool, output, is_error)))

        def on_done(f: Future[ToolOutput]) -> None:
            try:
                out = f.result()
            except Exception as exc:
                finish(f"error: the tool failed: {type(exc).__name__}: {exc}", True)
                return
            finish(out.output, out.is_error)

        inner.add_done_callback(on_done)

        def watchdog() -> None:
            if not _wait_either(inner, self.cancel, tool.timeout):
                stop.set()
                if self.cancel.is_set():
                    finish("error: the run was interrupted before the tool finished", True)
                else:
                    finish(
                        f"error: the tool did not finish within {tool.timeout:g} seconds and was stopped",
                        True,
                    )

        threading.Thread(target=watchdog, daemon=True, name="streamkit-tool-timeout").start()
        return done

    @staticmethod
    def _capped(tool: Tool, output: Any, is_error: bool) -> tuple[Any, bool]:
        text = _text(output) if output is not None else ""
        if not text.strip():
            return "error: the tool returned nothing", True
        data = text.encode()
        if len(data) > tool.max_output:
            kept = data[: tool.max_output].decode("utf-8", "ignore")
            note = f"\n[output truncated: the tool wrote {len(data)} bytes, the limit is {tool.max_output}]"
            return kept + note, True
        return output, is_error

    def close(self, *, cancel: bool = False) -> None:
        if cancel:
            self.cancel.set()
        self.pool.shutdown(wait=not cancel, cancel_futures=cancel)
        for executor in self.executors.values():
            executor.close()


def _wait_either(future: Future[Any], cancel: threading.Event, timeout: float) -> bool:
    """Wait for the future, the cancel event or the timeout; True if the future finished."""
    import time

    deadline = time.monotonic() + timeout
    while not future.done():
        left = deadline - time.monotonic()
        if left <= 0 or cancel.is_set():
            return future.done()
        wait([future], timeout=min(left, 0.05))
    return True


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
            written.append(
                runner._result(event, "error: the user did not approve this call, so it was not run", True)
            )
            return written, None
    return written, runner.submit(event)
