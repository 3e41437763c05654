"""Unit tests of :mod:`streamkit.serve.mcp_request` and the message merge of :mod:`.mcp_tools`:
names, approval rules, redaction, history in its place."""

from __future__ import annotations

import pytest

from streamkit.errors import UsageError
from streamkit.serve.mcp_client import Connection, Tool
from streamkit.serve.mcp_request import Server, function_name, plan, redact
from streamkit.serve.mcp_tools import _merge

TOOL = Tool("weather", None, {"type": "object"})
WRITE = Tool("delete", None, {"type": "object"}, {"read_only": False})


def test_function_names_keep_the_tools_own_unless_taken_or_unfit() -> None:
    assert function_name("wx", "weather", set()) == "weather"
    assert function_name("wx", "weather", {"weather"}) == "wx__weather"
    assert function_name("fs", "files.read", set()) == "fs__files_read"
    assert function_name("wx", "weather", {"weather", "wx__weather"}) == "wx__weather_2"


def test_approval_rules_follow_the_api() -> None:
    assert Server("a", "u", approval="always").needs_approval(TOOL)
    assert not Server("a", "u", approval="never").needs_approval(TOOL)
    rules = {"never": {"tool_names": ["weather"], "read_only": None}}
    assert not Server("a", "u", approval=rules).needs_approval(TOOL)
    assert Server("a", "u", approval=rules).needs_approval(WRITE)  # named by no filter: always


def test_redact_hides_every_mcp_secret_and_nothing_else() -> None:
    body = {
        "model": "m",
        "tools": [{"type": "mcp", "headers": {"Authorization": "Bearer s3cret"}, "authorization": "tok"},
                  {"type": "function", "name": "f"}],
        "mcp_servers": [{"name": "x", "authorization_token": "t0ken"}],
    }  # fmt: skip
    out = redact(body)
    text = repr(out)
    assert "s3cret" not in text and "tok'" not in text and "t0ken" not in text
    assert out["tools"][1] == {"type": "function", "name": "f"} and out["model"] == "m"
    assert body["tools"][0]["headers"]["Authorization"] == "Bearer s3cret"  # the request is untouched
    assert redact({"model": "m"}) == {"model": "m"}


def test_connection_scrubs_header_values_from_messages() -> None:
    conn = Connection("http://x", {"Authorization": "Bearer s3cret-value"})
    assert conn.scrub("bad header Bearer s3cret-value, and s3cret-value") == "bad header ***, and ***"
    assert "s3cret" not in repr(conn)


def test_an_approval_response_for_a_request_not_in_the_input_is_a_usage_error() -> None:
    conversation = {
        "messages": [],
        "provider_metadata": {"openai-responses": {
            "tools": [{"type": "mcp", "server_label": "wx", "server_url": "http://x"}],
            "input_items": [[0, {"type": "mcp_approval_response", "approval_request_id": "mcpr_1", "approve": True}]],
        }},
    }  # fmt: skip
    with pytest.raises(UsageError, match="mcpr_1"):
        plan("openai-responses", conversation, [])


def test_earlier_calls_join_the_assistant_turn_before_them() -> None:
    user = {"role": "user", "content": "q"}
    turn = {"role": "assistant", "content": [{"type": "tool-call", "tool_call_id": "fc"}]}
    answer = {"role": "tool", "tool_call_id": "fc", "output": "x"}
    call = {"role": "assistant", "content": [{"type": "tool-call", "tool_call_id": "mcp_1"}]}
    result = {"role": "tool", "tool_call_id": "mcp_1", "output": "y"}
    merged = _merge([user, turn, answer], [(2, [call, result])])
    assert [m["role"] for m in merged] == ["user", "assistant", "tool", "tool"]
    assert [p["tool_call_id"] for p in merged[1]["content"]] == ["fc", "mcp_1"]
    alone = _merge([user], [(1, [call, result])])
    assert alone == [user, call, result]
