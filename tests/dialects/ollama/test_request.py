"""ollama requests: the ``/api/chat`` body from a conversation (checked against the ollama client's
own types, strictly), URL and headers, native bodies (chat or generate), the options mapping,
``fetch`` against ``streamkit serve --replay`` equal to ``fetch --replay``, what ``serve`` answers on
each path, and the tool loop over real HTTP with the official client."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from ollama._types import ChatRequest, Image, Message, Options, Tool

from streamkit.continuation import assistant_message
from streamkit.conversation import CUSTOM_TOOL_PARAMETERS, check, from_prompt
from streamkit.dialects.base import Endpoint
from streamkit.dialects.ollama import Ollama
from streamkit.endpoints import resolve
from streamkit.errors import UsageError
from streamkit.testing import assert_serve_replays
from tests.conftest import DATA, events_of, messages, ndjson, run_cli, shared_recordings
from tests.test_fetch_live import serving

NAME = "ollama"
DIALECT = Ollama()
BASE = "http://localhost:11434"
ENDPOINT = Endpoint(BASE, None, "llama3.2")
SECRET = "ollama-cloud-test-SECRET-5151"
CASES = DATA / NAME
QUESTION = "What's the weather in Paris?"


# --- the client's types, strictly --------------------------------------------------------------------


def conforms(body: dict[str, Any], *, ids: bool = False) -> None:
    """The body validates as the ollama client's ``ChatRequest``, each message as its ``Message``
    (keys it does not know are refused; with ``ids``, the ``id`` / ``tool_call_id`` newer servers
    take are allowed), each tool as its ``Tool``, the options as its ``Options``."""
    assert set(body) <= set(ChatRequest.model_fields), set(body) - set(ChatRequest.model_fields)
    ChatRequest.model_validate(body)
    known = set(Message.model_fields) | ({"tool_call_id"} if ids else set())
    for message in body["messages"]:
        assert set(message) <= known, set(message) - known
        typed = {k: v for k, v in message.items() if k != "tool_call_id"}
        if "images" in typed:  # the client's Image holds the base64 text it sends
            typed["images"] = [{"value": image} for image in typed["images"]]
            assert [Image(value=i).model_dump() for i in message["images"]] == message["images"]
        Message.model_validate(typed)
        for call in message.get("tool_calls") or ():
            assert set(call) <= {"function"} | ({"id"} if ids else set())
            assert set(call["function"]) == {"name", "arguments"}
    for tool in body.get("tools") or ():
        Tool.model_validate(tool)
    if "options" in body:
        assert set(body["options"]) <= set(Options.model_fields) | {"min_p"}
        Options.model_validate(body["options"])


def request(conversation: dict[str, Any], endpoint: Endpoint = ENDPOINT) -> Any:
    return DIALECT.build_request(check(conversation), endpoint)


def body_of(conversation: dict[str, Any], *, ids: bool = False) -> dict[str, Any]:
    body = request(conversation).body
    conforms(body, ids=ids)
    return body


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def assistant(*parts: dict[str, Any]) -> dict[str, Any]:
    return {"role": "assistant", "content": list(parts)}


def call(
    call_id: str, name: str = "get_weather", meta: dict[str, Any] | None = None, **inp: Any
) -> dict[str, Any]:
    part = {
        "type": "tool-call",
        "tool_call_id": call_id,
        "tool_name": name,
        "arguments": orjson.dumps(inp).decode(),
        "input": inp,
    }
    if meta is not None:
        part["provider_metadata"] = {NAME: meta}
    return part


def tool(call_id: str, output: Any, **more: Any) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "output": output, **more}


# --- a prompt: URL, headers, body ----------------------------------------------------------------


def test_a_prompt_is_one_user_message_streamed_as_ndjson() -> None:
    req = request(from_prompt("Say hi"))
    assert (req.method, req.url, req.framing) == ("POST", f"{BASE}/api/chat", "ndjson")
    assert req.body == {"model": "llama3.2", "messages": [user("Say hi")], "stream": True}
    assert req.headers == {"Content-Type": "application/json", "Accept": "application/x-ndjson"}
    conforms(req.body)


def test_a_key_when_one_is_set_goes_in_the_authorization_header_only() -> None:
    req = request(from_prompt("hi"), Endpoint("https://ollama.com", SECRET, "gpt-oss:120b"))
    assert req.url == "https://ollama.com/api/chat"
    assert req.headers["Authorization"] == f"Bearer {SECRET}"
    assert SECRET not in req.url and SECRET.encode() not in orjson.dumps(req.body) and SECRET not in repr(req)


def test_the_host_and_key_come_from_ollama_host_and_ollama_api_key() -> None:
    assert resolve(DIALECT, env={}).base_url == BASE
    assert resolve(DIALECT, env={}).api_key is None
    endpoint = resolve(DIALECT, env={"OLLAMA_HOST": "gpu-box:11434", "OLLAMA_API_KEY": "k-ollama"})
    assert (endpoint.base_url, endpoint.api_key) == ("http://gpu-box:11434", "k-ollama")
    assert resolve(DIALECT, env={"OLLAMA_HOST": "https://ollama.com/"}).base_url == "https://ollama.com"
    assert resolve(DIALECT, env={"STREAMKIT_API_KEY": "k-sk", "OLLAMA_API_KEY": "k-ollama"}).api_key == "k-sk"


def test_the_model_comes_from_the_endpoint_then_the_conversation() -> None:
    conversation = {**from_prompt("hi"), "model": "qwen3:8b"}
    assert request(conversation).body["model"] == "llama3.2"
    assert request(conversation, Endpoint(BASE, None, None)).body["model"] == "qwen3:8b"
    with pytest.raises(UsageError, match=r"no model: pass -m MODEL \(llama3.2\)"):
        request(from_prompt("hi"), Endpoint(BASE, None, None))


def test_the_cli_without_a_model_is_a_usage_error() -> None:
    result = run_cli("fetch", "-d", NAME, "hi", env={"STREAMKIT_MODEL": ""})
    assert result.returncode == 2
    assert b"no model: pass -m MODEL" in result.stderr and b"Traceback" not in result.stderr


# --- the body from a conversation ------------------------------------------------------------------


def test_the_system_prompt_comes_first() -> None:
    body = body_of(
        {"system": "Be brief.", "messages": [user("Hi"), {"role": "system", "content": "Metric units."}]}
    )
    assert body["messages"] == [{"role": "system", "content": "Be brief.\n\nMetric units."}, user("Hi")]


def test_user_images_are_base64_data() -> None:
    content = [
        {"type": "text", "text": "What is in this?"},
        {"type": "file", "media_type": "image/png", "data": "iVBORw0KGgo="},
        {"type": "file", "media_type": "image/jpeg", "data": "/9j/4AAQ"},
    ]
    body = body_of({"messages": [{"role": "user", "content": content}]})
    assert body["messages"] == [
        {"role": "user", "content": "What is in this?", "images": ["iVBORw0KGgo=", "/9j/4AAQ"]}
    ]


@pytest.mark.parametrize(
    ("part", "message"),
    [
        ({"type": "file", "media_type": "image/png", "url": "https://example.com/a.png"}, "images inline"),
        ({"type": "file", "media_type": "application/pdf", "data": "JVBERi0="}, "application/pdf file"),
    ],
    ids=["image-url", "pdf"],
)
def test_files_ollama_cannot_take_are_usage_errors(part: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        request({"messages": [{"role": "user", "content": [{"type": "text", "text": "see"}, part]}]})


def test_tools_and_options() -> None:
    conversation = {
        "messages": [user("hi")],
        "tools": [
            {"name": "get_weather", "description": "The weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}},
            {"name": "now"},
        ],
        "options": {"max_tokens": 200, "temperature": 0.2, "top_p": 0.9, "stop": "END", "seed": 7, "num_ctx": 8192,
                    "top_k": 40, "options": {"repeat_penalty": 1.1}, "think": "low", "format": "json", "keep_alive": "5m",
                    "logprobs": True},
    }  # fmt: skip
    body = body_of(conversation)
    assert body["tools"] == [
        {"type": "function", "function": {"name": "get_weather", "description": "The weather",
                                          "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}},
        {"type": "function", "function": {"name": "now", "description": "", "parameters": {"type": "object", "properties": {}}}},
    ]  # fmt: skip
    assert body["options"] == {
        "num_predict": 200,
        "temperature": 0.2,
        "top_p": 0.9,
        "stop": ["END"],  # Ollama takes a list only
        "seed": 7,
        "num_ctx": 8192,
        "top_k": 40,
        "repeat_penalty": 1.1,
    }
    assert (body["think"], body["format"], body["keep_alive"], body["logprobs"]) == (
        "low",
        "json",
        "5m",
        True,
    )
    assert body["stream"] is True


def test_an_assistant_turn_has_content_thinking_and_tool_calls_and_each_result_a_tool_message() -> None:
    conversation = {
        "messages": [
            user(QUESTION),
            assistant(
                {"type": "reasoning", "text": "Two lookups."},
                {"type": "text", "text": "Let me check."},
                call("call_0", meta={"generated_id": True, "index": 0}, city="Paris"),
                call("call_1", meta={"generated_id": True, "index": 1}),
            ),
            tool("call_0", "windy, 8°C", tool_name="get_weather"),
            tool("call_1", "which city?", is_error=True),  # no tool_name: the call's
            assistant({"type": "text", "text": "Windy."}),
        ]
    }
    assert body_of(conversation)["messages"] == [
        user(QUESTION),
        {
            "role": "assistant",
            "content": "Let me check.",
            "thinking": "Two lookups.",
            "tool_calls": [
                {"function": {"name": "get_weather", "arguments": {"city": "Paris"}}},
                {"function": {"name": "get_weather", "arguments": {}}},
            ],
        },
        {"role": "tool", "content": "windy, 8°C", "tool_name": "get_weather"},
        {"role": "tool", "content": "which city?", "tool_name": "get_weather"},
        {"role": "assistant", "content": "Windy."},
    ]


def test_ids_ollama_sent_go_back_on_the_call_and_its_result() -> None:
    conversation = {
        "messages": [user("hi"), assistant(call("fc_7", meta={"index": 0}, city="Oslo")), tool("fc_7", "4°C")]
    }
    _, turn, result = body_of(conversation, ids=True)["messages"]
    assert turn["tool_calls"] == [
        {"id": "fc_7", "function": {"name": "get_weather", "arguments": {"city": "Oslo"}}}
    ]
    assert result == {"role": "tool", "content": "4°C", "tool_name": "get_weather", "tool_call_id": "fc_7"}


def test_calls_of_other_dialects_go_without_their_ids_and_outputs_are_text(
    capsys: pytest.CaptureFixture[str],
) -> None:
    broken = {"type": "tool-call", "tool_call_id": "toolu_2", "tool_name": "get_time", "arguments": '{"tz": ',
              "input": None, "input_error": "arguments are not valid JSON"}  # fmt: skip
    executed = {"type": "tool-call", "tool_call_id": "ws_1", "tool_name": "web_search", "input": {"q": "x"},
                "arguments": '{"q":"x"}', "provider_executed": True}  # fmt: skip
    conversation = {
        "messages": [
            user("hi"),
            assistant(call("toolu_1", city="Oslo"), broken, executed),
            tool("toolu_1", {"sky": "rainy", "temperature_c": 4}),
            tool("toolu_2", None, tool_name="get_time"),
        ]
    }
    _, turn, first, second = body_of(conversation)["messages"]
    assert turn["tool_calls"] == [
        {"function": {"name": "get_weather", "arguments": {"city": "Oslo"}}},
        {"function": {"name": "get_time", "arguments": {}}},
    ]
    assert first == {
        "role": "tool",
        "content": '{"sky":"rainy","temperature_c":4}',
        "tool_name": "get_weather",
    }
    assert second == {"role": "tool", "content": "", "tool_name": "get_time"}
    err = capsys.readouterr().err
    assert "ollama cannot send tool-call arguments that are not a JSON object (sent as {}) (1)" in err
    assert "ollama cannot send provider-executed tools (1)" in err


def test_a_recorded_answer_goes_back_as_its_message() -> None:
    """The wire's thinking, content and tool calls, as Ollama's own message (less the index)."""
    path = CASES / "chat-tool-calls.ndjson"
    (message,) = messages(events_of(path))
    body = body_of({"messages": [user("Weather in Toronto and Paris?"), assistant_message(message)]})
    lines = [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]
    wire = [line["message"] for line in lines]
    expected = {
        "role": "assistant",
        "content": "".join(m["content"] for m in wire),
        "thinking": "".join(m.get("thinking", "") for m in wire),
        "tool_calls": [
            {"function": {"name": c["function"]["name"], "arguments": c["function"]["arguments"]}}
            for m in wire
            for c in m.get("tool_calls", ())
        ],
    }
    assert body["messages"][1] == expected


# --- the canonical options Ollama has no parameter of its own for ---------------------------------------


SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"response_format": {"type": "json_schema", "name": "w", "schema": SCHEMA, "strict": True}}, {"format": SCHEMA}),
        ({"response_format": {"type": "json_object"}}, {"format": "json"}),
        ({"response_format": {"type": "text"}}, {}),
        ({"reasoning_effort": "minimal"}, {"think": "low"}),
        ({"reasoning_effort": "low"}, {"think": "low"}),
        ({"reasoning_effort": "medium"}, {"think": True}),
        ({"reasoning_effort": "high"}, {"think": "high"}),
        ({"reasoning_effort": "none"}, {"think": False}),
        ({"reasoning_budget": 0}, {"think": False}),
        ({"reasoning_budget": 1024}, {"think": "low"}),
        ({"reasoning_budget": 8192}, {"think": True}),
        ({"reasoning_budget": -1}, {"think": True}),
        ({"reasoning_budget": 32000}, {"think": "high"}),
        ({"reasoning_effort": "high", "reasoning_budget": 0}, {"think": "high"}),  # the effort wins
        ({"tool_choice": "auto", "parallel_tool_calls": True}, {}),
        ({"tool_choice": "none"}, {"tools": None}),  # the tools are left out
    ],
)  # fmt: skip
def test_canonical_options_in_ollamas_own_form(options: dict[str, Any], expected: dict[str, Any]) -> None:
    conversation = {"messages": [user("hi")], "tools": [{"name": "now"}], "options": options}
    body = body_of(conversation)
    assert body.get("tools") if "tools" not in expected else "tools" not in body
    rest = {k: v for k, v in body.items() if k not in ("model", "messages", "stream", "tools")}
    assert rest == {k: v for k, v in expected.items() if k != "tools"}


@pytest.mark.parametrize(
    ("options", "warning"),
    [
        ({"tool_choice": "required"}, "tool_choice required or a named tool (the model chooses) (1)"),
        ({"tool_choice": {"name": "now"}}, "tool_choice required or a named tool (the model chooses) (1)"),
        ({"parallel_tool_calls": False}, "parallel_tool_calls false (the model may call several tools) (1)"),
        ({"reasoning_effort": "extreme"}, "the reasoning effort 'extreme' (1)"),
        ({"response_format": {"type": "grammar"}}, "the response format 'grammar' (1)"),
    ],
)
def test_options_ollama_cannot_send_are_dropped_with_one_warning(
    options: dict[str, Any], warning: str, capsys: pytest.CaptureFixture[str]
) -> None:
    body = body_of({"messages": [user("hi")], "tools": [{"name": "now"}], "options": options})
    assert set(body) == {"model", "messages", "tools", "stream"}
    assert capsys.readouterr().err.count(f"ollama cannot send {warning}") == 1


def test_a_custom_tool_travels_as_a_function_taking_one_string(capsys: pytest.CaptureFixture[str]) -> None:
    patch = "*** Begin Patch\n*** End Patch"
    conversation = {
        "messages": [
            user("fix it"),
            assistant(
                {"type": "tool-call", "tool_call_id": "ctc_1", "tool_name": "apply_patch", "input": patch, "arguments": patch},
                {"type": "tool-call", "tool_call_id": "ctc_2", "tool_name": "apply_patch", "input": {"input": patch},
                 "arguments": orjson.dumps({"input": patch}).decode()},
            ),
        ],
        "tools": [{"name": "apply_patch", "kind": "custom", "description": "Edit files",
                   "format": {"type": "grammar", "syntax": "lark", "definition": "start: x"}}],
    }  # fmt: skip
    body = body_of(conversation)
    assert body["tools"] == [
        {"type": "function", "function": {"name": "apply_patch", "description": "Edit files",
                                          "parameters": CUSTOM_TOOL_PARAMETERS}}
    ]  # fmt: skip
    assert [c["function"]["arguments"] for c in body["messages"][1]["tool_calls"]] == [{"input": patch}] * 2
    assert "ollama cannot send the grammars of custom tools (1)" in capsys.readouterr().err


def test_images_of_assistant_turns_go_as_their_images(capsys: pytest.CaptureFixture[str]) -> None:
    drawn = assistant({"type": "text", "text": "Here."}, {"type": "file", "media_type": "image/png", "data": "iVBORw0KGgo="},
                      {"type": "file", "media_type": "application/pdf", "data": "JVBERi0="})  # fmt: skip
    body = body_of({"messages": [user("draw"), drawn]})
    assert body["messages"][1] == {"role": "assistant", "content": "Here.", "images": ["iVBORw0KGgo="]}
    assert (
        "ollama cannot send files of assistant turns other than inline images (1)" in capsys.readouterr().err
    )


def test_what_only_ollama_can_use_is_restored_from_provider_metadata() -> None:
    conversation = {
        "messages": [user("hi")],
        "options": {"temperature": 0.5, "num_ctx": 2048},
        "provider_metadata": {
            NAME: {
                "options": {"num_ctx": 100, "mirostat": 2},
                "body": {"keep_alive": "5m", "logprobs": True},
            },
            "openai-chat": {"store": True},
        },
    }
    body = body_of(conversation)
    assert body["options"] == {
        "num_ctx": 2048,
        "mirostat": 2,
        "temperature": 0.5,
    }  # the canonical options win
    assert (body["keep_alive"], body["logprobs"]) == ("5m", True) and "store" not in body


def test_a_generate_request_goes_back_to_generate_while_it_is_one_user_turn(
    capsys: pytest.CaptureFixture[str],
) -> None:
    generate = {"suffix": "  return 1", "raw": True, "context": [1, 2]}
    content = [
        {"type": "text", "text": "def f("},
        {"type": "file", "media_type": "image/png", "data": "iVBORw0KGgo="},
    ]
    conversation = {"system": "s", "messages": [{"role": "user", "content": content}], "options": {"max_tokens": 9},
                    "provider_metadata": {NAME: {"generate": generate}}}  # fmt: skip
    req = request(conversation)
    assert req.url == f"{BASE}/api/generate"
    assert req.body == {"model": "llama3.2", "prompt": "def f(", "system": "s", "images": ["iVBORw0KGgo="],
                        **generate, "options": {"num_predict": 9}, "stream": True}  # fmt: skip
    from ollama._types import GenerateRequest

    GenerateRequest.model_validate({**req.body, "images": [{"value": i} for i in req.body["images"]]})
    # a conversation that went on is a chat: the generate fields cannot go, with a warning each
    longer = {
        **conversation,
        "messages": [*conversation["messages"], assistant({"type": "text", "text": "x"}), user("more")],
    }
    req = request(longer)
    assert req.url == f"{BASE}/api/chat" and not set(generate) & set(req.body)
    err = capsys.readouterr().err
    assert all(
        f"ollama cannot send the /api/generate field {k!r} in a chat request (1)" in err for k in generate
    )


# --- native bodies ----------------------------------------------------------------------------------


def test_a_native_body_is_sent_as_it_is_to_chat_or_generate() -> None:
    chat = {"model": "llama3.2", "messages": [user("hi")], "options": {"num_ctx": 4096}}
    req = DIALECT.build_request(None, ENDPOINT, body=chat)
    assert (req.url, req.body, req.framing) == (f"{BASE}/api/chat", chat, "ndjson")
    generate = {"model": "llama3.2", "prompt": "Why is the sky blue?", "raw": True}
    req = DIALECT.build_request(None, ENDPOINT, body=generate)
    assert (req.url, req.body) == (f"{BASE}/api/generate", generate)


def test_a_native_generate_body_through_fetch(tmp_path: Path) -> None:
    body = tmp_path / "body.json"
    body.write_bytes(orjson.dumps({"model": "phi3", "prompt": "Say hi"}))
    log = tmp_path / "log.ndjson"
    script = tmp_path / "script.json"
    script.write_bytes(orjson.dumps([{"text": "Hi there."}]))
    with serving("-d", NAME, "--script", str(script), "--log-requests", str(log)) as url:
        result = run_cli("fetch", "-d", NAME, "--base-url", url, "--body", str(body))
    assert result.returncode == 0, result.stderr
    lines = [e["data"] for e in ndjson(result.stdout)]
    assert "".join(line["response"] for line in lines) == "Hi there."  # generate lines
    assert {line["model"] for line in lines} == {"phi3"} and lines[-1]["done"] is True
    assert ndjson(log.read_bytes()) == [{"model": "phi3", "prompt": "Say hi"}]


# --- fetch against serve --replay is fetch --replay --------------------------------------------------


OURS = sorted(CASES.glob("*.ndjson"))
OURS = [p for p in OURS if not p.name.endswith(".expected.ndjson")]


def test_fetch_from_serve_replay_equals_fetch_replay() -> None:
    assert_serve_replays(NAME, OURS, model="llama3.2", env={"OLLAMA_API_KEY": SECRET})


def test_fetch_from_serve_replay_equals_fetch_replay_for_the_shared_recordings() -> None:
    assert_serve_replays(NAME, shared_recordings(NAME), model="llama3.2", env={"OLLAMA_API_KEY": SECRET})


# --- what serve answers on each path ------------------------------------------------------------------


def _script(tmp_path: Path, turns: list[dict[str, Any]]) -> Path:
    path = tmp_path / "script.json"
    path.write_bytes(orjson.dumps(turns))
    return path


def test_serve_answers_chat_in_chat_lines_and_generate_in_generate_lines(tmp_path: Path) -> None:
    from streamkit.stages.fetch import replay

    turns = [{"reasoning": "Hm.", "text": "Hello there."}] * 2
    with serving("-d", NAME, "--script", str(_script(tmp_path, turns))) as url:
        chat = httpx.post(f"{url}/api/chat", json={"model": "m1", "messages": [user("hi")]}, timeout=30)
        generate = httpx.post(f"{url}/api/generate", json={"model": "m2", "prompt": "hi"}, timeout=30)
    for response in (chat, generate):
        assert response.status_code == 200 and response.headers["content-type"].startswith(
            "application/x-ndjson"
        )
    chat_lines = [raw["data"] for raw in replay(io.BytesIO(chat.content))]
    generate_lines = [raw["data"] for raw in replay(io.BytesIO(generate.content))]
    assert "".join(line["message"]["content"] for line in chat_lines) == "Hello there."
    assert "".join(line["message"].get("thinking", "") for line in chat_lines) == "Hm."
    assert "".join(line["response"] for line in generate_lines) == "Hello there."
    assert "".join(line.get("thinking", "") for line in generate_lines) == "Hm."
    assert all("message" not in line for line in generate_lines)
    assert ({line["model"] for line in chat_lines}, {line["model"] for line in generate_lines}) == (
        {"m1"},
        {"m2"},
    )
    assert chat_lines[-1]["done"] is True and generate_lines[-1]["done_reason"] == "stop"
    assert DIALECT.serve_options("/api/generate", {}, None) == {"endpoint": "generate"}
    assert DIALECT.serve_options("/api/chat", {}, None) == {"endpoint": "chat"}


# --- the official client over real HTTP ---------------------------------------------------------------


TURNS = [
    {
        "reasoning": "Two lookups.",
        "tool_calls": [
            {"name": "get_weather", "input": {"city": "Paris"}},
            {"name": "get_weather", "input": {}},
        ],
    },
    {"text": "Paris is windy at 8°C; the second call needed a city."},
]


def get_weather(city: str = "") -> str:
    """The current weather in a city.

    Args:
      city: City name
    """
    if not city:
        raise ValueError("which city?")
    return f"windy in {city}"


def _tool_loop(client: Any, history: list[Any], answers: list[str]) -> None:
    """The client's own tool loop: stream, run the calls, send the results back with ``tool_name``."""
    for _ in range(3):
        content, thinking, calls = "", "", []
        for chunk in client.chat(
            model="qwen3:8b", messages=history, tools=[get_weather], stream=True, think=True
        ):
            content += chunk.message.content or ""
            thinking += chunk.message.thinking or ""
            calls += chunk.message.tool_calls or []
        answers.append(content)
        if not calls:
            return
        assert thinking == "Two lookups."
        history.append({"role": "assistant", "content": content, "thinking": thinking, "tool_calls": calls})
        for c in calls:
            try:
                output = get_weather(**c.function.arguments)
            except ValueError as exc:
                output = f"error: {exc}"
            history.append({"role": "tool", "content": output, "tool_name": c.function.name})


