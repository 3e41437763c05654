"""gemini requests: the ``streamGenerateContent`` body from a conversation (each part checked against
the google-genai SDK's own types, strictly), URL and headers (the key in ``x-goog-api-key`` only),
native bodies, earlier model turns given back as the wire gave them (thought signatures on the kind
of part they came on), ``fetch`` against ``streamkit serve --replay`` equal to ``fetch --replay``,
what ``serve`` answers on each path, and the tool loop over real HTTP with the signature kept and
with the official client."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from google.genai import types

from streamkit.continuation import assistant_message
from streamkit.conversation import check, from_prompt
from streamkit.dialects.base import Endpoint
from streamkit.dialects.gemini import Gemini
from streamkit.endpoints import resolve
from streamkit.errors import UsageError
from streamkit.testing import assert_serve_replays
from tests.conftest import DATA, ROOT, events_of, fixture_files, messages, ndjson, run_cli, shared_recordings
from tests.test_fetch_live import serving

NAME = "gemini"
DIALECT = Gemini()
SECRET = "AIza-gemini-test-SECRET-7373"
BASE = "https://generativelanguage.googleapis.com"
ENDPOINT = Endpoint(BASE, SECRET, "gemini-2.5-flash")
CASES = DATA / NAME
TOOLS = ROOT / "examples" / "tools.toml"
QUESTION = "What's the weather in Paris?"
SIG_CALL = "c2lnbmF0dXJlLW9mLXRoZS1jYWxs"  # base64, as Gemini's signatures are
SIG_THOUGHT = "c2lnbmF0dXJlLW9mLXRoZS10aG91Z2h0"

# --- the SDK's types, strictly (extra="forbid"; the REST API's camelCase names are their aliases) ----

_TOP_LEVEL = {
    "contents": lambda v: [types.Content.model_validate(c) for c in v],
    "systemInstruction": types.Content.model_validate,
    "tools": lambda v: [types.Tool.model_validate(t) for t in v],
    "generationConfig": types.GenerationConfig.model_validate,
    "safetySettings": lambda v: [types.SafetySetting.model_validate(s) for s in v],
    "toolConfig": types.ToolConfig.model_validate,
    "cachedContent": str,
}


def conforms(body: dict[str, Any]) -> None:
    """Every field of the body validates as the SDK's type for it, and there is no other field."""
    assert set(body) <= set(_TOP_LEVEL), set(body) - set(_TOP_LEVEL)
    for key, value in body.items():
        _TOP_LEVEL[key](value)


def request(conversation: dict[str, Any], endpoint: Endpoint = ENDPOINT) -> Any:
    return DIALECT.build_request(check(conversation), endpoint)


def body_of(conversation: dict[str, Any]) -> dict[str, Any]:
    body = request(conversation).body
    conforms(body)
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
    if meta:
        part["provider_metadata"] = {NAME: meta}
    return part


def tool(call_id: str, output: Any, **more: Any) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "output": output, **more}


def user_content(text: str) -> dict[str, Any]:
    return {"role": "user", "parts": [{"text": text}]}


# --- a prompt: URL, headers, body ----------------------------------------------------------------


def test_a_prompt_is_one_user_content_streamed_over_sse() -> None:
    req = request(from_prompt("Say hi"))
    assert (req.method, req.framing) == ("POST", "sse")
    assert req.url == f"{BASE}/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    assert req.body == {"contents": [user_content("Say hi")]}
    conforms(req.body)


def test_the_key_is_in_the_x_goog_api_key_header_and_nowhere_else() -> None:
    req = request(from_prompt("hi"))
    assert req.headers == {
        "Content-Type": "application/json",
        "Accept": "text/event-stream",
        "x-goog-api-key": SECRET,
    }
    assert SECRET not in req.url and "key=" not in req.url
    assert SECRET.encode() not in orjson.dumps(req.body) and SECRET not in repr(req)
    keyless = request(from_prompt("hi"), Endpoint(BASE, None, "gemini-2.5-flash"))
    assert "x-goog-api-key" not in keyless.headers


