"""How many client connections ``serve`` holds at once (``--max-connections``), and how it closes
one whose client may still be sending.

Every connection holds a file descriptor, and so does every upstream request, the response store
and the request log. uvicorn accepts connections for as long as there are descriptors: a flood of
idle connections (bounded in time by ``--client-timeout``, not in number) took every one, and the
gateway's next upstream request failed for want of one (or, under ``ulimit -n 64``, a new client
was reset). :func:`limited_protocol` keeps a reserve: a connection opened while ``limit`` are open
is answered ``503 Service Unavailable`` with ``Retry-After: 1`` (which the official SDKs retry) at
once, before it is read, and closed (lingering: below). The connections already open, and their
upstream requests, carry on. nginx's ``limit_conn`` and Node's ``server.maxConnections`` are the
same bound.

The default (:func:`default_limit`) is the process's limit on open files less a reserve of a
quarter of it (at most 256), shared by what each connection holds: one descriptor for a client of
recordings or a script, two in front of an upstream (the client's, and its stream's to the
upstream). 768 and 384 under the usual 1,024; 48 and 24 under 64.

That bound is the server's: one client flooding it with idle connections keeps every other client
waiting (for a 503's retry) until ``--client-timeout`` closes them. ``--max-connections-per-client
N`` bounds each client address too, as nginx's ``limit_conn`` keyed on ``$binary_remote_addr``
does: a connection opened while N others from its address are open is answered ``429 Too Many
Requests`` (``Retry-After: 1``, which the official SDKs retry) and closed, before it is read, and
the other addresses are served. Off by default: behind a proxy every client has the proxy's
address (bound them at the proxy), and on loopback every local client has the same one.

A connection the server closes while its client may still be sending (one refused here, or
one whose request's body was refused: 413 on its ``Content-Length``) is closed the way nginx's
lingering close does it: the answer, then the server's end of the stream (a TCP half-close), then
what the client sends is read and thrown away until it closes, for at most :data:`LINGER`
seconds (:func:`lingering_protocol`). A client sends its request as soon as it has connected, its
body whether or not the server wants it, and a socket closed with bytes unread is reset. The
reset lost the answer for every client that does not read an answer while it still sends:
measured on loopback, for a refused connection Python's ``urllib`` got "broken pipe" or
"connection reset" in 20 of 20 tries, Node's ``fetch`` with a 2 MB body in 18 of 20; for a 413,
``urllib`` in 6 of 10 and Node's ``fetch`` in 10 of 10. httpx (and so the official Python
SDKs) and curl read the answer anyway. With the lingering close every
one of them gets the answer and its ``Retry-After``. A lingering connection holds its descriptor,
out of the reserve: at most a quarter of the reserve (:func:`lingering_limit`: 64 under the
usual 1,024, 4 under 64) linger at once, and past that a connection is closed at once (a flood
of them would otherwise take the descriptors the bound keeps for the upstream requests).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

_BUSY = b"too many connections: try again in a moment\n"
_ANSWER_503 = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: %d\r\nretry-after: 1\r\nconnection: close\r\n\r\n" % len(_BUSY)
) + _BUSY
_YOURS = b"too many connections from your address: close one, or try again in a moment\n"
_ANSWER_429 = (
    b"HTTP/1.1 429 Too Many Requests\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: %d\r\nretry-after: 1\r\nconnection: close\r\n\r\n" % len(_YOURS)
) + _YOURS


#: seconds a connection closed lingering is read after its answer, at most (nginx's
#: ``lingering_time`` is 30, its ``lingering_timeout`` 5; a client that has its answer closes at
#: once)
LINGER = 2.0


def loopback(host: str) -> bool:
    """Whether ``host`` (what ``serve --host`` listens on) is this machine's loopback."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def default_limit(descriptors_each: int = 1) -> int | None:
    """The default of ``--max-connections``: the soft limit on open files less a reserve (a
    quarter of it, at most 256), over the descriptors each connection holds (two for a gateway's:
    its own and its upstream request's); at least 8. None where there is no such limit."""
    soft = _open_files()
    return None if soft is None else max(8, (soft - _reserve(soft)) // descriptors_each)


def lingering_limit() -> int:
    """How many connections may linger at once: a quarter of the reserve of descriptors
    (:func:`default_limit`), and 64 where there is no limit on open files."""
    soft = _open_files()
    return 64 if soft is None else _reserve(soft) // 4


def _reserve(soft: int) -> int:
    """The descriptors kept out of the connections' reach under a limit of ``soft`` open files."""
    return min(256, soft // 4)


def _open_files() -> int | None:
    """The process's soft limit on open files, or None where there is none."""
    try:
        import resource
    except ImportError:  # (Windows)
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return None if soft == resource.RLIM_INFINITY or soft <= 0 else soft


def lingering_protocol(protocol: type[asyncio.Protocol]) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol class ``protocol``, closing lingering (see the module's docstring)
    a connection whose request's body is still coming when its answer ends: an answer that
    refused the body (413 on its ``Content-Length``, or once a chunked body passes the limit),
    which says ``connection: close``. ``linger()`` closes one so at any time (a refused
    connection).

    The answer's end is seen by the transport uvicorn writes a request's answer to, which is the
    connection's own but for its ``close`` (:class:`_LingeringTransport`)."""
    most = lingering_limit()

    class LingeringHTTPProtocol(protocol):  # type: ignore[misc, valid-type]
        _discarding = False  # lingering: what comes is thrown away
        _answering: Any = None  # the request (uvicorn's cycle) whose transport is wrapped

        def data_received(self, data: bytes) -> None:
            if self._discarding:
                return
            super().data_received(data)
            cycle = self.cycle
            if cycle is not self._answering and cycle is not None:
                self._answering = cycle
                cycle.transport = _LingeringTransport(self.transport, lambda: cycle.more_body, self.linger)

        def linger(self) -> None:
            """Close the connection once what is written is sent, lingering."""
            if not self.transport.is_closing():
                self._discarding = True
                linger(self.transport, self.loop, most)

        def connection_lost(self, exc: Exception | None) -> None:
            _lingering.discard(self.transport)
            super().connection_lost(exc)

    return LingeringHTTPProtocol


#: the connections lingering now, in every server of the process
_lingering: set[Any] = set()


def linger(transport: Any, loop: asyncio.AbstractEventLoop, most: int) -> None:
    """Close ``transport`` once what is written is sent, lingering (see the module's docstring),
    unless ``most`` connections linger already; its protocol throws away what comes meanwhile."""
    if transport in _lingering:
        return
    if len(_lingering) >= most:
        transport.close()
        return
    if transport.can_write_eof():  # (TLS has no half-close: the answer's length ends it there)
        transport.write_eof()  # (sent once the answer is; the client's EOF then closes it)
    transport.resume_reading()  # (uvicorn pauses reading a body the application does not)
    _lingering.add(transport)
    loop.call_later(LINGER, transport.close)


def lingering_websockets(protocol: Any) -> Any:
    """uvicorn's WebSocket protocol class ``protocol`` (its websockets sans-I/O one), closing
    lingering a connection the client's message failed (one over ``--max-body``: close 1009):
    the close frame, then what the client still sends of its message thrown away. Closed at
    once, the socket was reset under the client's sending, and the client saw the connection
    reset instead of the close frame (in 5 of 6 runs of the test that checks it). uvicorn closes
    such a connection in more than one place, so its transport is one whose ``close`` lingers
    once the message has failed (:class:`_LingeringTransport`). Any other class (wsproto's) is
    given back as it is."""
    if not isinstance(protocol, type) or not hasattr(protocol, "handle_parser_exception"):
        return protocol
    most = lingering_limit()

    class LingeringWebSocketProtocol(protocol):
        failed = False  # the client's message failed the connection: what comes is thrown away

        def connection_made(self, transport: Any) -> None:
            def lingers() -> bool:
                return self.failed and not transport.is_closing()

            super().connection_made(
                _LingeringTransport(transport, lingers, lambda: linger(transport, self.loop, most))
            )

        def data_received(self, data: bytes) -> None:
            if not self.failed:
                super().data_received(data)

        def handle_parser_exception(self) -> None:
            self.failed = True
            super().handle_parser_exception()

        def connection_lost(self, exc: Exception | None) -> None:
            _lingering.discard(self.transport.transport)
            super().connection_lost(exc)

    return LingeringWebSocketProtocol


class _LingeringTransport:
    """A connection's transport as one protocol writes to it: its own but for ``close``, which
    lingers (``linger()``) while ``lingers()`` says the client may still be sending: a request's
    body still coming (:func:`lingering_protocol`), a WebSocket message that failed the connection
    (:func:`lingering_websockets`)."""

    __slots__ = ("_linger", "_lingers", "is_closing", "transport", "write")

    def __init__(self, transport: Any, lingers: Callable[[], bool], linger: Callable[[], None]) -> None:
        self.transport, self._lingers, self._linger = transport, lingers, linger
        self.write, self.is_closing = transport.write, transport.is_closing

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)

    def close(self) -> None:
        if self._lingers():
            self._linger()
        else:
            self.transport.close()


def limited_protocol(
    protocol: type[asyncio.Protocol], limit: int | None, per_client: int | None = None
) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol class ``protocol`` (a :func:`lingering_protocol`), answering 503 and
    closing a connection opened while ``limit`` others are open, and 429 one opened while
    ``per_client`` others from its address are (WebSocket connections count: uvicorn keeps them
    in the same set). The address's connections are counted when one opens, over the server's
    open connections: at most the server's bound of them (under 0.1 ms for 768, where a
    connection's own start costs more)."""

    class LimitedHTTPProtocol(protocol):  # type: ignore[misc, valid-type]
        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            connections = self.server_state.connections
            if limit is not None and len(connections) > limit:
                transport.write(_ANSWER_503)
                self.linger()
            elif per_client is not None and len(connections) > per_client:
                address = _address(self)
                if address is not None and sum(_address(c) == address for c in connections) > per_client:
                    transport.write(_ANSWER_429)
                    self.linger()

    return LimitedHTTPProtocol


def _address(connection: Any) -> str | None:
    """The client address of one of uvicorn's connections (HTTP or WebSocket), if it has one."""
    client = getattr(connection, "client", None)
    return client[0] if isinstance(client, tuple) and client else None
