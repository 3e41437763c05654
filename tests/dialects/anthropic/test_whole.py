"""anthropic whole answers: the ``message`` object a request without ``stream`` gets, checked
against the official SDK's ``Message`` (and ``BetaMessage``) types, against what the SDK's own
accumulator makes of the original stream, and read by the official client over HTTP; the model
the client asked for when the upstream names none; and error bodies that the client raises as
its own error types."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import anthropic
import pytest
from anthropic.types import Message
from anthropic.types.beta import BetaMessage

from streamkit.canonical import message_to_events
from streamkit.dialects.anthropic import Anthropic
from streamkit.dialects.anthropic.whole import error_body
from streamkit.stages.accumulate import accumulate
from tests.conftest import DATA, essence, events_of, fixture_files, messages
from tests.dialects.anthropic.sdk import client
from tests.dialects.anthropic.test_encode import _sdk_messages, wire_events

DIALECT = Anthropic()
CASES = sorted((DATA / "anthropic").glob("*.sse"))


def _whole(path: Path, **options: Any) -> dict[str, Any]:
    return DIALECT.whole_response(messages(events_of(path, "anthropic"))[:1], **options)  # type: ignore[no-any-return]


def _plain(value: Any) -> Any:
    """JSON with null fields left out (the SDK's models write them, the API leaves them out)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime.datetime):  # the SDK parses timestamps (a container's expiry)
        return value.isoformat().replace("+00:00", "Z")
    return value


@pytest.mark.parametrize(
    "case", [*CASES, *fixture_files("anthropic")], ids=lambda c: getattr(c, "stem", "none")
)
def test_whole_messages_validate_as_the_sdk_types(case: Path | None) -> None:
    if case is None:
        pytest.skip("no shared fixtures")
    Message.model_validate(_whole(case))
    BetaMessage.model_validate(_whole(case, beta=True))


@pytest.mark.parametrize(
    "case", [*CASES, *fixture_files("anthropic")], ids=lambda c: getattr(c, "stem", "none")
)
def test_a_whole_message_is_what_the_sdk_accumulates_from_the_original_stream(case: Path | None) -> None:
    """From an Anthropic recording, the whole answer is the message the API streamed: every block
    with its fields, the stop reason, the usage."""
    if case is None:
        pytest.skip("no shared fixtures")
    theirs = _sdk_messages(wire_events(case.read_bytes()), beta=True)[0]
    ours = _whole(case, beta=True)
    theirs["usage"].setdefault("cache_creation_input_tokens", 0)
    theirs["usage"].setdefault("cache_read_input_tokens", 0)
    theirs["usage"].get("server_tool_use", {}).setdefault("web_fetch_requests", 0)  # filled in by the encoder
    assert _plain(ours) == _plain(theirs)


def test_a_whole_message_from_another_dialect(capsys: pytest.CaptureFixture[str]) -> None:
    """A chat upstream's answer (text, then two calls; usage with cached tokens) as a Message."""
    message = {
        "type": "message", "role": "assistant", "id": "chatcmpl-1", "model": "gpt-4o-mini",
        "content": [{"type": "text", "text": "Let me check."},
                    {"type": "tool-call", "tool_call_id": "call_1", "tool_name": "get_weather",
                     "arguments": '{"city": "Paris"}', "input": {"city": "Paris"}},
                    {"type": "tool-call", "tool_call_id": "call_2", "tool_name": "get_weather",
                     "arguments": '{"city": "Ro', "input": None, "input_error": "not JSON"},
                    {"type": "reasoning", "text": "thought without a signature"}],
        "finish_reason": "tool-calls", "raw_finish_reason": "tool_calls",
        "usage": {"input_tokens": 100, "output_tokens": 20, "total_tokens": 120, "cached_input_tokens": 60},
    }  # fmt: skip
    whole = DIALECT.whole_response([message, {**message, "choice": 1}], model="claude-asked")
    Message.model_validate(whole)
    assert (
        whole["id"] == "chatcmpl-1" and whole["model"] == "gpt-4o-mini"
    )  # the upstream's, when it names one
    assert [b["type"] for b in whole["content"]] == ["text", "tool_use", "tool_use", "thinking"]
    assert whole["content"][1] == {
        "type": "tool_use",
        "id": "call_1",
        "name": "get_weather",
        "input": {"city": "Paris"},
    }
    assert whole["content"][2]["input"] == {}  # arguments that are not JSON: an object is required
    assert (whole["stop_reason"], whole["stop_sequence"]) == ("tool_use", None)
    assert whole["usage"] == {"input_tokens": 40, "output_tokens": 20, "cache_read_input_tokens": 60,
                              "cache_creation_input_tokens": 0}  # fmt: skip
    assert "choices after the first" in capsys.readouterr().err


