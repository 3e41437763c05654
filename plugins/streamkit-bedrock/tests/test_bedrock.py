"""The bedrock dialect, behaviour by behaviour: normalizing ConverseStream events, and encoding
canonical events into binary frames that botocore (the official AWS SDK) reads and validates."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from bedrock_helpers import (
    DATA,
    REPO,
    encode,
    essence,
    events_of,
    messages,
    read_with_botocore,
    registry,
    validate_with_botocore,
)

from streamkit import DataError, accumulate, normalize, replay
from streamkit.framing import frame

STREAMKIT = Path(sys.executable).parent / "streamkit"


def norm(*wire: tuple[str | None, Any]) -> list[dict[str, Any]]:
    """Wire events through a fresh normalizer, then its close()."""
    n = registry().dialect("bedrock").normalizer()
    out: list[dict[str, Any]] = []
    for event, data in wire:
        out.extend(n.feed(data, event) or [])
    return out + n.close()


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


START = ("messageStart", {"role": "assistant"})


def delta(index: int, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return ("contentBlockDelta", {"contentBlockIndex": index, "delta": body})


def test_registered_through_its_entry_point() -> None:
    entry = registry().dialect_entries()["bedrock"]
    assert entry.plugin == "bedrock"  # the entry point's name: an installed plugin, not a built-in
    assert entry.obj.framing == "eventstream"


@pytest.mark.parametrize(
    ("data", "event", "claimed"),
    [
        ({"role": "assistant"}, "messageStart", True),
        ({"message": "slow down"}, "throttlingException", True),
        ({"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": "hi"}}}, None, True),
        ({"metadata": {"usage": {}}}, None, True),
        ({"metadata": {"usage": {}}, "other": 1}, None, False),
        ({"type": "message_start", "message": {}}, "message_start", False),
        ({"type": "content-delta", "index": 0}, "content-delta", False),
        ({"object": "chat.completion.chunk", "choices": []}, None, False),
        ({"error": {"message": "x"}}, "error", False),
    ],
)
def test_sniff(data: Any, event: str | None, claimed: bool) -> None:
    assert registry().dialect("bedrock").sniff(data, event) is claimed


def test_a_text_delta_in_the_open_block_is_one_event() -> None:
    n = registry().dialect("bedrock").normalizer()
    n.feed(*reversed(START))
    assert types(
        n.feed({"contentBlockIndex": 0, "delta": {"text": "a"}, "p": "xy"}, "contentBlockDelta")
    ) == [
        "text-start",
        "text-delta",
    ]
    fed = n.feed({"contentBlockIndex": 0, "delta": {"text": "b"}, "p": "xyz"}, "contentBlockDelta")
    assert fed == [{"type": "text-delta", "id": "text-0", "delta": "b"}]
    assert n.feed({"contentBlockIndex": 0, "delta": {"text": ""}}, "contentBlockDelta") == []
    # the same event decoded by an SDK
    assert n.feed({"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": "c"}}}) == [
        {"type": "text-delta", "id": "text-0", "delta": "c"}
    ]


def test_an_empty_text_delta_opens_no_block() -> None:
    out = norm(START, delta(0, {"text": ""}), ("contentBlockStop", {"contentBlockIndex": 0}),
               delta(1, {"text": "Hi"}))  # fmt: skip
    assert types(out) == ["start", "text-start", "text-delta", "text-end", "finish"]


def test_the_finish_waits_for_metadata() -> None:
    n = registry().dialect("bedrock").normalizer()
    for event, data in (START, delta(0, {"text": "x"}), ("contentBlockStop", {"contentBlockIndex": 0})):
        n.feed(data, event)
    assert n.feed({"stopReason": "end_turn"}, "messageStop") == []
    usage = {"inputTokens": 5, "outputTokens": 2, "totalTokens": 7, "cacheReadInputTokens": 3}
    (finish,) = n.feed({"usage": usage, "metrics": {"latencyMs": 9}, "p": "abc"}, "metadata")
    assert finish == {
        "type": "finish",
        "finish_reason": "stop",
        "raw_finish_reason": "end_turn",
        "usage": {"input_tokens": 5, "output_tokens": 2, "total_tokens": 7, "cached_input_tokens": 3},
        "provider_metadata": {"bedrock": {"metrics": {"latencyMs": 9}, "usage": usage}},
    }
    assert n.close() == []


def test_without_metadata_the_finish_comes_at_the_end_or_at_the_next_response() -> None:
    assert (
        types(norm(START, delta(0, {"text": "x"}), ("messageStop", {"stopReason": "end_turn"})))[-1]
        == "finish"
    )
    two = norm(START, delta(0, {"text": "a"}), ("messageStop", {"stopReason": "end_turn"}),
               START, delta(0, {"text": "b"}))  # fmt: skip
    assert types(two) == ["start", "text-start", "text-delta", "text-end", "finish",
                          "start", "text-start", "text-delta", "text-end", "finish"]  # fmt: skip
    assert [e["finish_reason"] for e in two if e["type"] == "finish"] == ["stop", "other"]


@pytest.mark.parametrize(
    ("stop", "reason"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("tool_use", "tool-calls"),
        ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"),
        ("guardrail_intervened", "content-filter"),
        ("content_filtered", "content-filter"),
        ("malformed_model_output", "other"),
        ("something_new", "other"),
    ],
)
def test_stop_reasons(stop: str, reason: str) -> None:
    finish = norm(START, ("messageStop", {"stopReason": stop}))[-1]
    assert (finish["finish_reason"], finish["raw_finish_reason"]) == (reason, stop)


@pytest.mark.parametrize(
    ("name", "retryable"),
    [
        ("throttlingException", True),
        ("serviceUnavailableException", True),
        ("internalServerException", True),
        ("modelStreamErrorException", False),
        ("validationException", False),
    ],
)
def test_exceptions(name: str, retryable: bool) -> None:
    out = norm(START, delta(0, {"text": "x"}), (name, {"message": "it broke"}))
    assert types(out) == ["start", "text-start", "text-delta", "text-end", "error", "finish"]
    error, finish = out[-2:]
    assert (error["message"], error["code"], error["retryable"]) == ("it broke", name, retryable)
    assert finish["finish_reason"] == "error"


def test_an_event_stream_error_frame() -> None:
    wire = frame("eventstream", "messageStart", {"role": "assistant"}) + frame(
        "eventstream", "error", {"code": "InternalFailure", "message": "The request processing has failed."}
    )
    error = next(e for e in events_of(wire) if e["type"] == "error")
    assert (error["code"], error["message"]) == ("InternalFailure", "The request processing has failed.")


def test_the_padding_is_dropped() -> None:
    wire = b"".join(
        frame("eventstream", name, {**payload, "p": "PADDING"})
        for name, payload in (
            START,
            delta(0, {"text": "hi"}),
            ("messageStop", {"stopReason": "end_turn"}),
            ("metadata", {"usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2}, "metrics": {}}),
        )
    )
    assert b"PADDING" not in orjson.dumps(events_of(wire))


def test_bad_data_is_a_data_error() -> None:
    with pytest.raises(DataError, match="bedrock: a toolUse delta for content block 3"):
        events_of(b"".join(frame("eventstream", *e) for e in (START, delta(3, {"toolUse": {"input": "{}"}}))))
    with pytest.raises(DataError, match="a contentBlockDelta event holds a list"):
        norm(START, ("contentBlockDelta", [1, 2]))


def test_bad_data_through_the_cli(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"messageStart": {"role": "assistant"}}\n{"contentBlockDelta": {"delta": []}}\n')
    result = subprocess.run([str(STREAMKIT), "convert", "--to", "ndjson", str(path)], capture_output=True)
    assert result.returncode == 65
    assert (
        result.stderr.count(b"\n") == 1
        and b"bedrock: a contentBlockDelta event without its 'delta'" in result.stderr
    )


# --- the encoder ------------------------------------------------------------------------------


def rich_stream() -> list[dict[str, Any]]:
    """Canonical events from elsewhere, touching everything the encoder writes."""
    return [
        {"type": "start", "id": "resp_1", "model": "m"},
        {"type": "reasoning-start", "id": "r0"},
        {"type": "reasoning-delta", "id": "r0", "delta": "Think."},
        {"type": "reasoning-end", "id": "r0", "provider_metadata": {"bedrock": {"signature": "c2ln"}}},
        {"type": "reasoning-start", "id": "r1"},
        {"type": "reasoning-end", "id": "r1", "provider_metadata": {"bedrock": {"redacted_data": "cmVk"}}},
        {"type": "text-start", "id": "t0"},
        {"type": "text-delta", "id": "t0", "delta": "See "},
        {"type": "source", "source_type": "url", "id": "s0", "url": "https://example.com", "title": "Ex"},
        {"type": "text-delta", "id": "t0", "delta": "this."},
        {"type": "text-end", "id": "t0"},
        {"type": "source", "source_type": "document", "id": "s1", "title": "doc.pdf"},
        {"type": "file", "media_type": "image/png", "data": "iVBORw0KGgo="},
        {"type": "tool-call", "tool_call_id": "call_a", "tool_name": "f", "arguments": '{"x": 1}', "input": {"x": 1}},
        {"type": "tool-call", "tool_call_id": "ws_1", "tool_name": "web_search", "arguments": "{}", "input": {},
         "provider_executed": True},
        {"type": "tool-result", "tool_call_id": "ws_1", "tool_name": "web_search", "output": [{"url": "u"}],
         "provider_executed": True},
        {"type": "tool-input-start", "id": "call_b", "tool_name": "g"},
        {"type": "tool-input-delta", "id": "call_b", "delta": '{"y": '},
        {"type": "tool-input-delta", "id": "call_b", "delta": "2}"},
        {"type": "tool-input-end", "id": "call_b"},
        {"type": "tool-call", "tool_call_id": "call_b", "tool_name": "g", "arguments": '{"y": 2}', "input": {"y": 2}},
        {"type": "finish", "finish_reason": "tool-calls", "usage": {"input_tokens": 10, "output_tokens": 4}},
    ]  # fmt: skip


def sdk_summary(parsed: list[dict[str, Any]]) -> tuple[str, list[tuple[str, Any]]]:
    """Text and client tool calls, folded from the SDK's parsed events as a boto3 user would."""
    text, calls, open_calls = [], [], {}
    for ev in parsed:
        if "contentBlockStart" in ev:
            tool = ev["contentBlockStart"]["start"].get("toolUse")
            if tool and tool.get("type") != "server_tool_use":
                open_calls[ev["contentBlockStart"]["contentBlockIndex"]] = [tool["name"], ""]
        elif "contentBlockDelta" in ev:
            d, index = ev["contentBlockDelta"]["delta"], ev["contentBlockDelta"]["contentBlockIndex"]
            text.append(d.get("text", ""))
            if "toolUse" in d and index in open_calls:
                open_calls[index][1] += d["toolUse"]["input"]
        elif "contentBlockStop" in ev and ev["contentBlockStop"]["contentBlockIndex"] in open_calls:
            name, args = open_calls.pop(ev["contentBlockStop"]["contentBlockIndex"])
            calls.append((name, orjson.loads(args or "{}")))
    return "".join(text), calls


