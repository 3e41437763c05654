"""ollama whole (non-streamed) answers and errors: ``whole_response`` is Ollama's one line (checked
against the recordings' own lines, against the ``ollama`` client's ``ChatResponse`` and
``GenerateResponse``, and read by the client itself over ``httpx.MockTransport``); ``error_body`` is
what makes the client raise its ``ResponseError`` with the message and the status."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from streamkit.dialects.ollama import Ollama
from tests.conftest import DATA, events_of, fixture_files, messages

NAME = "ollama"
DIALECT = Ollama()
CASES = DATA / NAME
WHOLE_CASES = [
    p
    for p in sorted(CASES.glob("*.ndjson"))
    if not p.name.endswith(".expected.ndjson")
    and p.stem not in ("two-responses", "error-mid-stream", "truncated")
]


def lines_of(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def ollama_whole(lines: list[dict[str, Any]]) -> dict[str, Any]:
    """The one line Ollama answers a request with ``stream: false``: the done line, holding the
    texts joined and the tool calls gathered (its ``created_at`` and logprobs left out here)."""
    done = dict(lines[-1])
    if "message" in done:
        wire = [line["message"] for line in lines]
        message: dict[str, Any] = {
            "role": "assistant",
            "content": "".join(m.get("content", "") for m in wire),
        }
        if "".join(m.get("thinking", "") for m in wire):
            message["thinking"] = "".join(m.get("thinking", "") for m in wire)
        calls = [c for m in wire for c in m.get("tool_calls", ())]
        if calls:
            message["tool_calls"] = calls
        done["message"] = message
    else:
        done["response"] = "".join(line.get("response", "") for line in lines)
        if "".join(line.get("thinking", "") for line in lines):
            done["thinking"] = "".join(line.get("thinking", "") for line in lines)
    return without_extras(done)


def without_extras(line: dict[str, Any]) -> dict[str, Any]:
    """A line less its ``created_at``, logprobs and the calls' ``index`` (which older servers
    leave out and streamkit always writes)."""
    out = {k: v for k, v in line.items() if k not in ("created_at", "logprobs")}
    if out.get("message", {}).get("tool_calls"):
        calls = [{**c, "function": {k: v for k, v in c["function"].items() if k != "index"}}
                 for c in out["message"]["tool_calls"]]  # fmt: skip
        out["message"] = {**out["message"], "tool_calls": calls}
    return out


def endpoint_of(lines: list[dict[str, Any]]) -> str:
    return "chat" if "message" in lines[0] else "generate"


@pytest.mark.parametrize("path", WHOLE_CASES, ids=[p.name for p in WHOLE_CASES])
def test_the_whole_line_is_what_ollama_answers_without_streaming(path: Path) -> None:
    import ollama

    lines = lines_of(path)
    whole = DIALECT.whole_response(messages(events_of(path, NAME)), endpoint=endpoint_of(lines))
    assert without_extras(whole) == ollama_whole(lines)
    model = ollama.ChatResponse if endpoint_of(lines) == "chat" else ollama.GenerateResponse
    model.model_validate(whole)


@pytest.mark.parametrize("path", fixture_files(NAME))
def test_the_whole_line_of_the_shared_recordings(path: Path) -> None:
    import ollama

    lines = lines_of(path)
    whole = DIALECT.whole_response(messages(events_of(path, NAME)), endpoint=endpoint_of(lines))
    assert whole["done"] is True and whole["model"] == lines[-1]["model"]
    assert {k: whole[k] for k in ("eval_count", "prompt_eval_count") if k in lines[-1]} == {
        k: lines[-1][k] for k in ("eval_count", "prompt_eval_count") if k in lines[-1]
    }
    model = ollama.ChatResponse if endpoint_of(lines) == "chat" else ollama.GenerateResponse
    model.model_validate(whole)


ANOTHER_DIALECTS = {
    "type": "message",
    "role": "assistant",
    "content": [
        {
            "type": "reasoning",
            "text": "Look it up.",
            "provider_metadata": {"anthropic": {"signature": "sig=="}},
        },
        {"type": "text", "text": "Checking Paris."},
        {"type": "source", "source_type": "url", "id": "s1", "url": "https://example.com"},
        {
            "type": "tool-call",
            "tool_call_id": "toolu_1",
            "tool_name": "get_weather",
            "arguments": '{"city":"Paris"}',
            "input": {"city": "Paris"},
        },
    ],
    "finish_reason": "tool-calls",
    "raw_finish_reason": "tool_use",
    "usage": {"input_tokens": 21, "output_tokens": 9},
    "id": "msg_1",
    "model": "claude-sonnet-4-5",
    "dialect": "anthropic",
}


def test_a_message_of_another_dialect(capsys: pytest.CaptureFixture[str]) -> None:
    import ollama

    whole = DIALECT.whole_response([ANOTHER_DIALECTS], endpoint="chat", model="llama3.2")
    typed = ollama.ChatResponse.model_validate(whole)
    assert typed.model == "llama3.2"  # the client's model, as Ollama echoes it
    assert typed.done and typed.done_reason == "stop"
    assert (typed.message.content, typed.message.thinking) == ("Checking Paris.", "Look it up.")
    assert [(c.function.name, dict(c.function.arguments)) for c in typed.message.tool_calls or ()] == [
        ("get_weather", {"city": "Paris"})
    ]
    assert (typed.prompt_eval_count, typed.eval_count) == (21, 9)
    assert "ollama cannot express sources (1); dropped" in capsys.readouterr().err


def test_a_generate_answer_and_the_length_reason() -> None:
    import ollama

    message = {**ANOTHER_DIALECTS, "content": ANOTHER_DIALECTS["content"][:2], "finish_reason": "length",
               "raw_finish_reason": "max_tokens"}  # fmt: skip
    whole = DIALECT.whole_response([message], endpoint="generate")
    typed = ollama.GenerateResponse.model_validate(whole)
    assert (typed.response, typed.thinking, typed.done_reason, typed.model) == (
        "Checking Paris.",
        "Look it up.",
        "length",
        "claude-sonnet-4-5",
    )
    assert "message" not in whole


def test_a_response_cut_off_is_what_came_not_done() -> None:
    cut = {"type": "message", "role": "assistant", "content": [{"type": "text", "text": "Hal"}],
           "finish_reason": "other", "id": None, "model": "m"}  # fmt: skip
    whole = DIALECT.whole_response([cut], endpoint="chat")
    assert (whole["message"]["content"], whole["done"]) == ("Hal", False)
    empty = DIALECT.whole_response([], endpoint="chat", model="m")
    assert (empty["message"], empty["model"], empty["done"]) == (
        {"role": "assistant", "content": ""},
        "m",
        False,
    )


# --- the official client reads them -----------------------------------------------------------------------


def client_for(status: int, body: Any) -> Any:
    import ollama

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=orjson.dumps(body) + b"\n",
                              headers={"content-type": "application/json"})  # fmt: skip

    return ollama.Client(host="http://ollama.test", transport=httpx.MockTransport(handler))


def test_the_client_reads_the_whole_answer() -> None:
    path = CASES / "chat-tool-calls.ndjson"
    whole = DIALECT.whole_response(messages(events_of(path, NAME)), endpoint="chat", model="qwen3:8b")
    with client_for(200, whole) as client:
        answer = client.chat(model="qwen3:8b", messages=[{"role": "user", "content": "Weather?"}])
    assert answer.done and answer.message.thinking == "I should check the weather in both cities."
    assert [c.function.name for c in answer.message.tool_calls or ()] == ["get_current_weather"] * 2
    assert (answer.eval_count, answer.total_duration) == (64, 412950708)
    generate = DIALECT.whole_response(
        messages(events_of(CASES / "generate.ndjson", NAME)), endpoint="generate"
    )
    with client_for(200, generate) as client:
        answer = client.generate(model="phi3", prompt="Why?")
    assert (answer.response, answer.context[:2]) == ("Why not both?", [32010, 3750])


@pytest.mark.parametrize("status", [400, 401, 404, 429, 500, 503])
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_the_error_body_raises_the_clients_response_error(status: int, stream: bool) -> None:
    import ollama

    body = DIALECT.error_body(status, "model 'nope' not found", code="not_found")
    assert body == {"error": "model 'nope' not found"}
    with client_for(status, body) as client, pytest.raises(ollama.ResponseError) as info:
        answer = client.chat(model="nope", messages=[{"role": "user", "content": "hi"}], stream=stream)
        if stream:
            list(answer)
    assert (info.value.error, info.value.status_code) == ("model 'nope' not found", status)
    with client_for(status, body) as client, pytest.raises(ollama.ResponseError) as info:
        answer = client.generate(model="nope", prompt="hi", stream=stream)
        if stream:
            list(answer)
    assert (info.value.error, info.value.status_code) == ("model 'nope' not found", status)
