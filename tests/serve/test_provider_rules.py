"""The provider rules (``serve --strict``'s, and what the gateway tests check upstream requests
against) flag what they name, and read any JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamkit.serve.provider_rules import GEMINI_SCHEMA, problems
from streamkit.testing import serving
from tests.conftest import run_cli

CALL = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
USE = {"type": "tool_use", "id": "t1", "name": "f", "input": {}}
RESULT = {"type": "tool_result", "tool_use_id": "t1", "content": "ok"}

CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("openai-chat", {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}, []),
    ("openai-chat", {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": None}]},
     ["neither content nor tool_calls"]),
    ("openai-chat", {"messages": [{"role": "assistant", "content": None, "tool_calls": [CALL]},
                                  {"role": "tool", "tool_call_id": "c1", "content": "ok"}]}, []),
    ("openai-chat", {"messages": [{"role": "assistant", "content": None, "tool_calls": [CALL]},
                                  {"role": "user", "content": "and?"}]}, ["['c1'] have no tool message"]),
    ("openai-chat", {"messages": [{"role": "user", "content": "hi"}, {"role": "tool", "tool_call_id": "c9"}]},
     ["answering no call (c9)"]),
    ("anthropic", {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": [USE]},
                                {"role": "user", "content": [RESULT]}]}, []),
    ("anthropic", {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": []},
                                {"role": "user", "content": "again"}]}, ["messages.1: a message with no content"]),
    ("anthropic", {"messages": [{"role": "user", "content": [{"type": "text", "text": ""}]}]}, ["empty text block"]),
    ("anthropic", {"messages": [{"role": "assistant", "content": [USE]}, {"role": "user", "content": "hm"}]},
     ["['t1'] have no tool_result here"]),
    ("anthropic", {"messages": [{"role": "user", "content": [RESULT]}]}, ["answer no tool_use before"]),
    ("anthropic", {"messages": [], "tools": [{"type": "web_search_20250305", "name": "web_search",
                                              "allowed_domains": ["a"], "blocked_domains": ["b"]}]}, ["both allowed_domains and blocked_domains"]),
    ("anthropic", {"messages": [], "tools": [{"type": "web_search_20250305", "name": "search"}]},
     ["named 'search', not 'web_search'"]),
    ("anthropic", {"messages": [], "tools": [{"type": "web_search_20250305", "name": "web_search"}]}, []),
    ("openai-chat", {"model": "gpt-4.1", "messages": [], "tool_choice": "auto"}, ["tool_choice without tools"]),
    ("openai-chat", {"model": "gpt-4.1", "messages": [], "web_search_options": {}}, ["no search model"]),
    ("openai-chat", {"model": "gpt-4o-search-preview", "messages": [], "web_search_options": {}}, []),
    ("openai-chat", {"messages": [], "tools": [{"type": "function", "function": {"name": "f"}}],
                     "tool_choice": {"type": "function", "function": {"name": "web_search"}}}, ["names 'web_search'"]),
    ("anthropic", {"messages": [], "tools": [{"name": "f"}], "tool_choice": {"type": "tool", "name": "g"}},
     ["names 'g', no tool"]),
    ("gemini", {"contents": [], "tools": [{"googleSearch": {}}],
                "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["web_search"]}}},
     ["names 'web_search', no function declaration"]),
    ("openai-responses", {"tools": [{"type": "web_search"}], "tool_choice": {"type": "function", "name": "web_search"}},
     ["names 'web_search', no function"]),
    ("gemini", {"contents": [{"role": "model", "parts": [{"functionCall": {"name": "f"}}] * 2},
                             {"role": "user", "parts": [{"functionResponse": {"name": "f"}}]}]},
     ["1 function responses for 2 function calls"]),
    ("gemini", {"contents": [{"role": "model", "parts": [{"functionCall": {"name": "f"}}]},
                             {"role": "user", "parts": [{"functionResponse": {"name": "f"}}]}]}, []),
    ("openai-responses", {"input": [{"type": "function_call_output", "call_id": "c1", "output": "ok"}]},
     ["no function_call with call_id c1"]),
    ("openai-responses", {"input": [{"type": "reasoning", "summary": [], "encrypted_content": "streamkit:abc"}]},
     ["a reasoning item the API cannot read back"]),
    ("openai-responses", {"input": [{"type": "reasoning", "id": "rs_1", "summary": []},
                                    {"type": "reasoning", "summary": [], "encrypted_content": "gAAAA"}]}, []),
    ("openai-responses", {"previous_response_id": "resp_1",
                          "input": [{"type": "function_call_output", "call_id": "c1", "output": "ok"}]}, []),
    ("openai-chat", {"tools": [{"type": "function", "function": {"name": "multi_agent_v1.spawn"}}], "messages": []},
     ["is not ^[a-zA-Z0-9_-]{1,64}$"]),
    ("openai-chat", {"messages": [{"role": "assistant", "content": None, "tool_calls": [
        {**CALL, "function": {"name": "f", "arguments": {}}}]}, {"role": "tool", "tool_call_id": "c1"}]},
     ["arguments are not a string"]),
    ("anthropic", {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": [
        {"type": "thinking", "thinking": "hm"}, {"type": "text", "text": "yo"}]}]}, ["without its signature"]),
    ("anthropic", {"messages": [{"role": "assistant", "content": [{**USE, "input": "x"}]},
                                {"role": "user", "content": [RESULT]}]}, ["input is not an object"]),
    ("gemini", {"contents": [{"role": "user", "parts": []}]}, ["no parts"]),
    ("gemini", {"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]}, ["is not user or model"]),
    ("gemini", {"tools": [{"functionDeclarations": [{"name": "9lives"}]}], "contents": []}, ["not one Gemini takes"]),
    ("gemini", {"tools": [{"functionDeclarations": [{"name": "f", "parameters": {"type": "object", "properties": {
        "n": {"type": "number", "exclusiveMinimum": 0}, "s": {"type": ["string", "null"]}}}}]}], "contents": []},
     ["'exclusiveMinimum' is no field", "a list of types"]),
]  # fmt: skip


@pytest.mark.parametrize(("dialect", "body", "expected"), CASES)
def test_each_rule_flags_what_it_names(dialect: str, body: dict[str, Any], expected: list[str]) -> None:
    found = problems(dialect, body)
    assert len(found) == len(expected), found
    for problem, words in zip(found, expected):
        assert words in problem


def test_gemini_schema_fields_are_the_sdks() -> None:
    """:data:`GEMINI_SCHEMA` is what the google-genai SDK's ``Schema`` model holds."""
    types = pytest.importorskip("google.genai.types")
    assert {f.alias or name for name, f in types.Schema.model_fields.items()} == GEMINI_SCHEMA


