"""anthropic request parsing: the bodies the official SDK really sends (captured through
``httpx2.MockTransport``) → canonical conversations, one test per feature; what only Anthropic can
use kept in provider_metadata and restored by the builder; earlier turns parsed exactly as the
normalizer and accumulator put them on message parts; bad requests as usage errors naming the
field, never a traceback; and the token estimate ``count_tokens`` answers with."""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamkit.conversation import check, from_prompt
from streamkit.dialects.anthropic import Anthropic
from streamkit.dialects.anthropic.parse import count_tokens_estimate
from streamkit.dialects.base import Endpoint
from streamkit.errors import UsageError
from tests.conftest import DATA, events_of, messages, places, replaced
from tests.dialects.anthropic.sdk import parsed, sent

DIALECT = Anthropic()
ENDPOINT = Endpoint("https://api.test", "sk-ant-test", None)
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n fake").decode()
PDF = base64.b64encode(b"%PDF-1.4 1 0 obj << /Type /Pages >> 2 0 obj << /Type /Page >> %%EOF").decode()
SIGNATURE = "EqQBCkYIBxgCKkBgl4dRzQp5kq0G1t5S3dIhQ2o2oZb4a6rN8r1fYy8pYv0u7x1W2b4c9d0e1f2g3h4i5j6k7l8m9n0o=="
EPHEMERAL = {"type": "ephemeral"}


def user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


