"""``serve``'s WebSocket endpoints (the Responses API's ``/v1/responses``): each message a
request, answered with its wire events as messages; what cannot be answered is an ``error``
message, and the connection goes on.

Faults are injected as over HTTP: ``--fail-status`` answers a request with that error message
(the same count of requests as HTTP's, whichever way they came), ``--drop-after N`` cuts the
connection after N events of a response (no close frame: the client sees it drop, as when an
upstream fails), and ``--stall-after N`` sends N events of a response and then nothing more of it
(the connection and its other lanes go on).

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

A ``response.steer`` (the Responses WebSocket's steering: :mod:`.steering`) is answered at once by
the reader, on the lane of the response it steers; the successor it may start runs on that lane
right after the response it continues. A ``response.interrupt`` stops the response it names on its
lane, which then ends it as :mod:`.responses_socket` says and goes on to its next request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import orjson

from ..errors import StreamkitError
from .app import DropConnection, Refused, Server, client_key, parse_call, wire_of
from .responses import TERMINAL_EVENTS
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
        #: the sequence number of the next steering event (they belong to no one response)
        self.steer_seq = 0
        #: the reader's task, and whether a lane cut the connection (``--drop-after``)
        self.reader: asyncio.Task[Any] | None = None
        self.dropped = False
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
        self.reader = asyncio.current_task()
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
        except asyncio.CancelledError:
            if not self.dropped:
                raise
            # (uvicorn closes the socket, with no close frame, when the application raises)
            raise DropConnection("--drop-after") from None
        finally:
            for worker in self.workers:
                worker.cancel()
            await asyncio.gather(*self.workers, return_exceptions=True)

    async def drop(self) -> None:
        """Cut the connection (``--drop-after``): the reader ends it, as the server's own
        application failing would; this lane waits to be cancelled with the others."""
        self.dropped = True
        if self.reader is not None:
            self.reader.cancel()
        await asyncio.Event().wait()

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
        elif isinstance(body, dict) and body.get("type") == "response.steer" and self.session is not None:
            return await self.steer(body, len(message))
        elif isinstance(body, dict) and body.get("type") == "response.interrupt" and self.session is not None:
            return await self.interrupt(body, lane)
        elif isinstance(body, dict) and body.get("type") == "response.processed" and self.session is not None:
            return None  # (the Codex CLI's acknowledgement of a response read: nothing to answer)
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

    async def steer(self, event: dict[str, Any], size: int) -> None:
        """A ``response.steer``: its input queued on the response it names (accepted), or given
        back (failed); see :mod:`.steering`."""
        from . import steering

        if not self.server.authorized(self.key):
            return await self.refuse(error_message(401, "invalid or missing API key"), None)
        session = self.session
        why = steering.problem(event)
        if why is not None:
            return await self.steering(steering.failed(event, "invalid_input", why), None)
        response_id = event["previous_response_id"]
        target = session.target(response_id)
        if target is None:
            if response_id in session.ended:
                code, why = "response_already_completed", f"Response '{response_id[:80]}' has ended."
            else:
                code, why = (
                    "response_not_found",
                    f"Response '{response_id[:80]}' is not under way on this connection.",
                )
            return await self.steering(steering.failed(event, code, why), None)
        if len(target.steers) >= steering.MAX_STEERS or self.waiting + size > self.server.max_body:
            why = (
                f"{steering.MAX_STEERS} steering inputs already wait on this response"
                if len(target.steers) >= steering.MAX_STEERS
                else "too much waits on this connection; steer after an answer"
            )
            return await self.steering(steering.failed(event, "too_many_pending_steers", why), target.lane)
        queued = steering.new_steer(event, size)
        target.steers.append(queued)  # (before the send: the response may end meanwhile)
        self.waiting += size
        await self.steering(steering.accepted(queued), target.lane)

    async def interrupt(self, event: dict[str, Any], lane: str | None) -> None:
        """A ``response.interrupt``: the response it names stops where it is (see
        :mod:`.responses_socket`); one that has ended here is let go, anything else refused."""
        if not self.server.authorized(self.key):
            return await self.refuse(error_message(401, "invalid or missing API key"), lane)
        response_id, mode = event.get("response_id"), event.get("mode")
        if not isinstance(response_id, str) or not response_id:
            message = "response.interrupt needs the response_id of the response to stop"
            return await self.refuse(
                error_message(400, message, "invalid_request_error", param="response_id"), lane
            )
        if mode != "discard_partial_items":
            message = 'streamkit serve: response.interrupt takes mode "discard_partial_items"'
            return await self.refuse(error_message(400, message, "invalid_request_error", param="mode"), lane)
        found = self.session.running_turn(response_id)
        if found is None:
            if response_id in self.session.ended:
                return None  # (too late: its end is on its way)
            message = f"Response '{response_id[:80]}' is not under way on this connection."
            return await self.refuse(
                error_message(404, message, "invalid_request_error", "response_not_found", "response_id"),
                lane,
            )
        turn, steering = found
        if not turn.interrupted and steering.task is not None:
            turn.interrupted = True
            steering.task.cancel()  # (its answer catches it: see answer)

    async def steering(self, event: dict[str, Any], lane: str | None) -> None:
        """Send a steering event, numbered."""
        event["sequence_number"] = self.steer_seq
        self.steer_seq += 1
        with contextlib.suppress(OSError):
            await self.send(event, lane)

    async def steered(
        self, turn: Any, queued: Any, lane: str | None
    ) -> tuple[dict[str, Any], list[Any]] | None:
        """A response ended with steering input queued on it: the successor to answer next on
        its lane (its request and the input it commits), or None (the input waits for the
        client's outputs, or comes back failed)."""
        from . import steering

        response = turn.response
        status = response.get("status") if isinstance(response, dict) else None
        if status == "completed" and turn.id is not None:
            stubs = steering.required_input(response)
            if not stubs:  # (the input is the successor's request now, held as any being answered)
                self.release(queued.steers)
                return steering.successor(queued.body, turn.id, queued.steers), queued.steers
            waiting = self.session.waiting
            waiting[turn.id] = queued.steers
            while len(waiting) > steering.MAX_STEERS:  # (the oldest, never continued, let go)
                self.release(waiting.pop(next(iter(waiting))))
            for steer in queued.steers:
                await self.steering(steering.pending(steer, stubs), lane)
            return None
        self.release(queued.steers)
        why = f"the response ended {status}" if status else "the response ended without its end"
        for steer in queued.steers:
            await self.steering(steering.failed(steer, "response_not_active", why), lane)
        return None

    def release(self, steers: list[Any]) -> None:
        """Steering input no longer waits on the connection."""
        self.waiting -= sum(steer.size for steer in steers)

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
                successor = await self.answer(body, lane=lane)
                while successor is not None:  # a steered response's, right after it
                    successor = await self.answer(*successor, lane=lane)
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

    async def answer(self, body: Any, steers: list[Any] | None = None, *,
                     lane: str | None) -> tuple[dict[str, Any], list[Any]] | None:  # fmt: skip
        """Answer one request on its lane: its wire events, or an error message (``steers``: the
        steering input a successor commits, given back failed instead). Returns the successor to
        answer next, if steering input was queued on the response (see :meth:`steered`)."""
        server, dialect, session = self.server, self.dialect, self.session
        path, params = self.websocket.url.path, dict(self.websocket.path_params)
        turn = None
        try:
            if session is not None:
                body, committed = session.with_steers(body)
                self.release(committed)
            if not server.authorized(self.key):
                raise Refused(HTTPError(401, "invalid or missing API key"))
            if server.should_fail():  # (--fail-status)
                status = server.faults.fail_status or 500
                shaped = dialect.error_body(status, f"injected failure {status}")
                error = shaped.get("error") if isinstance(shaped, dict) else None
                said = {"type": "error", "status": status, "error": error}
                raise Refused(HTTPError(status, f"injected failure {status}"), said)
            conversation = None
            if session is not None:
                from .conversations import Refusal, conversation_of

                try:
                    body, conversation = await conversation_of(server.responses, body, self.key)
                except Refusal as refusal:  # (the API's error, as an error message)
                    error = refusal.body.get("error") or {}
                    said = {"type": "error", "status": refusal.status, "error": error}
                    raise Refused(HTTPError(refusal.status, str(error.get("message"))), said) from None
            parsed = parse_call(dialect, body, path, params, self.headers, conversation)
            call = Call(dialect, parsed, body, path, params, self.key, server.realtime, conversation)
            if session is None:
                answer = await server.source.answer(call)
                if answer.error is not None:
                    raise Refused(answer.error)
                stream = wire_of(answer, dialect, parsed.answer_options)
            else:
                answered = await session.answer(server, call)
                if isinstance(answered, dict):  # the connection's own refusal
                    error = answered.get("error") or {}
                    raise Refused(HTTPError(int(answered.get("status") or 400), str(error.get("message"))),
                                  answered)  # fmt: skip
                if isinstance(answered, HTTPError):
                    raise Refused(answered)
                stream, turn = answered
                session.begin(turn, body, lane)
        except (Exhausted, StreamkitError, Refused) as exc:
            error = (
                exc.error
                if isinstance(exc, Refused)
                else HTTPError(503 if isinstance(exc, Exhausted) else 400, f"streamkit serve: {exc}")
            )
            if steers:  # a successor that did not start: its steering input comes back
                from .steering import failed

                for steer in steers:
                    await self.steering(failed(steer, "successor_creation_failed", error.message), lane)
                return None
            message = exc.message if isinstance(exc, Refused) else None
            await self.send(message or error_message(error.status, error.message), lane)
            return None
        queued, ended = None, turn is None
        faults, sent = server.faults, 0
        try:
            async with contextlib.aclosing(stream):  # (a client gone stops a stored run)
                async for batch in stream:
                    for _, data, delay in batch:
                        if faults.stall_after is not None and sent >= faults.stall_after:
                            await asyncio.sleep(3600)  # (the response goes silent)
                        if faults.drop_after is not None and sent >= faults.drop_after:
                            await self.drop()
                        sent += 1
                        if server.realtime and delay > 0:
                            await asyncio.sleep(delay)
                        if isinstance(data, dict):
                            if not ended and data.get("type") in TERMINAL_EVENTS:
                                # steered no more once its end is on its way (a steer read
                                # after it was too late)
                                queued, ended = session.end(turn), True
                            await self.send(data, lane)
                            if turn is not None:
                                turn.saw(data)
        except asyncio.CancelledError:
            # a response.interrupt (the reader cancelled this task once, for this response);
            # anything else cancelling it (the client gone) goes on as a cancellation
            task = asyncio.current_task()
            if turn is None or not turn.interrupted or ended or (task is not None and task.uncancel() > 0):
                raise
            from .responses_socket import interrupted

            end = interrupted(turn)
            queued, ended = session.end(turn), True
            await self.send(end, lane)
            turn.saw(end)
        finally:
            if not ended:
                queued = session.end(turn)
        if session is not None and turn is not None:
            session.remember(turn)
        if queued is not None and queued.steers:
            return await self.steered(turn, queued, lane)
        return None


async def answer_websocket(server: Server, dialect: Any, websocket: Any) -> None:
    """Answer one WebSocket connection on one of ``dialect``'s paths until the client leaves."""
    await Connection(server, dialect, websocket).run()
