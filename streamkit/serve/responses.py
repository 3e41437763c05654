"""Stored responses of the Responses API: ``POST /v1/responses`` kept in the store (see
:mod:`streamkit.serve.store`), ``previous_response_id`` on any upstream, ``background: true``.

Every ``POST /v1/responses`` goes through :meth:`Responses.create`:

* ``previous_response_id``: with an openai-responses upstream, the id passes through (the
  upstream keeps its own state; the upstream's id of a response stored here replaces the
  gateway's). With any other upstream (chat, Anthropic, Gemini, Ollama: stateless), the gateway
  rebuilds the whole conversation from the store: the earlier request's conversation (itself
  rebuilt, so a chain of any length unrolls), its output messages as assistant turns, then the new
  request's messages. The new request's ``instructions``, tools and options are the ones sent (as
  the API does: instructions are not carried over). An unknown or deleted id is the API's 404
  ``previous_response_not_found``; one still running is a 400.
* ``store: false`` (what Codex sends) is answered as before and kept nowhere. Otherwise the
  response gets the gateway's own id (``resp_`` and 32 hex digits, whatever the upstream called
  it), its request and input items are stored, and it runs as a task (a :class:`Run`) whose
  encoded events the client follows: each batch (one upstream read) is put on the store's queue
  and written by its thread (see :mod:`.store.base`), so storing adds no wait to the stream;
  only the batch with the terminal event waits for its commit, so that a client that has read
  ``response.completed`` can continue from it at once, through any gateway on the same store.
* ``background: true``: the task runs on without the client. Not streaming, the create call
  answers at once with the response ``queued``; streaming, the client follows the run, and may
  leave and come back (``GET /v1/responses/{id}?stream=true&starting_after=N``). A client that
  leaves a foreground stream stops it (the upstream request is closed): the response is stored
  ``cancelled``.

Whose responses they are: on a gateway whose keys mean something (``--client-keys``: each key is a
client of its own; ``--forward-key``: each client spends its own upstream key), a stored response
belongs to the key that created it (:func:`~streamkit.serve.store.base.owner_of`: its SHA-256,
never the key). Another key's retrieve, delete, cancel, input items and ``previous_response_id``
get the API's 404, as for an id that does not exist (as the API keeps one project's responses from
another's). A request with no key, and every request to a gateway whose keys mean nothing (the
default on loopback, where any key or none is let in), makes responses every client may read.

A request naming a ``conversation`` has the conversation's items before its input, and adds its
exchange to it when it completes (:mod:`.conversations`, :meth:`Responses.converse`).

The retrieval routes (``GET``/``DELETE /v1/responses/{id}``, ``.../input_items``,
``.../cancel``) are in :mod:`.retrieval`. A ``response.create`` over the WebSocket goes through
:mod:`.responses_socket`, which keeps the connection's own responses and stores through
:meth:`Responses.start`.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from typing import Any

import orjson

from .sources import Answer, Call, HTTPError
from .store import TERMINAL, Op, Record, Store, scrub
from .store.base import owner_of, visible

#: the wire events that end a response
TERMINAL_EVENTS = frozenset({"response.completed", "response.failed", "response.incomplete"})
#: the wire events whose ``response`` is the response's state so far
STATE_EVENTS = frozenset({"response.created", "response.in_progress", "response.queued", *TERMINAL_EVENTS})
NAME = "openai-responses"


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Any:
    from starlette.responses import Response

    return Response(orjson.dumps(body), status, headers=headers, media_type="application/json")


def error_json(dialect: Any, error: HTTPError) -> Any:
    """An upstream's error in the client's shape, ``Retry-After`` kept (as the application does)."""
    headers = {"Retry-After": f"{error.retry_after:g}"} if error.retry_after is not None else None
    return json_response(error.status, dialect.error_body(error.status, error.message, error.code), headers)


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def not_found(response_id: str, *, previous: bool = False) -> tuple[int, dict[str, Any]]:
    """The API's 404 for an unknown response id, as api.openai.com writes it."""
    error: dict[str, Any]
    if previous:
        error = {"message": f"Previous response with id '{response_id}' not found.",
                 "type": "invalid_request_error", "param": "previous_response_id",
                 "code": "previous_response_not_found"}  # fmt: skip
    else:
        error = {"message": f"Response with id '{response_id}' not found.", "type": "invalid_request_error",
                 "param": None, "code": None}  # fmt: skip
    return 404, {"error": error}


