"""Bytecodes a streamkit command runs per input line, by function: where interpreted time goes.

Instruction counts (``bench/instructions.py``) compare two versions of the code; they flatter
Python against orjson, whose C loop does more per CPU cycle than the interpreter's dispatch of
one bytecode to the next. This counts the bytecodes themselves (``sys.settrace`` opcode events,
so it runs some 50 times slower than the command: give it a few tens of thousands of lines),
the command run in this process on the file as its standard input::

    python bench/bytecodes.py MIX.ndjson normalize -d gemini
    python bench/bytecodes.py EVENTS.ndjson render -f bedrock --top 30

Start-up is counted too: on a file of 20k lines or more it adds under a few bytecodes a line.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import sys
from types import FrameType
from typing import Any


def count(path: str, args: list[str]) -> tuple[collections.Counter[str], int]:
    """The bytecodes run per function (``file:function``) by ``streamkit ARGS < PATH``, and the
    file's number of lines."""
    from streamkit.cli import main

    counts: collections.Counter[str] = collections.Counter()

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        frame.f_trace_opcodes = True
        code = frame.f_code
        key = f"{os.path.basename(code.co_filename)}:{code.co_name}"

        def local(frame: FrameType, event: str, arg: Any) -> Any:
            if event == "opcode":
                counts[key] += 1
            return local

        return local

    with open(path, "rb") as f:
        lines = sum(1 for _ in f)
    argv, stdin = sys.argv, sys.stdin
    sys.stdout.flush()
    kept = os.dup(1)  # (the command writes to file descriptor 1 itself: sent to /dev/null)
    with open(path, encoding="utf-8", errors="surrogateescape") as source, open(os.devnull, "wb") as sink:
        sys.argv, sys.stdin = ["streamkit", *args], source
        os.dup2(sink.fileno(), 1)
        sys.settrace(tracer)
        try:
            with contextlib.suppress(SystemExit):
                main()
        finally:
            sys.settrace(None)
            os.dup2(kept, 1)
            os.close(kept)
            sys.argv, sys.stdin = argv, stdin
    return counts, max(lines, 1)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False
    )  # (no abbreviations: the rest of the line is streamkit's, convert's --to say)
    parser.add_argument("file", help="the command's standard input")
    parser.add_argument("--top", type=int, default=20, help="how many functions to list")
    opts, args = parser.parse_known_args()
    counts, lines = count(opts.file, args)
    total = sum(counts.values())
    print(f"streamkit {' '.join(args)} < {opts.file}: {total / lines:.0f} bytecodes a line ({lines:,} lines)")
    for key, n in counts.most_common(opts.top):
        print(f"  {n / lines:8.1f}  {key}")


if __name__ == "__main__":
    main()
