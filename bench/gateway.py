"""The gateway's part of `make bench`: added latency per event, one stream's throughput, and 100
concurrent streamed clients (all real processes over loopback).

* Added latency: a bare socket server writes Chat Completions chunks a few milliseconds apart,
  each text delta carrying the CLOCK_MONOTONIC time it was written. A client reads them directly,
  and through `streamkit serve --upstream openai-chat` as a Chat client (normalize + encode chat)
  and as an Anthropic client (normalize chat, encode Anthropic); each event's latency is the time
  it arrives minus the time it was written (the clock is system-wide). The added latency is the
  gateway's percentile minus the direct one.
* Throughput: one long scripted answer read from `serve --script` directly, then through a
  gateway in front of it (events per second the client receives).
* CPU per event: the gateway process's CPU time (user and system, from /proc) per event of a
  long scripted answer read through it, median of 5 requests: steadier than the throughput,
  which the upstream and the client share the machine's cores for.
* Responses clients: the same CPU per event for a Responses client reading the answer over SSE
  and over the WebSocket (``client.responses.connect()``, Codex's transport), one message per
  event, against a gateway on loopback (which offers no per-message compression there).
* First request: the time to the first byte of a server's first request and of its second, for
  `serve --script` and for a gateway (the server started anew each run, its first request sent
  once it has settled).
* Concurrency: 100 clients streaming at once through one gateway (the upstream paces its events
  so that all streams are open together); every stream must complete with exactly its text. The
  gateway's peak RSS above its idle RSS, per open stream.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from live import start_sse  # (a sibling module: bench/ is on sys.path, as bench/run.py runs)

BIN = Path(sys.executable).parent
STREAMKIT = str(BIN / "streamkit")


def _env() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONUNBUFFERED", "OPENAI_API_KEY", "ANTHROPIC_API_KEY")
    }


@contextmanager
def serving(*args: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    proc = subprocess.Popen([STREAMKIT, "serve", *args, "--port", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=_env())  # fmt: skip
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().decode().strip(), proc
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _timed_upstream(events: int, gap: float) -> tuple[str, threading.Thread, socket.socket]:
    """A bare SSE server answering each request with ``events`` chat chunks ``gap`` seconds apart,
    each text delta being the monotonic time it was written."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)

    def answer(conn: socket.socket) -> None:
        start_sse(conn)
        for _ in range(events):
            time.sleep(gap)
            chunk = {"object": "chat.completion.chunk", "id": "chatcmpl-b", "model": "m", "created": 0,
                     "choices": [{"index": 0, "delta": {"content": f"{time.monotonic():.6f} "}, "finish_reason": None}]}  # fmt: skip
            conn.sendall(b"data: " + orjson.dumps(chunk) + b"\n\n")
        done = {"object": "chat.completion.chunk", "id": "chatcmpl-b", "model": "m", "created": 0,
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}  # fmt: skip
        conn.sendall(b"data: " + orjson.dumps(done) + b"\n\ndata: [DONE]\n\n")
        conn.close()

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=answer, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}", thread, listener


def _stamps(line: bytes) -> list[float]:
    """The monotonic stamps in one SSE data line of a chat chunk or an Anthropic text delta."""
    if not line.startswith(b"data: {"):
        return []
    data = orjson.loads(line[6:])
    text = ""
    if data.get("object") == "chat.completion.chunk":
        text = "".join((c.get("delta") or {}).get("content") or "" for c in data.get("choices") or ())
    elif data.get("type") == "content_block_delta":
        text = (data.get("delta") or {}).get("text") or ""
    return [float(t) for t in text.split()]


def _latencies(url: str, path: str, body: dict[str, Any], headers: dict[str, str], out: list[float]) -> None:
    """Each event's latency (ms), in order, into ``out``."""
    import httpx

    with (
        httpx.Client(timeout=60) as client,
        client.stream("POST", url + path, json=body, headers=headers) as response,
    ):
        for line in response.iter_lines():
            now = time.monotonic()
            out += [(now - t) * 1000 for t in _stamps(line.encode())]


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))]