def test_what_goes_over_the_wire() -> None:
    """The request fetch sends, seen by an HTTP transport: the URL's query is alt=sse only, the key
    is in its header."""
    from streamkit.upstream import open_stream

    seen: list[httpx.Request] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        chunk = {
            "candidates": [{"content": {"role": "model", "parts": [{"text": "hi"}]}, "finishReason": "STOP"}]
        }
        return httpx.Response(200, stream=httpx.ByteStream(b"data: " + orjson.dumps(chunk) + b"\r\n\r\n"))

    client = httpx.Client(transport=httpx.MockTransport(handler))
    raws = list(open_stream(request(from_prompt("hi")), dialect=NAME, client=client))
    (sent,) = seen
    assert sent.url.path == "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
    assert dict(sent.url.params) == {"alt": "sse"}
    assert sent.headers["x-goog-api-key"] == SECRET
    assert orjson.loads(sent.content) == {"contents": [user_content("hi")]}
    assert [r["data"]["candidates"][0]["content"]["parts"] for r in raws] == [[{"text": "hi"}]]


@pytest.mark.parametrize(
    ("base", "model", "url"),
    [
        (BASE, "models/gemini-2.5-pro", f"{BASE}/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse"),
        (BASE, "tunedModels/my-tune", f"{BASE}/v1beta/tunedModels/my-tune:streamGenerateContent?alt=sse"),
        (BASE, "odd name/x", f"{BASE}/v1beta/models/odd%20name%2Fx:streamGenerateContent?alt=sse"),
        (f"{BASE}/v1", "gemini-2.5-flash", f"{BASE}/v1/models/gemini-2.5-flash:streamGenerateContent?alt=sse"),
        (f"{BASE}/v1alpha", "gemini-2.5-flash",
         f"{BASE}/v1alpha/models/gemini-2.5-flash:streamGenerateContent?alt=sse"),
        ("https://aiplatform.googleapis.com/v1/projects/p/locations/global/publishers/google", "gemini-2.5-flash",
         "https://aiplatform.googleapis.com/v1/projects/p/locations/global/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse"),
        ("http://127.0.0.1:8080/proxy", "g", "http://127.0.0.1:8080/proxy/v1beta/models/g:streamGenerateContent?alt=sse"),
    ],
)  # fmt: skip
def test_the_url_for_each_base_and_model_name(base: str, model: str, url: str) -> None:
    assert request(from_prompt("hi"), Endpoint(base, None, model)).url == url


def test_the_model_comes_from_the_endpoint_then_the_conversation() -> None:
    conversation = {**from_prompt("hi"), "model": "gemini-from-conversation"}
    assert "/models/gemini-2.5-flash:" in request(conversation).url
    assert "/models/gemini-from-conversation:" in request(conversation, Endpoint(BASE, None, None)).url
    with pytest.raises(UsageError, match=r"no model: pass -m MODEL \(gemini-2.5-flash\)"):
        request(from_prompt("hi"), Endpoint(BASE, None, None))


def test_the_cli_without_a_model_is_a_usage_error() -> None:
    result = run_cli("fetch", "-d", NAME, "hi", env={"STREAMKIT_MODEL": "", "GEMINI_API_KEY": SECRET})
    assert result.returncode == 2
    assert b"no model: pass -m MODEL" in result.stderr and b"Traceback" not in result.stderr
    assert SECRET.encode() not in result.stdout + result.stderr


def test_the_base_url_and_key_come_from_the_gemini_and_google_variables() -> None:
    env = {"GEMINI_API_KEY": "k-gemini", "GOOGLE_API_KEY": "k-google", "GEMINI_BASE_URL": "http://g.test"}
    endpoint = resolve(DIALECT, env=env)
    assert (endpoint.base_url, endpoint.api_key) == ("http://g.test", "k-gemini")
    endpoint = resolve(
        DIALECT, env={"GOOGLE_API_KEY": "k-google", "GOOGLE_GEMINI_BASE_URL": "http://sdk.test"}
    )
    assert (endpoint.base_url, endpoint.api_key) == ("http://sdk.test", "k-google")
    endpoint = resolve(DIALECT, env={})
    assert (endpoint.base_url, endpoint.api_key) == (BASE, None)
    assert resolve(DIALECT, env={"STREAMKIT_API_KEY": "k-sk", "GEMINI_API_KEY": "k-gemini"}).api_key == "k-sk"


