"""The store's one small interface, and the writer every backend shares.

A backend (:mod:`.sqlite`, :mod:`.postgres`) implements five blocking methods: :meth:`Store.write`
(a batch of :class:`Op` in one transaction), :meth:`Store.get`, :meth:`Store.events`,
:meth:`Store.delete` and :meth:`Store.close`. Everything else is here:

* Writes never run on the event loop. :meth:`Store.submit` puts an op on a queue and returns at
  once; one writer thread takes everything queued since its last transaction and writes it in one
  (so a stream of many small upstream reads costs one commit per few milliseconds, not one per
  event), serializing the events' JSON there too. :meth:`Store.commit` waits for the op's
  transaction: the gateway does that only before the terminal event of a response, so that a
  client that has read ``response.completed`` finds the response stored, in any process.
* The writer also accumulates each response's canonical events into its output messages (the
  assistant turns a later ``previous_response_id`` rebuilds the conversation from), so that the
  hot path does no more than put the batch on the queue.
* Reads (:meth:`aget`, :meth:`aevents`, :meth:`adelete`) run in a worker thread.
* :meth:`changed` is an ``asyncio.Event`` set when a response's rows changed: by this process's
  writer, and for PostgreSQL by a ``LISTEN`` on other processes' ``NOTIFY``. Followers also poll
  (every :data:`POLL` seconds), so a store without notifications (two processes on one SQLite
  file) still follows, only later.

Keys are never stored: :func:`scrub` drops the fields of tool definitions that carry credentials
(an MCP tool's ``headers`` and ``authorization``) before a conversation is written, and a
response's owner is a digest of the client's key (:func:`owner_of`), not the key.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from .conversations import Conversations

#: seconds a follower waits for a notification before it looks at the store again
POLL = 0.25
#: statuses after which a response changes no more
TERMINAL = frozenset({"completed", "failed", "incomplete", "cancelled"})
#: fields of a tool definition that carry credentials, never stored
SECRET_FIELDS = frozenset({"authorization", "headers", "api_key", "api-key", "x-api-key"})


@dataclass
class Record:
    """One stored response."""

    id: str
    status: str
    created_at: float
    #: the wire ``response`` object, as a retrieve returns it
    response: dict[str, Any]
    #: the canonical conversation sent upstream (the whole history, once rebuilt)
    conversation: dict[str, Any] = field(default_factory=dict)
    #: the request's own input items, with ids (``input_items.list``)
    input_items: list[dict[str, Any]] = field(default_factory=list)
    #: the canonical output messages as conversation messages (None until finished)
    messages: list[dict[str, Any]] | None = None
    background: bool = False
    #: the id the upstream gave the response (an openai-responses upstream keeps its own)
    upstream_id: str | None = None
    #: who may read it: :func:`owner_of` the key of the client that made it (None: every client)
    owner: str | None = None


def owner_of(key: str | None) -> str | None:
    """The owner a client's key makes of the responses it creates: the key's SHA-256 (as hex,
    under a prefix of its own, so that it matches no other use of the same hash), never the key
    itself; None for a client that presented none. Two clients share their stored responses
    exactly when they present the same key."""
    if not key:
        return None
    return hashlib.sha256(b"streamkit response owner\0" + key.encode("utf-8", "surrogatepass")).hexdigest()


def visible(record: Any, owner: str | None) -> bool:
    """May a client whose :func:`owner_of` is ``owner`` see ``record`` (a :class:`Record`, or a
    conversation: anything with an ``owner``)? Its own, and one stored with no owner (by a gateway
    whose keys mean nothing: see ``serve.responses``)."""
    return record.owner is None or (owner is not None and hmac.compare_digest(record.owner, owner))


@dataclass
class Op:
    """One write. ``kind``: ``create`` (record), ``events`` (wire events and canonical ones to
    accumulate), ``finish`` (status and response; the accumulated messages are added),
    ``status`` (status and response of a response that goes on), ``cancel`` (ask the process
    running it to stop: PostgreSQL tells the others)."""

    kind: str
    id: str
    record: Record | None = None
    #: (sequence number, event name, data) of wire events
    wire: list[tuple[int, str | None, Any]] = field(default_factory=list)
    canonical: list[dict[str, Any]] = field(default_factory=list)
    status: str | None = None
    response: dict[str, Any] | None = None
    upstream_id: str | None = None


#: a stored wire event: (sequence number, event name, data as JSON bytes)
Row = tuple[int, str | None, bytes]


class Store(Conversations):
    """The interface (the blocking methods a backend implements, the conversations' statements
    among them: :class:`.conversations.Conversations`) and the shared writer."""

    #: where it is, without any credential (for messages)
    where: str = ""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[tuple[Op, asyncio.Future[None] | None] | None] = queue.SimpleQueue()
        self._accumulators: dict[str, Any] = {}
        self._changed: dict[str, asyncio.Event] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.on_cancel: Callable[[str], object] | None = None
        self.failed: str | None = None  # the writer's last error, said once

    # --- what a backend implements (blocking) -------------------------------------------------

    def write(self, ops: list[Op]) -> None:
        """Apply the ops in one transaction (``Op.wire`` data already JSON bytes)."""
        raise NotImplementedError

    def get(self, response_id: str) -> Record | None:
        raise NotImplementedError

    def status(self, response_id: str) -> str | None:
        """The response's status alone (None: no such response); a follower asks it per page."""
        record = self.get(response_id)
        return record.status if record is not None else None

    def events(self, response_id: str, after: int, limit: int) -> list[Row]:
        """Up to ``limit`` stored events whose sequence number is above ``after``, in order."""
        raise NotImplementedError

    def delete(self, response_id: str) -> bool:
        raise NotImplementedError

    def close(self) -> None:
        pass

    # --- the writer ---------------------------------------------------------------------------

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start the writer thread (and a backend's listener) for the server's event loop."""
        self._loop = loop
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="streamkit-store", daemon=True)
            self._thread.start()

    def submit(self, op: Op) -> None:
        """Queue an op; it is written with whatever else is queued, soon, off the event loop."""
        self._queue.put((op, None))

    async def commit(self, op: Op) -> None:
        """Queue an op and wait until it (and everything queued before it) is written."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put((op, future))
        await future

    def stop(self) -> None:
        """Write what is queued, stop the writer, close."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=10)
            self._thread = None
        self.close()

    def _run(self) -> None:
        from ... import diagnostics

        stopping = False
        while not stopping:
            first = self._queue.get()
            items = [first]
            while True:  # everything queued meanwhile joins the transaction
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stopping = None in items
            taken = [item for item in items if item is not None]
            ops = [self._prepare(op) for op, _ in taken]
            error: BaseException | None = None
            try:
                if ops:
                    self.write(ops)
            except Exception as exc:  # a full disk, a lost connection: the stream goes on unstored
                error = exc
                if self.failed != str(exc):
                    self.failed = str(exc)
                    diagnostics.warn(f"the response store ({self.where}) failed: {type(exc).__name__}: {exc}")
            self._done(taken, {op.id for op in ops}, error)

    def _prepare(self, op: Op) -> Op:
        """JSON for the wire events; the canonical events accumulated; a finish gets the messages."""
        if op.wire:
            dumps = orjson.dumps
            op.wire = [
                (seq, name, data if isinstance(data, bytes) else dumps(data)) for seq, name, data in op.wire
            ]
        if op.canonical:
            accumulator = self._accumulators.get(op.id)
            if accumulator is None:
                from ...continuation import assistant_message
                from ...stages.accumulate import Accumulator

                accumulator = self._accumulators[op.id] = (Accumulator(), [], assistant_message)
            acc, messages, _ = accumulator
            for event in op.canonical:
                messages += [m for m in acc.feed(event) if m.get("type") == "message"]
        if op.kind == "finish" and op.record is None:
            state = self._accumulators.pop(op.id, None)
            messages = []
            if state is not None:
                acc, found, assistant_message = state
                found += [m for m in acc.close() if m.get("type") == "message"]
                messages = [assistant_message(m) for m in found]
            op.record = Record(op.id, op.status or "completed", 0.0, op.response or {}, messages=messages)
        return op

    def _done(self, taken: list[tuple[Op, asyncio.Future[None] | None]], ids: set[str],
              error: BaseException | None) -> None:  # fmt: skip
        loop = self._loop
        if loop is None or loop.is_closed():
            return

        def wake() -> None:
            for _, future in taken:
                if future is not None and not future.done():
                    future.set_result(None)  # a failed write does not stop the stream
            for response_id in ids:
                event = self._changed.get(response_id)
                if event is not None:
                    event.set()

        try:
            loop.call_soon_threadsafe(wake)
        except RuntimeError:  # the loop closed meanwhile
            pass

    # --- followers ----------------------------------------------------------------------------

    def changed(self, response_id: str) -> asyncio.Event:
        """The event set whenever the response's rows change (clear it, then read, then wait)."""
        event = self._changed.get(response_id)
        if event is None:
            event = self._changed[response_id] = asyncio.Event()
        return event

    def forget(self, response_id: str) -> None:
        self._changed.pop(response_id, None)

    def notified(self, response_id: str) -> None:
        """Another process changed a response (called on the event loop)."""
        event = self._changed.get(response_id)
        if event is not None:
            event.set()

    # --- reads, off the event loop ------------------------------------------------------------

    async def aget(self, response_id: str) -> Record | None:
        return await asyncio.to_thread(self.get, response_id)

    async def astatus(self, response_id: str) -> str | None:
        return await asyncio.to_thread(self.status, response_id)

    async def aevents(self, response_id: str, after: int, limit: int = 10000) -> list[Row]:
        return await asyncio.to_thread(self.events, response_id, after, limit)

    async def adelete(self, response_id: str) -> bool:
        return await asyncio.to_thread(self.delete, response_id)


def scrub(value: Any) -> Any:
    """A copy of a conversation (or request) without credentials: every tool definition (an entry
    of a ``tools`` list, at any depth) loses its ``headers``, ``authorization`` and key fields."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "tools" and isinstance(item, list):
                out[key] = [
                    {k: scrub(v) for k, v in tool.items() if k.lower() not in SECRET_FIELDS}
                    if isinstance(tool, dict)
                    else tool
                    for tool in item
                ]
            else:
                out[key] = scrub(item)
        return out
    if isinstance(value, list):
        return [scrub(item) for item in value]
    return value


#: the columns :func:`record_of` reads, in its order (both stores select them so)
RECORD_COLUMNS = (
    "id, status, created_at, background, response, conversation, input_items, messages, upstream_id, owner"
)


def record_of(row: Any) -> Record:
    """A :class:`Record` from a row of :data:`RECORD_COLUMNS`."""
    return Record(row[0], row[1], row[2], loads(row[4]), loads(row[5]), loads(row[6]), loads(row[7]),
                  bool(row[3]), row[8], row[9])  # fmt: skip


@dataclass(frozen=True)
class Statements:
    """A backend's SQL for :func:`apply`, each with its placeholders in the order given."""

    #: a new response: id, status, created_at, background, response, conversation, input_items, owner
    create: str
    #: a wire event: response id, seq, name, data
    event: str
    #: status, response, messages, upstream_id, id
    finish: str
    #: status, response, id
    status_response: str
    #: status, id
    status: str


def apply(op: Op, execute: Callable[..., Any], executemany: Callable[..., Any], sql: Statements) -> None:
    """Write one op's rows with a backend's ``execute`` and ``executemany`` (of its transaction)."""
    if op.kind == "create" and op.record is not None:
        r = op.record
        execute(sql.create, (r.id, r.status, r.created_at, r.background, dumps(r.response),
                             dumps(r.conversation), dumps(r.input_items), r.owner))  # fmt: skip
    elif op.kind == "events":
        executemany(sql.event, [(op.id, seq, name, data) for seq, name, data in op.wire])
    elif op.kind == "finish" and op.record is not None:
        r = op.record
        execute(sql.finish, (r.status, dumps(r.response), dumps(r.messages), op.upstream_id, op.id))
    elif op.kind in ("status", "cancel") and op.status is not None:
        if op.response is not None:
            execute(sql.status_response, (op.status, dumps(op.response), op.id))
        else:
            execute(sql.status, (op.status, op.id))


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)


def loads(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, memoryview):
        value = bytes(value)
    return orjson.loads(value)
