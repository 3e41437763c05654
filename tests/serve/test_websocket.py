"""``serve``'s WebSocket endpoint (``serve.websocket``): lanes (``stream_id``) answered side by
side, each in order, every message carrying its lane; what it holds bounded. Real WebSockets on
loopback to a gateway in front of a scripted upstream paced by ``--realtime``."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from streamkit.serve.websocket import MAX_LANES
from streamkit.testing import serving
from tests.conftest import ndjson, run_cli
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


@contextmanager
def logged_serve(tmp_path: Path, *args: str) -> Iterator[tuple[str, Path]]:
    """``streamkit serve ARGS`` as its own process, its stderr kept in a file: (URL, that file)."""
    from streamkit.testing import _first_line, stop

    err = tmp_path / "serve.err"
    with open(err, "wb") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "streamkit", "serve", *args, "--port", "0"],
                                stdout=subprocess.PIPE, stderr=sink)  # fmt: skip
    try:
        yield _first_line(proc, 30), err
    finally:
        stop(proc)


def test_drop_after_cuts_a_websocket_answer_with_no_close_frame(tmp_path: Path) -> None:
    """``--drop-after N`` over the WebSocket, as over HTTP: N messages of the response, then the
    connection cut with no close frame (the client sees it drop), nothing logged; ``fetch``
    keeps what came and ends with a retryable error."""
    from websockets.exceptions import ConnectionClosedError
    from websockets.sync.client import connect

    script = tmp_path / "script.json"
    script.write_text(json.dumps([{"text": "one two three"}] * 2))
    with logged_serve(tmp_path, "-d", "openai-responses", "--script", str(script), "--drop-after", "3") as (
        url,
        err,
    ):
        with connect(ws_url(url)) as ws:
            create(ws, input="hi")
            got = [json.loads(ws.recv(timeout=10))["type"] for _ in range(3)]
            with pytest.raises(ConnectionClosedError) as cut:
                ws.recv(timeout=10)
        fetched = run_cli("fetch", "-d", "openai-responses", "--transport", "websocket", "--base-url",
                          f"{url}/v1", "-m", "m", "hi", env={"OPENAI_API_KEY": "sk-test"})  # fmt: skip
    assert got == ["response.created", "response.in_progress", "response.output_item.added"]
    assert cut.value.rcvd is None  # (no close frame: the socket closed under it)
    events = ndjson(fetched.stdout)
    assert [e["type"] for e in events] == ["raw"] * 3 + ["error"] and fetched.returncode == 1
    assert events[-1]["retryable"] is True and "closed mid-stream" in events[-1]["message"]
    assert err.read_text().count("\n") == 1, err.read_text()  # (its "serving ..." line alone)


def test_stall_after_silences_one_websocket_answer_and_the_connection_goes_on(tmp_path: Path) -> None:
    """``--stall-after N``: N messages of each response, then none; the connection stays open and
    another lane's response starts; ``fetch --read-timeout`` says the stream stalled."""
    from websockets.sync.client import connect

    with (
        serving("-d", "openai-responses", "--script", str(_script(tmp_path, 3)), "--stall-after", "2") as url,
        connect(ws_url(url)) as ws,
    ):
        create(ws, input="hi", stream_id="a")
        first = [json.loads(ws.recv(timeout=10))["type"] for _ in range(2)]
        with pytest.raises(TimeoutError):
            ws.recv(timeout=0.5)
        create(ws, input="hi", stream_id="b")
        other = [json.loads(ws.recv(timeout=10)) for _ in range(2)]
        began = time.monotonic()
        fetched = run_cli("fetch", "-d", "openai-responses", "--transport", "websocket", "--base-url",
                          f"{url}/v1", "-m", "m", "hi", "--read-timeout", "0.5", env={"OPENAI_API_KEY": "sk-test"})  # fmt: skip
        took = time.monotonic() - began
    assert first == ["response.created", "response.in_progress"]
    assert [(m["stream_id"], m["type"]) for m in other] == [
        ("b", "response.created"),
        ("b", "response.in_progress"),
    ]
    events = ndjson(fetched.stdout)
    assert [e["type"] for e in events] == ["raw", "raw", "error"] and "stalled" in events[-1]["message"]
    assert took < 10


