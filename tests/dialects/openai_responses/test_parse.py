"""openai-responses parse_request: what the official ``openai`` client posts to ``/v1/responses``
(captured through ``httpx.MockTransport``), as a canonical conversation; one test per feature.
Where a request only this dialect can carry is involved, building the request again from the
conversation gives the client's body back (a gateway in front of a Responses upstream loses
nothing). Wrong types in valid JSON are usage errors naming the field, never a traceback.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamkit.dialects.base import Endpoint
from streamkit.dialects.openai_responses import OpenAIResponses
from streamkit.errors import UsageError
from streamkit.stages.render import render
from tests.dialects.openai_responses.test_encode import check_responses, encode

NAME = "openai-responses"
DIALECT = OpenAIResponses()
MESSAGE = {"type": "message", "role": "assistant", "content": [{"type": "text", "text": "ok"}],
           "finish_reason": "stop", "raw_finish_reason": "completed", "id": "resp_1", "model": "gpt-test"}  # fmt: skip


def sent(**params: Any) -> dict[str, Any]:
    """The body the official client posts for ``client.responses.create(**params)``."""
    bodies: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/responses"
        bodies.append(json.loads(request.content))
        if params.get("stream"):
            wire = b"".join(render(iter([MESSAGE]), format=NAME))
            return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=wire)
        return httpx.Response(200, json=DIALECT.whole_response([MESSAGE]))

    client = openai.OpenAI(
        api_key="sk-test",
        base_url="http://gateway.test/v1",
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    )
    result = client.responses.create(**{"model": "gpt-test", **params})
    if params.get("stream"):
        list(result)  # type: ignore[call-overload]
    (body,) = bodies
    return body


def parse(body: Any) -> Any:
    return DIALECT.parse_request(body, path="/v1/responses", params={}, headers={})


def conversation_of(**params: Any) -> dict[str, Any]:
    return parse(sent(**params)).conversation


def rebuilt(conversation: dict[str, Any]) -> dict[str, Any]:
    """The body a Responses upstream gets for the conversation (``stream`` aside)."""
    body = DIALECT.build_request(conversation, Endpoint("http://upstream.test/v1")).body
    body.pop("stream")
    return body


def same_dialect(body: dict[str, Any]) -> dict[str, Any]:
    """The client's body as a Responses upstream gets it through the gateway."""
    return rebuilt(parse(body).conversation)


def pm(**meta: Any) -> dict[str, Any]:
    return {"provider_metadata": {NAME: meta}}


def text(t: str, **meta: Any) -> dict[str, Any]:
    return {"type": "text", "text": t, **(pm(**meta) if meta else {})}


def user(t: str) -> dict[str, Any]:
    return {"role": "user", "content": [text(t)]}


def message(role: str, *parts: dict[str, Any]) -> dict[str, Any]:
    return {"type": "message", "role": role, "content": list(parts)}


def input_text(t: str) -> dict[str, Any]:
    return {"type": "input_text", "text": t}


# --- system, developer and user messages ---------------------------------------------------------------


def test_instructions_developer_and_system_messages() -> None:
    body = sent(
        instructions="You are Codex.",
        input=[
            {"role": "developer", "content": "Sandbox: read-only."},
            {"role": "system", "content": [{"type": "input_text", "text": "Metric units."}]},
            {"role": "user", "content": "Hi"},
        ],
    )
    conversation = parse(body).conversation
    assert conversation == {
        "model": "gpt-test",
        "system": "You are Codex.",
        "messages": [
            {"role": "system", "content": [text("Sandbox: read-only.")], "developer": True},
            {"role": "system", "content": [text("Metric units.")]},
            user("Hi"),
        ],
    }
    # a developer message stays in its place; system messages join the instructions
    assert rebuilt(conversation) == {
        "model": "gpt-test",
        "instructions": "You are Codex.\n\nMetric units.",
        "input": [message("developer", input_text("Sandbox: read-only.")), message("user", input_text("Hi"))],
    }


def test_input_as_a_string_is_one_user_message() -> None:
    parsed = parse(sent(input="Say hi"))
    assert parsed.conversation == {"model": "gpt-test", "messages": [user("Say hi")]}
    assert (parsed.stream, parsed.answer_options, parsed.dropped) == (False, {}, [])


