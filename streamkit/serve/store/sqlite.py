"""The SQLite store (the default): one file, stdlib ``sqlite3``, WAL journal.

Two connections: the writer thread's, and one for reads (run in worker threads, one at a time
behind a lock). WAL lets reads go on while the writer writes; ``synchronous=NORMAL`` (safe with
WAL: a crash may lose the last transactions, never corrupt the file) keeps a commit off the disk's
flush, which is what lets a stream be stored without slowing it. Several processes may share the
file (SQLite locks it), but they learn of each other's writes only by polling: use PostgreSQL
for several gateway processes.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .base import RECORD_COLUMNS, Op, Record, Row, Statements, Store, apply, record_of

SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    background INTEGER NOT NULL DEFAULT 0,
    response BLOB NOT NULL,
    conversation BLOB NOT NULL,
    input_items BLOB NOT NULL,
    messages BLOB,
    upstream_id TEXT,
    owner TEXT
);
CREATE TABLE IF NOT EXISTS events (
    response_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    name TEXT,
    data BLOB NOT NULL,
    PRIMARY KEY (response_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    metadata BLOB NOT NULL,
    owner TEXT
);
CREATE TABLE IF NOT EXISTS conversation_items (
    conversation_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    id TEXT NOT NULL,
    item BLOB NOT NULL,
    PRIMARY KEY (conversation_id, seq)
) WITHOUT ROWID;
"""

STATEMENTS = Statements(
    # as PostgreSQL's (tests/serve/test_store_rows.py): a response written again takes the new
    # status and response object and keeps the rest; an event is stored once per sequence number
    create="INSERT INTO responses (id, status, created_at, background, response, conversation, input_items,"
    " owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
    " status = excluded.status, response = excluded.response",
    event="INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?)",
    finish="UPDATE responses SET status = ?, response = ?, messages = ?, upstream_id = ? WHERE id = ?",
    status_response="UPDATE responses SET status = ?, response = ? WHERE id = ?",
    status="UPDATE responses SET status = ? WHERE id = ?",
)


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


class SQLiteStore(Store):
    def __init__(self, path: str) -> None:
        super().__init__()
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.where = path
        self._writer = _connect(path)
        self._writer.executescript(SCHEMA)
        columns = {row[1] for row in self._writer.execute("PRAGMA table_info(responses)")}
        if "owner" not in columns:  # a file from before responses had owners: theirs is None
            self._writer.execute("ALTER TABLE responses ADD COLUMN owner TEXT")
        self._reader = _connect(path)
        self._lock = threading.Lock()

    def write(self, ops: list[Op]) -> None:
        conn = self._writer
        conn.execute("BEGIN IMMEDIATE")
        try:
            for op in ops:
                apply(op, conn.execute, conn.executemany, STATEMENTS)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def get(self, response_id: str) -> Record | None:
        with self._lock:
            row = self._reader.execute(
                f"SELECT {RECORD_COLUMNS} FROM responses WHERE id = ?", (response_id,)
            ).fetchone()
        return None if row is None else record_of(row)

    def status(self, response_id: str) -> str | None:
        with self._lock:
            row = self._reader.execute("SELECT status FROM responses WHERE id = ?", (response_id,)).fetchone()
        return str(row[0]) if row is not None else None

    def events(self, response_id: str, after: int, limit: int) -> list[Row]:
        with self._lock:
            return self._reader.execute(
                "SELECT seq, name, data FROM events WHERE response_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                (response_id, after, limit),
            ).fetchall()

    def delete(self, response_id: str) -> bool:
        with self._lock:
            cur = self._reader.execute("DELETE FROM responses WHERE id = ?", (response_id,))
            self._reader.execute("DELETE FROM events WHERE response_id = ?", (response_id,))
            return cur.rowcount > 0

    @contextmanager
    def _transaction(self) -> Iterator[Callable[..., Any]]:
        """(for :class:`.conversations.Conversations`: on the read connection, one at a time)"""
        with self._lock:
            conn = self._reader
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn.execute
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def close(self) -> None:
        for conn in (self._writer, self._reader):
            try:
                conn.close()
            except sqlite3.Error:
                pass
