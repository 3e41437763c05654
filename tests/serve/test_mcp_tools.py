"""``serve --upstream`` running MCP tools server-side: a real MCP server (the official SDK's
``MCPServer`` over streamable HTTP, :mod:`tests.serve.mcp_server`), a real gateway process in front
of a scripted Chat Completions upstream (``serve --script``, whose ``--log-requests`` shows what the
gateway sent it), and the official ``openai`` and ``anthropic`` clients as the proof.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest

from streamkit.testing import stop
from tests.conftest import STREAMKIT, ndjson
from tests.serve.conftest import TOKEN

QUESTION = "What is the weather in Paris?"
WEATHER = "It is 18 degrees and sunny in Paris."
ANSWER = "Paris is sunny today."
CALL = {"tool_calls": [{"name": "weather", "input": {"city": "Paris"}}]}

# one worker runs the module, so that its tests share one MCP server and few gateways
pytestmark = pytest.mark.xdist_group("mcp-tools")


@contextmanager
def gateway_process(*args: str, stderr: Path) -> Iterator[str]:
    """``streamkit serve ARGS`` with its stderr kept in a file (to show what it logged)."""
    with open(stderr, "wb") as err:
        proc = subprocess.Popen([str(STREAMKIT), "serve", *args, "--port", "0"], stdout=subprocess.PIPE,
                                stderr=err, env=dict(os.environ))  # fmt: skip
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline().decode().strip()
            assert line.startswith("http://127.0.0.1:"), stderr.read_text()
            yield line
        finally:
            stop(proc)


class Gateway:
    """What one test sees of a shared gateway: the upstream's requests of this test, and the
    gateway's log and stderr from where this test began."""

    def __init__(self, url: str, tmp_path: Path, own_log: Path, stderr: Path) -> None:
        self.url = url
        self.upstream_log = tmp_path / "upstream.ndjson"
        self.own_log = own_log
        self.stderr = stderr
        self._began = {p: p.stat().st_size if p.exists() else 0 for p in (own_log, stderr)}
        self.clients: list[Any] = []  # closed at the end of the test

    def sent(self) -> list[dict[str, Any]]:
        """The requests the upstream received."""
        return ndjson(self.upstream_log.read_bytes()) if self.upstream_log.exists() else []

    def since(self, path: Path) -> str:
        """What the gateway wrote to its log or stderr during this test."""
        if not path.exists():
            return ""
        with open(path, "rb") as f:
            f.seek(self._began.get(path, 0))
            return f.read().decode()

    def openai(self) -> Any:
        import openai

        client = openai.OpenAI(api_key="sk-client", base_url=f"{self.url}/v1", max_retries=0, timeout=30)
        self.clients.append(client)
        return client

    def anthropic(self) -> Any:
        import anthropic

        client = anthropic.Anthropic(api_key="sk-client", base_url=self.url, max_retries=0, timeout=30)
        self.clients.append(client)
        return client

    def secret_leaked(self) -> list[str]:
        """Where the MCP token shows up: the upstream's requests, the gateway's log and stderr."""
        texts = {"upstream": self.since(self.upstream_log), "gateway log": self.since(self.own_log),
                 "gateway stderr": self.since(self.stderr)}  # fmt: skip
        return [name for name, text in texts.items() if TOKEN in text]


