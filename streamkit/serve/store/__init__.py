"""Where ``serve`` keeps the Responses API's responses (``--store``): their request (the parsed
canonical conversation), input items, output (the ``response`` object and the canonical output
messages), status, usage, and every streamed event in order with its sequence number; and the
Conversations API's conversations and their items (:mod:`.conversations`). Keys are never stored.

* ``--store PATH``: SQLite (:mod:`.sqlite`, stdlib ``sqlite3``); the gateway's default is
  ``$XDG_STATE_HOME/streamkit/responses.sqlite3`` (``~/.local/state/streamkit/...``).
* ``--store postgresql://...``: PostgreSQL (:mod:`.postgres`, psycopg 3), for several gateway
  processes sharing their responses, following each other's live streams with LISTEN/NOTIFY.
* ``--store none``: nothing is kept (``previous_response_id`` then only passes through to an
  upstream that keeps its own state).

The interface every backend implements, and the batching writer they share, is :mod:`.base`.
"""

from __future__ import annotations

import os
from pathlib import Path

from .base import TERMINAL, Op, Record, Store, scrub

__all__ = ["TERMINAL", "Op", "Record", "Store", "default_path", "open_store", "scrub"]


def default_path() -> Path:
    """``$XDG_STATE_HOME/streamkit/responses.sqlite3``, else under ``~/.local/state``."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "streamkit" / "responses.sqlite3"


def open_store(spec: str | None) -> Store | None:
    """The store a ``--store`` value names (None: the default SQLite file; ``none``: no store)."""
    if spec is not None and spec.strip().lower() == "none":
        return None
    if spec is not None and spec.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresStore

        return PostgresStore(spec)
    from ...errors import UsageError
    from .sqlite import SQLiteStore

    path = str(default_path()) if spec is None else spec
    try:
        return SQLiteStore(path)
    except Exception as exc:
        raise UsageError(f"cannot use the store {path}: {exc}") from None
