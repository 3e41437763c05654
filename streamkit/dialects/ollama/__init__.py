"""The ``ollama`` dialect: Ollama ``/api/chat`` and ``/api/generate`` streaming (NDJSON), both ways.

* :mod:`.normalize`: Ollama lines → canonical events (:class:`OllamaNormalizer`).
* :mod:`.encode`: canonical events → Ollama lines (:class:`OllamaEncoder`).
* :mod:`.request`: canonical conversations → ``/api/chat`` request bodies.
* :mod:`.parse`: request bodies (``/api/chat``, ``/api/generate``) → canonical conversations.
* :mod:`.wire`: what those share (the dialect's name, the JSON writer).

Each is imported when first used, so a command that only normalizes loads neither the encoder nor
the request builder.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ..base import Dialect, Endpoint, Normalizer, ParsedRequest, Request
from .wire import NAME

if TYPE_CHECKING:
    from .encode import OllamaEncoder
    from .normalize import OllamaNormalizer

#: names importable from ``streamkit.dialects.ollama`` → the submodule that holds them
_EXPORTS = {
    "OllamaNormalizer": "normalize",
    "OllamaEncoder": "encode",
}

__all__ = ["Ollama", "OllamaEncoder", "OllamaNormalizer"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


class Ollama(Dialect):
    name = NAME
    description = "Ollama /api/chat and /api/generate NDJSON"
    framing = "ndjson"
    default_base_url = "http://localhost:11434"
    default_port = 11434  # OLLAMA_HOST=host (no port) means this port, as the ollama client reads it
    base_url_env = ("OLLAMA_HOST",)
    api_key_env = ("OLLAMA_API_KEY",)
    serve_paths = ("/api/chat", "/api/generate")

    def build_request(
        self, conversation: dict[str, Any] | None, endpoint: Endpoint, *, body: Any = None
    ) -> Request:
        """``/api/chat`` for a conversation (``/api/generate`` for an Ollama client's generate
        request, see :mod:`.request`); a native body is sent as it is, to ``/api/generate`` when it
        has a ``prompt`` and no ``messages``."""
        if body is None:
            from .request import ollama_request_body

            body = ollama_request_body(conversation or {"messages": []}, endpoint.model)
        generate = isinstance(body, dict) and "prompt" in body and "messages" not in body
        path = "/api/generate" if generate else "/api/chat"
        headers = {"Content-Type": "application/json", "Accept": "application/x-ndjson"}
        if endpoint.api_key:
            headers["Authorization"] = f"Bearer {endpoint.api_key}"  # Ollama's cloud, or a proxy
        return Request(f"{endpoint.base_url}{path}", body, headers, framing="ndjson")

    def parse_request(
        self, body: Any, *, path: str = "", params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> ParsedRequest:  # fmt: skip
        """An Ollama client's ``/api/chat`` or ``/api/generate`` body → the canonical conversation
        (:mod:`.parse`); ``stream`` defaults to true, as in Ollama. The answer options are
        :meth:`serve_options`' (the endpoint kind, ``stream: false``) and the request's model, which
        Ollama writes back on every line."""
        from .parse import parse_request

        return parse_request(body, path=path)

    def whole_response(self, messages: list[dict[str, Any]], **options: Any) -> Any:
        """Ollama's one line for a request with ``stream: false``: ``done: true``, the whole
        message (or ``response`` for ``/api/generate``), the done reason, counts and durations
        (see :func:`.encode.whole_line`)."""
        from .encode import whole_line

        return whole_line(messages, **options)

    def error_body(self, status: int, message: str, code: Any = None) -> Any:
        """``{"error": message}``, Ollama's error body (the client raises ``ResponseError`` with
        the message and the status). Ollama's errors carry no code."""
        return {"error": message}

    def serve_options(self, path: str, params: dict[str, str], body: Any) -> dict[str, Any]:
        """``/api/generate`` is answered with generate lines, ``/api/chat`` with chat lines; a
        request with ``stream: false`` with one line (the response whole, as Ollama answers it)."""
        options: dict[str, Any] = {
            "endpoint": "generate" if path.rstrip("/").endswith("/api/generate") else "chat"
        }
        if isinstance(body, dict) and body.get("stream") is False:
            options["stream"] = False
        return options

    def sniff(self, data: Any, event: str | None = None) -> bool:
        if type(data) is not dict:
            return False
        if isinstance(data.get("done"), bool) and "model" in data:
            return isinstance(data.get("message"), dict) or isinstance(data.get("response"), str)
        # an error line: {"error": "model 'x' not found"}
        return len(data) == 1 and isinstance(data.get("error"), str)

    def normalizer(self, **options: Any) -> Normalizer:
        from .normalize import OllamaNormalizer

        # (a Normalizer by registration, which mypy does not follow: it is compiled, see its class)
        return OllamaNormalizer(**options)  # type: ignore[return-value]

    def encoder(self, **options: Any) -> OllamaEncoder:
        from .encode import OllamaEncoder

        return OllamaEncoder(**options)
