"""openai-responses requests for a gateway: every canonical option in its Responses form (or left
out with one warning), developer messages in their place, freeform tools declared as ``custom``,
and what the conversation's ``provider_metadata`` keeps restored. Every body validates as the
official SDK's streaming create parameters.
"""

from __future__ import annotations

from typing import Any

import pytest

from streamkit.conversation import tool_parameters
from tests.dialects.openai_responses.test_request import DIALECT, ENDPOINT, body_of, pm, user

NAME = "openai-responses"


def built(conversation: dict[str, Any]) -> dict[str, Any]:
    """The body, not checked against the SDK's parameter types: those require an ``id`` on a
    reasoning item, which the API does not (Codex sends its reasoning items without one), and know
    no ``item_reference`` beside the other items."""
    return DIALECT.build_request(conversation, ENDPOINT).body


def options_body(**options: Any) -> dict[str, Any]:
    tools = [{"name": "shell", "parameters": {"type": "object"}}, {"name": "apply_patch", "kind": "custom"}]
    return body_of({"messages": [user("hi")], "tools": tools, "options": options})


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"max_tokens": 50, "temperature": 0.1, "top_p": 0.5}, {"max_output_tokens": 50, "temperature": 0.1, "top_p": 0.5}),
        ({"parallel_tool_calls": False}, {"parallel_tool_calls": False}),
        ({"tool_choice": "required"}, {"tool_choice": "required"}),
        ({"tool_choice": {"name": "shell"}}, {"tool_choice": {"type": "function", "name": "shell"}}),
        ({"tool_choice": {"name": "apply_patch"}}, {"tool_choice": {"type": "custom", "name": "apply_patch"}}),
        ({"tool_choice": {"type": "function", "name": "shell"}}, {"tool_choice": {"type": "function", "name": "shell"}}),
        ({"response_format": {"type": "json_object"}}, {"text": {"format": {"type": "json_object"}}}),
        ({"response_format": {"type": "json_schema", "schema": {"type": "object"}}},
         {"text": {"format": {"type": "json_schema", "name": "response", "schema": {"type": "object"}}}}),
        ({"response_format": {"type": "json_schema", "name": "city", "schema": {"type": "object"}, "strict": True},
          "text": {"verbosity": "low"}},
         {"text": {"format": {"type": "json_schema", "name": "city", "schema": {"type": "object"}, "strict": True},
                   "verbosity": "low"}}),
        ({"reasoning_effort": "minimal"}, {"reasoning": {"effort": "minimal"}}),
        ({"reasoning_effort": "high", "reasoning": {"summary": "auto"}}, {"reasoning": {"summary": "auto", "effort": "high"}}),
        ({"reasoning_budget": 1024}, {"reasoning": {"effort": "low"}}),
        ({"reasoning_budget": 8000}, {"reasoning": {"effort": "medium"}}),
        ({"reasoning_budget": 32000}, {"reasoning": {"effort": "high"}}),
        ({"reasoning_budget": 0}, {}),  # no thinking: no effort every model takes says so
        ({"reasoning_budget": -1}, {}),  # dynamic: the model's default
        ({"reasoning_effort": "low", "reasoning_budget": 32000}, {"reasoning": {"effort": "low"}}),
    ],
)  # fmt: skip
def test_canonical_options_in_their_responses_form(options: dict[str, Any], expected: dict[str, Any]) -> None:
    body = options_body(**options)
    rest = {k: v for k, v in body.items() if k not in ("model", "input", "tools", "stream")}
    assert rest == expected


def test_options_the_api_has_no_parameter_for_are_left_out_with_one_warning(
    capsys: pytest.CaptureFixture[str],
) -> None:
    body = options_body(top_k=40, stop=["\n"], seed=7, frequency_penalty=0.5, presence_penalty=0.5,
                        reasoning_effort="extreme", tool_choice=7, response_format="json_schema")  # fmt: skip
    assert not {"top_k", "stop", "seed", "frequency_penalty", "presence_penalty", "reasoning", "tool_choice",
                "text"} & set(body)  # fmt: skip
    warnings = capsys.readouterr().err.splitlines()
    assert len(warnings) == 8
    assert any(
        "openai-responses cannot send the stop option (1); left out of the request" in w for w in warnings
    )
    assert any("the reasoning effort 'extreme'" in w for w in warnings)
    assert any("the response format 'json_schema'" in w for w in warnings)


def test_developer_messages_stay_in_their_place() -> None:
    conversation = {
        "system": "Base.",
        "messages": [
            {"role": "system", "content": "Also system."},
            {"role": "system", "content": [{"type": "text", "text": "Rules."}], "developer": True},
            user("hi"),
        ],
    }
    body = body_of(conversation)
    assert body["instructions"] == "Base.\n\nAlso system."
    assert body["input"][0] == {"type": "message", "role": "developer",
                                "content": [{"type": "input_text", "text": "Rules."}]}  # fmt: skip


