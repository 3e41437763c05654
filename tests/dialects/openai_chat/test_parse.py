"""openai-chat parse_request: what the official ``openai`` client sends (captured through
``httpx.MockTransport``) as a canonical conversation, one feature per test; what only Chat
Completions can use restored by the builder; wrong types as usage errors naming the field."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamkit.conversation import check
from streamkit.dialects.base import Endpoint
from streamkit.dialects.openai_chat import OpenAIChat
from streamkit.errors import UsageError
from tests.conftest import DATA, events_of, messages

from .sdk import sent

DIALECT = OpenAIChat()
PNG = "iVBORw0KGgo="


def parse(body: dict[str, Any]) -> Any:
    parsed = DIALECT.parse_request(body, path="/v1/chat/completions", params={}, headers={})
    check(parsed.conversation)  # every parse is a valid conversation
    return parsed


def conversation(**create: Any) -> dict[str, Any]:
    return parse(sent(**create)).conversation


def rebuilt(body: dict[str, Any]) -> dict[str, Any]:
    """The body the builder makes of the parsed request (a same-dialect gateway's upstream request)."""
    return DIALECT.build_request(parse(body).conversation, Endpoint("http://upstream.test/v1")).body


USER = {"role": "user", "content": "Hi"}


def test_model_text_and_the_default_whole_answer() -> None:
    parsed = parse(sent(messages=[USER]))
    assert parsed.conversation == {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
    }
    assert parsed.stream is False  # no stream asked: a whole chat.completion
    assert parsed.answer_options == {"model": "gpt-4o"}
    assert parsed.dropped == []


def test_stream_and_include_usage() -> None:
    body = sent(messages=[USER], stream=True, stream_options={"include_usage": True})
    parsed = parse(body)
    assert parsed.stream is True and parsed.answer_options["include_usage"] is True
    body = sent(messages=[USER], stream=True)
    assert parse(body).answer_options["include_usage"] is False  # OpenAI sends no usage chunk then


def test_system_and_developer_messages() -> None:
    conv = conversation(
        messages=[
            {"role": "system", "content": "Be terse."},
            {"role": "developer", "content": [{"type": "text", "text": "Use French."}]},
            USER,
        ]
    )
    assert conv["messages"][:2] == [
        {"role": "system", "content": [{"type": "text", "text": "Be terse."}]},
        {"role": "system", "content": [{"type": "text", "text": "Use French."}], "developer": True},
    ]


def test_user_parts_images_audio_and_files() -> None:
    conv = conversation(
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {
                        "type": "image_url",
                        "image_url": {"url": f"data:image/png;base64,{PNG}", "detail": "low"},
                    },
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.webp?size=2"}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/image"}},
                    {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
                    {"type": "input_audio", "input_audio": {"data": "SUQz", "format": "mp3"}},
                    {
                        "type": "file",
                        "file": {"file_data": "data:application/pdf;base64,JVBERi0=", "filename": "a.pdf"},
                    },
                    {"type": "file", "file": {"file_id": "file-abc"}},
                ],
            }
        ]
    )
    assert conv["messages"][0]["content"] == [
        {"type": "text", "text": "What is this?"},
        {
            "type": "file",
            "media_type": "image/png",
            "data": PNG,
            "provider_metadata": {"openai-chat": {"detail": "low"}},
        },
        {"type": "file", "media_type": "image/webp", "url": "https://example.com/cat.webp?size=2"},
        {"type": "file", "media_type": "image/jpeg", "url": "https://example.com/image"},
        {"type": "file", "media_type": "audio/wav", "data": "UklGRg=="},
        {"type": "file", "media_type": "audio/mpeg", "data": "SUQz"},
        {"type": "file", "media_type": "application/pdf", "data": "JVBERi0=", "filename": "a.pdf"},
        {
            "type": "file",
            "media_type": "application/pdf",
            "provider_metadata": {"openai-chat": {"file_id": "file-abc"}},
        },
    ]


def test_a_file_id_is_restored_for_a_chat_upstream_and_listed_as_dropped() -> None:
    body = sent(messages=[{"role": "user", "content": [{"type": "file", "file": {"file_id": "file-abc"}}]}])
    assert parse(body).dropped == ["files by OpenAI file_id"]
    assert rebuilt(body)["messages"] == body["messages"]


