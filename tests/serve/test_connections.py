"""serve --max-connections: a connection past the bound is answered 503 and closed at once, and the
bound keeps file descriptors for the gateway's upstream requests under a flood of idle connections.
Real HTTP over loopback; the flood against a real ``serve`` process under a low ``ulimit -n``."""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from streamkit.serve.connections import default_limit, lingering_limit
from streamkit.testing import serving

from ..conftest import STREAMKIT
from .senders import node_fetch_answers, urllib_answer

REQUEST = orjson.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]})


def _request(path: str = "/v1/chat/completions") -> bytes:
    return (
        b"POST %s HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
        b"connection: close\r\n\r\n%s" % (path.encode(), len(REQUEST), REQUEST)
    )


def _one_leaves_and_all_are_served(held: list[socket.socket], connect: Any) -> None:
    """Once one of the connections ``held`` leaves, a new one (``connect()``) is served, and so
    are the ones held all along."""
    held.pop().close()
    time.sleep(0.3)
    with connect() as sock:
        sock.sendall(_request())
        assert _until_closed(sock).startswith(b"HTTP/1.1 200 ")
    held[0].sendall(_request())
    assert _until_closed(held[0]).startswith(b"HTTP/1.1 200 ")


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=20)
    sock.settimeout(20)
    return sock


def _until_closed(sock: socket.socket) -> bytes:
    data = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            data += chunk
    return data


@pytest.mark.parametrize(
    ("soft", "alone", "gateway", "lingering"),
    [
        (1024, 768, 384, 64),
        (64, 48, 24, 4),
        (16, 12, 8, 1),
        (4, 8, 8, 0),
        (65536, 65280, 32640, 64),
        (resource.RLIM_INFINITY, None, None, 64),
    ],
)
def test_the_default_bound_keeps_a_reserve_of_descriptors(
    soft: int, alone: int | None, gateway: int | None, lingering: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resource, "getrlimit", lambda which: (soft, resource.RLIM_INFINITY))
    assert default_limit() == alone
    assert default_limit(2) == gateway  # (a gateway's streams hold a descriptor each for the upstream)
    assert lingering_limit() == lingering  # (refused connections lingering: a quarter of the reserve)


