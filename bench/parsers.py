"""Survey: could another JSON library give streamkit a shorter start without losing its speed?

``python bench/parsers.py`` times, for each library installed in the running Python (the others
are listed as absent; install them with pip to include them):

* its import, in CPU time of a fresh interpreter (median of 15), against ``python3 -c pass``:
  what every command would pay at start for using it;
* reading and writing the raw events of every recording in ``../shared/fixtures`` (or
  ``$STREAMKIT_FIXTURES``), one event a call as the stages do, in CPU time (best of 3), against
  orjson, the floor ``make bench`` measures against: above 1.00 is faster than orjson;
* whether it keeps to JSON where streamkit relies on orjson's strictness: ``NaN`` and ``1e400``
  refused when read, a float NaN never written as ``NaN`` (which ``jq`` and every other reader
  refuse), a lone surrogate refused when read.

It is not part of ``make bench``: it chose a library, once; ``bench/HISTORY.md`` keeps its
figures (2026-12-05: no library both starts fast and reads and writes as fast as orjson while
keeping to JSON).
"""

from __future__ import annotations

import importlib
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import orjson
from real import FIXTURES, FOLDERS, recordings


def _ujson_dumps(obj: Any) -> bytes:
    import ujson

    return ujson.dumps(obj, ensure_ascii=False, escape_forward_slashes=False).encode()


def _yyjson_dumps(obj: Any) -> bytes:
    import yyjson

    return yyjson.dumps(obj).encode()


def _rapidjson_dumps(obj: Any) -> bytes:
    import rapidjson

    return rapidjson.dumps(obj, ensure_ascii=False).encode()


def _stdlib_dumps(obj: Any) -> bytes:
    import json

    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


#: module -> (how it reads bytes, how it writes bytes, or None for a reader only), by name so that
#: a library is imported only if it is installed
LIBRARIES: dict[str, tuple[str, Callable[[Any], bytes] | str | None]] = {
    "orjson": ("loads", "dumps"),
    "msgspec.json": ("decode", "encode"),
    "ssrjson": ("loads", "dumps_to_bytes"),
    "ujson": ("loads", _ujson_dumps),
    "yyjson": ("loads", _yyjson_dumps),
    "rapidjson": ("loads", _rapidjson_dumps),
    "simdjson": ("loads", None),
    "jiter": ("from_json", None),
    "json": ("loads", _stdlib_dumps),
}


def import_cpu(statement: str, runs: int = 15) -> float:
    """Median CPU seconds of a fresh interpreter running ``statement``."""
    times = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([sys.executable, "-c", statement], check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        times.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return statistics.median(times)


def best_cpu(fn: Callable[[Any], Any], items: list[Any], repeats: int = 3) -> float:
    """Best CPU seconds of calling ``fn`` on every item."""
    best = float("inf")
    for _ in range(repeats):
        began = time.process_time()
        for item in items:
            fn(item)
        best = min(best, time.process_time() - began)
    return best


def keeps_to_json(loads: Callable[[bytes], Any], dumps: Callable[[Any], bytes] | None) -> list[str]:
    """The ways the library leaves JSON where orjson does not (empty: none found)."""
    found = []
    for text, what in (
        (b"[NaN]", "reads NaN"),
        (b"[1e400]", "reads 1e400 as infinity"),
        (b'"\\ud800"', "reads a lone surrogate"),
    ):
        try:
            loads(text)
        except Exception:  # refused, as orjson does
            continue
        found.append(what)
    if dumps is not None:
        try:
            written = dumps([float("nan")])
        except Exception:
            written = b"refused"
        if b"NaN" in written:
            found.append("writes NaN")
    return found


def main() -> None:
    lines = []
    for dialect in sorted(set(FOLDERS.values())):
        for _, raws in recordings(dialect):
            lines.extend(orjson.dumps(raw) for raw in raws)
    if not lines:
        sys.exit(f"parsers: no recordings in {FIXTURES} (set STREAMKIT_FIXTURES)")
    lines *= max(1, 200_000 // len(lines))
    objects = [orjson.loads(line) for line in lines]
    print(
        f"{len(lines):,} raw events of the recordings, {sum(map(len, lines)) // len(lines)} bytes on average"
    )
    bare = import_cpu("pass")
    print(f"python3 -c pass: {bare * 1000:.1f} ms of CPU\n")
    floor_read, floor_write = best_cpu(orjson.loads, lines), best_cpu(orjson.dumps, objects)
    print(f"{'library':14} {'import':>15} {'read':>8} {'write':>8}  leaves JSON")
    for name, (read_name, write) in LIBRARIES.items():
        try:
            module = importlib.import_module(name)
        except ImportError:
            print(f"{name:14} absent")
            continue
        loads = getattr(module, read_name)
        dumps = getattr(module, write) if isinstance(write, str) else write
        started = import_cpu(f"import {name}")
        read = floor_read / best_cpu(loads, lines)
        written = f"{floor_write / best_cpu(dumps, objects):7.2f}x" if dumps else "       -"
        faults = ", ".join(keeps_to_json(loads, dumps)) or "no"
        print(f"{name:14} {started * 1000:6.1f} ms {started / bare:4.2f}x {read:7.2f}x {written}  {faults}")


if __name__ == "__main__":
    main()
