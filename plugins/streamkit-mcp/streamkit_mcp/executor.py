"""The MCP executor itself (see the package's docstring for what it does): imported when a
command asks for tool executors, not when the plugin is loaded."""

from __future__ import annotations

import base64
import binascii
import os
import re
import threading
from typing import IO, TYPE_CHECKING, Any

from streamkit.errors import UsageError
from streamkit.executors.base import (
    Executor,
    ToolCall,
    ToolOutput,
    check_environment,
    redacted,
    tool_environment,
    tool_secrets,
)
from streamkit.tools import Tool

if TYPE_CHECKING:
    from concurrent.futures import Future

# concurrent.futures (and the logging it imports) is imported where a server is used, not here:
# a command may load the executor to know its name and never start a server.

__all__ = ["MCPExecutor"]

DEFAULT_CONNECT_TIMEOUT = 30.0
#: How long close() waits for one server to shut down (the SDK's own escalation takes < 7 s).
CLOSE_TIMEOUT = 10.0
#: The fields of an ``mcp`` entry (besides streamkit's common ones); the last two are set on
#: the tools an entry expands to, pointing back at the server.
FIELDS = ("command", "cwd", "env", "pass_env", "url", "headers", "tools", "prefix", "connect_timeout",
          "mcp_server", "mcp_tool")  # fmt: skip
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


class ServerUnavailable(Exception):
    """The server could not be started or reached, or its connection is gone."""


# --- settings ------------------------------------------------------------------------------------


def _strings(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    )


