"""The ollama normalizer: what each kind of line must become, stated directly (``<think>`` tags
included)."""

from __future__ import annotations

import itertools
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamkit.errors import DataError
from streamkit.events import validate_event
from streamkit.stages.normalize import normalize
from streamkit.stages.render import render
from tests.conftest import events_of, messages, run_cli
from tests.dialects.ollama.lines import ALL_CASES, CASES, chat, done, ndjson, of_type, wire_of

# --- the lines -----------------------------------------------------------------------------------


def test_chat_content_is_text_and_the_done_line_gives_finish_and_usage() -> None:
    events = events_of(CASES / "chat-text.ndjson")
    (start,) = of_type(events, "start")
    assert (start["id"], start["model"], start["created"]) == (None, "llama3.2", 1749719643)
    (finish,) = of_type(events, "finish")
    assert (finish["finish_reason"], finish["raw_finish_reason"]) == ("stop", "stop")
    assert finish["usage"] == {"input_tokens": 26, "output_tokens": 9}  # Ollama sends no total
    meta = finish["provider_metadata"]["ollama"]
    assert meta["eval_duration"] == 291034000 and meta["usage"] == {"prompt_eval_count": 26, "eval_count": 9}
    (message,) = messages(events)
    assert message["content"] == [{"type": "text", "text": "The sky is blue because of Rayleigh scattering."}]


def test_thinking_is_reasoning() -> None:
    (message,) = messages(events_of(CASES / "chat-thinking.ndjson"))
    assert [(p["type"], p["text"]) for p in message["content"]] == [
        ("reasoning", "The user wants 12 × 12. That is 144."),  # noqa: RUF001
        ("text", "12 × 12 = 144."),  # noqa: RUF001
    ]


def test_tool_calls_get_stable_ids_and_their_object_arguments_as_json() -> None:
    events = events_of(CASES / "chat-tool-calls.ndjson")
    calls = of_type(events, "tool-call")
    assert [(c["tool_call_id"], c["tool_name"], c["arguments"], c["input"]) for c in calls] == [
        (
            "call_0",
            "get_current_weather",
            '{"city":"Toronto","format":"celsius"}',
            {"city": "Toronto", "format": "celsius"},
        ),
        (
            "call_1",
            "get_current_weather",
            '{"city":"Paris, FR","format":"celsius","days":2}',
            {"city": "Paris, FR", "format": "celsius", "days": 2},
        ),
    ]
    assert messages(events)[0]["finish_reason"] == "tool-calls"  # done_reason stop, with tool calls
    kinds = [e["type"] for e in events if e.get("id") == "call_0" or e.get("tool_call_id") == "call_0"]
    assert kinds == ["tool-input-start", "tool-input-delta", "tool-input-end", "tool-call"]
    # the same ids every time the stream is read, and after a round trip through the wire
    again = of_type(events_of(b"".join(render(iter(events), format="ollama"))), "tool-call")
    assert [c["tool_call_id"] for c in again] == ["call_0", "call_1"]


def test_an_id_the_server_sends_is_kept_and_written_back() -> None:
    wire = ndjson(
        chat(tool_calls=[{"id": "call_x7", "function": {"index": 0, "name": "f", "arguments": {"a": 1}}}]),
        done(),
    )
    events = events_of(wire)
    (call,) = of_type(events, "tool-call")
    assert call["tool_call_id"] == "call_x7"
    (line,) = [d for d in wire_of(events) if d["message"].get("tool_calls")]
    assert line["message"]["tool_calls"] == [
        {"id": "call_x7", "function": {"index": 0, "name": "f", "arguments": {"a": 1}}}
    ]


def test_logprobs_ride_on_the_delta_of_their_line_and_go_back_on_it() -> None:
    events = events_of(CASES / "logprobs.ndjson")
    deltas = of_type(events, "text-delta")
    assert [d["provider_metadata"]["ollama"]["logprobs"][0]["token"] for d in deltas] == ["Yes", "."]
    lines = wire_of(events)
    assert [line.get("logprobs", [{}])[0].get("logprob") for line in lines] == [-0.0123, -0.2, None]


