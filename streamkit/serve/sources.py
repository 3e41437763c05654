"""Where ``serve``'s answers come from: recordings (``--replay``) or scripted turns (``--script``);
the live upstream (``--upstream``) is :mod:`streamkit.serve.gateway`.

Every source answers a :class:`Call` (the client's dialect and its parsed request) with an
:class:`Answer`: the wire events of the client's own dialect to send as they are (a recording of
that dialect, replayed event for event), or canonical events that the application encodes in the
client's dialect (a script, a recording of another dialect, the upstream's stream), or an HTTP
error to answer with.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from ..dialects.base import ParsedRequest
from ..errors import DataError, UsageError

#: a wire event to send, and how long to wait before sending it under --realtime; its data as
#: bytes is the event already framed (an encoder's template wrote it: see ``app.wire_of``)
Timed = tuple[str | None, Any, float]


class Exhausted(Exception):
    """The source has nothing more to answer with."""


@dataclass
class Call:
    """One request to answer: the client's dialect, its request parsed, and where it came."""

    dialect: Any
    parsed: ParsedRequest
    body: Any
    path: str = ""
    params: dict[str, str] = field(default_factory=dict)
    #: the API key the client presented (forwarded upstream only with ``--forward-key``)
    key: str | None = None
    #: the answer is paced (``--realtime``): events go one at a time
    realtime: bool = False
    #: a Responses request naming a conversation: its id, and the request's own input items (added
    #: to it once the response completes: see :mod:`.conversations`)
    conversation: tuple[str, list[dict[str, Any]]] | None = None


@dataclass
class HTTPError:
    """An answer that is an HTTP error, written in the client's dialect."""

    status: int
    message: str
    code: Any = None
    retry_after: float | None = None


@dataclass
class Answer:
    """What to answer with: exactly one of ``wire``, ``events`` or ``error``."""

    #: wire events of the client's own dialect, sent as they are
    wire: list[Timed] | None = None
    #: canonical events in batches (what one read of the upstream gave), encoded in the client's
    #: dialect as they come; each batch is written to the client in one piece
    events: AsyncIterator[list[dict[str, Any]]] | None = None
    #: seconds between events under ``--realtime`` (a script's ``--delay``)
    delay: float = 0.0
    error: HTTPError | None = None


async def aiter_of(events: Iterable[dict[str, Any]], size: int = 64) -> AsyncIterator[list[dict[str, Any]]]:
    """Events already at hand, as the batches an :class:`Answer` holds (``size`` at most: a
    script paced by ``--realtime`` goes one event at a time)."""
    batch: list[dict[str, Any]] = []
    for event in events:
        batch.append(event)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class ReplaySource:
    """The recordings, one per request, in order. A recording of the client's own dialect is sent
    event for event; one of another dialect is normalized, then encoded in the client's dialect.
    Each file is read once, however often it is named."""

    def __init__(self, paths: Sequence[str], registry: Any) -> None:
        from ..stages.fetch import replay

        self.registry = registry
        loaded: dict[str, tuple[list[dict[str, Any]], Any, str]] = {}
        self.responses: list[tuple[list[dict[str, Any]], Any, str]] = []
        for path in paths:
            if path not in loaded:
                try:
                    with open(path, "rb") as f:
                        raws = list(replay(f))
                except OSError as exc:
                    raise UsageError(f"cannot read recording {path}: {exc.strerror}") from None
                loaded[path] = (raws, self._dialect_of(raws), path)
            self.responses.append(loaded[path])
        self.served = 0
        self.lock = threading.Lock()

    def _dialect_of(self, raws: list[dict[str, Any]]) -> Any:
        for raw in raws:
            named = raw.get("dialect")
            if named:
                return self.registry.dialect(named)
            found = next((d for d in self.registry.dialects().values() if _sniffs(d, raw)), None)
            if found is not None:
                return found
        return None

    async def answer(self, call: Call) -> Answer:
        with self.lock:
            if self.served >= len(self.responses):
                raise Exhausted(f"no more recordings (all {len(self.responses)} served)")
            self.served += 1
            raws, source, path = self.responses[self.served - 1]
        if source is None or source.name == call.dialect.name:
            times = [raw.get("t") for raw in raws]
            delays = [0.0] + [max(0.0, (b or 0) - (a or 0)) for a, b in itertools.pairwise(times)]
            return Answer(
                wire=[(raw.get("event"), raw.get("data"), delay) for raw, delay in zip(raws, delays)]
            )
        return Answer(events=aiter_of(_normalized(raws, source.name, self.registry, path)))


def _normalized(
    raws: list[dict[str, Any]], dialect: str, registry: Any, path: str
) -> Iterator[dict[str, Any]]:
    """A recording's events, normalized; one it cannot read (a payload of the wrong type or shape)
    ends with an error event naming the recording and the event, which the client gets in its own
    dialect after what came before (not a broken response)."""
    from ..stages.normalize import normalize

    at = [0]

    def counted() -> Iterator[dict[str, Any]]:
        for n, raw in enumerate(raws, 1):
            at[0] = n
            yield raw

    try:
        yield from normalize(counted(), dialect=dialect, registry=registry, line_no=lambda: at[0])
    except DataError as exc:
        yield {
            "type": "error",
            "message": f"the recording {path} cannot be read at its event {at[0]}: {exc.message}",
        }


def _sniffs(dialect: Any, raw: dict[str, Any]) -> bool:
    try:
        return bool(dialect.sniff(raw.get("data"), raw.get("event")))
    except Exception:
        return False


class ScriptSource:
    """The scripted turns, one per request, as canonical events (text and arguments in small
    deltas) that the application encodes in the client's dialect."""

    def __init__(self, path: str, delay: float = 0.0) -> None:
        from .script import load_script

        self.turns = load_script(path)
        self.delay = delay
        self.served = 0
        self.lock = threading.Lock()

    async def answer(self, call: Call) -> Answer:
        from .script import turn_events

        with self.lock:
            if self.served >= len(self.turns):
                raise Exhausted(f"no more scripted turns (all {len(self.turns)} served)")
            n = self.served
            self.served += 1
        body = call.body
        model = call.parsed.conversation.get("model") or (
            body.get("model") if isinstance(body, dict) else None
        )
        size = len(orjson.dumps(body)) if body is not None else 0
        events = turn_events(self.turns[n], response_id=f"resp_script_{n + 1}", model=str(model or "streamkit-script"),
                             call_prefix=f"call_{n + 1}_", input_tokens=max(1, size // 4))  # fmt: skip
        return Answer(events=aiter_of(events, 1 if call.realtime else 64), delay=self.delay)


class StrictSource:
    """``serve --strict``: ``source``, but a request the provider's API would refuse
    (:mod:`.provider_rules`) is answered with its dialect's 400 naming what is wrong, as the real
    API would answer, not with the next recording or turn. Everything else is ``source``'s."""

    def __init__(self, source: Any) -> None:
        self.source = source

    def __getattr__(self, name: str) -> Any:
        return getattr(self.source, name)

    async def answer(self, call: Call) -> Answer:
        from .provider_rules import problems

        found = problems(call.dialect.name, call.body)
        if found:
            more = f" (and {len(found) - 3} more)" if len(found) > 3 else ""
            message = f"streamkit serve --strict: the {call.dialect.name} API would refuse this request: "
            return Answer(
                error=HTTPError(400, message + "; ".join(found[:3]) + more, "invalid_request_error")
            )
        answer: Answer = await self.source.answer(call)
        return answer