def assistant(content: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": content}


def text(value: str, **meta: Any) -> dict[str, Any]:
    part: dict[str, Any] = {"type": "text", "text": value}
    if meta:
        part["provider_metadata"] = {"anthropic": meta}
    return part


def rebuilt(conversation: dict[str, Any]) -> Any:
    """The request the builder makes of a parsed conversation (for an Anthropic upstream)."""
    return DIALECT.build_request(check(conversation), ENDPOINT)


# --- the request: model, stream, path, headers ----------------------------------------------------


def test_a_prompt_becomes_a_conversation_and_stream_comes_from_the_body() -> None:
    streamed = parsed(messages=[user("Say hi")], max_tokens=50)
    assert streamed.conversation == {
        "model": "claude-sonnet-4-5",
        "messages": [user([text("Say hi")])],
        "options": {"max_tokens": 50},
    }
    assert (streamed.stream, streamed.dropped) == (True, [])
    assert streamed.answer_options == {"model": "claude-sonnet-4-5"}
    whole = sent(messages=[user("Say hi")], stream=False)
    assert "stream" in whole.body and whole.parse().stream is False
    assert DIALECT.parse_request({"model": "m", "messages": []}).stream is False  # absent: whole


def test_count_tokens_requests_parse_and_are_never_streamed() -> None:
    request = sent(count=True, messages=[user("hi")], system="Be brief.")
    assert request.path == "/v1/messages/count_tokens"
    result = request.parse()
    assert result.conversation == {
        "model": "claude-sonnet-4-5",
        "system": "Be brief.",
        "messages": [user([text("hi")])],
    }
    assert result.stream is False
    body = {**request.body, "stream": True}
    assert DIALECT.parse_request(body, path="/v1/messages/count_tokens?beta=true").stream is False


def test_beta_headers_are_kept_for_an_anthropic_upstream_and_the_version_is_not() -> None:
    request = sent(
        beta=True, betas=["interleaved-thinking-2025-05-14", "context-1m-2025-08-07"], messages=[user("hi")]
    )
    assert request.headers["anthropic-beta"] == "interleaved-thinking-2025-05-14,context-1m-2025-08-07"
    result = request.parse()
    native = result.conversation["provider_metadata"]["anthropic"]
    assert native == {"betas": ["interleaved-thinking-2025-05-14", "context-1m-2025-08-07"]}
    assert result.answer_options == {"model": "claude-sonnet-4-5", "beta": True}
    assert result.dropped == []  # betas mean nothing to another upstream: nothing to warn about
    assert rebuilt(result.conversation).headers["anthropic-beta"] == request.headers["anthropic-beta"]
    # the key headers are the gateway's business: nothing of them lands in the conversation
    flat = orjson.dumps(result.conversation).decode()
    assert "sk-ant-test" not in flat and "anthropic-version" not in flat


# --- system ----------------------------------------------------------------------------------------


def test_system_as_a_string() -> None:
    assert parsed(system="You are terse.", messages=[user("hi")]).conversation["system"] == "You are terse."


def test_system_blocks_with_cache_control_are_joined_and_restored_for_anthropic() -> None:
    """Claude Code sends its system prompt as blocks, the first ones marked for caching."""
    blocks = [
        {
            "type": "text",
            "text": "You are Claude Code, Anthropic's official CLI for Claude.",
            "cache_control": EPHEMERAL,
        },
        {"type": "text", "text": "Answer in English.", "cache_control": EPHEMERAL},
    ]
    result = parsed(system=blocks, messages=[user("hi")])
    conversation = result.conversation
    assert conversation["system"] == (
        "You are Claude Code, Anthropic's official CLI for Claude.\n\nAnswer in English."
    )
    assert conversation["provider_metadata"]["anthropic"]["system"] == blocks
    assert result.dropped == []  # cache hints: accepted quietly
    assert rebuilt(conversation).body["system"] == blocks
    changed = {**conversation, "system": "Something else."}
    assert rebuilt(changed).body["system"] == "Something else."  # blocks only while the text holds


# --- user content ----------------------------------------------------------------------------------


def test_images_base64_and_by_url() -> None:
    content = [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/render?id=4"}},
        {"type": "text", "text": "What are these?"},
    ]
    parts = parsed(messages=[user(content)]).conversation["messages"][0]["content"]
    assert parts == [
        {"type": "file", "media_type": "image/png", "data": PNG},
        {"type": "file", "url": "https://example.com/cat.jpg", "media_type": "image/jpeg"},
        {"type": "file", "url": "https://example.com/render?id=4", "media_type": "image/*"},
        text("What are these?"),
    ]


def test_documents_pdf_url_text_and_content_sources() -> None:
    content = [
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": PDF},
         "title": "report.pdf", "citations": {"enabled": True}, "cache_control": EPHEMERAL},
        {"type": "document", "source": {"type": "url", "url": "https://example.com/paper.pdf"}},
        {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "Plain notes."}},
        {"type": "document", "source": {"type": "content", "content": [{"type": "text", "text": "One."},
                                                                      {"type": "text", "text": "Two."}]},
         "context": "from the wiki"},
        {"type": "text", "text": "Summarize."},
    ]  # fmt: skip
    result = parsed(messages=[user(content)])
    parts = result.conversation["messages"][0]["content"]
    b64 = lambda s: base64.b64encode(s.encode()).decode()  # noqa: E731
    assert parts == [
        {"type": "file", "media_type": "application/pdf", "data": PDF, "filename": "report.pdf",
         "provider_metadata": {"anthropic": {"citations": {"enabled": True}, "cache_control": EPHEMERAL}}},
        {"type": "file", "media_type": "application/pdf", "url": "https://example.com/paper.pdf"},
        {"type": "file", "media_type": "text/plain", "data": b64("Plain notes.")},
        {"type": "file", "media_type": "text/plain", "data": b64("One.\nTwo."),
         "provider_metadata": {"anthropic": {"context": "from the wiki"}}},
        text("Summarize."),
    ]  # fmt: skip
    assert result.dropped == []
    # back to Anthropic: the same documents (the content source as the text it holds)
    blocks = rebuilt(result.conversation).body["messages"][0]["content"]
    assert blocks[0] == content[0] and blocks[1] == content[1] and blocks[2] == content[2]
    assert blocks[3]["source"] == {"type": "text", "media_type": "text/plain", "data": "One.\nTwo."}
    assert blocks[3]["context"] == "from the wiki"


def test_blocks_nothing_else_can_carry_are_listed_as_dropped() -> None:
    content = [
        {"type": "image", "source": {"type": "file", "file_id": "file_011"}},
        {
            "type": "search_result",
            "source": "https://x.test",
            "title": "X",
            "content": [{"type": "text", "text": "x"}],
        },
        {"type": "text", "text": "Use these."},
    ]
    result = parsed(messages=[user(content)])
    assert result.conversation["messages"] == [user([text("Use these.")])]
    assert result.dropped == ["images given by file source", "search_result blocks in user messages"]


def test_cache_control_on_user_text_is_kept_for_anthropic_only() -> None:
    content = [{"type": "text", "text": "<context>...</context>", "cache_control": EPHEMERAL}]
    result = parsed(messages=[user(content)])
    assert result.conversation["messages"] == [
        user([text("<context>...</context>", cache_control=EPHEMERAL)])
    ]
    assert result.dropped == []
    assert rebuilt(result.conversation).body["messages"] == [user(content)]  # a block, not a string


# --- tool calls and results ------------------------------------------------------------------------