def added_latency(events: int = 2000, gap: float = 0.002) -> dict[str, Any]:
    """Client-observed latency per event (ms), read directly from the upstream and through the
    gateway at the same time (two requests whose events are written side by side), so that each
    event's added latency is its latency through the gateway minus its twin's read directly."""
    upstream, _, listener = _timed_upstream(events, gap)
    chat = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    anthropic = {
        "model": "m",
        "stream": True,
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "hi"}],
    }
    out: dict[str, Any] = {"events": events}
    try:
        with serving("--upstream", "openai-chat", "--base-url", upstream) as (gw, _):
            for name, path, body, headers in (
                ("chat", "/v1/chat/completions", chat, {"authorization": "Bearer x"}),
                (
                    "anthropic",
                    "/v1/messages",
                    anthropic,
                    {"x-api-key": "x", "anthropic-version": "2023-06-01"},
                ),
            ):
                direct: list[float] = []
                via: list[float] = []
                pair = [threading.Thread(target=_latencies, args=(upstream, "/chat/completions", chat, {}, direct)),
                        threading.Thread(target=_latencies, args=(gw, path, body, headers, via))]  # fmt: skip
                for thread in pair:
                    thread.start()
                for thread in pair:
                    thread.join()
                added = [v - d for v, d in zip(via, direct)]
                out[name] = {
                    "direct_p50_ms": statistics.median(direct), "via_p50_ms": statistics.median(via),
                    "added_p50_ms": statistics.median(added), "added_p99_ms": _pct(added, 0.99),
                }  # fmt: skip
    finally:
        listener.close()
    return out


def _script(tmp: Path, turns: int, words: int) -> Path:
    text = " ".join(f"w{i}" for i in range(words))
    path = tmp / "script.json"
    path.write_bytes(orjson.dumps([{"text": text}] * turns))
    return path


def _sse_events(url: str, body: dict[str, Any]) -> int:
    """The SSE events of one streamed answer to ``body`` POSTed to ``url``."""
    import httpx

    n = 0
    with httpx.Client(timeout=120) as client, client.stream("POST", url, json=body) as response:
        for line in response.iter_lines():
            n += line.startswith("data: ")
    return n


def _count_events(url: str) -> tuple[int, float]:
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    began = time.perf_counter()
    n = _sse_events(url + "/v1/chat/completions", body)
    return n, time.perf_counter() - began


def _first_bytes(url: str, requests: int) -> list[float]:
    """Milliseconds to the first byte of each of ``requests`` chat requests in turn."""
    import httpx

    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    times = []
    with httpx.Client(timeout=60) as client:
        for _ in range(requests):
            began = time.perf_counter()
            with client.stream("POST", url + "/v1/chat/completions", json=body) as response:
                chunks = response.iter_raw()
                next(chunks)
                times.append((time.perf_counter() - began) * 1000)
                for _ in chunks:
                    pass
    return times


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_per_event(words: int = 60_000, requests: int = 5) -> float:
    """The gateway's CPU microseconds per event of a long answer (median over ``requests``)."""
    with tempfile.TemporaryDirectory() as tmp:
        script = _script(Path(tmp), requests + 1, words)
        with (
            serving("-d", "openai-chat", "--script", str(script)) as (up, _),
            serving("--upstream", "openai-chat", "--base-url", up + "/v1") as (gw, proc),
        ):
            _count_events(gw)  # (the first request makes what the server needs)
            per_event = []
            for _ in range(requests):
                began = _cpu_seconds(proc.pid)
                n, _seconds = _count_events(gw)
                per_event.append((_cpu_seconds(proc.pid) - began) / n * 1e6)
    return statistics.median(per_event)


def _responses_sse(url: str) -> int:
    return _sse_events(url + "/v1/responses", {"model": "m", "stream": True, "store": False, "input": "hi"})


def _responses_websocket(url: str) -> int:
    from websockets.sync.client import connect

    with connect(url.replace("http://", "ws://") + "/v1/responses", max_size=None) as ws:
        ws.send(
            orjson.dumps({"type": "response.create", "model": "m", "store": False, "input": "hi"}).decode()
        )
        n = 0
        while True:
            n += 1
            if orjson.loads(ws.recv(timeout=120))["type"] in (
                "response.completed",
                "response.failed",
                "error",
            ):
                return n


def responses_cpu_per_event(words: int = 30_000, requests: int = 5) -> dict[str, float]:
    """The gateway's CPU microseconds per event for a Responses client over SSE and over the
    WebSocket (median over ``requests`` each, taken in turn)."""
    with tempfile.TemporaryDirectory() as tmp:
        script = _script(Path(tmp), 2 * requests + 2, words)
        with (
            serving("-d", "openai-chat", "--script", str(script)) as (up, _),
            serving("--upstream", "openai-chat", "--base-url", up + "/v1", "--store", "none") as (gw, proc),
        ):
            per_event: dict[str, list[float]] = {"sse": [], "websocket": []}
            _responses_sse(gw), _responses_websocket(gw)  # (the first of each makes what it needs)
            for _ in range(requests):
                for name, read in (("sse", _responses_sse), ("websocket", _responses_websocket)):
                    began = _cpu_seconds(proc.pid)
                    n = read(gw)
                    per_event[name].append((_cpu_seconds(proc.pid) - began) / n * 1e6)
    return {name: statistics.median(values) for name, values in per_event.items()}