def test_user_images_and_files() -> None:
    content = [
        input_text("Compare."),
        {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo=", "detail": "auto"},
        {"type": "input_image", "image_url": "https://example.test/cat.jpg", "detail": "high"},
        {"type": "input_image", "file_id": "file-img", "detail": "low"},
        {"type": "input_file", "file_data": "data:application/pdf;base64,JVBERi0x", "filename": "report.pdf"},
        {"type": "input_file", "file_url": "https://example.test/a.pdf"},
        {"type": "input_file", "file_id": "file-doc", "filename": "notes.txt"},
    ]
    parsed = parse(sent(input=[{"role": "user", "content": content}]))
    (msg,) = parsed.conversation["messages"]
    assert msg["content"] == [
        text("Compare."),
        {"type": "file", "media_type": "image/png", "data": "iVBORw0KGgo="},
        {
            "type": "file",
            "media_type": "image/jpeg",
            "url": "https://example.test/cat.jpg",
            **pm(detail="high"),
        },
        {"type": "file", "media_type": "image/*", **pm(file_id="file-img", detail="low")},
        {"type": "file", "media_type": "application/pdf", "data": "JVBERi0x", "filename": "report.pdf"},
        {"type": "file", "media_type": "application/pdf", "url": "https://example.test/a.pdf"},
        {"type": "file", "media_type": "text/plain", "filename": "notes.txt", **pm(file_id="file-doc")},
    ]
    assert parsed.dropped == ["files given by file_id"]
    assert rebuilt(parsed.conversation)["input"] == [{"type": "message", "role": "user", "content": content}]


def test_a_bare_base64_file_is_typed_by_its_name_and_unknown_parts_are_dropped() -> None:
    content = [
        {"type": "input_file", "file_data": "JVBERi0x", "filename": "a.pdf"},
        {"type": "input_audio", "input_audio": {"data": "UklGR", "format": "wav"}},
    ]
    parsed = parse({"model": "m", "input": [{"role": "user", "content": content}]})
    assert parsed.conversation["messages"][0]["content"] == [
        {"type": "file", "media_type": "application/pdf", "data": "JVBERi0x", "filename": "a.pdf"}
    ]
    assert parsed.dropped == ["input_audio parts of user messages"]


def test_a_cache_breakpoint_on_a_text_part_comes_back() -> None:
    part = {"type": "input_text", "text": "Long prefix", "prompt_cache_breakpoint": {"mode": "explicit"}}
    body = {"model": "m", "input": [message("user", part)]}
    (msg,) = parse(body).conversation["messages"]
    assert msg["content"] == [text("Long prefix", fields={"prompt_cache_breakpoint": {"mode": "explicit"}})]
    assert same_dialect(body)["input"] == body["input"]


# --- earlier assistant turns ---------------------------------------------------------------------------


def test_assistant_messages_keep_their_item_ids_phase_and_refusals() -> None:
    items = [
        {"role": "user", "content": "Hi"},
        {"type": "message", "role": "assistant", "id": "msg_1", "status": "completed", "phase": "commentary",
         "content": [{"type": "output_text", "text": "Let me look.", "annotations": []}]},
        {"type": "message", "role": "assistant", "id": "msg_2", "status": "completed",
         "content": [{"type": "refusal", "refusal": "I can't."}]},
        {"role": "assistant", "content": "Plain text of another turn."},
    ]  # fmt: skip
    conversation = conversation_of(input=items)
    assert conversation["messages"] == [
        user("Hi"),
        {
            "role": "assistant",
            "content": [
                text("Let me look.", item_id="msg_1", phase="commentary"),
                {"type": "text", "text": "I can't.", "refusal": True, **pm(item_id="msg_2")},
                text("Plain text of another turn."),
            ],
        },
    ]
    assert rebuilt(conversation)["input"][1:] == [
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Let me look.", "annotations": []}],
         "id": "msg_1", "status": "completed", "phase": "commentary"},
        {"type": "message", "role": "assistant", "content": [{"type": "refusal", "refusal": "I can't."}],
         "id": "msg_2", "status": "completed"},
        {"type": "message", "role": "assistant", "content": "Plain text of another turn."},
    ]  # fmt: skip


def test_reasoning_items_keep_their_ids_summaries_and_encrypted_content() -> None:
    """As the normalizer writes them: one part per summary (or raw reasoning_text) part, the
    encrypted content on the item's last part; an item with no text is one empty part."""
    items = [
        {"role": "user", "content": "Hi"},
        {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "First."},
                                                         {"type": "summary_text", "text": "Second."}],
         "encrypted_content": "gAAA-1"},
        {"type": "message", "role": "assistant", "id": "msg_1", "status": "completed",
         "content": [{"type": "output_text", "text": "Hello.", "annotations": []}]},
        {"role": "user", "content": "Again"},
        {"type": "reasoning", "id": "rs_2", "summary": [], "encrypted_content": "gAAA-2"},
        {"type": "reasoning", "id": "rs_3", "summary": [], "content": [{"type": "reasoning_text", "text": "Raw."}]},
    ]  # fmt: skip
    conversation = conversation_of(input=items)
    assert conversation["messages"][1]["content"][:2] == [
        {"type": "reasoning", "text": "First.", **pm(item_id="rs_1")},
        {"type": "reasoning", "text": "Second.", **pm(item_id="rs_1", encrypted_content="gAAA-1")},
    ]
    assert conversation["messages"][3]["content"] == [
        {"type": "reasoning", "text": "", **pm(item_id="rs_2", encrypted_content="gAAA-2")},
        {"type": "reasoning", "text": "Raw.", **pm(item_id="rs_3", part="reasoning_text")},
    ]
    assert same_dialect(sent(input=items))["input"] == [
        message("user", input_text("Hi")),
        *items[1:3],
        message("user", input_text("Again")),
        *items[4:],
    ]


