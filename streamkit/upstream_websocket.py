"""Talking to an upstream over the Responses API's WebSocket transport: one connection kept
across requests (:class:`WebSocketSession`), and one request's answer read from it as raw events
(:class:`WebSocketFetch`), with the same retries, bounds and errors as the HTTP side
(:mod:`streamkit.upstream`, whose :func:`~streamkit.upstream.open_stream` picks the transport).
"""

from __future__ import annotations

import contextlib
import time
import weakref
from collections.abc import Callable, Iterator
from typing import IO, Any

import orjson

from .dialects.base import Request
from .framing.sse import encode as sse_encode
from .redaction import echoable, redact
from .upstream import (
    MAX_EVENT_BYTES,
    MAX_RETRY_AFTER,
    RETRY_STATUSES,
    Fetch,
    _reason,
    backoff,
    parse_retry_after,
    tls_refusal,
)

#: seconds a closing WebSocket waits for the upstream's answer to its close frame (websockets'
#: default is 10): the answer is already written by then, and an upstream that never answers
#: must not hold ``fetch``'s exit for long
CLOSE_TIMEOUT = 1.0


class WebSocketUnavailable(Exception):
    """The WebSocket could not be opened, or the request could not be sent on it; ``retryable``
    when another attempt may succeed (a refused or dropped connection, a timeout, a handshake
    answered 408, 409, 429 or 5xx, with its ``retry_after``), as an HTTP request is retried."""

    def __init__(self, reason: str, *, retryable: bool = False, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retryable = retryable
        self.retry_after = retry_after


def _quiet_logger() -> Any:
    """The logger websockets is given: it says nothing. Its reader thread logs what breaks the
    connection under it ("unexpected internal error", with a traceback, when a socket is closed
    during the handshake), which Python's last-resort handler would print on stderr; the
    connection's failure reaches the caller anyway, as an exception this module turns into one
    line."""
    import logging

    logger = logging.getLogger("streamkit.upstream_websocket")
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
        logger.propagate = False
    return logger


def _unavailable(exc: BaseException) -> WebSocketUnavailable:
    """Why a WebSocket could not be opened, and whether to try again."""
    from websockets.exceptions import InvalidStatus, InvalidURI

    if isinstance(exc, InvalidStatus):
        status = exc.response.status_code
        retry_after = parse_retry_after(exc.response.headers.get("retry-after"))
        retryable = status in RETRY_STATUSES or status >= 500
        return WebSocketUnavailable(_reason(exc), retryable=retryable, retry_after=retry_after)
    refusal = tls_refusal(exc)
    if refusal is not None:
        return WebSocketUnavailable(refusal, retryable=False)
    from websockets.exceptions import ConnectionClosed, InvalidMessage

    # (InvalidMessage: no HTTP answer to the handshake, the connection closed or reset before one:
    # retried, as an HTTP request that got no HTTP answer is)
    retryable = isinstance(exc, (OSError, TimeoutError, ConnectionClosed, InvalidMessage))
    return WebSocketUnavailable(_reason(exc), retryable=retryable and not isinstance(exc, InvalidURI))


class WebSocketSession:
    """One WebSocket connection to an upstream, kept open across requests (a tool loop's
    continuations go over the same connection, as the Responses API's WebSocket mode wants)."""

    def __init__(self, *, connect_timeout: float = 10.0) -> None:
        self.connect_timeout = connect_timeout
        self._ws: Any = None
        self._stack = contextlib.ExitStack()
        self._url: str | None = None
        #: WebSocket URLs that could not be opened: ``auto`` goes straight to HTTP for them
        self.unavailable: set[str] = set()

    def _connection(self, request: Request) -> Any:
        from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
        from websockets.sync.client import connect

        if self._ws is not None and self._url == request.websocket_url:
            return self._ws
        self.close()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("accept", "content-type")}
        stack = contextlib.ExitStack()  # websockets wants connect() used as a context manager
        try:
            self._ws = stack.enter_context(connect(request.websocket_url or "", additional_headers=headers,
                                                   open_timeout=self.connect_timeout, max_size=MAX_EVENT_BYTES,
                                                   close_timeout=CLOSE_TIMEOUT, logger=_quiet_logger()))  # fmt: skip
            self._stack = stack
        except (OSError, InvalidHandshake, InvalidURI, TimeoutError, ConnectionClosed) as exc:
            # (ConnectionClosed: the upstream reset the connection before its handshake's answer)
            stack.close()
            self.unavailable.add(request.websocket_url or "")
            raise _unavailable(exc) from None
        except AssertionError:
            # websockets 17's sync client fails its own assertion (``close_deadline is None`` in
            # send_context) when the socket breaks while it sends the handshake: an upstream that
            # answers and closes before reading it (a server past its connection bound). Seen in
            # about one run in ten of tests/serve/test_websocket.py's refused handshake.
            stack.close()
            self.unavailable.add(request.websocket_url or "")
            raise WebSocketUnavailable("the connection closed during the handshake", retryable=True) from None
        self._url = request.websocket_url
        return self._ws

    def send(self, request: Request) -> Any:
        from websockets.exceptions import ConnectionClosed

        ws = self._connection(request)
        try:
            ws.send(orjson.dumps(request.websocket_message).decode())
        except (ConnectionClosed, OSError) as exc:  # (a connection the upstream closed while idle)
            self.close()
            raise WebSocketUnavailable(_reason(exc), retryable=True) from None
        return ws

    def close(self) -> None:
        if self._ws is not None:
            try:
                self._stack.close()
            except Exception:
                pass
            self._ws = None


