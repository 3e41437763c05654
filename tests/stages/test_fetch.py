"""fetch --replay: every framing of a recording gives the same raw events."""

from __future__ import annotations

import io

import orjson
import pytest

from streamkit.errors import DataError
from streamkit.stages.fetch import replay

from ..conftest import DATA, ndjson, run_cli

CHUNKS = [
    {
        "id": "c",
        "object": "chat.completion.chunk",
        "model": "m",
        "choices": [{"index": 0, "delta": {"content": "hi"}}],
    },
    {
        "id": "c",
        "object": "chat.completion.chunk",
        "model": "m",
        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
    },
]
EXPECTED = [{"type": "raw", "dialect": None, "event": None, "data": c} for c in CHUNKS]


def raws(data: bytes, **kw) -> list[dict]:
    return list(replay(io.BytesIO(data), **kw))


def test_sse() -> None:
    data = b"".join(b"data: " + orjson.dumps(c) + b"\n\n" for c in CHUNKS)
    assert raws(data) == EXPECTED


def test_ndjson_and_json_array() -> None:
    assert raws(b"".join(orjson.dumps(c) + b"\n" for c in CHUNKS)) == EXPECTED
    assert raws(b"\n [" + b",\r\n".join(orjson.dumps(c) for c in CHUNKS) + b"]") == EXPECTED


def test_an_ndjson_recording_of_raw_events_is_replayed_as_is() -> None:
    recorded = [{**e, "t": 0.25 * i} for i, e in enumerate(EXPECTED)]
    assert raws(b"".join(orjson.dumps(e) + b"\n" for e in recorded)) == recorded


def test_dialect_is_stamped_and_sse_event_names_kept() -> None:
    data = b'event: error\ndata: {"error": {"message": "x"}}\n\ndata: [DONE]\n\n'
    assert raws(data, dialect="openai-chat") == [
        {"type": "raw", "dialect": "openai-chat", "event": "error", "data": {"error": {"message": "x"}}},
        {"type": "raw", "dialect": "openai-chat", "event": None, "data": "[DONE]"},
    ]


def test_empty_recording_and_forced_framing() -> None:
    assert raws(b"  \n") == []
    with pytest.raises(DataError, match="expected a JSON array"):
        raws(b'{"a": 1}', framing="json-array")


def test_cli_replay_of_a_file_and_of_stdin() -> None:
    path = DATA / "openai-chat" / "usage-chunk.sse"
    from_file = run_cli("fetch", "--replay", str(path), "-d", "openai-chat")
    from_stdin = run_cli("fetch", "--replay", "-", "-d", "openai-chat", input=path.read_bytes())
    assert from_file.returncode == 0 and from_file.stdout == from_stdin.stdout
    events = ndjson(from_file.stdout)
    assert {e["dialect"] for e in events} == {"openai-chat"} and events[-1]["data"] == "[DONE]"
    assert run_cli("fetch", "--replay", str(path), "-d", "nope").returncode == 2
    nothing = run_cli("fetch")
    assert nothing.returncode == 2 and b"nothing to send: give a PROMPT" in nothing.stderr
