"""openai-responses requests: the bodies built from conversations (checked against the official
SDK's parameter types), URL and headers, native bodies, the continuation (``previous_response_id``
with only the new items, or the whole input when the server keeps no state), and the WebSocket
mode, end to end against ``streamkit serve`` over real HTTP and WebSocket: fetch against
``serve --replay`` gives the same raw events as ``fetch --replay``, the agent keeps one connection
for its steps, ``auto`` falls back to SSE with one warning, ``websocket`` fails clearly, and the
official client (``client.responses.stream`` and its WebSocket ``client.responses.connect``) runs a
tool loop against our server.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest
from openai.types.responses import (
    EasyInputMessageParam,
    ResponseComputerToolCallParam,
    ResponseCustomToolCallOutputParam,
    ResponseCustomToolCallParam,
    ResponseFunctionToolCallParam,
    ResponseOutputMessageParam,
    ResponseReasoningItemParam,
)
from openai.types.responses import response_create_params as create_params
from openai.types.responses import response_input_item_param as item_params
from pydantic import TypeAdapter

from streamkit.continuation import next_conversation
from streamkit.dialects.base import Endpoint
from streamkit.dialects.openai_responses import WEBSOCKET_FINAL, OpenAIResponses
from streamkit.errors import UsageError
from streamkit.plugins import default_registry
from streamkit.stages.fetch import replay
from streamkit.testing import assert_serve_replays
from tests.conftest import DATA, ROOT, ndjson, run_cli, shared_recordings
from tests.test_fetch_live import SECRET, serving, without_t

NAME = "openai-responses"
CASES = sorted((DATA / NAME).glob("*.sse"))
TOOLS = ROOT / "examples" / "tools.toml"
DIALECT = OpenAIResponses()
ENDPOINT = Endpoint("https://api.example.test/v1", SECRET, "gpt-test")

# the SDK's parameter type of each input item we write
ITEM_TYPES: dict[str, Any] = {
    "function_call": ResponseFunctionToolCallParam,
    "function_call_output": item_params.FunctionCallOutput,
    "custom_tool_call": ResponseCustomToolCallParam,
    "custom_tool_call_output": ResponseCustomToolCallOutputParam,
    "apply_patch_call": item_params.ApplyPatchCall,
    "apply_patch_call_output": item_params.ApplyPatchCallOutput,
    "reasoning": ResponseReasoningItemParam,
    "shell_call": item_params.ShellCall,
    "shell_call_output": item_params.ShellCallOutput,
    "local_shell_call": item_params.LocalShellCall,
    "local_shell_call_output": item_params.LocalShellCallOutput,
    "computer_call": ResponseComputerToolCallParam,
    "computer_call_output": item_params.ComputerCallOutput,
    "tool_search_call": item_params.ToolSearchCall,
    "tool_search_output": item_params.ResponseToolSearchOutputItemParamParam,
    "mcp_approval_request": item_params.McpApprovalRequest,
    "mcp_approval_response": item_params.McpApprovalResponse,
}


def _force(value: Any) -> Any:
    """pydantic validates ``Iterable`` fields lazily: walk the result so that every part is checked."""
    if isinstance(value, dict):
        return {k: _force(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_force(v) for v in value]
    if hasattr(value, "__next__"):
        return [_force(v) for v in value]
    return value


BODY: TypeAdapter[Any] = TypeAdapter(create_params.ResponseCreateParamsStreaming)
ADAPTERS: dict[Any, TypeAdapter[Any]] = {}  # kept alive: pydantic validates Iterable fields lazily


def validate(kind: Any, value: Any) -> Any:
    adapter = ADAPTERS.get(kind) or ADAPTERS.setdefault(kind, TypeAdapter(kind))
    return _force(adapter.validate_python(value))


def check_body(body: dict[str, Any]) -> None:
    """The body validates as the SDK's streaming create parameters, each item as its own type."""
    _force(BODY.validate_python(body))
    for item in body["input"]:
        kind = item.get("type")
        if kind == "message" and item["role"] == "assistant" and "id" in item:
            kind_type: Any = ResponseOutputMessageParam
        elif kind == "message" and item["role"] == "user":
            kind_type = item_params.Message
        elif kind == "message":
            kind_type = EasyInputMessageParam
        else:
            kind_type = ITEM_TYPES[kind]
        assert validate(kind_type, item) == item, f"{kind}: fields the SDK type does not know"


