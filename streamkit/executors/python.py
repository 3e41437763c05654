"""The ``python`` executor: call ``module:function`` with the arguments as keyword arguments.

The function may be sync or async. A string return value is the output as it is; anything else
is serialised as JSON. An exception is an error result naming it. ``path`` (a directory, or a
list of them, relative to the tools file) is put on ``sys.path`` first, for tools kept beside it.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import os
import sys
import threading
from typing import Any

import orjson

from ..errors import UsageError
from ..tools import Tool
from .base import Executor, ToolCall, ToolOutput


class PythonExecutor(Executor):
    name = "python"
    description = "Call module:function (sync or async) with the arguments as keyword arguments"

    def __init__(self) -> None:
        self._functions: dict[str, Any] = {}

    def _load(self, tool: Tool) -> Any:
        target = tool.settings.get("function")
        if not isinstance(target, str) or ":" not in target:
            raise UsageError(
                f"tool {tool.name!r}: the python executor needs 'function' as \"module:function\""
            )
        if target in self._functions:
            return self._functions[target]
        paths = tool.settings.get("path") or []
        for path in [paths] if isinstance(paths, str) else paths:
            if tool.source and not os.path.isabs(path):
                path = os.path.join(
                    os.path.dirname(os.path.abspath(tool.source)), path
                )  # relative to the tools file
            if path not in sys.path:
                sys.path.insert(0, path)
        module_name, _, attr = target.partition(":")
        try:
            obj: Any = importlib.import_module(module_name)
            for part in attr.split("."):
                obj = getattr(obj, part)
        except (ImportError, AttributeError) as exc:
            raise UsageError(f"tool {tool.name!r}: cannot load {target}: {exc}") from None
        if not callable(obj):
            raise UsageError(f"tool {tool.name!r}: {target} is not callable")
        self._functions[target] = obj
        return obj

    def check(self, tool: Tool) -> None:
        self._load(tool)

    def run(self, call: ToolCall, cancel: threading.Event) -> ToolOutput:
        function = self._load(call.tool)
        try:
            value = function(**call.arguments)
            if inspect.isawaitable(value):
                value = asyncio.run(_awaited(value))
        except TypeError as exc:
            return ToolOutput(f"the tool rejected its arguments: {exc}", is_error=True)
        except Exception as exc:
            return ToolOutput(f"the tool raised {type(exc).__name__}: {exc}", is_error=True)
        if isinstance(value, str):
            return ToolOutput(value)
        try:
            return ToolOutput(orjson.dumps(value, default=str).decode())
        except TypeError as exc:
            return ToolOutput(f"the tool returned something that is not JSON: {exc}", is_error=True)


async def _awaited(value: Any) -> Any:
    return await value