def test_an_empty_conversation_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no message with content"):
        request({"system": "Be brief.", "messages": [{"role": "user", "content": ""}]})


# --- the body from a conversation ------------------------------------------------------------------


def test_the_system_prompt_is_the_system_instruction() -> None:
    body = body_of(
        {"system": "Be brief.", "messages": [{"role": "system", "content": "Metric units."}, user("Hi")]}
    )
    assert body["systemInstruction"] == {"parts": [{"text": "Be brief.\n\nMetric units."}]}
    assert body["contents"] == [user_content("Hi")]  # system messages are the instruction only


def test_user_text_and_files() -> None:
    content = [
        {"type": "text", "text": "What is in these?"},
        {"type": "file", "media_type": "image/png", "data": "iVBORw0KGgo="},
        {"type": "file", "media_type": "application/pdf", "url": "https://example.com/a.pdf"},
        {"type": "file", "media_type": "video/mp4", "data": "gs://bucket/clip.mp4"},
    ]
    body = body_of({"messages": [{"role": "user", "content": content}]})
    assert body["contents"] == [
        {
            "role": "user",
            "parts": [
                {"text": "What is in these?"},
                {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
                {"fileData": {"mimeType": "application/pdf", "fileUri": "https://example.com/a.pdf"}},
                {"fileData": {"mimeType": "video/mp4", "fileUri": "gs://bucket/clip.mp4"}},
            ],
        }
    ]


def test_tools_are_function_declarations() -> None:
    tools = [
        {"name": "get_weather", "description": "The weather",
         "parameters": {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
                        "properties": {"city": {"type": "string"}}, "required": ["city"]}},
        {"name": "now", "description": "The time", "parameters": {"type": "object", "properties": {}}},
        {"name": "ping"},
    ]  # fmt: skip
    body = body_of({"messages": [user("hi")], "tools": tools})
    assert body["tools"] == [
        {
            "functionDeclarations": [
                {"name": "get_weather", "description": "The weather",
                 "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
                {"name": "now", "description": "The time"},  # Gemini refuses an object with no properties
                {"name": "ping"},
            ]
        }
    ]  # fmt: skip


def test_options_canonical_generation_settings_and_request_fields() -> None:
    options = {
        "max_tokens": 200, "temperature": 0.2, "top_p": 0.9, "stop": "END", "seed": 7,
        "top_k": 40, "thinking_config": {"thinkingBudget": 0}, "responseMimeType": "text/plain",
        "generationConfig": {"candidateCount": 1},
        "safety_settings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}],
        "toolConfig": {"functionCallingConfig": {"mode": "ANY"}},
    }  # fmt: skip
    body = body_of({"messages": [user("hi")], "options": options})
    assert body["generationConfig"] == {
        "maxOutputTokens": 200,
        "temperature": 0.2,
        "topP": 0.9,
        "stopSequences": ["END"],
        "seed": 7,
        "topK": 40,
        "thinkingConfig": {"thinkingBudget": 0},
        "responseMimeType": "text/plain",
        "candidateCount": 1,
    }
    assert body["safetySettings"] == [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}]
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}}


def test_gemini_tools_in_the_options_join_the_declared_functions_and_unknown_options_pass_through() -> None:
    conversation = {
        "messages": [user("hi")],
        "tools": [{"name": "now"}],
        "options": {"tools": [{"googleSearch": {}}], "someNewField": {"x": 1}},
    }
    body = request(conversation).body
    assert body["tools"] == [{"functionDeclarations": [{"name": "now"}]}, {"googleSearch": {}}]
    assert body["someNewField"] == {"x": 1}


# --- earlier model turns and tool results -------------------------------------------------------------