def test_generate_lines_and_their_context_go_back_as_generate_lines() -> None:
    events = events_of(CASES / "generate.ndjson")
    (start,) = of_type(events, "start")
    assert start["provider_metadata"]["ollama"]["endpoint"] == "generate"
    (finish,) = of_type(events, "finish")
    assert finish["provider_metadata"]["ollama"]["context"][:3] == [32010, 3750, 338]
    lines = wire_of(events)
    assert [line.get("response") for line in lines] == ["Why", " not", " both?", ""]
    assert all("message" not in line for line in lines)
    assert lines[-1]["context"] == finish["provider_metadata"]["ollama"]["context"]
    chat_lines = wire_of(events, endpoint="chat")
    assert [line["message"]["content"] for line in chat_lines] == ["Why", " not", " both?", ""]


def test_generate_thinking_is_reasoning() -> None:
    (message,) = messages(events_of(CASES / "generate-thinking.ndjson"))
    assert [(p["type"], p["text"]) for p in message["content"]] == [
        ("reasoning", "Short answer wanted."),
        ("text", "Yes."),
    ]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (done("stop"), "stop"),
        (done("length"), "length"),
        (done("load"), "other"),
        (done("unload"), "other"),
        (done(None), "stop"),  # older servers send no done_reason
    ],
)
def test_done_reason_mapping(line: dict[str, Any], reason: str) -> None:
    (finish,) = of_type(events_of(ndjson(line)), "finish")
    assert (finish["finish_reason"], finish["raw_finish_reason"]) == (reason, line.get("done_reason"))


def test_an_error_line_comes_after_what_was_received_and_finishes_with_error() -> None:
    events = events_of(CASES / "error-mid-stream.ndjson")
    kinds = [e["type"] for e in events]
    assert kinds.index("error") > kinds.index("text-delta")
    (message,) = messages(events)
    assert (message["finish_reason"], message["content"]) == (
        "error",
        [{"type": "text", "text": "Sure, the first step"}],
    )
    assert wire_of(events)[-1] == {
        "error": "an error was encountered while running the model: unexpected EOF"
    }


def test_a_line_after_done_starts_a_new_response() -> None:
    events = events_of(CASES / "two-responses.ndjson")
    assert len(of_type(events, "start")) == 2
    assert [m["content"][0]["text"] for m in messages(events)] == ["First.", "Second answer."]


def test_a_stream_cut_off_finishes_other() -> None:
    (message,) = messages(events_of(CASES / "truncated.ndjson"))
    assert (message["finish_reason"], message["content"][0]["text"]) == ("other", "Halfway through")


def test_bad_data_is_a_data_error_naming_the_dialect() -> None:
    raws = [
        {
            "type": "raw",
            "dialect": "ollama",
            "event": None,
            "data": {"model": "m", "message": "hi", "done": False},
        }
    ]
    with pytest.raises(DataError, match="ollama: 'message' is a str, expected an object"):
        list(normalize(iter(raws)))


# --- <think> tags -----------------------------------------------------------------------------------


def test_think_tags_split_across_lines_become_reasoning() -> None:
    (message,) = messages(events_of(CASES / "think-tags.ndjson", think_tags=True))
    assert [(p["type"], p["text"]) for p in message["content"]] == [
        ("reasoning", "\nTwo apples plus one.\n"),
        ("text", "\n\nYou have **3** apples."),
    ]


def test_without_the_option_the_tags_stay_in_the_text() -> None:
    (message,) = messages(events_of(CASES / "think-tags.ndjson"))
    assert message["content"] == [
        {"type": "text", "text": "<think>\nTwo apples plus one.\n</think>\n\nYou have **3** apples."}
    ]


CONTENT = "<think>Is 7 prime? Yes.</think>7 is prime. <think>done</think>Bye <thin"


@given(st.lists(st.integers(min_value=0, max_value=len(CONTENT)), max_size=10))
def test_think_tags_however_the_content_is_cut(cuts: list[int]) -> None:
    bounds = [0, *sorted(cuts), len(CONTENT)]
    lines = [chat(CONTENT[a:b]) for a, b in itertools.pairwise(bounds)]
    (message,) = messages(events_of(ndjson(*lines, done()), think_tags=True))
    assert [(p["type"], p["text"]) for p in message["content"]] == [
        ("reasoning", "Is 7 prime? Yes."),
        ("text", "7 is prime. "),
        ("reasoning", "done"),
        ("text", "Bye <thin"),
    ]


