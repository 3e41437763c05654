"""serve --client-timeout: a client slow to send its request is answered 408 and let go; one that
sends in time, a long answer and a WebSocket are not cut. Real HTTP over loopback, with uvicorn's
C parser (httptools) and its pure-Python one (h11), whichever a machine has."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from streamkit.testing import serving

TIMEOUT = 1.0  # (long enough that a loaded machine's pauses are well inside it)
REQUEST = orjson.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
HEAD = b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"


@pytest.fixture(params=["httptools", "h11"])
def protocol(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """uvicorn's HTTP protocol of that name, made the one ``serve`` builds on in this process."""
    from uvicorn.protocols.http import auto

    if request.param == "httptools":
        pytest.importorskip("httptools", reason="httptools comes with the serve extra")
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as chosen
    else:
        from uvicorn.protocols.http.h11_impl import H11Protocol as chosen  # type: ignore[assignment]
    monkeypatch.setattr(auto, "AutoHTTPProtocol", chosen)
    return str(request.param)


def _serve(tmp_path: Path, dialect: str, *options: str) -> Any:
    """``serve -d DIALECT`` of a script (in this process) with ``--client-timeout 1``."""
    script = tmp_path / "script.json"
    script.write_bytes(orjson.dumps([{"text": "word " * 40}] * 20))
    return serving("-d", dialect, "--script", str(script), "--client-timeout", str(TIMEOUT), *options)


@pytest.fixture
def port(protocol: str, tmp_path: Path) -> Iterator[int]:
    """The port of a Chat Completions ``serve`` whose answers take about a second to stream."""
    with _serve(tmp_path, "openai-chat", "--realtime", "--delay", "0.2") as url:
        yield int(url.rsplit(":", 1)[1])


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.settimeout(10)
    return sock


