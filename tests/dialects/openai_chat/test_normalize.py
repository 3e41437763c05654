"""The openai-chat normalizer: what each case of point 6 must become, stated directly."""

from __future__ import annotations

import io
from typing import Any

import orjson
import pytest

from streamkit.dialects.openai_chat.normalize_rare import _EXTRA_FIELDS
from tests.conftest import DATA, events_of, messages

CASES = DATA / "openai-chat"


def of_type(events: list[dict], kind: str) -> list[dict]:
    return [e for e in events if e["type"] == kind]


def test_usage_only_chunk_gives_the_usage_of_the_finish() -> None:
    events = events_of(CASES / "usage-chunk.sse")
    (finish,) = of_type(events, "finish")
    assert finish["usage"] == {
        "input_tokens": 12,
        "output_tokens": 3,
        "total_tokens": 15,
        "cached_input_tokens": 4,
        "reasoning_tokens": 0,
    }
    assert messages(events)[0]["content"] == [{"type": "text", "text": "Hello, world"}]


def test_missing_index_keys_deltas_by_id_then_latest_call() -> None:
    calls = of_type(events_of(CASES / "tool-index-missing.sse"), "tool-call")
    assert [(c["tool_call_id"], c["tool_name"], c["input"]) for c in calls] == [
        ("call_a", "get_weather", {"city": "Paris"}),
        ("call_b", "get_time", {"tz": "CET"}),
    ]


def test_reused_index_starts_a_new_call_on_a_new_id_or_a_new_name() -> None:
    calls = of_type(events_of(CASES / "tool-index-reused.sse"), "tool-call")
    assert [(c["tool_name"], c["input"]) for c in calls] == [
        ("add", {"a": 1, "b": 2}),
        ("mul", {"a": 3, "b": 4}),
        ("neg", {"a": 5}),
    ]
    assert len({c["tool_call_id"] for c in calls}) == 3


def test_a_late_id_is_used_from_the_first_event_of_the_call() -> None:
    events = events_of(CASES / "tool-id-late.sse")
    tool_events = [e for e in events if e["type"].startswith("tool-input")]
    first_call = [e for e in tool_events if e["id"] == "call_late"]
    assert [e["type"] for e in first_call] == [
        "tool-input-start",
        "tool-input-delta",
        "tool-input-delta",
        "tool-input-end",
    ]
    # the call that never gets an id is given a generated, stable one
    calls = of_type(events, "tool-call")
    assert [c["tool_call_id"] for c in calls] == ["call_late", "call_0"]
    assert {e["id"] for e in tool_events} == {"call_late", "call_0"}


def test_parallel_calls_interleaved_by_index_keep_their_own_arguments() -> None:
    calls = of_type(events_of(CASES / "parallel-tools.sse"), "tool-call")
    assert [(c["tool_call_id"], c["input"]) for c in calls] == [
        ("call_x", {"n": 1}),
        ("call_y", {"m": 2}),
        ("call_z", {}),
    ]


def test_a_whole_call_in_one_chunk_with_the_finish() -> None:
    events = events_of(CASES / "tool-whole.sse")
    (call,) = of_type(events, "tool-call")
    assert call["tool_call_id"] == "9ZbQ1xA2c" and call["input"] == {"location": "Oslo"}
    assert messages(events)[0]["finish_reason"] == "tool-calls"


@pytest.mark.parametrize(
    ("case", "reasoning", "text"),
    [
        ("reasoning-content", "Two plus two is four.", "4"),
        ("reasoning-field", "Thinking.", "Done."),
        ("reasoning-details", "Sum it up.", "Six."),
        ("content-parts", "Let me see, 2+2.", "2 + 2 = 4"),
    ],
)
def test_reasoning_fields_become_reasoning_blocks(case: str, reasoning: str, text: str) -> None:
    (message,) = messages(events_of(CASES / f"{case}.sse"))
    assert [(p["type"], p["text"]) for p in message["content"]] == [("reasoning", reasoning), ("text", text)]


def test_reasoning_details_signature_is_kept_and_text_not_doubled() -> None:
    events = events_of(CASES / "reasoning-details.sse")
    (end,) = of_type(events, "reasoning-end")
    assert end["provider_metadata"]["openai-chat"]["signature"] == "c2lnbmF0dXJl"
    assert end["text"] == "Sum it up."  # `reasoning` repeats reasoning_details' text; taken once


