"""openai-chat requests: the bodies built from canonical conversations, the canonical options in
their Chat form, and what cannot be sent warned about once."""

from __future__ import annotations

from typing import Any

import pytest
from openai.types.chat import completion_create_params

from streamkit.conversation import CUSTOM_TOOL_PARAMETERS, check
from streamkit.dialects.base import Endpoint
from streamkit.dialects.openai_chat import OpenAIChat
from streamkit.dialects.openai_chat.request import budget_effort

DIALECT = OpenAIChat()
ENDPOINT = Endpoint("https://api.test/v1", api_key="sk-x", model="gpt-4o")
HI = {"role": "user", "content": "Hi"}


def body(conversation: dict[str, Any]) -> dict[str, Any]:
    return DIALECT.build_request(check(conversation), ENDPOINT).body


def options(**opts: Any) -> dict[str, Any]:
    # (a tool_choice goes with the tools it chooses among: the API refuses one without tools)
    tools = [{"name": "f"}] if "tool_choice" in opts else []
    built = body({"messages": [HI], "options": opts, "tools": tools})
    skip = ("model", "messages", "stream", "stream_options", "tools")
    return {k: v for k, v in built.items() if k not in skip}


def test_a_tool_choice_without_tools_is_not_sent() -> None:
    assert "tool_choice" not in body({"messages": [HI], "options": {"tool_choice": "required"}})


def test_a_prompt_and_the_request() -> None:
    request = DIALECT.build_request(check({"system": "Be terse.", "messages": [HI]}), ENDPOINT)
    assert request.url == "https://api.test/v1/chat/completions"
    assert request.headers["Authorization"] == "Bearer sk-x"
    assert request.body == {
        "model": "gpt-4o",
        "messages": [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Hi"}],
        "stream": True,
        "stream_options": {"include_usage": True},  # usage is always asked for
    }


def test_system_and_developer_messages_are_one_system_message_first() -> None:
    built = body(
        {
            "system": "A.",
            "messages": [
                {"role": "system", "content": "B.", "developer": True},
                HI,
                {"role": "system", "content": [{"type": "text", "text": "C."}]},
            ],
        }
    )
    assert built["messages"] == [
        {"role": "system", "content": "A.\n\nB.\n\nC."},
        {"role": "user", "content": "Hi"},
    ]


@pytest.mark.parametrize(
    ("opts", "native"),
    [
        ({"max_tokens": 50, "temperature": 0.1, "top_p": 0.5, "seed": 1, "stop": ["x"]},
         {"max_tokens": 50, "temperature": 0.1, "top_p": 0.5, "seed": 1, "stop": ["x"]}),
        ({"frequency_penalty": 0.3, "presence_penalty": 0.4, "top_k": 20, "parallel_tool_calls": False},
         {"frequency_penalty": 0.3, "presence_penalty": 0.4, "top_k": 20, "parallel_tool_calls": False}),
        ({"tool_choice": "required"}, {"tool_choice": "required"}),
        ({"tool_choice": {"name": "f"}}, {"tool_choice": {"type": "function", "function": {"name": "f"}}}),
        ({"response_format": {"type": "json_object"}}, {"response_format": {"type": "json_object"}}),
        ({"response_format": {"type": "json_schema", "schema": {"type": "object"}}},
         {"response_format": {"type": "json_schema", "json_schema": {"name": "response", "schema": {"type": "object"}}}}),
        ({"response_format": {"type": "json_schema", "name": "a", "schema": {}, "strict": True}},
         {"response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": {}, "strict": True}}}),
        ({"reasoning_effort": "minimal"}, {"reasoning_effort": "minimal"}),
        ({"reasoning_budget": 1024}, {"reasoning_effort": "low"}),
        ({"reasoning_budget": 8000}, {"reasoning_effort": "medium"}),
        ({"reasoning_budget": 32000}, {"reasoning_effort": "high"}),
        ({"reasoning_budget": 0}, {"reasoning_effort": "none"}),
        ({"reasoning_budget": -1}, {"reasoning_effort": "medium"}),
        ({"reasoning_budget": 1024, "reasoning_effort": "high"}, {"reasoning_effort": "high"}),
        ({"logprobs": True, "user": "u"}, {"logprobs": True, "user": "u"}),  # native options as they are
    ],
)  # fmt: skip
def test_canonical_options_in_their_chat_form(opts: dict[str, Any], native: dict[str, Any]) -> None:
    assert options(**opts) == native


