"""A tool result that holds an image (Codex's ``view_image``, Claude Code's ``Read`` of a picture):
each dialect's request carries the image where its format has room for it, never as JSON text of
another dialect's parts, and the clients' requests that hold one parse into the tool message's
``content`` (see :mod:`streamkit.conversation`)."""

from __future__ import annotations

from typing import Any

import pytest

from streamkit.conversation import check
from streamkit.dialects.base import Endpoint
from streamkit.errors import UsageError
from streamkit.plugins import default_registry
from tests.dialects.continuations import images, results

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
CALL = {"type": "tool-call", "tool_call_id": "call_1", "tool_name": "view_image", "arguments": '{"path":"a.png"}',
        "input": {"path": "a.png"}}  # fmt: skip


def conversation(text: str = "") -> dict[str, Any]:
    content = ([{"type": "text", "text": text}] if text else []) + [
        {"type": "file", "media_type": "image/png", "data": PNG}
    ]
    return {
        "model": "m",
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "What colour is a.png?"}]},
            {"role": "assistant", "content": [CALL]},
            {
                "role": "tool",
                "tool_call_id": "call_1",
                "tool_name": "view_image",
                "output": text,
                "content": content,
            },
        ],
        "tools": [{"name": "view_image", "parameters": {"type": "object"}}],
    }


def body(dialect: str, conv: dict[str, Any]) -> Any:
    return (
        default_registry().dialect(dialect).build_request(check(conv), Endpoint("http://x", model="m")).body
    )


@pytest.mark.parametrize("dialect", ["openai-chat", "anthropic", "gemini", "ollama", "openai-responses"])
@pytest.mark.parametrize("text", ["", "a 1x1 PNG"])
def test_each_dialect_sends_the_image_of_a_result_as_an_image(dialect: str, text: str) -> None:
    sent = body(dialect, conversation(text))
    assert images(dialect, sent) == [PNG]
    (result,) = results(dialect, sent)
    assert not (isinstance(result[0], str) and PNG in result[0])  # not as text
    if text:
        assert text in str(result[0]) or text in str(sent)


def test_chat_sends_them_in_a_user_turn_after_the_results_in_a_row() -> None:
    conv = conversation()
    conv["messages"][1]["content"].append({**CALL, "tool_call_id": "call_2"})
    conv["messages"].append({"role": "tool", "tool_call_id": "call_2", "output": "no image"})
    messages = body("openai-chat", conv)["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "tool", "user"]
    assert messages[2]["content"]  # a tool message is never empty
    assert "call_1" in messages[4]["content"][0]["text"]


def test_the_assistants_api_leaves_them_out_with_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    conv = conversation("a 1x1 PNG")
    conv["state"] = {"openai-assistants": {"thread_id": "thread_1", "run_id": "run_1", "status": "requires_action",
                                           "tool_call_ids": ["call_1"], "known": 2}}  # fmt: skip
    sent = body("openai-assistants", conv)
    assert sent["tool_outputs"] == [{"tool_call_id": "call_1", "output": "a 1x1 PNG"}]
    assert "files in tool results" in capsys.readouterr().err


def test_a_tool_results_parts_are_text_and_files() -> None:
    conv = conversation()
    conv["messages"][2]["content"] = [{"type": "reasoning", "text": "no"}]
    with pytest.raises(UsageError, match="a tool result's parts are text or file"):
        check(conv)


def parsed(dialect: str, request: dict[str, Any]) -> dict[str, Any]:
    return default_registry().dialect(dialect).parse_request(request).conversation


def test_a_responses_output_list_with_an_image_parses_into_content() -> None:
    request = {"model": "m", "input": [
        {"role": "user", "content": "What colour is a.png?"},
        {"type": "function_call", "call_id": "call_1", "name": "view_image", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_1", "output": [
            {"type": "input_text", "text": "a 1x1 PNG"},
            {"type": "input_image", "image_url": f"data:image/png;base64,{PNG}", "detail": "high"}]}]}  # fmt: skip
    tool = parsed("openai-responses", request)["messages"][-1]
    assert tool["output"] == "a 1x1 PNG"
    assert [p["type"] for p in tool["content"]] == ["text", "file"]
    assert tool["content"][1]["data"] == PNG and tool["content"][1]["media_type"] == "image/png"
    # and back to a Responses upstream, the same list
    again = body("openai-responses", {**parsed("openai-responses", request), "model": "m"})
    assert again["input"][-1]["output"] == request["input"][-1]["output"]


def test_an_anthropic_tool_result_with_an_image_parses_into_content() -> None:
    request = {"model": "m", "max_tokens": 10, "messages": [
        {"role": "user", "content": "What colour is a.png?"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": [
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}]}]}]}  # fmt: skip
    tool = parsed("anthropic", request)["messages"][-1]
    assert tool["output"] == ""
    assert tool["content"] == [{"type": "file", "media_type": "image/png", "data": PNG}]
    for dialect in ("openai-chat", "gemini", "ollama", "openai-responses", "anthropic"):
        assert images(dialect, body(dialect, {**parsed("anthropic", request), "model": "m"})) == [PNG]