#: any JSON, with the keys the rules read more often than chance would give them
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=4)
    | st.sampled_from(["assistant", "tool", "user", "model", "function", "tool_use", "tool_result", "text",
                       "function_call", "function_call_output", "reasoning", "thinking", "web_search_2025"]),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(["role", "content", "tool_calls", "tool_call_id", "id", "type", "function",
                                       "arguments", "name", "input", "tool_use_id", "parts", "functionCall",
                                       "functionResponse", "call_id", "parameters", "properties", "items",
                                       "anyOf", "allowed_domains", "blocked_domains", "encrypted_content"])
                      | st.text(max_size=3), inner, max_size=4),
    max_leaves=12,
)  # fmt: skip
TOP = ["messages", "tools", "tool_choice", "contents", "toolConfig", "input", "model", "web_search_options",
       "previous_response_id"]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(dialect=st.sampled_from(["openai-chat", "anthropic", "gemini", "openai-responses", "ollama"]),
       body=st.dictionaries(st.sampled_from(TOP), JSON, max_size=5))  # fmt: skip
def test_any_json_gives_words_never_an_exception(dialect: str, body: dict[str, Any]) -> None:
    """``serve --strict`` reads any client's request: each problem is a string, whatever the
    types (an id that is a list, a message that is a number)."""
    assert all(isinstance(p, str) for p in problems(dialect, body))


