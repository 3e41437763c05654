"""Every recording under ../shared/fixtures normalizes with the right dialect, detected, or for what
no dialect covers (the `other/` folder) fails with one clear line saying which dialect to pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamkit.errors import DataError
from streamkit.stages.fetch import replay
from streamkit.stages.normalize import normalize

from .conftest import fixture_files, run_cli

FOLDER_DIALECT = {"mistral": "openai-chat"}


@pytest.mark.parametrize(
    "path",
    fixture_files(
        "openai-chat",
        "mistral",
        "openai-responses",
        "openai-assistants",
        "anthropic",
        "gemini",
        "ollama",
        "bedrock",
        "cohere",
    ),
)
def test_detected_as_its_dialect(path: Path, fresh_registry) -> None:
    expected = FOLDER_DIALECT.get(path.parent.name, path.parent.name)
    if expected not in fresh_registry.dialects():
        pytest.skip(f"the {expected} plugin is not installed")
    with open(path, "rb") as f:
        events = list(normalize(replay(f), registry=fresh_registry))
    assert {e["dialect"] for e in events if e["type"] == "start"} == {expected}
    assert not [e for e in events if e["type"] == "error" and e.get("code") == "bad-input"]
    assert [e for e in events if e["type"] == "finish"]


@pytest.mark.parametrize("path", fixture_files("other"))
def test_what_no_dialect_covers_fails_with_one_line(path: Path) -> None:
    with open(path, "rb") as f, pytest.raises(DataError, match="no installed dialect recognizes this stream"):
        list(normalize(replay(f)))
    result = run_cli("convert", "--to", "text", str(path))
    assert result.returncode == 65
    assert result.stderr.count(b"\n") == 1 and b"pass --from DIALECT (installed: " in result.stderr
    assert result.stdout == b""
