"""Stored responses through the gateway (``serve --upstream D --store FILE``), with SQLite: the
official openai client against a real gateway process, in front of a scripted upstream process
whose request log shows what the gateway sent it.

Retrieve, input items, delete, ``store: false``, ``previous_response_id`` rebuilt for stateless
upstreams (chat, Anthropic, Gemini), background runs polled and cancelled, a stream cut after N
events resumed with ``starting_after=N``, keys never written to the store, and each key's responses
its own where keys mean something (``--client-keys``, ``--forward-key``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.conftest import ndjson
from tests.serve.test_gateway import gateway

openai = pytest.importorskip("openai")

#: a long answer, paced by the upstream (--realtime --delay): a response that is still running
LONG = " ".join(f"word{i}" for i in range(60))


def client(url: str, key: str = "sk-test") -> Any:
    return openai.OpenAI(api_key=key, base_url=f"{url}/v1", max_retries=0, timeout=20)


@contextmanager
def stored(tmp_path: Path, script: list[Any], upstream: str = "openai-chat", *options: str,
           upstream_options: tuple[str, ...] = ()) -> Iterator[tuple[Any, Path, Path]]:  # fmt: skip
    """A gateway with a SQLite store in front of a scripted upstream: (client, upstream log, store)."""
    path = tmp_path / "responses.sqlite3"
    with (
        gateway(upstream, tmp_path, "--store", str(path), *options, script=script,
                upstream_options=upstream_options) as (url, log),
        client(url) as c,
    ):  # fmt: skip
        yield c, log, path


def wait_for(predicate: Any, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


# --- store and retrieve ----------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
def test_a_response_is_stored_and_retrieved(stream: bool, tmp_path: Path) -> None:
    with stored(tmp_path, [{"text": "Bonjour."}]) as (c, _, _):
        if stream:
            with c.responses.stream(model="m", input="Say hello in French", instructions="Be terse.") as s:
                for _ in s:
                    pass
                made = s.get_final_response()
        else:
            made = c.responses.create(model="m", input="Say hello in French", instructions="Be terse.")
        got = c.responses.retrieve(made.id)
        items = c.responses.input_items.list(made.id)
    assert made.id.startswith("resp_") and made.status == "completed"
    assert got.id == made.id and got.status == "completed" and got.output_text == "Bonjour."
    assert got.usage is not None and got.usage.output_tokens > 0
    assert [i.type for i in items.data] == ["message"]
    assert items.data[0].role == "user" and items.data[0].content[0].text == "Say hello in French"


def test_input_items_are_listed_in_either_order_a_page_at_a_time(tmp_path: Path) -> None:
    questions = [{"role": "user", "content": f"question {i}"} for i in range(5)]
    with stored(tmp_path, [{"text": "ok"}]) as (c, _, _):
        made = c.responses.create(model="m", input=questions)
        newest = c.responses.input_items.list(made.id, limit=2)
        oldest = c.responses.input_items.list(made.id, order="asc")
        every = list(c.responses.input_items.list(made.id, limit=2, order="asc"))  # the SDK pages on
    assert [i.content[0].text for i in newest.data] == ["question 4", "question 3"] and newest.has_more
    assert [i.content[0].text for i in oldest.data] == [f"question {i}" for i in range(5)]
    assert [i.content[0].text for i in every] == [f"question {i}" for i in range(5)]


def test_store_false_is_kept_nowhere(tmp_path: Path) -> None:
    with stored(tmp_path, [{"text": "Not kept."}]) as (c, _, _):
        made = c.responses.create(model="m", input="hi", store=False)
        with pytest.raises(openai.NotFoundError):
            c.responses.retrieve(made.id)
    assert made.output_text == "Not kept."


def test_delete_then_404_for_retrieve_and_previous_response_id(tmp_path: Path) -> None:
    with stored(tmp_path, [{"text": "one"}, {"text": "two"}]) as (c, log, _):
        made = c.responses.create(model="m", input="hi")
        assert c.responses.delete(made.id) is None
        with pytest.raises(openai.NotFoundError) as retrieved:
            c.responses.retrieve(made.id)
        with pytest.raises(openai.NotFoundError) as continued:
            c.responses.create(model="m", input="and?", previous_response_id=made.id)
        with pytest.raises(openai.NotFoundError):
            c.responses.delete(made.id)
        with pytest.raises(openai.NotFoundError):
            c.responses.input_items.list("resp_unknown")
    assert retrieved.value.body["message"] == f"Response with id '{made.id}' not found."
    assert continued.value.code == "previous_response_not_found"
    assert continued.value.body["param"] == "previous_response_id"
    assert len(ndjson(log.read_bytes())) == 1  # the continuation never reached the upstream


# --- previous_response_id on stateless upstreams ---------------------------------------------------


def _texts(request: dict[str, Any]) -> list[str]:
    """The texts of an upstream request in order (any dialect: every string in it, in order)."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(request.get("messages") or request.get("contents") or request)
    return found


