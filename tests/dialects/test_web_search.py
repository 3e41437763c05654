"""The provider's own web search (:mod:`streamkit.dialects.web_search`): each client dialect's form
parses into the canonical tool, each upstream dialect builds its own form from it (or leaves it
out, saying so), and a client's own form reaches an upstream of its dialect as it was sent."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from streamkit.conversation import check
from streamkit.dialects.base import Endpoint
from streamkit.errors import UsageError
from streamkit.plugins import default_registry

ANTHROPIC_TOOL = {"type": "web_search_20250305", "name": "web_search", "max_uses": 3,
                  "allowed_domains": ["docs.python.org"], "cache_control": {"type": "ephemeral"},
                  "user_location": {"type": "approximate", "city": "Lyon", "country": "FR", "timezone": "Europe/Paris"}}  # fmt: skip
RESPONSES_TOOL = {"type": "web_search", "external_web_access": True, "search_context_size": "high",
                  "filters": {"allowed_domains": ["docs.python.org"]},
                  "user_location": {"type": "approximate", "city": "Lyon", "country": "FR"}}  # fmt: skip
CHAT_OPTIONS = {"search_context_size": "low",
                "user_location": {"type": "approximate", "approximate": {"city": "Lyon", "region": "ARA"}}}  # fmt: skip
GEMINI_TOOL = {"googleSearch": {"excludeDomains": ["example.com"], "timeRangeFilter": {"startTime": "2026-01-01T00:00:00Z"}}}  # fmt: skip

FUNCTION = {"name": "read_file", "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}}


def dialect(name: str) -> Any:
    return default_registry().dialect(name)


def parsed(client: str, tool_or_options: dict[str, Any], *, with_function: bool = False) -> dict[str, Any]:
    """The canonical conversation a client's request declaring the web search parses into."""
    if client == "anthropic":
        tools = [ANTHROPIC_TOOL] + (
            [{"name": "read_file", "input_schema": FUNCTION["parameters"]}] if with_function else []
        )
        body = {
            "model": "m",
            "max_tokens": 10,
            "messages": [{"role": "user", "content": "news?"}],
            "tools": tools,
        }
        return dialect(client).parse_request(body).conversation
    if client == "openai-responses":
        tools = [RESPONSES_TOOL] + ([{"type": "function", **FUNCTION}] if with_function else [])
        return dialect(client).parse_request({"model": "m", "input": "news?", "tools": tools}).conversation
    if client == "openai-chat":
        body = {
            "model": "m",
            "messages": [{"role": "user", "content": "news?"}],
            "web_search_options": CHAT_OPTIONS,
        }
        if with_function:
            body["tools"] = [{"type": "function", "function": FUNCTION}]
        return dialect(client).parse_request(body).conversation
    tools = [GEMINI_TOOL] + ([{"functionDeclarations": [FUNCTION]}] if with_function else [])
    body = {"contents": [{"role": "user", "parts": [{"text": "news?"}]}], "tools": tools}
    return (
        dialect(client).parse_request(body, path="/v1beta/models/gemini-3-flash:generateContent").conversation
    )


def built(upstream: str, conversation: dict[str, Any], model: str = "m") -> dict[str, Any]:
    body = dialect(upstream).build_request(check(conversation), Endpoint("http://x", model=model)).body
    return body if isinstance(body, dict) else json.loads(body)


def searches(conversation: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for t in conversation.get("tools") or () if t.get("kind") == "web_search"]


# --- parsing: each client's form -> the canonical tool ---------------------------------------------


def test_anthropic_web_search_parses_into_the_canonical_tool() -> None:
    conv = parsed("anthropic", {})
    (tool,) = searches(conv)
    assert tool["name"] == "web_search"
    assert tool["max_uses"] == 3 and tool["allowed_domains"] == ["docs.python.org"]
    assert tool["user_location"] == {"city": "Lyon", "country": "FR", "timezone": "Europe/Paris"}
    assert tool["provider_metadata"]["anthropic"] == {
        "type": "web_search_20250305",
        "cache_control": {"type": "ephemeral"},
    }


def test_responses_web_search_parses_into_the_canonical_tool() -> None:
    (tool,) = searches(parsed("openai-responses", {}))
    assert tool["allowed_domains"] == ["docs.python.org"] and tool["context_size"] == "high"
    assert tool["user_location"] == {"city": "Lyon", "country": "FR"}
    assert tool["provider_metadata"]["openai-responses"] == {
        "type": "web_search",
        "external_web_access": True,
    }


