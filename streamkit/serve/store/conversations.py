"""Conversations (the Conversations API's ``conv_…`` objects and their items) in the store.

A conversation is an id, a creation time, its ``metadata`` and its owner (a digest of the key that
made it, as a response's: :func:`~.base.owner_of`); its items are kept in order (a sequence number
each), every item with its ``id``. Both backends run the same statements (:class:`Conversations`,
the base of :class:`~.base.Store`), each through its own transaction
(:meth:`Conversations._transaction`), with its own table names and placeholders.
These are blocking calls: the routes run them in a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import orjson


@dataclass
class Conversation:
    id: str
    created_at: float
    metadata: dict[str, Any] = field(default_factory=dict)
    #: who may read it (see :func:`~.base.owner_of`; None: every client)
    owner: str | None = None


class Conversations:
    """The conversation statements, for a backend that says how it runs them (the base of every
    :class:`~.base.Store`)."""

    #: the backend's table name prefix and its parameter placeholder
    table_prefix = ""
    placeholder = "?"
    #: what locks a conversation's row for the rest of the transaction (PostgreSQL's FOR UPDATE)
    row_lock = ""

    def _transaction(self) -> AbstractContextManager[Callable[..., Any]]:
        """A transaction: its ``execute(sql, params)``, committed when the block ends."""
        raise NotImplementedError

    def _sql(self, text: str) -> str:
        prefix = self.table_prefix
        return text.format(c=f"{prefix}conversations", i=f"{prefix}conversation_items").replace(
            "?", self.placeholder
        )

    def conversation(self, conversation_id: str) -> Conversation | None:
        with self._transaction() as execute:
            row = execute(self._sql("SELECT id, created_at, metadata, owner FROM {c} WHERE id = ?"),
                          (conversation_id,)).fetchone()  # fmt: skip
        return None if row is None else Conversation(row[0], row[1], _loads(row[2]) or {}, row[3])

    def create_conversation(self, conversation: Conversation, items: list[dict[str, Any]]) -> None:
        with self._transaction() as execute:
            execute(self._sql("INSERT INTO {c} (id, created_at, metadata, owner) VALUES (?, ?, ?, ?)"),
                    (conversation.id, conversation.created_at, orjson.dumps(conversation.metadata), conversation.owner))  # fmt: skip
            self._insert(execute, conversation.id, items, 0)

    def update_conversation(self, conversation_id: str, metadata: dict[str, Any]) -> bool:
        with self._transaction() as execute:
            cur = execute(
                self._sql("UPDATE {c} SET metadata = ? WHERE id = ?"),
                (orjson.dumps(metadata), conversation_id),
            )
            return bool(cur.rowcount)

    def delete_conversation(self, conversation_id: str) -> bool:
        with self._transaction() as execute:
            cur = execute(self._sql("DELETE FROM {c} WHERE id = ?"), (conversation_id,))
            execute(self._sql("DELETE FROM {i} WHERE conversation_id = ?"), (conversation_id,))
            return bool(cur.rowcount)

    def add_items(self, conversation_id: str, items: list[dict[str, Any]]) -> bool:
        """Append ``items`` in order (False: no such conversation)."""
        with self._transaction() as execute:
            found = execute(self._sql("SELECT id FROM {c} WHERE id = ?" + self.row_lock), (conversation_id,))
            if found.fetchone() is None:
                return False
            (last,) = execute(self._sql("SELECT COALESCE(MAX(seq), -1) FROM {i} WHERE conversation_id = ?"),
                              (conversation_id,)).fetchone()  # fmt: skip
            self._insert(execute, conversation_id, items, int(last) + 1)
            return True

    def conversation_items(self, conversation_id: str) -> list[dict[str, Any]]:
        """Every item, in the order they were added."""
        with self._transaction() as execute:
            rows = execute(self._sql("SELECT item FROM {i} WHERE conversation_id = ? ORDER BY seq"),
                           (conversation_id,)).fetchall()  # fmt: skip
        return [_loads(row[0]) for row in rows]

    def delete_item(self, conversation_id: str, item_id: str) -> bool:
        with self._transaction() as execute:
            cur = execute(
                self._sql("DELETE FROM {i} WHERE conversation_id = ? AND id = ?"), (conversation_id, item_id)
            )
            return bool(cur.rowcount)

    def _insert(self, execute: Callable[..., Any], conversation_id: str, items: list[dict[str, Any]],
                first: int) -> None:  # fmt: skip
        sql = self._sql("INSERT INTO {i} (conversation_id, seq, id, item) VALUES (?, ?, ?, ?)")
        for n, item in enumerate(items):
            execute(sql, (conversation_id, first + n, str(item.get("id")), orjson.dumps(item)))


def _loads(value: Any) -> Any:
    return orjson.loads(bytes(value) if isinstance(value, memoryview) else value)
