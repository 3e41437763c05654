"""The built-in tool executors (shell, python, http), registered through the same hook as any plugin's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..hookspecs import hookimpl


@hookimpl(trylast=True)
def register_tool_executors(register: Callable[[Any], None]) -> None:
    from .http import HTTPExecutor
    from .python import PythonExecutor
    from .shell import ShellExecutor

    register(ShellExecutor())
    register(PythonExecutor())
    register(HTTPExecutor())