def test_the_official_client_completes_a_tool_loop_against_serve(tmp_path: Path) -> None:
    import ollama

    log = tmp_path / "requests.ndjson"
    with serving("-d", NAME, "--script", str(_script(tmp_path, TURNS)), "--log-requests", str(log)) as url:
        history: list[Any] = [{"role": "user", "content": QUESTION}]
        answers: list[str] = []
        with ollama.Client(host=url) as client:
            _tool_loop(client, history, answers)
    assert answers == ["", TURNS[1]["text"]]
    first, second = ndjson(log.read_bytes())
    assert first["model"] == "qwen3:8b" and first["think"] is True and first["stream"] is True
    assert first["tools"][0]["function"]["name"] == "get_weather"
    assert [m["role"] for m in second["messages"]] == ["user", "assistant", "tool", "tool"]
    assert [c["function"] for c in second["messages"][1]["tool_calls"]] == [
        {"name": "get_weather", "arguments": {"city": "Paris"}},
        {"name": "get_weather", "arguments": {}},
    ]
    assert [(m["content"], m["tool_name"]) for m in second["messages"][2:]] == [
        ("windy in Paris", "get_weather"),
        ("error: which city?", "get_weather"),
    ]
    # and what streamkit sends for that same conversation is what the official client sent
    conversation = {
        "messages": [
            user(QUESTION),
            assistant({"type": "reasoning", "text": "Two lookups."}, call("call_0", meta={"generated_id": True, "index": 0}, city="Paris"),
                      call("call_1", meta={"generated_id": True, "index": 1})),
            tool("call_0", "windy in Paris", tool_name="get_weather"),
            tool("call_1", "error: which city?", tool_name="get_weather"),
        ]
    }  # fmt: skip
    ours = body_of(conversation)["messages"]
    assert ours == [
        {"content": "", **m} for m in second["messages"]
    ]  # the client leaves an empty content out


