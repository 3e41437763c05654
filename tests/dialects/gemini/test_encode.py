"""The gemini encoder: what ``render -f gemini`` writes, checked against the google-genai SDK's
types and read by its client, and normalized back to the same messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from streamkit.dialects.gemini import Gemini, GeminiEncoder
from streamkit.stages.accumulate import accumulate
from streamkit.stages.normalize import normalize
from streamkit.stages.render import render
from tests.conftest import DATA, essence, events_of, messages
from tests.dialects.gemini.chunks import ALL_CASES, CASES, validate_chunk, wire_of


@pytest.mark.parametrize("case", ALL_CASES, ids=[c.name for c in ALL_CASES])
def test_every_encoded_chunk_validates_as_the_sdk_type(case: Path) -> None:
    encoded = wire_of(events_of(case))
    assert encoded
    for data in encoded:
        validate_chunk(data)


def _client(wire: bytes) -> Any:
    import httpx
    from google import genai
    from google.genai import types

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.params.get("alt") == "sse"
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=wire)

    http = httpx.Client(transport=httpx.MockTransport(handler))
    return genai.Client(
        api_key="test-key", http_options=types.HttpOptions(base_url="http://upstream.test", httpx_client=http)
    )


@pytest.mark.parametrize(
    "case",
    [
        "text.sse",
        "thoughts.sse",
        "function-call-whole.sse",
        "function-call-streamed.sse",
        "code-execution.sse",
    ],
)
def test_the_official_client_streams_what_we_write(case: str) -> None:
    """google-genai's generate_content_stream, served our bytes, gives our text, calls and usage."""
    events = events_of(CASES / case)
    (ours,) = messages(events)
    client = _client(b"".join(render(iter(events), format="gemini")))
    chunks = list(client.models.generate_content_stream(model="gemini-test", contents="hi"))
    text = "".join(
        p.text
        for c in chunks
        for p in (c.candidates[0].content.parts if c.candidates and c.candidates[0].content else []) or []
        if p.text and not p.thought
    )
    thoughts = "".join(
        p.text
        for c in chunks
        for p in (c.candidates[0].content.parts if c.candidates and c.candidates[0].content else []) or []
        if p.text and p.thought
    )
    calls = [(f.name, f.args) for c in chunks for f in c.function_calls or []]
    assert text == "".join(p["text"] for p in ours["content"] if p["type"] == "text")
    assert thoughts == "".join(p["text"] for p in ours["content"] if p["type"] == "reasoning")
    assert calls == [
        (p["tool_name"], p["input"])
        for p in ours["content"]
        if p["type"] == "tool-call" and not p.get("provider_executed")
    ]
    assert chunks[-1].usage_metadata.total_token_count == ours["usage"]["total_tokens"]
    assert chunks[-1].candidates[0].finish_reason.value == ours["raw_finish_reason"]
    assert {c.response_id for c in chunks} == {ours["id"]}


def test_an_error_before_its_final_message_is_written_inside_that_response() -> None:
    """accumulate --final writes the error first, then the message it belongs to."""
    finals = list(accumulate(iter(events_of(CASES / "error-mid-stream.sse")), final=True))
    assert [e["type"] for e in finals] == ["error", "message"]
    again = events_of(b"".join(render(iter(finals), format="gemini")))
    assert [e["type"] for e in again if e["type"] in ("start", "error", "finish")] == [
        "start",
        "error",
        "finish",
    ]
    assert [essence(m) for m in messages(again)] == [essence(m) for m in messages(finals)]


def test_encoding_only_final_messages() -> None:
    """accumulate --final | render -f gemini: a message alone is a whole response."""
    finals = list(accumulate(iter(events_of(CASES / "function-call-whole.sse")), final=True))
    again = events_of(b"".join(render(iter(finals), format="gemini")))
    assert [essence(m) for m in messages(again)] == [essence(m) for m in finals]


def test_the_model_option_names_the_model_of_every_response() -> None:
    """``serve`` passes the model of the request's path: the answer's ``modelVersion`` echoes it."""
    events = [
        {"type": "start", "id": "r1", "model": "streamkit-script"},
        {"type": "text-delta", "id": "t", "delta": "Hi"},
        {"type": "finish", "finish_reason": "stop"},
        {"type": "start", "id": "r2", "model": "streamkit-script"},
        {"type": "text-delta", "id": "t", "delta": "again"},
        {"type": "finish", "finish_reason": "stop"},
    ]
    encoder = GeminiEncoder(model="gemini-2.5-pro")
    wire = [data for ev in events for _, data in encoder.feed(ev)] + [d for _, d in encoder.close()]
    assert {c["modelVersion"] for c in wire} == {"gemini-2.5-pro"}
    assert {c["modelVersion"] for c in wire_of(events)} == {"streamkit-script"}  # without it, the start's
    assert Gemini().serve_options(
        "/v1beta/models/gemini-x:streamGenerateContent", {"model": "gemini-x"}, {}
    ) == {"model": "gemini-x"}


