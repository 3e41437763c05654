"""The ollama encoder: what ``render -f ollama`` writes, and the official ollama client reading it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from streamkit.dialects.ollama import OllamaEncoder
from streamkit.errors import UsageError
from streamkit.stages.accumulate import accumulate
from streamkit.stages.render import render
from tests.conftest import DATA, essence, events_of, messages
from tests.dialects.ollama.lines import ALL_CASES, CASES, chat, done, ndjson, of_type, wire_of

# --- the encoder -----------------------------------------------------------------------------------


def validate_line(data: Any) -> None:
    """One wire line against the official ollama client's own types."""
    from ollama import ChatResponse, GenerateResponse

    if set(data) == {"error"}:
        assert isinstance(data["error"], str)
    elif "message" in data:
        ChatResponse.model_validate(data)
    else:
        GenerateResponse.model_validate(data)


@pytest.mark.parametrize("case", ALL_CASES, ids=[c.name for c in ALL_CASES])
def test_every_encoded_line_validates_as_the_sdk_type(case: Path) -> None:
    encoded = wire_of(events_of(case, think_tags=case.stem.startswith("think-tags")))
    assert encoded
    for data in encoded:
        validate_line(data)


def _client(wire: bytes) -> Any:
    import httpx
    import ollama

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "application/x-ndjson"}, content=wire)

    return ollama.Client(host="http://upstream.test", transport=httpx.MockTransport(handler))


@pytest.mark.parametrize(
    "case", ["chat-text", "chat-thinking", "chat-tool-calls", "chat-tool-after-text", "length"]
)
def test_the_official_client_streams_what_we_write(case: str) -> None:
    """ollama's Client.chat(stream=True), served our bytes, gives our text, thinking, calls and counts."""
    events = events_of(CASES / f"{case}.ndjson")
    (ours,) = messages(events)
    client = _client(b"".join(render(iter(events), format="ollama")))
    parts = list(client.chat(model="m", messages=[{"role": "user", "content": "hi"}], stream=True))
    assert "".join(p.message.content or "" for p in parts) == "".join(
        p["text"] for p in ours["content"] if p["type"] == "text"
    )
    assert "".join(p.message.thinking or "" for p in parts) == "".join(
        p["text"] for p in ours["content"] if p["type"] == "reasoning"
    )
    calls = [(c.function.name, dict(c.function.arguments)) for p in parts for c in p.message.tool_calls or []]
    assert calls == [(p["tool_name"], p["input"]) for p in ours["content"] if p["type"] == "tool-call"]
    last = parts[-1]
    assert last.done and last.done_reason == ours["raw_finish_reason"]
    assert (last.prompt_eval_count, last.eval_count) == (
        ours["usage"]["input_tokens"],
        ours["usage"]["output_tokens"],
    )


def test_the_official_client_reads_generate_lines() -> None:
    events = events_of(CASES / "generate.ndjson")
    client = _client(b"".join(render(iter(events), format="ollama")))
    parts = list(client.generate(model="phi3", prompt="hi", stream=True))
    assert "".join(p.response for p in parts) == "Why not both?"
    assert parts[-1].context == of_type(events, "finish")[0]["provider_metadata"]["ollama"]["context"]


def test_an_error_before_its_final_message_is_written_inside_that_response() -> None:
    """accumulate --final writes the error first, then the message it belongs to."""
    finals = list(accumulate(iter(events_of(CASES / "error-mid-stream.ndjson")), final=True))
    assert [e["type"] for e in finals] == ["error", "message"]
    again = events_of(b"".join(render(iter(finals), format="ollama")))
    assert [e["type"] for e in again if e["type"] in ("start", "error", "finish")] == [
        "start",
        "error",
        "finish",
    ]
    assert [essence(m) for m in messages(again)] == [essence(m) for m in messages(finals)]


def test_encoding_only_final_messages() -> None:
    """accumulate --final | render -f ollama: a message alone is a whole response."""
    finals = list(accumulate(iter(events_of(CASES / "chat-tool-calls.ndjson")), final=True))
    again = events_of(b"".join(render(iter(finals), format="ollama")))
    assert [essence(m) for m in messages(again)] == [essence(m) for m in finals]


def test_an_openai_chat_stream_converts_to_ollama() -> None:
    events = events_of(DATA / "openai-chat" / "parallel-tools.sse")
    lines = wire_of(events)
    for data in lines:
        validate_line(data)
    assert lines[-1]["done"] is True and lines[-1]["done_reason"] == "stop"
    assert lines[-1]["prompt_eval_count"] == messages(events)[0]["usage"]["input_tokens"]
    again = messages(events_of(b"".join(render(iter(events), format="ollama"))))
    assert [(p["tool_name"], p["input"]) for p in again[0]["content"] if p["type"] == "tool-call"] == [
        ("f", {"n": 1}),
        ("g", {"m": 2}),
        ("h", {}),
    ]
    # ids that did not come from Ollama are not written (Ollama's calls have none)
    assert all("id" not in c for d in lines for c in d["message"].get("tool_calls") or ())


def test_encoder_warns_about_what_ollama_cannot_express(capsys: pytest.CaptureFixture[str]) -> None:
    encoder = OllamaEncoder()
    encoder.feed({"type": "start", "id": None, "model": "m"})
    assert (
        encoder.feed({"type": "source", "source_type": "url", "id": "s", "url": "https://example.com"}) == []
    )
    bad = {
        "type": "tool-call",
        "tool_call_id": "c",
        "tool_name": "f",
        "arguments": '{"a": tru',
        "input": None,
    }
    assert encoder.feed(bad) == []
    encoder.feed({"type": "finish", "finish_reason": "stop"})
    encoder.close()
    err = capsys.readouterr().err
    assert "ollama cannot express sources (1); dropped" in err
    assert "ollama cannot express tool calls whose arguments are not a JSON object (1); dropped" in err


