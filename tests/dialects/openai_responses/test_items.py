"""The Responses tool items beside function calls (see ``streamkit/dialects/openai_responses/items.py``):
who runs each, and the next request's answer to those the client runs. Each case starts from its
stream in tests/data/openai-responses/ and goes the way a shell loop goes: normalize, the tool
results (or approval answers) a client adds, ``render -f conversation``, the next request; each
item of that request is checked against the official SDK's parameter type (``body_of``).
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from streamkit.stages.accumulate import accumulate
from streamkit.stages.render import render
from tests.conftest import DATA, events_of, messages
from tests.dialects.openai_responses.test_request import body_of

NAME = "openai-responses"
CASES = DATA / NAME


def next_body(case: str, *answers: dict[str, Any], options: dict[str, Any] | None = None) -> dict[str, Any]:
    """The request after ``case``'s response and ``answers`` (tool-result / approval events),
    as ``render -f conversation`` and the request builder make it (each item checked against
    the SDK's parameter type of its kind)."""
    events = events_of(CASES / f"{case}.sse") + list(answers)
    base: dict[str, Any] = {"model": "gpt-test", "messages": [{"role": "user", "content": "Go."}]}
    if options:
        base["options"] = options
    (line,) = render(iter(events), format="conversation", base=base)
    conversation = orjson.loads(line)
    return body_of(conversation)


def result(call_id: str, output: Any, *, is_error: bool = False) -> dict[str, Any]:
    return {"type": "tool-result", "tool_call_id": call_id, "output": output, "is_error": is_error}


def client_calls(case: str) -> list[tuple[str, str, Any]]:
    (message,) = messages(events_of(CASES / f"{case}.sse"))
    return [(p["tool_call_id"], p["tool_name"], p["input"]) for p in message["content"]
            if p["type"] == "tool-call" and not p.get("provider_executed")]  # fmt: skip


# --- the client's calls, and their answers -----------------------------------------------------


def test_a_shell_call_is_answered_with_its_output_entries() -> None:
    assert client_calls("shell-call") == [
        ("call_sh01", "shell", {"commands": ["ls -a src", "wc -l src/app.py"], "max_output_length": 4096,
                                "timeout_ms": None}),
    ]  # fmt: skip
    body = next_body("shell-call", result("call_sh01", "app.py\n12 src/app.py\n"))
    assert body["previous_response_id"] == "resp_sh01"
    assert body["input"] == [{
        "type": "shell_call_output", "call_id": "call_sh01",
        "output": [{"stdout": "app.py\n12 src/app.py\n", "stderr": "", "outcome": {"type": "exit", "exit_code": 0}}],
        "max_output_length": 4096,  # the model's, passed back
    }]  # fmt: skip
    # a failed command: exit code 1; entries a tool wrote itself go as they are
    entries = [{"stdout": "", "stderr": "boom", "outcome": {"type": "timeout"}}]
    failed = next_body("shell-call", result("call_sh01", "boom", is_error=True))["input"][0]["output"]
    assert failed[0]["outcome"] == {"type": "exit", "exit_code": 1}
    assert next_body("shell-call", result("call_sh01", entries))["input"][0]["output"] == entries


def test_a_local_shell_call_is_answered_with_its_text_by_the_call_id() -> None:
    assert client_calls("local-shell-call")[0][:2] == ("call_lsh01", "local_shell")
    body = next_body("local-shell-call", result("call_lsh01", "total 0\n"))
    assert body["input"] == [{"type": "local_shell_call_output", "id": "call_lsh01", "output": "total 0\n"}]


def test_a_computer_call_is_answered_with_a_screenshot(capsys: pytest.CaptureFixture[str]) -> None:
    assert client_calls("computer-call") == [
        ("call_cu01", "computer", {"actions": [{"type": "click", "button": "left", "x": 412, "y": 90},
                                               {"type": "type", "text": "streamkit"}]}),
    ]  # fmt: skip
    shot = "data:image/png;base64,iVBORw0KGgo="
    body = next_body("computer-call", result("call_cu01", shot))
    assert body["input"] == [{"type": "computer_call_output", "call_id": "call_cu01",
                              "output": {"type": "computer_screenshot", "image_url": shot}}]  # fmt: skip
    assert next_body("computer-call", result("call_cu01", "file-abc"))["input"][0]["output"] == {
        "type": "computer_screenshot", "file_id": "file-abc"}  # fmt: skip
    next_body("computer-call", result("call_cu01", "clicked"))
    assert "cannot send a computer_call result that is not a screenshot" in capsys.readouterr().err


def test_a_client_tool_search_is_answered_with_the_tools_it_found() -> None:
    # the call id the item ends with is the one the answer names (it was added with another)
    assert client_calls("tool-search-client") == [
        ("call_tsc02", "tool_search", {"goal": "a tool for the weather"})
    ]
    found = [{"type": "function", "name": "get_weather", "description": "Weather now",
              "parameters": {"type": "object", "properties": {}}, "strict": False, "defer_loading": True}]  # fmt: skip
    body = next_body("tool-search-client", result("call_tsc02", found))
    assert body["input"] == [{"type": "tool_search_output", "call_id": "call_tsc02", "execution": "client",
                              "status": "completed", "tools": found}]  # fmt: skip
    assert next_body("tool-search-client", result("call_tsc02", orjson.dumps({"tools": found}).decode()))[
        "input"][0]["tools"] == found  # fmt: skip


def test_without_state_on_the_server_the_calls_go_back_before_their_answers() -> None:
    body = next_body("local-shell-call", result("call_lsh01", "ok"), options={"store": False})
    assert "previous_response_id" not in body
    # (the reasoning item, with no encrypted content, cannot be sent then)
    assert [i["type"] for i in body["input"]] == ["message", "local_shell_call", "local_shell_call_output"]
    assert body["input"][1] == {
        "type": "local_shell_call", "id": "lsh_lsh01", "call_id": "call_lsh01", "status": "completed",
        "action": {"type": "exec", "command": ["ls", "-la", "/tmp"], "env": {"LANG": "C"}, "timeout_ms": 10000,
                   "working_directory": "/tmp"},
    }  # fmt: skip
    body = next_body("shell-call", result("call_sh01", "ok"), options={"store": False})
    assert body["input"][1]["type"] == "shell_call" and body["input"][1]["call_id"] == "call_sh01"


# --- approvals -------------------------------------------------------------------------------


def test_an_mcp_approval_request_is_a_tool_approval_request_in_the_message() -> None:
    events = events_of(CASES / "mcp-approval.sse")
    (request,) = [e for e in events if e["type"] == "tool-approval-request"]
    assert request["tool_call_id"] == "mcpr_apr01" and request["tool_name"] == "shorten"
    assert request["input"] == {"url": "https://example.org/a/very/long/path"}
    assert request["provider_metadata"][NAME]["server_label"] == "shortener"
    (message,) = messages(events)
    assert message["finish_reason"] == "stop"  # the response is complete; the request is in it
    assert [p["type"] for p in message["content"]][-1] == "tool-approval-request"


def test_an_approval_is_answered_with_an_mcp_approval_response() -> None:
    answer = {"type": "tool-approval-response", "tool_call_id": "mcpr_apr01", "approved": False,
              "reason": "not that link"}  # fmt: skip
    body = next_body("mcp-approval", answer)
    assert body["previous_response_id"] == "resp_apr01"
    assert body["input"] == [{"type": "mcp_approval_response", "approval_request_id": "mcpr_apr01",
                              "approve": False, "reason": "not that link"}]  # fmt: skip
    # without state on the server the request goes back before its answer
    body = next_body("mcp-approval", {**answer, "approved": True, "reason": None}, options={"store": False})
    assert body["input"][1:] == [
        {"id": "mcpr_apr01", "type": "mcp_approval_request", "arguments": '{"url":"https://example.org/a/very/long/path"}',
         "name": "shorten", "server_label": "shortener"},
        {"type": "mcp_approval_response", "approval_request_id": "mcpr_apr01", "approve": True},
    ]  # fmt: skip


def test_run_tools_own_approvals_are_no_part_of_the_message() -> None:
    """run-tools asks about a client call (no provider_executed) while the response streams."""
    events = [e for e in events_of(CASES / "function-call.sse") if e["type"] != "message"]
    call = next(e for e in events if e["type"] == "tool-call")
    asked = {
        "type": "tool-approval-request",
        "tool_call_id": call["tool_call_id"],
        "tool_name": call["tool_name"],
    }
    at = events.index(call) + 1
    again = list(accumulate(iter([*events[:at], asked, *events[at:]])))
    assert [p["type"] for p in messages(again)[0]["content"]] == ["tool-call"]


# --- who ran it --------------------------------------------------------------------------------


def test_provider_run_items_are_provider_executed_and_the_response_finishes_stop() -> None:
    for case, ran in [
        ("shell-hosted", [("call_hs01", "shell")]),
        ("tool-search-server", [("tsc_sv01", "tool_search")]),
        (
            "xai-server-custom-tools",
            [("xs_call_1001", "x_keyword_search"), ("xs_call_1002", "x_thread_fetch")],
        ),
    ]:
        (message,) = messages(events_of(CASES / f"{case}.sse"))
        content = message["content"]
        calls = [
            (p["tool_call_id"], p["tool_name"])
            for p in content
            if p["type"] == "tool-call" and p.get("provider_executed")
        ]
        results = [(p["tool_call_id"], p["tool_name"]) for p in content if p["type"] == "tool-result"]
        assert calls == ran == results, case
    (hosted,) = [
        p for p in messages(events_of(CASES / "shell-hosted.sse"))[0]["content"] if p["type"] == "tool-result"
    ]
    assert hosted["output"]["output"][0]["stdout"] == "Python 3.12.1\n"
    assert messages(events_of(CASES / "xai-server-custom-tools.sse"))[0]["finish_reason"] == "stop"


def test_a_custom_tool_call_added_completed_was_run_by_the_provider() -> None:
    """A server that lists no tools: the call added as already completed is the provider's."""
    from tests.dialects.openai_responses.test_normalize import normalized

    item = {"id": "ctc_1", "type": "custom_tool_call", "call_id": "c1", "name": "x_user_search",
            "input": '{"query":"x"}', "status": "completed"}  # fmt: skip
    events = normalized(
        {"type": "response.created", "response": {"id": "r", "model": "grok", "tools": []}},
        {"type": "response.output_item.added", "output_index": 0, "item": item},
        {"type": "response.output_item.done", "output_index": 0, "item": item},
        {"type": "response.completed", "response": {"id": "r", "model": "grok", "status": "completed"}},
    )
    (call,) = [e for e in events if e["type"] == "tool-call"]
    assert call["provider_executed"] and messages(events)[0]["finish_reason"] == "stop"
    # the same call, added in progress, to a declared custom tool: the client's
    declared = [{"type": "custom", "name": "x_user_search"}]
    events = normalized(
        {"type": "response.created", "response": {"id": "r", "model": "gpt", "tools": declared}},
        {"type": "response.output_item.added", "output_index": 0, "item": {**item, "status": "in_progress", "input": ""}},
        {"type": "response.output_item.done", "output_index": 0, "item": item},
        {"type": "response.completed", "response": {"id": "r", "model": "gpt", "status": "completed"}},
    )  # fmt: skip
    (call,) = [e for e in events if e["type"] == "tool-call"]
    assert not call.get("provider_executed") and messages(events)[0]["finish_reason"] == "tool-calls"


def test_a_program_output_in_a_later_response_answers_the_program() -> None:
    first, second = messages(events_of(CASES / "programmatic-tool-calling.sse"))
    (program,) = [p for p in first["content"] if p["type"] == "tool-call" and p.get("provider_executed")]
    assert program["tool_name"] == "programmatic_tool_calling" and program["tool_call_id"] == "call_prg01"
    assert program["provider_metadata"][NAME]["fingerprint"] == "gAAAAfp01"  # to send back as it was
    (output,) = [p for p in second["content"] if p["type"] == "tool-result"]
    assert output["tool_call_id"] == "call_prg01"
    assert output["output"] == {"status": "completed", "result": '{"sku":"a1","units":7}'}
    # the program's function call keeps its caller, for the answer
    (call,) = [p for p in first["content"] if p["type"] == "tool-call" and not p.get("provider_executed")]
    assert call["provider_metadata"][NAME]["caller"] == {"type": "program", "caller_id": "call_prg01"}


def test_a_shell_call_that_says_not_where_it_runs_is_the_providers_when_its_output_follows() -> None:
    from tests.dialects.openai_responses.test_normalize import normalized

    call = {"id": "sh_1", "type": "shell_call", "call_id": "call_1", "status": "completed",
            "action": {"commands": ["uname"], "max_output_length": None, "timeout_ms": None}}  # fmt: skip
    output = {"id": "sho_1", "type": "shell_call_output", "call_id": "call_1", "status": "completed",
              "output": [{"stdout": "Linux\n", "stderr": "", "outcome": {"type": "exit", "exit_code": 0}}]}  # fmt: skip
    events = normalized(
        {"type": "response.created", "response": {"id": "r", "model": "m"}},
        {"type": "response.output_item.added", "output_index": 0, "item": {**call, "status": "in_progress"}},
        {"type": "response.output_item.done", "output_index": 0, "item": call},
        {"type": "response.output_item.added", "output_index": 1, "item": {**output, "output": []}},
        {"type": "response.output_item.done", "output_index": 1, "item": output},
        {"type": "response.completed", "response": {"id": "r", "model": "m", "status": "completed"}},
    )
    (message,) = messages(events)
    assert [(p["type"], p.get("provider_executed")) for p in message["content"]] == [
        ("tool-call", True), ("tool-result", True)]  # fmt: skip
    assert message["finish_reason"] == "stop"
    # with no output after it, the same call is the client's (told when the response ends)
    events = normalized(
        {"type": "response.created", "response": {"id": "r", "model": "m"}},
        {"type": "response.output_item.done", "output_index": 0, "item": call},
        {
            "type": "response.completed",
            "response": {"id": "r", "model": "m", "status": "completed", "output": [call]},
        },
    )
    (message,) = messages(events)
    assert [(p["type"], p.get("provider_executed")) for p in message["content"]] == [("tool-call", None)]
    assert message["finish_reason"] == "tool-calls"
