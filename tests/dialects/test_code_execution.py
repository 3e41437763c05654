"""The provider's own code execution (the canonical ``"kind": "code_execution"`` tool): each client's
form parses into it, each upstream builds its own (or leaves it out, saying so), a client's own form
reaches its dialect as sent, and another provider's execution reaches an Anthropic client as
Anthropic's own (the official SDK's accumulator reads it; through the gateway:
tests/serve/test_code_execution.py)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from anthropic.types import RawMessageStreamEvent
from pydantic import TypeAdapter

from streamkit.conversation import check
from streamkit.dialects.base import Endpoint
from streamkit.plugins import default_registry
from streamkit.stages.fetch import replay
from streamkit.stages.render import render
from tests.conftest import DATA, events_of
from tests.dialects.anthropic.test_encode import _sdk_messages

ANTHROPIC_TOOL = {
    "type": "code_execution_20250825",
    "name": "code_execution",
    "cache_control": {"type": "ephemeral"},
}
RESPONSES_TOOL = {"type": "code_interpreter", "container": {"type": "auto", "file_ids": ["file_1"]}}
GEMINI_TOOL = {"codeExecution": {}}


def dialect(name: str) -> Any:
    return default_registry().dialect(name)


def parsed(client: str) -> dict[str, Any]:
    if client == "anthropic":
        body = {"model": "m", "max_tokens": 9, "messages": [{"role": "user", "content": "sum 1..100"}],
                "tools": [ANTHROPIC_TOOL]}  # fmt: skip
        return dialect(client).parse_request(body).conversation
    if client == "openai-responses":
        return (
            dialect(client)
            .parse_request({"model": "m", "input": "sum 1..100", "tools": [RESPONSES_TOOL]})
            .conversation
        )
    body = {"contents": [{"role": "user", "parts": [{"text": "sum 1..100"}]}], "tools": [GEMINI_TOOL]}
    return (
        dialect(client).parse_request(body, path="/v1beta/models/gemini-3-flash:generateContent").conversation
    )


def built(upstream: str, conversation: dict[str, Any]) -> dict[str, Any]:
    body = (
        dialect(upstream)
        .build_request(check(conversation), Endpoint("http://x", model="gemini-3-flash"))
        .body
    )
    return body if isinstance(body, dict) else json.loads(body)


@pytest.mark.parametrize("client", ["anthropic", "openai-responses", "gemini"])
def test_each_clients_code_execution_parses_into_the_canonical_tool(client: str) -> None:
    (tool,) = parsed(client)["tools"]
    assert (tool["name"], tool["kind"]) == ("code_execution", "code_execution")


@pytest.mark.parametrize(
    ("client", "upstream", "expected"),
    [
        ("openai-responses", "anthropic", {"type": "code_execution_20250522", "name": "code_execution"}),
        ("gemini", "openai-responses", {"type": "code_interpreter", "container": {"type": "auto"}}),
        ("anthropic", "gemini", {"codeExecution": {}}),
        ("anthropic", "anthropic", ANTHROPIC_TOOL),  # (a client's own, as it sent it)
        ("openai-responses", "openai-responses", RESPONSES_TOOL),
        ("gemini", "gemini", GEMINI_TOOL),
    ],
)
def test_each_upstream_gets_its_own_code_execution(
    client: str, upstream: str, expected: dict[str, Any]
) -> None:
    assert built(upstream, parsed(client))["tools"] == [expected]


@pytest.mark.parametrize("upstream", ["openai-chat", "ollama"])
def test_a_dialect_without_one_leaves_it_out_saying_so(
    upstream: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "tools" not in built(upstream, parsed("anthropic"))
    assert f"{upstream} cannot send the code_execution tool (1)" in capsys.readouterr().err


@pytest.mark.parametrize(("case", "stdout"), [("gemini/code-execution.sse", ["", "5050\n"]),
                                              ("openai-responses/code-interpreter.sse", ["2432902008176640000\n"])])  # fmt: skip
def test_another_providers_code_execution_is_anthropics_own(case: str, stdout: list[str]) -> None:
    wire = [
        (r["event"], r["data"])
        for r in replay(io.BytesIO(b"".join(render(iter(events_of(DATA / case)), format="anthropic"))))
    ]
    for _, data in wire:
        TypeAdapter(RawMessageStreamEvent).validate_python(data)
    (final,) = _sdk_messages(wire, beta=False)
    uses = [b for b in final["content"] if b["type"] == "server_tool_use"]
    results = [b for b in final["content"] if b["type"] == "code_execution_tool_result"]
    assert {u["name"] for u in uses} == {"code_execution"} and all("code" in u["input"] for u in uses)
    assert [r["tool_use_id"] for r in results] == [u["id"] for u in uses]
    assert [r["content"]["stdout"] for r in results] == stdout
    assert [r["content"]["return_code"] for r in results] == [1 if not out else 0 for out in stdout]


def test_a_responses_code_interpreter_run_is_gemini_code_execution() -> None:
    """For a Gemini client: executableCode and its codeExecutionResult (the logs as its output),
    which Gemini's own normalizer reads back as code execution."""
    from google.genai import types

    from streamkit.stages.normalize import normalize
    from tests.dialects.gemini.chunks import wire_of

    chunks = wire_of(events_of(DATA / "openai-responses" / "code-interpreter.sse"))
    for chunk in chunks:
        types.GenerateContentResponse.model_validate(chunk)
    parts = [
        p for c in chunks for cand in c["candidates"] if "content" in cand for p in cand["content"]["parts"]
    ]
    (code,) = [p["executableCode"] for p in parts if "executableCode" in p]
    (result,) = [p["codeExecutionResult"] for p in parts if "codeExecutionResult" in p]
    assert code["code"] == "import math\nprint(math.factorial(20))"
    assert (result["outcome"], result["output"]) == ("OUTCOME_OK", "2432902008176640000\n")
    raw = ({"type": "raw", "dialect": "gemini", "event": None, "data": c} for c in chunks)
    again = [e for e in normalize(raw) if e["type"] in ("tool-call", "tool-result")]
    assert [(e["type"], e["tool_name"]) for e in again] == [
        ("tool-call", "code_execution"),
        ("tool-result", "code_execution"),
    ]


