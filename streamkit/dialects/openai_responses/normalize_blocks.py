"""Responses text and reasoning items → canonical events, for the normalizer: the text and
reasoning blocks of ``message`` and ``reasoning`` items (streamed, or sent whole in ``.done``
events), and annotations as sources.

:class:`_Blocks` is a mixin of :class:`~.normalize.ResponsesNormalizer`, as
:class:`~.normalize_tools._ToolCalls` is; the deltas of an open block after its first take the
normalizer's hot path (``feed``), which :meth:`_Blocks._delta` sets up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..._native import mypyc_attr
from ...canonical import delta_head
from ...errors import DataError
from ..native_normalizer import NativeNormalizer
from .fields import _index, _kind, _list, _object, _text
from .wire import NAME, unseal

if TYPE_CHECKING:
    from .normalize import _Item

# (block kind, part) -> the wire events that write its deltas (on the hot path)
_HOT_DELTAS = {
    ("text", "content"): "response.output_text.delta",
    ("reasoning", "content"): "response.reasoning_text.delta",
    ("reasoning", "summary"): "response.reasoning_summary_text.delta",
}


class _Block:
    __slots__ = ("annotated", "ended", "got", "hot", "id", "item", "key", "kind", "meta")

    def __init__(
        self, bid: str, kind: str, key: tuple[str, str, int], item: _Item, meta: dict[str, Any]
    ) -> None:
        self.id = bid
        self.kind = kind
        self.key = key
        self.item = item
        self.meta = meta
        self.got = False  # a delta was written
        self.ended = False
        self.annotated = False  # its annotations became sources
        self.hot = False  # a text or reasoning block whose deltas may take the hot path


@mypyc_attr(allow_interpreted_subclasses=True)  # (so may its subclasses: see streamkit._native)
class _Blocks(NativeNormalizer):
    """The text and reasoning blocks of the response being read: the first base of
    ResponsesNormalizer, which sets the attributes declared here and defines the methods that
    raise NotImplementedError here (a class compiled with mypyc, as this one is, says what it has
    outright: see streamkit._native)."""

    started: bool
    nblocks: int
    nsources: int
    block: _Block | None
    blocks: dict[tuple[str, str, int], _Block]
    hot_block: tuple[str, str, int, str, str, bool, bytes | None] | None

    def _ensure(self, out: list[dict[str, Any]], response: dict[str, Any] | None = None) -> None:
        raise NotImplementedError

    def _item_for(self, data: dict[str, Any], kind: str) -> _Item:
        raise NotImplementedError

    # --- text and reasoning blocks --------------------------------------------------------------

    def _open_block(self, kind: str, it: _Item, part: str, index: int, out: list[dict[str, Any]],
                    refusal: bool = False) -> _Block:  # fmt: skip
        self._end_block(out)
        bid = f"{kind}-{self.nblocks}"
        self.nblocks += 1
        meta: dict[str, Any] = {}
        if not it.id.startswith("#"):
            meta["item_id"] = it.id
        if kind == "text" and it.item.get("phase"):
            meta["phase"] = it.item["phase"]
        if kind == "reasoning" and part == "content":
            meta["part"] = "reasoning_text"
        key = (it.id, part, index)
        block = self.blocks[key] = self.block = _Block(bid, kind, key, it, meta)
        it.nblocks += 1
        ev: dict[str, Any] = {"type": f"{kind}-start", "id": bid}
        if refusal:
            ev["refusal"] = True
        if meta:
            ev["provider_metadata"] = {NAME: dict(meta)}
        out.append(ev)
        block.hot = not refusal and not it.id.startswith("#")
        return block

    def _end_block(self, out: list[dict[str, Any]], extra: dict[str, Any] | None = None,
                   foreign: dict[str, Any] | None = None) -> None:  # fmt: skip
        block = self.block
        if block is None:
            return
        self.block = None
        self.hot_block = None
        block.ended = True
        ev: dict[str, Any] = {"type": f"{block.kind}-end", "id": block.id}
        meta = {**block.meta, **extra} if extra else block.meta
        if meta:
            ev["provider_metadata"] = {NAME: dict(meta)}
        if foreign:
            ev["provider_metadata"] = {**foreign, **ev.get("provider_metadata", {})}
        out.append(ev)

    def _block_for(self, data: dict[str, Any], kind: str, part: str, index_field: str,
                   out: list[dict[str, Any]], refusal: bool = False) -> _Block:  # fmt: skip
        """The open block an event is about, or a new one (also in a stream resumed mid-part)."""
        if not self.started:
            self._ensure(out)
        it = self._item_for(data, "message" if kind == "text" else "reasoning")
        index = _index(data, index_field) or 0
        block = self.block
        if block is not None and block.key == (it.id, part, index):
            return block
        return self._open_block(kind, it, part, index, out, refusal)

    def _written_block(self, data: dict[str, Any], kind: str, part: str, index_field: str,
                       out: list[dict[str, Any]], refusal: bool = False) -> _Block:  # fmt: skip
        """For a .done event: the block its deltas were written to (open or ended), else the
        block it is about (opened if need be)."""
        if not self.started:
            self._ensure(out)
        it = self._item_for(data, "message" if kind == "text" else "reasoning")
        block = self.blocks.get((it.id, part, _index(data, index_field) or 0))
        if block is not None and block.got:
            return block
        return self._block_for(data, kind, part, index_field, out, refusal)

    def _delta(self, block: _Block, text: Any, out: list[dict[str, Any]], meta: Any = None) -> None:
        if not isinstance(text, str):
            raise DataError(f"a delta is {_kind(text)}, expected a string")
        if text or meta:
            ev: dict[str, Any] = {"type": f"{block.kind}-delta", "id": block.id, "delta": text}
            if meta:
                ev["provider_metadata"] = {NAME: meta}
            out.append(ev)
            if not block.got:
                block.got = True
                if block.hot and block is self.block:  # its next deltas take the hot path
                    item_id, part, index = block.key
                    wire = _HOT_DELTAS[block.kind, part]
                    head = delta_head(f"{block.kind}-delta", block.id) if self.delta_bytes else None
                    self.hot_block = (wire, "summary_index" if part == "summary" else "content_index",
                                      index, item_id, block.id, block.kind == "text", head)  # fmt: skip

    def _on_part_added(self, data: dict[str, Any], out: list[dict[str, Any]]) -> bool:
        part = _object(data, "part")
        kind = part.get("type")
        if kind == "reasoning_text":
            self._block_for(data, "reasoning", "content", "content_index", out)
        else:
            self._block_for(data, "text", "content", "content_index", out, refusal=kind == "refusal")
        return True

    def _on_part_done(self, data: dict[str, Any], out: list[dict[str, Any]]) -> bool:
        part = _object(data, "part")
        if not self.started:
            self._ensure(out)
        it = self._item_for(data, "reasoning" if part.get("type") == "reasoning_text" else "message")
        index = _index(data, "content_index") or 0
        block = self.blocks.get((it.id, "content", index))
        if block is None:
            self._whole_part(it, index, part, out)
            return True
        if not block.got and block is self.block:
            text = part.get("refusal") if part.get("type") == "refusal" else part.get("text")
            self._delta(block, text or "", out)
        if not block.annotated:
            block.annotated = True
            self._sources(part, out)
        if block is self.block and block.kind == "text":
            self._end_block(out)
        return True

    def _whole_part(self, it: _Item, index: int, part: dict[str, Any], out: list[dict[str, Any]]) -> None:
        """A content part never streamed: all of it at once."""
        kind = part.get("type")
        if kind == "reasoning_text":
            block = self._open_block("reasoning", it, "content", index, out)
            self._delta(block, part.get("text") or "", out)
            return  # stays open: the item's end carries its encrypted content
        refusal = kind == "refusal"
        if not refusal and kind != "output_text":
            return
        block = self._open_block("text", it, "content", index, out, refusal)
        self._delta(block, (part.get("refusal") if refusal else part.get("text")) or "", out)
        block.annotated = True
        self._sources(part, out)
        self._end_block(out)

    def _on_text_delta(self, data: dict[str, Any], out: list[dict[str, Any]]) -> bool:
        block = self._block_for(data, "text", "content", "content_index", out)
        logprobs = _list(data, "logprobs")
        self._delta(block, data.get("delta"), out, {"logprobs": logprobs} if logprobs else None)
        return True

    def _on_refusal_delta(self, data: dict[str, Any], out: list[dict[str, Any]]) -> bool:
        block = self._block_for(data, "text", "content", "content_index", out, refusal=True)
        self._delta(block, data.get("delta"), out)
        return True

    def _on_text_done(self, data: dict[str, Any], out: list[dict[str, Any]]) -> bool:
        """output_text.done, refusal.done, reasoning_text.done, reasoning_summary_text.done:
        the whole text, written only when no delta came (some servers send only this)."""
        kind = data.get("type")
        if kind == "response.reasoning_summary_text.done":
            block = self._written_block(data, "reasoning", "summary", "summary_index", out)
        elif kind == "response.reasoning_text.done":
            block = self._written_block(data, "reasoning", "content", "content_index", out)
        else:
            refusal = kind == "response.refusal.done"
            block = self._written_block(data, "text", "content", "content_index", out, refusal)
        if not block.got:
            self._delta(block, data.get("refusal" if kind == "response.refusal.done" else "text") or "", out)
        return True

    def _on_reasoning_delta(self, data: dict[str, Any], out: list[dict[str, Any]]) -> bool:
        if data.get("type") == "response.reasoning_summary_text.delta":
            block = self._block_for(data, "reasoning", "summary", "summary_index", out)
        else:
            block = self._block_for(data, "reasoning", "content", "content_index", out)
        self._delta(block, data.get("delta"), out)
        return True

    def _on_summary_part(self, data: dict[str, Any], out: list[dict[str, Any]]) -> bool:
        """reasoning_summary_part.added and .done (the part's text, if no delta came)."""
        if data.get("type") == "response.reasoning_summary_part.done":
            block = self._written_block(data, "reasoning", "summary", "summary_index", out)
        else:
            block = self._block_for(data, "reasoning", "summary", "summary_index", out)
        part = data.get("part")
        if (
            data.get("type") == "response.reasoning_summary_part.done"
            and not block.got
            and isinstance(part, dict)
        ):
            self._delta(block, part.get("text") or "", out)
        return True

    def _message_done(self, it: _Item, item: dict[str, Any], out: list[dict[str, Any]]) -> None:
        if self.block is not None and self.block.item is it:
            self._end_block(out)
        for index, part in enumerate(_list(item, "content")):
            if not isinstance(part, dict):
                continue
            block = self.blocks.get((it.id, "content", index))
            if block is None:
                self._whole_part(it, index, part, out)
            elif not block.annotated:
                block.annotated = True
                self._sources(part, out)

    def _reasoning_done(self, it: _Item, item: dict[str, Any], out: list[dict[str, Any]]) -> None:
        for part, field in (("summary", "summary"), ("content", "content")):
            for index, entry in enumerate(_list(item, field)):
                if isinstance(entry, dict) and (it.id, part, index) not in self.blocks:
                    block = self._open_block("reasoning", it, part, index, out)
                    self._delta(block, entry.get("text") or "", out)
        encrypted = item.get("encrypted_content")
        # another dialect's reasoning metadata, sealed by our encoder: given back as it was
        foreign = unseal(encrypted) if isinstance(encrypted, str) else None
        extra = {"encrypted_content": encrypted} if encrypted and foreign is None else {}
        last = self.block
        if last is not None and last.item is it:
            self._end_block(out, extra, foreign)
        elif it.nblocks == 0 or extra or foreign:
            # no text at all (only encrypted content), or its last block already ended
            self._open_block("reasoning", it, "summary", it.nblocks, out)
            self._end_block(out, extra, foreign)

    # --- annotations ---------------------------------------------------------------------------

    def _on_annotation(self, data: dict[str, Any], out: list[dict[str, Any]]) -> bool:
        annotation = _object(data, "annotation")
        if not self.started:
            self._ensure(out)
        it = self._item_for(data, "message")
        block = self.blocks.get((it.id, "content", _index(data, "content_index") or 0))
        if block is not None:
            block.annotated = True
        self._source(annotation, out)
        return True

    def _sources(self, part: dict[str, Any], out: list[dict[str, Any]]) -> None:
        for annotation in _list(part, "annotations"):
            if isinstance(annotation, dict):
                self._source(annotation, out)

    def _source(self, annotation: dict[str, Any], out: list[dict[str, Any]]) -> None:
        ev: dict[str, Any] = {"type": "source", "source_type": "url", "id": f"src-{self.nsources}"}
        self.nsources += 1
        url = _text(annotation, "url")
        if url:
            ev["url"] = url
            title = _text(annotation, "title")
            if title:
                ev["title"] = title
            meta = {k: v for k, v in annotation.items() if k not in ("url", "title")}
        else:
            ev["source_type"] = "document"
            filename = _text(annotation, "filename")
            if filename:
                ev["title"] = ev["filename"] = filename
            meta = {k: v for k, v in annotation.items() if k != "filename"}
        ev["provider_metadata"] = {NAME: meta}
        out.append(ev)
