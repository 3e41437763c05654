"""gemini parse_request: what the google-genai SDK really sends (captured through
``httpx.MockTransport``) becomes the canonical conversation, one test per feature; what only Gemini
can use is kept and the builder sends it again (a same-dialect gateway loses nothing); hosted tools
and the like are listed as dropped; wrong types in valid JSON are usage errors naming the field."""

from __future__ import annotations

import base64
import functools
from pathlib import Path
from typing import Any

import pytest
from google.genai import types
from hypothesis import given, settings
from hypothesis import strategies as st

from streamkit.continuation import assistant_message
from streamkit.conversation import CUSTOM_TOOL_PARAMETERS, check
from streamkit.dialects.base import Endpoint, ParsedRequest
from streamkit.dialects.gemini import Gemini
from streamkit.errors import UsageError
from tests.conftest import events_of, fixture_files, messages, places, replaced
from tests.dialects.gemini.chunks import ALL_CASES
from tests.dialects.gemini.sdk import sent

NAME = "gemini"
DIALECT = Gemini()
SIG = "c2lnbmF0dXJl"  # base64 of b"signature", as the SDK writes bytes


def parse(body: Any, path: str = "/v1beta/models/gemini-2.5-flash:generateContent") -> ParsedRequest:
    model = path.split("/models/")[1].split(":")[0] if "/models/" in path else None
    return DIALECT.parse_request(body, path=path, params={"model": model} if model else {})


def from_sdk(contents: Any, config: types.GenerateContentConfig | None = None, **kw: Any) -> ParsedRequest:
    path, body = sent(contents, config, **kw)
    return parse(body, path)


def rebuilt(parsed: ParsedRequest, model: str = "gemini-2.5-flash") -> dict[str, Any]:
    return DIALECT.build_request(check(parsed.conversation), Endpoint("http://up.test", None, model)).body


def config(**fields: Any) -> types.GenerateContentConfig:
    return types.GenerateContentConfig(**fields)


def same_request(a: dict[str, Any], b: dict[str, Any]) -> None:
    """Two bodies say the same to Gemini: each field equal once read by the SDK's types (which
    take camelCase and snake_case alike), tools in any order, the system instruction's role aside."""
    assert set(a) == set(b), set(a) ^ set(b)
    read = {
        "contents": lambda v: [types.Content.model_validate(c).model_dump(exclude_none=True) for c in v],
        "systemInstruction": lambda v: types.Content.model_validate({**v, "role": None}).model_dump(
            exclude_none=True
        ),
        "tools": lambda v: sorted(str(types.Tool.model_validate(t).model_dump(exclude_none=True)) for t in v),
        "generationConfig": lambda v: types.GenerationConfig.model_validate(v).model_dump(exclude_none=True),
        "toolConfig": lambda v: types.ToolConfig.model_validate(v).model_dump(exclude_none=True),
        "safetySettings": lambda v: [types.SafetySetting.model_validate(s).model_dump() for s in v],
    }
    for key in a:
        how = read.get(key, lambda v: v)
        assert how(a[key]) == how(b[key]), key


# --- the path: model, stream, framing ------------------------------------------------------------------


def test_a_streamed_prompt() -> None:
    parsed = from_sdk("Say hi", stream=True)
    assert parsed.stream is True
    assert parsed.conversation == {
        "model": "gemini-2.5-flash",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Say hi"}]}],
    }
    assert parsed.answer_options == {"model": "gemini-2.5-flash"}
    assert parsed.dropped == []


def test_generate_content_asks_for_the_whole_response() -> None:
    path, body = sent("Say hi")
    assert path.endswith(":generateContent")
    assert parse(body, path).stream is False


@pytest.mark.parametrize(
    ("path", "params", "model", "stream"),
    [
        ("/v1beta/models/gemini-2.5-pro:streamGenerateContent", {"model": "gemini-2.5-pro"}, "gemini-2.5-pro", True),
        ("/v1/models/x:generateContent", {"model": "models/x"}, "x", False),
        ("/v1beta/models/gemini-3-flash:generateContent", {}, "gemini-3-flash", False),
        ("", {}, "from-body", True),
    ],
)  # fmt: skip
def test_the_model_and_stream_come_from_the_path(
    path: str, params: dict[str, str], model: str, stream: bool
) -> None:
    body = {"contents": [{"parts": [{"text": "hi"}]}], "model": "models/from-body"}
    parsed = DIALECT.parse_request(body, path=path, params=params)
    assert (parsed.conversation["model"], parsed.stream) == (model, stream)
    assert "model" not in parsed.conversation.get("provider_metadata", {}).get(NAME, {}).get("body", {})


