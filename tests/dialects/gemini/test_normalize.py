"""The gemini normalizer: what each kind of chunk must become, stated directly (and, where it
matters, that it survives ``render -f gemini`` and normalizing again)."""

from __future__ import annotations

import io
from typing import Any

import orjson
import pytest

from streamkit.dialects.gemini import map_usage
from streamkit.errors import DataError
from streamkit.stages.fetch import replay
from streamkit.stages.normalize import normalize
from streamkit.stages.render import render
from tests.conftest import DATA, events_of, messages
from tests.dialects.gemini.chunks import ALL_CASES, CASES, chunk, validate_chunk, wire_of


def of_type(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == kind]


def sse(*chunks: Any) -> bytes:
    return b"".join(b"data: " + orjson.dumps(c) + b"\r\n\r\n" for c in chunks)


def fc(body: dict[str, Any], **part: Any) -> dict[str, Any]:
    return chunk([{"functionCall": body, **part}])


# --- text, thoughts and signatures ------------------------------------------------------------------


def test_text_parts_join_into_one_block_and_the_last_usage_wins() -> None:
    events = events_of(CASES / "text.sse")
    assert [e["type"] for e in events if e["type"].startswith("text")] == [
        "text-start",
        "text-delta",
        "text-delta",
        "text-delta",
        "text-end",
    ]
    (message,) = messages(events)
    assert message["content"] == [{"type": "text", "text": "Rivers carve stone\nslowly, patient as time."}]
    assert message["usage"] == {"input_tokens": 9, "output_tokens": 12, "total_tokens": 21}
    assert (message["id"], message["model"]) == ("Yk9zaGVsbG8tdGV4dA", "gemini-2.5-flash")


def test_thought_parts_are_reasoning_and_a_signature_on_an_empty_part_ends_the_text_block() -> None:
    events = events_of(CASES / "thoughts.sse")
    (message,) = messages(events)
    assert [(p["type"], p["text"]) for p in message["content"]] == [
        ("reasoning", "**Adding numbers**\n\nThe user asks for 17 + 25. 17 + 25 = 42."),
        ("text", "17 + 25 = **42**."),
    ]
    (end,) = of_type(events, "text-end")
    assert end["provider_metadata"] == {
        "gemini": {"thought_signature": "Cs4BAXLI2nyX8s1gQ2lYd3Vxd0pQZk9vS2VzdA=="}
    }
    # reasoning counts as output: candidatesTokenCount 9 + thoughtsTokenCount 58
    assert message["usage"] == {
        "input_tokens": 12,
        "output_tokens": 67,
        "total_tokens": 79,
        "reasoning_tokens": 58,
    }


def test_a_signature_goes_back_on_the_same_kind_of_part() -> None:
    events = events_of(CASES / "signature-on-thought.sse")
    (reasoning_end,) = of_type(events, "reasoning-end")
    assert reasoning_end["provider_metadata"]["gemini"]["thought_signature"] == "EvQBc2lnbmF0dXJlLW9uZQ=="
    # a signature on an empty text part with no text block open: an empty text block carries it
    (text_end,) = of_type(events, "text-end")
    assert text_end["text"] == "" and text_end["provider_metadata"]["gemini"]["thought_signature"] == (
        "EvQBc2lnbmF0dXJlLXR3bw=="
    )
    signed = [
        part
        for data in wire_of(events)
        for part in data.get("candidates", [{}])[0].get("content", {}).get("parts", [])
        if "thoughtSignature" in part
    ]
    assert signed == [
        {"text": "", "thought": True, "thoughtSignature": "EvQBc2lnbmF0dXJlLW9uZQ=="},
        {"text": "", "thoughtSignature": "EvQBc2lnbmF0dXJlLXR3bw=="},
    ]


def test_a_signature_on_a_text_part_ends_its_block_so_later_text_starts_another() -> None:
    wire = sse(
        chunk([{"text": "One.", "thoughtSignature": "c2lnMQ=="}]),
        chunk([{"text": " Two."}], finishReason="STOP"),
    )
    (message,) = messages(events_of(wire))
    assert message["content"] == [
        {"type": "text", "text": "One.", "provider_metadata": {"gemini": {"thought_signature": "c2lnMQ=="}}},
        {"type": "text", "text": " Two."},
    ]


