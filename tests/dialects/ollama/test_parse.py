"""ollama request parsing: what the official ``ollama`` client really sends (captured through
``httpx.MockTransport``) becomes a canonical conversation, one test per feature; an Ollama upstream
gets the client's request back (the same-dialect gateway loses nothing); wrong types in valid JSON
are usage errors that name the field."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest

from streamkit.conversation import check
from streamkit.dialects.base import Endpoint, ParsedRequest
from streamkit.dialects.ollama import Ollama
from streamkit.errors import UsageError

NAME = "ollama"
DIALECT = Ollama()
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01"
WEBP = b"RIFF\x1a\x00\x00\x00WEBPVP8 "


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def sent(call: Callable[[Any], Any]) -> tuple[str, dict[str, Any]]:
    """The path and JSON body the official client posts for ``call(client)``."""
    import ollama

    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        line: dict[str, Any] = {"model": "m", "created_at": "2025-01-01T00:00:00Z", "done": True}
        if request.url.path.endswith("/api/generate"):
            line["response"] = ""
        else:
            line["message"] = {"role": "assistant", "content": ""}
        return httpx.Response(200, json=line)

    with ollama.Client(host="http://ollama.test", transport=httpx.MockTransport(handler)) as client:
        answer = call(client)
        if not isinstance(answer, ollama.ChatResponse | ollama.GenerateResponse):
            list(answer)  # a stream: read it
    (request,) = seen
    return request.url.path, orjson.loads(request.content)


def parsed(call: Callable[[Any], Any]) -> ParsedRequest:
    path, body = sent(call)
    result = DIALECT.parse_request(body, path=path, params={}, headers={})
    check(result.conversation)  # always a valid conversation
    return result


def chat(**kwargs: Any) -> ParsedRequest:
    kwargs.setdefault("model", "qwen3:8b")
    kwargs.setdefault("messages", [{"role": "user", "content": "hi"}])
    return parsed(lambda client: client.chat(**kwargs))


def text(t: str) -> dict[str, Any]:
    return {"type": "text", "text": t}


def get_weather(city: str, days: int = 1) -> str:
    """The weather in a city.

    Args:
      city: The city
      days: How many days
    """
    return "sunny"


def call_part(call_id: str, name: str, generated: bool = True, index: int = 0, **inp: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"generated_id": True, "index": index} if generated else {"index": index}
    return {"type": "tool-call", "tool_call_id": call_id, "tool_name": name,
            "arguments": orjson.dumps(inp).decode(), "input": inp, "provider_metadata": {NAME: meta}}  # fmt: skip


# --- model, stream, endpoint --------------------------------------------------------------------------


def test_a_prompt_streamed_and_whole() -> None:
    whole = chat()
    assert whole.conversation == {
        "model": "qwen3:8b",
        "messages": [{"role": "user", "content": [text("hi")]}],
    }
    assert (whole.stream, whole.answer_options) == (
        False,
        {"endpoint": "chat", "model": "qwen3:8b", "stream": False},
    )
    streamed = chat(stream=True)
    assert (streamed.stream, streamed.answer_options) == (True, {"endpoint": "chat", "model": "qwen3:8b"})
    assert whole.dropped == streamed.dropped == []


def test_stream_defaults_to_true_as_in_ollama() -> None:
    for body in ({"model": "m", "messages": []}, {"model": "m", "messages": [], "stream": None}):
        result = DIALECT.parse_request(body, path="/api/chat")
        assert result.stream is True and "stream" not in result.answer_options


def test_answer_options_are_serve_options_and_the_model() -> None:
    for path, body in [("/api/chat", {"model": "m", "stream": False}), ("/api/generate", {"model": "m", "prompt": "x"})]:  # fmt: skip
        result = DIALECT.parse_request(body, path=path)
        assert result.answer_options == {**DIALECT.serve_options(path, {}, body), "model": "m"}


def test_without_a_path_a_prompt_means_generate() -> None:
    assert DIALECT.parse_request({"model": "m", "prompt": "x"}).answer_options["endpoint"] == "generate"
    assert DIALECT.parse_request({"model": "m", "messages": []}).answer_options["endpoint"] == "chat"


# --- messages -----------------------------------------------------------------------------------------


def test_system_messages_before_the_first_turn_are_the_system_prompt() -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "system", "content": "Metric units."},
        {"role": "user", "content": "hi"},
        {"role": "system", "content": "Now in French."},
    ]
    conversation = chat(messages=messages).conversation
    assert conversation["system"] == "Be brief.\n\nMetric units."
    assert conversation["messages"] == [
        {"role": "user", "content": [text("hi")]},
        {"role": "system", "content": [text("Now in French.")]},
    ]


def test_images_become_file_parts_with_their_media_type() -> None:
    messages = [{"role": "user", "content": "What is this?", "images": [PNG, JPEG, WEBP]}]
    (message,) = chat(messages=messages).conversation["messages"]
    assert message["content"] == [
        text("What is this?"),
        {"type": "file", "media_type": "image/png", "data": b64(PNG)},
        {"type": "file", "media_type": "image/jpeg", "data": b64(JPEG)},
        {"type": "file", "media_type": "image/webp", "data": b64(WEBP)},
    ]


def test_an_image_alone_and_a_data_url() -> None:
    body = {
        "model": "m",
        "messages": [{"role": "user", "images": [f"data:image/gif;base64,{b64(b'GIF89a')}"]}],
    }
    (message,) = DIALECT.parse_request(body, path="/api/chat").conversation["messages"]
    assert message["content"] == [{"type": "file", "media_type": "image/gif", "data": b64(b"GIF89a")}]


def test_an_assistant_turn_from_a_response_and_the_tool_results() -> None:
    """The client's tool loop: the response's message goes back as it is, each result with
    ``tool_name``; Ollama sends no call ids, so they are ``call_0``, ``call_1``, in order."""
    import ollama

    calls = [
        ollama.Message.ToolCall(function=ollama.Message.ToolCall.Function(name="get_weather", arguments=args))
        for args in ({"city": "Paris"}, {"city": "Oslo"})
    ]
    messages = [
        {"role": "user", "content": "Weather in Paris and Oslo?"},
        ollama.Message(role="assistant", content="Checking.", thinking="Two lookups.", tool_calls=calls),
        {"role": "tool", "content": "sunny", "tool_name": "get_weather"},
        {"role": "tool", "content": "error: no station", "tool_name": "get_weather"},
    ]
    conversation = chat(messages=messages, tools=[get_weather]).conversation
    assert conversation["messages"][1:] == [
        {"role": "assistant", "content": [
            {"type": "reasoning", "text": "Two lookups."},
            text("Checking."),
            call_part("call_0", "get_weather", index=0, city="Paris"),
            call_part("call_1", "get_weather", index=1, city="Oslo"),
        ]},
        {"role": "tool", "tool_call_id": "call_0", "tool_name": "get_weather", "output": "sunny"},
        {"role": "tool", "tool_call_id": "call_1", "tool_name": "get_weather", "output": "error: no station"},
    ]  # fmt: skip


def test_results_answer_calls_by_id_then_name_then_order() -> None:
    body = {
        "model": "m",
        "messages": [
            {"role": "user", "content": "go"},
            {"role": "assistant", "tool_calls": [
                {"function": {"name": "a", "arguments": {}}},
                {"function": {"name": "b", "arguments": {}}},
                {"id": "own_7", "function": {"name": "c", "arguments": {}}},
                {"function": {"name": "d", "arguments": {}}},
            ]},
            {"role": "tool", "content": "for c", "tool_call_id": "own_7"},
            {"role": "tool", "content": "for b", "tool_name": "b"},
            {"role": "tool", "content": "for a (no name: the first left)"},
            {"role": "tool", "content": "for d (a wrong name: the first left)", "tool_name": "x"},
            {"role": "tool", "content": "an orphan"},
            {"role": "assistant", "tool_calls": [{"function": {"name": "a", "arguments": {}}}]},
            {"role": "tool", "content": "the next turn's", "tool_name": "a"},
        ],
    }  # fmt: skip
    messages = DIALECT.parse_request(body, path="/api/chat").conversation["messages"]
    first = messages[1]["content"]
    assert [(p["tool_call_id"], p["provider_metadata"][NAME]) for p in first] == [
        ("call_0", {"generated_id": True, "index": 0}),
        ("call_1", {"generated_id": True, "index": 1}),
        ("own_7", {"index": 2}),  # Ollama's own id: the builder sends it back
        ("call_2", {"generated_id": True, "index": 3}),
    ]
    results = [(m["tool_call_id"], m.get("tool_name")) for m in messages if m["role"] == "tool"]
    assert results == [
        ("own_7", "c"),
        ("call_1", "b"),
        ("call_0", "a"),
        ("call_2", "x"),
        ("call_3", None),
        ("call_4", "a"),
    ]


def test_generated_ids_never_take_an_id_the_request_names() -> None:
    body = {"model": "m", "messages": [
        {"role": "assistant", "tool_calls": [{"function": {"name": "a", "arguments": {}}},
                                             {"id": "call_0", "function": {"name": "b", "arguments": {}}},
                                             {"id": "call_0", "function": {"name": "c", "arguments": {}}}]},
    ]}  # fmt: skip
    (turn,) = DIALECT.parse_request(body, path="/api/chat").conversation["messages"]
    assert [p["tool_call_id"] for p in turn["content"]] == ["call_1", "call_0", "call_2"]


def test_arguments_given_as_a_json_string_are_taken() -> None:
    body = {"model": "m", "messages": [{"role": "assistant", "tool_calls": [{"function": {"name": "a", "arguments": '{"x": 1}'}}]}]}  # fmt: skip
    (turn,) = DIALECT.parse_request(body, path="/api/chat").conversation["messages"]
    assert (turn["content"][0]["input"], turn["content"][0]["arguments"]) == ({"x": 1}, '{"x":1}')


def test_images_where_a_conversation_cannot_hold_them_are_listed_as_dropped() -> None:
    body = {"model": "m", "messages": [{"role": "system", "content": "s", "images": [b64(PNG)]},
                                       {"role": "assistant", "content": "drawn", "images": [b64(PNG)]},
                                       {"role": "tool", "content": "shot", "images": [b64(PNG)]}]}  # fmt: skip
    result = DIALECT.parse_request(body, path="/api/chat")
    assert result.dropped == ["images in system messages"]
    assistant, tool = result.conversation["messages"]
    assert assistant["content"][1]["type"] == "file"  # an assistant's: kept
    # a tool's: its result's content, with its text (tests/dialects/test_tool_result_files.py)
    assert tool["output"] == "shot" and [p["type"] for p in tool["content"]] == ["text", "file"]
    assert tool["content"][1]["data"] == b64(PNG)


# --- tools, format, thinking, options -------------------------------------------------------------------


def test_tool_declarations() -> None:
    tools = [get_weather, {"type": "function", "function": {"name": "now", "description": ""}}]
    assert chat(tools=tools).conversation["tools"] == [
        {
            "name": "get_weather",
            "description": "The weather in a city.",
            "parameters": {
                "type": "object",
                "required": ["city", "days"],
                "properties": {
                    "city": {"type": "string", "description": "The city"},
                    "days": {"type": "integer", "description": "How many days"},
                },
            },
        },
        {"name": "now"},
    ]


def test_a_tool_of_another_type_is_dropped() -> None:
    body = {"model": "m", "messages": [], "tools": [{"type": "web_search"}]}
    result = DIALECT.parse_request(body, path="/api/chat")
    assert "tools" not in result.conversation and result.dropped == ["the web_search tool"]


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("json", {"type": "json_object"}),
        ({"type": "object", "properties": {"a": {"type": "string"}}},
         {"type": "json_schema", "schema": {"type": "object", "properties": {"a": {"type": "string"}}}}),
    ],
    ids=["json", "schema"],
)  # fmt: skip
def test_format_is_the_response_format(fmt: Any, expected: dict[str, Any]) -> None:
    assert chat(format=fmt).conversation["options"] == {"response_format": expected}


@pytest.mark.parametrize(
    ("think", "options"),
    [
        (True, {"reasoning_effort": "medium"}),
        ("low", {"reasoning_effort": "low"}),
        ("medium", {"reasoning_effort": "medium"}),
        ("high", {"reasoning_effort": "high"}),
        (False, {"reasoning_budget": 0}),
    ],
)
def test_think_is_the_reasoning_effort(think: Any, options: dict[str, Any]) -> None:
    assert chat(think=think).conversation["options"] == options


def test_sampling_options_and_max_tokens_and_stop() -> None:
    import ollama

    options = ollama.Options(temperature=0.2, top_p=0.9, top_k=40, num_predict=300, stop=["END"], seed=7,
                             frequency_penalty=0.5, presence_penalty=0.25, num_ctx=8192, repeat_penalty=1.1)  # fmt: skip
    conversation = chat(options=options).conversation
    assert conversation["options"] == {
        "temperature": 0.2, "top_p": 0.9, "top_k": 40, "max_tokens": 300, "stop": ["END"], "seed": 7,
        "frequency_penalty": 0.5, "presence_penalty": 0.25,
    }  # fmt: skip
    assert conversation["provider_metadata"] == {NAME: {"options": {"num_ctx": 8192, "repeat_penalty": 1.1}}}


def test_a_negative_num_predict_has_no_canonical_meaning() -> None:
    conversation = chat(options={"num_predict": -1}).conversation
    assert "options" not in conversation
    assert conversation["provider_metadata"] == {NAME: {"options": {"num_predict": -1}}}


def test_keep_alive_is_accepted_quietly_and_logprobs_are_listed_as_dropped() -> None:
    result = DIALECT.parse_request(
        {
            "model": "m",
            "messages": [],
            "keep_alive": "5m",
            "logprobs": True,
            "top_logprobs": 3,
            "shift": False,
        },
        path="/api/chat",
    )
    assert result.conversation["provider_metadata"] == {
        NAME: {"body": {"keep_alive": "5m", "logprobs": True, "top_logprobs": 3, "shift": False}}
    }
    assert result.dropped == ["logprobs"]
    assert DIALECT.parse_request({"model": "m", "keep_alive": 0}, path="/api/chat").dropped == []


# --- /api/generate --------------------------------------------------------------------------------------


def test_a_generate_request_is_one_user_turn() -> None:
    result = parsed(lambda client: client.generate(model="phi3", prompt="Why?", system="Be brief.",
                                                   images=[PNG], think="low", options={"temperature": 0}))  # fmt: skip
    assert result.conversation == {
        "model": "phi3",
        "system": "Be brief.",
        "messages": [{"role": "user", "content": [text("Why?"), {"type": "file", "media_type": "image/png", "data": b64(PNG)}]}],
        "options": {"temperature": 0, "reasoning_effort": "low"},
    }  # fmt: skip
    assert (result.stream, result.answer_options) == (
        False,
        {"endpoint": "generate", "model": "phi3", "stream": False},
    )
    assert result.dropped == []


def test_generate_fields_only_ollama_can_use_are_kept_and_listed_as_dropped() -> None:
    result = parsed(lambda client: client.generate(model="codellama", prompt="def f(", suffix="    return x",
                                                   raw=True, context=[1, 2, 3], stream=True))  # fmt: skip
    assert result.conversation["provider_metadata"] == {
        NAME: {"generate": {"suffix": "    return x", "raw": True, "context": [1, 2, 3]}}
    }
    assert result.dropped == [
        "the /api/generate field 'context'",
        "the /api/generate field 'raw'",
        "the /api/generate field 'suffix'",
    ]


def test_an_empty_generate_request_has_no_messages() -> None:
    assert DIALECT.parse_request({"model": "m"}, path="/api/generate").conversation == {
        "model": "m",
        "messages": [],
    }


# --- the same dialect upstream gets the client's request back ---------------------------------------------


RESTORED = [
    pytest.param(
        lambda c: c.chat(
            model="qwen3:8b",
            messages=[{"role": "system", "content": "S"}, {"role": "user", "content": "hi", "images": [PNG]}],
            tools=[get_weather],
            think="high",
            format={"type": "object"},
            keep_alive="5m",
            options={"temperature": 0.1, "num_predict": 5, "stop": ["x"], "num_ctx": 100, "mirostat": 2},
        ),
        id="chat",
    ),
    pytest.param(
        lambda c: c.chat(
            model="qwen3:8b",
            messages=[{"role": "user", "content": "hi"}],
            format="json",
            think=False,
            options={"top_k": 3, "seed": 1, "num_predict": -2},
        ),
        id="chat-json",
    ),
    pytest.param(
        lambda c: c.chat(
            model="qwen3:8b",
            think=True,
            messages=[
                {"role": "user", "content": "go"},
                {
                    "role": "assistant",
                    "content": "",
                    "thinking": "hm",
                    "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Oslo"}}}],
                },
                {"role": "tool", "content": "sunny", "tool_name": "get_weather"},
            ],
        ),
        id="chat-tool-loop",
    ),
    pytest.param(
        lambda c: c.generate(
            model="codellama",
            prompt="def f(",
            suffix="  return 1",
            system="s",
            raw=True,
            context=[1, 2],
            images=[PNG],
            keep_alive=-1,
        ),
        id="generate",
    ),
]


@pytest.mark.parametrize("call", RESTORED)
def test_an_ollama_upstream_gets_what_the_client_sent(call: Callable[[Any], Any]) -> None:
    """parse → build gives the client's body back: the same path, the same fields and values, up to
    what Ollama reads the same (``think: true`` and ``"medium"``; an empty ``content`` left out by
    the client and sent by streamkit; ``tools: []``), and ``stream``, which serve decides."""
    path, body = sent(call)
    result = DIALECT.parse_request(body, path=path)
    request = DIALECT.build_request(result.conversation, Endpoint("http://upstream"))
    assert request.url == f"http://upstream{path}"
    rebuilt = dict(request.body)
    assert rebuilt.pop("stream") is True
    expected = {k: v for k, v in body.items() if k != "stream" and v != []}
    for message in expected.get("messages", ()):
        message.setdefault("content", "")
    assert rebuilt == expected


# --- invalid requests -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "the body must be a JSON object, not a list"),
        ({"messages": []}, "model is required"),
        ({"model": 3}, "model is required"),
        ({"model": "m", "stream": "yes"}, "stream must be a boolean, not a string"),
        ({"model": "m", "messages": {"role": "user"}}, "messages must be a list, not an object"),
        ({"model": "m", "messages": ["hi"]}, r"messages\[0\] must be an object, not a string"),
        ({"model": "m", "messages": [{"role": "developer", "content": "x"}]}, r"messages\[0\].role must be one of"),
        ({"model": "m", "messages": [{"content": "x"}]}, r"messages\[0\].role must be one of"),
        ({"model": "m", "messages": [{"role": "user", "content": [{"type": "text", "text": "x"}]}]},
         r"messages\[0\].content must be a string, not a list"),
        ({"model": "m", "messages": [{"role": "user", "images": "abc"}]}, r"messages\[0\].images must be a list"),
        ({"model": "m", "messages": [{"role": "user", "images": [7]}]}, r"messages\[0\].images\[0\] must be an image"),
        ({"model": "m", "messages": [{"role": "user", "images": ["not base64!"]}]}, r"messages\[0\].images\[0\] is not base64"),
        ({"model": "m", "messages": [{"role": "user", "images": ["é"]}]}, r"images\[0\] is not base64"),
        ({"model": "m", "messages": [{"role": "assistant", "thinking": 1}]}, r"messages\[0\].thinking must be a string"),
        ({"model": "m", "messages": [{"role": "assistant", "tool_calls": {}}]}, r"tool_calls must be a list"),
        ({"model": "m", "messages": [{"role": "assistant", "tool_calls": [None]}]}, r"tool_calls\[0\].function.name"),
        ({"model": "m", "messages": [{"role": "assistant", "tool_calls": ["x"]}]}, r"tool_calls\[0\] must be an object"),
        ({"model": "m", "messages": [{"role": "assistant", "tool_calls": [{"function": []}]}]}, r"tool_calls\[0\].function must be an object"),
        ({"model": "m", "messages": [{"role": "assistant", "tool_calls": [{"function": {"name": "a", "arguments": [1]}}]}]},
         r"function.arguments must be an object, not a list"),
        ({"model": "m", "messages": [{"role": "assistant", "tool_calls": [{"function": {"name": "a", "arguments": "[1]"}}]}]},
         r"function.arguments must be an object"),
        ({"model": "m", "messages": [{"role": "tool", "content": "x", "tool_name": 5}]}, r"messages\[0\].tool_name must be a string"),
        ({"model": "m", "tools": {"a": 1}}, "tools must be a list"),
        ({"model": "m", "tools": [{"type": "function", "function": {"description": "x"}}]}, r"tools\[0\].function.name"),
        ({"model": "m", "tools": [{"function": {"name": "a", "parameters": "x"}}]}, r"tools\[0\].function.parameters must be an object"),
        ({"model": "m", "format": "yaml"}, 'format must be "json" or a JSON Schema'),
        ({"model": "m", "format": 1}, 'format must be "json" or a JSON Schema'),
        ({"model": "m", "think": "max"}, "think must be true, false"),
        ({"model": "m", "think": 1}, "think must be true, false"),
        ({"model": "m", "options": []}, "options must be an object, not a list"),
        ({"model": "m", "options": {"temperature": "hot"}}, "options.temperature must be a number, not a string"),
        ({"model": "m", "options": {"temperature": True}}, "options.temperature must be a number, not a boolean"),
        ({"model": "m", "options": {"num_predict": 1.5}}, "options.num_predict must be an integer, not 1.5"),
        ({"model": "m", "options": {"num_predict": 2**63}}, "options.num_predict must be an integer of at most 64 bits"),
        ({"model": "m", "options": {"seed": 1e30}}, "options.seed must be an integer of at most 64 bits, not 1e\\+30"),
        ({"model": "m", "options": {"stop": [1]}}, "options.stop must be a list of strings"),
        ({"model": "m", "prompt": ["x"]}, "prompt must be a string, not a list"),
        ({"model": "m", "prompt": "x", "system": {}}, "system must be a string, not an object"),
        ({"model": "m", "prompt": "x", "images": [None]}, r"images\[0\] must be an image"),
    ],
)  # fmt: skip
def test_wrong_types_are_usage_errors_naming_the_field(body: Any, message: str) -> None:
    path = "/api/generate" if isinstance(body, dict) and "prompt" in body else "/api/chat"
    with pytest.raises(UsageError, match=message) as info:
        DIALECT.parse_request(body, path=path)
    assert str(info.value).startswith("ollama request: ")


def test_what_an_error_message_quotes_is_cut_short() -> None:
    with pytest.raises(UsageError) as info:
        DIALECT.parse_request({"model": "m", "messages": [{"role": "x" * 100_000}]}, path="/api/chat")
    assert len(str(info.value)) < 200


def test_unknown_fields_never_fail() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi", "name": "bob", "x": {"y": 1}}],
            "tools": [{"type": "function", "function": {"name": "a", "strict": True}, "extra": 1}],
            "options": {"brand_new": 1}, "whatever": [1, 2], "stream": False}  # fmt: skip
    result = DIALECT.parse_request(body, path="/api/chat")
    assert result.conversation["messages"] == [{"role": "user", "content": [text("hi")]}]
    assert result.conversation["provider_metadata"] == {
        NAME: {"options": {"brand_new": 1}, "body": {"whatever": [1, 2]}}
    }