def body_of(conversation: dict[str, Any]) -> dict[str, Any]:
    body = DIALECT.build_request(conversation, ENDPOINT).body
    check_body(body)
    return body


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"type": "text", "text": text}]}


def pm(**meta: Any) -> dict[str, Any]:
    return {"provider_metadata": {NAME: meta}}


# an assistant turn as accumulate writes it from a Responses stream
TURN = {
    "role": "assistant",
    "content": [
        {"type": "reasoning", "text": "First part.", **pm(item_id="rs_1")},
        {"type": "reasoning", "text": "Second part.", **pm(item_id="rs_1", encrypted_content="gAAA-enc")},
        {"type": "text", "text": "Let me check.", **pm(item_id="msg_1", phase="commentary")},
        {"type": "tool-call", "tool_call_id": "ws_1", "tool_name": "web_search", "provider_executed": True,
         "arguments": '{"query":"x"}', "input": {"query": "x"}, **pm(item_id="ws_1", type="web_search_call")},
        {"type": "tool-result", "tool_call_id": "ws_1", "tool_name": "web_search", "provider_executed": True,
         "output": {"status": "completed"}, "is_error": False, **pm(item_id="ws_1", type="web_search_call")},
        {"type": "source", "source_type": "url", "id": "src-0", "url": "https://example.test/"},
        {"type": "tool-call", "tool_call_id": "call_a", "tool_name": "get_weather", "arguments": '{"city":"Paris"}',
         "input": {"city": "Paris"}, **pm(item_id="fc_a", namespace="weather")},
        {"type": "tool-call", "tool_call_id": "call_b", "tool_name": "code_exec", "arguments": '{"input":"print(1)"}',
         "input": {"input": "print(1)"}, **pm(item_id="ctc_b", type="custom_tool_call")},
        {"type": "tool-call", "tool_call_id": "call_c", "tool_name": "apply_patch",
         "arguments": '{"type":"delete_file","path":"old.py"}', "input": {"type": "delete_file", "path": "old.py"},
         **pm(item_id="apc_c", type="apply_patch_call")},
    ],
}  # fmt: skip
RESULTS = [
    {"role": "tool", "tool_call_id": "call_a", "tool_name": "get_weather", "output": {"temperature_c": 8}},
    {"role": "tool", "tool_call_id": "call_b", "tool_name": "code_exec", "output": "1\n"},
    {
        "role": "tool",
        "tool_call_id": "call_c",
        "tool_name": "apply_patch",
        "output": "no such file",
        "is_error": True,
    },
]
ITEMS = [
    {"type": "reasoning", "summary": [{"type": "summary_text", "text": "First part."},
                                      {"type": "summary_text", "text": "Second part."}],
     "id": "rs_1", "encrypted_content": "gAAA-enc"},
    {"type": "message", "role": "assistant", "id": "msg_1", "status": "completed", "phase": "commentary",
     "content": [{"type": "output_text", "text": "Let me check.", "annotations": []}]},
    {"type": "function_call", "call_id": "call_a", "name": "get_weather", "arguments": '{"city":"Paris"}',
     "namespace": "weather"},
    {"type": "custom_tool_call", "call_id": "call_b", "name": "code_exec", "input": "print(1)", "id": "ctc_b"},
    {"type": "apply_patch_call", "call_id": "call_c", "status": "completed",
     "operation": {"type": "delete_file", "path": "old.py"}, "id": "apc_c"},
]  # fmt: skip
OUTPUTS = [
    {"type": "function_call_output", "call_id": "call_a", "output": '{"temperature_c":8}'},
    {"type": "custom_tool_call_output", "call_id": "call_b", "output": "1\n"},
    {"type": "apply_patch_call_output", "call_id": "call_c", "status": "failed", "output": "no such file"},
]


# --- bodies ------------------------------------------------------------------------------------


def test_a_prompt_with_system_tools_and_options() -> None:
    conversation = {
        "system": "Be brief.",
        "messages": [{"role": "system", "content": "Metric units."}, user("Weather?")],
        "tools": [{"name": "get_weather", "description": "The weather", "parameters": {"type": "object"}},
                  {"name": "now", "strict": True}],
        "options": {"max_tokens": 100, "temperature": 0.2, "top_p": 0.9, "reasoning": {"effort": "low"},
                    "include": ["message.output_text.logprobs"], "store": True, "tool_choice": "auto"},
    }  # fmt: skip
    body = body_of(conversation)
    assert body == {
        "model": "gpt-test",
        "instructions": "Be brief.\n\nMetric units.",
        "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Weather?"}]}],
        "tools": [
            {"type": "function", "name": "get_weather", "description": "The weather",
             "parameters": {"type": "object"}, "strict": False},
            {"type": "function", "name": "now", "description": "",
             "parameters": {"type": "object", "properties": {}}, "strict": True},
        ],
        "stream": True,
        "max_output_tokens": 100,
        "temperature": 0.2,
        "top_p": 0.9,
        "reasoning": {"effort": "low"},
        "include": ["message.output_text.logprobs"],
        "store": True,
        "tool_choice": "auto",
    }  # fmt: skip