def test_what_rides_on_a_chunk_while_text_streams_is_not_lost() -> None:
    """Chunks in the middle of a text block that carry more than one plain text part."""
    wire = sse(
        chunk([{"text": "a"}]),
        chunk([{"text": "b"}], logprobsResult={"chosenCandidates": [{"token": "b", "logProbability": -0.5}]}),
        chunk([{"text": "c", "thought": True}]),
        chunk([{"text": "d"}, {"text": "e"}]),
        chunk([{"text": "f", "thoughtSignature": "c2ln"}], finishReason="STOP"),
    )
    events = events_of(wire)
    (message,) = messages(events)
    assert [(p["type"], p["text"]) for p in message["content"]] == [
        ("text", "ab"),
        ("reasoning", "c"),
        ("text", "def"),
    ]
    assert message["content"][2]["provider_metadata"] == {"gemini": {"thought_signature": "c2ln"}}
    (second,) = [e for e in of_type(events, "text-delta") if e["delta"] == "b"]
    assert second["provider_metadata"]["gemini"]["logprobs_result"]["chosenCandidates"][0]["token"] == "b"


# --- function calls ----------------------------------------------------------------------------------


def test_whole_function_calls_keep_the_provider_id_or_get_a_stable_one() -> None:
    events = events_of(CASES / "function-call-whole.sse")
    calls = of_type(events, "tool-call")
    assert [(c["tool_call_id"], c["tool_name"], c["input"]) for c in calls] == [
        ("fc-weather-1", "get_weather", {"city": "Oslo", "unit": "celsius"}),
        ("call_0", "get_time", {"tz": "Europe/Oslo"}),
    ]
    assert (
        calls[0]["provider_metadata"]["gemini"]["thought_signature"]
        == "CiQBjz1rX2Z1bmN0aW9uLWNhbGwtc2lnbmF0dXJl"
    )
    assert messages(events)[0]["finish_reason"] == "tool-calls"  # STOP with function calls
    again = of_type(events_of(b"".join(render(iter(events), format="gemini"))), "tool-call")
    assert [c["tool_call_id"] for c in again] == ["fc-weather-1", "call_0"]


def test_the_encoder_writes_whole_calls_with_their_signature_and_only_the_provider_ids() -> None:
    parts = [p for d in wire_of(events_of(CASES / "function-call-whole.sse")) for p in _parts(d)]
    assert parts == [
        {
            "functionCall": {
                "id": "fc-weather-1",
                "name": "get_weather",
                "args": {"city": "Oslo", "unit": "celsius"},
            },
            "thoughtSignature": "CiQBjz1rX2Z1bmN0aW9uLWNhbGwtc2lnbmF0dXJl",
        },
        {"functionCall": {"name": "get_time", "args": {"tz": "Europe/Oslo"}}},
    ]


def _parts(data: Any) -> list[dict[str, Any]]:
    if not isinstance(data, dict):
        return []
    return [p for c in data.get("candidates") or () for p in (c.get("content") or {}).get("parts") or ()]


def test_a_call_with_no_args_has_empty_object_arguments() -> None:
    (call,) = of_type(events_of(sse(fc({"name": "read_theme"}), chunk([], finishReason="STOP"))), "tool-call")
    assert (call["arguments"], call["input"]) == ("{}", {})


def test_streamed_arguments_are_written_as_json_text_as_they_arrive() -> None:
    events = events_of(CASES / "function-call-streamed.sse")
    (call,) = of_type(events, "tool-call")
    deltas = [e["delta"] for e in of_type(events, "tool-input-delta")]
    assert len(deltas) == 12  # one per part that adds text, plus the closing brackets
    assert "".join(deltas) == call["arguments"] == orjson.dumps(call["input"]).decode()
    assert call["input"] == {
        "event": {
            "title": 'Team "sync" – weekly',  # noqa: RUF001
            "duration_minutes": 30,
            "attendees": [
                {"email": "ana@example.com", "optional": False},
                {"email": "bo@example.com", "optional": True},
            ],
            "room": None,
        },
        "notify": True,
        "tags": ["work", "weekly\nrecurring"],
    }
    assert call["provider_metadata"]["gemini"]["thought_signature"] == "CmIBjz1rX3N0cmVhbWVkLWNhbGw="


