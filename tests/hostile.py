"""A hostile upstream on loopback: a bare socket server whose every answer is one misbehaviour.

``with hostile("echo-key") as url:`` starts it; each connection gets the behaviour named. The
request is read whole first (headers and body), so that what the server does is the only fault.
Behaviours are plain functions of ``(conn, request)``; add one to :data:`BEHAVIOURS` to test a new
kind of fault.
"""

from __future__ import annotations

import gzip
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Behaviour = Callable[[socket.socket, bytes], None]


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    match = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    length = int(match.group(1)) if match else 0
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def _header(request: bytes, name: bytes) -> bytes:
    match = re.search(rb"(?im)^" + re.escape(name) + rb":\s*(.*?)\r?$", request.partition(b"\r\n\r\n")[0])
    return match.group(1).strip() if match else b""


def _respond(conn: socket.socket, status: str, headers: dict[str, str], body: bytes) -> None:
    head = f"HTTP/1.1 {status}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    head += f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    conn.sendall(head.encode() + body)


def echo_key(conn: socket.socket, request: bytes) -> None:
    """401, quoting the key the request carried (some APIs do)."""
    key = _header(request, b"authorization").removeprefix(b"Bearer ") or _header(request, b"x-api-key") \
        or _header(request, b"x-goog-api-key")  # fmt: skip
    body = (
        b'{"error": {"message": "Incorrect API key provided: '
        + key
        + b'", "type": "invalid_request_error", "code": "invalid_api_key"}}'
    )
    _respond(conn, "401 Unauthorized", {"content-type": "application/json"}, body)


