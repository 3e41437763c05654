"""The cohere dialect, behaviour by behaviour: normalizing v2 chat stream events, and encoding
canonical events into a stream the official cohere SDK validates and its client reads."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from cohere_helpers import (
    DATA,
    REPO,
    encode,
    essence,
    events_of,
    messages,
    read_with_client,
    registry,
    validate_with_sdk,
)

from streamkit import DataError, accumulate, replay

STREAMKIT = Path(sys.executable).parent / "streamkit"


def norm(*wire: dict[str, Any]) -> list[dict[str, Any]]:
    """Wire payloads (each sent as the SSE event its type names) through a fresh normalizer."""
    n = registry().dialect("cohere").normalizer()
    out: list[dict[str, Any]] = []
    for data in wire:
        out.extend(n.feed(data, data.get("type")) or [])
    return out + n.close()


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


START = {"id": "m1", "type": "message-start", "delta": {"message": {"role": "assistant"}}}


def content_start(index: int, kind: str = "text") -> dict[str, Any]:
    return {
        "type": "content-start",
        "index": index,
        "delta": {"message": {"content": {"type": kind, kind: ""}}},
    }


def content_delta(index: int, text: str, kind: str = "text") -> dict[str, Any]:
    return {"type": "content-delta", "index": index, "delta": {"message": {"content": {kind: text}}}}


def message_end(**delta: Any) -> dict[str, Any]:
    return {"type": "message-end", "delta": delta}


def test_registered_through_its_entry_point() -> None:
    entry = registry().dialect_entries()["cohere"]
    assert entry.plugin == "cohere"  # the entry point's name: an installed plugin, not a built-in
    assert entry.obj.framing == "sse"


@pytest.mark.parametrize(
    ("data", "event", "claimed"),
    [
        (START, "message-start", True),
        (START, None, True),
        ({"type": "tool-plan-delta", "delta": {}}, None, True),
        ({"type": "content-delta", "index": 0}, "content-start", False),  # the event and type disagree
        ({"type": "message_start", "message": {}}, "message_start", False),
        ({"type": "response.created"}, "response.created", False),
        ({"messageStart": {"role": "assistant"}}, None, False),
        ({"event_type": "text-generation", "text": "v1"}, None, False),
    ],
)
def test_sniff(data: Any, event: str | None, claimed: bool) -> None:
    assert registry().dialect("cohere").sniff(data, event) is claimed


def test_a_content_delta_in_the_open_block_is_one_event() -> None:
    n = registry().dialect("cohere").normalizer()
    n.feed(START, "message-start")
    n.feed(content_start(0), "content-start")
    assert n.feed(content_delta(0, "hi"), "content-delta") == [
        {"type": "text-delta", "id": "text-0", "delta": "hi"}
    ]
    assert n.feed(content_delta(0, ""), "content-delta") == []
    n.feed({"type": "content-end", "index": 0}, "content-end")
    n.feed(content_start(1, "thinking"), "content-start")
    assert n.feed(content_delta(1, "hmm", "thinking"), "content-delta") == [
        {"type": "reasoning-delta", "id": "reasoning-1", "delta": "hmm"}
    ]


def test_a_delta_without_content_start_opens_its_block() -> None:
    out = norm(START, content_delta(0, "Hi"), message_end(finish_reason="COMPLETE"))
    assert types(out) == ["start", "text-start", "text-delta", "text-end", "finish"]
    no_index = {"type": "content-delta", "delta": {"message": {"content": {"text": "Hi"}}}}
    out = norm(START, no_index, no_index)
    assert types(out) == ["start", "text-start", "text-delta", "text-delta", "text-end", "finish"]
    assert {e["id"] for e in out if e["type"] == "text-delta"} == {"text-0"}


def test_a_tool_plan_is_a_reasoning_block_marked_as_such() -> None:
    plan = {"type": "tool-plan-delta", "delta": {"message": {"tool_plan": "I will call f."}}}
    call = {"type": "tool-call-start", "index": 0,
            "delta": {"message": {"tool_calls": {"id": "f_1", "type": "function", "function": {"name": "f", "arguments": ""}}}}}  # fmt: skip
    out = norm(
        START, plan, call, {"type": "tool-call-end", "index": 0}, message_end(finish_reason="TOOL_CALL")
    )
    assert types(out) == ["start", "reasoning-start", "reasoning-delta", "reasoning-end", "tool-input-start",
                          "tool-input-end", "tool-call", "finish"]  # fmt: skip
    assert out[1]["provider_metadata"] == out[3]["provider_metadata"] == {"cohere": {"tool_plan": True}}
    assert (out[6]["arguments"], out[6]["input"]) == ("", {})  # empty arguments parse to {}


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("COMPLETE", "stop"),
        ("STOP_SEQUENCE", "stop"),
        ("MAX_TOKENS", "length"),
        ("TOOL_CALL", "tool-calls"),
        ("ERROR", "error"),
        ("TIMEOUT", "error"),
        ("ERROR_TOXIC", "content-filter"),
        ("USER_CANCEL", "other"),
    ],
)
def test_finish_reasons(raw: str, reason: str) -> None:
    finish = norm(START, message_end(finish_reason=raw))[-1]
    assert (finish["finish_reason"], finish["raw_finish_reason"]) == (reason, raw)


def test_usage_prefers_tokens_processed_over_tokens_billed() -> None:
    both = {"billed_units": {"input_tokens": 5, "output_tokens": 2}, "tokens": {"input_tokens": 505, "output_tokens": 2},
            "cached_tokens": 448.0}  # fmt: skip
    finish = norm(START, message_end(finish_reason="COMPLETE", usage=both))[-1]
    assert finish["usage"] == {"input_tokens": 505, "output_tokens": 2, "cached_input_tokens": 448}
    assert finish["provider_metadata"] == {"cohere": {"usage": both}}
    billed = {"billed_units": {"input_tokens": 5.0, "output_tokens": 2.0}}
    assert norm(START, message_end(usage=billed))[-1]["usage"] == {"input_tokens": 5, "output_tokens": 2}


def test_an_error_on_message_end() -> None:
    out = norm(START, content_delta(0, "x"), message_end(finish_reason="ERROR", error="boom"))
    assert types(out)[-3:] == ["text-end", "error", "finish"]
    assert out[-2]["message"] == "boom" and out[-1]["finish_reason"] == "error"


def test_a_new_message_start_ends_the_response_before_it() -> None:
    out = norm(
        START, content_delta(0, "a"), START, content_delta(0, "b"), message_end(finish_reason="COMPLETE")
    )
    assert [e["finish_reason"] for e in out if e["type"] == "finish"] == ["other", "stop"]
    assert types(out).count("start") == 2


def test_citations_become_sources() -> None:
    sources = [
        {"type": "document", "id": "doc:0", "document": {"id": "doc:0", "title": "Handbook", "text": "..."}},
        {"type": "tool", "id": "web:1", "tool_output": {"url": "https://example.com/a", "title": "A"}},
    ]
    citation = {"start": 0, "end": 4, "text": "Gyms", "sources": sources}
    out = norm(START, {"type": "citation-start", "index": 0, "delta": {"message": {"citations": citation}}},
               {"type": "citation-end", "index": 0})  # fmt: skip
    (source,) = [e for e in out if e["type"] == "source"]
    # url when one of the sources has one, titled after it; the whole citation kept
    assert (source["source_type"], source["url"], source["title"]) == ("url", "https://example.com/a", "A")
    assert source["provider_metadata"] == {"cohere": {"citation": citation}}
    only_doc = {**citation, "sources": sources[:1]}
    (doc,) = [e for e in norm(START, {"type": "citation-start", "index": 0,
                                      "delta": {"message": {"citations": only_doc}}}) if e["type"] == "source"]  # fmt: skip
    assert (doc["source_type"], doc["title"], doc.get("url")) == ("document", "Handbook", None)


def test_debug_events_have_no_canonical_meaning(capsys: pytest.CaptureFixture[str]) -> None:
    n = registry().dialect("cohere").normalizer()
    assert n.feed({"type": "debug", "prompt": "<prompt>"}, "debug") is None
    wire = b"".join(
        b"event: " + e["type"].encode() + b"\ndata: " + orjson.dumps(e) + b"\n\n"
        for e in (START, {"type": "debug", "prompt": "p"}, message_end(finish_reason="COMPLETE"))
    )
    events_of(wire)
    assert "1 cohere event with no canonical meaning (debug)" in capsys.readouterr().err


def test_bad_data_is_a_data_error(tmp_path: Path) -> None:
    delta = {
        "type": "tool-call-delta",
        "index": 3,
        "delta": {"message": {"tool_calls": {"function": {"arguments": "{"}}}},
    }
    with pytest.raises(DataError, match="a tool-call-delta for index 3, which no tool-call-start opened"):
        norm(START, delta)
    path = tmp_path / "bad.sse"
    path.write_bytes(b'event: message-start\ndata: {"type": "message-start", "id": "m"}\n\n'
                     b'event: content-start\ndata: {"type": "content-start", "index": 0, "delta": {}}\n\n')  # fmt: skip
    result = subprocess.run([str(STREAMKIT), "convert", "--to", "ndjson", str(path)], capture_output=True)
    assert result.returncode == 65
    assert result.stderr.count(b"\n") == 1
    assert b"cohere: a content-start event without delta.message.content" in result.stderr


# --- the encoder ------------------------------------------------------------------------------


def rich_stream() -> list[dict[str, Any]]:
    """Canonical events from elsewhere, touching everything the encoder writes."""
    return [
        {"type": "start", "id": "resp_9", "model": "m"},
        {"type": "reasoning-start", "id": "r0"},
        {"type": "reasoning-delta", "id": "r0", "delta": "Think first."},
        {"type": "reasoning-end", "id": "r0"},
        {"type": "text-start", "id": "t0"},
        {"type": "text-delta", "id": "t0", "delta": "Answer "},
        {"type": "source", "source_type": "url", "id": "s0", "url": "https://example.com", "title": "Ex"},
        {"type": "text-delta", "id": "t0", "delta": "here."},
        {"type": "text-end", "id": "t0"},
        {"type": "source", "source_type": "document", "id": "s1", "title": "notes.pdf"},
        {"type": "tool-call", "tool_call_id": "call_a", "tool_name": "f", "arguments": '{"x": 1}', "input": {"x": 1}},
        {"type": "tool-input-start", "id": "call_b", "tool_name": "g"},
        {"type": "tool-input-delta", "id": "call_b", "delta": '{"y": '},
        {"type": "tool-input-delta", "id": "call_b", "delta": "2}"},
        {"type": "tool-input-end", "id": "call_b"},
        {"type": "tool-call", "tool_call_id": "call_b", "tool_name": "g", "arguments": '{"y": 2}', "input": {"y": 2}},
        {"type": "finish", "finish_reason": "tool-calls", "usage": {"input_tokens": 10, "output_tokens": 4,
                                                                    "cached_input_tokens": 2}},
    ]  # fmt: skip


def client_summary(events: list[Any]) -> tuple[str, list[tuple[str, Any]], str | None]:
    """Text, tool calls and finish reason, folded from the client's typed events as its users do."""
    text, calls, reason = [], {}, None
    for ev in events:
        if ev.type == "content-delta" and ev.delta.message.content.text:
            text.append(ev.delta.message.content.text)
        elif ev.type == "tool-call-start":
            tc = ev.delta.message.tool_calls
            calls[ev.index] = [tc.function.name, tc.function.arguments or ""]
        elif ev.type == "tool-call-delta":
            calls[ev.index][1] += ev.delta.message.tool_calls.function.arguments
        elif ev.type == "message-end":
            reason = ev.delta.finish_reason
    return "".join(text), [(n, parse(a)) for n, a in calls.values()], reason