def test_reasoning_items_without_ids_as_codex_sends_them_come_back_whole() -> None:
    """Codex (``store: false``) sends its reasoning items with no id: the parts of one item end
    at its encrypted content, which the builder groups them by."""
    items = [
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "a"}, {"type": "summary_text", "text": "b"}],
         "encrypted_content": "enc-1"},
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "c"}], "encrypted_content": "enc-2"},
        {"type": "function_call", "call_id": "call_1", "name": "shell", "arguments": "{}"},
    ]  # fmt: skip
    body = {"model": "m", "input": [message("user", input_text("Go")), *items], "store": False,
            "include": ["reasoning.encrypted_content"]}  # fmt: skip
    (_, turn) = parse(body).conversation["messages"]
    assert [p.get("provider_metadata", {}).get(NAME, {}).get("encrypted_content") for p in turn["content"]] == [
        None, "enc-1", "enc-2", None]  # fmt: skip
    assert same_dialect(body)["input"] == body["input"]


def test_another_dialects_signature_sealed_by_the_encoder_comes_back_for_its_builder() -> None:
    """Codex in front of an Anthropic upstream with thinking: the thinking block's signature went to
    Codex sealed in the reasoning item's encrypted_content; Codex sends the item back (no id), and
    the next Anthropic request carries the block with its signature, as Anthropic asks in a tool
    loop. A Responses upstream is not sent the sealed content."""
    from streamkit.dialects.anthropic import Anthropic
    from streamkit.dialects.openai_responses.wire import seal

    signature = {"anthropic": {"signature": "EqQBCkYIBxgC"}}
    items = [
        {"role": "user", "content": "17 * 3?"},
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "17 * 3 = 51."}],
         "encrypted_content": seal(signature)},
        {"type": "function_call", "call_id": "toolu_1", "name": "calc", "arguments": '{"x":"17*3"}'},
        {"type": "function_call_output", "call_id": "toolu_1", "output": "51"},
    ]  # fmt: skip
    conversation = parse({"model": "claude-sonnet-4-5", "input": items, "store": False}).conversation
    assert conversation["messages"][1]["content"][0] == {
        "type": "reasoning",
        "text": "17 * 3 = 51.",
        "provider_metadata": signature,
    }
    body = Anthropic().build_request(conversation, Endpoint("http://upstream.test")).body
    assert body["messages"][1]["content"][0] == {
        "type": "thinking",
        "thinking": "17 * 3 = 51.",
        "signature": "EqQBCkYIBxgC",
    }
    assert [i["type"] for i in rebuilt(conversation)["input"]] == [
        "message",
        "function_call",
        "function_call_output",
    ]


def test_function_calls_and_their_outputs() -> None:
    items = [
        {"role": "user", "content": "Weather?"},
        {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "get_weather",
         "arguments": '{"city":"Paris"}', "status": "completed"},
        {"type": "function_call", "call_id": "call_2", "name": "lookup", "arguments": '{"q": "cut', "namespace": "crm"},
        {"type": "function_call_output", "call_id": "call_1", "output": "18°C"},
        {"type": "function_call_output", "call_id": "call_2", "output": "bad arguments"},
        {"type": "function_call_output", "call_id": "call_9", "output": "an answer to a call of an earlier response"},
    ]  # fmt: skip
    messages = conversation_of(input=items)["messages"]
    assert messages[1:] == [
        {"role": "assistant", "content": [
            {"type": "tool-call", "tool_call_id": "call_1", "tool_name": "get_weather", "arguments": '{"city":"Paris"}',
             "input": {"city": "Paris"}, **pm(item_id="fc_1")},
            {"type": "tool-call", "tool_call_id": "call_2", "tool_name": "lookup", "arguments": '{"q": "cut',
             "input": None, "input_error": messages[1]["content"][1]["input_error"], **pm(namespace="crm")},
        ]},
        {"role": "tool", "tool_call_id": "call_1", "tool_name": "get_weather", "output": "18°C"},
        {"role": "tool", "tool_call_id": "call_2", "tool_name": "lookup", "output": "bad arguments"},
        {"role": "tool", "tool_call_id": "call_9", "output": "an answer to a call of an earlier response"},
    ]  # fmt: skip
    assert messages[1]["content"][1]["input_error"].startswith("arguments are not valid JSON")