def invalid(message: str, param: str | None = None) -> tuple[int, dict[str, Any]]:
    return 400, {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": None}}


def skeleton(
    response_id: str,
    status: str,
    model: Any,
    background: bool,
    previous: str | None,
    conversation: str | None = None,
) -> dict[str, Any]:
    """The ``response`` object of a response before its first event."""
    out: dict[str, Any] = {
        "id": response_id, "object": "response", "created_at": int(time.time()), "model": model or "",
        "status": status, "background": background, "error": None, "incomplete_details": None,
        "output": [], "parallel_tool_calls": True, "tool_choice": "auto", "tools": [], "usage": None,
        "previous_response_id": previous}  # fmt: skip
    if conversation is not None:
        out["conversation"] = {"id": conversation}
    return out


def input_items(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The request's input as the API lists it (``input_items.list``): a string is one user
    message; input text given as a string becomes an ``input_text`` part; each item has an id."""
    value = body.get("input")
    raw: list[Any] = [{"role": "user", "content": value}] if isinstance(value, str) else list(value or ())
    items = []
    for item in raw:
        if not isinstance(item, dict):
            continue
        item = dict(item)
        if "type" not in item and "role" in item:
            item["type"] = "message"
        if item.get("type") == "message" and isinstance(item.get("content"), str):
            kind = "output_text" if item.get("role") == "assistant" else "input_text"
            item["content"] = [{"type": kind, "text": item["content"]}]
        if not isinstance(item.get("id"), str):
            prefix = "msg" if item.get("type") == "message" else str(item.get("type") or "item").split("_")[0]
            item["id"] = new_id(prefix)
        items.append(item)
    return items


def previous_of(conversation: dict[str, Any]) -> str | None:
    from .gateway import _previous_response_id

    return _previous_response_id(conversation)


def with_previous(conversation: dict[str, Any], previous: str | None) -> dict[str, Any]:
    """The conversation whose Responses body names ``previous`` (None: names none)."""
    pm = dict(conversation.get("provider_metadata") or {})
    own = dict(pm.get(NAME) or {})
    body = dict(own.get("body") or {})
    if previous is None:
        body.pop("previous_response_id", None)
    else:
        body["previous_response_id"] = previous
    own["body"] = body
    pm[NAME] = own
    return {**conversation, "provider_metadata": pm}


#: the Responses items the gateway's MCP tool loop reads from a request's input (listings, calls,
#: approval requests and their answers): a rebuilt conversation carries the earlier ones too
MCP_ITEMS = ("mcp_list_tools", "mcp_call", "mcp_approval_request", "mcp_approval_response")


def _own_items(conversation: dict[str, Any]) -> list[list[Any]]:
    """The ``[position, item]`` entries the Responses parser kept beside a conversation's messages."""
    pm = conversation.get("provider_metadata")
    own = pm.get(NAME) if isinstance(pm, dict) else None
    items = own.get("input_items") if isinstance(own, dict) else None
    return [e for e in items if isinstance(e, list) and len(e) == 2] if isinstance(items, list) else []


def _mcp_part(part: Any) -> bool:
    """A message part that stands for one of the MCP items (a listing, a call, an approval request)."""
    if not isinstance(part, dict):
        return False
    if part.get("type") == "tool-approval-request":
        return True
    pm = part.get("provider_metadata")
    own = pm.get(NAME) if isinstance(pm, dict) else None
    return isinstance(own, dict) and own.get("type") in MCP_ITEMS


def _without_mcp_parts(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The answer's messages without the parts that travel as MCP items instead (the gateway's
    tool loop reads those from the input items; as parts an upstream would get them as empty
    turns). A message left with nothing is left out."""
    out = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, list) and any(_mcp_part(p) for p in content):
            content = [p for p in content if not _mcp_part(p)]
            if not content:
                continue
            message = {**message, "content": content}
        out.append(message)
    return out


def _mcp_items(record: Record, before: int, conversation: dict[str, Any]) -> list[list[Any]]:
    """The input items of a conversation rebuilt from ``record``: the earlier request's own, that
    response's MCP output items (placed before its answer: an approval request it ended with is
    then in the input its answer continues), and the new request's own, moved past the history."""
    assert record.messages is not None
    earlier = [
        e for e in _own_items(record.conversation) if isinstance(e[1], dict) and e[1].get("type") in MCP_ITEMS
    ]
    output = record.response.get("output") if isinstance(record.response, dict) else None
    produced = [
        [before, item] for item in output or () if isinstance(item, dict) and item.get("type") in MCP_ITEMS
    ]
    shift = before + len(record.messages)
    new = [[at + shift, item] for at, item in _own_items(conversation) if isinstance(at, int)]
    return [*earlier, *produced, *new]


def continued(conversation: dict[str, Any], record: Record) -> dict[str, Any]:
    """The whole conversation a request continuing the finished response ``record`` stands for:
    the earlier request's conversation (itself whole), that response's output messages as
    assistant turns, then the request's own messages; no ``previous_response_id``. A response
    that said nothing (a WebSocket warm-up, an empty answer) adds no turn: an assistant message
    with no content is a 400 from Anthropic, and from Chat Completions without tool calls."""
    assert record.messages is not None
    earlier = record.conversation.get("messages") or []
    answer = [m for m in _without_mcp_parts(record.messages) if m.get("content")]
    record = replace(record, messages=answer)
    messages = [*earlier, *answer, *(conversation.get("messages") or ())]
    rebuilt = with_previous(conversation, None)
    items = _mcp_items(record, len(earlier), conversation)
    if items:
        own = rebuilt["provider_metadata"][NAME]
        rebuilt["provider_metadata"][NAME] = {**own, "input_items": items}
    return {**rebuilt, "messages": messages}


class Run:
    """A response this process is running: its wire events so far, for the clients following it."""

    def __init__(self, record: Record) -> None:
        self.record = record
        #: (sequence number, event name, data) of every wire event so far
        self.events: list[tuple[int, str | None, Any]] = []
        self.canonical: list[dict[str, Any]] = []  # not yet handed to the store
        self.error: dict[str, Any] | None = None  # the canonical error event, if any
        self.upstream_id: str | None = None
        self.done = False
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.finished = asyncio.Event()
        #: the conversation it adds to, and the request's own input items (see Call.conversation)
        self.conversation: tuple[str, list[dict[str, Any]]] | None = None

    def push(self, wire: list[tuple[int, str | None, Any]]) -> None:
        self.events += wire
        self.wake.set()
        self.wake = asyncio.Event()

    def stop(self) -> None:
        """Stop the run if it is still going (a foreground client left)."""
        if not self.done and self.task is not None:
            self.task.cancel()

    def end(self) -> None:
        self.done = True
        self.wake.set()
        self.finished.set()

    async def follow(self, after: int) -> AsyncIterator[list[tuple[int, str | None, Any]]]:
        """The events after sequence number ``after``, then each new batch until the end."""
        i = 0
        events = self.events
        if events and after >= 0:
            # sequence numbers count from 0, one per event: the index, checked
            i = min(after + 1, len(events))
            while i > 0 and events[i - 1][0] > after:
                i -= 1
            while i < len(events) and events[i][0] <= after:
                i += 1
        while True:
            wake = self.wake
            if i < len(self.events):
                batch = self.events[i:]
                i += len(batch)
                yield batch
                continue
            if self.done:
                return
            await wake.wait()


class Responses:
    """The store's side of ``POST /v1/responses`` (and the runs of this process)."""

    def __init__(self, store: Store | None, source: Any, *, owned: bool = False) -> None:
        self.store = store
        self.source = source
        #: responses belong to the key that created them (see the module's docstring)
        self.owned = owned
        #: an upstream that keeps its own responses: previous_response_id passes through
        self.stateful = getattr(getattr(source, "dialect", None), "name", None) == NAME
        self.runs: dict[str, Run] = {}
        self._started = False

    def ready(self) -> None:
        """Start the store's writer (and listener) on the server's loop, once."""
        if not self._started and self.store is not None:
            self._started = True
            self.store.on_cancel = self.cancel_local
            self.store.start(asyncio.get_running_loop())

    def close(self) -> None:
        if self.store is not None:
            self.store.stop()

    def cancel_local(self, response_id: str) -> bool:
        """Cancel a response this process runs (True if it was running)."""
        run = self.runs.get(response_id)
        if run is None or run.done or run.task is None:
            return False
        run.task.cancel()
        return True

    def owner(self, key: str | None) -> str | None:
        """The owner a client presenting ``key`` gives the responses it creates."""
        return owner_of(key) if self.owned else None

    async def record_of(self, response_id: str, key: str | None) -> Record | None:
        """The response ``response_id`` as the client presenting ``key`` may see it: None when
        there is none, or it is another key's."""
        record = await self._record(response_id)
        if record is None or not visible(record, owner_of(key)):
            return None
        return record

    async def _record(self, response_id: str) -> Record | None:
        """The response ``response_id``, whoever's it is."""
        run = self.runs.get(response_id)
        if run is not None:
            return run.record
        return await self.store.aget(response_id) if self.store is not None else None

    # --- create -------------------------------------------------------------------------------

    async def create(self, server: Any, call: Call) -> Any:
        """Answer a ``POST /v1/responses`` (a starlette Response)."""
        from starlette.responses import StreamingResponse

        self.ready()
        dialect, parsed = call.dialect, call.parsed
        body = call.body if isinstance(call.body, dict) else {}
        storing = self.store is not None and body.get("store") is not False
        background = body.get("background") is True
        if background and not storing:
            why = "the gateway keeps no responses (--store none)" if self.store is None else "store is false"
            return json_response(*invalid(f"background responses must be stored: {why}", "background"))
        previous = previous_of(parsed.conversation)
        unrolled = await self.unrolled(call)
        if isinstance(unrolled, tuple):
            return json_response(*unrolled)
        call = unrolled
        options = dict(parsed.answer_options)
        framing = options.pop("framing", dialect.framing)
        if not storing:
            return await self.plain(server, call, options, framing)

        run = await self.start(server, call, new_id("resp"), previous, background=background)
        if isinstance(run, HTTPError):
            return error_json(dialect, run)
        record = run.record
        if not parsed.stream:
            if background:
                return json_response(200, record.response)
            await run.finished.wait()
            if record.status == "failed" and run.error is not None:
                status_code = run.error["status"] if isinstance(run.error.get("status"), int) else 502
                error = HTTPError(status_code, str(run.error.get("message")), run.error.get("code"))
                return error_json(dialect, error)
            return json_response(200, record.response)
        frames = self.frames_of(run, -1, stop_on_leave=not background)
        return StreamingResponse(
            frames, media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )

    async def start(self, server: Any, call: Call, response_id: str, previous: str | None, *,
                    background: bool = False) -> Run | HTTPError:  # fmt: skip
        """Store a new response ``response_id`` answering ``call`` (its conversation whole) and
        start its run; or the upstream's error before its first byte (a foreground response)."""
        body = call.body if isinstance(call.body, dict) else {}
        conversation = call.parsed.conversation
        model = conversation.get("model")
        status = "queued" if background else "in_progress"
        named = call.conversation[0] if call.conversation is not None else None
        record = Record(response_id, status, time.time(), skeleton(response_id, status, model, background, previous, named),
                        scrub(conversation), scrub(input_items(body)), background=background,
                        owner=self.owner(call.key))  # fmt: skip
        store = self.store
        assert store is not None
        answer: Answer | None = None
        if not background:  # an upstream error before the first byte is the client's HTTP error
            answer = await server.source.answer(call)
            if answer.error is not None:
                return answer.error
        run = self.runs[response_id] = Run(record)
        run.conversation = call.conversation
        create = Op("create", response_id, record=record)
        if background:
            await store.commit(create)  # retrievable, from any process, once the client has the id
        else:
            store.submit(create)
        options = dict(call.parsed.answer_options)
        options.pop("framing", None)
        run.task = asyncio.create_task(self.pump(server, call, run, answer, options, previous))
        return run

    async def plain(self, server: Any, call: Call, options: dict[str, Any], framing: str) -> Any:
        """A response kept nowhere: answered as the application answers every other request."""
        from starlette.responses import StreamingResponse

        from .app import MEDIA_TYPES, whole_of, wire_of

        answer = await server.source.answer(call)
        if answer.error is not None:
            return error_json(call.dialect, answer.error)
        if not call.parsed.stream:
            status, whole = await whole_of(answer, call.dialect, options)
            if call.conversation is not None and status == 200 and isinstance(whole, dict):
                await self.converse(call.conversation, whole, str(whole.get("status")))
            return json_response(status, whole)
        wire: AsyncIterator[list[Any]] = wire_of(answer, call.dialect, options, framing)
        if call.conversation is not None:
            wire = self.conversing(wire, call.conversation)
        frames = server.frames(wire, framing)
        media_type = MEDIA_TYPES.get(framing, "application/octet-stream")
        return StreamingResponse(frames, media_type=media_type, headers={"Cache-Control": "no-cache"})

    async def conversing(self, wire: AsyncIterator[list[Any]],
                         conversation: tuple[str, list[dict[str, Any]]]) -> AsyncIterator[list[Any]]:  # fmt: skip
        """A response kept nowhere, its items added to its conversation as its end passes (before
        the client reads it: the next request naming the conversation holds them)."""
        try:
            async for batch in wire:
                for _, data, _ in batch:
                    if isinstance(data, dict) and data.get("type") in TERMINAL_EVENTS:
                        response = data.get("response")
                        status = response.get("status") if isinstance(response, dict) else None
                        await self.converse(conversation, response, str(status))
                yield batch
        finally:
            await wire.aclose()  # type: ignore[attr-defined]

    async def unrolled(self, call: Call, known: Mapping[str, Record] | None = None) -> Call | tuple[int, Any]:
        """``call`` with the whole conversation its ``previous_response_id`` continues: from
        ``known`` (a WebSocket connection's own responses, unrolled for every upstream), else as
        :meth:`rebuild` finds it; or the error to answer with. A call naming none is as it is."""
        parsed = call.parsed
        conversation = parsed.conversation
        previous = previous_of(conversation)
        if not previous:
            return call
        record = known.get(previous) if known is not None else None
        if record is not None:
            conversation = continued(conversation, record)
        else:
            rebuilt = await self.rebuild(conversation, previous, call.key)
            if isinstance(rebuilt, tuple):
                return rebuilt
            conversation = rebuilt
        dropped = parsed.dropped
        if record is not None or not self.stateful:  # unrolled: nothing of it is lost
            dropped = [what for what in dropped if not what.startswith("previous_response_id")]
        return replace(call, parsed=replace(parsed, conversation=conversation, dropped=dropped))

    async def rebuild(self, conversation: dict[str, Any], previous: str,
                      key: str | None) -> dict[str, Any] | tuple[int, Any]:  # fmt: skip
        """The conversation a ``previous_response_id`` continues (see the module's docstring), or
        the error to answer with (``key``: the client's)."""
        record = await self._record(previous)
        if record is not None and not visible(record, owner_of(key)):
            # another key's: as if there were none (and its id must not reach the upstream, which
            # may serve every client with one key)
            return not_found(previous, previous=True)
        if self.stateful:
            if record is not None and record.upstream_id and record.upstream_id != previous:
                return with_previous(conversation, record.upstream_id)
            return conversation
        if record is None:
            return not_found(previous, previous=True)
        if record.messages is None:
            return invalid(
                f"Previous response with id '{previous}' is still {record.status}.", "previous_response_id"
            )
        return continued(conversation, record)

    # --- running ------------------------------------------------------------------------------

    async def pump(self, server: Any, call: Call, run: Run, answer: Answer | None, options: dict[str, Any],
                   previous: str | None) -> None:  # fmt: skip
        """Run a response to its end: its events encoded, stored in batches, handed to followers."""
        from .app import wire_of

        store = self.store
        assert store is not None
        record = run.record
        status = "failed"
        error: dict[str, Any] | None = None
        try:
            if answer is None:  # background: the upstream is asked here
                answer = await server.source.answer(call)
                if answer.error is not None:
                    error = {"code": "server_error", "message": answer.error.message}
                    run.error = {
                        "type": "error",
                        "status": answer.error.status,
                        "message": answer.error.message,
                    }
                    return
            if answer.events is None:  # a recording of this dialect: its events, normalized
                from .app import canonical_of
                from .sources import aiter_of

                events = [e async for e in canonical_of(answer, call.dialect)]
                answer = Answer(events=aiter_of(events))
            tagged = Answer(events=self.tagged(answer, run, previous), delay=answer.delay)
            async for batch in wire_of(tagged, call.dialect, options):
                if not batch:
                    continue
                wire = [(data.get("sequence_number", -1) if isinstance(data, dict) else -1, name, data)
                        for name, data, _ in batch]  # fmt: skip
                op = Op("events", record.id, wire=wire, canonical=run.canonical)
                run.canonical = []
                # the state events: the first ones (created, in_progress) and the terminal one, last
                kind, was = None, record.status
                for _, _, data in wire if record.status == "queued" or status == "failed" else wire[-1:]:
                    kind = data.get("type") if isinstance(data, dict) else None
                    if kind in STATE_EVENTS:
                        record.response = {**data["response"], "background": record.background}
                        record.status = status = str(record.response.get("status") or "in_progress")
                if record.status != was and record.status not in TERMINAL:  # for other processes
                    # written before any client sees these events: a retrieve from another
                    # gateway then says in_progress, not queued (once per background response)
                    await store.commit(
                        Op("status", record.id, status=record.status, response=record.response)
                    )
                store.submit(op)
                if kind in TERMINAL_EVENTS:
                    await self.finish(run, status)  # stored before the client reads the end
                    run.push(wire)
                    run.end()
                else:
                    run.push(wire)
        except asyncio.CancelledError:
            status = "cancelled"
        except Exception as exc:  # the upstream broke in a way the stream could not say
            error = {"code": "server_error", "message": f"{type(exc).__name__}: {exc}"}
        finally:
            if not run.done:
                if record.status not in TERMINAL:
                    record.status = status if status in TERMINAL else "failed"
                    record.response = {**record.response, "status": record.status}
                    if error is not None and record.status == "failed":
                        record.response["error"] = error
                await asyncio.shield(self.finish(run, record.status))
                run.end()
            self.runs.pop(record.id, None)

    async def finish(self, run: Run, status: str) -> None:
        """Store the end of a response (its status, response object and output messages) and wait
        for the commit; its followers then get the last events."""
        store = self.store
        assert store is not None
        record = run.record
        record.status = status
        op = Op("finish", record.id, status=status, response=record.response, upstream_id=run.upstream_id)
        if run.canonical:
            store.submit(Op("events", record.id, canonical=run.canonical))
            run.canonical = []
        await store.commit(op)
        assert op.record is not None
        record.messages = op.record.messages
        if run.conversation is not None:
            await self.converse(run.conversation, record.response, status)

    async def converse(
        self, conversation: tuple[str, list[dict[str, Any]]], response: Any, status: str
    ) -> None:
        """Add a response's input items and output items to the conversation it names, once it has
        completed or ended incomplete (a failed or cancelled one adds nothing)."""
        if status not in ("completed", "incomplete") or self.store is None:
            return
        conversation_id, own = conversation
        output = response.get("output") if isinstance(response, dict) else None
        produced = [item for item in output if isinstance(item, dict)] if isinstance(output, list) else []
        await asyncio.to_thread(self.store.add_items, conversation_id, [*own, *produced])

    async def tagged(
        self, answer: Answer, run: Run, previous: str | None
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """The answer's canonical events, the response's start carrying the gateway's id (the
        upstream's is kept), ``background`` and the ``previous_response_id`` the client named;
        each batch is also kept for the store's accumulator."""
        assert answer.events is not None
        events = answer.events
        record = run.record
        try:
            async for batch in events:
                for i, event in enumerate(batch):
                    kind = event.get("type")
                    if kind == "start":
                        if run.upstream_id is None and isinstance(event.get("id"), str):
                            run.upstream_id = event["id"]
                        pm = dict(event.get("provider_metadata") or {})
                        own = dict(pm.get(NAME) or {})
                        own["background"] = record.background
                        if previous:
                            own["previous_response_id"] = previous
                        else:
                            own.pop("previous_response_id", None)
                        pm[NAME] = own
                        batch[i] = {**event, "id": record.id, "provider_metadata": pm}
                    elif kind == "error":
                        run.error = event
                run.canonical += batch
                yield batch
        finally:
            await events.aclose()  # type: ignore[attr-defined]

    # --- following ----------------------------------------------------------------------------

    async def frames_of(self, run: Run, after: int, *, stop_on_leave: bool) -> AsyncIterator[bytes]:
        """The SSE frames of a local run's events after ``after``; a foreground client that leaves
        stops the run."""
        from ..framing import frame

        try:
            async for batch in run.follow(after):
                yield b"".join([frame("sse", name, data) for _, name, data in batch])
        finally:
            if stop_on_leave:
                run.stop()

    async def stored_frames(self, response_id: str, after: int) -> AsyncIterator[bytes]:
        """The SSE frames of a stored response's events after ``after``, then (while it runs in
        another process) each new event as the store says it came (LISTEN/NOTIFY, else polling)."""
        from .store.base import POLL

        store = self.store
        assert store is not None
        changed = store.changed(response_id)
        try:
            while True:
                changed.clear()
                status = await store.astatus(response_id)  # before the events: all of them if ended
                rows = await store.aevents(response_id, after)
                if rows:
                    yield b"".join([b"event: " + (name or "").encode() + b"\ndata: " + bytes(data) + b"\n\n"
                                    if name else b"data: " + bytes(data) + b"\n\n"
                                    for _, name, data in rows])  # fmt: skip
                    after = rows[-1][0]
                    continue  # more may be stored: read until nothing is new
                if status is None or status in TERMINAL:
                    return
                run = self.runs.get(response_id)
                if run is not None:  # it runs here after all (a follower that came early)
                    async for chunk in self.frames_of(run, after, stop_on_leave=False):
                        yield chunk
                    return
                try:
                    await asyncio.wait_for(changed.wait(), POLL)
                except asyncio.TimeoutError:
                    pass
        finally:
            store.forget(response_id)
