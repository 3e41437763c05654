"""streamkit's benchmark: `make bench` (or `python bench/run.py [--chunks N] [--json FILE]`).

Everything is measured in one run on the same machine and reported as ratios, because absolute
times on shared machines are noise. Each timing is the best of several repeats.

* normalize (the CLI, a real process reading a file on stdin and writing to /dev/null) against
  the floor: a plain orjson read-parse-dump-write loop over the same lines in the same way;
* accumulate, in-process (the stage generator over parsed events) and as the CLI, on text deltas
  and on tool-argument fragments; 400k fragments folded end to end;
* the same chat chunks through the official SDK's accumulator (openai's ChatCompletionStreamState,
  chunks validated into its pydantic types as the SDK does when streaming) against streamkit's
  normalize + accumulate over the same chunks;
* our SSE decoder against httpx-sse's on the same bytes (why we keep our own);
* cold start of `streamkit normalize </dev/null` against `python3 -c pass`.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).parent))
import real

BIN = Path(sys.executable).parent
STREAMKIT = str(BIN / "streamkit")

FLOOR = """
import sys, orjson
loads, dumps, opt = orjson.loads, orjson.dumps, orjson.OPT_APPEND_NEWLINE
out = open(1, "wb", buffering=65536, closefd=False)
write = out.write
for line in sys.stdin.buffer:
    write(dumps(loads(line), option=opt))
out.flush()
"""

WORDS = ["Hello", " world", ",", " this", " is", " a", " streamed", " token", ".", "\n"]


def chat_chunk(i: int, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    """A chunk shaped like today's api.openai.com chunks (service_tier, obfuscation, usage: null)."""
    return {
        "id": "chatcmpl-D8Z5oo6uDh67AD85p73ksdT1KxhE0",
        "object": "chat.completion.chunk",
        "created": 1770933892,
        "model": "gpt-4.1-nano-2025-04-14",
        "service_tier": "default",
        "system_fingerprint": "fp_de604bd877",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        "usage": None,
        "obfuscation": "Qup1BsQ3"[: 1 + i % 8],
    }


def text_chunks(n: int) -> list[dict[str, Any]]:
    chunks = [chat_chunk(0, {"role": "assistant", "content": "", "refusal": None})]
    chunks += [chat_chunk(i, {"content": WORDS[i % len(WORDS)]}) for i in range(n - 2)]
    chunks.append(chat_chunk(n, {}, "stop"))
    return chunks


def tool_chunks(calls: int, fragments: int) -> list[dict[str, Any]]:
    chunks = [chat_chunk(0, {"role": "assistant", "content": None})]
    for c in range(calls):
        first = {
            "index": c,
            "id": f"call_{c:024d}",
            "type": "function",
            "function": {"name": f"tool_{c}", "arguments": ""},
        }
        chunks.append(chat_chunk(0, {"tool_calls": [first]}))
        chunks.append(chat_chunk(0, {"tool_calls": [{"index": c, "function": {"arguments": '{"data": "'}}]}))
        for i in range(fragments - 2):
            chunks.append(
                chat_chunk(
                    i, {"tool_calls": [{"index": c, "function": {"arguments": WORDS[i % 9].strip() or "x"}}]}
                )
            )
        chunks.append(chat_chunk(0, {"tool_calls": [{"index": c, "function": {"arguments": '"}'}}]}))
    chunks.append(chat_chunk(0, {}, "tool_calls"))
    return chunks


def write_raw(path: Path, chunks: list[dict[str, Any]]) -> None:
    with open(path, "wb") as f:
        for chunk in chunks:
            f.write(
                orjson.dumps(
                    {"type": "raw", "dialect": None, "event": None, "data": chunk},
                    option=orjson.OPT_APPEND_NEWLINE,
                )
            )
        f.write(b'{"type":"raw","dialect":null,"event":null,"data":"[DONE]"}\n')


def timed_process(args: list[str], stdin_path: Path | str, repeats: int) -> float:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    best = float("inf")
    for _ in range(repeats):
        with open(stdin_path, "rb") as stdin, open(os.devnull, "wb") as devnull:
            began = time.perf_counter()
            subprocess.run(args, stdin=stdin, stdout=devnull, check=True, env=env)
            best = min(best, time.perf_counter() - began)
    return best


def timed(fn: Any, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        began = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - began)
    return best


