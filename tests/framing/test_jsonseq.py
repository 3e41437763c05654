"""NDJSON and streamed JSON-array framings, fed in any split."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamkit.errors import DataError
from streamkit.framing import detect, frame
from streamkit.framing.jsonseq import JSONArrayDecoder, NDJSONDecoder

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**63 - 1) | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
objects = st.lists(st.dictionaries(st.text(max_size=6), json_values, max_size=4), max_size=6)


def feed_all(decoder, data: bytes, step: int) -> list:
    out = []
    for i in range(0, len(data), step):
        out += decoder.feed(data[i : i + step])
    return out + decoder.close()


@given(objects, st.integers(min_value=1, max_value=23))
def test_json_array_any_split(values: list, step: int) -> None:
    data = b"[" + b",\r\n".join(orjson.dumps(v) for v in values) + b"]"
    assert feed_all(JSONArrayDecoder(), data, step) == values


@given(objects, st.integers(min_value=1, max_value=23))
def test_ndjson_any_split(values: list, step: int) -> None:
    data = b"".join(orjson.dumps(v) + b"\n\n" for v in values)
    assert feed_all(NDJSONDecoder(), data, step) == values


def test_json_array_strings_with_brackets_and_escapes() -> None:
    values = [{"t": 'a "[quoted]" }{ \\'}, {"n": [1, [2, {"x": "]"}]]}]
    data = orjson.dumps(values)
    assert feed_all(JSONArrayDecoder(), data, 1) == values


def test_json_array_errors() -> None:
    with pytest.raises(DataError, match="expected a JSON array"):
        JSONArrayDecoder().feed(b'{"a":1}')
    decoder = JSONArrayDecoder()
    decoder.feed(b'[{"a": 1}, {"b": ')
    with pytest.raises(DataError, match="ends inside an element"):
        decoder.close()


def test_ndjson_error_names_the_line() -> None:
    with pytest.raises(DataError, match="line 2: invalid JSON"):
        NDJSONDecoder().feed(b'{"a":1}\n{"a":\n')


def test_detect_and_frame() -> None:
    assert detect(b"\xef\xbb\xbf  [{") == "json-array"
    assert detect(b'\n{"a":1}') == "ndjson"
    assert detect(b": comment\ndata: x") == "sse"
    assert frame("sse", "x", {"a": 1}) == b'event: x\ndata: {"a":1}\n\n'
    assert frame("ndjson", None, {"a": 1}) == b'{"a":1}\n'
