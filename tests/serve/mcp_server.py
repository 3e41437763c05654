"""A real MCP server for the gateway's MCP tests, built with the official SDK's server API:
streamable HTTP on a free port of 127.0.0.1, the first line on stdout its URL.

    python tests/serve/mcp_server.py TOKEN

Two tools: ``weather(city)`` answers with a sentence, ``fail(reason)`` reports a tool error
(``isError``). Every request must carry ``Authorization: Bearer TOKEN`` (else 401), so a test
sees that the headers a client gave reached the server.
"""

from __future__ import annotations

import socket
import sys

import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("streamkit-gateway-test", log_level="WARNING")


@server.tool()
def weather(city: str) -> str:
    """The weather in a city."""
    return f"It is 18 degrees and sunny in {city}."


@server.tool()
def fail(reason: str) -> str:
    """Always reports an error with the reason given."""
    raise ToolError(f"cannot: {reason}")


def app(token: str) -> object:
    inner = server.streamable_http_app()

    async def guarded(scope: dict, receive: object, send: object) -> None:
        if scope["type"] == "http":
            headers = dict(scope.get("headers") or [])
            if headers.get(b"authorization") != f"Bearer {token}".encode():
                await send({"type": "http.response.start", "status": 401,
                            "headers": [(b"content-type", b"text/plain")]})  # fmt: skip
                await send({"type": "http.response.body", "body": b"unauthorized"})
                return
        await inner(scope, receive, send)  # type: ignore[operator]

    return guarded


if __name__ == "__main__":
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    print(f"http://127.0.0.1:{sock.getsockname()[1]}/mcp", flush=True)
    config = uvicorn.Config(app(sys.argv[1]), log_level="warning", lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])
