"""The ``shell`` executor: run a program, arguments as JSON on stdin, stdout is the output.

``command`` is an argv list, run directly (never through a shell, so arguments can never be
interpolated into a command line). The call's arguments arrive as one JSON object on stdin;
``STREAMKIT_TOOL_NAME`` and ``STREAMKIT_TOOL_CALL_ID`` are in the environment; ``cwd`` (relative to the tools file)
and ``env`` (a table of extra variables) may be set. A non-zero exit status, or text on stderr,
makes the result an error carrying what the program said. The program runs in its own process
group, which is killed on a timeout or Ctrl-C: nothing is left running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from typing import Any

import orjson

from ..errors import UsageError
from ..tools import Tool
from .base import Executor, ToolCall, ToolOutput


class ShellExecutor(Executor):
    name = "shell"
    description = "Run a program (argv list); arguments as JSON on stdin, stdout is the output"

    def __init__(self) -> None:
        self._running: set[subprocess.Popen[bytes]] = set()
        self._lock = threading.Lock()

    def check(self, tool: Tool) -> None:
        command = tool.settings.get("command")
        if isinstance(command, str):
            raise UsageError(
                f'tool {tool.name!r}: \'command\' must be an argv list such as ["python3", "tool.py"], not a shell string'
            )
        if not isinstance(command, list) or not command or not all(isinstance(a, str) for a in command):
            raise UsageError(
                f"tool {tool.name!r}: the shell executor needs 'command', a non-empty list of strings"
            )
        env = tool.settings.get("env")
        if env is not None and (
            not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values())
        ):
            raise UsageError(f"tool {tool.name!r}: 'env' must be a table of strings")

    def run(self, call: ToolCall, cancel: threading.Event) -> ToolOutput:
        settings = call.tool.settings
        env = {**os.environ, **(settings.get("env") or {})}
        env["STREAMKIT_TOOL_NAME"] = call.tool.name
        env["STREAMKIT_TOOL_CALL_ID"] = call.call_id
        cwd = settings.get("cwd")
        if cwd is not None and call.tool.source and not os.path.isabs(cwd):
            cwd = os.path.join(
                os.path.dirname(os.path.abspath(call.tool.source)), cwd
            )  # relative to the tools file
        try:
            proc = subprocess.Popen(settings["command"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    env=env, cwd=cwd, start_new_session=True)  # fmt: skip

        except OSError as exc:
            return ToolOutput(f"the tool could not be started: {exc.strerror or exc}", is_error=True)
        with self._lock:
            self._running.add(proc)
        result: dict[str, Any] = {}

        def communicate() -> None:
            try:
                result["out"] = proc.communicate(orjson.dumps(call.arguments))
            except (OSError, ValueError) as exc:
                result["error"] = exc

        reader = threading.Thread(target=communicate, daemon=True)
        reader.start()
        while reader.is_alive():
            reader.join(0.05)
            if cancel.is_set():
                self._kill(proc)
                reader.join(5)
                return ToolOutput("the tool was stopped", is_error=True)
        with self._lock:
            self._running.discard(proc)
        if "error" in result:
            return ToolOutput(f"the tool failed: {result['error']}", is_error=True)
        stdout, stderr = result["out"]
        text = stdout.decode("utf-8", "replace").rstrip("\n")  # the line end of the last line is not output
        err = stderr.decode("utf-8", "replace").strip()
        if proc.returncode != 0:
            what = (
                f"the tool exited with status {proc.returncode}"
                if proc.returncode > 0
                else f"the tool was killed by signal {-proc.returncode}"
            )
            return ToolOutput(
                "\n".join(x for x in (what + (":" if err or text.strip() else ""), err, text.strip()) if x),
                is_error=True,
            )
        if err:
            return ToolOutput(f"{text}\n[stderr] {err}" if text.strip() else err, is_error=True)
        return ToolOutput(text)

    def _kill(self, proc: subprocess.Popen[bytes]) -> None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        with self._lock:
            self._running.discard(proc)

    def close(self) -> None:
        with self._lock:
            running = list(self._running)
        for proc in running:
            self._kill(proc)
            proc.wait()
