"""The ``http`` executor: POST the arguments as JSON to a URL; the response body is the output.

``url`` is required; ``headers`` (a table of strings) are sent with it. A status of 400 or more
is an error result carrying the status and the body.
"""

from __future__ import annotations

import threading

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

        settings = call.tool.settings
        headers = {"Content-Type": "application/json", "STREAMKIT-Tool-Name": call.tool.name,
                   "STREAMKIT-Tool-Call-Id": call.call_id, **(settings.get("headers") or {})}  # fmt: skip
        try:
            response = httpx.post(
                settings["url"], json=call.arguments, headers=headers, timeout=call.tool.timeout
            )
        except httpx.TimeoutException:
            return ToolOutput(
                f"the tool's server did not answer within {call.tool.timeout:g} s", is_error=True
            )
        except httpx.HTTPError as exc:
            return ToolOutput(f"the tool's server could not be reached: {exc}", is_error=True)
        if response.status_code >= 400:
            return ToolOutput(
                f"the tool's server answered {response.status_code}: {response.text.strip()}", is_error=True
            )
        return ToolOutput(response.text)