def test_every_option_name_is_a_parameter_of_the_sdk() -> None:
    """What the builder names a canonical option is a Chat Completions parameter (top_k aside:
    compatible servers read it)."""
    known = set(completion_create_params.CompletionCreateParamsBase.__annotations__)
    built = options(
        max_tokens=1, temperature=0, top_p=1, seed=1, stop=["x"], frequency_penalty=0, presence_penalty=0,
        tool_choice="auto", parallel_tool_calls=True, response_format={"type": "json_object"},
        reasoning_effort="low",
    )  # fmt: skip
    assert set(built) <= known


def test_a_budget_that_is_not_a_number_is_dropped_with_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    assert options(reasoning_budget="lots") == {}
    assert "openai-chat cannot send the reasoning budget 'lots' (1)" in capsys.readouterr().err
    assert budget_effort(True) is None


def test_tools_are_functions_and_a_custom_tool_takes_one_string(capsys: pytest.CaptureFixture[str]) -> None:
    grammar = {"type": "grammar", "grammar": {"syntax": "lark", "definition": "start: /.+/"}}
    built = body(
        {
            "messages": [
                HI,
                {"role": "assistant", "content": [
                    {"type": "tool-call", "tool_call_id": "c1", "tool_name": "apply_patch", "arguments": '{"input": "P"}', "input": {"input": "P"}},
                    {"type": "tool-call", "tool_call_id": "c2", "tool_name": "apply_patch", "arguments": "", "input": "Q"},
                ]},
            ],
            "tools": [
                {"name": "f", "parameters": {"type": "object", "properties": {"a": {"type": "string"}}},
                 "provider_metadata": {"openai-chat": {"strict": True}}},
                {"name": "g"},
                {"name": "apply_patch", "kind": "custom", "description": "Patch.", "format": grammar},
            ],
        }
    )  # fmt: skip
    assert built["tools"] == [
        {"type": "function", "function": {"name": "f", "description": "", "strict": True,
                                          "parameters": {"type": "object", "properties": {"a": {"type": "string"}}}}},
        {"type": "function", "function": {"name": "g", "description": "", "parameters": {"type": "object", "properties": {}}}},
        {"type": "function", "function": {"name": "apply_patch", "description": "Patch.", "parameters": CUSTOM_TOOL_PARAMETERS}},
    ]  # fmt: skip
    calls = built["messages"][1]["tool_calls"]
    assert [c["function"]["arguments"] for c in calls] == ['{"input": "P"}', '{"input":"Q"}']
    assert "openai-chat cannot send the grammars of custom tools (1)" in capsys.readouterr().err


def test_assistant_turns_text_refusal_and_calls() -> None:
    built = body(
        {
            "messages": [
                HI,
                {"role": "assistant", "content": [
                    {"type": "text", "text": "Checking."},
                    {"type": "tool-call", "tool_call_id": "c1", "tool_name": "f", "arguments": '{"a":1}', "input": {"a": 1}},
                ]},
                {"role": "tool", "tool_call_id": "c1", "tool_name": "f", "output": {"ok": True}, "is_error": True},
                {"role": "assistant", "content": [{"type": "text", "text": "No.", "refusal": True}]},
            ]
        }
    )  # fmt: skip
    assert built["messages"][1:] == [
        {"role": "assistant", "content": "Checking.",
         "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": '{"ok":true}'},
        {"role": "assistant", "content": None, "refusal": "No."},
    ]  # fmt: skip


