"""What the official ``anthropic`` client really sends and reads, through ``httpx2.MockTransport``
(the transport package of this SDK version): request capture for the parse tests, and a client
served a fixed response for the whole-response and error tests."""

from __future__ import annotations

from typing import Any

import orjson

from streamkit.dialects.anthropic import Anthropic
from streamkit.dialects.base import ParsedRequest


class Sent:
    """One request the client sent: its path, query, lower-case headers and JSON body."""

    def __init__(self, request: Any) -> None:
        self.path: str = request.url.path
        self.query: str = (
            request.url.query.decode() if isinstance(request.url.query, bytes) else str(request.url.query)
        )
        self.headers: dict[str, str] = {k.lower(): v for k, v in request.headers.items()}
        self.body: Any = orjson.loads(request.content)

    def parse(self) -> ParsedRequest:
        return Anthropic().parse_request(self.body, path=self.path, headers=self.headers)


def client(status: int = 200, body: Any = None, *, seen: list[Sent] | None = None, **headers: str) -> Any:
    """An ``anthropic.Anthropic`` whose every request gets ``status`` and ``body`` (JSON, or an
    empty event stream when None), recording what it sent in ``seen``."""
    import anthropic
    import httpx2

    def handler(request: Any) -> Any:
        if seen is not None:
            seen.append(Sent(request))
        if body is None:
            return httpx2.Response(
                status, headers={"content-type": "text/event-stream", **headers}, content=b""
            )
        return httpx2.Response(status, headers={"content-type": "application/json", **headers}, json=body)

    return anthropic.Anthropic(
        api_key="sk-ant-test",
        base_url="http://gateway.test",
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
    )


def sent(*, beta: bool = False, count: bool = False, **params: Any) -> Sent:
    """The request ``client.messages.create(**params)`` sends (``client.beta.messages`` with
    ``beta``; ``count_tokens`` with ``count``)."""
    seen: list[Sent] = []
    sdk = client(body={"input_tokens": 1} if count else None, seen=seen)
    messages = sdk.beta.messages if beta else sdk.messages
    params.setdefault("model", "claude-sonnet-4-5")
    if count:
        messages.count_tokens(**params)
    else:
        params.setdefault("max_tokens", 1024)
        params.setdefault("stream", True)
        messages.create(**params)
    (request,) = seen
    return request


def parsed(**params: Any) -> ParsedRequest:
    """The SDK's request for ``params``, parsed."""
    return sent(**params).parse()
