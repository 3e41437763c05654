"""The Conversations API in the gateway, for any upstream: conversations kept in the response store,
with the shapes the official openai SDK reads (``client.conversations``).

* ``POST /v1/conversations`` (``items``: up to 20 input items, ``metadata``): ``{"id": "conv_…",
  "object": "conversation", "created_at", "metadata"}``; ``GET``, ``POST`` (new ``metadata``) and
  ``DELETE`` (``{"id", "object": "conversation.deleted", "deleted": true}``)
  ``/v1/conversations/{id}``.
* ``GET /v1/conversations/{id}/items`` (a cursor page: ``data``, ``first_id``, ``last_id``,
  ``has_more``; ``order`` ``desc`` by default, ``limit`` 1 to 100, 20 by default, ``after`` an
  item id); ``POST`` there adds ``items`` (a page of them back); ``GET`` and ``DELETE``
  ``/v1/conversations/{id}/items/{item_id}`` (the item; the conversation).
* A Responses request naming a ``conversation`` (its id, or ``{"id": …}``) is answered with the
  conversation's items before its own input, as the API does, whatever the upstream; once the
  response has completed (or ended incomplete), its input items and its output items are added
  to the conversation, so that the next request naming it holds the whole exchange. Such a request
  may not also name a ``previous_response_id`` (a 400, as the API answers). Over the Responses
  WebSocket a ``response.create`` naming one goes the same way (an unknown one is an error message,
  the connection going on).

Items are stored as the API lists them, each with an id (``msg_…`` and the like, made where the
client gave none), once the Responses request parser has taken them: an item it refuses is the
API's 400 when it is added (:func:`refused_items`), not when a later response sends it. Conversations belong to keys as stored responses do (``--client-keys``,
``--forward-key``: :mod:`.responses`): another key's id is the API's 404. A gateway with
``--store none`` keeps no conversations: every route is a 400 saying so.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from .responses import Responses, input_items, invalid, json_response, new_id
from .store.base import owner_of, visible
from .store.conversations import Conversation

PREFIXES = ("/v1/conversations", "/conversations")
#: the most items one create or add takes (as the API)
MAX_ITEMS = 20


def not_found(conversation_id: str) -> tuple[int, dict[str, Any]]:
    return 404, {"error": {"message": f"Conversation with id '{conversation_id[:80]}' not found.",
                           "type": "invalid_request_error", "param": None, "code": None}}  # fmt: skip


def conversation_object(conversation: Conversation) -> dict[str, Any]:
    return {"id": conversation.id, "object": "conversation", "created_at": int(conversation.created_at),
            "metadata": conversation.metadata}  # fmt: skip


async def visible_conversation(
    keeper: Responses, conversation_id: str, key: str | None
) -> Conversation | None:
    """The conversation as the client presenting ``key`` may see it (None: none, or another key's)."""
    if keeper.store is None:
        return None
    found = await asyncio.to_thread(keeper.store.conversation, conversation_id)
    if found is None or not visible(found, owner_of(key)):
        return None
    return found


def items_of(value: Any, param: str) -> list[dict[str, Any]] | tuple[int, Any]:
    """A request's ``items`` as stored items (ids made where missing), or the 400 to answer."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        return invalid(f"{param} must be a list of input items", param)
    if len(value) > MAX_ITEMS:
        return invalid(f"{param} takes at most {MAX_ITEMS} items at a time", param)
    problem = refused_items(value)
    if problem is not None:
        return invalid(problem.replace("input[", f"{param}[", 1), param)
    return input_items({"input": value})


def refused_items(items: list[dict[str, Any]]) -> str | None:
    """What the Responses request parser refuses in ``items`` (a message whose content is a
    number, a role it does not know, an output naming no call...), said of the request's
    ``input``; None when it takes them. Checked when they are added, as the API does, so that a
    conversation never holds an item that makes every later request naming it fail."""
    from ..dialects.openai_responses.parse import parse_request
    from ..errors import StreamkitError

    try:
        parse_request({"model": "-", "input": items})
    except StreamkitError as exc:
        return str(exc).removeprefix("openai-responses request: ")
    return None


async def with_conversation(keeper: Responses, body: dict[str, Any],
                            key: str | None) -> tuple[dict[str, Any], str, list[dict[str, Any]]] | tuple[int, Any]:  # fmt: skip
    """A Responses request naming a conversation, its items put before its input; with the
    conversation's id and the request's own input items (added once the response completes);
    or the error to answer with."""
    value = body.get("conversation")
    conversation_id = value.get("id") if isinstance(value, dict) else value
    if not isinstance(conversation_id, str) or not conversation_id:
        return invalid("conversation must be a conversation id, or an object with its id", "conversation")
    if body.get("previous_response_id"):
        return invalid(
            "previous_response_id and conversation cannot be used together", "previous_response_id"
        )
    if keeper.store is None:
        return invalid("the gateway keeps no conversations (--store none)", "conversation")
    if await visible_conversation(keeper, conversation_id, key) is None:
        return not_found(conversation_id)
    own = input_items(body)
    earlier = await asyncio.to_thread(keeper.store.conversation_items, conversation_id)
    unrolled = {k: v for k, v in body.items() if k != "conversation"}
    unrolled["input"] = [*earlier, *own]
    return unrolled, conversation_id, own


class Refusal(Exception):
    """A Responses request the conversation it names refuses: the API's ``status`` and ``body``."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status)
        self.status, self.body = status, body


async def conversation_of(keeper: Responses | None, body: Any,
                          key: str | None) -> tuple[Any, tuple[str, list[dict[str, Any]]] | None]:  # fmt: skip
    """A Responses request as the gateway answers it (:func:`with_conversation`, when it names a
    conversation and the gateway keeps them) and its ``Call.conversation``; :class:`Refusal` for
    the error to answer with. HTTP requests and WebSocket ``response.create`` take this way."""
    if keeper is None or not isinstance(body, dict) or body.get("conversation") is None:
        return body, None
    unrolled = await with_conversation(keeper, body, key)
    if len(unrolled) == 2:
        raise Refusal(unrolled[0], unrolled[1])
    unrolled_body, conversation_id, own = unrolled
    return unrolled_body, (conversation_id, own)


def routes(keeper: Responses, server: Any) -> list[Any]:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from .retrieval import cursor_page, page
    from .retrieval import guarded as checked

    def guarded(handler: Any) -> Any:
        async def stored(request: Request, key: str | None) -> Response:
            if keeper.store is None:
                return json_response(*invalid("the gateway keeps no conversations (--store none)"))
            result: Response = await handler(request, key)
            return result

        return checked(keeper, server, stored)

    async def body_of(request: Request) -> dict[str, Any] | None:
        """The request's JSON object (None: none), read to ``--max-body`` at most."""
        import orjson

        from .app import BodyRefused, read_body

        try:
            value = orjson.loads(await read_body(request, server.max_body, server.client_timeout) or b"{}")
        except (orjson.JSONDecodeError, BodyRefused):
            return None
        return value if isinstance(value, dict) else None

    async def found(request: Request, key: str | None) -> Conversation | Response:
        conversation_id = request.path_params["conversation_id"]
        conversation = await visible_conversation(keeper, conversation_id, key)
        return conversation if conversation is not None else json_response(*not_found(conversation_id))

    def metadata_of(value: Any) -> dict[str, Any] | None:
        if value is None:
            return {}
        if isinstance(value, dict) and len(value) <= 16 and all(isinstance(v, str) for v in value.values()):
            return value
        return None

    async def create(request: Request, key: str | None) -> Response:
        body = await body_of(request)
        if body is None:
            return json_response(*invalid("the body must be a JSON object (within --max-body)"))
        metadata = metadata_of(body.get("metadata"))
        if metadata is None:
            return json_response(*invalid("metadata must be an object of at most 16 strings", "metadata"))
        items = items_of(body.get("items"), "items")
        if isinstance(items, tuple):
            return json_response(*items)
        conversation = Conversation(new_id("conv"), time.time(), metadata, keeper.owner(key))
        assert keeper.store is not None
        await asyncio.to_thread(keeper.store.create_conversation, conversation, items)
        return json_response(200, conversation_object(conversation))

    async def retrieve(request: Request, key: str | None) -> Response:
        conversation = await found(request, key)
        if isinstance(conversation, Response):
            return conversation
        return json_response(200, conversation_object(conversation))

    async def update(request: Request, key: str | None) -> Response:
        conversation = await found(request, key)
        if isinstance(conversation, Response):
            return conversation
        body = await body_of(request)
        metadata = metadata_of(body.get("metadata") if body is not None else None)
        if body is None or metadata is None:
            return json_response(*invalid("metadata must be an object of at most 16 strings", "metadata"))
        assert keeper.store is not None
        await asyncio.to_thread(keeper.store.update_conversation, conversation.id, metadata)
        conversation.metadata = metadata
        return json_response(200, conversation_object(conversation))

    async def delete(request: Request, key: str | None) -> Response:
        conversation = await found(request, key)
        if isinstance(conversation, Response):
            return conversation
        assert keeper.store is not None
        await asyncio.to_thread(keeper.store.delete_conversation, conversation.id)
        return json_response(200, {"id": conversation.id, "object": "conversation.deleted", "deleted": True})

    async def list_items(request: Request, key: str | None) -> Response:
        conversation = await found(request, key)
        if isinstance(conversation, Response):
            return conversation
        assert keeper.store is not None
        every = await asyncio.to_thread(keeper.store.conversation_items, conversation.id)
        listed = cursor_page(every, request.query_params)
        return json_response(*listed) if isinstance(listed, tuple) else json_response(200, listed)

    async def add_items(request: Request, key: str | None) -> Response:
        conversation = await found(request, key)
        if isinstance(conversation, Response):
            return conversation
        body = await body_of(request)
        items = items_of(body.get("items") if body is not None else None, "items")
        if isinstance(items, tuple):
            return json_response(*items)
        assert keeper.store is not None
        await asyncio.to_thread(keeper.store.add_items, conversation.id, items)
        return json_response(200, page(items, False))

    async def item(request: Request, key: str | None) -> Response:
        conversation = await found(request, key)
        if isinstance(conversation, Response):
            return conversation
        item_id = request.path_params["item_id"]
        assert keeper.store is not None
        if request.method == "DELETE":
            if await asyncio.to_thread(keeper.store.delete_item, conversation.id, item_id):
                return json_response(200, conversation_object(conversation))
        else:
            for each in await asyncio.to_thread(keeper.store.conversation_items, conversation.id):
                if each.get("id") == item_id:
                    return json_response(200, each)
        return json_response(404, {"error": {"message": f"Item with id '{item_id[:80]}' not found.",
                                             "type": "invalid_request_error", "param": None, "code": None}})  # fmt: skip

    out: list[Any] = []
    for prefix in PREFIXES:
        one = prefix + "/{conversation_id}"
        out += [
            Route(prefix, guarded(create), methods=["POST"]),
            Route(one, guarded(retrieve), methods=["GET"]),
            Route(one, guarded(update), methods=["POST"]),
            Route(one, guarded(delete), methods=["DELETE"]),
            Route(one + "/items", guarded(list_items), methods=["GET"]),
            Route(one + "/items", guarded(add_items), methods=["POST"]),
            Route(one + "/items/{item_id}", guarded(item), methods=["GET", "DELETE"]),
        ]
    return out