def parse(arguments: str) -> Any:
    try:
        return orjson.loads(arguments or "{}")
    except orjson.JSONDecodeError:
        return None  # a call cut off mid-arguments


def test_every_event_written_validates_and_the_client_reads_the_same_message() -> None:
    wire = encode(rich_stream())
    pairs = validate_with_sdk(wire)
    assert [e for e, _ in pairs][:3] == ["message-start", "content-start", "content-delta"]
    assert client_summary(read_with_client(wire)) == (
        "Answer here.",
        [("f", {"x": 1}), ("g", {"y": 2})],
        "TOOL_CALL",
    )
    (again,) = messages(events_of(wire))
    assert [p["type"] for p in again["content"]] == [
        "reasoning",
        "text",
        "source",
        "source",
        "tool-call",
        "tool-call",
    ]
    assert (again["content"][2]["source_type"], again["content"][2]["url"]) == ("url", "https://example.com")
    assert (again["content"][3]["source_type"], again["content"][3]["title"]) == ("document", "notes.pdf")
    assert (again["id"], again["finish_reason"], again["usage"]) == (
        "resp_9",
        "tool-calls",
        {"input_tokens": 10, "output_tokens": 4, "cached_input_tokens": 2},
    )


@pytest.mark.parametrize("case", sorted(DATA.glob("*.sse")), ids=lambda p: p.stem)
def test_every_golden_case_re_encoded_validates_and_reads(case: Path) -> None:
    first = events_of(case)
    wire = encode(first)
    validate_with_sdk(wire)
    (ours,) = messages(first)
    text = "".join(p["text"] for p in ours["content"] if p["type"] == "text")
    calls = [(p["tool_name"], p["input"]) for p in ours["content"] if p["type"] == "tool-call"]
    assert client_summary(read_with_client(wire))[:2] == (text, calls)