def _check(tool: Tool) -> None:
    """Validate an ``mcp`` entry's fields; raise UsageError saying what is wrong."""
    s = tool.settings
    where = f"mcp server {tool.name!r}"
    unknown = sorted(set(s) - set(FIELDS))
    if unknown:
        raise UsageError(
            f"{where}: unknown field {unknown[0]!r} (an mcp entry takes: {', '.join(FIELDS[:9])})"
        )
    command, url = s.get("command"), s.get("url")
    if (command is None) == (url is None):
        raise UsageError(
            f"{where}: give either 'command' (a stdio server) or 'url' (a streamable-HTTP server)"
        )
    if command is not None:
        if isinstance(command, str):
            raise UsageError(
                f'{where}: \'command\' must be an argv list such as ["python3", "server.py"], not a shell string'
            )
        if not isinstance(command, list) or not command or not all(isinstance(a, str) and a for a in command):
            raise UsageError(f"{where}: 'command' must be a non-empty list of strings")
        if s.get("headers") is not None:
            raise UsageError(f"{where}: 'headers' is for a 'url' server; a stdio server takes 'env'")
        if s.get("cwd") is not None and not isinstance(s["cwd"], str):
            raise UsageError(f"{where}: 'cwd' must be a string")
        check_environment(s, where)
    else:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise UsageError(f"{where}: 'url' must be an http(s) URL such as \"http://127.0.0.1:8000/mcp\"")
        if s.get("cwd") is not None or s.get("env") is not None or s.get("pass_env") is not None:
            raise UsageError(
                f"{where}: 'cwd', 'env' and 'pass_env' are for a 'command' server; a url server takes 'headers'"
            )
        if s.get("headers") is not None and not _strings(s["headers"]):
            raise UsageError(f"{where}: 'headers' must be a table of strings")
    only = s.get("tools")
    if only is not None and (not isinstance(only, list) or not all(isinstance(n, str) for n in only)):
        raise UsageError(f"{where}: 'tools' must be a list of the server's tool names")
    if s.get("prefix") is not None and not isinstance(s["prefix"], str):
        raise UsageError(f"{where}: 'prefix' must be a string")
    timeout = s.get("connect_timeout", DEFAULT_CONNECT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise UsageError(f"{where}: 'connect_timeout' must be a positive number of seconds")


def _public_name(prefix: str, name: str) -> str:
    return prefix + _UNSAFE.sub("_", name)


# --- one server --------------------------------------------------------------------------------


class _Server:
    """One MCP session, kept open by a task on the executor's event loop until stopped."""

    def __init__(self, name: str, settings: dict[str, Any], source: str) -> None:
        self.name = name
        self.settings = settings
        self.source = source
        from concurrent.futures import Future

        self.opened: Future[list[Any]] = Future()  # the listed tools, once the session is up
        self.keeper: Future[None] | None = None
        self.client: Any = None
        self.stderr: IO[str] | None = None
        self.stop_event: Any = None  # an anyio.Event, made on the loop
        self.failure: str | None = None  # why the session could not be opened
        self.lock = threading.Lock()

    @property
    def label(self) -> str:
        if "url" in self.settings:
            return f"MCP server {self.name!r} ({self.settings['url']})"
        return f"MCP server {self.name!r} ({' '.join(self.settings['command'])})"

    # -- on the event loop --

    async def _keep(self) -> None:
        """Open the session, list the tools, then hold the session until stopped."""
        from contextlib import AsyncExitStack

        import anyio
        from mcp import Client
        from mcp.types import Implementation

        import streamkit

        self.stop_event = anyio.Event()
        try:
            async with AsyncExitStack() as stack:
                client = Client(
                    self._transport(stack),
                    client_info=Implementation(name="streamkit", version=streamkit.__version__),
                )
                await stack.enter_async_context(client)
                self.client = client
                listed: list[Any] = []
                cursor = None
                for _ in range(1000):  # a paginator that never ends must not hang the load
                    page = await client.list_tools(cursor=cursor)
                    listed.extend(page.tools)
                    cursor = page.next_cursor
                    if cursor is None:
                        break
                self.opened.set_result(listed)
                await self.stop_event.wait()
        except BaseException as exc:
            if not self.opened.done():
                self.opened.set_exception(exc)
            raise

    def _transport(self, stack: Any) -> Any:
        s = self.settings
        if "url" in s:
            import httpx2
            from mcp.client.streamable_http import streamable_http_client

            # The SDK's own defaults: 30 s to connect and write, 300 s of silence on a stream.
            http = httpx2.AsyncClient(
                headers=s.get("headers") or {}, timeout=httpx2.Timeout(30.0, read=300.0)
            )
            stack.push_async_callback(http.aclose)
            return streamable_http_client(s["url"], http_client=http)
        import tempfile

        from mcp.client.stdio import StdioServerParameters, stdio_client

        cwd = s.get("cwd")
        if cwd is not None and self.source and not os.path.isabs(cwd):
            cwd = os.path.join(
                os.path.dirname(os.path.abspath(self.source)), cwd
            )  # relative to the tools file
        self.stderr = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")  # noqa: SIM115 (closed in close())
        params = StdioServerParameters(command=s["command"][0], args=s["command"][1:], cwd=cwd,
                                       env=tool_environment(s))  # fmt: skip
        return stdio_client(params, errlog=self.stderr)

    # -- from the caller's threads --

    def open(self, portal: Any) -> list[Any]:
        """Start the session (once); the server's tools. Raises ServerUnavailable."""
        from concurrent.futures import wait

        with self.lock:
            if self.failure is not None:
                raise ServerUnavailable(self.failure)
            if self.keeper is None:
                self.keeper = portal.start_task_soon(self._keep, name=f"mcp {self.name}")
        keeper = self.keeper
        timeout = float(self.settings.get("connect_timeout", DEFAULT_CONNECT_TIMEOUT))
        try:
            wait([self.opened, keeper], timeout=timeout, return_when="FIRST_COMPLETED")
        except BaseException:  # Ctrl-C while waiting: leave nothing running
            self.stop(portal)
            raise
        if self.opened.done() and self.opened.exception() is None:
            if keeper.done():  # up, then gone again already
                raise ServerUnavailable(self._gone())
            return self.opened.result()
        if self.opened.done():
            reason = self._why(self.opened.exception())
        else:
            keeper.cancel()
            wait([keeper], timeout=CLOSE_TIMEOUT)
            reason = f"did not answer within {timeout:g} s{self._said()}"
        with self.lock:
            self.failure = reason
        raise ServerUnavailable(reason)

    def call(self, portal: Any, name: str, arguments: dict[str, Any]) -> Future[Any]:
        if self.keeper is None or self.keeper.done() or self.client is None:
            raise ServerUnavailable(self._gone())
        future: Future[Any] = portal.start_task_soon(self.client.call_tool, name, arguments)
        return future

    def stop(self, portal: Any) -> None:
        """Ask the session to end (the keeper leaves its ``async with``); does not wait."""
        keeper = self.keeper
        if keeper is None or keeper.done():
            return
        if self.stop_event is None:
            keeper.cancel()
            return
        try:
            portal.call(self.stop_event.set)
        except RuntimeError:  # the loop is gone
            keeper.cancel()

    def wait_closed(self) -> None:
        from concurrent.futures import wait

        if self.keeper is not None:
            done, _ = wait([self.keeper], timeout=CLOSE_TIMEOUT)
            if not done:
                self.keeper.cancel()
        if self.stderr is not None:
            self.stderr.close()
            self.stderr = None

    # -- messages --

    def _said(self) -> str:
        """The last lines the server wrote on stderr, for a message."""
        if self.stderr is None or self.stderr.closed:
            return ""
        try:
            self.stderr.flush()
            self.stderr.seek(0)
            text = self.stderr.read()[-4000:]
        except (OSError, ValueError):
            return ""
        lines = [line.strip() for line in text.splitlines() if line.strip()][-3:]
        return f"; it said: {' / '.join(lines)}" if lines else ""

    def _gone(self) -> str:
        return f"the {self.label} is not running any more (its connection closed){self._said()}"

    def _why(self, exc: BaseException | None) -> str:
        exc = _root(exc)
        if isinstance(exc, OSError) and not _is_http_error(exc):
            return f"could not be started: {exc.strerror or exc}"
        if _closed(exc):
            return f"closed the connection before answering{self._said() or ' (it may not be an MCP server)'}"
        return f"could not be reached: {_describe_error(exc)}{self._said()}"


def _root(exc: BaseException | None) -> BaseException | None:
    """The first real error inside (nested) exception groups."""
    import asyncio

    while exc is not None and getattr(exc, "exceptions", None):
        inner = [e for e in exc.exceptions if not isinstance(e, asyncio.CancelledError)]  # type: ignore[attr-defined]
        exc = inner[0] if inner else exc.exceptions[0]  # type: ignore[attr-defined]
    return exc


def _is_http_error(exc: BaseException) -> bool:
    return type(exc).__module__.startswith("httpx")


def _closed(exc: BaseException | None) -> bool:
    from mcp.shared.exceptions import MCPError

    return isinstance(exc, MCPError) and "closed" in str(exc).lower()


def _describe_error(exc: BaseException | None) -> str:
    from mcp.shared.exceptions import MCPError

    if exc is None:
        return "no reason given"
    text = str(exc).strip()
    if _is_http_error(exc) or isinstance(exc, MCPError):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# --- results -------------------------------------------------------------------------------------


def _size(data: str) -> str:
    try:
        return f"{len(base64.b64decode(data, validate=False))} bytes"
    except (binascii.Error, ValueError):
        return "undecodable data"


def _block_text(block: Any) -> str:
    kind = getattr(block, "type", None)
    if kind == "text":
        return str(block.text)
    if kind in ("image", "audio"):
        return f"[{kind}: {block.mime_type}, {_size(block.data)}, not shown]"
    if kind == "resource":
        resource = block.resource
        if getattr(resource, "text", None) is not None:
            return f"[resource {resource.uri}]\n{resource.text}"
        mime = f"{resource.mime_type}, " if resource.mime_type else ""
        return f"[resource {resource.uri}: {mime}{_size(resource.blob)}, not shown]"
    if kind == "resource_link":
        described = f": {block.description}" if block.description else ""
        return f"[resource link {block.name} <{block.uri}>{described}]"
    return f"[{kind} content, not shown]"


def _output(result: Any) -> ToolOutput:
    """A CallToolResult as a tool output (see the module docstring)."""
    import orjson

    if result.content:
        text = "\n".join(_block_text(block) for block in result.content)
    elif result.structured_content is not None:
        text = orjson.dumps(result.structured_content).decode()
    else:
        text = ""
    if result.is_error:
        return ToolOutput(
            text if text.strip() else "error: the tool reported an error without saying what", is_error=True
        )
    return ToolOutput(text)


# --- the executor --------------------------------------------------------------------------------


class MCPExecutor(Executor):
    name = "mcp"
    description = (
        "The tools of an MCP server (stdio command or streamable-HTTP url), through the official mcp SDK"
    )

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._portal: Any = None
        self._portal_cm: Any = None
        self._servers: dict[str, _Server] = {}
        self._calls: set[Future[Any]] = set()

    def check(self, tool: Tool) -> None:
        _check(tool)

    def expand(self, tool: Tool) -> list[Tool]:
        if "mcp_tool" in tool.settings:  # already one of a server's tools
            return [tool]
        _check(tool)
        server = self._server(tool.settings.get("mcp_server") or tool.name, tool.settings, tool.source)
        try:
            listed = server.open(self._loop())
        except ServerUnavailable as exc:
            raise UsageError(f"the {server.label} {exc}") from None
        by_name = {t.name: t for t in listed}
        only = tool.settings.get("tools")
        if only is not None:
            missing = [n for n in only if n not in by_name]
            if missing:
                raise UsageError(
                    f"the {server.label} has no tool {missing[0]!r} (it has: {', '.join(by_name) or 'none'})"
                )
            listed = [by_name[n] for n in dict.fromkeys(only)]
        prefix = tool.settings.get("prefix") or ""
        keep = {k: v for k, v in tool.settings.items() if k not in ("tools", "prefix")}
        tools = []
        for t in listed:
            parameters = dict(t.input_schema or {})
            parameters.setdefault("type", "object")
            tools.append(
                Tool(
                    name=_public_name(prefix, t.name),
                    description=t.description or t.title or "",
                    parameters=parameters,
                    executor=tool.executor,
                    settings={**keep, "mcp_server": server.name, "mcp_tool": t.name},
                    timeout=tool.timeout,
                    max_output=tool.max_output,
                    approve=tool.approve,
                    source=tool.source,
                )
            )
        return tools

    def run(self, call: ToolCall, cancel: threading.Event) -> ToolOutput:
        out = self._run(call, cancel)
        # a credential the tools file gives the server (a url server's headers, a stdio server's
        # env or pass_env: by a name that says so), echoed in a result or an error, reaches neither
        # the events nor the model, as streamkit's own executors keep it out
        return redacted(out, tool_secrets(call.tool.settings))

    def _run(self, call: ToolCall, cancel: threading.Event) -> ToolOutput:
        if cancel.is_set():  # stopped before it began: start no server for it
            return ToolOutput("error: the tool was stopped", is_error=True)
        from concurrent.futures import CancelledError, wait

        settings = call.tool.settings
        server = self._server(settings.get("mcp_server") or call.tool.name, settings, call.tool.source)
        try:
            portal = self._loop()
            server.open(portal)  # at once when expand() opened it; else started now
            future = server.call(portal, settings.get("mcp_tool") or call.tool.name, call.arguments)
        except ServerUnavailable as exc:
            return ToolOutput(f"error: the {server.label} {exc}", is_error=True)
        except RuntimeError:  # closed meanwhile
            return ToolOutput("error: the tool was stopped", is_error=True)
        with self._lock:
            self._calls.add(future)
        try:
            while True:
                done, _ = wait([future], timeout=0.05)
                if done:
                    break
                if cancel.is_set():
                    future.cancel()
                    return ToolOutput("error: the tool was stopped", is_error=True)
        finally:
            with self._lock:
                self._calls.discard(future)
        try:
            result = future.result()
        except CancelledError:  # by close(): the run is over
            return ToolOutput("error: the run was interrupted before the tool finished", is_error=True)
        except Exception as exc:
            return ToolOutput(f"error: {self._failure(server, exc)}", is_error=True)
        return _output(result)

    @staticmethod
    def _failure(server: _Server, exc: BaseException) -> str:
        from mcp.shared.exceptions import MCPError
        from pydantic import ValidationError

        root = _root(exc)
        if _closed(root):
            return server._gone()
        if isinstance(root, MCPError):
            return f"the {server.label} answered with an error: {root.error.message}"
        if isinstance(root, ValidationError):
            return f"the {server.label} sent an answer that does not match the tool's declared output: {root.errors()[0]['msg']}"
        return f"the call to the {server.label} failed: {_describe_error(root)}"

    def close(self) -> None:
        with self._lock:
            calls, self._calls = list(self._calls), set()
            servers, self._servers = list(self._servers.values()), {}
            portal, self._portal = self._portal, None
            portal_cm, self._portal_cm = self._portal_cm, None
        for future in calls:
            future.cancel()
        if portal is None:
            return
        for server in servers:
            server.stop(portal)
        for server in servers:
            server.wait_closed()
        try:
            portal.call(portal.stop, True)
        except RuntimeError:
            pass
        portal_cm.__exit__(None, None, None)

    # --- helpers -------------------------------------------------------------------------------

    def _loop(self) -> Any:
        """The blocking portal: an event loop in a background thread, started on first use."""
        with self._lock:
            if self._portal is None:
                import logging

                from anyio.from_thread import start_blocking_portal

                # The SDK logs what goes wrong (a line on a server's stdout that is not JSON-RPC,
                # with a traceback); streamkit's stderr is for its own messages, and what matters
                # reaches the model or the usage error. Without logging set up by the program,
                # Python would print these records on stderr: give them somewhere quiet to go.
                sdk = logging.getLogger("mcp")
                if not any(isinstance(h, logging.NullHandler) for h in sdk.handlers):
                    sdk.addHandler(logging.NullHandler())

                self._portal_cm = start_blocking_portal(name="streamkit-mcp")
                self._portal = self._portal_cm.__enter__()
            return self._portal

    def _server(self, name: str, settings: dict[str, Any], source: str) -> _Server:
        """The session for a server entry (shared by every tool of the entry), made on first use."""
        import orjson

        config = {
            k: settings.get(k)
            for k in ("command", "cwd", "env", "pass_env", "url", "headers", "connect_timeout")
        }
        key = orjson.dumps([source, name, config], option=orjson.OPT_SORT_KEYS).decode()
        with self._lock:
            server = self._servers.get(key)
            if server is None:
                server = self._servers[key] = _Server(
                    name, {k: v for k, v in config.items() if v is not None}, source
                )
            return server