# the SDK calls websockets' connect() without a context manager, deprecated since websockets 17.1
@pytest.mark.filterwarnings("ignore:connect\\(\\) must be used as a context manager:DeprecationWarning")
def test_fail_status_answers_a_websocket_request_with_its_error_and_fetch_retries_it(tmp_path: Path) -> None:
    """``--fail-status 429 --fail-times 2`` over the WebSocket: each of the first two requests gets
    the API's error message (the SDK reads it as an error event), the next is answered; ``fetch``
    retries a first message that is such an error as it retries an HTTP 429, on the same
    connection, and writes none of the errors it retried."""
    import openai

    script = _script(tmp_path, 4)
    faults = ("--fail-status", "429", "--fail-times", "2", "--log-requests", str(tmp_path / "log.ndjson"))
    with (
        serving("-d", "openai-responses", "--script", str(script), *faults) as url,
        openai.OpenAI(api_key="sk-test", base_url=f"{url}/v1") as client,
        client.responses.connect() as connection,
    ):
        kinds = []
        for _ in range(3):
            connection.response.create(model="m", store=False, input="hi")
            for event in connection:
                if event.type in ENDS:
                    kinds.append((event.type, getattr(event, "status", None)))
                    break
    assert kinds == [("error", 429), ("error", 429), ("response.completed", None)]
    with serving("-d", "openai-responses", "--script", str(script), *faults[:4]) as url:
        retried = run_cli("fetch", "-d", "openai-responses", "--transport", "websocket", "--base-url", f"{url}/v1",
                          "-m", "m", "hi", "--retries", "2", env={"OPENAI_API_KEY": "sk-test"})  # fmt: skip
    with serving("-d", "openai-responses", "--script", str(script), *faults[:4]) as url:
        gave_up = run_cli("fetch", "-d", "openai-responses", "--transport", "websocket", "--base-url", f"{url}/v1",
                          "-m", "m", "hi", "--retries", "1", env={"OPENAI_API_KEY": "sk-test"})  # fmt: skip
    kinds_retried = [e["data"]["type"] for e in ndjson(retried.stdout)]
    assert (
        retried.returncode == 0
        and kinds_retried[0] == "response.created"
        and kinds_retried[-1] == "response.completed"
    )
    assert [e["data"]["type"] for e in ndjson(gave_up.stdout)] == ["error"]
    assert ndjson(gave_up.stdout)[0]["data"]["status"] == 429


def _script(tmp_path: Path, turns: int) -> Path:
    path = tmp_path / f"script-{turns}.json"
    path.write_text(json.dumps([{"text": "one two three"}] * turns))
    return path


@pytest.mark.parametrize(
    ("options", "deflate"),
    [
        ((), False),  # on loopback: compressing costs CPU and saves nothing
        (("--websocket-deflate",), True),
        (("--host", "0.0.0.0"), True),  # beyond loopback: offered by default
        (("--host", "0.0.0.0", "--no-websocket-deflate"), False),
    ],
    ids=["loopback", "asked", "beyond-loopback", "refused"],
)
def test_per_message_compression_is_offered_beyond_loopback_or_when_asked(
    options: tuple[str, ...], deflate: bool, tmp_path: Path
) -> None:
    """A client that offers permessage-deflate (websockets' does) gets it where it pays, and the
    answer reads the same either way."""
    from websockets.sync.client import connect

    with serving("-d", "openai-responses", "--script", str(_script(tmp_path, 1)), *options) as url:
        port = url.rsplit(":", 1)[1]
        with connect(f"ws://127.0.0.1:{port}/v1/responses") as ws:
            create(ws, input="hi")
            seen = read_until(ws, 1)
            negotiated = ws.response.headers.get("Sec-WebSocket-Extensions") or ""
    assert ("permessage-deflate" in negotiated) is deflate, negotiated
    assert seen[-1]["response"]["output"][0]["content"][0]["text"] == "one two three"


