"""The openai-responses normalizer: what each case of the Responses API must become, stated
directly."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from streamkit.errors import DataError
from streamkit.stages.accumulate import accumulate
from streamkit.stages.normalize import normalize
from tests.conftest import DATA, events_of, messages

CASES = DATA / "openai-responses"
ALL_CASES = sorted(CASES.glob("*.sse"))
NAME = "openai-responses"


def of_type(events: list[dict], kind: str) -> list[dict]:
    return [e for e in events if e["type"] == kind]


def meta(event: dict) -> dict:
    return event.get("provider_metadata", {}).get(NAME, {})


def text_of(message: dict) -> str:
    return "".join(p["text"] for p in message["content"] if p["type"] == "text" and not p.get("refusal"))


def client_calls(message: dict) -> list[tuple[str, str, Any]]:
    return [
        (p["tool_call_id"], p["tool_name"], p["input"])
        for p in message["content"]
        if p["type"] == "tool-call" and not p.get("provider_executed")
    ]


def normalized(*payloads: dict) -> list[dict]:
    """Bare Responses payloads → canonical events (normalize + accumulate)."""
    raws = [{"type": "raw", "dialect": NAME, "event": p.get("type"), "data": p} for p in payloads]
    return list(accumulate(normalize(iter(raws))))


# --- the response: start, finish, usage --------------------------------------------------------


def test_completed_gives_stop_usage_and_what_a_continuation_needs() -> None:
    events = events_of(CASES / "text.sse")
    (start,) = of_type(events, "start")
    assert (start["id"], start["model"], start["created"]) == (
        "resp_text01",
        "gpt-5-mini-2025-08-07",
        1767225600,
    )
    (finish,) = of_type(events, "finish")
    assert (finish["finish_reason"], finish["raw_finish_reason"]) == ("stop", "completed")
    assert finish["usage"] == {
        "input_tokens": 19,
        "output_tokens": 12,
        "total_tokens": 31,
        "cached_input_tokens": 8,
        "reasoning_tokens": 0,
    }
    assert meta(finish)["response_id"] == "resp_text01"
    assert meta(finish)["usage"]["input_tokens_details"] == {"cached_tokens": 8}
    assert text_of(messages(events)[0]) == "Hello! How can I help today?"


def test_sequence_numbers_and_obfuscation_do_not_reach_canonical_events() -> None:
    for case in ALL_CASES:
        for event in events_of(case):
            assert b"sequence_number" not in orjson.dumps(event)
    for event in events_of(CASES / "function-call.sse"):
        assert b"obfuscation" not in orjson.dumps(event)


@pytest.mark.parametrize(
    ("case", "reason", "raw"),
    [
        ("incomplete-length", "length", "max_output_tokens"),
        ("incomplete-content-filter", "content-filter", "content_filter"),
        ("function-call", "tool-calls", "completed"),
        ("custom-tool", "tool-calls", "completed"),
        ("apply-patch", "tool-calls", "completed"),
        ("web-search", "stop", "completed"),  # provider-executed calls need no answer
        ("failed", "error", "failed"),
        ("error-event", "error", None),
        ("truncated", "other", None),
    ],
)
def test_finish_reasons(case: str, reason: str, raw: str | None) -> None:
    (finish,) = of_type(events_of(CASES / f"{case}.sse"), "finish")
    assert (finish["finish_reason"], finish["raw_finish_reason"]) == (reason, raw)


def test_incomplete_keeps_its_details_and_the_text_so_far() -> None:
    events = events_of(CASES / "incomplete-length.sse")
    assert meta(of_type(events, "finish")[0])["incomplete_details"] == {"reason": "max_output_tokens"}
    assert text_of(messages(events)[0]) == "Once upon a time, in a land far away"


def test_failed_response_gives_its_error_then_finish_error() -> None:
    events = events_of(CASES / "failed.sse")
    kinds = [e["type"] for e in events]
    assert kinds.index("text-end") < kinds.index("error") < kinds.index("finish")
    (error,) = of_type(events, "error")
    assert error["code"] == "server_error" and error["retryable"] is True
    assert error["message"].startswith("The server had an error")
    assert text_of(messages(events)[0]) == "Partial answer"


def test_error_event_mid_stream_keeps_the_text_before_it() -> None:
    events = events_of(CASES / "error-event.sse")
    (error,) = of_type(events, "error")
    assert (error["code"], error["retryable"]) == ("rate_limit_exceeded", True)
    (message,) = messages(events)
    assert (text_of(message), message["finish_reason"]) == ("The answer is", "error")


def test_a_failed_response_after_an_error_event_gives_one_error() -> None:
    created = {"type": "response.created", "sequence_number": 0, "response": {"id": "r1", "model": "m"}}
    error = {"type": "error", "sequence_number": 1, "code": "server_error", "message": "boom", "param": None}
    failed = {
        "type": "response.failed",
        "sequence_number": 2,
        "response": {
            "id": "r1",
            "model": "m",
            "status": "failed",
            "error": {"code": "server_error", "message": "boom"},
        },
    }
    events = normalized(created, error, failed)
    assert len(of_type(events, "error")) == 1
    assert of_type(events, "finish")[0]["finish_reason"] == "error"


def test_a_tool_loop_recording_gives_one_start_and_finish_per_response() -> None:
    events = events_of(CASES / "tool-loop.sse")
    kinds = [e["type"] for e in events if e["type"] in ("start", "finish")]
    assert kinds == ["start", "finish", "start", "finish"]
    msgs = messages(events)
    assert [(m["id"], m["finish_reason"]) for m in msgs] == [
        ("resp_loop01", "tool-calls"),
        ("resp_loop02", "stop"),
    ]
    assert meta(of_type(events, "start")[1]) == {"previous_response_id": "resp_loop01"}
    assert client_calls(msgs[0]) == [("call_loop01", "get_weather", {"location": "Paris"})]
    assert text_of(msgs[1]) == "It is 18°C and sunny in Paris."


def test_a_new_response_while_one_is_open_ends_the_open_one() -> None:
    events = normalized(
        {"type": "response.created", "response": {"id": "r1", "model": "m"}},
        {
            "type": "response.output_text.delta",
            "item_id": "m1",
            "output_index": 0,
            "content_index": 0,
            "delta": "a",
        },
        {"type": "response.created", "response": {"id": "r2", "model": "m"}},
        {
            "type": "response.output_text.delta",
            "item_id": "m2",
            "output_index": 0,
            "content_index": 0,
            "delta": "b",
        },
        {"type": "response.completed", "response": {"id": "r2", "model": "m", "status": "completed"}},
    )
    assert [(m["id"], m["finish_reason"], text_of(m)) for m in messages(events)] == [
        ("r1", "other", "a"),
        ("r2", "stop", "b"),
    ]


def test_ids_that_change_mid_response_are_still_one_response() -> None:
    """Some compatible servers give the response and its items other ids at their end: items are
    tied by their place (output_index), the final response ends the one open."""
    events = events_of(CASES / "rotated-ids.sse")
    assert [e["type"] for e in events if e["type"] in ("start", "finish")] == ["start", "finish"]
    (message,) = messages(events)
    assert text_of(message) == "Hello from a server that renames things."
    assert client_calls(message) == [("call_rot1", "lookup", {"q": "ids"})]
    assert meta(of_type(events, "finish")[0])["response_id"] == "resp_rot_b"  # what to continue from


def test_a_response_created_under_another_id_before_any_output_is_the_same_response() -> None:
    events = normalized(
        {"type": "response.queued", "response": {"id": "r1", "model": "m"}},
        {"type": "response.created", "response": {"id": "r1b", "model": "m"}},
        {"type": "response.output_text.delta", "item_id": "m1", "output_index": 0, "content_index": 0, "delta": "a"},
        {"type": "response.completed", "response": {"id": "r1c", "model": "m", "status": "completed"}},
    )  # fmt: skip
    assert [(m["finish_reason"], text_of(m)) for m in messages(events)] == [("stop", "a")]


def test_a_resumed_stream_starts_at_its_first_event() -> None:
    events = events_of(CASES / "resumed.sse")
    (start,) = of_type(events, "start")
    assert start["id"] is None  # not known until response.completed...
    assert meta(of_type(events, "finish")[0])["response_id"] == "resp_res01"  # ...which names it
    assert text_of(messages(events)[0]) == " brown fox jumps over the lazy dog."


def test_queued_created_and_in_progress_start_one_response() -> None:
    events = events_of(CASES / "queued.sse")
    assert len(of_type(events, "start")) == 1
    assert meta(of_type(events, "start")[0]) == {"background": True}


def test_items_sent_whole_are_taken_from_their_done_events() -> None:
    events = events_of(CASES / "whole-items.sse")
    (message,) = messages(events)
    assert [(p["type"], p.get("text") or p.get("url")) for p in message["content"]] == [
        ("reasoning", "Greet back."),
        ("text", "Hi there!"),
        ("source", "https://example.org/hello"),
    ]


def test_items_never_streamed_are_taken_from_the_final_response() -> None:
    final = {
        "id": "r1",
        "model": "m",
        "status": "completed",
        "output": [
            {"id": "fc_1", "type": "function_call", "call_id": "call_1", "name": "f", "arguments": '{"a":1}'},
            {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "ok", "annotations": []}],
            },
        ],
    }
    events = normalized({"type": "response.completed", "sequence_number": 9, "response": final})
    (message,) = messages(events)
    assert client_calls(message) == [("call_1", "f", {"a": 1})]
    assert text_of(message) == "ok"
    assert message["finish_reason"] == "tool-calls"


# --- text, refusals, logprobs, annotations ----------------------------------------------------


def test_logprobs_ride_on_their_deltas() -> None:
    deltas = of_type(events_of(CASES / "text-logprobs.sse"), "text-delta")
    assert [(d["delta"], meta(d)["logprobs"][0]["logprob"]) for d in deltas] == [
        ("Paris", -0.0012),
        (".", -0.25),
    ]


def test_deltas_of_an_open_block_read_as_the_first_one_does() -> None:
    """Text (with logprobs) and reasoning deltas after the first take the hot path: the same events,
    and the same error for logprobs that are no list."""
    opened = [
        {"type": "response.created", "response": {"id": "r", "model": "m"}},
        {"type": "response.output_item.added", "output_index": 0, "item": {"id": "rs", "type": "reasoning"}},
        {"type": "response.output_item.added", "output_index": 1, "item": {"id": "m", "type": "message"}},
    ]

    def text(delta: str, **more: Any) -> dict:
        return {"type": "response.output_text.delta", "item_id": "m", "output_index": 1, "content_index": 0,
                "delta": delta, **more}  # fmt: skip

    def summary(delta: str) -> dict:
        return {"type": "response.reasoning_summary_text.delta", "item_id": "rs", "output_index": 0,
                "summary_index": 0, "delta": delta}  # fmt: skip

    lp = [{"token": "b", "logprob": -0.5}]
    events = normalized(
        *opened, summary("a"), summary("b"), text("a"), text("b", logprobs=lp), text("", logprobs=[])
    )
    assert [(e["type"], e["delta"], meta(e)) for e in events if e["type"].endswith("-delta")] == [
        ("reasoning-delta", "a", {}),
        ("reasoning-delta", "b", {}),
        ("text-delta", "a", {}),
        ("text-delta", "b", {"logprobs": lp}),
    ]
    for before in ([], [text("a")]):
        with pytest.raises(DataError, match="'logprobs' is a dict, expected a list"):
            normalized(*opened, *before, text("b", logprobs={}))


def test_refusal_parts_are_text_blocks_marked_refusal() -> None:
    events = events_of(CASES / "refusal.sse")
    assert of_type(events, "text-start")[0]["refusal"] is True
    assert messages(events)[0]["content"][0] == {
        "type": "text",
        "text": "I'm sorry, I can't help with that.",
        "refusal": True,
        "provider_metadata": {NAME: {"item_id": "msg_refusal01"}},
    }


def test_text_blocks_carry_their_item_id_and_phase() -> None:
    events = events_of(CASES / "phase-commentary.sse")
    (start,) = of_type(events, "text-start")
    assert meta(start) == {"item_id": "msg_ph01", "phase": "commentary"}
    assert meta(of_type(events, "text-end")[0]) == {"item_id": "msg_ph01", "phase": "commentary"}


def test_every_annotation_kind_becomes_a_source() -> None:
    sources = of_type(events_of(CASES / "annotations.sse"), "source")
    assert [(s["source_type"], s.get("url"), s.get("title"), meta(s)["type"]) for s in sources] == [
        ("url", "https://en.wikipedia.org/wiki/Oslo", "Oslo - Wikipedia", "url_citation"),
        ("document", None, "handbook.pdf", "file_citation"),
        ("document", None, "chart.png", "container_file_citation"),
        ("document", None, None, "file_path"),
    ]
    assert meta(sources[0]) == {"type": "url_citation", "end_index": 51, "start_index": 0}
    assert meta(sources[2])["container_id"] == "cntr_6a1f"
    assert len({s["id"] for s in sources}) == 4


def test_annotations_only_in_the_done_part_become_sources_once() -> None:
    events = events_of(CASES / "annotations-in-part-done.sse")
    assert [s["url"] for s in of_type(events, "source")] == ["https://www.met.no/en", "https://www.yr.no/en"]
    # the streamed ones are not repeated from content_part.done / output_item.done
    assert len(of_type(events_of(CASES / "web-search.sse"), "source")) == 1


def test_text_sent_only_in_done_events_is_not_lost() -> None:
    events = normalized(
        {"type": "response.created", "response": {"id": "r", "model": "m"}},
        {"type": "response.content_part.added", "item_id": "m1", "output_index": 0, "content_index": 0,
         "part": {"type": "output_text", "text": "", "annotations": []}},
        {"type": "response.output_text.done", "item_id": "m1", "output_index": 0, "content_index": 0, "text": "whole"},
        {"type": "response.content_part.done", "item_id": "m1", "output_index": 0, "content_index": 0,
         "part": {"type": "output_text", "text": "whole", "annotations": []}},
        {"type": "response.completed", "response": {"id": "r", "model": "m", "status": "completed"}},
    )  # fmt: skip
    assert [d["delta"] for d in of_type(events, "text-delta")] == ["whole"]


# --- reasoning --------------------------------------------------------------------------------


def test_each_summary_part_is_a_reasoning_block_and_the_last_carries_the_encrypted_content() -> None:
    events = events_of(CASES / "reasoning-summary.sse")
    ends = of_type(events, "reasoning-end")
    assert [e["text"] for e in ends] == [
        "**Checking the units**\n\nMiles to km: multiply by 1.609.",
        "**Answer**\n\n26.2 \u00d7 1.609 ≈ 42.2.",
    ]
    assert meta(ends[0]) == {"item_id": "rs_rs01"}
    assert meta(ends[1])["encrypted_content"].startswith("gAAAAAB")
    assert [p["type"] for p in messages(events)[0]["content"]] == ["reasoning", "reasoning", "text"]


def test_reasoning_text_parts_are_reasoning_marked_as_such() -> None:
    (message,) = messages(events_of(CASES / "reasoning-text.sse"))
    reasoning = message["content"][0]
    assert reasoning["text"] == "9.11 vs 9.9: compare tenths, 1 < 9."
    assert reasoning["provider_metadata"][NAME]["part"] == "reasoning_text"


def test_encrypted_only_reasoning_is_an_empty_block_with_its_content() -> None:
    (message,) = messages(events_of(CASES / "reasoning-encrypted.sse"))
    reasoning = message["content"][0]
    assert reasoning["text"] == ""
    assert reasoning["provider_metadata"][NAME] == {
        "item_id": "rs_enc01",
        "encrypted_content": "gAAAAABpVn1xq3Yc0d9mZ2VuY3J5cHRlZC1yZWFzb25pbmctc3RhdGUtZm9yLXRlc3Rz",
    }


# --- client tool calls ------------------------------------------------------------------------


def test_function_call_id_is_the_call_id_and_the_item_id_rides_along() -> None:
    events = events_of(CASES / "function-call.sse")
    (call,) = of_type(events, "tool-call")
    assert (call["tool_call_id"], call["tool_name"], call["input"]) == (
        "call_Wd3kP0",
        "get_weather",
        {"location": "Oslo", "unit": "c"},
    )
    assert meta(call) == {"item_id": "fc_fc01"}
    deltas = [e["delta"] for e in of_type(events, "tool-input-delta")]
    assert "".join(deltas) == call["arguments"] and len(deltas) == 9
    assert "provider_executed" not in call


def test_parallel_calls_each_get_their_call() -> None:
    (message,) = messages(events_of(CASES / "parallel-calls.sse"))
    assert client_calls(message) == [
        ("call_A1", "get_weather", {"location": "Oslo"}),
        ("call_B2", "get_time", {"tz": "Europe/Oslo"}),
        ("call_C3", "list_alarms", {}),
    ]


def test_arguments_only_in_the_done_event_are_one_delta() -> None:
    events = events_of(CASES / "function-call-done-only.sse")
    assert [e["delta"] for e in of_type(events, "tool-input-delta")] == [
        '{"query": "refund policy", "limit": 3}'
    ]
    assert of_type(events, "tool-call")[0]["input"] == {"query": "refund policy", "limit": 3}


def test_custom_tool_calls_are_client_calls_with_their_text_as_input() -> None:
    events = events_of(CASES / "custom-tool.sse")
    (call,) = of_type(events, "tool-call")
    text = 'print("hi \\"there\\"")\nx = 1'
    assert call["input"] == {"input": text}
    assert orjson.loads(call["arguments"]) == {"input": text}
    assert not call.get("provider_executed")
    assert meta(call) == {"item_id": "ctc_ctc01", "type": "custom_tool_call"}
    # streamed as fragments of that JSON text, escaped as they come
    assert "".join(e["delta"] for e in of_type(events, "tool-input-delta")) == call["arguments"]


def test_a_custom_tool_call_sent_whole_has_the_same_arguments() -> None:
    item = {"id": "ctc_1", "type": "custom_tool_call", "call_id": "call_1", "name": "grep", "input": 'a "b"'}
    events = normalized(
        {"type": "response.output_item.added", "output_index": 0, "item": {**item, "input": ""}},
        {"type": "response.output_item.done", "output_index": 0, "item": item},
    )
    (call,) = of_type(events, "tool-call")
    assert (call["arguments"], call["input"]) == ('{"input":"a \\"b\\""}', {"input": 'a "b"'})
    assert [e["delta"] for e in of_type(events, "tool-input-delta")] == [call["arguments"]]


def test_apply_patch_calls_are_client_calls_with_the_operation_as_input() -> None:
    events = events_of(CASES / "apply-patch.sse")
    calls = of_type(events, "tool-call")
    assert [(c["tool_call_id"], c["tool_name"], c["input"]) for c in calls] == [
        ("call_apc01", "apply_patch", {"type": "update_file", "path": "src/app.py",
                                       "diff": "@@ def main():\n-    print('hi')\n+    print(\"hello\")\n"}),
        ("call_apc02", "apply_patch", {"type": "delete_file", "path": "src/old.py"}),
    ]  # fmt: skip
    assert all(not c.get("provider_executed") and meta(c)["type"] == "apply_patch_call" for c in calls)
    deltas = [e["delta"] for e in of_type(events, "tool-input-delta") if e["id"] == "call_apc01"]
    assert "".join(deltas) == calls[0]["arguments"] and len(deltas) == 5


def test_a_call_resumed_mid_arguments_takes_its_id_and_arguments_from_the_done_item() -> None:
    events = normalized(
        {"type": "response.function_call_arguments.delta", "item_id": "fc_1", "output_index": 0, "delta": '1}'},
        {"type": "response.output_item.done", "output_index": 0,
         "item": {"id": "fc_1", "type": "function_call", "call_id": "call_1", "name": "f", "arguments": '{"a":1}'}},
        {"type": "response.completed", "response": {"id": "r", "model": "m", "status": "completed"}},
    )  # fmt: skip
    (call,) = of_type(events, "tool-call")
    assert (call["tool_call_id"], call["tool_name"], call["input"]) == ("call_1", "f", {"a": 1})


# --- provider-executed tools ---------------------------------------------------------------------


def provider_parts(case: str) -> tuple[dict, dict]:
    events = events_of(CASES / f"{case}.sse")
    (call,) = [e for e in of_type(events, "tool-call") if e.get("provider_executed")][:1]
    (result,) = [e for e in of_type(events, "tool-result") if e["tool_call_id"] == call["tool_call_id"]]
    assert result["provider_executed"] is True
    return call, result


def test_web_search_input_is_the_action_and_output_its_sources() -> None:
    call, result = provider_parts("web-search")
    assert (call["tool_call_id"], call["tool_name"]) == ("ws_ws01", "web_search")
    assert call["input"] == {"type": "search", "query": "positive news today"}
    assert result["output"] == {
        "status": "completed",
        "sources": [{"type": "url", "url": "https://www.goodnewsnetwork.org/"}],
    }
    assert meta(result) == {"item_id": "ws_ws01", "type": "web_search_call"}


def test_file_search_queries_and_results() -> None:
    call, result = provider_parts("file-search")
    assert call["input"] == {"queries": ["refund window"]}
    assert result["output"]["results"][0]["filename"] == "policy.md"


def test_code_interpreter_streams_its_code_as_json_and_gives_its_outputs() -> None:
    events = events_of(CASES / "code-interpreter.sse")
    call, result = provider_parts("code-interpreter")
    assert call["input"] == {"container_id": "cntr_ci01", "code": "import math\nprint(math.factorial(20))"}
    assert "".join(e["delta"] for e in of_type(events, "tool-input-delta")) == call["arguments"]
    assert result["output"] == {
        "status": "completed",
        "outputs": [{"type": "logs", "logs": "2432902008176640000\n"}],
    }


def test_mcp_calls_and_tool_lists() -> None:
    events = events_of(CASES / "mcp.sse")
    calls = of_type(events, "tool-call")
    assert [(c["tool_name"], c["input"]) for c in calls] == [
        ("mcp_list_tools", {"server_label": "deepwiki"}),
        ("ask_question", {"repoName": "pydantic/pydantic-ai", "question": "What is it?"}),
    ]
    assert meta(calls[1])["server_label"] == "deepwiki"
    results = of_type(events, "tool-result")
    assert results[0]["output"]["tools"][0]["name"] == "ask_question"
    assert (results[1]["output"], results[1]["is_error"]) == ("A Python agent framework.", False)
    assert messages(events)[0]["finish_reason"] == "stop"


def test_a_failed_mcp_call_is_an_error_result() -> None:
    _, result = provider_parts("mcp-failed")
    assert result["is_error"] is True
    assert result["output"]["type"] == "mcp_tool_execution_error"


def test_image_generation_result_is_the_image() -> None:
    call, result = provider_parts("image-generation")
    assert call["tool_name"] == "image_generation"
    assert result["output"]["result"].startswith("iVBORw0KGgo")
    assert result["output"]["revised_prompt"] == "A single red pixel"


# --- bad data -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"type": "response.created", "response": "resp_1"}, "response.created: 'response' is a str, expected an object"),
        ({"type": "response.output_item.added", "output_index": 0}, "'item' is missing, expected an object"),
        ({"type": "response.output_text.delta", "item_id": "m", "content_index": 0, "delta": 5}, "a delta is a int, expected a string"),
        ({"type": "response.function_call_arguments.delta", "item_id": "fc", "delta": None}, "'delta' is missing, expected a string"),
        ({"type": "response.output_text.delta", "item_id": {"id": "m"}, "delta": "x"}, "'item_id' is a dict, expected a string"),
        ({"type": "response.output_text.delta", "item_id": "m", "output_index": "0", "delta": "x"}, "'output_index' is a str, expected an integer"),
        ({"type": "response.completed", "response": {"id": "r", "output": {"id": "m"}}}, "'output' is a dict, expected a list"),
    ],
)  # fmt: skip
def test_bad_events_are_data_errors_with_a_clear_message(payload: dict, message: str) -> None:
    with pytest.raises(DataError) as info:
        normalized(payload)
    assert message in info.value.message
    assert info.value.message.startswith("openai-responses: ")


def test_events_with_no_canonical_meaning_are_counted_in_a_warning(
    capsys: pytest.CaptureFixture[str],
) -> None:
    events = normalized(
        {"type": "response.created", "response": {"id": "r", "model": "m"}},
        {"type": "response.output_item.added", "output_index": 0,
         "item": {"id": "cmp_1", "type": "compaction", "encrypted_content": "gAAA"}},
        {"type": "response.audio.delta", "delta": "AAAA"},
        {"type": "response.completed", "response": {"id": "r", "model": "m", "status": "completed"}},
    )  # fmt: skip
    assert [e["type"] for e in events] == ["start", "finish", "message"]
    err = capsys.readouterr().err
    assert "2 openai-responses events with no canonical meaning" in err
    assert "response.audio.delta" in err and "response.output_item.added" in err
