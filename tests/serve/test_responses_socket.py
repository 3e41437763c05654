"""The Responses API's WebSocket mode through the gateway (``serve.responses_socket``), with the
official client's ``client.responses.connect()`` over real WebSockets on loopback, in front of
scripted upstreams: a warm-up that asks nothing upstream, turns that send only their new input and
the ``previous_response_id`` of the turn before (with ``store: false``), and the whole
conversation reaching every upstream."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ndjson
from tests.serve.test_gateway import ANSWER, SCRIPT, gateway

QUESTION = "What's the weather in Paris?"
SYSTEM = "You are a weather bot."
TOOLS: Any = [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}, "strict": False}]

# the SDK calls websockets' connect() without a context manager, deprecated since websockets 17.1
pytestmark = pytest.mark.filterwarnings(
    "ignore:connect\\(\\) must be used as a context manager:DeprecationWarning"
)


def until_done(connection: Any) -> tuple[Any, list[Any]]:
    """The events of one response up to its end: (the terminal event or error, the events)."""
    seen = []
    for _ in range(10_000):
        event = next(iter(connection))
        seen.append(event)
        if event.type in ("response.completed", "response.failed", "response.incomplete", "error"):
            return event, seen
    raise AssertionError("no end")


def requests_of(log: Path) -> list[dict[str, Any]]:
    return ndjson(log.read_bytes()) if log.exists() else []


def empty_turns(request: dict[str, Any]) -> list[Any]:
    """The assistant turns of an upstream request (Chat, Anthropic or Responses) that say nothing:
    no content and no tool calls, which Anthropic and Chat Completions refuse with a 400."""
    turns = request.get("messages") or request.get("input") or []
    return [
        m for m in turns if m.get("role") == "assistant" and not m.get("content") and not m.get("tool_calls")
    ]


@pytest.mark.parametrize("upstream", ["openai-chat", "anthropic", "openai-responses"])
def test_a_chain_on_one_connection_reaches_the_upstream_whole(upstream: str, tmp_path: Path) -> None:
    import openai

    with (
        gateway(upstream, tmp_path, script=[*SCRIPT, {"text": "again"}]) as (url, log),
        openai.OpenAI(api_key="sk-test", base_url=f"{url}/v1") as client,
        client.responses.connect() as connection,
    ):
        # a warm-up: the instructions, tools and first message of the coming turn; nothing upstream
        connection.response.create(model="gpt-test", generate=False, store=False, tools=TOOLS,
                                   input=[{"role": "developer", "content": SYSTEM}])  # fmt: skip
        warm, events = until_done(connection)
        assert warm.type == "response.completed", warm
        assert warm.response.output == [] and warm.response.id.startswith("resp_")
        assert events[0].type == "response.created"
        assert requests_of(log) == []

        connection.response.create(model="gpt-test", store=False, tools=TOOLS, previous_response_id=warm.response.id,
                                   input=[{"role": "user", "content": QUESTION}])  # fmt: skip
        first, _ = until_done(connection)
        assert first.type == "response.completed", first
        assert first.response.previous_response_id == warm.response.id
        (call,) = [o for o in first.response.output if o.type == "function_call"]
        assert call.name == "get_weather"

        output = {"type": "function_call_output", "call_id": call.call_id, "output": "18 degrees, sunny"}
        connection.response.create(model="gpt-test", store=False, tools=TOOLS, previous_response_id=first.response.id,
                                   input=[output])  # fmt: skip
        second, events = until_done(connection)
        assert second.type == "response.completed", second
        assert second.response.output_text == ANSWER
        assert second.response.previous_response_id == first.response.id != second.response.id

        # an id the connection never answered (nor the store holds) is the API's 404, and the
        # connection goes on; an openai-responses upstream is asked, as over HTTP (it keeps its own)
        connection.response.create(model="gpt-test", previous_response_id="resp_never", input="hi")
        end, _ = until_done(connection)
        if upstream == "openai-responses":
            assert end.type == "response.completed" and end.response.output_text == "again"
            assert requests_of(log)[-1]["previous_response_id"] == "resp_never"
        else:
            assert end.type == "error" and end.status == 404
            assert end.error.code == "previous_response_not_found" and "resp_never" in end.error.message
        connection.response.create(model="gpt-test", store=False, previous_response_id=second.response.id,
                                   generate=False, input="thanks")  # fmt: skip
        assert until_done(connection)[0].type == "response.completed"

    first_request, second_request = requests_of(log)[:2]
    assert "previous_response_id" not in first_request and "previous_response_id" not in second_request
    # the warm-up said nothing, so the turn it began holds no empty assistant turn
    assert empty_turns(first_request) == [] and empty_turns(second_request) == []
    # the upstream got the whole conversation each time, in its own dialect: the warm-up's
    # developer message, the question, then the call and its output
    for request in (first_request, second_request):
        text = json.dumps(request)
        assert SYSTEM in text and QUESTION in text
    second_text = json.dumps(second_request)
    assert call.call_id in second_text and "18 degrees, sunny" in second_text
    assert second_text.index(SYSTEM) < second_text.index(QUESTION) < second_text.index("18 degrees, sunny")


def test_each_connection_keeps_its_own_responses(tmp_path: Path) -> None:
    """A response of one connection, not stored, is unknown to another: 404 there."""
    import openai

    with (
        gateway("openai-chat", tmp_path, script=SCRIPT) as (url, _),
        openai.OpenAI(api_key="sk-test", base_url=f"{url}/v1") as client,
    ):
        with client.responses.connect() as one:
            one.response.create(model="gpt-test", generate=False, store=False, input=QUESTION)
            warm, _ = until_done(one)
        with client.responses.connect() as other:
            other.response.create(
                model="gpt-test", store=False, previous_response_id=warm.response.id, input="hi"
            )
            error, _ = until_done(other)
    assert error.type == "error" and error.error.code == "previous_response_not_found"


def test_a_warm_up_uses_up_no_scripted_turn(tmp_path: Path) -> None:
    """``serve --script``: a warm-up is answered empty, and the next turn gets the first scripted
    answer (the tool call), not the second."""
    import openai
    import orjson

    from tests.test_fetch_live import serving

    script = tmp_path / "script.json"
    script.write_bytes(orjson.dumps(SCRIPT))
    with (
        serving("-d", "openai-responses", "--script", str(script)) as url,
        openai.OpenAI(api_key="sk-test", base_url=f"{url}/v1") as client,
        client.responses.connect() as connection,
    ):
        connection.response.create(model="gpt-test", generate=False, input=QUESTION)
        warm, _ = until_done(connection)
        connection.response.create(model="gpt-test", previous_response_id=warm.response.id, input=QUESTION)
        first, _ = until_done(connection)
    assert warm.type == "response.completed" and warm.response.output == []
    assert [o.type for o in first.response.output] == ["function_call"]


def test_what_the_websocket_does_not_take_is_an_error_and_the_connection_goes_on(
    tmp_path: Path,
) -> None:
    from websockets.sync.client import connect

    with (
        gateway("openai-chat", tmp_path, script=SCRIPT) as (url, log),
        connect(url.replace("http://", "ws://") + "/v1/responses") as ws,
    ):
        ws.send(json.dumps({"type": "response.inject", "input": "faster"}))
        error = json.loads(ws.recv(timeout=10))
        ws.send(json.dumps({"type": "response.create", "model": "m", "background": True, "input": "hi"}))
        background = json.loads(ws.recv(timeout=10))
        ws.send(json.dumps({"type": "response.create", "model": "m", "generate": False, "input": "hi"}))
        created = json.loads(ws.recv(timeout=10))
    assert error["type"] == "error" and error["status"] == 400
    assert (
        error["error"]["code"] == "unsupported_event_type"
        and "'response.inject'" in error["error"]["message"]
    )
    assert background["type"] == "error" and background["error"]["param"] == "background"  # (as the API says)
    assert created["type"] == "response.created"
    assert requests_of(log) == []


def test_a_response_not_marked_store_false_is_stored_and_goes_on_over_http_or_another_connection(
    tmp_path: Path,
) -> None:
    """Stored as over HTTP: retrieved by id, its input listed, continued by an HTTP request and by
    a later connection (from the store, not the first connection's memory)."""
    import openai

    script = [{"text": "Lyon."}, {"text": "About half a million."}, {"text": "On the Rhône."}]
    with (
        gateway("anthropic", tmp_path, "--store", str(tmp_path / "responses.sqlite3"), script=script) as (
            url,
            log,
        ),
        openai.OpenAI(api_key="sk-test", base_url=f"{url}/v1") as client,
    ):
        with client.responses.connect() as connection:
            connection.response.create(model="gpt-test", input="Name a French city.")
            first, _ = until_done(connection)
        assert first.type == "response.completed" and first.response.output_text == "Lyon."
        stored = client.responses.retrieve(first.response.id)
        assert stored.status == "completed" and stored.output_text == "Lyon."
        assert [i.content[0].text for i in client.responses.input_items.list(first.response.id)] == [
            "Name a French city."
        ]
        second = client.responses.create(
            model="gpt-test", input="How big is it?", previous_response_id=first.response.id
        )
        assert second.output_text == "About half a million."
        with client.responses.connect() as other:
            other.response.create(model="gpt-test", input="Which river?", previous_response_id=second.id)
            third, _ = until_done(other)
        assert third.type == "response.completed" and third.response.output_text == "On the Rhône."
    # the last request upstream holds the whole chain, from both transports
    text = json.dumps(requests_of(log)[-1], ensure_ascii=False)
    for said in ("Name a French city.", "Lyon.", "How big is it?", "About half a million.", "Which river?"):
        assert said in text


def test_a_client_that_leaves_stops_its_stored_response(tmp_path: Path) -> None:
    """As over HTTP (a foreground stream): the upstream request is closed and the response is
    stored ``cancelled``."""
    import time

    import httpx
    from websockets.sync.client import connect

    script = [{"text": " ".join(["word"] * 400)}]  # 20 s, paced by the upstream
    with gateway("openai-chat", tmp_path, "--store", str(tmp_path / "r.sqlite3"), script=script,
                 upstream_options=("--realtime", "--delay", "0.05")) as (url, _):  # fmt: skip
        with connect(url.replace("http://", "ws://") + "/v1/responses") as ws:
            ws.send(json.dumps({"type": "response.create", "model": "m", "input": "Talk."}))
            created = json.loads(ws.recv(timeout=10))
            while json.loads(ws.recv(timeout=10))["type"] != "response.output_text.delta":
                pass
        response_id = created["response"]["id"]
        deadline = time.monotonic() + 10
        while (status := httpx.get(f"{url}/v1/responses/{response_id}").json()["status"]) != "cancelled":
            assert time.monotonic() < deadline, status
            time.sleep(0.05)


def test_over_the_websocket_another_keys_stored_response_is_not_found(tmp_path: Path) -> None:
    """With ``--client-keys``, a stored response is its key's over the WebSocket too: another
    key's connection that names it gets ``previous_response_not_found`` and the upstream is not
    asked; its own key's connection continues it."""
    import openai

    keys = tmp_path / "keys"
    keys.write_text("sk-alice-0123456789\nsk-bob-9876543210\n")
    script = [{"text": "Lyon."}, {"text": "About half a million."}]
    with (
        gateway("openai-chat", tmp_path, "--store", str(tmp_path / "s.db"), "--client-keys", str(keys),
                script=script) as (url, log),
        openai.OpenAI(api_key="sk-alice-0123456789", base_url=f"{url}/v1") as alice,
        openai.OpenAI(api_key="sk-bob-9876543210", base_url=f"{url}/v1") as bob,
    ):  # fmt: skip
        first = alice.responses.create(model="gpt-test", input="Name a French city.")
        with bob.responses.connect() as theirs:
            theirs.response.create(model="gpt-test", input="Which city?", previous_response_id=first.id)
            refused, _ = until_done(theirs)
        assert len(requests_of(log)) == 1
        with alice.responses.connect() as own:
            own.response.create(model="gpt-test", input="How big is it?", previous_response_id=first.id)
            continued, _ = until_done(own)
    assert refused.type == "error" and refused.error.code == "previous_response_not_found"
    assert (
        continued.type == "response.completed" and continued.response.output_text == "About half a million."
    )


def _until_end(ws: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A raw WebSocket's messages up to the end of one response: (the terminal one, all of them)."""
    seen = []
    for _ in range(10_000):
        message = json.loads(ws.recv(timeout=20))
        seen.append(message)
        if message["type"] in ("response.completed", "response.failed", "response.incomplete", "error"):
            return message, seen
    raise AssertionError("no end")


@pytest.mark.parametrize("upstream", ["openai-chat", "anthropic"])
def test_an_interrupt_stops_the_response_keeps_its_done_items_and_the_chain_goes_on(
    upstream: str, tmp_path: Path
) -> None:
    """What the Codex CLI does with its instant interrupt (its own tests' frames): once it knows
    the response's id it sends ``response.interrupt`` (``discard_partial_items``), reads the
    response to its end, and continues from it with its user's new input. The response ends at
    once with ``response.incomplete`` (reason ``interrupted``) whose output holds the reasoning
    item done and not the text still being written, numbered on; the continuation sent upstream
    holds the reasoning and no partial text."""
    from websockets.sync.client import connect

    long_text = "partial " * 3000
    script = [{"reasoning": "Think it over.", "text": long_text}, {"text": ANSWER}]
    slow = ("--realtime", "--delay", "0.005")
    with (
        gateway(upstream, tmp_path, script=script, upstream_options=slow) as (url, log),
        connect(url.replace("http://", "ws://") + "/v1/responses") as ws,
    ):
        ws.send(json.dumps({"type": "response.create", "model": "m", "input": QUESTION, "store": False}))
        seen: list[dict[str, Any]] = []
        while sum(m["type"] == "response.output_text.delta" for m in seen) < 3:
            seen.append(json.loads(ws.recv(timeout=20)))
        response_id = seen[0]["response"]["id"]
        ws.send(
            json.dumps(
                {"type": "response.interrupt", "response_id": response_id, "mode": "discard_partial_items"}
            )
        )
        end, rest = _until_end(ws)
        seen += rest
        ws.send(json.dumps({"type": "response.create", "model": "m", "input": "Go on.", "store": False,
                            "previous_response_id": response_id}))  # fmt: skip
        after, _ = _until_end(ws)
    assert end["type"] == "response.incomplete", end
    response = end["response"]
    assert response["id"] == response_id and response["status"] == "incomplete"
    assert response["incomplete_details"] == {"reason": "interrupted"}
    assert [item["type"] for item in response["output"]] == ["reasoning"]
    assert response["output"][0]["summary"][0]["text"] == "Think it over."
    deltas = "".join(m["delta"] for m in seen if m["type"] == "response.output_text.delta")
    assert 0 < len(deltas) < len(long_text) / 2  # (stopped, not sent to its end)
    numbers = [m["sequence_number"] for m in seen]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))
    assert after["type"] == "response.completed" and after["response"]["previous_response_id"] == response_id
    _, continuation = requests_of(log)
    sent = json.dumps(continuation)
    assert QUESTION in sent and "Go on." in sent and "partial" not in sent


