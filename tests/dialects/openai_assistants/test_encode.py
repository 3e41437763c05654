"""The openai-assistants encoder: what it writes, checked against the official SDK's types and read by
its own client."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import orjson
import pytest
from openai.types.beta import AssistantStreamEvent
from pydantic import TypeAdapter

from streamkit.dialects.openai_assistants import AssistantsEncoder, OpenAIAssistants
from streamkit.stages.accumulate import accumulate
from streamkit.stages.fetch import replay
from streamkit.stages.render import render
from tests.conftest import DATA, essence, events_of, messages, sh

CASES = DATA / "openai-assistants"
NAME = "openai-assistants"
ASSISTANT_EVENT: TypeAdapter[Any] = TypeAdapter(AssistantStreamEvent)

# The Assistants API is deprecated upstream; its client methods warn when called.
client_warning = pytest.mark.filterwarnings("ignore:The Assistants API is deprecated")


def of_type(events: list[dict], kind: str) -> list[dict]:
    return [e for e in events if e["type"] == kind]


def meta(event: dict) -> dict:
    return event["provider_metadata"][NAME]


# --- the encoder ----------------------------------------------------------------------------------

ALL_CASES = sorted(CASES.glob("*.sse"))
OTHER_CASES = sorted((DATA / "openai-chat").glob("*.sse"))


def wire_events(wire: bytes) -> list[tuple[str | None, Any]]:
    return [(ev["event"], ev["data"]) for ev in replay(io.BytesIO(wire))]


def encode(events: list[dict], **options: Any) -> bytes:
    return b"".join(render(iter(events), format=NAME, **options))


def validate_wire(wire: bytes) -> list[tuple[str | None, Any]]:
    from openai.types.beta.assistant_stream_event import ErrorEvent

    events = wire_events(wire)
    for name, data in events:
        if name == "done":
            assert data == "[DONE]"
        elif name == "error":
            ErrorEvent.model_validate({"event": "error", "data": data})
        else:
            ASSISTANT_EVENT.validate_python({"event": name, "data": data})
    return events


@pytest.mark.parametrize(
    "case", ALL_CASES + OTHER_CASES, ids=[f"{c.parent.name}/{c.stem}" for c in ALL_CASES + OTHER_CASES]
)
def test_every_encoded_event_validates_as_the_sdk_event_type(case: Path) -> None:
    events = validate_wire(encode(events_of(case)))
    assert events[-1] == ("done", "[DONE]")


@pytest.mark.parametrize("case", ALL_CASES, ids=[c.stem for c in ALL_CASES])
def test_ids_are_consistent(case: Path) -> None:
    """One thread; every step, message and delta belongs to the run and objects written before it."""
    events = wire_events(encode(events_of(case)))
    threads, runs, steps, msgs = set(), set(), set(), set()
    current_run = None
    for name, data in events:
        if name in ("done", "error"):
            continue
        assert isinstance(data.get("created_at", 0), int)
        if name == "thread.created":
            threads.add(data["id"])
        elif data["object"] == "thread.run":
            threads.add(data["thread_id"])
            runs.add(data["id"])
            current_run = data["id"]
        elif data["object"] == "thread.run.step":
            assert data["id"].startswith("step_") and data["run_id"] == current_run
            threads.add(data["thread_id"])
            if name == "thread.run.step.created":
                steps.add(data["id"])
            else:
                assert data["id"] in steps
        elif data["object"] == "thread.message":
            assert data["id"].startswith("msg_") and data["run_id"] == current_run
            if name == "thread.message.created":
                msgs.add(data["id"])
            else:
                assert data["id"] in msgs
        elif data["object"] == "thread.run.step.delta":
            assert data["id"] in steps
        elif data["object"] == "thread.message.delta":
            assert data["id"] in msgs
    assert len(threads) == 1
    assert runs == {m["id"] for m in messages(events_of(case))}


def test_tool_calls_are_a_tool_step_then_requires_action() -> None:
    events = events_of(DATA / "openai-chat" / "parallel-tools.sse")
    names = [name for name, _ in wire_events(encode(events))]
    assert names[:4] == [
        "thread.created",
        "thread.run.created",
        "thread.run.queued",
        "thread.run.in_progress",
    ]
    assert names[-2:] == ["thread.run.requires_action", "done"]
    required = wire_events(encode(events))[-2][1]["required_action"]["submit_tool_outputs"]["tool_calls"]
    assert [(c["id"], c["function"]["name"], c["function"]["arguments"]) for c in required] == [
        (p["tool_call_id"], p["tool_name"], p["arguments"]) for p in of_type(events, "tool-call")
    ]


def test_a_continuation_is_written_as_one() -> None:
    """The tool loop re-encoded: the second segment has no thread.created and no thread.run.created."""
    names = [name for name, _ in wire_events(encode(events_of(CASES / "tool-loop.sse")))]
    second = names[names.index("done") + 1 :]
    assert names.count("thread.created") == 1 and names.count("thread.run.created") == 1
    assert second[:2] == ["thread.run.queued", "thread.run.in_progress"]
    assert second[-2:] == ["thread.run.completed", "done"]


def test_runs_of_other_dialects_get_derived_ids() -> None:
    def response(rid: str, text: str) -> list[dict[str, Any]]:
        return [
            {"type": "start", "id": rid, "model": "m", "created": 1700000000},
            {"type": "text-delta", "id": "t", "delta": text},
            {"type": "finish", "finish_reason": "stop"},
        ]

    wire = wire_events(encode(response("chatcmpl-1", "a") + response("chatcmpl-2", "b")))
    run_ids = [d["id"] for n, d in wire if n == "thread.run.created"]
    assert len(set(run_ids)) == 2 and all(r.startswith("run_") for r in run_ids)
    assert (
        wire_events(encode(response("chatcmpl-1", "a") + response("chatcmpl-2", "b"))) == wire
    )  # same bytes
    assert len({d["thread_id"] for _, d in wire if isinstance(d, dict) and "thread_id" in d}) == 1


def test_the_response_after_tool_calls_continues_the_same_run() -> None:
    """From another dialect, the tool loop's second request is submit_tool_outputs on the paused run."""
    events = events_of(DATA / "openai-chat" / "two-responses.sse")
    wire = wire_events(encode(events))
    assert [n for n, _ in wire].count("thread.run.created") == 1
    assert len({d["id"] for _, d in wire if isinstance(d, dict) and d.get("object") == "thread.run"}) == 1
    again = messages(events_of(encode(events)))
    assert [m["finish_reason"] for m in again] == ["tool-calls", "stop"]
    assert again[0]["id"] == again[1]["id"]


