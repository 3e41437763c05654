"""anthropic requests: the Messages body from conversations (checked against the official SDK's
parameter types), the URL, headers and the key, native bodies; earlier turns sent back exactly as
the API gave them (thinking signatures, redacted thinking, server tools, containers); ``fetch``
against ``streamkit serve --replay`` equal to ``fetch --replay``; and the tool loop end to end over
real HTTP, with thinking kept across the continuation, through ``agent`` and the official client."""

from __future__ import annotations

import base64
import collections.abc
import typing
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import typing_extensions
from anthropic.types.message_create_params import MessageCreateParamsStreaming
from pydantic import TypeAdapter

from streamkit.continuation import next_conversation
from streamkit.conversation import check, from_prompt
from streamkit.dialects.anthropic import Anthropic
from streamkit.dialects.base import Endpoint
from streamkit.endpoints import resolve
from streamkit.errors import UsageError
from streamkit.plugins import default_registry
from streamkit.testing import assert_serve_replays
from tests.conftest import DATA, ROOT, events_of, fixture_files, messages, ndjson, run_cli, shared_recordings
from tests.dialects.anthropic.test_encode import _sdk_messages, wire_events
from tests.test_fetch_live import serving

NAME = "anthropic"
DIALECT = Anthropic()
SECRET = "sk-ant-test-SECRET-7373"
ENDPOINT = Endpoint("https://api.test", SECRET, "claude-test")
CASES = DATA / NAME
TOOLS = ROOT / "examples" / "tools.toml"
QUESTION = "What's the weather in Paris?"
SIGNATURE = "EqQBCkYIBxgCKkBgl4dRzQp5kq0G1t5S3dIhQ2o2oZb4a6rN8r1fYy8pYv0u7x1W2b4c9d0e1f2g3h4i5j6k7l8m9n0o=="


# --- the SDK's parameter types, strictly ---------------------------------------------------------


def unknown_keys(value: Any, tp: Any, where: str = "body") -> list[str]:
    """Keys of ``value`` that the SDK's TypedDict ``tp`` (and those nested in it) does not know."""
    origin = typing.get_origin(tp)
    if origin in (typing_extensions.Required, typing_extensions.NotRequired):
        return unknown_keys(value, typing.get_args(tp)[0], where)
    if typing_extensions.is_typeddict(tp):
        if not isinstance(value, dict):
            return [where]
        hints = typing.get_type_hints(tp, include_extras=True)
        out = [f"{where}.{k}" for k in value if k not in hints]
        for k, v in value.items():
            if k in hints:
                out += unknown_keys(v, hints[k], f"{where}.{k}")
        return out
    if origin is typing.Union:
        tries = [unknown_keys(value, arg, where) for arg in typing.get_args(tp)]
        return min(tries, key=len)
    if origin in (list, collections.abc.Iterable, collections.abc.Sequence) and isinstance(value, list):
        (item,) = typing.get_args(tp)
        return [k for i, v in enumerate(value) for k in unknown_keys(v, item, f"{where}[{i}]")]
    return []


def conforms(body: dict[str, Any]) -> None:
    """The body validates as the SDK's streaming parameters and holds no key the SDK does not know."""
    TypeAdapter(MessageCreateParamsStreaming).validate_python(body)
    assert unknown_keys(body, MessageCreateParamsStreaming) == []


def request(conversation: dict[str, Any], endpoint: Endpoint = ENDPOINT) -> Any:
    return DIALECT.build_request(check(conversation), endpoint)


def body_of(conversation: dict[str, Any]) -> dict[str, Any]:
    return request(conversation).body  # type: ignore[no-any-return]


def user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


def assistant(*parts: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": list(parts), **more}


def call(call_id: str, name: str = "get_weather", **inp: Any) -> dict[str, Any]:
    return {"type": "tool-call", "tool_call_id": call_id, "tool_name": name,
            "arguments": orjson.dumps(inp).decode(), "input": inp}  # fmt: skip


def tool(call_id: str, output: Any, **more: Any) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "tool_name": "get_weather", "output": output, **more}


def reasoning(text: str, **meta: Any) -> dict[str, Any]:
    part: dict[str, Any] = {"type": "reasoning", "text": text}
    if meta:
        part["provider_metadata"] = meta
    return part


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


# --- a prompt, the URL, headers, the key ---------------------------------------------------------


def test_a_prompt_becomes_a_streaming_messages_request() -> None:
    req = request(from_prompt("Say hi"))
    assert (req.method, req.url, req.framing) == ("POST", "https://api.test/v1/messages", "sse")
    assert req.body == {
        "model": "claude-test",
        "max_tokens": 4096,
        "messages": [user("Say hi")],
        "stream": True,
    }
    conforms(req.body)