class _Pair:
    """A scripted upstream (in this process) and a gateway process in front of it, shared by the
    module's tests that want the same upstream dialect and gateway options. Each test gives the
    upstream its own script and request log; the turns go on numbering where the last test's
    ended, so no two tests' responses have the same id in the gateway's store."""

    def __init__(
        self, stack: ExitStack, folder: Path, script: Path, upstream: str, options: tuple[str, ...]
    ) -> None:
        from streamkit.cli.serve import make_server
        from streamkit.cli.serve import serve as command
        from streamkit.plugins import default_registry
        from streamkit.serve import background

        params = command.make_context(
            "serve", ["-d", upstream, "--script", str(script), "--port", "0"]
        ).params
        self.server, _ = make_server(default_registry(), **params)
        up = stack.enter_context(background(self.server))
        self.own_log, self.stderr = folder / "gateway.ndjson", folder / "gateway.err"
        base = "/v1" if upstream.startswith("openai") else ""
        self.url = stack.enter_context(gateway_process(
            "--upstream", upstream, "--base-url", f"{up}{base}", "--log-requests", str(self.own_log),
            "--connect-timeout", "5", "--read-timeout", "10", *options, stderr=self.stderr))  # fmt: skip
        self.turns = 0  # the turns given so far

    @contextmanager
    def scripted(self, script: Path, log: Path) -> Iterator[None]:
        from streamkit.serve import ScriptSource

        source = ScriptSource(str(script))
        given = len(source.turns)
        source.turns = [None] * self.turns + source.turns
        source.served = self.turns
        self.turns += given
        self.server.source = source
        with open(log, "wb") as self.server.log:
            try:
                yield
            finally:
                self.server.log = None


class _Pairs:
    """The module's shared upstream and gateway pairs, by upstream dialect and gateway options."""

    def __init__(self, stack: ExitStack, folder: Path) -> None:
        self.stack = stack
        self.folder = folder
        self.made: dict[tuple[str, tuple[str, ...]], _Pair] = {}

    def get(self, script: Path, upstream: str, options: tuple[str, ...]) -> _Pair:
        pair = self.made.get((upstream, options))
        if pair is None:
            folder = self.folder / f"{upstream}-{len(self.made)}"
            folder.mkdir()
            pair = self.made[upstream, options] = _Pair(self.stack, folder, script, upstream, options)
        return pair


_SHARED: list[_Pairs] = []  # the module's, while its tests run


@pytest.fixture(scope="module", autouse=True)
def _shared_pairs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with ExitStack() as stack:
        _SHARED.append(_Pairs(stack, tmp_path_factory.mktemp("gateways")))
        try:
            yield
        finally:
            _SHARED.clear()


@contextmanager
def gateway(
    tmp_path: Path, script: list[Any], *options: str, upstream: str = "openai-chat"
) -> Iterator[Gateway]:
    """A scripted upstream (Chat Completions unless said), and a gateway in front of it: shared
    with the module's other tests of the same upstream and options (a gateway process that loads
    the MCP SDK costs about 1.5 s of CPU), each test with its own script."""
    path = tmp_path / "script.json"
    path.write_bytes(orjson.dumps(script))
    pair = _SHARED[0].get(path, upstream, options)
    made = Gateway(pair.url, tmp_path, pair.own_log, pair.stderr)
    with pair.scripted(path, made.upstream_log):
        try:
            yield made
        finally:
            for client in made.clients:
                client.close()


def mcp_tool(url: str, **fields: Any) -> dict[str, Any]:
    return {"type": "mcp", "server_label": "wx", "server_url": url,
            "headers": {"Authorization": f"Bearer {TOKEN}"}, **fields}  # fmt: skip


def stream(client: Any, **request: Any) -> tuple[list[str], Any]:
    """A streamed Responses request: the event types, and the final response."""
    with client.responses.stream(model="m", **request) as s:
        kinds = [event.type for event in s]
        return kinds, s.get_final_response()


def tool_messages(request: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in request["messages"] if m["role"] == "tool"]


# --- Responses clients -----------------------------------------------------------------------------