def test_the_model_comes_from_the_endpoint_then_the_conversation() -> None:
    assert body_of({"model": "from-conv", "messages": [user("hi")]})["model"] == "gpt-test"
    request = DIALECT.build_request({"model": "from-conv", "messages": [user("hi")]}, Endpoint("http://x"))
    assert request.body["model"] == "from-conv"
    with pytest.raises(UsageError, match="no model"):
        DIALECT.build_request({"messages": [user("hi")]}, Endpoint("http://x"))


def test_user_files_become_image_and_file_parts() -> None:
    content = [
        {"type": "text", "text": "Compare these."},
        {"type": "file", "media_type": "image/png", "data": "iVBORw0KGgo="},
        {"type": "file", "media_type": "image/jpeg", "url": "https://example.test/cat.jpg"},
        {"type": "file", "media_type": "application/pdf", "data": "JVBERi0x", "filename": "report.pdf"},
        {"type": "file", "media_type": "application/pdf", "data": "JVBERi0y"},
        {"type": "file", "media_type": "application/pdf", "url": "https://example.test/a.pdf"},
    ]
    (item,) = body_of({"messages": [{"role": "user", "content": content}]})["input"]
    assert item["content"] == [
        {"type": "input_text", "text": "Compare these."},
        {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo=", "detail": "auto"},
        {"type": "input_image", "image_url": "https://example.test/cat.jpg", "detail": "auto"},
        {"type": "input_file", "file_data": "data:application/pdf;base64,JVBERi0x", "filename": "report.pdf"},
        {"type": "input_file", "file_data": "data:application/pdf;base64,JVBERi0y", "filename": "file-4"},
        {"type": "input_file", "file_url": "https://example.test/a.pdf"},
    ]


def test_a_user_part_the_api_cannot_take_is_a_usage_error() -> None:
    conversation = {"messages": [{"role": "user", "content": [{"type": "reasoning", "text": "hmm"}]}]}
    with pytest.raises(
        UsageError, match=r"messages\[0\]\.content\[0\]: .* cannot send a user 'reasoning' part"
    ):
        body_of(conversation)


def test_earlier_turns_are_their_output_items_and_results_their_outputs() -> None:
    body = body_of({"messages": [user("Go."), TURN, *RESULTS]})
    assert body["input"][1:] == ITEMS + OUTPUTS
    assert "previous_response_id" not in body  # no state: the whole conversation


def test_refusals_reasoning_text_and_text_of_other_dialects() -> None:
    turn = {
        "role": "assistant",
        "content": [
            {"type": "reasoning", "text": "Raw thoughts.", **pm(item_id="rs_9", part="reasoning_text")},
            {"type": "text", "text": "I can't.", "refusal": True, **pm(item_id="msg_9")},
            {
                "type": "reasoning",
                "text": "Anthropic thinking",
                "provider_metadata": {"anthropic": {"signature": "s"}},
            },
            {"type": "text", "text": "Hello "},
            {"type": "text", "text": "there."},
        ],
    }
    assert body_of({"messages": [user("Hi"), turn]})["input"][1:] == [
        {"type": "reasoning", "summary": [], "id": "rs_9",
         "content": [{"type": "reasoning_text", "text": "Raw thoughts."}]},
        {"type": "message", "role": "assistant", "id": "msg_9", "status": "completed",
         "content": [{"type": "refusal", "refusal": "I can't."}]},
        {"type": "message", "role": "assistant", "content": "Hello there."},
    ]  # fmt: skip


def test_calls_of_other_dialects_and_calls_that_lost_their_shape_are_function_calls() -> None:
    turn = {
        "role": "assistant",
        "content": [
            {"type": "tool-call", "tool_call_id": "toolu_1", "tool_name": "f", "input": {"a": 1}},
            {"type": "tool-call", "tool_call_id": "call_2", "tool_name": "g", "arguments": '{"x":1}',
             **pm(type="custom_tool_call")},
        ],
    }  # fmt: skip
    results = [{"role": "tool", "tool_call_id": t, "output": "ok"} for t in ("toolu_1", "call_2")]
    assert body_of({"messages": [user("Hi"), turn, *results]})["input"][1:] == [
        {"type": "function_call", "call_id": "toolu_1", "name": "f", "arguments": '{"a":1}'},
        {"type": "function_call", "call_id": "call_2", "name": "g", "arguments": '{"x":1}'},
        {"type": "function_call_output", "call_id": "toolu_1", "output": "ok"},
        {"type": "function_call_output", "call_id": "call_2", "output": "ok"},
    ]


# --- continuation ------------------------------------------------------------------------------


def finished(turn: dict[str, Any], response_id: str, reason: str = "tool-calls") -> dict[str, Any]:
    """The accumulated message a Responses stream gives for ``turn``."""
    return {"type": "message", **turn, "finish_reason": reason, "raw_finish_reason": "completed",
            "id": response_id, "model": "gpt-test", "dialect": NAME,
            "provider_metadata": {NAME: {"response_id": response_id}}}  # fmt: skip


def continued(options: dict[str, Any] | None = None) -> dict[str, Any]:
    """The conversation after one response and its tool results, as render -f conversation makes it."""
    base: dict[str, Any] = {"model": "gpt-test", "system": "Be brief.", "messages": [user("Go.")],
                            "tools": [{"name": "get_weather"}]}  # fmt: skip
    if options:
        base["options"] = options
    results = [{"type": "tool-result", **{k: v for k, v in r.items() if k != "role"}} for r in RESULTS]
    return next_conversation(base, [(finished(TURN, "resp_1"), results)], default_registry())


def test_the_continuation_names_the_response_and_sends_only_the_new_items() -> None:
    conversation = continued()
    assert conversation["state"] == {NAME: {"previous_response_id": "resp_1", "known": 2}}
    body = body_of(conversation)
    assert body["previous_response_id"] == "resp_1"
    assert body["input"] == OUTPUTS
    assert (
        body["instructions"] == "Be brief." and body["tools"][0]["name"] == "get_weather"
    )  # not carried over
    # a new user turn after the answer: only it
    answer = finished({"content": [{"type": "text", "text": "8°C."}]}, "resp_2", "stop")
    answered = next_conversation(conversation, [(answer, [])], default_registry())
    answered["messages"].append(user("And Oslo?"))
    body = body_of(answered)
    assert body["previous_response_id"] == "resp_2"
    assert body["input"] == [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "And Oslo?"}]}
    ]