@pytest.mark.parametrize(
    ("dialect", "body"),
    [
        ("openai-chat", {"messages": [{"role": "tool", "tool_call_id": []}]}),
        ("openai-chat", {"messages": [{"role": "assistant", "tool_calls": [{"id": {}}]}], "tool_choice": {
            "function": {"name": []}}, "tools": [{"type": "function", "function": {"name": {}}}]}),
        ("openai-responses", {"input": [{"type": "function_call", "call_id": []},
                                        {"type": "function_call_output", "call_id": {}}]}),
        ("openai-responses", {"tool_choice": {"type": "function", "name": []}, "tools": [{"type": "function",
                                                                                         "name": {}}]}),
        ("anthropic", {"messages": [{"role": "assistant", "content": [{"type": "tool_use", "id": []}]},
                                    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": {}}]}],
                       "tool_choice": {"type": "tool", "name": []}, "tools": [{"name": {}}]}),
        ("gemini", {"tools": [{"functionDeclarations": [{"name": {}}]}],
                    "toolConfig": {"functionCallingConfig": {"allowedFunctionNames": [[]]}}}),
    ],
)  # fmt: skip
def test_ids_and_names_of_any_type_are_told_not_raised(dialect: str, body: dict[str, Any]) -> None:
    assert problems(dialect, body)  # (each names a call, tool or choice that matches none)


# --- serve --strict ----------------------------------------------------------------------------------


def _script(tmp_path: Path) -> str:
    path = tmp_path / "script.json"
    path.write_bytes(orjson.dumps([{"text": "First."}, {"text": "Second."}]))
    return str(path)


UNANSWERED = [
    {"role": "user", "content": "weather?"},
    {"role": "assistant", "content": None, "tool_calls": [CALL]},
    {"role": "user", "content": "well?"},
]


def test_strict_refuses_what_the_api_would_in_the_clients_own_error(tmp_path: Path) -> None:
    """The official SDKs get their own 400 errors naming the rule; the request uses up no turn,
    and a good request after it gets the first one."""
    openai = pytest.importorskip("openai")
    anthropic = pytest.importorskip("anthropic")
    with serving("--script", _script(tmp_path), "--strict") as url:
        chat = openai.OpenAI(api_key="k", base_url=f"{url}/v1", max_retries=0)
        with pytest.raises(openai.BadRequestError) as refused:
            chat.chat.completions.create(model="m", messages=UNANSWERED)  # type: ignore[arg-type]
        claude = anthropic.Anthropic(api_key="k", base_url=url, max_retries=0)
        with pytest.raises(anthropic.BadRequestError) as refused_too:
            claude.messages.create(model="m", max_tokens=10, messages=[{"role": "user", "content": "hi"}],
                                   tools=[{"name": "f", "input_schema": {"type": "object"}}],
                                   tool_choice={"type": "tool", "name": "g"})  # fmt: skip
        good = chat.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert "would refuse this request" in str(refused.value) and "['c1'] have no tool message" in str(
        refused.value
    )
    assert "tool_choice names 'g', no tool of the request" in str(refused_too.value)
    assert good.choices[0].message.content == "First."


def test_strict_refuses_over_the_responses_websocket_and_the_connection_goes_on(tmp_path: Path) -> None:
    from websockets.sync.client import connect

    orphan = {"type": "function_call_output", "call_id": "c9", "output": "x"}
    with (
        serving("--script", _script(tmp_path), "--strict") as url,
        connect(url.replace("http://", "ws://") + "/v1/responses") as ws,
    ):
        ws.send(orjson.dumps({"type": "response.create", "model": "m", "input": [orphan]}).decode())
        refused = orjson.loads(ws.recv(timeout=10))
        ws.send(orjson.dumps({"type": "response.create", "model": "m", "input": "hi"}).decode())
        created = orjson.loads(ws.recv(timeout=10))
    assert refused["type"] == "error" and refused["status"] == 400
    assert "no function_call with call_id c9" in refused["error"]["message"]
    assert created["type"] == "response.created"


def test_without_strict_the_same_request_is_answered(tmp_path: Path) -> None:
    import httpx

    with serving("--script", _script(tmp_path)) as url:
        answer = httpx.post(f"{url}/v1/chat/completions", json={"model": "m", "messages": UNANSWERED})
    assert answer.status_code == 200 and answer.json()["choices"][0]["message"]["content"] == "First."


def test_strict_is_for_a_script_or_recordings_not_a_gateway() -> None:
    result = run_cli("serve", "--upstream", "openai-chat", "--base-url", "http://127.0.0.1:9/v1", "--strict")
    assert result.returncode == 2 and b"--strict is for --script and --replay" in result.stderr
    assert b"Traceback" not in result.stderr