FUNCTION = {"name": "f", "description": "f", "parameters": {"type": "object", "properties": {}}}
#: what each upstream makes of a tool_choice forcing code execution (None: left to the model)
FORCED = {
    "anthropic": {"type": "tool", "name": "code_execution"},
    "openai-responses": {"type": "code_interpreter"},
    "openai-chat": None,
    "gemini": None,
    "ollama": None,
}


@pytest.mark.parametrize("client", ["anthropic", "openai-responses"])
@pytest.mark.parametrize("upstream", list(FORCED))
def test_a_choice_forcing_code_execution_is_each_upstreams_own_or_left_to_the_model(
    client: str, upstream: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Anthropic's ``{"type": "tool", "name": "code_execution"}`` and a Responses client's
    ``{"type": "code_interpreter"}`` force the sandbox: Anthropic keeps the choice, a Responses
    upstream gets its hosted tool choice, and elsewhere (no sandbox, or none that can be forced) the
    model chooses, with a warning; never a choice of a function the request does not declare,
    which every API refuses (the provider rules check)."""
    from streamkit.serve.provider_rules import problems

    conversation = parsed(client)
    conversation["tools"].append(FUNCTION)
    conversation["options"] = {"tool_choice": {"name": "code_execution"}}
    body = built(upstream, conversation)
    choice = body.get("tool_choice") or (body.get("toolConfig") or {}).get("functionCallingConfig")
    assert choice == FORCED[upstream] and problems(upstream, body) == []
    if FORCED[upstream] is None and upstream != "ollama":  # (Ollama takes no tool choice at all)
        assert "tool_choice naming code execution" in capsys.readouterr().err


def test_a_responses_clients_code_interpreter_choice_is_the_canonical_one() -> None:
    body = {
        "model": "m",
        "input": "sum 1..100",
        "tools": [RESPONSES_TOOL],
        "tool_choice": {"type": "code_interpreter"},
    }
    assert dialect("openai-responses").parse_request(body).conversation["options"]["tool_choice"] == {
        "name": "code_execution"
    }
