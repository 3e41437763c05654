"""The openai-responses encoder: what it writes, checked against the official SDK's types, its
accumulator and its client."""

from __future__ import annotations

import io
from typing import Any

import orjson
import pytest
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types.responses import ResponseStreamEvent
from pydantic import TypeAdapter

from streamkit.dialects.openai_responses import ResponsesEncoder
from streamkit.errors import UsageError
from streamkit.stages.accumulate import accumulate
from streamkit.stages.fetch import replay
from streamkit.stages.render import render
from tests.conftest import DATA, events_of, fixture_files, messages

CASES = DATA / "openai-responses"
ALL_CASES = sorted(CASES.glob("*.sse"))
NAME = "openai-responses"
STREAM_EVENT: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)


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


def encode(events: list[dict], **options: Any) -> list[tuple[str | None, dict]]:
    wire = b"".join(render(iter(events), format=NAME, **options))
    return [(raw["event"], raw["data"]) for raw in replay(io.BytesIO(wire))]


def replay_file(path) -> list[tuple[str | None, dict]]:
    return [(raw["event"], raw["data"]) for raw in replay(io.BytesIO(path.read_bytes()))]


def responses_of(wire: list[tuple[str | None, dict]]) -> list[list[dict]]:
    """The wire events, one list per response."""
    out: list[list[dict]] = []
    for _, data in wire:
        if data["type"] == "response.created":
            out.append([])
        out[-1].append(data)
    return out


@pytest.mark.parametrize("case", ALL_CASES, ids=[c.stem for c in ALL_CASES])
def test_every_encoded_event_validates_as_the_sdk_stream_event(case) -> None:
    wire = encode(events_of(case))
    for name, data in wire:
        STREAM_EVENT.validate_python(data)
        assert name == data["type"]
    for response in responses_of(wire):
        assert [e["sequence_number"] for e in response] == list(range(len(response)))
        assert response[0]["type"] == "response.created" and response[1]["type"] == "response.in_progress"


def sdk_final(response: list[dict]) -> Any:
    """openai's own ResponseStreamState, fed one response's events; its final response."""
    from openai._types import omit

    state = ResponseStreamState(input_tools=omit, text_format=omit)
    for data in response:
        state.handle_event(STREAM_EVENT.validate_python(data))
    return state._completed_response


@pytest.mark.parametrize(
    "case",
    ["text", "parallel-calls", "reasoning-summary", "tool-loop", "web-search", "mcp", "custom-tool", "apply-patch",
     "code-interpreter", "annotations", "refusal", "reasoning-text", "whole-items", "phase-commentary"],
)  # fmt: skip
def test_the_official_accumulator_reads_what_we_encode(case: str) -> None:
    events = events_of(CASES / f"{case}.sse")
    ours = messages(events)
    for message, response in zip(ours, responses_of(encode(events)), strict=True):
        final = sdk_final(response)
        assert final.id == message["id"]
        assert final.output_text == text_of(message)
        calls = [p for p in message["content"] if p["type"] == "tool-call" and not p.get("provider_executed")]
        assert [
            (o.call_id, o.name, orjson.loads(o.arguments or "{}"))
            for o in final.output
            if o.type == "function_call"
        ] == [(p["tool_call_id"], p["tool_name"], p["input"]) for p in calls if not meta(p).get("type")]
        assert [
            (o.call_id, o.type) for o in final.output if o.type in ("custom_tool_call", "apply_patch_call")
        ] == [(p["tool_call_id"], meta(p)["type"]) for p in calls if meta(p).get("type")]
        reasoning = [s.text for o in final.output if o.type == "reasoning" for s in o.summary]
        reasoning += [c.text for o in final.output if o.type == "reasoning" for c in o.content or ()]
        assert reasoning == [p["text"] for p in message["content"] if p["type"] == "reasoning" and p["text"]]
        if message.get("usage"):
            assert final.usage.total_tokens == message["usage"]["total_tokens"]


