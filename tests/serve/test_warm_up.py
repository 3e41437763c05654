"""What ``serve`` makes before it answers, so that the first request is not held back by imports.

A real ``streamkit serve`` process runs under ``python -X importtime``, which writes a line for
every module as it is imported. The server is known to answer once a malformed request has had
its 400 (uvicorn's own, before the application); the modules imported after that are the ones the
first real request waited for.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from streamkit.dialects.base import Endpoint
from streamkit.plugins import default_registry
from streamkit.serve.gateway import UpstreamSource

from ..conftest import STREAMKIT
from ..hostile import hostile

CHAT = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]}


def _imported(log: Path, start: int = 0) -> list[str]:
    text = log.read_bytes()[start:].decode(errors="replace")
    return [line.rsplit("|", 1)[1].strip() for line in text.splitlines() if line.startswith("import time:")]


def _answering(url: str) -> None:
    """Return once the server answers: a request line that is not HTTP gets uvicorn's own 400."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        conn.sendall(b"not http\r\n\r\n")
        assert conn.recv(64).startswith(b"HTTP/1.1 400")


@contextmanager
def _served_importing(tmp_path: Path, *args: str) -> Iterator[tuple[str, Path, int]]:
    """``streamkit serve ARGS`` under ``-X importtime``: its URL, its import log and the log's
    size once it answers."""
    log = tmp_path / "imports.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-X", "importtime", str(STREAMKIT), "serve", *args, "--port", "0"],
                                stdout=subprocess.PIPE, stderr=err)  # fmt: skip
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().decode().strip()
        assert url.startswith("http://"), log.read_text()
        _answering(url)
        yield url, log, log.stat().st_size
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stdout:
            proc.stdout.close()


def _first_request(url: str, path: str, body: dict[str, Any]) -> bytes:
    response = httpx.post(url + path, json=body, timeout=30)
    assert response.status_code == 200, response.text
    return response.content


def test_a_scripted_server_answers_its_first_request_with_nothing_left_to_import(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text('[{"text": "hello there"}]')
    with _served_importing(tmp_path, "--script", str(script)) as (url, log, answering):
        assert b"hello" in _first_request(url, "/v1/messages", {**CHAT, "max_tokens": 5})
        time.sleep(0.2)  # the log is written as modules load: any import of the request's is in
        assert _imported(log, answering) == []


def test_a_gateway_answers_its_first_request_with_nothing_left_to_import(tmp_path: Path) -> None:
    with (
        hostile("fine") as upstream,
        _served_importing(tmp_path, "--upstream", "openai-chat", "--base-url", upstream + "/v1") as (
            url,
            log,
            answering,
        ),
    ):
        assert b"Hello" in _first_request(url, "/v1/chat/completions", CHAT)
        time.sleep(0.2)
        assert _imported(log, answering) == []


def test_what_fails_to_warm_up_is_left_for_a_request_and_the_rest_is_made() -> None:
    """A source and a dialect that cannot make what they need: ``warm_up`` goes on to the next
    dialect and returns; their requests meet the failure when they come."""
    from streamkit.dialects.base import Dialect
    from streamkit.serve.app import Server

    made: list[str] = []

    class Broken:
        def warm_up(self) -> None:
            made.append("source")
            raise RuntimeError("cannot warm up")

    class Dialects(Dialect):
        def __init__(self, name: str, fail: bool) -> None:
            self.name, self.fail = name, fail

        def encoder(self, **options: Any) -> Any:
            made.append(f"{self.name} encoder")
            if self.fail:
                raise RuntimeError("no encoder")

        def parse_request(self, body: Any, **options: Any) -> Any:
            made.append(f"{self.name} parser")
            raise RuntimeError("no parser")

    server = Server({"a": Dialects("a", True), "b": Dialects("b", False)}, Broken())
    server.warm_up()
    assert made == ["source", "a encoder", "a parser", "b encoder", "b parser"]
    made.clear()
    server.warm_up(stop=lambda: len(made) > 2)  # Ctrl-C came while the first dialect was made
    assert made == ["source", "a encoder", "a parser"]


@pytest.mark.parametrize(
    ("base_url", "loaded"), [("http://127.0.0.1:9/v1", 0), ("https://api.example.com/v1", 1)]
)
def test_the_gateway_loads_the_ca_bundle_only_for_an_upstream_over_tls(
    ca_bundle_loads: list[Any], base_url: str, loaded: int
) -> None:
    loads = ca_bundle_loads
    dialect = default_registry().dialect("openai-chat")
    source = UpstreamSource(dialect, Endpoint(base_url))
    assert source.client is source.client
    assert len(loads) == loaded
