"""The PostgreSQL store, for several gateway processes sharing their responses (psycopg 3: the
``postgres`` extra, ``pip install 'streamkit[postgres]'``).

Three connections: the writer thread's; one for reads (behind a lock, in worker threads); and a
listener thread's, which ``LISTEN``\\s on :data:`CHANNEL`. Every write transaction that adds
events or changes a status sends ``NOTIFY`` (``e <id>``; ``c <id>`` asks for a cancel), which
PostgreSQL delivers at commit to every listening process: a process streaming a response that
another process runs (a resumed stream, ``GET /v1/responses/{id}?stream=true``) wakes on it and
reads the new rows, and the process running a response cancels it when another one was asked to.
The tables are created on first use (``CREATE TABLE IF NOT EXISTS``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ...errors import UsageError
from .base import RECORD_COLUMNS, Op, Record, Row, Statements, Store, apply, record_of

CHANNEL = "streamkit_responses"

SCHEMA = """
CREATE TABLE IF NOT EXISTS streamkit_responses (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    background BOOLEAN NOT NULL DEFAULT FALSE,
    response BYTEA NOT NULL,
    conversation BYTEA NOT NULL,
    input_items BYTEA NOT NULL,
    messages BYTEA,
    upstream_id TEXT,
    owner TEXT
);
ALTER TABLE streamkit_responses ADD COLUMN IF NOT EXISTS owner TEXT;
CREATE TABLE IF NOT EXISTS streamkit_events (
    response_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    name TEXT,
    data BYTEA NOT NULL,
    PRIMARY KEY (response_id, seq)
);
CREATE TABLE IF NOT EXISTS streamkit_conversations (
    id TEXT PRIMARY KEY,
    created_at DOUBLE PRECISION NOT NULL,
    metadata BYTEA NOT NULL,
    owner TEXT
);
CREATE TABLE IF NOT EXISTS streamkit_conversation_items (
    conversation_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    id TEXT NOT NULL,
    item BYTEA NOT NULL,
    PRIMARY KEY (conversation_id, seq)
);
"""

STATEMENTS = Statements(
    create="INSERT INTO streamkit_responses (id, status, created_at, background, response, conversation,"
    " input_items, owner) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET"
    " status = EXCLUDED.status, response = EXCLUDED.response",
    event="INSERT INTO streamkit_events VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
    finish="UPDATE streamkit_responses SET status = %s, response = %s, messages = %s, upstream_id = %s"
    " WHERE id = %s",
    status_response="UPDATE streamkit_responses SET status = %s, response = %s WHERE id = %s",
    status="UPDATE streamkit_responses SET status = %s WHERE id = %s",
)


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise UsageError(
            "--store postgresql://... needs psycopg 3: pip install 'streamkit[postgres]' "
            "(or pip install 'psycopg[binary]')"
        ) from None
    return psycopg


def _redacted(dsn: str) -> str:
    """The DSN without its password (for messages)."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(dsn)
    except ValueError:
        return "postgresql://..."
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    if parts.username:
        host = f"{parts.username}@{host}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


class PostgresStore(Store):
    table_prefix = "streamkit_"
    placeholder = "%s"
    row_lock = " FOR UPDATE"

    def __init__(self, dsn: str) -> None:
        super().__init__()
        psycopg = _psycopg()
        self.where = _redacted(dsn)
        self._dsn = dsn
        try:
            self._writer = psycopg.connect(dsn, autocommit=False)
            with self._writer.transaction():
                # two processes creating the tables at once: one waits for the other
                self._writer.execute("SELECT pg_advisory_xact_lock(4711001)")
                self._writer.execute(SCHEMA)
            self._reader = psycopg.connect(dsn, autocommit=True)
        except psycopg.Error as exc:
            raise UsageError(f"cannot use the store {self.where}: {str(exc).strip()}") from None
        self._lock = threading.Lock()
        self._listener: threading.Thread | None = None
        self._listening: Any = None

    def start(self, loop: Any) -> None:
        super().start(loop)
        if self._listener is None:
            self._listening = _psycopg().connect(self._dsn, autocommit=True)
            self._listening.execute(f"LISTEN {CHANNEL}")
            self._listener = threading.Thread(target=self._listen, name="streamkit-store-listen", daemon=True)
            self._listener.start()

    def _listen(self) -> None:
        conn = self._listening
        try:
            for note in conn.notifies():
                kind, _, response_id = note.payload.partition(" ")
                loop = self._loop
                if loop is None or loop.is_closed():
                    continue
                if kind == "c" and self.on_cancel is not None:
                    loop.call_soon_threadsafe(self.on_cancel, response_id)
                loop.call_soon_threadsafe(self.notified, response_id)
        except Exception:  # the connection closed (stop) or was lost: followers fall back to polling
            return

    def write(self, ops: list[Op]) -> None:
        conn = self._writer
        notes: set[str] = set()
        with conn.transaction(), conn.cursor() as cur:
            for op in ops:
                apply(op, cur.execute, cur.executemany, STATEMENTS)
                notes.add(f"{'c' if op.kind == 'cancel' else 'e'} {op.id}")
            for note in sorted(notes):
                cur.execute("SELECT pg_notify(%s, %s)", (CHANNEL, note))

    def get(self, response_id: str) -> Record | None:
        with self._lock:
            row = self._reader.execute(
                f"SELECT {RECORD_COLUMNS} FROM streamkit_responses WHERE id = %s", (response_id,)
            ).fetchone()
        return None if row is None else record_of(row)

    def status(self, response_id: str) -> str | None:
        with self._lock:
            row = self._reader.execute(
                "SELECT status FROM streamkit_responses WHERE id = %s", (response_id,)
            ).fetchone()
        return str(row[0]) if row is not None else None

    def events(self, response_id: str, after: int, limit: int) -> list[Row]:
        with self._lock:
            rows = self._reader.execute(
                "SELECT seq, name, data FROM streamkit_events WHERE response_id = %s AND seq > %s"
                " ORDER BY seq LIMIT %s",
                (response_id, after, limit),
            ).fetchall()
        return [(seq, name, bytes(data)) for seq, name, data in rows]

    def delete(self, response_id: str) -> bool:
        with self._lock, self._reader.transaction():
            cur = self._reader.execute("DELETE FROM streamkit_responses WHERE id = %s", (response_id,))
            self._reader.execute("DELETE FROM streamkit_events WHERE response_id = %s", (response_id,))
            return bool(cur.rowcount)

    @contextmanager
    def _transaction(self) -> Iterator[Callable[..., Any]]:
        """(for :class:`.conversations.Conversations`: on the read connection, one at a time)"""
        with self._lock, self._reader.transaction():
            yield self._reader.execute

    def close(self) -> None:
        for conn in (self._listening, self._writer, self._reader):
            if conn is not None:
                try:
                    conn.close()
                except Exception:
                    pass
