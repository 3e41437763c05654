"""openai-responses whole answers: the ``response`` object of a request that did not ask for a
stream (validated by the SDK's ``Response`` type and read by the official client over HTTP,
``httpx.MockTransport``), and the error body, from which the official client raises its own error
type with the message.
"""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest
from openai.types.responses import Response
from pydantic import BaseModel

from streamkit.dialects.openai_responses import OpenAIResponses
from tests.conftest import DATA, events_of, fixture_files, messages

NAME = "openai-responses"
DIALECT = OpenAIResponses()
SOURCES = sorted(p for p in DATA.glob("*/*.sse") if p.parent.name != "openai-assistants")


def client_for(status: int, body: Any, headers: dict[str, str] | None = None) -> openai.OpenAI:
    """The official client, answered ``body`` as JSON with ``status``."""

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/responses"
        return httpx.Response(status, json=body, headers=headers)

    transport = httpx.MockTransport(handler)
    return openai.OpenAI(api_key="sk-test", base_url="http://gateway.test/v1", max_retries=0,
                         http_client=httpx.Client(transport=transport))  # fmt: skip


def text_of(message: dict[str, Any]) -> str:
    return "".join(p["text"] for p in message["content"] if p["type"] == "text" and not p.get("refusal"))


def calls_of(message: dict[str, Any]) -> list[tuple[str, str, Any]]:
    return [(p["tool_call_id"], p["tool_name"], p["input"]) for p in message["content"]
            if p["type"] == "tool-call" and not p.get("provider_executed")]  # fmt: skip


def message(
    *content: dict[str, Any], reason: str = "stop", raw: str | None = "completed", **more: Any
) -> dict[str, Any]:
    return {"type": "message", "role": "assistant", "content": list(content), "finish_reason": reason,
            "raw_finish_reason": raw, "id": "resp_1", "model": "gpt-test", **more}  # fmt: skip


@pytest.mark.parametrize(
    "source",
    [
        *(pytest.param(p, id=f"{p.parent.name}/{p.stem}") for p in SOURCES),
        *fixture_files("anthropic", "gemini", "ollama", "openai-chat", "openai-responses"),
    ],
)
def test_every_dialects_message_is_a_response_the_sdk_validates(source) -> None:
    """Each accumulated message of every dialect's recordings (ours, and the real ones in
    ../shared/fixtures) → a ``response`` object that ``Response.model_validate`` takes, with the
    message's text, calls and status."""
    for msg in messages(events_of(source)):
        if msg.get("choice"):
            continue  # the Responses API has one output per response
        whole = DIALECT.whole_response([msg])
        response = Response.model_validate(whole)
        assert response.object == "response"
        assert response.output_text == text_of(msg)
        names = {"apply_patch_call": "apply_patch", "shell_call": "shell", "local_shell_call": "local_shell",
                 "computer_call": "computer", "tool_search_call": "tool_search"}  # fmt: skip
        clients = ("function_call", "custom_tool_call", *names)
        ran = {p["tool_call_id"] for p in msg["content"] if p.get("provider_executed")}  # by the provider
        assert [
            (o.call_id, getattr(o, "name", None) or names[o.type])
            for o in response.output
            if o.type in clients and o.call_id not in ran and getattr(o, "execution", None) != "server"
        ] == [(c[0], c[1]) for c in calls_of(msg)]
        expected = {"length": "incomplete", "content-filter": "incomplete", "error": "failed"}.get(
            msg["finish_reason"], "completed"
        )
        if msg["finish_reason"] == "other" and msg.get("raw_finish_reason") is None:
            expected = "failed"  # cut off upstream
        assert response.status == expected
        if msg.get("usage"):
            assert response.usage is not None
            assert response.usage.input_tokens == (msg["usage"].get("input_tokens") or 0)


def test_the_official_client_reads_a_whole_response() -> None:
    msg = message(
        {"type": "reasoning", "text": "Thinking.", "provider_metadata": {NAME: {"item_id": "rs_1", "encrypted_content": "enc"}}},
        {"type": "text", "text": "Checking."},
        {"type": "tool-call", "tool_call_id": "call_1", "tool_name": "get_weather", "arguments": '{"city":"Paris"}',
         "input": {"city": "Paris"}},
        reason="tool-calls", raw="tool_calls",
        usage={"input_tokens": 12, "output_tokens": 7, "total_tokens": 19, "reasoning_tokens": 3},
    )  # fmt: skip
    client = client_for(200, DIALECT.whole_response([msg]))
    response = client.responses.create(model="gpt-test", input="Weather in Paris?")
    assert (response.id, response.status, response.output_text) == ("resp_1", "completed", "Checking.")
    assert [o.type for o in response.output] == ["reasoning", "message", "function_call"]
    assert response.output[0].encrypted_content == "enc"
    call = response.output[2]
    assert (call.call_id, call.name, call.arguments) == ("call_1", "get_weather", '{"city":"Paris"}')
    assert response.usage is not None
    assert (response.usage.total_tokens, response.usage.output_tokens_details.reasoning_tokens) == (19, 3)


