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


def test_ndjson_error_names_the_line_after_the_values_before_it() -> None:
    decoder = NDJSONDecoder()
    assert decoder.feed(b'{"a":1}\n\n{"a":\n{"a":3}\n') == [{"a": 1}]  # in the same read
    for call in (lambda: decoder.feed(b'{"a":4}\n'), decoder.close, decoder.close):  # and for good
        with pytest.raises(DataError, match="line 3: invalid JSON"):
            call()
    with pytest.raises(DataError, match="line 1: not JSON"):
        NDJSONDecoder().feed(b"nope\n")  # nothing good before it: at once


def test_ndjson_blank_lines_anywhere_in_a_read_are_skipped() -> None:
    decoder = NDJSONDecoder()
    assert decoder.feed(b'\n{"a":1}\n \r\n\n{"a":2}\r\n\t\n') == [{"a": 1}, {"a": 2}]
    assert decoder.feed(b'\n{"a":3}\nnope\n') == [{"a": 3}]  # the line count goes on across reads
    with pytest.raises(DataError, match="line 9: not JSON"):
        decoder.close()


def test_json_array_error_after_the_elements_before_it() -> None:
    decoder = JSONArrayDecoder()
    assert decoder.feed(b'[{"a": 1}, {"a": x}, {"a": 3}]') == [{"a": 1}]
    with pytest.raises(DataError, match=r"invalid JSON \(.*\) in the array element at byte 11"):
        decoder.close()
    decoder = JSONArrayDecoder()
    assert decoder.feed(b'[{"a": 1},\n 5]') == [{"a": 1}]
    with pytest.raises(DataError, match="expected an object in the JSON array at byte 12"):
        decoder.feed(b"")


@pytest.mark.parametrize("step", [1, 2, 3, 100])
def test_a_leading_byte_order_mark_is_skipped(step: int) -> None:
    values = [{"a": 1}, {"b": "\ufeff"}]  # U+FEFF inside a string is data
    ndjson = b"\xef\xbb\xbf" + b"".join(orjson.dumps(v) + b"\n" for v in values)
    assert feed_all(NDJSONDecoder(), ndjson, step) == values
    array = b"\xef\xbb\xbf\r\n[" + b",".join(orjson.dumps(v) for v in values) + b"]"
    assert feed_all(JSONArrayDecoder(), array, step) == values


def test_a_byte_order_mark_elsewhere_is_bad_input() -> None:
    with pytest.raises(DataError, match=r"line 2: a byte-order mark \(BOM\) inside the stream"):
        feed_all(NDJSONDecoder(), b'{"a":1}\n\xef\xbb\xbf{"a":2}\n', 100)
    with pytest.raises(DataError, match="expected a JSON array at byte 0"):
        feed_all(JSONArrayDecoder(), b"\xef\xbb[{}]", 100)  # two thirds of a mark is not one
    with pytest.raises(DataError, match="line 1: invalid UTF-8"):
        feed_all(NDJSONDecoder(), b"\xef\xbb", 1)


def test_detect_and_frame() -> None:
    assert detect(b"\xef\xbb\xbf  [{") == "json-array"
    assert detect(b'\n{"a":1}') == "ndjson"
    assert detect(b": comment\ndata: x") == "sse"
    assert frame("sse", "x", {"a": 1}) == b'event: x\ndata: {"a":1}\n\n'
    assert frame("ndjson", None, {"a": 1}) == b'{"a":1}\n'