def test_encoder_warns_about_what_gemini_cannot_express(capsys: pytest.CaptureFixture[str]) -> None:
    encoder = GeminiEncoder()
    encoder.feed({"type": "start", "id": "r", "model": "m"})
    executed = {"type": "tool-call", "tool_call_id": "ci_1", "tool_name": "code_interpreter", "arguments": "{}",
                "input": {}, "provider_executed": True}  # fmt: skip
    assert encoder.feed(executed) == []
    assert encoder.feed({"type": "text-delta", "id": "c1.text-0", "delta": "x", "choice": 1}) == []
    encoder.feed({"type": "finish", "finish_reason": "stop"})
    encoder.close()
    err = capsys.readouterr().err
    assert "provider-executed tool calls other than code execution and web search (1); dropped" in err
    assert "gemini cannot express choices other than the first (1); dropped" in err


def test_another_providers_web_search_is_written_as_a_google_search_and_read_back() -> None:
    """A Responses upstream's search, for a Gemini client: a server-side tool call and its response
    (``toolType`` GOOGLE_SEARCH_WEB), which Gemini's own normalizer reads back as the same search."""
    from google.genai import types

    events = events_of(DATA / "openai-responses" / "web-search.sse")
    chunks = wire_of(events)
    candidates = [c["candidates"][0] for c in chunks]
    parts = [p for c in candidates if "content" in c for p in c["content"]["parts"]]
    call, response = (p for p in parts if "toolCall" in p or "toolResponse" in p)
    assert call["toolCall"] == {"toolType": "GOOGLE_SEARCH_WEB", "id": "ws_ws01",
                                "args": {"type": "search", "query": "positive news today"}}  # fmt: skip
    assert response["toolResponse"]["toolType"] == "GOOGLE_SEARCH_WEB"
    assert response["toolResponse"]["response"]["sources"][0]["url"] == "https://www.goodnewsnetwork.org/"
    for chunk in chunks:
        types.GenerateContentResponse.model_validate(chunk)
    again = [e for e in normalize(iter({"type": "raw", "dialect": "gemini", "event": None, "data": c} for c in chunks))
             if e["type"] in ("tool-call", "tool-result")]  # fmt: skip
    assert [(e["type"], e["tool_name"], e["provider_executed"]) for e in again] == [
        ("tool-call", "web_search", True),
        ("tool-result", "web_search", True),
    ]


def test_a_refusal_is_written_as_text_with_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    events = events_of(DATA / "openai-chat" / "refusal.sse")
    again = messages(events_of(b"".join(render(iter(events), format="gemini"))))
    assert again[0]["content"] == [{"type": "text", "text": "I can't help with that."}]
    assert (
        "gemini cannot express refusal marks (the refusal is written as text) (1)" in capsys.readouterr().err
    )


def test_an_openai_chat_stream_converts_to_gemini() -> None:
    events = events_of(DATA / "openai-chat" / "parallel-tools.sse")
    encoded = wire_of(events)
    for data in encoded:
        validate_chunk(data)
    again = messages(events_of(b"".join(render(iter(events), format="gemini"))))
    assert [essence(m)["content"] for m in again] == [essence(m)["content"] for m in messages(events)]
    assert encoded[-1]["candidates"][0]["finishReason"] == "STOP"


@pytest.mark.parametrize(
    "case",
    [DATA / "anthropic" / "redacted-thinking.sse", DATA / "openai-responses" / "reasoning-encrypted.sse"],
    ids=["anthropic-redacted", "responses-encrypted"],
)
def test_other_dialects_hidden_reasoning_is_counted_as_dropped(case: Path) -> None:
    """Redacted or encrypted reasoning has no gemini form: streamkit convert says it drops it."""
    from tests.conftest import run_cli

    result = run_cli("convert", "--to", "gemini", str(case))
    assert result.returncode == 0
    assert (
        b"gemini cannot express redacted or encrypted reasoning from other dialects (1); dropped"
        in result.stderr
    )
    # and only that: a stream without any says nothing about it
    plain = run_cli("convert", "--to", "gemini", str(DATA / "anthropic" / "thinking-signature.sse"))
    assert b"redacted or encrypted" not in plain.stderr


def test_another_providers_search_pages_are_grounding_chunks_as_geminis_own() -> None:
    """Gemini reports the pages its search found in ``groundingMetadata`` (clients such as the
    Gemini CLI list them from there): another provider's search gives its pages there too, each
    once though the answer cites it again, and its query as ``webSearchQueries``."""
    events = events_of(DATA / "anthropic" / "web-search-citations.sse")
    (result,) = [e for e in events if e["type"] == "tool-result"]
    pages = [page["url"] for page in result["output"]]
    grounding = wire_of(events)[-1]["candidates"][0]["groundingMetadata"]
    assert [chunk["web"]["uri"] for chunk in grounding["groundingChunks"]] == pages
    assert grounding["webSearchQueries"] == ["capital of Norway"]
    whole = Gemini().whole_response(messages(events))
    (candidate,) = whole["candidates"]
    assert candidate["groundingMetadata"] == grounding
    kinds = [next(iter(p)) for p in candidate["content"]["parts"]]
    assert kinds.index("toolCall") + 1 == kinds.index("toolResponse")  # (the search, as the stream's)
    validate_chunk(whole)