def test_the_model_the_client_asked_for_when_the_upstream_names_none() -> None:
    message = {"type": "message", "role": "assistant", "content": [{"type": "text", "text": "hi"}],
               "finish_reason": "stop", "id": None, "model": None}  # fmt: skip
    whole = DIALECT.whole_response([message], model="claude-asked")
    assert whole["model"] == "claude-asked" and whole["id"].startswith("msg_")
    assert (whole["stop_reason"], whole["content"]) == ("end_turn", [{"type": "text", "text": "hi"}])
    empty = DIALECT.whole_response([], model="claude-asked")
    assert (empty["content"], empty["stop_reason"], empty["model"]) == ([], None, "claude-asked")
    Message.model_validate(empty)


def test_the_encoder_names_the_asked_model_in_a_stream_whose_start_names_none() -> None:
    message = {"type": "message", "role": "assistant", "content": [], "finish_reason": "stop"}
    encoder = DIALECT.encoder(model="claude-asked")
    (start, *_) = [data for _, data in encoder.feed(message)]
    assert start["message"]["model"] == "claude-asked"
    (start, *_) = [data for _, data in DIALECT.encoder().feed(message)]
    assert start["message"]["model"] == ""


@pytest.mark.parametrize(
    "case", ["text", "thinking-signature", "tool-use", "web-search-citations", "refusal"]
)
def test_the_official_client_reads_a_whole_message(case: str) -> None:
    (ours,) = messages(events_of(DATA / "anthropic" / f"{case}.sse"))
    body = DIALECT.whole_response([ours], model="claude-test")
    final = client(200, body).messages.create(model="claude-test", max_tokens=100, messages=[{"role": "user", "content": "hi"}])  # fmt: skip
    assert isinstance(final, Message)
    assert final.to_dict() == Message.model_validate(body).to_dict()
    # and what the client holds is the message we accumulated (read back by our normalizer)
    (back,) = messages(events_of(_replay_of(body)))
    assert back["id"] == ours["id"] and essence(back) == essence(ours)


def _replay_of(body: dict[str, Any]) -> bytes:
    """A whole message as a one-event stream (the normalizer reads whole blocks in message_start)."""
    import orjson

    return (
        b"event: message_start\ndata: " + orjson.dumps({"type": "message_start", "message": body}) + b"\n\n"
    )


@pytest.mark.parametrize(
    ("status", "error_class", "kind"),
    [
        (400, anthropic.BadRequestError, "invalid_request_error"),
        (401, anthropic.AuthenticationError, "authentication_error"),
        (403, anthropic.PermissionDeniedError, "permission_error"),
        (404, anthropic.NotFoundError, "not_found_error"),
        (413, anthropic.RequestTooLargeError, "request_too_large"),
        (429, anthropic.RateLimitError, "rate_limit_error"),
        (500, anthropic.InternalServerError, "api_error"),
        (502, anthropic.InternalServerError, "api_error"),
        (529, anthropic.OverloadedError, "overloaded_error"),
    ],
)
def test_error_bodies_raise_the_sdk_error_types(status: int, error_class: type, kind: str) -> None:
    body = DIALECT.error_body(status, "upstream said no", None)
    assert body == {"type": "error", "error": {"type": kind, "message": "upstream said no"}}
    sdk = client(status, body, **({"retry-after": "3"} if status == 429 else {}))
    for stream in (False, True):
        with pytest.raises(error_class) as info:
            sdk.messages.create(
                model="m", max_tokens=5, messages=[{"role": "user", "content": "hi"}], stream=stream
            )
        assert info.value.status_code == status and "upstream said no" in str(info.value)
        assert info.value.body == body


def test_an_error_code_of_anthropic_s_own_is_kept_and_others_are_not() -> None:
    assert error_body(500, "busy", "overloaded_error")["error"]["type"] == "overloaded_error"
    assert error_body(429, "slow down", "rate_limit_exceeded")["error"]["type"] == "rate_limit_error"
    assert error_body(418, "teapot")["error"]["type"] == "invalid_request_error"


def test_message_to_events_of_a_whole_message_round_trip() -> None:
    """whole_response accepts what accumulate gives, including a message rebuilt from events."""
    (ours,) = messages(events_of(DATA / "anthropic" / "tool-use.sse"))
    again = messages(list(accumulate(message_to_events(ours))))
    assert DIALECT.whole_response(again)["content"] == DIALECT.whole_response([ours])["content"]