def test_a_part_without_will_continue_ends_the_call_and_a_new_name_starts_another() -> None:
    calls = of_type(events_of(CASES / "function-call-streamed-no-terminator.sse"), "tool-call")
    assert [(c["tool_name"], c["input"]) for c in calls] == [
        ("add_items", {"items": [{"name": "apple", "price": 0.5}, {"name": "pear", "price": 0.75}]}),
        ("checkout", {}),
    ]


def test_a_name_while_a_call_streams_starts_a_new_call() -> None:
    wire = sse(
        fc({"name": "a", "willContinue": True}),
        fc({"partialArgs": [{"jsonPath": "$.x", "numberValue": 1}], "willContinue": True}),
        fc({"name": "b", "willContinue": True}),
        fc({"partialArgs": [{"jsonPath": "$.y", "numberValue": 2}]}),
        chunk([], finishReason="STOP"),
    )
    calls = of_type(events_of(wire), "tool-call")
    assert [(c["tool_name"], c["input"]) for c in calls] == [("a", {"x": 1}), ("b", {"y": 2})]


def test_a_call_cut_off_while_streaming_has_invalid_arguments_and_survives_reencoding() -> None:
    wire = sse(
        chunk([{"text": "Looking."}]),
        fc({"name": "search", "willContinue": True}),
        fc(
            {
                "partialArgs": [
                    {"jsonPath": "$.query", "stringValue": "flights to Li", "willContinue": True}
                ],
                "willContinue": True,
            }
        ),
    )
    events = events_of(wire)
    (call,) = of_type(events, "tool-call")
    assert call["arguments"] == '{"query":"flights to Li'
    assert call["input"] is None and "not valid JSON" in call["input_error"]
    assert messages(events)[0]["finish_reason"] == "other"
    encoded = wire_of(events)
    for data in encoded:
        validate_chunk(data)
    (again,) = of_type(events_of(b"".join(render(iter(events), format="gemini"))), "tool-call")
    assert (again["tool_name"], again["input"]) == ("search", None)


def test_max_tokens_inside_a_streamed_call_leaves_it_incomplete() -> None:
    wire = sse(
        fc({"name": "write", "willContinue": True}),
        fc(
            {
                "partialArgs": [{"jsonPath": "$.text", "stringValue": "Once upon", "willContinue": True}],
                "willContinue": True,
            }
        ),
        chunk([], finishReason="MAX_TOKENS"),
    )
    events = events_of(wire)
    (call,) = of_type(events, "tool-call")
    assert call["input"] is None
    assert messages(events)[0]["finish_reason"] == "length"


def test_arguments_that_are_not_an_object_from_another_dialect_stay_invalid() -> None:
    source = events_of(DATA / "openai-chat" / "tool-bad-arguments.sse")
    (again,) = of_type(events_of(b"".join(render(iter(source), format="gemini"))), "tool-call")
    assert (again["tool_call_id"], again["tool_name"], again["input"]) == ("call_bad", "f", None)


# --- code execution, server-side tools, grounding, files --------------------------------------------


def test_code_execution_is_provider_executed_calls_and_results() -> None:
    events = events_of(CASES / "code-execution.sse")
    calls = of_type(events, "tool-call")
    results = of_type(events, "tool-result")
    assert [(c["tool_name"], c["provider_executed"], c["input"]["code"]) for c in calls] == [
        ("code_execution", True, "print(sum(range(1, 101))"),
        ("code_execution", True, "print(sum(range(1, 101)))"),
    ]
    assert [(r["tool_call_id"], r["output"]["outcome"], r["is_error"]) for r in results] == [
        (calls[0]["tool_call_id"], "OUTCOME_FAILED", True),
        (calls[1]["tool_call_id"], "OUTCOME_OK", False),
    ]
    assert messages(events)[0]["finish_reason"] == "stop"  # executed code is not a client call
    parts = [p for d in wire_of(events) for p in _parts(d)]
    assert parts[:2] == [
        {"executableCode": {"language": "PYTHON", "code": "print(sum(range(1, 101))"}},
        {
            "codeExecutionResult": {
                "outcome": "OUTCOME_FAILED",
                "output": "SyntaxError: '(' was never closed\n",
            }
        },
    ]


