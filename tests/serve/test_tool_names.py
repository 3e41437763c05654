"""Tool names an upstream's API refuses (``serve.tool_names``): sent under names it takes, the
same every time, and named back in the answers the client reads."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest

from streamkit.plugins import default_registry
from streamkit.serve.tool_names import fit, fitted, named_back
from tests.conftest import ndjson
from tests.serve.test_gateway import gateway

#: an MCP tool as Claude Code names it (68 characters), and names Gemini refuses
LONG = "mcp__plugin_chrome-devtools-mcp_chrome-devtools__get_console_message"
NAMES = [LONG, "9lives", "search.web", "a b", "x" * 200, "ünïcode"]
PATTERNS = {
    d.name: d.tool_name_pattern for d in default_registry().dialects().values() if d.tool_name_pattern
}


@pytest.mark.parametrize("name", NAMES)
def test_a_fitted_name_is_taken_by_every_api_and_is_its_own(name: str) -> None:
    assert set(PATTERNS) >= {"openai-chat", "openai-responses", "anthropic", "gemini"}
    for pattern in PATTERNS.values():
        assert re.fullmatch(pattern, fit(name))
    assert fit(name) == fit(name)  # the same in every request
    assert len({fit(n) for n in NAMES}) == len(NAMES)


def conversation() -> dict[str, Any]:
    call = {"type": "tool-call", "tool_call_id": "c1", "tool_name": LONG, "arguments": "{}", "input": {}}
    return {
        "tools": [{"name": LONG}, {"name": "get_weather"}],
        "options": {"tool_choice": {"name": LONG}},
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "hi"}]},
            {"role": "assistant", "content": [call]},
            {"role": "tool", "tool_call_id": "c1", "tool_name": LONG, "output": "ok"},
        ],
    }


def test_fitted_renames_every_place_a_name_is_and_changes_nothing_it_was_given() -> None:
    given = conversation()
    before = copy.deepcopy(given)
    sent, back = fitted(given, PATTERNS["openai-chat"])
    assert given == before
    short = fit(LONG)
    assert back == {short: LONG}
    assert [t["name"] for t in sent["tools"]] == [short, "get_weather"]
    assert sent["options"]["tool_choice"] == {"name": short}
    assert (
        sent["messages"][1]["content"][0]["tool_name"] == short and sent["messages"][2]["tool_name"] == short
    )
    assert fitted(given, None) == (given, {})  # a dialect that takes any name (Ollama)
    events = [{"type": "tool-input-start", "id": "c2", "tool_name": short},
              {"type": "tool-call", "tool_call_id": "c2", "tool_name": short}, {"type": "text-delta"}]  # fmt: skip
    assert [e.get("tool_name") for e in named_back(events, back)] == [LONG, LONG, None]


@pytest.mark.parametrize(
    ("upstream", "name"), [("openai-chat", LONG), ("anthropic", LONG), ("gemini", "9lives")]
)
def test_a_client_s_long_tool_name_goes_short_and_comes_back(
    upstream: str, name: str, tmp_path: Path
) -> None:
    """Claude Code names an MCP server's tools past what the API takes (and Gemini wants a letter
    first): the upstream gets a name it takes (streamkit/serve/provider_rules.py checks every
    request), and the client its own."""
    import anthropic

    script = [{"tool_calls": [{"name": fit(name), "input": {"level": "error"}}]}]
    ask: Any = {"model": "m", "max_tokens": 100, "messages": [{"role": "user", "content": "Any errors?"}],
                "tools": [{"name": name, "input_schema": {"type": "object"}}]}  # fmt: skip
    with (
        gateway(upstream, tmp_path, script=script) as (url, log),
        anthropic.Anthropic(base_url=url, api_key="k") as sdk,
        sdk.messages.stream(**ask) as stream,
    ):
        message = stream.get_final_message()
    (use,) = message.content
    assert (use.type, use.name, use.input) == ("tool_use", name, {"level": "error"})
    (sent,) = ndjson(log.read_bytes())
    assert f"'{name}'" not in str(sent) and fit(name) in str(sent)
