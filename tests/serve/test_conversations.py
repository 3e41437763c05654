"""The Conversations API through the gateway (``serve.conversations``): the official openai client's
``client.conversations`` against a real gateway with a SQLite store, in front of scripted upstreams
whose request logs show what the gateway sent them; and a Responses request naming a
conversation, answered with its items before its input and adding its exchange to it."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import ndjson
from tests.serve.test_gateway import gateway
from tests.serve.test_store import _texts, client

openai = pytest.importorskip("openai")

SEED = {"type": "message", "role": "user", "content": "I am planning a trip to France."}
SCRIPT = [{"text": "Lyon."}, {"text": "About half a million."}, {"text": "The Rhone."}]


def test_a_conversation_is_created_read_updated_listed_and_deleted(tmp_path: Path) -> None:
    with (
        gateway("openai-chat", tmp_path, "--store", str(tmp_path / "s.db"), script=SCRIPT) as (url, log),
        client(url) as c,
    ):
        made = c.conversations.create(items=[SEED, {"role": "user", "content": "Two."}], metadata={"k": "v"})
        assert made.id.startswith("conv_") and made.metadata == {"k": "v"}
        assert c.conversations.retrieve(made.id).metadata == {"k": "v"}
        assert c.conversations.update(made.id, metadata={"k": "w"}).metadata == {"k": "w"}
        added = c.conversations.items.create(made.id, items=[{"role": "user", "content": "Three."}])
        assert [i.content[0].text for i in added.data] == ["Three."]
        newest_first = c.conversations.items.list(made.id)
        texts = [i.content[0].text for i in newest_first.data]
        assert texts == ["Three.", "Two.", "I am planning a trip to France."]
        page = c.conversations.items.list(made.id, order="asc", limit=1)
        assert [i.content[0].text for i in page.data] == [SEED["content"]] and page.has_more
        after = c.conversations.items.list(made.id, order="asc", after=page.data[0].id)
        assert [i.content[0].text for i in after.data] == ["Two.", "Three."] and not after.has_more
        second = after.data[0].id
        assert c.conversations.items.retrieve(second, conversation_id=made.id).content[0].text == "Two."
        c.conversations.items.delete(second, conversation_id=made.id)
        assert len(c.conversations.items.list(made.id).data) == 2
        with pytest.raises(openai.NotFoundError):
            c.conversations.items.retrieve(second, conversation_id=made.id)
        assert c.conversations.delete(made.id).deleted is True
        with pytest.raises(openai.NotFoundError) as gone:
            c.conversations.retrieve(made.id)
    assert gone.value.body["message"] == f"Conversation with id '{made.id}' not found."
    assert not log.exists() or ndjson(log.read_bytes()) == []  # (nothing asked of the upstream)


@pytest.mark.parametrize("upstream", ["openai-chat", "anthropic"])
def test_each_response_in_a_conversation_holds_the_exchange_before_it(upstream: str, tmp_path: Path) -> None:
    """Whole, streamed and kept nowhere (``store: false``), each response's input and output are
    added to the conversation when it completes: the next request naming it sends the upstream
    the whole exchange, in order, and the items list it."""
    with (
        gateway(
            upstream, tmp_path, "--store", str(tmp_path / "s.db"), script=[*SCRIPT, {"text": "Fine."}]
        ) as (
            url,
            log,
        ),
        client(url) as c,
    ):
        conversation = c.conversations.create(items=[SEED])
        first = c.responses.create(model="m", input="Name a French city.", conversation=conversation.id)
        with c.responses.stream(model="m", input="How big is it?", conversation={"id": conversation.id}) as s:
            created = [e.response for e in s if e.type == "response.created"]
            second = s.get_final_response()
        third = c.responses.create(model="m", input="Which river?", conversation=conversation.id, store=False)
        items = c.conversations.items.list(conversation.id, order="asc", limit=100).data
        kept = c.responses.retrieve(first.id)
        alone = c.responses.create(model="m", input="And you?")  # (in no conversation)
        queued = c.responses.create(model="m", input="Later?", conversation=conversation.id, background=True)
        for _ in range(400):  # (bounded: 20 s)
            if (done := c.responses.retrieve(queued.id)).status not in ("queued", "in_progress"):
                break
            time.sleep(0.05)
    assert (first.output_text, second.output_text, third.output_text) == (
        "Lyon.", "About half a million.", "The Rhone."
    )  # fmt: skip
    # every response names its conversation, as the API's do: whole, streamed from its first
    # event, kept nowhere, and retrieved later; one that named none names none
    named = [first, *created, second, third, kept, queued, done]
    assert [r.conversation.id if r.conversation else None for r in named] == [conversation.id] * 7
    assert alone.conversation is None
    exchange = [
        ("user", SEED["content"]), ("user", "Name a French city."), ("assistant", "Lyon."),
        ("user", "How big is it?"), ("assistant", "About half a million."),
    ]  # fmt: skip
    last = ndjson(log.read_bytes())[2]  # (the third turn's)
    texts = [text for _, text in exchange] + ["Which river?"]
    assert [t for t in _texts(last) if t in texts] == texts  # every turn, in order, in the last request
    listed = [(i.role, i.content[0].text) for i in items]
    assert listed == [*exchange, ("user", "Which river?"), ("assistant", "The Rhone.")]


def test_what_a_conversation_cannot_take_is_the_apis_400_or_404(tmp_path: Path) -> None:
    with (
        gateway("openai-chat", tmp_path, "--store", str(tmp_path / "s.db"), script=SCRIPT) as (url, log),
        client(url) as c,
    ):
        conversation = c.conversations.create()
        with pytest.raises(openai.BadRequestError) as both:
            c.responses.create(
                model="m", input="x", conversation=conversation.id, previous_response_id="resp_1"
            )
        with pytest.raises(openai.NotFoundError):
            c.responses.create(model="m", input="x", conversation="conv_nowhere")
        with pytest.raises(openai.BadRequestError):
            c.conversations.create(items=[SEED] * 21)
        with pytest.raises(openai.BadRequestError) as wrong_item:
            c.conversations.create(items=[SEED, {"role": "wizard", "content": "x"}])
        with pytest.raises(openai.BadRequestError) as wrong_add:
            c.conversations.items.create(
                conversation.id, items=[{"type": "function_call_output", "output": "x"}]
            )
        listed = c.conversations.items.list(conversation.id).data
        bad = httpx.post(f"{url}/v1/conversations", json={"metadata": {"k": 5}})
        not_json = httpx.post(f"{url}/v1/conversations", content=b"[1, 2")
    assert both.value.body["param"] == "previous_response_id"
    # an item a later request could not send is refused when it is added, the conversation unchanged
    assert wrong_item.value.body["param"] == "items" and "items[1].role" in wrong_item.value.body["message"]
    assert "items[0].call_id" in wrong_add.value.body["message"] and listed == []
    assert (bad.status_code, bad.json()["error"]["param"]) == (400, "metadata")
    assert not_json.status_code == 400
    assert not log.exists() or ndjson(log.read_bytes()) == []


def test_with_client_keys_a_conversation_is_its_keys_alone(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text("sk-alice-0123456789\nsk-bob-9876543210\n")
    with (
        gateway("openai-chat", tmp_path, "--store", str(tmp_path / "s.db"), "--client-keys", str(keys),
                script=SCRIPT) as (url, log),
        client(url, "sk-alice-0123456789") as alice,
        client(url, "sk-bob-9876543210") as bob,
    ):  # fmt: skip
        conversation = alice.conversations.create(items=[SEED])
        for attempt in (
            lambda: bob.conversations.retrieve(conversation.id),
            lambda: bob.conversations.items.list(conversation.id),
            lambda: bob.conversations.delete(conversation.id),
            lambda: bob.responses.create(
                model="m", input="What is she planning?", conversation=conversation.id
            ),
        ):
            with pytest.raises(openai.NotFoundError):
                attempt()
        assert alice.conversations.retrieve(conversation.id).id == conversation.id
    assert not log.exists() or ndjson(log.read_bytes()) == []  # (Bob's request reached no upstream)


# the SDK calls websockets' connect() without a context manager, deprecated since websockets 17.1
@pytest.mark.filterwarnings("ignore:connect\\(\\) must be used as a context manager:DeprecationWarning")
@pytest.mark.parametrize("store", [True, False], ids=["stored", "store-false"])
def test_over_the_websocket_a_conversation_goes_on_as_over_http(store: bool, tmp_path: Path) -> None:
    """``client.responses.connect()``: each turn naming the conversation sends the upstream the
    exchange before it and adds its own; an unknown one is an error message, the connection
    going on."""
    with (
        gateway("openai-chat", tmp_path, "--store", str(tmp_path / "s.db"), script=SCRIPT) as (url, log),
        client(url) as c,
        c.responses.connect() as connection,
    ):
        conversation = c.conversations.create(items=[SEED])
        connection.response.create(model="m", input="x", conversation="conv_nowhere", store=store)
        refused = next(iter(connection))
        for question in ("Name a French city.", "How big is it?"):
            connection.response.create(model="m", input=question, conversation=conversation.id, store=store)
            for event in connection:
                if event.type in ("response.completed", "error"):
                    break
            assert event.type == "response.completed"
            assert (
                event.response.conversation is not None and event.response.conversation.id == conversation.id
            )
        items = c.conversations.items.list(conversation.id, order="asc").data
    assert refused.type == "error" and "not found" in refused.error.message
    _, last = ndjson(log.read_bytes())
    texts = [SEED["content"], "Name a French city.", "Lyon.", "How big is it?"]
    assert [t for t in _texts(last) if t in texts] == texts
    assert [i.content[0].text for i in items] == [*texts, "About half a million."]


def test_a_gateway_that_keeps_nothing_keeps_no_conversations(tmp_path: Path) -> None:
    with gateway("openai-chat", tmp_path, "--store", "none", script=SCRIPT) as (url, _), client(url) as c:
        with pytest.raises(openai.BadRequestError) as refused:
            c.conversations.create()
        with pytest.raises(openai.BadRequestError):
            c.responses.create(model="m", input="x", conversation="conv_1")
    assert "--store none" in str(refused.value)
