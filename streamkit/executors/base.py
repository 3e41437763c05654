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
through :mod:`streamkit.executors.process`, which ends a call's whole process tree.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, ClassVar

from ..tools import Tool


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
