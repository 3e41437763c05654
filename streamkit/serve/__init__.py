"""``streamkit serve``: a real HTTP server on loopback that speaks the dialects' own APIs.

Without ``-d`` it answers every dialect's endpoints at once (``/v1/chat/completions``,
``/v1/responses``, ``/v1/messages``, Gemini's ``:streamGenerateContent`` and ``:generateContent``,
Ollama's ``/api/chat``...); ``-d`` (repeatable) narrows them. Each request is parsed in its
dialect and gets the next answer from a source:

* ``--replay FILE...``: the recordings in order. A recording of the client's dialect is replayed
  event for event (the same payloads and event names, framed as the dialect frames them), so
  ``fetch`` against the server writes the same raw events as ``fetch --replay`` of the file; a
  recording of another dialect is converted (normalize, then the client dialect's encoder).
* ``--script FILE``: scripted assistant turns (see :mod:`streamkit.serve.script`), encoded by the
  client dialect's encoder and streamed in small deltas, so every dialect can be tested with
  scripted tool loops.
* ``--upstream D --base-url URL``: a live gateway (:mod:`streamkit.serve.gateway`).

A request that does not ask for a stream gets the dialect's whole response object, accumulated
from the same events. Errors come in the client dialect's own shape.

Fault injection for tests: ``--fail-status 429 --fail-times 2`` answers the first two requests
with that status (and ``Retry-After``); ``--drop-after N`` closes the connection after N events;
``--stall-after N`` sends N events and then nothing, holding the connection open.
``--log-requests FILE`` appends every request body as one NDJSON line; ``--realtime`` paces a
replay with its recorded timing (the ``t`` of an NDJSON recording of raw events) and a script
with ``--delay`` seconds between events.

The modules: ``app`` (the HTTP application), ``sources`` (recordings and scripts), ``gateway``
(the live upstream), ``catalog`` (model listings, token counts), ``script`` (the script format),
``mcp_tools`` (MCP tools run by the gateway), with ``mcp_request`` (what a request asks of them)
and ``mcp_client`` (the servers, through the ``mcp`` SDK).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from ..errors import UsageError
from . import catalog
from .app import Faults, Server, make_app
from .sources import Exhausted, ReplaySource, ScriptSource, StrictSource

__all__ = [
    "Exhausted",
    "Faults",
    "ReplaySource",
    "ScriptSource",
    "Server",
    "StrictSource",
    "background",
    "catalog",
    "make_app",
    "open_log",
    "run",
]


def run(server: Server, *, host: str = "127.0.0.1", port: int = 0, announce: Any = None) -> None:
    """Serve until interrupted (Ctrl-C: KeyboardInterrupt once the server has stopped; SIGTERM,
    as ``docker stop`` and systemd send: :class:`~streamkit.errors.Terminated` then);
    ``announce`` is called first with the base URL. Either way the answers under way end first,
    as uvicorn's graceful shutdown ends them, and what the response store has queued is written."""
    import signal
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
    # Ctrl-C stops the server whenever it comes, from the moment the URL is out. Outside
    # uvicorn's own handling (before its start-up, after its stop) a Ctrl-C is only noted, and
    # the server asked to stop when it starts: raised there, a KeyboardInterrupt can land where
    # it is swallowed (a weakref callback: seen as a server that never stopped), and asyncio's
    # runner, which replaces Python's own handler, cancels a task that start-up may not heed. An
    # ignored SIGINT (a background job) stays ignored outside uvicorn's handling.
    interrupted: list[int] = []
    previous = None
    try:
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            previous = signal.signal(signal.SIGINT, lambda signum, frame: interrupted.append(signum))
    except ValueError:  # not the main thread (an embedding): leave SIGINT alone
        pass
    try:
        if announce is not None:
            announce(f"{_scheme(server)}://{host}:{sock.getsockname()[1]}")
        server.warm_up(stop=lambda: bool(interrupted))  # a client connecting meanwhile waits in the queue
        served = _uvicorn_server(uvicorn, app, interrupted, server, host)
        try:
            served.run(sockets=[sock])
        finally:
            if server.responses is not None:
                server.responses.close()  # what is queued is written
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    captured = getattr(served, "_captured_signals", ())
    if interrupted or signal.SIGINT in captured:
        raise KeyboardInterrupt  # stopped by Ctrl-C: exit 130
    if signal.SIGTERM in captured:
        from ..errors import Terminated

        raise Terminated  # exit 143


