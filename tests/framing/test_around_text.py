"""framing.around_text: a wire event framed and cut at its text, for the encoders' templates."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamkit.dialects.base import PLAIN_COUNT, PLAIN_HOLE
from streamkit.framing import around_text, frame

TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1)
TEMPLATE = {"type": "content_block_delta", "index": 3, "delta": {"type": "text_delta", "text": PLAIN_HOLE}}


def _with(data: object, text: str, count: int = 0) -> object:
    """``data`` with ``text`` in the hole's place (and ``count`` in the count's)."""
    if data == PLAIN_HOLE:
        return text
    if data == PLAIN_COUNT:
        return count
    if isinstance(data, dict):
        return {k: _with(v, text, count) for k, v in data.items()}
    if isinstance(data, list):
        return [_with(v, text, count) for v in data]
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


@pytest.mark.parametrize("framing", ["sse", "ndjson"])
@given(text=TEXT, count=st.integers(0, 2**40))
def test_a_count_after_the_text_is_cut_out_too(framing: str, text: str, count: int) -> None:
    data = {
        "type": "response.output_text.delta",
        "delta": PLAIN_HOLE,
        "logprobs": [],
        "sequence_number": PLAIN_COUNT,
    }
    before, between, after = around_text(framing, "response.output_text.delta", data)  # type: ignore[misc]
    whole = before + orjson.dumps(text) + between + b"%d" % count + after
    assert whole == frame(framing, "response.output_text.delta", _with(data, text, count))


def test_no_cut_for_a_count_before_the_text_or_twice() -> None:
    assert around_text("sse", None, {"n": PLAIN_COUNT, "delta": PLAIN_HOLE}) is None
    assert around_text("sse", None, {"delta": PLAIN_HOLE, "n": PLAIN_COUNT, "m": PLAIN_COUNT}) is None