def test_custom_tool_calls_and_their_outputs() -> None:
    """A freeform call's input is ``{"input": <the string>}``, marked so that the builder writes it
    back as a custom_tool_call."""
    items = [
        {"role": "user", "content": "Fix it"},
        {
            "type": "custom_tool_call",
            "call_id": "call_p",
            "name": "apply_patch",
            "input": "*** Begin Patch\n",
        },
        {"type": "custom_tool_call_output", "call_id": "call_p", "output": "Done!"},
    ]
    conversation = conversation_of(input=items)
    assert conversation["messages"][1:] == [
        {"role": "assistant", "content": [
            {"type": "tool-call", "tool_call_id": "call_p", "tool_name": "apply_patch",
             "arguments": '{"input":"*** Begin Patch\\n"}', "input": {"input": "*** Begin Patch\n"},
             **pm(type="custom_tool_call")}]},
        {"role": "tool", "tool_call_id": "call_p", "tool_name": "apply_patch", "output": "Done!"},
    ]  # fmt: skip
    assert rebuilt(conversation)["input"][1:] == items[1:]


def test_apply_patch_calls_and_a_failed_output() -> None:
    items = [
        {"type": "apply_patch_call", "id": "apc_1", "call_id": "call_a", "status": "completed",
         "operation": {"type": "update_file", "path": "a.py", "diff": "@@\n-x\n+y"}},
        {"type": "apply_patch_call_output", "call_id": "call_a", "status": "failed", "output": "no such file"},
    ]  # fmt: skip
    messages = parse({"model": "m", "input": items}).conversation["messages"]
    assert messages[0]["content"][0]["tool_name"] == "apply_patch"
    assert messages[0]["content"][0]["input"] == {"type": "update_file", "path": "a.py", "diff": "@@\n-x\n+y"}
    assert messages[1] == {"role": "tool", "tool_call_id": "call_a", "tool_name": "apply_patch",
                           "output": "no such file", "is_error": True}  # fmt: skip
    assert same_dialect({"model": "m", "input": items})["input"] == items