def test_a_model_turn_keeps_thoughts_text_calls_and_each_signature_on_its_part() -> None:
    conversation = {
        "messages": [
            user(QUESTION),
            assistant(
                {"type": "reasoning", "text": "Two lookups.", "provider_metadata": {NAME: {"thought_signature": SIG_THOUGHT}}},
                {"type": "text", "text": "Let me check."},
                call("fc-1", meta={"thought_signature": SIG_CALL}, city="Paris"),
                call("call_0", meta={"generated_id": True}),
                {"type": "source", "source_type": "url", "id": "s1", "url": "https://example.com"},
                {"type": "text", "text": "", "provider_metadata": {NAME: {"thought_signature": "c2lnLWVuZA=="}}},
            ),
            tool("fc-1", "windy, 8°C", tool_name="get_weather"),
            tool("call_0", "which city?", is_error=True),  # no tool_name: the call's
        ]
    }  # fmt: skip
    body = body_of(conversation)
    assert body["contents"] == [
        user_content(QUESTION),
        {
            "role": "model",
            "parts": [
                {"text": "Two lookups.", "thought": True, "thoughtSignature": SIG_THOUGHT},
                {"text": "Let me check."},
                {"functionCall": {"id": "fc-1", "name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": SIG_CALL},
                {"functionCall": {"name": "get_weather", "args": {}}},  # an id normalize made up is not sent
                {"text": "", "thoughtSignature": "c2lnLWVuZA=="},  # a signature-only part goes back too
            ],
        },
        {
            "role": "user",  # the results of one turn: one content, one part each
            "parts": [
                {"functionResponse": {"id": "fc-1", "name": "get_weather", "response": {"result": "windy, 8°C"}}},
                {"functionResponse": {"name": "get_weather", "response": {"error": "which city?"}}},
            ],
        },
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("output", "is_error", "response"),
    [
        ({"sky": "windy", "temperature_c": 8}, False, {"sky": "windy", "temperature_c": 8}),
        ("windy", False, {"result": "windy"}),
        ([1, 2], False, {"result": [1, 2]}),
        (None, False, {"result": None}),
        ("the tool exited with status 2", True, {"error": "the tool exited with status 2"}),
        ({"code": 404}, True, {"error": {"code": 404}}),
        ({"error": "not found"}, True, {"error": "not found"}),
    ],
)
def test_the_function_response_is_an_object(output: Any, is_error: bool, response: dict[str, Any]) -> None:
    conversation = {"messages": [user("hi"), assistant(call("c1")), tool("c1", output, is_error=is_error)]}
    (part,) = body_of(conversation)["contents"][2]["parts"]
    assert part == {"functionResponse": {"id": "c1", "name": "get_weather", "response": response}}


def test_calls_of_other_dialects_keep_their_ids_and_bad_arguments_are_sent_as_an_empty_object(
    capsys: pytest.CaptureFixture[str],
) -> None:
    broken = {"type": "tool-call", "tool_call_id": "call_abc", "tool_name": "get_weather",
              "arguments": '{"city": "Par', "input": None, "input_error": "arguments are not valid JSON"}  # fmt: skip
    ollama_generated = {**call("call_0"), "provider_metadata": {"ollama": {"generated_id": True, "index": 0}}}
    conversation = {
        "messages": [
            user("hi"),
            assistant(broken, ollama_generated),
            tool("call_abc", "?"),
            tool("call_0", "?"),
        ]
    }
    model_turn = body_of(conversation)["contents"][1]
    assert model_turn["parts"] == [
        {"functionCall": {"id": "call_abc", "name": "get_weather", "args": {}}},
        {"functionCall": {"name": "get_weather", "args": {}}},
    ]
    assert (
        "gemini cannot send tool-call arguments that are not a JSON object (sent as {}) (1)"
        in capsys.readouterr().err
    )


def test_reasoning_of_other_dialects_is_sent_as_thought_text_and_empty_blocks_are_not(
    capsys: pytest.CaptureFixture[str],
) -> None:
    conversation = {
        "messages": [
            user("hi"),
            assistant(
                {"type": "reasoning", "text": "Hmm.", "provider_metadata": {"anthropic": {"signature": "x"}}},
                {"type": "reasoning", "text": "", "provider_metadata": {"anthropic": {"redacted_data": "y"}}},
                {"type": "text", "text": "Hello."},
            ),
            user("Again"),
        ]
    }
    assert body_of(conversation)["contents"][1] == {
        "role": "model",
        "parts": [{"text": "Hmm.", "thought": True}, {"text": "Hello."}],
    }
    assert capsys.readouterr().err == ""


def test_executed_tools_of_gemini_go_back_as_their_parts_and_others_are_left_out_with_a_warning(
    capsys: pytest.CaptureFixture[str],
) -> None:
    (message,) = messages(events_of(CASES / "code-execution.sse"))
    groq = [
        {"type": "tool-call", "tool_call_id": "g1", "tool_name": "browser.search", "input": {"q": "x"},
         "arguments": '{"q":"x"}', "provider_executed": True},
        {"type": "tool-result", "tool_call_id": "g1", "tool_name": "browser.search", "output": "...",
         "provider_executed": True},
    ]  # fmt: skip
    conversation = {"messages": [user("Sum 1..100"), assistant(*message["content"], *groq)]}
    parts = body_of(conversation)["contents"][1]["parts"]
    assert [next(iter(p)) for p in parts] == [
        "executableCode",
        "codeExecutionResult",
        "executableCode",
        "codeExecutionResult",
        "text",
    ]
    assert parts[2] == {"executableCode": {"language": "PYTHON", "code": "print(sum(range(1, 101)))"}}
    assert parts[3] == {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "5050\n"}}
    err = capsys.readouterr().err
    assert "gemini cannot send other providers' executed tool calls (1)" in err
    assert "gemini cannot send other providers' executed tool results (1)" in err