def test_server_side_tool_invocations_are_provider_executed() -> None:
    events = events_of(CASES / "file-search.sse")
    (call,) = of_type(events, "tool-call")
    (result,) = of_type(events, "tool-result")
    assert (call["tool_name"], call["input"], call["provider_executed"]) == (
        "file_search",
        {"query": "refund policy"},
        True,
    )
    assert (result["tool_call_id"], result["output"]) == ("fs-1", {"status": "ok"})
    parts = [p for d in wire_of(events) for p in _parts(d)]
    assert parts[:2] == [
        {
            "toolCall": {"toolType": "FILE_SEARCH", "args": {"query": "refund policy"}, "id": "fs-1"},
            "thoughtSignature": "EpYSCpMSZmlsZS1zZWFyY2g=",
        },
        {"toolResponse": {"toolType": "FILE_SEARCH", "id": "fs-1", "response": {"status": "ok"}}},
    ]


def test_grounding_chunks_are_sources_once_each_and_the_rest_is_kept() -> None:
    events = events_of(CASES / "grounding.sse")
    sources = of_type(events, "source")
    assert [(s["id"], s["source_type"], s["title"]) for s in sources] == [
        ("src-0", "url", "uefa.com"),
        ("src-1", "url", "bbc.com"),
    ]
    (finish,) = of_type(events, "finish")
    grounding = finish["provider_metadata"]["gemini"]["grounding_metadata"]
    assert set(grounding) == {"searchEntryPoint", "groundingSupports", "webSearchQueries"}
    (last,) = [d for d in wire_of(events) if d["candidates"][0].get("finishReason")]
    written = last["candidates"][0]["groundingMetadata"]
    assert [c["web"]["title"] for c in written["groundingChunks"]] == ["uefa.com", "bbc.com"]
    assert written["webSearchQueries"] == ["euro 2024 winner"]


def test_retrieved_documents_are_document_sources() -> None:
    sources = of_type(events_of(CASES / "file-search.sse"), "source")
    assert [(s["source_type"], s.get("title"), s.get("filename")) for s in sources] == [
        ("document", "Refund policy", "refunds.pdf"),
        ("document", None, None),
    ]
    assert sources[1]["provider_metadata"]["gemini"]["text"] == "Returns must be unused."


def test_citation_metadata_is_a_source_and_goes_back_as_citation_metadata() -> None:
    events = events_of(CASES / "citations.sse")
    (source,) = of_type(events, "source")
    assert source["url"] == "https://en.wikipedia.org/wiki/To_be,_or_not_to_be"
    (last,) = [d for d in wire_of(events) if d["candidates"][0].get("finishReason")]
    assert last["candidates"][0]["citationMetadata"]["citationSources"] == [
        {
            "startIndex": 0,
            "endIndex": 42,
            "license": "",
            "uri": "https://en.wikipedia.org/wiki/To_be,_or_not_to_be",
        }
    ]


def test_logprobs_ride_on_the_delta_of_their_chunk_and_go_back_on_it() -> None:
    events = events_of(CASES / "logprobs.sse")
    deltas = of_type(events, "text-delta")
    chosen = [
        d["provider_metadata"]["gemini"]["logprobs_result"]["chosenCandidates"][0]["token"] for d in deltas
    ]
    assert chosen == ["Yes", "."]
    written = [d["candidates"][0].get("logprobsResult") for d in wire_of(events)]
    assert [w["chosenCandidates"][0]["logProbability"] if w else None for w in written] == [-0.01, -0.2, None]
    (finish,) = of_type(events, "finish")
    assert finish["provider_metadata"]["gemini"]["avg_logprobs"] == -0.105


def test_inline_data_is_a_file() -> None:
    (file,) = of_type(events_of(CASES / "inline-image.sse"), "file")
    assert file["media_type"] == "image/png" and file["data"].startswith("iVBORw0KGgo")