def bench_accumulate(tmpdir: Path, repeats: int, report: Any, results: dict[str, Any]) -> None:
    from streamkit.stages.accumulate import accumulate
    from streamkit.stages.normalize import normalize

    print("\naccumulate", flush=True)
    with open(tmpdir / "chat.ndjson", "rb") as f:
        canonical = list(normalize(orjson.loads(line) for line in f))
    with open(tmpdir / "tools.ndjson", "rb") as f:
        tool_events = list(normalize(orjson.loads(line) for line in f))
    gc.freeze()  # the events held here are not garbage: keep the collector off them
    n_text = sum(1 for e in canonical if e["type"] == "text-delta")
    n_frag = sum(1 for e in tool_events if e["type"] == "tool-input-delta")
    t_text = timed(lambda: sum(1 for _ in accumulate(canonical)), repeats)
    t_text_final = timed(lambda: sum(1 for _ in accumulate(canonical, final=True)), repeats)
    t_tools = timed(lambda: sum(1 for _ in accumulate(tool_events)), repeats)
    report(
        "in-process, text deltas (all events out)", f"{n_text / t_text / 1e6:.2f} M chunks/s", "goal >= 1M/s"
    )
    report("in-process, text deltas (--final)", f"{n_text / t_text_final / 1e6:.2f} M chunks/s")
    report(
        "in-process, tool-argument fragments", f"{n_frag / t_tools / 1e6:.2f} M chunks/s", "goal >= 0.5M/s"
    )
    frags400 = list(normalize({"type": "raw", "data": c} for c in tool_chunks(4, 100_000)))
    t400 = timed(lambda: sum(1 for _ in accumulate(frags400, final=True)), repeats)
    n400 = sum(1 for e in frags400 if e["type"] == "tool-input-delta")
    report(f"{n400:,} fragments folded (--final)", f"{t400 * 1000:.0f} ms", "goal < 1 s")
    results.update(
        accumulate_text_mps=n_text / t_text / 1e6,
        accumulate_tools_mps=n_frag / t_tools / 1e6,
        fragments_400k_s=t400,
    )
    with open(tmpdir / "canonical.ndjson", "wb") as f:
        for e in canonical:
            f.write(orjson.dumps(e, option=orjson.OPT_APPEND_NEWLINE))
    cli_acc = timed_process([STREAMKIT, "accumulate"], tmpdir / "canonical.ndjson", repeats)
    cli_final = timed_process([STREAMKIT, "accumulate", "--final"], tmpdir / "canonical.ndjson", repeats)
    report("CLI accumulate (parse + write every event)", f"{n_text / cli_acc / 1e6:.2f} M chunks/s")
    report("CLI accumulate --final", f"{n_text / cli_final / 1e6:.2f} M chunks/s")
    results.update(
        cli_accumulate_mps=n_text / cli_acc / 1e6, cli_accumulate_final_mps=n_text / cli_final / 1e6
    )
    gc.unfreeze()


def bench_dialects(opts: Any, report: Any, results: dict[str, Any]) -> None:
    """Every dialect in bench/dialects/: normalize vs the floor, and vs the official SDK's accumulator."""
    import importlib.util

    from streamkit.stages.accumulate import accumulate
    from streamkit.stages.normalize import normalize

    modules = sorted(p for p in (Path(__file__).parent / "dialects").glob("*.py") if p.name != "__init__.py")
    print(f"\nevery dialect: {opts.dialect_events:,} wire events of one response each", flush=True)
    results["dialects"] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for path in modules:
            spec = importlib.util.spec_from_file_location(f"bench_dialect_{path.stem}", path)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            name = module.NAME
            wire = module.wire_events(opts.dialect_events)
            raw_path = Path(tmp) / f"{path.stem}.ndjson"
            with open(raw_path, "wb") as f:
                for event, data in wire:
                    f.write(
                        orjson.dumps(
                            {"type": "raw", "dialect": name, "event": event, "data": data},
                            option=orjson.OPT_APPEND_NEWLINE,
                        )
                    )
            floor = timed_process([sys.executable, "-c", FLOOR], raw_path, opts.repeats)
            norm = timed_process([STREAMKIT, "normalize"], raw_path, opts.repeats)
            figures: dict[str, Any] = {"normalize_ratio": floor / norm, "events_per_s": len(wire) / norm}
            report(f"{name}: normalize / floor", f"{floor / norm:.2f}x", "goal >= 0.5x")
            sdk = getattr(module, "sdk_accumulate", None)
            if sdk is not None:
                sample = wire[: opts.sdk_chunks] + wire[-2:] if len(wire) > opts.sdk_chunks else wire

                def ours(sample: list[Any] = sample, name: str = name) -> None:
                    raws = ({"type": "raw", "dialect": name, "event": e, "data": d} for e, d in sample)
                    for _ in accumulate(normalize(raws), final=True):
                        pass

                try:
                    t_sdk = timed(lambda sample=sample, sdk=sdk: sdk(sample), 1)
                except ImportError as exc:
                    report(f"{name}: official SDK accumulator", "not installed", str(exc))
                else:
                    t_ours = timed(ours, opts.repeats)
                    figures["sdk_ratio"] = t_sdk / t_ours
                    report(f"{name}: vs the official SDK accumulator", f"{t_sdk / t_ours:.0f}x faster")
            results["dialects"][name] = figures


