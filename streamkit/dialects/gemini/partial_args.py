"""Vertex's streamed function-call arguments (``partialArgs``: values addressed by JSON path) →
the arguments' JSON text, written as the values arrive (for the normalizer's ``tool-input-delta``)."""

from __future__ import annotations

import re
from typing import Any

from ...errors import DataError
from .wire import _dumps

_PATH_TOKEN = re.compile(
    r"\.([^.\[\]]+)|\[(\d+)\]|\[\s*'((?:[^'\\]|\\.)*)'\s*\]|\[\s*\"((?:[^\"\\]|\\.)*)\"\s*\]"
)


def parse_json_path(path: str) -> list[str | int]:
    """``$.recipe.ingredients[0].name`` → ``["recipe", "ingredients", 0, "name"]``."""
    if not isinstance(path, str) or not path.startswith("$"):
        raise DataError(f"partialArgs jsonPath {path!r} does not start with '$'")
    segments: list[str | int] = []
    pos = 1
    while pos < len(path):
        match = _PATH_TOKEN.match(path, pos)
        if match is None:
            raise DataError(f"cannot read the partialArgs jsonPath {path!r} at character {pos}")
        key, index, single, double = match.groups()
        if index is not None:
            segments.append(int(index))
        else:
            segments.append(key if key is not None else (single if single is not None else double))
        pos = match.end()
    return segments


class _Level:
    """An open container of the JSON text being written."""

    __slots__ = ("count", "is_array", "keys", "segment")

    def __init__(self, segment: str | int | None, is_array: bool) -> None:
        self.segment = segment
        self.is_array = is_array
        self.count = 0
        self.keys: set[str] = set()


