"""streamkit-mcp: the tools of MCP servers, run by ``run-tools`` and ``agent``.

A tool executor plugin written as any outside author would: it uses only streamkit's public API
(:class:`~streamkit.executors.base.Executor`, :class:`~streamkit.tools.Tool`, ``hookimpl``,
:mod:`streamkit.errors`) and the official ``mcp`` SDK, and is found through its ``streamkit``
entry point.

One tools-file entry declares one server, not one tool::

    [[tools]]
    name = "docs"                          # names the server (in messages), not a tool
    executor = "mcp"
    command = ["python3", "server.py"]     # stdio: an argv list, run directly (no shell)
    cwd = "servers"                        # optional, relative to the tools file
    env = { DOCS_ROOT = "/srv/docs" }      # optional, added to the server's environment
    pass_env = ["GITHUB_TOKEN"]            # optional: credentials it may inherit (see below)
    # url = "http://127.0.0.1:8000/mcp"    # or streamable HTTP, with optional `headers`
    tools = ["search", "fetch"]            # optional: only these of the server's tools
    prefix = "docs_"                       # optional: prepended to the names the model sees
    timeout = 30                           # per call, as for every tool
    connect_timeout = 30                   # seconds to start the server and list its tools

When the tools file is loaded (``run-tools``, ``agent``, ``fetch --tools``), the executor starts
or reaches the server, lists its tools (every page) and stands the entry in for one tool per
server tool: the server's name (with the prefix; characters other than letters, digits, ``_``
and ``-``, which model APIs reject, become ``_``), its description and its input JSON Schema,
with the entry's ``timeout``, ``max_output`` and ``approve``. A server that cannot be started
or reached, a ``tools`` name the server does not have, or a wrong field is a usage error naming
the file, the entry and the reason.

A stdio server's environment is streamkit's but for the variables named as credentials, which
``pass_env`` passes on by name or pattern (:func:`streamkit.executors.base.tool_environment`);
``env`` sets more.

The session stays open for the executor's life, on an event loop in a background thread; calls
run concurrently over it. ``close()`` ends each session and the stdio server process (the SDK
closes its stdin, then terminates its process group): nothing is left running, also on Ctrl-C.
The server's stderr is kept aside and its last lines quoted when it fails to start or dies.

What a call answers:

* the text of its content blocks, joined by newlines; an image, audio or binary resource is
  described in a line of text (``[image: image/png, 71 bytes, not shown]``), an embedded text
  resource is given with its URI, a resource link as its name and URI;
* a result with no content blocks but structured content: that content as JSON text;
* ``isError`` from the server: ``is_error: true`` with the server's text;
* a server that died, a protocol error, an answer that does not match the tool's output schema:
  ``is_error: true`` with a plain message naming the server.

Timeouts, output caps, empty answers, unknown tool names and invalid arguments are handled by
the runner around every executor (see :mod:`streamkit.stages.run_tools`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from streamkit import hookimpl

__all__ = ["register_tool_executors"]


@hookimpl
def register_tool_executors(register: Callable[[Any], None]) -> None:
    # every command loads the plugin to know what it offers; the executor (the mcp SDK's
    # helpers, threads) is imported only by a command that asks for tool executors
    from .executor import MCPExecutor

    register(MCPExecutor())
