"""A real MCP server for the streamkit-mcp tests, written with the official SDK's server API.

    python mcp_test_server.py            # over stdio (started by the executor)
    python mcp_test_server.py --http     # streamable HTTP on a free port of 127.0.0.1; the first
                                         # line on stdout is its URL

``MCP_TEST_PIDFILE`` (if set) gets a line with the server's pid each time a server starts, so that
a test can count the starts and check that nothing is left running.
"""

from __future__ import annotations

import asyncio
import base64
import os
import sys
from typing import Any

from mcp.server.mcpserver import Context, Image, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import BlobResourceContents, EmbeddedResource, ResourceLink, TextResourceContents

server = MCPServer("streamkit-test", log_level="WARNING")

# A 1x1 PNG.
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2d4"
    "8a0f0000000049454e44ae426082"
)


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def echo(text: str) -> str:
    """Answer with the text it was given."""
    return text


@server.tool()
def weather(city: str) -> dict[str, Any]:
    """The weather in a city, as structured content."""
    return {"city": city, "temperature": 8, "wind": "strong"}


@server.tool()
def refuse(reason: str) -> str:
    """Always reports an error (isError) with the reason given."""
    raise ToolError(reason)


@server.tool()
def crash() -> str:
    """Raises an unexpected exception."""
    raise RuntimeError("the disk caught fire")


@server.tool()
async def slow(seconds: float, marker: str = "") -> str:
    """Sleeps, then answers; `marker`: a file to create when the call starts."""
    if marker:
        with open(marker, "w") as f:
            f.write("started")
    await asyncio.sleep(seconds)
    return f"slept {seconds}"


@server.tool()
def empty() -> str:
    """Answers with an empty text."""
    return ""


@server.tool()
def big(size: int) -> str:
    """Answers with `size` letters."""
    return "x" * size


@server.tool(structured_output=False)
def media() -> list[Any]:
    """A caption, a picture, an embedded text resource, a binary one and a link to a resource."""
    return [
        "a red pixel",
        Image(data=PIXEL, format="png"),
        EmbeddedResource(
            type="resource", resource=TextResourceContents(uri="file:///notes.txt", text="remember the milk")
        ),
        EmbeddedResource(
            type="resource",
            resource=BlobResourceContents(
                uri="file:///pixel.png", mime_type="image/png", blob=base64.b64encode(PIXEL).decode()
            ),
        ),
        ResourceLink(
            type="resource_link", uri="file:///report.pdf", name="report", mime_type="application/pdf"
        ),
    ]


@server.tool()
def environment(name: str) -> str:
    """The value of an environment variable of the server, and its working directory."""
    return f"{name}={os.environ.get(name, '')} cwd={os.getcwd()}"


@server.tool()
def header(name: str, ctx: Context) -> str:
    """The value of a header of the HTTP request that carried the call."""
    return f"{name}: {(ctx.headers or {}).get(name.lower(), '(none)')}"


@server.tool()
def die() -> str:
    """Ends the server process at once, mid-call."""
    os._exit(3)


@server.tool(name="files.read")
def files_read(path: str) -> str:
    """A tool whose name has a dot in it."""
    return f"read {path}"


def serve_http() -> None:
    import socket

    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    port = sock.getsockname()[1]
    config = uvicorn.Config(server.streamable_http_app(), log_level="warning")
    print(f"http://127.0.0.1:{port}/mcp", flush=True)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    pidfile = os.environ.get("MCP_TEST_PIDFILE")
    if pidfile:
        with open(pidfile, "a") as f:
            f.write(f"{os.getpid()}\n")
    if "--http" in sys.argv[1:]:
        serve_http()
    else:
        server.run()
