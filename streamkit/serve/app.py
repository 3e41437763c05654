"""The HTTP application: every served dialect's endpoints, each request parsed in its dialect and
answered from the source, streamed or whole, errors in the client's own shape; faults injected on
demand (``--fail-status``, ``--drop-after``, ``--stall-after``), requests logged.

A request goes: body → the client dialect's :meth:`~streamkit.dialects.base.Dialect.parse_request`
(a dialect that cannot parse requests is answered as before, with its ``serve_options``) → the
source's :class:`~streamkit.serve.sources.Answer` → either a stream (the answer's canonical events
through the client dialect's encoder, each frame sent as soon as it exists) or a whole response
(the events accumulated into messages, then the dialect's ``whole_response``).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hmac
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

import orjson

from .. import diagnostics
from ..dialects.base import Dialect, ParsedRequest
from ..errors import StreamkitError, UsageError
from ..framing import framer
from .sources import Answer, Call, Exhausted, HTTPError, Timed
from .timeouts import CLIENT_TIMEOUT

if TYPE_CHECKING:
    from starlette.responses import Response

MEDIA_TYPES = {
    "sse": "text/event-stream",
    "ndjson": "application/x-ndjson",
    "json-array": "application/json",
    "eventstream": "application/vnd.amazon.eventstream",
}

#: request headers that carry a client's API key, in the order they are looked at
KEY_HEADERS = ("x-api-key", "x-goog-api-key", "api-key")


class DropConnection(Exception):
    """Raised by a body iterator to cut the connection (``serve --drop-after``): the server closes
    the socket mid-stream, as a failing upstream would. Logged as nothing (see ``serve.run``)."""


@dataclass
class Faults:
    fail_status: int | None = None
    fail_times: int = 0
    retry_after: float = 1.0
    drop_after: int | None = None
    stall_after: int | None = None


#: the largest request body ``serve`` reads, in MiB (``--max-body``): above every provider's own
#: limit (Anthropic's Messages API takes 32 MB, Gemini 20 MB inline), so that no request an
#: upstream would take is refused, and bounded, so that a client cannot make the server hold an
#: endless body in memory
MAX_BODY_MIB = 64


class BodyRefused(Exception):
    """A request body the server does not read to its end, and the error that answers it: 413
    for one above the server's limit, 408 for one whose next piece did not come in time (the rest
    of it is left unread)."""

    def __init__(self, error: HTTPError) -> None:
        super().__init__(error.message)
        self.error = error


def closing(response: Response) -> Response:
    """The answer to a refused body, which closes the connection once sent (``connection:
    close``): the rest of that body is never read, so the connection can carry no next request,
    and waiting for the client to stop sending would hold it for nothing."""
    response.headers["connection"] = "close"
    return response


async def read_body(request: Any, limit: int, timeout: float | None = None) -> bytes:
    """A request's body, read up to ``limit`` bytes: a ``Content-Length`` above it is refused
    before any byte of the body is read, and a body sent without one (chunked) is refused as soon
    as it passes the limit (:class:`BodyRefused`, 413). With ``timeout``, a piece of the body that
    does not come within that many seconds of the last (or of the headers) ends the read
    (:class:`BodyRefused`, 408): a client cannot hold the request open by trickling its body."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise BodyRefused(too_large(limit))
    chunks: list[bytes] = []
    size = 0
    pieces = request.stream().__aiter__()
    while True:
        try:
            chunk = await asyncio.wait_for(pieces.__anext__(), timeout)
        except StopAsyncIteration:
            break
        except asyncio.TimeoutError:
            raise BodyRefused(too_slow(timeout)) from None  # type: ignore[arg-type]  # (a timeout was given)
        size += len(chunk)
        if size > limit:
            raise BodyRefused(too_large(limit))
        chunks.append(chunk)
    return b"".join(chunks)


def too_large(limit: int) -> HTTPError:
    """The error that answers a body above ``limit`` bytes."""
    return HTTPError(
        413, f"the request body is larger than {limit / 2**20:g} MiB, the most this server takes"
    )


def too_slow(timeout: float) -> HTTPError:
    """The error that answers a body whose next piece took longer than ``timeout`` seconds."""
    return HTTPError(408, f"the request body stopped coming for {timeout:g} s (--client-timeout)")


#: what anyio imports on first use (4.x loads its parts lazily), which the first request would
#: wait for: starlette's streamed responses (task groups, cancel scopes, memory streams) and
#: httpcore's connections to an upstream (sockets, timeouts, locks)
_ANYIO_FIRST_USE = ("create_task_group", "CancelScope", "create_memory_object_stream", "connect_tcp",
                    "fail_after", "Lock", "lowlevel")  # fmt: skip


