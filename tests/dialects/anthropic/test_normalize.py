"""The anthropic normalizer: what each feature of the Messages stream must become, stated
directly."""

from __future__ import annotations

import orjson
import pytest

from streamkit.dialects.anthropic import AnthropicNormalizer, map_usage
from streamkit.errors import DataError
from streamkit.stages.accumulate import accumulate
from streamkit.stages.normalize import normalize
from tests.conftest import DATA, events_of, messages

CASES = DATA / "anthropic"


def of_type(events: list[dict], kind: str) -> list[dict]:
    return [e for e in events if e["type"] == kind]


def feed_all(payloads: list[dict]) -> list[dict]:
    """Bare payloads through a fresh normalizer (then closed)."""
    n = AnthropicNormalizer()
    out: list[dict] = []
    for p in payloads:
        got = n.feed(p, p.get("type"))
        out.extend(got or [])
    out.extend(n.close())
    return out


START = {
    "type": "message_start",
    "message": {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-test",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 1},
    },
}


# --- normalize: stop reasons and usage ------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "reason", "raw"),
    [
        ("text", "stop", "end_turn"),
        ("stop-sequence", "stop", "stop_sequence"),
        ("max-tokens", "length", "max_tokens"),
        ("context-window", "length", "model_context_window_exceeded"),
        ("tool-use", "tool-calls", "tool_use"),
        ("refusal", "content-filter", "refusal"),
        ("pause-turn", "other", "pause_turn"),
        ("truncated", "other", None),
        ("error-overloaded", "error", None),
    ],
)
def test_stop_reason_mapping(case: str, reason: str, raw: str | None) -> None:
    (finish,) = of_type(events_of(CASES / f"{case}.sse"), "finish")
    assert (finish["finish_reason"], finish["raw_finish_reason"]) == (reason, raw)


def test_an_unknown_stop_reason_is_other_and_kept_raw() -> None:
    events = feed_all(
        [
            START,
            {"type": "message_delta", "delta": {"stop_reason": "new_reason"}, "usage": {"output_tokens": 2}},
            {"type": "message_stop"},
        ]
    )
    (finish,) = of_type(events, "finish")
    assert (finish["finish_reason"], finish["raw_finish_reason"]) == ("other", "new_reason")


def test_refusal_details_and_stop_sequence_ride_on_the_finish() -> None:
    (finish,) = of_type(events_of(CASES / "refusal.sse"), "finish")
    assert finish["provider_metadata"]["anthropic"]["stop_details"]["category"] == "cyber"
    (finish,) = of_type(events_of(CASES / "stop-sequence.sse"), "finish")
    assert finish["provider_metadata"]["anthropic"]["stop_sequence"] == "###"


def test_usage_given_late_wins_and_input_counts_cached_tokens() -> None:
    (finish,) = of_type(events_of(CASES / "usage-late.sse"), "finish")
    # message_start said input_tokens 0; message_delta says 21, plus 1500 written to and 3000 read from the cache
    assert finish["usage"] == {
        "input_tokens": 21 + 1500 + 3000,
        "output_tokens": 4,
        "total_tokens": 4525,
        "cached_input_tokens": 3000,
        "reasoning_tokens": 0,
    }
    raw = finish["provider_metadata"]["anthropic"]["usage"]
    assert raw["input_tokens"] == 21 and raw["cache_creation_input_tokens"] == 1500


def test_a_message_delta_without_input_tokens_keeps_those_of_message_start() -> None:
    events = feed_all(
        [
            START,
            {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 7}},
            {"type": "message_stop"},
        ]
    )
    (finish,) = of_type(events, "finish")
    assert finish["usage"] == {"input_tokens": 10, "output_tokens": 7, "total_tokens": 17}


