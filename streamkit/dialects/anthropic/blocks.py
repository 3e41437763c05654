"""The content blocks of the Anthropic normalizer (:mod:`.normalize`): an open block's state, the
ones shared by every stream, and the events that end a block."""

from __future__ import annotations

from typing import Any

from ...canonical import delta_head, tool_call
from .wire import NAME

# a tool call block's fields with a place of their own (the rest ride in provider_metadata)
CALL_FIELDS = frozenset({"id", "name", "input", "type"})
# the blocks of tool results, by type (see normalize's _tool_result: their state never changes either)
RESULT_BLOCKS: dict[str, Block] = {}


class Block:
    """One open content block of the response being normalized."""

    __slots__ = ("args", "executed", "id", "initial", "kind", "meta", "name", "wire_type")

    def __init__(
        self,
        kind: str,
        wire_type: str,
        block_id: str | None = None,
        meta: dict[str, Any] | None = None,
        name: str = "",
        executed: bool = False,
    ) -> None:
        self.kind = kind  # text, reasoning, tool, other
        self.wire_type = wire_type
        self.id = block_id
        self.name = name
        self.args: list[str] = []
        self.initial = ""  # a tool's arguments given whole in its block
        self.executed = executed
        self.meta: dict[str, Any] = {} if meta is None else meta


#: An open block's entry in the normalizer's ``fast``: the delta type it takes, the delta's field,
#: the canonical event type, the block's id, the list its fragments go in (or None), and the bytes
#: of the event up to its delta (``{"type":…,"id":…,"delta":``: see ``Normalizer.delta_bytes``)
FastEntry = tuple[str, str, str, str, "list[str] | None", bytes]


def fast_entry(kind: str, field: str, canonical: str, bid: str, args: list[str] | None) -> FastEntry:
    return kind, field, canonical, bid, args, delta_head(canonical, bid)


# the text blocks at the first indexes, with their entries in ``fast`` (a text block's state never
# changes: one object per index serves every stream)
TEXT_BLOCKS = {
    i: (Block("text", "text", f"text-{i}"), fast_entry("text_delta", "text", "text-delta", f"text-{i}", None))
    for i in range(64)
}


def close_block(b: Block, out: list[dict[str, Any]]) -> None:
    """The events that end block ``b`` (already taken out of ``blocks`` and ``fast``)."""
    kind = b.kind
    if kind == "tool":
        bid = b.id
        args = b.args
        if args:
            arguments = "".join(args)
        else:  # arguments given whole in the block, or none at all: "{}"
            arguments = b.initial or "{}"
            out.append({"type": "tool-input-delta", "id": bid, "delta": arguments})
        out.append({"type": "tool-input-end", "id": bid})
        meta = b.meta
        call = tool_call(bid, b.name, arguments)
        if b.executed:  # (with its type in meta)
            call["provider_executed"] = True
        if meta:
            call["provider_metadata"] = {NAME: meta}
        out.append(call)
    elif kind == "text":
        out.append({"type": "text-end", "id": b.id})
    elif kind == "reasoning":
        ev: dict[str, Any] = {"type": "reasoning-end", "id": b.id}
        if b.meta:
            ev["provider_metadata"] = {NAME: b.meta}
        out.append(ev)