def test_gemini_3_gets_the_skip_signature_on_unsigned_first_calls_of_the_current_turn_only() -> None:
    from streamkit.dialects.gemini import SKIP_SIGNATURE

    conversation = {
        "messages": [
            user("Weather in Oslo?"),
            assistant(call("toolu_1", city="Oslo")),  # an earlier turn: not checked, left alone
            tool("toolu_1", "4°C"),
            assistant({"type": "text", "text": "4°C."}),
            user(QUESTION),
            assistant({"type": "text", "text": "Looking."}, call("toolu_2", city="Paris"), call("toolu_3", city="Lyon")),
            tool("toolu_2", "windy"),
            tool("toolu_3", "rainy"),
            assistant(call("fc_4", meta={"thought_signature": SIG_CALL}, city="Nice")),  # signed by Gemini
            tool("fc_4", "sunny"),
            assistant(call("toolu_5", city="Metz")),
            tool("toolu_5", "foggy"),
        ]
    }  # fmt: skip

    def signatures(model: str) -> list[list[str | None]]:
        body = request(conversation, Endpoint(BASE, None, model)).body
        conforms(body)
        return [
            [p.get("thoughtSignature") for p in c["parts"] if "functionCall" in p]
            for c in body["contents"]
            if c["role"] == "model"
        ]

    assert signatures("gemini-3-pro-preview") == [
        [None],
        [],
        [SKIP_SIGNATURE, None],  # the first of parallel calls only, as Gemini signs them
        [SIG_CALL],
        [SKIP_SIGNATURE],
    ]
    assert signatures("models/gemini-3.5-flash") == signatures("gemini-3-pro-preview")
    unsigned = [[None], [], [None, None], [SIG_CALL], [None]]
    assert signatures("gemini-2.5-flash") == unsigned and signatures("tunedModels/x") == unsigned


def test_a_tool_result_with_no_name_and_no_call_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="the tool result for c9 names no tool"):
        request({"messages": [user("hi"), tool("c9", "x")]})


# --- a recorded answer, given back: its model turn is the wire's parts -------------------------------


def wire_parts(path: Path) -> list[dict[str, Any]] | None:
    """The parts of a recording's one response, joined the way Gemini's own chat history keeps
    them: consecutive text parts of one kind make one part, a signature ends it; function calls
    whole (``args`` ``{}`` when absent). None for a recording this simple reading cannot take
    (streamed call arguments, errors, several responses, no parts)."""
    from streamkit.stages.fetch import replay

    with open(path, "rb") as f:
        raws = list(replay(f))
    parts: list[dict[str, Any]] = []
    ids = set()
    for raw in raws:
        data = raw["data"]
        if not isinstance(data, dict) or "error" in data:
            return None
        ids.add(data.get("responseId"))
        for cand in data.get("candidates") or ():
            parts += (cand.get("content") or {}).get("parts") or ()
    if len(ids) > 1 or not parts or any("partialArgs" in str(p) or "willContinue" in str(p) for p in parts):
        return None
    out: list[dict[str, Any]] = []
    run: dict[str, Any] | None = None  # the text part being joined
    for part in parts:
        if "text" in part:
            thought = bool(part.get("thought"))
            if run is None or bool(run.get("thought")) != thought:
                if not part["text"] and "thoughtSignature" not in part:
                    continue
                run = {"text": "", "thought": True} if thought else {"text": ""}
                out.append(run)
            run["text"] += part["text"]
            if "thoughtSignature" in part:
                run["thoughtSignature"] = part["thoughtSignature"]
                run = None
            continue
        run = None
        if "functionCall" in part:
            fc = part["functionCall"]
            whole = {
                **({"id": fc["id"]} if "id" in fc else {}),
                "name": fc["name"],
                "args": fc.get("args", {}),
            }
            part = {**part, "functionCall": whole}
        out.append(part)
    return out