def test_refusal_is_a_text_block_marked_refusal_with_its_logprobs() -> None:
    events = events_of(CASES / "refusal.sse")
    (start,) = of_type(events, "text-start")
    assert start["refusal"] is True
    deltas = of_type(events, "text-delta")
    assert [d["provider_metadata"]["openai-chat"]["logprobs"][0]["token"] for d in deltas] == [
        "I can't",
        " help with that.",
    ]
    assert messages(events)[0]["content"] == [
        {"type": "text", "text": "I can't help with that.", "refusal": True}
    ]


def test_logprobs_ride_on_their_deltas() -> None:
    deltas = of_type(events_of(CASES / "logprobs.sse"), "text-delta")
    assert [d["provider_metadata"]["openai-chat"]["logprobs"][0]["logprob"] for d in deltas] == [
        -0.0025,
        -0.27,
    ]


def test_annotations_and_citations_become_sources_once_each() -> None:
    sources = of_type(events_of(CASES / "annotations.sse"), "source")
    assert [(s["url"], s["title"]) for s in sources] == [
        ("https://example.org/a", "A"),
        ("https://example.org/b", "B"),
    ]
    sources = of_type(events_of(CASES / "citations.sse"), "source")
    assert [(s["url"], s.get("title")) for s in sources] == [
        ("https://example.com/1", "One"),
        ("https://example.com/2", None),
    ]


def test_azure_filter_results_are_kept_and_content_filter_maps() -> None:
    events = events_of(CASES / "azure-filters.sse")
    (start,) = of_type(events, "start")
    assert start["id"] == "chatcmpl-az"  # not the empty id of the prompt-filter chunk
    assert start["provider_metadata"]["openai-chat"]["prompt_filter_results"][0]["prompt_index"] == 0
    (finish,) = of_type(events, "finish")
    assert (finish["finish_reason"], finish["raw_finish_reason"]) == ("content-filter", "content_filter")


@pytest.mark.parametrize("case", ["error-mid-stream", "event-error"])
def test_error_mid_stream_keeps_everything_before_it(case: str) -> None:
    events = events_of(CASES / f"{case}.sse")
    kinds = [e["type"] for e in events]
    assert kinds.index("error") > kinds.index("text-delta")
    (message,) = messages(events)
    assert message["finish_reason"] == "error"
    assert [p["text"] for p in message["content"] if p["type"] == "text"] in (["Partial answer"], ["maybe"])


def test_groq_error_code_and_retryable() -> None:
    (error,) = of_type(events_of(CASES / "event-error.sse"), "error")
    assert error["code"] == "tool_use_failed" and error["retryable"] is False


def test_n2_choices_are_kept_apart_and_choice_0_finishes_last() -> None:
    events = events_of(CASES / "n2.sse")
    finishes = of_type(events, "finish")
    assert [(f.get("choice"), f["finish_reason"]) for f in finishes] == [(1, "length"), (None, "stop")]
    assert "usage" not in finishes[0] and finishes[1]["usage"]["total_tokens"] == 16
    by_choice = {m.get("choice", 0): m["content"][0]["text"] for m in messages(events)}
    assert by_choice == {0: "Red apple", 1: "Blue sky and more"}
    assert all(
        e["id"].startswith("c1.")
        for e in events
        if e.get("choice") == 1 and "id" in e and e["type"] != "message"
    )


@pytest.mark.parametrize(
    ("case", "reason", "raw"),
    [
        ("crlf-nospace-length", "length", "length"),
        ("finish-unknown", "other", "eos"),
        ("legacy-function-call", "tool-calls", "function_call"),
        ("truncated", "other", None),
    ],
)
def test_finish_reason_mapping(case: str, reason: str, raw: str | None) -> None:
    (finish,) = of_type(events_of(CASES / f"{case}.sse"), "finish")
    assert (finish["finish_reason"], finish["raw_finish_reason"]) == (reason, raw)


def test_two_responses_in_one_recording_give_two_messages() -> None:
    msgs = messages(events_of(CASES / "two-responses.sse"))
    assert [(m["id"], m["finish_reason"]) for m in msgs] == [
        ("chatcmpl-t1", "tool-calls"),
        ("chatcmpl-t2", "stop"),
    ]


def test_executed_tools_are_provider_executed_calls_and_results() -> None:
    events = events_of(CASES / "executed-tools.sse")
    (call,) = of_type(events, "tool-call")
    (result,) = of_type(events, "tool-result")
    assert call["provider_executed"] and result["provider_executed"]
    assert call["input"] == {"query": "weather SF"} and result["output"].endswith("Sunny")
    assert of_type(events, "finish")[0]["usage"]["total_tokens"] == 105  # from x_groq.usage