def test_a_tool_plan_is_written_back_as_tool_plan_deltas() -> None:
    wire = encode(events_of(DATA / "tool-plan-calls.sse"))
    events = [raw["event"] for raw in replay(io.BytesIO(wire))]
    assert events[:4] == ["message-start", "tool-plan-delta", "tool-plan-delta", "tool-plan-delta"]
    assert "content-start" not in events
    # also from final messages alone, where the mark rides on the reasoning part
    final = [e for e in accumulate(events_of(DATA / "tool-plan-calls.sse"), final=True)]
    events = [raw["event"] for raw in replay(io.BytesIO(encode(final)))]
    assert events.count("tool-plan-delta") == 1 and "content-start" not in events


@pytest.mark.parametrize(
    ("finish", "wire_reason"),
    [
        ({"finish_reason": "stop"}, "COMPLETE"),
        ({"finish_reason": "stop", "raw_finish_reason": "STOP_SEQUENCE"}, "STOP_SEQUENCE"),
        ({"finish_reason": "stop", "raw_finish_reason": "end_turn"}, "COMPLETE"),
        ({"finish_reason": "length"}, "MAX_TOKENS"),
        ({"finish_reason": "tool-calls"}, "TOOL_CALL"),
        ({"finish_reason": "error", "raw_finish_reason": "TIMEOUT"}, "TIMEOUT"),
        ({"finish_reason": "error"}, "ERROR"),
        ({"finish_reason": "content-filter"}, "ERROR_TOXIC"),
        ({"finish_reason": "other"}, None),
    ],
)
def test_finish_reasons_on_the_wire(finish: dict[str, Any], wire_reason: str | None) -> None:
    wire = encode([{"type": "start"}, {"type": "finish", **finish}])
    (end,) = [raw["data"] for raw in replay(io.BytesIO(wire)) if raw["event"] == "message-end"]
    assert end["delta"].get("finish_reason") == wire_reason


