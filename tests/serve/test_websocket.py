"""``serve``'s WebSocket endpoint (``serve.websocket``): lanes (``stream_id``) answered side by
side, each in order, every message carrying its lane; what it holds bounded. Real WebSockets on
loopback to a gateway in front of a scripted upstream paced by ``--realtime``."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from streamkit.serve.websocket import MAX_LANES
from tests.serve.test_gateway import gateway

WORDS = " ".join(["word"] * 30)  # 30 deltas: about 0.6 s of the upstream's pacing
PACED = ("--realtime", "--delay", "0.02")
ENDS = ("response.completed", "response.failed", "response.incomplete", "error")


def ws_url(url: str) -> str:
    return url.replace("http://", "ws://") + "/v1/responses"


def create(ws: Any, **fields: Any) -> None:
    ws.send(json.dumps({"type": "response.create", "model": "m", "store": False, **fields}))


def read_until(ws: Any, ends: int, seconds: float = 30) -> list[dict[str, Any]]:
    """The messages up to the ``ends``-th that ends a response (or is an error)."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + seconds
    while sum(m["type"] in ENDS for m in seen) < ends:
        seen.append(json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic()))))
    return seen


def test_two_lanes_answer_side_by_side_each_message_naming_its_lane(tmp_path: Path) -> None:
    from websockets.sync.client import connect

    with (
        gateway("openai-chat", tmp_path, script=[{"text": WORDS}] * 2, upstream_options=PACED) as (url, _),
        connect(ws_url(url)) as ws,
    ):
        began = time.monotonic()
        create(ws, stream_id="a", input="one")
        create(ws, stream_id="b", input="two")
        seen = read_until(ws, 2)
        took = time.monotonic() - began
    assert {m["stream_id"] for m in seen} == {"a", "b"}
    kinds = [(m["stream_id"], m["type"]) for m in seen]
    # both started before either ended: side by side, not one after the other
    assert kinds.index(("b", "response.created")) < kinds.index(("a", "response.completed"))
    assert kinds.index(("a", "response.created")) < kinds.index(("b", "response.completed"))
    for lane in "ab":
        texts = [
            m["delta"] for m in seen if m["stream_id"] == lane and m["type"] == "response.output_text.delta"
        ]
        assert "".join(texts) == WORDS
    assert took < 1.2 * 2  # (each takes about 0.6 s)


def test_one_lane_answers_in_order_and_no_stream_id_is_a_lane_of_its_own(tmp_path: Path) -> None:
    from websockets.sync.client import connect

    with (
        gateway("openai-chat", tmp_path, script=[{"text": WORDS}] * 3, upstream_options=PACED) as (url, _),
        connect(ws_url(url)) as ws,
    ):
        create(ws, stream_id="a", input="one")
        create(ws, stream_id="a", input="two")
        create(ws, input="three")
        seen = read_until(ws, 3)
    lanes = [(m.get("stream_id"), m["type"]) for m in seen if m["type"] in ("response.created", *ENDS)]
    a = [kind for lane, kind in lanes if lane == "a"]
    assert a == ["response.created", "response.completed"] * 2  # the second only after the first
    assert [kind for lane, kind in lanes if lane is None] == ["response.created", "response.completed"]
    assert lanes.index((None, "response.created")) < lanes.index(("a", "response.completed"))


def test_a_lane_forks_from_a_response_of_another_lane(tmp_path: Path) -> None:
    from websockets.sync.client import connect

    script = [{"text": "Lyon."}, {"text": "On the Rhône."}]
    with (
        gateway("anthropic", tmp_path, script=script) as (url, log),
        connect(ws_url(url)) as ws,
    ):
        create(ws, stream_id="main", input="Name a French city.")
        (done,) = [m for m in read_until(ws, 1) if m["type"] == "response.completed"]
        create(ws, stream_id="fork", input="Which river?", previous_response_id=done["response"]["id"])
        (forked,) = [m for m in read_until(ws, 1) if m["type"] == "response.completed"]
    assert (
        forked["stream_id"] == "fork" and forked["response"]["previous_response_id"] == done["response"]["id"]
    )
    text = log.read_text(encoding="utf-8").splitlines()[-1]
    assert "Name a French city." in text and "Lyon." in text and "Which river?" in text


def test_what_a_connection_holds_is_bounded_and_refusals_name_their_lane(tmp_path: Path) -> None:
    from websockets.sync.client import connect

    lanes = MAX_LANES + 1
    with (
        gateway("openai-chat", tmp_path, script=[{"text": WORDS}] * lanes, upstream_options=PACED) as (
            url,
            _,
        ),
        connect(ws_url(url)) as ws,
    ):
        ws.send(json.dumps({"type": "response.create", "model": "m", "stream_id": 7, "input": "hi"}))
        wrong = json.loads(ws.recv(timeout=10))
        for i in range(lanes):
            create(ws, stream_id=f"lane-{i}", input="hi")
        seen = read_until(ws, lanes)
        # the lanes close once answered: a new one opens again
        create(ws, stream_id="later", generate=False, input="hi")
        later = read_until(ws, 1)
    assert wrong["type"] == "error" and wrong["error"]["param"] == "stream_id" and "stream_id" not in wrong
    errors = [m for m in seen if m["type"] == "error"]
    assert len(errors) == 1 and errors[0]["status"] == 429 and errors[0]["stream_id"] == f"lane-{MAX_LANES}"
    assert sum(m["type"] == "response.completed" for m in seen) == MAX_LANES
    assert later[-1]["type"] == "response.completed" and later[-1]["stream_id"] == "later"