def test_a_percent_encoded_data_url_becomes_base64() -> None:
    url = "data:image/svg+xml,%3Csvg%2F%3E"
    conv = conversation(
        messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}]
    )
    assert conv["messages"][0]["content"] == [
        {"type": "file", "media_type": "image/svg+xml", "data": "PHN2Zy8+"}
    ]


def test_tool_calls_and_their_results() -> None:
    conv = conversation(
        messages=[
            USER,
            {
                "role": "assistant",
                "content": "Let me look.",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "weather", "arguments": '{"city":"Paris"}'},
                    },
                    {"id": "call_2", "type": "function", "function": {"name": "time", "arguments": ""}},
                    {"id": "call_3", "type": "function", "function": {"name": "bad", "arguments": "{oops"}},
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "18°C"},
            {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "noon"}]},
            {"role": "tool", "tool_call_id": "call_9", "content": "?"},
        ]
    )
    assistant, *results = conv["messages"][1:]
    assert assistant["content"][0] == {"type": "text", "text": "Let me look."}
    assert assistant["content"][1:3] == [
        {
            "type": "tool-call",
            "tool_call_id": "call_1",
            "tool_name": "weather",
            "arguments": '{"city":"Paris"}',
            "input": {"city": "Paris"},
        },
        {"type": "tool-call", "tool_call_id": "call_2", "tool_name": "time", "arguments": "", "input": {}},
    ]
    bad = assistant["content"][3]
    assert bad["input"] is None and bad["input_error"].startswith("arguments are not valid JSON")
    assert results == [
        {"role": "tool", "tool_call_id": "call_1", "output": "18°C", "tool_name": "weather"},
        {"role": "tool", "tool_call_id": "call_2", "output": "noon", "tool_name": "time"},
        {"role": "tool", "tool_call_id": "call_9", "output": "?"},  # a result of no known call
    ]


