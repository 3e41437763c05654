"""The canonical events as plain dicts: their type names, and helpers that dialects, stages and
formats share (parsing tool arguments, expanding a ``message`` back into its events).

Stages work on plain dicts on the hot path and import this module, never pydantic. The same
vocabulary as pydantic models, for validation and ``streamkit schema``, is in
:mod:`streamkit.events`; a test checks that both name the same types and finish reasons.
"""

from __future__ import annotations

from collections.abc import Iterator

import orjson

TYPE_CHECKING = False  # (not typing's: importing typing costs 4 ms of a stage's start)
if TYPE_CHECKING:
    from typing import Any

CANONICAL_TYPES: frozenset[str] = frozenset(
    {
        "raw",
        "start",
        "text-start",
        "text-delta",
        "text-end",
        "reasoning-start",
        "reasoning-delta",
        "reasoning-end",
        "tool-input-start",
        "tool-input-delta",
        "tool-input-end",
        "tool-call",
        "tool-approval-request",
        "tool-approval-response",
        "tool-result",
        "source",
        "file",
        "finish",
        "error",
        "message",
        "start-step",
        "finish-step",
    }
)

FINISH_REASONS: tuple[str, ...] = ("stop", "length", "tool-calls", "content-filter", "error", "other")


def parse_arguments(text: str) -> tuple[Any, str | None]:
    """Parse a tool call's JSON arguments: ``(input, None)`` or ``(None, error)``.

    Empty or blank text means "no arguments" and parses to ``{}`` (Anthropic and OpenAI both
    send that for tools without parameters).
    """
    if not text or text.isspace():
        return {}, None
    try:
        return orjson.loads(text), None
    except orjson.JSONDecodeError as exc:
        return None, f"arguments are not valid JSON: {str(exc).split(':', 1)[0]} at column {exc.colno}"


def tool_call(call_id: Any, name: Any, arguments: str) -> dict[str, Any]:
    """The ``tool-call`` event of a call whose arguments are complete as ``arguments`` (JSON text):
    their parse as ``input``, and ``input_error`` when they are no JSON (:func:`parse_arguments`).
    A normalizer adds what is its own (``provider_executed``, ``provider_metadata``) after."""
    value, err = parse_arguments(arguments)
    ev: dict[str, Any] = {
        "type": "tool-call",
        "tool_call_id": call_id,
        "tool_name": name,
        "arguments": arguments,
        "input": value,
    }
    if err:
        ev["input_error"] = err
    return ev


def delta_head(event_type: str, block_id: Any) -> bytes:
    """The bytes of a delta event up to its delta, ``{"type":…,"id":…,"delta":``, as orjson
    writes the event: what a normalizer writes a delta after when it hands the ``normalize``
    command's loop bytes (see :attr:`streamkit.dialects.base.Normalizer.delta_bytes`)."""
    return b'{"type":' + orjson.dumps(event_type) + b',"id":' + orjson.dumps(block_id) + b',"delta":'


def with_choice(event: dict[str, Any], choice: int | None) -> dict[str, Any]:
    """Mark an event with its choice index (left out for choice 0)."""
    if choice:
        event["choice"] = choice
    return event


