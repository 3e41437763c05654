"""The ``openai-responses`` dialect: OpenAI's Responses API streaming events (``response.*``) over
SSE, both ways, and its requests; also the servers that copy it (xAI, DeepSeek, OpenRouter, LM
Studio, AWS Bedrock "mantle"). ``streamkit serve`` answers it on ``/v1/responses`` over HTTP and
WebSocket.

- ``wire``: the shared vocabulary: the dialect's name, the item types, small helpers.
- ``fields``: typed readers of an event's fields, failing with a clear DataError.
- ``normalize``: Responses stream events → canonical events (the wire format, event by event).
- ``normalize_blocks``: the normalizer's text and reasoning blocks, and annotations as sources.
- ``normalize_tools``: the normalizer's tool-call items (client calls, provider-executed tools).
- ``encode``: canonical events → Responses stream events, as the official SDK reads them.
- ``encode_tools``: the encoder's tool calls, written as the items that express them.
- ``items``: the later tool items (shell, local shell, computer, tool search, programs, MCP
  approvals): who runs each, its input and fields, its answer; used in every direction.
- ``request``: conversations → request bodies (HTTP and WebSocket), and continuations.
- ``parse``: request bodies → conversations (``serve``'s gateway), the builder backwards.
- ``whole``: the whole (non-streamed) ``response`` object and the error body.

Names are imported on first use, so that a command that only normalizes never loads the encoder
or the request builder.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ..base import Dialect, Endpoint, Normalizer, ParsedRequest, Request
from .wire import NAME, _meta

if TYPE_CHECKING:
    from .encode import ResponsesEncoder
    from .normalize import ResponsesNormalizer
    from .request import WEBSOCKET_FINAL

_EXPORTS = {
    "ResponsesNormalizer": "normalize",
    "ResponsesEncoder": "encode",
    "WEBSOCKET_FINAL": "request",
}

__all__ = ["WEBSOCKET_FINAL", "OpenAIResponses", "ResponsesEncoder", "ResponsesNormalizer"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


class OpenAIResponses(Dialect):
    name = NAME
    description = "OpenAI Responses API events (response.*), over SSE; also Responses-compatible servers"
    framing = "sse"
    #: (the API takes tool names of 64 letters, digits, ``_`` and ``-`` at most)
    tool_name_pattern = r"[a-zA-Z0-9_-]{1,64}"
    default_base_url = "https://api.openai.com/v1"
    base_url_env = ("OPENAI_BASE_URL",)
    api_key_env = ("OPENAI_API_KEY",)
    serve_paths = ("/v1/responses", "/responses", "/openai/responses", "/openai/v1/responses")  # Azure's too
    #: Azure's ``api-version`` (see :mod:`streamkit.dialects.azure`), as the official client reads it
    api_version_env = ("OPENAI_API_VERSION",)

    def credential_env(self, base_url: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        from .. import azure

        return (azure.KEY_ENV, azure.TOKEN_ENV) if azure.is_azure(base_url) else (self.api_key_env, ())

    websocket_paths = ("/v1/responses", "/responses")

    def build_request(
        self, conversation: dict[str, Any] | None, endpoint: Endpoint, *, body: Any = None
    ) -> Request:
        """``POST {base}/responses`` with ``Authorization: Bearer``, and the same request for the
        WebSocket mode: ``{base with ws/wss}/responses``, the body as a ``response.create`` message
        (without ``stream``: every answer streams there)."""
        from .. import azure
        from .request import WEBSOCKET_FINAL, _url, responses_request_body

        url, model = _url(endpoint.base_url, "/responses"), endpoint.model
        headers = {"Accept": "text/event-stream"}
        if azure.is_azure(endpoint.base_url):  # Azure's URL and api-key (see streamkit.dialects.azure)
            url, deployment = azure.request_url(endpoint, "responses")
            model = model or (conversation or {}).get("model") or deployment
            headers.update(azure.headers(endpoint))
        elif endpoint.api_key:
            headers["Authorization"] = f"Bearer {endpoint.api_key}"
        if body is None:
            body = responses_request_body(conversation or {"messages": []}, model)
        request = Request(url, body, headers)
        if isinstance(body, dict):
            request.websocket_url = _url(url, "", websocket=True)
            request.websocket_message = {
                "type": "response.create",
                **{k: v for k, v in body.items() if k != "stream"},
            }
            request.websocket_final = WEBSOCKET_FINAL
        return request

    def continuation_state(self, message: dict[str, Any], known: int) -> dict[str, Any] | None:
        """The response to continue from (``previous_response_id``) and how many messages it saw.

        None (the next request carries the whole conversation) for a response that failed or was
        cut off before its terminal event: the server may hold nothing to continue from.
        """
        response_id = _meta(message).get("response_id") or message.get("id")
        if not isinstance(response_id, str) or not response_id:
            return None
        if message.get("finish_reason") == "error" or not message.get("raw_finish_reason"):
            return None
        return {"previous_response_id": response_id, "known": known}

    def parse_request(
        self, body: Any, *, path: str = "", params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> ParsedRequest:  # fmt: skip
        """A ``POST /v1/responses`` body → the canonical conversation (see :mod:`.parse`); the
        answer options name the custom tools it declared, whose calls the answer writes as
        ``custom_tool_call`` items."""
        from .parse import parse_request

        return parse_request(body)

    def whole_response(self, messages: list[dict[str, Any]], **options: Any) -> Any:
        """The ``response`` object (see :mod:`.whole`)."""
        from .whole import whole_response

        return whole_response(messages, **options)

    def error_body(self, status: int, message: str, code: Any = None) -> Any:
        """OpenAI's ``{"error": {"message", "type", "param", "code"}}`` (see :mod:`.whole`)."""
        from .whole import error_body

        return error_body(status, message, code)

    def serve_options(self, path: str, params: dict[str, str], body: Any) -> dict[str, Any]:
        """The answer names the response it continues, as the API's does."""
        previous = body.get("previous_response_id") if isinstance(body, dict) else None
        return {"previous_response_id": previous} if isinstance(previous, str) and previous else {}

    def sniff(self, data: Any, event: str | None = None) -> bool:
        if type(data) is not dict:
            return False
        kind = data.get("type")
        if not isinstance(kind, str):
            return False
        if kind.startswith("response."):
            return True
        # the Responses error event (Anthropic's error events nest an "error" object instead)
        return kind == "error" and "sequence_number" in data and "error" not in data

    def normalizer(self, **options: Any) -> Normalizer:
        from .normalize import ResponsesNormalizer

        # (a Normalizer by registration, which mypy does not follow: it is compiled, see its class)
        return ResponsesNormalizer(**options)  # type: ignore[return-value]

    def encoder(self, **options: Any) -> ResponsesEncoder:
        from .encode import ResponsesEncoder

        return ResponsesEncoder(**options)