def test_iterations_are_summed_into_the_usage_billed() -> None:
    # compaction passes are left out of the top-level counts; every pass is billed
    events = events_of(CASES / "iterations.sse")
    (finish,) = of_type(events, "finish")
    assert finish["usage"] == {
        "input_tokens": (120 + 30000) + (210 + 40),
        "output_tokens": 95 + 12,
        "total_tokens": 30370 + 107,
        "cached_input_tokens": 30000,
    }
    raw = finish["provider_metadata"]["anthropic"]["usage"]
    assert [i["type"] for i in raw["iterations"]] == ["compaction", "message"]
    assert raw["input_tokens"] == 210  # the raw usage is kept as sent
    (message,) = messages(events)
    assert message["usage"] == finish["usage"]


def test_iterations_without_an_answering_pass_add_to_the_top_level_counts() -> None:
    usage = {
        "input_tokens": 50,
        "output_tokens": 5,
        "iterations": [{"type": "compaction", "input_tokens": 900, "output_tokens": 60}],
    }
    assert map_usage(usage) == {"input_tokens": 950, "output_tokens": 65, "total_tokens": 1015}
    assert map_usage({**usage, "iterations": []}) == {
        "input_tokens": 50,
        "output_tokens": 5,
        "total_tokens": 55,
    }
    with pytest.raises(DataError, match="usage.output_tokens"):
        map_usage({**usage, "iterations": [{"type": "message", "output_tokens": "x"}]})


def test_map_usage_leaves_out_what_was_not_sent() -> None:
    assert map_usage({"output_tokens": 3}) == {"output_tokens": 3}
    with pytest.raises(DataError, match="usage.input_tokens"):
        map_usage({"input_tokens": "many", "output_tokens": 3})


def test_map_usage_keeps_its_order_and_refuses_what_is_no_integer() -> None:
    usage = {
        "output_tokens": 7,
        "cache_read_input_tokens": 2,
        "input_tokens": 5,
        "output_tokens_details": {"thinking_tokens": 4},
    }
    assert list(map_usage(usage).items()) == [
        ("input_tokens", 7),
        ("output_tokens", 7),
        ("total_tokens", 14),
        ("cached_input_tokens", 2),
        ("reasoning_tokens", 4),
    ]
    with pytest.raises(DataError, match="usage.cache_creation_input_tokens"):
        map_usage({"input_tokens": 1, "cache_creation_input_tokens": True, "output_tokens": "x"})


# --- normalize: content blocks ----------------------------------------------------------------------


def test_thinking_with_its_signature() -> None:
    events = events_of(CASES / "thinking-signature.sse")
    (end,) = of_type(events, "reasoning-end")
    assert end["text"] == "The user asks for 17 * 3. 17 * 3 = 51."
    assert end["provider_metadata"]["anthropic"]["signature"].startswith("EqQBCkYIBxgC")
    (message,) = messages(events)
    assert [p["type"] for p in message["content"]] == ["reasoning", "text"]


def test_redacted_thinking_is_an_empty_reasoning_block_with_its_data() -> None:
    (message,) = messages(events_of(CASES / "redacted-thinking.sse"))
    first = message["content"][0]
    assert first["type"] == "reasoning" and first["text"] == ""
    assert first["provider_metadata"]["anthropic"]["redacted_data"].startswith("EmwKAhgB")


def test_compaction_is_a_reasoning_block_marked_compaction() -> None:
    events = events_of(CASES / "compaction.sse")
    (start,) = of_type(events, "reasoning-start")
    assert start["provider_metadata"]["anthropic"]["type"] == "compaction"
    (message,) = messages(events)
    assert message["content"][0]["text"].startswith("Summary: the user pasted a long log")
    assert message["content"][1] == {"type": "text", "text": "There are 3 errors."}
    (finish,) = of_type(events, "finish")
    assert finish["provider_metadata"]["anthropic"]["context_management"] == {"applied_edits": []}