def test_chat_web_search_options_parse_into_the_canonical_tool() -> None:
    conv = parsed("openai-chat", {})
    (tool,) = searches(conv)
    assert tool["context_size"] == "low" and tool["user_location"] == {"city": "Lyon", "region": "ARA"}
    assert "web_search_options" not in conv.get("provider_metadata", {}).get("openai-chat", {}).get(
        "body", {}
    )


def test_gemini_google_search_parses_into_the_canonical_tool() -> None:
    (tool,) = searches(parsed("gemini", {}))
    assert tool["blocked_domains"] == ["example.com"]
    assert tool["provider_metadata"]["gemini"] == GEMINI_TOOL


@pytest.mark.parametrize("client", ["anthropic", "openai-responses", "openai-chat", "gemini"])
def test_a_web_search_is_no_longer_listed_as_dropped(client: str) -> None:
    assert not any("web" in d.lower() or "search" in d.lower() for d in _parse_dropped(client))


def _parse_dropped(client: str) -> list[str]:
    if client == "anthropic":
        body = {
            "model": "m",
            "max_tokens": 10,
            "messages": [{"role": "user", "content": "x"}],
            "tools": [ANTHROPIC_TOOL],
        }
        return dialect(client).parse_request(body).dropped
    if client == "openai-responses":
        return dialect(client).parse_request({"model": "m", "input": "x", "tools": [RESPONSES_TOOL]}).dropped
    if client == "openai-chat":
        body = {
            "model": "m",
            "messages": [{"role": "user", "content": "x"}],
            "web_search_options": CHAT_OPTIONS,
        }
        return dialect(client).parse_request(body).dropped
    body = {"contents": [{"role": "user", "parts": [{"text": "x"}]}], "tools": [GEMINI_TOOL]}
    return dialect(client).parse_request(body, path="/v1beta/models/gemini-3-flash:generateContent").dropped


@pytest.mark.parametrize(
    ("client", "body", "field"),
    [
        ("anthropic", {"max_tokens": 5, "messages": [], "tools": [{**ANTHROPIC_TOOL, "allowed_domains": "a.com"}]},
         "tools[0].allowed_domains"),
        ("anthropic", {"max_tokens": 5, "messages": [], "tools": [{**ANTHROPIC_TOOL, "max_uses": "3"}]},
         "tools[0].max_uses"),
        ("openai-responses", {"input": "x", "tools": [{**RESPONSES_TOOL, "search_context_size": "huge"}]},
         "tools[0].search_context_size"),
        ("openai-responses", {"input": "x", "tools": [{**RESPONSES_TOOL, "user_location": {"city": 7}}]},
         "tools[0].user_location.city"),
        ("openai-chat", {"messages": [{"role": "user", "content": "x"}], "web_search_options": []},
         "web_search_options"),
        ("gemini", {"contents": [{"role": "user", "parts": [{"text": "x"}]}],
                    "tools": [{"googleSearch": {"excludeDomains": [1]}}]}, "tools[0].googleSearch.excludeDomains[0]"),
    ],
)  # fmt: skip
def test_a_web_search_of_the_wrong_types_is_the_clients_400(
    client: str, body: dict[str, Any], field: str
) -> None:
    with pytest.raises(UsageError, match=field.replace("[", r"\[").replace("]", r"\]")):
        dialect(client).parse_request({"model": "m", **body}, path="/v1beta/models/g:generateContent")


# --- building: the canonical tool -> each upstream's form ---------------------------------------------


def test_anthropic_upstream_gets_its_server_tool_with_every_setting_it_has() -> None:
    (tool,) = built("anthropic", parsed("openai-responses", {}))["tools"]
    assert tool == {"type": "web_search_20250305", "name": "web_search", "allowed_domains": ["docs.python.org"],
                    "user_location": {"type": "approximate", "city": "Lyon", "country": "FR"}}  # fmt: skip


def test_responses_upstream_gets_a_web_search_tool(capsys: pytest.CaptureFixture[str]) -> None:
    (tool,) = built("openai-responses", parsed("anthropic", {}))["tools"]
    assert tool == {"type": "web_search", "filters": {"allowed_domains": ["docs.python.org"]},
                    "user_location": {"type": "approximate", "city": "Lyon", "country": "FR",
                                      "timezone": "Europe/Paris"}}  # fmt: skip
    assert "web search's max_uses" in capsys.readouterr().err  # (Responses has no such setting)


