"""The live parts of `make bench`: fetch's added latency, serve's throughput, run-tools' overhead.

* fetch latency: a bare socket server writes SSE events a few milliseconds apart, each carrying
  the CLOCK_MONOTONIC time it was written; `streamkit fetch` reads them and writes raw lines;
  the bench reads each line and takes the difference (the clock is system-wide, so the three
  processes agree). That is the time from the server writing an event to fetch writing its raw
  line, plus one pipe read.
* serve throughput: `streamkit serve --replay` of a large recording, read by an httpx client
  as fast as it goes.
* run-tools: its per-event cost on a stream with no tool call, against normalize's own per-event
  cost (both real processes over files); and the time from writing a `tool-call` into a running
  `run-tools` to its tool process starting (the tool is `sh`, signalling through a FIFO).
"""

from __future__ import annotations

import os
import select
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

BIN = Path(sys.executable).parent
STREAMKIT = str(BIN / "streamkit")


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}


def start_sse(conn: socket.socket) -> None:
    """Read a client's whole request (closing with unread bytes resets the connection), then start
    an SSE answer on ``conn`` with no delay on each later write."""
    request = b""
    while b"\r\n\r\n" not in request:
        request += conn.recv(65536)
    head, _, body = request.partition(b"\r\n\r\n")
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)  # fmt: skip
    while len(body) < length:
        body += conn.recv(65536)
    conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n")
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _reads(fd: int) -> Iterator[tuple[bytes, float]]:
    """Each read of ``fd`` until its end, with the monotonic time it came."""
    while data := os.read(fd, 65536):
        yield data, time.monotonic()


def fetch_latency(events: int = 2000, gap: float = 0.002) -> dict[str, float]:
    """p50 / p99 / max of server write → fetch's raw line, in milliseconds."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        start_sse(conn)
        for i in range(events):
            time.sleep(gap)
            chunk = {"object": "chat.completion.chunk", "id": "x", "model": "m", "i": i, "sent": time.monotonic(),
                     "choices": [{"index": 0, "delta": {"content": "tok"}}]}  # fmt: skip
            conn.sendall(b"data: " + orjson.dumps(chunk) + b"\n\n")
        conn.sendall(b"data: [DONE]\n\n")
        conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    proc = subprocess.Popen([STREAMKIT, "fetch", "--base-url", f"http://127.0.0.1:{port}", "-m", "m", "hi"],
                            stdout=subprocess.PIPE, env={**_env(), "OPENAI_API_KEY": "sk-bench"})  # fmt: skip
    latencies: list[float] = []
    assert proc.stdout is not None
    buf = b""
    for data, now in _reads(proc.stdout.fileno()):
        buf += data
        *lines, buf = buf.split(b"\n")
        for line in lines:
            ev = orjson.loads(line)
            sent = ev["data"].get("sent") if isinstance(ev.get("data"), dict) else None
            if sent is not None:
                latencies.append((now - sent) * 1000)
    proc.wait()
    thread.join(5)
    listener.close()
    latencies.sort()
    return {
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1],
        "max_ms": latencies[-1],
        "events": float(len(latencies)),
    }


def pipeline_latency(runs: int = 5, events: int = 50, wait: float = 0.4) -> dict[str, float]:
    """A live pipeline, `fetch | normalize -d openai-chat | render -f anthropic`, each stage its
    own process: how long after the upstream writes an event the pipeline writes its text, for
    the first event (medians over ``runs`` pipelines) and the later ones. The upstream answers
    ``wait`` seconds after the request, as a model's first token comes, every stage started by
    then; each event's text is a token naming it, found in the rendered output."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(runs)
    port = listener.getsockname()[1]
    sent: dict[bytes, float] = {}

    def serve() -> None:
        for _ in range(runs):
            conn, _ = listener.accept()
            start_sse(conn)
            time.sleep(wait)
            for i in range(events):
                token = f"tok{i}x".encode()
                chunk = {"object": "chat.completion.chunk", "id": "x", "model": "m",
                         "choices": [{"index": 0, "delta": {"content": token.decode()}}]}  # fmt: skip
                sent[token] = time.monotonic()
                conn.sendall(b"data: " + orjson.dumps(chunk) + b"\n\n")
                time.sleep(0.005)
            conn.sendall(b"data: [DONE]\n\n")
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    firsts: list[float] = []
    later: list[float] = []
    stages = (f"{STREAMKIT} fetch --base-url http://127.0.0.1:{port} -m m hi"
              f" | {STREAMKIT} normalize -d openai-chat | {STREAMKIT} render -f anthropic")  # fmt: skip
    for _ in range(runs):
        sent.clear()
        proc = subprocess.Popen(["sh", "-c", stages], stdout=subprocess.PIPE,
                                env={**_env(), "OPENAI_API_KEY": "sk-bench"})  # fmt: skip
        assert proc.stdout is not None
        buf = b""
        seen = 0
        for data, now in _reads(proc.stdout.fileno()):
            buf += data
            while (at := buf.find(b"tok", seen)) >= 0 and (end := buf.find(b"x", at)) >= 0:
                token = buf[at : end + 1]
                seen = end + 1
                if token in sent:
                    (firsts if token == b"tok0x" else later).append((now - sent[token]) * 1000)
        proc.wait()
    thread.join(5)
    listener.close()
    return {"first_ms": statistics.median(firsts), "later_p50_ms": statistics.median(later)}