def test_an_error_is_reported_on_message_end() -> None:
    wire = encode([{"type": "start"}, {"type": "text-delta", "id": "t", "delta": "x"},
                   {"type": "error", "message": "upstream failed", "code": "server_error"},
                   {"type": "finish", "finish_reason": "error"}])  # fmt: skip
    end = [raw["data"] for raw in replay(io.BytesIO(wire))][-1]
    assert end == {"type": "message-end", "delta": {"error": "upstream failed", "finish_reason": "ERROR"}}
    (message,) = messages(events_of(wire))
    assert message["finish_reason"] == "error"
    # cut off after the error, with no finish: the end of the stream still says it
    cut = encode([{"type": "start"}, {"type": "error", "message": "gone"}])
    assert [raw["data"] for raw in replay(io.BytesIO(cut))][-1]["delta"] == {
        "finish_reason": "ERROR",
        "error": "gone",
    }


def test_what_cohere_cannot_say_is_dropped_with_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    events = [
        {"type": "start"},
        {"type": "file", "media_type": "image/png", "data": "iVBORw0KGgo="},
        {"type": "tool-call", "tool_call_id": "ws", "tool_name": "web_search", "arguments": "{}", "provider_executed": True},
        {"type": "tool-result", "tool_call_id": "ws", "tool_name": "web_search", "output": [], "provider_executed": True},
        {"type": "tool-result", "tool_call_id": "c", "tool_name": "f", "output": "client result"},
        {"type": "text-start", "id": "c1.text-0", "choice": 1},
        {"type": "reasoning-start", "id": "r0"},
        {"type": "reasoning-end", "id": "r0", "provider_metadata": {"openai-responses": {"encrypted_content": "gAAA"}}},
        {"type": "finish", "finish_reason": "stop"},
    ]  # fmt: skip
    assert [r["event"] for r in replay(io.BytesIO(encode(events)))] == [
        "message-start", "content-start", "content-end", "message-end"
    ]  # fmt: skip
    err = capsys.readouterr().err
    for what in ("files (1)", "provider-executed tool calls (1)", "provider-executed tool results (1)",
                 "choices other than the first (1)", "redacted or encrypted reasoning (1)"):  # fmt: skip
        assert f"cohere cannot express {what}; dropped" in err


