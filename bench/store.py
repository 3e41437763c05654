"""The response store's part of the bench (`python bench/run.py --only store`): what keeping the
Responses API's responses costs a stream, and how fast a stored one is resumed.

* Added latency per event: a bare socket server writes Chat Completions chunks 2 ms apart, each
  text delta carrying the CLOCK_MONOTONIC time it was written; a Responses client streams through
  `streamkit serve --upstream openai-chat --store X` while a twin request reads the upstream
  directly (as bench/gateway.py does). Each event's latency through the gateway minus its twin's,
  p50 and p99, with ``--store none``, a SQLite file and PostgreSQL (a throwaway server, as the
  tests start one; skipped without pg_ctl or psycopg). Storing writes in batches from a thread, so
  only the terminal event waits for a commit.
* Resumption: one stored response of 100k events (a scripted upstream's 100k-word answer, made
  through the gateway), then `GET /v1/responses/{id}?stream=true&starting_after=0` read to its end
  by an httpx client: seconds, and events per second.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1]))
import gateway


def _stamps(line: bytes) -> list[float]:
    """The monotonic stamps of a Responses text delta (or of a chat chunk, read directly)."""
    if not line.startswith(b"data: {"):
        return []
    data = orjson.loads(line[6:])
    if data.get("type") == "response.output_text.delta":
        return [float(t) for t in str(data.get("delta") or "").split()]
    if data.get("object") == "chat.completion.chunk":
        text = "".join((c.get("delta") or {}).get("content") or "" for c in data.get("choices") or ())
        return [float(t) for t in text.split()]
    return []


def _latencies(url: str, path: str, body: dict[str, Any], out: list[float]) -> None:
    import httpx

    with (
        httpx.Client(timeout=120) as client,
        client.stream("POST", url + path, json=body, headers={"authorization": "Bearer x"}) as response,
    ):
        for line in response.iter_lines():
            now = time.monotonic()
            out += [(now - t) * 1000 for t in _stamps(line.encode())]


def added_latency(store: str, events: int = 2000, gap: float = 0.002) -> dict[str, float]:
    """p50/p99 (ms) of the latency a gateway with this store adds to each event of a Responses stream."""
    upstream, _, listener = gateway._timed_upstream(events, gap)
    chat = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    responses = {"model": "m", "stream": True, "input": "hi"}
    try:
        with gateway.serving("--upstream", "openai-chat", "--base-url", upstream, "--store", store) as (
            gw,
            _,
        ):
            _latencies(gw, "/v1/responses", {**responses, "stream": False}, [])  # warm: imports, tables
            direct: list[float] = []
            via: list[float] = []
            pair = [threading.Thread(target=_latencies, args=(upstream, "/chat/completions", chat, direct)),
                    threading.Thread(target=_latencies, args=(gw, "/v1/responses", responses, via))]  # fmt: skip
            for thread in pair:
                thread.start()
            for thread in pair:
                thread.join()
    finally:
        listener.close()
    added = [v - d for v, d in zip(via, direct)]
    return {
        "events": len(added),
        "added_p50_ms": statistics.median(added),
        "added_p99_ms": gateway._pct(added, 0.99),
    }


def resumption(store: str, tmp: Path, events: int = 100_000) -> dict[str, float]:
    """Seconds to store a response of ``events`` text deltas, and to stream it back whole."""
    import httpx

    script = tmp / "long.json"
    script.write_bytes(orjson.dumps([{"text": " ".join(f"w{i}" for i in range(events))}]))
    with (
        gateway.serving("-d", "openai-chat", "--script", str(script)) as (up, _),
        gateway.serving("--upstream", "openai-chat", "--base-url", up + "/v1", "--store", store) as (gw, _),
        httpx.Client(timeout=600) as client,
    ):
        began = time.perf_counter()
        made = client.post(gw + "/v1/responses", json={"model": "m", "input": "talk"}).json()
        stored = time.perf_counter() - began
        began = time.perf_counter()
        n = 0
        with client.stream("GET", f"{gw}/v1/responses/{made['id']}", params={"stream": "true",
                                                                           "starting_after": "0"}) as answer:  # fmt: skip
            for line in answer.iter_lines():
                n += line.startswith("data: ")
        resumed = time.perf_counter() - began
    return {"events": n, "store_s": stored, "resume_s": resumed, "resume_events_per_s": n / resumed}


@contextmanager
def postgres() -> Iterator[str | None]:
    """A throwaway PostgreSQL's DSN (the tests' fixture), or None without PostgreSQL or psycopg."""
    try:
        from tests.serve.postgres import postgres_dsn

        manager = postgres_dsn()
        dsn = manager.__enter__()
    except BaseException as exc:  # pytest's Skipped is a BaseException
        print(f"  (PostgreSQL skipped: {exc})", flush=True)
        yield None
        return
    try:
        yield dsn
    finally:
        with suppress(BaseException):
            manager.__exit__(None, None, None)


def bench_store(report: Any, results: dict[str, Any], events: int = 100_000) -> None:
    print(
        "\nthe response store: serve --upstream openai-chat --store X (real processes over loopback)",
        flush=True,
    )
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder, postgres() as dsn:
        tmp = Path(folder)
        stores = {"none": "none", "sqlite": str(tmp / "bench.sqlite3")}
        if dsn:
            stores["postgresql"] = dsn
        for name, spec in stores.items():
            row = out[name] = added_latency(spec)
            report(f"added latency p50 / p99, Responses client, store {name}",
                   f"{row['added_p50_ms']:.2f} / {row['added_p99_ms']:.2f} ms")  # fmt: skip
        for name, spec in stores.items():
            if name == "none":
                continue
            row = out[f"{name}_resume"] = resumption(spec, tmp, events)
            report(f"{name}: store a {row['events'] // 1000}k-event response", f"{row['store_s']:.2f} s")
            report(f"{name}: resume it (starting_after=0) to its end", f"{row['resume_s']:.2f} s",
                   f"({row['resume_events_per_s'] / 1e3:.0f} k events/s)")  # fmt: skip
    results["store"] = out