def test_mcp_tools_run_server_side_for_a_responses_client(mcp_url: str, tmp_path: Path) -> None:
    with gateway(tmp_path, [CALL, {"text": ANSWER}] * 2) as gw:
        tools = [mcp_tool(mcp_url, require_approval="never")]
        kinds, response = stream(gw.openai(), input=QUESTION, tools=tools)
        again = gw.openai().responses.create(model="m", input=QUESTION, tools=tools)  # not streamed
    listing, call, _ = response.output
    assert listing.type == "mcp_list_tools" and listing.server_label == "wx" and listing.error is None
    assert sorted(t.name for t in listing.tools) == ["fail", "weather"]
    assert call.type == "mcp_call" and call.name == "weather" and call.server_label == "wx"
    assert orjson.loads(call.arguments) == {"city": "Paris"}
    assert call.output == WEATHER and call.error is None and call.status == "completed"
    assert response.output_text == ANSWER and response.status == "completed"
    for kind in ("response.mcp_list_tools.in_progress", "response.mcp_list_tools.completed",
                 "response.mcp_call.in_progress", "response.mcp_call_arguments.delta",
                 "response.mcp_call_arguments.done", "response.mcp_call.completed"):  # fmt: skip
        assert kind in kinds
    assert kinds.index("response.mcp_call.completed") < kinds.index("response.output_text.delta")
    # the upstream saw the MCP tools as functions, then its call answered as a tool result
    first, second = gw.sent()[:2]
    assert {t["function"]["name"] for t in first["tools"]} == {"weather", "fail"}
    assert tool_messages(second) == [{"role": "tool", "tool_call_id": second["messages"][1]["tool_calls"][0]["id"],
                                      "content": WEATHER}]  # fmt: skip
    assert [i.type for i in again.output] == ["mcp_list_tools", "mcp_call", "message"]
    assert again.output[1].output == WEATHER and again.output_text == ANSWER
    assert gw.secret_leaked() == []


def test_allowed_tools_narrow_what_the_upstream_is_offered(mcp_url: str, tmp_path: Path) -> None:
    with gateway(tmp_path, [{"text": ANSWER}]) as gw:
        tools = [mcp_tool(mcp_url, require_approval="never", allowed_tools=["weather"])]
        _, response = stream(gw.openai(), input=QUESTION, tools=tools)
    assert [t.name for t in response.output[0].tools] == ["weather"]
    assert [t["function"]["name"] for t in gw.sent()[0]["tools"]] == ["weather"]


def test_a_listing_in_the_input_is_not_made_again(mcp_url: str, tmp_path: Path) -> None:
    with gateway(tmp_path, [CALL, {"text": ANSWER}, {"text": "Still sunny."}]) as gw:
        tools = [mcp_tool(mcp_url, require_approval="never")]
        _, first = stream(gw.openai(), input=QUESTION, tools=tools)
        items: list[Any] = [{"role": "user", "content": QUESTION}]
        items += [item.model_dump(exclude_none=True) for item in first.output]
        items.append({"role": "user", "content": "And now?"})
        _, second = stream(gw.openai(), input=items, tools=tools)
    assert [i.type for i in second.output] == ["message"]  # no second mcp_list_tools
    assert second.output_text == "Still sunny."
    # the earlier MCP call reached the upstream as its own call and result, in its place
    last = gw.sent()[-1]
    roles = [m["role"] for m in last["messages"]]
    assert roles == ["user", "assistant", "tool", "assistant", "user"]
    assert last["messages"][1]["tool_calls"][0]["function"]["name"] == "weather"
    assert last["messages"][2]["content"] == WEATHER
    assert {t["function"]["name"] for t in last["tools"]} == {"weather", "fail"}


def _answering(first: Any, approve: bool, **fields: Any) -> list[Any]:
    """The conversation sent back after ``first``, with its approval request answered."""
    request = next(item for item in first.output if item.type == "mcp_approval_request")
    items: list[Any] = [{"role": "user", "content": QUESTION}]
    items += [item.model_dump(exclude_none=True) for item in first.output]
    items.append(
        {"type": "mcp_approval_response", "approval_request_id": request.id, "approve": approve, **fields}
    )
    return items


def test_an_approved_call_runs_on_the_next_request(mcp_url: str, tmp_path: Path) -> None:
    with gateway(tmp_path, [CALL, {"text": ANSWER}]) as gw:
        tools = [mcp_tool(mcp_url)]  # require_approval: always, the API's default
        kinds, first = stream(gw.openai(), input=QUESTION, tools=tools)
        assert len(gw.sent()) == 1
        _, second = stream(gw.openai(), input=_answering(first, True), tools=tools)
    assert [i.type for i in first.output] == ["mcp_list_tools", "mcp_approval_request"]
    request = first.output[1]
    assert request.name == "weather" and request.server_label == "wx"
    assert orjson.loads(request.arguments) == {"city": "Paris"}
    assert "response.mcp_call.in_progress" not in kinds  # nothing ran
    assert [i.type for i in second.output] == ["mcp_call", "message"]
    call = second.output[0]
    assert call.output == WEATHER and call.approval_request_id == request.id and call.status == "completed"
    assert second.output_text == ANSWER
    last = gw.sent()[-1]
    assert [m["role"] for m in last["messages"]] == ["user", "assistant", "tool"]
    assert last["messages"][1]["tool_calls"][0]["function"]["name"] == "weather"
    assert tool_messages(last)[0]["content"] == WEATHER
    assert gw.secret_leaked() == []


