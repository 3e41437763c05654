"""Typed readers of a Responses event's fields, for the normalizer: each returns the field's value,
or raises a DataError that names the event, the field and what it held instead."""

from __future__ import annotations

from typing import Any

from ...errors import DataError


def _object(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise DataError(f"{data.get('type')}: '{key}' is {_kind(value)}, expected an object")
    return value


def _string(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise DataError(f"{data.get('type')}: '{key}' is {_kind(value)}, expected a string")
    return value


def _kind(value: Any) -> str:
    return "missing" if value is None else f"a {type(value).__name__}"


def _text(data: dict[str, Any], key: str) -> str | None:
    """An optional string field (ids, names, models)."""
    value = data.get(key)
    if value is None or isinstance(value, str):
        return value
    raise DataError(f"{_where(data)}: '{key}' is {_kind(value)}, expected a string")


def _index(data: dict[str, Any], key: str) -> int | None:
    """An optional index field (output_index, content_index, summary_index)."""
    value = data.get(key)
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise DataError(f"{_where(data)}: '{key}' is {_kind(value)}, expected an integer")


def _list(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    if isinstance(value, list):
        return value
    raise DataError(f"{_where(data)}: '{key}' is {_kind(value)}, expected a list")


def _where(data: dict[str, Any]) -> str:
    kind = data.get("type")
    return kind if isinstance(kind, str) else "an event"
