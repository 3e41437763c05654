"""The ``python`` executor: call ``module:function`` with the arguments as keyword arguments.

The function may be sync or async. A string return value is the output as it is; anything else
is serialised as JSON; ``None`` (or an empty string) is the error "returned nothing". An
exception is an error result naming it. ``path`` (a directory, or a list of them, relative to the
tools file) is put on ``sys.path`` first, for tools kept beside it. The worker's environment is
a shell tool's (:func:`streamkit.executors.base.tool_environment`: no variable named as a
credential unless ``pass_env`` names it; ``env`` sets more), and a credential so given is
redacted from its answer and from what it prints.

Each call runs in a worker process of its own (:mod:`streamkit.executors.python_worker`, started
as ``python -c`` with the runner's interpreter and ``sys.path``), never in the runner: a tool that
hangs is killed at its timeout and the runner can exit at once; ``sys.exit()``,
``KeyboardInterrupt``, ``os._exit()`` or a crash in a tool end that call only, with an error
result; what the tool prints goes to stderr, never into the event stream. The worker is started
like a shell tool (:mod:`streamkit.executors.process`: its own process group, a marker, a death
signal), so whatever the tool starts ends with the call too. The price is a Python start-up per
call (tens of milliseconds), and no state kept in the module between calls.

Loading the tools file checks that each function's module can be found (a usage error
otherwise) without importing it: no tool code ever runs in the runner, and start-up pays no
worker. A missing attribute, or a module that fails as it is imported, is that call's error
result.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import Any

import orjson

from ..errors import UsageError
from ..redaction import redact
from ..tools import Tool
from .base import (
    Executor,
    ToolCall,
    ToolOutput,
    check_environment,
    redacted,
    tool_environment,
    tool_secrets,
)
from .process import Finished, Running, ToolProcess, prepare

_WORKER = Path(__file__).with_name("python_worker.py")
_HEADER = 64  # room for the worker's header line, beyond the output cap


class PythonExecutor(Executor):
    name = "python"
    description = "Call module:function (sync or async) with the arguments as keyword arguments"

    def __init__(self) -> None:
        self._running = Running()
        self._source: str | None = None

    @staticmethod
    def _target(tool: Tool) -> str:
        target = tool.settings.get("function")
        if not isinstance(target, str) or ":" not in target:
            raise UsageError(
                f"tool {tool.name!r}: the python executor needs 'function' as \"module:function\""
            )
        return target

    @staticmethod
    def _paths(tool: Tool) -> list[str]:
        paths = tool.settings.get("path") or []
        out = []
        for path in [paths] if isinstance(paths, str) else paths:
            if not isinstance(path, str):
                raise UsageError(f"tool {tool.name!r}: 'path' must be a directory or a list of them")
            if tool.source and not os.path.isabs(path):
                path = os.path.join(
                    os.path.dirname(os.path.abspath(tool.source)), path
                )  # relative to the tools file
            out.append(path)
        return out

    def _worker(self, tool: Tool, request: dict[str, Any], cancel: threading.Event) -> Finished:
        if self._source is None:
            self._source = _WORKER.read_text(encoding="utf-8")
        extra = {"STREAMKIT_TOOL_NAME": tool.name}
        if "call_id" in request:
            extra["STREAMKIT_TOOL_CALL_ID"] = request.pop("call_id")
        env = tool_environment(tool.settings, extra)
        proc = ToolProcess.start(
            [sys.executable or "python3", "-c", self._source], env=env, running=self._running
        )
        payload = {**request, "sys_path": sys.path, "limit": tool.max_output}
        return proc.communicate(orjson.dumps(payload, default=str), tool.max_output + 1 + _HEADER, cancel)

    def check(self, tool: Tool) -> None:
        check_environment(tool.settings, f"tool {tool.name!r}")
        target = self._target(tool)
        module = target.partition(":")[0]
        if not _findable(module, [*self._paths(tool), *sys.path]):
            raise UsageError(f"tool {tool.name!r}: cannot load {target}: no module named {module!r}")

    def run(self, call: ToolCall, cancel: threading.Event) -> ToolOutput:
        if cancel.is_set():
            return ToolOutput("the tool was stopped before it started", is_error=True)
        request = {"mode": "call", "function": self._target(call.tool), "paths": self._paths(call.tool),
                   "arguments": call.arguments, "call_id": call.call_id}  # fmt: skip
        try:
            done = self._worker(call.tool, request, cancel)
        except OSError as exc:
            return ToolOutput(f"the tool could not be started: {exc.strerror or exc}", is_error=True)
        if done.stopped == "cancel":
            return ToolOutput("the tool was stopped", is_error=True)
        # a credential the tool is given (pass_env, env), in its answer or what it prints, reaches
        # neither the events, the model nor the runner's stderr
        secrets = tool_secrets(call.tool.settings)
        return redacted(_answer(done, secrets), secrets)

    def warm_up(self) -> None:
        prepare()

    def close(self) -> None:
        self._running.end_all()


def _findable(module: str, path: list[str]) -> bool:
    """Whether ``module`` (dotted) can be found on ``path`` or by an installed finder (an editable
    install's), without importing anything: finders only look."""
    from importlib.machinery import PathFinder

    def find(name: str, where: list[str] | None) -> Any:
        spec = PathFinder.find_spec(name, where if where is not None else path)
        for finder in sys.meta_path:
            if spec is not None:
                break
            find_spec = getattr(finder, "find_spec", None)
            if find_spec is not None and finder is not PathFinder:
                try:
                    spec = find_spec(name, where)
                except Exception:  # a finder's own trouble: it did not find it
                    spec = None
        return spec

    parts = module.split(".")
    if not all(parts):
        return False
    spec = find(parts[0], None)
    for i in range(1, len(parts)):
        if spec is None or not spec.submodule_search_locations:
            return False
        spec = find(".".join(parts[: i + 1]), list(spec.submodule_search_locations))
    return spec is not None


def _answer(done: Finished, secrets: list[str]) -> ToolOutput:
    """The worker's answer, or what became of a worker that gave none."""
    header, newline, body = done.stdout.partition(b"\n")
    if newline:
        try:
            said = orjson.loads(header)
            is_error, truncated = bool(said["is_error"]), bool(said.get("truncated"))
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
            pass
        else:
            if done.stderr:
                _forward(redact(done.stderr.decode("utf-8", "replace"), secrets))
            return ToolOutput(body.decode("utf-8", "replace"), is_error=is_error, truncated=truncated)
    code = done.returncode or 0
    what = f"killed by signal {-code}" if code < 0 else f"exit status {code}"
    said = done.stderr.decode("utf-8", "replace").strip()
    return ToolOutput(
        f"the tool's process ended without an answer ({what})" + (f":\n{said}" if said else ""),
        is_error=True,
    )


def _forward(stderr: str) -> None:
    """What a tool that answered wrote to stdout or stderr: a diagnostic, on the runner's stderr."""
    try:
        sys.stderr.write(stderr)
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
