"""openai-chat whole responses and errors: the ``chat.completion`` made of accumulated messages
validates as the SDK's ``ChatCompletion`` and reads back through the official client; the error
body makes the client raise its own error type with our message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import openai
import orjson
import pytest
from openai.types.chat import ChatCompletion

from streamkit.dialects.openai_chat import OpenAIChat
from tests.conftest import DATA, events_of, fixture_files, messages

from .sdk import answering, client

DIALECT = OpenAIChat()
CASES = sorted(
    p for d in ("openai-chat", "anthropic", "gemini", "ollama", "openai-responses") for p in (DATA / d).glob("*")
    if p.suffix in (".sse", ".ndjson", ".json") and not p.name.endswith(".expected.ndjson")
)  # fmt: skip


def whole(path: Path | bytes, **options: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The messages of a recording's first response, and the completion made of them."""
    found = messages(events_of(path))
    first = [m for m in found if m.get("id") == found[0].get("id")] if found else []
    return first, DIALECT.whole_response(first, **options)


def read_by_the_client(completion: dict[str, Any]) -> ChatCompletion:
    """What ``client.chat.completions.create`` returns when the server answers ``completion``."""
    sdk = client(lambda request: httpx.Response(200, json=completion))
    return sdk.chat.completions.create(model="m", messages=[{"role": "user", "content": "Hi"}])


def transcript(part: dict[str, Any]) -> bool:
    """Whether a text part is the transcript of an audio output (the completion's audio holds it)."""
    return "audio" in (part.get("provider_metadata") or {}).get("openai-chat", {})


def texts(message: dict[str, Any], *, refusal: bool = False) -> str:
    return "".join(
        p["text"]
        for p in message["content"]
        if p["type"] == "text" and bool(p.get("refusal")) == refusal and not transcript(p)
    )


@pytest.mark.parametrize("case", CASES, ids=[f"{c.parent.name}/{c.stem}" for c in CASES])
def test_every_recording_as_a_whole_completion(case: Path) -> None:
    """Every recording of every dialect, accumulated: a valid ``ChatCompletion`` that the client
    reads with the same text, refusal, reasoning and calls."""
    found, completion = whole(case)
    ChatCompletion.model_validate(completion)
    read = read_by_the_client(completion)
    assert read.object == "chat.completion" and len(read.choices) == len(found)
    for message, choice in zip(sorted(found, key=lambda m: m.get("choice") or 0), read.choices, strict=True):
        assert choice.index == (message.get("choice") or 0)
        assert (choice.message.content or "") == texts(message)
        assert (choice.message.refusal or "") == texts(message, refusal=True)
        reasoning = "".join(p["text"] for p in message["content"] if p["type"] == "reasoning")
        assert (getattr(choice.message, "reasoning_content", None) or "") == reasoning
        calls = [p for p in message["content"] if p["type"] == "tool-call" and not p.get("provider_executed")]
        assert [(c.id, c.function.name) for c in choice.message.tool_calls or []] == [
            (p["tool_call_id"], p["tool_name"]) for p in calls
        ]
        if calls and message.get("finish_reason") in ("tool-calls", "stop", "other", "error"):
            assert choice.finish_reason == "tool_calls"
    if found and found[0].get("usage"):
        assert read.usage is not None
        assert read.usage.prompt_tokens == found[0]["usage"].get("input_tokens", read.usage.prompt_tokens)


@pytest.mark.parametrize("case", fixture_files("openai-chat"))
def test_real_chat_recordings_as_whole_completions(case: Path) -> None:
    _, completion = whole(case)
    ChatCompletion.model_validate(completion)
    read_by_the_client(completion)


def test_a_chat_upstream_s_own_fields_come_back() -> None:
    (message,), completion = whole(DATA / "openai-chat" / "usage-chunk.sse")
    assert completion["id"] == message["id"] and completion["model"] == message["model"]
    assert completion["usage"] == message["provider_metadata"]["openai-chat"]["usage"]  # the server's own


def test_reasoning_with_signatures_is_written_as_reasoning_details() -> None:
    (message,), completion = whole(DATA / "openai-chat" / "reasoning-details.sse")
    body = completion["choices"][0]["message"]
    assert body["reasoning_content"] == "Sum it up."
    assert body["reasoning_details"] == [
        {
            "type": "reasoning.text",
            "signature": "c2lnbmF0dXJl",
            "format": "anthropic-claude-v1",
            "text": "Sum it up.",
        }
    ]
    # the client sends it back as it got it, and parse makes of it the part it came from
    again = DIALECT.parse_request({"model": "m", "messages": [{"role": "user", "content": "?"}, body]})
    (reasoning,) = [p for p in message["content"] if p["type"] == "reasoning"]
    assert again.conversation["messages"][1]["content"][0] == reasoning


def test_another_reasoning_field() -> None:
    _, completion = whole(DATA / "openai-chat" / "reasoning-content.sse", reasoning_field="reasoning")
    assert "reasoning" in completion["choices"][0]["message"]


def test_several_choices() -> None:
    found, completion = whole(DATA / "openai-chat" / "n2.sse")
    assert [c["index"] for c in completion["choices"]] == [0, 1]
    assert len(found) == 2


def test_sources_and_executed_tools() -> None:
    _, completion = whole(DATA / "openai-chat" / "annotations.sse")
    (annotation, *_) = completion["choices"][0]["message"]["annotations"]
    assert annotation["type"] == "url_citation" and annotation["url_citation"]["url"].startswith("http")
    _, completion = whole(DATA / "openai-chat" / "executed-tools.sse")
    executed = completion["choices"][0]["message"]["executed_tools"]
    assert executed and all("arguments" in t for t in executed)
    ChatCompletion.model_validate(completion)


