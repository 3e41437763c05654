"""The anthropic encoder: what it writes, checked against the official SDK's stream event types
and read back by the SDK's own accumulator and client."""

from __future__ import annotations

import io
from typing import Any

import pytest
from anthropic.types import RawMessageStreamEvent
from anthropic.types.beta import BetaRawMessageStreamEvent
from pydantic import TypeAdapter

from streamkit.dialects.anthropic import AnthropicEncoder
from streamkit.stages.accumulate import accumulate
from streamkit.stages.fetch import replay
from streamkit.stages.render import render
from tests.conftest import DATA, events_of, messages

CASES = DATA / "anthropic"
ALL_CASES = sorted(CASES.glob("*.sse"))
STABLE = TypeAdapter(RawMessageStreamEvent)
BETA = TypeAdapter(BetaRawMessageStreamEvent)


def of_type(events: list[dict], kind: str) -> list[dict]:
    return [e for e in events if e["type"] == kind]


def wire_events(wire: bytes) -> list[tuple[str | None, Any]]:
    return [(raw["event"], raw["data"]) for raw in replay(io.BytesIO(wire))]


def encode(events: list[dict], **options: Any) -> bytes:
    return b"".join(render(iter(events), format="anthropic", **options))


# --- the encoder -------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ALL_CASES, ids=[c.stem for c in ALL_CASES])
def test_block_indexes_run_from_0_in_order_and_every_block_is_stopped(case) -> None:
    for beta in (False, True):
        wire = wire_events(encode(events_of(case), beta=beta))
        expected_index = 0
        open_block = None
        for event, data in wire:
            if event == "message_start":
                expected_index, open_block = 0, None
            elif event == "content_block_start":
                assert open_block is None and data["index"] == expected_index
                open_block = expected_index
                expected_index += 1
            elif event == "content_block_delta":
                assert data["index"] == open_block
            elif event == "content_block_stop":
                assert data["index"] == open_block
                open_block = None
            elif event == "message_delta":
                assert open_block is None
        assert wire[0][0] == "message_start"
        assert wire[-1][0] in ("message_stop", "error")


def _sdk_messages(wire: list[tuple[str | None, Any]], beta: bool) -> list[Any]:
    """The official SDK's own accumulator over a stream, one final message per message_start."""
    from anthropic._models import construct_type
    from anthropic.lib.streaming import _beta_messages, _messages

    extra: dict[str, Any] = {}
    if beta:
        import httpx2

        accumulate_event: Any = _beta_messages.accumulate_event
        kind: Any = BetaRawMessageStreamEvent
        extra["request_headers"] = httpx2.Headers()
    else:
        accumulate_event, kind = _messages.accumulate_event, RawMessageStreamEvent
    out: list[Any] = []
    snapshot = None
    bufs: dict[int, bytes] = {}
    for event, data in wire:
        if event in ("ping", "error"):
            continue
        if event == "message_start":
            snapshot, bufs = None, {}
        # built as the SDK builds what it reads (loosely), then folded by its own accumulator
        ev = construct_type(type_=kind, value=data)
        snapshot = accumulate_event(event=ev, current_snapshot=snapshot, json_bufs=bufs, **extra)
        if event == "message_start":
            if out and out[-1].id == snapshot.id:
                out.pop()  # the message announced again (a proxy's repeat): the SDK starts it over
            out.append(snapshot)
    # fields left null (stop_details is set, to null, only by a message_delta) say nothing
    return [{k: v for k, v in m.to_dict().items() if v is not None} for m in out]


@pytest.mark.parametrize("case", ALL_CASES, ids=[c.stem for c in ALL_CASES])
def test_reencoding_an_anthropic_stream_restores_every_block(case) -> None:
    """The SDK's accumulator gives the same messages from our re-encoding (beta=true) as from the
    original: every block, its type and fields, citations, signatures, callers, results."""
    original = wire_events(case.read_bytes())
    ours = wire_events(encode(events_of(case), beta=True))
    theirs = _sdk_messages(original, beta=True)
    again = _sdk_messages(ours, beta=True)
    for message in theirs + again:
        message["usage"].get("server_tool_use", {}).setdefault(
            "web_fetch_requests", 0
        )  # filled in by the encoder
    assert again == theirs