def test_a_query_other_than_alt_sse_asks_for_a_json_array() -> None:
    body = {"contents": [{"parts": [{"text": "hi"}]}]}
    path = "/v1beta/models/g:streamGenerateContent"
    assert "framing" not in DIALECT.parse_request(body, path=path, params={"alt": "sse"}).answer_options
    assert DIALECT.parse_request(body, path=path).answer_options == {"model": "g"}
    assert DIALECT.parse_request(body, path=path + "?alt=json").answer_options["framing"] == "json-array"


# --- contents -----------------------------------------------------------------------------------------


def test_the_system_instruction() -> None:
    parsed = from_sdk("hi", config(system_instruction="Be terse."))
    assert parsed.conversation["system"] == "Be terse."
    parsed = from_sdk("hi", config(system_instruction=types.Content(parts=[types.Part(text="A."), types.Part(text="B.")])))  # fmt: skip
    assert parsed.conversation["system"] == "A.\n\nB."
    assert parse({"contents": [{"parts": [{"text": "x"}]}], "systemInstruction": "plain"}).conversation["system"] == "plain"  # fmt: skip


def test_images_and_files() -> None:
    contents = [
        types.Part(text="What is in these?"),
        types.Part.from_bytes(data=b"\x89PNG\r\n", mime_type="image/png"),
        types.Part.from_uri(file_uri="gs://bucket/report.pdf", mime_type="application/pdf"),
        types.Part.from_uri(file_uri="https://example.com/cat.jpg", mime_type="image/jpeg"),
    ]
    (message,) = from_sdk(contents).conversation["messages"]
    assert message == {
        "role": "user",
        "content": [
            {"type": "text", "text": "What is in these?"},
            {"type": "file", "media_type": "image/png", "data": "iVBORw0K"},
            {"type": "file", "media_type": "application/pdf", "url": "gs://bucket/report.pdf"},
            {"type": "file", "media_type": "image/jpeg", "url": "https://example.com/cat.jpg"},
        ],
    }


def _weather_turns(call_id: str | None = "c1", response_id: str | None = "c1") -> list[types.Content]:
    return [
        types.Content(role="user", parts=[types.Part(text="Weather in Paris?")]),
        types.Content(
            role="model",
            parts=[
                types.Part(text="I should look it up.", thought=True, thought_signature=b"signature"),
                types.Part(text="Let me check."),
                types.Part(
                    function_call=types.FunctionCall(id=call_id, name="get_weather", args={"city": "Paris"}),
                    thought_signature=b"signature",
                ),
            ],
        ),
        types.Content(
            role="user",
            parts=[
                types.Part(
                    function_response=types.FunctionResponse(
                        id=response_id, name="get_weather", response={"result": "18°C"}
                    )
                )
            ],
        ),
    ]


