"""``serve``'s WebSocket endpoints (the Responses API's ``/v1/responses``): each message a
request, answered with its wire events as messages; what cannot be answered is an ``error``
message, and the connection goes on."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import orjson

from ..errors import StreamkitError
from .app import Refused, Server, client_key, parse_call, wire_of
from .sources import Call, Exhausted, HTTPError


async def answer_websocket(server: Server, dialect: Any, websocket: Any) -> None:
    """Answer one WebSocket connection on one of ``dialect``'s paths until the client leaves."""
    from starlette.websockets import WebSocketDisconnect

    await websocket.accept()
    key = client_key(websocket.headers, websocket.query_params)
    # the Responses WebSocket mode's own state: the connection's responses
    session = None
    if dialect.name == "openai-responses":
        from .responses_socket import ResponsesSocket

        session = ResponsesSocket(server.responses)
    try:
        while True:
            message = await websocket.receive_text()
            try:
                body = orjson.loads(message)
            except orjson.JSONDecodeError:
                await websocket.send_text(
                    orjson.dumps({"type": "error", "error": {"message": "not JSON"}}).decode()
                )
                continue
            server.record(body)
            if isinstance(body, dict) and body.get("type") == "response.create":
                body = {k: v for k, v in body.items() if k != "type"}
            elif isinstance(body, dict) and "type" in body:  # a client event not answered here
                what = str(body["type"])[:80]
                await websocket.send_text(orjson.dumps({"type": "error", "status": 400, "error": {
                    "type": "invalid_request_error", "code": "unsupported_event_type",
                    "message": f"streamkit serve: the client event {what!r} is not supported; send response.create"}}).decode())  # fmt: skip
                continue
            path, params = websocket.url.path, dict(websocket.path_params)
            try:
                if not server.authorized(key):
                    raise Refused(HTTPError(401, "invalid or missing API key"))
                parsed = parse_call(
                    dialect, body, path, params, {k.lower(): v for k, v in websocket.headers.items()}
                )
                call = Call(dialect, parsed, body, path, params, key, server.realtime)
                turn = None
                if session is None:
                    answer = await server.source.answer(call)
                    if answer.error is not None:
                        raise Refused(answer.error)
                    stream = wire_of(answer, dialect, parsed.answer_options)
                else:
                    answered = await session.answer(server, call)
                    if isinstance(answered, dict):  # the connection's own refusal
                        await websocket.send_text(orjson.dumps(answered).decode())
                        continue
                    if isinstance(answered, HTTPError):
                        raise Refused(answered)
                    stream, turn = answered
            except (Exhausted, StreamkitError, Refused) as exc:
                error = (
                    exc.error
                    if isinstance(exc, Refused)
                    else HTTPError(503 if isinstance(exc, Exhausted) else 400, f"streamkit serve: {exc}")
                )
                await websocket.send_text(orjson.dumps({"type": "error", "status": error.status,
                                                        "error": {"message": error.message, "type": "server_error"}}).decode())  # fmt: skip
                continue
            async with contextlib.aclosing(stream):  # (a client gone stops a stored run)
                async for batch in stream:
                    for _, data, delay in batch:
                        if server.realtime and delay > 0:
                            await asyncio.sleep(delay)
                        if isinstance(data, dict):
                            await websocket.send_text(orjson.dumps(data).decode())
                            if turn is not None:
                                turn.saw(data)
            if session is not None and turn is not None:
                session.remember(turn)
    except WebSocketDisconnect:
        return
