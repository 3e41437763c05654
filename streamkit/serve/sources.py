"""Where ``serve``'s answers come from: recordings (``--replay``) or scripted turns (``--script``)."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from typing import Any

import orjson

from .. import diagnostics
from ..errors import UsageError

#: a wire event to send, and how long to wait before sending it under --realtime
Timed = tuple[str | None, Any, float]


class Exhausted(Exception):
    """The source has nothing more to answer with."""


class ReplaySource:
    """The recordings, one per request, in order."""

    def __init__(self, paths: Sequence[str], dialect: Any, registry: Any) -> None:
        from ..stages.fetch import replay

        self.responses: list[list[Timed]] = []
        for path in paths:
            try:
                with open(path, "rb") as f:
                    raws = list(replay(f))
            except OSError as exc:
                raise UsageError(f"cannot read recording {path}: {exc.strerror}") from None
            self.responses.append(self._wire(raws, dialect, registry, path))
        self.served = 0
        self.lock = threading.Lock()

    @staticmethod
    def _wire(raws: list[dict[str, Any]], dialect: Any, registry: Any, path: str) -> list[Timed]:
        source = None
        for raw in raws:
            named = raw.get("dialect")
            if named:
                source = registry.dialect(named)
                break
            source = next((d for d in registry.dialects().values() if _sniffs(d, raw)), None)
            if source is not None:
                break
        if source is None or source.name == dialect.name:
            times = [raw.get("t") for raw in raws]
            delays = [0.0] + [max(0.0, (b or 0) - (a or 0)) for a, b in itertools.pairwise(times)]
            return [(raw.get("event"), raw.get("data"), delay) for raw, delay in zip(raws, delays)]
        from ..stages.normalize import normalize

        encoder = dialect.encoder()
        wire: list[Timed] = []
        for event in normalize(iter(raws), registry=registry):
            wire.extend((name, data, 0.0) for name, data in encoder.feed(event))
        wire.extend((name, data, 0.0) for name, data in encoder.close())
        diagnostics.note(f"serving {path} converted from {source.name} to {dialect.name}")
        return wire

    def next(
        self, body: Any, dialect: Any, delay: float, options: dict[str, Any] | None = None
    ) -> list[Timed]:
        with self.lock:
            if self.served >= len(self.responses):
                raise Exhausted(f"no more recordings (all {len(self.responses)} served)")
            self.served += 1
            return self.responses[self.served - 1]


def _sniffs(dialect: Any, raw: dict[str, Any]) -> bool:
    try:
        return bool(dialect.sniff(raw.get("data"), raw.get("event")))
    except Exception:
        return False


class ScriptSource:
    """The scripted turns, one per request, encoded for the served dialect."""

    def __init__(self, path: str, dialect: Any) -> None:
        from .script import load_script

        self.turns = load_script(path)
        self.served = 0
        self.lock = threading.Lock()

    def next(
        self, body: Any, dialect: Any, delay: float, options: dict[str, Any] | None = None
    ) -> list[Timed]:
        from .script import turn_events

        with self.lock:
            if self.served >= len(self.turns):
                raise Exhausted(f"no more scripted turns (all {len(self.turns)} served)")
            n = self.served
            self.served += 1
        model = (body.get("model") if isinstance(body, dict) else None) or "streamkit-script"
        size = len(orjson.dumps(body)) if body is not None else 0
        events = turn_events(self.turns[n], response_id=f"resp_script_{n + 1}", model=str(model), call_prefix=f"call_{n + 1}_",
                             input_tokens=max(1, size // 4))  # fmt: skip
        encoder = dialect.encoder(**(options or {}))
        wire: list[Timed] = []
        for event in events:
            wire.extend((name, data, delay) for name, data in encoder.feed(event))
        wire.extend((name, data, delay) for name, data in encoder.close())
        return wire
