"""The official google-genai client over ``httpx.MockTransport``: what it sends (the bodies the
parse tests start from) and what it makes of what we answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import orjson
from google import genai
from google.genai import types

BASE = "http://gemini.test"
ANSWER = {"candidates": [{"content": {"role": "model", "parts": [{"text": "ok"}]}, "finishReason": "STOP"}]}


def client(handler: Callable[[httpx.Request], httpx.Response]) -> genai.Client:
    """A google-genai client whose requests go to ``handler`` (one attempt: no retries)."""
    http = httpx.Client(transport=httpx.MockTransport(handler))
    options = types.HttpOptions(
        base_url=BASE, httpx_client=http, retry_options=types.HttpRetryOptions(attempts=1)
    )
    return genai.Client(api_key="test-key", http_options=options)


def sent(
    contents: Any, config: types.GenerateContentConfig | None = None, *, stream: bool = False,
    model: str = "gemini-2.5-flash",
) -> tuple[str, dict[str, Any]]:  # fmt: skip
    """The path and JSON body the SDK posts for ``generate_content`` (or ``_stream``)."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if stream:
            sse = b"data: " + orjson.dumps(ANSWER) + b"\r\n\r\n"
            return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=sse)
        return httpx.Response(200, json=ANSWER)

    sdk = client(handler)
    if stream:
        for _ in sdk.models.generate_content_stream(model=model, contents=contents, config=config):
            pass
    else:
        sdk.models.generate_content(model=model, contents=contents, config=config)
    (request,) = seen
    return request.url.path, orjson.loads(request.content)


def answered(body: Any, status: int = 200) -> types.GenerateContentResponse:
    """What ``generate_content`` returns (or raises) when the server answers ``body``."""
    sdk = client(lambda request: httpx.Response(status, json=body))
    return sdk.models.generate_content(model="gemini-2.5-flash", contents="hi")
