"""Steering over the Responses WebSocket (``serve.steering``): the official openai client's
``client.beta.responses.connect()`` and ``connection.response.steer(...)`` over real WebSockets on
loopback, through the gateway, in front of a scripted upstream paced so that the input arrives
while the response runs; and the event's checks, the stubs and the continuation, unit by unit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamkit.serve import steering
from tests.conftest import ndjson
from tests.serve.test_gateway import gateway

openai = pytest.importorskip("openai")

# the SDK calls websockets' connect() without a context manager, deprecated since websockets 17.1
pytestmark = pytest.mark.filterwarnings(
    "ignore:connect\\(\\) must be used as a context manager:DeprecationWarning"
)

#: a long answer, paced by the upstream: the response is still under way when the input comes
LONG = " ".join(f"word{i}" for i in range(40))
SLOW = ("--realtime", "--delay", "0.02")
TOOL_TURN = {"text": LONG, "tool_calls": [{"name": "get_weather", "input": {"city": "Paris"}}]}


def events_until(connection: Any, ends: int, stop: str = "response.completed") -> list[Any]:
    """The events read until the ``ends``-th ``stop`` event (bounded)."""
    seen: list[Any] = []
    for event in connection:
        seen.append(event)
        if sum(e.type == stop for e in seen) >= ends:
            return seen
        assert len(seen) < 5000
    raise AssertionError("the connection closed")


def steer_on_created(connection: Any, input: Any, ends: int, stop: str = "response.completed") -> list[Any]:
    """Read, steering the first response once its ``response.created`` comes, until the
    ``ends``-th ``stop`` event."""
    seen: list[Any] = []
    for event in connection:
        seen.append(event)
        if event.type == "response.created" and sum(e.type == "response.created" for e in seen) == 1:
            connection.response.steer(input=input, previous_response_id=event.response.id)
        if sum(e.type == stop for e in seen) >= ends:
            return seen
        assert len(seen) < 5000
    raise AssertionError("the connection closed")


def client(url: str) -> Any:
    return openai.OpenAI(api_key="sk-test", base_url=f"{url}/v1", max_retries=0, timeout=20)


@contextmanager
def connected(tmp_path: Path, script: list[Any], *options: str) -> Iterator[tuple[Any, Path]]:
    """The official client's beta WebSocket connection to a gateway in front of a paced scripted
    Chat upstream: (connection, the upstream's request log)."""
    with (
        gateway("openai-chat", tmp_path, *options, script=script, upstream_options=SLOW) as (url, log),
        client(url) as c,
        c.beta.responses.connect() as connection,
    ):
        yield connection, log


def text_of(response: Any) -> str:
    """The text a (beta) response object's messages hold."""
    return "".join(part.text for item in response.output if item.type == "message" for part in item.content)


def texts(request: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(m["role"], m.get("content")) for m in request["messages"]]


# --- through the gateway -----------------------------------------------------------------------------


@pytest.mark.parametrize("store", [False, True], ids=["store-false", "stored"])
def test_input_steered_into_a_response_is_its_successors_input(store: bool, tmp_path: Path) -> None:
    """Accepted while the response runs, on its lane; the response runs to its end; its successor
    starts at once, continuing it with the response's own settings and the input."""
    script = [{"text": LONG}, {"text": "Cats it is."}]
    with connected(tmp_path, script, "--store", str(tmp_path / "s.db")) as (connection, log):
        connection.response.create(model="m", input="Tell a story.", instructions="Be brief.", store=store)
        seen = steer_on_created(connection, "Make it about cats.", ends=2)
    types = [e.type for e in seen]
    first, second = (e.response for e in seen if e.type == "response.completed")
    (accepted,) = (e for e in seen if e.type == "response.steer.accepted")
    assert types.index("response.steer.accepted") < types.index("response.completed")
    assert accepted.steer.previous_response_id == first.id and accepted.steer.id.startswith("steer_")
    assert text_of(first) == LONG and text_of(second) == "Cats it is."
    assert second.previous_response_id == first.id and second.id != first.id
    _, second_request = ndjson(log.read_bytes())
    assert texts(second_request) == [
        ("system", "Be brief."),
        ("user", "Tell a story."),
        ("assistant", LONG),
        ("user", "Make it about cats."),
    ]


def test_steering_events_carry_the_lane_of_the_response_they_steer(tmp_path: Path) -> None:
    from websockets.sync.client import connect

    script = [{"text": LONG}, {"text": "Shorter."}]
    with (
        gateway("openai-chat", tmp_path, script=script, upstream_options=SLOW) as (url, log),
        connect(url.replace("http://", "ws://") + "/v1/responses") as ws,
    ):
        ws.send(
            json.dumps({"type": "response.create", "model": "m", "input": "Talk.", "stream_id": "lane-a"})
        )
        created = json.loads(ws.recv(timeout=10))
        target = created["response"]["id"]
        ws.send(json.dumps({"type": "response.steer", "previous_response_id": target,
                            "input": [{"role": "user", "content": [{"type": "input_text", "text": "Shorter."}]}]}))  # fmt: skip
        seen = [created]
        while sum(m["type"] == "response.completed" for m in seen) < 2:
            seen.append(json.loads(ws.recv(timeout=10)))
    steer_events = [m for m in seen if m["type"].startswith("response.steer")]
    assert [m["type"] for m in steer_events] == ["response.steer.accepted"]
    assert all(m.get("stream_id") == "lane-a" for m in seen)
    assert texts(ndjson(log.read_bytes())[1])[-1] == ("user", "Shorter.")


def test_input_steered_into_a_response_that_calls_tools_waits_for_their_outputs(tmp_path: Path) -> None:
    """The response stops for the client's function call: ``response.steer.pending`` lists the
    output it waits for; the client's continuation gets the input after that output, and no
    successor starts on its own."""
    script = [TOOL_TURN, {"text": "It is sunny; and about cats: they like sun."}]
    with connected(tmp_path, script) as (connection, log):
        connection.response.create(model="m", input="Weather in Paris?", store=False)
        seen = steer_on_created(connection, "Also say something about cats.", ends=1,
                                stop="response.steer.pending")  # fmt: skip
        first = next(e.response for e in seen if e.type == "response.completed")
        (pending,) = (e for e in seen if e.type == "response.steer.pending")
        (call,) = (item for item in first.output if item.type == "function_call")
        stub = pending.required_input[0]
        output = {"type": "function_call_output", "call_id": stub.call_id, "output": "sunny"}
        connection.response.create(model="m", input=[output], previous_response_id=first.id, store=False)
        done = events_until(connection, 1)
    types = [e.type for e in seen]
    assert types.index("response.completed") < types.index("response.steer.pending")
    assert pending.reason == "waiting_for_required_input"
    assert [(s.type, s.call_id, s.name) for s in pending.required_input] == [
        ("function_call_output", call.call_id, "get_weather")
    ]
    assert text_of(done[-1].response) == "It is sunny; and about cats: they like sun."
    _, second_request = ndjson(log.read_bytes())  # (no successor of its own)
    tail = second_request["messages"][-2:]
    assert tail[0]["role"] == "tool" and tail[0]["tool_call_id"] == call.call_id
    assert tail[1] == {"role": "user", "content": "Also say something about cats."}


def test_what_cannot_be_steered_comes_back_failed_and_the_connection_goes_on(tmp_path: Path) -> None:
    script = [{"text": LONG}, {"text": "Done."}]
    with connected(tmp_path, script) as (connection, log):
        connection.response.steer(input="hi", previous_response_id="resp_nowhere")
        unknown = next(iter(connection))
        connection.send({"type": "response.steer", "previous_response_id": "resp_x",
                         "input": [{"role": "assistant", "content": "I said"}]})  # fmt: skip
        wrong_role = next(iter(connection))
        connection.send({"type": "response.steer", "previous_response_id": "resp_x", "input": "x",
                         "stream_id": "a"})  # fmt: skip
        with_lane = next(iter(connection))
        connection.response.create(model="m", input="Talk.", store=False)
        first = events_until(connection, 1)[-1].response
        connection.response.steer(input="late", previous_response_id=first.id)
        late = next(iter(connection))
        connection.response.create(model="m", input="Again.", store=False)
        again = events_until(connection, 1)[-1].response
    assert (unknown.type, unknown.error.code) == ("response.steer.failed", "response_not_found")
    assert unknown.steer.input == "hi" and unknown.steer.id is None
    assert wrong_role.error.code == "invalid_input" and "user role" in wrong_role.error.message
    assert with_lane.error.code == "invalid_input" and "stream_id" in with_lane.error.message
    assert (late.error.code, late.steer.previous_response_id) == ("response_already_completed", first.id)
    assert text_of(again) == "Done."
    assert len(ndjson(log.read_bytes())) == 2
    sequence = [e.sequence_number for e in (unknown, wrong_role, with_lane, late)]
    assert sequence == sorted(sequence) and len(set(sequence)) == 4


def test_input_a_successor_could_not_start_with_comes_back_failed(tmp_path: Path) -> None:
    """The upstream refuses the successor before its first byte (here: its script has no more
    turns): the accepted input comes back in ``response.steer.failed``."""
    with connected(tmp_path, [{"text": LONG}]) as (connection, _):
        connection.response.create(model="m", input="Talk.", store=False)
        seen = steer_on_created(connection, "More!", ends=1, stop="response.steer.failed")
    (failed,) = (e for e in seen if e.type == "response.steer.failed")
    (accepted,) = (e for e in seen if e.type == "response.steer.accepted")
    assert failed.error.code == "successor_creation_failed"
    assert (failed.steer.id, failed.steer.input) == (accepted.steer.id, "More!")


def test_input_steered_into_a_response_that_ends_incomplete_comes_back_failed(tmp_path: Path) -> None:
    script = [{"content": [{"type": "text", "text": LONG}], "finish_reason": "length"}, {"text": "unused"}]
    with connected(tmp_path, script) as (connection, log):
        connection.response.create(model="m", input="Talk.", store=False)
        seen = steer_on_created(connection, "More!", ends=1, stop="response.steer.failed")
    assert "response.incomplete" in [e.type for e in seen]
    assert seen[-1].error.code == "response_not_active" and seen[-1].steer.input == "More!"
    assert len(ndjson(log.read_bytes())) == 1


def test_a_response_takes_so_many_steering_inputs_and_no_more(tmp_path: Path) -> None:
    script = [{"text": LONG}, {"text": "ok"}]
    with connected(tmp_path, script) as (connection, log):
        connection.response.create(model="m", input="Talk.", store=False)
        seen: list[Any] = []
        for event in connection:
            seen.append(event)
            if event.type == "response.created" and len(seen) == 1:
                for n in range(steering.MAX_STEERS + 1):
                    connection.response.steer(input=f"input {n}", previous_response_id=event.response.id)
            if sum(e.type == "response.completed" for e in seen) == 2:
                break
    outcomes = [e.type for e in seen if e.type.startswith("response.steer")]
    assert outcomes == ["response.steer.accepted"] * steering.MAX_STEERS + ["response.steer.failed"]
    assert text_of(seen[-1].response) == "ok"
    said = [m["content"] for m in ndjson(log.read_bytes())[1]["messages"] if m["role"] == "user"]
    assert said == ["Talk.", *(f"input {n}" for n in range(steering.MAX_STEERS))]


def test_steering_input_counts_in_what_may_wait_on_a_connection(tmp_path: Path) -> None:
    """Queued input is held until used: no more than one request may be large (``--max-body``),
    and what a successor took is let go (the next response takes as much again)."""
    big = "x" * 600_000  # (each under the 1 MiB a request may be, both together over it)
    script = [{"text": LONG}, {"text": LONG}, {"text": "ok"}]
    with connected(tmp_path, script, "--max-body", "1") as (connection, log):
        connection.response.create(model="m", input="Talk.", store=False)
        seen: list[Any] = []
        for event in connection:
            seen.append(event)
            created = sum(e.type == "response.created" for e in seen)
            if event.type == "response.created" and created <= 2:  # the first response, and its successor
                connection.response.steer(input=big, previous_response_id=event.response.id)
                if len(seen) == 1:
                    connection.response.steer(input=big, previous_response_id=event.response.id)
            if sum(e.type == "response.completed" for e in seen) == 3:
                break
    outcomes = [(e.type, getattr(getattr(e, "error", None), "code", None)) for e in seen if "steer" in e.type]
    assert outcomes == [
        ("response.steer.accepted", None),
        ("response.steer.failed", "too_many_pending_steers"),
        ("response.steer.accepted", None),
    ]
    assert len(ndjson(log.read_bytes())) == 3


# --- the parts ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "words"),
    [
        ({"previous_response_id": "r", "input": ""}, "empty"),
        ({"previous_response_id": "r", "input": []}, "non-empty list"),
        ({"previous_response_id": "r", "input": 5}, "non-empty list"),
        ({"previous_response_id": 5, "input": "x"}, "previous_response_id"),
        ({"input": "x"}, "previous_response_id"),
        ({"previous_response_id": "r", "input": ["x"]}, "must be a message"),
        (
            {"previous_response_id": "r", "input": [{"role": "user", "content": "x", "id": "m"}]},
            "only type, role",
        ),
        (
            {"previous_response_id": "r", "input": [{"type": "function_call_output", "role": "user"}]},
            "user role",
        ),
        (
            {"previous_response_id": "r", "input": [{"role": "user", "content": [{"type": "output_text"}]}]},
            "parts",
        ),
        ({"previous_response_id": "r", "input": [{"role": "user", "content": 5}]}, "parts"),
        ({"previous_response_id": "r", "input": "x", "model": "m"}, "not model"),
    ],
)
def test_a_steering_event_the_api_would_refuse_is_refused(event: dict[str, Any], words: str) -> None:
    found = steering.problem({"type": "response.steer", **event})
    assert found is not None and words in found


