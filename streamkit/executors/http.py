"""The ``http`` executor: POST the arguments as JSON to a URL; the response body is the output.

``url`` is required; ``headers`` (a table of strings) are sent with it. A status of 400 or more
is an error result carrying the status and the body.

The body is read as it arrives and never past ``max_output`` (the connection is closed there),
so a server that answers without end cannot fill the runner's memory. The whole call, not each
read, is bounded by the tool's timeout: a server that trickles a byte at a time is cut off at the
deadline, and a cancel (timeout, Ctrl-C) is seen between reads. A read that blocks runs in a
daemon thread that the runner does not wait for, so the runner can always exit at once.
"""

from __future__ import annotations

import threading
import time

from ..errors import UsageError
from ..tools import Tool
from .base import Executor, ToolCall, ToolOutput


class HTTPExecutor(Executor):
    name = "http"
    description = "POST the arguments as JSON to a URL; the response body is the output"

    def check(self, tool: Tool) -> None:
        url = tool.settings.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise UsageError(f"tool {tool.name!r}: the http executor needs 'url', an http(s) URL")
        headers = tool.settings.get("headers")
        if headers is not None and (
            not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values())
        ):
            raise UsageError(f"tool {tool.name!r}: 'headers' must be a table of strings")

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
        try:
            with (
                httpx.Client(timeout=tool.timeout) as client,
                client.stream("POST", settings["url"], json=call.arguments, headers=headers) as response,
            ):
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
        if status >= 400:
            return ToolOutput(
                f"the tool's server answered {status}: {text.strip()}", is_error=True, truncated=truncated
            )
        return ToolOutput(text, truncated=truncated)
