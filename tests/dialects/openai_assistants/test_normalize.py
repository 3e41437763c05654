"""The openai-assistants normalizer: what each case of a run stream must become, stated directly."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from streamkit.dialects.openai_assistants import AssistantsNormalizer, OpenAIAssistants
from streamkit.errors import DataError
from streamkit.stages.accumulate import accumulate
from streamkit.stages.fetch import replay
from streamkit.stages.normalize import normalize
from tests.conftest import DATA, events_of, messages, run_cli

CASES = DATA / "openai-assistants"
NAME = "openai-assistants"


def of_type(events: list[dict], kind: str) -> list[dict]:
    return [e for e in events if e["type"] == kind]


def meta(event: dict) -> dict:
    return event["provider_metadata"][NAME]


def sse(*events: tuple[str, Any]) -> bytes:
    """A run stream written inline: (event name, data) pairs."""
    out = []
    for name, data in events:
        payload = data if isinstance(data, str) else orjson.dumps(data).decode()
        out.append(f"event: {name}\ndata: {payload}\n\n")
    return "".join(out).encode()


def run(status: str, **fields: Any) -> dict[str, Any]:
    obj = {
        "id": "run_x",
        "object": "thread.run",
        "created_at": 1767225600,
        "assistant_id": "asst_x",
        "thread_id": "thread_x",
        "status": status,
        "model": "gpt-4o",
        "instructions": "",
        "tools": [],
        "parallel_tool_calls": True,
        "required_action": None,
        "usage": None,
    }
    obj.update(fields)
    return obj


# --- normalize: runs and their segments -------------------------------------------------------


def test_requires_action_finishes_with_what_submit_tool_outputs_needs() -> None:
    events = events_of(CASES / "requires-action.sse")
    (finish,) = of_type(events, "finish")
    assert (finish["finish_reason"], finish["raw_finish_reason"]) == ("tool-calls", "requires_action")
    assert meta(finish) == {
        "thread_id": "thread_Ra1Th",
        "run_id": "run_Ra1Rn",
        "status": "requires_action",
        "tool_call_ids": ["call_Ra1Oslo", "call_Ra1Lima"],
    }
    calls = of_type(events, "tool-call")
    assert [(c["tool_call_id"], c["tool_name"], c["input"]) for c in calls] == [
        ("call_Ra1Oslo", "get_weather", {"city": "Oslo"}),
        ("call_Ra1Lima", "get_time", {"city": "Lima"}),
    ]
    assert not any(c.get("provider_executed") for c in calls)
    (start,) = of_type(events, "start")
    assert (start["id"], start["model"]) == ("run_Ra1Rn", "gpt-4o")
    assert meta(start) == {"thread_id": "thread_Ra1Th", "assistant_id": "asst_Ra1As"}


def test_argument_fragments_are_streamed_per_call() -> None:
    events = events_of(CASES / "requires-action.sse")
    deltas = [e["delta"] for e in of_type(events, "tool-input-delta") if e["id"] == "call_Ra1Oslo"]
    assert len(deltas) > 1 and "".join(deltas) == '{"city": "Oslo"}'


def test_a_continuation_stream_is_a_response_of_the_same_run() -> None:
    """The submit_tool_outputs stream: no thread.run.created, the answered tool step first."""
    events = events_of(CASES / "continuation.sse")
    (start,) = of_type(events, "start")
    assert start["id"] == "run_Ra1Rn" and meta(start)["continuation"] is True
    assert not of_type(events, "tool-call")  # the answered calls of the previous segment give nothing
    (message,) = messages(events)
    assert message["content"][0]["text"] == "It is 4°C with light snow in Oslo, and 09:14 in Lima."
    assert message["finish_reason"] == "stop"


def test_a_continuation_may_require_action_again() -> None:
    (message,) = messages(events_of(CASES / "continuation-requires-action.sse"))
    assert message["finish_reason"] == "tool-calls"
    assert [p["tool_call_id"] for p in message["content"]] == ["call_Rb1Bergen"]
    assert message["provider_metadata"][NAME]["tool_call_ids"] == ["call_Rb1Bergen"]


def test_the_whole_tool_loop_in_one_recording_gives_one_message_per_segment() -> None:
    msgs = messages(events_of(CASES / "tool-loop.sse"))
    assert [(m["id"], m["finish_reason"]) for m in msgs] == [
        ("run_Lp1Rn", "tool-calls"),
        ("run_Lp1Rn", "stop"),
    ]
    assert msgs[0]["content"][0]["input"] == {"city": "Paris"}
    assert msgs[1]["content"][0]["text"] == "Paris is cloudy at 12°C."
    assert "thread" in msgs[0]["provider_metadata"][NAME]  # thread.created rode on the first start
    assert "thread" not in msgs[1]["provider_metadata"][NAME]


def test_usage_comes_from_the_run_with_its_details() -> None:
    (finish,) = of_type(events_of(CASES / "text.sse"), "finish")
    assert finish["usage"] == {
        "input_tokens": 120,
        "output_tokens": 18,
        "total_tokens": 138,
        "cached_input_tokens": 0,
        "reasoning_tokens": 0,
    }
    assert meta(finish)["usage"]["prompt_token_details"] == {"cached_tokens": 0}


@pytest.mark.parametrize(
    ("case", "reason", "raw"),
    [
        ("text", "stop", "completed"),
        ("incomplete-length", "length", "max_completion_tokens"),
        ("incomplete-content-filter", "content-filter", "content_filter"),
        ("failed", "error", "failed"),
        ("cancelled", "other", "cancelled"),
        ("expired", "other", "expired"),
        ("error-event", "error", None),
        ("cut-off", "other", None),
    ],
)
def test_how_runs_end(case: str, reason: str, raw: str | None) -> None:
    events = events_of(CASES / f"{case}.sse")
    (finish,) = of_type(events, "finish")
    assert (finish["finish_reason"], finish["raw_finish_reason"]) == (reason, raw)
    (message,) = messages(events)
    assert message["finish_reason"] == reason


@pytest.mark.parametrize(
    ("case", "message", "code", "retryable", "text"),
    [
        ("failed", "Sorry, something went wrong.", "server_error", True, "Let me think"),
        ("failed-rate-limit", "You exceeded your current quota", "rate_limit_exceeded", True, None),
        ("error-event", "The server had an error", "server_error", True, "The answer is"),
    ],
)
def test_errors_come_after_what_was_received(
    case: str, message: str, code: str, retryable: bool, text: str | None
) -> None:
    events = events_of(CASES / f"{case}.sse")
    (error,) = of_type(events, "error")
    assert error["message"].startswith(message)
    assert (error["code"], error["retryable"]) == (code, retryable)
    kinds = [e["type"] for e in events]
    assert kinds.index("error") < kinds.index("finish")
    if text is not None:
        assert kinds.index("text-end") < kinds.index("error")
        assert messages(events)[0]["content"][0]["text"] == text


def test_an_error_object_under_error_is_understood_too() -> None:
    wire = sse(
        ("thread.run.created", run("queued")),
        ("error", {"error": {"message": "Overloaded", "type": "server_error", "code": "server_error"}}),
        ("done", "[DONE]"),
    )
    events = events_of(wire)
    (error,) = of_type(events, "error")
    assert (error["message"], error["code"]) == ("Overloaded", "server_error")
    assert of_type(events, "finish")[0]["finish_reason"] == "error"


# --- normalize: messages ------------------------------------------------------------------------


def test_annotations_become_document_sources_named_after_the_file() -> None:
    events = events_of(CASES / "file-search.sse")
    sources = of_type(events, "source")
    assert [(s["id"], s["source_type"], s["title"], s["filename"]) for s in sources] == [
        ("src-0", "document", "menu.md", "menu.md"),
        ("src-1", "document", "hours.txt", "hours.txt"),
    ]
    assert meta(sources[0])["annotation"]["file_citation"]["file_id"] == "file-Fs1Menu"
    assert meta(sources[1])["annotation"]["start_index"] == 69
    (message,) = messages(events)
    assert [p["type"] for p in message["content"]] == ["tool-call", "tool-result", "text", "source", "source"]


def test_file_paths_and_images_from_code_interpreter() -> None:
    events = events_of(CASES / "code-interpreter-image.sse")
    (file,) = of_type(events, "file")
    assert (file["media_type"], file["data"]) == ("image/*", "file-Ci2Png")
    assert meta(file) == {"image_file": {"file_id": "file-Ci2Png"}, "message_id": "msg_Ci2Chart"}
    (source,) = of_type(events, "source")
    assert (source["title"], meta(source)["annotation"]["type"]) == ("squares.png", "file_path")


def test_a_refusal_is_a_text_block_marked_refusal() -> None:
    (message,) = messages(events_of(CASES / "refusal.sse"))
    assert message["content"][0]["refusal"] is True
    assert message["content"][0]["text"] == "I'm sorry, I can't help with that."


def test_a_message_that_never_streamed_is_taken_from_its_completed_event() -> None:
    events = events_of(CASES / "message-whole.sse")
    assert [d["delta"] for d in of_type(events, "text-delta")] == ["All done."]


def test_text_blocks_are_one_per_message_content_index() -> None:
    msg = {"id": "msg_a", "object": "thread.message.delta"}

    def text(index: int, value: str) -> dict[str, Any]:
        return {**msg, "delta": {"content": [{"index": index, "type": "text", "text": {"value": value}}]}}

    wire = sse(
        ("thread.run.created", run("queued")),
        ("thread.message.delta", text(0, "one")),
        ("thread.message.delta", text(0, " two")),
        ("thread.message.delta", text(1, "three")),
        ("thread.message.delta", {**text(0, "four"), "id": "msg_b"}),
        ("thread.run.completed", run("completed")),
    )
    (message,) = messages(events_of(wire))
    assert [p["text"] for p in message["content"]] == ["one two", "three", "four"]
    assert [p["provider_metadata"][NAME]["message_id"] for p in message["content"]] == [
        "msg_a",
        "msg_a",
        "msg_b",
    ]


# --- normalize: provider-executed tools ----------------------------------------------------------


def test_code_interpreter_is_a_provider_executed_call_with_its_outputs() -> None:
    events = events_of(CASES / "code-interpreter.sse")
    (call,) = of_type(events, "tool-call")
    assert call["provider_executed"] is True and call["tool_name"] == "code_interpreter"
    assert call["input"] == {"input": 'import math\nprint(math.factorial(10), "ok")'}
    deltas = [e["delta"] for e in of_type(events, "tool-input-delta")]
    assert len(deltas) == 5 and "".join(deltas) == call["arguments"]  # the code, streamed as JSON text
    (result,) = of_type(events, "tool-result")
    assert result["output"] == [{"type": "logs", "logs": "3628800 ok\n"}] and not result["is_error"]
    assert meta(result) == {"step_id": "step_Ci1Code"}


def test_file_search_results_come_with_the_completed_step() -> None:
    events = events_of(CASES / "file-search.sse")
    (call,) = of_type(events, "tool-call")
    assert call["input"] == {"ranking_options": {"ranker": "default_2024_08_21", "score_threshold": 0.0}}
    (result,) = of_type(events, "tool-result")
    assert [r["file_name"] for r in result["output"]] == ["menu.md", "hours.txt"]


def test_a_failed_step_gives_an_error_result() -> None:
    events = events_of(CASES / "step-failed.sse")
    (result,) = of_type(events, "tool-result")
    assert result["is_error"] is True
    assert result["output"] == {"code": "server_error", "message": "Code interpreter timed out."}


def test_calls_only_listed_in_required_action_are_not_lost() -> None:
    required = {
        "type": "submit_tool_outputs",
        "submit_tool_outputs": {
            "tool_calls": [
                {"id": "call_q", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}
            ]
        },
    }
    wire = sse(
        ("thread.run.created", run("queued")),
        ("thread.run.requires_action", run("requires_action", required_action=required)),
        ("done", "[DONE]"),
    )
    (call,) = of_type(events_of(wire), "tool-call")
    assert (call["tool_call_id"], call["tool_name"], call["input"]) == ("call_q", "f", {"a": 1})


# --- normalize: the stream itself -------------------------------------------------------------


def test_bare_json_lines_without_event_names_are_understood() -> None:
    with open(CASES / "tool-loop.sse", "rb") as f:
        raws = list(replay(f))
    bare = [{"type": "raw", "dialect": None, "event": None, "data": r["data"]} for r in raws]
    again = messages(list(accumulate(normalize(iter(bare)))))
    assert [(m["finish_reason"], m["content"]) for m in again] == [
        (m["finish_reason"], m["content"]) for m in messages(events_of(CASES / "tool-loop.sse"))
    ]


def test_unknown_events_are_counted_not_lost(capsys: pytest.CaptureFixture[str]) -> None:
    wire = sse(
        ("thread.run.created", run("queued")),
        ("thread.run.step.reticulated", {"id": "step_1"}),
        ("thread.run.completed", run("completed")),
    )
    events = events_of(wire)
    assert "1 openai-assistants event with no canonical meaning (thread.run.step.reticulated)" in (
        capsys.readouterr().err
    )
    assert messages(events)[0]["finish_reason"] == "stop"


@pytest.mark.parametrize(
    ("event", "data", "message"),
    [
        ("thread.message.delta", {"id": "msg_1", "delta": "oops"}, "thread.message.delta's delta is a str"),
        ("thread.run.step.delta", {"delta": {}}, "thread.run.step.delta has no step id"),
        ("thread.run.completed", [1, 2], "the data of thread.run.completed is a list"),
    ],
)
def test_bad_data_is_a_data_error(event: str, data: Any, message: str) -> None:
    normalizer = AssistantsNormalizer()
    normalizer.feed(run("queued"), "thread.run.created")
    with pytest.raises(DataError, match=message):
        normalizer.feed(data, event)


def test_a_malformed_delta_in_an_open_block_is_a_data_error_too() -> None:
    """The hot path leaves anything unusual to the general path, which says what is wrong."""
    normalizer = AssistantsNormalizer()
    normalizer.feed(run("queued"), "thread.run.created")
    text = {"index": 0, "type": "text", "text": {"value": "a"}}
    assert normalizer.feed({"id": "m", "delta": {"content": [text]}}, "thread.message.delta") == [
        {"type": "text-start", "id": "text-0", "provider_metadata": {NAME: {"message_id": "m"}}},
        {"type": "text-delta", "id": "text-0", "delta": "a"},
    ]
    assert normalizer.feed({"id": "m", "delta": {"content": [text]}}, "thread.message.delta") == [
        {"type": "text-delta", "id": "text-0", "delta": "a"}
    ]
    with pytest.raises(DataError, match="delta.content is a dict, expected a list"):
        normalizer.feed({"id": "m", "delta": {"content": {"index": 0}}}, "thread.message.delta")
    with pytest.raises(DataError, match="a delta.content entry is a str"):
        normalizer.feed({"id": "m", "delta": {"content": ["x"]}}, "thread.message.delta")


def test_bad_data_through_the_cli_exits_65_after_the_good_events() -> None:
    raws = [
        {"type": "raw", "dialect": None, "event": "thread.run.created", "data": run("queued")},
        {"type": "raw", "dialect": None, "event": "thread.message.delta", "data": {"id": "m", "delta": 3}},
    ]
    result = run_cli("normalize", input=b"".join(orjson.dumps(r) + b"\n" for r in raws))
    assert result.returncode == 65
    assert [orjson.loads(line)["type"] for line in result.stdout.splitlines()] == ["start"]
    assert "line 2: openai-assistants: thread.message.delta's delta is a int" in result.stderr.decode()


def test_arguments_after_a_call_was_complete_are_a_data_error() -> None:
    normalizer = AssistantsNormalizer()
    normalizer.feed(run("queued"), "thread.run.created")
    call = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    delta = {"id": "step_1", "delta": {"step_details": {"type": "tool_calls", "tool_calls": [call]}}}
    normalizer.feed(delta, "thread.run.step.delta")
    text = {"index": 0, "type": "text", "text": {"value": "hi"}}
    normalizer.feed({"id": "msg_1", "delta": {"content": [text]}}, "thread.message.delta")  # completes it
    late = {"index": 0, "type": "function", "function": {"arguments": "x"}}
    with pytest.raises(DataError, match="arguments for tool call call_1 arrived after the call was complete"):
        normalizer.feed(
            {"id": "step_1", "delta": {"step_details": {"type": "tool_calls", "tool_calls": [late]}}},
            "thread.run.step.delta",
        )


def test_sniff() -> None:
    dialect = OpenAIAssistants()
    assert dialect.sniff({"id": "run_1"}, "thread.run.created")
    assert dialect.sniff({"object": "thread.message.delta", "delta": {}})
    assert dialect.sniff({"object": "thread.run", "status": "queued"})
    assert not dialect.sniff({"object": "chat.completion.chunk", "choices": []})
    assert not dialect.sniff({"type": "response.created"}, "response.created")
    assert not dialect.sniff("[DONE]", "done")
