"""make bench-scale: batch convert past one process. Recordings per second for ``convert -j 1``,
``-j 2`` and ``--engine ray`` with a local Ray of 2 CPUs on the same 10,000 recordings, and Ray's
fixed start-up cost; the CPU time of one recording in-process (the throughput per core).

The recordings are generated, not read from ../shared/fixtures: every stream of tests/data (the
project's own, 141 files of six dialects) converted into each of the eight installed dialects
(bedrock and cohere from plugins), about 1,100 distinct recordings of 0.2-8 KB, written again
under numbered names until there are 10,000 (``--count``). Each engine converts them into
``--to`` (anthropic) in a fresh folder, as a whole ``streamkit`` process timed from start to exit
(best of ``--runs``). Ray's fixed cost is the same command on one recording.

    python bench/scale.py [--count 10000] [--runs 2] [--to anthropic] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
STREAMKIT = Path(sys.executable).parent / "streamkit"


def generate(folder: Path, count: int) -> list[Path]:
    from streamkit.batch import convert_bytes, extension_of
    from streamkit.plugins import default_registry

    registry = default_registry()
    sources = sorted(p for p in DATA.rglob("*") if p.is_file() and not p.name.endswith(".expected.ndjson"))
    distinct: list[tuple[str, bytes]] = []
    for dialect in sorted(registry.dialects()):
        ext = extension_of(registry.format(dialect))
        for source in sources:
            result = convert_bytes(source.read_bytes(), to=dialect)
            if result.exit_code in (0, 1) and result.output:
                distinct.append((f"{dialect}/{source.parent.name}-{source.stem}.{ext}", result.output))
    written = []
    for i in range(count):
        name, data = distinct[i % len(distinct)]
        path = folder / f"{i // len(distinct):03d}" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written.append(path)
    return written


def timed(args: list[str], out: Path) -> float:
    shutil.rmtree(out, ignore_errors=True)
    began = time.perf_counter()
    proc = subprocess.run([str(STREAMKIT), *args, "-o", str(out)], capture_output=True, timeout=3600)
    elapsed = time.perf_counter() - began
    if proc.returncode not in (0, 1):  # 1: some streams end in an error event, as recorded
        sys.exit(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr.decode()[-2000:]}")
    return elapsed


def cpu_per_recording(files: list[Path], to: str) -> float:
    from streamkit.batch import convert_bytes

    datas = [p.read_bytes() for p in files[:2000]]
    began = time.process_time()
    for data in datas:
        convert_bytes(data, to=to)
    return (time.process_time() - began) / len(datas)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--to", default="anthropic")
    parser.add_argument("--keep", metavar="DIR", help="generate into DIR and keep it")
    opts = parser.parse_args()
    work = Path(opts.keep or tempfile.mkdtemp(prefix="streamkit-scale-"))
    env_note = f"{os.cpu_count()} cores seen, Python {sys.version.split()[0]}"
    try:
        inputs = work / "in"
        files = generate(inputs, opts.count)
        size = sum(p.stat().st_size for p in files)
        print(f"{len(files)} recordings, {size / 1e6:.1f} MB, into {opts.to} ({env_note})")
        cpu = cpu_per_recording(files, opts.to)
        print(f"in-process CPU per recording: {cpu * 1e3:.3f} ms -> {1 / cpu:,.0f} recordings/s per core")
        base = ["convert", "--to", opts.to, str(inputs)]
        engines = {
            "-j 1": [*base, "-j", "1"],
            "-j 2": [*base, "-j", "2"],
            "--engine ray -j 2": [*base, "--engine", "ray", "-j", "2"],
        }
        best = {
            name: min(timed(args, work / "out") for _ in range(opts.runs)) for name, args in engines.items()
        }
        one = next(iter(sorted(p for p in files if p.suffix == ".sse")))
        fixed = min(
            timed(["convert", "--to", opts.to, "--engine", "ray", "-j", "2", str(one)], work / "one")
            for _ in range(opts.runs)
        )
        for name, elapsed in best.items():
            print(
                f"convert {name:<18} {elapsed:6.2f} s  {len(files) / elapsed:8,.0f} recordings/s (whole process)"
            )
        ray = best["--engine ray -j 2"]
        print(f"Ray fixed cost (start, one recording, shut down): {fixed:.2f} s")
        print(f"Ray after its fixed cost: {len(files) / max(ray - fixed, 1e-9):,.0f} recordings/s")
    finally:
        if not opts.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
