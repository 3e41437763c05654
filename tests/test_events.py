"""The event models: one union, the same names as the stages use, a schema that says it all."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamkit.canonical import (
    CANONICAL_TYPES,
    DELTA_TYPES,
    FINISH_REASONS,
    PART_FIELDS,
    check_event,
    tool_call,
)
from streamkit.events import EVENT_TYPES, json_schema, validate_event


def test_models_and_stage_vocabulary_agree() -> None:
    assert EVENT_TYPES == CANONICAL_TYPES


def test_finish_reasons_agree() -> None:
    schema = json_schema()
    assert tuple(schema["$defs"]["Finish"]["properties"]["finish_reason"]["enum"]) == FINISH_REASONS


def test_validation_is_discriminated_and_extra_fields_pass() -> None:
    event = validate_event({"type": "text-delta", "id": "t", "delta": "x", "from_the_future": 1})
    assert type(event).__name__ == "TextDelta" and event.from_the_future == 1
    with pytest.raises(pydantic.ValidationError):
        validate_event({"type": "text-delta", "id": "t"})  # no delta
    with pytest.raises(pydantic.ValidationError):
        validate_event({"type": "finish", "finish_reason": "because"})
    with pytest.raises(pydantic.ValidationError):
        validate_event({"type": "x-unknown"})


def test_message_parts_are_a_union_too() -> None:
    message = {
        "type": "message",
        "content": [
            {"type": "reasoning", "text": "r"},
            {"type": "text", "text": "t", "refusal": True},
            {"type": "tool-call", "tool_call_id": "c", "tool_name": "f", "arguments": "{}", "input": {}},
            {"type": "source", "source_type": "url", "id": "s", "url": "https://x"},
            {"type": "tool-approval-request", "tool_call_id": "mcpr_1", "tool_name": "f", "arguments": "{}",
             "input": {}, "provider_executed": True},
        ],
        "finish_reason": "stop",
    }  # fmt: skip
    assert [type(p).__name__ for p in validate_event(message).content] == [
        "ReasoningPart",
        "TextPart",
        "ToolCallPart",
        "SourcePart",
        "ToolApprovalRequestPart",
    ]


def test_message_part_types_and_the_stages_checks_agree() -> None:
    content = json_schema()["$defs"]["Message"]["properties"]["content"]["items"]
    assert set(content["discriminator"]["mapping"]) == set(PART_FIELDS)


def test_schema_has_every_event() -> None:
    schema = json_schema()
    assert schema["discriminator"]["propertyName"] == "type"
    assert set(schema["discriminator"]["mapping"]) == CANONICAL_TYPES


def test_a_tool_call_event_parses_its_arguments_and_says_what_is_wrong_with_bad_ones() -> None:
    assert tool_call("c1", "f", '{"a": 1}') == {
        "type": "tool-call", "tool_call_id": "c1", "tool_name": "f", "arguments": '{"a": 1}', "input": {"a": 1},
    }  # fmt: skip
    assert tool_call("c1", "f", " ")["input"] == {}
    bad = tool_call("c1", "f", '{"a": ')
    assert bad["input"] is None
    assert bad["input_error"].startswith("arguments are not valid JSON")
    assert list(bad) == ["type", "tool_call_id", "tool_name", "arguments", "input", "input_error"]


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


@given(
    st.sampled_from(sorted(DELTA_TYPES)),
    st.dictionaries(st.sampled_from(["provider_metadata", "t", "choice", "text", "x"]), _JSON, max_size=2),
    st.sampled_from(["a", 7, None]),
    st.sampled_from(["hi", 3, None]),
)
def test_a_deltas_short_way_says_what_the_long_way_says(
    kind: str, extra: dict[str, Any], block_id: Any, delta: Any
) -> None:
    # check_event takes a delta with one more field (its metadata or fetch's t) the short way: it
    # must find exactly what the table's long way (fields_problem, then _rarer) finds
    from streamkit.canonical import EVENT_FIELDS, _rarer, fields_problem

    event = {"type": kind, "id": block_id, "delta": delta, **extra}
    problem = fields_problem(EVENT_FIELDS[kind], event) or _rarer(kind, event)
    assert check_event(event) == (f"{kind} event: {problem}" if problem else None)


def test_the_short_way_takes_metadata_objects_and_fetchs_t_only() -> None:
    delta = {"type": "text-delta", "id": "a", "delta": "x"}
    assert check_event({**delta, "provider_metadata": {"openai-chat": {"logprobs": []}}}) is None
    assert check_event({**delta, "t": 0.25}) is None
    assert check_event({**delta, "provider_metadata": []}) == (
        "text-delta event: 'provider_metadata' must be an object, not a list"
    )
    assert check_event({**delta, "provider_metadata": {"a": {}, "openai-chat": [1]}}) == (
        "text-delta event: 'provider_metadata.openai-chat' must be an object, not a list"
    )
    assert (
        check_event({**delta, "choice": "1"}) == "text-delta event: 'choice' must be an integer, not a string"
    )
