"""Talking to an upstream: one streaming request, its retries, and its answer as raw events.

The HTTP side of ``fetch``. A dialect builds the :class:`~streamkit.dialects.base.Request`; this
module sends it with httpx and turns the streamed body into ``raw`` events as the bytes arrive,
each stamped with ``t``, the seconds since the request began.

* Retries, with exponential backoff and full jitter, honouring ``Retry-After``: for connection
  errors, 408, 409, 429 and 5xx, and only before the first byte of the body. After that nothing
  is retried: a dropped connection or a stall past the read timeout ends the stream with an
  ``error`` event marked ``retryable`` after everything already received.
* An HTTP error status becomes an ``error`` event carrying the ``status`` and the provider's own
  message (and its error code as ``code``).
* ``record`` receives the exact bytes of the body (the request asks for ``identity`` encoding, so
  what is recorded is what ``fetch --replay`` reads).
* The WebSocket transport (the Responses API's: :mod:`streamkit.upstream_websocket`):
  ``response.create`` messages over one connection, each answered by a stream of JSON events. An answer whose first message is an
  ``error`` with one of the statuses above is retried as over HTTP (the request sent again on the
  same connection, after the same backoff; the error messages retried are neither written nor
  recorded); the last one is written as it came.

API keys live only in request headers: never in events, recordings or error messages.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import IO, TYPE_CHECKING, Any

import orjson

from .dialects.base import Request
from .errors import DataError, UpstreamError, UsageError
from .redaction import StreamRedactor, redact, request_secrets

if TYPE_CHECKING:
    from .upstream_websocket import WebSocketSession

RETRY_STATUSES = frozenset({408, 409, 429})


def _httpx_errors() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    """The httpx errors that mean "no answer" (anything before the response headers: refused,
    reset, closed, stalled, not HTTP) and "the stream broke after its first byte" (httpx is
    imported only by commands that make requests)."""
    import httpx

    before = (httpx.TransportError,)
    read = (httpx.TimeoutException, httpx.RemoteProtocolError, httpx.ReadError, httpx.DecodingError)
    return before, read


MAX_BACKOFF = 30.0
#: the longest Retry-After streamkit waits for; an upstream asking for more gets no retry
MAX_RETRY_AFTER = 60.0


#: the variables that send httpx's requests through a proxy (TLS to the proxy needs the CA bundle)
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


def tls_options(url: str) -> dict[str, Any]:
    """The httpx client options for a client that calls ``url`` and follows no redirect (none of
    streamkit's do). httpx loads the CA bundle into an SSL context whenever a client is made:
    25 ms of the 200 ms a live ``fetch`` took to start (measured), spent even for plain HTTP on
    loopback, which never uses it. For an ``http://`` URL that no proxy carries, the client gets a
    context that trusts no certificate at all, so nothing can ever pass over TLS unverified."""
    import os

    if url[:7].lower() == "http://" and not any(os.environ.get(name) for name in PROXY_VARIABLES):
        import ssl

        return {"verify": ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)}
    return {}


#: the retries' own random source: an application that imports streamkit keeps the state of the
#: ``random`` module to itself (a seeded simulation, or hypothesis, which checks that it is untouched)
_jitter = random.Random()


def backoff(attempt: int, retry_after: float | None, *, base: float = 0.5) -> float:
    """Seconds to wait before retry ``attempt`` (1-based): Retry-After when given, else full jitter."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), MAX_RETRY_AFTER)
    return _jitter.uniform(0, min(MAX_BACKOFF, base * 2 ** (attempt - 1)))


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds: a number, or an HTTP date."""
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


#: the longest provider message an error event carries (a longer one is cut, with "…")
MAX_MESSAGE = 2000


def provider_error(body: bytes, status: int) -> tuple[str, Any]:
    """The provider's own message and code from an error body (every API nests it differently),
    the message cut at ``MAX_MESSAGE`` characters."""
    message, code = _provider_error(body, status)
    return (message[: MAX_MESSAGE - 1] + "…" if len(message) > MAX_MESSAGE else message), code


def _provider_error(body: bytes, status: int) -> tuple[str, Any]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        text = body.decode("utf-8", "replace").strip()
        return (text[:500] or f"HTTP {status}"), None
    err: Any = data
    if isinstance(data, list) and data:  # Gemini sometimes wraps the error in a list
        err = data[0]
    if isinstance(err, dict) and isinstance(err.get("error"), (dict, str)):
        err = err["error"]
    if isinstance(err, str):
        return err, None
    if isinstance(err, dict):
        message = (
            err.get("message") or err.get("detail") or err.get("error") or orjson.dumps(err).decode()[:500]
        )
        code = err.get("code") or err.get("type") or err.get("status")
        return str(message), code
    return f"HTTP {status}", None


class Decoder:
    """Bytes of one framing → ``(event, data)`` pairs, incrementally."""

    def __init__(self, framing: str) -> None:
        from .framing.jsonseq import JSONArrayDecoder, NDJSONDecoder
        from .framing.sse import SSEDecoder, parse_data

        self.framing = framing
        self._parse = parse_data
        #: takes the request's secrets out of the body's bytes before anything reads them (set by
        #: Fetch; not for binary event-stream frames, whose lengths and checksums cover the bytes)
        self.redactor: StreamRedactor | None = None
        if framing == "sse":
            self._decoder: Any = SSEDecoder()
        elif framing == "ndjson":
            self._decoder = NDJSONDecoder()
        elif framing == "json-array":
            self._decoder = JSONArrayDecoder()
        elif framing == "eventstream":
            from .framing.eventstream import EventStreamDecoder  # type: ignore[import-not-found,unused-ignore]

            self._decoder = EventStreamDecoder()
        else:
            raise UsageError(f"unknown framing {framing!r}")

    def _pairs(self, items: list[Any]) -> list[tuple[str | None, Any]]:
        if self.framing == "sse":
            return [(e.event, self._parse(e.data)) for e in items]
        if self.framing == "eventstream":
            return [self._decoder.event_of(frame) for frame in items]
        return [(None, v) for v in items]

    def feed(self, chunk: bytes) -> list[tuple[str | None, Any]]:
        return self._pairs(self._decoder.feed(chunk))

    def close(self) -> list[tuple[str | None, Any]]:
        return self._pairs(self._decoder.close())


class Fetch:
    """One request's raw events, read as they arrive. ``pending()`` is the writer's flush cue;
    ``failed`` is set (to the error event) when the stream ended in an error."""

    def __init__(self, request: Request, *, dialect: str, client: Any = None, retries: int = 2,
                 connect_timeout: float = 10.0, read_timeout: float = 60.0, record: IO[bytes] | None = None,
                 sleep: Callable[[float], None] = time.sleep, where: str | None = None,
                 timeout: float | None = None, note: Callable[[str], None] | None = None) -> None:  # fmt: skip
        self.request = request
        #: seconds the whole request may take, first byte to last (None: no bound)
        self.timeout = timeout
        #: where to say what is being waited for (a retry's pause); None: say nothing
        self.note = note
        #: how messages name the upstream (its URL without the query, unless told otherwise: the
        #: gateway says "the upstream", which its clients need not know the address of)
        self.where = where
        self.dialect = dialect
        self.client = client
        self.retries = max(0, retries)
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.record = record
        self.sleep = sleep
        self.failed: dict[str, Any] | None = None
        self.attempts = 0
        #: raw events received so far
        self.received = 0
        self._queue: list[dict[str, Any]] = []
        self._pos = 0
        #: bytes received since the last chunk that completed an event (see MAX_EVENT_BYTES)
        self._unfinished = 0
        #: the credentials the request carries (its headers and URL are set here, once)
        self._secrets = request_secrets(request)

    def pending(self) -> bool:
        return self._pos < len(self._queue)

    def close(self) -> None:
        """Let go of the upstream before the answer is read to its end. Nothing to do over HTTP,
        whose request is made, and its response closed, by the iteration itself; a WebSocket
        fetch closes the connection it opened (:class:`WebSocketFetch`)."""

    def _raw(self, event: str | None, data: Any, began: float) -> dict[str, Any]:
        return {
            "type": "raw",
            "dialect": self.dialect,
            "event": event,
            "data": data,
            "t": round(time.monotonic() - began, 6),
        }

    def _error(
        self, message: str, *, retryable: bool, status: int | None = None, code: Any = None
    ) -> dict[str, Any]:
        ev: dict[str, Any] = {
            "type": "error",
            "message": redact(message, self._secrets),
            "retryable": retryable,
        }
        if code is not None:
            ev["code"] = redact(code, self._secrets) if isinstance(code, str) else code
        if status is not None:
            ev["status"] = status
        self.failed = ev
        return ev

    def _where(self) -> str:
        return self.where or _safe_url(self.request.url)

    # The decisions of one attempt, shared by the blocking loop (``__iter__``) and its asyncio
    # twin (:class:`AsyncFetch`), so that both retry, wait and fail alike.

    def _connect_failed(self, attempt: int, exc: BaseException) -> float | dict[str, Any]:
        """After a failure before the response headers (refused, reset, closed, stalled, not
        HTTP): seconds to wait before the next attempt, or the error event."""
        import httpx

        if isinstance(exc, (httpx.UnsupportedProtocol, httpx.LocalProtocolError)):
            return self._error(f"cannot send the request to {self._where()}: {_reason(exc)}", retryable=False)
        refusal = tls_refusal(exc)
        if refusal is not None:  # (the same answer every time: no retry)
            return self._error(f"cannot connect to {self._where()}: {refusal}", retryable=False)
        if attempt <= self.retries:
            return self._pause(attempt, backoff(attempt, None))
        if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
            return self._error(f"cannot connect to {self._where()}: {_reason(exc)}", retryable=True)
        if isinstance(exc, httpx.TimeoutException):
            return self._error(
                f"{self._where()} sent no answer within {self.read_timeout:g} s", retryable=True
            )
        if isinstance(exc, httpx.RemoteProtocolError):
            return self._error(f"{self._where()} did not answer with HTTP ({_reason(exc)})", retryable=True)
        return self._error(f"{self._where()} failed before answering ({_reason(exc)})", retryable=True)

    def _status_failed(self, attempt: int, status: int, headers: Any, body: bytes) -> float | dict[str, Any]:
        """After an HTTP error status: seconds to wait before the next attempt, or the error event."""
        retryable = status in RETRY_STATUSES or status >= 500
        retry_after = parse_retry_after(headers.get("retry-after"))
        too_long = retry_after is not None and retry_after > MAX_RETRY_AFTER
        if retryable and attempt <= self.retries and not too_long:
            return self._pause(attempt, backoff(attempt, retry_after))
        message, code = provider_error(body, status)
        if too_long:
            message += (
                f" (it asks to retry after {retry_after:g} s; streamkit waits at most {MAX_RETRY_AFTER:g} s)"
            )
        error = self._error(message, retryable=retryable, status=status, code=code)
        if retry_after is not None:
            error["retry_after"] = retry_after
        return error

    def _pause(self, attempt: int, seconds: float) -> float:
        if self.note is not None and seconds >= 1:
            self.note(f"{self._where()} failed; retry {attempt} of {self.retries} in {seconds:.1f} s")
        return float(seconds)

    def _unwanted(self, response: Any) -> dict[str, Any] | None:
        """An answer that is not an error status and still no stream: a redirect, an HTML page."""
        status = response.status_code
        if 300 <= status < 400:
            to = response.headers.get("location")
            where = f" to {_safe_url(to)}" if to else ""
            return self._error(f"{self._where()} answered with a redirect (HTTP {status}){where}, not a stream: "
                               "is the base URL right?", retryable=False)  # fmt: skip
        media = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if media in ("text/html", "application/xhtml+xml"):
            return self._error(f"{self._where()} answered with an HTML page (HTTP {status}), not a stream: "
                               "is the base URL right?", retryable=False)  # fmt: skip
        return None

    def _decoder(self) -> Decoder:
        """A decoder for one response's body, which takes the request's secrets out of its bytes."""
        decoder = Decoder(self.request.framing)
        if self.request.framing != "eventstream":
            redactor = StreamRedactor(self._secrets)
            decoder.redactor = redactor if redactor else None
        return decoder

    def _chunks_of(self, response: Any) -> Any:
        """The body's bytes: as they came when identity was answered (what ``--record`` keeps),
        decoded when the upstream compressed it anyway."""
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        return response.iter_raw() if encoding in ("", "identity") else response.iter_bytes()

    def _achunks_of(self, response: Any) -> Any:
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        return response.aiter_raw() if encoding in ("", "identity") else response.aiter_bytes()

    def _send_args(self) -> dict[str, Any]:
        return {
            "method": self.request.method,
            "url": self.request.url,
            "headers": {"Accept-Encoding": "identity", **self.request.headers},
            "content": orjson.dumps(self.request.body),
        }

    def _timeout(self) -> Any:
        import httpx

        return httpx.Timeout(self.read_timeout, connect=self.connect_timeout)

    def _events(self, decoder: Decoder, chunk: bytes, began: float) -> list[dict[str, Any]]:
        """The raw events a chunk of the body completes (recorded first, exactly as received);
        bytes that are not the promised framing, or a request past ``timeout``, end the list with
        the error event (everything good before it first) and set ``failed``."""
        if decoder.redactor is not None:
            chunk = decoder.redactor.feed(chunk)
        if self.record is not None:
            self.record.write(chunk)
            self.record.flush()
        bad: DataError | None = None
        try:
            pairs = decoder.feed(chunk)
        except DataError as exc:
            pairs, bad = [], exc
        self._queue = [self._raw(e, d, began) for e, d in pairs]
        self._pos = 0
        self.received += len(self._queue)
        self._unfinished = 0 if pairs else self._unfinished + len(chunk)
        if bad is not None:
            self._queue.append(self._garbled(bad))
        elif self._unfinished > MAX_EVENT_BYTES:
            self._queue.append(self._error(f"{self._where()} sent {MAX_EVENT_BYTES >> 20} MiB without completing "
                                           "an event; the stream is cut there", retryable=False))  # fmt: skip
        elif self.timeout is not None and time.monotonic() - began > self.timeout:
            self._queue.append(self._error(f"{self._where()} did not finish within {self.timeout:g} s (--timeout)",
                                           retryable=True))  # fmt: skip
        return self._queue

    def _garbled(self, exc: DataError) -> dict[str, Any]:
        return self._error(f"{self._where()} sent what is not {self.request.framing}: {exc}", retryable=True)

    def _end(self, decoder: Decoder, began: float, exc: BaseException | None = None) -> list[dict[str, Any]]:
        """What the end of the body gives: the decoder's last events, then the error event of a
        stream that broke (``exc``), or of a body with no event at all."""
        garbled: DataError | None = None
        tail = decoder.redactor.close() if decoder.redactor is not None else b""
        if tail and self.record is not None:
            self.record.write(tail)
            self.record.flush()
        try:
            pairs = [*decoder.feed(tail), *decoder.close()] if tail else decoder.close()
        except DataError as bad:
            pairs, garbled = [], bad
        self._queue = [self._raw(e, d, began) for e, d in pairs]
        self._pos = 0
        self.received += len(self._queue)
        if exc is not None:
            self._queue.append(self._read_failed(exc))
        elif garbled is not None:
            self._queue.append(self._garbled(garbled))
        elif not self.received:
            self._queue.append(self._error(f"{self._where()} answered with an empty body, not a stream",
                                           retryable=True))  # fmt: skip
        return self._queue

    def _read_failed(self, exc: BaseException) -> dict[str, Any]:
        """The error event of a stream that stalled or dropped after its first byte."""
        import httpx

        if isinstance(exc, httpx.TimeoutException):
            return self._error(
                f"no data from {self._where()} for {self.read_timeout:g} s; the stream stalled",
                retryable=True,
            )
        if isinstance(exc, httpx.DecodingError):
            return self._error(
                f"{self._where()} sent a body that cannot be decoded ({_reason(exc)})", retryable=True
            )
        return self._error(
            f"the connection to {self._where()} closed mid-stream ({_reason(exc)})", retryable=True
        )

    def __iter__(self) -> Iterator[dict[str, Any]]:
        import httpx

        connect_errors, _ = _httpx_errors()
        own_client = self.client is None
        client = self.client or httpx.Client(timeout=self._timeout(), **tls_options(self.request.url))
        began = time.monotonic()
        try:
            for attempt in range(1, self.retries + 2):
                self.attempts = attempt
                try:
                    response = client.send(client.build_request(**self._send_args()), stream=True)
                except connect_errors as exc:
                    outcome = self._connect_failed(attempt, exc)
                    if isinstance(outcome, float):
                        self.sleep(outcome)
                        continue
                    yield outcome
                    return
                try:
                    if response.status_code >= 400:
                        outcome = self._status_failed(
                            attempt,
                            response.status_code,
                            response.headers,
                            _error_body(response.iter_bytes()),
                        )
                        if isinstance(outcome, float):
                            self.sleep(outcome)
                            continue
                        yield outcome
                        return
                    unwanted = self._unwanted(response)
                    if unwanted is not None:
                        yield unwanted
                        return
                    yield from self._body(response, began)
                    return
                finally:
                    response.close()
        finally:
            if own_client:
                client.close()

    def _body(self, response: Any, began: float) -> Iterator[dict[str, Any]]:
        _, read_errors = _httpx_errors()
        decoder = self._decoder()
        try:
            for chunk in self._chunks_of(response):
                for ev in self._events(decoder, chunk, began):
                    self._pos += 1
                    yield ev
                if self.failed is not None:
                    return
        except read_errors as exc:
            yield from self._drain(self._end(decoder, began, exc))
            return
        yield from self._drain(self._end(decoder, began))

    def _drain(self, events: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for ev in events:
            self._pos += 1
            yield ev


class AsyncFetch(Fetch):
    """The same request read with asyncio (``serve --upstream``): ``async for`` gives the raw
    events as they arrive, with the same retries, waits and errors as :class:`Fetch`.

    ``client`` is an ``httpx.AsyncClient`` (the gateway shares one); leaving the loop early
    (``aclose()``, a cancelled task: the gateway's client hung up) closes the upstream request.
    """

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._run()

    async def _run(self) -> AsyncIterator[dict[str, Any]]:
        import asyncio

        import httpx

        connect_errors, read_errors = _httpx_errors()
        own_client = self.client is None
        client = self.client or httpx.AsyncClient(timeout=self._timeout())
        began = time.monotonic()
        try:
            for attempt in range(1, self.retries + 2):
                self.attempts = attempt
                try:
                    response = await client.send(client.build_request(**self._send_args()), stream=True)
                except connect_errors as exc:
                    outcome = self._connect_failed(attempt, exc)
                    if isinstance(outcome, float):
                        await asyncio.sleep(outcome)
                        continue
                    yield outcome
                    return
                try:
                    if response.status_code >= 400:
                        body = await _aerror_body(response.aiter_bytes())
                        outcome = self._status_failed(attempt, response.status_code, response.headers, body)
                        if isinstance(outcome, float):
                            await asyncio.sleep(outcome)
                            continue
                        yield outcome
                        return
                    unwanted = self._unwanted(response)
                    if unwanted is not None:
                        yield unwanted
                        return
                    decoder = self._decoder()
                    try:
                        async for chunk in self._achunks_of(response):
                            for ev in self._events(decoder, chunk, began):
                                self._pos += 1
                                yield ev
                            if self.failed is not None:
                                return
                    except read_errors as exc:
                        for ev in self._drain(self._end(decoder, began, exc)):
                            yield ev
                        return
                    for ev in self._drain(self._end(decoder, began)):
                        yield ev
                    return
                finally:
                    await response.aclose()
        finally:
            if own_client:
                await client.aclose()


def _error_body(chunks: Iterator[bytes]) -> bytes:
    """An error answer's body, its first ``MAX_ERROR_BODY`` bytes at most (the rest is not read:
    an upstream answering an error with an endless body cannot fill the memory)."""
    body = b""
    for chunk in chunks:
        body += chunk
        if len(body) >= MAX_ERROR_BODY:
            break
    return body[:MAX_ERROR_BODY]


async def _aerror_body(chunks: AsyncIterator[bytes]) -> bytes:
    """:func:`_error_body`, read with asyncio."""
    body = b""
    async for chunk in chunks:
        body += chunk
        if len(body) >= MAX_ERROR_BODY:
            break
    return body[:MAX_ERROR_BODY]


def _safe_url(url: str) -> str:
    """A URL for messages: never its query string, which could hold a key."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]


def tls_refusal(exc: BaseException) -> str | None:
    """Why TLS refused a connection in a way no retry mends, from the exception or those it was
    raised from (httpx and websockets wrap ssl's): a certificate this machine does not trust, or a
    server that does not speak TLS. None for any other failure, which may pass."""
    import ssl

    seen: BaseException | None = exc
    for _ in range(8):  # (httpx wraps httpcore's, which wraps ssl's)
        if seen is None:
            break
        if isinstance(seen, ssl.SSLCertVerificationError):
            return (f"its certificate is not trusted ({seen.verify_message}); to trust a private CA, set "
                    "SSL_CERT_FILE to the CA's certificate (PEM)")  # fmt: skip
        if isinstance(seen, ssl.SSLError) and seen.reason == "WRONG_VERSION_NUMBER":
            return "it does not speak TLS (is its URL http://?)"
        seen = seen.__cause__ or seen.__context__
    return None


def check_failed(fetch: Fetch) -> None:
    """After the events are written: exit 1 when the stream ended in an error."""
    if fetch.failed is not None:
        status = f"HTTP {fetch.failed['status']}: " if fetch.failed.get("status") else ""
        raise UpstreamError(f"{status}{fetch.failed['message']}")


#: the most bytes an upstream may send without completing an event (an SSE event, a line of
#: NDJSON, an element of a JSON array, a frame): past it the stream is cut with an error, so that
#: an upstream that never ends an event cannot fill the memory of ``fetch`` or of a gateway. Far
#: above any real event (a Responses image's partial frames are a few MB); a recording replayed
#: from a file has no such bound
MAX_EVENT_BYTES = 64 * 2**20
#: the most bytes of an error answer's body that are read, for its message
MAX_ERROR_BODY = 2**20


def open_stream(request: Request, *, dialect: str, transport: str = "auto", session: WebSocketSession | None = None,
                warn: Callable[[str], None] | None = None, **options: Any) -> Fetch:  # fmt: skip
    """The stream for a request over the transport asked for: ``websocket`` (retried as HTTP is,
    then failing clearly when it cannot: :func:`_opened`), ``sse`` (HTTP), or ``auto`` (WebSocket
    when the dialect has it, falling back to HTTP, which retries, with a warning when connecting
    or sending fails)."""
    from .upstream_websocket import WebSocketFetch, WebSocketSession, WebSocketUnavailable, _opened

    # a session that already fell back to HTTP (and said so) stays there
    fell_back = transport == "auto" and session is not None and request.websocket_url in session.unavailable
    if transport != "sse" and request.websocket_url and not fell_back:
        ws = WebSocketFetch(request, dialect=dialect, session=session or WebSocketSession(connect_timeout=options.get("connect_timeout", 10.0)),
                            read_timeout=options.get("read_timeout", 60.0), record=options.get("record"), owns_session=session is None,
                            retries=options.get("retries", 2), sleep=options.get("sleep", time.sleep), note=options.get("note"),
                            timeout=options.get("timeout"))  # fmt: skip
        try:
            return _opened(ws, transport)
        except WebSocketUnavailable as exc:
            if transport == "websocket":
                raise UpstreamError(
                    f"the WebSocket transport is not available at {_safe_url(request.websocket_url)}: {exc}"
                ) from None
            if warn is not None:
                warn(f"WebSocket unavailable ({exc}); falling back to HTTP streaming")
    elif transport == "websocket":
        raise UsageError(f"the {dialect} dialect has no WebSocket transport; use --transport sse")
    return Fetch(request, dialect=dialect, **options)