def test_a_model_turn_keeps_thoughts_calls_and_signatures_where_the_normalizer_puts_them() -> None:
    parsed = from_sdk(_weather_turns())
    assert parsed.conversation["messages"][1:] == [
        {
            "role": "assistant",
            "content": [
                {"type": "reasoning", "text": "I should look it up.", "provider_metadata": {NAME: {"thought_signature": SIG}}},
                {"type": "text", "text": "Let me check."},
                {"type": "tool-call", "tool_call_id": "c1", "tool_name": "get_weather",
                 "arguments": '{"city":"Paris"}', "input": {"city": "Paris"},
                 "provider_metadata": {NAME: {"thought_signature": SIG}}},
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "tool_name": "get_weather", "output": "18°C"},
    ]  # fmt: skip
    body = rebuilt(parsed)
    assert body["contents"][1]["parts"][2] == {
        "functionCall": {"id": "c1", "name": "get_weather", "args": {"city": "Paris"}},
        "thoughtSignature": SIG,
    }


def _recorded(path: Path) -> None:
    """A recorded answer, sent back as a model turn, parses to the parts accumulate made of it
    (sources aside: they annotate an answer and are not sent back)."""
    (message,) = messages(events_of(path))
    conversation = {"messages": [{"role": "user", "content": "hi"}, assistant_message(message)]}
    body = DIALECT.build_request(
        check(conversation), Endpoint("http://up.test", None, "gemini-2.5-flash")
    ).body
    turns = [m["content"] for m in parse(body).conversation["messages"] if m["role"] == "assistant"]
    expected = [p for p in message["content"] if p["type"] != "source"]
    if any(p.get("input_error") for p in expected):
        pytest.skip("a call cut off is sent with {} for its arguments")
    assert turns == ([expected] if expected else [])


@pytest.mark.parametrize("recording", [p for p in ALL_CASES if "error" not in p.name], ids=lambda p: p.name)
def test_a_recorded_answer_sent_back_parses_to_what_accumulate_made(recording: Path) -> None:
    _recorded(recording)


@pytest.mark.parametrize("recording", fixture_files(NAME))
def test_a_shared_recorded_answer_sent_back_parses_to_what_accumulate_made(recording: Path) -> None:
    _recorded(recording)


def test_calls_without_ids_get_ids_and_results_are_matched_by_name_then_order() -> None:
    contents = [
        types.Content(role="user", parts=[types.Part(text="Weather and time in Paris?")]),
        types.Content(
            role="model",
            parts=[
                types.Part(function_call=types.FunctionCall(name="get_weather", args={"city": "Paris"})),
                types.Part(function_call=types.FunctionCall(name="get_time", args={"city": "Paris"})),
            ],
        ),
        types.Content(
            role="user",
            parts=[
                types.Part(function_response=types.FunctionResponse(name="get_time", response={"result": "noon"})),
                types.Part(function_response=types.FunctionResponse(name="get_weather", response={"result": "18°C"})),
            ],
        ),
    ]  # fmt: skip
    parsed = from_sdk(contents)
    _, turn, time, weather = parsed.conversation["messages"]
    calls = {p["tool_name"]: p for p in turn["content"]}
    assert calls["get_weather"]["tool_call_id"] == "call_0" and calls["get_time"]["tool_call_id"] == "call_1"
    assert all(p["provider_metadata"] == {NAME: {"generated_id": True}} for p in calls.values())
    assert time == {"role": "tool", "tool_call_id": "call_1", "tool_name": "get_time", "output": "noon"}
    assert weather == {"role": "tool", "tool_call_id": "call_0", "tool_name": "get_weather", "output": "18°C"}
    body = rebuilt(parsed)  # ids streamkit made up are not sent
    assert "id" not in str(body["contents"][1]) and "'id'" not in str(body["contents"][2])


def test_a_result_without_id_answers_a_call_with_one_and_gets_its_id() -> None:
    messages_ = from_sdk(_weather_turns(call_id="c7", response_id=None)).conversation["messages"]
    assert messages_[-1]["tool_call_id"] == "c7"


def test_generated_ids_avoid_the_ids_the_body_uses() -> None:
    body = {
        "contents": [
            {"role": "user", "parts": [{"text": "go"}]},
            {"role": "model", "parts": [{"functionCall": {"name": "a"}}, {"functionCall": {"id": "call_0", "name": "b"}}]},
            {"role": "user", "parts": [{"functionResponse": {"name": "a", "response": {}}},
                                       {"functionResponse": {"id": "call_0", "name": "b", "response": {}}}]},
        ]
    }  # fmt: skip
    _, turn, a, b = parse(body).conversation["messages"]
    assert [p["tool_call_id"] for p in turn["content"]] == ["call_1", "call_0"]
    assert (a["tool_call_id"], b["tool_call_id"]) == ("call_1", "call_0")


@pytest.mark.parametrize(
    ("response", "output", "is_error"),
    [
        ({"result": "18°C"}, "18°C", False),
        ({"output": {"temp": 18}}, {"temp": 18}, False),
        ({"error": "city not found"}, "city not found", True),
        ({"temp": 18, "unit": "C"}, {"temp": 18, "unit": "C"}, False),
        ({"error": {"code": 404}, "detail": "x"}, {"error": {"code": 404}, "detail": "x"}, True),
        ({"error": None}, {"error": None}, False),
        ({}, {}, False),
    ],
)
def test_function_responses_become_tool_outputs_and_go_back_as_they_came(
    response: dict[str, Any], output: Any, is_error: bool
) -> None:
    part = types.Part(
        function_response=types.FunctionResponse(id="c1", name="get_weather", response=response)
    )
    turns = _weather_turns()
    turns[2] = types.Content(role="user", parts=[part])
    parsed = from_sdk(turns)
    tool = parsed.conversation["messages"][-1]
    assert (tool["output"], tool.get("is_error", False)) == (output, is_error)
    assert rebuilt(parsed)["contents"][2]["parts"][0]["functionResponse"]["response"] == response


def test_a_turn_mixing_function_responses_and_text_keeps_their_order() -> None:
    body = {"contents": [
        {"role": "user", "parts": [{"text": "go"}]},
        {"role": "model", "parts": [{"functionCall": {"id": "c1", "name": "f", "args": {}}}]},
        {"role": "user", "parts": [{"functionResponse": {"id": "c1", "name": "f", "response": {"result": 1}}},
                                   {"text": "Now summarise."}]},
    ]}  # fmt: skip
    *_, tool, user = parse(body).conversation["messages"]
    assert tool == {"role": "tool", "tool_call_id": "c1", "tool_name": "f", "output": 1}
    assert user == {"role": "user", "content": [{"type": "text", "text": "Now summarise."}]}


def test_executed_code_in_history_is_provider_executed() -> None:
    body = {"contents": [
        {"role": "user", "parts": [{"text": "Compute."}]},
        {"role": "model", "parts": [
            {"executableCode": {"language": "PYTHON", "code": "print(1)"}},
            {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "1\n"}},
            {"text": "It is 1."},
        ]},
    ]}  # fmt: skip
    (_, turn) = parse(body).conversation["messages"]
    call, result, text = turn["content"]
    assert call == {
        "type": "tool-call", "tool_call_id": "call_0", "tool_name": "code_execution",
        "arguments": '{"language":"PYTHON","code":"print(1)"}', "input": {"language": "PYTHON", "code": "print(1)"},
        "provider_executed": True, "provider_metadata": {NAME: {"generated_id": True}},
    }  # fmt: skip
    assert result["tool_call_id"] == "call_0" and result["provider_executed"] and not result["is_error"]
    assert result["output"] == {"outcome": "OUTCOME_OK", "output": "1\n"}
    assert text == {"type": "text", "text": "It is 1."}


