"""Bad input of the class "valid JSON, wrong types", over every stage and every format.

The corpus is generated from the table the stages check against
(:data:`streamkit.canonical.EVENT_FIELDS`): for every event type, every field a stage reads gets
each value of a wrong type (and a required one goes missing). Each bad event sits on line 3 of a
small stream; every stage and every output format must stop there with a :class:`DataError`
naming line 3 and the field (never a ``TypeError`` from deep inside), skip it with
``--on-error skip``, or turn it into an ``error`` event with ``pass``. A few cases run through the
real commands for the exit code and the one line on stderr.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest

from streamkit.canonical import EVENT_FIELDS, PART_FIELDS
from streamkit.errors import DataError
from streamkit.ndjson import read_events
from streamkit.plugins import Registry, get_plugin_manager
from tests.conftest import ndjson, run_cli

SAMPLES: list[Any] = [7, "text", ["x"], {"a": 1}, True, 1.5]
#: what a valid event of each type looks like (the bad ones change one field of it)
VALID: dict[str, dict[str, Any]] = {
    "raw": {"type": "raw", "dialect": "openai-chat", "event": None, "data": {}},
    "start": {"type": "start", "id": "r1", "model": "m"},
    "text-start": {"type": "text-start", "id": "t1"},
    "text-delta": {"type": "text-delta", "id": "t1", "delta": "hi"},
    "text-end": {"type": "text-end", "id": "t1", "text": "hi"},
    "reasoning-start": {"type": "reasoning-start", "id": "r"},
    "reasoning-delta": {"type": "reasoning-delta", "id": "r", "delta": "x"},
    "reasoning-end": {"type": "reasoning-end", "id": "r"},
    "tool-input-start": {"type": "tool-input-start", "id": "c1", "tool_name": "get_weather"},
    "tool-input-delta": {"type": "tool-input-delta", "id": "c1", "delta": "{}"},
    "tool-input-end": {"type": "tool-input-end", "id": "c1"},
    "tool-call": {"type": "tool-call", "tool_call_id": "c1", "tool_name": "get_weather", "arguments": "{}", "input": {}},
    "tool-result": {"type": "tool-result", "tool_call_id": "c1", "tool_name": "get_weather", "output": "ok"},
    "tool-approval-request": {"type": "tool-approval-request", "tool_call_id": "c1"},
    "tool-approval-response": {"type": "tool-approval-response", "tool_call_id": "c1", "approved": True},
    "source": {"type": "source", "source_type": "url", "id": "s", "url": "https://example.com"},
    "file": {"type": "file", "media_type": "image/png", "data": "AAAA"},
    "finish": {"type": "finish", "finish_reason": "stop", "usage": {"input_tokens": 1, "output_tokens": 2}},
    "error": {"type": "error", "message": "boom"},
    "message": {"type": "message", "role": "assistant", "content": [{"type": "text", "text": "hi"}],
                "finish_reason": "stop"},
    "start-step": {"type": "start-step", "step": 1},
    "finish-step": {"type": "finish-step", "step": 1},
}  # fmt: skip
VALID_PARTS: dict[str, dict[str, Any]] = {
    "text": {"type": "text", "text": "hi"},
    "reasoning": {"type": "reasoning", "text": "hm"},
    "tool-call": {"type": "tool-call", "tool_call_id": "c1", "tool_name": "get_weather", "arguments": "{}"},
    "tool-result": {"type": "tool-result", "tool_call_id": "c1", "tool_name": "get_weather", "output": "ok"},
    "tool-approval-request": {"type": "tool-approval-request", "tool_call_id": "mcpr_1", "tool_name": "f",
                              "provider_executed": True},
    "source": {"type": "source", "source_type": "url", "url": "https://example.com"},
    "file": {"type": "file", "media_type": "image/png", "data": "AAAA"},
}  # fmt: skip
PREFIX = [{"type": "start", "id": "r0", "model": "m"}, {"type": "text-start", "id": "t0"}]
SUFFIX = [{"type": "text-end", "id": "t0"}, {"type": "finish", "finish_reason": "stop"}]


def _wrong_values(types: tuple[type, ...]) -> list[Any]:
    return [v for v in SAMPLES if type(v) not in types and not (float in types and type(v) is int)]


def corpus() -> Iterator[tuple[str, dict[str, Any], str]]:
    """(case id, bad event, the field its message must name)"""
    for kind, fields in EVENT_FIELDS.items():
        for name, types, required in fields:
            for value in _wrong_values(types):
                yield f"{kind}.{name}={type(value).__name__}", {**VALID[kind], name: value}, name
            if required:
                event = {k: v for k, v in VALID[kind].items() if k != name}
                yield f"{kind}.{name}=missing", event, name
        for name, value in (("provider_metadata", ["x"]), ("choice", "0")):
            yield f"{kind}.{name}={type(value).__name__}", {**VALID[kind], name: value}, name
        # (a dialect's own metadata is an object: its encoder reads its fields)
        bad_metadata = {"openai-chat": 5, "anthropic": {}}
        yield (
            f"{kind}.provider_metadata.openai-chat=int",
            {**VALID[kind], "provider_metadata": bad_metadata},
            "provider_metadata.openai-chat",
        )
    yield "finish.usage.input_tokens=str", {**VALID["finish"], "usage": {"input_tokens": "3"}}, "input_tokens"
    for created in (1e300, -1e20):  # (a number, but no time a wire format can write)
        yield f"start.created={created:g}", {**VALID["start"], "created": created}, "created"
    part = {**VALID_PARTS["text"], "provider_metadata": {"gemini": "x"}}
    yield (
        "message.content.text.provider_metadata.gemini=str",
        {**VALID["message"], "content": [part]},
        "provider_metadata.gemini",
    )
    for kind, fields in PART_FIELDS.items():
        for name, _types, _ in fields:
            part = {**VALID_PARTS[kind], name: ["x"]}
            yield f"message.content.{kind}.{name}=list", {**VALID["message"], "content": [part]}, name
    yield "message.content=int-part", {**VALID["message"], "content": [5]}, "content[0]"
    for value in SAMPLES:  # an event type that is no string (an object, a list: unhashable)
        if value is not None and type(value) is not str:
            yield f"type={type(value).__name__}", {"type": value, "id": "t0"}, "type"


CORPUS = list(corpus())


def _accumulate_command(reader: Any) -> Iterator[Any]:
    """The ``accumulate`` command's own loop, over the reader, as its events."""
    from streamkit.ndjson import EventWriter
    from streamkit.stages.accumulate import write_accumulated

    out = io.BytesIO()
    write_accumulated(reader, EventWriter(out), lambda event: None)
    return iter(ndjson(out.getvalue()))


