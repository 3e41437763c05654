"""framing.around_text: a wire event framed and cut at its text, for the encoders' templates."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamkit.dialects.base import PLAIN_HOLE
from streamkit.framing import around_text, frame

TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1)
TEMPLATE = {"type": "content_block_delta", "index": 3, "delta": {"type": "text_delta", "text": PLAIN_HOLE}}


def _with(data: object, text: str) -> object:
    """``data`` with ``text`` in the hole's place."""
    if data == PLAIN_HOLE:
        return text
    if isinstance(data, dict):
        return {k: _with(v, text) for k, v in data.items()}
    if isinstance(data, list):
        return [_with(v, text) for v in data]
    return data


@pytest.mark.parametrize("framing", ["sse", "ndjson"])
@pytest.mark.parametrize("name", [None, "content_block_delta"])
@given(text=TEXT)
def test_the_cut_frame_around_any_text_is_the_frame_of_that_text(
    framing: str, name: str | None, text: str
) -> None:
    before, after = around_text(framing, name, TEMPLATE)  # type: ignore[misc]
    assert before + orjson.dumps(text) + after == frame(framing, name, _with(TEMPLATE, text))


@given(text=TEXT)
def test_a_json_array_element_comes_with_its_comma(text: str) -> None:
    data = {"candidates": [{"content": {"parts": [{"text": PLAIN_HOLE}]}}], "modelVersion": "m"}
    before, after = around_text("json-array", None, data)  # type: ignore[misc]
    assert before + orjson.dumps(text) + after == b",\n" + frame("json-array", None, _with(data, text))


def test_no_cut_where_the_text_changes_the_frame_around_it_or_the_hole_is_not_once() -> None:
    assert around_text("eventstream", "contentBlockDelta", TEMPLATE) is None  # (its length, its checksum)
    assert around_text("sse", None, {"a": "no hole"}) is None
    assert around_text("sse", None, {"a": PLAIN_HOLE, "b": PLAIN_HOLE}) is None
    assert around_text("ndjson", None, [PLAIN_HOLE, {"x": PLAIN_HOLE}]) is None
