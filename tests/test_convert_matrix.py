"""Any to any: every recording (the shared fixtures when present, our own small streams always),
converted to every installed dialect.

For each pair: (a) every wire event of the converted stream validates against the official
SDK's type for that dialect, where one exists (openai ChatCompletionChunk, ResponseStreamEvent,
AssistantStreamEvent; anthropic RawMessageStreamEvent); (b) the converted stream normalizes and
accumulates to the same text and the same client tool calls (name and parsed arguments) as the
original, response by response.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from streamkit.plugins import Registry, get_plugin_manager
from streamkit.stages.accumulate import accumulate
from streamkit.stages.fetch import replay
from streamkit.stages.normalize import normalize
from streamkit.stages.render import render

from .conftest import DATA, shared_fixtures

Validator = Callable[[str | None, Any], None]


@functools.cache  # built once per process: ResponseStreamEvent's adapter alone took ~0.1 s per test
def _validators() -> dict[str, Validator]:
    from anthropic.types import RawMessageStreamEvent
    from openai.types.beta import AssistantStreamEvent
    from openai.types.chat import ChatCompletionChunk
    from openai.types.responses import ResponseStreamEvent
    from pydantic import TypeAdapter

    responses = TypeAdapter(ResponseStreamEvent)
    assistants = TypeAdapter(AssistantStreamEvent)
    anthropic = TypeAdapter(RawMessageStreamEvent)

    def chat(event: str | None, data: Any) -> None:
        if isinstance(data, dict) and "error" not in data:
            ChatCompletionChunk.model_validate(data)
        else:
            assert data == "[DONE]" or (isinstance(data, dict) and "error" in data), data

    def resp(event: str | None, data: Any) -> None:
        responses.validate_python(data)
        assert event in (None, data["type"])

    def assist(event: str | None, data: Any) -> None:
        if event == "done":
            assert data == "[DONE]"
        elif event != "error":
            assistants.validate_python({"event": event, "data": data})

    def anth(event: str | None, data: Any) -> None:
        if data.get("type") in ("ping", "error"):
            return  # not stream events of the message itself
        anthropic.validate_python(data)
        assert event in (None, data["type"])

    return {"openai-chat": chat, "openai-responses": resp, "openai-assistants": assist, "anthropic": anth}


def _recordings() -> list[Any]:
    suffixes = (".sse", ".ndjson", ".json", ".jsonl", ".eventstream")
    files = sorted(
        p for p in DATA.glob("*/*") if p.suffix in suffixes and not p.name.endswith(".expected.ndjson")
    )
    base = shared_fixtures()
    if base is not None:
        files += sorted(
            p for p in base.glob("*/*") if p.is_file() and p.parent.name != "other" and p.suffix != ".md"
        )
    return files


def _targets() -> list[str]:
    return sorted(Registry(get_plugin_manager()).dialects())


TARGETS = _targets()
CASES = [
    pytest.param(path, target, id=f"{path.parent.name}/{path.name}-to-{target}")
    for path in _recordings()
    for target in TARGETS
]


def _summary(events: list[dict[str, Any]]) -> list[tuple[str, list[tuple[str, Any]]]]:
    """Per response (choice 0): the whole text and the client tool calls."""
    out = []
    for m in accumulate(events, final=True):
        if m.get("type") != "message" or m.get("choice"):
            continue
        text = "".join(p.get("text") or "" for p in m["content"] if p["type"] == "text")
        calls = [
            (p["tool_name"], p.get("input"))
            for p in m["content"]
            if p["type"] == "tool-call" and not p.get("provider_executed")
        ]
        out.append((text, calls))
    return out


#: targets whose tool-call arguments must be a JSON object on the wire: a call whose arguments
#: are not valid JSON cannot be written there, and is dropped with a warning
OBJECT_ARGUMENTS_ONLY = {"ollama"}


def _source_dialect(path: Path) -> str | None:
    name = path.parent.name
    return "openai-chat" if name == "mistral" else name


@functools.cache  # one for the module: no test here adds a plugin, and a fresh one per case cost 8 s
def _registry() -> Registry:
    return Registry(get_plugin_manager())


@functools.cache  # each recording is converted to every target: normalized once per process
def _normalized(path: Path) -> tuple[bytes, list[tuple[str, list[tuple[str, Any]]]]]:
    """A recording's canonical events (as NDJSON, so no test can change another's) and their summary."""
    with open(path, "rb") as f:
        events = list(normalize(replay(f), dialect=_source_dialect(path), registry=_registry()))
    return b"".join(orjson.dumps(ev, option=orjson.OPT_APPEND_NEWLINE) for ev in events), _summary(events)


@pytest.mark.parametrize(("path", "target"), CASES)
def test_convert(path: Path, target: str) -> None:
    registry = _registry()
    source = _source_dialect(path)
    if source not in registry.dialects():
        pytest.skip(f"dialect {source} is not installed")
    lines, expected = _normalized(path)
    events = [orjson.loads(line) for line in lines.splitlines()]
    wire = b"".join(render(iter(events), format=target, registry=registry))
    validate = _validators().get(target)
    raws = list(replay(io.BytesIO(wire), framing=registry.dialect(target).framing))
    if validate is not None:
        for raw in raws:
            validate(raw["event"], raw["data"])
    again = list(normalize(iter(raws), dialect=target, registry=registry))
    if target in OBJECT_ARGUMENTS_ONLY:
        expected = [(text, [c for c in calls if c[1] is not None]) for text, calls in expected]
    assert _summary(again) == expected