def test_fetch_over_the_websocket_stops_at_its_timeout_as_over_http(tmp_path: Path) -> None:
    """``fetch --timeout`` bounds the whole answer over the WebSocket too: a paced answer that
    would take about 4 s ends after 1 s with what came and a retryable error naming the bound.
    (The WebSocket took no notice of it before: a trickling upstream held fetch for good.)"""
    script = tmp_path / "script.json"
    script.write_text(json.dumps([{"text": " ".join(["word"] * 40)}]))
    with serving("-d", "openai-responses", "--script", str(script), "--realtime", "--delay", "0.1") as url:
        began = time.monotonic()
        fetched = run_cli("fetch", "-d", "openai-responses", "--transport", "websocket", "--base-url",
                          f"{url}/v1", "-m", "m", "hi", "--timeout", "1", env={"OPENAI_API_KEY": "sk-test"})  # fmt: skip
        took = time.monotonic() - began
    events = ndjson(fetched.stdout)
    assert fetched.returncode == 1 and events[-1]["type"] == "error", fetched.stderr
    assert "did not finish within 1 s (--timeout)" in events[-1]["message"] and events[-1]["retryable"]
    assert 3 < len(events) < 40 and took < 3.5


def test_fetch_over_the_websocket_retries_a_refused_handshake_as_http_retries(tmp_path: Path) -> None:
    """A server whose one connection is taken answers the WebSocket handshake 503 with
    ``Retry-After: 1``; ``fetch --transport websocket`` waits and tries again, as it would an HTTP
    503, and is answered once the connection is free (it failed at once before). With
    ``--retries 0`` it fails at once, naming the refusal; a port nobody listens on is retried,
    then said as such."""
    import socket
    import threading

    script = _script(tmp_path, 3)
    with serving("-d", "openai-responses", "--script", str(script), "--max-connections", "1") as url:
        port = int(url.rsplit(":", 1)[1])
        hog = socket.create_connection(("127.0.0.1", port))
        time.sleep(0.3)  # (the server has taken it)
        refused = run_cli("fetch", "-d", "openai-responses", "--transport", "websocket", "--base-url",
                          f"{url}/v1", "-m", "m", "hi", "--retries", "0", env={"OPENAI_API_KEY": "sk-test"})  # fmt: skip
        threading.Timer(1.5, hog.close).start()
        began = time.monotonic()
        retried = run_cli("fetch", "-d", "openai-responses", "--transport", "websocket", "--base-url",
                          f"{url}/v1", "-m", "m", "hi", "--retries", "4", env={"OPENAI_API_KEY": "sk-test"})  # fmt: skip
        took = time.monotonic() - began
    # (the refusal is the 503, or a reset when the client's handshake reached the server after it
    # answered and closed: either way a clear message, not a traceback; fetch took it as such
    # with an internal error before)
    assert refused.returncode != 0 and b"WebSocket transport is not available" in refused.stderr, (
        refused.stderr
    )
    assert retried.returncode == 0, retried.stderr
    assert [e["data"]["type"] for e in ndjson(retried.stdout)][-1] == "response.completed"
    assert took >= 1.0  # (it waited for the connection to be free)
    with socket.socket() as spare:  # a port nobody listens on
        spare.bind(("127.0.0.1", 0))
        nobody = spare.getsockname()[1]
    gone = run_cli("fetch", "-d", "openai-responses", "--transport", "websocket", "--base-url",
                   f"http://127.0.0.1:{nobody}/v1", "-m", "m", "hi", "--retries", "1", env={"OPENAI_API_KEY": "sk-test"})  # fmt: skip
    assert gone.returncode != 0 and b"WebSocket transport is not available" in gone.stderr
    assert b"Traceback" not in gone.stderr + refused.stderr
