"""The ollama dialect: what each kind of line must become, stated directly, and what the encoder writes."""

from __future__ import annotations

import io
import itertools
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamkit.dialects.ollama import Ollama, OllamaEncoder
from streamkit.errors import DataError, UsageError
from streamkit.events import validate_event
from streamkit.stages.accumulate import accumulate
from streamkit.stages.fetch import replay
from streamkit.stages.normalize import normalize
from streamkit.stages.render import render

from ..conftest import DATA, essence, events_of, fixture_files, messages, run_cli

CASES = DATA / "ollama"
ALL_CASES = sorted(p for p in CASES.glob("*.ndjson") if not p.name.endswith(".expected.ndjson"))


def of_type(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == kind]


def ndjson(*lines: Any) -> bytes:
    return b"".join(orjson.dumps(line) + b"\n" for line in lines)


def chat(content: str = "", **message: Any) -> dict[str, Any]:
    return {
        "model": "m",
        "created_at": "2025-01-01T00:00:00Z",
        "message": {"role": "assistant", "content": content, **message},
        "done": False,
    }


def done(reason: str | None = "stop", **fields: Any) -> dict[str, Any]:
    line: dict[str, Any] = {
        "model": "m",
        "created_at": "2025-01-01T00:00:01Z",
        "message": {"role": "assistant", "content": ""},
        "done": True,
    }
    if reason is not None:
        line["done_reason"] = reason
    return {**line, **fields}


def wire_of(events: list[dict[str, Any]], **options: Any) -> list[Any]:
    return [
        raw["data"] for raw in replay(io.BytesIO(b"".join(render(iter(events), format="ollama", **options))))
    ]


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


# --- sniffing ---------------------------------------------------------------------------------------


def test_sniff() -> None:
    dialect = Ollama()
    assert dialect.sniff(chat("a"))
    assert dialect.sniff({"model": "phi3", "created_at": "x", "response": "a", "done": False})
    assert dialect.sniff({"error": "model 'x' not found"})
    assert not dialect.sniff({"error": {"message": "bad", "type": "invalid_request_error"}})
    assert not dialect.sniff({"object": "chat.completion.chunk", "choices": []})
    assert not dialect.sniff({"candidates": [{"content": {"parts": [{"text": "a"}]}}]})
    assert not dialect.sniff({"type": "transcript.text.delta", "delta": "Hello"})
    assert not dialect.sniff("[DONE]")


@pytest.mark.parametrize("path", fixture_files("other"))
def test_what_is_not_ollama_is_not_claimed(path: Path) -> None:
    with open(path, "rb") as f:
        for raw in replay(f):
            assert not Ollama().sniff(raw["data"], raw["event"])


def test_every_event_of_every_case_validates() -> None:
    for case in ALL_CASES:
        for event in events_of(case, think_tags=case.stem.startswith("think-tags")):
            validate_event(event)