@contextmanager
def background(server: Server, *, host: str = "127.0.0.1", timeout: float = 30) -> Iterator[str]:
    """The server run in a thread of this process, for a ``with`` block: yields its base URL once
    it listens (real HTTP on a free port of ``host``) and stops it when the block ends, writing
    what is queued and closing its log. What a test needs from ``serve`` without a process of its
    own (``streamkit.testing.serving``); Ctrl-C stays the caller's."""
    import socket
    import threading
    import time

    import uvicorn

    app = make_app(server)
    sock = socket.create_server((host, 0))
    served = _uvicorn_server(uvicorn, app, [], server, host)
    thread = threading.Thread(
        target=served.run, kwargs={"sockets": [sock]}, name="streamkit-serve", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + timeout
        while not served.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start within {timeout:g} s")
            time.sleep(0.002)
        yield f"{_scheme(server)}://{host}:{sock.getsockname()[1]}"
    finally:
        served.stop()
        thread.join(timeout)
        sock.close()
        if server.responses is not None:
            server.responses.close()  # what is queued is written
        if server.log is not None:
            server.log.close()


def _scheme(server: Server) -> str:
    return "https" if server.tls is not None else "http"


def _uvicorn_server(uvicorn: Any, app: Any, interrupted: list[int], server: Server, host: str) -> Any:
    """The uvicorn server for the app, as both ``run`` and ``background`` serve it; a WebSocket
    message above ``server.max_body`` bytes closes its connection (1009, message too big), as a
    body above it is answered 413, and a client gets ``server.client_timeout`` seconds to send a
    request's headers (:mod:`streamkit.serve.timeouts`; an idle connection is kept as long), and a
    connection past ``server.max_connections`` is answered 503 and closed, one past
    ``server.max_connections_per_client`` from its address 429 (:mod:`streamkit.serve.connections`).

    WebSocket clients are offered per-message compression (permessage-deflate) as
    ``server.websocket_deflate`` says, and by default only when the server listens beyond loopback
    (``host``): compressing each message costs more CPU than anything else the gateway does for
    it (a Responses client's long text through a gateway: 26.5 µs of the gateway's CPU per
    message with it, 18.5 without, 7.2 for the same events over SSE; ``bench/gateway.py``), which
    a loopback connection gets nothing back for."""
    from uvicorn.protocols.websockets.auto import AutoWebSocketsProtocol

    from .connections import limited_protocol, lingering_protocol, lingering_websockets, loopback
    from .timeouts import timely_protocol

    http = lingering_protocol(timely_protocol(server.client_timeout))
    ws = lingering_websockets(AutoWebSocketsProtocol) if AutoWebSocketsProtocol is not None else "auto"
    if server.max_connections or server.max_connections_per_client:
        http = limited_protocol(
            http, server.max_connections or None, server.max_connections_per_client or None
        )
    quiet_server_logs()
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=1,
        # an idle connection is kept as long as a new one may wait for its first request: with
        # uvicorn's 5 s, the official SDKs' pools (httpx: 5 s too) reused a connection the
        # server was closing at that moment, and the request failed (httpx's ReadError, which
        # the SDKs then retry); nginx keeps 75 s
        timeout_keep_alive=server.client_timeout,
        ws=ws,
        ws_max_size=server.max_body,
        ws_per_message_deflate=(
            server.websocket_deflate if server.websocket_deflate is not None else not loopback(host)
        ),
        http=http,
        **({"ssl_certfile": server.tls[0], "ssl_keyfile": server.tls[1]} if server.tls is not None else {}),
    )
    return _prompt_server(uvicorn, interrupted)(config)


