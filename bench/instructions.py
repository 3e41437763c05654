"""Instruction counts (valgrind) of ``normalize`` against the orjson floor on a real mix: the
deterministic figure to compare two versions of the code by.

CPU time on a shared machine moves by a third between identical runs (``bench/real.py`` pairs
runs to tame that); the number of instructions a process executes does not move at all. So a
change to a hot path is judged here first, then confirmed in CPU time with ``make bench``. The
two do not agree exactly: orjson gets more done per CPU cycle than Python's evaluation loop, so a
dialect whose floor is mostly parsing small lines (Anthropic, Bedrock, Cohere) scores lower in
CPU time than in instructions.

    python bench/instructions.py anthropic                 # this tree
    python bench/instructions.py anthropic --tree ../other # another checkout of streamkit

Each dialect's recordings in ``../shared/fixtures`` (``$STREAMKIT_FIXTURES``), one pass of them
repeated to about ``--events`` raw events; start-up is left out of both sides (each is also run on
the mix's first 100 lines, and that is subtracted).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import real

ROOT = Path(__file__).resolve().parents[1]
FLOOR = (
    "import sys, orjson\n"
    "w = sys.stdout.buffer.write\n"
    "for line in sys.stdin.buffer:\n"
    "    w(orjson.dumps(orjson.loads(line), option=orjson.OPT_APPEND_NEWLINE))\n"
)


def instructions(args: list[str], stdin: Path, tree: Path) -> int:
    """What valgrind counts for the command, run from a neutral directory (``python -m`` puts the
    working directory first on ``sys.path``) with ``tree`` and its plugins first on the path."""
    plugins = [str(p) for p in sorted((tree / "plugins").iterdir()) if p.is_dir()]
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": os.pathsep.join([str(tree), *plugins])}
    with open(stdin, "rb") as given:
        result = subprocess.run(
            ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *args],
            stdin=given, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
            cwd=tempfile.gettempdir(), check=True,
        )  # fmt: skip
    found = re.search(rb"Collected : (\d+)", result.stderr)
    if found is None:
        raise SystemExit(f"valgrind said no count: {result.stderr[-300:].decode(errors='replace')}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dialects", nargs="+")
    parser.add_argument("--tree", type=Path, default=ROOT, help="the streamkit checkout to measure")
    parser.add_argument("--events", type=int, default=20_000)
    opts = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("bench/instructions.py needs valgrind (Debian: apt-get install valgrind)")
    tree = opts.tree.resolve()
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "streamkit"), str(tree / "plugins")],
                   check=False, stdout=subprocess.DEVNULL)  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for dialect in opts.dialects:
            one_pass = [r for _, raws in real.recordings(dialect) for r in raws]
            if not one_pass:
                print(f"{dialect}: no recordings in {real.FIXTURES}")
                continue
            mix, head = Path(tmp) / "mix.ndjson", Path(tmp) / "head.ndjson"
            real.write_lines(mix, one_pass * max(1, opts.events // len(one_pass)))
            real.write_lines(head, one_pass[:100])
            stage = [sys.executable, "-m", "streamkit", "normalize", "-d", dialect, "--on-error", "pass"]
            floor = [sys.executable, "-c", FLOOR]
            ours = instructions(stage, mix, tree) - instructions(stage, head, tree)
            theirs = instructions(floor, mix, tree) - instructions(floor, head, tree)
            print(
                f"{dialect}: normalize {ours / 1e6:.0f}M, floor {theirs / 1e6:.0f}M instructions: {theirs / ours:.3f}x"
            )


if __name__ == "__main__":
    main()
