"""anthropic requests: every canonical option in its Messages form (tool_choice, parallel tool
calls, structured outputs, reasoning effort and budget), what the API refuses beside thinking,
options it has no parameter for (dropped with one warning each), freeform tools, and the bodies
checked against the official SDK's parameter types."""

from __future__ import annotations

from typing import Any

import pytest

from streamkit.conversation import CUSTOM_TOOL_PARAMETERS, check, from_prompt
from streamkit.dialects.anthropic import Anthropic
from streamkit.dialects.anthropic.request import EFFORT_BUDGETS
from streamkit.dialects.base import Endpoint
from streamkit.errors import UsageError
from tests.dialects.anthropic.test_request import conforms

DIALECT = Anthropic()
ENDPOINT = Endpoint("https://api.test", "sk-ant-test", "claude-test")
TOOLS = [
    {"name": "get_weather", "description": "Weather.", "parameters": {"type": "object", "properties": {}}}
]
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": False}  # fmt: skip


def body_of(options: dict[str, Any], tools: list[dict[str, Any]] | None = TOOLS) -> dict[str, Any]:
    conversation = {**from_prompt("hi"), "options": options}
    if tools:
        conversation["tools"] = tools
    return DIALECT.build_request(check(conversation), ENDPOINT).body  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("choice", "native"),
    [
        ("auto", {"type": "auto"}),
        ("none", {"type": "none"}),
        ("required", {"type": "any"}),
        ({"name": "get_weather"}, {"type": "tool", "name": "get_weather"}),
        (
            {"type": "any", "disable_parallel_tool_use": True},
            {"type": "any", "disable_parallel_tool_use": True},
        ),
    ],
)
def test_tool_choice(choice: Any, native: dict[str, Any]) -> None:
    body = body_of({"tool_choice": choice})
    assert body["tool_choice"] == native
    conforms(body)


def test_a_canonical_tool_choice_without_tools_is_not_sent_and_a_bad_one_is_a_usage_error() -> None:
    assert "tool_choice" not in body_of({"tool_choice": "required"}, tools=None)
    assert body_of({"tool_choice": {"type": "any"}}, tools=None)["tool_choice"] == {
        "type": "any"
    }  # native: as is
    with pytest.raises(UsageError, match="tool_choice"):
        body_of({"tool_choice": "sometimes"})


@pytest.mark.parametrize(
    ("options", "native"),
    [
        ({"parallel_tool_calls": False}, {"type": "auto", "disable_parallel_tool_use": True}),
        (
            {"parallel_tool_calls": False, "tool_choice": "required"},
            {"type": "any", "disable_parallel_tool_use": True},
        ),
        ({"parallel_tool_calls": False, "tool_choice": "none"}, {"type": "none"}),
        ({"parallel_tool_calls": True}, None),
        ({"parallel_tool_calls": True, "tool_choice": "auto"}, {"type": "auto"}),
    ],
)
def test_parallel_tool_calls(options: dict[str, Any], native: dict[str, Any] | None) -> None:
    body = body_of(options)
    assert body.get("tool_choice") == native
    conforms(body)


@pytest.mark.parametrize(
    "response_format",
    [
        {"type": "json_schema", "name": "city", "schema": SCHEMA, "strict": True},
        {
            "type": "json_schema",
            "json_schema": {"name": "city", "schema": SCHEMA, "strict": True},
        },  # Chat's shape
    ],
)
def test_a_json_schema_response_format_becomes_output_config_format(response_format: dict[str, Any]) -> None:
    body = body_of({"response_format": response_format})
    assert body["output_config"] == {"format": {"type": "json_schema", "schema": SCHEMA}}
    conforms(body)


def test_response_formats_without_a_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert "output_config" not in body_of({"response_format": {"type": "text"}})
    assert capsys.readouterr().err == ""
    assert "output_config" not in body_of({"response_format": {"type": "json_object"}})
    err = capsys.readouterr().err
    assert "response_format 'json_object'" in err and err.count("\n") == 1
    with pytest.raises(UsageError, match="schema"):
        body_of({"response_format": {"type": "json_schema", "name": "x"}})