def test_tool_use_and_tool_results_with_errors_become_calls_and_tool_messages() -> None:
    history = [
        user("Weather in Paris and Rome?"),
        assistant([{"type": "text", "text": "Checking."},
                   {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
                   {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {"city": "Rome"}}]),
        user([{"type": "tool_result", "tool_use_id": "toolu_1", "content": "18°C"},
              {"type": "tool_result", "tool_use_id": "toolu_2", "content": [{"type": "text", "text": "timeout"}],
               "is_error": True},
              {"type": "text", "text": "And tomorrow?"}]),
    ]  # fmt: skip
    conversation = parsed(messages=history).conversation
    assert conversation["messages"] == [
        user([text("Weather in Paris and Rome?")]),
        assistant([text("Checking."),
                   {"type": "tool-call", "tool_call_id": "toolu_1", "tool_name": "get_weather",
                    "arguments": '{"city":"Paris"}', "input": {"city": "Paris"}},
                   {"type": "tool-call", "tool_call_id": "toolu_2", "tool_name": "get_weather",
                    "arguments": '{"city":"Rome"}', "input": {"city": "Rome"}}]),
        {"role": "tool", "tool_call_id": "toolu_1", "tool_name": "get_weather", "output": "18°C"},
        {"role": "tool", "tool_call_id": "toolu_2", "tool_name": "get_weather", "output": "timeout", "is_error": True},
        user([text("And tomorrow?")]),
    ]  # fmt: skip
    # and back: one user message, its tool results first, as the API wants
    body = rebuilt(conversation).body
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert [b["type"] for b in body["messages"][2]["content"]] == ["tool_result", "tool_result", "text"]
    assert body["messages"][2]["content"][1]["is_error"] is True


def test_tool_results_with_images_keep_their_blocks_for_anthropic_and_their_images_for_the_others() -> None:
    blocks = [
        {"type": "text", "text": "Screenshot taken."},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
    ]
    history = [
        user("Take a screenshot."),
        assistant([{"type": "tool_use", "id": "toolu_9", "name": "screenshot", "input": {}}]),
        user(
            [{"type": "tool_result", "tool_use_id": "toolu_9", "content": blocks, "cache_control": EPHEMERAL}]
        ),
    ]
    result = parsed(messages=history)
    tool = result.conversation["messages"][2]
    assert (tool["role"], tool["output"]) == ("tool", "Screenshot taken.")
    assert tool[
        "content"
    ] == [  # what another dialect's builder sends (tests/dialects/test_tool_result_files.py)
        {"type": "text", "text": "Screenshot taken."},
        {"type": "file", "media_type": "image/png", "data": PNG},
    ]
    assert result.dropped == []
    restored = rebuilt(result.conversation).body["messages"][2]["content"][0]
    assert restored == {
        "type": "tool_result",
        "tool_use_id": "toolu_9",
        "content": blocks,
        "cache_control": EPHEMERAL,
    }


def test_a_tool_result_for_an_unknown_call_has_no_tool_name() -> None:
    history = [user([{"type": "tool_result", "tool_use_id": "toolu_x", "content": "ok"}])]
    assert parsed(messages=history).conversation["messages"] == [
        {"role": "tool", "tool_call_id": "toolu_x", "output": "ok"}
    ]


# --- reasoning -------------------------------------------------------------------------------------


def test_thinking_and_redacted_thinking_keep_signatures_and_data() -> None:
    history = [
        user("Think, then call."),
        assistant([{"type": "thinking", "thinking": "Let me look.", "signature": SIGNATURE},
                   {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4a"},
                   {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": "x"}}]),
        user([{"type": "tool_result", "tool_use_id": "toolu_1", "content": "found"}]),
    ]  # fmt: skip
    result = parsed(messages=history, thinking={"type": "enabled", "budget_tokens": 2048}, max_tokens=8000)
    parts = result.conversation["messages"][1]["content"]
    assert parts[:2] == [
        {"type": "reasoning", "text": "Let me look.", "provider_metadata": {"anthropic": {"signature": SIGNATURE}}},
        {"type": "reasoning", "text": "", "provider_metadata": {"anthropic": {"redacted_data": "EmwKAhgBEgy3va3pzix/LafPsn4a"}}},
    ]  # fmt: skip
    assert rebuilt(result.conversation).body["messages"][1] == history[1]  # the API needs them back exactly


CASES = DATA / "anthropic"


def _as_parsed(part: dict[str, Any]) -> dict[str, Any] | None:
    """An accumulated part as it comes back from a request: sources (not sent back) gone,
    arguments the compact JSON of the input, reasoning without a signature gone."""
    kind = part["type"]
    if kind in ("source", "file"):
        return None
    meta = (part.get("provider_metadata") or {}).get("anthropic") or {}
    if kind == "reasoning" and not (meta.get("signature") or "redacted_data" in meta or meta.get("type")):
        return None
    if kind == "tool-call":
        return {
            **{k: v for k, v in part.items() if k != "input_error"},
            "arguments": orjson.dumps(part["input"]).decode(),
        }
    if kind == "text":
        return {"type": "text", "text": part["text"]}
    return part


@pytest.mark.parametrize(
    "case",
    ["thinking-signature", "redacted-thinking", "web-search-citations", "code-execution-error", "mcp",
     "compaction", "fallback", "programmatic-caller", "tool-use", "pause-turn"],
)  # fmt: skip
def test_earlier_turns_parse_as_the_normalizer_puts_them_on_message_parts(case: str) -> None:
    """An assistant turn that came from Anthropic, sent back by the builder and parsed again, is
    the accumulated message's parts (so a conversation goes around a gateway unchanged)."""
    (message,) = messages(events_of(CASES / f"{case}.sse"))
    conversation = {"model": "claude-test", "messages": [user([text("Go.")]), {"role": "assistant", "content": message["content"]}]}  # fmt: skip
    body = rebuilt(conversation).body
    back = DIALECT.parse_request(body).conversation["messages"][1]["content"]
    expected = [
        p
        for p in map(_as_parsed, message["content"])
        if p is not None and not (p["type"] == "text" and not p["text"])
    ]
    assert back == expected
    assert rebuilt({**conversation, "messages": [conversation["messages"][0], {"role": "assistant", "content": back}]}).body == body  # fmt: skip


# --- tools -----------------------------------------------------------------------------------------


def test_tools_without_properties_and_with_cache_control() -> None:
    tools = [
        {"name": "Bash", "description": "Run a command.", "input_schema": {"type": "object",
         "properties": {"command": {"type": "string"}}, "required": ["command"]}},
        {"name": "ExitPlanMode", "description": "Leave plan mode.", "input_schema": {"type": "object",
         "$schema": "http://json-schema.org/draft-07/schema#"}, "cache_control": EPHEMERAL},
    ]  # fmt: skip
    result = parsed(messages=[user("hi")], tools=tools)
    assert result.conversation["tools"] == [
        {"name": "Bash", "description": "Run a command.", "parameters": tools[0]["input_schema"]},
        {"name": "ExitPlanMode", "description": "Leave plan mode.",
         "parameters": {"type": "object", "$schema": "http://json-schema.org/draft-07/schema#", "properties": {}},
         "provider_metadata": {"anthropic": {"cache_control": EPHEMERAL}}},
    ]  # fmt: skip
    assert result.dropped == []
    assert rebuilt(result.conversation).body["tools"][1]["cache_control"] == EPHEMERAL


def test_anthropic_tools_are_kept_for_anthropic_and_listed_as_dropped() -> None:
    tools = [
        {"name": "get_weather", "input_schema": {"type": "object", "properties": {}}},
        {"type": "web_search_20250305", "name": "web_search", "max_uses": 3},
        {"type": "bash_20250124", "name": "bash"},
        {"type": "text_editor_20250728", "name": "str_replace_based_edit_tool"},
        {"type": "code_execution_20250825", "name": "code_execution"},
    ]
    result = parsed(messages=[user("hi")], tools=tools)
    # (the web search is the canonical one, which every dialect with a search sends: test_web_search.py)
    assert [(t["name"], t.get("kind")) for t in result.conversation["tools"]] == [
        ("get_weather", None),
        ("web_search", "web_search"),
        ("code_execution", "code_execution"),  # (the canonical code execution)
    ]
    assert result.conversation["provider_metadata"]["anthropic"]["tools"] == tools[2:4]
    assert result.dropped == [
        "the bash tool (bash_20250124)",
        "the str_replace_based_edit_tool tool (text_editor_20250728)",
    ]
    # each as it was sent (the canonical ones first)
    assert sorted(map(str, rebuilt(result.conversation).body["tools"])) == sorted(map(str, tools))


@pytest.mark.parametrize(
    ("tool_choice", "options"),
    [
        ({"type": "auto"}, {"tool_choice": "auto"}),
        ({"type": "any"}, {"tool_choice": "required"}),
        ({"type": "tool", "name": "f"}, {"tool_choice": {"name": "f"}}),
        ({"type": "none"}, {"tool_choice": "none"}),
        (
            {"type": "auto", "disable_parallel_tool_use": True},
            {"tool_choice": "auto", "parallel_tool_calls": False},
        ),
        ({"type": "any", "disable_parallel_tool_use": False}, {"tool_choice": "required"}),
    ],
)
def test_tool_choice(tool_choice: dict[str, Any], options: dict[str, Any]) -> None:
    tools = [{"name": "f", "input_schema": {"type": "object", "properties": {}}}]
    result = parsed(messages=[user("hi")], tools=tools, tool_choice=tool_choice, max_tokens=100)
    assert result.conversation["options"] == {"max_tokens": 100, **options}
    expected = {k: v for k, v in tool_choice.items() if v is not False}
    assert rebuilt(result.conversation).body["tool_choice"] == expected


# --- options ---------------------------------------------------------------------------------------


def test_sampling_options_stop_sequences_and_max_tokens() -> None:
    # this SDK version has no sampling parameters any more; older ones and Claude Code send them
    sampling = {"temperature": 0.3, "top_p": 0.8, "top_k": 40}
    result = parsed(messages=[user("hi")], max_tokens=321, stop_sequences=["END", "\n\nHuman:"],
                    metadata={"user_id": "session-7"}, extra_body=sampling)  # fmt: skip
    assert result.conversation["options"] == {
        "max_tokens": 321, "temperature": 0.3, "top_p": 0.8, "top_k": 40, "stop": ["END", "\n\nHuman:"],
    }  # fmt: skip
    assert result.conversation["provider_metadata"] == {
        "anthropic": {"body": {"metadata": {"user_id": "session-7"}}}
    }
    assert result.dropped == []  # client metadata: accepted quietly
    body = rebuilt(result.conversation).body
    assert (body["max_tokens"], body["temperature"], body["top_p"], body["top_k"]) == (321, 0.3, 0.8, 40)
    assert body["stop_sequences"] == ["END", "\n\nHuman:"] and body["metadata"] == {"user_id": "session-7"}


@pytest.mark.parametrize(
    ("thinking", "options"),
    [
        ({"type": "enabled", "budget_tokens": 2000}, {"reasoning_budget": 2000}),
        ({"type": "enabled", "budget_tokens": 2000, "display": "omitted"}, {"reasoning_budget": 2000}),
        ({"type": "disabled"}, {"reasoning_budget": 0}),
        ({"type": "adaptive"}, {}),
    ],
)
def test_thinking_becomes_a_reasoning_budget(thinking: dict[str, Any], options: dict[str, Any]) -> None:
    result = parsed(messages=[user("hi")], max_tokens=5000, thinking=thinking)
    assert result.conversation["options"] == {"max_tokens": 5000, **options}
    native = result.conversation.get("provider_metadata", {}).get("anthropic", {})
    assert native.get("thinking") == (
        thinking if options.keys() != {"reasoning_budget"} or len(thinking) > 2 else None
    )
    assert rebuilt(result.conversation).body["thinking"] == thinking  # as sent, display and all
    # another budget (another dialect's, or a changed one) is sent as a plain enabled thinking
    other = {**result.conversation, "options": {"max_tokens": 5000, "reasoning_budget": 3000}}
    assert rebuilt(other).body["thinking"] == {"type": "enabled", "budget_tokens": 3000}


def test_output_config_effort_and_format() -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
              "additionalProperties": False}  # fmt: skip
    output_config = {"effort": "xhigh", "format": {"type": "json_schema", "schema": schema}}
    result = parsed(
        messages=[user("Capital of France?")], output_config=output_config, thinking={"type": "adaptive"}
    )
    options = result.conversation["options"]
    assert options["reasoning_effort"] == "high"
    assert options["response_format"] == {"type": "json_schema", "schema": schema}
    body = rebuilt(result.conversation).body
    assert body["output_config"] == output_config and body["thinking"] == {"type": "adaptive"}


def test_the_structured_outputs_beta_field_is_read_too() -> None:
    schema = {"type": "object", "properties": {}, "additionalProperties": False}
    body = {"model": "m", "max_tokens": 10, "messages": [user("hi")],
            "output_format": {"type": "json_schema", "schema": schema}}  # fmt: skip
    result = DIALECT.parse_request(body, headers={"anthropic-beta": "structured-outputs-2025-11-13"})
    assert result.conversation["options"]["response_format"] == {"type": "json_schema", "schema": schema}
    assert rebuilt(result.conversation).body["output_config"] == {
        "format": {"type": "json_schema", "schema": schema}
    }


def test_unknown_and_native_only_fields_never_fail_and_come_back_for_anthropic() -> None:
    extra = {
        "service_tier": "auto",
        "container": "container_011",
        "context_management": {"edits": [{"type": "clear_tool_uses_20250919"}]},
        "mcp_servers": [{"type": "url", "url": "https://mcp.example/sse", "name": "example"}],
        "a_field_from_2030": {"anything": [1, 2]},
    }
    result = DIALECT.parse_request({"model": "m", "max_tokens": 10, "messages": [user("hi")], **extra})
    assert result.conversation["provider_metadata"]["anthropic"]["body"] == extra
    assert result.dropped == ["context management (context_management)", "MCP servers (mcp_servers)"]
    body = rebuilt(result.conversation).body
    assert {k: body[k] for k in extra} == extra


def test_a_claude_code_request_goes_around_unchanged() -> None:
    """A request shaped like Claude Code's, parsed and built again for an Anthropic upstream, is
    the request it was (but for what the builder always does: ``stream: true``)."""
    body = {
        "model": "claude-sonnet-4-5-20250929",
        "max_tokens": 32000,
        "system": [{"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude.",
                    "cache_control": EPHEMERAL},
                   {"type": "text", "text": "You are an interactive CLI tool.", "cache_control": EPHEMERAL}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "<system-reminder>ctx</system-reminder>"},
                                         {"type": "text", "text": "list files", "cache_control": EPHEMERAL}]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "I'll run ls.", "signature": SIGNATURE},
                {"type": "tool_use", "id": "toolu_01", "name": "Bash", "input": {"command": "ls", "description": "List"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01", "content": "a.txt\nb.txt",
                                          "is_error": False, "cache_control": EPHEMERAL}]},
        ],
        "tools": [{"name": "Bash", "description": "Run.", "input_schema": {"type": "object", "properties": {
                   "command": {"type": "string"}}, "required": ["command"], "additionalProperties": False,
                   "$schema": "http://json-schema.org/draft-07/schema#"}}],
        "metadata": {"user_id": "user_abc_account__session_123"},
        "thinking": {"type": "enabled", "budget_tokens": 31999},
        "temperature": 1,
        "stream": True,
    }  # fmt: skip
    headers = {
        "anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14",
        "x-api-key": "sk-ant-x",
    }
    result = DIALECT.parse_request(body, path="/v1/messages", headers=headers)
    assert result.dropped == [] and result.stream is True
    request = rebuilt(result.conversation)
    expected = {**body}
    expected["messages"][2]["content"][0].pop("is_error")  # false is the default
    assert request.body == expected
    assert request.headers["anthropic-beta"] == headers["anthropic-beta"]