def test_a_client_that_leaves_ends_every_lane_and_the_server_goes_on(tmp_path: Path) -> None:
    import httpx
    from websockets.sync.client import connect

    long_text = " ".join(["word"] * 500)  # 10 s each, were they read to the end
    with gateway("openai-chat", tmp_path, "--store", str(tmp_path / "r.sqlite3"),
                 script=[{"text": long_text}] * 2 + [{"text": "still here"}], upstream_options=PACED) as (url, _):  # fmt: skip
        with connect(ws_url(url)) as ws:
            ws.send(json.dumps({"type": "response.create", "model": "m", "stream_id": "a", "input": "hi"}))
            ws.send(json.dumps({"type": "response.create", "model": "m", "stream_id": "b", "input": "hi"}))
            ids = {}
            while len(ids) < 2:
                message = json.loads(ws.recv(timeout=10))
                if message["type"] == "response.created":
                    ids[message["stream_id"]] = message["response"]["id"]
        deadline = time.monotonic() + 10
        for response_id in ids.values():  # stored, and cancelled with their client
            while httpx.get(f"{url}/v1/responses/{response_id}").json()["status"] != "cancelled":
                assert time.monotonic() < deadline
                time.sleep(0.05)
        with connect(ws_url(url)) as ws:
            create(ws, input="hi")
            assert read_until(ws, 1)[-1]["response"]["output"][0]["content"][0]["text"] == "still here"


# the SDK calls websockets' connect() without a context manager, deprecated since websockets 17.1
@pytest.mark.filterwarnings("ignore:connect\\(\\) must be used as a context manager:DeprecationWarning")
def test_the_official_client_reads_two_lanes_of_one_connection(tmp_path: Path) -> None:
    import openai

    with (
        gateway("anthropic", tmp_path, script=[{"text": "one"}, {"text": "two"}]) as (url, _),
        openai.OpenAI(api_key="sk-test", base_url=f"{url}/v1") as client,
        client.responses.connect() as connection,
    ):
        connection.response.create(model="m", store=False, stream_id="a", input="first")
        connection.response.create(model="m", store=False, stream_id="b", input="second")
        done = {}
        for event in connection:
            if event.type == "response.completed":
                done[event.stream_id] = event.response.output_text
                if len(done) == 2:
                    break
    assert sorted(done.values()) == ["one", "two"] and set(done) == {"a", "b"}


def test_a_binary_frame_is_read_as_the_same_json_and_bad_bytes_are_not_json(tmp_path: Path) -> None:
    """(starlette's receive_text failed on a binary frame with a KeyError: the server logged an
    ERROR and dropped the connection)"""
    from websockets.sync.client import connect

    with gateway("openai-chat", tmp_path, script=[{"text": "hi"}]) as (url, _), connect(ws_url(url)) as ws:
        ws.send(b"\xff\xfe not json")
        error = json.loads(ws.recv(timeout=10))
        ws.send(json.dumps({"type": "response.create", "model": "m", "store": False, "input": "hi"}).encode())
        seen = read_until(ws, 1)
    assert error["type"] == "error" and error["error"]["message"] == "not JSON"
    assert seen[-1]["type"] == "response.completed"


def test_what_waits_on_a_connection_is_no_larger_than_one_largest_request(tmp_path: Path) -> None:
    """Requests waiting behind answers are held parsed: a client may not queue lanes of the largest
    requests (16 lanes of 17 requests of 64 MiB). One request's worth waits, the next is refused."""
    from websockets.sync.client import connect

    half = "x" * (600 * 1024)  # 0.6 MiB of input: under --max-body 1 alone, over it twice
    with (
        gateway("openai-chat", tmp_path, "--max-body", "1", script=[{"text": WORDS}] * 3,
                upstream_options=PACED) as (url, _),
        connect(ws_url(url), max_size=None) as ws,
    ):  # fmt: skip
        create(ws, stream_id="a", input="first")  # answered at once
        create(ws, stream_id="a", input=half)  # waits
        create(ws, stream_id="b", input=half)  # would wait too (b is free, so it is answered at once)
        create(ws, stream_id="a", input=half)  # over: refused
        seen = read_until(ws, 4)
    errors = [m for m in seen if m["type"] == "error"]
    assert len(errors) == 1 and errors[0]["status"] == 429 and errors[0]["stream_id"] == "a"
    assert sum(m["type"] == "response.completed" for m in seen) == 3