def test_invalid_arguments_give_null_input_and_an_error() -> None:
    (call,) = of_type(events_of(CASES / "tool-bad-arguments.sse"), "tool-call")
    assert call["input"] is None and "not valid JSON" in call["input_error"]


def test_audio_data_that_is_not_base64_is_a_data_error() -> None:
    from streamkit.dialects.openai_chat import ChatNormalizer
    from streamkit.errors import DataError

    chunk = {"id": "c", "model": "m", "choices": [{"index": 0, "delta": {"audio": {"data": "!!notbase64"}}}]}
    with pytest.raises(DataError, match="delta.audio.data is not base64"):
        ChatNormalizer().feed(chunk)


@pytest.mark.parametrize(
    ("choice", "message"),
    [
        ("x", "a 'choices' entry is a str, expected an object"),
        ({"index": 0, "delta": [1]}, "'delta' is a list, expected an object"),
    ],
)
def test_a_choice_or_delta_that_is_no_object_is_a_data_error_also_mid_block(
    choice: object, message: str
) -> None:
    """Whether the chunk would have taken the hot path (a text block open) or not."""
    from streamkit.dialects.openai_chat import ChatNormalizer
    from streamkit.errors import DataError

    for before in ([], [{"content": "Hi"}, {"content": " there"}]):
        n = ChatNormalizer()
        for delta in before:
            n.feed({"id": "c", "model": "m", "choices": [{"index": 0, "delta": delta}]})
        with pytest.raises(DataError, match=message):
            n.feed({"id": "c", "model": "m", "choices": [choice]})


def test_an_audio_transcript_is_a_text_block_of_its_own() -> None:
    from streamkit.dialects.openai_chat import ChatNormalizer

    def chunk(delta: dict) -> dict:
        return {"id": "c", "model": "m", "choices": [{"index": 0, "delta": delta}]}

    n = ChatNormalizer()
    out = []
    for delta in (
        {"content": "Note: "},
        {"audio": {"id": "audio_1", "transcript": "Hi"}},
        {"audio": {"transcript": " you", "data": "AAEC"}},
        {"content": "done"},
    ):
        out += n.feed(chunk(delta)) or []
    out += n.close()
    starts = [e for e in out if e["type"] == "text-start"]
    assert [s.get("provider_metadata") for s in starts] == [
        None,
        {"openai-chat": {"audio": {"id": "audio_1"}}},
        None,
    ]
    texts = {}
    for e in out:
        if e["type"] == "text-delta":
            texts[e["id"]] = texts.get(e["id"], "") + e["delta"]
    assert list(texts.values()) == ["Note: ", "Hi you", "done"]
    (file,) = [e for e in out if e["type"] == "file"]
    assert file["data"] == "AAEC" and file["provider_metadata"]["openai-chat"]["audio"] == {"id": "audio_1"}


def _both_ways(chunks: list[tuple[Any, str | None]]) -> tuple[list[Any], list[Any]]:
    """The events of the normalizer's hot path, and of its general path alone (``_feed``)."""
    from streamkit.dialects.openai_chat import ChatNormalizer

    fast, full = ChatNormalizer(), ChatNormalizer()
    ours = [e for data, event in chunks for e in fast.feed(data, event) or ()] + fast.close()
    theirs = [e for data, event in chunks for e in full._feed(data, event) or ()] + full.close()
    return ours, theirs


@pytest.mark.parametrize("case", sorted(CASES.glob("*.sse")), ids=lambda p: p.name)
def test_the_hot_path_gives_what_the_general_path_gives(case: Any) -> None:
    from streamkit.stages.fetch import replay

    chunks = [(raw["data"], raw["event"]) for raw in replay(io.BytesIO(case.read_bytes()))]
    ours, theirs = _both_ways(chunks)
    assert ours == theirs