def bench_live(opts: Any, report: Any, results: dict[str, Any]) -> None:
    """fetch's added latency, serve's throughput, run-tools' overhead and tool start-up."""
    import live

    print("\nfetch, serve and run-tools (real processes over loopback)", flush=True)
    latency = live.fetch_latency()
    report(
        "fetch added latency p50 (server write -> raw line)", f"{latency['p50_ms']:.2f} ms", "goal <= 1 ms"
    )
    report("fetch added latency p99", f"{latency['p99_ms']:.2f} ms", f"(max {latency['max_ms']:.1f} ms)")
    pipeline = live.pipeline_latency()
    report(
        "fetch | normalize | render -f anthropic: upstream write -> text out, first event",
        f"{pipeline['first_ms']:.2f} ms",
        f"(later events p50 {pipeline['later_p50_ms']:.2f} ms)",
    )
    events_per_s = live.serve_throughput()
    report("serve --replay sustained, one client", f"{events_per_s / 1e3:.0f} k events/s")
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "chat.ndjson"
        sys.path.insert(0, str(Path(__file__).parent))
        from dialects.openai_chat import wire_events

        with open(raw, "wb") as f:
            for event, data in wire_events(opts.dialect_events):
                f.write(
                    orjson.dumps(
                        {"type": "raw", "dialect": None, "event": event, "data": data},
                        option=orjson.OPT_APPEND_NEWLINE,
                    )
                )
        overhead = live.run_tools_overhead(opts.dialect_events, opts.repeats, raw, timed_process)
    report("run-tools per event, no tool called", f"{overhead['run_tools_us']:.2f} us")
    report("normalize per event, same stream", f"{overhead['normalize_us']:.2f} us")
    report("run-tools / normalize per-event cost", f"{overhead['ratio']:.2f}x", "goal <= 1.1x")
    start = live.tool_start_latency()
    report(
        "tool-call event -> tool process started (p50)",
        f"{start['p50_ms']:.1f} ms",
        f"(max {start['max_ms']:.1f} ms; the first call {start['first_ms']:.1f} ms)",
    )
    results["live"] = {
        "fetch_latency": latency,
        "pipeline_latency": pipeline,
        "serve_events_per_s": events_per_s,
        "run_tools": overhead,
        "tool_start": start,
    }