@pytest.mark.parametrize("upstream", ["openai-chat", "anthropic", "gemini", "ollama"])
def test_previous_response_id_rebuilds_the_whole_conversation_for_a_stateless_upstream(
    upstream: str, tmp_path: Path
) -> None:
    script = [{"text": "Paris is in France."}, {"text": "About 2 million."}, {"text": "Yes."}]
    with stored(tmp_path, script, upstream) as (c, log, _):
        first = c.responses.create(model="m", input="Where is Paris?", instructions="Be terse.")
        with c.responses.stream(model="m", input="How many people?", previous_response_id=first.id) as s:
            for _ in s:
                pass
            second = s.get_final_response()
        third = c.responses.create(model="m", input="Sure?", previous_response_id=second.id)
    assert second.output_text == "About 2 million." and third.output_text == "Yes."
    assert second.previous_response_id == first.id and third.previous_response_id == second.id
    sent = ndjson(log.read_bytes())
    assert len(sent) == 3
    conversation = ["Where is Paris?", "Paris is in France.", "How many people?", "About 2 million.", "Sure?"]
    texts = [t for t in _texts(sent[2]) if t in conversation]
    assert texts == conversation  # every turn, in order, in the third request
    assert [t for t in _texts(sent[1]) if t in conversation] == conversation[:3]
    assert "previous_response_id" not in json.dumps(sent[2])