def test_items_come_back_as_they_were() -> None:
    """Item ids, types, encrypted reasoning, annotations and provider items survive a round trip."""
    outputs = {}
    for case in ("reasoning-summary", "custom-tool", "apply-patch", "annotations", "mcp", "web-search"):
        (response,) = responses_of(encode(events_of(CASES / f"{case}.sse")))
        outputs[case] = response[-1]["response"]["output"]
    (reasoning, message) = outputs["reasoning-summary"]
    assert reasoning["id"] == "rs_rs01" and reasoning["encrypted_content"].startswith("gAAAAAB")
    assert [s["text"] for s in reasoning["summary"]][1] == "**Answer**\n\n26.2 \u00d7 1.609 ≈ 42.2."
    assert message["id"] == "msg_rs01"
    (custom,) = outputs["custom-tool"]
    assert (custom["type"], custom["id"], custom["call_id"], custom["name"]) == (
        "custom_tool_call", "ctc_ctc01", "call_ctc01", "code_exec")  # fmt: skip
    assert custom["input"] == 'print("hi \\"there\\"")\nx = 1'
    patches = outputs["apply-patch"]
    assert [(p["type"], p["operation"]["type"], p["operation"]["path"]) for p in patches] == [
        ("apply_patch_call", "update_file", "src/app.py"),
        ("apply_patch_call", "delete_file", "src/old.py"),
    ]
    (annotated,) = outputs["annotations"]
    assert [a["type"] for a in annotated["content"][0]["annotations"]] == [
        "url_citation", "file_citation", "container_file_citation", "file_path"]  # fmt: skip
    with open(CASES / "annotations.sse", "rb") as f:
        original = [
            r["data"]["annotation"]
            for r in replay(f)
            if r["event"] == "response.output_text.annotation.added"
        ]
    assert annotated["content"][0]["annotations"] == original
    assert [(o["type"], o["id"]) for o in outputs["mcp"]] == [
        ("mcp_list_tools", "mcpl_mcp01"), ("mcp_call", "mcp_mcp01"), ("message", "msg_mcp01")]  # fmt: skip
    assert (
        outputs["mcp"][1]["server_label"] == "deepwiki"
        and outputs["mcp"][1]["output"] == "A Python agent framework."
    )
    assert outputs["web-search"][0]["action"] == {
        "type": "search", "query": "positive news today", "sources": [{"type": "url", "url": "https://www.goodnewsnetwork.org/"}]}  # fmt: skip


def test_interleaved_parallel_calls_are_written_one_item_after_the_other() -> None:
    """Chat Completions streams parallel calls interleaved by index; the Responses wire gets one
    item at a time, and the final response holds every call."""
    events = events_of(DATA / "openai-chat" / "parallel-tools.sse")
    (response,) = responses_of(encode(events))
    open_items: set[int] = set()
    for data in response:
        if data["type"] == "response.output_item.added":
            assert not open_items, "an item was added while another was open"
            open_items.add(data["output_index"])
        elif data["type"] == "response.output_item.done":
            open_items.discard(data["output_index"])
        elif data["type"] == "response.function_call_arguments.delta":
            assert data["output_index"] in open_items
    final = sdk_final(response)
    assert [(o.call_id, orjson.loads(o.arguments)) for o in final.output if o.type == "function_call"] == [
        (c[0], c[2]) for c in client_calls(messages(events)[0])
    ]
    assert len(client_calls(messages(events)[0])) == 3


def test_encoding_only_final_messages_keeps_the_items() -> None:
    """accumulate --final | render -f openai-responses: each message is a whole response."""
    finals = list(accumulate(iter(events_of(CASES / "tool-loop.sse")), final=True))
    wire = encode(finals)
    first, second = responses_of(wire)
    assert [o["id"] for o in first[-1]["response"]["output"]] == ["fc_loop01"]
    assert first[-1]["response"]["id"] == "resp_loop01" and second[-1]["response"]["id"] == "resp_loop02"
    again = messages(events_of(b"".join(render(iter(finals), format=NAME))))
    assert [client_calls(m) for m in again] == [[("call_loop01", "get_weather", {"location": "Paris"})], []]
    finals = list(accumulate(iter(events_of(CASES / "reasoning-summary.sse")), final=True))
    (response,) = responses_of(encode(finals))
    reasoning = response[-1]["response"]["output"][0]
    assert (reasoning["id"], len(reasoning["summary"])) == ("rs_rs01", 2)
    assert reasoning["encrypted_content"].startswith("gAAAAAB")