def test_when_the_server_keeps_no_state_every_request_carries_the_whole_input() -> None:
    conversation = continued({"store": False, "include": ["message.output_text.logprobs"]})
    body = body_of(conversation)
    assert "previous_response_id" not in body
    assert body["store"] is False
    assert body["include"] == ["message.output_text.logprobs", "reasoning.encrypted_content"]
    assert body["input"][1:] == ITEMS + OUTPUTS  # the encrypted reasoning included
    # reasoning the server could only find by id cannot be sent then
    plain = {
        **TURN,
        "content": [{"type": "reasoning", "text": "Hm.", **pm(item_id="rs_2")}, *TURN["content"][2:]],
    }
    body = body_of({"messages": [user("Go."), plain], "options": {"store": False}})
    assert [i["type"] for i in body["input"]] == ["message", "message", "function_call", "custom_tool_call",
                                                   "apply_patch_call"]  # fmt: skip
    assert body_of({"messages": [user("Go."), plain]})["input"][1] == {
        "type": "reasoning", "summary": [{"type": "summary_text", "text": "Hm."}], "id": "rs_2"}  # fmt: skip


def test_state_that_does_not_fit_the_conversation_is_not_used() -> None:
    conversation = continued()
    conversation["state"][NAME]["known"] = 9  # more messages than there are
    body = body_of(conversation)
    assert "previous_response_id" not in body and len(body["input"]) == 1 + len(ITEMS) + len(OUTPUTS)


def test_continuation_state() -> None:
    message = finished(TURN, "resp_1")
    assert DIALECT.continuation_state(message, 2) == {"previous_response_id": "resp_1", "known": 2}
    failed = {**message, "finish_reason": "error", "raw_finish_reason": "failed"}
    assert DIALECT.continuation_state(failed, 2) is None
    cut_off = {**message, "finish_reason": "other", "raw_finish_reason": None}
    assert DIALECT.continuation_state(cut_off, 2) is None
    assert DIALECT.continuation_state({**message, "id": None, "provider_metadata": {}}, 2) is None