def test_outputs_given_as_content_parts() -> None:
    """Text parts only: their text. With an image: its text, its parts as the message's content,
    sent back as the same list."""
    texts = [{"type": "input_text", "text": "line 1\n"}, {"type": "input_text", "text": "line 2"}]
    shot = [{"type": "input_text", "text": "screenshot:"},
            {"type": "input_image", "image_url": "data:image/png;base64,iVBO", "detail": "auto"}]  # fmt: skip
    items = [
        {"type": "function_call", "call_id": "c1", "name": "read", "arguments": "{}"},
        {"type": "function_call", "call_id": "c2", "name": "look", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": texts},
        {"type": "function_call_output", "call_id": "c2", "output": shot},
    ]
    body = {"model": "m", "input": items}
    _, first, second = parse(body).conversation["messages"]
    assert first == {"role": "tool", "tool_call_id": "c1", "tool_name": "read", "output": "line 1\nline 2"}
    assert second == {
        "role": "tool",
        "tool_call_id": "c2",
        "tool_name": "look",
        "output": "screenshot:",
        "content": [
            {"type": "text", "text": "screenshot:"},
            {"type": "file", "media_type": "image/png", "data": "iVBO"},
        ],
    }
    assert same_dialect(body)["input"][3] == items[3]
    # a conversation stored before tool messages had content: its list goes back as it was
    legacy = {"role": "tool", "tool_call_id": "c2", "output": shot, **pm(output_parts=True)}
    stored = {"model": "m", "messages": [{"role": "assistant", "content": [
        {"type": "tool-call", "tool_call_id": "c2", "tool_name": "look", "arguments": "{}", "input": {}}]}, legacy]}  # fmt: skip
    assert rebuilt(stored)["input"][-1]["output"] == shot


def test_items_with_no_canonical_meaning_stay_in_their_place() -> None:
    items = [
        {"type": "item_reference", "id": "msg_earlier"},
        {"role": "user", "content": "List files"},
        {"type": "local_shell_call", "id": "lsh_1", "call_id": "call_s", "status": "completed",
         "action": {"type": "exec", "command": ["ls"], "env": {}}},
        {"type": "local_shell_call_output", "id": "call_s", "output": "a.txt"},
        {"type": "web_search_call", "id": "ws_1", "status": "completed", "action": {"type": "search", "query": "x"}},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Found a.txt."}]},
    ]  # fmt: skip
    body = {"model": "m", "input": items}
    parsed = parse(body)
    assert parsed.conversation["messages"] == [
        user("List files"),
        {"role": "assistant", "content": [text("Found a.txt.")]},
    ]
    assert parsed.conversation["provider_metadata"][NAME]["input_items"] == [
        [0, items[0]], [1, items[2]], [1, items[3]], [1, items[4]]]  # fmt: skip
    assert parsed.dropped == ["item references (item_reference)", "local_shell_call input items",
                              "local_shell_call_output input items", "web_search_call input items"]  # fmt: skip
    again = same_dialect(body)["input"]
    assert again[:5] == [items[0], message("user", input_text("List files")), *items[2:5]]
    assert again[5]["content"] == "Found a.txt."


# --- tools and options -----------------------------------------------------------------------------------


def test_function_custom_and_hosted_tools() -> None:
    tools = [
        {"type": "function", "name": "shell", "description": "Runs a command.",
         "parameters": {"type": "object", "properties": {"cmd": {"type": "array"}}}, "strict": False},
        {"type": "function", "name": "now", "parameters": None, "strict": True, "defer_loading": True},
        {"type": "custom", "name": "apply_patch", "description": "Edit files.",
         "format": {"type": "grammar", "syntax": "lark", "definition": "start: /.+/"}},
        {"type": "web_search"},
        {"type": "local_shell"},
        {"type": "mcp", "server_label": "docs", "server_url": "https://mcp.example.test", "require_approval": "never"},
    ]  # fmt: skip
    parsed = parse(sent(input="hi", tools=tools))
    assert parsed.conversation["tools"] == [
        {"name": "shell", "description": "Runs a command.",
         "parameters": {"type": "object", "properties": {"cmd": {"type": "array"}}}},
        {"name": "now", "strict": True, **pm(fields={"defer_loading": True})},
        {"name": "apply_patch", "description": "Edit files.", "kind": "custom",
         "format": {"type": "grammar", "syntax": "lark", "definition": "start: /.+/"}},
        {"name": "web_search", "kind": "web_search", **pm(type="web_search")},  # (test_web_search.py)
    ]  # fmt: skip
    assert parsed.conversation["provider_metadata"][NAME]["tools"] == tools[4:]
    assert parsed.dropped == ["the local_shell tool", "the mcp tool"]
    assert parsed.answer_options == {"custom_tools": ["apply_patch"]}
    again = rebuilt(parsed.conversation)["tools"]
    assert again[0] == tools[0] and again[2:] == tools[2:]
    assert again[1] == {"type": "function", "name": "now", "description": "",
                        "parameters": {"type": "object", "properties": {}}, "strict": True, "defer_loading": True}  # fmt: skip


def test_a_null_strict_comes_back_null() -> None:
    tool = {
        "type": "function",
        "name": "f",
        "description": "d",
        "parameters": {"type": "object"},
        "strict": None,
    }
    assert same_dialect({"model": "m", "input": "hi", "tools": [tool]})["tools"] == [tool]


@pytest.mark.parametrize(
    ("choice", "canonical", "kept"),
    [
        ("auto", "auto", None),
        ("none", "none", None),
        ("required", "required", None),
        ({"type": "function", "name": "shell"}, {"name": "shell"}, None),
        ({"type": "custom", "name": "apply_patch"}, {"name": "apply_patch"}, None),
        ({"type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "shell"}]},
         "required", "allowed_tools"),
        ({"type": "file_search"}, None, "file_search"),
        ({"type": "web_search_preview"}, {"name": "web_search"}, None),  # (the canonical search: test_web_search.py)
    ],
)  # fmt: skip
def test_tool_choice(choice: Any, canonical: Any, kept: str | None) -> None:
    tools = [{"type": "function", "name": "shell", "parameters": {"type": "object"}, "strict": False},
             {"type": "custom", "name": "apply_patch"}]  # fmt: skip
    body = sent(input="hi", tools=tools, tool_choice=choice)
    parsed = parse(body)
    assert parsed.conversation.get("options", {}).get("tool_choice") == canonical
    if kept:
        assert parsed.conversation["provider_metadata"][NAME]["tool_choice"] == choice
        assert parsed.dropped == [f"the {kept} tool_choice"]
    assert same_dialect(body)["tool_choice"] == choice


@pytest.mark.parametrize(
    ("fmt", "canonical"),
    [
        ({"type": "json_schema", "name": "answer", "schema": {"type": "object"}, "strict": True, "description": "d"},
         {"type": "json_schema", "name": "answer", "schema": {"type": "object"}, "strict": True, "description": "d"}),
        ({"type": "json_object"}, {"type": "json_object"}),
        ({"type": "text"}, None),
    ],
)  # fmt: skip
def test_structured_output_formats(fmt: dict[str, Any], canonical: dict[str, Any] | None) -> None:
    body = sent(input="hi", text={"format": fmt, "verbosity": "low"})
    conversation = parse(body).conversation
    assert conversation.get("options", {}).get("response_format") == canonical
    assert conversation["provider_metadata"][NAME]["text"] == {"verbosity": "low"}
    again = same_dialect(body)["text"]
    assert again == ({"format": fmt, "verbosity": "low"} if canonical else {"verbosity": "low"})


@pytest.mark.parametrize(
    ("effort", "options", "kept"),
    [
        ("minimal", {"reasoning_effort": "minimal"}, {"summary": "auto"}),
        ("low", {"reasoning_effort": "low"}, {"summary": "auto"}),
        ("medium", {"reasoning_effort": "medium"}, {"summary": "auto"}),
        ("high", {"reasoning_effort": "high"}, {"summary": "auto"}),
        ("none", {"reasoning_budget": 0}, {"summary": "auto", "effort": "none"}),
        ("xhigh", {"reasoning_effort": "high"}, {"summary": "auto", "effort": "xhigh"}),
        (None, {}, {"summary": "auto"}),
    ],
)
def test_reasoning_effort(effort: str | None, options: dict[str, Any], kept: dict[str, Any]) -> None:
    body = sent(input="hi", reasoning={"effort": effort, "summary": "auto"})
    conversation = parse(body).conversation
    assert conversation.get("options", {}) == options
    assert conversation["provider_metadata"][NAME]["reasoning"] == kept
    assert same_dialect(body)["reasoning"] == {k: v for k, v in body["reasoning"].items() if v is not None}


def test_sampling_options_and_max_tokens() -> None:
    body = sent(input="hi", max_output_tokens=300, temperature=0.3, top_p=0.9, parallel_tool_calls=False)
    assert parse(body).conversation["options"] == {
        "max_tokens": 300, "temperature": 0.3, "top_p": 0.9, "parallel_tool_calls": False}  # fmt: skip
    assert {k: v for k, v in same_dialect(body).items() if k not in ("model", "input")} == {
        "max_output_tokens": 300, "temperature": 0.3, "top_p": 0.9, "parallel_tool_calls": False}  # fmt: skip


@pytest.mark.parametrize(("stream", "expected"), [(True, True), (False, False), (None, False)])
def test_the_stream_flag(stream: bool | None, expected: bool) -> None:
    params = {"input": "hi"} if stream is None else {"input": "hi", "stream": stream}
    assert parse(sent(**params)).stream is expected


def test_native_only_fields_are_kept_quietly_and_come_back() -> None:
    """What Codex and the SDK send that only a Responses upstream can use: accepted quietly, in
    provider_metadata; the loss of previous_response_id (the earlier turns) is listed."""
    native = {"store": False, "include": ["reasoning.encrypted_content"], "prompt_cache_key": "sess-1",
              "metadata": {"k": "v"}, "user": "u1", "service_tier": "priority", "truncation": "auto",
              "background": False, "safety_identifier": "s", "previous_response_id": "resp_0",
              "some_future_field": {"x": 1}}  # fmt: skip
    body = {"model": "m", "input": "hi", **native}
    parsed = parse(body)
    assert parsed.conversation["provider_metadata"][NAME]["body"] == native
    assert parsed.dropped == ["previous_response_id (the earlier turns it names)"]
    assert same_dialect(body) == {"model": "m", "input": [message("user", input_text("hi"))], **native}


def test_a_codex_request() -> None:
    """A request shaped as the Codex CLI sends it (``store: false``, ``include``,
    ``prompt_cache_key``, developer messages, reasoning items without ids from earlier turns,
    function and custom tools beside hosted ones): its conversation, what is dropped for another
    upstream, the answer options, and the same body for a Responses upstream."""
    shell = {"type": "function", "name": "shell", "description": "Runs a shell command.", "strict": False,
             "parameters": {"type": "object", "properties": {"command": {"type": "array", "items": {"type": "string"}}},
                            "required": ["command"], "additionalProperties": False}}  # fmt: skip
    patch = {"type": "custom", "name": "apply_patch", "description": "Use apply_patch to edit files.",
             "format": {"type": "grammar", "syntax": "lark", "definition": "start: begin_patch hunk+ end_patch"}}  # fmt: skip
    body = {
        "model": "gpt-5-codex",
        "instructions": "You are Codex, based on GPT-5.",
        "input": [
            message("developer", input_text("<permissions instructions>sandbox: workspace-write</permissions instructions>")),
            message("user", input_text("<environment_context>cwd: /repo</environment_context>")),
            message("user", input_text("Add a hello.py")),
            {"type": "reasoning", "summary": [{"type": "summary_text", "text": "**Planning**"}], "content": None,
             "encrypted_content": "gAAAAB-enc"},
            {"type": "function_call", "name": "shell", "arguments": '{"command":["ls"]}', "call_id": "call_ls"},
            {"type": "function_call_output", "call_id": "call_ls", "output": "README.md\n"},
            {"type": "custom_tool_call", "status": "completed", "call_id": "call_p", "name": "apply_patch",
             "input": "*** Begin Patch\n*** Add File: hello.py\n+print('hi')\n*** End Patch\n"},
            {"type": "custom_tool_call_output", "call_id": "call_p", "output": "Success. Updated: A hello.py"},
        ],
        "tools": [shell, patch, {"type": "web_search"}],
        "tool_choice": "auto",
        "parallel_tool_calls": False,
        "reasoning": {"effort": "medium", "summary": "auto"},
        "store": False,
        "stream": True,
        "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": "019a-session",
        "text": {"verbosity": "medium"},
    }  # fmt: skip
    parsed = parse(body)
    assert parsed.stream is True
    assert parsed.answer_options == {"custom_tools": ["apply_patch"]}
    assert parsed.dropped == []  # (its web search is the canonical one: test_web_search.py)
    conversation = parsed.conversation
    assert conversation["system"] == "You are Codex, based on GPT-5."
    assert [m["role"] for m in conversation["messages"]] == [
        "system",
        "user",
        "user",
        "assistant",
        "tool",
        "assistant",
        "tool",
    ]
    assert conversation["options"] == {
        "parallel_tool_calls": False,
        "tool_choice": "auto",
        "reasoning_effort": "medium",
    }
    assert [t.get("kind") for t in conversation["tools"]] == [None, "custom", "web_search"]
    again = DIALECT.build_request(conversation, Endpoint("http://upstream.test/v1")).body
    expected = dict(body)
    expected["input"] = [dict(i) for i in body["input"]]
    del expected["input"][3]["content"]  # null: the same as absent
    del expected["input"][6]["status"]  # a status of an input item carries nothing
    assert again == expected


def test_the_answer_options_reach_the_encoder() -> None:
    """A Codex request's custom tool, called by an upstream that saw a function: the answer holds
    a custom_tool_call."""
    parsed = parse(
        {"model": "m", "input": "go", "stream": True, "tools": [{"type": "custom", "name": "apply_patch"}]}
    )
    events = [
        {"type": "start", "id": "chatcmpl-1", "model": "m"},
        {"type": "tool-call", "tool_call_id": "call_1", "tool_name": "apply_patch", "arguments": '{"input":"x"}',
         "input": {"input": "x"}},
        {"type": "finish", "finish_reason": "tool-calls", "raw_finish_reason": "tool_calls"},
    ]  # fmt: skip
    (response,) = check_responses(encode(events, **parsed.answer_options))
    (item,) = response[-1]["response"]["output"]
    assert (item["type"], item["input"]) == ("custom_tool_call", "x")


# --- requests the API would refuse ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], "the body must be a JSON object"),
        ({"model": 3}, "model must be a string"),
        ({"model": "m", "input": 5}, "input must be a list"),
        ({"model": "m", "input": ["hi"]}, r"input\[0\] must be an object"),
        ({"model": "m", "input": [{"type": 7}]}, r"input\[0\]\.type must be a string"),
        ({"model": "m", "input": [{"role": "robot", "content": "x"}]}, r"input\[0\]\.role must be one of"),
        ({"model": "m", "input": [{"role": "user", "content": 1}]}, r"input\[0\]\.content must be a string or a list"),
        ({"model": "m", "input": [{"role": "user", "content": ["x"]}]}, r"input\[0\]\.content\[0\] must be an object"),
        ({"model": "m", "input": [{"role": "user", "content": [{"type": "input_text", "text": None}]}]},
         r"input\[0\]\.content\[0\]\.text must be a string"),
        ({"model": "m", "input": [{"role": "user", "content": [{"type": "input_image"}]}]},
         r"input\[0\]\.content\[0\] needs an image_url or a file_id"),
        ({"model": "m", "input": [{"role": "user", "content": [{"type": "input_image", "image_url": 1}]}]},
         r"input\[0\]\.content\[0\]\.image_url must be a string"),
        ({"model": "m", "input": [{"role": "user", "content": [{"type": "input_file"}]}]},
         r"input\[0\]\.content\[0\] needs file_data"),
        ({"model": "m", "input": [{"type": "function_call", "name": "f", "arguments": "{}"}]},
         r"input\[0\]\.call_id must be a string"),
        ({"model": "m", "input": [{"type": "function_call", "call_id": "c", "name": ["f"]}]},
         r"input\[0\]\.name must be a string"),
        ({"model": "m", "input": [{"type": "function_call", "call_id": "c", "name": "f", "arguments": 3}]},
         r"input\[0\]\.arguments must be a string"),
        ({"model": "m", "input": [{"type": "custom_tool_call", "call_id": "c", "name": "f", "input": {}}]},
         r"input\[0\]\.input must be a string"),
        ({"model": "m", "input": [{"type": "function_call_output", "call_id": "c", "output": 5}]},
         r"input\[0\]\.output must be a string"),
        ({"model": "m", "input": [{"type": "function_call_output", "call_id": "c", "output": [3]}]},
         r"input\[0\]\.output\[0\] must be an object"),
        ({"model": "m", "input": [{"type": "reasoning", "summary": "x"}]}, r"input\[0\]\.summary must be a list"),
        ({"model": "m", "input": [{"type": "reasoning", "summary": [{"text": 1}]}]},
         r"input\[0\]\.summary\[0\]\.text must be a string"),
        ({"model": "m", "input": [{"type": "apply_patch_call", "call_id": "c", "operation": "x"}]},
         r"input\[0\]\.operation must be an object"),
        ({"model": "m", "tools": {}}, "tools must be a list"),
        ({"model": "m", "tools": [{"name": "f"}]}, r"tools\[0\]\.type must be a string"),
        ({"model": "m", "tools": [{"type": "function"}]}, r"tools\[0\]\.name must be a string"),
        ({"model": "m", "tools": [{"type": "function", "name": "f", "parameters": "x"}]},
         r"tools\[0\]\.parameters must be an object"),
        ({"model": "m", "tools": [{"type": "function", "name": "f", "strict": "yes"}]}, r"tools\[0\]\.strict must be a boolean"),
        ({"model": "m", "tools": [{"type": "custom", "name": "f", "format": "lark"}]}, r"tools\[0\]\.format must be an object"),
        ({"model": "m", "tool_choice": "always"}, "tool_choice must be auto, none, required"),
        ({"model": "m", "tool_choice": 1}, "tool_choice must be a string or an object"),
        ({"model": "m", "tool_choice": {"type": "function"}}, r"tool_choice\.name must be a string"),
        ({"model": "m", "text": "json"}, "text must be an object"),
        ({"model": "m", "text": {"format": {"type": "json_schema", "name": "x"}}}, r"text\.format\.schema must be an object"),
        ({"model": "m", "text": {"format": {"type": "json_schema", "schema": {}, "strict": "y"}}},
         r"text\.format\.strict must be a boolean"),
        ({"model": "m", "reasoning": {"effort": 3}}, r"reasoning\.effort must be a string"),
        ({"model": "m", "reasoning": "high"}, "reasoning must be an object"),
        ({"model": "m", "max_output_tokens": "100"}, "max_output_tokens must be an integer"),
        ({"model": "m", "max_output_tokens": True}, "max_output_tokens must be an integer"),
        ({"model": "m", "temperature": "hot"}, "temperature must be a number"),
        ({"model": "m", "top_p": [1]}, "top_p must be a number"),
        ({"model": "m", "parallel_tool_calls": "no"}, "parallel_tool_calls must be a boolean"),
        ({"model": "m", "stream": "yes"}, "stream must be a boolean"),
        ({"model": "m", "instructions": ["be brief"]}, "instructions must be a string"),
        ({"model": "m", "previous_response_id": 5}, "previous_response_id must be a string"),
        ({"model": "m", "store": "false"}, "store must be a boolean"),
        ({"model": "m", "background": 1}, "background must be a boolean"),
        ({"model": "m", "generate": "no"}, "generate must be a boolean"),
    ],
)  # fmt: skip
def test_wrong_types_are_usage_errors_naming_the_field(body: Any, field: str) -> None:
    with pytest.raises(UsageError, match=field):
        parse(body)


