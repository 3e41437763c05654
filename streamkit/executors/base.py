"""What a tool executor is: the base class executor plugins subclass.

An executor kind (``shell``, ``python``, ``http``, a plugin's ``mcp``) runs the tools whose
``executor`` field names it. ``check`` validates a tool's settings when the tools file is
loaded (a mistake is a usage error naming the file and the tool); ``run`` executes one call in
a worker thread and returns its output. The runner around it guarantees every call exactly one
result: it enforces the tool's timeout and output cap, turns exceptions into error results, and
sets ``cancel`` when the call must stop (a timeout, Ctrl-C): ``run`` should then end quickly and
leave nothing running.
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
    """What a call answered: text or a JSON value, and whether it is an error for the model."""

    output: Any
    is_error: bool = False


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

    def close(self) -> None:
        """Release what the executor holds (processes, connections): the run is over."""

    def __repr__(self) -> str:
        return f"<executor {self.name}>"