def test_a_connection_past_the_bound_is_answered_503_and_closed(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_bytes(orjson.dumps([{"text": "ok"}] * 5))
    with serving("-d", "openai-chat", "--script", str(script), "--max-connections", "3") as url:
        port = int(url.rsplit(":", 1)[1])
        held = [_connect(port) for _ in range(3)]
        try:
            time.sleep(0.3)  # (the server has taken them)
            with _connect(port) as extra:
                began = time.monotonic()
                data = _until_closed(extra)
            assert data.startswith(b"HTTP/1.1 503 ") and b"retry-after: 1" in data, data[:200]
            assert time.monotonic() - began < 5  # at once, not at the client timeout
            _one_leaves_and_all_are_served(held, lambda: _connect(port))
        finally:
            for sock in held:
                sock.close()


@contextlib.contextmanager
def _gateway_under_ulimit(upstream: str, key: Path, nofile: int, *options: str) -> Iterator[tuple[int, int]]:
    """A gateway process (``serve --upstream openai-chat``) whose limit on open files is ``nofile``:
    (its port, its pid)."""

    def low_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    proc = subprocess.Popen(
        [str(STREAMKIT), "serve", "--upstream", "openai-chat", "--base-url", upstream + "/v1", "--key-file",
         str(key), "--store", "none", "--port", "0", *options],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, preexec_fn=low_limit,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        yield int(proc.stdout.readline().decode().strip().rsplit(":", 1)[1]), proc.pid
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()


def _settled(pid: int) -> None:
    """Wait (10 s at most) until the process's count of open files has not moved for half a second:
    it has accepted (and closed) what it could of the connections made."""
    last, since, deadline = -1, time.monotonic(), time.monotonic() + 10
    while time.monotonic() < deadline:
        count = len(os.listdir(f"/proc/{pid}/fd"))
        if count != last:
            last, since = count, time.monotonic()
        elif time.monotonic() - since >= 0.5:
            return
        time.sleep(0.05)


def _answered_503(sock: socket.socket) -> bool:
    """Whether the server has answered this idle connection 503 (and closed it)."""
    sock.setblocking(False)
    try:
        return sock.recv(64).startswith(b"HTTP/1.1 503 ")
    except OSError:  # nothing came (or the connection was reset)
        return False


def _flooded_then_asked(port: int, pid: int, flood: int) -> tuple[bytes, int]:
    """A client connects, ``flood`` idle connections follow it, then the client sends its request:
    what it is answered, and how many of the idle connections were answered 503."""
    first = _connect(port)
    _settled(pid)
    idle: list[socket.socket] = []
    try:
        for _ in range(flood):
            with contextlib.suppress(OSError):
                idle.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        _settled(pid)
        refused = sum(_answered_503(sock) for sock in idle)
        with contextlib.suppress(OSError):
            first.sendall(_request())
        return _until_closed(first), refused
    finally:
        first.close()
        for sock in idle:
            sock.close()


def test_a_flood_of_idle_connections_leaves_the_gateway_descriptors_for_its_upstream(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_bytes(orjson.dumps([{"text": "still here"}] * 5))
    key = tmp_path / "key"
    key.write_text("sk-test\n")
    with serving("-d", "openai-chat", "--script", str(script)) as upstream:
        # under ulimit -n 64 a gateway's default bound is 24 connections: the upstream request
        # still gets its descriptor, and the client that came before the flood is answered
        with _gateway_under_ulimit(upstream, key, 64) as (port, pid):
            answer, refused = _flooded_then_asked(port, pid, 80)
        assert answer.startswith(b"HTTP/1.1 200 ") and b"still here" in answer, answer[:300]
        assert refused == 80 - 23  # (the first client and 23 of the flood are held)
        # without the bound the flood takes every descriptor, and the same request fails, said
        # in the API's own error body (its module was loaded before: uvicorn's plain-text 500
        # when the error body's module could not be opened)
        with _gateway_under_ulimit(upstream, key, 64, "--max-connections", "0") as (port, pid):
            answer, refused = _flooded_then_asked(port, pid, 80)
        assert not answer.startswith(b"HTTP/1.1 200 ") and refused == 0, answer[:300]
        head, _, body = answer.partition(b"\r\n\r\n")
        assert b"content-type: application/json" in head and "message" in orjson.loads(body)["error"], answer


@pytest.mark.parametrize("sdk", ["openai", "anthropic"])
def test_the_official_sdks_retry_the_503_until_a_connection_is_free(sdk: str, tmp_path: Path) -> None:
    import threading

    import anthropic
    import openai

    statuses: list[int] = []
    hooks: dict = {"response": [lambda response: statuses.append(response.status_code)]}
    sdk_module: Any = openai if sdk == "openai" else anthropic
    http = sdk_module.DefaultHttpxClient(event_hooks=hooks)  # (each SDK's own httpx)
    script = tmp_path / "script.json"
    script.write_bytes(orjson.dumps([{"text": "made it"}] * 5))
    dialect = "openai-chat" if sdk == "openai" else "anthropic"
    with serving("-d", dialect, "--script", str(script), "--max-connections", "1") as url:
        held = _connect(int(url.rsplit(":", 1)[1]))  # the one connection there is
        time.sleep(0.3)
        threading.Timer(0.8, held.close).start()  # freed while the client waits to retry
        if sdk == "openai":
            chat = openai.OpenAI(api_key="k", base_url=f"{url}/v1", max_retries=3, http_client=http)
            reply = chat.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
            text = reply.choices[0].message.content
        else:
            claude = anthropic.Anthropic(api_key="k", base_url=url, max_retries=3, http_client=http)
            message = claude.messages.create(
                model="m", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
            )
            text = message.content[0].text  # type: ignore[union-attr]
        http.close()
    assert text == "made it"
    assert statuses[0] == 503 and statuses[-1] == 200, statuses  # (answered 503 first, then served)


def _connect_from(address: str, port: int) -> socket.socket:
    """A connection to the server from ``address`` (any of 127.0.0.0/8 is this machine's loopback)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=20, source_address=(address, 0))
    sock.settimeout(20)
    return sock


def test_one_address_past_its_own_bound_is_answered_429_and_the_others_are_served(tmp_path: Path) -> None:
    """``--max-connections-per-client 2``: a third connection from one address gets a 429 at once
    and is closed, while another address is served; once one of the first two closes, the
    address is served again. A bound that counted every address together would refuse the other
    one too; a bound on nothing would serve the third."""
    script = tmp_path / "script.json"
    script.write_bytes(orjson.dumps([{"text": "ok"}] * 5))
    with serving("-d", "openai-chat", "--script", str(script), "--max-connections-per-client", "2") as url:
        port = int(url.rsplit(":", 1)[1])
        held = [_connect_from("127.0.0.1", port) for _ in range(2)]
        try:
            time.sleep(0.3)  # (the server has taken them)
            with _connect_from("127.0.0.1", port) as extra:
                began = time.monotonic()
                data = _until_closed(extra)
            assert data.startswith(b"HTTP/1.1 429 ") and b"retry-after: 1" in data, data[:200]
            assert time.monotonic() - began < 5  # at once, not at the client timeout
            with _connect_from("127.0.0.2", port) as other:  # another client is not kept waiting
                other.sendall(_request())
                assert _until_closed(other).startswith(b"HTTP/1.1 200 ")
            _one_leaves_and_all_are_served(held, lambda: _connect_from("127.0.0.1", port))
        finally:
            for sock in held:
                sock.close()


def test_the_official_client_retries_the_429_until_its_address_has_a_free_connection(tmp_path: Path) -> None:
    openai = pytest.importorskip("openai")
    script = tmp_path / "script.json"
    script.write_bytes(orjson.dumps([{"text": "ok"}] * 5))
    with serving("-d", "openai-chat", "--script", str(script), "--max-connections-per-client", "1") as url:
        port = int(url.rsplit(":", 1)[1])
        hog = _connect_from("127.0.0.1", port)
        time.sleep(0.3)

        def release() -> None:
            time.sleep(1.5)
            hog.close()

        import threading

        threading.Thread(target=release, daemon=True).start()
        with openai.OpenAI(api_key="sk-test", base_url=f"{url}/v1", max_retries=5) as client:
            began = time.monotonic()
            answer = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
            took = time.monotonic() - began
    assert answer.choices[0].message.content == "ok"
    assert took >= 1.0  # (it waited for the hog to leave, retrying the 429)


@pytest.mark.parametrize(
    ("option", "status"), [("--max-connections", 503), ("--max-connections-per-client", 429)]
)
def test_a_client_that_reads_only_once_it_has_sent_is_answered_not_reset(
    option: str, status: int, tmp_path: Path
) -> None:
    """The refused connection's request is read and thrown away (nginx's lingering close): closed
    with it unread, the socket was reset, and urllib saw a broken pipe or a reset in 20 of 20
    tries (a small request) instead of the answer."""
    script = tmp_path / "script.json"
    script.write_bytes(orjson.dumps([{"text": "ok"}] * 5))
    large = orjson.dumps({"model": "m", "messages": [], "pad": "x" * 2_000_000})
    with serving("-d", "openai-chat", "--script", str(script), option, "1") as url:
        held = _connect(int(url.rsplit(":", 1)[1]))  # the one connection there is
        time.sleep(0.3)
        for body in [REQUEST] * 10 + [large] * 3:
            assert urllib_answer(f"{url}/v1/chat/completions", body) == (status, "1")
        held.close()


def test_node_fetch_sending_a_large_body_to_a_full_server_is_answered_503(tmp_path: Path) -> None:
    """Node's ``fetch`` stops reading when its send fails: with a 2 MB body, 18 of 20 were EPIPE
    before the lingering close."""
    body = tmp_path / "body.json"
    body.write_bytes(orjson.dumps({"model": "m", "messages": [{"role": "user", "content": "x" * 2_000_000}]}))
    script = tmp_path / "script.json"
    script.write_bytes(orjson.dumps([{"text": "ok"}] * 5))
    with serving("-d", "openai-chat", "--script", str(script), "--max-connections", "1") as url:
        held = _connect(int(url.rsplit(":", 1)[1]))
        time.sleep(0.3)
        answers = node_fetch_answers(f"{url}/v1/chat/completions", body, 10)
        held.close()
    assert answers == ["503 1"] * 10


def test_a_refused_connection_lingers_for_a_bounded_time(tmp_path: Path) -> None:
    """The answer and the server's end come at once; what the client sends next is thrown away
    while the connection lingers, and once LINGER has passed the server has closed it (what the
    client sends then is answered with a reset)."""
    from streamkit.serve.connections import LINGER

    script = tmp_path / "script.json"
    script.write_bytes(orjson.dumps([{"text": "ok"}] * 5))
    with serving("-d", "openai-chat", "--script", str(script), "--max-connections", "1") as url:
        port = int(url.rsplit(":", 1)[1])
        with _connect(port):
            time.sleep(0.3)
            with _connect(port) as extra:
                began = time.monotonic()
                extra.sendall(_request())
                data = b""
                while chunk := extra.recv(65536):  # the server's end (a half-close) ends the answer
                    data += chunk
                assert data.startswith(b"HTTP/1.1 503 ") and time.monotonic() - began < LINGER / 2
                extra.sendall(b"more of the request")  # read and thrown away
                time.sleep(0.2)
                assert extra.recv(64) == b""
                time.sleep(LINGER)
                with pytest.raises((ConnectionResetError, BrokenPipeError)):
                    extra.sendall(b"still more")
                    time.sleep(0.2)
                    extra.sendall(b"still more")
                    extra.recv(64)