def test_an_approval_answered_through_previous_response_id_runs_from_the_store(
    mcp_url: str, tmp_path: Path
) -> None:
    """The client sends only the approval and the earlier response's id: the stored request and
    its approval request come back from the gateway's store (the default one, a SQLite file)."""
    with gateway(tmp_path, [CALL, {"text": ANSWER}]) as gw:
        tools = [mcp_tool(mcp_url)]
        _, first = stream(gw.openai(), input=QUESTION, tools=tools)
        request = next(item for item in first.output if item.type == "mcp_approval_request")
        answer = {"type": "mcp_approval_response", "approval_request_id": request.id, "approve": True}
        _, second = stream(gw.openai(), input=[answer], tools=tools, previous_response_id=first.id)
    assert [i.type for i in second.output] == ["mcp_call", "message"]
    assert second.output[0].output == WEATHER and second.output_text == ANSWER
    last = gw.sent()[-1]
    assert [m["role"] for m in last["messages"]] == ["user", "assistant", "tool"]
    assert gw.secret_leaked() == []


def test_a_denied_call_reaches_the_model_as_a_refusal(mcp_url: str, tmp_path: Path) -> None:
    with gateway(tmp_path, [CALL, {"text": "I was not allowed to look."}]) as gw:
        tools = [mcp_tool(mcp_url, require_approval="always")]
        _, first = stream(gw.openai(), input=QUESTION, tools=tools)
        _, second = stream(gw.openai(), input=_answering(first, False, reason="not now"), tools=tools)
    assert [i.type for i in second.output] == ["message"]  # nothing ran
    assert second.output_text == "I was not allowed to look."
    (refusal,) = tool_messages(gw.sent()[-1])
    assert "denied" in refusal["content"] and "not now" in refusal["content"]
    assert WEATHER not in orjson.dumps(gw.sent()).decode()


def test_per_tool_approval_and_a_tool_error(mcp_url: str, tmp_path: Path) -> None:
    script = [
        {"tool_calls": [{"name": "fail", "input": {"reason": "no disk"}}]},
        {"text": "The tool failed."},
        CALL,
    ]
    with gateway(tmp_path, script) as gw:
        tools = [mcp_tool(mcp_url, require_approval={"never": {"tool_names": ["fail"]}})]
        kinds, response = stream(gw.openai(), input=QUESTION, tools=tools)
        _, asking = stream(gw.openai(), input=QUESTION, tools=tools)
    _, failed, _ = response.output
    assert failed.type == "mcp_call" and failed.status == "failed" and failed.output is None
    assert failed.error is not None and "no disk" in orjson.dumps(failed.error.model_dump()).decode()
    assert "response.mcp_call.failed" in kinds
    assert response.output_text == "The tool failed."
    (result,) = tool_messages(gw.sent()[1])
    assert "no disk" in result["content"]
    assert [i.type for i in asking.output] == ["mcp_list_tools", "mcp_approval_request"]  # weather still asks