def test_the_hot_path_reads_reasoning_beside_role_or_channel_and_leaves_the_rest_to_general() -> None:
    def chunk(delta: dict[str, Any], **fields: Any) -> tuple[dict[str, Any], None]:
        choice = {"index": 0, "delta": delta, "finish_reason": None, **fields.pop("choice", {})}
        return {"id": "c", "model": "m", "choices": [choice], **fields}, None

    logprobs = {"content": [{"token": "x", "logprob": -0.1}], "refusal": None}
    chunks = [
        chunk({"role": "assistant", "reasoning_content": "Hm"}),
        chunk({"role": "assistant", "reasoning_content": " yes"}),
        chunk({"reasoning": ".", "channel": "analysis"}),
        chunk({"reasoning": ""}),
        chunk({"reasoning": 7}),
        chunk({"reasoning_content": "a", "reasoning": "b"}),  # two fields with a meaning
        chunk({"role": "assistant", "content": "A"}),
        chunk({"content": "B", "channel": "final"}, choice={"logprobs": logprobs}),
        chunk({"content": "C"}, choice={"logprobs": {"content": None}}),
        chunk({"content": ""}),
        chunk({"role": "assistant", "content": None}),
        chunk({"role": "assistant", "refusal": "no"}),
        chunk({"content": "D"}, usage={"prompt_tokens": 1}),
        *(chunk({"content": "E"}, **{field: {"x": 1}}) for field in _EXTRA_FIELDS if field != "error"),
        chunk({"content": "F"}, citations=["https://example.com/a"]),
        chunk({"role": "assistant", "reasoning": "G"}),
        chunk({"tool_calls": [{"index": 0, "id": "call_1", "function": {"name": "f", "arguments": ""}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"a":'}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": "1}"}}], "role": "assistant"}),
        chunk({}, choice={"finish_reason": "tool_calls"}),
        ("[DONE]", None),
    ]
    ours, theirs = _both_ways(chunks)
    assert ours == theirs
    assert [e["delta"] for e in ours if e["type"] == "reasoning-delta"][:4] == ["Hm", " yes", ".", "a"]


@pytest.mark.parametrize("field", sorted(_EXTRA_FIELDS))
def test_a_chunk_with_a_rarer_chunk_level_field_takes_the_general_path(field: str) -> None:
    from streamkit.dialects.openai_chat import ChatNormalizer

    general: list[dict[str, Any]] = []

    class Watched(ChatNormalizer):  # (a subclass: a compiled class's methods cannot be replaced)
        def _feed(self, data: Any, event: str | None) -> Any:
            if self.started:
                general.append(data)
                return []
            return super()._feed(data, event)

    n = Watched()
    n.feed({"id": "c", "model": "m", "choices": [{"index": 0, "delta": {"content": "A"}}]})
    chunk = {"id": "c", "model": "m", "choices": [{"index": 0, "delta": {"content": "B"}}]}
    n.feed(chunk)
    n.feed({**chunk, field: None})
    assert general == [{**chunk, field: None}]


def test_a_bad_choice_after_choice_0_finished_leaves_no_stale_text_block_for_the_hot_path() -> None:
    # the chunk finishes choice 0 (closing its text), then fails on choice 1: content for choice 0
    # after it must open a new text block, not go on in the closed one
    from streamkit.stages.normalize import normalize

    def chunk(choices: list[Any]) -> dict[str, Any]:
        return {"type": "raw", "dialect": "openai-chat", "event": None,
                "data": {"id": "c", "model": "m", "choices": choices}}  # fmt: skip

    events = list(
        normalize(
            [
                chunk([{"index": 0, "delta": {"role": "assistant", "content": "a"}}]),
                chunk([{"index": 0, "delta": {}, "finish_reason": "stop"}, {"index": 1, "delta": 5}]),
                chunk([{"index": 0, "delta": {"content": "b"}}]),
            ],
            on_error="pass",
        )
    )
    kinds = [e["type"] for e in events]
    bad = kinds.index("error")
    (late,) = [e for e in events if e.get("delta") == "b"]
    assert {"type": "text-start", "id": late["id"]} in events[bad:]
    assert late["id"] != "text-0"


@pytest.mark.parametrize(
    ("created", "kept"),
    [(1_700_000_000, True), (1.7e9, True), ("2024-01-01", False), (1e300, False), (True, False)],
)
def test_a_chunks_created_is_passed_on_only_when_it_is_a_unix_time(created: Any, kept: bool) -> None:
    chunk = {"id": "c1", "object": "chat.completion.chunk", "created": created, "model": "m",
             "choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": "stop"}]}  # fmt: skip
    wire = b"data: " + orjson.dumps(chunk) + b"\n\ndata: [DONE]\n\n"
    (start,) = [e for e in events_of(wire) if e["type"] == "start"]
    assert start.get("created", None) == (created if kept else None)
    assert messages(events_of(wire))[0]["content"] == [{"type": "text", "text": "hi"}]