# --- URL, headers, native bodies, the WebSocket request -----------------------------------------


def test_url_headers_and_the_websocket_request() -> None:
    request = DIALECT.build_request({"messages": [user("hi")]}, ENDPOINT)
    assert request.url == "https://api.example.test/v1/responses" and request.method == "POST"
    assert request.headers == {"Accept": "text/event-stream", "Authorization": f"Bearer {SECRET}"}
    assert request.framing == "sse"
    assert request.websocket_url == "wss://api.example.test/v1/responses"
    assert request.websocket_message == {
        "type": "response.create",
        **{k: v for k, v in request.body.items() if k != "stream"},
    }
    assert "stream" not in request.websocket_message and request.body["stream"] is True
    assert (
        request.websocket_final
        == WEBSOCKET_FINAL
        == {"response.completed", "response.failed", "response.incomplete", "error"}
    )
    everything_but_headers = orjson.dumps(
        [request.url, request.body, request.websocket_url, request.websocket_message]
    )
    assert SECRET.encode() not in everything_but_headers and SECRET not in repr(request)
    local = DIALECT.build_request(
        {"messages": [user("hi")]}, Endpoint("http://127.0.0.1:8000/v1/", None, "m")
    )
    assert (local.url, local.websocket_url) == (
        "http://127.0.0.1:8000/v1/responses",
        "ws://127.0.0.1:8000/v1/responses",
    )
    assert local.headers == {"Accept": "text/event-stream"}  # no key, no Authorization
    azure = DIALECT.build_request(
        {"messages": [user("hi")]},
        Endpoint("https://r.openai.azure.com/openai/v1?api-version=preview", "k", "m"),
    )
    assert azure.url == "https://r.openai.azure.com/openai/v1/responses?api-version=preview"
    assert azure.websocket_url == "wss://r.openai.azure.com/openai/v1/responses?api-version=preview"


def test_a_native_body_is_sent_as_it_is() -> None:
    native = {"model": "gpt-x", "input": "hi", "stream": True, "background": False, "anything": [1]}
    request = DIALECT.build_request(None, ENDPOINT, body=native)
    assert request.body is native
    assert request.websocket_message == {"type": "response.create", "model": "gpt-x", "input": "hi",
                                         "background": False, "anything": [1]}  # fmt: skip


def test_the_base_url_and_key_come_from_the_openai_variables() -> None:
    from streamkit.endpoints import resolve

    endpoint = resolve(DIALECT, env={"OPENAI_API_KEY": SECRET, "OPENAI_BASE_URL": "http://gw.test/v1"})
    assert (endpoint.base_url, endpoint.api_key) == ("http://gw.test/v1", SECRET)
    assert resolve(DIALECT, env={}).base_url == "https://api.openai.com/v1"


def test_serve_answers_name_the_response_they_continue() -> None:
    assert DIALECT.serve_options("/v1/responses", {}, {"previous_response_id": "resp_1"}) == {
        "previous_response_id": "resp_1"
    }
    assert DIALECT.serve_options("/v1/responses", {}, {"input": "hi"}) == {}
    assert DIALECT.serve_options("/v1/responses", {}, None) == {}


# --- against streamkit serve -----------------------------------------------------------------------


def test_fetch_from_serve_replay_equals_fetch_replay() -> None:
    assert_serve_replays(NAME, CASES, env={"OPENAI_API_KEY": SECRET})


def test_fetch_from_serve_replay_equals_fetch_replay_for_the_shared_recordings() -> None:
    assert_serve_replays(NAME, shared_recordings(NAME), env={"OPENAI_API_KEY": SECRET})


def websocket_answer(recording: Path) -> list[dict[str, Any]]:
    """What one answer on the WebSocket is: the recording's JSON events, each named by its type, up
    to the first that ends a response (one response per response.create)."""
    out = []
    with open(recording, "rb") as f:
        for raw in replay(f, dialect=NAME):
            data = raw["data"]
            if isinstance(data, dict):
                out.append({**raw, "event": data.get("type")})
                if data.get("type") in WEBSOCKET_FINAL:
                    break
    return out