def test_a_freeform_tool_is_declared_custom_and_its_call_is_a_custom_tool_call() -> None:
    fmt = {"type": "grammar", "syntax": "lark", "definition": "start: /.+/"}
    tools = [{"name": "apply_patch", "kind": "custom", "description": "Edit files.", "format": fmt},
             {"name": "note", "kind": "custom"}]  # fmt: skip
    turn = {"role": "assistant", "content": [
        {"type": "tool-call", "tool_call_id": "call_1", "tool_name": "apply_patch", "arguments": '{"input":"x"}',
         "input": {"input": "x"}, **pm(type="custom_tool_call")}]}  # fmt: skip
    result = {"role": "tool", "tool_call_id": "call_1", "output": "done"}
    body = body_of({"messages": [user("hi"), turn, result], "tools": tools})
    assert body["tools"] == [
        {"type": "custom", "name": "apply_patch", "description": "Edit files.", "format": fmt},
        {"type": "custom", "name": "note"},
    ]
    assert body["input"][1:] == [
        {"type": "custom_tool_call", "call_id": "call_1", "name": "apply_patch", "input": "x"},
        {"type": "custom_tool_call_output", "call_id": "call_1", "output": "done"},
    ]
    # the declaration other dialects get (one string, "input")
    assert tool_parameters(tools[0])["required"] == ["input"]


def test_what_provider_metadata_keeps_is_restored() -> None:
    conversation = {
        "messages": [
            user("Look"),
            {"role": "user", "content": [
                {"type": "file", "media_type": "image/*", **pm(file_id="file-1", detail="high")},
                {"type": "text", "text": "Cached prefix.", **pm(fields={"prompt_cache_breakpoint": {"mode": "explicit"}})},
            ]},
            {"role": "tool", "tool_call_id": "c1", "output": [{"type": "input_text", "text": "shot"}],
             **pm(output_parts=True)},
        ],
        "tools": [{"name": "f", "parameters": {"type": "object"}, **pm(fields={"defer_loading": True})}],
        "options": {"reasoning_effort": "high", "tool_choice": "auto"},
        "provider_metadata": {NAME: {
            "body": {"store": False, "prompt_cache_key": "k", "include": ["message.output_text.logprobs"]},
            "reasoning": {"summary": "auto", "effort": "xhigh"},
            "text": {"verbosity": "low"},
            "tool_choice": {"type": "allowed_tools", "mode": "auto", "tools": [{"type": "function", "name": "f"}]},
            "tools": [{"type": "web_search"}],
            "input_items": [[1, {"type": "item_reference", "id": "msg_0"}], [9, {"type": "item_reference", "id": "msg_9"}]],
        }},
    }  # fmt: skip
    body = built(conversation)
    assert body["store"] is False and body["prompt_cache_key"] == "k"
    # the server keeps no state: the encrypted reasoning is asked for, beside what the client asked
    assert body["include"] == ["message.output_text.logprobs", "reasoning.encrypted_content"]
    assert body["reasoning"] == {"effort": "xhigh", "summary": "auto"}
    assert body["text"] == {"verbosity": "low"}
    assert body["tool_choice"]["type"] == "allowed_tools"
    assert body["tools"] == [
        {"type": "function", "name": "f", "description": "", "parameters": {"type": "object"}, "strict": False,
         "defer_loading": True},
        {"type": "web_search"},
    ]  # fmt: skip
    assert [i.get("type") for i in body["input"]] == [
        "message",
        "item_reference",
        "message",
        "function_call_output",
        "item_reference",
    ]
    assert body["input"][2]["content"] == [
        {"type": "input_image", "file_id": "file-1", "detail": "high"},
        {"type": "input_text", "text": "Cached prefix.", "prompt_cache_breakpoint": {"mode": "explicit"}},
    ]
    assert body["input"][3]["output"] == [{"type": "input_text", "text": "shot"}]


def test_the_conversation_wins_over_what_the_metadata_holds() -> None:
    conversation = {"messages": [user("hi")], "options": {"store": True, "max_tokens": 10},
                    "provider_metadata": {NAME: {"body": {"store": False, "max_output_tokens": 99}}}}  # fmt: skip
    body = body_of(conversation)
    assert (body["store"], body["max_output_tokens"]) == (True, 10)
    assert "include" not in body


def test_reasoning_without_an_id_is_grouped_by_its_encrypted_content() -> None:
    """Codex's reasoning items carry no id: their parts end at the one holding the encrypted
    content; another dialect's reasoning (no encrypted content) is not sent."""
    turn = {"role": "assistant", "content": [
        {"type": "reasoning", "text": "Anthropic thinking", "provider_metadata": {"anthropic": {"signature": "s"}}},
        {"type": "text", "text": "Hi."},
        {"type": "reasoning", "text": "a"},
        {"type": "reasoning", "text": "b", **pm(encrypted_content="enc-1")},
        {"type": "reasoning", "text": "c", **pm(encrypted_content="enc-2")},
        {"type": "reasoning", "text": "d"},
    ]}  # fmt: skip
    body = built({"messages": [user("hi"), turn], "options": {"store": False}})
    assert body["input"][1:] == [
        {"type": "message", "role": "assistant", "content": "Hi."},
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "a"}, {"type": "summary_text", "text": "b"}],
         "encrypted_content": "enc-1"},
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "c"}], "encrypted_content": "enc-2"},
    ]  # fmt: skip


def test_two_plain_assistant_messages_stay_two() -> None:
    turn = {"role": "assistant", "content": [
        {"type": "text", "text": "Looking."}, {"type": "text", "text": "Found it.", **pm(split=True)}]}  # fmt: skip
    assert body_of({"messages": [user("hi"), turn]})["input"][1:] == [
        {"type": "message", "role": "assistant", "content": "Looking."},
        {"type": "message", "role": "assistant", "content": "Found it."},
    ]