OURS = sorted(p for p in CASES.glob("*") if p.suffix in (".sse", ".json"))
GIVEN_BACK = [p for p in OURS if wire_parts(p) is not None]
SHARED_GIVEN_BACK = [
    p for p in fixture_files(NAME) if p.values[0] is None or wire_parts(p.values[0]) is not None
]


def _given_back(path: Path) -> None:
    expected = wire_parts(path)
    assert expected is not None
    (message,) = messages(events_of(path))
    conversation = {"messages": [user("hi"), assistant_message(message)]}
    (model_turn,) = [c for c in body_of(conversation)["contents"] if c["role"] == "model"]
    assert model_turn["parts"] == expected


@pytest.mark.parametrize("recording", GIVEN_BACK, ids=[p.name for p in GIVEN_BACK])
def test_a_recorded_answer_goes_back_as_its_parts(recording: Path) -> None:
    _given_back(recording)


@pytest.mark.parametrize("recording", SHARED_GIVEN_BACK)
def test_a_shared_recorded_answer_goes_back_as_its_parts(recording: Path) -> None:
    _given_back(recording)


def test_a_streamed_call_goes_back_whole_with_the_signature_of_its_first_part() -> None:
    (message,) = messages(events_of(CASES / "function-call-streamed.sse"))
    calls = [p for p in message["content"] if p["type"] == "tool-call"]
    parts = body_of({"messages": [user("hi"), assistant_message(message)]})["contents"][1]["parts"]
    assert [p["functionCall"] for p in parts if "functionCall" in p] == [
        {"name": c["tool_name"], "args": c["input"]} for c in calls
    ]
    first = ndjson(run_cli("fetch", "--replay", str(CASES / "function-call-streamed.sse")).stdout)[0]["data"]
    assert parts[0]["thoughtSignature"] == first["candidates"][0]["content"]["parts"][0]["thoughtSignature"]
    assert all("thoughtSignature" not in p for p in parts[1:])


# --- native bodies ----------------------------------------------------------------------------------