def test_tool_use_arguments_from_fragments_and_its_caller() -> None:
    events = events_of(CASES / "tool-use.sse")
    deltas = [e["delta"] for e in of_type(events, "tool-input-delta")]
    assert deltas == ['{"city": "Os', 'lo", "unit"', ': "celsius"}']  # the empty fragment is skipped
    (call,) = of_type(events, "tool-call")
    assert (call["tool_call_id"], call["tool_name"], call["input"]) == (
        "toolu_01A9xWeather",
        "get_weather",
        {"city": "Oslo", "unit": "celsius"},
    )
    assert call["provider_metadata"]["anthropic"]["caller"] == {"type": "direct"}
    assert not call.get("provider_executed")


def test_a_tool_without_arguments_gives_an_empty_object() -> None:
    (call,) = of_type(events_of(CASES / "tool-no-args.sse"), "tool-call")
    assert (call["arguments"], call["input"]) == ("{}", {})


def test_parallel_tool_calls_keep_their_own_arguments() -> None:
    calls = of_type(events_of(CASES / "parallel-tools.sse"), "tool-call")
    assert [(c["tool_call_id"], c["input"]) for c in calls] == [
        ("toolu_01Paris", {"tz": "Europe/Paris"}),
        ("toolu_01Tokyo", {"tz": "Asia/Tokyo"}),
    ]


def test_whole_blocks_in_message_start_with_a_caller_and_a_container() -> None:
    events = events_of(CASES / "programmatic-caller.sse")
    (call,) = of_type(events, "tool-call")
    assert call["input"] == {"player": "p1"}
    assert call["provider_metadata"]["anthropic"]["caller"]["tool_id"] == "srvtoolu_01Code"
    (finish,) = of_type(events, "finish")
    assert finish["finish_reason"] == "tool-calls"
    assert finish["provider_metadata"]["anthropic"]["container"]["id"] == "container_011Roll"


def test_server_tool_use_and_its_result_are_provider_executed() -> None:
    events = events_of(CASES / "web-search-citations.sse")
    (call,) = of_type(events, "tool-call")
    (result,) = of_type(events, "tool-result")
    assert call["provider_executed"] and result["provider_executed"]
    assert call["tool_name"] == result["tool_name"] == "web_search"
    assert call["input"] == {"query": "capital of Norway"}
    assert result["tool_call_id"] == call["tool_call_id"] and result["is_error"] is False
    assert [r["url"] for r in result["output"]] == [
        "https://en.wikipedia.org/wiki/Oslo",
        "https://www.visitoslo.com/en/",
    ]
    assert result["provider_metadata"]["anthropic"]["type"] == "web_search_tool_result"


def test_an_error_result_content_is_an_error() -> None:
    (result,) = of_type(events_of(CASES / "code-execution-error.sse"), "tool-result")
    assert result["is_error"] is True
    assert result["output"]["error_code"] == "execution_time_exceeded"


def test_mcp_tool_use_and_result() -> None:
    events = events_of(CASES / "mcp.sse")
    (call,) = of_type(events, "tool-call")
    (result,) = of_type(events, "tool-result")
    assert call["provider_executed"] and call["provider_metadata"]["anthropic"] == {
        "type": "mcp_tool_use",
        "server_name": "deepwiki",
    }
    assert call["input"] == {"repoName": "encode/httpx", "question": "What is it?"}
    assert result["tool_name"] == "ask_question" and result["is_error"] is False
    assert result["output"][0]["text"].startswith("HTTPX is")


def test_citations_become_url_and_document_sources() -> None:
    sources = of_type(events_of(CASES / "web-search-citations.sse"), "source")
    assert [(s["source_type"], s["url"], s["title"]) for s in sources] == [
        ("url", "https://en.wikipedia.org/wiki/Oslo", "Oslo - Wikipedia")
    ]
    assert sources[0]["provider_metadata"]["anthropic"]["citation"]["encrypted_index"]
    sources = of_type(events_of(CASES / "citations-document.sse"), "source")
    assert [(s["source_type"], s["title"], s["id"]) for s in sources] == [
        ("document", "Annual report 2024", "src-0"),
        ("document", "HR summary.pdf", "src-1"),
    ]