# --- bad requests ----------------------------------------------------------------------------------

GOOD = {"model": "m", "max_tokens": 10, "messages": [user("hi")]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([GOOD], "the body"),
        ("hello", "the body"),
        ({"model": "m"}, "messages"),
        ({**GOOD, "messages": "hi"}, "messages"),
        ({**GOOD, "messages": {"role": "user"}}, "messages"),
        ({**GOOD, "messages": ["hi"]}, "messages[0]"),
        ({**GOOD, "messages": [{"role": "developer", "content": "x"}]}, "messages[0].role"),
        ({**GOOD, "messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
        ({**GOOD, "messages": [{"role": "user"}]}, "messages[0].content"),
        ({**GOOD, "messages": [user(["hi"])]}, "messages[0].content[0]"),
        ({**GOOD, "messages": [user([{"text": "hi"}])]}, "messages[0].content[0].type"),
        ({**GOOD, "messages": [user([{"type": "text", "text": 3}])]}, "messages[0].content[0].text"),
        ({**GOOD, "messages": [user([{"type": "image", "source": "x.png"}])]}, "messages[0].content[0].source"),
        ({**GOOD, "messages": [user([{"type": "image", "source": {"type": "base64", "data": 1}}])]},
         "messages[0].content[0].source.media_type"),
        ({**GOOD, "messages": [assistant([{"type": "tool_use", "id": "t", "name": "f", "input": "{}"}])]},
         "messages[0].content[0].input"),
        ({**GOOD, "messages": [assistant([{"type": "tool_use", "id": 1, "name": "f", "input": {}}])]},
         "messages[0].content[0].id"),
        ({**GOOD, "messages": [assistant([{"type": "thinking", "thinking": "x"}])]}, "messages[0].content[0].signature"),
        ({**GOOD, "messages": [user([{"type": "tool_result", "content": "x"}])]}, "messages[0].content[0].tool_use_id"),
        ({**GOOD, "messages": [user([{"type": "tool_result", "tool_use_id": "t", "content": 7}])]},
         "messages[0].content[0].content"),
        ({**GOOD, "messages": [user([{"type": "tool_result", "tool_use_id": "t", "is_error": "yes"}])]},
         "messages[0].content[0].is_error"),
        ({**GOOD, "system": 5}, "system"),
        ({**GOOD, "system": [{"type": "image"}]}, "system[0].type"),
        ({**GOOD, "system": [{"type": "text", "text": None}]}, "system[0].text"),
        ({**GOOD, "model": 4}, "model"),
        ({**GOOD, "max_tokens": "100"}, "max_tokens"),
        ({**GOOD, "max_tokens": True}, "max_tokens"),
        ({**GOOD, "temperature": "hot"}, "temperature"),
        ({**GOOD, "top_k": 1.5}, "top_k"),
        ({**GOOD, "stop_sequences": "END"}, "stop_sequences"),
        ({**GOOD, "stop_sequences": [1]}, "stop_sequences[0]"),
        ({**GOOD, "stream": "yes"}, "stream"),
        ({**GOOD, "tools": {"name": "f"}}, "tools"),
        ({**GOOD, "tools": [{"input_schema": {}}]}, "tools[0].name"),
        ({**GOOD, "tools": [{"name": "f", "input_schema": "object"}]}, "tools[0].input_schema"),
        ({**GOOD, "tool_choice": "auto"}, "tool_choice"),
        ({**GOOD, "tool_choice": {"type": "sometimes"}}, "tool_choice.type"),
        ({**GOOD, "tool_choice": {"type": "tool"}}, "tool_choice.name"),
        ({**GOOD, "thinking": {"type": "enabled", "budget_tokens": "lots"}}, "thinking.budget_tokens"),
        ({**GOOD, "thinking": True}, "thinking"),
        ({**GOOD, "output_config": {"format": {"type": "regex"}}}, "output_config.format.type"),
        ({**GOOD, "output_config": {"effort": "extreme"}}, "output_config.effort"),
        ({**GOOD, "output_config": []}, "output_config"),
    ],
)  # fmt: skip
def test_bad_requests_are_usage_errors_naming_the_field(body: Any, field: str) -> None:
    with pytest.raises(UsageError) as info:
        DIALECT.parse_request(body, path="/v1/messages")
    assert str(info.value).startswith(f"anthropic request: {field} "), str(info.value)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({**GOOD, "messages": {"role": "user"}}, "messages must be a list, not an object"),
        ({**GOOD, "messages": [{"role": "user", "content": 5}]},
         "messages[0].content must be a string or a list of content blocks, not a number"),
        ({**GOOD, "messages": [{"role": "r" * 1000, "content": "hi"}]},
         "messages[0].role must be one of user, assistant, system, not 'rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr..."),
        ({**GOOD, "max_tokens": 1.5}, "max_tokens must be an integer, not 1.5"),
        ({**GOOD, "temperature": None, "top_p": "1"}, "top_p must be a number, not a string"),
    ],
)  # fmt: skip
def test_bad_requests_say_it_as_every_dialect_does(body: Any, message: str) -> None:
    """The shared readers' wording (streamkit/dialects/checks.py), the value quoted at most 40 long."""
    with pytest.raises(UsageError) as info:
        DIALECT.parse_request(body, path="/v1/messages")
    assert str(info.value) == f"anthropic request: {message}"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats(allow_nan=False) | st.text(max_size=5)
    | st.sampled_from(["text", "image", "tool_use", "tool_result", "base64", "url", "enabled", "auto", "tool"]),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(["type", "text", "name", "id", "input", "content", "source", "data"])
                      | st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)  # fmt: skip
