"""One large record costs time in proportion to its size, in every framing's decoder.

A decoder that re-joins its buffer on every read is quadratic: an SSE event of 40 MB fed in
64 KiB reads took 13-20 s. Each decoder here gets one record of 1 MB and one of 8 MB, in 64 KiB
reads, and the larger may take at most 16 times as long (about 8 times when linear, 40 to 60 when
quadratic).

The timing runs in a fresh process whose malloc keeps what it frees (glibc's
``MALLOC_MMAP_THRESHOLD_`` and ``MALLOC_TRIM_THRESHOLD_``): by default an 8 MB buffer is mapped
afresh each time and pays a page fault per 4 KiB, while glibc's adaptive threshold soon serves
1 MB ones from the heap, which alone makes linear code look 20 to 30 times slower at 8 MB.

Times are the process's CPU time, not the wall clock: under ``make test`` the other workers (and
whatever else the machine runs) take the CPU away at random moments, which made the wall-clock
ratio of a linear decoder cross the limit (18.9 for NDJSON) while its CPU time stays near 8.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest

from streamkit.framing.eventstream import EventStreamDecoder, encode_frame
from streamkit.framing.jsonseq import JSONArrayDecoder, NDJSONDecoder
from streamkit.framing.sse import SSEDecoder

READ = 64 * 1024
MB = 1 << 20
LIMIT = 16


def _text(size: int) -> bytes:
    return b'{"text": "' + b"lorem ipsum " * (size // 12) + b'"}'


RECORDS: dict[str, tuple[Callable[[], Any], Callable[[int], bytes]]] = {
    "sse": (SSEDecoder, lambda size: b"data: " + _text(size) + b"\n\n"),
    "sse-many-data-lines": (SSEDecoder, lambda size: b"data: x\r\n" * (size // 9) + b"\r\n"),
    "ndjson": (NDJSONDecoder, lambda size: _text(size) + b"\n"),
    "json-array": (JSONArrayDecoder, lambda size: b"[" + _text(size) + b"]"),
    "eventstream": (EventStreamDecoder, lambda size: encode_frame({":event-type": "big"}, _text(size))),
}


def _seconds(new: Callable[[], Any], data: bytes, repeats: int) -> float:
    """The best time of ``repeats`` decodings of ``data`` fed in 64 KiB reads."""
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        gc.disable()
        try:
            began = time.process_time()
            decoder = new()
            out = []
            for i in range(0, len(data), READ):
                out += decoder.feed(data[i : i + READ])
            out += decoder.close()
            best = min(best, time.process_time() - began)
        finally:
            gc.enable()
        assert len(out) == 1
    return best


def ratio(name: str, tries: int = 3) -> float:
    """How many times as long one 8 MB record of this kind takes as one of 1 MB: the lowest of
    up to ``tries`` measurements, stopping at the first under the limit (a busy machine only
    ever makes a ratio look worse, and quadratic code stays over it every time)."""
    new, record = RECORDS[name]
    small, large = record(MB), record(8 * MB)
    _seconds(new, large, 1)  # warm up: the allocator settles on holding 8 MB
    best = float("inf")
    for _ in range(tries):
        best = min(best, _seconds(new, large, 3) / _seconds(new, small, 5))
        if best < LIMIT:
            break
    return best


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_one_large_record_takes_linear_time(name: str) -> None:
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": str(1 << 30), "MALLOC_TRIM_THRESHOLD_": str(1 << 31)}
    result = subprocess.run([sys.executable, "-m", __name__, name], capture_output=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr.decode()
    times = float(result.stdout)
    assert times < LIMIT, f"{name}: 8 MB took {times:.1f} times as long as 1 MB"


if __name__ == "__main__":
    print(ratio(sys.argv[1]))
