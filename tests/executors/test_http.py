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
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        if self.path == "/trickle":  # a byte every 0.1 s for 30 s: every read is in time
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


def test_an_endless_body_is_read_no_further_than_the_cap(server: str) -> None:
    out = run(f"{server}/endless", max_output=1000, timeout=10)
    assert out == ToolOutput("z" * 1001, truncated=True)
