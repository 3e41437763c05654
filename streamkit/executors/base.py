"""What a tool executor is: the base class executor plugins subclass.

An executor kind (``shell``, ``python``, ``http``, a plugin's ``mcp``) runs the tools whose
``executor`` field names it. ``check`` validates a tool's settings when the tools file is
loaded (a mistake is a usage error naming the file and the tool); ``run`` executes one call in
a worker thread and returns its output. The runner around it guarantees every call exactly one
result: it enforces the tool's timeout and output cap, turns exceptions into error results, and
sets ``cancel`` when the call must stop (a timeout, Ctrl-C): ``run`` should then end quickly and
leave nothing running. The runner does not wait for a ``run`` that does not end (it writes the
call's result and goes on), but whatever that ``run`` holds stays held until it does. An executor
that can read its output bit by bit should stop past ``tool.max_output`` (returning
``truncated=True``), so that a tool cannot fill the runner's memory; processes are best started
through :mod:`streamkit.executors.process`, which ends a call's whole process tree, with the
environment :func:`tool_environment` gives it.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from ..errors import UsageError
from ..redaction import echoable, header_secrets, redact
from ..tools import Tool

#: The names of the variables a tool's process is not given unless its tools file passes them on:
#: those that say they hold a credential (``OPENAI_API_KEY``, ``AWS_SECRET_ACCESS_KEY``,
#: ``GITHUB_TOKEN``, ``PGPASSWORD``), as the Codex CLI leaves out ``*KEY*``, ``*SECRET*`` and
#: ``*TOKEN*`` by default. Not ``AUTH``, which request headers are judged by
#: (:mod:`streamkit.redaction`): ``SSH_AUTH_SOCK`` and ``XAUTHORITY`` are what tools need to run
#: git over ssh or open a display, not secrets.
SECRET_ENV_NAME = re.compile(r"KEY|SECRET|TOKEN|PASSWORD|PASSWD", re.IGNORECASE)


def check_environment(settings: Mapping[str, Any], where: str) -> None:
    """Validate a tool's ``env`` (a table of strings) and ``pass_env`` (a list of names or
    shell-style patterns) among its ``settings``; raise ``UsageError`` starting with ``where``
    (``"tool 'search'"``) and saying what is wrong."""
    env = settings.get("env")
    if env is not None and (
        not isinstance(env, dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items())
    ):
        raise UsageError(f"{where}: 'env' must be a table of strings")
    passed = settings.get("pass_env")
    if passed is not None and (
        not isinstance(passed, list) or not all(isinstance(n, str) and n for n in passed)
    ):
        raise UsageError(
            f'{where}: \'pass_env\' must be a list of variable names or patterns, such as ["GITHUB_TOKEN", "AWS_*"]'
        )


def tool_environment(settings: Mapping[str, Any], extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a tool's process runs with: streamkit's own, but for the variables whose
    name says they hold a credential (:data:`SECRET_ENV_NAME`), which a tool that runs what the
    model asks (``env``, ``cat /proc/self/environ``) would hand the model and the event stream;
    then those the tool's ``pass_env`` setting names (shell-style patterns: ``"AWS_*"``, or ``"*"``
    for all), then its ``env`` table, then ``extra``. Check the settings with
    :func:`check_environment` first."""
    passed = settings.get("pass_env") or ()
    if "*" in passed:
        env = dict(os.environ)
    else:
        env = {name: value for name, value in os.environ.items() if SECRET_ENV_NAME.search(name) is None}
        env.update(_passed(passed))
    env.update(settings.get("env") or {})
    if extra:
        env.update(extra)
    return env


def tool_secrets(settings: Mapping[str, Any]) -> list[str]:
    """The credentials a tools file gives a tool, for :func:`redacted` to take out of what it
    answers: the values of its ``headers`` and ``env`` tables under a name that says they are one
    (``Authorization``, ``SERVICE_TOKEN``), and the variables named as credentials that
    ``pass_env`` passes on. The tool or its server may need them; the model and the events do
    not. Only those long enough to be told from words (:func:`streamkit.redaction.echoable`),
    longest first."""
    given = header_secrets({**(settings.get("headers") or {}), **(settings.get("env") or {})}, named=True)
    passed = settings.get("pass_env")
    if passed:
        given.update(value for name, value in _passed(passed).items() if SECRET_ENV_NAME.search(name))
    return echoable(given)


def _passed(patterns: Any) -> dict[str, str]:
    """The variables of streamkit's environment that ``pass_env`` patterns name."""
    if not patterns:
        return {}
    from fnmatch import fnmatchcase

    return {
        name: value
        for name, value in os.environ.items()
        if any(fnmatchcase(name, pattern) for pattern in patterns)
    }


@dataclass
class ToolCall:
    """One call to run: the tool, the call id, the parsed arguments."""

    tool: Tool
    call_id: str
    arguments: dict[str, Any]


@dataclass
class ToolOutput:
    """What a call answered: text or a JSON value, and whether it is an error for the model.

    ``truncated``: the executor stopped reading past the tool's ``max_output`` (it returns at
    least one byte more than the cap, so the runner cuts it and says that there was more)."""

    output: Any
    is_error: bool = False
    truncated: bool = False


class Executor:
    """Base class of every executor kind; register instances through ``register_tool_executors``."""

    #: The name a tools file gives in ``executor = "..."``.
    name: ClassVar[str] = ""
    #: One line for ``streamkit executors``.
    description: ClassVar[str] = ""

    def check(self, tool: Tool) -> None:
        """Validate ``tool.settings`` for this executor; raise ``UsageError`` saying what is wrong."""

    def expand(self, tool: Tool) -> list[Tool]:
        """The tools an entry stands for: itself, or (an MCP server) the tools it lists."""
        return [tool]

    def run(self, call: ToolCall, cancel: threading.Event) -> ToolOutput:
        """Run one call; raise or return ``ToolOutput(..., is_error=True)`` on failure."""
        raise NotImplementedError

    def warm_up(self) -> None:
        """Make ahead what this executor's first call would wait for (modules, handles): run-tools
        calls it once, while it waits for its first input line. Nothing by default; a failure
        here is ignored and left for the call to meet."""

    def close(self) -> None:
        """Release what the executor holds (processes, connections): the run is over."""

    def __repr__(self) -> str:
        return f"<executor {self.name}>"


def redacted(output: ToolOutput, secrets: list[str]) -> ToolOutput:
    """``output`` with each of ``secrets`` (:func:`tool_secrets`) in its text replaced by
    ``[redacted]``."""
    if secrets and isinstance(output.output, str):
        return ToolOutput(redact(output.output, secrets), output.is_error, output.truncated)
    return output
