"""serve's HTTP application under clients that misbehave: its log stays one line per event that
matters, with no traceback, however many clients leave early."""

from __future__ import annotations

import signal
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.conftest import STREAMKIT
from tests.serve.senders import node_fetch_answers, urllib_answer


def _post(port: int, body: bytes, length: int | None = None, headers: str = "") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    head = (f"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n{headers}"
            f"content-length: {len(body) if length is None else length}\r\n\r\n")  # fmt: skip
    sock.sendall(head.encode() + body)
    return sock


def test_clients_that_leave_early_leave_no_traceback_and_a_bounded_log(tmp_path: Path) -> None:
    script = [{"text": "word " * 2000}] * 200
    with _server(tmp_path, "--realtime", "--delay", "0.001", script=script) as (proc, port):
        assert proc.stderr is not None
        body = orjson.dumps({"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]})
        for _ in range(20):  # gone before their body is whole
            _post(port, body[:10], length=1000).close()
        for _ in range(100):  # gone mid-stream
            sock = _post(port, body)
            assert sock.recv(2000).startswith(b"HTTP/1.1 200")
            sock.close()
        half = _post(port, b"{", length=1000)  # and Ctrl-C while this one is half sent
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 130
        half.close()
        err = proc.stderr.read().decode()
    assert "Traceback" not in err and "ClientDisconnect" not in err and "socket.send" not in err
    assert len(err.splitlines()) <= 3, err


@contextmanager
def _server(
    tmp_path: Path, *options: str, dialect: str = "openai-chat", script: list[Any] | None = None
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """``streamkit serve`` of a script (ten one-word turns unless given) as its own process:
    (the process, its port). Stopped with Ctrl-C at the end, unless the test already did."""
    path = tmp_path / "script.json"
    path.write_bytes(orjson.dumps(script or [{"text": "ok"}] * 10))
    proc = subprocess.Popen([str(STREAMKIT), "serve", "-d", dialect, "--script", str(path), "--port", "0", *options],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    try:
        assert proc.stdout is not None
        yield proc, int(proc.stdout.readline().decode().strip().rsplit(":", 1)[1])
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            for pipe in (proc.stdout, proc.stderr):
                if pipe is not None:
                    pipe.close()


def _answer(sock: socket.socket) -> tuple[int, dict]:
    """The status and JSON body of the response on ``sock`` (read until the server closes or the
    body is whole; a 10 s timeout fails the test rather than hanging it)."""
    sock.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(
        next(
            line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
        )
    )
    while len(body) < length:
        body += sock.recv(65536)
    return int(head.split()[1]), orjson.loads(body)


REQUEST = orjson.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]})


def test_a_body_over_the_limit_is_413_and_is_not_read(tmp_path: Path) -> None:
    with _server(tmp_path, "--max-body", "1") as (_, port):
        # a Content-Length over the limit: refused before any byte of the body is sent
        with _post(port, b"", length=200 * 2**20) as sock:
            status, body = _answer(sock)
        assert status == 413 and "larger than 1 MiB" in body["error"]["message"]
        # a chunked body (no length given): refused once it passes the limit, its end never sent
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                         b"transfer-encoding: chunked\r\n\r\n")  # fmt: skip
            piece = b"x" * 2**16
            for _ in range(17):  # 1 MiB and one piece more
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            status, body = _answer(sock)
        assert status == 413
        # a body at the limit is taken
        padded = orjson.dumps({"model": "m", "messages": [{"role": "user", "content": "x" * (2**20 - 100)}]})
        assert len(padded) <= 2**20
        with _post(port, padded) as sock:
            assert _answer(sock)[0] == 200


def test_a_413_reaches_clients_that_read_no_answer_while_they_send(tmp_path: Path) -> None:
    """The connection of a refused body lingers (see streamkit.serve.connections): closed with the
    body unread, it was reset, and urllib got a broken pipe or a reset in 6 of 10 tries, Node's
    fetch in 10 of 10, instead of the 413."""
    body = tmp_path / "body.json"
    body.write_bytes(orjson.dumps({"model": "m", "messages": [{"role": "user", "content": "x" * 3_000_000}]}))
    with _server(tmp_path, "--max-body", "1") as (_, port):
        url = f"http://127.0.0.1:{port}/v1/chat/completions"
        assert [urllib_answer(url, body.read_bytes())[0] for _ in range(10)] == [413] * 10
        assert node_fetch_answers(url, body, 10) == ["413 null"] * 10
        assert urllib_answer(url, REQUEST)[0] == 200  # (and the server goes on)


