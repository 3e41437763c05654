"""Conformance over the real Gemini recordings in ../shared/fixtures/gemini (``alt=sse`` and the
plain JSON-array form).

Skipped, with the reason, when the fixtures are absent. For every recording: normalize succeeds
with no error and no warning; every event validates against the event models; the result
accumulates to the same text and client tool calls as the deliberately simple accumulator below
(written from the wire format, sharing no code with streamkit); the re-encoded stream
re-normalizes to the same messages, and the official google-genai client, served it, reads the same
text and function calls.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest

from streamkit.events import validate_event
from streamkit.stages.render import render
from tests.conftest import essence, events_of, fixture_files, messages

RECORDINGS = fixture_files("gemini")


def chunks_of(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8-sig")
    if text.lstrip().startswith("["):
        return json.loads(text)
    return [json.loads(line[5:]) for line in text.splitlines() if line.startswith("data:")]


def _set(tree: dict[str, Any], path: str, value: Any, append: bool) -> None:
    keys: list[Any] = []
    for name, index in re.findall(r"\.([^.\[\]]+)|\[(\d+)\]", path[1:]):
        keys.append(int(index) if index else name)
    node: Any = tree
    for key, following in itertools.pairwise(keys):
        if isinstance(node, list):
            while len(node) <= key:
                node.append(None)
            if node[key] is None:
                node[key] = [] if isinstance(following, int) else {}
        else:
            node.setdefault(key, [] if isinstance(following, int) else {})
        node = node[key]
    last = keys[-1]
    if isinstance(node, list):
        while len(node) <= last:
            node.append(None)
        node[last] = node[last] + value if append and isinstance(node[last], str) else value
    else:
        node[last] = node[last] + value if append and isinstance(node.get(last), str) else value


def simple_accumulate(path: Path) -> tuple[str, list[tuple[str, Any]]]:
    """The first candidate's text and function calls, read straight off the chunks."""
    text: list[str] = []
    calls: list[tuple[str, Any]] = []
    streaming: dict[str, Any] | None = None
    open_strings: set[str] = set()
    for chunk in chunks_of(path):
        for cand in chunk.get("candidates") or []:
            if cand.get("index", 0) != 0:
                continue
            for part in (cand.get("content") or {}).get("parts") or []:
                if "text" in part and not part.get("thought"):
                    text.append(part["text"])
                fc = part.get("functionCall")
                if fc is None:
                    continue
                if fc.get("name") and not fc.get("willContinue") and "partialArgs" not in fc:
                    calls.append((fc["name"], fc.get("args") or {}))
                    continue
                if fc.get("name"):
                    streaming = {"name": fc["name"], "args": {}}
                    open_strings = set()
                for arg in fc.get("partialArgs") or []:
                    value = next(
                        (arg[k] for k in ("stringValue", "numberValue", "boolValue") if k in arg), None
                    )
                    _set(streaming["args"], arg["jsonPath"], value, arg["jsonPath"] in open_strings)
                    if "stringValue" in arg and arg.get("willContinue"):
                        open_strings.add(arg["jsonPath"])
                    else:
                        open_strings.discard(arg["jsonPath"])
                if not fc.get("willContinue") and streaming is not None:
                    calls.append((streaming["name"], streaming["args"]))
                    streaming = None
    return "".join(text), calls


def _official_client_reads(wire: bytes) -> tuple[str, list[tuple[str, Any]]]:
    import httpx
    from google import genai
    from google.genai import types

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=wire)

    http = httpx.Client(transport=httpx.MockTransport(handler))
    client = genai.Client(
        api_key="k", http_options=types.HttpOptions(base_url="http://upstream.test", httpx_client=http)
    )
    text, calls = [], []
    for response in client.models.generate_content_stream(model="gemini-test", contents="hi"):
        content = response.candidates[0].content if response.candidates else None
        for part in (content.parts if content else None) or []:
            if part.text and not part.thought:
                text.append(part.text)
            if part.function_call:
                calls.append((part.function_call.name, part.function_call.args))
    return "".join(text), calls


@pytest.mark.parametrize("path", RECORDINGS)
def test_recording(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = events_of(path)
    assert "warning" not in capsys.readouterr().err
    assert not [e for e in events if e["type"] == "error"]
    for event in events:
        validate_event(event)

    (ours,) = messages(events)
    text = "".join(p["text"] for p in ours["content"] if p["type"] == "text")
    calls = [
        (p["tool_name"], p["input"])
        for p in ours["content"]
        if p["type"] == "tool-call" and not p.get("provider_executed")
    ]
    assert (text, calls) == simple_accumulate(path)

    wire = b"".join(render(iter(events), format="gemini"))
    again = messages(events_of(wire))
    assert [essence(m) for m in again] == [essence(m) for m in messages(events)]
    assert _official_client_reads(wire) == (text, calls)
