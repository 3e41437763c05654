"""What ``serve`` writes for a stream of canonical events: the same bytes whether the encoder's
templates write the deltas (``wire_of`` given the framing, as a streamed HTTP answer is) or the
encoder writes every event (as for a WebSocket or the response store, which read the data)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from streamkit.plugins import default_registry
from streamkit.serve.app import Faults, Server, wire_of
from streamkit.serve.sources import Answer, aiter_of

from ..conftest import events_of

DATA = Path(__file__).parents[1] / "data"
OWN = sorted(p for p in DATA.glob("*/*") if not p.name.endswith(".expected.ndjson"))
CLIENTS = [
    name for name, d in sorted(default_registry().dialects().items()) if d.framing in ("sse", "ndjson")
]


def _written(events: list[dict[str, Any]], client: str, framing: str | None, faults: Faults | None = None,
             size: int = 64) -> tuple[bytes, int]:  # fmt: skip
    """The bytes ``Server.frames`` writes, and how many of the wire events came framed already."""
    dialect = default_registry().dialect(client)
    server = Server({}, None, faults=faults or Faults())

    async def collect() -> tuple[bytes, int]:
        framed = 0

        async def counted(wire: Any) -> Any:
            nonlocal framed
            async for batch in wire:
                framed += sum(type(data) is bytes for _, data, _ in batch)
                yield batch

        wire = wire_of(Answer(events=aiter_of(events, size)), dialect, {}, framing)
        chunks = [chunk async for chunk in server.frames(counted(wire), dialect.framing)]
        return b"".join(chunks), framed

    return asyncio.run(collect())


@pytest.mark.parametrize("path", OWN, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_templates_write_the_bytes_the_encoder_writes(path: Path, steady: Any) -> None:
    """Each of the project's recordings, written in every dialect that frames as SSE or NDJSON."""
    events = [e for e in events_of(path) if e.get("type") != "message"]
    for client in CLIENTS:
        steady()  # the same generated ids each time
        templated, _ = _written(events, client, default_registry().dialect(client).framing)
        steady()
        plain, none = _written(events, client, None)
        assert none == 0
        assert templated == plain, client


def test_templates_are_used_for_a_long_text(steady: Any) -> None:
    """A text of many deltas: all but the first are written around their text's JSON."""
    deltas = [{"type": "text-delta", "id": "t", "delta": f"w{i} "} for i in range(50)]
    events = [{"type": "start", "id": "r", "model": "m"}, {"type": "text-start", "id": "t"}, *deltas,
              {"type": "text-end", "id": "t"}, {"type": "finish", "finish_reason": "stop"}]  # fmt: skip
    for client in ("openai-chat", "anthropic", "openai-responses", "ollama"):
        templated, framed = _written(events, client, default_registry().dialect(client).framing)
        assert framed >= 49, client
        steady()
        assert templated == _written(events, client, None)[0]


def test_a_fault_counts_a_framed_event_as_any_other() -> None:
    """``--drop-after N`` cuts the stream after N wire events, templates or not."""
    from streamkit.serve.app import DropConnection

    deltas = [{"type": "text-delta", "id": "t", "delta": f"w{i} "} for i in range(20)]
    events = [{"type": "start", "id": "r", "model": "m"}, {"type": "text-start", "id": "t"}, *deltas]
    for framing in ("sse", None):
        with pytest.raises(DropConnection):
            _written(events, "openai-chat", framing, Faults(drop_after=8), size=4)
