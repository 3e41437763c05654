"""openai-assistants requests: the three requests a conversation can become (create a thread and
run it, a run on the thread, ``submit_tool_outputs`` on the paused run), checked against the
official SDK's parameter types; headers and the key; native bodies; the continuation state;
``fetch`` against ``streamkit serve --replay`` equal to ``fetch --replay``; what ``serve`` answers
on each path; and the tool loop end to end over real HTTP, with the official client too."""

from __future__ import annotations

import collections.abc
import subprocess
import typing
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import typing_extensions
from openai.types.beta.thread_create_and_run_params import ThreadCreateAndRunParamsStreaming
from openai.types.beta.threads.run_create_params import RunCreateParamsStreaming
from openai.types.beta.threads.run_submit_tool_outputs_params import RunSubmitToolOutputsParamsStreaming
from pydantic import TypeAdapter

from streamkit.conversation import check, from_prompt
from streamkit.dialects.base import Endpoint
from streamkit.dialects.openai_assistants import OpenAIAssistants
from streamkit.errors import UsageError
from streamkit.testing import assert_serve_replays
from tests.conftest import (
    DATA,
    ROOT,
    STREAMKIT,
    events_of,
    messages,
    ndjson,
    run_cli,
    shared_recordings,
)
from tests.test_fetch_live import serving

NAME = "openai-assistants"
DIALECT = OpenAIAssistants()
SECRET = "sk-assistants-test-SECRET-9191"
ENDPOINT = Endpoint("https://api.test/v1", SECRET, "asst_abc")
CASES = DATA / NAME
TOOLS = ROOT / "examples" / "tools.toml"
QUESTION = "What's the weather in Paris?"

# The Assistants API is deprecated upstream; its client methods warn when called.
client_warning = pytest.mark.filterwarnings("ignore:The Assistants API is deprecated")


# --- the SDK's parameter types, strictly ---------------------------------------------------------


def unknown_keys(value: Any, tp: Any, where: str = "body") -> list[str]:
    """Keys of ``value`` that the SDK's TypedDict ``tp`` (and those nested in it) does not know."""
    origin = typing.get_origin(tp)
    if origin in (typing_extensions.Required, typing_extensions.NotRequired):
        return unknown_keys(value, typing.get_args(tp)[0], where)
    if typing_extensions.is_typeddict(tp):
        if not isinstance(value, dict):
            return []
        hints = typing.get_type_hints(tp, include_extras=True)
        out = [f"{where}.{k}" for k in value if k not in hints]
        for k, v in value.items():
            if k in hints:
                out += unknown_keys(v, hints[k], f"{where}.{k}")
        return out
    if origin is typing.Union:
        tries = [unknown_keys(value, arg, where) for arg in typing.get_args(tp)]
        return min(tries, key=len)
    if origin in (list, collections.abc.Iterable, collections.abc.Sequence) and isinstance(value, list):
        (item,) = typing.get_args(tp)
        return [k for i, v in enumerate(value) for k in unknown_keys(v, item, f"{where}[{i}]")]
    return []


def conforms(body: dict[str, Any], tp: Any, **path_params: str) -> None:
    """The body validates as the SDK's parameters ``tp`` and holds no key the SDK does not know."""
    params = {**body, **path_params}
    TypeAdapter(tp).validate_python(params)
    assert unknown_keys(params, tp) == []


def request(conversation: dict[str, Any], endpoint: Endpoint = ENDPOINT) -> Any:
    return DIALECT.build_request(check(conversation), endpoint)


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def assistant(*parts: dict[str, Any]) -> dict[str, Any]:
    return {"role": "assistant", "content": list(parts)}


def call(call_id: str, name: str = "get_weather", **inp: Any) -> dict[str, Any]:
    return {
        "type": "tool-call",
        "tool_call_id": call_id,
        "tool_name": name,
        "arguments": orjson.dumps(inp).decode(),
        "input": inp,
    }


def tool(call_id: str, output: Any, **more: Any) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "tool_name": "get_weather", "output": output, **more}


def state(**fields: Any) -> dict[str, Any]:
    return {NAME: {"thread_id": "thread_T1", "run_id": "run_R1", **fields}}


# --- create a thread and run it --------------------------------------------------------------------


