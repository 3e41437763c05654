"""The ``ollama`` dialect: Ollama ``/api/chat`` and ``/api/generate`` streaming (NDJSON), both ways.

* :mod:`.normalize`: Ollama lines → canonical events (:class:`OllamaNormalizer`).
* :mod:`.encode`: canonical events → Ollama lines (:class:`OllamaEncoder`).
* :mod:`.request`: canonical conversations → ``/api/chat`` request bodies.
* :mod:`.wire`: what those share (the dialect's name, the JSON writer).

Each is imported when first used, so a command that only normalizes loads neither the encoder nor
the request builder.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ..base import Dialect, Endpoint, Request
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
        """``/api/chat`` for a conversation; a native body is sent as it is, to ``/api/generate``
        when it has a ``prompt`` and no ``messages``."""
        if body is None:
            from .request import ollama_request_body

            body = ollama_request_body(conversation or {"messages": []}, endpoint.model)
            path = "/api/chat"
        else:
            generate = isinstance(body, dict) and "prompt" in body and "messages" not in body
            path = "/api/generate" if generate else "/api/chat"
        headers = {"Content-Type": "application/json", "Accept": "application/x-ndjson"}
        if endpoint.api_key:
            headers["Authorization"] = f"Bearer {endpoint.api_key}"  # Ollama's cloud, or a proxy
        return Request(f"{endpoint.base_url}{path}", body, headers, framing="ndjson")

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

    def normalizer(self, **options: Any) -> OllamaNormalizer:
        from .normalize import OllamaNormalizer

        return OllamaNormalizer(**options)

    def encoder(self, **options: Any) -> OllamaEncoder:
        from .encode import OllamaEncoder

        return OllamaEncoder(**options)
