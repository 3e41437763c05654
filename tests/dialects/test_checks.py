"""The checked readers the request parsers share: each gives back a value of its type, null as
the default where one is given, and for anything else a UsageError naming the dialect, the field
and the kind of value it got."""

from __future__ import annotations

from typing import Any

import pytest

from streamkit.dialects.checks import Checks, kind_of, label, quote
from streamkit.errors import UsageError

CHECK = Checks("test")
HUGE = "x" * 1_000_000

#: one value of each JSON kind, and how a message names it
KINDS: dict[str, Any] = {
    "null": None,
    "a boolean": True,
    "a number": 1.5,
    "a string": "s",
    "a list": [1],
    "an object": {"a": 1},
}


def wrong(reader: Any, value: Any, message: str, **options: Any) -> None:
    with pytest.raises(UsageError) as info:
        reader(value, "messages[3].content", **options)
    assert str(info.value) == f"test request: messages[3].content {message}"


def others(*kinds: str) -> list[tuple[str, Any]]:
    """The JSON kinds but these (the values a reader refuses)."""
    return [(name, value) for name, value in KINDS.items() if name not in kinds]


# --- what messages say -----------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "value"), [*KINDS.items(), ("a number", 7), ("a boolean", False)])
def test_kind_of_names_each_json_kind(name: str, value: Any) -> None:
    assert kind_of(value) == name


def test_quote_is_the_repr_cut_to_40_characters() -> None:
    assert quote("wizard") == "'wizard'"
    assert quote(None) == "None"
    assert quote(1.5) == "1.5"
    assert quote({"type": 1}) == "{'type': 1}"
    assert quote(HUGE) == "'" + "x" * 36 + "..."
    assert len(quote(list(range(100_000)))) == 40
    assert quote("y" * 38) == "'" + "y" * 38 + "'"  # exactly 40: not cut


def test_label_is_the_string_cut_to_40_characters_else_untyped() -> None:
    assert label("web_search") == "web_search"
    assert label("z" * 40) == "z" * 40
    assert label(HUGE) == "x" * 37 + "..."
    for value in (None, 3, ["web_search"], {"type": "x"}):
        assert label(value) == "untyped"


def test_fail_names_the_dialect_and_the_field() -> None:
    error = CHECK.fail("tools[0].name", "must be a tool's name")
    assert isinstance(error, UsageError)
    assert str(error) == "test request: tools[0].name must be a tool's name"


def test_the_body_must_be_an_object() -> None:
    body = {"model": "m"}
    assert CHECK.body(body) is body
    for name, value in others("an object"):
        with pytest.raises(UsageError, match=f"^test request: the body must be a JSON object, not {name}$"):
            CHECK.body(value)


# --- the readers -----------------------------------------------------------------------------------


def test_string() -> None:
    assert CHECK.string("hi", "f") == "hi"
    assert CHECK.string("", "f") == ""
    assert CHECK.string(None, "f", default=None) is None
    assert CHECK.string(None, "f", default="") == ""
    for name, value in others("a string"):
        wrong(CHECK.string, value, f"must be a string, not {name}")
    wrong(CHECK.string, 1, "must be a string, not a number", default="")  # a default is for null only


def test_list() -> None:
    items = [1, "two"]
    assert CHECK.list(items, "f") is items
    assert CHECK.list(None, "f", default=[]) == []
    for name, value in others("a list"):
        wrong(CHECK.list, value, f"must be a list, not {name}")
    wrong(CHECK.list, {}, "must be a list, not an object", default=[])


def test_object() -> None:
    value = {"a": 1}
    assert CHECK.object(value, "f") is value
    assert CHECK.object(None, "f", default={}) == {}
    assert CHECK.object(None, "f", default=None) is None
    for name, other in others("an object"):
        wrong(CHECK.object, other, f"must be an object, not {name}")
    wrong(CHECK.object, [], "must be an object, not a list", default={})


def test_string_or_list() -> None:
    assert CHECK.string_or_list("hi", "f", "parts") == "hi"
    assert CHECK.string_or_list([{"type": "text"}], "f", "parts") == [{"type": "text"}]
    assert CHECK.string_or_list(None, "f", "parts", default="") == ""
    for name, value in others("a string", "a list"):
        wrong(CHECK.string_or_list, value, f"must be a string or a list of content blocks, not {name}",
              items="content blocks")  # fmt: skip


def test_boolean() -> None:
    assert CHECK.boolean(True, "f") is True
    assert CHECK.boolean(False, "f") is False
    assert CHECK.boolean(None, "f", default=None) is None
    for name, value in [*others("a boolean"), ("a number", 0), ("a number", 1)]:
        wrong(CHECK.boolean, value, f"must be a boolean, not {name}")


def test_number() -> None:
    assert CHECK.number(0.5, "f") == 0.5
    assert CHECK.number(2, "f") == 2
    assert CHECK.number(-1e300, "f") == -1e300
    assert CHECK.number(None, "f", default=None) is None
    for name, value in [*others("a number"), ("a boolean", False)]:
        wrong(CHECK.number, value, f"must be a number, not {name}")


def test_integer() -> None:
    assert CHECK.integer(3, "f") == 3
    assert CHECK.integer(-1, "f") == -1
    assert CHECK.integer(2**70, "f") == 2**70
    assert CHECK.integer(None, "f", default=None) is None
    for name, value in others("a number"):
        wrong(CHECK.integer, value, f"must be an integer, not {name}")
    wrong(CHECK.integer, False, "must be an integer, not a boolean")
    wrong(CHECK.integer, 1.5, "must be an integer, not 1.5")
    wrong(CHECK.integer, 2.0, "must be an integer, not 2.0")  # a float is not one...
    wrong(CHECK.integer, 1e300, "must be an integer, not 1e+300")


def test_integer_with_whole_floats() -> None:
    """...unless the API takes a float that is a whole number (protobuf's JSON, Ollama), given back
    as the integer it is."""
    value = CHECK.integer(2.0, "f", whole_floats=True)
    assert value == 2 and type(value) is int
    assert CHECK.integer(7, "f", whole_floats=True) == 7
    wrong(CHECK.integer, 2.5, "must be an integer, not 2.5", whole_floats=True)
    wrong(CHECK.integer, float("inf"), "must be an integer, not inf", whole_floats=True)
    wrong(CHECK.integer, float("nan"), "must be an integer, not nan", whole_floats=True)
    wrong(CHECK.integer, True, "must be an integer, not a boolean", whole_floats=True)
    wrong(CHECK.integer, "2", "must be an integer, not a string", whole_floats=True)


@pytest.mark.parametrize(
    ("reader", "message"),
    [
        (CHECK.string, "must be a string, not a list"),
        (CHECK.object, "must be an object, not a list"),
        (CHECK.boolean, "must be a boolean, not a list"),
        (CHECK.number, "must be a number, not a list"),
        (CHECK.integer, "must be an integer, not a list"),
    ],
)
def test_a_huge_value_is_named_by_its_kind_never_quoted(reader: Any, message: str) -> None:
    wrong(reader, [HUGE] * 10, message)
