"""The HTTP application: the dialect's endpoints, each request answered from the source, faults
injected on demand (``--fail-status``, ``--drop-after``, ``--stall-after``), requests logged."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import IO, Any

import orjson

from ..errors import UsageError
from ..framing import frame
from .sources import Exhausted, Timed

MEDIA_TYPES = {
    "sse": "text/event-stream",
    "ndjson": "application/x-ndjson",
    "json-array": "application/json",
    "eventstream": "application/vnd.amazon.eventstream",
}


@dataclass
class Faults:
    fail_status: int | None = None
    fail_times: int = 0
    retry_after: float = 1.0
    drop_after: int | None = None
    stall_after: int | None = None


@dataclass
class Server:
    """The served dialect, where answers come from, and how to misbehave."""

    dialect: Any
    source: Any
    realtime: bool = False
    delay: float = 0.02
    faults: Faults = field(default_factory=Faults)
    log: IO[bytes] | None = None
    websocket: bool = True  # answer on the dialect's WebSocket paths
    failed: int = 0
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, body: Any) -> None:
        with self.lock:
            self.requests += 1
            if self.log is not None:
                self.log.write(orjson.dumps(body, option=orjson.OPT_APPEND_NEWLINE))
                self.log.flush()

    def should_fail(self) -> bool:
        with self.lock:
            if self.faults.fail_status is not None and self.failed < self.faults.fail_times:
                self.failed += 1
                return True
            return False

    async def frames(self, wire: list[Timed]) -> AsyncIterator[bytes]:
        framing = self.dialect.framing
        faults = self.faults
        array = framing == "json-array"
        for i, (name, data, delay) in enumerate(wire):
            if faults.stall_after is not None and i >= faults.stall_after:
                await asyncio.sleep(3600)  # hold the connection open, silent
            if faults.drop_after is not None and i >= faults.drop_after:
                raise ConnectionAbortedError("streamkit serve: --drop-after")  # uvicorn closes the socket
            if self.realtime and delay > 0:
                await asyncio.sleep(delay)
            chunk = frame(framing, name, data)
            if array:
                chunk = (b"[" if i == 0 else b",\r\n") + chunk
            yield chunk
        if array:
            yield b"]" if wire else b"[]"


def _error_body(message: str, kind: str) -> bytes:
    return orjson.dumps({"error": {"message": message, "type": kind}})


def make_app(server: Server) -> Any:
    """The starlette application answering on the dialect's paths."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response, StreamingResponse
    from starlette.routing import Route, WebSocketRoute
    from starlette.websockets import WebSocket, WebSocketDisconnect

    dialect = server.dialect
    media_type = MEDIA_TYPES.get(dialect.framing, "application/octet-stream")

    async def http_endpoint(request: Request) -> Response:
        raw = await request.body()
        try:
            body = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            return Response(
                _error_body("request body is not JSON", "invalid_request_error"),
                400,
                media_type="application/json",
            )
        server.record(body)
        if server.should_fail():
            headers = {"Retry-After": f"{server.faults.retry_after:g}"}
            return Response(_error_body(f"injected failure {server.faults.fail_status}", "rate_limit_error"),
                            server.faults.fail_status or 500, headers=headers, media_type="application/json")  # fmt: skip
        options = dialect.serve_options(request.url.path, dict(request.path_params), body)
        try:
            wire = server.source.next(body, dialect, server.delay, options)
        except Exhausted as exc:
            return Response(
                _error_body(f"streamkit serve: {exc}", "server_error"), 503, media_type="application/json"
            )
        return StreamingResponse(
            server.frames(wire), media_type=media_type, headers={"Cache-Control": "no-cache"}
        )

    async def ws_endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
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
                options = dialect.serve_options(websocket.url.path, dict(websocket.path_params), body)
                try:
                    wire = server.source.next(body, dialect, server.delay, options)
                except Exhausted as exc:
                    error = {
                        "type": "error",
                        "error": {"message": f"streamkit serve: {exc}", "type": "server_error"},
                    }
                    await websocket.send_text(orjson.dumps(error).decode())
                    continue
                for _, data, delay in wire:
                    if server.realtime and delay > 0:
                        await asyncio.sleep(delay)
                    if isinstance(data, dict):
                        await websocket.send_text(orjson.dumps(data).decode())
        except WebSocketDisconnect:
            return

    routes: list[Any] = [Route(path, http_endpoint, methods=["POST"]) for path in dialect.serve_paths]
    if server.websocket:
        routes += [WebSocketRoute(path, ws_endpoint) for path in dialect.websocket_paths]
    if not routes:
        raise UsageError(f"the {dialect.name} dialect has no endpoints to serve")
    return Starlette(routes=routes)