def test_reasoning_goes_back_only_where_it_came_from() -> None:
    turn = [
        {"type": "reasoning", "text": "other dialect's thoughts"},  # never sent: DeepSeek answers 400
        {"type": "reasoning", "text": "mine", "provider_metadata": {"openai-chat": {"field": "reasoning_content"}}},
        {"type": "reasoning", "text": "signed", "provider_metadata": {"openai-chat": {"type": "reasoning.text", "signature": "sig", "format": "anthropic-claude-v1"}}},
        {"type": "reasoning", "text": "", "provider_metadata": {"openai-chat": {"type": "reasoning.encrypted", "data": "ZW5j"}}},
        {"type": "reasoning", "text": "sealed", "provider_metadata": {"anthropic": {"signature": "x"}}},
        {"type": "text", "text": "4"},
    ]  # fmt: skip
    (_, assistant) = body({"messages": [HI, {"role": "assistant", "content": turn}]})["messages"]
    assert assistant == {
        "role": "assistant",
        "content": "4",
        "reasoning_content": "mine",
        "reasoning_details": [
            {"type": "reasoning.text", "signature": "sig", "format": "anthropic-claude-v1", "text": "signed"},
            {"type": "reasoning.encrypted", "data": "ZW5j"},
        ],
    }


def test_user_files(capsys: pytest.CaptureFixture[str]) -> None:
    built = body(
        {
            "messages": [
                {"role": "user", "content": [
                    {"type": "text", "text": "See"},
                    {"type": "file", "media_type": "image/png", "data": "AAA", "provider_metadata": {"openai-chat": {"detail": "low"}}},
                    {"type": "file", "media_type": "image/jpeg", "url": "https://x.test/a.jpg"},
                    {"type": "file", "media_type": "audio/mpeg", "data": "SUQz"},
                    {"type": "file", "media_type": "application/pdf", "data": "JVBE", "filename": "a.pdf"},
                    {"type": "file", "media_type": "application/pdf", "provider_metadata": {"openai-chat": {"file_id": "file-1"}}},
                ]},
                {"role": "assistant", "content": [{"type": "file", "media_type": "image/png", "data": "AAA"},
                                                  {"type": "tool-call", "tool_call_id": "x", "tool_name": "web_search", "provider_executed": True}]},
            ]
        }
    )  # fmt: skip
    assert built["messages"][0]["content"] == [
        {"type": "text", "text": "See"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA", "detail": "low"}},
        {"type": "image_url", "image_url": {"url": "https://x.test/a.jpg"}},
        {"type": "input_audio", "input_audio": {"data": "SUQz", "format": "mp3"}},
        {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBE", "filename": "a.pdf"}},
        {"type": "file", "file": {"file_id": "file-1"}},
    ]
    assert built["messages"][1] == {"role": "assistant", "content": None}
    err = capsys.readouterr().err
    assert (
        "cannot send files of assistant turns (1)" in err and "cannot send provider-executed tools (1)" in err
    )


def test_provider_metadata_is_restored_and_the_canonical_options_win() -> None:
    built = body(
        {
            "messages": [HI],
            "options": {"temperature": 0.5, "max_tokens": 9},
            "provider_metadata": {
                "openai-chat": {"body": {"temperature": 1.0, "store": False, "metadata": {"a": "b"}},
                                "max_tokens_field": "max_completion_tokens"},
                "anthropic": {"body": {"cache_control": {"type": "ephemeral"}}},
            },
        }
    )  # fmt: skip
    assert built["temperature"] == 0.5 and built["store"] is False and built["metadata"] == {"a": "b"}
    assert built["max_completion_tokens"] == 9 and "max_tokens" not in built
    assert "cache_control" not in built  # another dialect's metadata is not ours