def test_beta_blocks_are_dropped_with_a_warning_without_beta(capsys: pytest.CaptureFixture[str]) -> None:
    wire = wire_events(encode(events_of(CASES / "mcp.sse")))
    blocks = [d["content_block"]["type"] for e, d in wire if e == "content_block_start"]
    assert blocks == ["text"]
    err = capsys.readouterr().err
    assert "cannot express mcp_tool_use blocks (beta: -O beta=true writes them) (1); dropped" in err
    assert "mcp_tool_result blocks" in err
    wire = wire_events(encode(events_of(CASES / "compaction.sse")))
    assert [d["content_block"]["type"] for e, d in wire if e == "content_block_start"] == ["text"]
    assert "compaction blocks" in capsys.readouterr().err


def test_compaction_is_restored_with_beta() -> None:
    wire = wire_events(encode(events_of(CASES / "compaction.sse"), beta="true"))
    start, delta = [d for e, d in wire if e in ("content_block_start", "content_block_delta")][:2]
    assert start["content_block"] == {"type": "compaction", "content": None}
    assert delta["delta"] == {
        "type": "compaction_delta",
        "content": "Summary: the user pasted a long log and asked for the error count.",
    }


def test_a_fallback_block_is_restored_with_beta_and_the_model_that_answered_survives(
    capsys: pytest.CaptureFixture[str],
) -> None:
    events = events_of(CASES / "fallback.sse")
    wire = wire_events(encode(events, beta=True))
    assert wire[0][1]["message"]["model"] == "claude-opus-4-5"  # what message_start said
    (fallback,) = [d["content_block"] for e, d in wire if e == "content_block_start"][:1]
    assert fallback == {
        "type": "fallback",
        "from": {"model": "claude-opus-4-5"},
        "to": {"model": "claude-sonnet-4-5-20250929"},
        "trigger": {"type": "refusal", "category": "cyber"},
    }
    (delta,) = [d for e, d in wire if e == "message_delta"]
    assert "requested_model" not in delta  # ours, not the wire's
    (again,) = messages(events_of(encode(events, beta=True)))
    assert again["model"] == "claude-sonnet-4-5-20250929"
    # without beta the block is dropped, with a warning; the usage's iterations still name the model
    plain = encode(events)
    assert b'"type":"fallback"' not in plain
    assert (
        "anthropic cannot express fallback blocks (beta: -O beta=true writes them) (1)"
        in capsys.readouterr().err
    )
    (again,) = messages(events_of(plain))
    assert again["model"] == "claude-sonnet-4-5-20250929"


def test_the_message_start_is_a_whole_message_and_the_delta_carries_the_usage() -> None:
    wire = wire_events(encode(events_of(CASES / "usage-late.sse")))
    start = wire[0][1]["message"]
    assert {k: start[k] for k in ("id", "type", "role", "model", "content", "stop_reason")} == {
        "id": "msg_01LaT",
        "type": "message",
        "role": "assistant",
        "model": "claude-opus-4-5-20251101",
        "content": [],
        "stop_reason": None,
    }
    (delta,) = [d for e, d in wire if e == "message_delta"]
    assert delta["delta"]["stop_reason"] == "end_turn"
    assert delta["usage"]["input_tokens"] == 21 and delta["usage"]["cache_read_input_tokens"] == 3000


def test_usage_from_another_dialect_leaves_the_cached_tokens_out_of_input_tokens() -> None:
    events = [
        {"type": "start", "id": "chatcmpl-1", "model": "gpt-test"},
        {"type": "text-start", "id": "t"},
        {"type": "text-delta", "id": "t", "delta": "hi"},
        {"type": "text-end", "id": "t"},
        {
            "type": "finish",
            "finish_reason": "length",
            "usage": {
                "input_tokens": 100,
                "cached_input_tokens": 60,
                "output_tokens": 5,
                "total_tokens": 105,
                "reasoning_tokens": 2,
            },
        },
    ]
    wire = wire_events(encode(events))
    (delta,) = [d for e, d in wire if e == "message_delta"]
    assert delta["delta"]["stop_reason"] == "max_tokens"
    assert delta["usage"] == {
        "input_tokens": 40,
        "cache_read_input_tokens": 60,
        "output_tokens": 5,
        "output_tokens_details": {"thinking_tokens": 2},
    }
    (finish,) = of_type(events_of(encode(events)), "finish")
    assert finish["usage"] == events[-1]["usage"]