@pytest.mark.parametrize(
    ("reason", "kind", "details"),
    [
        ("length", "response.incomplete", {"reason": "max_output_tokens"}),
        ("content-filter", "response.incomplete", {"reason": "content_filter"}),
        ("stop", "response.completed", None),
        ("tool-calls", "response.completed", None),
    ],
)
def test_finish_reasons_become_terminal_events(reason: str, kind: str, details: dict | None) -> None:
    events = [
        {"type": "start", "id": "r", "model": "m"},
        {"type": "text-delta", "id": "t", "delta": "x"},
        {"type": "finish", "finish_reason": reason, "usage": {"input_tokens": 3, "output_tokens": 1}},
    ]
    (response,) = responses_of(encode(events))
    assert response[-1]["type"] == kind
    assert response[-1]["response"]["incomplete_details"] == details
    assert response[-1]["response"]["usage"]["total_tokens"] == 4
    STREAM_EVENT.validate_python(response[-1])


def test_errors_become_an_error_event_and_response_failed() -> None:
    events = [
        {"type": "start", "id": "r", "model": "m"},
        {"type": "text-delta", "id": "t", "delta": "x"},
        {"type": "error", "message": "upstream went away", "code": 529},
        {"type": "finish", "finish_reason": "error"},
    ]
    (response,) = responses_of(encode(events))
    (error,) = [e for e in response if e["type"] == "error"]
    assert (error["code"], error["message"]) == ("529", "upstream went away")
    assert response[-1]["type"] == "response.failed"
    # a code the SDK's ResponseError does not know is written as server_error
    assert response[-1]["response"]["error"] == {"code": "server_error", "message": "upstream went away"}
    # from response.failed itself: no extra error event
    (response,) = responses_of(encode(events_of(CASES / "failed.sse")))
    assert [e["type"] for e in response].count("error") == 0
    assert response[-1]["response"]["error"]["code"] == "server_error"


def test_a_cut_off_response_ends_with_response_failed() -> None:
    """A stream cut off upstream (normalize ends it with ``finish: other`` and no raw reason) still
    ends, every item closed: a client such as Codex takes a stream that just stops for a dropped
    connection."""
    (response,) = responses_of(encode(events_of(CASES / "truncated.sse")))
    assert response[-2]["type"] == "response.output_item.done"
    assert response[-1]["type"] == "response.failed"
    assert response[-1]["response"]["error"] == {
        "code": "server_error",
        "message": "the upstream stream ended before the response was complete",
    }
    STREAM_EVENT.validate_python(response[-1])


def test_reasoning_part_option() -> None:
    events = [
        {"type": "start", "id": "r", "model": "m"},
        {"type": "reasoning-start", "id": "r0"},
        {"type": "reasoning-delta", "id": "r0", "delta": "hmm"},
        {"type": "reasoning-end", "id": "r0"},
        {"type": "finish", "finish_reason": "stop"},
    ]
    kinds = [d["type"] for _, d in encode(events)]
    assert "response.reasoning_summary_text.delta" in kinds
    kinds = [d["type"] for _, d in encode(events, reasoning_part="text")]
    assert "response.reasoning_text.delta" in kinds and "response.reasoning_summary_text.delta" not in kinds
    with pytest.raises(UsageError):
        ResponsesEncoder(reasoning_part="both")


def test_other_dialects_provider_tools_become_their_items(capsys: pytest.CaptureFixture[str]) -> None:
    events = [
        {"type": "start", "id": "r", "model": "m"},
        {"type": "tool-call", "tool_call_id": "srvtoolu_1", "tool_name": "web_search", "arguments": '{"query":"x"}',
         "input": {"query": "x"}, "provider_executed": True},
        {"type": "tool-result", "tool_call_id": "srvtoolu_1", "tool_name": "web_search", "output": [{"url": "https://a"}],
         "provider_executed": True},
        {"type": "tool-call", "tool_call_id": "code_1", "tool_name": "code_execution", "arguments": '{"code":"1+1"}',
         "input": {"code": "1+1"}, "provider_executed": True},
        {"type": "tool-result", "tool_call_id": "code_1", "tool_name": "code_execution", "output": {"stdout": "2"},
         "provider_executed": True},
        {"type": "tool-call", "tool_call_id": "g_1", "tool_name": "google_search_web", "arguments": '{"queries":["y"]}',
         "input": {"queries": ["y"]}, "provider_executed": True},
        {"type": "tool-call", "tool_call_id": "x_1", "tool_name": "x_search", "arguments": "{}", "input": {},
         "provider_executed": True},
        {"type": "tool-result", "tool_call_id": "x_1", "tool_name": "x_search", "output": "ok", "provider_executed": True},
        {"type": "finish", "finish_reason": "stop"},
    ]  # fmt: skip
    (response,) = responses_of(encode(events))
    output = response[-1]["response"]["output"]
    assert [(o["type"], o["id"]) for o in output] == [
        ("web_search_call", "srvtoolu_1"),
        ("code_interpreter_call", "code_1"),
        ("web_search_call", "g_1"),  # (Gemini's search)
    ]
    assert output[0]["action"] == {
        "type": "search",
        "query": "x",
        "sources": [{"type": "url", "url": "https://a"}],
    }
    assert output[1]["code"] == "1+1" and output[1]["outputs"] == [{"type": "logs", "logs": '{"stdout":"2"}'}]
    for data in response:
        STREAM_EVENT.validate_python(data)
    assert "cannot express provider-executed x_search calls (1); dropped" in capsys.readouterr().err