def test_other_part_fields_are_kept_and_sent_again() -> None:
    part = types.Part(text="and this clip", video_metadata=types.VideoMetadata(fps=2))
    parsed = from_sdk([types.Part.from_uri(file_uri="gs://b/clip.mp4", mime_type="video/mp4"), part])
    (message,) = parsed.conversation["messages"]
    assert message["content"][1]["provider_metadata"] == {NAME: {"part": {"videoMetadata": {"fps": 2.0}}}}
    assert rebuilt(parsed)["contents"][0]["parts"][1] == {
        "text": "and this clip",
        "videoMetadata": {"fps": 2.0},
    }


# --- tools and tool choice -------------------------------------------------------------------------------


def test_function_declarations_become_tools() -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    tools = [
        types.Tool(function_declarations=[
            types.FunctionDeclaration(name="get_weather", description="Weather now.", parameters_json_schema=schema),
            types.FunctionDeclaration(name="lookup", parameters=types.Schema(
                type="OBJECT", properties={"q": types.Schema(type="STRING", nullable=True),
                                           "n": types.Schema(type="ARRAY", items=types.Schema(type="INTEGER"), max_items=3)},
            )),
            types.FunctionDeclaration(name="now"),
        ])
    ]  # fmt: skip
    parsed = from_sdk("hi", config(tools=tools))
    weather, lookup, now = parsed.conversation["tools"]
    assert {k: weather[k] for k in ("name", "description", "parameters")} == {
        "name": "get_weather",
        "description": "Weather now.",
        "parameters": schema,
    }
    assert lookup["parameters"] == {
        "type": "object",
        "properties": {
            "q": {"type": ["string", "null"]},
            "n": {"type": "array", "items": {"type": "integer"}, "maxItems": 3},
        },
    }
    assert now == {"name": "now"}
    assert parsed.dropped == []
    (sent_tools,) = rebuilt(parsed)["tools"]  # Gemini gets the declarations as they were sent
    assert [d["name"] for d in sent_tools["functionDeclarations"]] == ["get_weather", "lookup", "now"]
    assert sent_tools["functionDeclarations"][1]["parameters"]["properties"]["q"] == {
        "nullable": True,
        "type": "STRING",
    }


def test_hosted_tools_are_kept_for_gemini_and_listed_as_dropped() -> None:
    tools = [
        types.Tool(google_search=types.GoogleSearch()),
        types.Tool(code_execution=types.ToolCodeExecution()),
        types.Tool(url_context=types.UrlContext()),
    ]
    parsed = from_sdk("hi", config(tools=tools))
    # (Google Search is the canonical web search, which every dialect with a search sends: test_web_search.py)
    assert [t.get("kind") for t in parsed.conversation["tools"]] == ["web_search", "code_execution"]
    assert parsed.dropped == ["the urlContext tool"]
    assert rebuilt(parsed)["tools"] == [{"googleSearch": {}}, {"codeExecution": {}}, {"urlContext": {}}]


@pytest.mark.parametrize(
    ("calling", "choice", "kept"),
    [
        (types.FunctionCallingConfig(mode="AUTO"), "auto", False),
        (types.FunctionCallingConfig(mode="NONE"), "none", False),
        (types.FunctionCallingConfig(mode="ANY"), "required", False),
        (types.FunctionCallingConfig(mode="ANY", allowed_function_names=["f"]), {"name": "f"}, False),
        (types.FunctionCallingConfig(mode="ANY", allowed_function_names=["f", "g"]), "required", True),
        (types.FunctionCallingConfig(mode="VALIDATED"), "auto", True),
    ],
)
def test_the_function_calling_mode_is_the_tool_choice(
    calling: types.FunctionCallingConfig, choice: Any, kept: bool
) -> None:
    declarations = [types.FunctionDeclaration(name="f"), types.FunctionDeclaration(name="g")]
    cfg = config(
        tools=[types.Tool(function_declarations=declarations)],
        tool_config=types.ToolConfig(function_calling_config=calling),
    )
    path, body = sent("hi", cfg)
    parsed = parse(body, path)
    assert parsed.conversation["options"]["tool_choice"] == choice
    assert (
        "toolConfig" in parsed.conversation.get("provider_metadata", {}).get(NAME, {}).get("body", {})
    ) == kept
    assert rebuilt(parsed)["toolConfig"] == body["toolConfig"]