def bench_gateway(report: Any, results: dict[str, Any]) -> None:
    """serve --upstream: added latency per event, one stream's throughput, 100 clients at once."""
    import gateway

    print("\nthe gateway: serve --upstream openai-chat (real processes over loopback)", flush=True)
    latency = gateway.added_latency()
    for name, label in (("chat", "Chat client"), ("anthropic", "Anthropic client")):
        row = latency[name]
        report(f"gateway added latency p50, {label}", f"{row['added_p50_ms']:.2f} ms", "goal <= 0.3 ms")
        report(f"gateway added latency p99, {label}", f"{row['added_p99_ms']:.2f} ms", "goal <= 1 ms")
    cpu = gateway.cpu_per_event()
    report("the gateway's CPU per event, Chat upstream -> Chat client", f"{cpu:.1f} us")
    responses = gateway.responses_cpu_per_event()
    report("the same, Responses client over SSE / over the WebSocket",
           f"{responses['sse']:.1f} / {responses['websocket']:.1f} us")  # fmt: skip
    first = gateway.first_request()
    for name, label in (("script", "serve --script"), ("gateway", "the gateway")):
        row = first[name]
        report(
            f"{label}: first request's first byte / the second's",
            f"{row['first_ms']:.1f} / {row['second_ms']:.1f} ms",
        )
    flow = gateway.throughput()
    report("serve --script alone, one stream", f"{flow['direct_events_per_s'] / 1e3:.0f} k events/s")
    report("the same through the gateway", f"{flow['gateway_events_per_s'] / 1e3:.0f} k events/s",
           f"({flow['gateway_events_per_s'] / flow['direct_events_per_s']:.2f}x)")  # fmt: skip
    crowd = gateway.concurrency()
    report(
        "100 concurrent streamed clients, complete and intact", f"{crowd['complete']} / {crowd['clients']}"
    )
    report("gateway memory per open stream", f"{crowd['per_stream_kb']:.0f} KB",
           f"(idle {crowd['idle_rss_mb']:.0f} MB, peak {crowd['peak_rss_mb']:.0f} MB)")  # fmt: skip
    results["gateway"] = {
        "latency": latency,
        "cpu_per_event": cpu,
        "responses_cpu_per_event": responses,
        "first_request": first,
        "throughput": flow,
        "concurrency": crowd,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chunks", type=int, default=1_000_000, help="chunks in the synthetic chat stream")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--sdk-chunks", type=int, default=50_000, help="chunks fed to the SDK accumulator (it is slow)"
    )
    parser.add_argument("--dialect-events", type=int, default=200_000, help="wire events per dialect stream")
    parser.add_argument(
        "--real-events", type=int, default=200_000, help="raw events per dialect in the real mixes"
    )
    parser.add_argument(
        "--only",
        choices=["real", "cold", "store", "batch"],
        help="run one part: the real mixes (with cold start), cold start alone, the response store, or batch convert",
    )
    parser.add_argument(
        "--dialect", action="append", help="with --only real: only these dialects (repeatable)"
    )
    parser.add_argument("--json", help="also write the figures to this file")
    opts = parser.parse_args()

    from streamkit.stages.accumulate import accumulate
    from streamkit.stages.normalize import normalize

    results: dict[str, Any] = {"python": sys.version.split()[0], "chunks": opts.chunks}
    # (make bench builds them first; the figures of a run without them are the interpreted code's)
    from streamkit._native import compiled

    results["compiled"] = compiled()
    print(f"modules compiled with mypyc (streamkit/_native.py): {'yes' if results['compiled'] else 'no'}")
    rows: list[tuple[str, str, str]] = []

    def report(name: str, value: str, goal: str = "") -> None:
        rows.append((name, value, goal))
        print(f"  {name:<58} {value:>18}   {goal}", flush=True)

    if opts.only in ("store", "batch"):
        if opts.only == "store":
            import store

            store.bench_store(report, results)
        else:
            bench_batch(report, results)
        write_results(opts, results)
        return
    if opts.only:
        if opts.only == "real":
            with tempfile.TemporaryDirectory() as tmp:
                real.bench_real(opts, FLOOR, report, results, Path(tmp))
        bench_cold(report, results)
        write_results(opts, results)
        return

    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        print(f"generating {opts.chunks:,} chat chunks and 4 x 25,000 tool fragments ...", flush=True)
        chat = text_chunks(opts.chunks)
        write_raw(tmpdir / "chat.ndjson", chat)
        tools = tool_chunks(4, 25_000)
        write_raw(tmpdir / "tools.ndjson", tools)
        size_mb = (tmpdir / "chat.ndjson").stat().st_size / 1e6

        # --- normalize vs the orjson floor --------------------------------------------------
        print(
            "\nnormalize (CLI, file on stdin -> /dev/null) vs the orjson floor over the same lines",
            flush=True,
        )
        floor = timed_process([sys.executable, "-c", FLOOR], tmpdir / "chat.ndjson", opts.repeats)
        norm = timed_process([STREAMKIT, "normalize"], tmpdir / "chat.ndjson", opts.repeats)
        results["floor_s"], results["normalize_s"] = floor, norm
        report(
            "orjson floor (read, parse, dump, write)",
            f"{opts.chunks / floor / 1e6:.2f} M lines/s",
            f"({size_mb:.0f} MB)",
        )
        report("streamkit normalize", f"{opts.chunks / norm / 1e6:.2f} M chunks/s")
        report("normalize / floor throughput", f"{floor / norm:.2f}x", "goal >= 0.6x")
        tfloor = timed_process([sys.executable, "-c", FLOOR], tmpdir / "tools.ndjson", opts.repeats)
        tnorm = timed_process([STREAMKIT, "normalize"], tmpdir / "tools.ndjson", opts.repeats)
        report("normalize / floor on tool-argument fragments", f"{tfloor / tnorm:.2f}x")
        results["normalize_ratio"], results["normalize_tools_ratio"] = floor / norm, tfloor / tnorm

        bench_accumulate(tmpdir, opts.repeats, report, results)

        # --- the official SDK's accumulator ------------------------------------------------
        print(
            f"\nopenai ChatCompletionStreamState vs streamkit normalize+accumulate ({opts.sdk_chunks:,} chunks, in-process)",
            flush=True,
        )
        try:
            from openai.lib.streaming.chat import ChatCompletionStreamState
            from openai.types.chat import ChatCompletionChunk
        except ImportError:
            report("openai SDK", "not installed", "(pip install openai)")
        else:
            sample = [*chat[: opts.sdk_chunks - 1], chat[-1]]

            def sdk() -> None:
                state = ChatCompletionStreamState()
                for chunk in sample:
                    state.handle_chunk(ChatCompletionChunk.model_validate(chunk))
                state.get_final_completion()

            def ours() -> None:
                for _ in accumulate(
                    normalize({"type": "raw", "dialect": "openai-chat", "data": c} for c in sample),
                    final=True,
                ):
                    pass

            t_sdk = timed(sdk, 1)
            t_ours = timed(ours, opts.repeats)
            report("openai ChatCompletionStreamState", f"{len(sample) / t_sdk / 1e3:.0f} k chunks/s")
            report("streamkit normalize + accumulate", f"{len(sample) / t_ours / 1e3:.0f} k chunks/s")
            report("streamkit / SDK speed", f"{t_sdk / t_ours:.0f}x faster", "(expected ~50x)")
            results["sdk_ratio"] = t_sdk / t_ours

        # --- SSE decoding ------------------------------------------------------------------
        print("\nSSE decoding of the same bytes (20,000 chat chunks)", flush=True)
        sse = b"".join(b"data: " + orjson.dumps(c) + b"\n\n" for c in chat[:20_000]) + b"data: [DONE]\n\n"
        from streamkit.framing.sse import SSEDecoder

        def ours_sse() -> None:
            decoder = SSEDecoder()
            for i in range(0, len(sse), 65536):
                decoder.feed(sse[i : i + 65536])
            decoder.close()

        t_ours_sse = timed(ours_sse, opts.repeats)
        report("streamkit SSEDecoder", f"{20_000 / t_ours_sse / 1e6:.2f} M events/s")
        try:
            import httpx
            from httpx_sse import EventSource
        except ImportError:
            report("httpx-sse", "not installed", "(pip install httpx-sse)")
        else:

            def theirs_sse() -> None:
                response = httpx.Response(
                    200, headers={"content-type": "text/event-stream"}, stream=httpx.ByteStream(sse)
                )
                for _ in EventSource(response).iter_sse():
                    pass

            t_theirs = timed(theirs_sse, opts.repeats)
            report("httpx-sse EventSource", f"{20_000 / t_theirs / 1e6:.2f} M events/s")
            report("streamkit / httpx-sse speed", f"{t_theirs / t_ours_sse:.1f}x")
            results["sse_ratio"] = t_theirs / t_ours_sse

        real.bench_real(opts, FLOOR, report, results, tmpdir)
    bench_dialects(opts, report, results)
    bench_live(opts, report, results)
    bench_gateway(report, results)
    bench_batch(report, results)
    bench_cold(report, results)
    write_results(opts, results)


