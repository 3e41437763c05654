"""Talking to a hostile upstream (:mod:`tests.hostile`): what fetch writes when the server misbehaves."""

from __future__ import annotations

import pytest

from tests.conftest import ndjson, run_cli
from tests.hostile import hostile

SECRET = "sk-streamkit-echoed-SECRET-9191"
#: the dialects that make requests, and the variable each reads its key from
KEY_VARIABLES = {
    "openai-chat": "OPENAI_API_KEY",
    "openai-responses": "OPENAI_API_KEY",
    "openai-assistants": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "gemini": "GEMINI_API_KEY",
    "ollama": "STREAMKIT_API_KEY",
}


@pytest.mark.parametrize("dialect", sorted(KEY_VARIABLES))
def test_a_key_the_upstream_echoes_is_redacted_everywhere(dialect: str) -> None:
    with hostile("echo-key") as url:
        result = run_cli("fetch", "-d", dialect, "--base-url", url, "-m", "m", "--retries", "0", "hi",
                         env={KEY_VARIABLES[dialect]: SECRET})  # fmt: skip
    assert result.returncode == 1
    assert SECRET.encode() not in result.stdout + result.stderr
    (error,) = [e for e in ndjson(result.stdout) if e["type"] == "error"]
    assert error["status"] == 401 and "[redacted]" in error["message"]
