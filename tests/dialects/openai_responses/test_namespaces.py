"""Tools a Responses request declares in a ``namespace`` (Codex's ``multi_agent_v1``:
``spawn_agent``, ``wait_agent``...): plain tools for dialects that have no namespaces, the
namespace itself for a Responses upstream, and their calls back to the client with their
``namespace``."""

from __future__ import annotations

from typing import Any

from streamkit.dialects.base import Endpoint
from streamkit.plugins import default_registry
from tests.dialects.openai_responses.test_encode import check_responses, encode
from tests.dialects.openai_responses.test_parse import parse

SPAWN = {"type": "function", "name": "spawn_agent", "description": "Start a sub-agent.", "strict": False,
         "parameters": {"type": "object", "properties": {"task": {"type": "string"}}}}  # fmt: skip
NAMESPACE = {"type": "namespace", "name": "multi_agent_v1", "description": "Sub-agents.",
             "tools": [SPAWN, {"type": "custom", "name": "note", "description": "Freeform."}]}  # fmt: skip
EXEC = {"type": "function", "name": "exec_command", "parameters": {"type": "object"}}
BODY: dict[str, Any] = {"model": "m", "input": "Split the work.", "tools": [EXEC, NAMESPACE]}


def built(dialect: str, conversation: dict[str, Any]) -> Any:
    return (
        default_registry().dialect(dialect).build_request(conversation, Endpoint("http://x", model="m")).body
    )


def test_a_namespace_s_tools_are_plain_tools_for_other_dialects() -> None:
    parsed = parse(BODY)
    assert [t["name"] for t in parsed.conversation["tools"]] == ["exec_command", "spawn_agent", "note"]
    assert parsed.answer_options["namespaces"] == {"spawn_agent": "multi_agent_v1", "note": "multi_agent_v1"}
    assert parsed.answer_options["custom_tools"] == ["note"]
    assert parsed.dropped == []
    chat = built("openai-chat", parsed.conversation)
    assert [t["function"]["name"] for t in chat["tools"]] == ["exec_command", "spawn_agent", "note"]
    anthropic = built("anthropic", parsed.conversation)
    assert [t["name"] for t in anthropic["tools"]] == ["exec_command", "spawn_agent", "note"]


def test_a_responses_upstream_gets_the_namespace_itself() -> None:
    tools = built("openai-responses", parse(BODY).conversation)["tools"]
    assert [t["name"] for t in tools] == ["exec_command", "multi_agent_v1"]
    assert tools[1] == NAMESPACE


def test_a_call_of_one_comes_back_with_its_namespace() -> None:
    events = [
        {"type": "start", "id": "r1", "model": "m"},
        {"type": "tool-input-start", "id": "c1", "tool_name": "spawn_agent"},
        {"type": "tool-input-delta", "id": "c1", "delta": '{"task":"tests"}'},
        {"type": "tool-input-end", "id": "c1"},
        {"type": "tool-call", "tool_call_id": "c1", "tool_name": "spawn_agent", "arguments": '{"task":"tests"}',
         "input": {"task": "tests"}},
        {"type": "tool-call", "tool_call_id": "c2", "tool_name": "exec_command", "arguments": "{}", "input": {}},
        {"type": "finish", "finish_reason": "tool-calls"},
    ]  # fmt: skip
    wire = encode(events, **parse(BODY).answer_options)
    check_responses(wire)
    items = [
        d["item"] for _, d in wire if d["type"] in ("response.output_item.added", "response.output_item.done")
    ]
    spawn = [i for i in items if i["name"] == "spawn_agent"]
    assert len(spawn) == 2 and all(i["namespace"] == "multi_agent_v1" for i in spawn)
    assert not any("namespace" in i for i in items if i["name"] == "exec_command")


def test_the_calls_in_the_history_keep_their_namespace_for_a_responses_upstream() -> None:
    call = {"type": "function_call", "call_id": "c1", "name": "spawn_agent", "namespace": "multi_agent_v1",
            "arguments": '{"task":"tests"}'}  # fmt: skip
    body = {**BODY, "input": [{"role": "user", "content": "Split."}, call,
                              {"type": "function_call_output", "call_id": "c1", "output": "agent a1"}]}  # fmt: skip
    conversation = parse(body).conversation
    assert built("openai-responses", conversation)["input"][1]["namespace"] == "multi_agent_v1"
    (sent,) = built("openai-chat", conversation)["messages"][1]["tool_calls"]
    assert sent["function"]["name"] == "spawn_agent"


def test_a_namespace_tool_named_as_another_tool_is_dropped() -> None:
    parsed = parse({**BODY, "tools": [SPAWN, NAMESPACE]})
    assert [t["name"] for t in parsed.conversation["tools"]] == ["spawn_agent", "note"]
    assert parsed.answer_options["namespaces"] == {"note": "multi_agent_v1"}
    assert parsed.dropped == ["namespace tools named as another tool"]