def test_custom_tools_their_calls_and_the_answer_option() -> None:
    grammar = {"type": "grammar", "grammar": {"syntax": "lark", "definition": "start: /.+/"}}
    parsed = parse(
        sent(
            messages=[
                USER,
                {
                    "role": "assistant",
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "custom",
                            "custom": {"name": "apply_patch", "input": "*** Begin Patch"},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": "done"},
            ],
            tools=[
                {
                    "type": "custom",
                    "custom": {"name": "apply_patch", "description": "Patch files.", "format": grammar},
                }
            ],
        )
    )
    conv = parsed.conversation
    assert conv["tools"] == [
        {"name": "apply_patch", "kind": "custom", "description": "Patch files.", "format": grammar}
    ]
    assert conv["messages"][1]["content"] == [
        {"type": "tool-call", "tool_call_id": "call_1", "tool_name": "apply_patch",
         "arguments": '{"input":"*** Begin Patch"}', "input": {"input": "*** Begin Patch"}}
    ]  # fmt: skip
    assert conv["messages"][2]["tool_name"] == "apply_patch"
    assert parsed.answer_options["custom_tools"] == ["apply_patch"]


def test_reasoning_content_comes_back_in_its_own_field() -> None:
    """DeepSeek and vLLM clients send ``reasoning_content`` back; OpenRouter's send ``reasoning``."""
    for field in ("reasoning_content", "reasoning"):
        body = sent(messages=[USER, {"role": "assistant", "content": "4", field: "2+2=4"}, USER])
        conv = parse(body).conversation
        assert conv["messages"][1]["content"] == [
            {"type": "reasoning", "text": "2+2=4", "provider_metadata": {"openai-chat": {"field": field}}},
            {"type": "text", "text": "4"},
        ]
        assert rebuilt(body)["messages"][1] == {"role": "assistant", "content": "4", field: "2+2=4"}


def test_reasoning_details_keep_their_signatures_as_the_normalizer_does() -> None:
    """An OpenRouter client sends back the ``reasoning_details`` of the answer it got: parse makes
    of them the reasoning part normalize and accumulate made of the streamed answer."""
    (streamed,) = messages(events_of(DATA / "openai-chat" / "reasoning-details.sse"))
    (reasoning,) = [p for p in streamed["content"] if p["type"] == "reasoning"]
    detail = {"type": "reasoning.text", "text": reasoning["text"], "signature": "c2lnbmF0dXJl",
              "format": "anthropic-claude-v1", "index": 0}  # fmt: skip
    body = sent(messages=[USER, {"role": "assistant", "content": "4", "reasoning_details": [detail]}, USER])
    assert parse(body).conversation["messages"][1]["content"][0] == reasoning
    encrypted = {"type": "reasoning.encrypted", "data": "ZW5j", "format": "openai-responses-v1", "id": "rs_1"}
    body = sent(
        messages=[USER, {"role": "assistant", "content": "4", "reasoning_details": [encrypted]}, USER]
    )
    part = parse(body).conversation["messages"][1]["content"][0]
    assert part == {
        "type": "reasoning",
        "text": "",
        "provider_metadata": {"openai-chat": {k: v for k, v in encrypted.items()}},
    }
    assert rebuilt(body)["messages"][1]["reasoning_details"] == [encrypted]
    body = sent(
        messages=[USER, {"role": "assistant", "content": "4", "reasoning_details": [{"text": "hm"}]}, USER]
    )
    assert rebuilt(body)["messages"][1]["reasoning_details"] == [{"type": "reasoning.text", "text": "hm"}]


def test_refusals() -> None:
    conv = conversation(
        messages=[
            USER,
            {"role": "assistant", "content": None, "refusal": "I can't help with that."},
            USER,
            {
                "role": "assistant",
                "content": [{"type": "refusal", "refusal": "No."}, {"type": "text", "text": "Sorry."}],
            },
        ]
    )
    assert conv["messages"][1]["content"] == [
        {"type": "text", "text": "I can't help with that.", "refusal": True}
    ]
    assert conv["messages"][3]["content"] == [
        {"type": "text", "text": "No.", "refusal": True},
        {"type": "text", "text": "Sorry."},
    ]


def test_tools_with_strict_and_without_parameters() -> None:
    conv = conversation(
        messages=[USER],
        tools=[
            {"type": "function", "function": {"name": "weather", "description": "Weather.", "strict": True,
                                              "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}},
            {"type": "function", "function": {"name": "now"}},
        ],
    )  # fmt: skip
    assert conv["tools"] == [
        {"name": "weather", "description": "Weather.", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
         "provider_metadata": {"openai-chat": {"strict": True}}},
        {"name": "now"},
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("choice", "canonical"),
    [
        ("auto", "auto"),
        ("none", "none"),
        ("required", "required"),
        ({"type": "function", "function": {"name": "weather"}}, {"name": "weather"}),
        ({"type": "custom", "custom": {"name": "apply_patch"}}, {"name": "apply_patch"}),
    ],
)
def test_tool_choice(choice: Any, canonical: Any) -> None:
    tools = [
        {"type": "function", "function": {"name": "weather"}},
        {"type": "custom", "custom": {"name": "apply_patch"}},
    ]
    assert (
        conversation(messages=[USER], tools=tools, tool_choice=choice)["options"]["tool_choice"] == canonical
    )


def test_an_allowed_tools_choice_is_its_mode_and_is_restored() -> None:
    choice = {
        "type": "allowed_tools",
        "allowed_tools": {"mode": "required", "tools": [{"type": "function", "function": {"name": "a"}}]},
    }
    body = sent(messages=[USER], tools=[{"type": "function", "function": {"name": "a"}}], tool_choice=choice)
    parsed = parse(body)
    assert parsed.conversation["options"]["tool_choice"] == "required"
    assert parsed.dropped == ["allowed_tools (a restriction of the tool choice)"]
    assert rebuilt(body)["tool_choice"] == choice


def test_legacy_functions_function_call_and_the_function_role() -> None:
    conv = conversation(
        messages=[
            USER,
            {
                "role": "assistant",
                "content": None,
                "function_call": {"name": "weather", "arguments": '{"city":"Oslo"}'},
            },
            {"role": "function", "name": "weather", "content": "-3°C"},
        ],
        functions=[{"name": "weather", "parameters": {"type": "object", "properties": {}}}],
        function_call={"name": "weather"},
    )
    assert conv["tools"] == [{"name": "weather", "parameters": {"type": "object", "properties": {}}}]
    assert conv["options"] == {"tool_choice": {"name": "weather"}}
    assert conv["messages"][1]["content"] == [
        {
            "type": "tool-call",
            "tool_call_id": "call_0",
            "tool_name": "weather",
            "arguments": '{"city":"Oslo"}',
            "input": {"city": "Oslo"},
        }
    ]
    assert conv["messages"][2] == {
        "role": "tool",
        "tool_call_id": "call_0",
        "tool_name": "weather",
        "output": "-3°C",
    }


@pytest.mark.parametrize(
    ("response_format", "canonical"),
    [
        ({"type": "json_schema", "json_schema": {"name": "answer", "schema": {"type": "object"}, "strict": True}},
         {"type": "json_schema", "name": "answer", "schema": {"type": "object"}, "strict": True}),
        ({"type": "json_schema", "json_schema": {"name": "a", "description": "An answer."}},
         {"type": "json_schema", "name": "a", "schema": {}, "description": "An answer."}),
        ({"type": "json_object"}, {"type": "json_object"}),
        ({"type": "text"}, None),
    ],
)  # fmt: skip
def test_response_format(response_format: dict[str, Any], canonical: Any) -> None:
    conv = conversation(messages=[USER], response_format=response_format)
    assert conv.get("options", {}).get("response_format") == canonical


def test_a_pydantic_model_as_response_format() -> None:
    """The SDK's ``parse`` helper sends the model's strict JSON schema."""
    from pydantic import BaseModel

    class Answer(BaseModel):
        value: int

    bodies: list[dict[str, Any]] = []

    def handler(request: Any) -> Any:
        import httpx

        bodies.append(orjson.loads(request.content))
        return httpx.Response(400, json={"error": {"message": "stop here"}})

    from .sdk import client

    with pytest.raises(Exception, match="stop here"):
        client(handler).chat.completions.parse(model="gpt-4o", messages=[USER], response_format=Answer)
    fmt = parse(bodies[0]).conversation["options"]["response_format"]
    assert fmt["type"] == "json_schema" and fmt["name"] == "Answer" and fmt["strict"] is True
    assert fmt["schema"]["properties"] == {"value": {"title": "Value", "type": "integer"}}


def test_sampling_options_max_tokens_and_stop() -> None:
    conv = conversation(
        messages=[USER], temperature=0.2, top_p=0.9, seed=7, frequency_penalty=0.5, presence_penalty=-0.5,
        max_tokens=100, stop="END", parallel_tool_calls=False, extra_body={"top_k": 40},
    )  # fmt: skip
    assert conv["options"] == {
        "temperature": 0.2, "top_p": 0.9, "seed": 7, "frequency_penalty": 0.5, "presence_penalty": -0.5,
        "top_k": 40, "max_tokens": 100, "stop": ["END"], "parallel_tool_calls": False,
    }  # fmt: skip
    assert "provider_metadata" not in conv


def test_max_completion_tokens_is_max_tokens_and_its_name_is_restored() -> None:
    body = sent(messages=[USER], max_completion_tokens=64, stop=["a", "b"])
    assert parse(body).conversation["options"] == {"max_tokens": 64, "stop": ["a", "b"]}
    again = rebuilt(body)
    assert again["max_completion_tokens"] == 64 and "max_tokens" not in again


def test_reasoning_effort_and_openrouter_reasoning() -> None:
    assert conversation(messages=[USER], reasoning_effort="high")["options"] == {"reasoning_effort": "high"}
    body = sent(messages=[USER], extra_body={"reasoning": {"max_tokens": 2000, "exclude": True}})
    assert parse(body).conversation["options"] == {"reasoning_budget": 2000}
    again = rebuilt(body)  # the OpenRouter upstream gets its own object back, and no effort beside it
    assert again["reasoning"] == {"max_tokens": 2000, "exclude": True} and "reasoning_effort" not in again


def test_n_is_an_answer_option_and_one_choice_is_answered() -> None:
    parsed = parse(sent(messages=[USER], n=3))
    assert parsed.answer_options["n"] == 3
    assert parsed.dropped == ["n > 1 (one choice is answered)"]
    assert "n" not in rebuilt(sent(messages=[USER], n=3))


def test_what_only_chat_can_use_is_restored_for_a_chat_upstream() -> None:
    body = sent(
        messages=[{"role": "user", "content": "Hi", "name": "ann"}, {"role": "assistant", "content": "Hello", "name": "bot"}, USER],
        logprobs=True, top_logprobs=2, logit_bias={"50256": -100}, metadata={"run": "1"}, store=True, user="u-1",
        service_tier="flex", prompt_cache_key="k", safety_identifier="s", verbosity="low",
        web_search_options={"search_context_size": "low"}, extra_body={"min_p": 0.1, "chat_template_kwargs": {"enable_thinking": False}},
    )  # fmt: skip
    parsed = parse(body)
    assert parsed.conversation["messages"][0]["provider_metadata"] == {
        "openai-chat": {"fields": {"name": "ann"}}
    }
    assert parsed.dropped == ["logit_bias", "logprobs"]  # (the web search is canonical: test_web_search.py)
    again = rebuilt(body)
    for key in ("logprobs", "top_logprobs", "logit_bias", "metadata", "store", "user", "service_tier",
                "prompt_cache_key", "safety_identifier", "verbosity", "web_search_options", "min_p",
                "chat_template_kwargs"):  # fmt: skip
        assert again[key] == body[key], key
    assert again["messages"][0] == {"role": "user", "content": "Hi", "name": "ann"}
    assert again["messages"][1] == {"role": "assistant", "content": "Hello", "name": "bot"}
    assert again["stream"] is True and again["stream_options"] == {"include_usage": True}


def test_audio_output_is_listed_as_dropped() -> None:
    body = sent(messages=[USER], modalities=["text", "audio"], audio={"voice": "alloy", "format": "wav"})
    assert parse(body).dropped == ["audio output"]


def test_a_same_dialect_round_trip_of_an_sdk_request_sends_the_same_messages() -> None:
    body = sent(
        messages=[
            {"role": "system", "content": "Be terse."},
            {"role": "user", "content": [{"type": "text", "text": "Look"}, {"type": "image_url", "image_url": {"url": "https://x.test/a.png", "detail": "high"}}]},
            {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "ok"},
        ],
        tools=[{"type": "function", "function": {"name": "f", "description": "F.", "parameters": {"type": "object", "properties": {}}}}],
        tool_choice="auto", temperature=0,
    )  # fmt: skip
    again = rebuilt(body)
    assert again["messages"] == body["messages"]
    assert again["tools"] == body["tools"]
    assert {k: again[k] for k in ("model", "tool_choice", "temperature")} == {
        "model": "gpt-4o",
        "tool_choice": "auto",
        "temperature": 0,
    }


# --- what the API would reject: usage errors naming the field ------------------------------------

BAD = [
    ([], "the body must be a JSON object, not a list"),
    ({"model": "m"}, "messages is required"),
    ({"model": "m", "messages": {}}, "messages must be a list"),
    ({"model": "m", "messages": []}, "messages must not be empty"),
    ({"model": 3, "messages": [USER]}, "model must be a string"),
    ({"messages": ["hi"]}, "messages[0] must be an object"),
    ({"messages": [{"role": "wizard", "content": "x"}]}, "messages[0].role must be one of"),
    ({"messages": [{"role": "user", "content": 5}]}, "messages[0].content must be a string or a list of parts, not a number"),
    ({"messages": [{"role": "user", "content": [{"type": "video"}]}]}, "messages[0].content[0].type must be text, image_url"),
    ({"messages": [{"role": "user", "content": [{"type": "text", "text": None}]}]}, "messages[0].content[0].text must be a string"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": "x"}]}]}, "content[0].image_url must be an object"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64"}}]}]}, "is a data: URL without data"),
    ({"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "x", "format": "ogg"}}]}]}, "format must be wav or mp3"),
    ({"messages": [{"role": "user", "content": [{"type": "file", "file": {}}]}]}, "content[0].file needs file_data or file_id"),
    ({"messages": [{"role": "assistant", "tool_calls": {}}]}, "messages[0].tool_calls must be a list"),
    ({"messages": [{"role": "assistant", "tool_calls": [{"id": "c", "function": {"arguments": "{}"}}]}]}, "tool_calls[0].function.name must be a string"),
    ({"messages": [{"role": "assistant", "tool_calls": [{"function": {"name": "f"}}]}]}, "tool_calls[0].id must be a string"),
    ({"messages": [{"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": 3}}]}]}, "arguments must be a string"),
    ({"messages": [{"role": "assistant", "reasoning_content": ["x"]}]}, "messages[0].reasoning_content must be a string"),
    ({"messages": [{"role": "tool", "content": "x"}]}, "messages[0].tool_call_id must be a string"),
    ({"messages": [USER], "tools": [{"type": "function", "function": {"name": 1}}]}, "tools[0].function.name must be a string"),
    ({"messages": [USER], "tools": [{"type": "function", "function": {"name": "f", "parameters": []}}]}, "parameters must be an object"),
    ({"messages": [USER], "tools": "all"}, "tools must be a list"),
    ({"messages": [USER], "tool_choice": "always"}, "tool_choice must be auto, none, required"),
    ({"messages": [USER], "tool_choice": {"type": "function", "function": {}}}, "tool_choice.function.name must be a string"),
    ({"messages": [USER], "temperature": "hot"}, "temperature must be a number, not a string"),
    ({"messages": [USER], "max_tokens": 1.5}, "max_tokens must be an integer, not 1.5"),
    ({"messages": [USER], "max_completion_tokens": True}, "max_completion_tokens must be an integer, not a boolean"),
    ({"messages": [USER], "stop": [1]}, "stop[0] must be a string"),
    ({"messages": [USER], "stream": "yes"}, "stream must be a boolean"),
    ({"messages": [USER], "stream": True, "stream_options": []}, "stream_options must be an object"),
    ({"messages": [USER], "response_format": {"type": "xml"}}, "response_format.type must be text, json_object or json_schema"),
    ({"messages": [USER], "response_format": {"type": "json_schema", "json_schema": {"schema": 1}}}, "json_schema.schema must be an object"),
    ({"messages": [USER], "parallel_tool_calls": "no"}, "parallel_tool_calls must be a boolean"),
    ({"messages": [USER], "n": "2"}, "n must be an integer"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "message"), BAD, ids=[m for _, m in BAD])