def test_a_native_body_is_sent_as_it_is() -> None:
    body = {
        "contents": [user_content("hi")],
        "generationConfig": {"topK": 3},
        "cachedContent": "cachedContents/x",
    }
    req = DIALECT.build_request(None, ENDPOINT, body=body)
    assert (
        req.body == body and req.url == f"{BASE}/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    )
    assert req.headers["x-goog-api-key"] == SECRET


def test_a_native_body_may_name_its_model() -> None:
    body = {"model": "gemini-2.0-flash", "contents": [user_content("hi")]}
    req = DIALECT.build_request(None, Endpoint(BASE, None, None), body=body)
    assert req.url == f"{BASE}/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse"
    assert req.body == {"contents": [user_content("hi")]}  # not a field of Gemini's
    with pytest.raises(UsageError, match="no model"):
        DIALECT.build_request(None, Endpoint(BASE, None, None), body={"contents": []})


def test_a_native_body_through_fetch(tmp_path: Path) -> None:
    body = tmp_path / "body.json"
    body.write_bytes(orjson.dumps({"contents": [user_content("hi")], "safetySettings": []}))
    log = tmp_path / "log.ndjson"
    with serving("-d", NAME, "--replay", str(CASES / "text.sse"), "--log-requests", str(log)) as url:
        result = run_cli("fetch", "-d", NAME, "--base-url", url, "-m", "g", "--body", str(body))
    assert result.returncode == 0, result.stderr
    assert ndjson(log.read_bytes()) == [{"contents": [user_content("hi")], "safetySettings": []}]


# --- fetch against serve --replay is fetch --replay --------------------------------------------------


def test_fetch_from_serve_replay_equals_fetch_replay() -> None:
    assert_serve_replays(NAME, OURS, model="gemini-test", env={"GEMINI_API_KEY": SECRET})


def test_fetch_from_serve_replay_equals_fetch_replay_for_the_shared_recordings() -> None:
    assert_serve_replays(NAME, shared_recordings(NAME), model="gemini-test", env={"GEMINI_API_KEY": SECRET})


# --- what serve answers on each path ------------------------------------------------------------------


def _script(tmp_path: Path, turns: list[dict[str, Any]]) -> Path:
    path = tmp_path / "script.json"
    path.write_bytes(orjson.dumps(turns))
    return path


@pytest.mark.parametrize("version", ["v1beta", "v1"])
def test_serve_answers_on_the_model_path_and_names_that_model(version: str, tmp_path: Path) -> None:
    from streamkit.stages.fetch import replay

    with serving("-d", NAME, "--script", str(_script(tmp_path, [{"text": "Hello there."}] * 2))) as url:
        response = httpx.post(f"{url}/{version}/models/gemini-2.5-pro:streamGenerateContent?alt=sse",
                              json={"contents": [user_content("hi")]}, timeout=30)  # fmt: skip
        whole = httpx.post(f"{url}/{version}/models/gemini-2.5-pro:generateContent",
                           json={"contents": [user_content("hi")]}, timeout=30)  # fmt: skip
        elsewhere = httpx.post(f"{url}/{version}/models/gemini-2.5-pro:embedContent", json={}, timeout=30)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    chunks = [raw["data"] for raw in replay(io.BytesIO(response.content))]
    assert {c["modelVersion"] for c in chunks} == {"gemini-2.5-pro"}
    text = "".join(
        p.get("text", "") for c in chunks for p in c["candidates"][0].get("content", {}).get("parts", ())
    )
    assert text == "Hello there."
    assert whole.status_code == 200  # :generateContent: the whole response
    assert whole.json()["candidates"][0]["content"]["parts"] == [{"text": "Hello there."}]
    assert whole.json()["modelVersion"] == "gemini-2.5-pro"
    assert elsewhere.status_code == 404


# --- the tool loop over real HTTP ---------------------------------------------------------------------


SIGNED_TURNS = [
    {
        "content": [
            {"type": "reasoning", "text": "Two lookups.", "provider_metadata": {NAME: {"thought_signature": SIG_THOUGHT}}},
            {"type": "tool-call", "tool_name": "get_weather", "input": {"city": "Paris"},
             "provider_metadata": {NAME: {"thought_signature": SIG_CALL}}},
            {"type": "tool-call", "tool_name": "get_weather", "input": {}},
        ]
    },
    {"text": "Paris is windy at 8°C; the second call needed a city."},
]  # fmt: skip


def test_the_continuation_keeps_the_thought_signatures_of_the_scripted_turn(tmp_path: Path) -> None:
    log = tmp_path / "requests.ndjson"
    with serving(
        "-d", NAME, "--script", str(_script(tmp_path, SIGNED_TURNS)), "--log-requests", str(log)
    ) as url:
        result = run_cli("agent", "-d", NAME, "--base-url", url, "-m", "gemini-test", "--tools", str(TOOLS), QUESTION,
                         env={"GEMINI_API_KEY": SECRET})  # fmt: skip
    assert result.returncode == 0, result.stderr
    final = messages(ndjson(result.stdout))[-1]
    assert final["content"][-1]["text"] == SIGNED_TURNS[1]["text"] and final["model"] == "gemini-test"
    first, second = ndjson(log.read_bytes())
    assert first["contents"] == [user_content(QUESTION)]
    assert [d["name"] for d in first["tools"][0]["functionDeclarations"]] == ["get_weather"]
    conforms(second)
    user_turn, model_turn, results_turn = second["contents"]
    assert user_turn == user_content(QUESTION)
    assert model_turn == {
        "role": "model",
        "parts": [
            {"text": "Two lookups.", "thought": True, "thoughtSignature": SIG_THOUGHT},
            {"functionCall": {"id": "call_1_0", "name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": SIG_CALL},
            {"functionCall": {"id": "call_1_1", "name": "get_weather", "args": {}}},
        ],
    }  # fmt: skip
    assert results_turn["role"] == "user"
    (ok, failed) = (p["functionResponse"] for p in results_turn["parts"])
    assert (ok["id"], ok["name"], failed["id"], failed["name"]) == (
        "call_1_0",
        "get_weather",
        "call_1_1",
        "get_weather",
    )
    assert "windy" in ok["response"]["result"] and "which city?" in failed["response"]["error"]
    assert SECRET.encode() not in result.stdout + result.stderr + log.read_bytes()


def parts_of(chunks: list[Any]) -> list[Any]:
    return [
        p for c in chunks for p in (c.candidates[0].content.parts or () if c.candidates[0].content else ())
    ]


def test_the_official_client_reads_scripted_answers_from_serve(tmp_path: Path) -> None:
    from google import genai

    turns = [{"reasoning": "A greeting.", "text": "Hello there, from the script."}, SIGNED_TURNS[0]]
    log = tmp_path / "requests.ndjson"
    script = _script(tmp_path, turns)
    with (
        serving("-d", NAME, "--script", str(script), "--log-requests", str(log)) as url,
        genai.Client(api_key="test-key", http_options={"base_url": url}) as client,
    ):
        chunks = list(client.models.generate_content_stream(model="gemini-test", contents="Say hello"))
        calls_chunks = list(client.models.generate_content_stream(model="gemini-test", contents=QUESTION))
    parts = parts_of(chunks)
    assert "".join(p.text for p in parts if p.text and not p.thought) == "Hello there, from the script."
    assert "".join(p.text for p in parts if p.text and p.thought) == "A greeting."
    assert {c.model_version for c in chunks} == {"gemini-test"}
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    assert chunks[-1].usage_metadata.total_token_count > 0
    call_parts = [p for p in parts_of(calls_chunks) if p.function_call]
    assert [(p.function_call.name, p.function_call.args, p.function_call.id) for p in call_parts] == [
        ("get_weather", {"city": "Paris"}, "call_2_0"),
        ("get_weather", {}, "call_2_1"),
    ]
    import base64

    assert (
        call_parts[0].thought_signature == base64.b64decode(SIG_CALL)
        and call_parts[1].thought_signature is None
    )
    assert [b["contents"] for b in ndjson(log.read_bytes())] == [
        [user_content("Say hello")],
        [user_content(QUESTION)],
    ]


@pytest.mark.parametrize(
    ("schema", "field"),
    [
        ({"type": "object", "properties": {"path": {"type": "string"}}, "additionalProperties": False}, "parameters"),
        # what Claude Code's tools hold, which ``parameters`` (Gemini's OpenAPI subset) refuses
        ({"type": "object", "properties": {"n": {"type": "number", "exclusiveMinimum": 0}}}, "parametersJsonSchema"),
        ({"type": "object", "properties": {"mode": {"const": "fast"}}}, "parametersJsonSchema"),
        ({"type": "object", "properties": {"m": {"type": "object", "propertyNames": {"pattern": "^a"}}}},
         "parametersJsonSchema"),
        ({"type": "object", "properties": {"s": {"type": ["string", "null"]}}}, "parametersJsonSchema"),
        ({"type": "object", "properties": {"a": {"type": "array", "items": {"type": "string", "const": "x"}}}},
         "parametersJsonSchema"),
    ],
)  # fmt: skip
def test_a_schema_past_geminis_openapi_subset_goes_as_json_schema(schema: dict[str, Any], field: str) -> None:
    conversation = {**from_prompt("hi"), "tools": [{"name": "f", "parameters": {"$schema": "x", **schema}}]}
    (declaration,) = DIALECT.build_request(conversation, Endpoint("http://x", model="m")).body["tools"][0][
        "functionDeclarations"
    ]
    assert declaration[field] == schema and set(declaration) == {"name", field}
    types.FunctionDeclaration.model_validate(declaration)  # what the SDK's own model takes