def test_a_prompt_creates_a_thread_and_runs_it() -> None:
    req = request(from_prompt("Say hi"))
    assert (req.method, req.url, req.framing) == ("POST", "https://api.test/v1/threads/runs", "sse")
    assert req.body == {"assistant_id": "asst_abc", "thread": {"messages": [user("Say hi")]}, "stream": True}
    conforms(req.body, ThreadCreateAndRunParamsStreaming)


def test_the_key_is_in_the_authorization_header_and_nowhere_else() -> None:
    req = request(from_prompt("hi"))
    assert req.headers["Authorization"] == f"Bearer {SECRET}"
    assert req.headers["OpenAI-Beta"] == "assistants=v2" and req.headers["Accept"] == "text/event-stream"
    assert SECRET not in req.url and SECRET.encode() not in orjson.dumps(req.body) and SECRET not in repr(req)
    keyless = request(from_prompt("hi"), Endpoint("https://api.test/v1", None, "asst_abc"))
    assert "Authorization" not in keyless.headers and keyless.headers["OpenAI-Beta"] == "assistants=v2"


def test_system_prompt_tools_and_options() -> None:
    conversation = {
        "system": "Be brief.",
        "messages": [{"role": "system", "content": "Use metric units."}, user("Weather?")],
        "tools": [
            {"name": "get_weather", "description": "The weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}},
            {"name": "now"},
        ],
        "options": {"max_tokens": 200, "temperature": 0.2, "top_p": 0.9, "model": "gpt-4o", "parallel_tool_calls": False},
    }  # fmt: skip
    body = request(conversation).body
    assert body["instructions"] == "Be brief.\n\nUse metric units."
    assert body["thread"] == {"messages": [user("Weather?")]}  # system messages are instructions only
    assert body["tools"] == [
        {"type": "function", "function": {"name": "get_weather", "description": "The weather",
                                          "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}},
        {"type": "function", "function": {"name": "now", "description": "", "parameters": {"type": "object", "properties": {}}}},
    ]  # fmt: skip
    assert (body["max_completion_tokens"], body["temperature"], body["top_p"]) == (200, 0.2, 0.9)
    assert "max_tokens" not in body and body["model"] == "gpt-4o" and body["parallel_tool_calls"] is False
    assert body["stream"] is True
    conforms(body, ThreadCreateAndRunParamsStreaming)


def test_options_the_mapping_does_not_know_pass_through_as_they_are() -> None:
    body = request({**from_prompt("hi"), "options": {"reasoning_effort": "low", "metadata": {"k": "v"}}}).body
    assert body["reasoning_effort"] == "low" and body["metadata"] == {"k": "v"}


def test_user_images_by_url_or_by_file_id() -> None:
    content = [
        {"type": "text", "text": "What is in these?"},
        {"type": "file", "media_type": "image/png", "url": "https://example.com/a.png"},
        {"type": "file", "media_type": "image/png", "data": "file-abc",
         "provider_metadata": {NAME: {"image_file": {"file_id": "file-abc", "detail": "low"}}}},
    ]  # fmt: skip
    body = request({"messages": [{"role": "user", "content": content}]}).body
    assert body["thread"]["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is in these?"},
                {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
                {"type": "image_file", "image_file": {"file_id": "file-abc", "detail": "low"}},
            ],
        }
    ]
    conforms(body, ThreadCreateAndRunParamsStreaming)


@pytest.mark.parametrize(
    "part",
    [
        {"type": "file", "media_type": "image/png", "data": "iVBORw0KGgo="},
        {"type": "file", "media_type": "application/pdf", "url": "https://example.com/a.pdf"},
    ],
    ids=["inline-image", "pdf"],
)
def test_files_a_thread_message_cannot_take_are_usage_errors(part: dict[str, Any]) -> None:
    with pytest.raises(
        UsageError,
        match="cannot send a .* inline: a thread message takes images by URL or by uploaded file id",
    ):
        request({"messages": [{"role": "user", "content": [{"type": "text", "text": "see"}, part]}]})


def test_earlier_assistant_turns_keep_their_text_only(capsys: pytest.CaptureFixture[str]) -> None:
    conversation = {
        "messages": [
            user("Weather in Oslo?"),
            assistant({"type": "reasoning", "text": "Need the tool."}, {"type": "text", "text": "Let me look."}, call("c1", city="Oslo")),
            tool("c1", "4°C"),
            assistant({"type": "text", "text": "I can't.", "refusal": True}),
            assistant({"type": "text", "text": "It is 4°C."}),
            user("Thanks"),
        ]
    }  # fmt: skip
    body = request(conversation).body
    assert body["thread"]["messages"] == [
        user("Weather in Oslo?"),
        {"role": "assistant", "content": "Let me look."},
        {"role": "assistant", "content": "It is 4°C."},
        user("Thanks"),
    ]
    err = capsys.readouterr().err
    assert "openai-assistants cannot send earlier tool calls in a thread's messages (1)" in err
    assert "openai-assistants cannot send tool results outside submit_tool_outputs (1)" in err


# --- a run on the thread ---------------------------------------------------------------------------


def test_a_thread_in_the_state_gets_a_run_with_the_messages_it_has_not_seen() -> None:
    conversation = {
        "system": "Be brief.",
        "messages": [user("Hi"), assistant({"type": "text", "text": "Hello!"}), user("Weather?")],
        "state": state(status="completed", known=2),
    }
    req = request(conversation)
    assert req.url == "https://api.test/v1/threads/thread_T1/runs"
    assert req.body == {
        "assistant_id": "asst_abc",
        "additional_messages": [user("Weather?")],
        "instructions": "Be brief.",
        "stream": True,
    }
    conforms(req.body, RunCreateParamsStreaming)


def test_a_run_with_nothing_new_sends_no_additional_messages() -> None:
    conversation = {
        "messages": [user("Hi"), assistant({"type": "text", "text": "Hello!"})],
        "state": state(status="completed", known=2),
    }
    assert "additional_messages" not in request(conversation).body


def test_ids_in_the_url_are_quoted() -> None:
    conversation = {"messages": [user("Hi")], "state": {NAME: {"thread_id": "thread/../x y", "known": 0}}}
    assert request(conversation).url == "https://api.test/v1/threads/thread%2F..%2Fx%20y/runs"


# --- submit_tool_outputs ---------------------------------------------------------------------------


def test_a_paused_run_answered_by_tool_messages_gets_submit_tool_outputs() -> None:
    conversation = {
        "messages": [
            user(QUESTION),
            assistant(call("c1", city="Paris"), call("c2")),
            tool("c2", {"error": "which city?"}, is_error=True),  # answered out of order, not a string
            tool("c1", "windy, 8°C"),
        ],
        "state": state(status="requires_action", tool_call_ids=["c1", "c2"], known=2),
    }
    req = request(conversation, Endpoint("https://api.test/v1", SECRET, None))  # no assistant needed
    assert req.url == "https://api.test/v1/threads/thread_T1/runs/run_R1/submit_tool_outputs"
    assert req.body == {
        "tool_outputs": [
            {"tool_call_id": "c1", "output": "windy, 8°C"},
            {"tool_call_id": "c2", "output": '{"error":"which city?"}'},
        ],
        "stream": True,
    }
    assert req.headers["OpenAI-Beta"] == "assistants=v2"
    conforms(req.body, RunSubmitToolOutputsParamsStreaming, thread_id="thread_T1")


def test_the_calls_waited_for_default_to_the_last_turns_calls() -> None:
    conversation = {
        "messages": [user(QUESTION), assistant(call("c1", city="Paris")), tool("c1", "windy")],
        "state": state(status="requires_action", known=2),
    }
    assert request(conversation).body["tool_outputs"] == [{"tool_call_id": "c1", "output": "windy"}]


def test_a_paused_run_left_unanswered_gets_a_new_run_with_a_warning(
    capsys: pytest.CaptureFixture[str],
) -> None:
    conversation = {
        "messages": [user(QUESTION), assistant(call("c1", city="Paris"), call("c2")), tool("c1", "windy"), user("Never mind")],
        "state": state(status="requires_action", tool_call_ids=["c1", "c2"], known=2),
    }  # fmt: skip
    req = request(conversation)
    assert req.url == "https://api.test/v1/threads/thread_T1/runs"
    assert req.body["additional_messages"] == [user("Never mind")]
    err = capsys.readouterr().err
    assert "run run_R1 waits for tool outputs for c2, which the conversation does not end with" in err
    assert "tool results outside submit_tool_outputs (1)" in err


def test_a_completed_run_with_tool_messages_after_it_is_not_submitted_to() -> None:
    conversation = {
        "messages": [user(QUESTION), assistant(call("c1")), tool("c1", "windy")],
        "state": state(status="completed", known=2),
    }
    assert request(conversation).url.endswith("/threads/thread_T1/runs")


# --- the assistant, and mistakes -------------------------------------------------------------------


def test_which_assistant_runs() -> None:
    base = {
        "messages": [user("hi")],
        "state": {NAME: {"thread_id": "thread_T1", "assistant_id": "asst_state", "known": 0}},
    }
    no_model = Endpoint("https://api.test/v1", None, None)
    assert request({**base, "assistant_id": "asst_conv"}).body["assistant_id"] == "asst_conv"
    assert request(base).body["assistant_id"] == "asst_abc"  # -m (or the conversation's model)
    assert request(base, no_model).body["assistant_id"] == "asst_state"  # the thread's own
    with pytest.raises(UsageError, match=r"no assistant: pass -m ASSISTANT_ID"):
        request(from_prompt("hi"), no_model)


@pytest.mark.parametrize(
    ("bad_state", "message"),
    [
        ("thread_x", "state.openai-assistants must be an object"),
        ({"thread_id": 5}, "state.openai-assistants.thread_id must be a non-empty string"),
        ({"thread_id": "t", "known": "2"}, "state.openai-assistants.known must be a count of messages"),
        (
            {"thread_id": "t", "known": 2, "status": "requires_action", "run_id": ["r"]},
            "run_id must be a non-empty string",
        ),
    ],
)
def test_a_bad_state_is_a_usage_error(bad_state: Any, message: str) -> None:
    conversation = {
        "messages": [user("hi"), assistant(call("c1")), tool("c1", "x")],
        "state": {NAME: bad_state},
    }
    with pytest.raises(UsageError, match=message):
        request(conversation)


def test_the_cli_without_an_assistant_is_a_usage_error() -> None:
    result = run_cli("fetch", "-d", NAME, "hi", env={"STREAMKIT_MODEL": "", "OPENAI_API_KEY": ""})
    assert result.returncode == 2
    assert b"no assistant: pass -m ASSISTANT_ID" in result.stderr and b"Traceback" not in result.stderr


# --- native bodies -----------------------------------------------------------------------------------


def test_a_native_body_is_sent_as_is_to_threads_runs() -> None:
    body = {
        "assistant_id": "asst_x",
        "thread": {"messages": [user("hi")]},
        "stream": True,
        "tool_resources": {},
    }
    req = DIALECT.build_request(None, ENDPOINT, body=body)
    assert (req.url, req.body) == ("https://api.test/v1/threads/runs", body)
    assert req.headers["Authorization"] == f"Bearer {SECRET}"


def test_a_native_body_naming_a_thread_or_a_run_goes_there() -> None:
    run_body = {"thread_id": "thread_T1", "assistant_id": "asst_x", "stream": True}
    req = DIALECT.build_request(None, ENDPOINT, body=run_body)
    assert (req.url, req.body) == (
        "https://api.test/v1/threads/thread_T1/runs",
        {"assistant_id": "asst_x", "stream": True},
    )
    submit = {
        "thread_id": "thread_T1",
        "run_id": "run_R1",
        "tool_outputs": [{"tool_call_id": "c1", "output": "x"}],
        "stream": True,
    }
    req = DIALECT.build_request(None, ENDPOINT, body=submit)
    assert req.url == "https://api.test/v1/threads/thread_T1/runs/run_R1/submit_tool_outputs"
    assert req.body == {"tool_outputs": [{"tool_call_id": "c1", "output": "x"}], "stream": True}
    with pytest.raises(UsageError, match="names run_id must name its thread_id too"):
        DIALECT.build_request(None, ENDPOINT, body={"run_id": "run_R1", "tool_outputs": []})


def test_a_native_body_through_fetch(tmp_path: Path) -> None:
    body = tmp_path / "body.json"
    body.write_bytes(orjson.dumps({"thread_id": "thread_N1", "assistant_id": "asst_x", "stream": True}))
    log = tmp_path / "log.ndjson"
    with serving("-d", NAME, "--replay", str(CASES / "text.sse"), "--log-requests", str(log)) as url:
        result = run_cli("fetch", "-d", NAME, "--base-url", url, "--body", str(body))
    assert result.returncode == 0, result.stderr
    assert ndjson(log.read_bytes()) == [{"assistant_id": "asst_x", "stream": True}]


# --- the continuation state ------------------------------------------------------------------------


def test_the_state_after_requires_action_says_the_run_waits() -> None:
    (message,) = messages(events_of(CASES / "requires-action.sse"))
    assert DIALECT.continuation_state(message, 2) == {
        "thread_id": "thread_Ra1Th",
        "run_id": "run_Ra1Rn",
        "assistant_id": "asst_Ra1As",
        "status": "requires_action",
        "tool_call_ids": ["call_Ra1Oslo", "call_Ra1Lima"],
        "known": 2,
    }


def test_the_state_after_a_completed_continuation_is_the_same_run_done() -> None:
    first, second = messages(events_of(CASES / "tool-loop.sse"))
    assert DIALECT.continuation_state(first, 2)["status"] == "requires_action"
    assert DIALECT.continuation_state(second, 4) == {
        "thread_id": "thread_Lp1Th",
        "run_id": "run_Lp1Rn",
        "assistant_id": "asst_Lp1As",
        "status": "completed",
        "known": 4,
    }


def test_no_thread_no_state() -> None:
    message = {
        "type": "message",
        "role": "assistant",
        "content": [],
        "id": "x",
        "provider_metadata": {NAME: {}},
    }
    assert DIALECT.continuation_state(message, 2) is None


def test_render_conversation_then_fetch_submits_to_the_paused_run(tmp_path: Path) -> None:
    """The shell loop's step: the requires_action stream plus tool results → the next conversation
    → the request submit_tool_outputs on the same run."""
    turn = events_of(CASES / "requires-action.sse")
    turn += [
        {"type": "tool-result", "tool_call_id": "call_Ra1Oslo", "tool_name": "get_weather", "output": "4°C", "is_error": False},
        {"type": "tool-result", "tool_call_id": "call_Ra1Lima", "tool_name": "get_time", "output": "09:14", "is_error": False},
    ]  # fmt: skip
    (tmp_path / "conv.json").write_bytes(orjson.dumps({"messages": [user("Weather in Oslo, time in Lima?")]}))
    rendered = run_cli(
        "render",
        "-f",
        "conversation",
        "--base",
        str(tmp_path / "conv.json"),
        input=b"".join(orjson.dumps(e) + b"\n" for e in turn),
    )
    conversation = orjson.loads(rendered.stdout)
    assert (
        conversation["state"][NAME]["status"] == "requires_action"
        and conversation["state"][NAME]["known"] == 2
    )
    req = request(conversation)
    assert req.url == "https://api.test/v1/threads/thread_Ra1Th/runs/run_Ra1Rn/submit_tool_outputs"
    assert req.body["tool_outputs"] == [
        {"tool_call_id": "call_Ra1Oslo", "output": "4°C"},
        {"tool_call_id": "call_Ra1Lima", "output": "09:14"},
    ]


# --- fetch against serve --replay is fetch --replay ------------------------------------------------


OURS = sorted(CASES.glob("*.sse"))


def test_fetch_from_serve_replay_equals_fetch_replay() -> None:
    assert_serve_replays(NAME, OURS, model="asst_test", env={"OPENAI_API_KEY": SECRET})


def test_fetch_from_serve_replay_equals_fetch_replay_for_the_shared_recordings() -> None:
    assert_serve_replays(NAME, shared_recordings(NAME), model="asst_test", env={"OPENAI_API_KEY": SECRET})


# --- what serve answers on each path ---------------------------------------------------------------


def _served(url: str, path: str, body: dict[str, Any]) -> list[tuple[str, Any]]:
    import io

    from streamkit.stages.fetch import replay

    response = httpx.post(url + path, json=body, timeout=30)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    return [(raw["event"], raw["data"]) for raw in replay(io.BytesIO(response.content))]


def _run_objects(wire: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    return [d for _, d in wire if isinstance(d, dict) and d.get("object") == "thread.run"]


@pytest.mark.parametrize("prefix", ["/v1", ""])
def test_serve_answers_on_the_thread_and_run_the_request_names(prefix: str, tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    turns = [{"tool_calls": [{"name": "get_weather", "input": {"city": "Paris"}}]}] * 2 + [
        {"text": "Windy."}
    ] * 2
    script.write_bytes(orjson.dumps(turns))
    with serving("-d", NAME, "--script", str(script)) as url:
        created = _served(
            url,
            f"{prefix}/threads/runs",
            {"assistant_id": "asst_A", "thread": {"messages": [user("hi")]}, "stream": True},
        )
        on_thread = _served(
            url, f"{prefix}/threads/thread_T9/runs", {"assistant_id": "asst_B", "stream": True}
        )
        submitted = _served(url, f"{prefix}/threads/thread_T9/runs/run_R9/submit_tool_outputs",
                            {"tool_outputs": [{"tool_call_id": "c", "output": "x"}], "stream": True})  # fmt: skip
        again = _served(url, f"{prefix}/threads/thread_T9/runs/run_R9/submit_tool_outputs",
                        {"tool_outputs": [{"tool_call_id": "d", "output": "y"}], "stream": True})  # fmt: skip
    # create and run: a thread of our own, created first
    names = [n for n, _ in created]
    assert (
        names[:3] == ["thread.created", "thread.run.created", "thread.run.queued"]
        and names[-2] == "thread.run.requires_action"
    )
    thread_id = created[0][1]["id"]
    assert {r["thread_id"] for r in _run_objects(created)} == {thread_id} and {
        r["assistant_id"] for r in _run_objects(created)
    } == {"asst_A"}
    # a run on the thread the path names: no thread.created
    assert [n for n, _ in on_thread][:2] == ["thread.run.created", "thread.run.queued"]
    assert {r["thread_id"] for r in _run_objects(on_thread)} == {"thread_T9"} and _run_objects(on_thread)[0][
        "assistant_id"
    ] == "asst_B"
    # submit_tool_outputs: the same thread and run, continued (no run.created), read to its end
    for wire, end in ((submitted, "thread.run.completed"), (again, "thread.run.completed")):
        assert [n for n, _ in wire][:2] == ["thread.run.queued", "thread.run.in_progress"]
        assert [n for n, _ in wire][-2:] == [end, "done"]
        assert {(r["id"], r["thread_id"]) for r in _run_objects(wire)} == {("run_R9", "thread_T9")}
        assert all(d["run_id"] == "run_R9" for _, d in wire if isinstance(d, dict) and "run_id" in d)
    # each continuation of one run has step and message ids of its own
    ids = [
        {
            d["id"]
            for _, d in wire
            if isinstance(d, dict) and d.get("object") in ("thread.run.step", "thread.message")
        }
        for wire in (submitted, again)
    ]
    assert ids[0] and ids[1] and not ids[0] & ids[1]


# --- the tool loop end to end -----------------------------------------------------------------------


THREE_TURNS = [
    {
        "tool_calls": [
            {"name": "get_weather", "input": {"city": "Paris"}},
            {"name": "get_weather", "input": {}},
        ]
    },
    {"tool_calls": [{"name": "get_weather", "input": {"city": "Lyon"}}]},
    {"text": "Paris is windy at 8°C, Lyon rainy at 22°C."},
]


def _script(tmp_path: Path, turns: list[dict[str, Any]]) -> Path:
    path = tmp_path / "script.json"
    path.write_bytes(orjson.dumps(turns))
    return path


def _steps(events: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    out: list[list[dict[str, Any]]] = []
    for event in events:
        if event["type"] == "start-step":
            out.append([])
        elif out:
            out[-1].append(event)
    return out


def test_the_agent_submits_tool_outputs_to_the_same_run_and_reads_each_stream_to_its_end(
    tmp_path: Path,
) -> None:
    log = tmp_path / "requests.ndjson"
    with serving(
        "-d", NAME, "--script", str(_script(tmp_path, THREE_TURNS)), "--log-requests", str(log)
    ) as url:
        result = run_cli("agent", "-d", NAME, "--base-url", url, "-m", "asst_abc", "--tools", str(TOOLS), QUESTION,
                         env={"OPENAI_API_KEY": SECRET})  # fmt: skip
    assert result.returncode == 0, result.stderr
    events = ndjson(result.stdout)
    steps = _steps(events)
    assert len(steps) == 3
    finals = [[e for e in step if e["type"] == "message"] for step in steps]
    assert [m["finish_reason"] for (m,) in finals] == ["tool-calls", "tool-calls", "stop"]
    (last,) = finals[2]
    assert last["content"][-1]["text"] == THREE_TURNS[2]["text"]
    # one thread, one run: every segment is the same run; the later ones continue it
    metas = [m["provider_metadata"][NAME] for (m,) in finals]
    assert len({m["thread_id"] for m in metas}) == 1 and len({m["run_id"] for m in metas}) == 1
    starts = [next(e for e in step if e["type"] == "start") for step in steps]
    assert [bool(s["provider_metadata"][NAME].get("continuation")) for s in starts] == [False, True, True]
    # each stream was read to its end: its finish, then its message, in every step
    assert all(
        [e["type"] for e in step if e["type"] in ("finish", "message")] == ["finish", "message"]
        for step in steps
    )
    # the request log: create-and-run, then submit_tool_outputs twice, each with every output
    first, second, third = ndjson(log.read_bytes())
    assert (
        first["assistant_id"] == "asst_abc"
        and first["thread"]["messages"] == [user(QUESTION)]
        and first["stream"] is True
    )
    assert set(second) == {"tool_outputs", "stream"} and second["stream"] is True
    calls = [p["tool_call_id"] for p in finals[0][0]["content"] if p["type"] == "tool-call"]
    assert [o["tool_call_id"] for o in second["tool_outputs"]] == calls
    outputs = [o["output"] for o in second["tool_outputs"]]
    assert "windy" in outputs[0] and "which city?" in outputs[1]  # the failed tool's text is its output
    assert (
        set(third) == {"tool_outputs", "stream"}
        and len(third["tool_outputs"]) == 1
        and "rainy" in third["tool_outputs"][0]["output"]
    )
    assert SECRET.encode() not in result.stdout + result.stderr + log.read_bytes()


def test_a_new_question_after_the_loop_is_a_run_on_the_same_thread(tmp_path: Path) -> None:
    turns = [THREE_TURNS[0], {"text": "Windy."}, {"text": "You're welcome."}]
    log = tmp_path / "requests.ndjson"
    with serving("-d", NAME, "--script", str(_script(tmp_path, turns)), "--log-requests", str(log)) as url:
        first = run_cli(
            "agent", "-d", NAME, "--base-url", url, "-m", "asst_abc", "--tools", str(TOOLS), QUESTION
        )
        assert first.returncode == 0, first.stderr
        (tmp_path / "conv.json").write_bytes(orjson.dumps({"messages": [user(QUESTION)]}))
        conv = orjson.loads(
            run_cli(
                "render", "-f", "conversation", "--base", str(tmp_path / "conv.json"), input=first.stdout
            ).stdout
        )
        assert conv["state"][NAME]["status"] == "completed" and conv["state"][NAME]["known"] == 5
        conv["messages"].append(user("Thanks!"))
        second = run_cli(
            "agent",
            "-d",
            NAME,
            "--base-url",
            url,
            "-m",
            "asst_abc",
            "--tools",
            str(TOOLS),
            input=orjson.dumps(conv),
        )
    assert second.returncode == 0, second.stderr
    thread = conv["state"][NAME]["thread_id"]
    (answer,) = messages(ndjson(second.stdout))
    assert (
        answer["content"][-1]["text"] == "You're welcome."
        and answer["provider_metadata"][NAME]["thread_id"] == thread
    )
    assert answer["id"] != conv["state"][NAME]["run_id"]  # a new run
    bodies = ndjson(log.read_bytes())
    assert (
        len(bodies) == 3
        and bodies[2]["additional_messages"] == [user("Thanks!")]
        and "thread" not in bodies[2]
    )


def test_the_shell_loop_runs_three_turns(tmp_path: Path) -> None:
    """The README's loop, by hand: fetch | normalize | accumulate | run-tools, render -f conversation."""
    loop = """
echo '{"messages": [{"role": "user", "content": "Weather?"}]}' > conv.json
while :; do
  streamkit fetch -d openai-assistants --base-url "$URL" -m asst_abc --conversation conv.json --tools "$TOOLS" \\
    | streamkit normalize | streamkit accumulate | streamkit run-tools --tools "$TOOLS" > turn.ndjson
  streamkit render -f conversation --base conv.json < turn.ndjson > next.json && mv next.json conv.json
  grep -q '"finish_reason":"tool-calls"' turn.ndjson || break
done
streamkit render < turn.ndjson
"""
    import os

    log = tmp_path / "requests.ndjson"
    env = {
        **os.environ,
        "PATH": f"{STREAMKIT.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "TOOLS": str(TOOLS),
    }
    with serving(
        "-d", NAME, "--script", str(_script(tmp_path, THREE_TURNS)), "--log-requests", str(log)
    ) as url:
        result = subprocess.run(
            ["sh", "-ec", loop], cwd=tmp_path, capture_output=True, timeout=120, env={**env, "URL": url}
        )
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().strip() == THREE_TURNS[2]["text"]
    first, second, third = ndjson(log.read_bytes())
    assert "thread" in first and "tool_outputs" in second and "tool_outputs" in third, (
        log.read_text(),
        result.stderr,
    )
    assert len(second["tool_outputs"]) == 2 and len(third["tool_outputs"]) == 1


# --- the official client over real HTTP -------------------------------------------------------------


@client_warning
def test_the_official_client_completes_the_tool_loop_against_serve(tmp_path: Path) -> None:
    """client.beta.threads.runs.stream(), then submit_tool_outputs_stream() on the same run, twice
    (the second continuation asks for a tool again), each stream read to its end."""
    import openai

    log = tmp_path / "requests.ndjson"
    with serving(
        "-d", NAME, "--script", str(_script(tmp_path, THREE_TURNS)), "--log-requests", str(log)
    ) as url:
        client = openai.OpenAI(api_key="sk-test", base_url=f"{url}/v1", max_retries=0)
        with client.beta.threads.runs.stream(thread_id="thread_C1", assistant_id="asst_C1") as stream:
            stream.until_done()
            run = stream.current_run
        assert run is not None and (run.status, run.thread_id) == ("requires_action", "thread_C1")
        rounds = []
        while run.status == "requires_action":
            required = run.required_action.submit_tool_outputs.tool_calls
            rounds.append([(c.function.name, orjson.loads(c.function.arguments)) for c in required])
            outputs = [
                {"tool_call_id": c.id, "output": f"sunny in {orjson.loads(c.function.arguments).get('city')}"}
                for c in required
            ]
            with client.beta.threads.runs.submit_tool_outputs_stream(
                thread_id=run.thread_id, run_id=run.id, tool_outputs=outputs
            ) as stream:
                stream.until_done()
                done = stream.current_run
                final = stream.get_final_messages() if done is not None and done.status == "completed" else []
            assert done is not None and (done.id, done.thread_id) == (run.id, "thread_C1")
            run = done
        client.close()
    assert rounds == [
        [("get_weather", {"city": "Paris"}), ("get_weather", {})],
        [("get_weather", {"city": "Lyon"})],
    ]
    assert run.status == "completed"
    (message,) = final
    assert [c.text.value for c in message.content if c.type == "text"] == [THREE_TURNS[2]["text"]]
    bodies = ndjson(log.read_bytes())
    assert [o["output"] for o in bodies[1]["tool_outputs"]] == ["sunny in Paris", "sunny in None"]
    assert [o["output"] for o in bodies[2]["tool_outputs"]] == ["sunny in Lyon"]


@client_warning
def test_the_official_client_creates_a_thread_and_runs_it_against_serve(tmp_path: Path) -> None:
    import openai

    with serving("-d", NAME, "--script", str(_script(tmp_path, [{"text": "Hello there."}]))) as url:
        client = openai.OpenAI(api_key="sk-test", base_url=f"{url}/v1", max_retries=0)
        with client.beta.threads.create_and_run_stream(
            assistant_id="asst_C2", thread={"messages": [user("hi")]}
        ) as stream:
            stream.until_done()
            (message,) = stream.get_final_messages()
            run = stream.current_run
        client.close()
    assert run is not None and run.status == "completed" and run.assistant_id == "asst_C2"
    assert message.thread_id == run.thread_id and [c.text.value for c in message.content] == ["Hello there."]


def test_a_custom_tool_is_a_function_taking_its_one_string() -> None:
    """Codex's apply_patch (a freeform tool) as the Assistants API's function: one string ``input``,
    as every other dialect without freeform tools declares it (it was an empty object schema)."""
    from streamkit.conversation import CUSTOM_TOOL_PARAMETERS

    conv = {**from_prompt("patch it"), "tools": [{"name": "apply_patch", "kind": "custom"}, {"name": "f"}]}
    tools = request(conv).body["tools"]
    assert [t["function"]["parameters"] for t in tools] == [
        CUSTOM_TOOL_PARAMETERS,
        {"type": "object", "properties": {}},
    ]
