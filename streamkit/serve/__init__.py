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

from pathlib import Path
from typing import IO, Any

from ..errors import UsageError
from .app import Faults, Server, make_app
from .sources import Exhausted, ReplaySource, ScriptSource

__all__ = ["Exhausted", "Faults", "ReplaySource", "ScriptSource", "Server", "make_app", "open_log", "run"]


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