# --- finish, usage, errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "reason", "raw"),
    [
        ("text.sse", "stop", "STOP"),
        ("max-tokens.sse", "length", "MAX_TOKENS"),
        ("safety.sse", "content-filter", "SAFETY"),
        ("prompt-blocked.sse", "content-filter", "PROHIBITED_CONTENT"),
        ("malformed-function-call.sse", "error", "MALFORMED_FUNCTION_CALL"),
        ("error-mid-stream.sse", "error", None),
        ("truncated.sse", "other", None),
    ],
)
def test_finish_reason_mapping(case: str, reason: str, raw: str | None) -> None:
    (finish,) = of_type(events_of(CASES / case), "finish")
    assert (finish["finish_reason"], finish["raw_finish_reason"]) == (reason, raw)


def test_usage_mapping() -> None:
    usage = {"promptTokenCount": 2048, "candidatesTokenCount": 10, "thoughtsTokenCount": 5,
             "totalTokenCount": 2063, "cachedContentTokenCount": 2000}  # fmt: skip
    assert map_usage(usage) == {
        "input_tokens": 2048,
        "output_tokens": 15,
        "total_tokens": 2063,
        "cached_input_tokens": 2000,
        "reasoning_tokens": 5,
    }
    assert map_usage({"trafficType": "ON_DEMAND"}) == {}


def test_safety_ratings_and_prompt_feedback_are_kept() -> None:
    (finish,) = of_type(events_of(CASES / "safety.sse"), "finish")
    assert finish["provider_metadata"]["gemini"]["safety_ratings"][0]["blocked"] is True
    events = events_of(CASES / "prompt-blocked.sse")
    (finish,) = of_type(events, "finish")
    assert finish["provider_metadata"]["gemini"]["prompt_feedback"]["blockReason"] == "PROHIBITED_CONTENT"
    (data,) = wire_of(events)
    assert "candidates" not in data and data["promptFeedback"]["blockReason"] == "PROHIBITED_CONTENT"


def test_an_error_mid_stream_comes_after_what_was_received() -> None:
    events = events_of(CASES / "error-mid-stream.sse")
    kinds = [e["type"] for e in events]
    assert kinds.index("error") > kinds.index("text-delta")
    (error,) = of_type(events, "error")
    assert (error["code"], error["retryable"]) == ("UNAVAILABLE", True)
    assert messages(events)[0]["content"] == [{"type": "text", "text": "The first three primes are 2, 3"}]
    assert {
        "error": {
            "code": 503,
            "message": "The model is overloaded. Please try again later.",
            "status": "UNAVAILABLE",
        }
    } in wire_of(events)


def test_the_json_array_form_gives_what_the_same_chunks_give_over_sse() -> None:
    array = CASES / "json-array.json"
    assert array.read_bytes().startswith(b"\xef\xbb\xbf[")
    chunks = [raw["data"] for raw in replay(io.BytesIO(array.read_bytes()))]
    assert messages(events_of(array)) == messages(events_of(sse(*chunks)))
    (message,) = messages(events_of(array))
    assert message["content"] == [{"type": "text", "text": "Bonjour le monde !"}]


def test_bad_data_is_a_data_error_naming_the_dialect() -> None:
    raws = [{"type": "raw", "dialect": "gemini", "event": None, "data": {"candidates": "oops"}}]
    with pytest.raises(DataError, match="gemini: 'candidates' is a str, expected a list"):
        list(normalize(iter(raws)))


def test_candidates_after_the_first_are_left_out_with_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    data = chunk([{"text": "A"}], index=0, finishReason="STOP")
    data["candidates"].append({"content": {"role": "model", "parts": [{"text": "B"}]}, "index": 1})
    (message,) = messages(events_of(sse(data)))
    assert message["content"] == [{"type": "text", "text": "A"}]
    assert "only the first candidate" in capsys.readouterr().err


# --- several responses -----------------------------------------------------------------------------------


def test_a_new_response_id_after_a_finish_starts_a_new_response() -> None:
    first = chunk([{"text": "One"}], finishReason="STOP")
    second = {**chunk([{"text": "Two"}], finishReason="STOP"), "responseId": "r2"}
    msgs = messages(events_of(sse(first, second)))
    assert [(m["id"], m["content"][0]["text"]) for m in msgs] == [("r1", "One"), ("r2", "Two")]


def test_responses_without_ids_are_told_apart_when_encoded() -> None:
    source = events_of(DATA / "ollama" / "two-responses.ndjson")
    again = messages(events_of(b"".join(render(iter(source), format="gemini"))))
    assert [m["content"][0]["text"] for m in again] == ["First.", "Second answer."]
    assert [m["id"] for m in again] == [None, "response-2"]


