"""The encoder's tool calls for a gateway: the ``custom_tools`` option (the tools a Responses
client declared as ``custom``, such as Codex's ``apply_patch``), whose calls come back as
``custom_tool_call`` items with their string input even though the upstream saw a function taking
``{"input": ...}``; the input streams as its JSON arrives, decoded fragment by fragment.
"""

from __future__ import annotations

import json
from itertools import pairwise
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamkit.dialects.openai_responses import ResponsesEncoder
from streamkit.dialects.openai_responses.encode_tools import _InputStream, custom_input
from streamkit.stages.fetch import replay
from streamkit.stages.render import render
from tests.conftest import DATA, events_of
from tests.dialects.openai_responses.test_encode import check_responses, encode, sdk_final

NAME = "openai-responses"
PATCH = '*** Begin Patch\n*** Add File: a.py\n+print("hé \\\\ 😀\t")\n*** End Patch\n'


def call_events(name: str, arguments: str, frags: list[str], call_id: str = "call_1") -> list[dict[str, Any]]:
    """A client call as another dialect's normalizer writes it: start, fragments, the whole call."""
    value = json.loads(arguments) if arguments else {}
    return [
        {"type": "tool-input-start", "id": call_id, "tool_name": name},
        *({"type": "tool-input-delta", "id": call_id, "delta": f} for f in frags),
        {"type": "tool-input-end", "id": call_id},
        {
            "type": "tool-call",
            "tool_call_id": call_id,
            "tool_name": name,
            "arguments": arguments,
            "input": value,
        },
    ]


def stream(*calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"type": "start", "id": "resp_1", "model": "m"},
        *(e for c in calls for e in c),
        {"type": "finish", "finish_reason": "tool-calls", "raw_finish_reason": "tool_calls"},
    ]


def custom_items(response: list[dict]) -> list[dict]:
    return [o for o in response[-1]["response"]["output"] if o["type"] == "custom_tool_call"]


def streamed_input(response: list[dict]) -> str:
    return "".join(e["delta"] for e in response if e["type"] == "response.custom_tool_call_input.delta")


def test_a_call_to_a_declared_custom_tool_is_a_custom_tool_call_streamed_as_it_comes() -> None:
    arguments = json.dumps({"input": PATCH})  # ensure_ascii: the emoji as a surrogate pair of escapes
    events = stream(call_events("apply_patch", arguments, list(arguments)))  # one character at a time
    (response,) = check_responses(encode(events, custom_tools=["apply_patch"]))
    (item,) = custom_items(response)
    assert (item["call_id"], item["name"], item["input"], item["status"]) == (
        "call_1", "apply_patch", PATCH, "completed")  # fmt: skip
    assert streamed_input(response) == PATCH
    deltas = [e for e in response if e["type"] == "response.custom_tool_call_input.delta"]
    assert len(deltas) > 10  # streamed, not written whole at the end
    (done,) = [e for e in response if e["type"] == "response.custom_tool_call_input.done"]
    assert done["input"] == PATCH
    added = next(e for e in response if e["type"] == "response.output_item.added")
    assert added["item"] == {"id": item["id"], "type": "custom_tool_call", "status": "in_progress",
                             "call_id": "call_1", "name": "apply_patch", "input": ""}  # fmt: skip
    assert sdk_final(response).output[0].input == PATCH


def test_without_the_option_the_call_is_a_function_call() -> None:
    arguments = json.dumps({"input": PATCH})
    (response,) = check_responses(encode(stream(call_events("apply_patch", arguments, [arguments]))))
    assert [o["type"] for o in response[-1]["response"]["output"]] == ["function_call"]
    (response,) = check_responses(
        encode(stream(call_events("shell", '{"cmd":"ls"}', ['{"cmd":"ls"}'])), custom_tools=["apply_patch"])
    )
    assert [o["type"] for o in response[-1]["response"]["output"]] == ["function_call"]


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ('{"patch": "*** Begin Patch"}', "*** Begin Patch"),  # the model named the field otherwise
        ('{"a": 1, "b": 2}', '{"a": 1, "b": 2}'),  # another shape: the JSON text, as the model wrote it
        ("{}", "{}"),
        ('{"input": "x", "extra": true}', "x"),
    ],
)
def test_an_input_of_another_shape_is_passed_as_it_is(arguments: str, expected: str) -> None:
    (response,) = check_responses(
        encode(stream(call_events("apply_patch", arguments, [arguments])), custom_tools=["apply_patch"])
    )
    (item,) = custom_items(response)
    assert item["input"] == expected