class PartialArgs:
    """Vertex's ``partialArgs`` (values addressed by JSON path) → the arguments' JSON text, in order.

    ``feed`` returns the JSON text the new values add (a ``tool-input-delta``); ``close`` the text
    that ends it and the whole arguments. The object assembled from every path is kept alongside,
    so that arguments whose paths arrive out of document order still come out right (the deltas
    stop at the first such path).
    """

    def __init__(self) -> None:
        self.tree: dict[str, Any] = {}
        self.stack: list[_Level] = []  # open containers, the root object first
        self.open_string: tuple[str | int, ...] | None = None  # path of the string being written
        self.closed: set[tuple[str | int, ...]] = set()  # containers already ended
        self.frags: list[str] = []
        self.in_order = True

    def feed(self, partial_args: Any) -> str:
        if not isinstance(partial_args, list):
            raise DataError(f"functionCall.partialArgs is a {type(partial_args).__name__}, expected a list")
        out: list[str] = []
        for arg in partial_args:
            if not isinstance(arg, dict):
                raise DataError(f"a partialArgs entry is a {type(arg).__name__}, expected an object")
            self._arg(arg, out)
        text = "".join(out)
        if not self.in_order:
            return ""
        self.frags.append(text)
        return text

    def close(self, complete: bool = True) -> tuple[str, str]:
        """The text that ends the JSON (closing quote and brackets), and the whole arguments.

        With ``complete`` false (the stream was cut off inside the call) nothing is added: the
        arguments are the text received so far, which is not valid JSON.
        """
        if not self.in_order:
            return "", _dumps(self.tree)
        if not complete:
            return "", "".join(self.frags)
        out: list[str] = []
        if self.open_string is not None:
            out.append('"')
            self.open_string = None
        if not self.stack:
            out.append("{}")
        while self.stack:
            out.append("]" if self.stack.pop().is_array else "}")
        text = "".join(out)
        self.frags.append(text)
        return text, "".join(self.frags)

    def _arg(self, arg: dict[str, Any], out: list[str]) -> None:
        segments = parse_json_path(arg.get("jsonPath", ""))
        if not segments:
            return  # the root itself: nothing to place
        path = tuple(segments)
        more = bool(arg.get("willContinue"))
        if "stringValue" in arg and arg["stringValue"] is not None:
            value: Any = str(arg["stringValue"])
            if self.open_string == path:  # the string being written goes on
                self._set(segments, value, append=True)
                out.append(_dumps(value)[1:-1])
                if not more:
                    out.append('"')
                    self.open_string = None
                return
            json_text = _dumps(value)
            if more:
                json_text = json_text[:-1]  # the closing quote comes when the string ends
        elif "numberValue" in arg and arg["numberValue"] is not None:
            value = arg["numberValue"]
            json_text = _dumps(value)
        elif "boolValue" in arg and arg["boolValue"] is not None:
            value = bool(arg["boolValue"])
            json_text = _dumps(value)
        elif "nullValue" in arg:
            value = None
            json_text = "null"
        else:
            return  # no value: a continuation marker
        appended = self._set(segments, value, append="stringValue" in arg)
        if appended:  # more of a string whose end was already written: out of order
            self.in_order = False
        if not self.in_order:
            return
        if self.open_string is not None:
            out.append('"')
            self.open_string = None
        if not self._navigate(segments, out):
            self.in_order = False
            return
        out.append(json_text)
        if "stringValue" in arg and more:
            self.open_string = path

    def _navigate(self, segments: list[str | int], out: list[str]) -> bool:
        """Write the text from the current position to the new leaf's key; False if out of order."""
        if not self.stack:
            self.stack.append(_Level(None, False))
            out.append("{")
        container = segments[:-1]
        common = 0
        while (
            common < len(container)
            and common + 1 < len(self.stack)
            and self.stack[common + 1].segment == container[common]
        ):
            common += 1
        # end the containers the new path leaves
        path_of_stack = [lvl.segment for lvl in self.stack[1:] if lvl.segment is not None]
        while len(self.stack) > common + 1:
            level = self.stack.pop()
            self.closed.add(tuple(path_of_stack[: len(self.stack)]))
            out.append("]" if level.is_array else "}")
        # open the containers it enters
        for depth in range(common, len(container)):
            if tuple(container[: depth + 1]) in self.closed:
                return False
            if not self._key(self.stack[-1], container[depth], out):
                return False
            child = container[depth + 1] if depth + 1 < len(container) else segments[-1]
            is_array = isinstance(child, int)
            out.append("[" if is_array else "{")
            self.stack.append(_Level(container[depth], is_array))
        return self._key(self.stack[-1], segments[-1], out)

    @staticmethod
    def _key(level: _Level, segment: str | int, out: list[str]) -> bool:
        if level.is_array:
            if segment != level.count:  # arrays are written index after index
                return False
        else:
            if not isinstance(segment, str) or segment in level.keys:
                return False
            level.keys.add(segment)
        if level.count:
            out.append(",")
        level.count += 1
        if isinstance(segment, str):
            out.append(_dumps(segment) + ":")
        return True

    def _set(self, segments: list[str | int], value: Any, *, append: bool) -> bool:
        """Place a value in the tree; True when it extended a string already there."""
        node: Any = self.tree
        for depth, segment in enumerate(segments[:-1]):
            child_is_array = isinstance(segments[depth + 1], int)
            node = self._child(node, segment, [] if child_is_array else {})
        leaf = segments[-1]
        if isinstance(node, list):
            if not isinstance(leaf, int):
                raise DataError("partialArgs: a key inside an array")
            while len(node) <= leaf:
                node.append(None)
            if append and isinstance(node[leaf], str):
                node[leaf] += value
                return True
            node[leaf] = value
            return False
        if not isinstance(node, dict) or not isinstance(leaf, str):
            raise DataError("partialArgs: an index inside an object")
        if append and isinstance(node.get(leaf), str):
            node[leaf] += value
            return True
        node[leaf] = value
        return False

    @staticmethod
    def _child(node: Any, segment: str | int, empty: Any) -> Any:
        if isinstance(node, list):
            if not isinstance(segment, int):
                raise DataError("partialArgs: a key inside an array")
            while len(node) <= segment:
                node.append(None)
            if node[segment] is None:
                node[segment] = empty
            return node[segment]
        if not isinstance(node, dict) or not isinstance(segment, str):
            raise DataError("partialArgs: an index inside an object")
        if node.get(segment) is None:
            node[segment] = empty
        return node[segment]