def test_a_search_result_citation_with_a_url_source_is_a_url_source() -> None:
    citation = {
        "type": "search_result_location",
        "cited_text": "x",
        "source": "https://docs.example/a",
        "title": "A",
        "search_result_index": 0,
        "start_block_index": 0,
        "end_block_index": 1,
    }
    events = feed_all(
        [
            START,
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "citations_delta", "citation": citation},
            },
        ]
    )
    (source,) = of_type(events, "source")
    assert (source["source_type"], source["url"], source["title"]) == ("url", "https://docs.example/a", "A")


def test_ping_is_consumed_silently(capsys: pytest.CaptureFixture[str]) -> None:
    events = events_of(CASES / "text.sse")  # it holds a ping
    assert "warning" not in capsys.readouterr().err
    assert messages(events)[0]["content"] == [{"type": "text", "text": "Bonjour, le monde !"}]


def test_an_error_event_keeps_what_came_before_it() -> None:
    events = events_of(CASES / "error-overloaded.sse")
    kinds = [e["type"] for e in events]
    assert kinds.index("error") > kinds.index("text-delta")
    (error,) = of_type(events, "error")
    assert (error["message"], error["code"], error["retryable"]) == ("Overloaded", "overloaded_error", True)
    (message,) = messages(events)
    assert message["finish_reason"] == "error" and message["content"] == [
        {"type": "text", "text": "Partial ans"}
    ]


def test_an_invalid_request_error_is_not_retryable() -> None:
    (error,) = of_type(
        feed_all([{"type": "error", "error": {"type": "invalid_request_error", "message": "bad"}}]), "error"
    )
    assert error["retryable"] is False


def test_two_messages_in_one_recording_are_two_responses() -> None:
    msgs = messages(events_of(CASES / "two-messages.sse"))
    assert [(m["id"], m["finish_reason"]) for m in msgs] == [
        ("msg_01One", "tool-calls"),
        ("msg_01Two", "stop"),
    ]


def test_a_repeated_message_start_is_one_response() -> None:
    events = events_of(CASES / "repeated-message-start.sse")
    assert [e["type"] for e in events if e["type"] in ("start", "finish", "message")] == [
        "start",
        "finish",
        "message",
    ]
    (message,) = messages(events)
    assert message["content"] == [{"type": "text", "text": "Hello there."}]
    # the same id again after some content: still the same response
    text = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": "a"}}
    stop = {"type": "message_stop"}
    again = feed_all([START, text, START, {"type": "content_block_stop", "index": 0}, stop])
    assert [e["type"] for e in again] == ["start", "text-start", "text-delta", "text-end", "finish"]


def test_fallback_names_the_model_that_answered() -> None:
    events = events_of(CASES / "fallback.sse")
    (start,) = of_type(events, "start")
    assert start["model"] == "claude-opus-4-5"  # the model asked for: all message_start knows
    (finish,) = of_type(events, "finish")
    assert finish["model"] == "claude-sonnet-4-5-20250929"
    assert finish["provider_metadata"]["anthropic"]["requested_model"] == "claude-opus-4-5"
    (message,) = messages(events)
    assert message["model"] == "claude-sonnet-4-5-20250929"
    marker = message["content"][0]
    assert marker["type"] == "reasoning" and marker["text"] == ""
    assert marker["provider_metadata"]["anthropic"] == {
        "type": "fallback",
        "from": {"model": "claude-opus-4-5"},
        "to": {"model": "claude-sonnet-4-5-20250929"},
        "trigger": {"type": "refusal", "category": "cyber"},
    }
    assert finish["usage"]["input_tokens"] == 96 and finish["usage"]["output_tokens"] == 17


