"""The store backends (:mod:`streamkit.serve.store`) at the level of their rows: the same ops give
the same rows in SQLite and in a real PostgreSQL, including ops written a second time; a response's
owner; a store made before responses had owners."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from streamkit.serve.store import Op, Record, Store, open_store
from streamkit.serve.store.base import owner_of, visible
from tests.serve.postgres import postgres_dsn


@pytest.fixture(scope="module")
def dsn() -> Iterator[str]:
    with postgres_dsn() as found:
        yield found


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    spec = (
        str(tmp_path / "responses.sqlite3") if request.param == "sqlite" else request.getfixturevalue("dsn")
    )
    opened = open_store(spec)
    assert opened is not None
    try:
        yield opened
    finally:
        opened.close()


def _record(response_id: str, status: str, text: str) -> Record:
    return Record(response_id, status, 1.0, {"id": response_id, "status": status, "text": text},
                  {"messages": [{"role": "user", "content": text}]}, [{"id": "in_1", "text": text}])  # fmt: skip


def test_a_response_written_again_keeps_its_request_and_takes_the_new_status(
    store: Store, request: pytest.FixtureRequest
) -> None:
    """A create for an id already stored (a batch written twice) changes its status and response
    object only: the request (conversation, input items) and the output messages a finish added
    are the first write's, in either backend."""
    rid = f"resp_again_{request.node.callspec.id}"
    store.write([Op("create", rid, record=_record(rid, "in_progress", "first"))])
    finished = _record(rid, "completed", "first")
    finished.messages = [{"role": "assistant", "content": "done"}]
    store.write([Op("finish", rid, record=finished, upstream_id="up_1")])
    store.write([Op("create", rid, record=_record(rid, "queued", "second"))])
    got = store.get(rid)
    assert got is not None
    assert (got.status, got.response["text"]) == ("queued", "second")
    assert got.conversation == {"messages": [{"role": "user", "content": "first"}]}
    assert got.input_items == [{"id": "in_1", "text": "first"}]
    assert (got.messages, got.upstream_id) == ([{"role": "assistant", "content": "done"}], "up_1")


def test_an_event_written_again_keeps_its_first_data(store: Store, request: pytest.FixtureRequest) -> None:
    """Events are stored once per sequence number: a client resuming a stream gets the events it
    would have got, whatever was written at that number later."""
    rid = f"resp_events_{request.node.callspec.id}"
    store.write([Op("create", rid, record=_record(rid, "in_progress", "x"))])
    store.write([Op("events", rid, wire=[(0, "a", b'{"n":0}'), (1, "b", b'{"n":1}')])])
    store.write([Op("events", rid, wire=[(1, "c", b'{"n":"again"}'), (2, "d", b'{"n":2}')])])
    assert store.events(rid, -1, 10) == [(0, "a", b'{"n":0}'), (1, "b", b'{"n":1}'), (2, "d", b'{"n":2}')]


def test_a_response_keeps_its_owner(store: Store, request: pytest.FixtureRequest) -> None:
    """The owner (a digest of the creating client's key) is written with the response and read
    back; a response written again keeps its first owner."""
    rid = f"resp_owner_{request.node.callspec.id}"
    record = _record(rid, "in_progress", "x")
    record.owner = owner_of("sk-alice")
    store.write([Op("create", rid, record=record)])
    again = _record(rid, "completed", "x")
    again.owner = owner_of("sk-mallory")
    store.write([Op("create", rid, record=again)])
    got = store.get(rid)
    assert got is not None and got.owner == owner_of("sk-alice")
    assert visible(got, owner_of("sk-alice")) and not visible(got, owner_of("sk-mallory"))
    assert not visible(got, None)


def test_an_owner_is_a_digest_of_the_key_and_none_without_one() -> None:
    owner = owner_of("sk-alice-0123456789")
    assert owner is not None and "sk-alice" not in owner and len(owner) == 64
    assert owner == owner_of("sk-alice-0123456789") != owner_of("sk-alice-012345678")
    assert owner_of(None) is None and owner_of("") is None
    unowned = _record("resp_x", "completed", "x")
    assert visible(unowned, None) and visible(unowned, owner)


#: the responses table of the stores before responses had owners
_OLD_TABLE = """CREATE TABLE {table} (id TEXT PRIMARY KEY, status TEXT NOT NULL, created_at {real} NOT NULL,
    background {bool} NOT NULL DEFAULT {false}, response {blob} NOT NULL, conversation {blob} NOT NULL,
    input_items {blob} NOT NULL, messages {blob}, upstream_id TEXT)"""


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_store_from_before_owners_opens_and_its_responses_are_everyones(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A store an older streamkit made (no owner column) gets the column when opened; what it
    held has no owner, so every client still reads it, and new responses keep theirs."""
    row = ("resp_old", "completed", 1.0, False, b'{"id":"resp_old"}', b"{}", b"[]")
    if backend == "sqlite":
        import sqlite3

        spec = str(tmp_path / "old.sqlite3")
        with sqlite3.connect(spec) as conn:
            conn.execute(
                _OLD_TABLE.format(table="responses", real="REAL", bool="INTEGER", false="0", blob="BLOB")
            )
            conn.execute("INSERT INTO responses VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL)", row)
    else:
        import psycopg

        dsn = request.getfixturevalue("dsn")
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE DATABASE old_schema")
        spec = dsn.rsplit("/", 1)[0] + "/old_schema"
        with psycopg.connect(spec, autocommit=True) as conn:
            conn.execute(_OLD_TABLE.format(table="streamkit_responses", real="DOUBLE PRECISION",
                                           bool="BOOLEAN", false="FALSE", blob="BYTEA"))  # fmt: skip
            conn.execute(
                "INSERT INTO streamkit_responses VALUES (%s, %s, %s, %s, %s, %s, %s, NULL, NULL)", row
            )
    opened = open_store(spec)
    assert opened is not None
    try:
        old = opened.get("resp_old")
        assert old is not None and old.owner is None and old.response == {"id": "resp_old"}
        assert visible(old, owner_of("sk-anyone"))
        new = _record("resp_new", "completed", "x")
        new.owner = owner_of("sk-alice")
        opened.write([Op("create", "resp_new", record=new)])
        got = opened.get("resp_new")
        assert got is not None and got.owner == owner_of("sk-alice")
    finally:
        opened.close()


def test_a_conversation_keeps_its_items_in_order(store: Store, request: pytest.FixtureRequest) -> None:
    """Created with items, added to twice, an item deleted, the metadata changed: the same rows in
    either backend; deleting the conversation deletes its items."""
    from streamkit.serve.store.conversations import Conversation

    cid = f"conv_rows_{request.node.callspec.id}"
    store.create_conversation(Conversation(cid, 5.0, {"k": "v"}, owner_of("sk-alice")), [{"id": "a", "n": 1}])
    assert store.add_items(cid, [{"id": "b", "n": 2}, {"id": "c", "n": 3}])
    assert store.add_items(cid, [{"id": "d", "n": 4}])
    assert not store.add_items(f"{cid}_nowhere", [{"id": "x"}])
    assert store.delete_item(cid, "b") and not store.delete_item(cid, "b")
    assert store.update_conversation(cid, {"k": "w"})
    found = store.conversation(cid)
    assert found is not None and (found.created_at, found.metadata, found.owner) == (
        5.0,
        {"k": "w"},
        owner_of("sk-alice"),
    )
    assert [item["id"] for item in store.conversation_items(cid)] == ["a", "c", "d"]
    assert store.delete_conversation(cid) and store.conversation(cid) is None
    assert store.conversation_items(cid) == [] and not store.delete_conversation(cid)