def test_a_client_without_a_key_is_refused_before_its_body_is_read(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text("sk-the-only-key-0123456789\n")
    with _server(tmp_path, "--client-keys", str(keys)) as (_, port):
        with _post(port, b"", length=50 * 2**20) as sock:  # announced, never sent
            status, body = _answer(sock)
        assert status == 401 and "API key" in body["error"]["message"]
        with _post(port, REQUEST, headers="authorization: Bearer sk-the-only-key-0123456789\r\n") as sock:
            assert _answer(sock)[0] == 200


def test_a_websocket_message_over_the_limit_closes_its_connection(tmp_path: Path) -> None:
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    message = orjson.dumps({"type": "response.create", "model": "m", "input": "x" * (2 * 2**20)}).decode()
    with _server(tmp_path, "--max-body", "1", dialect="openai-responses") as (_, port):
        with connect(f"ws://127.0.0.1:{port}/v1/responses", open_timeout=10) as ws:
            ws.send(message)
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009  # message too big
        with connect(f"ws://127.0.0.1:{port}/v1/responses", open_timeout=10) as ws:  # a small one is answered
            ws.send(orjson.dumps({"type": "response.create", "model": "m", "input": "hi"}).decode())
            assert orjson.loads(ws.recv(timeout=10))["type"] == "response.created"


def test_the_max_body_default_is_the_servers() -> None:
    import inspect

    from streamkit.cli.serve import make_server, serve
    from streamkit.serve.app import MAX_BODY_MIB, Server

    option = next(p for p in serve.params if p.name == "max_body_mib")
    assert option.default == inspect.signature(make_server).parameters["max_body_mib"].default == MAX_BODY_MIB
    assert Server({}, None).max_body == MAX_BODY_MIB * 2**20


def test_a_recording_it_cannot_read_ends_the_answer_with_an_error_in_the_clients_shape(
    tmp_path: Path,
) -> None:
    """serve --replay of a chat recording whose second chunk has a string where a tool call's
    function goes, to an Anthropic client: the text before it, then an error event naming the
    recording and the event (the response broke off after a 200 before)."""
    import anthropic

    from streamkit.testing import serving

    chunk = b'data: {"id":"c1","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":%s}]}\n\n'
    path = tmp_path / "bad.sse"
    path.write_bytes(
        chunk % b'{"role":"assistant","content":"Hello"}'
        + chunk % b'{"tool_calls":[{"index":0,"function":"x"}]}'
        + b"data: [DONE]\n\n"
    )
    text: list[str] = []
    with (
        serving("--replay", str(path)) as url,
        anthropic.Anthropic(api_key="k", base_url=url, max_retries=0) as client,
        pytest.raises(anthropic.APIStatusError) as caught,
        client.messages.stream(
            model="m", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        ) as stream,
    ):
        text.extend(stream.text_stream)
    assert "".join(text) == "Hello"
    assert f"the recording {path} cannot be read at its event 2: openai-chat: malformed event" in str(
        caught.value
    )


def test_a_recording_it_cannot_read_asked_for_whole_is_a_502_naming_it(tmp_path: Path) -> None:
    """The same recording, to an OpenAI client asking for the whole response (the recording's own
    dialect, read back by the server itself): a 502 naming the event (a 500 before)."""
    import openai

    from streamkit.testing import serving

    chunk = b'data: {"id":"c1","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":%s}]}\n\n'
    path = tmp_path / "bad.sse"
    path.write_bytes(chunk % b'{"content":"Hello"}' + chunk % b'{"tool_calls":[{"index":0,"function":"x"}]}')
    with (
        serving("--replay", str(path)) as url,
        openai.OpenAI(api_key="k", base_url=url + "/v1", max_retries=0) as client,
        pytest.raises(openai.APIStatusError) as caught,
    ):
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert caught.value.status_code == 502
    assert "the recording cannot be read at its event 2: openai-chat: malformed event" in str(caught.value)


@pytest.mark.parametrize(
    ("exc", "status", "message", "retry_after"),
    [
        (RuntimeError("a plugin's bug"), 500, "streamkit serve: internal error (RuntimeError)", None),
        (OSError(24, "Too many open files"), 503, "streamkit serve: out of file descriptors: try again in a moment", "1"),
    ],
)  # fmt: skip
def test_an_exception_no_endpoint_answers_is_the_api_s_own_error(
    exc: Exception, status: int, message: str, retry_after: str | None, tmp_path: Path
) -> None:
    """A plugin dialect's request parser with a bug (or a process out of file descriptors, which
    an import or a file opened on the way raises): its client gets the API's error body, which the
    official SDK reads, retries and names, where uvicorn sent the text "Internal Server Error";
    the server goes on serving."""
    import types

    openai = pytest.importorskip("openai")
    from streamkit.cli.serve import make_server
    from streamkit.cli.serve import serve as command
    from streamkit.dialects.base import Dialect
    from streamkit.hookspecs import hookimpl
    from streamkit.serve import background
    from streamkit.testing import registry

    class Buggy(Dialect):
        name = "buggy"
        serve_paths = ("/buggy/chat/completions",)
        description = "a plugin dialect whose request parser raises"

        def parse_request(self, body: Any, **kwargs: Any) -> Any:
            raise exc

    plugins = registry(types.SimpleNamespace(register_dialects=hookimpl(lambda register: register(Buggy()))))
    script = tmp_path / "script.json"
    script.write_bytes(orjson.dumps([{"text": "ok"}] * 5))
    args = ["-d", "buggy", "-d", "openai-chat", "--script", str(script), "--port", "0"]
    server, _ = make_server(plugins, **command.make_context("serve", args).params)
    seen: list[tuple[int, str | None]] = []
    hooks: dict = {"response": [lambda r: seen.append((r.status_code, r.headers.get("retry-after")))]}
    with background(server) as url, openai.DefaultHttpxClient(event_hooks=hooks) as http:
        buggy = openai.OpenAI(api_key="k", base_url=f"{url}/buggy", max_retries=1, http_client=http)
        with pytest.raises(openai.APIStatusError) as refused:
            buggy.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
        chat = openai.OpenAI(api_key="k", base_url=f"{url}/v1", max_retries=0, http_client=http)
        reply = chat.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert refused.value.status_code == status and seen[:2] == [(status, retry_after)] * 2  # (retried once)
    assert refused.value.body == {"message": message, "type": "api_error"}
    assert reply.choices[0].message.content == "ok"
