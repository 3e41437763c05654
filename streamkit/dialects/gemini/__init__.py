"""The ``gemini`` dialect: Google Gemini ``streamGenerateContent`` (the Gemini API and Vertex AI),
both ways, over SSE (``alt=sse``) or as one streamed JSON array.

This module says what the dialect is (name, paths, sniffing); beside it, one module per job:

- ``normalize``: Gemini chunks → canonical events (and the full account of the wire format);
  ``partial_args``: Vertex's streamed function-call arguments (``partialArgs``) → JSON text, for it.
- ``encode``: canonical events → Gemini chunks (``render -f gemini``, ``serve``).
- ``request``: canonical conversations → ``streamGenerateContent`` requests (``fetch``, ``agent``).
- ``parse``: a Gemini client's request → a canonical conversation (``serve``'s gateway).
- ``whole``: the whole ``GenerateContentResponse`` of ``:generateContent``, and Gemini's error body.
- ``wire``: what they share: the name, finish reasons, candidate fields, the parts written back.

The names below are imported on first use, so that a command that only normalizes does not import
the encoder or the request builder.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ..base import Dialect, Endpoint, Normalizer, ParsedRequest, Request
from .wire import NAME

if TYPE_CHECKING:
    from .encode import GeminiEncoder
    from .normalize import GeminiNormalizer, map_usage, rfc3339_epoch
    from .partial_args import PartialArgs, parse_json_path
    from .request import SKIP_SIGNATURE

_EXPORTS = {
    "GeminiNormalizer": "normalize",
    "PartialArgs": "partial_args",
    "parse_json_path": "partial_args",
    "map_usage": "normalize",
    "rfc3339_epoch": "normalize",
    "GeminiEncoder": "encode",
    "SKIP_SIGNATURE": "request",
}

__all__ = [
    "SKIP_SIGNATURE",
    "Gemini",
    "GeminiEncoder",
    "GeminiNormalizer",
    "PartialArgs",
    "map_usage",
    "parse_json_path",
    "rfc3339_epoch",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


class Gemini(Dialect):
    name = NAME
    description = "Google Gemini streamGenerateContent (SSE with alt=sse, or one JSON array)"
    framing = "sse"
    #: (a function name starts with a letter or ``_``; 128 characters at most)
    tool_name_pattern = r"[a-zA-Z_][a-zA-Z0-9_.:-]{0,127}"
    default_base_url = "https://generativelanguage.googleapis.com"
    base_url_env = ("GEMINI_BASE_URL", "GOOGLE_GEMINI_BASE_URL")
    api_key_env = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
    serve_paths = (
        "/v1beta/models/{model}:streamGenerateContent",
        "/v1/models/{model}:streamGenerateContent",
    )
    #: the paths whose answer is one whole ``GenerateContentResponse`` (not a stream)
    whole_paths = (
        "/v1beta/models/{model}:generateContent",
        "/v1/models/{model}:generateContent",
    )

    def build_request(
        self, conversation: dict[str, Any] | None, endpoint: Endpoint, *, body: Any = None
    ) -> Request:
        """The request for a conversation, or a native body sent as it is (a ``model`` key in it,
        which is no field of Gemini's, names the model for the URL and is taken out)."""
        from .request import gemini_request_body, gemini_url

        if body is None:
            conversation = conversation or {"messages": []}
            model = endpoint.model or conversation.get("model")
            body = gemini_request_body(conversation, model)
        else:
            model = endpoint.model
            if isinstance(body, dict) and isinstance(body.get("model"), str) and body["model"]:
                body = dict(body)
                model = body.pop("model")
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if endpoint.api_key:
            headers["x-goog-api-key"] = endpoint.api_key  # never in the URL (?key=) where logs keep it
        return Request(gemini_url(endpoint.base_url, model), body, headers)

    def serve_options(self, path: str, params: dict[str, str], body: Any) -> dict[str, Any]:
        """The model the request's path names, which the answer's ``modelVersion`` echoes."""
        return {"model": params["model"]} if params.get("model") else {}

    def parse_request(
        self, body: Any, *, path: str = "", params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> ParsedRequest:  # fmt: skip
        """A ``generateContent`` / ``streamGenerateContent`` body as a canonical conversation (see
        :mod:`.parse`): ``stream`` says which path it came on; ``answer_options`` hold the path's
        model (and ``framing: "json-array"`` when the query asked ``alt`` other than ``sse``)."""
        from .parse import parse_request

        return parse_request(body, path=path, params=params, headers=headers)

    def whole_response(self, messages: list[dict[str, Any]], **options: Any) -> Any:
        """The ``GenerateContentResponse`` of ``:generateContent`` (see :mod:`.whole`)."""
        from .whole import whole_response

        return whole_response(messages, **options)

    def error_body(self, status: int, message: str, code: Any = None) -> Any:
        """``{"error": {"code", "message", "status"}}``, raised by google-genai as its ``ClientError``
        or ``ServerError`` (see :func:`.whole.error_body`)."""
        from .whole import error_body

        return error_body(status, message, code)

    def sniff(self, data: Any, event: str | None = None) -> bool:
        if type(data) is not dict or "event_type" in data or "type" in data or "object" in data:
            return False
        candidates = data.get("candidates")
        if isinstance(candidates, list):
            return all(
                isinstance(c, dict) and ("content" in c or "finishReason" in c or "index" in c)
                for c in candidates
            ) and ("choices" not in data)
        if isinstance(data.get("promptFeedback"), dict):
            return True
        if isinstance(data.get("usageMetadata"), dict) and ("modelVersion" in data or "responseId" in data):
            return True
        error = data.get("error")
        # google.rpc.Status: {"code": 429, "message": "...", "status": "RESOURCE_EXHAUSTED"}
        return (
            len(data) == 1
            and isinstance(error, dict)
            and isinstance(error.get("code"), int)
            and isinstance(error.get("status"), str)
            and error["status"].isupper()
            and "type" not in error
        )

    def normalizer(self, **options: Any) -> Normalizer:
        from .normalize import GeminiNormalizer

        # (a Normalizer by registration, which mypy does not follow: it is compiled, see its class)
        return GeminiNormalizer(**options)  # type: ignore[return-value]

    def encoder(self, **options: Any) -> GeminiEncoder:
        from .encode import GeminiEncoder

        return GeminiEncoder(**options)