@pytest.mark.parametrize(
    ("base", "url"),
    [
        ("https://api.anthropic.com", "https://api.anthropic.com/v1/messages"),
        ("https://proxy.test/anthropic/", "https://proxy.test/anthropic/v1/messages"),
        ("https://proxy.test/v1", "https://proxy.test/v1/messages"),  # the version is not doubled
        ("http://127.0.0.1:8080/v1/", "http://127.0.0.1:8080/v1/messages"),
    ],
)
def test_the_url(base: str, url: str) -> None:
    assert request(from_prompt("hi"), Endpoint(base, None, "m")).url == url


def test_the_headers_and_the_key_in_x_api_key_only() -> None:
    req = request(from_prompt("hi"))
    assert req.headers == {
        "accept": "text/event-stream",
        "content-type": "application/json",
        "anthropic-version": "2023-06-01",
        "x-api-key": SECRET,
    }
    assert SECRET not in req.url and SECRET.encode() not in orjson.dumps(req.body) and SECRET not in repr(req)
    keyless = request(from_prompt("hi"), Endpoint("https://api.test", None, "m"))
    assert "x-api-key" not in keyless.headers and keyless.headers["anthropic-version"] == "2023-06-01"


def test_the_environment_picks_the_upstream_and_the_key() -> None:
    default = resolve(DIALECT, env={})
    assert (default.base_url, default.api_key) == ("https://api.anthropic.com", None)
    env = {
        "ANTHROPIC_BASE_URL": "https://gateway.test/v1/",
        "ANTHROPIC_API_KEY": SECRET,
        "OPENAI_API_KEY": "sk-other",
    }
    endpoint = resolve(DIALECT, env=env, model="m")
    assert (endpoint.base_url, endpoint.api_key) == ("https://gateway.test/v1", SECRET)
    assert DIALECT.build_request(from_prompt("hi"), endpoint).url == "https://gateway.test/v1/messages"
    mine = resolve(DIALECT, env={**env, "STREAMKIT_BASE_URL": "http://local.test", "STREAMKIT_API_KEY": "k2"})
    assert (mine.base_url, mine.api_key) == ("http://local.test", "k2")


def test_no_model_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no model: pass -m MODEL"):
        request(from_prompt("hi"), Endpoint("https://api.test", None, None))
    no_model = Endpoint("https://api.test", None, None)
    assert request({**from_prompt("hi"), "model": "claude-conv"}, no_model).body["model"] == "claude-conv"
    assert body_of({**from_prompt("hi"), "model": "claude-conv"})["model"] == "claude-test"  # -m wins


def test_the_cli_without_a_model_exits_2() -> None:
    result = run_cli(
        "fetch", "-d", NAME, "--base-url", "http://127.0.0.1:9", "hi", env={"STREAMKIT_MODEL": ""}
    )
    assert result.returncode == 2 and b"no model" in result.stderr and result.stdout == b""


# --- system, tools, options ----------------------------------------------------------------------