def test_what_responses_cannot_express_is_dropped_with_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    events = [
        {"type": "start", "id": "r", "model": "m"},
        {"type": "file", "media_type": "audio/wav", "data": "UklGRg=="},  # (an image is an image generation)
        {"type": "text-delta", "id": "c1.text-0", "delta": "other choice", "choice": 1},
        {"type": "source", "source_type": "url", "id": "s", "url": "https://a"},
        {"type": "finish", "finish_reason": "stop"},
    ]
    (response,) = responses_of(encode(events))
    assert response[-1]["response"]["output"] == []
    err = capsys.readouterr().err
    assert "cannot express files other than generated images (1); dropped" in err
    assert "cannot express choices other than the first (n>1) (1); dropped" in err
    assert "cannot express sources with no text to cite them (1); dropped" in err


def test_an_item_id_is_used_once_per_response() -> None:
    """Two blocks claiming the same message item, with a call between them: two items, two ids."""
    pm = {"provider_metadata": {NAME: {"item_id": "msg_1"}}}
    events = [
        {"type": "start", "id": "r", "model": "m"},
        {"type": "text-start", "id": "t0", **pm},
        {"type": "text-delta", "id": "t0", "delta": "a"},
        {"type": "text-end", "id": "t0", **pm},
        {"type": "tool-call", "tool_call_id": "call_1", "tool_name": "f", "arguments": "{}", "input": {}},
        {"type": "text-start", "id": "t1", **pm},
        {"type": "text-delta", "id": "t1", "delta": "b"},
        {"type": "text-end", "id": "t1", **pm},
        {"type": "finish", "finish_reason": "tool-calls"},
    ]
    (response,) = responses_of(encode(events))
    ids = [o["id"] for o in response[-1]["response"]["output"]]
    assert ids[0] == "msg_1" and len(set(ids)) == 3
    assert sdk_final(response).output_text == "ab"


def test_sources_before_the_text_annotate_it() -> None:
    events = [
        {"type": "start", "id": "r", "model": "m"},
        {"type": "source", "source_type": "url", "id": "s0", "url": "https://a", "title": "A"},
        {"type": "text-start", "id": "t"},
        {"type": "text-delta", "id": "t", "delta": "cited"},
        {"type": "source", "source_type": "document", "id": "s1", "title": "doc.pdf"},
        {"type": "text-end", "id": "t"},
        {"type": "finish", "finish_reason": "stop"},
    ]
    (response,) = responses_of(encode(events))
    (message,) = response[-1]["response"]["output"]
    assert message["content"][0]["annotations"] == [
        {"type": "url_citation", "start_index": 0, "end_index": 0, "title": "A", "url": "https://a"},
        {"type": "file_citation", "file_id": "s1", "filename": "doc.pdf", "index": 5},
    ]


def test_sources_amid_the_text_annotate_where_they_come() -> None:
    # a source after several deltas is placed at the length of the text so far, and again after more
    deltas = [{"type": "text-delta", "id": "t", "delta": d} for d in ("ab", "cd", "é", "fgh")]
    events = [
        {"type": "start", "id": "r", "model": "m"},
        {"type": "text-start", "id": "t"},
        *deltas[:2],
        {"type": "source", "source_type": "document", "id": "s1", "title": "one.pdf"},
        *deltas[2:],
        {"type": "source", "source_type": "document", "id": "s2", "title": "two.pdf"},
        {"type": "source", "source_type": "document", "id": "s3", "title": "three.pdf"},
        {"type": "text-end", "id": "t"},
        {"type": "finish", "finish_reason": "stop"},
    ]
    (response,) = responses_of(encode(events))
    (message,) = response[-1]["response"]["output"]
    assert message["content"][0]["text"] == "abcdéfgh"
    assert [(a["filename"], a["index"]) for a in message["content"][0]["annotations"]] == [
        ("one.pdf", 4), ("two.pdf", 8), ("three.pdf", 8),
    ]  # fmt: skip