# --- generation settings -----------------------------------------------------------------------------


def test_sampling_options_and_max_tokens() -> None:
    cfg = config(
        temperature=0.3, top_p=0.9, top_k=40, max_output_tokens=100, stop_sequences=["END"], seed=7,
        presence_penalty=0.1, frequency_penalty=0.2,
    )  # fmt: skip
    path, body = sent("hi", cfg)
    parsed = parse(body, path)
    assert parsed.conversation["options"] == {
        "temperature": 0.3, "top_p": 0.9, "top_k": 40, "max_tokens": 100, "stop": ["END"], "seed": 7,
        "presence_penalty": 0.1, "frequency_penalty": 0.2,
    }  # fmt: skip
    assert isinstance(parsed.conversation["options"]["top_k"], int)  # the SDK sends 40.0
    same_request(rebuilt(parsed), body)


def test_structured_output() -> None:
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}}
    parsed = from_sdk("hi", config(response_mime_type="application/json", response_json_schema=schema))
    assert parsed.conversation["options"] == {"response_format": {"type": "json_schema", "schema": schema}}
    assert "provider_metadata" not in parsed.conversation
    parsed = from_sdk("hi", config(response_mime_type="application/json"))
    assert parsed.conversation["options"] == {"response_format": {"type": "json_object"}}


def test_a_response_schema_becomes_json_schema_and_goes_back_to_gemini_as_it_was() -> None:
    native = types.Schema(
        type="OBJECT", properties={"a": types.Schema(type="STRING")}, property_ordering=["a"]
    )
    path, body = sent("hi", config(response_mime_type="application/json", response_schema=native))
    parsed = parse(body, path)
    assert parsed.conversation["options"]["response_format"] == {
        "type": "json_schema",
        "schema": {"type": "object", "properties": {"a": {"type": "string"}}, "propertyOrdering": ["a"]},
    }
    again = rebuilt(parsed)["generationConfig"]
    assert again == {
        "responseMimeType": "application/json",
        "responseSchema": body["generationConfig"]["responseSchema"],
    }


def test_other_mime_types_are_kept_for_gemini() -> None:
    parsed = from_sdk("hi", config(response_mime_type="text/x.enum", response_schema={"type": "STRING", "enum": ["a", "b"]}))  # fmt: skip
    assert "options" not in parsed.conversation
    assert rebuilt(parsed)["generationConfig"]["responseMimeType"] == "text/x.enum"


@pytest.mark.parametrize(
    ("thinking", "options", "kept"),
    [
        (types.ThinkingConfig(thinking_budget=2048, include_thoughts=True), {"reasoning_budget": 2048}, None),
        (types.ThinkingConfig(thinking_budget=2048), {"reasoning_budget": 2048}, {"includeThoughts": None}),
        (types.ThinkingConfig(thinking_budget=0), {"reasoning_budget": 0}, None),
        (types.ThinkingConfig(thinking_budget=0, include_thoughts=False), {"reasoning_budget": 0}, {"includeThoughts": False}),
        (types.ThinkingConfig(thinking_budget=-1, include_thoughts=True), {"reasoning_effort": "medium"},
         {"thinkingBudget": -1}),
        (types.ThinkingConfig(thinking_level="LOW"), {"reasoning_effort": "low"}, {"includeThoughts": None}),
        (types.ThinkingConfig(thinking_level="HIGH", include_thoughts=True), {"reasoning_effort": "high"}, None),
        (types.ThinkingConfig(include_thoughts=True), {}, {"includeThoughts": True}),
    ],
)  # fmt: skip
def test_thinking_is_the_reasoning_effort_or_budget(
    thinking: types.ThinkingConfig, options: dict[str, Any], kept: dict[str, Any] | None
) -> None:
    """What the canonical options do not say (whether to show thoughts, -1) is kept for Gemini."""
    model = "gemini-3-flash" if thinking.thinking_level else "gemini-2.5-flash"
    path, body = sent("hi", config(thinking_config=thinking), model=model)
    parsed = parse(body, path)
    assert parsed.conversation.get("options", {}) == options
    pm = parsed.conversation.get("provider_metadata", {NAME: {"body": {}}})[NAME]["body"]
    assert pm.get("generationConfig") == ({"thinkingConfig": kept} if kept else None)
    same_request(rebuilt(parsed, model), body)