#: a request with every feature, whose every field the fuzz below replaces with anything
RICH = {
    "model": "m",
    "max_tokens": 2000,
    "system": [{"type": "text", "text": "sys", "cache_control": EPHEMERAL}],
    "messages": [
        {"role": "user", "content": [
            {"type": "text", "text": "hi"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
            {"type": "image", "source": {"type": "url", "url": "https://x.test/a.png"}},
            {"type": "document", "source": {"type": "content", "content": [{"type": "text", "text": "d"}]}, "title": "t"},
            {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "d"}}]},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "t", "signature": "s"},
            {"type": "redacted_thinking", "data": "r"},
            {"type": "compaction", "content": "c"},
            {"type": "server_tool_use", "id": "srv", "name": "web_search", "input": {"query": "q"}},
            {"type": "web_search_tool_result", "tool_use_id": "srv", "content": [{"type": "web_search_result"}]},
            {"type": "tool_use", "id": "t1", "name": "f", "input": {"a": 1}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "t1", "content": [{"type": "text", "text": "ok"}], "is_error": False},
            {"type": "text", "text": "more"}]},
    ],
    "tools": [{"name": "f", "input_schema": {"type": "object"}},
              {"type": "web_search_20250305", "name": "web_search", "max_uses": 2, "allowed_domains": ["a.org"],
               "user_location": {"type": "approximate", "city": "Lyon"}}],
    "tool_choice": {"type": "auto", "disable_parallel_tool_use": True},
    "thinking": {"type": "enabled", "budget_tokens": 1024},
    "output_config": {"effort": "low", "format": {"type": "json_schema", "schema": {"type": "object"}}},
    "output_format": {"type": "json_schema", "schema": {"type": "object"}},
    "stop_sequences": ["x"],
    "temperature": 1,
    "top_p": 1,
    "top_k": 5,
    "stream": True,
    "metadata": {"user_id": "u"},
}  # fmt: skip


