"""The provider rules the gateway tests check upstream requests against flag what they name."""

from __future__ import annotations

from typing import Any

import pytest

from streamkit.serve.provider_rules import problems

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
