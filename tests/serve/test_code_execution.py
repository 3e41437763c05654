"""The provider's own code execution through the gateway (tests/dialects/test_code_execution.py has
each dialect's form): an Anthropic client's code execution tool runs in a Gemini upstream's
sandbox, and the official SDK reads the run as Anthropic's own."""

from __future__ import annotations

from pathlib import Path

from streamkit.testing import serving
from tests.conftest import DATA, ndjson
from tests.serve.test_gateway import BASE_PATHS, assert_valid_requests


def test_an_anthropic_clients_code_execution_through_a_gemini_upstream(tmp_path: Path) -> None:
    import anthropic

    log = tmp_path / "upstream.ndjson"
    with (
        serving("-d", "gemini", "--replay", str(DATA / "gemini" / "code-execution.sse"), "--log-requests", str(log)) as up,
        serving("--upstream", "gemini", "--base-url", up + BASE_PATHS["gemini"]) as url,
        anthropic.Anthropic(base_url=url, api_key="k", max_retries=0) as client,
        client.messages.stream(model="gemini-2.5-flash", max_tokens=100, tools=[{"type": "code_execution_20250522", "name": "code_execution"}],  # type: ignore[list-item]
                               messages=[{"role": "user", "content": "Sum 1 to 100 with code."}]) as stream,
    ):  # fmt: skip
        message = stream.get_final_message()
    assert_valid_requests("gemini", log)
    (sent,) = ndjson(log.read_bytes())
    assert sent["tools"] == [{"codeExecution": {}}]
    results = [b for b in message.content if b.type == "code_execution_tool_result"]
    assert [r.content.stdout for r in results] == ["", "5050\n"]  # type: ignore[union-attr]