def our_summary(events: list[dict[str, Any]]) -> tuple[str, list[tuple[str, Any]]]:
    (message,) = messages(list(accumulate(events)))
    text = "".join(p["text"] for p in message["content"] if p["type"] == "text")
    calls = [(p["tool_name"], p["input"]) for p in message["content"]
             if p["type"] == "tool-call" and not p.get("provider_executed")]  # fmt: skip
    return text, calls


def test_every_event_written_validates_and_botocore_reads_the_same_message() -> None:
    wire = encode(rich_stream())
    pairs = validate_with_botocore(wire)
    assert [e for e, _ in pairs][:2] == ["messageStart", "contentBlockDelta"]
    assert (
        sdk_summary(read_with_botocore(wire))
        == our_summary(rich_stream())
        == (
            "See this.",
            [("f", {"x": 1}), ("g", {"y": 2})],
        )
    )
    (again,) = messages(events_of(wire))
    assert [p["type"] for p in again["content"]] == [
        "reasoning", "reasoning", "text", "source", "source", "file", "tool-call", "tool-call", "tool-result",
        "tool-call",
    ]  # fmt: skip
    assert again["content"][0]["provider_metadata"] == {"bedrock": {"signature": "c2ln"}}
    assert again["content"][1] == {
        "type": "reasoning",
        "text": "",
        "provider_metadata": {"bedrock": {"redacted_data": "cmVk"}},
    }
    assert (again["content"][3]["source_type"], again["content"][3]["url"]) == ("url", "https://example.com")
    assert (again["content"][4]["source_type"], again["content"][4]["title"]) == ("document", "doc.pdf")
    assert again["content"][7]["provider_executed"] and again["content"][8]["output"] == [{"url": "u"}]
    assert (again["finish_reason"], again["usage"]) == (
        "tool-calls",
        {"input_tokens": 10, "output_tokens": 4, "total_tokens": 14},
    )


