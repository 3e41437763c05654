"""Tools files: the tools a model may call, and how each is run.

TOML or JSON, one entry per tool::

    # tools.toml
    [[tools]]
    name = "get_weather"
    description = "The current weather in a city"
    parameters = { type = "object", properties = { city = { type = "string" } }, required = ["city"] }
    executor = "shell"                       # shell | python | http | a plugin's executor
    command = ["python3", "examples/weather.py"]
    timeout = 30                             # seconds (default 30)
    max_output = 65536                       # bytes (default 64 KiB)
    approve = "never"                        # never | always

Or one table per tool, named by its key (the shape many TOML configs use)::

    [tools.get_weather]
    description = "The current weather in a city"
    executor = "shell"
    command = ["python3", "examples/weather.py"]

The provider's own web search is an entry of ``kind = "web_search"``, with no executor (the
provider runs it) and the settings of :mod:`streamkit.dialects.web_search` (``max_uses``,
``allowed_domains``, ``blocked_domains``, ``user_location``, ``context_size``)::

    [[tools]]
    name = "web_search"
    kind = "web_search"
    allowed_domains = ["docs.python.org"]

``kind = "code_execution"`` (no settings) is the provider's own Python sandbox.

JSON: ``{"tools": [...]}``, ``{"tools": {"NAME": {...}}}`` or a bare list of the same entries. ``fetch`` sends each tool's name,
description and parameters in its dialect's own tool format; ``run-tools`` and ``agent`` run them
through their executor. A malformed file is a usage error naming the file and the entry.

A credential need not be written into the file: a value of a ``headers`` or ``env`` table may name
variables of streamkit's environment, ``${NAME}`` or ``${NAME:-default}`` (the default when the
variable is unset or empty), expanded when the file is read, as Claude Code's ``.mcp.json`` does::

    headers = { Authorization = "Bearer ${TICKETS_TOKEN}" }

A variable that is not set and has no default is a usage error naming it (never its value).
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import UsageError

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_OUTPUT = 64 * 1024
APPROVE = ("never", "always")
_COMMON = {"name", "description", "parameters", "executor", "timeout", "max_output", "approve", "kind"}
#: the kinds of tool a tools file declares: run here (``function``), or by the provider
KINDS = ("function", "web_search", "code_execution")


@dataclass
class Tool:
    """One declared tool: what the model sees, and how it runs."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})
    executor: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)  # the executor's own fields
    timeout: float = DEFAULT_TIMEOUT
    max_output: int = DEFAULT_MAX_OUTPUT
    approve: str = "never"
    source: str = ""  # the tools file it came from, for messages
    kind: str = "function"  # or the provider's own web search ("web_search": settings its settings)

    def declaration(self) -> dict[str, Any]:
        """The canonical declaration a dialect turns into its own tool format."""
        if self.kind != "function":
            return {"name": self.name, "kind": self.kind, **self.settings}
        return {"name": self.name, "description": self.description, "parameters": self.parameters}


