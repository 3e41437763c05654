"""The ``anthropic`` dialect: Anthropic Messages streaming (``message_start`` … ``message_stop``
over SSE), read and written, and Messages requests built from canonical conversations.

* ``normalize``: the Messages stream → canonical events (its docstring maps the wire format).
* ``encode``: canonical events → a Messages stream that the official SDK reads.
* ``request``: canonical conversations → the Messages request body, URL and betas.
* ``parse``: a client's Messages request → a canonical conversation (what ``serve`` reads), and
  the estimate ``/v1/messages/count_tokens`` answers with.
* ``whole``: the whole (non-streamed) ``message`` object, and the error body.
* ``wire``: what those share: the dialect's name, the stop-reason table, message fields.

Each is imported when first needed: normalizing a stream does not import the encoder or the
request builder. ``streamkit serve -d anthropic`` answers on ``/v1/messages`` and ``/messages``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ..base import Dialect, Endpoint, Normalizer, ParsedRequest, Request
from .wire import NAME

if TYPE_CHECKING:
    from .encode import AnthropicEncoder
    from .normalize import AnthropicNormalizer
    from .usage import map_usage

# names importable from here, each from the module that holds it (imported on first use)
_EXPORTS = {
    "AnthropicNormalizer": "normalize",
    "map_usage": "usage",
    "AnthropicEncoder": "encode",
}

__all__ = ["Anthropic", "AnthropicEncoder", "AnthropicNormalizer", "map_usage"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


STREAM_TYPES = frozenset(
    {
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
        "ping",
    }
)


class Anthropic(Dialect):
    name = NAME
    description = "Anthropic Messages streaming events (message_start ... message_stop)"
    framing = "sse"
    #: (the API takes tool names of 64 letters, digits, ``_`` and ``-`` at most)
    tool_name_pattern = r"[a-zA-Z0-9_-]{1,64}"
    default_base_url = "https://api.anthropic.com"
    base_url_env = ("ANTHROPIC_BASE_URL",)
    api_key_env = ("ANTHROPIC_API_KEY",)
    #: a bearer token, as the official SDK reads it, for Anthropic-compatible servers: sent as
    #: ``Authorization: Bearer`` when no key is set (a key wins, as in the SDK: one credential)
    auth_token_env = ("ANTHROPIC_AUTH_TOKEN",)
    serve_paths = ("/v1/messages", "/messages")

    def parse_request(
        self, body: Any, *, path: str = "", params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> ParsedRequest:  # fmt: skip
        from .parse import parse_request

        return parse_request(body, path=path, params=params, headers=headers)

    def whole_response(self, messages: list[dict[str, Any]], **options: Any) -> Any:
        from .whole import whole_message

        return whole_message(messages, **options)

    def error_body(self, status: int, message: str, code: Any = None) -> Any:
        from .whole import error_body

        return error_body(status, message, code)

    def wants_continuation(self, message: dict[str, Any]) -> bool:
        return message.get("raw_finish_reason") == "pause_turn"  # the server paused a long turn

    def build_request(
        self, conversation: dict[str, Any] | None, endpoint: Endpoint, *, body: Any = None
    ) -> Request:
        from .request import API_VERSION, anthropic_request, messages_url

        betas: list[str] = []
        if body is None:
            body, betas = anthropic_request(conversation or {"messages": []}, endpoint.model)
        headers = {
            "accept": "text/event-stream",
            "content-type": "application/json",
            "anthropic-version": API_VERSION,
        }
        if betas:
            headers["anthropic-beta"] = ",".join(betas)
        if endpoint.api_key:
            headers["x-api-key"] = endpoint.api_key
        elif endpoint.auth_token:
            headers["authorization"] = f"Bearer {endpoint.auth_token}"
        return Request(messages_url(endpoint.base_url), body, headers)

    def sniff(self, data: Any, event: str | None = None) -> bool:
        if type(data) is not dict:
            return False
        kind = data.get("type")
        if kind in STREAM_TYPES:
            return True
        if kind == "error" and event in (None, "error"):
            err = data.get("error")
            return isinstance(err, dict) and isinstance(err.get("type"), str)
        return False

    def normalizer(self, **options: Any) -> Normalizer:
        from .normalize import AnthropicNormalizer

        # (a Normalizer by registration, which mypy does not follow: it is compiled, see its class)
        return AnthropicNormalizer(**options)  # type: ignore[return-value]

    def encoder(self, **options: Any) -> AnthropicEncoder:
        from .encode import AnthropicEncoder

        return AnthropicEncoder(**options)
