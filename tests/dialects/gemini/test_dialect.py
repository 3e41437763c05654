"""The gemini dialect as a whole: which streams it claims as its own (sniffing), and that the
events of every case validate."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamkit.dialects.gemini import Gemini
from streamkit.events import validate_event
from streamkit.stages.fetch import replay
from tests.conftest import events_of, fixture_files
from tests.dialects.gemini.chunks import ALL_CASES, chunk


def test_sniff() -> None:
    dialect = Gemini()
    assert dialect.sniff(chunk([{"text": "a"}]))
    assert dialect.sniff({"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {}})
    assert dialect.sniff(
        {"error": {"code": 429, "message": "Resource exhausted", "status": "RESOURCE_EXHAUSTED"}}
    )
    assert not dialect.sniff({"error": {"message": "bad", "type": "invalid_request_error", "code": None}})
    assert not dialect.sniff({"object": "chat.completion.chunk", "choices": []})
    assert not dialect.sniff({"type": "message_start", "message": {}})
    assert not dialect.sniff(
        {"model": "llama3", "created_at": "x", "message": {"content": "a"}, "done": False}
    )
    assert not dialect.sniff({"index": 0, "step": {"type": "thought"}, "event_type": "step.start"})
    assert not dialect.sniff("[DONE]")


@pytest.mark.parametrize("path", fixture_files("other"))
def test_what_is_not_gemini_is_not_claimed(path: Path) -> None:
    """The Gemini Interactions API (``event_type``) and an audio transcription stream are not ours."""
    with open(path, "rb") as f:
        for raw in replay(f):
            assert not Gemini().sniff(raw["data"], raw["event"])


def test_every_event_of_every_case_validates() -> None:
    for case in ALL_CASES:
        for event in events_of(case):
            validate_event(event)


def test_the_paths_served_streamed_and_whole() -> None:
    """``:streamGenerateContent`` streams; ``:generateContent`` answers one whole response (the paths
    ``serve`` routes to ``whole_response``); the error body is the sniffable google.rpc.Status."""
    dialect = Gemini()
    assert all(p.endswith(":streamGenerateContent") for p in dialect.serve_paths)
    assert dialect.whole_paths == (
        "/v1beta/models/{model}:generateContent",
        "/v1/models/{model}:generateContent",
    )
    assert dialect.sniff(dialect.error_body(429, "slow down"))