def _until_closed(sock: socket.socket) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and how long that took."""
    began = time.monotonic()
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data, time.monotonic() - began


def test_a_connection_that_sends_nothing_is_closed(port: int) -> None:
    with _connect(port) as sock:
        data, took = _until_closed(sock)
    assert data == b"" and TIMEOUT * 0.8 <= took < TIMEOUT + 5


def test_headers_never_finished_are_answered_408(port: int) -> None:
    with _connect(port) as sock:
        sock.sendall(HEAD)  # and not the blank line that ends them
        data, took = _until_closed(sock)
    assert data.startswith(b"HTTP/1.1 408 ") and b"not sent in time" in data
    assert TIMEOUT * 0.8 <= took < TIMEOUT + 5


def test_the_next_request_on_a_kept_alive_connection_has_the_same_bound(port: int) -> None:
    with _connect(port) as sock:
        sock.sendall(HEAD + b"content-length: %d\r\n\r\n" % len(REQUEST) + REQUEST)
        first = b""
        while b'"finish_reason":"stop"' not in first:  # (a whole answer, not streamed)
            first += sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200")
        time.sleep(TIMEOUT / 2)
        sock.sendall(HEAD)
        data, _ = _until_closed(sock)
    assert b"HTTP/1.1 408 " in data


def test_a_body_that_stops_coming_is_answered_408_in_the_dialect_s_shape(port: int) -> None:
    with _connect(port) as sock:
        sock.sendall(HEAD + b"content-length: 1000\r\n\r\n" + REQUEST[:10])
        data, took = _until_closed(sock)
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 ")
    assert "--client-timeout" in orjson.loads(body)["error"]["message"]  # as the OpenAI SDK reads errors
    assert took < TIMEOUT + 5


@pytest.mark.parametrize(
    "path", ["/v1/messages", "/v1/messages/count_tokens"], ids=["a-dialect-endpoint", "count-tokens"]
)
def test_a_refused_body_is_answered_and_its_connection_closed_at_once(protocol: str, path: str) -> None:
    # the rest of a refused body is never read: the answer says connection: close and the server
    # closes it once sent, not when the client timeout (5 s here) would have
    head = b"POST %s HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n" % path.encode()
    # (a gateway, which serves count_tokens; its upstream is never asked: no body is read whole)
    upstream = ("--upstream", "openai-chat", "--base-url", "http://127.0.0.1:9/v1")
    with serving(*upstream, "--client-timeout", "5", "--max-body", "1") as url:
        port = int(url.rsplit(":", 1)[1])
        with _connect(port) as sock:  # above --max-body: 413 before any of the body is read
            sock.sendall(head + b"content-length: %d\r\n\r\n" % (2 * 2**20) + REQUEST[:10])
            data, took = _until_closed(sock)
        assert data.startswith(b"HTTP/1.1 413 ") and b"connection: close" in data.lower()
        assert took < 2.5
        with _connect(port) as sock:  # a body that stops coming: 408 after 5 s, then closed
            sock.sendall(head + b"content-length: 1000\r\n\r\n" + REQUEST[:10])
            data, took = _until_closed(sock)
        assert data.startswith(b"HTTP/1.1 408 ") and b"connection: close" in data.lower()
        assert 4 <= took < 7.5


def test_a_client_in_time_is_answered_however_long_its_body_and_its_answer_take(port: int) -> None:
    stream = orjson.dumps({**orjson.loads(REQUEST), "stream": True})
    with _connect(port) as sock:
        for piece in (HEAD[:20], HEAD[20:], b"content-length: %d\r\n\r\n" % len(stream)):
            sock.sendall(piece)  # the headers in pieces, within the bound all told
            time.sleep(TIMEOUT / 10)
        for at in range(0, len(stream), 20):  # the body in pieces, each within the bound of the last,
            sock.sendall(stream[at : at + 20])  # well over it all told
            time.sleep(TIMEOUT / 2)
        began = time.monotonic()
        answer = b""
        while not answer.endswith(b"data: [DONE]\n\n") and not answer.endswith(b"0\r\n\r\n"):
            piece = sock.recv(65536)
            assert piece, answer[-200:]
            answer += piece
    assert answer.startswith(b"HTTP/1.1 200") and answer.count(b"word") == 40
    assert time.monotonic() - began > TIMEOUT  # (the answer itself outlasted the bound)


def test_a_websocket_idle_past_the_bound_is_still_answered(protocol: str, tmp_path: Path) -> None:
    from websockets.sync.client import connect

    with (
        _serve(tmp_path, "openai-responses") as url,
        connect(url.replace("http://", "ws://") + "/v1/responses", open_timeout=10) as ws,
    ):
        time.sleep(TIMEOUT * 3)
        ws.send(orjson.dumps({"type": "response.create", "model": "m", "input": "hi"}).decode())
        assert orjson.loads(ws.recv(timeout=10))["type"] == "response.created"


def test_the_client_timeout_default_is_the_servers() -> None:
    import inspect

    from streamkit.cli.serve import make_server, serve
    from streamkit.serve.app import Server
    from streamkit.serve.timeouts import CLIENT_TIMEOUT

    option = next(p for p in serve.params if p.name == "client_timeout")
    assert (
        option.default
        == inspect.signature(make_server).parameters["client_timeout"].default
        == CLIENT_TIMEOUT
    )
    assert Server({}, None).client_timeout == CLIENT_TIMEOUT


def test_an_idle_connection_is_kept_as_long_as_the_client_timeout(protocol: str, tmp_path: Path) -> None:
    """Kept alive past uvicorn's own 5 s, up to ``--client-timeout`` (then closed, as the tests
    above check): with 5 s, the official SDKs' pools (httpx keeps a connection 5 s too) reused a
    connection the server was closing at that moment, and the request failed (a ReadError, which
    the SDKs retry)."""
    script = tmp_path / "script.json"
    script.write_bytes(orjson.dumps([{"text": "ok"}] * 5))
    request = HEAD + b"content-length: %d\r\n\r\n" % len(REQUEST) + REQUEST
    with (
        serving("-d", "openai-chat", "--script", str(script), "--client-timeout", "8") as url,
        _connect(int(url.rsplit(":", 1)[1])) as sock,
    ):
        answers = []
        for idle in (0.0, 5.5):
            time.sleep(idle)
            sock.sendall(request)
            answer = b""
            while b'"finish_reason":"stop"' not in answer:
                chunk = sock.recv(65536)
                assert chunk, f"closed after {idle} s idle"
                answer += chunk
            answers.append(answer)
    assert [a[:15] for a in answers] == [b"HTTP/1.1 200 OK"] * 2
