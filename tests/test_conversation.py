"""Canonical conversations: check() accepts the extended fields (developer messages, custom tools,
provider_metadata) and names the field of a wrong one; tool_parameters declares every tool."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamkit.conversation import CUSTOM_TOOL_PARAMETERS, check, system_text, tool_parameters
from streamkit.errors import UsageError
from tests.conftest import places, replaced

EXTENDED = {
    "model": "m",
    "system": "Be terse.",
    "messages": [
        {"role": "system", "content": "Use French.", "developer": True},
        {"role": "user", "content": [
            {"type": "text", "text": "Look"},
            {"type": "file", "media_type": "image/png", "url": "https://x.test/a.png",
             "provider_metadata": {"openai-chat": {"detail": "low"}}},
        ], "provider_metadata": {"openai-chat": {"fields": {"name": "ann"}}}},
        {"role": "assistant", "content": [
            {"type": "reasoning", "text": "hm", "provider_metadata": {"anthropic": {"signature": "s"}}},
            {"type": "tool-call", "tool_call_id": "c1", "tool_name": "apply_patch",
             "arguments": '{"input":"P"}', "input": {"input": "P"}},
        ]},
        {"role": "tool", "tool_call_id": "c1", "tool_name": "apply_patch", "output": {"ok": True}, "is_error": False},
    ],
    "tools": [
        {"name": "apply_patch", "kind": "custom", "format": {"type": "grammar", "grammar": {}}},
        {"name": "f", "parameters": {"type": "object"}, "provider_metadata": {"openai-chat": {"strict": True}}},
    ],
    "options": {"tool_choice": {"name": "f"}, "response_format": {"type": "json_object"}, "reasoning_budget": 1024},
    "provider_metadata": {"openai-chat": {"body": {"store": False}}, "openai-responses": {"include": []}},
}  # fmt: skip


def test_the_extended_conversation_is_accepted() -> None:
    checked = check(EXTENDED)
    assert checked["messages"][0]["content"] == [{"type": "text", "text": "Use French."}]
    assert checked["messages"][0]["developer"] is True
    assert checked["provider_metadata"] == EXTENDED["provider_metadata"]
    assert system_text(checked) == "Be terse.\n\nUse French."


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c["messages"][0].update(developer="yes"), "messages[0]: 'developer' must be true or false"),
        (lambda c: c["tools"][0].update(kind=1), "tools[0]: 'kind' must be a string"),
        (lambda c: c["tools"][0].update(format="lark"), "tools[0]: 'format' must be an object"),
        (lambda c: c["tools"][1].update(provider_metadata={"openai-chat": True}), "tools[1]: 'provider_metadata' must be an object of objects"),
        (lambda c: c.update(provider_metadata=[]), "conversation: 'provider_metadata' must be an object of objects"),
        (lambda c: c["messages"][1].update(provider_metadata="x"), "messages[1]: 'provider_metadata' must be an object"),
        (lambda c: c["messages"][2]["content"][0].update(provider_metadata=1), "messages[2].content[0]: 'provider_metadata' must be an object"),
        # what the request builders read as text, a flag or an object (each was a crash in one of them)
        (lambda c: c.update(system=["Be terse."]), "conversation: 'system' must be a string, not a list"),
        (lambda c: c.update(model=7), "conversation: 'model' must be a string, not an integer"),
        (lambda c: c["messages"][1]["content"][0].update(text=5), "messages[1].content[0]: 'text' must be a string, not an integer"),
        (lambda c: c["messages"][1]["content"][1].update(url=["u"]), "messages[1].content[1]: 'url' must be a string, not a list"),
        (lambda c: c["messages"][2]["content"][0].update(text={"t": 1}), "messages[2].content[0]: 'text' must be a string, not an object"),
        (lambda c: c["messages"][2]["content"][1].update(tool_call_id={"a": 1}), "messages[2].content[1]: 'tool_call_id' must be a string, not an object"),
        (lambda c: c["messages"][2]["content"][1].update(tool_name=["f"]), "messages[2].content[1]: 'tool_name' must be a string, not a list"),
        (lambda c: c["messages"][2]["content"][1].update(arguments={}), "messages[2].content[1]: 'arguments' must be a string, not an object"),
        (lambda c: c["messages"][2]["content"][0].update(provider_metadata={"anthropic": "s"}), "messages[2].content[0]: 'provider_metadata.anthropic' must be an object, not a string"),
        (lambda c: c["messages"][3].update(is_error="no"), "messages[3]: 'is_error' must be true or false, not a string"),
        (lambda c: c["messages"][3].update(tool_name=1), "messages[3]: 'tool_name' must be a string, not an integer"),
        (lambda c: c["messages"][3].update(provider_metadata=[]), "messages[3]: 'provider_metadata' must be an object of objects"),
        (lambda c: c.update(state=1.5), "conversation: 'state' must be an object keyed by dialect"),
        (lambda c: c.update(state={"openai-responses": []}), "conversation: state.openai-responses must be an object"),
    ],
)  # fmt: skip
def test_a_wrong_extended_field_is_a_usage_error_naming_it(change: Any, message: str) -> None:
    import copy

    conversation = copy.deepcopy(EXTENDED)
    change(conversation)
    with pytest.raises(UsageError) as info:
        check(conversation)
    assert message in str(info.value)


def test_tool_parameters() -> None:
    assert tool_parameters({"name": "p", "kind": "custom"}) == CUSTOM_TOOL_PARAMETERS
    assert CUSTOM_TOOL_PARAMETERS["required"] == ["input"]
    assert tool_parameters({"name": "f", "parameters": {"type": "object", "properties": {"a": {}}}})[
        "properties"
    ] == {"a": {}}
    assert tool_parameters({"name": "g"}) == {"type": "object", "properties": {}}


def test_an_approval_answer_is_checked_and_other_dialects_leave_it_out(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A provider's approval request and its answer (OpenAI Responses MCP) mean nothing to the
    other dialects: their requests leave both out, and say so once."""
    from streamkit.dialects.base import Endpoint
    from streamkit.plugins import default_registry

    request = {"type": "tool-approval-request", "tool_call_id": "mcpr_1", "tool_name": "shorten",
               "arguments": "{}", "input": {}, "provider_executed": True}  # fmt: skip
    conversation = check({"model": "m", "messages": [
        {"role": "user", "content": "Go."},
        {"role": "assistant", "content": [request]},
        {"role": "tool", "tool_call_id": "mcpr_1", "approved": True},
        {"role": "user", "content": "And?"},
    ]})  # fmt: skip
    with pytest.raises(UsageError, match="'approved' must be true or false"):
        check({"messages": [{"role": "tool", "tool_call_id": "mcpr_1", "approved": "yes"}]})
    registry = default_registry()
    for name in ("anthropic", "openai-chat", "gemini", "ollama", "openai-assistants"):
        body = registry.dialect(name).build_request(conversation, Endpoint("http://x.test", None, "m")).body
        assert "mcpr_1" not in str(body), name
        err = capsys.readouterr().err
        assert "the provider's tool approval requests (1)" in err, name
        if name != "openai-assistants":  # whose tool messages have no place in a thread anyway
            assert "answers to tool approval requests (1)" in err, name


PLACES = places(EXTENDED)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.floats(allow_nan=False) | st.text(max_size=3),
    lambda inner: (
        st.lists(inner, max_size=2)
        | st.dictionaries(st.sampled_from(["type", "text", "a"]), inner, max_size=2)
    ),
    max_leaves=4,
)


@settings(max_examples=300, deadline=None)
@given(place=st.sampled_from(PLACES), value=JSON_VALUES)
def test_every_dialect_builds_a_request_from_what_check_accepts(place: tuple[Any, ...], value: Any) -> None:
    """Any JSON value anywhere in a conversation: check() refuses it naming the field, or every
    dialect builds its request (a usage error at most): never a TypeError from inside a builder."""
    from streamkit.dialects.base import Endpoint
    from streamkit.errors import StreamkitError
    from streamkit.plugins import default_registry

    try:
        checked = check(replaced(EXTENDED, place, value))
    except UsageError:
        return
    registry = default_registry()
    for name in registry.dialect_entries():
        try:
            registry.dialect(name).build_request(
                checked, Endpoint("http://127.0.0.1:9/v1", api_key="k", model="m")
            )
        except StreamkitError:
            pass
