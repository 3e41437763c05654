"""Vertex's streamed function-call arguments: ``partialArgs`` (values by JSON path) give the
arguments' JSON text as they arrive, whatever the arguments, and the right object even out of order."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamkit.dialects.gemini import PartialArgs, parse_json_path
from streamkit.errors import DataError


def test_paths_out_of_document_order_still_give_the_right_arguments() -> None:
    args = PartialArgs()
    text = args.feed([{"jsonPath": "$.a.x", "numberValue": 1}, {"jsonPath": "$.b", "numberValue": 2}])
    assert text == '{"a":{"x":1},"b":2'
    assert args.feed([{"jsonPath": "$.a.y", "numberValue": 3}]) == ""  # back into a closed object
    tail, arguments = args.close()
    assert tail == ""
    assert orjson.loads(arguments) == {"a": {"x": 1, "y": 3}, "b": 2}


def test_more_of_a_string_already_ended_builds_the_arguments_from_every_value() -> None:
    args = PartialArgs()
    pieces = [
        [{"jsonPath": "$.a", "stringValue": "x", "willContinue": True}],
        [{"jsonPath": "$.a", "stringValue": "y", "willContinue": True}],
        [{"jsonPath": "$.a", "stringValue": "z"}],
        [{"jsonPath": "$.b[0]", "numberValue": 1}],
    ]
    assert "".join(args.feed(batch) for batch in pieces) == '{"a":"xyz","b":[1'
    assert args.feed([{"jsonPath": "$.a", "stringValue": "!"}]) == ""  # the string "a" had ended
    assert args.feed([{"jsonPath": "$.b[1]", "boolValue": True}]) == ""
    assert orjson.loads(args.close()[1]) == {"a": "xyz!", "b": [1, True]}


def test_a_path_back_while_a_string_is_open_keeps_every_value_so_far() -> None:
    # the order breaks inside a fragment, with a string open and a value of the same fragment
    # already written: the object is read back from all of that
    args = PartialArgs()
    assert args.feed([{"jsonPath": "$.a.x", "numberValue": 1.5}]) == '{"a":{"x":1.5'
    assert args.feed([{"jsonPath": "$.b", "stringValue": 'h"e', "willContinue": True}]) == '},"b":"h\\"e'
    both = [{"jsonPath": "$.c[0]", "nullValue": None}, {"jsonPath": "$.a.y", "stringValue": "z"}]
    assert args.feed([{"jsonPath": "$.b", "stringValue": "ll", "willContinue": True}]) == "ll"
    assert args.feed(both) == ""
    assert args.feed([{"jsonPath": "$.b", "stringValue": "o"}]) == ""
    assert orjson.loads(args.close()[1]) == {"a": {"x": 1.5, "y": "z"}, "b": 'h"ello', "c": [None]}


@pytest.mark.parametrize(
    "piece", ["plain", "", 'a "quote"', "back\\slash", "tab\there", "\x7f", "\u2028", "é 😀", "\x01"]
)
def test_a_string_piece_is_written_as_json_writes_it(piece: str) -> None:
    args = PartialArgs()
    text = args.feed([{"jsonPath": "$.a", "stringValue": piece, "willContinue": True}])
    text += args.feed([{"jsonPath": "$.a", "stringValue": piece, "willContinue": True}])
    text += args.feed([{"jsonPath": "$.a", "stringValue": piece}])
    text += args.feed([{"jsonPath": "$.b", "stringValue": piece}])
    text += args.close()[0]
    assert text == orjson.dumps({"a": piece * 3, "b": piece}).decode()


def test_a_path_that_clashes_with_what_was_written_is_a_data_error() -> None:
    args = PartialArgs()
    args.feed([{"jsonPath": "$.a[0]", "numberValue": 1}])
    with pytest.raises(DataError, match="key inside an array"):
        args.feed([{"jsonPath": "$.a.b", "numberValue": 2}])


def test_a_string_deeper_or_higher_than_the_open_container_is_written_where_it_goes() -> None:
    args = PartialArgs()
    # three levels in; the same string, its path spelt otherwise; back up, with the string open
    pieces = [
        [{"jsonPath": "$.recipe.items[0].name", "stringValue": "a", "willContinue": True}],
        [{"jsonPath": "$['recipe'].items[0]['name']", "stringValue": "b", "willContinue": True}],
        [{"jsonPath": "$.recipe.title", "stringValue": "t", "willContinue": True}],
        [{"jsonPath": "$.recipe.title", "stringValue": ""}],
    ]
    assert [args.feed(batch) for batch in pieces] == [
        '{"recipe":{"items":[{"name":"a',
        "b",
        '"}],"title":"t',
        '"',
    ]
    assert args.close() == ("}}", '{"recipe":{"items":[{"name":"ab"}],"title":"t"}}')


@pytest.mark.parametrize(
    ("path", "segments"),
    [
        ("$.a", ["a"]),
        ("$.recipe.ingredients[0].name", ["recipe", "ingredients", 0, "name"]),
        ("$.m[1][2]", ["m", 1, 2]),
        ("$['a.b'].c", ["a.b", "c"]),
        ('$["q"]', ["q"]),
    ],
)
def test_json_paths(path: str, segments: list[Any]) -> None:
    assert parse_json_path(path) == segments


def test_a_json_path_it_cannot_read_is_a_data_error() -> None:
    with pytest.raises(DataError, match="jsonPath"):
        parse_json_path("recipe.name")


_scalars = st.one_of(
    st.text(max_size=12),
    st.integers(-1000, 1000),
    st.booleans(),
    st.none(),
    st.floats(-10, 10, allow_nan=False),
)
_keys = st.text(alphabet="abcxyz_.- 0é", min_size=1, max_size=6)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3), st.dictionaries(_keys, inner, min_size=1, max_size=3)
    ),
    max_leaves=12,
)


def _leaves(value: Any, path: str) -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in _leaves(v, f"{path}['{k}']")]
    if isinstance(value, list):
        return [leaf for i, v in enumerate(value) for leaf in _leaves(v, f"{path}[{i}]")]
    return [(path, value)]


def _partial_args(value: dict[str, Any], size: int) -> list[list[dict[str, Any]]]:
    """The partialArgs a server would send for ``value``: leaves in document order, strings in pieces."""
    out: list[list[dict[str, Any]]] = []
    for path, leaf in _leaves(value, "$"):
        if isinstance(leaf, str) and size:
            for i in range(0, len(leaf), size):
                out.append([{"jsonPath": path, "stringValue": leaf[i : i + size], "willContinue": True}])
            out.append([{"jsonPath": path, "stringValue": ""}])
        elif isinstance(leaf, str):
            out.append([{"jsonPath": path, "stringValue": leaf}])
        elif isinstance(leaf, bool):
            out.append([{"jsonPath": path, "boolValue": leaf}])
        elif leaf is None:
            out.append([{"jsonPath": path, "nullValue": None}])
        else:
            out.append([{"jsonPath": path, "numberValue": leaf}])
    return out


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(_keys, _values, min_size=1, max_size=4), st.integers(0, 4))
def test_any_arguments_streamed_as_paths_give_their_json(value: dict[str, Any], size: int) -> None:
    args = PartialArgs()
    text = "".join(args.feed(batch) for batch in _partial_args(value, size))
    tail, arguments = args.close()
    assert text + tail == arguments == orjson.dumps(value).decode()