@dataclass
class Server:
    """The served dialects, where answers come from, and how to misbehave."""

    #: the client dialects answered, by name
    dialects: dict[str, Any]
    source: Any
    realtime: bool = False
    faults: Faults = field(default_factory=Faults)
    log: IO[bytes] | None = None
    websocket: bool = True  # answer on the dialects' WebSocket paths
    #: the keys a client must present (``--client-keys``); None: any, or none
    client_keys: frozenset[str] | None = None
    #: extra routes (the gateway's model listings), as starlette routes
    extra_routes: list[Any] = field(default_factory=list)
    #: the stored responses of the Responses API (:class:`~streamkit.serve.responses.Responses`)
    responses: Any = None
    #: the largest request body read, in bytes (larger: 413); WebSocket messages too
    max_body: int = MAX_BODY_MIB * 2**20
    #: seconds a client has to send a request's headers, and between two pieces of its body
    #: (``--client-timeout``; see :mod:`streamkit.serve.timeouts`)
    client_timeout: float = CLIENT_TIMEOUT
    #: the most client connections held at once (``--max-connections``; None: no bound; see
    #: :mod:`streamkit.serve.connections`)
    max_connections: int | None = None
    #: the most connections held at once from one client address (``--max-connections-per-client``)
    max_connections_per_client: int | None = None
    #: whether WebSocket clients are offered permessage-deflate (None: when listening beyond loopback)
    websocket_deflate: bool | None = None
    #: the certificate chain file and its key's file (None: in the chain's) to serve HTTPS and WSS
    #: with (``--ssl-certfile``, ``--ssl-keyfile``); None: plain HTTP
    tls: tuple[str, str | None] | None = None
    failed: int = 0
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, body: Any) -> None:
        with self.lock:
            self.requests += 1
            if self.log is not None:
                from .mcp_request import redact  # MCP headers and tokens are never logged

                self.log.write(orjson.dumps(redact(body), option=orjson.OPT_APPEND_NEWLINE))
                self.log.flush()

    def should_fail(self) -> bool:
        with self.lock:
            if self.faults.fail_status is not None and self.failed < self.faults.fail_times:
                self.failed += 1
                return True
            return False

    def warm_up(self, stop: Callable[[], bool] = lambda: False) -> None:
        """Make ahead what the first request would otherwise wait for: anyio's asyncio backend
        and the parts of anyio a response uses, what the source can (the gateway's client and
        modules: :meth:`~streamkit.serve.gateway.UpstreamSource.warm_up`), and each served
        dialect's request parser and encoder, which import their modules (the parser is given an
        empty body, which it refuses). ``serve`` calls it once it listens, before it answers
        (not in a thread beside the server: two threads that import the same modules at once can
        fail on a circular import). What fails here is left for a request to meet; ``stop`` is
        asked between the parts, and true ends the warm-up there (Ctrl-C came).

        Measured (``bench/gateway.py``'s ``first_request``, medians of 5 servers), the first
        request's first byte: 35 ms to ``--script`` and 116 ms to a gateway before, 3.0 and 6.6 ms
        with it, against 2.1 and 3.6 ms for a second request. The server starts answering later
        by about as much (45 and 160 ms after it announces its URL), which a client that connects
        at once waits instead, in the listen queue."""
        import importlib

        import anyio

        for name in _ANYIO_FIRST_USE:
            with contextlib.suppress(Exception):
                getattr(anyio, name)
        with contextlib.suppress(Exception):  # what anyio loads on a first task group (private)
            importlib.import_module("anyio._backends._asyncio")
        warm_up = getattr(self.source, "warm_up", None)
        if warm_up is not None and not stop():
            with contextlib.suppress(Exception):
                warm_up()
        for dialect in list(self.dialects.values()):
            if stop():
                return
            with contextlib.suppress(Exception):
                dialect.encoder()
            if getattr(type(dialect), "parse_request", None) not in (None, Dialect.parse_request):
                with contextlib.suppress(Exception):
                    dialect.parse_request({})

    def authorized(self, key: str | None) -> bool:
        if self.client_keys is None:
            return True
        return key is not None and any(hmac.compare_digest(key, k) for k in self.client_keys)

    async def frames(self, wire: AsyncIterator[list[Timed]], framing: str) -> AsyncIterator[bytes]:
        """Each batch of wire events framed and joined into one write (one upstream read in, one
        write out: the events of a batch exist at the same moment, so none waits for another)."""
        faults = self.faults
        array = framing == "json-array"
        frame = framer(framing)
        i = 0
        try:
            async for batch in wire:
                chunks: list[bytes] = []
                for name, data, delay in batch:
                    if faults.stall_after is not None and i >= faults.stall_after:
                        if chunks:
                            yield b"".join(chunks)
                        await asyncio.sleep(3600)  # hold the connection open, silent
                    if faults.drop_after is not None and i >= faults.drop_after:
                        if chunks:
                            yield b"".join(chunks)
                        raise DropConnection("--drop-after")  # uvicorn closes the socket
                    if self.realtime and delay > 0:
                        if chunks:
                            yield b"".join(chunks)
                            chunks = []
                        await asyncio.sleep(delay)
                    chunk = data if type(data) is bytes else frame(name, data)  # (bytes: framed already)
                    if array:
                        chunk = (b"[" if i == 0 else b",\r\n") + chunk
                    i += 1
                    chunks.append(chunk)
                if chunks:
                    yield chunks[0] if len(chunks) == 1 else b"".join(chunks)
        finally:
            await wire.aclose()  # type: ignore[attr-defined]
        if array:
            yield b"]" if i else b"[]"