@pytest.mark.parametrize("case", sorted(DATA.glob("*.jsonl")), ids=lambda p: p.stem)
def test_every_golden_case_re_encoded_validates(case: Path) -> None:
    validate_with_botocore(encode(events_of(case)))


def test_botocore_raises_the_exception_we_write() -> None:
    exceptions = pytest.importorskip(
        "botocore.exceptions", reason="botocore (the test extra) is not installed"
    )
    EventStreamError = exceptions.EventStreamError

    wire = encode(events_of(DATA / "throttling.jsonl"))
    with pytest.raises(EventStreamError) as info:
        read_with_botocore(wire)
    assert info.value.response["Error"]["Code"] == "throttlingException"


@pytest.mark.parametrize(
    ("finish", "stop"),
    [
        ({"finish_reason": "stop"}, "end_turn"),
        ({"finish_reason": "stop", "raw_finish_reason": "stop_sequence"}, "stop_sequence"),
        ({"finish_reason": "stop", "raw_finish_reason": "stop"}, "end_turn"),
        ({"finish_reason": "length", "raw_finish_reason": "model_context_window_exceeded"}, "model_context_window_exceeded"),
        ({"finish_reason": "length"}, "max_tokens"),
        ({"finish_reason": "tool-calls"}, "tool_use"),
        ({"finish_reason": "content-filter", "raw_finish_reason": "guardrail_intervened"}, "guardrail_intervened"),
        ({"finish_reason": "content-filter"}, "content_filtered"),
        ({"finish_reason": "other", "raw_finish_reason": "malformed_tool_use"}, "malformed_tool_use"),
        ({"finish_reason": "other", "raw_finish_reason": "pause_turn"}, None),
        ({"finish_reason": "error"}, None),
    ],
)  # fmt: skip
def test_finish_reasons_on_the_wire(finish: dict[str, Any], stop: str | None) -> None:
    wire = encode([{"type": "start"}, {"type": "finish", **finish}])
    stops = [raw["data"]["stopReason"] for raw in replay(io.BytesIO(wire)) if raw["event"] == "messageStop"]
    assert stops == ([stop] if stop else [])


