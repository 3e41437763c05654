"""Vertex's streamed function-call arguments (``partialArgs``: values addressed by JSON path) →
the arguments' JSON text, written as the values arrive (for the normalizer's ``tool-input-delta``).

A fragment costs about its own length: the path of a string being continued is compared as the
string it came as (never parsed again), parsed paths are remembered with their container, so a
string that starts at one of the usual next places (the next entry of the innermost open
container, the first key, the first entry of a new container beside the innermost one) is
written without walking the open containers, and the text is kept as a list of pieces joined
once. The object assembled from every path, needed only when paths come out of document order,
is read from the text written so far when that first happens (nothing is logged on the way).
"""

from __future__ import annotations

import re
from typing import Any

from orjson import dumps, loads

from ...errors import DataError

_PATH_TOKEN = re.compile(
    r"\.([^.\[\]]+)|\[(\d+)\]|\[\s*'((?:[^'\\]|\\.)*)'\s*\]|\[\s*\"((?:[^\"\\]|\\.)*)\"\s*\]"
)


def parse_json_path(path: Any) -> list[str | int]:
    """``$.recipe.ingredients[0].name`` → ``["recipe", "ingredients", 0, "name"]``. (``path`` is
    whatever the wire held: anything but a string is refused here, in words.)"""
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


Path = tuple[str | int, ...]

# jsonPath -> its segments: a call's paths come twice or more (a string's first piece and its
# end), and the calls of one tool repeat the same paths
_PATHS: dict[str, Path] = {}
_PATHS_KEPT = 4096
_KEYS: dict[str, str] = {}  # an object key -> its JSON text and colon (the keys of _PATHS's paths)
# jsonPath -> its segments, the segments of its container, the text that starts its value in
# that container when it is an object (the key's JSON text and colon; None in an array), the
# same for the container in its own container, and its last segment
_Place = tuple[Path, Path, str | None, str | None, str | int]
_PLACES: dict[str, _Place] = {}


def _segments(path: Any) -> Path:
    if type(path) is str:
        found = _PATHS.get(path)
        if found is not None:
            return found
        segments = tuple(parse_json_path(path))
        if len(_PATHS) >= _PATHS_KEPT:
            _PATHS.clear()
            _KEYS.clear()
            _PLACES.clear()
        _PATHS[path] = segments
        return segments
    return tuple(parse_json_path(path))  # raises: a jsonPath that is not a string


def _place(path: str) -> _Place | None:
    """The jsonPath's entry of _PLACES, made on its first use (raises for a path it cannot read;
    None for the root, ``$``, which is no place a value can go)."""
    segments = _segments(path)
    if not segments:
        return None
    place = _PLACES[path] = (
        segments,
        segments[:-1],
        _key(segments[-1]),
        _key(segments[-2]) if len(segments) > 1 else None,
        segments[-1],
    )
    return place


def _key(segment: str | int) -> str | None:
    """An object key's JSON text and colon (None for an array index)."""
    if type(segment) is not str:
        return None
    key = _KEYS.get(segment)
    if key is None:
        key = _KEYS[segment] = dumps(segment).decode() + ":"
    return key


class _Level:
    """An open container of the JSON text being written."""

    __slots__ = ("count", "is_array", "keys", "segment")

    def __init__(self, segment: str | int | None, is_array: bool) -> None:
        self.segment = segment  # its key or index in its parent (None for the root)
        self.is_array = is_array
        self.count = 0
        self.keys: set[str] = set()


