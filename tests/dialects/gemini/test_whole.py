"""gemini whole answers: the ``GenerateContentResponse`` of ``:generateContent`` from accumulated
messages (every recording, Gemini's and other dialects'), checked by the SDK's own type, read by the
official client over HTTP, and normalized back to the same message; the error body raised by the
official client as its own error types."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from google.genai import errors

from streamkit.dialects.gemini import Gemini
from tests.conftest import DATA, essence, events_of, fixture_files, messages
from tests.dialects.gemini.chunks import ALL_CASES, validate_chunk
from tests.dialects.gemini.sdk import answered

NAME = "gemini"
DIALECT = Gemini()
OTHERS = sorted(
    p for d in ("anthropic", "openai-chat", "openai-responses", "ollama") for p in (DATA / d).glob("*.*")
    if not p.name.endswith(".ndjson")
)  # fmt: skip


def whole(path: Path, **options: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    found = [m for m in messages(events_of(path)) if not m.get("choice")]
    if len(found) != 1:
        pytest.skip("not one response")
    response = DIALECT.whole_response(found, **options)
    sdk_type(response)
    return found, response


def sdk_type(response: dict[str, Any]) -> None:
    """The response against the SDK's type, strictly (unknown fields forbidden), but for the fields
    real Gemini sends that this SDK does not know yet (``usageMetadata.serviceTier``: its reading
    removes them), which a recording's usage carries."""
    data = orjson.loads(orjson.dumps(response))
    data.get("usageMetadata", {}).pop("serviceTier", None)
    validate_chunk(data)


def client_view(message: dict[str, Any]) -> tuple[str, list[tuple[str, Any]]]:
    """The text and client tool calls of a message, as a Gemini client would get them."""
    text = "".join(p["text"] for p in message["content"] if p["type"] == "text")
    calls = [
        (p["tool_name"], p["input"])
        for p in message["content"]
        if p["type"] == "tool-call" and not p.get("provider_executed") and isinstance(p.get("input"), dict)
    ]
    return text, calls


def read_by_the_client(response: dict[str, Any]) -> tuple[str, list[tuple[str, Any]]]:
    got = answered(response)
    parts = (got.candidates[0].content.parts if got.candidates and got.candidates[0].content else None) or []
    text = "".join(p.text for p in parts if p.text and not p.thought)
    return text, [(c.name, c.args) for c in got.function_calls or ()]


def _check(path: Path) -> None:
    (message,), response = whole(path)
    assert read_by_the_client(response) == client_view(message)
    again = messages(events_of(b"data: " + orjson.dumps(response) + b"\r\n\r\n", dialect=NAME))
    assert [essence(m) for m in again] == [essence(message)]
    assert again[0]["content"] == message["content"]  # signatures and ids included
    assert again[0].get("provider_metadata") == message.get("provider_metadata")  # raw usage, grounding, ...


@pytest.mark.parametrize("recording", [p for p in ALL_CASES if "error" not in p.name], ids=lambda p: p.name)
def test_a_recording_as_one_whole_response_reads_back_as_the_same_message(recording: Path) -> None:
    _check(recording)


@pytest.mark.parametrize("recording", fixture_files(NAME))
def test_a_shared_recording_as_one_whole_response_reads_back_as_the_same_message(recording: Path) -> None:
    _check(recording)


