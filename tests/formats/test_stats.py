"""render -f stats: the figures from the events' t, unit-tested on hand-made streams, and end to end
on a live pipeline against a real ``streamkit serve --script --realtime``: fetch (with
--record-events) | normalize | render -f stats, convert --to stats of the recording, and agent."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from streamkit.formats.stats import StreamStats, percentile, table

from ..conftest import ROOT, ndjson, run_cli, sh
from ..test_fetch_live import serving

SCRIPT = ROOT / "examples" / "demo-script.json"
TOOLS = ROOT / "examples" / "tools.toml"


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 95), percentile(values, 99)) == (50.0, 95.0, 99.0)
    assert percentile([3.0], 99) == 3.0 and percentile([], 50) is None


def feed(events: list[dict]) -> dict:
    stats = StreamStats(clock=lambda: 1000.0)  # arrival never matters when every event has t
    for event in events:
        stats.feed(event)
    return stats.result()


def test_figures_from_recorded_times() -> None:
    events = [
        {"type": "start", "t": 0.1},
        {"type": "reasoning-delta", "id": "r", "delta": "hm", "t": 0.2},
        {"type": "text-delta", "id": "t", "delta": "a", "t": 0.5},
        {"type": "text-delta", "id": "t", "delta": "", "t": 0.55},  # empty: no token
        {"type": "text-delta", "id": "t", "delta": "b", "t": 0.6},
        {"type": "text-delta", "id": "t", "delta": "c", "t": 1.0},
        {"type": "tool-call", "tool_call_id": "1", "tool_name": "f", "t": 1.1},
        {"type": "tool-call", "tool_call_id": "2", "tool_name": "g", "t": 1.1},
        {"type": "finish", "finish_reason": "tool-calls", "usage": {"output_tokens": 16}, "t": 1.2},
        {"type": "tool-result", "tool_call_id": "1", "output": "x", "t": 1.5},
        {"type": "tool-result", "tool_call_id": "2", "output": "y", "t": 1.7},
    ]
    stats = feed(events)
    assert stats["ttft_s"] == 0.5 and stats["ttft_reasoning_s"] == 0.2
    assert stats["itl_ms"] == {"p50": 300.0, "p95": 400.0, "p99": 400.0}  # gaps 0.3, 0.1, 0.4
    assert (stats["output_tokens"], stats["output_tokens_source"]) == (16, "usage")
    assert stats["output_tokens_per_s"] == 20.0  # 16 tokens from 0.2 to 1.0
    assert (stats["total_s"], stats["tool_s"], stats["tool_calls"], stats["steps"]) == (1.7, 0.6, 2, 1)
    assert stats["timing"] == "recorded"
    assert "time to first token            0.5 s" in table(stats)


def test_without_usage_the_deltas_are_counted_and_without_t_arrival_is_used() -> None:
    clock = iter([10.0, 10.5, 11.0, 12.0])
    stats = StreamStats(clock=lambda: next(clock))
    for event in [{"type": "start"}, {"type": "text-delta", "delta": "a"}, {"type": "text-delta", "delta": "b"},
                  {"type": "finish", "finish_reason": "stop"}]:  # fmt: skip
        stats.feed(event)
    result = stats.result()
    assert (result["output_tokens"], result["output_tokens_source"], result["timing"]) == (
        2,
        "counted",
        "arrival",
    )
    assert (result["ttft_s"], result["total_s"], result["output_tokens_per_s"]) == (0.5, 2.0, 4.0)


def test_normalize_keeps_each_raw_events_t() -> None:
    raws = [
        {"type": "raw", "dialect": "openai-chat", "event": None, "data": chunk, "t": t}
        for t, chunk in [
            (0.25, {"id": "c", "model": "m", "choices": [{"index": 0, "delta": {"content": "Hi"}}]}),
            (0.5, {"id": "c", "model": "m", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
        ]
    ]
    result = run_cli("normalize", input=b"".join(orjson.dumps(r) + b"\n" for r in raws))
    events = ndjson(result.stdout)
    assert [(e["type"], e["t"]) for e in events] == [
        ("start", 0.25), ("text-start", 0.25), ("text-delta", 0.25), ("text-end", 0.5), ("finish", 0.5)
    ]  # fmt: skip


def test_a_live_pipeline_its_recording_and_the_agent(tmp_path: Path) -> None:
    recording = tmp_path / "timed.ndjson"
    with serving("--script", str(SCRIPT), "--realtime", "--delay", "0.02") as url:
        live = sh(f"streamkit fetch -d openai-chat --base-url {url}/v1 -m m --record-events {recording} hi"
                  " | streamkit normalize | streamkit render -f stats --json")  # fmt: skip
        agent = sh(f"streamkit agent -d anthropic --base-url {url} -m m --tools {TOOLS} 'weather?'"
                   " | streamkit render -f stats --json")  # fmt: skip
    assert live.returncode == 0, live.stderr
    stats = orjson.loads(live.stdout)
    assert stats["timing"] == "recorded" and stats["output_tokens_source"] == "usage"
    assert 0.01 <= stats["itl_ms"]["p50"] / 1000 <= 0.5  # the script's 20 ms between events
    assert 0 < stats["ttft_s"] <= stats["total_s"] < 10
    assert stats["output_tokens"] > 0 and stats["output_tokens_per_s"] > 0
    # the recording keeps the timing: converting it gives the same figures
    assert all(isinstance(e.get("t"), float) for e in ndjson(recording.read_bytes()))
    again = run_cli("convert", "--to", "stats", "--json", str(recording))
    assert orjson.loads(again.stdout) == stats
    # the agent's run: two steps, two tool calls that took some time
    steps = orjson.loads(agent.stdout)
    assert (steps["steps"], steps["tool_calls"], steps["timing"]) == (2, 2, "recorded"), agent.stderr
    assert steps["tool_s"] is not None and 0 < steps["tool_s"] < steps["total_s"]
    assert steps["ttft_reasoning_s"] is not None and steps["ttft_s"] > steps["ttft_reasoning_s"]


@pytest.mark.parametrize("where", ["fetch", "serve"])
def test_realtime_on_a_recording_without_timing_says_so(where: str) -> None:
    haiku = ROOT / "examples" / "haiku.sse"
    if where == "fetch":
        result = run_cli("fetch", "--replay", str(haiku), "--realtime")
        assert result.returncode == 0
        assert b"this recording has no timing" in result.stderr
        return
    import subprocess

    from ..conftest import STREAMKIT

    proc = subprocess.Popen([str(STREAMKIT), "serve", "--replay", str(haiku), "--realtime", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stdout.readline().startswith(b"http://127.0.0.1:")
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert f"--realtime: {haiku} has no timing".encode() in err