def test_system_prompt_and_tools() -> None:
    conversation = {
        "system": "Be brief.",
        "messages": [{"role": "system", "content": "Use metric units."}, user("Weather?")],
        "tools": [
            {"name": "get_weather", "description": "The weather",
             "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
            {"name": "now"},
        ],
    }  # fmt: skip
    body = body_of(conversation)
    assert body["system"] == "Be brief.\n\nUse metric units."
    assert body["messages"] == [user("Weather?")]  # system messages are the system prompt only
    assert body["tools"] == [
        {"name": "get_weather", "description": "The weather",
         "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
        {"name": "now", "input_schema": {"type": "object", "properties": {}}},
    ]  # fmt: skip
    conforms(body)


def test_canonical_options_are_mapped_and_the_rest_pass_through() -> None:
    options = {
        "max_tokens": 200,
        "temperature": 0.2,
        "top_p": 0.9,
        "stop": "END",
        "top_k": 5,
        "tool_choice": {"type": "any"},
        "metadata": {"user_id": "u1"},
    }
    body = body_of({**from_prompt("hi"), "options": options})
    assert body["max_tokens"] == 200 and body["stop_sequences"] == ["END"] and "stop" not in body
    assert (body["temperature"], body["top_p"], body["top_k"]) == (0.2, 0.9, 5)
    assert body["tool_choice"] == {"type": "any"} and body["metadata"] == {"user_id": "u1"}
    assert body["stream"] is True
    # the SDK's 2.x types follow API version 2026-10-21, which has no sampling parameters; the
    # version this dialect sends (2023-06-01) takes them
    conforms({k: v for k, v in body.items() if k not in ("temperature", "top_p", "top_k")})
    assert body_of({**from_prompt("hi"), "options": {"stop": ["a", "b"]}})["stop_sequences"] == ["a", "b"]


def test_seed_has_no_messages_parameter_and_is_left_out_with_a_warning(
    capsys: pytest.CaptureFixture[str],
) -> None:
    body = body_of({**from_prompt("hi"), "options": {"seed": 7, "temperature": 0}})
    assert "seed" not in body and body["temperature"] == 0
    assert "anthropic cannot send the seed option (1); left out of the request" in capsys.readouterr().err


def test_max_tokens_defaults_above_the_thinking_budget() -> None:
    thinking = {"type": "enabled", "budget_tokens": 10000}
    body = body_of({**from_prompt("hi"), "options": {"thinking": thinking}})
    assert body["max_tokens"] == 14096 and body["thinking"] == thinking
    conforms(body)
    body = body_of({**from_prompt("hi"), "options": {"thinking": thinking, "max_tokens": 12000}})
    assert body["max_tokens"] == 12000  # the caller's own wins
    assert body_of({**from_prompt("hi"), "options": {"thinking": {"type": "adaptive"}}})["max_tokens"] == 4096


def test_betas_go_to_the_anthropic_beta_header_not_the_body() -> None:
    req = request(
        {
            **from_prompt("hi"),
            "options": {"betas": ["context-management-2025-06-27", "mcp-client-2025-04-04"]},
        }
    )
    assert req.headers["anthropic-beta"] == "context-management-2025-06-27,mcp-client-2025-04-04"
    assert "betas" not in req.body
    req = request({**from_prompt("hi"), "options": {"betas": "a-1, b-2"}})
    assert req.headers["anthropic-beta"] == "a-1,b-2"
    with pytest.raises(UsageError, match="betas option must be a list"):
        request({**from_prompt("hi"), "options": {"betas": 3}})


def test_a_tools_option_adds_server_tools_after_the_declared_ones() -> None:
    search = {"type": "web_search_20250305", "name": "web_search", "max_uses": 2}
    conversation = {**from_prompt("hi"), "tools": [{"name": "now"}], "options": {"tools": [search]}}
    body = body_of(conversation)
    assert [t["name"] for t in body["tools"]] == ["now", "web_search"] and body["tools"][1] == search
    conforms(body)
    with pytest.raises(UsageError, match="tools option must be a list"):
        body_of({**from_prompt("hi"), "options": {"tools": "web_search"}})


# --- user content ----------------------------------------------------------------------------------


PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n fake").decode()
PDF = base64.b64encode(b"%PDF-1.7 fake").decode()


def test_user_files_become_image_and_document_blocks() -> None:
    content = [
        text("What is in these?"),
        {"type": "file", "media_type": "image/png", "data": PNG},
        {"type": "file", "media_type": "image/jpeg", "url": "https://example.com/a.jpg"},
        {"type": "file", "media_type": "application/pdf", "data": PDF, "filename": "report.pdf"},
        {"type": "file", "media_type": "application/pdf", "url": "https://example.com/b.pdf"},
        {"type": "file", "media_type": "text/markdown", "data": base64.b64encode("# Notes\nçà".encode()).decode()},
        {"type": "file", "media_type": "image/gif", "url": "data:image/gif;base64,R0lGOD=="},
    ]  # fmt: skip
    body = body_of({"model": "m", "messages": [user(content)]})
    assert body["messages"][0]["content"] == [
        {"type": "text", "text": "What is in these?"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/a.jpg"}},
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": PDF}, "title": "report.pdf"},
        {"type": "document", "source": {"type": "url", "url": "https://example.com/b.pdf"}},
        {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "# Notes\nçà"}},
        {"type": "image", "source": {"type": "base64", "media_type": "image/gif", "data": "R0lGOD=="}},
    ]  # fmt: skip
    conforms(body)


@pytest.mark.parametrize(
    ("part", "message"),
    [
        ({"type": "file", "media_type": "image/bmp", "data": PNG}, "cannot send a image/bmp image"),
        ({"type": "file", "media_type": "audio/wav", "data": PNG}, "cannot send a audio/wav file"),
        (
            {"type": "file", "media_type": "text/plain", "url": "https://x.test/a.txt"},
            "text/plain file by URL",
        ),
        ({"type": "file", "media_type": "text/plain", "data": "@@not base64@@"}, "not base64 of UTF-8 text"),
        ({"type": "file", "media_type": "application/pdf"}, "neither 'data' nor 'url'"),
    ],
    ids=["bmp", "audio", "text-url", "bad-base64", "no-data"],
)
def test_files_the_api_cannot_take_are_usage_errors(part: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        body_of({"model": "m", "messages": [user([text("see"), part])]})


def test_empty_user_text_is_left_out() -> None:
    body = body_of({"model": "m", "messages": [user([text(""), text("hi")])]})
    assert body["messages"] == [user("hi")]


# --- tool results and alternation ------------------------------------------------------------------


def test_tool_results_and_the_user_text_after_them_are_one_user_message() -> None:
    conversation = {
        "model": "m",
        "messages": [
            user(QUESTION),
            assistant(text("Let me look."), call("toolu_1", city="Paris"), call("toolu_2")),
            tool("toolu_1", "windy, 8°C"),
            tool("toolu_2", {"error": "which city?"}, is_error=True),
            user("Answer in French."),
        ],
    }
    body = body_of(conversation)
    assert body["messages"] == [
        user(QUESTION),
        {"role": "assistant", "content": [
            {"type": "text", "text": "Let me look."},
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {}},
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "windy, 8°C"},
            {"type": "tool_result", "tool_use_id": "toolu_2", "content": '{"error":"which city?"}', "is_error": True},
            {"type": "text", "text": "Answer in French."},
        ]},
    ]  # fmt: skip
    conforms(body)


def test_tool_results_come_first_in_their_user_message() -> None:
    conversation = {
        "model": "m",
        "messages": [user("Go"), assistant(call("toolu_1")), user("(also: be quick)"), tool("toolu_1", None)],
    }
    (_, _, last) = body_of(conversation)["messages"]
    assert last["content"] == [
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": ""},
        {"type": "text", "text": "(also: be quick)"},
    ]


def test_consecutive_user_and_assistant_messages_are_merged() -> None:
    conversation = {
        "model": "m",
        "messages": [user("one"), user("two"), assistant(text("a")), assistant(text("b")), user("three")],
    }
    assert body_of(conversation)["messages"] == [
        {"role": "user", "content": [text("one"), text("two")]},
        {"role": "assistant", "content": [text("a"), text("b")]},
        user("three"),
    ]


def test_arguments_that_are_not_an_object_are_sent_as_an_empty_input_with_a_warning(
    capsys: pytest.CaptureFixture[str],
) -> None:
    broken = {"type": "tool-call", "tool_call_id": "toolu_1", "tool_name": "f", "arguments": '{"a": 1', "input": None,
              "input_error": "arguments are not valid JSON"}  # fmt: skip
    from_text = {"type": "tool-call", "tool_call_id": "toolu_2", "tool_name": "g", "arguments": '{"b": 2}'}
    body = body_of({"model": "m", "messages": [user("go"), assistant(broken, from_text)]})
    assert [b["input"] for b in body["messages"][1]["content"]] == [{}, {"b": 2}]
    assert "tool-call arguments that are not a JSON object (sent as {}) (1)" in capsys.readouterr().err


# --- earlier assistant turns -----------------------------------------------------------------------


def test_thinking_keeps_its_exact_signature_and_redacted_thinking_its_data() -> None:
    conversation = {
        "model": "m",
        "messages": [
            user(QUESTION),
            assistant(
                reasoning("I should call the tool.", anthropic={"signature": SIGNATURE}),
                reasoning("", anthropic={"redacted_data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT"}),
                call("toolu_1", city="Paris"),
            ),
            tool("toolu_1", "windy"),
        ],
        "options": {"thinking": {"type": "enabled", "budget_tokens": 2048}},
    }
    body = body_of(conversation)
    assert body["messages"][1]["content"] == [
        {"type": "thinking", "thinking": "I should call the tool.", "signature": SIGNATURE},
        {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT"},
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
    ]
    conforms(body)


def test_reasoning_without_a_signature_is_left_out(capsys: pytest.CaptureFixture[str]) -> None:
    conversation = {
        "model": "m",
        "messages": [
            user("hi"),
            assistant(
                reasoning("from another dialect", **{"openai-responses": {"encrypted_content": "gAAA"}}),
                reasoning("cut off before its signature", anthropic={}),
                reasoning("plain"),
                text("Hello."),
            ),
        ],
    }
    assert body_of(conversation)["messages"][1] == {"role": "assistant", "content": [text("Hello.")]}
    assert capsys.readouterr().err == ""  # expected: the API would reject them


def test_an_assistant_turn_left_empty_is_not_sent() -> None:
    conversation = {"model": "m", "messages": [user("a"), assistant(reasoning("unsigned")), user("b")]}
    assert body_of(conversation)["messages"] == [{"role": "user", "content": [text("a"), text("b")]}]


def test_server_tools_and_their_results_are_sent_back_as_the_blocks_they_were() -> None:
    result = [
        {"type": "web_search_result", "title": "Oslo", "url": "https://oslo.test", "encrypted_content": "Eq"}
    ]
    conversation = {
        "model": "m",
        "messages": [
            user("Capital of Norway?"),
            assistant(
                {**call("srvtoolu_1", "web_search", query="capital of Norway"), "provider_executed": True,
                 "provider_metadata": {NAME: {"type": "server_tool_use"}}},
                {"type": "tool-result", "tool_call_id": "srvtoolu_1", "tool_name": "web_search", "output": result,
                 "is_error": False, "provider_executed": True,
                 "provider_metadata": {NAME: {"type": "web_search_tool_result"}}},
                text("Oslo."),
                {"type": "source", "source_type": "url", "id": "src-0", "url": "https://oslo.test"},
                {**call("toolu_9", "lookup"), "provider_metadata": {NAME: {"caller": {"type": "direct"}}}},
            ),
        ],
    }  # fmt: skip
    body = body_of(conversation)
    assert body["messages"][1]["content"] == [
        {
            "type": "server_tool_use",
            "id": "srvtoolu_1",
            "name": "web_search",
            "input": {"query": "capital of Norway"},
        },
        {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": result},
        {"type": "text", "text": "Oslo."},  # sources describe the answer: not sent back
        {"type": "tool_use", "id": "toolu_9", "name": "lookup", "input": {}, "caller": {"type": "direct"}},
    ]
    conforms(body)


def test_what_an_assistant_turn_cannot_carry_is_left_out_with_a_warning(
    capsys: pytest.CaptureFixture[str],
) -> None:
    groq = {"openai-chat": {"executed_tool": {"index": 0, "type": "search"}}}
    conversation = {
        "model": "m",
        "messages": [
            user("hi"),
            assistant(
                {**call("s1", "search"), "provider_executed": True, "provider_metadata": groq},
                {"type": "tool-result", "tool_call_id": "s1", "tool_name": "search", "output": "x",
                 "provider_executed": True, "provider_metadata": groq},
                {"type": "file", "media_type": "image/png", "data": PNG},
                text("Done."),
            ),
        ],
    }  # fmt: skip
    assert body_of(conversation)["messages"][1]["content"] == [text("Done.")]
    err = capsys.readouterr().err
    assert "anthropic cannot send provider-executed tool calls of other dialects (1)" in err
    assert "anthropic cannot send provider-executed tool results of other dialects (1)" in err
    assert "anthropic cannot send files in assistant turns (1)" in err


def test_compaction_is_sent_back_with_its_opaque_fields() -> None:
    meta = {NAME: {"type": "compaction", "encrypted_content": "EnC", "signature": "sig"}}
    conversation = {
        "model": "m",
        "messages": [user("long"), assistant(reasoning("Summary.", **meta), text("ok")), user("more")],
    }
    assert body_of(conversation)["messages"][1]["content"][0] == {
        "type": "compaction", "content": "Summary.", "encrypted_content": "EnC", "signature": "sig",
    }  # fmt: skip


def test_a_fallback_block_is_sent_back_in_its_place() -> None:
    hop = {
        "from": {"model": "claude-opus-4-5"},
        "to": {"model": "claude-sonnet-4-5"},
        "trigger": {"type": "refusal"},
    }
    meta = {NAME: {"type": "fallback", **hop}}
    conversation = {
        "model": "claude-opus-4-5",
        "messages": [user("q"), assistant(reasoning("", **meta), text("a")), user("more")],
    }
    assert body_of(conversation)["messages"][1]["content"] == [{"type": "fallback", **hop}, text("a")]


def test_the_container_of_the_last_anthropic_turn_is_sent() -> None:
    def turn(container: str) -> dict[str, Any]:
        return assistant(
            text("x"), provider_metadata={NAME: {"container": {"id": container, "expires_at": "2025"}}}
        )

    conversation = {
        "model": "m",
        "messages": [user("a"), turn("container_A"), user("b"), turn("container_B"), user("c")],
    }
    body = body_of(conversation)
    assert body["container"] == "container_B"
    conforms(body)
    assert body_of({**conversation, "options": {"container": "container_C"}})["container"] == "container_C"
    assert "container" not in body_of(
        {"model": "m", "messages": [user("a"), assistant(text("x")), user("b")]}
    )


# --- conversations from real streams ---------------------------------------------------------------


def conversation_after(recording: Path, results: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The next conversation after a recorded response (as ``render -f conversation`` builds it)."""
    turns = [(m, []) for m in messages(events_of(recording))]
    if results:
        turns[-1] = (turns[-1][0], results)
    return next_conversation({"model": "m", "messages": [user("q")]}, turns, default_registry())


def sdk_blocks(recording: Path) -> list[dict[str, Any]]:
    """The content blocks of the recording's messages, as the official SDK accumulates them (null
    fields, citations and empty text blocks left out: not sent back)."""
    out = []
    for message in _sdk_messages(wire_events(recording.read_bytes()), beta=True):
        for block in message.get("content", []):
            block = {k: v for k, v in block.items() if v is not None and k != "citations"}
            if block["type"] != "text" or block["text"]:
                out.append(block)
    return out


ANTHROPIC_RECORDINGS = [pytest.param(p, id=p.stem) for p in sorted(CASES.glob("*.sse"))] + fixture_files(NAME)


@pytest.mark.parametrize("recording", ANTHROPIC_RECORDINGS)
def test_an_earlier_turn_is_sent_back_as_the_api_gave_it(recording: Path) -> None:
    """Every block of an Anthropic response (thinking and its signature, redacted thinking, tool
    calls and their callers, server tools and their results, compaction) goes back in the next
    request exactly as the SDK's accumulator has it, and so does its container."""
    body = request(conversation_after(recording)).body
    sent = [b for m in body["messages"] if m["role"] == "assistant" for b in m["content"]]
    assert sent == sdk_blocks(recording)
    containers = [m.get("container") for m in _sdk_messages(wire_events(recording.read_bytes()), beta=True)]
    expected = next((c["id"] for c in reversed(containers) if c), None)
    assert body.get("container") == expected


def test_a_thinking_turn_with_tool_calls_continues_with_its_signature_and_the_results() -> None:
    recording = CASES / "parallel-tools.sse"
    turn = messages(events_of(recording))[-1]
    calls = [p for p in turn["content"] if p["type"] == "tool-call"]
    results = [{"type": "tool-result", "tool_call_id": c["tool_call_id"], "tool_name": c["tool_name"],
                "output": f"out {i}", "is_error": i == 1} for i, c in enumerate(calls)]  # fmt: skip
    body = request(conversation_after(recording, results)).body
    last = body["messages"][-1]
    assert last["role"] == "user" and last["content"] == [
        {"type": "tool_result", "tool_use_id": calls[0]["tool_call_id"], "content": "out 0"},
        {
            "type": "tool_result",
            "tool_use_id": calls[1]["tool_call_id"],
            "content": "out 1",
            "is_error": True,
        },
    ]
    conforms(body)
    thinking = CASES / "thinking-signature.sse"
    sent = request(conversation_after(thinking)).body["messages"][1]["content"][0]
    assert sent["type"] == "thinking" and sent["signature"] in thinking.read_text()


def test_a_paused_turn_is_sent_back_as_it_is_and_its_resumption_joins_it() -> None:
    """pause_turn: the conversation goes back with the paused turn last, for the server to go on;
    the resumed response (which begins with the server tool's result) joins that turn."""
    paused = conversation_after(CASES / "pause-turn.sse")
    body = request(paused).body
    assert body["messages"][-1] == {
        "role": "assistant",
        "content": [{"type": "server_tool_use", "id": "srvtoolu_01Fetch", "name": "web_fetch",
                     "input": {"url": "https://example.com/"}}],
    }  # fmt: skip
    assert paused.get("state") is None  # nothing is kept on the server
    resumed = messages(events_of(CASES / "pause-turn-resumed.sse"))
    after = next_conversation(paused, [(m, []) for m in resumed], default_registry())
    (turn,) = [m for m in request(after).body["messages"] if m["role"] == "assistant"]
    assert [b["type"] for b in turn["content"]] == ["server_tool_use", "web_fetch_tool_result", "text"]
    assert turn["content"][1]["tool_use_id"] == "srvtoolu_01Fetch"
    conforms(request(after).body)


def test_render_conversation_then_fetch_body_keeps_the_signature(tmp_path: Path) -> None:
    """The shell loop's path: normalize | accumulate | render -f conversation, then the request."""
    recording = CASES / "thinking-signature.sse"
    (tmp_path / "conv.json").write_bytes(orjson.dumps({"model": "m", "messages": [user("17 * 3?")]}))
    stream = run_cli("convert", "--to", "ndjson", str(recording)).stdout
    rendered = run_cli("render", "-f", "conversation", "--base", str(tmp_path / "conv.json"), input=stream)
    assert rendered.returncode == 0, rendered.stderr
    conversation = orjson.loads(rendered.stdout)
    conversation["messages"].append(user("And 17 * 4?"))
    body = request(conversation).body
    assert body["messages"][1]["content"][0] == {
        "type": "thinking",
        "thinking": "The user asks for 17 * 3. 17 * 3 = 51.",
        "signature": "EqQBCkYIBxgCKkBgl4dRzQp5kq0G1t5S3dIhQ2o2oZb4a6rN8r1fYy8pYv0u7x1W2b4c9d0e1f2g3h4i5j6k7l8m9n0o",
    }
    conforms(body)


def test_the_continuation_state_is_none() -> None:
    (message,) = messages(events_of(CASES / "tool-use.sse"))
    assert DIALECT.continuation_state(message, 2) is None


# --- native bodies ---------------------------------------------------------------------------------


def test_a_native_body_is_sent_as_it_is() -> None:
    native = {"model": "claude-x", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}], "stream": True,
              "cache_control": {"type": "ephemeral"}}  # fmt: skip
    req = DIALECT.build_request(None, ENDPOINT, body=native)
    assert (
        req.body == native
        and req.url == "https://api.test/v1/messages"
        and req.headers["x-api-key"] == SECRET
    )


def test_fetch_body_reaches_the_server_unchanged(tmp_path: Path) -> None:
    native = {"model": "claude-x", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}], "stream": True,
              "service_tier": "auto"}  # fmt: skip
    (tmp_path / "body.json").write_bytes(orjson.dumps(native))
    log = tmp_path / "requests.ndjson"
    with serving("-d", NAME, "--replay", str(CASES / "text.sse"), "--log-requests", str(log)) as url:
        result = run_cli("fetch", "-d", NAME, "--base-url", url, "--body", str(tmp_path / "body.json"),
                         env={"ANTHROPIC_API_KEY": SECRET})  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert ndjson(log.read_bytes()) == [native]