# --- the fast path -----------------------------------------------------------------------------------


def _both_ways(chunks: list[Any]) -> tuple[list[Any], list[Any]]:
    """The events of the normalizer's fast path, and of its full path alone (``_feed``)."""
    from streamkit.dialects.gemini.normalize import GeminiNormalizer

    fast, full = GeminiNormalizer(), GeminiNormalizer()
    ours = [e for c in chunks for e in fast.feed(c) or ()] + fast.close()
    theirs = [e for c in chunks for e in full._feed(c) or ()] + full.close()
    return ours, theirs


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda p: p.name)
def test_the_fast_path_gives_what_the_full_path_gives(case: Any) -> None:
    chunks = [raw["data"] for raw in replay(io.BytesIO(case.read_bytes()), dialect="gemini")]
    ours, theirs = _both_ways(chunks)
    assert ours == theirs


def test_the_fast_path_reads_what_else_a_chunk_of_the_open_block_carries() -> None:
    """Chunks the fast path takes: one part going on the open block or call, whatever else
    the candidate holds (a finish reason, safety ratings, logprobs, its index)."""
    chunks = [
        chunk([{"text": "a"}]),
        chunk([{"text": "b"}], index=0, safetyRatings=[{"category": "X", "probability": "LOW"}]),
        chunk([{"text": "c"}], logprobsResult={"chosenCandidates": []}, finishReason="STOP"),
        chunk([{"text": "r", "thought": True}]),
        chunk([{"text": "s", "thought": True}], usageMetadata={"promptTokenCount": 1}),
        fc({"name": "f", "willContinue": True}),
        fc(
            {
                "partialArgs": [{"jsonPath": "$.q", "stringValue": "x", "willContinue": True}],
                "willContinue": True,
            }
        ),
        fc({"partialArgs": [{"jsonPath": "$.q", "stringValue": "y"}], "willContinue": True}),
        chunk([{"functionCall": {}}], finishReason="STOP"),
    ]
    ours, theirs = _both_ways(chunks)
    assert ours == theirs
    (call,) = [e for e in ours if e["type"] == "tool-call"]
    assert call["input"] == {"q": "xy"}


def test_the_first_chunk_of_the_next_response_is_read_as_the_full_path_reads_it() -> None:
    """A chunk with another responseId ends the response under way and starts the next on the
    fast path when it is the usual first chunk; the rest (no id, prompt feedback, another
    candidate, candidates that are no list) as _feed reads them."""
    chunks = [
        chunk([{"text": "a"}], finishReason="STOP"),
        chunk([{"text": "b"}], responseId="r2", createTime="2026-05-04T20:01:02.264968Z"),
        chunk([{"functionCall": {"name": "f", "args": {"x": 1}}}], responseId="r3", finishReason="STOP"),
        chunk([{"text": "c", "thought": True}], responseId="r4", usageMetadata={"totalTokenCount": 3}),
        chunk([{"text": "d"}], responseId=None),
        chunk([{"text": "e"}], responseId="r5", promptFeedback={"blockReason": "SAFETY"}),
        chunk([{"text": "f"}], responseId="r6", index=1),
        chunk([{"text": "g"}], responseId="r7", index=0, usageMetadata=[1]),
        {"candidates": ({"content": {"parts": [{"text": "h"}]}},), "responseId": "r8"},
        chunk([{"functionCall": {"name": "g", "willContinue": True}}], responseId="r9"),
        chunk([{"text": "i"}], responseId="r10"),
    ]
    from streamkit.dialects.gemini.normalize import GeminiNormalizer

    def events(chunks: list[Any], full: bool) -> list[Any]:
        n = GeminiNormalizer()
        got: list[Any] = []
        for c in chunks:
            try:
                got += (n._feed(c) if full else n.feed(c)) or ()
            except DataError as exc:
                got.append(str(exc))
        return got + n.close()

    assert any(isinstance(e, str) for e in events(chunks, False))  # (the tuple of candidates)
    for cut in range(1, len(chunks) + 1):
        assert events(chunks[:cut], False) == events(chunks[:cut], True)
