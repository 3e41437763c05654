"""Real mixes: every dialect's recordings in ``../shared/fixtures`` (or ``$STREAMKIT_FIXTURES``),
replayed into raw events and repeated to a few hundred thousand events, through the CLI stages.

Synthetic streams take each dialect's fast path every time; real ones carry logprobs, reasoning,
tool-argument fragments, multi-part chunks, usage-only chunks and pings. Each figure is a ratio of
CPU time (user + system of the child process) against the orjson floor over the same lines, the
median over pairs run back to back (:func:`paired`), so the machine's load matters less than
wall-clock time or the best of each side would.

* normalize: the raw NDJSON of the mix -> canonical events, against the floor over the raw lines;
* fetch --replay: the recordings' own wire bytes (concatenated) -> raw events, against the floor
  over the raw lines it writes;
* accumulate (every event out, and ``--final``): the canonical events -> + message, against the
  floor over the canonical lines;
* render -f DIALECT: the canonical events -> the dialect's own wire format again, against the
  floor over the canonical lines;
* the official SDK's accumulator on the same recordings, one recording at a time, where the SDK
  has one (bench/dialects/<name>.py ``sdk_accumulate``), against normalize + accumulate in-process.
"""

from __future__ import annotations

import importlib.util
import io
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson

BIN = Path(sys.executable).parent
STREAMKIT = str(BIN / "streamkit")
FIXTURES = Path(os.environ.get("STREAMKIT_FIXTURES") or Path(__file__).parents[2] / "shared" / "fixtures")

# folder under the fixtures -> the dialect its recordings are normalized as
FOLDERS = {
    "openai-chat": "openai-chat",
    "mistral": "openai-chat",  # Mistral's API speaks Chat Completions chunks
    "openai-responses": "openai-responses",
    "openai-assistants": "openai-assistants",
    "anthropic": "anthropic",
    "gemini": "gemini",
    "ollama": "ollama",
    "bedrock": "bedrock",
    "cohere": "cohere",
}
BENCH_MODULE = {
    "openai-chat": "openai_chat",
    "openai-responses": "openai_responses",
    "openai-assistants": "openai_assistants",
    "anthropic": "anthropic",
}
ADD_NL = orjson.OPT_APPEND_NEWLINE
#: a mix of real recordings may end in a recorded error event, which makes a stage exit 1; the
#: time is what is measured here
KEEP_GOING = ["--ignore-errors"]