def test_chat_upstream_gets_web_search_options_for_a_search_model(capsys: pytest.CaptureFixture[str]) -> None:
    body = built("openai-chat", parsed("openai-responses", {}), model="gpt-4o-search-preview")
    assert body["web_search_options"] == {
        "user_location": {"type": "approximate", "approximate": {"city": "Lyon", "country": "FR"}},
        "search_context_size": "high",
    }
    assert "tools" not in body and "tool_choice" not in body
    assert "web search's allowed_domains" in capsys.readouterr().err


def test_chat_upstream_of_another_model_leaves_the_search_out_saying_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    conv = parsed("anthropic", {}, with_function=True)
    conv["options"] = {**conv.get("options", {}), "tool_choice": "auto"}
    body = built("openai-chat", conv, model="gpt-4.1")
    assert "web_search_options" not in body
    assert [t["function"]["name"] for t in body["tools"]] == ["read_file"] and body["tool_choice"] == "auto"
    assert (
        "the web_search tool (Chat Completions searches with search models only)" in capsys.readouterr().err
    )


def test_a_tool_choice_is_not_sent_to_chat_without_tools() -> None:
    conv = parsed("anthropic", {})
    conv["options"] = {**conv.get("options", {}), "tool_choice": "auto"}
    assert "tool_choice" not in built("openai-chat", conv, model="gpt-4.1")


def test_gemini_upstream_gets_google_search(capsys: pytest.CaptureFixture[str]) -> None:
    body = built("gemini", parsed("anthropic", {}), model="gemini-2.5-flash")
    assert body["tools"] == [{"googleSearch": {}}] and "toolConfig" not in body
    err = capsys.readouterr().err
    assert "web search's max_uses" in err and "web search's user_location" in err


def test_gemini_3_searches_beside_functions_with_server_side_tool_invocations() -> None:
    body = built("gemini", parsed("openai-responses", {}, with_function=True), model="gemini-3-flash-preview")
    assert body["tools"][0]["functionDeclarations"][0]["name"] == "read_file"
    assert body["tools"][1] == {"googleSearch": {}}
    assert body["toolConfig"]["includeServerSideToolInvocations"] is True


def test_gemini_2_leaves_the_search_out_beside_functions(capsys: pytest.CaptureFixture[str]) -> None:
    body = built("gemini", parsed("openai-responses", {}, with_function=True), model="models/gemini-2.5-pro")
    assert [list(t) for t in body["tools"]] == [["functionDeclarations"]] and "toolConfig" not in body
    assert "beside function declarations" in capsys.readouterr().err


def test_anthropic_takes_allowed_or_blocked_domains_not_both(capsys: pytest.CaptureFixture[str]) -> None:
    conv = {"model": "m", "messages": [{"role": "user", "content": "x"}],
            "tools": [{"name": "web_search", "kind": "web_search", "allowed_domains": ["a.org"], "blocked_domains": ["b.org"]}]}  # fmt: skip
    (tool,) = built("anthropic", conv)["tools"]
    assert tool["allowed_domains"] == ["a.org"] and "blocked_domains" not in tool
    assert "blocked_domains beside its allowed_domains" in capsys.readouterr().err


