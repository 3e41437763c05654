"""The gateway's side of an MCP server: list its tools, call one, through the official ``mcp`` SDK
over streamable HTTP.

Choices the issue left open:

* One session per operation: listing opens a session, lists, closes; each call does the same.
  A response's stream and the request that began it run in different tasks, and the SDK's
  transport must be closed in the task that opened it, so a session is never held across them.
  Measured on loopback against the SDK's own server (2 shared cores): a list or a call in a
  session of its own takes ~80-110 ms (median; the session's set-up is most of it), a call in
  a session already open ~9 ms. A session held for the whole response, by a task of its own,
  would save that; not done yet.
* Bounds: connecting and listing take at most ``connect_timeout`` seconds (the gateway's
  ``--connect-timeout``), a call at most ``call_timeout`` (its ``--read-timeout``).
* Headers (``Authorization`` and the like) go to the server only. An error's text never holds
  them: any header value that shows up in a message is replaced by ``***``. The SDK's own log
  records go nowhere (its logger gets a ``NullHandler`` and does not propagate).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Tool:
    """One tool a server listed: the shape of a Responses ``mcp_list_tools`` entry."""

    name: str
    description: str | None
    input_schema: dict[str, Any]
    annotations: dict[str, Any] | None = None

    def item(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "input_schema": self.input_schema,
                "annotations": self.annotations}  # fmt: skip

    @property
    def read_only(self) -> bool:
        return bool((self.annotations or {}).get("read_only") or (self.annotations or {}).get("readOnlyHint"))


@dataclass
class Outcome:
    """What a call gave: its text, and whether it failed (``error`` the Responses error object)."""

    text: str
    is_error: bool = False
    error: dict[str, Any] | None = None


class ServerError(Exception):
    """The server could not be reached or answered with something that is not MCP."""


@dataclass
class Connection:
    """Where a server is and what to send it; ``headers`` are never shown (``repr`` hides them)."""

    url: str
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    connect_timeout: float = 10.0
    call_timeout: float = 60.0

    def scrub(self, text: str) -> str:
        """``text`` with every header value in it replaced by ``***``."""
        for value in self.headers.values():
            if len(value) >= 4:
                text = text.replace(value, "***")
                bare = value.split(" ", 1)[-1]
                if len(bare) >= 4:
                    text = text.replace(bare, "***")
        return text

    async def list_tools(self) -> list[Tool]:
        """The server's tools (every page). Raises :class:`ServerError`."""

        async def listing(client: Any) -> list[Tool]:
            tools: list[Tool] = []
            cursor = None
            for _ in range(100):  # a paginator that never ends must not hang the request
                page = await client.list_tools(cursor=cursor)
                for t in page.tools:
                    annotations = None
                    if t.annotations is not None:
                        hints = t.annotations.model_dump(exclude_none=True)
                        annotations = {"read_only": bool(hints.get("read_only_hint", False))}
                    schema = dict(t.input_schema or {})
                    schema.setdefault("type", "object")
                    tools.append(Tool(t.name, t.description or t.title, schema, annotations))
                cursor = page.next_cursor
                if cursor is None:
                    break
            return tools

        try:
            return await asyncio.wait_for(self._session(listing), self.connect_timeout)
        except TimeoutError:
            raise ServerError(f"did not list its tools within {self.connect_timeout:g} s") from None
        except Exception as exc:
            raise ServerError(self.describe(exc)) from None

    async def call(self, name: str, arguments: dict[str, Any]) -> Outcome:
        """Call a tool; every failure is an :class:`Outcome` with ``is_error`` (never raises)."""
        from mcp.shared.exceptions import MCPError

        async def calling(client: Any) -> Any:
            return await client.call_tool(name, arguments)

        try:
            result = await asyncio.wait_for(self._session(calling), self.connect_timeout + self.call_timeout)
        except TimeoutError:
            text = f"the MCP server did not answer within {self.connect_timeout + self.call_timeout:g} s"
            return Outcome(text, True, {"type": "mcp_tool_execution_error", "content": [_text(text)]})
        except Exception as exc:
            root = _root(exc)
            text = self.describe(exc)
            if isinstance(root, MCPError):
                error = {"type": "mcp_protocol_error", "code": root.error.code, "message": text}
            elif isinstance(status := getattr(getattr(root, "response", None), "status_code", None), int):
                error = {"type": "http_error", "code": status, "message": text}
            else:
                error = {"type": "mcp_tool_execution_error", "content": [_text(text)]}
            return Outcome(text, True, error)
        text = _result_text(result)
        if result.is_error:
            text = text if text.strip() else "the tool reported an error without saying what"
            return Outcome(text, True, {"type": "mcp_tool_execution_error", "content": [_text(text)]})
        return Outcome(text)

    async def _session(self, work: Any) -> Any:
        """Run ``work(client)`` in a session of its own, opened and closed here."""
        import httpx2
        from mcp import Client
        from mcp.client.streamable_http import streamable_http_client
        from mcp.types import Implementation

        import streamkit

        quiet_sdk_logs()
        timeout = httpx2.Timeout(self.call_timeout, connect=self.connect_timeout)
        async with httpx2.AsyncClient(headers=self.headers, timeout=timeout) as http:
            transport = streamable_http_client(self.url, http_client=http)
            info = Implementation(name="streamkit-gateway", version=streamkit.__version__)
            async with Client(transport, client_info=info) as client:
                return await work(client)

    def describe(self, exc: BaseException) -> str:
        """An error as one line for the client, with no header value in it."""
        from mcp.shared.exceptions import MCPError

        root = _root(exc)
        if isinstance(root, MCPError):
            text = root.error.message
        elif root is None:
            text = "no reason given"
        else:
            said = str(root).strip()
            text = f"{type(root).__name__}: {said}" if said else type(root).__name__
        return self.scrub(text)


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def _root(exc: BaseException | None) -> BaseException | None:
    """The first real error inside (nested) exception groups."""
    while exc is not None and getattr(exc, "exceptions", None):
        inner = [e for e in exc.exceptions if not isinstance(e, asyncio.CancelledError)]  # type: ignore[attr-defined]
        exc = inner[0] if inner else exc.exceptions[0]  # type: ignore[attr-defined]
    return exc


def _result_text(result: Any) -> str:
    """A ``CallToolResult`` as text: its text blocks joined; other blocks named; else its
    structured content as JSON."""
    import orjson

    texts = []
    for block in result.content or ():
        kind = getattr(block, "type", None)
        texts.append(str(block.text) if kind == "text" else f"[{kind} content, not shown]")
    if texts:
        return "\n".join(texts)
    if result.structured_content is not None:
        return orjson.dumps(result.structured_content).decode()
    return ""


_quieted = False


def quiet_sdk_logs() -> None:
    """The SDK's log records go nowhere: serve's stderr is for its own lines (and a record could
    quote a request)."""
    global _quieted
    if not _quieted:
        import logging

        sdk = logging.getLogger("mcp")
        sdk.addHandler(logging.NullHandler())
        sdk.propagate = False
        _quieted = True