def echo_key_in_stream(conn: socket.socket, request: bytes) -> None:
    """200, a chat stream whose text quotes the key the request carried (a proxy that echoes
    headers), the key written in two pieces a moment apart, so that it straddles two reads."""
    key = _header(request, b"authorization").removeprefix(b"Bearer ") or _header(request, b"x-api-key")
    chunk = b'data: {"object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"content":"your key is '
    _stream_head(conn)
    conn.sendall(chunk + key[: len(key) // 2])
    time.sleep(0.2)
    conn.sendall(key[len(key) // 2 :] + b'"},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n')


def stall_before_headers(conn: socket.socket, request: bytes) -> None:
    time.sleep(30)


def close_before_headers(conn: socket.socket, request: bytes) -> None:
    conn.close()


def not_http(conn: socket.socket, request: bytes) -> None:
    conn.sendall(b"\x00\x01garbage that is not HTTP\r\n\r\n")


def html_200(conn: socket.socket, request: bytes) -> None:
    _respond(conn, "200 OK", {"content-type": "text/html"}, b"<html><body>Sign in</body></html>")


def empty_200(conn: socket.socket, request: bytes) -> None:
    _respond(conn, "200 OK", {"content-type": "text/event-stream"}, b"")


def redirect(conn: socket.socket, request: bytes) -> None:
    _respond(conn, "302 Found", {"location": "https://login.example/"}, b"")


def gzip_unasked(conn: socket.socket, request: bytes) -> None:
    body = gzip.compress(b'data: {"object": "chat.completion.chunk", "choices": []}\n\n')
    _respond(conn, "200 OK", {"content-type": "text/event-stream", "content-encoding": "gzip"}, body)


def _chat_stream(conn: socket.socket, odd_delta: bytes) -> None:
    """A chat stream that goes well, then has ``odd_delta`` as a chunk's delta, then finishes."""
    chunk = b'data: {"id":"c1","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":%s}]}\n\n'
    body = (
        chunk % b'{"role":"assistant","content":"Hello"}'
        + chunk % b'{"content":" there"}'
        + chunk % odd_delta
        + b'data: {"id":"c1","object":"chat.completion.chunk","model":"m",'
        b'"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'
    )
    _respond(conn, "200 OK", {"content-type": "text/event-stream"}, body)


def fine(conn: socket.socket, request: bytes) -> None:
    """No fault at all: a chat stream that says "Hello there!" and finishes (what the others are
    measured against, and an upstream for a test whose fault is elsewhere)."""
    _chat_stream(conn, b'{"content":"!"}')


def wrong_type(conn: socket.socket, request: bytes) -> None:
    """An object where a refusal's text goes (valid JSON, the wrong type)."""
    _chat_stream(conn, b'{"refusal":{"a":1}}')


def wrong_shape(conn: socket.socket, request: bytes) -> None:
    """A string where a tool call's function object goes (the normalizer trips on it)."""
    _chat_stream(conn, b'{"tool_calls":[{"index":0,"function":"x"}]}')


def _stream_head(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n")


def keep_alive_forever(conn: socket.socket, request: bytes) -> None:
    """A stream of SSE comments every half second, never an event (each resets a read timeout)."""
    _stream_head(conn)
    for _ in range(120):
        conn.sendall(b": keep-alive\n\n")
        time.sleep(0.5)


def trickle(conn: socket.socket, request: bytes) -> None:
    """One byte every 0.3 s (well inside a 1 s read timeout: only a bound on the whole request ends it)."""
    _stream_head(conn)
    for byte in b'data: {"object": "chat.completion.chunk", "choices": []}\n\n' * 10:
        conn.sendall(bytes([byte]))
        time.sleep(0.3)


def _flood(conn: socket.socket, first: bytes, limit: int = 200 * 2**20) -> None:
    """``first``, then ``x`` without end (until the client goes, or ``limit`` bytes: a bound for
    the test, far past what the client may take)."""
    conn.sendall(first)
    piece = b"x" * 2**16
    for _ in range(limit // len(piece)):
        conn.sendall(piece)


def flood(conn: socket.socket, request: bytes) -> None:
    """A stream whose first event never ends: ``data: xxx...`` with no line end."""
    _stream_head(conn)
    _flood(conn, b"data: ")


def endless_error(conn: socket.socket, request: bytes) -> None:
    """A 500 whose JSON body never ends (no length: it would run until the connection closes)."""
    head = (
        b"HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n"
    )
    _flood(conn, head + b'{"error": {"message": "')


def endless_200(conn: socket.socket, request: bytes) -> None:
    """A 200 whose JSON body never ends (a model list without end)."""
    head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n"
    _flood(conn, head + b'{"data": [{"id": "')


def retry_after_forever(conn: socket.socket, request: bytes) -> None:
    _respond(conn, "429 Too Many Requests", {"content-type": "application/json", "retry-after": "100000"},
             b'{"error": {"message": "slow down", "type": "rate_limit_error"}}')  # fmt: skip


def binary_garbage(conn: socket.socket, request: bytes) -> None:
    """A good event, then bytes that are not UTF-8."""
    _respond(conn, "200 OK", {"content-type": "text/event-stream"},
             b'data: {"object": "chat.completion.chunk", "choices": []}\n\n\xff\xfe\x00garbage\n\n')  # fmt: skip


def corrupt_gzip(conn: socket.socket, request: bytes) -> None:
    body = gzip.compress(b'data: {"object": "chat.completion.chunk", "choices": []}\n\n' * 50)
    _respond(conn, "200 OK", {"content-type": "text/event-stream", "content-encoding": "gzip"},
             body[:40] + b"\x00" * 20 + body[60:])  # fmt: skip


def oversized_header(conn: socket.socket, request: bytes) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nx-junk: " + b"a" * 200_000 + b"\r\n\r\n")


def reset(conn: socket.socket, request: bytes) -> None:
    import struct

    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close sends RST


def deaf_to_close(conn: socket.socket, request: bytes) -> None:
    """A WebSocket upstream that sends a whole Responses answer, then reads and ignores everything
    for 30 s: it never answers the client's close frame."""
    import base64
    import hashlib

    key = _header(request, b"sec-websocket-key")
    accept = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
    conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n"
                 b"sec-websocket-accept: " + accept + b"\r\n\r\n")  # fmt: skip
    message = b'{"type":"response.completed","response":{"id":"r","status":"completed","output":[]}}'
    conn.sendall(bytes([0x81, len(message)]) + message)  # one unmasked text frame, under 126 bytes
    conn.settimeout(0.5)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if not conn.recv(65536):
                return
        except TimeoutError:
            continue


BEHAVIOURS: dict[str, Behaviour] = {
    "fine": fine,
    "echo-key": echo_key,
    "echo-key-in-stream": echo_key_in_stream,
    "stall-before-headers": stall_before_headers,
    "close-before-headers": close_before_headers,
    "not-http": not_http,
    "html-200": html_200,
    "empty-200": empty_200,
    "redirect": redirect,
    "gzip-unasked": gzip_unasked,
    "wrong-type": wrong_type,
    "wrong-shape": wrong_shape,
    "keep-alive-forever": keep_alive_forever,
    "trickle": trickle,
    "retry-after-forever": retry_after_forever,
    "binary-garbage": binary_garbage,
    "corrupt-gzip": corrupt_gzip,
    "oversized-header": oversized_header,
    "reset": reset,
    "deaf-to-close": deaf_to_close,
    "flood": flood,
    "endless-error": endless_error,
    "endless-200": endless_200,
}


counts: dict[str, int] = {}


@contextmanager
def hostile(name: str) -> Iterator[str]:
    """Serve behaviour ``name`` on a free loopback port; yield the base URL. ``counts[name]`` is
    how many connections it has taken (a client's retries)."""
    counts.pop(name, None)
    behaviour = BEHAVIOURS[name]
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    stop = threading.Event()
    connections = 0

    def one(conn: socket.socket) -> None:
        with conn:
            try:
                behaviour(conn, _read_request(conn))
            except OSError:
                pass

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            nonlocal connections
            connections += 1
            counts[name] = connections
            threading.Thread(target=one, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(2)
        listener.close()