def _scripted(text: str) -> list[dict[str, Any]]:
    return [
        {"type": "start", "id": "resp_1", "model": "m", "created": 1700000000},
        {"type": "text-delta", "id": "t", "delta": text},
        {"type": "finish", "finish_reason": "stop"},
    ]


def test_encoder_options_put_the_stream_on_the_thread_and_run_a_request_names() -> None:
    """What serve passes: a run on an existing thread (no thread.created), and a continuation of a
    named run (no thread.run.created), both validating as the SDK's events."""
    on_thread = validate_wire(encode(_scripted("a"), thread_id="thread_T", assistant_id="asst_A"))
    assert [n for n, _ in on_thread][:2] == ["thread.run.created", "thread.run.queued"]
    assert {d["thread_id"] for _, d in on_thread if isinstance(d, dict) and "thread_id" in d} == {"thread_T"}
    assert {d["assistant_id"] for _, d in on_thread if isinstance(d, dict) and "assistant_id" in d} == {
        "asst_A"
    }
    continued = validate_wire(encode(_scripted("b"), thread_id="thread_T", run_id="run_R", continuation=True))
    assert [n for n, _ in continued][:2] == ["thread.run.queued", "thread.run.in_progress"]
    assert {d["id"] for _, d in continued if isinstance(d, dict) and d.get("object") == "thread.run"} == {
        "run_R"
    }
    (start,) = of_type(
        events_of(encode(_scripted("b"), thread_id="thread_T", run_id="run_R", continuation=True)), "start"
    )
    assert start["id"] == "run_R" and meta(start) == {
        "thread_id": "thread_T",
        "assistant_id": meta(start)["assistant_id"],
        "continuation": True,
    }
    # id_seed: two continuations of one run get step and message ids of their own
    ids = [
        {d["id"] for _, d in wire_events(encode(_scripted("b"), run_id="run_R", continuation=True, id_seed=seed))
         if isinstance(d, dict) and d.get("object") in ("thread.run.step", "thread.message")}
        for seed in ("call_1", "call_2")
    ]  # fmt: skip
    assert ids[0] and not ids[0] & ids[1]


def test_serve_options_name_the_thread_and_the_run() -> None:
    dialect = OpenAIAssistants()
    assert dialect.serve_options("/v1/threads/runs", {}, {"assistant_id": "asst_A"}) == {
        "assistant_id": "asst_A"
    }
    assert dialect.serve_options(
        "/v1/threads/thread_T/runs", {"thread_id": "thread_T"}, {"assistant_id": "asst_A"}
    ) == {
        "thread_id": "thread_T",
        "assistant_id": "asst_A",
    }
    body = {"tool_outputs": [{"tool_call_id": "c1", "output": "x"}, {"tool_call_id": "c2", "output": "y"}]}
    assert dialect.serve_options(
        "/threads/thread_T/runs/run_R/submit_tool_outputs", {"thread_id": "thread_T", "run_id": "run_R"}, body
    ) == {
        "thread_id": "thread_T",
        "run_id": "run_R",
        "continuation": True,
        "id_seed": "c1,c2",
    }


