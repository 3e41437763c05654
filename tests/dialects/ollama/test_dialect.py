"""The ollama dialect as a whole: which streams it claims (sniffing)."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamkit.dialects.ollama import Ollama
from streamkit.stages.fetch import replay
from tests.conftest import fixture_files
from tests.dialects.ollama.lines import chat

# --- sniffing ---------------------------------------------------------------------------------------


def test_sniff() -> None:
    dialect = Ollama()
    assert dialect.sniff(chat("a"))
    assert dialect.sniff({"model": "phi3", "created_at": "x", "response": "a", "done": False})
    assert dialect.sniff({"error": "model 'x' not found"})
    assert not dialect.sniff({"error": {"message": "bad", "type": "invalid_request_error"}})
    assert not dialect.sniff({"object": "chat.completion.chunk", "choices": []})
    assert not dialect.sniff({"candidates": [{"content": {"parts": [{"text": "a"}]}}]})
    assert not dialect.sniff({"type": "transcript.text.delta", "delta": "Hello"})
    assert not dialect.sniff("[DONE]")


@pytest.mark.parametrize("path", fixture_files("other"))
def test_what_is_not_ollama_is_not_claimed(path: Path) -> None:
    with open(path, "rb") as f:
        for raw in replay(f):
            assert not Ollama().sniff(raw["data"], raw["event"])