def test_final_messages_alone_and_several_responses() -> None:
    first = events_of(DATA / "citations.sse") + events_of(DATA / "thinking.sse")
    final = messages(first)
    again = messages(events_of(encode(final)))
    assert [essence(m) for m in again] == [essence(m) for m in final]
    # accumulate --final writes an error before the message it belongs to
    with_error = list(accumulate(events_of(DATA / "error.sse"), final=True))
    assert [e["type"] for e in with_error] == ["error", "message"]
    wire = encode(with_error)
    end = [raw["data"] for raw in replay(io.BytesIO(wire))][-1]
    assert end["delta"]["error"] == with_error[0]["message"] and end["delta"]["finish_reason"] == "ERROR"
    assert [essence(m) for m in messages(events_of(wire))] == [essence(m) for m in messages(with_error)]
    alone = encode([{"type": "error", "message": "no response at all"}])
    assert [raw["event"] for raw in replay(io.BytesIO(alone))] == ["message-start", "message-end"]
    assert [essence(m) for m in messages(events_of(encode(first)))] == [essence(m) for m in final]


def test_render_then_replay_through_real_pipes() -> None:
    env = {**os.environ, "PATH": f"{STREAMKIT.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    script = (
        "streamkit convert --to cohere tests/data/openai-chat/parallel-tools.sse"
        " | streamkit fetch --replay - | streamkit normalize | streamkit accumulate --final"
    )
    result = subprocess.run(["sh", "-c", script], capture_output=True, env=env, cwd=REPO)
    assert result.returncode == 0, result.stderr
    (message,) = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert message["dialect"] == "cohere"
    assert [(p["tool_name"], p["input"]) for p in message["content"]] == [
        ("f", {"n": 1}),
        ("g", {"m": 2}),
        ("h", {}),
    ]