@pytest.mark.parametrize(
    ("error", "exception"),
    [
        ({"code": "rate_limit_exceeded"}, "throttlingException"),
        ({"code": 429}, "throttlingException"),
        ({"code": "overloaded_error", "retryable": True}, "serviceUnavailableException"),
        ({"code": "invalid_request_error"}, "validationException"),
        ({"code": "server_error", "retryable": True}, "internalServerException"),
        ({"code": "server_error"}, "modelStreamErrorException"),
    ],
)
def test_errors_become_the_nearest_exception(error: dict[str, Any], exception: str) -> None:
    wire = encode(
        [
            {"type": "start"},
            {"type": "error", "message": "boom", **error},
            {"type": "finish", "finish_reason": "error"},
        ]
    )
    raws = list(replay(io.BytesIO(wire)))
    assert [(r["event"], r["data"]) for r in raws[1:]] == [(exception, {"message": "boom"})]
    assert encode([{"type": "error", "message": "bad line", "code": "bad-input"}]) == b""


def test_what_bedrock_cannot_say_is_dropped_with_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    events = [
        {"type": "start"},
        {"type": "file", "media_type": "audio/wav", "data": "UklGRg=="},
        {"type": "text-start", "id": "c1.text-0", "choice": 1},
        {"type": "reasoning-start", "id": "r0"},
        {"type": "reasoning-end", "id": "r0", "provider_metadata": {"anthropic": {"redacted_data": "EmwK"}}},
        {"type": "finish", "finish_reason": "stop"},
    ]
    raws = list(replay(io.BytesIO(encode(events))))
    assert [r["event"] for r in raws] == ["messageStart", "contentBlockStop", "messageStop"]
    err = capsys.readouterr().err
    assert "bedrock cannot express redacted or encrypted reasoning from other dialects (1); dropped" in err
    assert "bedrock cannot express files other than png, jpeg, gif or webp images (1); dropped" in err
    assert "bedrock cannot express choices other than the first (1); dropped" in err