def test_the_rich_request_parses_and_builds() -> None:
    result = DIALECT.parse_request(RICH, path="/v1/messages")
    rebuilt(result.conversation)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(places(RICH)), value=JSON)
def test_wrong_types_anywhere_are_usage_errors_never_tracebacks(path: tuple[Any, ...], value: Any) -> None:
    """Valid JSON with anything anywhere (an attacker's request) parses, and then builds again for
    an Anthropic upstream, or is a UsageError: never another exception."""
    body = replaced(RICH, path, value)
    try:
        result = DIALECT.parse_request(body, path="/v1/messages", headers={"anthropic-beta": "x"})
        rebuilt(result.conversation)
        count_tokens_estimate(result.conversation)
    except UsageError:
        pass


# --- counting tokens -------------------------------------------------------------------------------


def test_the_token_estimate_is_near_a_count_the_api_gave() -> None:
    """pydantic-ai's recording (shared fixture pydantic-ai_claude-sonnet-4.5_simple-text.sse): the
    API counted 20 input tokens for this one-message request to claude-sonnet-4-5."""
    conversation = parsed(messages=[user("What is 1+1? Answer with just the number.")]).conversation
    assert 15 <= count_tokens_estimate(conversation) <= 25


def test_the_token_estimate_grows_with_every_part() -> None:
    base = from_prompt("Hello there, how are you today?")
    counts = [count_tokens_estimate(base)]
    grown = [
        {**base, "system": "You are a helpful assistant."},
        {**base, "messages": [*base["messages"], {"role": "assistant", "content": [text("Fine, thanks.")]}]},
        {**base, "messages": [user([text("Hello there, how are you today?"), {"type": "file", "media_type": "image/png", "data": PNG}])]},
        {**base, "messages": [user([text("Hello there, how are you today?"), {"type": "file", "media_type": "application/pdf", "data": PDF}])]},
        {**base, "tools": [{"name": "get_weather", "parameters": {"type": "object", "properties": {}}}]},
    ]  # fmt: skip
    for conversation in grown:
        assert count_tokens_estimate(conversation) > counts[0]
    longer = [count_tokens_estimate(from_prompt("word " * n)) for n in range(0, 400, 20)]
    assert longer == sorted(longer) and longer[-1] > longer[0] + 300
    # an image costs what the API's largest image costs, not its base64 length
    image = {"type": "file", "media_type": "image/png", "data": PNG * 1000}
    assert count_tokens_estimate({"messages": [user([image])]}) < 2000


def test_system_messages_among_the_messages_are_kept_in_place() -> None:
    """Claude Code sends ``{"role": "system"}`` messages between the turns."""
    body = {"model": "m", "max_tokens": 10, "messages": [
        {"role": "user", "content": "hi"},
        {"role": "system", "content": "Available agent types: none"},
        {"role": "system", "content": [{"type": "text", "text": "Be brief."}, {"type": "text", "text": "Really."}]},
    ]}  # fmt: skip
    messages = Anthropic().parse_request(body).conversation["messages"]
    assert [m["role"] for m in messages] == ["user", "system", "system"]
    assert messages[1]["content"] == [{"type": "text", "text": "Available agent types: none"}]
    assert messages[2]["content"] == [{"type": "text", "text": "Be brief.\n\nReally."}]