def test_a_steering_event_of_the_documented_shapes_is_taken() -> None:
    parts = [
        {"type": "input_text", "text": "a"},
        {"type": "input_image", "image_url": "https://x.test/i.png"},
    ]
    for value in (
        "x",
        [{"role": "user", "content": "x"}],
        [{"type": "message", "role": "user", "content": parts}],
    ):
        assert (
            steering.problem({"type": "response.steer", "previous_response_id": "r", "input": value}) is None
        )


def test_the_stubs_name_every_output_a_response_waits_for() -> None:
    output = [
        {"type": "message", "content": []},
        {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
        {"type": "custom_tool_call", "call_id": "c2", "name": "patch", "input": "x"},
        {"type": "shell_call", "call_id": "c3", "action": {}},
        {"type": "apply_patch_call", "call_id": "c4"},
        {"type": "computer_call", "call_id": "c5"},
        {"type": "tool_search_call", "call_id": "c6", "execution": "client"},
        {"type": "tool_search_call", "call_id": "c7", "execution": "server"},
        {"type": "mcp_approval_request", "id": "a1"},
        {"type": "web_search_call", "id": "w1"},
    ]
    assert steering.required_input({"output": output}) == [
        {"type": "function_call_output", "call_id": "c1", "name": "f"},
        {"type": "custom_tool_call_output", "call_id": "c2"},
        {"type": "shell_call_output", "call_id": "c3"},
        {"type": "apply_patch_call_output", "call_id": "c4"},
        {"type": "computer_call_output", "call_id": "c5"},
        {"type": "tool_search_output", "call_id": "c6", "execution": "client"},
        {"type": "mcp_approval_response", "approval_request_id": "a1"},
    ]
    assert steering.required_input({"output": [{"type": "message"}]}) == []
    assert steering.required_input(None) == [] and steering.required_input({"output": "x"}) == []


def test_queued_input_goes_after_the_outputs_a_continuation_starts_with() -> None:
    steers = [
        steering.Steer("s1", "r", "one"),
        steering.Steer("s2", "r", [{"role": "user", "content": "two"}]),
    ]
    body = {"model": "m", "input": [{"type": "function_call_output", "call_id": "c", "output": "x"},
                                    {"type": "mcp_approval_response", "approval_request_id": "a", "approve": True},
                                    {"role": "user", "content": "mine"}]}  # fmt: skip
    assert [i.get("type", "message") + ":" + str(i.get("content", "")) for i in steering.continued(body, steers)["input"]] == [
        "function_call_output:", "mcp_approval_response:", "message:one", "message:two", "message:mine"
    ]  # fmt: skip
    assert steering.continued({"input": "mine"}, steers[:1])["input"] == [
        {"type": "message", "role": "user", "content": "one"},
        {"type": "message", "role": "user", "content": "mine"},
    ]


def test_a_successor_keeps_its_parents_settings_and_takes_the_input() -> None:
    body = {"model": "m", "instructions": "Be brief.", "tools": [{"type": "function", "name": "f"}],
            "input": "old", "previous_response_id": "older", "generate": False, "store": False}  # fmt: skip
    made = steering.successor(body, "resp_1", [steering.Steer("s", "resp_1", "new")])
    assert made == {"model": "m", "instructions": "Be brief.", "tools": [{"type": "function", "name": "f"}],
                    "store": False, "previous_response_id": "resp_1",
                    "input": [{"type": "message", "role": "user", "content": "new"}]}  # fmt: skip


ANY = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=4) | st.sampled_from(["user", "message", "input_text"]),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(["type", "role", "content", "text", "id"]) | st.text(max_size=3), inner,
                      max_size=3),
    max_leaves=10,
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(event=st.dictionaries(st.sampled_from(["type", "previous_response_id", "input", "stream_id"]), ANY))
def test_any_steering_event_is_taken_or_refused_in_words(event: dict[str, Any]) -> None:
    """A client's event of any shape: a reason, or input that makes items, stubs and a
    continuation without an exception."""
    found = steering.problem(event)
    if found is None:
        steer = steering.new_steer(event, 1)
        assert all(item["role"] == "user" for item in steering.items([steer]))
        steering.continued({"input": event.get("input")}, [steer])
    else:
        assert isinstance(found, str)
        failed = steering.failed(event, "invalid_input", found)
        assert failed["steer"]["input"] == event.get("input")


@settings(max_examples=200, deadline=None)
@given(response=ANY)
def test_stubs_of_any_response_are_a_list_of_objects(response: Any) -> None:
    assert all(isinstance(stub, dict) for stub in steering.required_input(response))
