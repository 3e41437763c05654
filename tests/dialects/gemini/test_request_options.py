"""gemini requests: every canonical option in Gemini's own words (tool choice, structured output,
reasoning effort and budget, sampling), each body checked against the google-genai SDK's types;
what Gemini has no field for is dropped with one warning."""

from __future__ import annotations

from typing import Any

import pytest

from streamkit.conversation import check
from streamkit.dialects.base import Endpoint
from streamkit.dialects.gemini import Gemini
from streamkit.errors import UsageError
from tests.dialects.gemini.test_request import conforms

DIALECT = Gemini()
TOOLS = [
    {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}
]


def body_of(options: dict[str, Any], model: str = "gemini-2.5-flash", **extra: Any) -> dict[str, Any]:
    conversation = check({"messages": [{"role": "user", "content": "hi"}], "options": options, **extra})
    body = DIALECT.build_request(conversation, Endpoint("http://up.test", None, model)).body
    conforms(body)
    return body


@pytest.mark.parametrize(
    ("choice", "config"),
    [
        ("auto", {"mode": "AUTO"}),
        ("none", {"mode": "NONE"}),
        ("required", {"mode": "ANY"}),
        ({"name": "get_weather"}, {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}),
    ],
)
def test_tool_choice_is_the_function_calling_mode(choice: Any, config: dict[str, Any]) -> None:
    body = body_of({"tool_choice": choice}, tools=TOOLS)
    assert body["toolConfig"] == {"functionCallingConfig": config}


@pytest.mark.parametrize("choice", ["sometimes", {"type": "function"}, 3])
def test_a_tool_choice_gemini_cannot_say_is_a_usage_error(choice: Any) -> None:
    with pytest.raises(UsageError, match="the tool_choice option must be"):
        body_of({"tool_choice": choice}, tools=TOOLS)


def test_a_native_tool_config_wins_over_the_tool_choice() -> None:
    native = {"functionCallingConfig": {"mode": "VALIDATED"}}
    assert body_of({"tool_choice": "auto", "toolConfig": native}, tools=TOOLS)["toolConfig"] == native


def test_parallel_tool_calls_false_is_dropped_with_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    assert body_of({"parallel_tool_calls": True}, tools=TOOLS) == body_of({}, tools=TOOLS)
    assert capsys.readouterr().err == ""
    assert "parallel" not in str(body_of({"parallel_tool_calls": False}, tools=TOOLS))
    assert "gemini cannot send parallel_tool_calls false" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("response_format", "config"),
    [
        ({"type": "json_schema", "name": "answer", "strict": True, "schema": {"type": "object"}},
         {"responseMimeType": "application/json", "responseJsonSchema": {"type": "object"}}),
        ({"type": "json_object"}, {"responseMimeType": "application/json"}),
        ({"type": "text"}, None),
    ],
)  # fmt: skip
def test_response_format_is_the_response_mime_type_and_schema(
    response_format: dict[str, Any], config: dict[str, Any] | None
) -> None:
    assert body_of({"response_format": response_format}).get("generationConfig") == config


def test_an_unknown_response_format_is_dropped_with_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    assert "generationConfig" not in body_of({"response_format": {"type": "grammar"}})
    assert "gemini cannot send response_format 'grammar'" in capsys.readouterr().err
    with pytest.raises(UsageError, match="schema must be a JSON Schema object"):
        body_of({"response_format": {"type": "json_schema", "schema": "x"}})


@pytest.mark.parametrize(
    ("options", "model", "thinking"),
    [
        ({"reasoning_effort": "low"}, "gemini-2.5-flash", {"thinkingBudget": 1024, "includeThoughts": True}),
        ({"reasoning_effort": "minimal"}, "gemini-2.5-pro", {"thinkingBudget": 1024, "includeThoughts": True}),
        ({"reasoning_effort": "medium"}, "gemini-2.5-flash", {"thinkingBudget": 8192, "includeThoughts": True}),
        ({"reasoning_effort": "high"}, "models/gemini-2.5-pro", {"thinkingBudget": 24576, "includeThoughts": True}),
        ({"reasoning_effort": "none"}, "gemini-2.5-flash", {"thinkingBudget": 0}),
        ({"reasoning_effort": "low"}, "gemini-3-pro-preview", {"thinkingLevel": "low", "includeThoughts": True}),
        ({"reasoning_effort": "minimal"}, "gemini-3-flash", {"thinkingLevel": "minimal", "includeThoughts": True}),
        ({"reasoning_effort": "none"}, "gemini-3-flash", {"thinkingLevel": "minimal"}),
        ({"reasoning_effort": "xhigh"}, "gemini-3-flash", {"thinkingLevel": "high", "includeThoughts": True}),
        ({"reasoning_budget": 2000}, "gemini-2.5-flash", {"thinkingBudget": 2000, "includeThoughts": True}),
        ({"reasoning_budget": 0}, "gemini-2.5-flash", {"thinkingBudget": 0}),
        ({"reasoning_budget": 5000, "reasoning_effort": "low"}, "gemini-3-flash",
         {"thinkingBudget": 5000, "includeThoughts": True}),
    ],
)  # fmt: skip
def test_reasoning_is_the_thinking_config(
    options: dict[str, Any], model: str, thinking: dict[str, Any]
) -> None:
    assert body_of(options, model)["generationConfig"] == {"thinkingConfig": thinking}


def test_a_native_thinking_config_wins_and_an_unknown_effort_is_dropped(
    capsys: pytest.CaptureFixture[str],
) -> None:
    native = {"thinkingBudget": 77}
    assert body_of({"reasoning_effort": "high", "thinking_config": native})["generationConfig"] == {
        "thinkingConfig": native
    }
    assert "generationConfig" not in body_of({"reasoning_effort": "ludicrous"})
    assert "gemini cannot send reasoning_effort 'ludicrous'" in capsys.readouterr().err
    assert "generationConfig" not in body_of({"reasoning_effort": ["high"]})  # (no string: unhashable)
    assert "gemini cannot send reasoning_effort ['high']" in capsys.readouterr().err
    with pytest.raises(UsageError, match="reasoning_budget option must be an integer"):
        body_of({"reasoning_budget": "lots"})


def test_sampling_options() -> None:
    options = {"top_k": 20, "frequency_penalty": 0.5, "presence_penalty": -0.5, "max_tokens": 9}
    assert body_of(options)["generationConfig"] == {
        "topK": 20,
        "frequencyPenalty": 0.5,
        "presencePenalty": -0.5,
        "maxOutputTokens": 9,
    }
