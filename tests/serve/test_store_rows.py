"""The store backends (:mod:`streamkit.serve.store`) at the level of their rows: the same ops give
the same rows in SQLite and in a real PostgreSQL, including ops written a second time."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from streamkit.serve.store import Op, Record, Store, open_store
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