def cpu_process(args: list[str], stdin_path: Path, repeats: int) -> float:
    """The least CPU time (user + system) the command took over ``repeats`` runs."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    best = float("inf")
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        with open(stdin_path, "rb") as stdin, open(os.devnull, "wb") as devnull:
            subprocess.run(args, stdin=stdin, stdout=devnull, check=True, env=env)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        best = min(best, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return best


def paired(floor: list[str], floor_input: Path, stage: list[str], stage_input: Path, repeats: int) -> Ratio:
    """The floor's CPU time over the stage's: the median over ``repeats`` pairs, each pair run back
    to back. On this shared machine the CPU a process gets done per second drifts over seconds, by
    up to half: a pair run together sees the same drift, where the best of each side (taken at
    different moments) does not. Measured: the ratio of the best of 8 runs of each side moved
    between 0.43 and 0.57 from one session to the next, for the same code."""
    ratios = []
    for _ in range(repeats):
        ratios.append(cpu_process(floor, floor_input, 1) / cpu_process(stage, stage_input, 1))
    return Ratio(statistics.median(ratios), min(ratios), max(ratios))


class Ratio(float):
    """A median ratio that knows the lowest and highest of the pairs it is the median of (how
    much one pair can say on this machine: see :func:`paired`)."""

    low: float
    high: float

    def __new__(cls, median: float, low: float, high: float) -> Ratio:
        ratio = super().__new__(cls, median)
        ratio.low, ratio.high = low, high
        return ratio

    def spread(self, invert: bool = False) -> str:
        """`` (pairs 0.52-0.66)``: the range of the pairs (of their inverses with ``invert``)."""
        low, high = (1 / self.high, 1 / self.low) if invert else (self.low, self.high)
        return f" (pairs {low:.2f}-{high:.2f})"


def recordings(dialect: str) -> list[tuple[Path, list[dict[str, Any]]]]:
    """Each recording of the dialect with its raw events (recordings that do not replay are left out)."""
    from streamkit.stages.fetch import replay

    found = []
    for folder, name in FOLDERS.items():
        if name != dialect or not (FIXTURES / folder).is_dir():
            continue
        for path in sorted((FIXTURES / folder).iterdir()):
            try:
                raws = list(replay(io.BytesIO(path.read_bytes()), dialect=dialect))
            except Exception:  # a recording that does not replay is not benchmarked
                continue
            found.append((path, raws))
    return found


def write_lines(path: Path, events: list[dict[str, Any]]) -> None:
    with open(path, "wb") as f:
        for event in events:
            f.write(orjson.dumps(event, option=ADD_NL))


def repeated(items: list[Any], at_least: int) -> list[Any]:
    times = max(1, -(-at_least // max(1, len(items))))
    return items * times


def sdk_ratio(dialect: str, recs: list[tuple[Path, list[dict[str, Any]]]], repeats: int) -> float | None:
    """The official SDK's accumulator against normalize + accumulate over the same recordings."""
    from streamkit.stages.accumulate import accumulate
    from streamkit.stages.normalize import normalize

    module_name = BENCH_MODULE.get(dialect)
    if module_name is None:
        return None
    path = Path(__file__).parent / "dialects" / f"{module_name}.py"
    spec = importlib.util.spec_from_file_location(f"bench_real_{module_name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    wires = []
    for _, raws in recs:
        wire = [(r.get("event"), r["data"]) for r in raws if r["data"] != "[DONE]"]
        try:
            module.sdk_accumulate(wire)
        except ImportError:
            return None
        except Exception:  # a recording the SDK itself cannot read is left out of both sides
            continue
        wires.append(wire)
    if not wires:
        return None

    def sdk() -> None:
        for wire in wires:
            module.sdk_accumulate(wire)

    def ours() -> None:
        for wire in wires:
            raws = ({"type": "raw", "dialect": dialect, "event": e, "data": d} for e, d in wire)
            for _ in accumulate(normalize(raws), final=True):
                pass

    def best(fn: Any) -> float:
        times = []
        for _ in range(repeats):
            began = time.process_time()
            for _ in range(20):
                fn()
            times.append(time.process_time() - began)
        return min(times)

    return best(sdk) / best(ours)


def bench_real(opts: Any, floor_script: str, report: Any, results: dict[str, Any], tmpdir: Path) -> None:
    if not FIXTURES.is_dir():
        print(f"\nreal mixes: skipped ({FIXTURES} is absent; set STREAMKIT_FIXTURES)", flush=True)
        return
    from streamkit.stages.normalize import normalize

    floor_cmd = [sys.executable, "-c", floor_script]
    print(
        f"\nreal mixes: each dialect's recordings in {FIXTURES}, repeated to >= {opts.real_events:,} raw events;"
        "\n  CPU-time ratios against the orjson floor over the same lines (higher is better, 1.0 = the floor)",
        flush=True,
    )
    results["real"] = {}
    for dialect in dict.fromkeys(FOLDERS.values()):
        if opts.dialect and dialect not in opts.dialect:
            continue
        recs = recordings(dialect)
        if not recs:
            continue
        one_pass = [r for _, raws in recs for r in raws]
        raws = repeated(one_pass, opts.real_events)
        raw_path = tmpdir / f"real-{dialect}.ndjson"
        write_lines(raw_path, raws)
        canonical = list(normalize(iter(one_pass)))
        canon_path = tmpdir / f"real-{dialect}.canonical.ndjson"
        write_lines(canon_path, repeated(canonical, opts.real_events))
        figures: dict[str, Any] = {"recordings": len(recs), "raw_events": len(raws)}

        norm = paired(floor_cmd, raw_path, [STREAMKIT, "normalize", "-d", dialect, *KEEP_GOING], raw_path,
                      opts.repeats)  # fmt: skip
        figures["normalize"] = float(norm)
        label = f"{dialect} ({len(recs)} recordings, {len(raws) // 1000}k events)"
        figures["normalize_pairs"] = [norm.low, norm.high]
        report(f"{label}: normalize", f"{norm:.2f}x{norm.spread()}", "goal >= 0.6x")

        acc = paired(floor_cmd, canon_path, [STREAMKIT, "accumulate", *KEEP_GOING], canon_path, opts.repeats)
        final = paired(floor_cmd, canon_path, [STREAMKIT, "accumulate", "--final", *KEEP_GOING], canon_path,
                       opts.repeats)  # fmt: skip
        figures["accumulate"], figures["accumulate_final"] = float(acc), float(final)
        report(
            f"{dialect}: accumulate / accumulate --final",
            f"{acc:.2f}x{acc.spread()} / {final:.2f}x{final.spread()}",
        )

        # (Anthropic's recordings hold beta blocks: written with -O beta=true, where the stable API
        # would drop them with a warning on each run)
        beta = ["-O", "beta=true"] if dialect == "anthropic" else []
        rendered = paired(floor_cmd, canon_path, [STREAMKIT, "render", "-f", dialect, *beta, *KEEP_GOING],
                          canon_path, opts.repeats)  # fmt: skip
        figures["render"] = float(rendered)
        report(
            f"{dialect}: render -f {dialect} (back into its wire format)",
            f"{rendered:.2f}x{rendered.spread()}",
        )

        texts = [p for p, _ in recs if p.suffix in (".sse", ".ndjson", ".jsonl", ".eventstream")]
        if texts:
            wire_path = tmpdir / f"real-{dialect}.wire"
            mixed = [p for p in texts if p.suffix == texts[0].suffix]  # one framing per file
            if texts[0].suffix == ".eventstream":  # binary frames: concatenated as they are
                blob = b"".join(p.read_bytes() for p in mixed)
            else:  # text framings: each recording ends its last record
                blob = b"".join(p.read_bytes().rstrip(b"\n") + b"\n\n" for p in mixed)
            n_raws = sum(len(raws) for p, raws in recs if p in mixed)
            wire_path.write_bytes(blob * max(1, -(-opts.real_events // max(1, n_raws))))
            out_path = tmpdir / f"real-{dialect}.fetched.ndjson"
            with open(wire_path, "rb") as stdin, open(out_path, "wb") as out:
                subprocess.run(
                    [STREAMKIT, "fetch", "-d", dialect, "--replay", "-", *KEEP_GOING],
                    stdin=stdin,
                    stdout=out,
                    check=True,
                )
            fetched = paired(floor_cmd, out_path, [STREAMKIT, "fetch", "-d", dialect, "--replay", "-", *KEEP_GOING],
                             wire_path, opts.repeats)  # fmt: skip
            cost = 1 / fetched
            figures["fetch_replay_cost"] = cost
            report(
                f"{dialect}: fetch --replay cost / floor",
                f"{cost:.2f}x{fetched.spread(invert=True)}",
                "goal <= 1.3x",
            )

        ratio = sdk_ratio(dialect, recs, opts.repeats)
        if ratio is not None:
            figures["sdk_ratio"] = ratio
            report(f"{dialect}: vs the official SDK accumulator (same recordings)", f"{ratio:.1f}x faster")
        results["real"][dialect] = figures
