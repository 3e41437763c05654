"""``streamkit serve``: a real HTTP server on loopback that speaks one dialect.

Each request to the dialect's endpoint gets the next response from a source:

* ``--replay FILE...``: the recordings in order. A recording of the served dialect is replayed
  event for event (the same payloads and event names, framed as the dialect frames them), so
  ``fetch`` against the server writes the same raw events as ``fetch --replay`` of the file; a
  recording of another dialect is converted (normalize, then the served dialect's encoder).
* ``--script FILE``: scripted assistant turns (see :mod:`streamkit.serve.script`), encoded by the
  dialect's encoder and streamed in small deltas, so every dialect can be tested with scripted
  tool loops.

Fault injection for tests: ``--fail-status 429 --fail-times 2`` answers the first two requests
with that status (and ``Retry-After``); ``--drop-after N`` closes the connection after N events;
``--stall-after N`` sends N events and then nothing, holding the connection open.
``--log-requests FILE`` appends every request body as one NDJSON line; ``--realtime`` paces a
replay with its recorded timing (the ``t`` of an NDJSON recording of raw events) and a script
with ``--delay`` seconds between events.

starlette and uvicorn come with the ``serve`` extra (``pip install 'streamkit[serve]'``).
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from .. import diagnostics
from ..errors import UsageError
from ..framing import frame

MEDIA_TYPES = {
    "sse": "text/event-stream",
    "ndjson": "application/x-ndjson",
    "json-array": "application/json",
    "eventstream": "application/vnd.amazon.eventstream",
}

#: a wire event to send, and how long to wait before sending it under --realtime
Timed = tuple[str | None, Any, float]


@dataclass
class Faults:
    fail_status: int | None = None
    fail_times: int = 0
    retry_after: float = 1.0
    drop_after: int | None = None
    stall_after: int | None = None


class Exhausted(Exception):
    """The source has nothing more to answer with."""


class ReplaySource:
    """The recordings, one per request, in order."""

    def __init__(self, paths: Sequence[str], dialect: Any, registry: Any) -> None:
        from ..stages.fetch import replay

        self.responses: list[list[Timed]] = []
        for path in paths:
            try:
                with open(path, "rb") as f:
                    raws = list(replay(f))
            except OSError as exc:
                raise UsageError(f"cannot read recording {path}: {exc.strerror}") from None
            self.responses.append(self._wire(raws, dialect, registry, path))
        self.served = 0
        self.lock = threading.Lock()

    @staticmethod
    def _wire(raws: list[dict[str, Any]], dialect: Any, registry: Any, path: str) -> list[Timed]:
        source = None
        for raw in raws:
            named = raw.get("dialect")
            if named:
                source = registry.dialect(named)
                break
            source = next((d for d in registry.dialects().values() if _sniffs(d, raw)), None)
            if source is not None:
                break
        if source is None or source.name == dialect.name:
            times = [raw.get("t") for raw in raws]
            delays = [0.0] + [max(0.0, (b or 0) - (a or 0)) for a, b in itertools.pairwise(times)]
            return [(raw.get("event"), raw.get("data"), delay) for raw, delay in zip(raws, delays)]
        from ..stages.normalize import normalize

        encoder = dialect.encoder()
        wire: list[Timed] = []
        for event in normalize(iter(raws), registry=registry):
            wire.extend((name, data, 0.0) for name, data in encoder.feed(event))
        wire.extend((name, data, 0.0) for name, data in encoder.close())
        diagnostics.note(f"serving {path} converted from {source.name} to {dialect.name}")
        return wire

    def next(
        self, body: Any, dialect: Any, delay: float, options: dict[str, Any] | None = None
    ) -> list[Timed]:
        with self.lock:
            if self.served >= len(self.responses):
                raise Exhausted(f"no more recordings (all {len(self.responses)} served)")
            self.served += 1
            return self.responses[self.served - 1]


def _sniffs(dialect: Any, raw: dict[str, Any]) -> bool:
    try:
        return bool(dialect.sniff(raw.get("data"), raw.get("event")))
    except Exception:
        return False


class ScriptSource:
    """The scripted turns, one per request, encoded for the served dialect."""

    def __init__(self, path: str, dialect: Any) -> None:
        from .script import load_script

        self.turns = load_script(path)
        self.served = 0
        self.lock = threading.Lock()

    def next(
        self, body: Any, dialect: Any, delay: float, options: dict[str, Any] | None = None
    ) -> list[Timed]:
        from .script import turn_events

        with self.lock:
            if self.served >= len(self.turns):
                raise Exhausted(f"no more scripted turns (all {len(self.turns)} served)")
            n = self.served
            self.served += 1
        model = (body.get("model") if isinstance(body, dict) else None) or "streamkit-script"
        size = len(orjson.dumps(body)) if body is not None else 0
        events = turn_events(self.turns[n], response_id=f"resp_script_{n + 1}", model=str(model), call_prefix=f"call_{n + 1}_",
                             input_tokens=max(1, size // 4))  # fmt: skip
        encoder = dialect.encoder(**(options or {}))
        wire: list[Timed] = []
        for event in events:
            wire.extend((name, data, delay) for name, data in encoder.feed(event))
        wire.extend((name, data, delay) for name, data in encoder.close())
        return wire


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


def run(server: Server, *, host: str = "127.0.0.1", port: int = 0, announce: Any = None) -> None:
    """Serve until interrupted; ``announce`` is called first with the base URL."""
    import socket

    import uvicorn

    app = make_app(server)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(128)
    if announce is not None:
        announce(f"http://{host}:{sock.getsockname()[1]}")
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=1
    )
    uvicorn.Server(config).run(sockets=[sock])


def open_log(path: str | None) -> IO[bytes] | None:
    if path is None:
        return None
    try:
        return open(Path(path), "ab")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None
