"""``serve --script``'s scripts: a turn with a wrong type anywhere is refused when the script is
read, naming the turn and the field (it was a 500 for the request that got the turn, and an
ERROR in the server's log), and the turns of the examples are read as before."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from streamkit.errors import UsageError
from streamkit.serve.script import load_script, turn_events
from tests.conftest import ROOT, run_cli


@pytest.mark.parametrize(
    ("turn", "message"),
    [
        ({"content": [{"type": "text", "text": 5}]}, "content[0]: 'text' must be a string, not an integer"),
        ({"content": [{"type": "tool-call", "tool_name": ["f"]}]}, "content[0]: 'tool_name' must be a string, not a list"),
        ({"content": [{"type": "tool-call", "tool_name": "f", "arguments": {}}]}, "content[0]: 'arguments' must be a string"),
        ({"content": [{"type": "tool-call"}]}, "content[0]: 'tool_name' is missing"),
        ({"tool_calls": [{"name": "f", "id": {"a": 1}}]}, "content[0]: 'tool_call_id' must be a string, not an object"),
        ({"tool_calls": [{"name": ["f"]}]}, "tool_calls[0] needs a 'name', a string"),
        ({"text": "hi", "finish_reason": 7}, "finish event: 'finish_reason' must be a string, not an integer"),
        ({"text": "hi", "usage": "lots"}, "finish event: 'usage' must be an object, not a string"),
        ({"text": "hi", "usage": {"input_tokens": [1]}}, "'usage.input_tokens' must be a number, not a list"),
        ({"text": "hi", "raw_finish_reason": 1}, "'raw_finish_reason' must be a string"),
        ({"tool_calls": [{"name": "f", "provider_metadata": {"gemini": "sig"}}]}, "'provider_metadata.gemini' must be an object"),
    ],
)  # fmt: skip
def test_a_turn_with_a_wrong_type_is_refused_naming_the_field(
    tmp_path: Path, turn: Any, message: str
) -> None:
    path = tmp_path / "script.json"
    path.write_bytes(orjson.dumps([{"text": "fine"}, turn]))
    with pytest.raises(UsageError) as info:
        load_script(path)
    assert str(info.value).startswith(f"{path}: turn 2: ")
    assert message in str(info.value)


def test_the_command_says_it_in_one_line_and_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "script.json"
    path.write_bytes(orjson.dumps([{"text": "hi", "finish_reason": 7}]))
    result = run_cli("serve", "--script", str(path), "--port", "0", timeout=30)
    assert result.returncode == 2
    assert result.stderr.decode().splitlines() == [
        f"streamkit serve: {path}: turn 1: finish event: 'finish_reason' must be a string, not an integer"
    ]


def test_the_examples_turns_are_read_and_become_valid_events() -> None:
    from streamkit.canonical import check_event

    turns = load_script(ROOT / "examples" / "demo-script.json")
    assert len(turns) == 3
    events = turn_events(turns[1], response_id="r", model="m", call_prefix="call_")
    assert [e["tool_name"] for e in events if e["type"] == "tool-call"] == ["get_weather", "get_weather"]
    assert all(check_event(e) is None for e in events)
    assert events[-1]["finish_reason"] == "tool-calls"


def test_the_long_form_keeps_its_finish_usage_and_metadata(tmp_path: Path) -> None:
    path = tmp_path / "script.ndjson"
    turn = {"content": [{"type": "tool-call", "tool_name": "f", "tool_call_id": "c9", "arguments": "{}",
                         "provider_metadata": {"gemini": {"thought_signature": "s"}}}],
            "finish_reason": "stop", "raw_finish_reason": "pause_turn", "usage": {"input_tokens": 1}}  # fmt: skip
    path.write_bytes(orjson.dumps(turn) + b"\n")
    (loaded,) = load_script(path)
    events = turn_events(loaded, response_id="r", model="m", call_prefix="call_")
    (call,) = [e for e in events if e["type"] == "tool-call"]
    assert call["tool_call_id"] == "c9" and call["provider_metadata"] == {
        "gemini": {"thought_signature": "s"}
    }
    assert events[-1] == {"type": "finish", "finish_reason": "stop", "usage": {"input_tokens": 1},
                          "raw_finish_reason": "pause_turn"}  # fmt: skip


def test_a_tool_the_provider_ran_is_its_call_and_its_result_and_no_client_call(tmp_path: Path) -> None:
    from streamkit.canonical import check_event

    path = tmp_path / "script.json"
    turn = {"content": [
        {"type": "tool-call", "tool_name": "web_search", "provider_executed": True, "input": {"query": "tides"}},
        {"type": "tool-result", "tool_call_id": "call_0", "tool_name": "web_search", "provider_executed": True,
         "output": {"sources": [{"type": "url", "url": "https://maree.info/"}]}},
        {"type": "tool-call", "tool_name": "notify", "input": {}},
    ]}  # fmt: skip
    path.write_bytes(
        orjson.dumps([turn, {**turn, "content": [*turn["content"][:2], {"type": "text", "text": "14:05"}]}])
    )
    first, second = (
        turn_events(t, response_id="r", model="m", call_prefix="call_") for t in load_script(path)
    )
    assert all(check_event(e) is None for e in first + second)
    calls = [
        (e["tool_call_id"], e["tool_name"], e.get("provider_executed"))
        for e in first
        if e["type"] == "tool-call"
    ]
    assert calls == [("call_0", "web_search", True), ("call_1", "notify", None)]  # (ids of their own)
    (result,) = [e for e in first if e["type"] == "tool-result"]
    assert (
        result["provider_executed"] is True and result["output"]["sources"][0]["url"] == "https://maree.info/"
    )
    assert first[-1]["finish_reason"] == "tool-calls" and second[-1]["finish_reason"] == "stop"
    with pytest.raises(UsageError, match="content\\[0\\]: 'tool_call_id' is missing"):
        path.write_bytes(orjson.dumps([{"content": [{"type": "tool-result", "output": "x"}]}]))
        load_script(path)