def test_an_interrupt_too_late_is_let_go_and_a_wrong_one_is_an_error(tmp_path: Path) -> None:
    """An interrupt naming a response that has ended is let go without a word (its end is on its
    way to the client, which reads it as it would have); one naming no response of the
    connection, or another mode, is an error, and the connection goes on. Codex's acknowledgement
    ``response.processed`` is taken without a word too."""
    from websockets.sync.client import connect

    with (
        gateway("openai-chat", tmp_path, script=[{"text": ANSWER}] * 3) as (url, _),
        connect(url.replace("http://", "ws://") + "/v1/responses") as ws,
    ):
        ws.send(json.dumps({"type": "response.create", "model": "m", "input": QUESTION, "store": False}))
        done, _ = _until_end(ws)
        response_id = done["response"]["id"]
        ws.send(json.dumps({"type": "response.processed", "response_id": response_id}))
        ws.send(
            json.dumps(
                {"type": "response.interrupt", "response_id": response_id, "mode": "discard_partial_items"}
            )
        )
        ws.send(json.dumps({"type": "response.create", "model": "m", "input": "again", "store": False}))
        next_one = json.loads(ws.recv(timeout=20))  # (nothing came for the two before)
        _until_end(ws)
        ws.send(
            json.dumps(
                {"type": "response.interrupt", "response_id": "resp_never", "mode": "discard_partial_items"}
            )
        )
        unknown = json.loads(ws.recv(timeout=20))
        ws.send(
            json.dumps({"type": "response.interrupt", "response_id": response_id, "mode": "keep_everything"})
        )
        bad_mode = json.loads(ws.recv(timeout=20))
        ws.send(json.dumps({"type": "response.interrupt", "mode": "discard_partial_items"}))
        no_id = json.loads(ws.recv(timeout=20))
    assert done["type"] == "response.completed" and next_one["type"] == "response.created"
    assert unknown["type"] == "error" and unknown["status"] == 404
    assert unknown["error"]["code"] == "response_not_found" and "resp_never" in unknown["error"]["message"]
    assert bad_mode["type"] == "error" and bad_mode["error"]["param"] == "mode"
    assert no_id["type"] == "error" and no_id["error"]["param"] == "response_id"