@pytest.mark.parametrize("recording", OTHERS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_other_dialects_answers_as_a_whole_gemini_response(
    recording: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Another dialect's answer is a valid GenerateContentResponse whose text and calls the official
    client reads; what Gemini cannot say is dropped with a warning, never silently."""
    (message,), response = whole(recording, model="gemini-2.5-flash")
    assert response["modelVersion"] == "gemini-2.5-flash"
    assert read_by_the_client(response) == client_view(message)
    cut = [p for p in message["content"] if p["type"] == "tool-call" and not isinstance(p.get("input"), dict)]
    if cut:
        assert "cannot express tool calls whose arguments are not a JSON object" in capsys.readouterr().err


def test_the_parts_of_a_whole_response() -> None:
    message = {
        "type": "message", "role": "assistant", "id": "resp-1", "model": "gemini-2.5-flash",
        "finish_reason": "tool-calls", "raw_finish_reason": "STOP",
        "usage": {"input_tokens": 10, "output_tokens": 7, "total_tokens": 17, "reasoning_tokens": 3},
        "content": [
            {"type": "reasoning", "text": "Look it up.", "provider_metadata": {NAME: {"thought_signature": "c2ln"}}},
            {"type": "text", "text": "Checking."},
            {"type": "tool-call", "tool_call_id": "c1", "tool_name": "get_weather", "arguments": '{"city":"Paris"}',
             "input": {"city": "Paris"}},
            {"type": "tool-call", "tool_call_id": "call_3", "tool_name": "get_time", "arguments": "{}", "input": {},
             "provider_metadata": {NAME: {"generated_id": True}}},
            {"type": "source", "source_type": "url", "id": "s1", "url": "https://example.com", "title": "Ex"},
        ],
    }  # fmt: skip
    assert DIALECT.whole_response([message], model="gemini-2.5-flash") == {
        "candidates": [{
            "content": {"role": "model", "parts": [
                {"text": "Look it up.", "thought": True, "thoughtSignature": "c2ln"},
                {"text": "Checking."},
                {"functionCall": {"id": "c1", "name": "get_weather", "args": {"city": "Paris"}}},
                {"functionCall": {"name": "get_time", "args": {}}},
            ]},
            "finishReason": "STOP",
            "index": 0,
            "groundingMetadata": {"groundingChunks": [{"web": {"uri": "https://example.com", "title": "Ex"}}]},
        }],
        "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 4, "totalTokenCount": 17,
                          "thoughtsTokenCount": 3},
        "modelVersion": "gemini-2.5-flash",
        "responseId": "resp-1",
    }  # fmt: skip


def test_choices_are_candidates() -> None:
    base = {"type": "message", "role": "assistant", "finish_reason": "stop", "id": "r", "model": "m"}
    one = {**base, "content": [{"type": "text", "text": "A"}]}
    two = {**base, "content": [{"type": "text", "text": "B"}], "choice": 1}
    response = DIALECT.whole_response([one, two])
    assert [(c["index"], c["content"]["parts"]) for c in response["candidates"]] == [
        (0, [{"text": "A"}]),
        (1, [{"text": "B"}]),
    ]


def test_a_response_with_no_finish_reason_says_other() -> None:
    message = {"type": "message", "role": "assistant", "content": [], "finish_reason": "error"}
    (cand,) = DIALECT.whole_response([message])["candidates"]
    assert cand == {"content": {"role": "model", "parts": []}, "finishReason": "OTHER", "index": 0}


def test_a_blocked_prompt_has_no_candidates() -> None:
    _, response = whole(DATA / NAME / "prompt-blocked.sse")
    assert "candidates" not in response and response["promptFeedback"]["blockReason"]
    assert answered(response).prompt_feedback.block_reason is not None


# --- errors --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "name", "kind"),
    [
        (400, None, "INVALID_ARGUMENT", errors.ClientError),
        (401, None, "UNAUTHENTICATED", errors.ClientError),
        (403, None, "PERMISSION_DENIED", errors.ClientError),
        (404, None, "NOT_FOUND", errors.ClientError),
        (422, None, "INVALID_ARGUMENT", errors.ClientError),
        (429, "rate_limit_exceeded", "RESOURCE_EXHAUSTED", errors.ClientError),
        (429, "RESOURCE_EXHAUSTED", "RESOURCE_EXHAUSTED", errors.ClientError),
        (500, None, "INTERNAL", errors.ServerError),
        (502, None, "UNAVAILABLE", errors.ServerError),
        (503, None, "UNAVAILABLE", errors.ServerError),
        (504, None, "DEADLINE_EXCEEDED", errors.ServerError),
    ],
)
def test_the_error_body_is_raised_by_the_official_client_as_its_own_error(
    status: int, code: Any, name: str, kind: type[errors.APIError]
) -> None:
    body = DIALECT.error_body(status, "upstream said no", code)
    assert body == {"error": {"code": status, "message": "upstream said no", "status": name}}
    with pytest.raises(kind) as raised:
        answered(body, status)
    assert (raised.value.code, raised.value.status, raised.value.message) == (
        status,
        name,
        "upstream said no",
    )