def test_fetch_over_the_websocket_gets_each_recording() -> None:
    """One server replaying every recording; each fetch opens its own WebSocket and reads one answer."""
    from streamkit.conversation import from_prompt
    from streamkit.endpoints import resolve
    from streamkit.upstream import open_stream

    warnings: list[str] = []
    with serving("-d", NAME, "--replay", *map(str, CASES)) as url:
        for recording in CASES:  # fetch's own code, in this process: a process each cost more than the test
            request = DIALECT.build_request(from_prompt("hello"), resolve(DIALECT, base_url=url, model="m"))
            # (3 s: under a full parallel run a first event once took over 1 s; the one recording
            # cut off waits it once)
            fetched = open_stream(
                request, dialect=NAME, transport="websocket", read_timeout=3, warn=warnings.append
            )
            events = without_t(list(fetched))
            expected = websocket_answer(recording)
            if expected[-1]["data"].get("type") in WEBSOCKET_FINAL:
                assert events == expected, recording.name
            else:  # a recording cut off: what came, then the stall
                assert events[:-1] == expected and "stalled" in events[-1]["message"], recording.name
    assert warnings == []


def _websocket_threads() -> list[str]:
    """websockets' threads of a sync client connection: its reader and its keepalive pinger."""
    return [t.name for t in threading.enumerate() if t.name.endswith(("(recv_events)", "(keepalive)"))]


@pytest.mark.parametrize("how", ["read-to-the-end", "abandoned", "closed", "never-read"])
def test_a_fetch_that_opened_its_own_websocket_closes_it(how: str) -> None:
    """A library caller that reads one answer leaves no connection behind: its socket and threads
    (the keepalive one pings from the process's shared random state) end with the answer, when
    the caller stops reading or closes the fetch, or when it drops a fetch it never read."""
    import gc

    from streamkit.conversation import from_prompt
    from streamkit.endpoints import resolve
    from streamkit.upstream import open_stream

    recording = next(r for r in CASES if websocket_answer(r)[-1]["data"].get("type") in WEBSOCKET_FINAL)
    before = set(_websocket_threads())
    with serving("-d", NAME, "--replay", str(recording)) as url:
        request = DIALECT.build_request(from_prompt("hello"), resolve(DIALECT, base_url=url, model="m"))
        fetched = open_stream(request, dialect=NAME, transport="websocket", read_timeout=5)
        session = fetched.session  # type: ignore[attr-defined]
        assert set(_websocket_threads()) - before  # open_stream connected and sent: the connection is open
        if how == "never-read":
            del fetched
            gc.collect()
        elif how == "closed":
            fetched.close()
            fetched.close()  # (twice is harmless)
        else:
            events = iter(fetched)
            first = next(events)
            if how == "abandoned":
                events.close()  # type: ignore[attr-defined]  # a generator: what a for loop's break does on GC
            else:
                assert [first, *events][-1]["data"]["type"] in WEBSOCKET_FINAL
        assert session._ws is None
        for _ in range(100):  # bounded: the threads end once the close handshake is done
            if not set(_websocket_threads()) - before:
                break
            threading.Event().wait(0.02)
        assert not set(_websocket_threads()) - before


@contextmanager
def counting_proxy(upstream: str) -> Iterator[tuple[str, list[tuple[str, int]]]]:
    """A TCP proxy in front of ``upstream``: yields its URL and the connections it accepted."""
    target = urlsplit(upstream)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    accepted: list[tuple[str, int]] = []
    sockets: list[socket.socket] = []
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def accept() -> None:
        while not stop.is_set():
            try:
                client, peer = listener.accept()
            except TimeoutError:
                continue
            client.settimeout(None)
            accepted.append(peer)
            server = socket.create_connection((target.hostname or "127.0.0.1", target.port or 80))
            sockets.extend((client, server))
            for a, b in ((client, server), (server, client)):
                thread = threading.Thread(target=pipe, args=(a, b), daemon=True)
                thread.start()
                threads.append(thread)

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", accepted
    finally:
        stop.set()
        acceptor.join(timeout=5)
        for s in sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in threads:
            thread.join(timeout=5)
        for s in [*sockets, listener]:
            s.close()


TOOL_SCRIPT = [
    {"content": [
        {"type": "reasoning", "text": "Two lookups.", "provider_metadata": {NAME: {"encrypted_content": "gAAA-script"}}},
        {"type": "tool-call", "tool_name": "get_weather", "input": {"city": "Paris"}},
        {"type": "tool-call", "tool_name": "get_weather", "input": {}},
    ]},
    {"text": "Paris is windy at 8°C; the second call needed a city."},
]  # fmt: skip
QUESTION = "What's the weather in Paris?"


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "script.json"
    path.write_bytes(orjson.dumps(TOOL_SCRIPT))
    return path