@pytest.mark.parametrize(
    ("finish", "wire_end", "again"),
    [
        ({"finish_reason": "length"}, "thread.run.incomplete", "length"),
        ({"finish_reason": "content-filter"}, "thread.run.incomplete", "content-filter"),
        ({"finish_reason": "other", "raw_finish_reason": "cancelled"}, "thread.run.cancelled", "other"),
        ({"finish_reason": "other"}, "thread.run.incomplete", "other"),
        ({"finish_reason": "stop"}, "thread.run.completed", "stop"),
    ],
)
def test_finish_reasons_are_written_as_run_ends(finish: dict, wire_end: str, again: str) -> None:
    events = [
        {"type": "start", "id": "r1", "model": "m"},
        {"type": "text-start", "id": "t"},
        {"type": "text-delta", "id": "t", "delta": "Hi"},
        {"type": "text-end", "id": "t"},
        {"type": "finish", **finish},
    ]
    wire = encode(events)
    validate_wire(wire)
    assert [n for n, _ in wire_events(wire)][-2] == wire_end
    (message,) = messages(events_of(wire))
    assert message["finish_reason"] == again and message["content"][0]["text"] == "Hi"


def test_an_error_then_finish_error_is_a_failed_run() -> None:
    events = [
        {"type": "start", "id": "r1", "model": "m"},
        {"type": "error", "message": "overloaded", "code": "rate_limit_exceeded"},
        {"type": "finish", "finish_reason": "error"},
    ]
    wire = wire_events(encode(events))
    name, data = wire[-2]
    assert name == "thread.run.failed"
    assert data["last_error"] == {"code": "rate_limit_exceeded", "message": "overloaded"}
    assert not [n for n, _ in wire if n == "error"]


def test_an_error_without_a_finish_is_an_error_event() -> None:
    events = [{"type": "start", "id": "r1", "model": "m"}, {"type": "error", "message": "boom", "code": 500}]
    wire = encode(events)
    validate_wire(wire)
    assert wire_events(wire)[-2] == (
        "error",
        {"message": "boom", "type": "server_error", "param": None, "code": "500"},
    )
    again = events_of(wire)
    assert of_type(again, "error")[0]["message"] == "boom"
    assert messages(again)[0]["finish_reason"] == "error"


@pytest.mark.parametrize("case", ALL_CASES, ids=[c.stem for c in ALL_CASES])
def test_encoding_only_final_messages(case: Path) -> None:
    """accumulate --final | render -f openai-assistants: a message alone is a whole segment.

    Errors come before the message they belong to (accumulate writes the error when it passes,
    the message at the finish): they are held for that message's segment.
    """
    first = events_of(case)
    finals = list(accumulate(iter(first), final=True))
    again = events_of(encode(finals))
    assert [essence(m) for m in messages(again)] == [essence(m) for m in messages(first)]


def test_an_error_with_no_response_is_written_alone() -> None:
    wire = wire_events(encode([{"type": "error", "message": "bad key", "code": "invalid_api_key"}]))
    assert wire == [
        ("error", {"message": "bad key", "type": "server_error", "param": None, "code": "invalid_api_key"}),
        ("done", "[DONE]"),
    ]


def test_what_assistants_cannot_express_is_dropped_with_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    encoder = AssistantsEncoder()
    encoder.feed({"type": "start", "id": "r", "model": "m"})
    assert encoder.feed({"type": "reasoning-start", "id": "r0"}) == []
    assert encoder.feed({"type": "reasoning-delta", "id": "r0", "delta": "hmm"}) == []
    assert encoder.feed({"type": "source", "source_type": "url", "id": "s", "url": "https://x.test"}) == []
    executed = {"type": "tool-call", "tool_call_id": "ws", "tool_name": "web_search", "arguments": "{}",
                "provider_executed": True}  # fmt: skip
    assert encoder.feed(executed) == []
    result = {"type": "tool-result", "tool_call_id": "ws", "tool_name": "web_search", "output": "x",
              "provider_executed": True}  # fmt: skip
    assert encoder.feed(result) == []
    assert encoder.feed({"type": "text-delta", "id": "c1.text-0", "delta": "b", "choice": 1}) == []
    encoder.feed({"type": "finish", "finish_reason": "stop"})
    encoder.close()
    err = capsys.readouterr().err
    for what in (
        "reasoning (1)",
        "url sources (1)",
        "provider-executed tools of other dialects (1)",
        "choices other than the first (1)",
    ):
        assert f"openai-assistants cannot express {what}; dropped" in err