class WebSocketFetch(Fetch):
    """One request over a :class:`WebSocketSession`: its JSON messages as raw events.

    ``open()`` connects and sends, raising :class:`WebSocketUnavailable` when either fails (the
    caller may then fall back to HTTP); iterating yields the answer's events until a final one.
    With ``owns_session``, the connection is closed when the answer ends (or the iteration is
    abandoned), when :meth:`close` is called, or else when the fetch itself is garbage-collected
    (one opened and never read): nothing of it outlives the fetch, neither the socket nor
    websockets' reader and keepalive threads. A caller that passes its own session keeps it open
    for its next request.
    """

    def __init__(self, request: Request, *, dialect: str, session: WebSocketSession, read_timeout: float = 60.0,
                 record: IO[bytes] | None = None, owns_session: bool = False, retries: int = 0,
                 sleep: Callable[[float], None] = time.sleep, note: Callable[[str], None] | None = None,
                 timeout: float | None = None) -> None:  # fmt: skip
        super().__init__(request, dialect=dialect, read_timeout=read_timeout, record=record, retries=retries,
                         sleep=sleep, note=note, timeout=timeout)  # fmt: skip
        self.session = session
        self.owns_session = owns_session
        self._ws: Any = None
        self._began = 0.0
        # (holds the session, not the fetch: it runs when the fetch is collected, or at exit)
        self._closer = weakref.finalize(self, session.close) if owns_session else None

    def close(self) -> None:
        """Close the connection if the fetch opened it (nothing otherwise); idempotent."""
        if self._closer is not None:
            self._closer()

    def open(self) -> WebSocketFetch:
        self._began = time.monotonic()
        self._ws = self.session.send(self.request)
        return self

    def __iter__(self) -> Iterator[dict[str, Any]]:
        try:
            yield from self._messages()
        finally:
            self.close()

    def _messages(self) -> Iterator[dict[str, Any]]:
        from websockets.exceptions import ConnectionClosed

        if self._ws is None:
            self.open()
        final = self.request.websocket_final
        echoed = echoable(self._secrets)
        attempt = 0
        while True:
            try:
                message = self._ws.recv(timeout=self.read_timeout)
            except TimeoutError:
                yield self._error(
                    f"no data on the WebSocket for {self.read_timeout:g} s; the stream stalled",
                    retryable=True,
                )
                return
            except ConnectionClosed as exc:
                self.session.close()
                yield self._error(f"the WebSocket closed mid-stream ({_reason(exc)})", retryable=True)
                return
            if isinstance(message, bytes):
                message = message.decode("utf-8", "replace")
            if echoed:  # (a message is whole: the secrets out of it, as StreamRedactor does a body's)
                message = redact(message, echoed)
            try:
                data: Any = orjson.loads(message)
            except orjson.JSONDecodeError:
                data = message
            kind = data.get("type") if isinstance(data, dict) else None
            if kind == "error" and not self.received and attempt < self.retries and _retryable(data):
                # the answer's first message refuses it with a status HTTP would have retried (a
                # rate limit, an overloaded server): the request again, on the same connection
                attempt += 1
                self.sleep(self._pause(attempt, backoff(attempt, None)))
                try:
                    self._ws = self.session.send(self.request)
                except WebSocketUnavailable as exc:
                    yield self._error(f"the WebSocket closed before the retry ({exc})", retryable=True)
                    return
                self._began = time.monotonic()
                continue
            self.received += 1
            if self.record is not None:  # as SSE frames, so that --replay gives the same raw events
                self.record.write(sse_encode(kind, data))
                self.record.flush()
            self._queue = [self._raw(kind, data, self._began)]
            self._pos = 1
            yield self._queue[0]
            if kind in final:
                return
            if self.timeout is not None and time.monotonic() - self._began > self.timeout:
                # (as over HTTP: checked as each message comes; silence is the read timeout's)
                self.session.close()
                yield self._error(f"{self._where()} did not finish within {self.timeout:g} s (--timeout)",
                                  retryable=True)  # fmt: skip
                return


def _retryable(message: dict[str, Any]) -> bool:
    """Whether a WebSocket ``error`` message names a status a request is retried for (as
    :meth:`Fetch._status_failed` retries an HTTP one)."""
    status = message.get("status")
    return type(status) is int and (status in RETRY_STATUSES or status >= 500)


def _opened(ws: WebSocketFetch, transport: str) -> WebSocketFetch:
    """``ws`` connected and its request sent. With ``transport`` ``websocket`` (no HTTP to fall
    back on), a failure another attempt may get past is retried as HTTP retries a connection
    error or a 408, 409, 429 or 5xx: ``ws.retries`` times, with the same backoff (the handshake's
    ``Retry-After`` honoured)."""
    attempt = 1
    while True:
        try:
            return ws.open()
        except WebSocketUnavailable as exc:
            too_long = exc.retry_after is not None and exc.retry_after > MAX_RETRY_AFTER
            if transport != "websocket" or not exc.retryable or attempt > ws.retries or too_long:
                raise
            ws.sleep(ws._pause(attempt, backoff(attempt, exc.retry_after)))
            attempt += 1