@pytest.mark.parametrize(("effort", "budget"), sorted(EFFORT_BUDGETS.items()))
def test_reasoning_effort_becomes_a_thinking_budget(effort: str, budget: int) -> None:
    body = body_of({"reasoning_effort": effort})
    assert body["thinking"] == {"type": "enabled", "budget_tokens": budget}
    assert body["max_tokens"] == 4096 + budget  # the API counts thinking in max_tokens
    conforms(body)


def test_reasoning_budget() -> None:
    assert body_of({"reasoning_budget": 5000})["thinking"] == {"type": "enabled", "budget_tokens": 5000}
    both = body_of({"reasoning_budget": 5000, "reasoning_effort": "high"})
    assert both["thinking"]["budget_tokens"] == 5000  # the budget wins
    assert body_of({"reasoning_budget": 0})["thinking"] == {"type": "disabled"}
    assert body_of({"reasoning_budget": 100})["thinking"]["budget_tokens"] == 1024  # the API's minimum
    assert "thinking" not in body_of({"reasoning_effort": "none"})
    assert "thinking" not in body_of(
        {"reasoning_effort": ["high"]}
    )  # (no string: dropped, as an unknown one)
    native = body_of({"reasoning_effort": "high", "thinking": {"type": "adaptive"}})
    assert native["thinking"] == {"type": "adaptive"}  # a native thinking option wins


def test_a_budget_an_explicit_max_tokens_cannot_hold(capsys: pytest.CaptureFixture[str]) -> None:
    body = body_of({"max_tokens": 3000, "reasoning_effort": "high"})
    assert (body["max_tokens"], body["thinking"]["budget_tokens"]) == (3000, 1500)
    assert capsys.readouterr().err == ""
    small = body_of({"max_tokens": 1500, "reasoning_budget": 4000})
    assert small["max_tokens"] == 1500 and "thinking" not in small
    assert "no room for a 1024-token budget" in capsys.readouterr().err


def test_what_the_api_refuses_beside_thinking_is_left_out_with_a_warning(
    capsys: pytest.CaptureFixture[str],
) -> None:
    body = body_of({"reasoning_effort": "low", "temperature": 0.2, "top_k": 5, "top_p": 0.5})
    assert body["thinking"]["type"] == "enabled"
    assert not {"temperature", "top_k", "top_p"} & set(body)
    err = capsys.readouterr().err
    assert "temperature with thinking on" in err and "top_k" in err and "top_p under 0.95" in err
    kept = body_of({"reasoning_effort": "low", "temperature": 1, "top_p": 0.97})
    assert (kept["temperature"], kept["top_p"]) == (1, 0.97)
    forced = body_of({"reasoning_effort": "low", "tool_choice": "required", "temperature": 0.2})
    assert (
        "thinking" not in forced and forced["tool_choice"] == {"type": "any"} and forced["temperature"] == 0.2
    )
    assert "thinking with a forced tool_choice" in capsys.readouterr().err
    plain = body_of({"temperature": 0.2, "top_k": 5})  # no thinking: sent as they are
    assert (plain["temperature"], plain["top_k"]) == (0.2, 5)


def test_options_the_messages_api_has_no_parameter_for(capsys: pytest.CaptureFixture[str]) -> None:
    body = body_of({"seed": 7, "frequency_penalty": 0.5, "presence_penalty": 0.1, "max_tokens": 10})
    assert not {"seed", "frequency_penalty", "presence_penalty"} & set(body)
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 3 and all("left out of the request" in line for line in err)


def test_a_freeform_tool_is_declared_with_one_string_input() -> None:
    tools = [
        {
            "name": "apply_patch",
            "description": "Patch files.",
            "kind": "custom",
            "format": {"type": "grammar"},
        }
    ]
    body = body_of({}, tools=tools)
    assert body["tools"] == [
        {"name": "apply_patch", "description": "Patch files.", "input_schema": CUSTOM_TOOL_PARAMETERS}
    ]
    conforms(body)


def test_every_option_at_once_conforms_to_the_sdk() -> None:
    body = body_of({"max_tokens": 20000, "stop": "END", "tool_choice": {"name": "get_weather"},
                    "parallel_tool_calls": False, "reasoning_budget": 2048,
                    "response_format": {"type": "json_schema", "schema": SCHEMA}})  # fmt: skip
    assert "thinking" not in body  # beside a forced tool choice
    assert body["tool_choice"] == {"type": "tool", "name": "get_weather", "disable_parallel_tool_use": True}
    conforms(body)