def test_final_messages_alone_are_written_whole() -> None:
    first = events_of(DATA / "tool-use.jsonl") + events_of(DATA / "reasoning-signature.jsonl")
    final = [e for e in first if e["type"] == "message"]
    again = events_of(encode(final))
    assert [essence(m) for m in messages(again)] == [essence(m) for m in final]
    assert (
        messages(again)[1]["content"][0]["provider_metadata"] == final[1]["content"][0]["provider_metadata"]
    )


def test_an_error_before_its_final_message_is_written_inside_that_response() -> None:
    final = list(accumulate(events_of(DATA / "throttling.jsonl"), final=True))
    assert [e["type"] for e in final] == ["error", "message"]  # what accumulate --final writes
    wire = encode(final)
    assert [r["event"] for r in replay(io.BytesIO(wire))] == [
        "messageStart", "contentBlockDelta", "contentBlockStop", "throttlingException"
    ]  # fmt: skip
    assert [essence(m) for m in messages(events_of(wire))] == [essence(m) for m in messages(final)]
    alone = encode([{"type": "error", "message": "no response at all", "code": "server_error"}])
    assert [r["event"] for r in replay(io.BytesIO(alone))] == ["messageStart", "modelStreamErrorException"]


def test_the_encoder_writes_each_response_of_a_stream() -> None:
    first = events_of(DATA / "text.jsonl") + events_of(DATA / "tool-use.jsonl")
    wire = encode(first)
    assert [r["event"] for r in replay(io.BytesIO(wire))].count("messageStart") == 2
    assert [essence(m) for m in messages(events_of(wire))] == [essence(m) for m in messages(first)]


def test_render_writes_frames_that_fetch_replays_through_real_pipes() -> None:
    env = {**os.environ, "PATH": f"{STREAMKIT.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    script = (
        "streamkit convert --to bedrock tests/data/openai-chat/parallel-tools.sse"
        " | streamkit fetch --replay - | streamkit normalize | streamkit accumulate --final"
    )
    result = subprocess.run(["sh", "-c", script], capture_output=True, env=env, cwd=REPO)
    assert result.returncode == 0, result.stderr
    (message,) = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert message["dialect"] == "bedrock"
    assert [(p["tool_name"], p["input"]) for p in message["content"]] == [
        ("f", {"n": 1}),
        ("g", {"m": 2}),
        ("h", {}),
    ]


def test_normalize_detects_bedrock_in_raw_events_and_decoded_lines() -> None:
    raws = [
        {"type": "raw", "dialect": None, "event": e, "data": d} for e, d in (START, delta(0, {"text": "x"}))
    ]
    assert next(normalize(iter(raws), registry=registry()))["dialect"] == "bedrock"
    lines = [{"messageStart": {"role": "assistant"}}]
    assert next(normalize(iter(lines), registry=registry()))["dialect"] == "bedrock"