def test_a_request_the_api_would_reject_is_a_usage_error_naming_the_field(body: Any, message: str) -> None:
    with pytest.raises(UsageError, match="openai-chat request: .*") as info:
        DIALECT.parse_request(body)
    assert message in str(info.value)


def test_a_usage_error_quotes_at_most_40_characters_of_a_value() -> None:
    with pytest.raises(UsageError) as info:
        DIALECT.parse_request({"messages": [{"role": "x" * 10_000}]})
    assert len(str(info.value)) < 200


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
FIELDS = ["role", "content", "tool_calls", "tool_call_id", "name", "refusal", "reasoning_content",
          "reasoning_details", "function_call", "audio"]  # fmt: skip
TOP = ["messages", "tools", "tool_choice", "response_format", "stop", "stream", "stream_options", "n",
       "temperature", "max_tokens", "functions", "function_call", "reasoning", "model", "web_search_options"]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    role=st.sampled_from(["system", "developer", "user", "assistant", "tool", "function"]),
    field=st.sampled_from(FIELDS),
    value=JSON,
    top=st.sampled_from(TOP),
    top_value=JSON,
)
def test_wrong_types_anywhere_are_usage_errors_never_a_crash(
    role: str, field: str, value: Any, top: str, top_value: Any
) -> None:
    """Any JSON value in any field: a conversation, or a UsageError; never a KeyError or a TypeError."""
    for body in (
        {"model": "m", "messages": [{"role": role, field: value}]},
        {"model": "m", "messages": [USER], top: top_value},
        {"model": "m", "messages": [{"role": role, "content": [value], "tool_calls": [value]}]},
    ):
        try:
            parsed = DIALECT.parse_request(body)
        except UsageError:
            continue
        check(parsed.conversation)
        DIALECT.build_request(parsed.conversation, Endpoint("http://upstream.test/v1", model="m"))