@pytest.mark.parametrize("upstream", ["ollama", "openai-assistants", "cohere", "bedrock"])
def test_a_dialect_without_a_search_leaves_it_out_saying_so(
    upstream: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")  # (Bedrock signs its requests)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    conv = parsed("openai-responses", {}, with_function=True)
    conv["options"] = {**conv.get("options", {}), "tool_choice": {"name": "web_search"}}  # (forced)
    body = built(upstream, conv)
    names = json.dumps(body.get("tools") or body.get("toolConfig") or body.get("thread", {}))
    assert "read_file" in names and "web_search" not in names  # (nor a choice of it)
    assert f"{upstream} cannot send the web_search tool (1)" in capsys.readouterr().err


@pytest.mark.parametrize("upstream", ["anthropic", "openai-responses", "openai-chat", "gemini", "ollama"])
def test_a_tool_of_a_kind_the_dialect_does_not_know_is_left_out(
    upstream: str, capsys: pytest.CaptureFixture[str]
) -> None:
    conv = {"model": "m", "messages": [{"role": "user", "content": "x"}],
            "tools": [FUNCTION, {"name": "file_search", "kind": "file_search"}]}  # fmt: skip
    sent = json.dumps(built(upstream, conv).get("tools"))
    assert "read_file" in sent and "file_search" not in sent
    assert "the file_search tool (1)" in capsys.readouterr().err


@pytest.mark.parametrize("upstream", ["anthropic", "openai-responses", "openai-chat", "gemini", "ollama"])
def test_image_generation_goes_where_images_come_back_and_is_left_out_elsewhere(
    upstream: str, capsys: pytest.CaptureFixture[str]
) -> None:
    conv = {"model": "m", "messages": [{"role": "user", "content": "x"}],
            "tools": [FUNCTION, {"name": "image_generation", "kind": "image_generation"}]}  # fmt: skip
    body = built(upstream, conv)
    sent = json.dumps(body.get("tools"))
    err = capsys.readouterr().err
    assert "read_file" in sent
    if upstream == "openai-responses":
        assert {"type": "image_generation"} in body["tools"] and "image_generation" not in err
    elif upstream == "gemini":
        assert (
            body["generationConfig"]["responseModalities"] == ["TEXT", "IMAGE"]
            and "image_generation" not in sent
        )
        assert "image_generation" not in err
    else:
        assert "image_generation" not in sent and "the image_generation tool (1)" in err


# --- the same dialect on both sides: the client's own form, as it was sent ------------------------------


@pytest.mark.parametrize(
    ("client", "sent"),
    [
        ("anthropic", lambda body: body["tools"][0] == ANTHROPIC_TOOL),
        ("openai-responses", lambda body: body["tools"][0] == RESPONSES_TOOL),
        ("openai-chat", lambda body: body["web_search_options"] == CHAT_OPTIONS),
        ("gemini", lambda body: body["tools"][0] == GEMINI_TOOL),
    ],
)
def test_a_clients_own_web_search_reaches_its_dialect_as_sent(client: str, sent: Any) -> None:
    # (a Chat client's own options go even to a model whose name does not say search: it chose them)
    assert sent(
        built(client, parsed(client, {}), model="gpt-4.1" if client == "openai-chat" else "gemini-2.5-flash")
    )


# --- the canonical tool's own checks --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"max_uses": 0}, "'max_uses' must be a positive integer"),
        ({"allowed_domains": "a.org"}, "'allowed_domains' must be a list of strings"),
        ({"user_location": {"city": 1}}, "'user_location' holds city, region, country, timezone"),
        ({"user_location": {"street": "x"}}, "'user_location' holds"),
        ({"context_size": "huge"}, "'context_size' must be one of low, medium, high"),
    ],
)
def test_a_canonical_web_search_with_wrong_settings_is_refused(
    settings: dict[str, Any], message: str
) -> None:
    conv = {"messages": [], "tools": [{"name": "web_search", "kind": "web_search", **settings}]}
    with pytest.raises(UsageError, match=f"tools\\[0\\]: {message}"):
        check(conv)


# --- a tool_choice that forces the search (Claude Code's WebSearch) -------------------------------


def forced(upstream: str, model: str = "m", *, with_function: bool = False) -> dict[str, Any]:
    conv = parsed("anthropic", {}, with_function=with_function)
    conv["options"] = {**conv.get("options", {}), "tool_choice": {"name": "web_search"}}
    return built(upstream, conv, model)


def test_a_forced_search_stays_forced_for_anthropic_and_responses() -> None:
    assert forced("anthropic")["tool_choice"] == {"type": "tool", "name": "web_search"}
    assert forced("openai-responses")["tool_choice"] == "required"  # (the search is its one tool)


@pytest.mark.parametrize(
    ("upstream", "model", "with_function", "warning"),
    [
        ("openai-responses", "m", True, "a tool_choice naming the web search beside other tools"),
        (
            "gemini",
            "gemini-2.5-flash",
            False,
            "a tool_choice naming the web search (Gemini cannot force a search)",
        ),
        ("gemini", "gemini-3-pro", True, "Gemini cannot force a search"),
        (
            "openai-chat",
            "gpt-4o-search-preview",
            True,
            "a tool_choice naming the web search (left to the model)",
        ),
    ],
)
def test_a_forced_search_is_left_to_the_model_where_it_cannot_be_forced(
    upstream: str, model: str, with_function: bool, warning: str, capsys: pytest.CaptureFixture[str]
) -> None:
    body = forced(upstream, model, with_function=with_function)
    assert "tool_choice" not in body
    assert "functionCallingConfig" not in body.get("toolConfig", {})
    assert warning in capsys.readouterr().err