def client_key(headers: Any, query: Any) -> str | None:
    """The API key a client presented, in the header its SDK uses (``Authorization: Bearer``,
    ``x-api-key``, ``x-goog-api-key``, Azure's ``api-key``) or Gemini's ``key`` query parameter."""
    auth = headers.get("authorization") or ""
    if auth[:7].lower() == "bearer " and auth[7:].strip():
        return str(auth[7:].strip())
    for name in KEY_HEADERS:
        if headers.get(name):
            return str(headers[name])
    return str(query["key"]) if query.get("key") else None


def parse_call(
    dialect: Any,
    body: Any,
    path: str,
    params: dict[str, str],
    headers: dict[str, str],
    conversation: tuple[str, Any] | None = None,
) -> ParsedRequest:
    """The request in canonical form; a dialect that cannot parse requests gets an empty
    conversation and its ``serve_options`` (answered as a stream, as ``serve`` always did).
    ``conversation`` is the stored conversation the body was unrolled from (see
    :func:`.conversations.conversation_of`): its responses name it, as the API's do."""
    options = dict(dialect.serve_options(path, params, body))
    if conversation is not None:
        options["conversation"] = conversation[0]
    if type(dialect).parse_request is Dialect.parse_request:
        return ParsedRequest(conversation={}, stream=True, answer_options=options)
    parsed = dialect.parse_request(body, path=path, params=params, headers=headers)
    parsed.answer_options = {**options, **parsed.answer_options}
    return parsed


async def wire_of(answer: Answer, dialect: Any, options: dict[str, Any],
                  framing: str | None = None) -> AsyncGenerator[list[Timed], None]:  # fmt: skip
    """The wire events of an answer in the client's dialect, in batches: a recording's as they
    are, else each batch of canonical events through the dialect's encoder as soon as it comes.

    With ``framing`` (the answer is framed by :meth:`Server.frames`, not read as data), a delta
    the encoder has a template for (:attr:`~streamkit.dialects.base.Encoder.plain_delta`) comes
    framed already, as bytes, written around its text's JSON without the encoder, as ``render``
    writes it (:func:`templated_wire`): a gateway's CPU time per event of a Chat upstream's long
    text for a Chat client went from 9.7 to 7.7 µs (``bench/gateway.py``'s ``cpu_per_event``). Not
    for a JSON array (the server writes its own separators between elements) or an AWS event
    stream (no template)."""
    if answer.wire is not None:
        for i in range(0, len(answer.wire), 64):
            yield answer.wire[i : i + 64]
        return
    assert answer.events is not None
    events = answer.events
    encoder = dialect.encoder(**options)
    delay = answer.delay
    try:
        if framing in ("sse", "ndjson"):
            async for timed in templated_wire(events, encoder, framing, delay):
                yield timed
            return
        async for batch in events:
            yield [(name, data, delay) for event in batch for name, data in encoder.feed(event)]
        yield [(name, data, delay) for name, data in encoder.close()]
    finally:
        await events.aclose()  # type: ignore[attr-defined]