def _render_command(reader: Any, name: str, registry: Registry) -> Iterator[Any]:
    """The ``render -f DIALECT`` command's own loop, over the reader, as its frames (one item)."""
    from streamkit.ndjson import EventWriter
    from streamkit.stages.render import write_rendered

    out = io.BytesIO()
    write_rendered(reader, EventWriter(out), lambda event: None, registry.dialect(name))
    return iter([out.getvalue()])


def _stages() -> dict[str, Callable[[Any], Iterator[Any]]]:
    from streamkit.stages.accumulate import accumulate
    from streamkit.stages.normalize import normalize
    from streamkit.stages.render import render
    from streamkit.stages.run_tools import run_tools

    registry = Registry(get_plugin_manager())
    formats = sorted(set(registry.format_entries()) | set(registry.dialect_entries()))
    stages: dict[str, Callable[[Any], Iterator[Any]]] = {
        "normalize": lambda events: normalize(events, registry=registry),
        "accumulate": lambda events: accumulate(events),
        "accumulate (the command's loop)": _accumulate_command,
        "run-tools": lambda events: run_tools(events, []),
    }
    for name in formats:
        stages[f"render -f {name}"] = lambda events, name=name: render(events, format=name, registry=registry)
    for name in registry.dialect_entries():
        stages[f"render -f {name} (the command's loop)"] = lambda reader, name=name: _render_command(
            reader, name, registry
        )
    return stages


