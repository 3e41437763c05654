"""The ``stats`` format: how fast a stream came, as a small table or one JSON object (``json=True``).

``render -f stats`` (``convert --to stats``) reads canonical events and writes, at the end:

* ``ttft_s`` / ``ttft_reasoning_s``: time to the first text / reasoning token (the first non-empty
  delta), from the start of the request;
* ``itl_ms``: inter-token latency, the gaps between consecutive text and reasoning deltas of one
  response (p50, p95, p99, nearest rank);
* ``output_tokens`` and ``output_tokens_per_s``: the usage's output tokens (summed over the
  responses), else the deltas counted (``output_tokens_source`` says which), over the time from
  each response's first token to its last;
* ``total_s``: the last event's time; ``tool_s``: the time tool calls were running (from each
  ``tool-call`` to its ``tool-result``, overlapping calls counted once), ``tool_calls``, ``steps``
  (the agent's ``start-step`` events, else the responses).

Times come from the events' ``t`` (seconds since the request began: ``fetch`` stamps raw events,
``normalize`` keeps the stamp on the events it makes, ``agent`` stamps what it writes). An event
without ``t`` (a tool result from ``run-tools`` in a live pipeline) is placed by when it reached
the format, against the last stamped event; a stream without any ``t`` is timed by arrival alone
(``timing: "arrival"``), which says something only for a live pipeline, not for a file.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from .base import Format

_DELTAS = ("text-delta", "reasoning-delta")


def percentile(values: list[float], p: float) -> float | None:
    """The nearest-rank percentile ``p`` (0 to 100) of ``values``, or None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))  # ceil(n * p / 100)
    return ordered[int(rank) - 1]


class StreamStats:
    """The figures of one stream, fed event by event."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self.clock = clock
        self.timed = False  # some event carried a t
        self.offset: float | None = None  # arrival - t of the last stamped event
        self.ttft: float | None = None
        self.ttft_reasoning: float | None = None
        self.gaps: list[float] = []
        self.last_delta: float | None = None
        self.first_delta: float | None = None
        self.generation = 0.0  # seconds from first to last token, summed over responses
        self.deltas = 0
        self.usage_tokens: int | None = None
        self.total: float | None = None
        self.responses = 0
        self.steps = 0
        self.calls: dict[str, float] = {}
        self.intervals: list[tuple[float, float]] = []
        self.tool_calls = 0

    def _time(self, event: dict[str, Any]) -> float:
        now = self.clock()
        t = event.get("t")
        if isinstance(t, (int, float)) and not isinstance(t, bool):
            self.timed = True
            self.offset = now - t
            return float(t)
        if self.offset is None:
            self.offset = now  # no stamp yet: time from the first event's arrival
        return now - self.offset

    def _end_response(self) -> None:
        if self.first_delta is not None and self.last_delta is not None:
            self.generation += self.last_delta - self.first_delta
        self.first_delta = self.last_delta = None

    def feed(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        t = self._time(event)
        self.total = t if self.total is None else max(self.total, t)
        if kind in _DELTAS:
            if event.get("choice") or not event.get("delta"):
                return
            self.deltas += 1
            if kind == "text-delta" and self.ttft is None:
                self.ttft = t
            if kind == "reasoning-delta" and self.ttft_reasoning is None:
                self.ttft_reasoning = t
            if self.last_delta is not None:
                self.gaps.append(max(0.0, t - self.last_delta))
            if self.first_delta is None:
                self.first_delta = t
            self.last_delta = t
        elif kind == "start":
            self._end_response()
            self.responses += 1
        elif kind == "start-step":
            self.steps += 1
        elif kind == "finish":
            usage = event.get("usage") or {}
            tokens = usage.get("output_tokens") if isinstance(usage, dict) else None
            if isinstance(tokens, int) and not event.get("choice"):
                self.usage_tokens = (self.usage_tokens or 0) + tokens
        elif kind == "tool-call" and not event.get("provider_executed"):
            self.tool_calls += 1
            self.calls[str(event.get("tool_call_id"))] = t
        elif kind == "tool-result":
            began = self.calls.pop(str(event.get("tool_call_id")), None)
            if began is not None:
                self.intervals.append((began, t))

    def result(self) -> dict[str, Any]:
        self._end_response()
        tokens, source = (
            (self.usage_tokens, "usage") if self.usage_tokens is not None else (self.deltas, "counted")
        )
        itl = {f"p{p}": _ms(percentile(self.gaps, p)) for p in (50, 95, 99)}
        return {
            "ttft_s": _s(self.ttft),
            "ttft_reasoning_s": _s(self.ttft_reasoning),
            "itl_ms": itl,
            "output_tokens": tokens,
            "output_tokens_source": source,
            "output_tokens_per_s": round(tokens / self.generation, 1) if self.generation > 0 else None,
            "total_s": _s(self.total),
            "tool_s": _s(_union(self.intervals)) if self.intervals else None,
            "tool_calls": self.tool_calls,
            "steps": self.steps or self.responses,
            "timing": "recorded" if self.timed else "arrival",
        }


def _s(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 2)


def _union(intervals: list[tuple[float, float]]) -> float:
    """The time covered by the intervals, overlaps counted once."""
    total, end = 0.0, float("-inf")
    for a, b in sorted(intervals):
        if b <= end:
            continue
        total += b - max(a, end)
        end = b
    return total


_ROWS = (
    ("time to first token", "ttft_s", "s"),
    ("time to first reasoning token", "ttft_reasoning_s", "s"),
    ("inter-token latency p50", ("itl_ms", "p50"), "ms"),
    ("inter-token latency p95", ("itl_ms", "p95"), "ms"),
    ("inter-token latency p99", ("itl_ms", "p99"), "ms"),
    ("output tokens", "output_tokens", ""),
    ("output tokens per second", "output_tokens_per_s", ""),
    ("total time", "total_s", "s"),
    ("tool time", "tool_s", "s"),
    ("tool calls", "tool_calls", ""),
    ("steps", "steps", ""),
)


def table(stats: dict[str, Any]) -> str:
    """The figures as a small two-column table (a dash for what the stream did not have)."""
    lines = []
    for label, key, unit in _ROWS:
        value = stats[key[0]][key[1]] if isinstance(key, tuple) else stats[key]
        if key == "output_tokens" and value is not None:
            text = f"{value} ({stats['output_tokens_source']})"
        else:
            text = "-" if value is None else f"{value}{' ' + unit if unit else ''}"
        lines.append(f"{label:<30} {text}")
    if stats["timing"] == "arrival":
        lines.append("(no recorded timing: times are when the events arrived)")
    return "\n".join(lines) + "\n"


class StatsFormat(Format):
    name = "stats"
    description = (
        "Timing: time to first token, inter-token latency, tokens/s, tool time (a table; --json: JSON)"
    )
    extension = "json"

    def render(
        self, events: Iterable[dict[str, Any]], *, json: bool = False, **options: Any
    ) -> Iterator[bytes]:
        stats = StreamStats()
        for event in events:
            stats.feed(event)
        result = stats.result()
        if json:
            yield orjson.dumps(result, option=orjson.OPT_APPEND_NEWLINE)
        else:
            yield table(result).encode()