def test_cohere_gets_no_tool_choice_when_the_search_was_its_only_tool() -> None:
    conv = parsed("anthropic", {})
    conv["options"] = {**conv.get("options", {}), "tool_choice": "required"}
    body = built("cohere", conv)
    assert "tools" not in body and "tool_choice" not in body  # (the API refuses a choice without tools)


# --- an attacker's values in every setting ------------------------------------------------------------

ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
#: each client's search, and a place in it (key path) an attacker fills
PLACES = [
    ("anthropic", ("max_uses",)), ("anthropic", ("allowed_domains",)), ("anthropic", ("blocked_domains",)),
    ("anthropic", ("user_location",)), ("anthropic", ("user_location", "city")),
    ("openai-responses", ("filters",)), ("openai-responses", ("filters", "allowed_domains")),
    ("openai-responses", ("user_location",)), ("openai-responses", ("search_context_size",)),
    ("openai-chat", ()), ("openai-chat", ("user_location",)), ("openai-chat", ("user_location", "approximate")),
    ("openai-chat", ("search_context_size",)),
    ("gemini", ()), ("gemini", ("excludeDomains",)),
]  # fmt: skip


def _client_body(client: str, value: Any, path: tuple[str, ...]) -> dict[str, Any]:
    search: Any = {"anthropic": dict(ANTHROPIC_TOOL), "openai-responses": dict(RESPONSES_TOOL),
                   "openai-chat": dict(CHAT_OPTIONS), "gemini": dict(GEMINI_TOOL["googleSearch"])}[client]  # fmt: skip
    if not path:
        search = value
    else:
        inner = search
        for key in path[:-1]:
            inner[key] = dict(inner[key]) if isinstance(inner.get(key), dict) else {}
            inner = inner[key]
        inner[path[-1]] = value
    if client == "anthropic":
        return {
            "model": "m",
            "max_tokens": 5,
            "messages": [{"role": "user", "content": "x"}],
            "tools": [search],
        }
    if client == "openai-responses":
        return {"model": "m", "input": "x", "tools": [search]}
    if client == "openai-chat":
        return {"model": "m", "messages": [{"role": "user", "content": "x"}], "web_search_options": search}
    return {"contents": [{"role": "user", "parts": [{"text": "x"}]}], "tools": [{"googleSearch": search}]}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(place=st.sampled_from(PLACES), value=ANY_JSON)
@example(place=("anthropic", ("max_uses",)), value=0)  # (an integer a canonical search refuses)
@example(place=("openai-chat", ("user_location", "approximate")), value={"city": None, "street": "x"})
def test_any_value_in_a_search_setting_is_the_clients_400_or_travels(
    place: tuple[str, tuple[str, ...]], value: Any
) -> None:
    """Valid JSON of any shape in any setting of a client's search: a UsageError (the client's 400),
    or a conversation every upstream builds (or refuses with a UsageError); never a traceback."""
    client, path = place
    try:
        parsed_request = dialect(client).parse_request(
            _client_body(client, value, path), path="/v1beta/models/gemini-3-flash:generateContent"
        )
    except UsageError:
        return
    conversation = check(parsed_request.conversation)  # (what a parser makes is a valid conversation)
    for upstream in ("anthropic", "openai-responses", "openai-chat", "gemini", "ollama"):
        try:
            built(upstream, conversation, model="gpt-4o-search-preview" if upstream == "openai-chat" else "m")
        except UsageError:
            pass


def test_a_responses_clients_forced_search_is_forced_for_anthropic_and_kept_for_responses() -> None:
    body = {"model": "m", "input": "news?", "tools": [{"type": "web_search_preview"}],
            "tool_choice": {"type": "web_search_preview"}}  # fmt: skip
    parsed_request = dialect("openai-responses").parse_request(body)
    assert parsed_request.conversation["options"]["tool_choice"] == {"name": "web_search"}
    assert not parsed_request.dropped
    assert built("anthropic", parsed_request.conversation)["tool_choice"] == {
        "type": "tool",
        "name": "web_search",
    }
    again = built("openai-responses", parsed_request.conversation)
    assert again["tools"] == body["tools"] and again["tool_choice"] == body["tool_choice"]