def test_the_official_client_without_streaming_gets_each_answer_whole(tmp_path: Path) -> None:
    """``chat()`` without ``stream=True`` (the client's default) sends ``stream: false``: serve answers
    one line, the response whole, as Ollama does."""
    import ollama

    log = tmp_path / "requests.ndjson"
    with (
        serving("-d", NAME, "--script", str(_script(tmp_path, TURNS)), "--log-requests", str(log)) as url,
        ollama.Client(host=url) as client,
    ):
        history: list[Any] = [{"role": "user", "content": QUESTION}]
        first = client.chat(model="qwen3:8b", messages=history, tools=[get_weather])
        history.append(first.message)
        for c in first.message.tool_calls or ():
            history.append(
                {
                    "role": "tool",
                    "content": f"windy in {c.function.arguments.get('city')}",
                    "tool_name": "get_weather",
                }
            )
        second = client.chat(model="qwen3:8b", messages=history, tools=[get_weather])
    assert first.done and first.done_reason == "stop" and first.message.thinking == "Two lookups."
    assert [(c.function.name, dict(c.function.arguments)) for c in first.message.tool_calls or ()] == [
        ("get_weather", {"city": "Paris"}),
        ("get_weather", {}),
    ]
    assert second.message.content == TURNS[1]["text"] and second.eval_count and second.prompt_eval_count
    bodies = ndjson(log.read_bytes())
    assert [b["stream"] for b in bodies] == [False, False]
    assert [m["role"] for m in bodies[1]["messages"]] == ["user", "assistant", "tool", "tool"]


def test_the_official_client_generates_against_serve(tmp_path: Path) -> None:
    import ollama

    script = _script(tmp_path, [{"text": "Because of Rayleigh scattering."}])
    with serving("-d", NAME, "--script", str(script)) as url, ollama.Client(host=url) as client:
        chunks = list(client.generate(model="phi3", prompt="Why is the sky blue?", stream=True))
    assert "".join(c.response for c in chunks) == "Because of Rayleigh scattering."
    assert chunks[-1].done and chunks[-1].done_reason == "stop" and chunks[-1].model == "phi3"