def test_what_only_gemini_can_use_is_kept_and_what_a_user_would_miss_is_listed() -> None:
    cfg = config(
        safety_settings=[types.SafetySetting(category="HARM_CATEGORY_HATE_SPEECH", threshold="BLOCK_NONE")],
        cached_content="cachedContents/abc",
        candidate_count=2,
        response_logprobs=True,
        response_modalities=["TEXT", "IMAGE", "AUDIO"],
        labels={"team": "x"},
    )
    path, body = sent("hi", cfg)
    parsed = parse(body, path)
    assert "options" not in parsed.conversation
    # (images are the canonical image generation, which a Responses upstream can give)
    assert [t["kind"] for t in parsed.conversation["tools"]] == ["image_generation"]
    kept = parsed.conversation["provider_metadata"][NAME]["body"]
    assert kept["safetySettings"] == body["safetySettings"] and kept["cachedContent"] == "cachedContents/abc"
    assert sorted(parsed.dropped) == sorted([
        "cachedContent (a context cached on Gemini's servers)",
        "several candidates (generationConfig.candidateCount)",
        "logprobs (generationConfig.responseLogprobs)",
        "output modalities other than text and images (generationConfig.responseModalities)",
    ])  # fmt: skip
    same_request(rebuilt(parsed), body)


def test_a_rich_request_goes_to_a_gemini_upstream_as_it_came() -> None:
    """Everything at once, as the SDK sends it: built again from the conversation, Gemini reads the
    same request (field by field through the SDK's own types)."""
    cfg = config(
        system_instruction="be terse", temperature=0.3, top_k=40, max_output_tokens=100, stop_sequences=["X"],
        response_mime_type="application/json", response_json_schema={"type": "object"},
        thinking_config=types.ThinkingConfig(thinking_budget=1024, include_thoughts=True),
        tools=[types.Tool(function_declarations=[types.FunctionDeclaration(name="get_weather", parameters_json_schema={"type": "object", "properties": {"city": {"type": "string"}}})]),
               types.Tool(google_search=types.GoogleSearch())],
        tool_config=types.ToolConfig(function_calling_config=types.FunctionCallingConfig(mode="ANY", allowed_function_names=["get_weather"])),
        safety_settings=[types.SafetySetting(category="HARM_CATEGORY_HATE_SPEECH", threshold="BLOCK_NONE")],
        cached_content="cachedContents/abc",
    )  # fmt: skip
    path, body = sent(_weather_turns(), cfg)
    same_request(rebuilt(parse(body, path)), body)


# --- wrong requests ----------------------------------------------------------------------------------