STAGES = _stages()


def _stream(bad: dict[str, Any]) -> bytes:
    return b"".join(orjson.dumps(e) + b"\n" for e in [*PREFIX, bad, *SUFFIX])


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_every_wrong_type_is_bad_input_naming_the_line_and_the_field(stage: str) -> None:
    failures = []
    for case, bad, field in CORPUS:
        try:
            for _ in STAGES[stage](read_events(io.BytesIO(_stream(bad)), check=True)):
                pass
        except DataError as exc:
            if exc.line != 3 or (f"'{field}" not in str(exc) and field not in str(exc)):
                failures.append(f"{case}: {exc}")
            continue
        except Exception as exc:
            failures.append(f"{case}: {type(exc).__name__}: {exc}")
            continue
        failures.append(f"{case}: accepted")
    assert not failures, f"{len(failures)} of {len(CORPUS)} cases fail:\n" + "\n".join(failures[:20])


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_skip_and_pass_go_on_past_every_bad_event(stage: str) -> None:
    failures = []
    for case, bad, _ in CORPUS:
        for on_error in ("skip", "pass"):
            reader = read_events(io.BytesIO(_stream(bad)), on_error=on_error, check=True)
            try:
                out = list(STAGES[stage](reader))
            except Exception as exc:
                failures.append(f"{case} ({on_error}): {type(exc).__name__}: {exc}")
                continue
            if reader.line_no != 5:
                failures.append(f"{case} ({on_error}): stopped at line {reader.line_no}")
            if on_error == "pass" and stage.split()[0] in ("accumulate", "run-tools", "normalize"):
                errors = [e for e in out if isinstance(e, dict) and e.get("type") == "error"]
                if not any(e.get("line") == 3 and e.get("code") == "bad-input" for e in errors):
                    failures.append(f"{case} (pass): no error event for line 3")
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:20])


@pytest.mark.parametrize(
    "command",
    [
        ["accumulate"],
        ["render"],
        ["render", "-f", "anthropic"],
        ["run-tools", "--tools", "examples/tools.toml"],
        ["normalize"],
    ],
)
def test_the_commands_write_what_came_before_then_one_line_and_exit_65(command: list[str]) -> None:
    from tests.conftest import ROOT

    stream = _stream({"type": "text-delta", "id": "t0", "delta": 5})
    result = run_cli(*[str(ROOT / a) if a.startswith("examples/") else a for a in command], input=stream)
    assert result.returncode == 65
    assert result.stderr.decode() == (
        f"streamkit {command[0]}: line 3: text-delta event: 'delta' must be a string, not an integer\n"
    )
    if command[0] in ("accumulate", "run-tools", "normalize"):
        assert ndjson(result.stdout)[:2] == PREFIX
    passed = run_cli(*command[:1], "--on-error", "pass", input=stream) if command[0] != "run-tools" else None
    if passed is not None:
        assert passed.returncode == 0


def test_an_unknown_event_passes_through_with_its_own_bytes() -> None:
    line = b'{"type":"x-custom","n":123456789012345678901234567890,"f":1.0}\n'
    for command in (["accumulate"], ["normalize"], ["run-tools", "--tools", "examples/tools.toml"]):
        from tests.conftest import ROOT

        args = [str(ROOT / a) if a.startswith("examples/") else a for a in command]
        assert run_cli(*args, input=line).stdout == line


def test_a_closed_standard_output_is_one_line() -> None:
    import subprocess

    from tests.conftest import STREAMKIT

    result = subprocess.run(
        f"{STREAMKIT} accumulate </dev/null >&-", shell=True, capture_output=True, timeout=30
    )
    assert result.returncode == 1
    assert result.stderr == b"streamkit accumulate: cannot write to standard output: Bad file descriptor\n"


