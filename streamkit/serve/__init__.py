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

from pathlib import Path
from typing import IO, Any

from ..errors import UsageError
from . import catalog
from .app import Faults, Server, make_app
from .sources import Exhausted, ReplaySource, ScriptSource

__all__ = [
    "Exhausted",
    "Faults",
    "ReplaySource",
    "ScriptSource",
    "Server",
    "catalog",
    "make_app",
    "open_log",
    "run",
]


def run(server: Server, *, host: str = "127.0.0.1", port: int = 0, announce: Any = None) -> None:
    """Serve until interrupted; ``announce`` is called first with the base URL."""
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
    if announce is not None:
        announce(f"http://{host}:{sock.getsockname()[1]}")
    quiet_server_logs()
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=1
    )
    served = uvicorn.Server(config)
    # Ctrl-C stops the server whenever it comes. asyncio's runner replaces Python's own SIGINT
    # handler with "cancel the main task", which start-up may not heed, and uvicorn's graceful
    # stop hands the signal back to it at the end. A handler of our own, which asyncio leaves
    # alone, makes Ctrl-C a KeyboardInterrupt before and after uvicorn's own handling. An
    # ignored SIGINT (a background job) stays ignored outside uvicorn's.
    previous = None
    try:
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            previous = signal.signal(signal.SIGINT, _interrupted)
    except ValueError:  # not the main thread (an embedding): leave SIGINT alone
        pass
    try:
        served.run(sockets=[sock])
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        if server.responses is not None:
            server.responses.close()  # what is queued is written
    if signal.SIGINT in getattr(served, "_captured_signals", ()):
        raise KeyboardInterrupt  # stopped gracefully by Ctrl-C: still exit 130


def _interrupted(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


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