OK = {"role": "user", "parts": [{"text": "hi"}]}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], r"the body must be a JSON object, not a list"),
        ({}, r"contents must be a list, not null"),
        ({"contents": "hi"}, r"contents must be a list, not a string"),
        ({"contents": []}, r"contents must not be empty"),
        ({"contents": [5]}, r"contents\[0\] must be an object, not a number"),
        ({"contents": [{"role": "system", "parts": [{"text": "x"}]}]}, r"contents\[0\].role must be user or model"),
        ({"contents": [{"role": 1, "parts": [{"text": "x"}]}]}, r"contents\[0\].role must be a string"),
        ({"contents": [{"parts": {"text": "x"}}]}, r"contents\[0\].parts must be a list, not an object"),
        ({"contents": [{"parts": []}]}, r"contents\[0\].parts must not be empty"),
        ({"contents": [{"parts": 5}]}, r"contents\[0\].parts must be a list, not a number"),
        ({"contents": [OK, {"role": "model", "parts": [{"functionCall": []}]}]}, r"functionCall must be an object, not a list"),
        ({"contents": [OK, {"role": "model", "parts": [{"executableCode": "x"}]}]}, r"executableCode must be an object"),
        ({"contents": [OK], "systemInstruction": 5}, r"systemInstruction must be an object, not a number"),
        ({"contents": [OK], "tools": [{"functionDeclarations": {"name": "f"}}]}, r"functionDeclarations must be a list"),
        ({"contents": [OK], "toolConfig": {"functionCallingConfig": "ANY"}}, r"functionCallingConfig must be an object"),
        ({"contents": [OK], "generationConfig": {"responseMimeType": 1}}, r"responseMimeType must be a string"),
        ({"contents": [OK], "generationConfig": {"thinkingConfig": {"thinkingLevel": 2}}}, r"thinkingLevel must be a string"),
        ({"contents": [{"parts": ["hi"]}]}, r"contents\[0\].parts\[0\] must be an object, not a string"),
        ({"contents": [{"parts": [{"text": 5}]}]}, r"contents\[0\].parts\[0\].text must be a string"),
        ({"contents": [{"parts": [{"inlineData": {"mimeType": "image/png"}}]}]}, r"inlineData.data must be a string, not null"),
        ({"contents": [{"parts": [{"fileData": "gs://x"}]}]}, r"parts\[0\].fileData must be an object"),
        ({"contents": [OK, {"role": "model", "parts": [{"functionCall": {"name": "f", "args": [1]}}]}]},
         r"contents\[1\].parts\[0\].functionCall.args must be an object, not a list"),
        ({"contents": [OK, {"role": "model", "parts": [{"functionCall": {"args": {}}}]}]}, r"functionCall.name must be"),
        ({"contents": [OK, {"role": "model", "parts": [{"functionCall": {"name": "f", "id": 3}}]}]}, r"functionCall.id must be a string"),
        ({"contents": [{"parts": [{"functionResponse": {"name": "f", "response": "x"}}]}]}, r"functionResponse.response must be an object"),
        ({"contents": [{"parts": [{"functionResponse": {"response": {}}}]}]}, r"functionResponse.name is missing"),
        ({"contents": [{"parts": [{"text": "x", "thoughtSignature": 1}]}]}, r"thoughtSignature must be a string"),
        ({"contents": [{"parts": [{"text": "x", "thought": "yes"}]}]}, r"thought must be a boolean"),
        ({"contents": [OK], "systemInstruction": {"parts": [{"text": 1}]}}, r"systemInstruction.parts\[0\].text must be a string"),
        ({"contents": [OK], "tools": {"functionDeclarations": []}}, r"tools must be a list, not an object"),
        ({"contents": [OK], "tools": [{"functionDeclarations": [{"name": ""}]}]}, r"functionDeclarations\[0\].name must be"),
        ({"contents": [OK], "tools": [{"functionDeclarations": [{"name": "f", "parameters": "x"}]}]}, r"\.parameters must be an object"),
        ({"contents": [OK], "tools": [{"functionDeclarations": [{"name": "f", "description": 2}]}]}, r"\.description must be a string"),
        ({"contents": [OK], "toolConfig": {"functionCallingConfig": {"mode": "SOMETIMES"}}}, r"mode must be AUTO, ANY, NONE or VALIDATED"),
        ({"contents": [OK], "toolConfig": {"functionCallingConfig": {"allowedFunctionNames": "f"}}}, r"allowedFunctionNames must be a list"),
        ({"contents": [OK], "generationConfig": []}, r"generationConfig must be an object, not a list"),
        ({"contents": [OK], "generationConfig": {"maxOutputTokens": "100"}}, r"maxOutputTokens must be an integer, not a string"),
        ({"contents": [OK], "generationConfig": {"maxOutputTokens": 1.5}}, r"maxOutputTokens must be an integer, not 1.5"),
        ({"contents": [OK], "generationConfig": {"maxOutputTokens": 1e23}}, r"maxOutputTokens must be an integer of at most 32 bits, not 1e\+23"),
        ({"contents": [OK], "generationConfig": {"topK": 2**31}}, r"topK must be an integer of at most 32 bits, not 2147483648"),
        ({"contents": [OK], "generationConfig": {"seed": -(2**31) - 1}}, r"seed must be an integer of at most 32 bits"),
        ({"contents": [OK], "generationConfig": {"thinkingConfig": {"thinkingBudget": 2.0**40}}}, r"thinkingBudget must be an integer of at most 32 bits"),
        ({"contents": [OK], "generationConfig": {"temperature": True}}, r"temperature must be a number, not a boolean"),
        ({"contents": [OK], "generationConfig": {"stopSequences": "END"}}, r"stopSequences must be a list"),
        ({"contents": [OK], "generationConfig": {"stopSequences": [1]}}, r"stopSequences\[0\] must be a string"),
        ({"contents": [OK], "generationConfig": {"responseMimeType": "application/json", "responseSchema": []}}, r"responseSchema must be an object"),
        ({"contents": [OK], "generationConfig": {"thinkingConfig": {"thinkingBudget": "a lot"}}}, r"thinkingBudget must be an integer, not a string"),
        ({"contents": [OK], "generationConfig": {"thinkingConfig": {"thinkingBudget": 1, "thinkingLevel": "LOW"}}}, r"not both"),
        ({"contents": [OK], "generationConfig": {"thinkingConfig": {"includeThoughts": "yes"}}}, r"includeThoughts must be a boolean"),
        ({"contents": [OK], "cachedContent": 5}, r"cachedContent must be a string"),
    ],
)  # fmt: skip
def test_wrong_types_are_usage_errors_naming_the_field(body: Any, message: str) -> None:
    with pytest.raises(UsageError, match=r"^gemini request: .*" + message):
        parse(body)


