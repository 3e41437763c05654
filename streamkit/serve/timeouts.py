"""How long ``serve`` waits for a client that is slow to send its request (``--client-timeout``).

uvicorn waits for a request's headers without end: a connection that sends nothing, or a few bytes
of headers and then nothing (slowloris), holds a socket until the client leaves, and enough of
them take every file descriptor the server has. uvicorn's own ``timeout_keep_alive`` closes only
a connection idle *after* a response. :func:`timely_protocol` adds the bound uvicorn lacks, the
one nginx calls ``client_header_timeout`` and Go's ``http.Server`` ``ReadHeaderTimeout``: from
the moment a connection opens, and again after each response, the client has ``timeout`` seconds
to finish sending the next request's headers. Past it, a connection that sent part of a request
is answered ``408 Request Timeout`` and closed, one that sent nothing is closed. A request whose
headers arrived is the application's: its body is bounded by :func:`~streamkit.serve.app.read_body`
(the same timeout between two pieces of it), and a WebSocket by its pings.

It is uvicorn's own HTTP protocol (httptools' when installed, else h11's, as uvicorn picks)
with a timer around the wait for headers; what it reads of the protocol (``cycle``,
``transport``, ``loop``, ``connection_made``, ``data_received``, ``on_response_complete``) is
the same in both and has been since uvicorn 0.2x.
"""

from __future__ import annotations

import asyncio
from typing import Any

#: the default of ``serve --client-timeout``: seconds for a request's headers (and between two
#: pieces of its body); nginx's default is 60, Apache's 20 to 40; every SDK sends its headers at
#: once, so a client this slow is gone or hostile
CLIENT_TIMEOUT = 30.0

_TIMED_OUT = b"the request was not sent in time\n"
_ANSWER_408 = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: %d\r\nconnection: close\r\n\r\n" % len(_TIMED_OUT)
) + _TIMED_OUT


def timely_protocol(timeout: float) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol class, closing a connection whose next request's headers have not
    all come ``timeout`` seconds after it opened or after its last response."""
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    class TimelyHTTPProtocol(AutoHTTPProtocol):  # type: ignore[misc, valid-type]
        _timer: asyncio.TimerHandle | None = None
        _waiting_cycle: Any = None  # the cycle current when the wait for a request began
        _partial = False  # some of the awaited request has come

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._await_request()

        def data_received(self, data: bytes) -> None:
            if self._timer is not None:
                self._partial = True
            super().data_received(data)
            # the headers are whole once the protocol has made the request's cycle, or handed the
            # connection to the WebSocket protocol
            if self._timer is not None and (
                self.cycle is not self._waiting_cycle or self.transport.get_protocol() is not self
            ):
                self._stop_timer()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            cycle = self.cycle
            # (a pipelined request already started has its headers: nothing is awaited then)
            if not self.transport.is_closing() and (cycle is None or cycle.response_complete):
                self._await_request()

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_timer()
            super().connection_lost(exc)

        def _await_request(self) -> None:
            self._stop_timer()
            self._waiting_cycle = self.cycle
            self._partial = False
            self._timer = self.loop.call_later(timeout, self._timed_out)

        def _stop_timer(self) -> None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

        def _timed_out(self) -> None:
            self._timer = None
            if self.transport.is_closing() or self.transport.get_protocol() is not self:
                return
            if self._partial:
                self.transport.write(_ANSWER_408)
            self.transport.close()

    return TimelyHTTPProtocol