def test_the_round_limit_ends_the_response_incomplete(mcp_url: str, tmp_path: Path) -> None:
    with gateway(tmp_path, [CALL, CALL, {"text": ANSWER}], "--max-tool-rounds", "1") as gw:
        tools = [mcp_tool(mcp_url, require_approval="never")]
        # the SDK's stream helper wants response.completed: read the events themselves
        events = list(gw.openai().responses.create(model="m", input=QUESTION, tools=tools, stream=True))
        stderr = gw.since(gw.stderr)
    assert events[-1].type == "response.incomplete"
    response = events[-1].response
    assert response.status == "incomplete"
    assert response.incomplete_details is not None and response.incomplete_details.reason == "max_tool_rounds"
    assert [i.type for i in response.output] == [
        "mcp_list_tools",
        "mcp_call",
    ]  # the second round's call: not run
    assert len(gw.sent()) == 2
    assert "--max-tool-rounds" in stderr


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_server_that_is_down_fails_its_listing_and_the_answer_goes_on(tmp_path: Path) -> None:
    with gateway(tmp_path, [{"text": ANSWER}]) as gw:
        tools = [mcp_tool(f"http://127.0.0.1:{_closed_port()}/mcp", require_approval="never")]
        kinds, response = stream(gw.openai(), input=QUESTION, tools=tools)
        stderr = gw.since(gw.stderr)
    listing, message = response.output
    assert message.type == "message"
    assert listing.type == "mcp_list_tools" and listing.tools == [] and listing.error
    assert "could not list" in listing.error
    assert "response.mcp_list_tools.failed" in kinds and "response.mcp_list_tools.completed" not in kinds
    assert response.status == "completed" and response.output_text == ANSWER
    assert "tools" not in gw.sent()[0]  # the upstream was asked without them
    assert "'wx' could not list its tools" in stderr
    assert TOKEN not in stderr and TOKEN not in listing.error


def test_a_wrong_token_is_a_failed_listing_that_does_not_echo_it(mcp_url: str, tmp_path: Path) -> None:
    with gateway(tmp_path, [{"text": ANSWER}]) as gw:
        tool = {**mcp_tool(mcp_url), "headers": {"Authorization": "Bearer wrong-token-1234"}}
        _, response = stream(gw.openai(), input=QUESTION, tools=[tool])
    assert response.output[0].error and "wrong-token-1234" not in response.output[0].error
    assert "wrong-token-1234" not in gw.since(gw.stderr) + gw.since(gw.own_log)


def test_a_bad_mcp_tool_is_a_400_in_the_clients_shape(tmp_path: Path) -> None:
    import openai

    tools = [{"type": "mcp", "server_label": "x", "connector_id": "connector_gmail"}]
    with gateway(tmp_path, [{"text": ANSWER}]) as gw, pytest.raises(openai.BadRequestError) as caught:
        gw.openai().responses.create(model="m", input=QUESTION, tools=tools)
    assert "server_url" in str(caught.value)


# --- Anthropic clients: the MCP connector ------------------------------------------------------------

BETA = "mcp-client-2025-04-04"


def _servers(url: str, **config: Any) -> list[dict[str, Any]]:
    server: dict[str, Any] = {"type": "url", "url": url, "name": "wx", "authorization_token": TOKEN}
    if config:
        server["tool_configuration"] = config
    return [server]


@pytest.mark.parametrize("streamed", [True, False], ids=["stream", "whole"])
def test_the_mcp_connector_runs_tools_for_an_anthropic_client(
    mcp_url: str, tmp_path: Path, streamed: bool
) -> None:
    with gateway(tmp_path, [CALL, {"text": ANSWER}]) as gw:
        request = {"model": "claude-x", "max_tokens": 512, "messages": [{"role": "user", "content": QUESTION}],
                   "mcp_servers": _servers(mcp_url), "betas": [BETA]}  # fmt: skip
        client = gw.anthropic()
        if streamed:
            with client.beta.messages.stream(**request) as s:
                kinds = [event.type for event in s]
                message = s.get_final_message()
            assert "content_block_start" in kinds
        else:
            message = client.beta.messages.create(**request)
    use, result, text = message.content
    assert use.type == "mcp_tool_use" and use.name == "weather" and use.server_name == "wx"
    assert use.input == {"city": "Paris"}
    assert result.type == "mcp_tool_result" and result.tool_use_id == use.id and result.is_error is False
    assert [block.text for block in result.content] == [WEATHER]
    assert text.type == "text" and text.text == ANSWER
    assert message.stop_reason == "end_turn"
    first, second = gw.sent()
    assert {t["function"]["name"] for t in first["tools"]} == {"weather", "fail"}
    assert tool_messages(second)[0]["content"] == WEATHER
    assert gw.secret_leaked() == []