async def templated_wire(events: AsyncIterator[list[dict[str, Any]]], encoder: Any, framing: str,
                         delay: float) -> AsyncIterator[list[Timed]]:  # fmt: skip
    """``wire_of``'s batches with the encoder's templates used (see there)."""
    from ..dialects.base import templated
    from ..framing import by_template

    encoder = templated(encoder)
    feed = encoder.feed
    async for batch in events:
        out: list[Timed] = []
        for event in batch:
            if (
                encoder.plain_delta is not None
                and (chunk := by_template(encoder, event, framing)) is not None
            ):
                out.append((None, chunk, delay))
                continue
            out += [(name, data, delay) for name, data in feed(event)]
        yield out
    yield [(name, data, delay) for name, data in encoder.close()]


async def canonical_of(answer: Answer, dialect: Any) -> AsyncIterator[dict[str, Any]]:
    """The canonical events of an answer (a recording of the client's dialect, normalized)."""
    if answer.events is not None:
        async for batch in answer.events:
            for event in batch:
                yield event
        return
    from ..stages.normalize import check_made, failure

    normalizer = dialect.normalizer()
    at = 0  # the event read (0: the end)
    try:
        made: list[dict[str, Any]] = []
        for name, data, _ in answer.wire or ():
            at += 1
            made = normalizer.feed(data, name) or []
            check_made(made)
            for event in made:
                yield event
        at = 0
        made = normalizer.close()
        check_made(made)
    except Exception as exc:  # a recording it cannot read (as the normalize stage says), or a bug
        message = failure(dialect.name, exc)
        if message is None:
            raise
        where = f" at its event {at}" if at else ""
        yield {"type": "error", "message": f"the recording cannot be read{where}: {message}"}
        return
    for event in made:
        yield event


async def whole_of(answer: Answer, dialect: Any, options: dict[str, Any]) -> tuple[int, Any]:
    """The whole response: the answer's events accumulated into messages, then the dialect's
    ``whole_response``; an answer that ended in an error is that error, in the dialect's shape."""
    from ..stages.accumulate import Accumulator

    accumulator = Accumulator()
    messages: list[dict[str, Any]] = []
    error: dict[str, Any] | None = None
    events = canonical_of(answer, dialect)
    try:
        async for event in events:
            if event.get("type") == "error":
                error = event
            messages += [m for m in accumulator.feed(event) if m.get("type") == "message"]
        messages += [m for m in accumulator.close() if m.get("type") == "message"]
    finally:
        await events.aclose()  # type: ignore[attr-defined]
    if error is not None or not messages:
        message = str(error.get("message")) if error else "the upstream answered with no message"
        status = error["status"] if error and isinstance(error.get("status"), int) else 502
        return status, dialect.error_body(status, message, error.get("code") if error else None)
    return 200, dialect.whole_response(messages, **options)