def test_a_usage_error_quotes_little_of_what_the_client_sent() -> None:
    with pytest.raises(UsageError) as info:
        parse({"model": "m", "input": [{"role": "x" * 10_000, "content": "hi"}]})
    assert len(str(info.value)) < 200


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
_FIELDS = ("model", "instructions", "input", "tools", "tool_choice", "text", "reasoning", "max_output_tokens",
           "temperature", "top_p", "stream", "parallel_tool_calls", "store", "include")  # fmt: skip
_ITEM_TYPES = ("message", "reasoning", "function_call", "custom_tool_call", "apply_patch_call",
               "function_call_output", "custom_tool_call_output", "apply_patch_call_output", "item_reference")  # fmt: skip
_ITEM = st.builds(
    lambda kind, fields: {"type": kind, **fields},
    st.sampled_from(_ITEM_TYPES),
    st.dictionaries(
        st.sampled_from(["role", "content", "call_id", "name", "arguments", "input", "output", "summary",
                         "content", "id", "encrypted_content", "operation", "status"]),
        _JSON | st.sampled_from(["user", "assistant", "developer"]),
        max_size=6,
    ),
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(
    body=st.dictionaries(st.sampled_from(_FIELDS), _JSON, max_size=6),
    items=st.lists(_ITEM, max_size=4),
)
def test_any_json_is_parsed_or_refused_with_a_usage_error(
    body: dict[str, Any], items: list[dict[str, Any]]
) -> None:
    """Think like an attacker: whatever valid JSON arrives, parse gives a conversation the builder
    can send, or a UsageError; never another exception."""
    for candidate in (body, {**body, "input": items}):
        try:
            parsed = parse(candidate)
        except UsageError:
            continue
        from streamkit.conversation import check

        check(parsed.conversation)
        try:
            DIALECT.build_request(parsed.conversation, Endpoint("http://upstream.test/v1", model="m"))
        except UsageError:
            pass