# --- fetch against serve --replay is fetch --replay ------------------------------------------------


OURS = sorted(CASES.glob("*.sse"))


def test_fetch_from_serve_replay_equals_fetch_replay() -> None:
    assert_serve_replays(NAME, OURS, model="claude-test", env={"ANTHROPIC_API_KEY": SECRET})


def test_fetch_from_serve_replay_equals_fetch_replay_for_the_shared_recordings() -> None:
    assert_serve_replays(
        NAME, shared_recordings(NAME), model="claude-test", env={"ANTHROPIC_API_KEY": SECRET}
    )


@pytest.mark.parametrize("path", ["/v1/messages", "/messages"])
def test_serve_answers_on_the_messages_paths(path: str, tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_bytes(orjson.dumps([{"text": "Hello there."}] * 2))
    body = {"model": "claude-s", "max_tokens": 5, "messages": [user("hi")]}
    with serving("-d", NAME, "--script", str(script)) as url:
        response = httpx.post(url + path, json={**body, "stream": True}, timeout=30)
        whole = httpx.post(url + path, json=body, timeout=30)  # no stream asked: the whole message
        missing = httpx.post(url + "/v1/chat/completions", json={}, timeout=30)
    assert whole.status_code == 200 and whole.json()["type"] == "message"
    assert whole.json()["content"] == [{"type": "text", "text": "Hello there."}]
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    events = [line.split(": ", 1)[1] for line in response.text.splitlines() if line.startswith("event: ")]
    assert events[0] == "message_start" and events[-1] == "message_stop"
    assert '"model":"claude-s"' in response.text
    assert missing.status_code == 404


# --- the tool loop end to end ----------------------------------------------------------------------


REDACTED = "EmwKAhgBEgy3va3pzix/LafPsn4aDFITredacted"
THINKING_TURNS = [
    {
        "content": [
            {"type": "reasoning", "text": "The user wants the weather; I will call the tool twice.",
             "provider_metadata": {NAME: {"signature": SIGNATURE}}},
            {"type": "reasoning", "text": "", "provider_metadata": {NAME: {"redacted_data": REDACTED}}},
            {"type": "text", "text": "Let me check."},
            {"type": "tool-call", "tool_name": "get_weather", "input": {"city": "Paris"}},
            {"type": "tool-call", "tool_name": "get_weather", "input": {}},
        ]
    },
    {"text": "Paris is windy at 8°C; the second call needed a city."},
]  # fmt: skip


def _script(tmp_path: Path, turns: list[dict[str, Any]]) -> Path:
    path = tmp_path / "script.json"
    path.write_bytes(orjson.dumps(turns))
    return path


def test_the_agent_keeps_thinking_with_its_exact_signature_in_the_continuation(tmp_path: Path) -> None:
    log = tmp_path / "requests.ndjson"
    with serving(
        "-d", NAME, "--script", str(_script(tmp_path, THINKING_TURNS)), "--log-requests", str(log)
    ) as url:
        result = run_cli("agent", "-d", NAME, "--base-url", url, "-m", "claude-test", "--tools", str(TOOLS),
                         "-o", "thinking={\"type\": \"enabled\", \"budget_tokens\": 1024}", QUESTION,
                         env={"ANTHROPIC_API_KEY": SECRET})  # fmt: skip
    assert result.returncode == 0, result.stderr
    final = messages(ndjson(result.stdout))[-1]
    assert final["content"][-1]["text"] == THINKING_TURNS[1]["text"]
    first, second = ndjson(log.read_bytes())
    assert first["messages"] == [user(QUESTION)] and first["thinking"]["budget_tokens"] == 1024
    assert first["max_tokens"] == 4096 + 1024 and [t["name"] for t in first["tools"]] == ["get_weather"]
    conforms(first)
    turn = second["messages"][1]
    assert turn["role"] == "assistant"
    assert turn["content"][:3] == [
        {"type": "thinking", "thinking": "The user wants the weather; I will call the tool twice.", "signature": SIGNATURE},
        {"type": "redacted_thinking", "data": REDACTED},
        {"type": "text", "text": "Let me check."},
    ]  # fmt: skip
    uses = turn["content"][3:]
    assert [(b["type"], b["input"]) for b in uses] == [("tool_use", {"city": "Paris"}), ("tool_use", {})]
    results = second["messages"][2]["content"]
    assert [b["tool_use_id"] for b in results] == [b["id"] for b in uses]
    assert "windy" in results[0]["content"] and "is_error" not in results[0]
    assert "which city?" in results[1]["content"] and results[1]["is_error"] is True
    assert len(second["messages"]) == 3
    conforms(second)
    assert SECRET.encode() not in result.stdout + result.stderr + log.read_bytes()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_the_official_client_completes_a_tool_loop_against_serve(tmp_path: Path) -> None:
    """client.messages.stream() over real HTTP: a thinking turn that asks for two tools, then the
    client's own continuation (the assistant's content as it accumulated it, tool_result blocks),
    then the answer."""
    import anthropic

    log = tmp_path / "requests.ndjson"
    tools = [{"name": "get_weather", "description": "The weather",
              "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}]  # fmt: skip
    conversation: list[dict[str, Any]] = [{"role": "user", "content": QUESTION}]
    with serving(
        "-d", NAME, "--script", str(_script(tmp_path, THINKING_TURNS)), "--log-requests", str(log)
    ) as url:
        client = anthropic.Anthropic(base_url=url, api_key="sk-ant-client", max_retries=0)
        with client.messages.stream(
            model="claude-test", max_tokens=2048, messages=conversation, tools=tools
        ) as stream:
            deltas = list(stream.text_stream)
            first = stream.get_final_message()
        assert first.stop_reason == "tool_use" and "".join(deltas) == "Let me check."
        assert [b.type for b in first.content] == [
            "thinking",
            "redacted_thinking",
            "text",
            "tool_use",
            "tool_use",
        ]
        assert first.content[0].signature == SIGNATURE and first.content[1].data == REDACTED
        uses = [b for b in first.content if b.type == "tool_use"]
        assert [u.input for u in uses] == [{"city": "Paris"}, {}]
        conversation.append({"role": "assistant", "content": first.content})
        conversation.append({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": uses[0].id, "content": "windy, 8°C"},
            {"type": "tool_result", "tool_use_id": uses[1].id, "content": "which city?", "is_error": True},
        ]})  # fmt: skip
        with client.messages.stream(
            model="claude-test", max_tokens=2048, messages=conversation, tools=tools
        ) as stream:
            second = stream.get_final_message()
        client.close()
    assert second.stop_reason == "end_turn"
    assert [b.text for b in second.content if b.type == "text"] == [THINKING_TURNS[1]["text"]]
    # what the client sent back is what our agent sends back: the turn's blocks, signature intact
    bodies = ndjson(log.read_bytes())
    sent = bodies[1]["messages"][1]["content"]
    assert sent[0] == {
        "type": "thinking",
        "thinking": THINKING_TURNS[0]["content"][0]["text"],
        "signature": SIGNATURE,
    }
    assert sent[1] == {"type": "redacted_thinking", "data": REDACTED}
    from tests.dialects.anthropic.continuations import results

    assert results(bodies[1]) == [("windy, 8°C", False), ("which city?", True)]