def test_custom_tools_given_as_one_string() -> None:
    """``render -f openai-responses -O custom_tools=apply_patch,grep``."""
    arguments = '{"input":"x"}'
    wire = b"".join(
        render(
            iter(stream(call_events("grep", arguments, [arguments]))),
            format=NAME,
            custom_tools="apply_patch,grep",
        )
    )
    assert b'"type":"custom_tool_call"' in wire
    assert ResponsesEncoder(custom_tools="a,b").custom_tools == frozenset({"a", "b"})


def test_parallel_custom_and_function_calls_interleaved_are_written_one_after_the_other() -> None:
    """Chat Completions interleaves two calls' fragments: the second waits for the first, then
    comes whole; both are closed, in arrival order."""
    events = [
        {"type": "start", "id": "resp_1", "model": "m"},
        {"type": "tool-input-start", "id": "call_a", "tool_name": "apply_patch"},
        {"type": "tool-input-start", "id": "call_b", "tool_name": "shell"},
        {"type": "tool-input-delta", "id": "call_a", "delta": '{"input": "*** Be'},
        {"type": "tool-input-delta", "id": "call_b", "delta": '{"cmd": ["ls"]}'},
        {"type": "tool-input-delta", "id": "call_a", "delta": 'gin Patch"}'},
        {"type": "tool-call", "tool_call_id": "call_b", "tool_name": "shell", "arguments": '{"cmd": ["ls"]}',
         "input": {"cmd": ["ls"]}},
        {"type": "tool-call", "tool_call_id": "call_a", "tool_name": "apply_patch",
         "arguments": '{"input": "*** Begin Patch"}', "input": {"input": "*** Begin Patch"}},
        {"type": "finish", "finish_reason": "tool-calls", "raw_finish_reason": "tool_calls"},
    ]  # fmt: skip
    (response,) = check_responses(encode(events, custom_tools=["apply_patch"]))
    output = response[-1]["response"]["output"]
    assert [(o["type"], o["call_id"]) for o in output] == [
        ("custom_tool_call", "call_a"),
        ("function_call", "call_b"),
    ]
    assert output[0]["input"] == "*** Begin Patch" and output[1]["arguments"] == '{"cmd": ["ls"]}'


def test_a_custom_call_cut_off_ends_with_the_input_that_came() -> None:
    events = [
        {"type": "start", "id": "resp_1", "model": "m"},
        {"type": "tool-input-start", "id": "call_a", "tool_name": "apply_patch"},
        {"type": "tool-input-delta", "id": "call_a", "delta": '{"input": "*** Begin'},
    ]
    (response,) = check_responses(encode(events, custom_tools=["apply_patch"]))
    (item,) = custom_items(response)
    assert item["input"] == "*** Begin"
    assert response[-1]["type"] == "response.failed"


def test_the_official_client_reads_the_custom_call() -> None:
    import openai

    arguments = json.dumps({"input": PATCH})
    wire = b"".join(render(iter(stream(call_events("apply_patch", arguments, list(arguments)))), format=NAME,
                           custom_tools=["apply_patch"]))  # fmt: skip
    transport = httpx.MockTransport(
        lambda request: httpx.Response(200, headers={"content-type": "text/event-stream"}, content=wire)
    )
    client = openai.OpenAI(
        api_key="k", base_url="http://x.test/v1", http_client=httpx.Client(transport=transport)
    )
    with client.responses.stream(model="m", input="patch it") as events:
        kinds = [e.type for e in events]
        final = events.get_final_response()
    assert "response.custom_tool_call_input.delta" in kinds
    (call,) = final.output
    assert (call.type, call.name, call.input) == ("custom_tool_call", "apply_patch", PATCH)


