"""Cohere v2 chat requests: the body built from a canonical conversation, and ``fetch -d cohere``
against a real ``streamkit serve -d cohere`` over loopback (as the built-in dialects are tested);
the official ``cohere`` client against the same server."""

from __future__ import annotations

import sys
from pathlib import Path

import orjson
import pytest
from cohere_helpers import DATA, ndjson, registry, run_cli, serving

from streamkit.conversation import from_prompt
from streamkit.dialects.base import Endpoint
from streamkit.endpoints import resolve
from streamkit.testing import assert_serve_replays

KEY = "co-test-SECRET-3131"
DIALECT = registry().dialect("cohere")
CLEAN = {
    "CO_API_KEY": "",
    "COHERE_API_KEY": "",
    "CO_API_URL": "",
    "STREAMKIT_API_KEY": "",
    "STREAMKIT_BASE_URL": "",
}

CONVERSATION = {
    "system": "Be terse.",
    "messages": [
        {"role": "user", "content": [{"type": "text", "text": "Weather in Oslo? "},
                                     {"type": "file", "media_type": "image/png", "data": "iVBOR"}]},
        {"role": "assistant", "content": [
            {"type": "reasoning", "text": "I will look it up.", "provider_metadata": {"cohere": {"tool_plan": True}}},
            {"type": "tool-call", "tool_call_id": "c1", "tool_name": "weather", "arguments": '{"city":"Oslo"}',
             "input": {"city": "Oslo"}},
        ]},
        {"role": "tool", "tool_call_id": "c1", "tool_name": "weather", "output": {"c": 18}},
        {"role": "assistant", "content": [{"type": "reasoning", "text": "Hm."}, {"type": "text", "text": "18 °C."}]},
        {"role": "user", "content": "Thanks"},
    ],
    "tools": [{"name": "weather", "description": "The weather.", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}],
    "options": {"max_tokens": 50, "top_p": 0.5, "top_k": 3, "stop": "END", "tool_choice": "required",
                "reasoning_budget": 1000, "parallel_tool_calls": False, "safety_mode": "OFF"},
}  # fmt: skip


def test_the_body(capsys: pytest.CaptureFixture[str]) -> None:
    request = DIALECT.build_request(
        CONVERSATION, Endpoint("https://api.cohere.com", KEY, "command-a-03-2025")
    )
    assert request.url == "https://api.cohere.com/v2/chat"
    assert request.headers["Authorization"] == f"Bearer {KEY}" and request.framing == "sse"
    assert request.body == {
        "model": "command-a-03-2025",
        "stream": True,
        "messages": [
            {"role": "system", "content": "Be terse."},
            {"role": "user", "content": [{"type": "text", "text": "Weather in Oslo? "},
                                         {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR"}}]},
            {"role": "assistant", "tool_plan": "I will look it up.", "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "weather", "arguments": '{"city":"Oslo"}'}}]},
            {"role": "tool", "tool_call_id": "c1", "content": '{"c":18}'},
            {"role": "assistant", "content": [{"type": "thinking", "thinking": "Hm."}, {"type": "text", "text": "18 °C."}]},
            {"role": "user", "content": "Thanks"},
        ],
        "tools": [{"type": "function", "function": {"name": "weather", "description": "The weather.",
                                                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
        "max_tokens": 50, "p": 0.5, "k": 3, "stop_sequences": ["END"], "tool_choice": "REQUIRED",
        "thinking": {"type": "enabled", "token_budget": 1000}, "safety_mode": "OFF",
    }  # fmt: skip
    assert "cohere cannot send parallel_tool_calls (1)" in capsys.readouterr().err


def test_the_sdks_message_types_take_the_messages() -> None:
    from pydantic import TypeAdapter

    cohere = pytest.importorskip("cohere", reason="cohere (the test extra) is not installed")
    body = DIALECT.build_request(CONVERSATION, Endpoint("https://x", None, "m")).body
    messages = TypeAdapter(list[cohere.ChatMessageV2]).validate_python(body["messages"])
    assert [m.role for m in messages] == ["system", "user", "assistant", "tool", "assistant", "user"]
    assert messages[2].tool_calls[0].function.name == "weather"  # type: ignore[union-attr]
    TypeAdapter(list[cohere.ToolV2]).validate_python(body["tools"])


def test_the_environment_as_the_official_client_reads_it() -> None:
    default = resolve(DIALECT, env=CLEAN)
    assert (default.base_url, default.api_key) == ("https://api.cohere.com", None)
    mine = resolve(
        DIALECT, env={**CLEAN, "CO_API_URL": "http://proxy.test/v2/", "COHERE_API_KEY": KEY}, model="m"
    )
    assert (mine.base_url, mine.api_key) == ("http://proxy.test/v2", KEY)
    assert DIALECT.build_request(from_prompt("hi"), mine).url == "http://proxy.test/v2/chat"


OURS = sorted(DATA.glob("*.sse"))


def test_fetch_from_serve_replay_equals_fetch_replay() -> None:
    assert_serve_replays(
        "cohere", OURS, model="command-a", env={**CLEAN, "CO_API_KEY": KEY}, registry=registry()
    )


def test_the_tool_loop_sends_cohere_continuations(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text('[{"tool_calls": [{"name": "add", "input": {"a": 1, "b": 2}}]}, {"text": "Three."}]')
    tools = tmp_path / "tools.toml"
    adder = "import json, sys; a = json.load(sys.stdin); print(a['a'] + a['b'])"
    tools.write_text(f'[[tools]]\nname = "add"\ndescription = "Add."\nexecutor = "shell"\n'
                     f'command = [{orjson.dumps(sys.executable).decode()}, "-c", {orjson.dumps(adder).decode()}]\n'
                     'parameters = {type = "object", properties = {a = {type = "integer"}, b = {type = "integer"}}}\n')  # fmt: skip
    log = tmp_path / "requests.ndjson"
    keys = tmp_path / "keys"
    keys.write_text(KEY + "\n")
    with serving(
        "-d", "cohere", "--script", str(script), "--log-requests", str(log), "--client-keys", str(keys)
    ) as url:
        result = run_cli("agent", "-d", "cohere", "--base-url", url, "-m", "command-a", "--tools", str(tools),
                         "What is 1+2?", env={**CLEAN, "CO_API_KEY": KEY})  # fmt: skip
    assert result.returncode == 0, result.stderr
    first, second = ndjson(log.read_bytes())
    assert first["tools"][0]["function"]["name"] == "add" and first["stream"] is True
    call = second["messages"][1]["tool_calls"][0]
    assert second["messages"][1]["role"] == "assistant" and call["function"]["name"] == "add"
    assert orjson.loads(call["function"]["arguments"]) == {"a": 1, "b": 2}
    assert second["messages"][2]["role"] == "tool" and second["messages"][2]["tool_call_id"] == call["id"]
    assert b"Three." in result.stdout


def test_the_official_client_reads_serve() -> None:
    cohere = pytest.importorskip("cohere", reason="cohere (the test extra) is not installed")
    import httpx

    with serving("-d", "cohere", "--replay", str(DATA / "text.sse")) as url, httpx.Client(timeout=30) as http:
        client = cohere.ClientV2(api_key=KEY, base_url=url, httpx_client=http)
        events = list(client.chat_stream(model="command-a", messages=[{"role": "user", "content": "hi"}]))
    text = "".join(e.delta.message.content.text for e in events if e.type == "content-delta")
    assert text and events[-1].type == "message-end"
