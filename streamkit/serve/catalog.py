"""The gateway's other endpoints: model listings in each client's shape, and Anthropic's token count.

* ``GET /v1/models`` (OpenAI's shape, or Anthropic's when the request carries an
  ``anthropic-version`` header), ``GET /v1beta/models`` (Gemini's), ``GET /api/tags``
  (Ollama's): the upstream's own list where it has one (asked once, then kept), else the names
  the model map gives (``-m``, the ``--model-map`` targets).
* ``POST /v1/messages/count_tokens``: an estimate made from the request (Claude Code asks for it
  before long requests); see :func:`streamkit.dialects.anthropic.count_tokens_estimate`.
"""

from __future__ import annotations

from typing import Any

import orjson

from ..dialects.base import Endpoint

_EPOCH = "1970-01-01T00:00:00Z"

#: the most of an upstream's model list read: OpenRouter's list of some 300 models is about
#: 1.5 MB; past this the gateway lists the mapped names instead
MAX_LISTING = 16 * 2**20


def _models_url(dialect: str, base_url: str) -> tuple[str, dict[str, str]]:
    """Where an upstream of a dialect lists its models, and the headers it wants."""
    base = base_url.rstrip("/")
    versioned = base.rsplit("/", 1)[-1].startswith("v1")
    if dialect == "anthropic":
        return (f"{base}/models" if versioned else f"{base}/v1/models"), {"anthropic-version": "2023-06-01"}
    if dialect == "gemini":
        return (f"{base}/models" if versioned else f"{base}/v1beta/models"), {}
    if dialect == "ollama":
        return f"{base}/api/tags", {}
    return f"{base}/models", {}


async def upstream_models(client: Any, dialect: str, endpoint: Endpoint) -> list[str]:
    """The model ids an upstream lists (raises when it has no listing, or one longer than
    ``MAX_LISTING`` bytes)."""
    url, headers = _models_url(dialect, endpoint.base_url)
    if endpoint.api_key:
        name = {"anthropic": "x-api-key", "gemini": "x-goog-api-key"}.get(dialect)
        headers[name or "Authorization"] = endpoint.api_key if name else f"Bearer {endpoint.api_key}"
    pieces: list[bytes] = []
    size = 0
    async with client.stream("GET", url, headers=headers) as response:
        response.raise_for_status()
        async for piece in response.aiter_bytes():
            size += len(piece)
            if size > MAX_LISTING:  # (an upstream that sends without end cannot fill the memory)
                raise ValueError(f"the upstream's model list is longer than {MAX_LISTING >> 20} MiB")
            pieces.append(piece)
    data = orjson.loads(b"".join(pieces))
    items = data.get("data") or data.get("models") or []
    ids = []
    for item in items:
        if isinstance(item, dict):
            value = item.get("id") or item.get("model") or item.get("name")
            if isinstance(value, str):
                ids.append(value.removeprefix("models/"))
    return ids


def openai_models(ids: list[str]) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"id": i, "object": "model", "created": 0, "owned_by": "streamkit"} for i in ids],
    }


def anthropic_models(ids: list[str]) -> dict[str, Any]:
    data = [{"type": "model", "id": i, "display_name": i, "created_at": _EPOCH} for i in ids]
    return {
        "data": data,
        "has_more": False,
        "first_id": ids[0] if ids else None,
        "last_id": ids[-1] if ids else None,
    }


def gemini_models(ids: list[str]) -> dict[str, Any]:
    methods = ["generateContent", "streamGenerateContent", "countTokens"]
    return {
        "models": [
            {"name": f"models/{i}", "displayName": i, "supportedGenerationMethods": methods} for i in ids
        ]
    }


def ollama_models(ids: list[str]) -> dict[str, Any]:
    return {
        "models": [
            {"name": i, "model": i, "modified_at": _EPOCH, "size": 0, "digest": "", "details": {}}
            for i in ids
        ]
    }


#: a listing's shape -> the dialect whose errors a client asking for it reads
_SHAPE_DIALECTS = {
    openai_models: "openai-chat",
    anthropic_models: "anthropic",
    gemini_models: "gemini",
    ollama_models: "ollama",
}


def routes(source: Any, server: Any) -> list[Any]:
    """The starlette routes of the gateway's listings and token count, for the ``server``'s
    dialects, behind its client keys (a client without one gets a 401) and body limit."""
    from starlette.requests import ClientDisconnect, Request
    from starlette.responses import Response
    from starlette.routing import Route

    from .app import BodyRefused, client_key, closing, read_body

    dialects: dict[str, Any] = server.dialects

    def refused(request: Request, name: str) -> Response | None:
        """The 401 for a client without a key the server takes, in the error shape of the
        dialect ``name`` (the one whose SDK asks this path), else None."""
        if server.authorized(client_key(request.headers, request.query_params)):
            return None
        dialect = dialects.get(name) or next(iter(dialects.values()))
        body = dialect.error_body(401, "invalid or missing API key")
        return Response(orjson.dumps(body), 401, media_type="application/json")

    cache: dict[str, list[str]] = {}

    async def ids() -> list[str]:
        if "ids" not in cache:
            cache["ids"] = await source.model_ids()
        return cache["ids"]

    def shaped(shape: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            chosen = shape
            if shape is openai_models and "anthropic-version" in request.headers:
                chosen = anthropic_models
            no = refused(request, _SHAPE_DIALECTS[chosen])
            if no is not None:
                return no
            return Response(orjson.dumps(chosen(await ids())), media_type="application/json")

        return endpoint

    async def count_tokens(request: Request) -> Response:
        from ..dialects.anthropic.parse import count_tokens_estimate
        from ..errors import StreamkitError

        dialect = dialects["anthropic"]
        no = refused(request, "anthropic")
        if no is not None:
            return no
        try:
            raw = await read_body(request, server.max_body, server.client_timeout)
        except ClientDisconnect:
            return Response(status_code=400)
        except BodyRefused as refused_body:
            error = refused_body.error
            return closing(
                Response(
                    orjson.dumps(dialect.error_body(error.status, error.message)),
                    error.status,
                    media_type="application/json",
                )
            )
        try:
            body = orjson.loads(raw)
            parsed = dialect.parse_request(body, path=request.url.path)
        except (orjson.JSONDecodeError, StreamkitError) as exc:
            return Response(
                orjson.dumps(dialect.error_body(400, f"invalid request: {exc}")),
                400,
                media_type="application/json",
            )
        return Response(
            orjson.dumps({"input_tokens": count_tokens_estimate(parsed.conversation)}),
            media_type="application/json",
        )

    out: list[Any] = []
    if "openai-chat" in dialects or "openai-responses" in dialects or "anthropic" in dialects:
        out += [
            Route("/v1/models", shaped(openai_models), methods=["GET"]),
            Route("/models", shaped(openai_models), methods=["GET"]),
        ]
    if "gemini" in dialects:
        out += [Route("/v1beta/models", shaped(gemini_models), methods=["GET"])]
    if "ollama" in dialects:
        out += [Route("/api/tags", shaped(ollama_models), methods=["GET"])]
    if "anthropic" in dialects:
        out += [Route("/v1/messages/count_tokens", count_tokens, methods=["POST"])]
    return out
