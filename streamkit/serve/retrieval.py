"""The Responses API's routes for stored responses, with the shapes the official openai SDK reads:

* ``GET /v1/responses/{id}`` (``client.responses.retrieve``): the ``response`` object, as it is
  now (``queued``, ``in_progress``, then its end). With ``stream=true``, its events as SSE: those
  after ``starting_after=N`` (every one without it), then the live ones while it runs: from the
  run itself when this process runs it, else from the store as they are written (another
  process's run: PostgreSQL's LISTEN/NOTIFY wakes the follower, polling otherwise).
* ``DELETE /v1/responses/{id}``: ``{"id", "object": "response", "deleted": true}``; a running
  response is cancelled first. A later ``previous_response_id`` naming it is a 404.
* ``GET /v1/responses/{id}/input_items`` (``client.responses.input_items.list``): the request's
  input items as a cursor page (``data``, ``first_id``, ``last_id``, ``has_more``), ``order``
  (``desc`` by default, as the API), ``limit`` (1 to 100, 20 by default) and ``after`` (an item id).
* ``POST /v1/responses/{id}/cancel``: only a background response can be cancelled (else a 400, as
  the API); a running one stops (its upstream request closed) and is ``cancelled``; one already
  ended is returned as it is. A response running in another process is cancelled there through
  the store (PostgreSQL's NOTIFY; a SQLite store marks it cancelled, but the other process runs
  on unaware).

Each route checks the client's key as ``POST`` does (``--client-keys``). Unknown ids, and the
responses of another key (see :mod:`.responses`), are the API's own 404 (``Response with id '...'
not found.``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from .responses import Responses, invalid, json_response, not_found
from .store import TERMINAL, Op

PREFIXES = ("/v1/responses", "/responses")


def cursor_page(items: list[dict[str, Any]], query: Any) -> dict[str, Any] | tuple[int, Any]:
    """A page of ``items`` (oldest first) as the API lists them, from the query's ``order``
    (``desc`` by default), ``limit`` (1 to 100, 20 by default) and ``after`` (an item id): ``data``,
    ``first_id``, ``last_id``, ``has_more``; or the 400 to answer."""
    order = query.get("order") or "desc"
    if order not in ("asc", "desc"):
        return invalid("order must be 'asc' or 'desc'", "order")
    try:
        limit = int(query.get("limit") or 20)
    except ValueError:
        limit = 0
    if not 1 <= limit <= 100:
        return invalid("limit must be an integer from 1 to 100", "limit")
    found = list(items if order == "asc" else reversed(items))
    after = query.get("after")
    if after:
        ids = [item.get("id") for item in found]
        found = found[ids.index(after) + 1 :] if after in ids else []
    return page(found[:limit], len(found) > limit)


def page(items: list[dict[str, Any]], more: bool) -> dict[str, Any]:
    """A cursor page of items, as the API lists them."""
    return {"object": "list", "data": items, "first_id": items[0].get("id") if items else None,
            "last_id": items[-1].get("id") if items else None, "has_more": more}  # fmt: skip


def guarded(keeper: Responses, server: Any, handler: Any) -> Any:
    """A route's endpoint: the client's key checked as ``POST`` checks it (else the Responses
    API's 401), the store started, then ``handler(request, key)`` (the conversations' routes use
    it too)."""
    from .app import client_key

    async def endpoint(request: Any) -> Any:
        key = client_key(request.headers, request.query_params)
        if not server.authorized(key):
            dialect = server.dialects.get("openai-responses")
            message = "invalid or missing API key"
            body = (dialect.error_body(401, message) if dialect is not None else
                    {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}})  # fmt: skip
            return json_response(401, body)
        keeper.ready()
        return await handler(request, key)

    return endpoint


def routes(keeper: Responses, server: Any) -> list[Any]:
    from starlette.requests import Request
    from starlette.responses import Response, StreamingResponse
    from starlette.routing import Route

    def by_id(handler: Any) -> Any:
        async def take(request: Request, key: str | None) -> Response:
            result: Response = await handler(request, request.path_params["response_id"], key)
            return result

        return guarded(keeper, server, take)

    async def retrieve(request: Request, response_id: str, key: str | None) -> Response:
        query = request.query_params
        after = query.get("starting_after")
        try:
            starting_after = int(after) if after not in (None, "") else -1
        except ValueError:
            return json_response(*invalid("starting_after must be an integer", "starting_after"))
        run = keeper.runs.get(response_id)
        record = await keeper.record_of(response_id, key)
        if record is None:
            return json_response(*not_found(response_id))
        if query.get("stream", "").lower() not in ("true", "1"):
            return json_response(200, {**record.response, "status": record.status})
        if run is not None:
            frames = keeper.frames_of(run, starting_after, stop_on_leave=False)
        else:
            frames = keeper.stored_frames(response_id, starting_after)
        return StreamingResponse(
            frames, media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )

    async def delete(request: Request, response_id: str, key: str | None) -> Response:
        if await keeper.record_of(response_id, key) is None:
            return json_response(*not_found(response_id))
        run = keeper.runs.get(response_id)
        if run is not None and keeper.cancel_local(response_id):
            await _settled(run)
        deleted = await keeper.store.adelete(response_id) if keeper.store is not None else False
        if not deleted:
            return json_response(*not_found(response_id))
        return json_response(200, {"id": response_id, "object": "response", "deleted": True})

    async def items(request: Request, response_id: str, key: str | None) -> Response:
        record = await keeper.record_of(response_id, key)
        if record is None:
            return json_response(*not_found(response_id))
        listed = cursor_page(record.input_items, request.query_params)
        return json_response(*listed) if isinstance(listed, tuple) else json_response(200, listed)

    async def cancel(request: Request, response_id: str, key: str | None) -> Response:
        record = await keeper.record_of(response_id, key)
        if record is None:
            return json_response(*not_found(response_id))
        if not record.background:
            return json_response(
                *invalid("Only responses created with background set to true can be cancelled.")
            )
        if record.status in TERMINAL:
            return json_response(200, {**record.response, "status": record.status})
        run = keeper.runs.get(response_id)
        if run is not None:
            keeper.cancel_local(response_id)
            await _settled(run)
            return json_response(200, {**run.record.response, "status": run.record.status})
        # running in another process: marked cancelled here, stopped there (PostgreSQL's NOTIFY)
        response = {**record.response, "status": "cancelled"}
        assert keeper.store is not None
        await keeper.store.commit(Op("cancel", response_id, status="cancelled", response=response))
        return json_response(200, response)

    out: list[Any] = []
    for prefix in PREFIXES:
        path = prefix + "/{response_id}"
        out += [
            Route(path, by_id(retrieve), methods=["GET"]),
            Route(path, by_id(delete), methods=["DELETE"]),
            Route(path + "/input_items", by_id(items), methods=["GET"]),
            Route(path + "/cancel", by_id(cancel), methods=["POST"]),
        ]
    return out


async def _settled(run: Any, timeout: float = 10.0) -> None:
    """Wait (bounded) for a cancelled run to have stored its end."""
    try:
        await asyncio.wait_for(run.finished.wait(), timeout)
    except asyncio.TimeoutError:
        pass
