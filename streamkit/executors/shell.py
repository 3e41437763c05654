"""The ``shell`` executor: run a program, arguments as JSON on stdin, stdout is the output.

``command`` is an argv list, run directly (never through a shell, so arguments can never be
interpolated into a command line). The call's arguments arrive as one JSON object on stdin;
``STREAMKIT_TOOL_NAME`` and ``STREAMKIT_TOOL_CALL_ID`` are in the environment; ``cwd`` (relative to the tools file)
may be set. The environment is streamkit's own but for variables named as credentials
(``*KEY*``, ``*SECRET*``, ``*TOKEN*``, ``*PASSWORD*``), which ``pass_env`` may pass on by name or
pattern; ``env`` (a table) sets more (:func:`streamkit.executors.base.tool_environment`); a
credential so given is redacted from what the tool writes. A non-zero exit status, or text on
stderr, makes the result an error carrying what the program said.

How the program runs and ends is :mod:`streamkit.executors.process`: its own session and process
group, a marker in its environment, a death signal. The call ends when the program exits; any
child it left running (``sleep 300 &``, or one that called ``setsid``) is killed then. A timeout,
Ctrl-C or SIGTERM to run-tools, or stdout passing ``max_output`` kill the whole tree at once;
past the cap nothing more is read, so memory stays bounded whatever the program writes.
"""

from __future__ import annotations

import os
import threading

import orjson

from ..errors import UsageError
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
from .process import Running, ToolProcess, prepare


class ShellExecutor(Executor):
    name = "shell"
    description = "Run a program (argv list); arguments as JSON on stdin, stdout is the output"

    def __init__(self) -> None:
        self._running = Running()

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
        check_environment(tool.settings, f"tool {tool.name!r}")
        if not isinstance(tool.settings.get("cwd", ""), str):
            raise UsageError(
                f"tool {tool.name!r}: 'cwd' must be a string (a folder, relative to the tools file)"
            )

    def run(self, call: ToolCall, cancel: threading.Event) -> ToolOutput:
        # a credential the tool is given (pass_env, env), echoed in its output or on its stderr,
        # reaches neither the events nor the model
        return redacted(self._run(call, cancel), tool_secrets(call.tool.settings))

    def _run(self, call: ToolCall, cancel: threading.Event) -> ToolOutput:
        settings = call.tool.settings
        env = tool_environment(
            settings, {"STREAMKIT_TOOL_NAME": call.tool.name, "STREAMKIT_TOOL_CALL_ID": call.call_id}
        )
        cwd = settings.get("cwd")
        if cwd is not None and call.tool.source and not os.path.isabs(cwd):
            cwd = os.path.join(
                os.path.dirname(os.path.abspath(call.tool.source)), cwd
            )  # relative to the tools file
        if cancel.is_set():
            return ToolOutput("the tool was stopped before it started", is_error=True)
        try:
            proc = ToolProcess.start(settings["command"], env=env, cwd=cwd, running=self._running)
        except OSError as exc:
            return ToolOutput(f"the tool could not be started: {exc.strerror or exc}", is_error=True)
        # One byte more than the cap, plus the line end of the last line (not output): enough to
        # tell the runner that the output is over the cap, never the whole of it.
        done = proc.communicate(orjson.dumps(call.arguments), call.tool.max_output + 1, cancel)
        if done.stopped == "cancel":
            return ToolOutput("the tool was stopped", is_error=True)
        text = done.stdout.decode("utf-8", "replace")
        if done.stopped is None:
            text = text.rstrip("\n")  # the line end of the last line is not output
        err = done.stderr.decode("utf-8", "replace").strip()
        if done.stopped == "overflow":
            return ToolOutput(text, is_error=True, truncated=True)  # the runner cuts it to the cap
        returncode = done.returncode or 0
        if returncode != 0:
            what = (
                f"the tool exited with status {returncode}"
                if returncode > 0
                else f"the tool was killed by signal {-returncode}"
            )
            return ToolOutput(
                "\n".join(x for x in (what + (":" if err or text.strip() else ""), err, text.strip()) if x),
                is_error=True,
            )
        if err:
            return ToolOutput(f"{text}\n[stderr] {err}" if text.strip() else err, is_error=True)
        return ToolOutput(text)

    def warm_up(self) -> None:
        prepare()

    def close(self) -> None:
        self._running.end_all()