def test_a_stream_that_ended_in_an_error_ends_at_the_error() -> None:
    wire = wire_events(encode(events_of(CASES / "error-overloaded.sse")))
    assert [e for e, _ in wire] == ["message_start", "content_block_start", "content_block_delta", "error"]
    assert wire[-1][1] == {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}


def test_an_empty_reasoning_delta_does_not_decide_the_block_kind() -> None:
    """A redacted block streamed with an empty delta (as serve --script streams it) stays redacted."""
    events = [
        {"type": "start", "id": "r", "model": "m"},
        {"type": "reasoning-start", "id": "reasoning-0"},
        {"type": "reasoning-delta", "id": "reasoning-0", "delta": ""},
        {
            "type": "reasoning-end",
            "id": "reasoning-0",
            "provider_metadata": {"anthropic": {"redacted_data": "EmwK"}},
        },
        {"type": "finish", "finish_reason": "stop"},
    ]
    starts = [d["content_block"] for e, d in wire_events(encode(events)) if e == "content_block_start"]
    assert starts == [{"type": "redacted_thinking", "data": "EmwK"}]


def test_what_anthropic_cannot_express_is_dropped_with_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    encoder = AnthropicEncoder()
    out = encoder.feed({"type": "start", "id": "r", "model": "m"})
    out += encoder.feed({"type": "text-start", "id": "t", "refusal": True})
    out += encoder.feed({"type": "text-delta", "id": "t", "delta": "no"})
    assert encoder.feed({"type": "source", "source_type": "document", "id": "s", "title": "a.pdf"}) == []
    assert encoder.feed({"type": "file", "media_type": "image/png", "data": "AAAA"}) == []
    assert encoder.feed({"type": "text-delta", "id": "c1.t", "delta": "other", "choice": 1}) == []
    executed = {
        "type": "tool-call",
        "tool_call_id": "fs",
        "tool_name": "file_search",
        "arguments": "{}",
        "provider_executed": True,
    }
    assert encoder.feed(executed) == []
    sealed = {"openai-responses": {"encrypted_content": "gAAAAB"}}
    out += encoder.feed({"type": "reasoning-start", "id": "r0", "provider_metadata": sealed})
    out += encoder.feed({"type": "reasoning-end", "id": "r0", "provider_metadata": sealed})
    out += encoder.feed({"type": "finish", "finish_reason": "stop"})
    encoder.close()
    err = capsys.readouterr().err
    for what in (
        "redacted or encrypted reasoning from other dialects (1)",
        "refusal marks on text (the text is kept) (1)",
        "sources that are not Anthropic citations (1)",
        "files (1)",
        "events of choices after the first (n>1) (1)",
        "provider-executed tool calls of other dialects (1)",
    ):
        assert f"anthropic cannot express {what}; dropped" in err
    for _, data in out:
        STABLE.validate_python(data)
    assert [d["delta"]["text"] for e, d in out if e == "content_block_delta"] == ["no"]


def test_another_providers_web_search_is_written_as_anthropics_own() -> None:
    """A Responses upstream's search, for an Anthropic client (Claude Code's WebSearch through the
    gateway): a server_tool_use with the query, and a web_search_tool_result with the pages."""
    wire = wire_events(encode(events_of(DATA / "openai-responses" / "web-search.sse")))
    for _, data in wire:
        STABLE.validate_python(data)
    (final,) = _sdk_messages(wire, beta=False)
    use, result, text = final["content"]
    assert (use["type"], use["name"], use["input"]["query"]) == (
        "server_tool_use",
        "web_search",
        "positive news today",
    )
    assert (result["type"], result["tool_use_id"]) == ("web_search_tool_result", use["id"])
    assert [(r["type"], r["url"]) for r in result["content"]] == [
        ("web_search_result", "https://www.goodnewsnetwork.org/")
    ]
    assert text["text"] == "A new coral reef was found off Tahiti." and final["stop_reason"] == "end_turn"
    assert final["usage"]["server_tool_use"] == {"web_search_requests": 1, "web_fetch_requests": 0}