def test_structured_output_through_the_client_parse_helper() -> None:
    class City(BaseModel):
        city: str
        population: int

    whole = DIALECT.whole_response(
        [message({"type": "text", "text": '{"city":"Paris","population":2100000}'})]
    )
    parsed = client_for(200, whole).responses.parse(model="gpt-test", input="A city?", text_format=City)
    assert parsed.output_parsed == City(city="Paris", population=2100000)


def test_a_call_to_a_declared_custom_tool_is_a_custom_tool_call() -> None:
    msg = message(
        {"type": "tool-call", "tool_call_id": "call_p", "tool_name": "apply_patch",
         "arguments": '{"input":"*** Begin Patch"}', "input": {"input": "*** Begin Patch"}},
        reason="tool-calls", raw="tool_calls",
    )  # fmt: skip
    whole = DIALECT.whole_response([msg], custom_tools=["apply_patch"])
    response = client_for(200, whole).responses.create(model="gpt-test", input="Patch it")
    (call,) = response.output
    assert (call.type, call.call_id, call.name, call.input) == (
        "custom_tool_call", "call_p", "apply_patch", "*** Begin Patch")  # fmt: skip
    assert DIALECT.whole_response([msg])["output"][0]["type"] == "function_call"


@pytest.mark.parametrize(
    ("reason", "raw", "status", "details"),
    [
        ("stop", "completed", "completed", None),
        ("length", "max_output_tokens", "incomplete", {"reason": "max_output_tokens"}),
        ("content-filter", "content_filter", "incomplete", {"reason": "content_filter"}),
        ("error", "failed", "failed", None),
        ("other", None, "failed", None),  # cut off upstream
    ],
)
def test_finish_reasons_become_the_status(reason: str, raw: str | None, status: str, details: Any) -> None:
    whole = DIALECT.whole_response([message({"type": "text", "text": "Half"}, reason=reason, raw=raw)])
    response = Response.model_validate(whole)
    assert response.status == status
    assert (response.incomplete_details.model_dump() if response.incomplete_details else None) == details
    if status == "failed":
        assert response.error is not None and response.error.code == "server_error"


def test_the_response_names_what_it_continues_and_no_message_is_a_failed_response() -> None:
    whole = DIALECT.whole_response([message({"type": "text", "text": "Hi"})], previous_response_id="resp_0")
    assert Response.model_validate(whole).previous_response_id == "resp_0"
    empty = Response.model_validate(DIALECT.whole_response([]))
    assert (empty.status, empty.output) == ("failed", [])


def test_only_the_first_choice_is_a_response(capsys: pytest.CaptureFixture[str]) -> None:
    first = message({"type": "text", "text": "one"})
    second = {**message({"type": "text", "text": "two"}), "choice": 1}
    assert Response.model_validate(DIALECT.whole_response([first, second])).output_text == "one"
    assert "choices other than the first" in capsys.readouterr().err


# --- errors ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (400, openai.BadRequestError),
        (401, openai.AuthenticationError),
        (403, openai.PermissionDeniedError),
        (404, openai.NotFoundError),
        (422, openai.UnprocessableEntityError),
        (429, openai.RateLimitError),
        (500, openai.InternalServerError),
        (502, openai.InternalServerError),
        (503, openai.InternalServerError),
    ],
)
def test_the_error_body_raises_the_sdks_own_error(status: int, error_type: type[Exception]) -> None:
    body = DIALECT.error_body(status, "upstream said no", "upstream_code" if status == 400 else None)
    assert set(body["error"]) == {"message", "type", "param", "code"}
    client = client_for(status, body, {"retry-after": "1"} if status == 429 else None)
    for stream in (False, True):
        with pytest.raises(error_type) as info:
            client.responses.create(model="gpt-test", input="hi", stream=stream)
        error = info.value
        assert isinstance(error, openai.APIStatusError)
        assert error.status_code == status
        assert "upstream said no" in error.message
        assert error.body["message"] == "upstream said no"  # type: ignore[index]
    if status == 400:
        assert (error.code, error.type) == ("upstream_code", "invalid_request_error")
    if status == 429:
        assert (error.code, error.type) == ("rate_limit_exceeded", "requests")
    if status >= 500:
        assert error.type == "server_error"


def test_an_error_code_that_is_not_a_string_is_written_as_one() -> None:
    assert DIALECT.error_body(529, "overloaded", 529)["error"]["code"] == "529"
    assert DIALECT.error_body(401, "bad key")["error"] == {
        "message": "bad key", "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}  # fmt: skip