def test_a_call_to_a_declared_custom_tool_is_a_custom_tool_call() -> None:
    message = {
        "type": "message", "role": "assistant", "id": "r1", "model": "m", "finish_reason": "tool-calls",
        "content": [
            {"type": "tool-call", "tool_call_id": "c1", "tool_name": "apply_patch",
             "arguments": '{"input":"*** Begin Patch"}', "input": {"input": "*** Begin Patch"}},
            {"type": "tool-call", "tool_call_id": "c2", "tool_name": "f", "arguments": "{}", "input": {}},
        ],
        "usage": {"input_tokens": 3, "output_tokens": 4},
    }  # fmt: skip
    completion = DIALECT.whole_response([message], custom_tools=["apply_patch"], include_usage=False, n=2)
    read = read_by_the_client(completion)
    custom, function = read.choices[0].message.tool_calls or []
    assert (
        custom.type == "custom"
        and custom.custom.name == "apply_patch"
        and custom.custom.input == "*** Begin Patch"
    )
    assert function.type == "function" and function.function.name == "f"
    assert read.choices[0].finish_reason == "tool_calls"
    assert read.usage is not None and (
        read.usage.prompt_tokens,
        read.usage.completion_tokens,
        read.usage.total_tokens,
    ) == (3, 4, 7)


def test_no_message_and_no_model() -> None:
    completion = DIALECT.whole_response([], model="asked-for")
    assert completion["model"] == "asked-for" and completion["choices"] == []
    assert completion["id"].startswith("chatcmpl-")
    ChatCompletion.model_validate(completion)


@pytest.mark.parametrize(
    ("finish", "reason"),
    [
        ("stop", "stop"),
        ("length", "length"),
        ("content-filter", "content_filter"),
        ("error", "stop"),
        ("other", "stop"),
    ],
)
def test_finish_reasons(finish: str, reason: str) -> None:
    message = {
        "type": "message",
        "role": "assistant",
        "content": [{"type": "text", "text": "x"}],
        "finish_reason": finish,
    }
    assert DIALECT.whole_response([message])["choices"][0]["finish_reason"] == reason


def test_audio_output_is_the_message_s_audio() -> None:
    found, completion = whole(DATA / "openai-chat" / "audio.sse")
    message = read_by_the_client(completion).choices[0].message
    assert message.content is None
    assert message.audio is not None
    assert message.audio.model_dump() == {
        "id": "audio_6a1b2c3d4e5f",
        "data": found[0]["content"][1]["data"],
        "expires_at": 1700003600,
        "transcript": "Hello there!",
    }
    # audio from elsewhere (no id, no expiry): an id of its own, and it is no longer kept upstream
    message = {"type": "message", "role": "assistant", "finish_reason": "stop",
               "content": [{"type": "file", "media_type": "audio/wav", "data": "UklGRg=="}]}  # fmt: skip
    audio = read_by_the_client(DIALECT.whole_response([message])).choices[0].message.audio
    assert audio is not None and audio.id.startswith("audio_") and audio.data == "UklGRg=="
    assert audio.transcript == ""


def test_what_cannot_be_said_is_dropped_with_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    message = {
        "type": "message", "role": "assistant", "finish_reason": "stop",
        "content": [
            {"type": "source", "source_type": "document", "id": "d", "title": "T"},
            {"type": "file", "media_type": "application/pdf", "data": "AAA"},  # (an image is kept)
            {"type": "tool-call", "tool_call_id": "s", "tool_name": "web_search", "provider_executed": True, "input": {}},
            {"type": "reasoning", "text": "", "provider_metadata": {"anthropic": {"redacted_data": "EmwK"}}},
            {"type": "text", "text": "ok"},
        ],
    }  # fmt: skip
    ChatCompletion.model_validate(DIALECT.whole_response([message]))
    err = capsys.readouterr().err
    for what in ("document sources (1)", "files other than audio and generated images (1)", "provider-executed tool calls (1)",
                 "redacted or encrypted reasoning from other dialects (1)"):  # fmt: skip
        assert f"openai-chat cannot express {what}" in err


# --- errors ----------------------------------------------------------------------------------------

ERRORS = [
    (400, openai.BadRequestError),
    (401, openai.AuthenticationError),
    (403, openai.PermissionDeniedError),
    (404, openai.NotFoundError),
    (409, openai.ConflictError),
    (422, openai.UnprocessableEntityError),
    (429, openai.RateLimitError),
    (500, openai.InternalServerError),
    (503, openai.InternalServerError),
]


@pytest.mark.parametrize(("status", "error"), ERRORS)
def test_the_error_body_raises_the_client_s_own_error(status: int, error: type[Exception]) -> None:
    body = DIALECT.error_body(status, "upstream said no", "some_code")
    assert set(body["error"]) == {"message", "type", "param", "code"}
    sdk = answering(status, body, headers={"Retry-After": "1"})
    with pytest.raises(error) as info:
        sdk.chat.completions.create(model="m", messages=[{"role": "user", "content": "Hi"}])
    assert info.value.message == f"Error code: {status} - upstream said no"  # type: ignore[attr-defined]
    assert info.value.body == body["error"]  # type: ignore[attr-defined]
    assert info.value.code == "some_code"  # type: ignore[attr-defined]
    assert info.value.status_code == status  # type: ignore[attr-defined]


def test_the_error_body_while_streaming() -> None:
    """A stream the server refuses: the client raises before the first chunk."""
    sdk = answering(429, DIALECT.error_body(429, "slow down"))
    with pytest.raises(openai.RateLimitError, match="slow down"):
        sdk.chat.completions.create(model="m", messages=[{"role": "user", "content": "Hi"}], stream=True)
    assert orjson.loads(orjson.dumps(DIALECT.error_body(500, "x")))["error"]["type"] == "server_error"