def test_think_tags_through_the_cli() -> None:
    result = run_cli("convert", "--think-tags", "--to", "json", str(CASES / "think-tags.ndjson"))
    assert result.returncode == 0, result.stderr
    message = orjson.loads(result.stdout)
    assert [p["type"] for p in message["content"]] == ["reasoning", "text"]


def test_every_event_of_every_case_validates() -> None:
    for case in ALL_CASES:
        for event in events_of(case, think_tags=case.stem.startswith("think-tags")):
            validate_event(event)


def _both_ways(lines: list[Any]) -> tuple[list[Any], list[Any]]:
    """The events of the normalizer's fast path, and of its full path alone (``_feed``)."""
    from streamkit.dialects.ollama.normalize import OllamaNormalizer

    fast, full = OllamaNormalizer(), OllamaNormalizer()
    ours = [e for line in lines for e in fast.feed(line) or ()] + fast.close()
    theirs = [e for line in lines for e in full._feed(line) or ()] + full.close()
    return ours, theirs


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda p: p.name)
def test_the_fast_path_gives_what_the_full_path_gives(case: Any) -> None:
    ours, theirs = _both_ways([orjson.loads(line) for line in case.read_bytes().splitlines() if line.strip()])
    assert ours == theirs


def test_the_fast_path_starts_and_finishes_responses_as_the_full_path_does() -> None:
    logprobs = [{"token": "x", "logprob": -0.1}]
    usual = {"prompt_eval_count": 5, "eval_count": 2, "total_duration": 9, "load_duration": 1,
             "prompt_eval_duration": 3, "eval_duration": 4}  # fmt: skip
    lines = [
        {**chat("A"), "created_at": "2024-10-01T16:15:20.4965315Z", "logprobs": logprobs},
        done(**usual),
        {**chat("B"), "done": True, "done_reason": "stop", "eval_count": 3},  # a whole response in a line
        {"model": 7, "created_at": "2024-10-01T16:15:20.123+02:00", "response": "C", "done": False},
        {"model": "m", "response": "", "done": True, **usual, "context": [1, 2]},
        {"model": "m", "created_at": "2024-02-30T00:00:00Z", "response": "D", "done": False},
        {"model": "m", "response": "", "done": True, **usual, "load_duration": None},
        {**chat("E"), "created_at": "1969-12-31T23:59:59.5Z"},
        done(**{**usual, "prompt_eval_count": True, "eval_count": "2"}),  # counts that are no ints
        {**chat("F"), "created_at": "9999-12-31T23:59:59.9999999Z"},
        done(None, **usual),
        chat(""),  # a response that starts with nothing
        chat("G"),
        done("load"),
    ]
    ours, theirs = _both_ways(lines)
    assert ours == theirs
    created = [e.get("created") for e in ours if e["type"] == "start"]
    assert created == [1727799320, 1735689600, 1727792120, None, 0, 253402300800, 1735689600]


def test_the_fast_path_reads_thinking_and_logprobs_and_leaves_the_rest_to_the_full_path() -> None:
    logprobs = [{"token": "x", "logprob": -0.1}]
    lines = [
        chat("", thinking="Hm"),
        chat("", thinking=" yes", images=None),
        {**chat("", thinking="."), "logprobs": logprobs},
        chat("A"),
        {**chat("B"), "logprobs": logprobs},
        {**chat("C"), "message": {"content": "C", "thinking": "late"}},  # no role
        {"model": "m", "message": {"role": "assistant", "content": "D"}, "logprobs": logprobs, "done": False},
        {
            "model": "m",
            "message": {"content": "E", "tool_calls": [{"function": {"name": "f"}}]},
            "done": False,
        },
        {"model": "m", "response": "F", "done": False},
        done(),
    ]
    ours, theirs = _both_ways(lines)
    assert ours == theirs
    assert sum(1 for e in ours if "provider_metadata" in e and e["type"].endswith("-delta")) == 3