def agent(url: str, *args: str) -> Any:
    return run_cli("agent", "-d", NAME, "--base-url", url, "-m", "test-model", "--tools", str(TOOLS), *args, QUESTION,
                   env={"OPENAI_API_KEY": SECRET})  # fmt: skip


def test_the_agent_continues_on_one_websocket_with_only_the_new_items(script: Path, tmp_path: Path) -> None:
    log = tmp_path / "requests.ndjson"
    with (
        serving("-d", NAME, "--script", str(script), "--log-requests", str(log)) as url,
        counting_proxy(url) as (proxied, accepted),
    ):
        result = agent(proxied, "--transport", "websocket")
    assert result.returncode == 0, result.stderr
    assert result.stderr == b""
    assert (
        ndjson(result.stdout)[-1]["content"][-1]["text"] == TOOL_SCRIPT[1]["text"]
    )  # the output ends with the answer
    first, second = ndjson(log.read_bytes())
    assert first["type"] == second["type"] == "response.create"  # both came over the WebSocket
    assert "stream" not in first and "previous_response_id" not in first
    assert second["previous_response_id"] == "resp_script_1"
    # the tools run side by side: their results come in the order they finish
    assert sorted((i["type"], i["call_id"]) for i in second["input"]) == [
        ("function_call_output", "call_1_0"),
        ("function_call_output", "call_1_1"),
    ]
    assert len(accepted) == 1  # one TCP connection for both steps: the WebSocket, kept open
    assert SECRET.encode() not in log.read_bytes()


def test_without_state_on_the_server_the_agent_sends_the_whole_input(script: Path, tmp_path: Path) -> None:
    log = tmp_path / "requests.ndjson"
    with serving("-d", NAME, "--script", str(script), "--log-requests", str(log)) as url:
        result = agent(url, "-o", "store=false")
    assert result.returncode == 0, result.stderr
    first, second = ndjson(log.read_bytes())
    assert first["store"] is second["store"] is False
    assert second["include"] == ["reasoning.encrypted_content"]
    assert "previous_response_id" not in second
    kinds = [i["type"] for i in second["input"]]
    assert kinds == ["message", "reasoning", "function_call", "function_call", "function_call_output",
                     "function_call_output"]  # fmt: skip
    assert second["input"][0] == first["input"][0]
    assert second["input"][1]["encrypted_content"] == "gAAA-script"
    assert second["input"][1]["summary"] == [{"type": "summary_text", "text": "Two lookups."}]


def test_auto_falls_back_to_sse_once_when_there_is_no_websocket(script: Path, tmp_path: Path) -> None:
    log = tmp_path / "requests.ndjson"
    with serving("-d", NAME, "--script", str(script), "--log-requests", str(log), "--no-websocket") as url:
        result = agent(url)  # --transport auto
    assert result.returncode == 0, result.stderr
    warnings = result.stderr.decode().splitlines()
    assert (
        len(warnings) == 1
        and "WebSocket unavailable" in warnings[0]
        and "falling back to HTTP" in warnings[0]
    )
    assert (
        ndjson(result.stdout)[-1]["content"][-1]["text"] == TOOL_SCRIPT[1]["text"]
    )  # the output ends with the answer
    first, second = ndjson(log.read_bytes())
    assert first["stream"] is second["stream"] is True and "type" not in first  # POSTed bodies
    assert second["previous_response_id"] == "resp_script_1"
    assert [i["type"] for i in second["input"]] == ["function_call_output"] * 2


def test_fetch_auto_warns_once_and_gets_the_answer_over_sse(tmp_path: Path) -> None:
    with serving("-d", NAME, "--replay", str(DATA / NAME / "text.sse"), "--no-websocket") as url:
        result = run_cli("fetch", "-d", NAME, "--base-url", url, "-m", "m", "--transport", "auto", "hi")
    assert result.returncode == 0
    (warning,) = result.stderr.decode().splitlines()
    assert warning.startswith("streamkit fetch: warning: WebSocket unavailable")
    replayed = run_cli("fetch", "--replay", str(DATA / NAME / "text.sse"), "-d", NAME)
    assert without_t(ndjson(result.stdout)) == ndjson(replayed.stdout)


