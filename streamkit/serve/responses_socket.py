"""The Responses API's WebSocket mode in the gateway: the responses of one connection.

A client of the WebSocket mode (the Codex CLI with ``supports_websockets``, OpenAI's SDKs) sends
each turn as a ``response.create`` message holding only the new input and the
``previous_response_id`` of the turn before, most often with ``store: false``: the server keeps
the connection's responses in memory, so that a chain goes on with nothing stored. The gateway
does the same, whatever its upstream:

* Every response answered on the connection is remembered (the last :data:`RECENT`) with the
  whole conversation sent upstream and its output messages. Its id is the gateway's own
  (``resp_`` and 32 hex digits), as for a stored response; an openai-responses upstream's own id
  is kept.
* A ``previous_response_id`` the connection remembers unrolls into the whole conversation, as a
  stored one does over HTTP (:func:`~streamkit.serve.responses.continued`), for every upstream,
  openai-responses too: asked over HTTP, it would not know a response it was told not to store.
  Any other id is looked up as over HTTP (:meth:`~streamkit.serve.responses.Responses.rebuild`:
  the store, or an openai-responses upstream's own); one found nowhere is the API's
  ``previous_response_not_found``.
* ``generate: false``, a warm-up (the client sends an upcoming turn's instructions, tools and
  first messages ahead), asks nothing of the upstream: the answer is an empty completed response,
  remembered like any other, which the next turn continues.

A response is stored as over HTTP (:meth:`~streamkit.serve.responses.Responses.start`), unless
it says ``store: false`` or is a warm-up: ``GET /v1/responses/{id}`` then knows it, and any
connection or HTTP request may continue it. ``serve`` answering from recordings or a script
answers a warm-up the same way, without using up a turn.

The responses under way may be steered (``response.steer``): :mod:`.steering` says how; their
state (what runs, what waits for the client's outputs) is kept here.

A response under way may be interrupted (``response.interrupt``, ``mode: "discard_partial_items"``:
what the Codex CLI sends when its user types while the model works, with its ``instant_interrupt``
on, then reading the response to its end and going on from it). The gateway stops it where it
is (and with it the upstream request), and ends it with ``response.incomplete``
(``incomplete_details.reason: "interrupted"``) whose output holds the items already done and
none of those still being written; a ``previous_response_id`` naming it continues from those
items (:func:`interrupted`). An interrupt naming a response that has ended here is too late and
is let go without a word: its end is on its way to the client, which reads it as it would have.
A stored response (``store`` left on; the Codex CLI sends ``store: false``) is stopped as when its
client leaves: the store keeps it ``cancelled``, or ``completed`` if its upstream had finished
before the client had read it all; only the client is told it was interrupted.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any

from .responses import NAME, STATE_EVENTS, TERMINAL_EVENTS, Responses, Run, new_id, previous_of
from .sources import Answer, Call, HTTPError, Timed, aiter_of
from .steering import Steer, Steering, continued
from .store import Record

#: the responses a connection remembers (a client chains from the last one; a few more let it
#: go back a turn or two, as a fork would)
RECENT = 8


@dataclass
class Turn:
    """One response under way on the connection: what it continues, and what it answers."""

    conversation: dict[str, Any]
    #: the id the client is given (None: the upstream's own, known from its start event)
    id: str | None
    previous: str | None
    #: the terminal wire event's ``response`` (None: the stream ended without one)
    response: dict[str, Any] | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)
    #: the client asked for it to stop (``response.interrupt``)
    interrupted: bool = False
    #: the last wire event sent, the response as its last state event gave it, and the output
    #: items done (what an interruption keeps)
    last: Any = None
    state: dict[str, Any] | None = None
    done: list[dict[str, Any]] = field(default_factory=list)

    def saw(self, data: Any) -> None:
        """A wire event sent to the client (its terminal one ends the response)."""
        self.last = data
        kind = data.get("type") if type(data) is dict else None
        if kind in _KEPT:
            if kind == "response.output_item.done":
                if isinstance(data.get("item"), dict):
                    self.done.append(data["item"])
            elif isinstance(data.get("response"), dict):
                self.state = data["response"]
                if kind in TERMINAL_EVENTS:
                    self.response = data["response"]


#: the wire events :meth:`Turn.saw` keeps something of
_KEPT = frozenset({"response.output_item.done", *STATE_EVENTS})


def interrupted(turn: Turn) -> dict[str, Any]:
    """The ``response.incomplete`` ending an interrupted response: its state so far, with the
    output items done only (``discard_partial_items``); the turn's messages, which a continuation
    of it unrolls into, are those items too."""
    from ..dialects.openai_responses.parse import parse_request

    response = dict(turn.state or {"id": turn.id, "object": "response"})
    response.update(status="incomplete", incomplete_details={"reason": "interrupted"}, output=list(turn.done))
    last = turn.last.get("sequence_number") if isinstance(turn.last, dict) else None
    event: dict[str, Any] = {"type": "response.incomplete", "response": response}
    if isinstance(last, int):
        event["sequence_number"] = last + 1
    try:
        messages = parse_request({"input": turn.done}).conversation.get("messages") or []
    except Exception:  # (items the parser would refuse: the continuation holds none of them)
        messages = []
    turn.messages = [m for m in messages if m.get("role") == "assistant"]
    return event


class ResponsesSocket:
    """The responses of one WebSocket connection of the gateway (see the module's docstring)."""

    def __init__(self, responses: Responses | None) -> None:
        #: the gateway's stored responses (None: ``serve`` answers from recordings or a script,
        #: whose answers do not depend on what came before: an id passes as it is)
        self.responses = responses
        self.stateful = responses is None or responses.stateful
        self.recent: OrderedDict[str, Record] = OrderedDict()
        #: the responses under way, each with its request, lane and steering input
        self.running: list[tuple[Turn, Steering]] = []
        #: the ids of the responses that ended here (the last few): a steer naming one is too late
        self.ended: OrderedDict[str, None] = OrderedDict()
        #: response id -> the steering input that waits for the client's continuation of it
        self.waiting: dict[str, list[Steer]] = {}

    async def answer(
        self, server: Any, call: Call
    ) -> tuple[AsyncGenerator[list[Timed], None], Turn] | HTTPError | dict[str, Any]:
        """The wire events answering a ``response.create`` (in batches, as
        :func:`~streamkit.serve.app.wire_of` gives them) and its turn; or the upstream's error
        before its first byte; or the error message to send instead. A response is stored as over
        HTTP (unless ``store: false``, or a warm-up), and followed as it runs: a client that leaves
        stops it."""
        if isinstance(call.body, dict) and call.body.get("background") is True:
            from .websocket import error_message

            message = "background responses are not supported over the WebSocket; use POST /v1/responses"
            return error_message(400, message, "invalid_request_error", param="background")
        prepared = await self.prepare(call)
        if isinstance(prepared, dict):
            return prepared
        call, turn = prepared
        responses = self.responses
        if (responses is not None and responses.store is not None and not warm_up(call)
                and call.body.get("store") is not False):  # fmt: skip
            responses.ready()
            turn.id = turn.id or new_id("resp")
            run = await responses.start(server, call, turn.id, turn.previous)
            if isinstance(run, HTTPError):
                return run
            return self._followed(run, turn), turn
        from .app import wire_of

        answer = self.warm_up_answer(turn) if warm_up(call) else await server.source.answer(call)
        if answer.error is not None:
            return answer.error
        wire: AsyncGenerator[list[Timed], None] = wire_of(self.tagged(answer, turn), call.dialect,
                                                          call.parsed.answer_options)  # fmt: skip
        if call.conversation is not None and responses is not None and not warm_up(call):
            wire = responses.conversing(wire, call.conversation)  # type: ignore[assignment]
        return wire, turn

    async def _followed(self, run: Run, turn: Turn) -> AsyncGenerator[list[Timed], None]:
        """A stored response's wire events as its run makes them; the run is stopped if the
        client goes before its end."""
        try:
            async for batch in run.follow(-1):
                yield [(name, data, 0.0) for _, name, data in batch]
            turn.messages = run.record.messages or []
        finally:
            run.stop()

    async def prepare(self, call: Call) -> tuple[Call, Turn] | dict[str, Any]:
        """The call to answer, with the whole conversation it continues, and its turn; or the
        error message to send instead. (``serve`` answering from recordings or a script: as it is,
        its answers depending on nothing before.)"""
        previous = previous_of(call.parsed.conversation)
        if self.responses is not None:
            unrolled = await self.responses.unrolled(call, self.recent)
            if isinstance(unrolled, tuple):
                status, body = unrolled
                return {"type": "error", "status": status, "error": body.get("error")}
            call = unrolled
        own_id = not self.stateful or warm_up(call)
        turn = Turn(call.parsed.conversation, new_id("resp") if own_id else None, previous)
        return call, turn

    def warm_up_answer(self, turn: Turn) -> Answer:
        """The answer to ``generate: false``: a response with no output, the upstream not asked."""
        start = {
            "type": "start",
            "id": turn.id,
            "model": turn.conversation.get("model") or "",
            "dialect": NAME,
        }
        finish = {"type": "finish", "finish_reason": "stop", "usage": {"input_tokens": 0, "output_tokens": 0}}
        return Answer(events=aiter_of([start, finish]))

    def tagged(self, answer: Answer, turn: Turn) -> Answer:
        """``answer`` with the turn's id on its start (and the ``previous_response_id`` the client
        named), its output messages gathered into the turn as they pass."""
        if answer.events is None:
            return answer
        return replace(answer, events=self._tagged(answer.events, turn))

    async def _tagged(
        self, events: AsyncIterator[list[dict[str, Any]]], turn: Turn
    ) -> AsyncIterator[list[dict[str, Any]]]:
        from ..continuation import assistant_message
        from ..stages.accumulate import Accumulator

        accumulator = Accumulator()
        found: list[dict[str, Any]] = []
        try:
            async for batch in events:
                for i, event in enumerate(batch):
                    if event.get("type") == "start":
                        if turn.id is None and isinstance(event.get("id"), str):
                            turn.id = event["id"]
                        pm = dict(event.get("provider_metadata") or {})
                        own = dict(pm.get(NAME) or {})
                        if turn.previous:
                            own["previous_response_id"] = turn.previous
                        pm[NAME] = own
                        batch[i] = event = {**event, "id": turn.id, "provider_metadata": pm}
                    found += [m for m in accumulator.feed(event) if m.get("type") == "message"]
                yield batch
            found += [m for m in accumulator.close() if m.get("type") == "message"]
            turn.messages = [assistant_message(m) for m in found]
        finally:
            await events.aclose()  # type: ignore[attr-defined]

    # --- steering (see .steering) ------------------------------------------------------------

    def begin(self, turn: Turn, body: dict[str, Any], lane: str | None) -> None:
        """A response starts on ``lane`` (answered by the current task): steerable and
        interruptible until :meth:`end`."""
        self.running.append((turn, Steering(body, lane, task=asyncio.current_task())))

    def running_turn(self, response_id: str) -> tuple[Turn, Steering] | None:
        """The response ``response_id`` under way here, and its steering (None: none such runs)."""
        for turn, steering in self.running:
            if turn.id == response_id:
                return turn, steering
        return None

    def end(self, turn: Turn) -> Steering | None:
        """The response ended: its steering (and the input queued on it), no longer steerable."""
        for n, (running, steering) in enumerate(self.running):
            if running is turn:
                del self.running[n]
                if turn.id is not None:
                    self.ended[turn.id] = None
                    while len(self.ended) > 4 * RECENT:
                        self.ended.popitem(last=False)
                return steering
        return None

    def target(self, response_id: str) -> Steering | None:
        """The steering of the response ``response_id`` under way here (None: none such runs)."""
        found = self.running_turn(response_id)
        return None if found is None else found[1]

    def with_steers(self, body: Any) -> tuple[Any, list[Steer]]:
        """A ``response.create`` with the steering input that waited for it inserted (it continues
        a response that stopped for the client's outputs while input was queued on it), and that
        input."""
        previous = body.get("previous_response_id") if isinstance(body, dict) else None
        steers = self.waiting.pop(previous, None) if isinstance(previous, str) else None
        return (continued(body, steers), steers) if steers else (body, [])

    def remember(self, turn: Turn) -> None:
        """Keep a response the stream completed (or ended incomplete) for the next turns."""
        response = turn.response
        if turn.id is None or response is None or response.get("status") not in ("completed", "incomplete"):
            return
        self.recent[turn.id] = Record(turn.id, str(response["status"]), time.time(), response,
                                      turn.conversation, messages=turn.messages)  # fmt: skip
        self.recent.move_to_end(turn.id)
        while len(self.recent) > RECENT:
            self.recent.popitem(last=False)


def warm_up(call: Call) -> bool:
    """A ``response.create`` with ``generate: false``."""
    return isinstance(call.body, dict) and call.body.get("generate") is False