RAW_CASES = [(case, bad) for case, bad, _ in CORPUS if bad["type"] == "raw"]
CHUNK = {"type": "raw", "dialect": "openai-chat", "event": None, "data": {
    "id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
    "choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": None}]}}  # fmt: skip


@pytest.mark.parametrize("dialect", [None, "openai-chat"])
@pytest.mark.parametrize("first", [True, False], ids=["first-raw", "after-raws"])
def test_normalize_checks_raw_events_itself_as_the_reader_would(dialect: str | None, first: bool) -> None:
    """The command leaves raw events to the stage (``unchecked="raw"``), which checks them on its
    hot path: every bad one is the same bad input, with the same words, as check_event says."""
    from streamkit.canonical import check_event
    from streamkit.stages.normalize import normalize

    before = [] if first else [CHUNK, CHUNK]
    line = len(before) + 1
    for case, bad in RAW_CASES:
        stream = b"".join(orjson.dumps(e) + b"\n" for e in [*before, bad, CHUNK])
        expected = check_event(bad)
        assert expected is not None, case
        with pytest.raises(DataError) as caught:
            list(normalize(read_events(io.BytesIO(stream), check=True, unchecked="raw"), dialect=dialect,
                           line_no=lambda: None))  # fmt: skip
        assert str(caught.value).endswith(expected), (case, str(caught.value))
        reader = read_events(io.BytesIO(stream), on_error="pass", check=True, unchecked="raw")
        out = list(normalize(reader, dialect=dialect, on_error="pass", line_no=lambda r=reader: r.line_no))
        errors = [e for e in out if e["type"] == "error"]
        assert [(e["line"], e["message"]) for e in errors] == [(line, expected)], case
        assert sum(e["type"] == "text-delta" for e in out) == len(before) + 1, case  # and it goes on
    # a raw event with only the fields fetch writes (and a live fetch's t) takes the hot path
    for good in (CHUNK, {**CHUNK, "t": 0.5}, {**CHUNK, "dialect": None, "event": "x"}):
        assert check_event(good) is None
        stream = b"".join(orjson.dumps(e) + b"\n" for e in [*before, good])
        assert not [e for e in normalize(read_events(io.BytesIO(stream), check=True, unchecked="raw"),
                                         dialect=dialect) if e["type"] == "error"]  # fmt: skip


def test_an_event_nested_too_deep_to_write_is_bad_input_on_its_line() -> None:
    """Valid JSON that orjson reads (1,024 levels) but will not write (254): the line, exit 65,
    and what came before it written; not "this event cannot be processed (TypeError: ...)"."""
    deep: Any = []
    for _ in range(300):
        deep = [deep]
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
             "choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": None}]}  # fmt: skip
    choice = {**chunk["choices"][0], "logprobs": {"content": deep}}  # type: ignore[index]
    lines = [{"type": "raw", "dialect": "openai-chat", "event": None, "data": chunk},
             {"type": "raw", "dialect": "openai-chat", "event": None, "data": {**chunk, "choices": [choice]}}]  # fmt: skip
    given = b"".join(orjson.dumps(e) + b"\n" for e in lines[:1]) + (
        b'{"type":"raw","dialect":"openai-chat","event":null,"data":' + _deep_json(lines[1]["data"]) + b"}\n"
    )
    result = run_cli("normalize", input=given)
    assert result.returncode == 65, result.stderr
    assert [e["type"] for e in ndjson(result.stdout)] == ["start", "text-start", "text-delta"]
    assert result.stderr.decode() == (
        "streamkit normalize: line 2: its JSON is nested more than 254 levels deep, deeper than a line of NDJSON"
        " is written\n"
    )


def _deep_json(value: Any) -> bytes:
    """JSON text of a value too deep for orjson to write (the standard library writes it)."""
    import json
    import sys

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 5000))
    try:
        return json.dumps(value, separators=(",", ":")).encode()
    finally:
        sys.setrecursionlimit(limit)
