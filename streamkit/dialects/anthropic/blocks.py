"""The content blocks of the Anthropic normalizer (:mod:`.normalize`): an open block's state, and
the ones shared by every stream."""

from __future__ import annotations

from typing import Any

# a tool call block's fields with a place of their own (the rest ride in provider_metadata)
_CALL_FIELDS = frozenset({"id", "name", "input", "type"})


class _Block:
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


# the text blocks at the first indexes, with their entries in ``fast`` (a text block's state never
# changes: one object per index serves every stream)
_TEXT_BLOCKS = {
    i: (_Block("text", "text", f"text-{i}"), ("text_delta", "text", "text-delta", f"text-{i}", None))
    for i in range(64)
}
