"""The http executor: the body read within the cap, the whole call within the timeout."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from streamkit.executors.base import ToolCall, ToolOutput
from streamkit.executors.http import HTTPExecutor
from streamkit.tools import Tool


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        if self.path.startswith("/echo"):  # the request's headers, quoted (a 401 for /echo-401)
            quoted = repr(sorted(self.headers.items())).encode()
            self.send_response(401 if self.path == "/echo-401" else 200)
            self.send_header("Content-Length", str(len(quoted)))
            self.end_headers()
            self.wfile.write(quoted)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        if self.path == "/port":  # the caller's port: a connection of its own, or a kept one
            port = str(self.client_address[1]).encode()
            self.send_header("Content-Length", str(len(port)))
            self.end_headers()
            self.wfile.write(port)
        elif self.path == "/trickle":  # a byte every 0.1 s for 30 s: every read is in time
            self.send_header("Content-Length", "300")
            self.end_headers()
            for _ in range(300):
                if self.server.stopping.is_set():  # type: ignore[attr-defined]
                    return
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.1)
        else:  # endless: 64 KiB at a time until the client goes away
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"z" * 65536
            try:
                while not self.server.stopping.is_set():  # type: ignore[attr-defined]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except OSError:
                pass

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.stopping = threading.Event()  # type: ignore[attr-defined]
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.stopping.set()  # type: ignore[attr-defined]
    srv.shutdown()
    srv.server_close()


def run(url: str, cancel: threading.Event | None = None, **extra: Any) -> ToolOutput:
    tool = Tool("t", executor="http", settings={"url": url}, **extra)
    HTTPExecutor().check(tool)
    return HTTPExecutor().run(ToolCall(tool, "c1", {}), cancel or threading.Event())


def test_a_trickling_server_is_cut_off_at_the_timeout(server: str) -> None:
    began = time.monotonic()
    out = run(f"{server}/trickle", timeout=1)
    assert out == ToolOutput("the tool's server did not answer within 1 s", is_error=True)
    assert time.monotonic() - began < 3


def test_a_cancel_is_seen_between_reads(server: str) -> None:
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    began = time.monotonic()
    assert run(f"{server}/trickle", cancel, timeout=30) == ToolOutput("the tool was stopped", is_error=True)
    assert time.monotonic() - began < 3


@pytest.mark.parametrize("path", ["/echo", "/echo-401"])
def test_credentials_the_tools_file_gives_and_the_server_echoes_reach_no_output(
    server: str, path: str
) -> None:
    """What the tools file sets in a header that names a credential is redacted from what the
    server answers (its errors too); other headers are quoted as they were."""
    headers = {"Authorization": "Bearer tok-TOOL-SECRET-0123456789", "X-Tool-Token": "TOKEN-SECRET-0123456789",
               "X-Tenant": "tenant-of-the-project-42"}  # fmt: skip
    tool = Tool("t", executor="http", settings={"url": f"{server}{path}", "headers": headers})
    out = HTTPExecutor().run(ToolCall(tool, "c1", {}), threading.Event())
    assert out.is_error == (path == "/echo-401")
    assert "SECRET" not in out.output and out.output.count("[redacted]") == 2
    assert "tenant-of-the-project-42" in out.output


def test_an_endless_body_is_read_no_further_than_the_cap(server: str) -> None:
    out = run(f"{server}/endless", max_output=1000, timeout=10)
    assert out == ToolOutput("z" * 1001, truncated=True)


def test_calls_share_a_client_with_no_ca_bundle_for_plain_http_and_a_connection_each(
    server: str, ca_bundle_loads: list[Any]
) -> None:
    """The SSL context is made once per executor (not per call: 29 ms a call), none trusting a
    CA for plain HTTP; each call has its own connection (a kept one waits 40 ms for a delayed
    acknowledgement from a server that writes in pieces, as this one does)."""
    loads = ca_bundle_loads
    executor = HTTPExecutor()
    tool = Tool("t", executor="http", settings={"url": f"{server}/port"})
    ports = [executor.run(ToolCall(tool, f"c{i}", {}), threading.Event()).output for i in range(3)]
    executor.close()  # the agent closes its executors, then may run them again
    ports.append(executor.run(ToolCall(tool, "c4", {}), threading.Event()).output)
    executor.close()
    assert loads == []
    assert len(set(ports)) == 4 and all(port.isdigit() for port in ports)
    secure = Tool("s", executor="http", settings={"url": "https://127.0.0.1:9/"})  # nothing listens
    executor.check(secure)
    executor.warm_up()  # run-tools, waiting for its first line: the client is made there
    assert len(loads) == 1
    for i in range(2):
        out = executor.run(ToolCall(secure, f"s{i}", {}), threading.Event())
        assert out.is_error and "could not be reached" in out.output
    executor.close()
    assert len(loads) == 1  # httpx's verified default, made once for both calls