def test_int32_fields_take_their_whole_range_as_integers_or_whole_floats() -> None:
    config = {
        "maxOutputTokens": 2**31 - 1,
        "topK": 4.0,
        "seed": -(2**31),
        "thinkingConfig": {"thinkingBudget": 2.0**31 - 1},
    }
    options = parse({"contents": [OK], "generationConfig": config}).conversation["options"]
    assert (options["max_tokens"], options["top_k"], options["seed"]) == (2**31 - 1, 4, -(2**31))
    assert options["reasoning_budget"] == 2**31 - 1 and type(options["reasoning_budget"]) is int


def test_unknown_fields_never_fail_and_unknown_parts_are_listed() -> None:
    body = {
        "contents": [{"role": "user", "parts": [{"text": "hi"}, {"hologram": {"x": 1}}], "someNewField": 1}],
        "someNewTopLevelField": {"a": 1},
        "generationConfig": {"someNewSetting": True},
    }
    parsed = parse(body)
    assert parsed.conversation["messages"] == [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
    assert parsed.dropped == ["parts of kinds streamkit does not know (hologram)"]
    kept = parsed.conversation["provider_metadata"][NAME]["body"]
    assert kept == {"generationConfig": {"someNewSetting": True}, "someNewTopLevelField": {"a": 1}}


def test_a_custom_tool_is_declared_with_one_string_input() -> None:
    tool = {"name": "apply_patch", "kind": "custom", "description": "Apply a patch."}
    conversation = check({"messages": [{"role": "user", "content": "hi"}], "tools": [tool]})
    body = DIALECT.build_request(conversation, Endpoint("http://up.test", None, "gemini-2.5-flash")).body
    (declaration,) = body["tools"][0]["functionDeclarations"]
    assert declaration == {
        "name": "apply_patch",
        "description": "Apply a patch.",
        "parameters": CUSTOM_TOOL_PARAMETERS,
    }
    types.FunctionDeclaration.model_validate(declaration)


# --- any value anywhere ------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=False) | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


@functools.cache
def rich_body() -> dict[str, Any]:
    cfg = config(
        system_instruction="be terse", temperature=0.3, max_output_tokens=100, stop_sequences=["X"],
        response_mime_type="application/json", response_schema={"type": "OBJECT", "properties": {"a": {"type": "STRING"}}},
        thinking_config=types.ThinkingConfig(thinking_budget=1024, include_thoughts=True),
        tools=[types.Tool(function_declarations=[types.FunctionDeclaration(name="get_weather", parameters=types.Schema(type="OBJECT", properties={"city": types.Schema(type="STRING")}))]),
               types.Tool(google_search=types.GoogleSearch())],
        tool_config=types.ToolConfig(function_calling_config=types.FunctionCallingConfig(mode="ANY", allowed_function_names=["get_weather"])),
        safety_settings=[types.SafetySetting(category="HARM_CATEGORY_HATE_SPEECH", threshold="BLOCK_NONE")],
    )  # fmt: skip
    turns = [
        *_weather_turns(),
        types.Content(role="user", parts=[types.Part.from_bytes(data=b"x", mime_type="image/png")]),
    ]
    return sent(turns, cfg)[1]


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_value_anywhere_is_a_usage_error_or_a_conversation(data: st.DataObject) -> None:
    """Valid JSON with any value put anywhere in a real request: a conversation that builds (or a
    usage error saying what is wrong), never another exception."""
    path = data.draw(st.sampled_from([(), *places(rich_body())]))
    body = replaced(rich_body(), path, data.draw(json_values))
    try:
        parsed = parse(body)
        rebuilt(parsed)
    except UsageError:
        pass


def test_the_sdks_url_safe_base64_becomes_standard_base64() -> None:
    """The google-genai SDK writes bytes in the URL-safe alphabet, which Gemini reads and the other
    dialects refuse: a file's data is standard base64 once parsed, in a user turn and in a
    function response's parts alike."""
    raw = bytes(range(250, 256)) * 3  # (bytes whose base64 holds '+' and '/')
    answer = types.FunctionResponse(name="look", response={"result": "ok"}, parts=[
        types.FunctionResponsePart(inline_data=types.FunctionResponseBlob(mime_type="image/png", data=raw))])  # fmt: skip
    path, body = sent([
        types.Content(role="user", parts=[types.Part.from_bytes(data=raw, mime_type="image/png")]),
        types.Content(role="model", parts=[types.Part(function_call=types.FunctionCall(name="look", args={}))]),
        types.Content(role="user", parts=[types.Part(function_response=answer)]),
    ])  # fmt: skip
    assert "_" in str(body) or "-" in str(body)  # what the SDK sent
    user, _, tool = parse(body, path).conversation["messages"]
    expected = base64.b64encode(raw).decode()
    assert user["content"][0]["data"] == expected and tool["content"][-1]["data"] == expected