def write_results(opts: Any, results: dict[str, Any]) -> None:
    if opts.json:
        Path(opts.json).write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))


def bench_batch(report: Any, results: dict[str, Any], repeats: int = 5) -> None:
    """``convert -o DIR -j N`` over every shared recording, as the CLI (a real process, start-up
    and worker start included), and the same files times 20 so that start-up weighs less."""
    fixtures = Path(
        os.environ.get("STREAMKIT_FIXTURES") or Path(__file__).resolve().parents[2] / "shared" / "fixtures"
    )
    if not fixtures.is_dir():
        report("batch convert", "skipped", "(no shared fixtures: set STREAMKIT_FIXTURES)")
        return
    files = [p for p in fixtures.rglob("*") if p.is_file() and p.suffix != ".md"]
    print(f"\nbatch convert --to anthropic: {len(files)} shared recordings (best of {repeats})", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        many = Path(tmp, "many")
        for i in range(20):
            for p in files:
                target = many / str(i) / p.parent.name / p.name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(p.read_bytes())
        for label, source, count in (
            ("shared recordings", fixtures, len(files)),
            ("x20", many, 20 * len(files)),
        ):
            for jobs in (1, 2):
                best = float("inf")
                for _ in range(repeats if label != "x20" else 2):
                    out = Path(tmp, f"out-{jobs}")
                    began = time.perf_counter()
                    subprocess.run([STREAMKIT, "convert", "--to", "anthropic", "--ignore-errors", "-o", str(out),
                                    "-j", str(jobs), str(source)], stderr=subprocess.DEVNULL)  # fmt: skip
                    best = min(best, time.perf_counter() - began)
                report(f"convert -j {jobs}, {label} ({count} files)", f"{count / best:.0f} files/s")
                results[f"batch_{'x20_' if label == 'x20' else ''}j{jobs}_files_per_s"] = count / best


def bench_cold(report: Any, results: dict[str, Any]) -> None:
    """Cold start of normalize and accumulate against the bare interpreter."""
    print("\ncold start (median of 15)", flush=True)
    # every start reads current bytecode, as an installed wheel's does: an editable install's
    # stale .pyc (a source edited under PYTHONDONTWRITEBYTECODE, as CI and many shells set) made
    # each start compile that module again, about 10 ms of `normalize`'s start on 2026-12-05
    import compileall

    root = Path(__file__).resolve().parent.parent
    for tree in [root / "streamkit", *(root / "plugins").glob("*/streamkit_*")]:
        if tree.is_dir():
            compileall.compile_dir(tree, quiet=2)
        else:
            compileall.compile_file(tree, quiet=2)

    def median_start(args: list[str]) -> float:
        times = []
        for _ in range(15):
            with open(os.devnull, "rb") as stdin, open(os.devnull, "wb") as devnull:
                began = time.perf_counter()
                subprocess.run(args, stdin=stdin, stdout=devnull, check=True)
                times.append(time.perf_counter() - began)
        return statistics.median(times)

    # the same interpreter streamkit runs on (a `python3` on PATH may be a slow pyenv shim), in a
    # venv whose editable installs are paths (hatchling's, as make install makes them): setuptools'
    # editable hook was imported by every Python the venv started, `-c pass` too, which made the
    # ratio look about half of what it is for an installed wheel
    t_python = median_start([sys.executable, "-c", "pass"])
    report("python3 -c pass (the interpreter streamkit runs on)", f"{t_python * 1000:.0f} ms")
    # the floor's own start: orjson imports datetime, uuid, dataclasses (and inspect with it) and json
    t_orjson = median_start([sys.executable, "-c", "import orjson"])
    report("python3 -c 'import orjson' (the floor's start)", f"{t_orjson * 1000:.0f} ms",
           f"{t_orjson / t_python:.1f}x")  # fmt: skip
    results["cold_python_s"], results["cold_orjson_s"] = t_python, t_orjson
    # normalize's floor under the design (DESIGN.md section 5): every start loads pluggy, since a
    # third-party plugin's dialect wins over a built-in of the same name; pluggy imports typing
    # and inspect, 2.9x the interpreter's start on its own (bench/parsers.py surveys the parsers)
    t_floor = median_start([sys.executable, "-c", "import orjson, pluggy"])
    report("python3 -c 'import orjson, pluggy' (normalize's floor)", f"{t_floor * 1000:.0f} ms",
           f"{t_floor / t_python:.1f}x")  # fmt: skip
    results["cold_orjson_pluggy_s"] = t_floor
    for stage in ("normalize", "accumulate"):
        t_stage = median_start([STREAMKIT, stage])
        report(
            f"streamkit {stage} </dev/null",
            f"{t_stage * 1000:.0f} ms",
            f"{t_stage / t_python:.1f}x (goal <= 2.5x); {(t_stage - t_orjson) * 1000:.0f} ms over orjson's",
        )
        results[f"cold_{stage}_s"], results[f"cold_{stage}_ratio"] = t_stage, t_stage / t_python


if __name__ == "__main__":
    main()