def _prompt_server(uvicorn: Any, interrupted: list[int]) -> Any:
    """uvicorn's server, stopping as soon as it is told. uvicorn looks for a stop request every
    0.1 s and then pauses 0.1 s for its connections to hear of it: 0.17 s from Ctrl-C to exit,
    measured, on a server with no connection at all (a script that starts and stops ``serve``
    around each of its checks waits that long each time). Here the stop request wakes the loop
    at once, and the pause is skipped when no connection or task is left to hear of it; with
    any, uvicorn's own shutdown runs as it is. A Ctrl-C noted in ``interrupted`` before uvicorn
    took over stops the server as soon as it has started."""
    import asyncio
    import contextlib

    class PromptServer(uvicorn.Server):
        _wake: asyncio.Event | None = None
        _loop: asyncio.AbstractEventLoop | None = None

        @contextlib.contextmanager
        def capture_signals(self) -> Any:
            """uvicorn's, less its raising the signal that stopped the server again once it has:
            ``run`` ends the command as the signal asks after what is queued is written. A SIGTERM
            raised again there killed the process first: a PostgreSQL store lost 213 of 256
            responses just streamed (SQLite's writer happened to be quicker)."""
            import signal
            import threading

            if threading.current_thread() is not threading.main_thread():
                yield
                return
            handled = (signal.SIGINT, signal.SIGTERM)
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets=sockets)
            if interrupted:
                self.should_exit = True

        async def main_loop(self) -> None:
            self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
            counter = 0
            should_exit = await self.on_tick(counter)
            while not should_exit:
                counter = (counter + 1) % 864000
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), 0.1)
                should_exit = await self.on_tick(counter)

        def handle_exit(self, sig: int, frame: Any) -> None:
            super().handle_exit(sig, frame)
            self._wake_up()

        def stop(self) -> None:
            """Stop, from any thread."""
            self.should_exit = True
            self._wake_up()

        def _wake_up(self) -> None:
            if self._loop is not None and self._wake is not None:
                with contextlib.suppress(RuntimeError):  # the loop is closed already
                    self._loop.call_soon_threadsafe(self._wake.set)

        async def shutdown(self, sockets: Any = None) -> None:
            state = getattr(self, "server_state", None)
            if state is None or state.connections or state.tasks:
                await super().shutdown(sockets=sockets)
                return
            for server in self.servers:
                server.close()
            for sock in sockets or []:
                sock.close()
            for server in self.servers:
                await server.wait_closed()

    return PromptServer


def open_log(path: str | None) -> IO[bytes] | None:
    if path is None:
        return None
    try:
        return open(Path(path), "ab")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None


class _OneLine:
    """A logging filter for the server's own loggers: an exception is one line, never a
    traceback; a connection cut on purpose (``--drop-after``) and the repeated "socket.send()
    raised exception" of clients gone away are not logged at all."""

    def filter(self, record: Any) -> bool:
        import asyncio

        from .app import DropConnection

        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            if isinstance(exc, (DropConnection, asyncio.CancelledError)) or isinstance(
                getattr(exc, "__cause__", None), DropConnection
            ):
                return False  # a cut on purpose; a request cut short by Ctrl-C (said once, by uvicorn)
            record.msg = f"{record.getMessage().strip()}: {type(exc).__name__}: {exc}"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
        return "socket.send() raised exception" not in record.getMessage()


def quiet_server_logs() -> None:
    """One line per event that matters from uvicorn and asyncio (see :class:`_OneLine`)."""
    import logging

    for name in ("uvicorn.error", "asyncio"):
        logging.getLogger(name).addFilter(_OneLine())
