"""The ``http`` executor: POST the arguments as JSON to a URL; the response body is the output.

``url`` is required; ``headers`` (a table of strings) are sent with it. A status of 400 or more
is an error result carrying the status and the body.

The body is read as it arrives and never past ``max_output`` (the connection is closed there),
so a server that answers without end cannot fill the runner's memory. The whole call, not each
read, is bounded by the tool's timeout: a server that trickles a byte at a time is cut off at the
deadline, and a cancel (timeout, Ctrl-C) is seen between reads. A read that blocks runs in a
daemon thread that the runner does not wait for, so the runner can always exit at once.

The executor keeps one httpx client for its calls (two at most: one for plain HTTP, one for
TLS), so that the SSL context is made once: a client made for each call cost 29 to 33 ms a call
to a server on loopback (httpx loads the CA bundle into every client it makes), against 2.6 ms
now. Each call still has a connection of its own: on a kept-alive connection, a server that
writes a response in pieces with Nagle's algorithm on (Python's ``http.server`` does) waits for
the client's delayed acknowledgement, 44 ms a call measured. A plain-HTTP URL that no proxy
carries gets a context that trusts nothing, as ``fetch``'s (:func:`streamkit.upstream.tls_options`).
``warm_up`` makes the clients the checked tools need (httpx's import alone is over 100 ms)
before the first call, while run-tools waits for input.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from ..errors import UsageError
from ..redaction import redact
from ..tools import Tool
from .base import Executor, ToolCall, ToolOutput, tool_secrets


class HTTPExecutor(Executor):
    name = "http"
    description = "POST the arguments as JSON to a URL; the response body is the output"

    def __init__(self) -> None:
        self._clients: dict[bool, Any] = {}  # by whether the URL is plain HTTP with no proxy
        self._lock = threading.Lock()
        self._urls: set[str] = set()  # the checked tools' URLs: what warm_up makes clients for

    def _client(self, url: str) -> Any:
        import httpx

        from ..upstream import tls_options

        options = tls_options(url)
        with self._lock:
            client = self._clients.get(bool(options))
            if client is None:
                no_reuse = httpx.Limits(max_keepalive_connections=0)  # a connection a call (see above)
                client = self._clients[bool(options)] = httpx.Client(limits=no_reuse, **options)
            return client

    def warm_up(self) -> None:
        for url in list(self._urls):
            self._client(url)

    def close(self) -> None:
        """Close the clients (a later call makes them again: the agent runs tools after closing
        the executors it used to declare them)."""
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()

    def check(self, tool: Tool) -> None:
        url = tool.settings.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise UsageError(f"tool {tool.name!r}: the http executor needs 'url', an http(s) URL")
        headers = tool.settings.get("headers")
        if headers is not None and (
            not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values())
        ):
            raise UsageError(f"tool {tool.name!r}: 'headers' must be a table of strings")
        self._urls.add(url)

    def run(self, call: ToolCall, cancel: threading.Event) -> ToolOutput:
        import httpx

        tool = call.tool
        settings = tool.settings
        headers = {"Content-Type": "application/json", "STREAMKIT-Tool-Name": tool.name,
                   "STREAMKIT-Tool-Call-Id": call.call_id, **(settings.get("headers") or {})}  # fmt: skip
        deadline = time.monotonic() + tool.timeout
        limit = tool.max_output + 1  # one byte more than the cap tells the runner it was over
        late = ToolOutput(f"the tool's server did not answer within {tool.timeout:g} s", is_error=True)
        body = bytearray()
        truncated = False
        client = self._client(settings["url"])
        try:
            with client.stream(
                "POST", settings["url"], json=call.arguments, headers=headers, timeout=tool.timeout
            ) as response:
                for chunk in response.iter_bytes():
                    if cancel.is_set():
                        return ToolOutput("the tool was stopped", is_error=True)
                    body += chunk[: limit - len(body)]
                    if len(body) >= limit:
                        truncated = True
                        break
                    if time.monotonic() > deadline:
                        return late
                status = response.status_code
                encoding = response.encoding or "utf-8"
        except httpx.TimeoutException:
            return late
        except httpx.HTTPError as exc:
            return ToolOutput(f"the tool's server could not be reached: {exc}", is_error=True)
        try:
            text = body.decode(encoding, "replace")
        except LookupError:  # a charset Python does not know
            text = body.decode("utf-8", "replace")
        # a credential the tools file gives the server, echoed back, reaches neither the events nor
        # the model (as fetch keeps a key an upstream echoes out of what it writes)
        echoed = tool_secrets(settings)
        if echoed:
            text = redact(text, echoed)
        if status >= 400:
            return ToolOutput(
                f"the tool's server answered {status}: {text.strip()}", is_error=True, truncated=truncated
            )
        return ToolOutput(text, truncated=truncated)