def test_convert_through_real_pipes() -> None:
    result = sh(
        "streamkit convert --to openai-assistants tests/data/openai-chat/tool-whole.sse"
        " | streamkit fetch --replay - | streamkit normalize | streamkit accumulate --final"
    )
    assert result.returncode == 0, result.stderr
    (message,) = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert message["finish_reason"] == "tool-calls"
    assert [(p["tool_call_id"], p["input"]) for p in message["content"]] == [
        ("9ZbQ1xA2c", {"location": "Oslo"})
    ]


# --- the official client reads what we write ---------------------------------------------------


def _client(responses: dict[str, bytes], seen: list[str]) -> Any:
    import httpx
    import openai

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        body = responses[request.url.path]
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    http = httpx.Client(transport=httpx.MockTransport(handler))
    return openai.OpenAI(api_key="sk-test", base_url="http://upstream.test/v1", http_client=http)


def _texts(message: Any) -> list[str]:
    return [c.text.value for c in message.content if c.type == "text"]


@client_warning
@pytest.mark.parametrize(
    "case", ["text", "file-search", "code-interpreter-image", "refusal", "incomplete-length"]
)
def test_the_official_client_streams_what_we_write(case: str) -> None:
    """client.beta.threads.runs.stream() with an AssistantEventHandler, served our bytes."""
    from openai import AssistantEventHandler

    events = events_of(CASES / f"{case}.sse")
    (ours,) = messages(events)
    thread_id = ours["provider_metadata"][NAME]["thread_id"]
    path = f"/v1/threads/{thread_id}/runs"
    seen: list[str] = []
    client = _client({path: encode(events)}, seen)
    deltas: list[str] = []

    class Handler(AssistantEventHandler):
        def on_text_delta(self, delta: Any, snapshot: Any) -> None:
            deltas.append(delta.value or "")

    with client.beta.threads.runs.stream(
        thread_id=thread_id, assistant_id="asst_x", event_handler=Handler()
    ) as stream:
        stream.until_done()
        final = stream.get_final_messages()
        final_run = stream.current_run
    assert seen == [path]
    (message,) = final
    text = [p["text"] for p in ours["content"] if p["type"] == "text" and not p.get("refusal")]
    assert _texts(message) == text and "".join(deltas) == "".join(text)
    refusals = [c.refusal for c in message.content if c.type == "refusal"]
    assert refusals == [p["text"] for p in ours["content"] if p["type"] == "text" and p.get("refusal")]
    annotations = [a.model_dump() for c in message.content if c.type == "text" for a in c.text.annotations]
    assert annotations == [
        {k: v for k, v in p["provider_metadata"][NAME]["annotation"].items() if k != "index"}
        for p in ours["content"]
        if p["type"] == "source"
    ]
    assert final_run.id == ours["id"] and final_run.usage.total_tokens == ours["usage"]["total_tokens"]


@client_warning
@pytest.mark.parametrize("source", [CASES / "tool-loop.sse", DATA / "openai-chat" / "two-responses.sse"])
def test_the_official_client_runs_the_tool_loop_on_what_we_write(source: Path) -> None:
    """The seed problem: requires_action, then submit_tool_outputs_stream on the same run, read to its end.

    Our first segment is served for the run, our second for submit_tool_outputs at the path built
    from the thread and run ids our finish carries.
    """
    events = events_of(source)
    first, second = messages(events)
    wire = encode(events)
    cut = wire.index(b"event: done\ndata: [DONE]\n\n") + len(b"event: done\ndata: [DONE]\n\n")
    ends = meta(of_type(events_of(wire), "finish")[0])
    thread_id, run_id = ends["thread_id"], ends["run_id"]
    runs_path = f"/v1/threads/{thread_id}/runs"
    submit_path = f"/v1/threads/{thread_id}/runs/{run_id}/submit_tool_outputs"
    seen: list[str] = []
    client = _client({runs_path: wire[:cut], submit_path: wire[cut:]}, seen)

    with client.beta.threads.runs.stream(thread_id=thread_id, assistant_id="asst_x") as stream:
        stream.until_done()
        paused = stream.current_run
    assert paused.status == "requires_action"
    required = paused.required_action.submit_tool_outputs.tool_calls
    ours = [p for p in first["content"] if p["type"] == "tool-call"]
    assert [(c.id, c.function.name, orjson.loads(c.function.arguments)) for c in required] == [
        (p["tool_call_id"], p["tool_name"], p["input"]) for p in ours
    ]
    outputs = [{"tool_call_id": c.id, "output": "ok"} for c in required]
    with client.beta.threads.runs.submit_tool_outputs_stream(
        thread_id=paused.thread_id, run_id=paused.id, tool_outputs=outputs
    ) as stream:
        stream.until_done()
        (message,) = stream.get_final_messages()
        done = stream.current_run
    assert seen == [runs_path, submit_path]
    assert done.status == "completed" and done.id == paused.id
    assert _texts(message) == [p["text"] for p in second["content"] if p["type"] == "text"]