def _parse(path: Path) -> Any:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read tools file {path}: {exc.strerror}") from None
    if path.suffix.lower() == ".toml":
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover
            import tomli as tomllib
        try:
            return tomllib.loads(data.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise UsageError(f"{path}: not valid TOML: {exc}") from None
    import orjson

    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise UsageError(f"{path}: not valid JSON: {exc}") from None


#: ``${NAME}`` or ``${NAME:-default}`` in a ``headers`` or ``env`` value
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
#: the tables whose values may name variables of the environment
_EXPANDED = ("headers", "env")


def _expanded(settings: dict[str, Any], where: str) -> dict[str, Any]:
    """``settings`` with the variables named in its ``headers`` and ``env`` values expanded."""
    out = dict(settings)
    for table in _EXPANDED:
        values = settings.get(table)
        if isinstance(values, dict):  # (anything else: the executor says what is wrong with it)
            out[table] = {
                key: _expand(value, f"{where}: {table}.{key}") if isinstance(value, str) else value
                for key, value in values.items()
            }
    return out


def _expand(text: str, where: str) -> str:
    def variable(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        value = os.environ.get(name)
        if default is not None and not value:  # (unset or empty, as the shell's :-)
            return default
        if value is None:
            raise UsageError(f"{where} names ${{{name}}}, which is not set")
        return value

    return _VARIABLE.sub(variable, text) if "${" in text else text


def _entry(raw: Any, where: str) -> Tool:
    if not isinstance(raw, dict):
        raise UsageError(f"{where}: expected a table/object")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise UsageError(f"{where}: 'name' must be a non-empty string")
    where = f"{where} ({name})"
    kind = raw.get("kind", "function")
    if kind not in KINDS:
        raise UsageError(f"{where}: 'kind' must be one of {', '.join(KINDS)}")
    if kind != "function":
        return _hosted(raw, name, kind, where)
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise UsageError(f"{where}: 'description' must be a string")
    parameters = raw.get("parameters", {"type": "object", "properties": {}})
    if not isinstance(parameters, dict) or parameters.get("type", "object") != "object":
        raise UsageError(f"{where}: 'parameters' must be a JSON Schema object with type \"object\"")
    executor = raw.get("executor")
    if executor is not None and not isinstance(executor, str):
        raise UsageError(f"{where}: 'executor' must be a string")
    timeout = raw.get("timeout", DEFAULT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise UsageError(f"{where}: 'timeout' must be a positive number of seconds")
    max_output = raw.get("max_output", DEFAULT_MAX_OUTPUT)
    if isinstance(max_output, bool) or not isinstance(max_output, int) or max_output <= 0:
        raise UsageError(f"{where}: 'max_output' must be a positive number of bytes")
    approve = raw.get("approve", "never")
    if approve not in APPROVE:
        raise UsageError(f"{where}: 'approve' must be one of {', '.join(APPROVE)}")
    settings = _expanded({k: v for k, v in raw.items() if k not in _COMMON}, where)
    return Tool(
        name,
        description,
        parameters,
        executor,
        settings,
        float(timeout),
        max_output,
        approve,
        where.split(": tool ")[0],
    )


def _hosted(raw: dict[str, Any], name: str, kind: str, where: str) -> Tool:
    """An entry of a tool the provider runs (its web search, its code execution): a search's
    settings, checked as a conversation's are; nothing to run here."""
    from .conversation import web_search_problem
    from .dialects.web_search import SETTINGS

    own = SETTINGS if kind == "web_search" else ()
    extra = sorted(set(raw) - {"name", "kind", "description", *own})
    if extra:
        raise UsageError(
            f"{where}: a {kind} tool runs at the provider: it takes no {', '.join(map(repr, extra))}"
        )
    settings = {k: raw[k] for k in own if k in raw}
    problem = web_search_problem(settings)
    if problem:
        raise UsageError(f"{where}: {problem}")
    return Tool(name, settings=settings, source=where.split(": tool ")[0], kind=kind)


def _named(key: str, raw: Any, where: str) -> Any:
    """A ``[tools.NAME]`` table as an entry: its name is its key (a ``name`` in it must agree)."""
    if not isinstance(raw, dict):
        raise UsageError(f"{where}: expected a table/object")
    if "name" in raw and raw["name"] != key:
        raise UsageError(f"{where}: its name is its key, {key!r}, but it says name = {raw['name']!r}")
    return {**raw, "name": key}


def load_tools(path: str | Path) -> list[Tool]:
    """Read and check a tools file (``.toml``, else JSON)."""
    path = Path(path)
    data = _parse(path)
    entries = data.get("tools") if isinstance(data, dict) else data
    if isinstance(entries, dict):
        entries = [_named(key, raw, f"{path}: [tools.{key}]") for key, raw in entries.items()]
    if not isinstance(entries, list):
        raise UsageError(
            f"{path}: expected a list of tools ('tools = [...]', [[tools]] or [tools.NAME] tables, or a JSON list)"
        )
    tools = [_entry(raw, f"{path}: tool {i + 1}") for i, raw in enumerate(entries)]
    seen: set[str] = set()
    for tool in tools:
        if tool.name in seen:
            raise UsageError(f"{path}: tool {tool.name!r} is declared twice")
        seen.add(tool.name)
    return tools