def test_logprobs_come_back_on_their_deltas_and_in_the_done_text() -> None:
    recorded = [data for _, data in replay_file(CASES / "text-logprobs.sse")]
    wire = [data for _, data in encode(events_of(CASES / "text-logprobs.sse"))]
    for kind in ("response.output_text.delta", "response.output_text.done"):
        assert [d["logprobs"] for d in wire if d["type"] == kind] == [
            d["logprobs"] for d in recorded if d["type"] == kind
        ]
    assert any(d["logprobs"] for d in wire if d["type"] == "response.output_text.done")


def _serve(wire: bytes):
    import httpx

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/responses"
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=wire)

    return httpx.Client(transport=httpx.MockTransport(handler))


@pytest.mark.parametrize(
    "source",
    [CASES / "text.sse", CASES / "parallel-calls.sse", CASES / "reasoning-summary.sse", CASES / "phase-commentary.sse",
     CASES / "mcp.sse", DATA / "openai-chat" / "parallel-tools.sse", DATA / "openai-chat" / "reasoning-content.sse"],
    ids=lambda p: f"{p.parent.name}/{p.stem}",
)  # fmt: skip
def test_the_official_client_streams_what_we_write(source) -> None:
    """openai's client.responses.stream(), served our bytes, ends with our message."""
    import openai

    events = events_of(source)
    (ours,) = messages(events)
    wire = b"".join(render(iter(events), format=NAME))
    client = openai.OpenAI(api_key="sk-test", base_url="http://upstream.test/v1", http_client=_serve(wire))
    with client.responses.stream(model="gpt-test", input="hi") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert final.output_text == text_of(ours) == "".join(deltas)
    assert [
        (o.call_id, o.name, orjson.loads(o.arguments)) for o in final.output if o.type == "function_call"
    ] == (client_calls(ours))
    reasoning = [s.text for o in final.output if o.type == "reasoning" for s in o.summary]
    assert reasoning == [p["text"] for p in ours["content"] if p["type"] == "reasoning" and p["text"]]
    assert final.status == "completed"
    if ours.get("usage"):
        assert final.usage.total_tokens == ours["usage"]["total_tokens"]


# --- every stream ends, every item closed ------------------------------------------------------------

SOURCES = sorted(p for p in DATA.glob("*/*.sse") if p.parent.name != "openai-assistants")