def first_request(runs: int = 5, settle: float = 0.5) -> dict[str, dict[str, float]]:
    """Medians over ``runs`` servers of the first and the second request's first byte (ms)."""
    upstream, _, listener = _timed_upstream(2, 0.0)
    out: dict[str, dict[str, float]] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            script = Path(tmp) / "script.json"
            script.write_text('[{"text": "a short answer"}]')
            for name, args in (("script", ("--script", str(script))),
                               ("gateway", ("--upstream", "openai-chat", "--base-url", upstream))):  # fmt: skip
                pairs = []
                for _ in range(runs):
                    with serving(*args) as (url, _proc):
                        time.sleep(settle)
                        pairs.append(_first_bytes(url, 2))
                out[name] = {"first_ms": statistics.median(p[0] for p in pairs),
                             "second_ms": statistics.median(p[1] for p in pairs)}  # fmt: skip
    finally:
        listener.close()
    return out


def throughput(words: int = 60_000) -> dict[str, float]:
    """Events per second one client receives from `serve --script`, directly and through a gateway."""
    with tempfile.TemporaryDirectory() as tmp:
        script = _script(Path(tmp), 2, words)
        with serving("-d", "openai-chat", "--script", str(script)) as (up, _):
            n_direct, t_direct = _count_events(up)
            with serving("--upstream", "openai-chat", "--base-url", up + "/v1") as (gw, _):
                n_gw, t_gw = _count_events(gw)
    return {
        "direct_events_per_s": n_direct / t_direct,
        "gateway_events_per_s": n_gw / t_gw,
        "events": float(n_gw),
    }


def _rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def concurrency(clients: int = 100, words: int = 200) -> dict[str, Any]:
    """``clients`` streams at once through one gateway: how many complete intact, and the gateway's
    memory per open stream."""
    import httpx

    expected = " ".join(f"w{i}" for i in range(words))

    async def one(client: httpx.AsyncClient, url: str) -> bool:
        body = {
            "model": "m",
            "stream": True,
            "max_tokens": 64,
            "messages": [{"role": "user", "content": "hi"}],
        }
        text = ""
        async with client.stream(
            "POST", url + "/v1/messages", json=body, headers={"anthropic-version": "2023-06-01"}
        ) as response:
            async for line in response.aiter_lines():
                if line.startswith("data: {"):
                    data = orjson.loads(line[6:])
                    if data.get("type") == "content_block_delta":
                        text += data["delta"].get("text") or ""
        return text == expected

    async def run(url: str, pid: int) -> tuple[int, int]:
        peak = 0
        limits = httpx.Limits(max_connections=clients + 10)
        async with httpx.AsyncClient(timeout=120, limits=limits) as client:
            tasks = [asyncio.create_task(one(client, url)) for _ in range(clients)]
            while not all(t.done() for t in tasks):
                peak = max(peak, _rss_kb(pid))
                await asyncio.sleep(0.05)
            return sum(t.result() for t in tasks), peak

    with tempfile.TemporaryDirectory() as tmp:
        script = _script(Path(tmp), clients, words)
        with serving("-d", "openai-chat", "--script", str(script), "--realtime", "--delay", "0.01") as (up, _), \
                serving("--upstream", "openai-chat", "--base-url", up + "/v1") as (gw, proc):  # fmt: skip
            import httpx as _httpx

            _httpx.get(gw + "/v1/models", timeout=30)  # warm: the first request imports what answering needs
            idle = _rss_kb(proc.pid)
            ok, peak = asyncio.run(run(gw, proc.pid))
    return {"clients": clients, "complete": ok, "idle_rss_mb": idle / 1024, "peak_rss_mb": peak / 1024,
            "per_stream_kb": (peak - idle) / clients}  # fmt: skip


if __name__ == "__main__":
    print(orjson.dumps({"latency": added_latency(), "throughput": throughput(), "concurrency": concurrency()},
                       option=orjson.OPT_INDENT_2).decode())  # fmt: skip