class PartialArgs:
    """Vertex's ``partialArgs`` (values addressed by JSON path) → the arguments' JSON text, in order.

    ``feed`` returns the JSON text the new values add (a ``tool-input-delta``); ``close`` the text
    that ends it and the whole arguments. Should a path go back into what was already written
    (out of document order), the deltas stop and ``close`` gives the object assembled from every
    path instead.
    """

    def __init__(self) -> None:
        self.stack: list[_Level] = []  # open containers, the root object first
        self.open_path: str | None = None  # the jsonPath of the string being written, as sent
        self.open_string: Path | None = None  # ... and its segments
        self.top: Path | None = None  # the segments of the innermost open container
        self.frags: list[str] = []
        self.in_order = True
        # the object of every value, kept from the moment the order first breaks (None before:
        # the text written holds them all, see _written)
        self.tree: dict[str, Any] | None = None

    def feed(self, partial_args: Any) -> str:
        try:  # the common fragment: one entry (an object, as only an object has these keys) ...
            (arg,) = partial_args
            path = arg["jsonPath"]
            value = arg["stringValue"]
        except (TypeError, ValueError, KeyError):
            return self._entries(partial_args)
        if type(value) is not str or self.tree is not None:  # ... a string, in document order
            return self._entries(partial_args)
        if path == self.open_path and path is not None:  # more of the string being written
            if value:
                if '"' in value or "\\" in value or not value.isprintable():
                    text = dumps(value).decode()[1:-1]
                else:  # (a printable string without quote or backslash is its own JSON text)
                    text = value
            else:  # (the usual end of a string: nothing more, whose log entry would change nothing)
                text = ""
            if "willContinue" not in arg or not arg["willContinue"]:
                text += '"'
                self.open_path = self.open_string = None
            self.frags.append(text)
            return text
        # a string starting at one of the usual next places (what _arg would write, without its
        # general walk)
        place: _Place | None
        try:
            place = _PLACES[path]
        except KeyError:  # its first use (or a jsonPath that is no string)
            place = _place(path) if type(path) is str else None
        except TypeError:  # (unhashable: no string either)
            place = None
        if place is None:
            return self._entries(partial_args)
        segments, parent, key, _, last = place
        if parent == self.top and self.open_string is None:  # the next entry of the innermost container
            level = self.stack[-1]  # (as _step writes it)
            count = level.count
            if level.is_array:
                head = ("," if count else "") if count == last else None
            elif key is None or last in level.keys:
                head = None
            else:
                level.keys.add(last)  # type: ignore[arg-type]
                head = "," + key if count else key
            if head is not None:
                level.count = count + 1
        else:
            head = self._step(place)
        if head is None:  # another place: the general walk, as _arg takes it for this entry
            open_string = self.open_string
            if open_string is not None and segments == open_string:
                return self._entries(partial_args)  # (the open string, its path spelt otherwise)
            walk = ['"'] if open_string is not None else []
            if not self._navigate(segments, walk):
                return self._entries(partial_args)  # (out of order: _arg builds the tree)
            head = "".join(walk)
        if '"' in value or "\\" in value or not value.isprintable():
            value = dumps(value).decode()[1:-1]  # (else the string is its own JSON text)
        if arg.get("willContinue"):
            text = head + '"' + value
            self.open_path = path
            self.open_string = segments
        else:
            text = head + '"' + value + '"'
            self.open_path = self.open_string = None
        self.frags.append(text)
        return text

    def _entries(self, partial_args: Any) -> str:
        """Any fragment, entry after entry."""
        if not isinstance(partial_args, list):
            raise DataError(f"functionCall.partialArgs is a {type(partial_args).__name__}, expected a list")
        out: list[str] = []
        for arg in partial_args:
            if not isinstance(arg, dict):
                raise DataError(f"a partialArgs entry is a {type(arg).__name__}, expected an object")
            if self.tree is not None:
                self._arg_with_tree(arg, out)
            else:
                self._arg(arg, out)
        if not self.in_order:
            return ""
        text = "".join(out)
        self.frags.append(text)
        return text

    def close(self, complete: bool = True) -> tuple[str, str]:
        """The text that ends the JSON (closing quote and brackets), and the whole arguments.

        With ``complete`` false (the stream was cut off inside the call) nothing is added: the
        arguments are the text received so far, which is not valid JSON.
        """
        if not self.in_order:
            return "", dumps(self.tree).decode()
        if not complete:
            return "", "".join(self.frags)
        out: list[str] = []
        if self.open_string is not None:
            out.append('"')
            self.open_path = self.open_string = None
        if not self.stack:
            out.append("{}")
        while self.stack:
            out.append("]" if self.stack.pop().is_array else "}")
        self.top = None
        text = "".join(out)
        self.frags.append(text)
        return text, "".join(self.frags)

    def _step(self, place: _Place) -> str | None:
        """Go to the place of a value (its entry of _PLACES) if it is one of the usual next places, and return
        the text that gets there (the open string's closing quote, closing brackets, comma, keys,
        opening brackets), as _navigate writes it: the next entry of the innermost open container,
        the first key of the arguments, or the first entry of a new container that is the next
        entry of the innermost container's own container. Anything else (other places, a path
        the string being written) returns None and changes nothing."""
        segments, parent, key, parent_key, last = place
        open_string = self.open_string
        if open_string is not None and segments == open_string:
            return None
        stack = self.stack
        top = self.top
        if parent == top:  # the next entry of the innermost open container
            level = stack[-1]
            if level.is_array:
                if level.count != last:  # arrays are written index after index
                    return None
            elif key is None or last in level.keys:
                return None
            text = "," if level.count else ""
        elif top is None:  # the first key of the arguments
            if parent or stack or key is None:
                return None
            level = _Level(None, False)
            stack.append(level)
            text = "{"
        elif len(parent) == len(top) and parent[:-1] == top[:-1]:  # a new container beside the innermost
            outer = stack[-2]
            segment = parent[-1]
            if outer.is_array:
                if outer.count != segment:
                    return None
            elif parent_key is None or segment in outer.keys:
                return None
            if key is None and last != 0:
                return None
            text = "]" if stack.pop().is_array else "}"
            if outer.count:
                text += ","
            outer.count += 1
            if parent_key is not None:
                outer.keys.add(segment)  # type: ignore[arg-type]
                text += parent_key
            text += "[" if key is None else "{"
            level = _Level(segment, key is None)
            stack.append(level)
        else:
            return None
        level.count += 1
        if key is not None:
            level.keys.add(last)  # type: ignore[arg-type]
            text += key
        self.top = parent
        if open_string is not None:
            text = '"' + text
        return text

    @staticmethod
    def _value(arg: dict[str, Any]) -> tuple[bool, Any]:
        """Whether the entry holds a value, and the value."""
        if "stringValue" in arg and arg["stringValue"] is not None:
            return True, str(arg["stringValue"])
        if "numberValue" in arg and arg["numberValue"] is not None:
            return True, arg["numberValue"]
        if "boolValue" in arg and arg["boolValue"] is not None:
            return True, bool(arg["boolValue"])
        if "nullValue" in arg:
            return True, None
        return False, None  # no value: a continuation marker

    def _arg(self, arg: dict[str, Any], out: list[str]) -> None:
        """One entry while the paths come in document order (no tree: the text holds the values)."""
        raw_path = arg.get("jsonPath", "")
        segments = _PATHS.get(raw_path) if type(raw_path) is str else None
        if segments is None:
            segments = _segments(raw_path)
        if not segments:
            return  # the root itself: nothing to place
        value = arg.get("stringValue")
        if value is not None:
            is_string = True
            if type(value) is not str:
                value = str(value)
        else:
            is_string = False
            found, value = self._value(arg)
            if not found:
                return  # no value: a continuation marker
        more = arg.get("willContinue")
        if is_string and self.open_string == segments:  # the string being written goes on
            out.append(dumps(value)[1:-1].decode())
            if not more:
                out.append('"')
                self.open_path = self.open_string = None
            return
        if self.open_string is not None:  # the string being written ends first
            out.append('"')  # (the text is thrown away should the order break)
        if self._navigate(segments, out):
            self.open_path = self.open_string = None
        else:
            # A path already written (a string whose end was written, a key or index given
            # twice, a container already ended) cannot be reached from here: the order breaks.
            # The tree is what was written, and this entry is placed as the tree-keeping way does.
            self.tree = self._written(out)
            self._arg_with_tree(arg, out)
            return
        json_text = "null" if value is None else dumps(value).decode()
        if more and "stringValue" in arg:
            if is_string:
                json_text = json_text[:-1]  # the closing quote comes when the string ends
            self.open_path = raw_path
            self.open_string = segments
        out.append(json_text)

    def _written(self, out: list[str]) -> dict[str, Any]:
        """The object of the values written so far, read from their text: the fragments given and
        this one's ``out``, whose open string (if any) _arg has just ended, with the open
        containers closed. The text is written in document order, each key once, so it reads
        back as the object the values make."""
        if not self.stack:
            return {}
        closing = "".join("]" if level.is_array else "}" for level in reversed(self.stack))
        written: dict[str, Any] = loads("".join(self.frags) + "".join(out) + closing)
        return written

    def _arg_with_tree(self, arg: dict[str, Any], out: list[str]) -> None:
        """One entry once the tree is kept: every value placed in it as it comes."""
        segments = _segments(arg.get("jsonPath", ""))
        if not segments:
            return
        more = bool(arg.get("willContinue"))
        found, value = self._value(arg)
        if not found:
            return
        is_string = arg.get("stringValue") is not None
        if is_string and self.open_string == segments:
            self._set(segments, value, append=True)
            out.append(dumps(value)[1:-1].decode())
            if not more:
                out.append('"')
                self.open_path = self.open_string = None
            return
        appended = self._set(segments, value, append="stringValue" in arg)
        if appended:  # more of a string whose end was already written: out of order
            self.in_order = False
        if not self.in_order:
            return
        if self.open_string is not None:
            out.append('"')
            self.open_path = self.open_string = None
        if not self._navigate(segments, out):
            self.in_order = False
            return
        json_text = "null" if value is None else dumps(value).decode()
        if is_string and more:
            json_text = json_text[:-1]
        out.append(json_text)
        if "stringValue" in arg and more:
            self.open_string = segments

    def _navigate(self, segments: Path, out: list[str]) -> bool:
        """Write the text from the current position to the new leaf's key, or change nothing and
        return False when the leaf cannot be written next (out of order).

        Past the open containers it shares, the path needs its next key in the last shared one,
        then new containers, each empty (an array's first index is 0). A container once ended
        holds its own key in its parent's keys (or an index below its count), so no path can
        reach into it again.
        """
        stack = self.stack
        depth = len(segments) - 1  # the leaf's container is segments[:depth]
        common = 0
        n = len(stack) - 1
        while common < depth and common < n and stack[common + 1].segment == segments[common]:
            common += 1
        segment = segments[common]
        if stack:
            level = stack[common]
            if level.is_array:
                if segment != level.count:  # arrays are written index after index
                    return False
            elif type(segment) is not str or segment in level.keys:
                return False
        elif type(segment) is not str:  # the root is an object
            return False
        for at in range(common + 1, depth + 1):
            if type(segments[at]) is int and segments[at] != 0:
                return False
        # reachable: end the containers the path leaves, then each key, opening the next container
        if not stack:
            level = _Level(None, False)
            stack.append(level)
            out.append("{")
        while n > common:
            out.append("]" if stack.pop().is_array else "}")
            n -= 1
        for at in range(common, depth + 1):
            if level.count:
                out.append(",")
            level.count += 1
            if type(segment) is str:
                level.keys.add(segment)
                key = _KEYS.get(segment)
                if key is None:
                    key = _KEYS[segment] = dumps(segment).decode() + ":"
                out.append(key)
            if at < depth:
                is_array = type(segments[at + 1]) is int
                out.append("[" if is_array else "{")
                level = _Level(segment, is_array)
                stack.append(level)
                segment = segments[at + 1]
        self.top = segments[:depth]
        return True

    def _set(self, segments: Path, value: Any, *, append: bool) -> bool:
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