def test_a_tool_loop_continued_by_previous_response_id(tmp_path: Path) -> None:
    """The way the Responses API is meant to be used: the tool's output as the only new input."""
    script = [
        {"tool_calls": [{"name": "get_weather", "input": {"city": "Paris"}}]},
        {"text": "18 and sunny."},
    ]
    tool = {"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {}}}
    with stored(tmp_path, script) as (c, log, _):
        first = c.responses.create(model="m", input="Weather in Paris?", tools=[tool])
        call = next(item for item in first.output if item.type == "function_call")
        output = {"type": "function_call_output", "call_id": call.call_id, "output": "18C, sunny"}
        second = c.responses.create(model="m", input=[output], previous_response_id=first.id, tools=[tool])
    assert second.output_text == "18 and sunny."
    messages = ndjson(log.read_bytes())[1]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool"]
    assert messages[1]["tool_calls"][0]["id"] == messages[2]["tool_call_id"] == call.call_id


# --- background, resumption, cancel ----------------------------------------------------------------

SLOW = ("--realtime", "--delay", "0.02")


def test_background_returns_at_once_and_is_polled_to_its_end(tmp_path: Path) -> None:
    with stored(tmp_path, [{"text": LONG}], upstream_options=SLOW) as (c, _, _):
        began = time.monotonic()
        made = c.responses.create(model="m", input="Talk", background=True)
        took = time.monotonic() - began
        seen = {made.status}

        def ended() -> Any:
            got = c.responses.retrieve(made.id)
            seen.add(got.status)
            return got if got.status == "completed" else None

        done = wait_for(ended)
    assert made.status == "queued" and made.background is True
    assert took < 1.0  # the answer takes 60 x 20 ms upstream
    assert "in_progress" in seen
    assert done.output_text == LONG and done.background is True


def _events(stream: Any, n: int | None = None) -> list[Any]:
    out = []
    for event in stream:
        out.append(event)
        if n is not None and len(out) == n:
            break
    return out


def test_a_stream_cut_after_n_events_is_resumed_with_exactly_the_missing_events(tmp_path: Path) -> None:
    with stored(tmp_path, [{"text": LONG}], upstream_options=SLOW) as (c, _, _):
        stream = c.responses.create(model="m", input="Talk", background=True, stream=True)
        head = _events(stream, 10)
        stream.close()  # the client goes away; the background response runs on
        n = head[-1].sequence_number
        resumed = _events(c.responses.retrieve(head[0].response.id, stream=True, starting_after=n))
        whole = _events(c.responses.retrieve(head[0].response.id, stream=True))
        with c.responses.stream(response_id=head[0].response.id, starting_after=4) as helper:
            helped = _events(helper)
    sequence = [e.sequence_number for e in head + resumed]
    assert sequence == list(range(len(sequence)))
    assert [e.model_dump() for e in head + resumed] == [e.model_dump() for e in whole]
    assert resumed[-1].type == "response.completed" and resumed[-1].response.output_text == LONG
    assert [e.sequence_number for e in helped] == list(range(5, len(whole)))


def test_cancel_stops_a_background_response(tmp_path: Path) -> None:
    with stored(tmp_path, [{"text": LONG}], upstream_options=SLOW) as (c, _, _):
        made = c.responses.create(model="m", input="Talk", background=True)
        wait_for(lambda: c.responses.retrieve(made.id).status == "in_progress")
        time.sleep(0.2)
        cancelled = c.responses.cancel(made.id)
        after = _events(c.responses.retrieve(made.id, stream=True))
        time.sleep(0.3)
        later = c.responses.retrieve(made.id)
        again = c.responses.cancel(made.id)  # already ended: returned as it is
    assert cancelled.status == "cancelled" and later.status == "cancelled" and again.status == "cancelled"
    assert 0 < len(after) < 60  # it stopped part way: the events stored until then
    assert after[-1].type != "response.completed"


def test_only_background_responses_can_be_cancelled(tmp_path: Path) -> None:
    with stored(tmp_path, [{"text": "done"}]) as (c, _, _):
        made = c.responses.create(model="m", input="hi")
        with pytest.raises(openai.BadRequestError):
            c.responses.cancel(made.id)
        with pytest.raises(openai.NotFoundError):
            c.responses.cancel("resp_nothing")


def test_background_needs_the_store(tmp_path: Path) -> None:
    with stored(tmp_path, [{"text": "x"}]) as (c, _, _), pytest.raises(openai.BadRequestError):
        c.responses.create(model="m", input="hi", background=True, store=False)


# --- keys ------------------------------------------------------------------------------------------


def test_keys_are_never_stored(tmp_path: Path) -> None:
    secret, header = "sk-client-SECRET-0123456789", "Bearer mcp-SECRET-abcdef"
    mcp = {"type": "mcp", "server_label": "s", "server_url": "http://127.0.0.1:9/mcp",
           "headers": {"Authorization": header}, "authorization": "mcp-SECRET-2"}  # fmt: skip
    path = tmp_path / "responses.sqlite3"
    with (
        gateway("openai-chat", tmp_path, "--store", str(path), script=[{"text": "ok"}]) as (url, _),
        client(url, secret) as c,
    ):
        made = c.responses.create(model="m", input="hi", tools=[mcp])
        assert c.responses.retrieve(made.id).output_text == "ok"
    stored_bytes = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    assert made.id.encode() in stored_bytes
    for needle in (secret, "mcp-SECRET"):
        assert needle.encode() not in stored_bytes


def test_retrieval_routes_ask_for_a_client_key(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text("sk-right\n")
    with gateway("openai-chat", tmp_path, "--store", str(tmp_path / "s.db"), "--client-keys", str(keys),
                 script=[{"text": "ok"}]) as (url, _):  # fmt: skip
        with client(url, "sk-right") as c:
            made = c.responses.create(model="m", input="hi")
        answers = [httpx.request(m, f"{url}/v1/responses/{made.id}{p}", headers={"Authorization": "Bearer no"})
                   for m, p in (("GET", ""), ("DELETE", ""), ("GET", "/input_items"), ("POST", "/cancel"))]  # fmt: skip
        with client(url, "sk-right") as c:
            assert c.responses.retrieve(made.id).id == made.id
    assert [a.status_code for a in answers] == [401] * 4


def test_a_bad_starting_after_is_the_apis_400(tmp_path: Path) -> None:
    with stored(tmp_path, [{"text": "ok"}]) as (c, _, _):
        made = c.responses.create(model="m", input="hi")
        raw = httpx.get(f"{c.base_url}responses/{made.id}", params={"stream": "true", "starting_after": "x"})
    assert raw.status_code == 400 and orjson.loads(raw.content)["error"]["param"] == "starting_after"


def test_store_postgresql_without_psycopg_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from streamkit.errors import UsageError
    from streamkit.serve.store import open_store

    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(UsageError, match=r"pip install 'streamkit\[postgres\]'"):
        open_store("postgresql://u@127.0.0.1:1/db")


# --- whose responses ---------------------------------------------------------------------------------


def _others_see(url: str, made: str, key: str) -> list[int]:
    """The statuses another key's client gets from every route that names ``made``."""
    auth = {"Authorization": f"Bearer {key}"}
    routes = [
        ("GET", ""),
        ("GET", "?stream=true"),
        ("GET", "/input_items"),
        ("POST", "/cancel"),
        ("DELETE", ""),
    ]
    return [httpx.request(m, f"{url}/v1/responses/{made}{p}", headers=auth).status_code for m, p in routes]


@pytest.mark.parametrize("upstream", ["openai-chat", "openai-responses"])
def test_with_client_keys_a_response_is_its_keys_alone(upstream: str, tmp_path: Path) -> None:
    """Each client key is a client of its own: another key's retrieve, stream, input items,
    cancel, delete and ``previous_response_id`` are the API's 404s, as for an unknown id, and its
    continuation never reaches the upstream (a Responses upstream, which the gateway's one key
    serves for all, would continue the other client's conversation). The owner is stored as a
    digest: the key is nowhere in the store."""
    keys, path = tmp_path / "keys", tmp_path / "s.db"
    keys.write_text("sk-alice-0123456789\nsk-bob-9876543210\n")
    script = [{"text": "Alice's answer."}, {"text": "Alice again."}, {"text": "Bob's own."}]
    with (
        gateway(upstream, tmp_path, "--store", str(path), "--client-keys", str(keys),
                script=script) as (url, log),
        client(url, "sk-alice-0123456789") as alice,
        client(url, "sk-bob-9876543210") as bob,
    ):  # fmt: skip
        made = alice.responses.create(model="m", input="Alice's secret question")
        assert _others_see(url, made.id, "sk-bob-9876543210") == [404] * 5
        with pytest.raises(openai.NotFoundError) as continued:
            bob.responses.create(model="m", input="what did she ask?", previous_response_id=made.id)
        assert len(ndjson(log.read_bytes())) == 1  # Bob's continuation reached no upstream
        # Alice's response is still there, and hers to continue
        assert alice.responses.retrieve(made.id).output_text == "Alice's answer."
        again = alice.responses.create(model="m", input="more", previous_response_id=made.id)
        own = bob.responses.create(model="m", input="mine")
        assert bob.responses.retrieve(own.id).output_text == "Bob's own."
        assert _others_see(url, own.id, "sk-alice-0123456789")[:3] == [404] * 3
    assert again.output_text == "Alice again."
    assert continued.value.code == "previous_response_not_found"
    stored_bytes = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    assert made.id.encode() in stored_bytes
    assert b"sk-alice" not in stored_bytes and b"sk-bob" not in stored_bytes


def test_with_forward_key_each_upstream_key_keeps_its_own_responses(tmp_path: Path) -> None:
    """``--forward-key``: each client spends its own upstream key, and its responses are that
    key's; the same key, from another client, finds them."""
    with gateway("openai-chat", tmp_path, "--store", str(tmp_path / "s.db"), "--forward-key",
                 script=[{"text": "one"}, {"text": "two"}]) as (url, _):  # fmt: skip
        with client(url, "sk-upstream-one") as one, client(url, "sk-upstream-one") as same:
            made = one.responses.create(model="m", input="hi")
            assert same.responses.retrieve(made.id).output_text == "one"
            assert (
                same.responses.create(model="m", input="and?", previous_response_id=made.id).output_text
                == "two"
            )
        assert _others_see(url, made.id, "sk-upstream-two")[:3] == [404] * 3
        # a client with no key at all sees no key's response either
        assert httpx.get(f"{url}/v1/responses/{made.id}").status_code == 404


def test_where_keys_mean_nothing_every_client_reads_every_response(tmp_path: Path) -> None:
    """A gateway on loopback without ``--client-keys`` or ``--forward-key`` lets any key in (the
    SDKs want one, any will do): its responses are every client's, whatever key made them."""
    with stored(tmp_path, [{"text": "shared"}]) as (c, _, _):
        made = c.responses.create(model="m", input="hi")
        with client(str(c.base_url).removesuffix("/v1/"), "sk-someone-else") as other:
            assert other.responses.retrieve(made.id).output_text == "shared"
        assert httpx.get(f"{c.base_url}responses/{made.id}").status_code == 200


def test_a_store_that_fails_on_retrieval_is_the_responses_apis_500(tmp_path: Path) -> None:
    """A store whose file is damaged under a running server: a retrieval is the Responses API's
    500 (whatever dialect is served first), said by the official SDK; creating goes on with a
    warning. uvicorn sent the text "Internal Server Error"."""
    openai = pytest.importorskip("openai")
    from streamkit.testing import serving

    script = tmp_path / "script.json"
    script.write_bytes(orjson.dumps([{"text": "ok"}] * 5))
    store = tmp_path / "responses.sqlite3"
    with serving(
        "-d", "anthropic", "-d", "openai-responses", "--script", str(script), "--store", str(store)
    ) as url:
        client = openai.OpenAI(api_key="k", base_url=f"{url}/v1", max_retries=0)
        stored = client.responses.create(model="m", input="hi")
        for path in tmp_path.glob("responses.sqlite3*"):
            path.write_bytes(b"not a database" * 400)
        with pytest.raises(openai.InternalServerError) as failed:
            client.responses.retrieve(stored.id)
        assert client.responses.create(model="m", input="hi").output_text == "ok"
    assert failed.value.body == {
        "message": "streamkit serve: internal error (DatabaseError)",
        "type": "server_error",
        "param": None,
        "code": None,
    }