def test_a_fallback_message_iteration_alone_names_the_model_that_answered() -> None:
    # no fallback block (no model ran and declined): usage.iterations still says who answered
    usage = {
        "output_tokens": 9,
        "iterations": [{"type": "fallback_message", "model": "claude-haiku-4-5", "input_tokens": 10,
                        "output_tokens": 9, "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0}],
    }  # fmt: skip
    delta = {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": usage}
    (finish,) = of_type(feed_all([START, delta, {"type": "message_stop"}]), "finish")
    assert finish["model"] == "claude-haiku-4-5"
    assert finish["provider_metadata"]["anthropic"]["requested_model"] == "claude-test"
    # a fallback to the model start already named says nothing new
    same = {**usage, "iterations": [{**usage["iterations"][0], "model": "claude-test"}]}
    (finish,) = of_type(feed_all([START, {**delta, "usage": same}, {"type": "message_stop"}]), "finish")
    assert "model" not in finish and "requested_model" not in finish["provider_metadata"]["anthropic"]


def test_a_message_never_stopped_ends_where_the_next_one_starts() -> None:
    second = {**START, "message": {**START["message"], "id": "msg_2"}}
    text = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": "a"}}
    events = list(accumulate(feed_all([START, text, second])))
    assert [(m["id"], m["finish_reason"], m["content"]) for m in messages(events)] == [
        ("msg_1", "other", [{"type": "text", "text": "a"}]),
        ("msg_2", "other", []),
    ]


def test_a_capture_starting_mid_block_opens_the_block() -> None:
    events = feed_all(
        [{"type": "content_block_delta", "index": 2, "delta": {"type": "text_delta", "text": "tail"}}]
    )
    assert [e["type"] for e in events] == ["start", "text-start", "text-delta", "text-end", "finish"]


def test_bad_deltas_are_data_errors() -> None:
    n = AnthropicNormalizer()
    n.feed(START)
    with pytest.raises(DataError, match="input_json_delta for content block 0, which was never started"):
        n.feed(
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "input_json_delta", "partial_json": "{"},
            }
        )
    n.feed(
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "tool_use", "id": "t", "name": "f", "input": {}},
        }
    )
    with pytest.raises(DataError, match="text_delta for content block 1, a tool_use block"):
        n.feed({"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "x"}})
    with pytest.raises(DataError, match="integer index"):
        n.feed({"type": "content_block_delta", "delta": {"type": "text_delta", "text": "x"}})
    with pytest.raises(DataError, match="message_start without a message"):
        n.feed({"type": "message_start"})


def test_deltas_of_open_blocks_keep_their_checks() -> None:
    """What feed's hot path takes is exactly what the long way would: anything else is refused
    as before (a delta for the wrong kind of block, an index that is no integer)."""
    n = AnthropicNormalizer()
    n.feed(START)
    n.feed({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}})
    n.feed(
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "tool_use", "id": "t", "name": "f"},
        }
    )
    with pytest.raises(DataError, match="input_json_delta for content block 0, a thinking block"):
        n.feed(
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "input_json_delta", "partial_json": "{"},
            }
        )
    with pytest.raises(DataError, match="thinking_delta for content block 1, a tool_use block"):
        n.feed(
            {"type": "content_block_delta", "index": 1, "delta": {"type": "thinking_delta", "thinking": "x"}}
        )
    with pytest.raises(DataError, match="integer index"):
        n.feed(
            {
                "type": "content_block_delta",
                "index": 1.0,
                "delta": {"type": "input_json_delta", "partial_json": "{"},
            }
        )
    with pytest.raises(DataError, match="without a partial_json string"):
        n.feed(
            {
                "type": "content_block_delta",
                "index": 1,
                "delta": {"type": "input_json_delta", "partial_json": 1},
            }
        )
    assert (
        n.feed(
            {
                "type": "content_block_delta",
                "index": 1,
                "delta": {"type": "input_json_delta", "partial_json": ""},
            }
        )
        == []
    )
    got = n.feed(
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": '{"a"'},
        }
    )
    assert got == [{"type": "tool-input-delta", "id": "t", "delta": '{"a"'}]
    n.feed(
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": ": 1}"},
        }
    )
    stop = n.feed({"type": "content_block_stop", "index": 1})
    assert stop[-1]["arguments"] == '{"a": 1}' and stop[-1]["input"] == {"a": 1}


