"""Checked readers of a request's JSON, for the dialects' request parsers (each ``parse.py``).

A client's request body is JSON that someone else wrote. A reader takes a value and the field it
came from (``messages[2].content[0].text``), and gives the value back when it has the type the
field wants; else it raises :class:`~streamkit.errors.UsageError` naming the field and the kind of
value it got, which ``serve`` answers with a 400 in the client's dialect::

    ollama request: messages[0].content must be a string, not a list

A value quoted in a message (a role, a type nobody knows) is cut to at most 40 characters: a
request may hold anything, of any size. Null is a wrong type like any other, unless the reader
is given a ``default``: then null (or the field absent, as ``body.get(key)`` gives it) is that
default, the rule of most optional fields.

The readers are the methods of a :class:`Checks` made once per dialect, which names the dialect
in front of every message::

    _check = Checks("ollama")
    model = _check.string(body.get("model"), "model")
    tools = _check.list(body.get("tools"), "tools", default=[])
"""

from __future__ import annotations

from typing import Any, TypeVar, overload

from ..errors import UsageError

#: the most characters of a client's value that a message quotes
LIMIT = 40

_D = TypeVar("_D")
# the types the readers give back (aliases: the methods ``list`` and ``object`` would hide the
# builtins in the class's annotations)
_List = list[Any]
_Object = dict[str, Any]


class _Required:
    """The ``default`` of a reader that takes no null."""


_REQUIRED: Any = _Required()


def kind_of(value: Any) -> str:
    """What a JSON value is, as a message names it: ``null``, ``a boolean``, ``a number``,
    ``a string``, ``a list`` or ``an object``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def quote(value: Any) -> str:
    """A client's value in a message: its ``repr``, at most 40 characters (``...`` where cut)."""
    text = repr(value[:LIMIT] if isinstance(value, str) else value)
    return text if len(text) <= LIMIT else text[: LIMIT - 3] + "..."


def label(value: Any) -> str:
    """A type the client named (of a block, a part, a tool), as ``dropped`` lists it: the string,
    at most 40 characters (``...`` where cut); ``untyped`` when it is not a string."""
    if not isinstance(value, str):
        return "untyped"
    return value if len(value) <= LIMIT else value[: LIMIT - 3] + "..."


class Checks:
    """The checked readers of one dialect's requests: each message begins ``<dialect> request:``."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect

    def fail(self, field: str, message: str) -> UsageError:
        """The error about ``field`` (for the caller to raise): ``<dialect> request: <field> <message>``."""
        return UsageError(f"{self.dialect} request: {field} {message}")

    def _read(self, value: Any, field: str, types: type | tuple[type, ...], what: str, default: Any) -> Any:
        """``value`` when it is of ``types`` (a boolean only when they are ``bool``: JSON's true is no
        number), or null when there is a ``default``: that default; else "must be <what>, not <kind>"."""
        if value is None and default is not _REQUIRED:
            return default
        if not isinstance(value, types) or (isinstance(value, bool) and types is not bool):
            raise self.fail(field, f"must be {what}, not {kind_of(value)}")
        return value

    def body(self, value: Any) -> _Object:
        """The request body, which must be a JSON object."""
        return self._read(value, "the body", dict, "a JSON object", _REQUIRED)

    @overload
    def string(self, value: Any, field: str) -> str: ...
    @overload
    def string(self, value: Any, field: str, *, default: _D) -> str | _D: ...
    def string(self, value: Any, field: str, *, default: Any = _REQUIRED) -> Any:
        """A string."""
        return self._read(value, field, str, "a string", default)

    @overload
    def list(self, value: Any, field: str) -> _List: ...
    @overload
    def list(self, value: Any, field: str, *, default: _D) -> _List | _D: ...
    def list(self, value: Any, field: str, *, default: Any = _REQUIRED) -> Any:
        """A list (its items are the caller's to check, each named ``field[i]``)."""
        return self._read(value, field, list, "a list", default)

    @overload
    def object(self, value: Any, field: str) -> _Object: ...
    @overload
    def object(self, value: Any, field: str, *, default: _D) -> _Object | _D: ...
    def object(self, value: Any, field: str, *, default: Any = _REQUIRED) -> Any:
        """An object."""
        return self._read(value, field, dict, "an object", default)

    @overload
    def string_or_list(self, value: Any, field: str, items: str) -> str | _List: ...
    @overload
    def string_or_list(self, value: Any, field: str, items: str, *, default: _D) -> str | _List | _D: ...
    def string_or_list(self, value: Any, field: str, items: str, *, default: Any = _REQUIRED) -> Any:
        """A string or a list (content given as text, or as ``items``: "parts", "content blocks")."""
        return self._read(value, field, (str, list), f"a string or a list of {items}", default)

    @overload
    def boolean(self, value: Any, field: str) -> bool: ...
    @overload
    def boolean(self, value: Any, field: str, *, default: _D) -> bool | _D: ...
    def boolean(self, value: Any, field: str, *, default: Any = _REQUIRED) -> Any:
        """``true`` or ``false``."""
        return self._read(value, field, bool, "a boolean", default)

    @overload
    def number(self, value: Any, field: str) -> int | float: ...
    @overload
    def number(self, value: Any, field: str, *, default: _D) -> int | float | _D: ...
    def number(self, value: Any, field: str, *, default: Any = _REQUIRED) -> Any:
        """A number, whole or not (a boolean is not one)."""
        return self._read(value, field, (int, float), "a number", default)

    @overload
    def integer(
        self, value: Any, field: str, *, whole_floats: bool = False, bits: int | None = None
    ) -> int: ...
    @overload
    def integer(
        self, value: Any, field: str, *, whole_floats: bool = False, bits: int | None = None, default: _D
    ) -> int | _D: ...
    def integer(
        self,
        value: Any,
        field: str,
        *,
        whole_floats: bool = False,
        bits: int | None = None,
        default: Any = _REQUIRED,
    ) -> Any:
        """An integer (a boolean is not one). ``whole_floats``: a float with nothing after the point
        (``2.0``) is taken, as that integer, where the API takes one (protobuf's JSON, Ollama's).
        ``bits``: the integer must fit a signed integer of that size (protobuf's ``int32`` fields:
        ``1e23`` is a whole float, and no ``maxOutputTokens``)."""
        value = self._read(value, field, (int, float), "an integer", default)
        if isinstance(value, float):
            if not (whole_floats and value.is_integer()):
                raise self.fail(field, f"must be an integer, not {quote(value)}")
            number = int(value)
        else:
            number = value
        if bits is not None and not -(2 ** (bits - 1)) <= number < 2 ** (bits - 1):
            raise self.fail(field, f"must be an integer of at most {bits} bits, not {quote(value)}")
        return number