def test_an_answer_grounded_in_pages_without_a_search_call_gets_one_after_its_text(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Gemini grounds an answer in Google Search with no tool call of its own (url sources, its
    queries in the finish's grounding metadata): an Anthropic client gets the search after the text."""
    wire = wire_events(encode(events_of(DATA / "gemini" / "grounding.sse")))
    for _, data in wire:
        STABLE.validate_python(data)
    (final,) = _sdk_messages(wire, beta=False)
    text, use, result = final["content"]
    assert text["text"].startswith("Spain won Euro 2024")
    assert (use["type"], use["name"], use["input"]) == (
        "server_tool_use",
        "web_search",
        {"query": "euro 2024 winner"},
    )
    assert [(r["title"], r["url"].rsplit("/", 1)[1]) for r in result["content"]] == [
        ("uefa.com", "AbF9wXa1"),
        ("bbc.com", "AbF9wXb2"),
    ]
    assert (
        result["tool_use_id"] == use["id"] and final["usage"]["server_tool_use"]["web_search_requests"] == 1
    )
    assert "sources" not in capsys.readouterr().err
    # a response that ended in an error writes no search: its pages are dropped, and said so
    source = {"type": "source", "source_type": "url", "id": "s", "url": "https://a.example/"}
    err = {"type": "error", "message": "overloaded"}
    encode(
        [
            {"type": "start", "id": "r", "model": "m"},
            source,
            err,
            {"type": "finish", "finish_reason": "error"},
        ]
    )
    assert (
        "anthropic cannot express sources that are not Anthropic citations (1); dropped"
        in capsys.readouterr().err
    )
    # after a search that was written, the url sources are its citations, which Anthropic cannot write
    encode(events_of(DATA / "openai-responses" / "web-search.sse"))
    assert (
        "anthropic cannot express sources that are not Anthropic citations (1); dropped"
        in capsys.readouterr().err
    )


def test_a_search_with_no_pages_has_an_empty_result_and_a_search_that_failed_none() -> None:
    call = {"type": "tool-call", "tool_call_id": "g_1", "tool_name": "google_search_web", "provider_executed": True,
            "arguments": '{"queries":["tides"]}', "input": {"queries": ["tides"]}}  # fmt: skip
    result = {"type": "tool-result", "tool_call_id": "g_1", "tool_name": "google_search_web", "output": {},
              "provider_executed": True}  # fmt: skip
    start, finish = {"type": "start", "id": "r", "model": "m"}, {"type": "finish", "finish_reason": "stop"}
    wire = wire_events(encode([start, call, result, finish]))
    (final,) = _sdk_messages(wire, beta=False)
    assert [(b["type"], b.get("input"), b.get("content")) for b in final["content"]] == [
        ("server_tool_use", {"queries": ["tides"]}, None),
        ("web_search_tool_result", None, []),
    ]
    # a result whose call was not a search is not written as one
    other = {**result, "tool_call_id": "ci_1", "tool_name": "code_interpreter"}
    assert all(d["content_block"]["type"] == "server_tool_use" for e, d in wire_events(encode([start, call, other, finish]))
               if e == "content_block_start")  # fmt: skip


def test_a_citation_after_its_text_end_still_lands_in_that_block() -> None:
    """Sources accumulate after their text block; the text block's stop waits for them."""
    finals = list(accumulate(iter(events_of(CASES / "web-search-citations.sse")), final=True))
    wire = wire_events(encode(finals))
    cited = [d for e, d in wire if e == "content_block_delta" and d["delta"]["type"] == "citations_delta"]
    (cite,) = cited
    texts = {
        d["index"]: d["delta"]["text"]
        for e, d in wire
        if e == "content_block_delta" and d["delta"]["type"] == "text_delta"
    }
    assert texts[cite["index"]] == "Oslo, its most populous city"


def test_encoding_only_final_messages_keeps_callers_and_server_tools() -> None:
    """accumulate --final | render -f anthropic: a message alone is a whole response."""
    for case, check in (
        (
            "programmatic-caller",
            lambda b: b["type"] == "tool_use" and b["caller"]["tool_id"] == "srvtoolu_01Code",
        ),
        ("web-search-citations", lambda b: b["type"] == "server_tool_use" and b["name"] == "web_search"),
    ):
        finals = list(accumulate(iter(events_of(CASES / f"{case}.sse")), final=True))
        wire = wire_events(encode(finals))
        assert any(check(d["content_block"]) for e, d in wire if e == "content_block_start")
        again = messages(events_of(encode(finals)))
        assert [m["content"] for m in again] == [m["content"] for m in finals if m["type"] == "message"]


def test_a_chat_stream_converts_into_tool_use_blocks() -> None:
    events = events_of(DATA / "openai-chat" / "parallel-tools.sse")
    wire = wire_events(encode(events))
    blocks = [d["content_block"] for e, d in wire if e == "content_block_start"]
    assert [(b["type"], b["id"], b["name"]) for b in blocks] == [
        ("tool_use", "call_x", "f"),
        ("tool_use", "call_y", "g"),
        ("tool_use", "call_z", "h"),
    ]
    (final,) = _sdk_messages(wire, beta=False)
    assert [b["input"] for b in final["content"]] == [{"n": 1}, {"m": 2}, {}]
    assert final["stop_reason"] == "tool_use"


def _client(wire: bytes) -> Any:
    import anthropic
    import httpx2  # the transport package of this SDK version (httpx objects are refused)

    def handler(request: Any) -> Any:
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=wire)

    return anthropic.Anthropic(
        api_key="sk-ant-test",
        base_url="http://upstream.test",
        http_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
    )


@pytest.mark.parametrize(
    "case", ["text", "thinking-signature", "redacted-thinking", "tool-use", "tool-no-args", "parallel-tools",
             "web-search-citations", "citations-document", "code-execution-error", "usage-late", "refusal", "max-tokens"]
)  # fmt: skip
def test_the_official_client_streams_what_we_write(case: str) -> None:
    """anthropic's client.messages.stream(), served our bytes, ends with our message."""
    events = events_of(CASES / f"{case}.sse")
    (ours,) = messages(events)
    client = _client(encode(events))
    with client.messages.stream(
        model="claude-test", max_tokens=100, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        texts = [e.text for e in stream if e.type == "text"]
        final = stream.get_final_message()
    text = "".join(p["text"] for p in ours["content"] if p["type"] == "text")
    assert "".join(b.text for b in final.content if b.type == "text") == text == "".join(texts)
    assert [(b.thinking, b.signature) for b in final.content if b.type == "thinking"] == [
        (p["text"], p["provider_metadata"]["anthropic"]["signature"])
        for p in ours["content"]
        if p["type"] == "reasoning" and "signature" in p.get("provider_metadata", {}).get("anthropic", {})
    ]
    assert [b.data for b in final.content if b.type == "redacted_thinking"] == [
        p["provider_metadata"]["anthropic"]["redacted_data"]
        for p in ours["content"]
        if p["type"] == "reasoning" and "redacted_data" in p.get("provider_metadata", {}).get("anthropic", {})
    ]
    assert [(b.id, b.name, b.input) for b in final.content if b.type in ("tool_use", "server_tool_use")] == [
        (p["tool_call_id"], p["tool_name"], p["input"]) for p in ours["content"] if p["type"] == "tool-call"
    ]
    assert [b.tool_use_id for b in final.content if b.type.endswith("_tool_result")] == [
        p["tool_call_id"] for p in ours["content"] if p["type"] == "tool-result"
    ]
    citations = [c.cited_text for b in final.content if b.type == "text" for c in b.citations or ()]
    assert citations == [
        p["provider_metadata"]["anthropic"]["citation"]["cited_text"]
        for p in ours["content"]
        if p["type"] == "source"
    ]
    assert final.stop_reason == ours["raw_finish_reason"]
    usage = final.usage
    cached = (usage.cache_read_input_tokens or 0) + (usage.cache_creation_input_tokens or 0)
    assert (usage.input_tokens + cached, usage.output_tokens) == (
        ours["usage"]["input_tokens"],
        ours["usage"]["output_tokens"],
    )


@pytest.mark.parametrize("case", ["mcp", "compaction", "fallback"])
def test_the_official_beta_client_streams_the_beta_blocks_we_write(case: str) -> None:
    events = events_of(CASES / f"{case}.sse")
    (ours,) = messages(events)
    client = _client(encode(events, beta=True))
    with client.beta.messages.stream(
        model="claude-test", max_tokens=100, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        final = stream.get_final_message()
    theirs = _sdk_messages(wire_events((CASES / f"{case}.sse").read_bytes()), beta=True)[0]
    assert final.to_dict()["content"] == theirs["content"]
    assert "".join(b.text for b in final.content if b.type == "text") == "".join(
        p["text"] for p in ours["content"] if p["type"] == "text"
    )


def test_the_official_client_raises_the_error_we_write() -> None:
    import anthropic

    client = _client(encode(events_of(CASES / "error-overloaded.sse")))
    with (
        pytest.raises(anthropic.APIStatusError, match="Overloaded"),
        client.messages.stream(
            model="claude-test", max_tokens=100, messages=[{"role": "user", "content": "hi"}]
        ) as stream,
    ):
        stream.get_final_message()


def test_calls_streamed_side_by_side_are_written_one_after_the_other() -> None:
    events = [
        {"type": "start", "id": "r", "model": "m"},
        {"type": "tool-input-start", "id": "a", "tool_name": "fa"},
        {"type": "tool-input-start", "id": "b", "tool_name": "fb"},
        {"type": "tool-input-delta", "id": "b", "delta": '{"b": '},
        {"type": "tool-input-delta", "id": "a", "delta": '{"a": 1}'},
        {
            "type": "tool-call",
            "tool_call_id": "c",
            "tool_name": "fc",
            "arguments": '{"c": 3}',
        },  # no input events
        {"type": "tool-input-start", "id": "d", "tool_name": "fd"},  # its arguments only on its tool-call
        {"type": "tool-call", "tool_call_id": "d", "tool_name": "fd", "arguments": '{"d": 4}'},
        {"type": "tool-input-delta", "id": "b", "delta": "2}"},
        {"type": "tool-input-end", "id": "a"},
        {"type": "tool-call", "tool_call_id": "a", "tool_name": "fa", "arguments": '{"a": 1}'},
        {"type": "tool-input-delta", "id": "b", "delta": " "},  # b is open now: streamed as it comes
        {"type": "tool-input-end", "id": "b"},
        {"type": "tool-call", "tool_call_id": "b", "tool_name": "fb", "arguments": '{"b": 2} '},
        {"type": "finish", "finish_reason": "tool-calls"},
    ]
    encoder = AnthropicEncoder()
    written = [encoder.feed(e) for e in events] + [encoder.close()]
    wire = [w for ws in written for w in ws]
    for _, data in wire:
        STABLE.validate_python(data)
    (final,) = _sdk_messages(wire, beta=False)
    assert [(b["id"], b["input"]) for b in final["content"]] == [
        ("a", {"a": 1}),
        ("b", {"b": 2}),
        ("c", {"c": 3}),
        ("d", {"d": 4}),
    ]
    # a streams as it comes; b opens as soon as a ends, with what it had so far, and streams on
    at_a_end = written[events.index({"type": "tool-input-end", "id": "a"})]
    assert [(e, d.get("index")) for e, d in at_a_end] == [
        ("content_block_stop", 0),
        ("content_block_start", 1),
        ("content_block_delta", 1),
        ("content_block_delta", 1),
    ]
    assert written[11] == [
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 1,
                "delta": {"type": "input_json_delta", "partial_json": " "},
            },
        )
    ]


def test_reasoning_from_another_dialect_is_a_thinking_block() -> None:
    events = events_of(DATA / "openai-chat" / "reasoning-content.sse")
    (final,) = _sdk_messages(wire_events(encode(events)), beta=False)
    assert [(b["type"], b.get("thinking") or b.get("text")) for b in final["content"]] == [
        ("thinking", "Two plus two is four."),
        ("text", "4"),
    ]
