"""``serve``'s WebSocket endpoints (the Responses API's ``/v1/responses``): each message a
request, answered with its wire events as messages; what cannot be answered is an ``error``
message, and the connection goes on.

Lanes (the Responses WebSocket's ``stream_id``): the requests of one lane are answered in the order
they came, one at a time, and every message answering them carries the lane's ``stream_id``;
different lanes run side by side (parallel conversations on one connection). A request with no
``stream_id`` goes on the connection's default lane, whose messages carry none. The connection
reads on while its lanes answer, so that a lane's request waits for nothing but its own lane; what
it holds is bounded: at most :data:`MAX_LANES` lanes answering at once, each with at most
:data:`MAX_WAITING` requests waiting behind the one it answers, and the requests waiting on all
lanes together no larger than the largest one request may be (``--max-body``), or the request is
refused with an error message (a lane closes when it has answered all it was sent). A client that leaves stops
every lane's answer (and with it the upstream request; a stored response is ``cancelled``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import orjson

from ..errors import StreamkitError
from .app import Refused, Server, client_key, parse_call, wire_of
from .sources import Call, Exhausted, HTTPError

#: the lanes (``stream_id`` values) one connection may have answering at once
MAX_LANES = 16
#: the requests that may wait behind a lane's running one
MAX_WAITING = 16


def error_message(status: int, message: str, kind: str = "server_error", code: str | None = None,
                  param: str | None = None) -> dict[str, Any]:  # fmt: skip
    """An ``error`` message, as the Responses WebSocket writes one."""
    error: dict[str, Any] = {"type": kind, "message": message}
    if code is not None or param is not None:
        error.update(code=code, param=param)
    return {"type": "error", "status": status, "error": error}


class Connection:
    """One WebSocket client on one of ``dialect``'s paths."""

    def __init__(self, server: Server, dialect: Any, websocket: Any) -> None:
        self.server = server
        self.dialect = dialect
        self.websocket = websocket
        self.key = client_key(websocket.headers, websocket.query_params)
        self.headers = {k.lower(): v for k, v in websocket.headers.items()}
        self.send_lock = asyncio.Lock()
        self.lanes: dict[str | None, asyncio.Queue[tuple[Any, int]]] = {}
        #: the bytes of the requests waiting on the lanes (not those being answered)
        self.waiting = 0
        self.workers: list[asyncio.Task[None]] = []
        # the Responses WebSocket mode's own state: the connection's responses
        self.session: Any = None
        if dialect.name == "openai-responses":
            from .responses_socket import ResponsesSocket

            self.session = ResponsesSocket(server.responses)

    async def send(self, data: dict[str, Any], lane: str | None) -> None:
        if lane is not None:
            data = {**data, "stream_id": lane}
        text = orjson.dumps(data).decode()
        async with self.send_lock:  # (one message at a time, whichever lane writes it)
            await self.websocket.send_text(text)

    async def run(self) -> None:
        """Read requests until the client leaves, handing each to its lane."""
        from starlette.websockets import WebSocketDisconnect

        await self.websocket.accept()
        try:
            while True:
                message = await self.websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                # a text frame, or a binary one (read as the same JSON: starlette's receive_text
                # would fail on it with a KeyError, and the connection with it)
                text = message.get("text")
                await self.take(text if text is not None else message.get("bytes") or b"")
        except WebSocketDisconnect:
            pass
        finally:
            for worker in self.workers:
                worker.cancel()
            await asyncio.gather(*self.workers, return_exceptions=True)

    async def take(self, message: str | bytes) -> None:
        """One message read: queued on its lane, or refused at once with an error message (the
        reader waits for it to be sent: a client that floods refused requests and reads nothing
        holds no more than one)."""
        try:
            body = orjson.loads(message)
        except orjson.JSONDecodeError:
            return await self.refuse(error_message(400, "not JSON", "invalid_request_error"), None)
        self.server.record(body)
        lane = body.get("stream_id") if isinstance(body, dict) else None
        if lane is not None and not isinstance(lane, str):
            return await self.refuse(error_message(400, "streamkit serve: stream_id must be a string",
                                             "invalid_request_error", param="stream_id"), None)  # fmt: skip
        if isinstance(body, dict) and body.get("type") == "response.create":
            body = {k: v for k, v in body.items() if k not in ("type", "stream_id")}
        elif isinstance(body, dict) and "type" in body:  # a client event not answered here
            what = str(body["type"])[:80]
            message = f"streamkit serve: the client event {what!r} is not supported; send response.create"
            return await self.refuse(
                error_message(400, message, "invalid_request_error", "unsupported_event_type"), lane
            )
        size = len(message)
        if self.waiting + size > self.server.max_body and lane in self.lanes:
            # what waits is held parsed: at most one largest request's worth a connection, so that
            # a client cannot queue lanes of them (the requests being answered are held as any is)
            message = "streamkit serve: too much waits on this connection; send after an answer"
            return await self.refuse(error_message(429, message, "invalid_request_error"), lane)
        queue = self.lanes.get(lane)
        if queue is None:
            if len(self.lanes) >= MAX_LANES:
                message = (
                    f"streamkit serve: a connection answers {MAX_LANES} streams (stream_id) at once at most"
                )
                return await self.refuse(
                    error_message(429, message, "invalid_request_error", param="stream_id"), lane
                )
            queue = self.lanes[lane] = asyncio.Queue(MAX_WAITING + 1)
            self.spawn(self.lane(queue, lane))
        try:
            queue.put_nowait((body, size))
            self.waiting += size
        except asyncio.QueueFull:
            message = f"streamkit serve: {MAX_WAITING} requests already wait on this stream"
            await self.refuse(error_message(429, message, "invalid_request_error"), lane)

    def spawn(self, work: Any) -> None:
        """Run ``work`` beside the reader, until it ends or the connection does."""
        task = asyncio.create_task(work)
        self.workers.append(task)
        task.add_done_callback(self._forget)

    async def refuse(self, error: dict[str, Any], lane: str | None) -> None:
        with contextlib.suppress(OSError):  # (a client gone: the next read ends the connection)
            await self.send(error, lane)

    def _forget(self, task: asyncio.Task[None]) -> None:
        with contextlib.suppress(ValueError):
            self.workers.remove(task)

    async def lane(self, queue: asyncio.Queue[tuple[Any, int]], lane: str | None) -> None:
        """Answer one lane's requests in order; the lane closes when none is left (a request on
        it later opens it again)."""
        from starlette.websockets import WebSocketDisconnect

        try:
            while not queue.empty():
                body, size = queue.get_nowait()
                self.waiting -= size
                await self.answer(body, lane)
        except (WebSocketDisconnect, OSError):  # the client is gone: the reader ends the rest
            pass
        except Exception:  # a fault of streamkit's: logged as the server logs one, and the
            # connection closed (1011) as it closes one whose application failed
            logging.getLogger("uvicorn.error").exception("Exception in a WebSocket stream")
            with contextlib.suppress(Exception):
                await self.websocket.close(1011)
        finally:
            if self.lanes.get(lane) is queue:
                del self.lanes[lane]

    async def answer(self, body: Any, lane: str | None) -> None:
        """Answer one request on its lane: its wire events, or an error message."""
        server, dialect, session = self.server, self.dialect, self.session
        path, params = self.websocket.url.path, dict(self.websocket.path_params)
        turn = None
        try:
            if not server.authorized(self.key):
                raise Refused(HTTPError(401, "invalid or missing API key"))
            parsed = parse_call(dialect, body, path, params, self.headers)
            call = Call(dialect, parsed, body, path, params, self.key, server.realtime)
            if session is None:
                answer = await server.source.answer(call)
                if answer.error is not None:
                    raise Refused(answer.error)
                stream = wire_of(answer, dialect, parsed.answer_options)
            else:
                answered = await session.answer(server, call)
                if isinstance(answered, dict):  # the connection's own refusal
                    return await self.send(answered, lane)
                if isinstance(answered, HTTPError):
                    raise Refused(answered)
                stream, turn = answered
        except (Exhausted, StreamkitError, Refused) as exc:
            error = (
                exc.error
                if isinstance(exc, Refused)
                else HTTPError(503 if isinstance(exc, Exhausted) else 400, f"streamkit serve: {exc}")
            )
            return await self.send(error_message(error.status, error.message), lane)
        async with contextlib.aclosing(stream):  # (a client gone stops a stored run)
            async for batch in stream:
                for _, data, delay in batch:
                    if server.realtime and delay > 0:
                        await asyncio.sleep(delay)
                    if isinstance(data, dict):
                        await self.send(data, lane)
                        if turn is not None:
                            turn.saw(data)
        if session is not None and turn is not None:
            session.remember(turn)


async def answer_websocket(server: Server, dialect: Any, websocket: Any) -> None:
    """Answer one WebSocket connection on one of ``dialect``'s paths until the client leaves."""
    await Connection(server, dialect, websocket).run()