# --- the input decoder ---------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(),
    ascii_only=st.booleans(),
    spaced=st.booleans(),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=12),
)
def test_any_split_of_the_input_json_decodes_to_the_input(text: str, ascii_only: bool, spaced: bool,
                                                          cuts: list[int]) -> None:  # fmt: skip
    """Whatever the fragments (an escape or a surrogate pair cut in two), the decoded deltas join to
    the string, and the encoder's items agree."""
    arguments = json.dumps(
        {"input": text}, ensure_ascii=ascii_only, separators=(", ", ": ") if spaced else (",", ":")
    )
    points = sorted({min(c, len(arguments)) for c in cuts} | {0, len(arguments)})
    frags = [arguments[a:b] for a, b in pairwise(points) if b > a]
    decoder = _InputStream()
    assert "".join(decoder.feed(f) for f in frags) == text
    assert decoder.state == "end"
    (response,) = check_responses(
        encode(stream(call_events("apply_patch", arguments, frags)), custom_tools=["apply_patch"])
    )
    assert streamed_input(response) == text == custom_items(response)[0]["input"]


def test_the_decoder_gives_up_on_another_shape() -> None:
    decoder = _InputStream()
    assert decoder.feed('{"path": "a.py", "diff": "' + "x" * 80) == ""
    assert decoder.state == "off"
    assert custom_input({"input": "x"}, None) == "x"
    assert custom_input("raw", None) == "raw"
    assert custom_input(None, "{oops") == "{oops"
    assert custom_input([1], None) == orjson.dumps([1]).decode()


# --- the later tool items (see items.py) ---------------------------------------------------------


def final_output(wire_or_path: Any) -> list[list[dict[str, Any]]]:
    """Each response's final output items, null fields left out."""
    if not isinstance(wire_or_path, list):
        with open(wire_or_path, "rb") as f:
            wire_or_path = [(raw["event"], raw["data"]) for raw in replay(f)]
    finals = [d["response"]["output"] for _, d in wire_or_path if d.get("type") == "response.completed"]
    return [[{k: v for k, v in item.items() if v is not None} for item in output] for output in finals]


@pytest.mark.parametrize(
    "case",
    ["shell-call", "local-shell-call", "shell-hosted", "computer-call", "tool-search-client", "tool-search-server",
     "programmatic-tool-calling", "mcp-approval", "xai-server-custom-tools"],
)  # fmt: skip
def test_the_later_tool_items_come_back_as_they_were(case: str) -> None:
    """Re-encoding gives each item back (its id, call id, input and other fields), in a stream the
    official SDK's accumulator reads."""
    path = DATA / NAME / f"{case}.sse"
    wire = encode(events_of(path))
    check_responses(wire)
    kinds = ("shell_call", "shell_call_output", "local_shell_call", "computer_call", "tool_search_call",
             "tool_search_output", "program", "program_output", "mcp_approval_request", "custom_tool_call")  # fmt: skip
    theirs = [[i for i in output if i["type"] in kinds] for output in final_output(path)]
    ours = [[i for i in output if i["type"] in kinds] for output in final_output(wire)]
    assert ours == theirs and any(theirs)


def test_run_tools_own_approval_questions_are_no_part_of_the_response() -> None:
    events = stream(call_events("get_weather", '{"city":"Oslo"}', ['{"city":"Oslo"}']))
    events[-1:-1] = [
        {"type": "tool-approval-request", "tool_call_id": "call_1", "tool_name": "get_weather"},
        {"type": "tool-approval-response", "tool_call_id": "call_1", "approved": True},
    ]
    (response,) = check_responses(encode(events))
    assert [o["type"] for o in response[-1]["response"]["output"]] == ["function_call"]


def test_a_providers_approval_request_from_elsewhere_is_an_mcp_approval_request() -> None:
    request = {"type": "tool-approval-request", "tool_call_id": "apr_1", "tool_name": "delete_repo",
               "input": {"name": "x"}, "provider_executed": True}  # fmt: skip
    (response,) = check_responses(encode(stream([request])))
    (item,) = response[-1]["response"]["output"]
    assert item == {"id": "apr_1", "type": "mcp_approval_request", "arguments": '{"name":"x"}',
                    "name": "delete_repo", "server_label": ""}  # fmt: skip
