"""The provider's own web search through the gateway (:mod:`streamkit.dialects.web_search`): a
client declares its dialect's search, the upstream gets its own, and the search the upstream ran
comes back to the client as its dialect's search. Real HTTP on loopback, the official SDKs as
the clients, upstreams replaying a recorded search (``serve --replay``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from streamkit.testing import serving
from tests.conftest import DATA, ndjson
from tests.serve.test_gateway import BASE_PATHS, assert_valid_requests

#: Claude Code's WebSearch tool asks the API for this server tool
CLAUDE_SEARCH = {"type": "web_search_20250305", "name": "web_search", "max_uses": 8}


@contextmanager
def gateway(upstream: str, recording: Path, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A gateway in front of an upstream that answers with ``recording``: (its URL, the upstream's log)."""
    log = tmp_path / "upstream.ndjson"
    with (
        serving("-d", upstream, "--replay", str(recording), "--log-requests", str(log)) as up,
        serving("--upstream", upstream, "--base-url", up + BASE_PATHS[upstream]) as url,
    ):
        yield url, log
    assert_valid_requests(upstream, log)


def test_claude_codes_web_search_through_a_responses_upstream(tmp_path: Path) -> None:
    import anthropic

    with (
        gateway("openai-responses", DATA / "openai-responses" / "web-search.sse", tmp_path) as (url, log),
        anthropic.Anthropic(base_url=url, api_key="k", max_retries=0) as client,
        client.messages.stream(model="claude-sonnet-4-5", max_tokens=100, tools=[CLAUDE_SEARCH],  # type: ignore[list-item]
                               messages=[{"role": "user", "content": "Perform a web search for: good news"}]) as stream,
    ):  # fmt: skip
        message = stream.get_final_message()
    (sent,) = ndjson(log.read_bytes())
    assert sent["tools"] == [{"type": "web_search"}]  # (max_uses: Responses has no such setting)
    use, result, text = message.content
    assert use.type == "server_tool_use" and use.name == "web_search"
    assert use.input["query"] == "positive news today"  # type: ignore[index]
    assert result.type == "web_search_tool_result" and result.tool_use_id == use.id
    assert [page.url for page in result.content] == ["https://www.goodnewsnetwork.org/"]  # type: ignore[union-attr]
    assert text.type == "text" and text.text == "A new coral reef was found off Tahiti."


def test_codexs_web_search_through_an_anthropic_upstream(tmp_path: Path) -> None:
    import openai

    tools = [{"type": "web_search", "search_context_size": "low", "user_location": {"type": "approximate", "city": "Oslo"}},
             {"type": "function", "name": "shell", "parameters": {"type": "object", "properties": {}}}]  # fmt: skip
    with (
        gateway("anthropic", DATA / "anthropic" / "web-search-citations.sse", tmp_path) as (url, log),
        openai.OpenAI(base_url=f"{url}/v1", api_key="k", max_retries=0) as client,
        client.responses.stream(
            model="gpt-5-codex", input="What is the capital of Norway?", tools=tools
        ) as stream,  # type: ignore[arg-type]
    ):
        response = stream.get_final_response()
    (sent,) = ndjson(log.read_bytes())
    assert sent["tools"] == [
        {"name": "shell", "input_schema": {"type": "object", "properties": {}}},
        {
            "type": "web_search_20250305",
            "name": "web_search",
            "user_location": {"type": "approximate", "city": "Oslo"},
        },
    ]
    kinds = [item.type for item in response.output]
    assert "web_search_call" in kinds and kinds[-1] == "message"
    search = response.output[kinds.index("web_search_call")]
    assert search.status == "completed" and search.action.query  # type: ignore[union-attr]
    assert [s.url for s in search.action.sources] == [
        "https://en.wikipedia.org/wiki/Oslo",
        "https://www.visitoslo.com/en/",
    ]  # type: ignore[union-attr]
    assert "Oslo" in response.output_text


def test_a_chat_clients_web_search_options_reach_a_gemini_upstream_as_google_search(tmp_path: Path) -> None:
    import openai

    with (
        gateway("gemini", DATA / "gemini" / "grounding.sse", tmp_path) as (url, log),
        openai.OpenAI(base_url=f"{url}/v1", api_key="k", max_retries=0) as client,
    ):
        answer = client.chat.completions.create(
            model="gemini-2.5-flash", messages=[{"role": "user", "content": "Who won Euro 2024?"}],
            web_search_options={"search_context_size": "medium"},
        )  # fmt: skip
    (sent,) = ndjson(log.read_bytes())
    assert sent["tools"] == [{"googleSearch": {}}]
    assert (
        answer.choices[0].message.content
        == "Spain won Euro 2024, beating England 2\u20131 in the final in Berlin."
    )


def test_a_gemini_clients_google_search_through_an_anthropic_upstream(tmp_path: Path) -> None:
    from google import genai
    from google.genai import types

    config = types.GenerateContentConfig(tools=[types.Tool(google_search=types.GoogleSearch())])
    with (
        gateway("anthropic", DATA / "anthropic" / "web-search-citations.sse", tmp_path) as (url, log),
        genai.Client(api_key="k", http_options=types.HttpOptions(base_url=url)) as client,
    ):
        chunks = list(client.models.generate_content_stream(model="gemini-3-flash", contents="Capital of Norway?",
                                                            config=config))  # fmt: skip
    (sent,) = ndjson(log.read_bytes())
    assert sent["tools"] == [{"type": "web_search_20250305", "name": "web_search"}]
    contents = [c.candidates[0].content for c in chunks if c.candidates and c.candidates[0].content]
    parts = [p for content in contents for p in content.parts or ()]
    call = next(p.tool_call for p in parts if p.tool_call)
    response = next(p.tool_response for p in parts if p.tool_response)
    assert call.tool_type == "GOOGLE_SEARCH_WEB" and call.args and call.args["query"]
    assert response.id == call.id and "wikipedia.org/wiki/Oslo" in str(response.response)
    assert "Oslo" in "".join(p.text or "" for p in parts)


def test_claude_codes_web_search_through_a_gemini_upstream_that_grounds_its_answer(tmp_path: Path) -> None:
    """Gemini 2 searches by grounding (sources and queries, no tool call): Claude Code's forced
    search gets Gemini's Google Search, and reads the pages as a search's results."""
    import anthropic

    with (
        gateway("gemini", DATA / "gemini" / "grounding.sse", tmp_path) as (url, log),
        anthropic.Anthropic(base_url=url, api_key="k", max_retries=0) as client,
    ):
        message = client.messages.create(
            model="gemini-2.5-flash", max_tokens=100, tools=[CLAUDE_SEARCH],  # type: ignore[list-item]
            tool_choice={"type": "tool", "name": "web_search"},
            messages=[{"role": "user", "content": "Perform a web search for: euro 2024 winner"}],
        )  # fmt: skip
    (sent,) = ndjson(log.read_bytes())
    assert sent["tools"] == [{"googleSearch": {}}] and "toolConfig" not in sent  # (a search cannot be forced)
    text, use, result = message.content
    assert text.type == "text" and text.text.startswith("Spain won Euro 2024")
    assert use.type == "server_tool_use" and use.input == {"query": "euro 2024 winner"}
    assert result.type == "web_search_tool_result"
    assert [page.title for page in result.content] == ["uefa.com", "bbc.com"]  # type: ignore[union-attr]
