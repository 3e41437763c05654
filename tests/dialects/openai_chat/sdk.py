"""The official ``openai`` client over ``httpx.MockTransport``: the bodies it sends, and what it
makes of the answers we write."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import openai
import orjson

EMPTY_COMPLETION = {
    "id": "chatcmpl-0",
    "object": "chat.completion",
    "created": 0,
    "model": "m",
    "choices": [],
}


def client(handler: Callable[[httpx.Request], httpx.Response]) -> openai.OpenAI:
    """An ``openai.OpenAI`` whose requests go to ``handler`` (no retries)."""
    return openai.OpenAI(
        api_key="sk-test",
        base_url="http://gateway.test/v1",
        max_retries=0,
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    )


def sent(**create: Any) -> dict[str, Any]:
    """The JSON body ``client.chat.completions.create(**create)`` posts."""
    bodies: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/chat/completions"
        bodies.append(orjson.loads(request.content))
        return httpx.Response(200, json=EMPTY_COMPLETION)

    create.setdefault("model", "gpt-4o")
    client(handler).chat.completions.create(**create)
    (body,) = bodies
    return body


def answering(status: int, body: Any, headers: dict[str, str] | None = None) -> openai.OpenAI:
    """A client whose every request is answered with ``status`` and the JSON ``body``."""
    return client(lambda request: httpx.Response(status, json=body, headers=headers))