def check_responses(wire: list[tuple[str | None, dict]]) -> list[list[dict]]:
    """What a client such as Codex relies on, for every response of a stream: it begins with
    ``response.created`` and ends with its terminal event; each item is added with the next
    ``output_index`` (arrival order), done before the end, and its events come while it is open;
    the official SDK's accumulator reads it all."""
    responses = responses_of(wire)
    assert responses, "no response at all"
    for response in responses:
        assert response[0]["type"] == "response.created"
        assert response[-1]["type"] in ("response.completed", "response.failed", "response.incomplete")
        assert [e["type"] for e in response].count(response[-1]["type"]) == 1
        added: list[int] = []
        open_items: set[int] = set()
        for data in response[1:-1]:
            STREAM_EVENT.validate_python(data)
            kind, index = data["type"], data.get("output_index")
            if kind == "response.output_item.added":
                assert index == len(added), "output_index not in arrival order"
                added.append(index)
                open_items.add(index)
            elif kind == "response.output_item.done":
                assert index in open_items, "an item done twice, or never added"
                open_items.discard(index)
            elif index is not None:
                assert index in open_items, f"{kind} for an item that is not open"
        assert not open_items, "items never closed"
        assert len(response[-1]["response"]["output"]) == len(added)
        if response[-1]["type"] == "response.completed":
            sdk_final(response)  # raises on anything it cannot accumulate
    return responses


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_dialects_stream_ends_with_every_item_closed(source) -> None:
    """Every recording of every dialect, encoded as a Responses stream: whole, as its final
    messages only (``accumulate --final``), then cut off at a few points (a stream that just
    stops: close() ends it with response.failed)."""
    events = [e for e in events_of(source) if e["type"] != "message"]
    check_responses(encode(events))
    check_responses(encode(list(accumulate(iter(events), final=True))))  # only the final messages
    for cut in sorted({len(events) // 4, len(events) // 2, len(events) - 2}):
        if cut > 0:
            responses = check_responses(encode(events[:cut]))
            assert responses[-1][-1]["type"] in (
                "response.failed",
                "response.completed",
                "response.incomplete",
            )


@pytest.mark.parametrize(
    "path", fixture_files("anthropic", "gemini", "ollama", "openai-chat", "openai-responses")
)
def test_every_real_recording_ends_with_every_item_closed(path) -> None:
    """The same, over the real recordings in ../shared/fixtures (skipped when absent)."""
    events = [e for e in events_of(path) if e["type"] != "message"]
    check_responses(encode(events))
    check_responses(encode(events[: len(events) // 2]))


def test_a_stream_that_just_stops_ends_with_response_failed() -> None:
    events = [
        {"type": "start", "id": "resp_1", "model": "m"},
        {"type": "reasoning-start", "id": "r"},
        {"type": "reasoning-delta", "id": "r", "delta": "hmm"},
        {"type": "text-start", "id": "t"},
        {"type": "text-delta", "id": "t", "delta": "Half"},
        {"type": "tool-input-start", "id": "call_1", "tool_name": "f"},
        {"type": "tool-input-delta", "id": "call_1", "delta": '{"a":'},
    ]
    (response,) = check_responses(encode(events))
    final = response[-1]["response"]
    assert final["status"] == "failed"
    assert final["error"]["message"] == "the upstream stream ended before the response was complete"
    assert [(o["type"], o.get("status")) for o in final["output"]] == [
        ("reasoning", None), ("message", "completed"), ("function_call", "completed")]  # fmt: skip
    assert final["output"][2]["arguments"] == '{"a":'  # what came, as it came


def test_a_stream_that_ends_in_an_error_ends_with_response_failed_carrying_it() -> None:
    events = [
        {"type": "start", "id": "resp_1", "model": "m"},
        {"type": "text-delta", "id": "t", "delta": "Half"},
        {"type": "error", "message": "upstream read timeout", "code": "timeout"},
    ]
    (response,) = check_responses(encode(events))
    kinds = [e["type"] for e in response]
    assert kinds[-5:] == ["error", "response.output_text.done", "response.content_part.done",
                          "response.output_item.done", "response.failed"]  # fmt: skip
    (error,) = [e for e in response if e["type"] == "error"]
    assert error["message"] == "upstream read timeout"
    assert response[-1]["response"]["error"] == {"code": "server_error", "message": "upstream read timeout"}
    # an error before anything else: a response is opened for it, and ends
    (response,) = check_responses(
        encode([{"type": "error", "message": "refused", "code": "rate_limit_exceeded"}])
    )
    assert response[-1]["response"]["error"] == {"code": "rate_limit_exceeded", "message": "refused"}


def test_a_new_start_ends_the_response_still_open() -> None:
    events = [
        {"type": "start", "id": "resp_1", "model": "m"},
        {"type": "text-delta", "id": "t", "delta": "cut"},
        {"type": "start", "id": "resp_2", "model": "m"},
        {"type": "text-delta", "id": "t2", "delta": "whole"},
        {"type": "finish", "finish_reason": "stop", "raw_finish_reason": "completed"},
    ]
    first, second = check_responses(encode(events))
    assert (first[-1]["type"], second[-1]["type"]) == ("response.failed", "response.completed")


def test_text_after_tool_calls_and_parallel_calls_are_all_streamed_and_closed() -> None:
    """Chat Completions interleaves parallel calls by index and may send text after them; Anthropic
    and Gemini write text, a call, then text again: every item is on the wire, in order, closed."""
    events = [
        {"type": "start", "id": "resp_1", "model": "m"},
        {"type": "text-start", "id": "t0"},
        {"type": "text-delta", "id": "t0", "delta": "Checking both."},
        {"type": "text-end", "id": "t0"},
        {"type": "tool-input-start", "id": "call_a", "tool_name": "weather"},
        {"type": "tool-input-start", "id": "call_b", "tool_name": "time"},
        {"type": "tool-input-delta", "id": "call_a", "delta": '{"city":'},
        {"type": "tool-input-delta", "id": "call_b", "delta": '{"tz":"CET"}'},
        {"type": "tool-input-delta", "id": "call_a", "delta": '"Paris"}'},
        {"type": "tool-call", "tool_call_id": "call_b", "tool_name": "time", "arguments": '{"tz":"CET"}', "input": {"tz": "CET"}},
        {"type": "tool-call", "tool_call_id": "call_a", "tool_name": "weather", "arguments": '{"city":"Paris"}', "input": {"city": "Paris"}},
        {"type": "text-start", "id": "t1"},
        {"type": "text-delta", "id": "t1", "delta": "Both asked."},
        {"type": "text-end", "id": "t1"},
        {"type": "finish", "finish_reason": "tool-calls", "raw_finish_reason": "tool_calls"},
    ]  # fmt: skip
    (response,) = check_responses(encode(events))
    final = sdk_final(response)
    assert [o.type for o in final.output] == ["message", "function_call", "function_call", "message"]
    assert [(o.call_id, o.arguments) for o in final.output if o.type == "function_call"] == [
        ("call_a", '{"city":"Paris"}'),
        ("call_b", '{"tz":"CET"}'),
    ]
    assert final.output_text == "Checking both.Both asked."


@pytest.mark.parametrize(
    ("case", "meta"), [("thinking-signature", "signature"), ("redacted-thinking", "redacted_data")]
)
def test_another_dialects_reasoning_metadata_is_sealed_in_the_item_and_comes_back(
    case: str, meta: str
) -> None:
    """An Anthropic signature (or redacted thinking) has no place in a Responses item: it is sealed
    in its encrypted_content, which normalize (and parse) open again."""
    from streamkit.dialects.openai_responses.wire import unseal

    events = events_of(DATA / "anthropic" / f"{case}.sse")
    (original,) = [p for p in messages(events)[0]["content"] if p["type"] == "reasoning"]
    (response,) = responses_of(encode(events))
    (item,) = [o for o in response[-1]["response"]["output"] if o["type"] == "reasoning"]
    assert item["encrypted_content"].startswith("streamkit:")
    assert unseal(item["encrypted_content"]) == {"anthropic": original["provider_metadata"]["anthropic"]}
    again = messages(events_of(b"".join(render(iter(events), format=NAME))))[0]
    (part,) = [p for p in again["content"] if p["type"] == "reasoning"]
    assert part["provider_metadata"]["anthropic"] == original["provider_metadata"]["anthropic"]
    assert "encrypted_content" not in part["provider_metadata"][NAME]


def test_a_seal_that_does_not_open_is_the_apis_own_encrypted_content() -> None:
    from streamkit.dialects.openai_responses.wire import seal, unseal

    assert unseal(seal({"gemini": {"thought_signature": "c2ln"}})) == {
        "gemini": {"thought_signature": "c2ln"}
    }
    for text in ("gAAAAB-real", "streamkit:!!!", "streamkit:" + "W10", "streamkit:", seal({NAME: {"x": 1}})):
        assert unseal(text) is None


def test_the_conversation_a_response_belongs_to_travels_through_normalize_and_render() -> None:
    """A response that names its conversation (``"conversation": {"id": ...}``) keeps it in the
    start's provider_metadata and is written naming it; the ``conversation`` option (serve) names
    it on a response that came from another dialect."""
    wire = (
        b'event: response.created\ndata: {"type":"response.created","sequence_number":0,"response":'
        b'{"id":"resp_c1","object":"response","created_at":1,"model":"m","status":"in_progress",'
        b'"conversation":{"id":"conv_abc"},"output":[]}}\n\n'
        b'event: response.completed\ndata: {"type":"response.completed","sequence_number":1,"response":'
        b'{"id":"resp_c1","object":"response","created_at":1,"model":"m","status":"completed",'
        b'"conversation":{"id":"conv_abc"},"output":[]}}\n\n'
    )
    events = events_of(wire)
    assert meta(events[0]) == {"conversation": "conv_abc"}
    again = encode(events)
    assert [STREAM_EVENT.validate_python(d).response.conversation.id for _, d in (again[0], again[-1])] == [
        "conv_abc", "conv_abc"
    ]  # fmt: skip
    foreign = [{"type": "start", "id": "x", "model": "m"}, {"type": "finish", "finish_reason": "stop"}]
    named = encode(foreign, conversation="conv_def")
    assert named[-1][1]["response"]["conversation"] == {"id": "conv_def"}
    assert "conversation" not in encode(foreign)[-1][1]["response"]
