"""The ``openai-chat`` dialect: OpenAI Chat Completions streaming, both ways.

Also the dialect of every server that copies it: Azure OpenAI, Mistral, DeepSeek, Groq,
OpenRouter, Perplexity, Z.ai, vLLM, llama.cpp, Ollama's ``/v1``, LiteLLM.

- ``normalize``: Chat Completions chunks → canonical events (what servers send, and what becomes of it).
- ``encode``: canonical events → Chat Completions chunks.
- ``request``: a canonical conversation → a Chat Completions request body.
- ``parse``: a Chat Completions request body → a canonical conversation (``serve --upstream``).
- ``whole``: accumulated messages → a whole ``chat.completion`` (a request without ``stream``),
  and the API's error body.
- ``usage``: Chat Completions usage in canonical terms (reasoning tokens counted in the output).
- ``wire``: what both directions share (the dialect's name).

This module holds the ``Dialect`` itself and imports a direction only when it is asked for;
the other names stay importable from here, loaded on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ..base import Dialect, Endpoint, Normalizer, ParsedRequest, Request

if TYPE_CHECKING:
    from .encode import WIRE_FINISH_REASONS, ChatEncoder, wire_usage
    from .normalize import FINISH_REASONS, ChatNormalizer
    from .parse import parse_chat_request
    from .request import OPTION_NAMES, chat_messages, chat_request_body
    from .usage import map_usage
    from .whole import whole_completion
    from .wire import NAME

_EXPORTS = {
    "NAME": "wire",
    "FINISH_REASONS": "normalize",
    "map_usage": "usage",
    "ChatNormalizer": "normalize",
    "WIRE_FINISH_REASONS": "encode",
    "wire_usage": "encode",
    "ChatEncoder": "encode",
    "chat_messages": "request",
    "OPTION_NAMES": "request",
    "chat_request_body": "request",
    "parse_chat_request": "parse",
    "whole_completion": "whole",
}

__all__ = [
    "FINISH_REASONS",
    "NAME",
    "OPTION_NAMES",
    "WIRE_FINISH_REASONS",
    "ChatEncoder",
    "ChatNormalizer",
    "OpenAIChat",
    "chat_messages",
    "chat_request_body",
    "map_usage",
    "parse_chat_request",
    "whole_completion",
    "wire_usage",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


class OpenAIChat(Dialect):
    name = "openai-chat"  # wire.NAME, written out so that listing dialects loads no submodule
    description = "OpenAI Chat Completions chunks (and compatible servers: Azure, Mistral, DeepSeek, Groq, OpenRouter, vLLM, ...)"
    framing = "sse"
    #: (the API takes tool names of 64 letters, digits, ``_`` and ``-`` at most)
    tool_name_pattern = r"[a-zA-Z0-9_-]{1,64}"
    default_base_url = "https://api.openai.com/v1"
    base_url_env = ("OPENAI_BASE_URL",)
    api_key_env = ("OPENAI_API_KEY",)
    #: Azure's paths too (a deployment's, and its v1 API's), for its official client
    serve_paths = ("/v1/chat/completions", "/chat/completions", "/openai/deployments/{deployment}/chat/completions",
                   "/openai/v1/chat/completions")  # fmt: skip

    #: Azure's ``api-version`` (see :mod:`streamkit.dialects.azure`), as the official client reads it
    api_version_env = ("OPENAI_API_VERSION",)

    def credential_env(self, base_url: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        from .. import azure

        return (azure.KEY_ENV, azure.TOKEN_ENV) if azure.is_azure(base_url) else (self.api_key_env, ())

    def build_request(
        self, conversation: dict[str, Any] | None, endpoint: Endpoint, *, body: Any = None
    ) -> Request:
        """``POST {base}/chat/completions`` with ``Authorization: Bearer``; an Azure base URL
        gets Azure's URL and ``api-key`` header (see :mod:`streamkit.dialects.azure`)."""
        from .. import azure

        url, model = f"{endpoint.base_url}/chat/completions", endpoint.model
        headers = {"Accept": "text/event-stream"}
        if azure.is_azure(endpoint.base_url):
            url, deployment = azure.request_url(endpoint, "chat/completions")
            model = model or (conversation or {}).get("model") or deployment
            headers.update(azure.headers(endpoint))
        elif endpoint.api_key:
            headers["Authorization"] = f"Bearer {endpoint.api_key}"
        if body is None:
            from .request import chat_request_body

            body = chat_request_body(conversation or {"messages": []}, model)
        return Request(url, body, headers)

    def parse_request(
        self, body: Any, *, path: str = "", params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> ParsedRequest:  # fmt: skip
        from .parse import parse_chat_request

        return parse_chat_request(body)

    def whole_response(self, messages: list[dict[str, Any]], **options: Any) -> Any:
        from .whole import whole_completion

        return whole_completion(messages, **options)

    def error_body(self, status: int, message: str, code: Any = None) -> Any:
        from .whole import error_body

        return error_body(status, message, code)

    def sniff(self, data: Any, event: str | None = None) -> bool:
        if type(data) is not dict:
            return False
        obj = data.get("object")
        if obj == "chat.completion.chunk" or obj == "chat.completion.done":
            return True
        choices = data.get("choices")
        if not isinstance(choices, list):
            return False
        if not choices:
            return "prompt_filter_results" in data or obj == ""
        first = choices[0]
        return isinstance(first, dict) and "delta" in first

    def normalizer(self, **options: Any) -> Normalizer:
        from .normalize import ChatNormalizer

        # (a Normalizer by registration, which mypy does not follow: it is compiled, see its class)
        return ChatNormalizer(**options)  # type: ignore[return-value]

    def encoder(self, **options: Any) -> ChatEncoder:
        from .encode import ChatEncoder

        return ChatEncoder(**options)