def test_the_connector_sends_earlier_tool_use_back_as_the_upstreams_own(mcp_url: str, tmp_path: Path) -> None:
    with gateway(tmp_path, [CALL, {"text": ANSWER}, {"text": "Still sunny."}]) as gw:
        client = gw.anthropic()
        messages: list[Any] = [{"role": "user", "content": QUESTION}]
        servers = _servers(mcp_url, enabled=True, allowed_tools=["weather"])
        first = client.beta.messages.create(model="c", max_tokens=512, messages=messages, mcp_servers=servers,
                                            betas=[BETA])  # fmt: skip
        messages.append(
            {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]}
        )
        messages.append({"role": "user", "content": "And now?"})
        second = client.beta.messages.create(model="c", max_tokens=512, messages=messages, mcp_servers=servers,
                                             betas=[BETA])  # fmt: skip
    assert [b.type for b in second.content] == ["text"] and second.content[0].text == "Still sunny."
    last = gw.sent()[-1]
    assert [t["function"]["name"] for t in last["tools"]] == ["weather"]  # allowed_tools
    assert [m["role"] for m in last["messages"]] == ["user", "assistant", "tool", "assistant", "user"]
    assert last["messages"][2]["content"] == WEATHER


def test_the_connector_hits_the_round_limit_with_pause_turn(mcp_url: str, tmp_path: Path) -> None:
    with gateway(tmp_path, [CALL, CALL], "--max-tool-rounds", "1") as gw:
        message = gw.anthropic().beta.messages.create(
            model="c", max_tokens=512, messages=[{"role": "user", "content": QUESTION}],
            mcp_servers=_servers(mcp_url), betas=[BETA])  # fmt: skip
    assert message.stop_reason == "pause_turn"
    assert [b.type for b in message.content] == ["mcp_tool_use", "mcp_tool_result"]


def test_a_disabled_connector_server_is_not_offered(mcp_url: str, tmp_path: Path) -> None:
    with gateway(tmp_path, [{"text": ANSWER}]) as gw:
        message = gw.anthropic().beta.messages.create(
            model="c", max_tokens=512, messages=[{"role": "user", "content": QUESTION}],
            mcp_servers=_servers(mcp_url, enabled=False), betas=[BETA])  # fmt: skip
    assert message.content[0].text == ANSWER
    assert "tools" not in gw.sent()[0] and "mcp_servers" not in gw.sent()[0]


# --- other upstreams: the MCP servers never reach them ------------------------------------------------


@pytest.mark.parametrize("upstream", ["openai-responses", "anthropic", "gemini"])
@pytest.mark.parametrize("client", ["openai-responses", "anthropic"])
def test_other_upstreams_get_functions_and_results_never_the_servers(
    mcp_url: str, tmp_path: Path, client: str, upstream: str
) -> None:
    with gateway(tmp_path, [CALL, {"text": ANSWER}], upstream=upstream) as gw:
        if client == "anthropic":
            message = gw.anthropic().beta.messages.create(
                model="c", max_tokens=512, messages=[{"role": "user", "content": QUESTION}],
                mcp_servers=_servers(mcp_url), betas=[BETA])  # fmt: skip
            assert [b.type for b in message.content] == ["mcp_tool_use", "mcp_tool_result", "text"]
            assert message.content[1].content[0].text == WEATHER
        else:
            _, response = stream(
                gw.openai(), input=QUESTION, tools=[mcp_tool(mcp_url, require_approval="never")]
            )
            assert [i.type for i in response.output] == ["mcp_list_tools", "mcp_call", "message"]
            assert response.output[1].output == WEATHER
        sent = gw.sent()
    assert len(sent) == 2 and WEATHER in orjson.dumps(sent[1]).decode()
    text = orjson.dumps(sent).decode()
    assert mcp_url not in text and "mcp_servers" not in text and '"mcp"' not in text
    assert gw.secret_leaked() == []