def serve_throughput(chunks: int = 100_000) -> float:
    """Events per second `streamkit serve --replay` sustains to one client."""
    import httpx

    sys.path.insert(0, str(Path(__file__).parent))
    from dialects.openai_chat import wire_events  # type: ignore[import-not-found]

    with tempfile.TemporaryDirectory() as tmp:
        recording = Path(tmp) / "big.sse"
        with open(recording, "wb") as f:
            for _, data in wire_events(chunks):
                f.write(
                    b"data: " + (data.encode() if isinstance(data, str) else orjson.dumps(data)) + b"\n\n"
                )
        proc = subprocess.Popen([STREAMKIT, "serve", "-d", "openai-chat", "--replay", str(recording), "--port", "0"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=_env())  # fmt: skip
        try:
            assert proc.stdout is not None
            url = proc.stdout.readline().decode().strip()
            began = time.perf_counter()
            count = 0
            with httpx.stream(
                "POST",
                f"{url}/v1/chat/completions",
                timeout=60,
                json={"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]},
            ) as response:
                for chunk in response.iter_raw():
                    count += chunk.count(b"\n\n")
            elapsed = time.perf_counter() - began
        finally:
            proc.terminate()
            proc.wait()
    return count / elapsed


def run_tools_overhead(events: int, repeats: int, chat_raw: Path, timed_process: Any) -> dict[str, float]:
    """run-tools' per-event cost on a stream with no tool call, against normalize's per-event cost."""
    with tempfile.TemporaryDirectory() as tmp:
        tools = Path(tmp) / "tools.toml"
        tools.write_text('[[tools]]\nname = "noop"\nexecutor = "shell"\ncommand = ["true"]\n')
        canonical = Path(tmp) / "canonical.ndjson"
        with open(chat_raw, "rb") as src, open(canonical, "wb") as dst:
            subprocess.run([STREAMKIT, "normalize"], stdin=src, stdout=dst, check=True, env=_env())
        n_raw = sum(1 for _ in open(chat_raw, "rb"))
        n_canonical = sum(1 for _ in open(canonical, "rb"))
        t_norm = timed_process([STREAMKIT, "normalize"], chat_raw, repeats)
        t_tools = timed_process([STREAMKIT, "run-tools", "--tools", str(tools)], canonical, repeats)
    per_norm = t_norm / n_raw * 1e6
    per_tools = t_tools / n_canonical * 1e6
    return {"normalize_us": per_norm, "run_tools_us": per_tools, "ratio": per_tools / per_norm}


def tool_start_latency(samples: int = 30) -> dict[str, float]:
    """Milliseconds from writing a tool-call into a running run-tools to its tool process starting:
    the first call's, and the later ones' median and max."""
    with tempfile.TemporaryDirectory() as tmp:
        fifo = Path(tmp) / "started"
        os.mkfifo(fifo)
        tools = Path(tmp) / "tools.toml"
        tools.write_text(
            f'[[tools]]\nname = "ping"\nexecutor = "shell"\ncommand = ["sh", "-c", "printf x > {fifo}; echo ok"]\n'
        )
        # both ends held open here: reading never blocks on open, and never sees EOF between tools
        reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        keeper = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        proc = subprocess.Popen([STREAMKIT, "run-tools", "--tools", str(tools)], stdin=subprocess.PIPE,
                                stdout=subprocess.DEVNULL, env=_env())  # fmt: skip
        assert proc.stdin is not None
        times = []
        first = 0.0
        time.sleep(0.5)  # started and waiting for its first line, as behind a model
        try:
            for i in range(samples + 3):
                call = {
                    "type": "tool-call",
                    "tool_call_id": f"c{i}",
                    "tool_name": "ping",
                    "arguments": "{}",
                    "input": {},
                }
                began = time.monotonic()
                proc.stdin.write(orjson.dumps(call) + b"\n")
                proc.stdin.flush()
                select.select([reader], [], [], 30)
                os.read(reader, 1)
                if i == 0:
                    first = (time.monotonic() - began) * 1000
                if i >= 3:  # the later calls
                    times.append((time.monotonic() - began) * 1000)
        finally:
            proc.stdin.close()
            proc.wait()
            os.close(reader)
            os.close(keeper)
    times.sort()
    return {"first_ms": first, "p50_ms": statistics.median(times), "max_ms": times[-1]}
