"""serve's HTTP application under clients that misbehave: its log stays one line per event that
matters, with no traceback, however many clients leave early."""

from __future__ import annotations

import signal
import socket
import subprocess
from pathlib import Path

import orjson

from tests.conftest import STREAMKIT


def _post(port: int, body: bytes, length: int | None = None) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    head = (f"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body) if length is None else length}\r\n\r\n")  # fmt: skip
    sock.sendall(head.encode() + body)
    return sock


def test_clients_that_leave_early_leave_no_traceback_and_a_bounded_log(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_bytes(orjson.dumps([{"text": "word " * 2000}] * 200))
    proc = subprocess.Popen([str(STREAMKIT), "serve", "-d", "openai-chat", "--script", str(script), "--realtime",
                             "--delay", "0.001", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stderr is not None
        port = int(proc.stdout.readline().decode().strip().rsplit(":", 1)[1])
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
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
    assert "Traceback" not in err and "ClientDisconnect" not in err and "socket.send" not in err
    assert len(err.splitlines()) <= 3, err