def test_a_refusal_is_written_as_text_with_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    events = events_of(DATA / "openai-chat" / "refusal.sse")
    again = messages(events_of(b"".join(render(iter(events), format="ollama"))))
    assert again[0]["content"] == [{"type": "text", "text": "I can't help with that."}]
    assert (
        "ollama cannot express refusal marks (the refusal is written as text) (1)" in capsys.readouterr().err
    )


def test_an_unknown_endpoint_option_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="endpoint must be chat or generate"):
        OllamaEncoder(endpoint="embed")


@pytest.mark.parametrize("case", ALL_CASES, ids=[c.name for c in ALL_CASES])
def test_stream_false_writes_each_response_as_one_line_that_normalizes_to_the_same_message(
    case: Path,
) -> None:
    """``-O stream=false`` (what serve answers a request with ``stream: false``): Ollama's answer
    to a request that does not stream, one line per response, the same message again."""
    events = events_of(case, think_tags=case.stem.startswith("think-tags"))
    whole = wire_of(events, stream=False)
    for data in whole:
        validate_line(data)
    answers = [d for d in whole if "error" not in d]
    assert len(answers) == len(messages(events))  # one line each, a response cut off included
    assert sum(d["done"] for d in answers) == sum(bool(d.get("done")) for d in wire_of(events))
    again = events_of(b"".join(orjson.dumps(d) + b"\n" for d in whole), dialect="ollama")
    assert [essence(m) for m in messages(again)] == [essence(m) for m in messages(events)]


def test_stream_false_gathers_texts_calls_and_logprobs_in_order() -> None:
    wire = [
        chat(thinking="Two "),
        chat(thinking="cities."),
        {**chat("Checking"), "logprobs": [{"token": "Checking", "logprob": -0.1}]},
        {**chat(" now."), "logprobs": [{"token": " now.", "logprob": -0.2}]},
        chat(tool_calls=[{"function": {"index": 0, "name": "w", "arguments": {"city": "Oslo"}}}]),
        chat(tool_calls=[{"function": {"index": 1, "name": "w", "arguments": {"city": "Lima"}}}]),
        done(eval_count=9),
    ]
    events = events_of(ndjson(*wire))
    (line,) = wire_of(events, stream=False)
    assert line["message"] == {
        "role": "assistant",
        "content": "Checking now.",
        "thinking": "Two cities.",
        "tool_calls": [
            {"function": {"index": 0, "name": "w", "arguments": {"city": "Oslo"}}},
            {"function": {"index": 1, "name": "w", "arguments": {"city": "Lima"}}},
        ],
    }
    assert line["logprobs"] == [{"token": "Checking", "logprob": -0.1}, {"token": " now.", "logprob": -0.2}]
    assert list(line)[-3:] == ["done_reason", "done", "eval_count"] and line["done"] is True
    with pytest.raises(UsageError, match="stream must be true or false"):
        OllamaEncoder(stream="no")  # type: ignore[arg-type]


def test_the_official_client_reads_a_response_that_does_not_stream() -> None:
    events = events_of(CASES / "chat-tool-after-text.ndjson")
    (ours,) = messages(events)
    client = _client(b"".join(render(iter(events), format="ollama", stream=False)))
    response = client.chat(model="m", messages=[{"role": "user", "content": "hi"}])
    assert response.message.content == "".join(p["text"] for p in ours["content"] if p["type"] == "text")
    calls = [(c.function.name, dict(c.function.arguments)) for c in response.message.tool_calls or []]
    assert calls == [(p["tool_name"], p["input"]) for p in ours["content"] if p["type"] == "tool-call"]
    assert response.done and response.eval_count == ours["usage"]["output_tokens"]


def test_a_cut_off_or_failed_response_has_no_done_line() -> None:
    for case in ("truncated", "error-mid-stream"):
        assert not [d for d in wire_of(events_of(CASES / f"{case}.ndjson")) if d.get("done")]


def test_the_model_option_names_the_requests_model_on_every_line() -> None:
    """Ollama echoes the model a request named: serve's gateway passes the client's (``model``)."""
    events = events_of(CASES / "chat-tool-calls.ndjson")
    for stream in (True, False):
        encoder = OllamaEncoder(model="llama3.2", stream=stream)
        lines = [line for ev in events for _, line in encoder.feed(ev)] + [
            line for _, line in encoder.close()
        ]
        assert lines and {line["model"] for line in lines} == {"llama3.2"}
    with pytest.raises(UsageError, match="model must be a model name"):
        OllamaEncoder(model=3)


@pytest.mark.parametrize(
    "case",
    [DATA / "anthropic" / "redacted-thinking.sse", DATA / "openai-responses" / "reasoning-encrypted.sse"],
    ids=["anthropic-redacted", "responses-encrypted"],
)
def test_other_dialects_hidden_reasoning_is_counted_as_dropped(case: Path) -> None:
    """Redacted or encrypted reasoning has no ollama form: streamkit convert says it drops it."""
    from tests.conftest import run_cli

    result = run_cli("convert", "--to", "ollama", str(case))
    assert result.returncode == 0
    assert (
        b"ollama cannot express redacted or encrypted reasoning from other dialects (1); dropped"
        in result.stderr
    )
    # and only that: a stream without any says nothing about it
    plain = run_cli("convert", "--to", "ollama", str(DATA / "anthropic" / "thinking-signature.sse"))
    assert b"redacted or encrypted" not in plain.stderr