def message_to_events(message: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Expand an accumulated ``message`` back into the event sequence it stands for.

    Used by encoders and formats that receive only final messages (``accumulate --final |
    render -f anthropic``) and by ``serve --script``. The events are complete: text blocks have
    one delta each, tool calls their whole arguments.
    """
    choice = message.get("choice")
    start: dict[str, Any] = {"type": "start", "id": message.get("id"), "model": message.get("model")}
    if message.get("dialect"):
        start["dialect"] = message["dialect"]
    if message.get("provider_metadata"):
        start["provider_metadata"] = message["provider_metadata"]
    yield with_choice(start, choice)
    prefix = f"c{choice}." if choice else ""
    counters = {"text": 0, "reasoning": 0}
    for part in message.get("content") or ():
        kind = part.get("type")
        pm = part.get("provider_metadata")
        if kind in ("text", "reasoning"):
            block_id = f"{prefix}{kind}-{counters[kind]}"
            counters[kind] += 1
            start_ev: dict[str, Any] = {"type": f"{kind}-start", "id": block_id}
            if part.get("refusal"):
                start_ev["refusal"] = True
            if pm:
                start_ev["provider_metadata"] = pm  # encoders that open a block need it then
            yield with_choice(start_ev, choice)
            if part.get("text"):
                yield with_choice({"type": f"{kind}-delta", "id": block_id, "delta": part["text"]}, choice)
            end: dict[str, Any] = {"type": f"{kind}-end", "id": block_id, "text": part.get("text") or ""}
            if pm:
                end["provider_metadata"] = pm
            yield with_choice(end, choice)
        elif kind == "tool-call":
            call_id = part["tool_call_id"]
            arguments = part.get("arguments")
            if arguments is None:
                arguments = orjson.dumps(part.get("input") or {}).decode()
            tis: dict[str, Any] = {"type": "tool-input-start", "id": call_id, "tool_name": part["tool_name"]}
            if part.get("provider_executed"):
                tis["provider_executed"] = True
            if pm:
                tis["provider_metadata"] = pm
            yield with_choice(tis, choice)
            if arguments:
                yield with_choice({"type": "tool-input-delta", "id": call_id, "delta": arguments}, choice)
            yield with_choice({"type": "tool-input-end", "id": call_id}, choice)
            call = {k: v for k, v in part.items() if k != "type"}
            call["type"] = "tool-call"
            call["arguments"] = arguments
            if "input" not in part:
                call["input"], err = parse_arguments(arguments)
                if err:
                    call["input_error"] = err
            yield with_choice(call, choice)
        elif kind in ("tool-result", "source", "file", "tool-approval-request"):
            ev = {k: v for k, v in part.items()}
            yield with_choice(ev, choice)
    finish: dict[str, Any] = {"type": "finish", "finish_reason": message.get("finish_reason") or "other"}
    if message.get("raw_finish_reason") is not None:
        finish["raw_finish_reason"] = message["raw_finish_reason"]
    if message.get("usage") is not None:
        finish["usage"] = message["usage"]
    yield with_choice(finish, choice)


# --- checking the events a stage reads ---------------------------------------------------------
#
# Every canonical event a stage reads from a pipe is checked for the fields stages use, so that a
# wrong type in valid JSON (a ``delta`` that is a number, ``usage`` a string) is bad input named by
# its field, never a crash deep in a stage. One table, a few ``isinstance`` calls per event: cheap
# enough for the hot path (measured in ``make bench``). Fields a stage does not read are not
# checked, and unknown fields pass as they are.

_NONE = type(None)
_STR = (str,)
_ID = (str, int)
_OPT_STR = (str, _NONE)
_OPT_BOOL = (bool, _NONE)
_OPT_DICT = (dict, _NONE)
_OPT_LIST = (list, _NONE)
_OPT_INT = (int, _NONE)
_OPT_NUM = (int, float, _NONE)
#: the Unix times (seconds) a wire format can write: datetime's years 1 to 9999
EPOCH_RANGE = (-62135596800, 253402300800)

_KINDS = {str: "a string", int: "an integer", float: "a number", bool: "true or false", dict: "an object",
          list: "a list", _NONE: "null"}  # fmt: skip

#: per event type: (field, allowed types, required)
_BLOCK = (("id", _ID, True),)
_DELTA = (("id", _ID, True), ("delta", _STR, True))
_END = (("id", _ID, True), ("text", _OPT_STR, False))
EVENT_FIELDS: dict[str, tuple[tuple[str, tuple[type, ...], bool], ...]] = {
    "raw": (("dialect", _OPT_STR, False), ("event", _OPT_STR, False)),
    "start": (
        ("id", (*_ID, _NONE), False),
        ("model", _OPT_STR, False),
        ("dialect", _OPT_STR, False),
        ("created", _OPT_NUM, False),
    ),
    "text-start": _BLOCK,
    "text-delta": _DELTA,
    "text-end": _END,
    "reasoning-start": _BLOCK,
    "reasoning-delta": _DELTA,
    "reasoning-end": _END,
    "tool-input-start": (("id", _ID, True), ("tool_name", _STR, True)),
    "tool-input-delta": _DELTA,
    "tool-input-end": _BLOCK,
    "tool-call": (
        ("tool_call_id", _STR, True),
        ("tool_name", _STR, True),
        ("arguments", _OPT_STR, False),
        ("provider_executed", _OPT_BOOL, False),
    ),
    "tool-result": (
        ("tool_call_id", _STR, True),
        ("tool_name", _OPT_STR, False),
        ("is_error", _OPT_BOOL, False),
        ("provider_executed", _OPT_BOOL, False),
    ),
    "tool-approval-request": (
        ("tool_call_id", _STR, True),
        ("tool_name", _OPT_STR, False),
        ("arguments", _OPT_STR, False),
        ("provider_executed", _OPT_BOOL, False),
    ),
    "tool-approval-response": (
        ("tool_call_id", _STR, True),
        ("approved", _OPT_BOOL, False),
        ("reason", _OPT_STR, False),
    ),
    "source": (("source_type", _OPT_STR, False), ("url", _OPT_STR, False), ("title", _OPT_STR, False)),
    "file": (("media_type", _OPT_STR, False), ("data", _OPT_STR, False)),
    "finish": (
        ("finish_reason", _OPT_STR, False),
        ("raw_finish_reason", _OPT_STR, False),
        ("usage", _OPT_DICT, False),
        ("model", _OPT_STR, False),
    ),
    "error": (("message", _OPT_STR, False), ("retryable", _OPT_BOOL, False), ("line", _OPT_INT, False)),
    "message": (
        ("role", _OPT_STR, False),
        ("content", _OPT_LIST, False),
        ("finish_reason", _OPT_STR, False),
        ("usage", _OPT_DICT, False),
        ("model", _OPT_STR, False),
    ),
    "start-step": (("step", _OPT_INT, False),),
    "finish-step": (("step", _OPT_INT, False),),
}

#: the fields of a ``message``'s content parts, per part type
PART_FIELDS: dict[str, tuple[tuple[str, tuple[type, ...], bool], ...]] = {
    "text": (("text", _OPT_STR, False),),
    "reasoning": (("text", _OPT_STR, False),),
    "tool-call": (("tool_call_id", _STR, True), ("tool_name", _STR, True), ("arguments", _OPT_STR, False)),
    "tool-result": (
        ("tool_call_id", _STR, True),
        ("tool_name", _OPT_STR, False),
        ("is_error", _OPT_BOOL, False),
    ),
    "tool-approval-request": (("tool_call_id", _STR, True), ("tool_name", _OPT_STR, False)),
    "source": (("url", _OPT_STR, False), ("title", _OPT_STR, False)),
    "file": (("media_type", _OPT_STR, False), ("data", _OPT_STR, False)),
}


def _kind(value: Any) -> str:
    return _KINDS.get(type(value), type(value).__name__)


def fields_problem(
    fields: tuple[tuple[str, tuple[type, ...], bool], ...], event: dict[str, Any]
) -> str | None:
    """What is wrong with an object's ``fields`` (name, allowed types, required), in words, or None."""
    for name, types, required in fields:
        value = event.get(name, _MISSING)
        if value is _MISSING:
            if required:
                return f"'{name}' is missing"
            continue
        kind = type(value)
        if kind not in types and (kind is bool or not isinstance(value, types)):  # True is no integer
            want = " or ".join(_KINDS[t] for t in types if t is not _NONE)
            return f"'{name}' must be {want}, not {_kind(value)}"
    return None


_MISSING = object()
#: the event types of a block's pieces (``id`` and ``delta``): the events of a stream's hot path
DELTA_TYPES = frozenset({"text-delta", "reasoning-delta", "tool-input-delta"})


#: what a ``provider_metadata`` holds: each dialect's own object
_OBJECTS = frozenset((dict,))


def _metadata_problem(pm: Any) -> str | None:
    """What is wrong with a ``provider_metadata`` (an object of objects, keyed by dialect), if
    anything: an encoder reads its own dialect's object."""
    if pm is None or (type(pm) is dict and _OBJECTS.issuperset(map(type, pm.values()))):
        return None
    if type(pm) is not dict:
        return f"'provider_metadata' must be an object, not {_kind(pm)}"
    name, value = next((k, v) for k, v in pm.items() if type(v) is not dict)
    return f"'provider_metadata.{name}' must be an object, not {_kind(value)}"


def part_problem(part: dict[str, Any]) -> str | None:
    """What is wrong with the fields of a ``message``'s content part (an object with a string
    ``type``), in words, or None: its fields of :data:`PART_FIELDS`, and its metadata. The same
    parts make an assistant message of a conversation (:func:`streamkit.conversation.check`)."""
    return fields_problem(PART_FIELDS.get(part["type"], ()), part) or _metadata_problem(
        part.get("provider_metadata")
    )


def _rarer(kind: Any, event: dict[str, Any]) -> str | None:
    """What the table does not say: metadata, choice, usage counts, a message's parts."""
    problem = _metadata_problem(event.get("provider_metadata"))
    if problem:
        return problem
    choice = event.get("choice")
    if choice is not None and type(choice) is not int:
        return f"'choice' must be an integer, not {_kind(choice)}"
    if kind == "start":
        created = event.get("created")
        if created is not None and not EPOCH_RANGE[0] <= created < EPOCH_RANGE[1]:
            return f"'created' must be a Unix time in seconds, not {created!r}"
    if kind == "finish" or kind == "message":
        usage = event.get("usage")
        if usage:
            for key, value in usage.items():
                if value is not None and type(value) is not int and type(value) is not float:
                    return f"'usage.{key}' must be a number, not {_kind(value)}"
        for i, part in enumerate(event.get("content") or ()):
            if type(part) is not dict or type(part.get("type")) is not str:
                return f"'content[{i}]' must be an object with a string 'type'"
            inner = part_problem(part)
            if inner:
                return f"'content[{i}]': {inner}"
    return None


def check_event(event: dict[str, Any]) -> str | None:
    """What is wrong with a canonical event's types, in words (``'delta' must be a string, not
    an integer``), or None. Unknown event types are not checked: they pass through stages."""
    kind = event.get("type")
    if (
        type(kind) is str
        and kind in DELTA_TYPES
        and type(event.get("delta")) is str
        and type(event.get("id")) is str
        and (
            (n := len(event)) == 3
            # (or with one more field: its metadata, an object of objects (chat's logprobs), or
            # fetch's t)
            or (
                n == 4
                and (
                    "t" in event
                    or (
                        type(pm := event.get("provider_metadata")) is dict
                        and _OBJECTS.issuperset(map(type, pm.values()))
                    )
                )
            )
        )
    ):
        return None  # the hot path: a plain delta
    if kind == "raw" and len(event) == 4 and "data" in event:
        # what fetch writes and normalize reads, one per wire event: its own short path
        dialect, name = event.get("dialect", 0), event.get("event", 0)
        if (dialect is None or type(dialect) is str) and (name is None or type(name) is str):
            return None
    if kind is not None and type(kind) is not str:  # no event type at all (an object is unhashable)
        return f"'type' must be a string, not {_kind(kind)}"
    fields = EVENT_FIELDS.get(kind)  # type: ignore[arg-type]
    if fields is None:
        return None
    problem = fields_problem(fields, event)
    if problem is None:
        problem = _rarer(kind, event)
    return f"{kind} event: {problem}" if problem else None