def test_forced_websocket_fails_clearly_when_there_is_none(tmp_path: Path) -> None:
    log = tmp_path / "requests.ndjson"
    with serving(
        "-d", NAME, "--replay", str(DATA / NAME / "text.sse"), "--no-websocket", "--log-requests", str(log)
    ) as url:
        results = [
            run_cli("fetch", "-d", NAME, "--base-url", url, "-m", "m", "--transport", "websocket", "hi"),
            agent(url, "--transport", "websocket"),
        ]
    for result, command in zip(results, ("fetch", "agent")):
        assert result.returncode == 1
        assert result.stdout == b"" or all(e["type"] == "start-step" for e in ndjson(result.stdout))
        (line,) = result.stderr.decode().splitlines()
        assert line.startswith(
            f"streamkit {command}: the WebSocket transport is not available at ws://127.0.0.1:"
        )
        assert "/responses" in line and "Traceback" not in line
    assert log.read_bytes() == b""  # nothing was sent over HTTP instead


def _stream_loop(url: str) -> tuple[Any, Any, list[str], Any]:
    """The tool loop through openai's client.responses.stream(), over HTTP."""
    import openai

    tools: Any = [
        {"type": "function", "name": "get_weather", "parameters": {"type": "object"}, "strict": False}
    ]
    with openai.OpenAI(api_key=SECRET, base_url=f"{url}/v1", max_retries=0) as client:
        with client.responses.stream(model="gpt-test", input=QUESTION, tools=tools) as stream:
            first = stream.get_final_response()
        calls = [o for o in first.output if o.type == "function_call"]
        outputs: Any = [
            {"type": "function_call_output", "call_id": c.call_id, "output": "windy"} for c in calls
        ]
        with client.responses.stream(model="gpt-test", previous_response_id=first.id, input=outputs,
                                     tools=tools) as stream:  # fmt: skip
            deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
            second = stream.get_final_response()
    return first, second, deltas, outputs


def test_the_official_client_runs_a_tool_loop_against_serve(script: Path, tmp_path: Path) -> None:
    """openai's client.responses.stream() over real HTTP, then the continuation with
    previous_response_id and the function_call_output items."""
    log = tmp_path / "requests.ndjson"
    with serving("-d", NAME, "--script", str(script), "--log-requests", str(log)) as url:
        first, second, deltas, outputs = _stream_loop(url)
    assert [o.type for o in first.output] == ["reasoning", "function_call", "function_call"]
    calls = [(o.name, orjson.loads(o.arguments)) for o in first.output if o.type == "function_call"]
    assert calls == [("get_weather", {"city": "Paris"}), ("get_weather", {})]
    assert second.output_text == "".join(deltas) == TOOL_SCRIPT[1]["text"]
    assert second.previous_response_id == first.id == "resp_script_1"
    assert second.status == "completed" and second.usage is not None and second.usage.total_tokens > 0
    bodies = ndjson(log.read_bytes())
    assert bodies[1]["previous_response_id"] == first.id and bodies[1]["input"] == outputs


def _websocket_loop(url: str) -> tuple[Any, Any, list[str], Any]:
    """The tool loop through openai's client.responses.connect(): two response.create on one socket."""
    import openai

    with (
        openai.OpenAI(api_key=SECRET, base_url=f"{url}/v1") as client,
        client.responses.connect() as connection,
    ):
        connection.response.create(model="gpt-test", input=QUESTION)
        calls = []
        for event in connection:
            if event.type == "response.output_item.done" and event.item.type == "function_call":
                calls.append(event.item.call_id)
            if event.type == "response.completed":
                first = event.response
                break
        outputs: Any = [{"type": "function_call_output", "call_id": c, "output": "windy"} for c in calls]
        connection.response.create(model="gpt-test", previous_response_id=first.id, input=outputs)
        for event in connection:
            if event.type == "response.completed":
                second = event.response
                break
    return first, second, calls, outputs


# the SDK calls websockets' connect() without a context manager, deprecated since websockets 17.1
@pytest.mark.filterwarnings("ignore:connect\\(\\) must be used as a context manager:DeprecationWarning")
def test_the_official_websocket_client_runs_a_tool_loop_against_serve(script: Path, tmp_path: Path) -> None:
    log = tmp_path / "requests.ndjson"
    with serving("-d", NAME, "--script", str(script), "--log-requests", str(log)) as url:
        first, second, calls, outputs = _websocket_loop(url)
    assert calls == ["call_1_0", "call_1_1"]
    assert second.output_text == TOOL_SCRIPT[1]["text"] and second.previous_response_id == first.id
    bodies = ndjson(log.read_bytes())
    assert [b["type"] for b in bodies] == ["response.create"] * 2
    assert bodies[1]["previous_response_id"] == "resp_script_1" and bodies[1]["input"] == outputs