def make_app(server: Server) -> Any:
    """The starlette application answering on every served dialect's paths."""
    from starlette.applications import Starlette
    from starlette.requests import ClientDisconnect, Request
    from starlette.responses import Response, StreamingResponse
    from starlette.routing import Route, WebSocketRoute
    from starlette.websockets import WebSocket

    def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
        return Response(orjson.dumps(body), status, headers=headers, media_type="application/json")

    def error_response(dialect: Any, error: HTTPError) -> Response:
        headers = {"Retry-After": f"{error.retry_after:g}"} if error.retry_after is not None else None
        return json_response(
            error.status, dialect.error_body(error.status, error.message, error.code), headers
        )

    async def internal_error(request: Request, exc: Exception) -> Response:
        """An exception no endpoint answered, before the answer began: the API's own error body
        (the endpoint's dialect's), where uvicorn would send the text "Internal Server Error"; it
        is still logged, in one line. A process out of file descriptors (``--max-connections 0``
        under a flood) is the 503 an overloaded server gives, which the official SDKs retry."""
        # (the stored responses' and conversations' routes are the Responses API's)
        dialect = (
            request.scope.get("streamkit.dialect")
            or server.dialects.get("openai-responses")
            or next(iter(server.dialects.values()))
        )
        if isinstance(exc, OSError) and exc.errno in (errno.EMFILE, errno.ENFILE):
            error = HTTPError(
                503, "streamkit serve: out of file descriptors: try again in a moment", retry_after=1
            )
        else:
            error = HTTPError(500, f"streamkit serve: internal error ({type(exc).__name__})")
        return closing(error_response(dialect, error))  # (uvicorn closes the connection after it)

    def http_endpoint(dialect: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            request.scope["streamkit.dialect"] = dialect  # (for internal_error's answer)
            # the key first: a client without one gets its 401 before the server reads its body
            key = client_key(request.headers, request.query_params)
            if not server.authorized(key):
                return error_response(dialect, HTTPError(401, "invalid or missing API key"))
            try:
                raw = await read_body(request, server.max_body, server.client_timeout)
            except ClientDisconnect:  # the client left before its body was whole: no one to answer
                return Response(status_code=400)
            except BodyRefused as refused:
                return closing(error_response(dialect, refused.error))
            try:
                body = orjson.loads(raw) if raw else None
            except orjson.JSONDecodeError:
                return error_response(dialect, HTTPError(400, "the request body is not JSON"))
            server.record(body)
            if server.should_fail():
                status = server.faults.fail_status or 500
                return error_response(
                    dialect,
                    HTTPError(status, f"injected failure {status}", retry_after=server.faults.retry_after),
                )
            # query parameters too (Gemini's alt=sse decides its framing); path parameters win
            path, params = request.url.path, {**request.query_params, **request.path_params}
            conversation = None
            if dialect.name == "openai-responses":
                from .conversations import Refusal, conversation_of

                try:
                    body, conversation = await conversation_of(server.responses, body, key)
                except Refusal as refusal:
                    return json_response(refusal.status, refusal.body)
            try:
                headers = {k.lower(): v for k, v in request.headers.items()}
                parsed = parse_call(dialect, body, path, params, headers, conversation)
                if server.responses is not None and dialect.name == "openai-responses":
                    call = Call(dialect, parsed, body, path, params, key, server.realtime, conversation)
                    return await server.responses.create(server, call)  # stored (serve.responses)
                answer = await server.source.answer(
                    Call(dialect, parsed, body, path, params, key, server.realtime)
                )
            except Exhausted as exc:
                return error_response(dialect, HTTPError(503, f"streamkit serve: {exc}"))
            except StreamkitError as exc:
                return error_response(dialect, HTTPError(400, str(exc)))
            if answer.error is not None:
                return error_response(dialect, answer.error)
            options = dict(parsed.answer_options)
            framing = options.pop("framing", dialect.framing)
            if not parsed.stream:
                status, whole = await whole_of(answer, dialect, options)
                return json_response(status, whole)
            frames = server.frames(wire_of(answer, dialect, options, framing), framing)
            media_type = MEDIA_TYPES.get(framing, "application/octet-stream")
            # starlette listens for the client hanging up while streaming, and cancels the stream:
            # the body iterators are closed, and with them the upstream request behind them
            return StreamingResponse(frames, media_type=media_type, headers={"Cache-Control": "no-cache"})

        return endpoint

    def ws_endpoint(dialect: Any) -> Any:
        from .websocket import answer_websocket

        async def endpoint(websocket: WebSocket) -> None:
            await answer_websocket(server, dialect, websocket)

        return endpoint

    routes: list[Any] = list(server.extra_routes)
    if server.responses is not None:
        from .conversations import routes as conversation_routes
        from .retrieval import routes as stored_routes

        routes += stored_routes(server.responses, server)
        routes += conversation_routes(server.responses, server)
    for dialect in server.dialects.values():
        routes += [Route(path, http_endpoint(dialect), methods=["POST"]) for path in dialect.serve_paths]
        routes += [
            Route(path, http_endpoint(dialect), methods=["POST"])
            for path in getattr(dialect, "whole_paths", ())
        ]
        if server.websocket:
            routes += [WebSocketRoute(path, ws_endpoint(dialect)) for path in dialect.websocket_paths]
    if not routes:
        names = ", ".join(server.dialects) or "no dialect"
        raise UsageError(f"{names}: no endpoints to serve")
    for dialect in server.dialects.values():
        # each dialect's error body made once now, so that the modules making it are loaded: an
        # error answered while the process is out of file descriptors cannot open them
        dialect.error_body(500, "")
    return Starlette(routes=routes, exception_handlers={Exception: internal_error})


class Refused(Exception):
    """A WebSocket request answered with an error message (``message``: the one to send, when
    the connection wrote its own)."""

    def __init__(self, error: HTTPError, message: dict[str, Any] | None = None) -> None:
        super().__init__(error.message)
        self.error = error
        self.message = message


def warn_dropped(parsed: ParsedRequest, client: str, upstream: str) -> None:
    """What the client asked for that the upstream's dialect cannot carry: one warning per kind
    (diagnostics are deduplicated while serving)."""
    if client != upstream:
        for what in parsed.dropped:
            diagnostics.warn(f"{upstream} cannot carry {what} from the {client} client; dropped")