def test_a_bad_event_is_one_clear_line_on_the_cli() -> None:
    from tests.conftest import run_cli

    bad = b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{"}}\n\n'
    result = run_cli(
        "convert",
        "--to",
        "text",
        "-",
        input=b"event: message_start\ndata: " + orjson.dumps(START) + b"\n\n" + bad,
    )
    assert result.returncode == 65
    assert b"input_json_delta for content block 0, which was never started" in result.stderr
    assert b"Traceback" not in result.stderr


def test_blocks_with_no_canonical_meaning_are_counted_or_kept_raw(capsys: pytest.CaptureFixture[str]) -> None:
    upload = {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "container_upload", "file_id": "file_1"},
    }
    payloads = [START, upload, {"type": "content_block_stop", "index": 0}, {"type": "message_stop"}]
    events = list(normalize(iter(payloads), dialect="anthropic"))
    assert [e["type"] for e in events] == ["start", "finish"]
    assert "1 anthropic event with no canonical meaning (content_block_start)" in capsys.readouterr().err
    kept = list(normalize(iter(payloads), dialect="anthropic", keep_raw=True))
    assert [e["data"] for e in kept if e["type"] == "raw"] == [upload]


WHOLE_CALLS = [
    {
        "type": "tool_use",
        "id": "toolu_1",
        "name": "roll",
        "input": {"player": "p2"},
        "caller": {"type": "direct"},
    },
    {"type": "tool_use", "id": "toolu_2", "name": "noargs", "input": {}},
    {"type": "tool_use", "name": "noid", "input": {"a": [1, 2.5, None]}, "caller": None},
    {"type": "tool_use", "id": "", "name": 7, "input": "text"},
    {"type": "tool_use", "id": "toolu_3", "name": "deep", "input": [[[]]], "server_name": "x"},
]


@pytest.mark.parametrize("block", WHOLE_CALLS)
def test_a_whole_tool_use_in_message_start_is_what_the_long_way_gives(block: dict) -> None:
    """message_start's whole tool_use blocks take a path of their own: the same events as a block
    opened and closed the long way (_block_start then _block_stop)."""
    message = {**START["message"], "content": [block], "stop_reason": "tool_use"}
    fast = AnthropicNormalizer()
    got = fast.feed({"type": "message_start", "message": message})
    slow = AnthropicNormalizer()
    want = slow.feed({"type": "message_start", "message": {**message, "content": []}})
    slow._block_start(0, block, want)
    slow._block_stop(0, want)
    assert orjson.dumps(got) == orjson.dumps(want)
    assert (fast.call_names, fast._call_ids) == (slow.call_names, slow._call_ids)
    assert orjson.dumps(fast.close()) == orjson.dumps(slow.close())


def test_blocks_shared_between_streams_carry_nothing_from_one_to_the_next() -> None:
    """Text and tool-result blocks are one object per index or type, shared by every stream:
    nothing a stream does to them shows in the next."""
    result = {"type": "web_search_tool_result", "tool_use_id": "srv_1", "content": []}
    stream = [
        START,
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "hi"}},
        {"type": "content_block_start", "index": 1, "content_block": result},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "x"}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "s"}},
    ]
    first = AnthropicNormalizer()
    for p in stream[:-1]:
        first.feed(p)
    with pytest.raises(DataError, match="signature_delta for content block 0, a text block"):
        first.feed(stream[-1])
    assert orjson.dumps(feed_all(stream[:-1])) == orjson.dumps(feed_all(stream[:-1]))
    assert of_type(feed_all(stream[:-1]), "text-end") == [{"type": "text-end", "id": "text-0"}]
