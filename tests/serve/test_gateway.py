"""``serve --upstream``: every client dialect's official SDK through the gateway, in front of a
scripted upstream of every dialect, over real HTTP on loopback.

The upstream is ``serve -d D --script`` (its ``--log-requests`` shows what the gateway sent it);
the gateway is ``serve --upstream D``; the client is the official SDK of its dialect, streamed and
whole, running a two-request tool loop.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from streamkit.serve.provider_rules import problems
from tests.conftest import ndjson, run_cli
from tests.dialects.continuations import images, results
from tests.serve.clients import DRIVERS, QUESTION, RESULT, tool_loop
from tests.test_fetch_live import serving

DIALECTS = list(DRIVERS)
#: what each dialect's base URL ends with, as its SDK and streamkit's request builder expect it
BASE_PATHS = {"openai-chat": "/v1", "openai-responses": "/v1", "anthropic": "", "gemini": "", "ollama": ""}
ANSWER = "It is 18 degrees and sunny in Paris."
SCRIPT = [{"tool_calls": [{"name": "get_weather", "input": {"city": "Paris"}}]}, {"text": ANSWER}]


@contextmanager
def gateway(upstream: str, tmp_path: Path, *options: str, script: list | None = None,
            upstream_options: tuple[str, ...] = ()) -> Iterator[tuple[str, Path]]:  # fmt: skip
    """A scripted upstream of dialect ``upstream`` and a gateway in front of it: (gateway URL, upstream log)."""
    path, log = tmp_path / "script.json", tmp_path / "upstream.ndjson"
    path.write_bytes(orjson.dumps(script or SCRIPT))
    with (
        serving("-d", upstream, "--script", str(path), "--log-requests", str(log), *upstream_options) as up,
        serving("--upstream", upstream, "--base-url", up + BASE_PATHS[upstream], *options) as url,
    ):
        yield url, log
    assert_valid_requests(upstream, log)


def assert_valid_requests(upstream: str, log: Path) -> None:
    """Every request the upstream got is one its provider would take (streamkit/serve/provider_rules.py)."""
    found = [
        (n, p)
        for n, body in enumerate(ndjson(log.read_bytes()) if log.exists() else [])
        for p in problems(upstream, body)
    ]
    assert not found, f"requests the {upstream} API would refuse (request, problem): {found}"


class Gateways:
    """Scripted upstreams and gateways in front of them, each pair started on first use and kept
    for the module's later tests that ask for the same one, so that a matrix of clients costs a
    few servers, not two per case. A pair a test failed with is stopped: the next starts afresh.
    ``gateways(upstream, *options)`` is a block that gives (gateway URL, the requests the
    upstream got in the block)."""

    #: requests a pair's upstream answers before it is replaced (its script holds more turns)
    TURNS = 60

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.pairs: dict[tuple[Any, ...], tuple[ExitStack, str, Path]] = {}

    @contextmanager
    def __call__(self, upstream: str, *options: str,
                 upstream_options: tuple[str, ...] = ()) -> Iterator[tuple[str, Callable[[], list[Any]]]]:  # fmt: skip
        key = (upstream, options, upstream_options)
        pair = self.pairs.pop(key, None)
        if pair is not None and len(ndjson(pair[2].read_bytes())) > self.TURNS:
            pair[0].close()
            pair = None
        if pair is None:
            stack = ExitStack()
            folder = Path(tempfile.mkdtemp(dir=self.folder))
            path, log = folder / "script.json", folder / "upstream.ndjson"
            path.write_bytes(orjson.dumps(SCRIPT * self.TURNS))
            log.touch()
            up = stack.enter_context(
                serving("-d", upstream, "--script", str(path), "--log-requests", str(log), *upstream_options)
            )
            url = stack.enter_context(
                serving("--upstream", upstream, "--base-url", up + BASE_PATHS[upstream], *options)
            )
            pair = (stack, url, log)
        before = len(ndjson(pair[2].read_bytes()))
        try:
            yield pair[1], lambda: ndjson(pair[2].read_bytes())[before:]
        except BaseException:
            pair[0].close()
            raise
        self.pairs[key] = pair
        found = [
            (n, p)
            for n, body in enumerate(ndjson(pair[2].read_bytes())[before:])
            for p in problems(upstream, body)
        ]
        assert not found, f"requests the {upstream} API would refuse (request, problem): {found}"

    def close(self) -> None:
        for stack, _, _ in self.pairs.values():
            stack.close()


@pytest.fixture(scope="module")
def gateways(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateways]:
    shared = Gateways(tmp_path_factory.mktemp("gateways"))
    yield shared
    shared.close()


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
@pytest.mark.parametrize("client", DIALECTS)
@pytest.mark.parametrize("upstream", DIALECTS)
def test_a_tool_loop_through_the_gateway(
    upstream: str, client: str, stream: bool, gateways: Gateways
) -> None:
    with gateways(upstream) as (url, requests):
        seen = tool_loop(client, url, stream)
        assert seen.calls == [("get_weather", {"city": "Paris"})]
        assert seen.text == ANSWER
        first, second = requests()
        assert QUESTION in json.dumps(first) and QUESTION in json.dumps(second)
        sent = results(upstream, second)  # the tool result, in the upstream's own format
        assert len(sent) == 1 and RESULT in sent[0][0] and sent[0][1] is False


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
def test_calls_sent_without_ids_get_ids_unique_across_responses(stream: bool, tmp_path: Path) -> None:
    """Ollama sends no call ids. Each response's made-up ids are its own, so that a client keeping
    the whole conversation never sees one twice (Claude Code skipped a second ``call_0``)."""
    import anthropic

    calls = [{"name": "get_weather", "input": {"city": city}} for city in ("Paris", "Oslo")]
    script = [{"tool_calls": calls}, {"tool_calls": calls[:1]}]
    tools: Any = [{"name": "get_weather", "input_schema": {"type": "object"}}]
    ids = []
    with (
        gateway("ollama", tmp_path, script=script) as (url, _),
        anthropic.Anthropic(base_url=url, api_key="k") as client,
    ):
        for _ in script:
            ask = {
                "model": "m",
                "max_tokens": 100,
                "tools": tools,
                "messages": [{"role": "user", "content": QUESTION}],
            }
            if stream:
                with client.messages.stream(**ask) as events:
                    message = events.get_final_message()
            else:
                message = client.messages.create(**ask)
            ids += [block.id for block in message.content if block.type == "tool_use"]
    assert len(ids) == 3 and len(set(ids)) == 3, ids


#: a 1x1 PNG, what an image-reading tool returned
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"


def _send_an_image_result(client: str, url: str) -> None:
    """A continuation whose tool result is an image (Codex's ``view_image`` output, Claude Code's
    ``Read`` of a picture, a Gemini multimodal function response, an Ollama tool message's
    ``images``), sent by the official client."""
    if client == "openai-responses":
        import openai

        with openai.OpenAI(base_url=f"{url}/v1", api_key="k") as sdk:
            sdk.responses.create(model="m", input=[
                {"role": "user", "content": QUESTION},
                {"type": "function_call", "call_id": "call_9", "name": "view_image", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "call_9", "output": [
                    {"type": "input_image", "image_url": f"data:image/png;base64,{PNG}", "detail": "auto"}]},
            ])  # fmt: skip
        return
    if client == "gemini":
        import base64

        from google import genai
        from google.genai import types

        call = types.FunctionCall(id="call_9", name="view_image", args={})
        answer = types.FunctionResponse(id="call_9", name="view_image", response={"result": ""}, parts=[
            types.FunctionResponsePart(inline_data=types.FunctionResponseBlob(mime_type="image/png", data=base64.b64decode(PNG)))])  # fmt: skip
        with genai.Client(api_key="k", http_options=types.HttpOptions(base_url=url)) as sdk:
            sdk.models.generate_content(model="m", contents=[
                types.Content(role="user", parts=[types.Part(text=QUESTION)]),
                types.Content(role="model", parts=[types.Part(function_call=call)]),
                types.Content(role="user", parts=[types.Part(function_response=answer)]),
            ])  # fmt: skip
        return
    if client == "ollama":
        import ollama

        with ollama.Client(host=url) as sdk:
            sdk.chat(model="m", messages=[
                {"role": "user", "content": QUESTION},
                {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "view_image", "arguments": {}}}]},
                {"role": "tool", "content": "", "tool_name": "view_image", "images": [PNG]},
            ])  # fmt: skip
        return
    import anthropic

    with anthropic.Anthropic(base_url=url, api_key="k") as sdk:
        sdk.messages.create(model="m", max_tokens=100, messages=[
            {"role": "user", "content": QUESTION},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_9", "name": "Read", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_9", "content": [
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}]}]},
        ])  # fmt: skip


@pytest.mark.parametrize("client", ["openai-responses", "anthropic", "gemini", "ollama"])
@pytest.mark.parametrize("upstream", DIALECTS)
def test_an_image_a_tool_returned_reaches_the_upstream_as_an_image(
    upstream: str, client: str, gateways: Gateways
) -> None:
    with gateways(upstream) as (url, requests):
        _send_an_image_result(client, url)
        (sent,) = requests()
    assert images(upstream, sent) == [PNG]  # where the upstream's format carries it, as an image


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
@pytest.mark.parametrize("upstream", ["openai-chat", "anthropic", "openai-responses"])
def test_a_namespace_s_tool_is_called_through_any_upstream(
    upstream: str, stream: bool, tmp_path: Path
) -> None:
    """Codex declares its sub-agent tools in a ``namespace``: the upstream gets them (as plain
    tools, or the namespace itself for a Responses upstream), and the official client reads the
    call of one with its ``namespace``."""
    import openai

    spawn = {"type": "function", "name": "spawn_agent", "parameters": {"type": "object"}, "strict": False}
    namespace = {
        "type": "namespace",
        "name": "multi_agent_v1",
        "description": "Sub-agents.",
        "tools": [spawn],
    }
    script = [{"tool_calls": [{"name": "spawn_agent", "input": {"task": "tests"}}]}]
    with (
        gateway(upstream, tmp_path, script=script) as (url, log),
        openai.OpenAI(base_url=f"{url}/v1", api_key="k") as sdk,
    ):
        ask: Any = {"model": "m", "input": QUESTION, "tools": [namespace]}
        if stream:
            with sdk.responses.stream(**ask) as events:
                response = events.get_final_response()
        else:
            response = sdk.responses.create(**ask)
    (call,) = response.output
    assert (call.type, call.name, call.namespace, call.arguments) == (
        "function_call",
        "spawn_agent",
        "multi_agent_v1",
        '{"task":"tests"}',
    )
    (sent,) = ndjson(log.read_bytes())
    declared = json.dumps(sent["tools"])
    assert "spawn_agent" in declared and ('"multi_agent_v1"' in declared) == (upstream == "openai-responses")


# --- errors: each official client sees its own error type ------------------------------------------


#: the exception each client's SDK raises for an HTTP status (checked by name, so that an SDK's
#: subclass counts)
def _status_error(client: str, status: int) -> tuple[type[BaseException], ...]:
    import anthropic
    import ollama
    import openai
    from google.genai import errors

    return {
        "openai-chat": (openai.APIStatusError,),
        "openai-responses": (openai.APIStatusError,),
        "anthropic": (anthropic.APIStatusError,),
        "gemini": (errors.ClientError if status < 500 else errors.ServerError,),
        "ollama": (ollama.ResponseError,),
    }[client]


def _status_of(exc: BaseException) -> int | None:
    return getattr(exc, "status_code", None) or getattr(exc, "code", None)


@pytest.mark.parametrize("status", [429, 500])
@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
@pytest.mark.parametrize("client", DIALECTS)
def test_an_upstream_http_error_reaches_each_client_as_its_own_error(
    client: str, stream: bool, status: int, gateways: Gateways
) -> None:
    faults = ("--fail-status", str(status), "--fail-times", "100000", "--retry-after", "7")  # every request
    with gateways("openai-chat", "--retries", "0", upstream_options=faults) as (url, _):
        with pytest.raises(_status_error(client, status)) as caught:
            tool_loop(client, url, stream)
        answer = httpx.post(
            f"{url}/v1/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": "hi"}]}
        )
        assert _status_of(caught.value) == status
        assert answer.status_code == status
        if status == 429:
            assert answer.headers["retry-after"] == "7"  # kept for the client's own backoff


def _fails_mid_stream(client: str, url: str) -> BaseException | None:
    """Run the loop streamed; the exception the client raised, or None when it returned."""
    try:
        tool_loop(client, url, True)
    except Exception as exc:  # the SDK's own error type is checked by the caller
        return exc
    return None


@pytest.mark.parametrize("fault", [("--drop-after", "3"), ("--stall-after", "3")], ids=["drop", "stall"])
@pytest.mark.parametrize("client", DIALECTS)
def test_a_stream_that_breaks_upstream_ends_in_the_clients_own_error(
    client: str, fault: tuple[str, str], gateways: Gateways
) -> None:
    with gateways("openai-chat", "--retries", "0", "--read-timeout", "1", upstream_options=fault) as (url, _):
        began = time.monotonic()
        exc = _fails_mid_stream(client, url)
        print(client, fault, type(exc), exc)
        assert exc is not None
        assert time.monotonic() - began < 10  # a stall ends at the gateway's read timeout, not in a hang


def _established(port: int) -> int:
    """Established TCP connections whose local port is ``port`` (the server side), from /proc."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                count += 1
    return count


@pytest.mark.skipif(
    not Path("/proc/net/tcp").exists(), reason="needs Linux's /proc/net/tcp to count connections"
)
def test_a_client_hanging_up_closes_the_upstream_request(tmp_path: Path) -> None:
    import httpx

    path = tmp_path / "script.json"
    path.write_bytes(orjson.dumps(SCRIPT))
    with serving("-d", "openai-chat", "--script", str(path), "--stall-after", "3") as up:
        port = int(up.rsplit(":", 1)[1])
        with serving("--upstream", "openai-chat", "--base-url", up + "/v1") as url:
            body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
            with (
                httpx.Client() as client,
                client.stream("POST", url + "/v1/chat/completions", json=body) as response,
            ):
                lines = response.iter_lines()
                assert next(lines).startswith("data: ")
                assert _established(port) == 1  # the gateway's request to the stalled upstream
            deadline = time.monotonic() + 5
            while _established(port) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert _established(port) == 0


# --- models and keys ------------------------------------------------------------------------------

CHAT_ANSWER = (
    b'data: {"id":"c1","object":"chat.completion.chunk","created":0,"model":"up","choices":[{"index":0,"delta":{"role":"assistant","content":"ok"},"finish_reason":null}]}\n\n'
    b'data: {"id":"c1","object":"chat.completion.chunk","created":0,"model":"up","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
    b"data: [DONE]\n\n"
)


@contextmanager
def recording_upstream() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A Chat Completions upstream that answers "ok" and records each request's key and body
    (which streamkit serve --log-requests never writes: keys are not logged)."""
    import http.server
    import threading

    seen: list[dict[str, Any]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = orjson.loads(self.rfile.read(int(self.headers.get("content-length") or 0)))
            seen.append({"authorization": self.headers.get("authorization"), "body": body})
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("content-length", str(len(CHAT_ANSWER)))
            self.end_headers()
            self.wfile.write(CHAT_ANSWER)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", seen
    finally:
        server.shutdown()
        server.server_close()


def _ask(url: str, model: str, key: str = "sk-client") -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    return httpx.post(f"{url}/v1/chat/completions", json=body, headers={"authorization": f"Bearer {key}"})


def test_models_pass_through_unless_forced_or_mapped() -> None:
    with recording_upstream() as (up, seen):
        with serving("--upstream", "openai-chat", "--base-url", up) as url:
            assert _ask(url, "gpt-x").json()["choices"][0]["message"]["content"] == "ok"
        with serving("--upstream", "openai-chat", "--base-url", up, "--model-map", "claude-*haiku*=small",
                     "--model-map", "claude-*=big") as url:  # fmt: skip
            _ask(url, "claude-3-5-haiku-latest")
            _ask(url, "claude-opus-4-8")
            _ask(url, "gpt-x")
        with serving("--upstream", "openai-chat", "--base-url", up, "-m", "forced") as url:
            _ask(url, "anything")
    assert [s["body"]["model"] for s in seen] == ["gpt-x", "small", "big", "gpt-x", "forced"]


def test_the_upstream_key_is_the_gateways_own_unless_forwarded() -> None:
    env_key = {"OPENAI_API_KEY": "sk-gateway-own"}
    with recording_upstream() as (up, seen):
        with serving("--upstream", "openai-chat", "--base-url", up, env=env_key) as url:
            _ask(url, "m", key="sk-client-one")
        with serving("--upstream", "openai-chat", "--base-url", up, "--forward-key", env=env_key) as url:
            _ask(url, "m", key="sk-client-two")
    assert [s["authorization"] for s in seen] == ["Bearer sk-gateway-own", "Bearer sk-client-two"]


@pytest.mark.parametrize("client", DIALECTS)
def test_client_keys_admit_only_their_holders_in_each_clients_own_error(client: str, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text("# one key per line\nsk-client-key-0123456789\n")
    with gateway("openai-chat", tmp_path, "--client-keys", str(keys)) as (url, _):
        assert tool_loop(client, url, False).text == ANSWER  # clients.KEY is in the file
        with pytest.raises(_status_error(client, 401)) as caught:
            tool_loop(client, url, False, key="sk-not-in-the-file")
    assert _status_of(caught.value) == 401


def test_a_gateway_beyond_loopback_needs_client_keys() -> None:
    result = run_cli(
        "serve", "--upstream", "openai-chat", "--base-url", "http://127.0.0.1:9/v1", "--host", "0.0.0.0"
    )
    assert result.returncode == 2
    assert b"--client-keys" in result.stderr and b"Traceback" not in result.stderr


def test_a_client_keys_file_that_is_no_text_is_a_usage_error_that_quotes_no_key(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_bytes(b"sk-client-secret\n\xff\xfe\n")
    result = run_cli("serve", "--upstream", "openai-chat", "--base-url", "http://127.0.0.1:9/v1",
                     "--client-keys", str(keys), "--host", "0.0.0.0", "--port", "0", timeout=30)  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.decode().splitlines() == [f"streamkit serve: {keys}: not UTF-8 text"]


def test_model_listings_come_in_each_clients_shape(tmp_path: Path) -> None:
    import anthropic
    import ollama
    import openai
    from google import genai
    from google.genai import types

    with gateway("openai-chat", tmp_path, "--model-map", "claude-*=big", "--model-map", "gpt-*=small") as (
        url,
        _,
    ):
        # the scripted upstream lists no models: the gateway lists the names it maps to
        with openai.OpenAI(api_key="k", base_url=f"{url}/v1") as client:
            assert [m.id for m in client.models.list()] == ["big", "small"]
        with anthropic.Anthropic(api_key="k", base_url=url) as client:
            assert [m.id for m in client.models.list()] == ["big", "small"]
        with genai.Client(
            api_key="k", http_options=types.HttpOptions(base_url=url, api_version="v1beta")
        ) as client:
            assert [m.name for m in client.models.list()] == ["models/big", "models/small"]
        with ollama.Client(host=url) as client:
            assert [m.model for m in client.list().models] == ["big", "small"]


def test_the_models_an_upstream_lists_are_listed(tmp_path: Path) -> None:
    import openai

    with (
        gateway("openai-chat", tmp_path, "-m", "inner-model") as (inner, _),  # lists the model it forces
        serving("--upstream", "openai-chat", "--base-url", inner + "/v1") as outer,
        openai.OpenAI(api_key="k", base_url=f"{outer}/v1") as client,
    ):
        assert [m.id for m in client.models.list()] == ["inner-model"]  # the upstream's own list
    with (
        serving(
            "--upstream", "openai-chat", "--base-url", "http://127.0.0.1:9/v1", "-m", "only-this"
        ) as lonely,
        openai.OpenAI(api_key="k", base_url=f"{lonely}/v1") as client,
    ):
        assert [m.id for m in client.models.list()] == ["only-this"]  # an upstream that cannot be reached


def test_claude_codes_token_count_is_an_estimate_that_grows_with_the_request(tmp_path: Path) -> None:
    import anthropic

    with (
        gateway("openai-chat", tmp_path) as (url, _),
        anthropic.Anthropic(api_key="k", base_url=url) as client,
    ):
        short = client.messages.count_tokens(model="claude-x", messages=[{"role": "user", "content": "hi"}])
        longer = client.messages.count_tokens(model="claude-x", system=[{"type": "text", "text": "Be brief. " * 50}],
                                              messages=[{"role": "user", "content": "hi " * 400}])  # fmt: skip
    assert 0 < short.input_tokens < 30
    assert 400 < longer.input_tokens < 1200  # about 1,700 characters of text


def test_client_keys_guard_the_model_listings_and_the_token_count_too(tmp_path: Path) -> None:
    """With --client-keys every endpoint wants a key, each refusal in the error shape of the SDK
    that asks that path (the listings ask the upstream with the gateway's own key)."""
    import anthropic
    import openai

    keys = tmp_path / "keys"
    keys.write_text("sk-client-key-0123456789\n")
    key = "sk-client-key-0123456789"
    with gateway("openai-chat", tmp_path, "-m", "inner", "--client-keys", str(keys)) as (url, _):
        with (
            openai.OpenAI(api_key="sk-wrong", base_url=f"{url}/v1") as client,
            pytest.raises(openai.AuthenticationError),
        ):
            client.models.list()
        with openai.OpenAI(api_key=key, base_url=f"{url}/v1") as client:
            assert [m.id for m in client.models.list()] == ["inner"]
        with anthropic.Anthropic(api_key="sk-wrong", base_url=url) as claude:
            with pytest.raises(anthropic.AuthenticationError):
                claude.models.list()
            with pytest.raises(anthropic.AuthenticationError):
                claude.messages.count_tokens(model="m", messages=[{"role": "user", "content": "hi"}])
        with anthropic.Anthropic(api_key=key, base_url=url) as claude:
            assert claude.messages.count_tokens(
                model="m", messages=[{"role": "user", "content": "hi"}]
            ).input_tokens
        refused = httpx.get(f"{url}/v1beta/models", timeout=10)
        assert refused.status_code == 401 and refused.json()["error"]["status"] == "UNAUTHENTICATED"
        assert (
            httpx.get(f"{url}/api/tags", headers={"authorization": f"Bearer {key}"}, timeout=10).status_code
            == 200
        )


def test_responses_js_defects_are_not_ours(tmp_path: Path) -> None:
    """Text then two parallel calls, streamed to a Responses client from a chat upstream: every item
    gets its own output_index and is closed, the stream ends with response.completed, usage is
    asked for upstream and reported; the function_call items sent back become an assistant
    message with tool_calls followed by the tool messages, developer messages kept."""
    import openai

    script = [{"text": "Checking both.", "tool_calls": [{"name": "get_weather", "input": {"city": "Paris"}},
                                                          {"name": "get_weather", "input": {"city": "Oslo"}}]},
              {"text": ANSWER}]  # fmt: skip
    tools = [{"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {}}}]
    with gateway("openai-chat", tmp_path, script=script) as (url, log), \
            openai.OpenAI(api_key="k", base_url=f"{url}/v1") as client:  # fmt: skip
        items: list[Any] = [
            {"role": "developer", "content": "Answer in English."},
            {"role": "user", "content": QUESTION},
        ]
        events = list(client.responses.create(model="m", input=items, tools=tools, stream=True))
        final = events[-1].response
        items += [item.model_dump(exclude_none=True) for item in final.output]
        items += [{"type": "function_call_output", "call_id": c.call_id, "output": RESULT}
                  for c in final.output if c.type == "function_call"]  # fmt: skip
        second = client.responses.create(model="m", input=items, tools=tools)
    assert events[-1].type == "response.completed"
    added = [e for e in events if e.type == "response.output_item.added"]
    done = [e for e in events if e.type == "response.output_item.done"]
    assert [e.output_index for e in added] == [0, 1, 2] == [e.output_index for e in done]
    assert [i.type for i in final.output] == ["message", "function_call", "function_call"]
    assert final.usage is not None and final.usage.output_tokens > 0
    assert second.output_text == ANSWER
    first_body, second_body = ndjson(log.read_bytes())
    assert first_body["stream_options"] == {"include_usage": True}
    roles = [m["role"] for m in second_body["messages"]]
    assert roles == ["system", "user", "assistant", "tool", "tool"]
    assert "Answer in English." in second_body["messages"][0]["content"]
    assert len(second_body["messages"][2]["tool_calls"]) == 2


def test_a_previous_response_id_the_store_does_not_hold_is_the_apis_404(tmp_path: Path) -> None:
    """(Rebuilding the conversation from a stored one: tests/serve/test_store.py.)"""
    import openai

    with (
        gateway("openai-chat", tmp_path) as (url, log),
        openai.OpenAI(api_key="k", base_url=f"{url}/v1") as client,
    ):
        with pytest.raises(openai.NotFoundError) as caught:
            client.responses.create(model="m", input="and then?", previous_response_id="resp_earlier")
        assert client.responses.create(model="m", input=QUESTION).output[0].type == "function_call"
    assert caught.value.code == "previous_response_not_found"
    assert len(ndjson(log.read_bytes())) == 1  # the refused request never reached the upstream


@pytest.mark.parametrize("name", ["html-200", "close-before-headers", "redirect", "empty-200"])
def test_an_upstream_that_answers_no_stream_is_a_502_in_the_clients_shape(name: str) -> None:
    import anthropic

    from tests.hostile import hostile

    with (
        hostile(name) as up,
        serving("--upstream", "openai-chat", "--base-url", up, "--retries", "0") as url,
        anthropic.Anthropic(api_key="k", base_url=url, max_retries=0) as client,
        pytest.raises(anthropic.APIStatusError) as caught,
    ):
        client.messages.create(model="m", max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    assert caught.value.status_code == 502
    assert "the upstream (openai-chat)" in str(caught.value) and "127.0.0.1" not in str(caught.value)


@pytest.mark.parametrize(
    ("behaviour", "said"),
    [
        ("wrong-type", "openai-chat: delta.refusal is a dict, expected a string"),
        ("wrong-shape", "openai-chat: malformed event (AttributeError: 'str' object has no attribute 'get')"),
    ],
)
def test_an_upstream_payload_of_the_wrong_type_is_an_error_in_the_clients_shape_never_a_500(
    behaviour: str, said: str
) -> None:
    """A chat upstream whose stream holds an object where a refusal's text goes, or a string
    where a tool call's function goes: a streaming Anthropic client gets the text before it, then
    an error event naming what was wrong; a whole-response OpenAI client gets a 502 naming it.
    (The gateway answered a 500, from an exception in the encoder or the normalizer, before.)"""
    import anthropic
    import openai

    from tests.hostile import hostile

    with (
        hostile(behaviour) as up,
        serving("--upstream", "openai-chat", "--base-url", up, "--retries", "0") as url,
        anthropic.Anthropic(api_key="k", base_url=url, max_retries=0) as client,
    ):
        text: list[str] = []
        with (
            pytest.raises(anthropic.APIStatusError) as caught,
            client.messages.stream(
                model="m", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
            ) as stream,
        ):
            text.extend(stream.text_stream)
        assert "".join(text) == "Hello there"
        assert f"the upstream sent what streamkit cannot read: {said}" in str(caught.value)
        with (
            openai.OpenAI(api_key="k", base_url=url + "/v1", max_retries=0) as chat,
            pytest.raises(openai.APIStatusError) as whole,
        ):
            chat.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
        assert whole.value.status_code == 502
        assert said in str(whole.value)


def test_a_plugin_upstream_s_bad_event_ends_the_answer_with_an_error_not_a_crash() -> None:
    """The gateway checks every event an upstream's normalizer makes before an encoder sees it,
    unless the normalizer says it checks its own types (``checks_types``, as the built-ins do):
    a plugin dialect that passes a wrong type on (at a line, or at the end) ends the answer with
    an error event after the good events. (A unit test of UpstreamSource._canonical: the raw
    events come from a list, not a server.)"""
    import asyncio

    from streamkit.dialects.base import Dialect, Endpoint, Normalizer
    from streamkit.serve.gateway import UpstreamSource

    class Careless(Normalizer):
        def feed(self, data: Any, event: str | None = None) -> list[dict[str, Any]]:
            return [{"type": "text-delta", "id": "t", "delta": data["say"]}]

        def close(self) -> list[dict[str, Any]]:
            return [{"type": "finish", "finish_reason": "stop", "usage": {"input_tokens": "many"}}]

    class CarelessDialect(Dialect):
        name = "careless"

        def normalizer(self, **options: Any) -> Normalizer:
            return Careless()

    class Fetch:
        def pending(self) -> bool:
            return False

    async def answer(says: list[Any]) -> list[dict[str, Any]]:
        async def raws() -> Any:
            for say in says[1:]:
                yield {"type": "raw", "dialect": "careless", "event": None, "data": {"say": say}}

        source = UpstreamSource(CarelessDialect(), Endpoint(base_url="http://127.0.0.1:9"))
        first = {"type": "raw", "dialect": "careless", "event": None, "data": {"say": says[0]}}
        return [ev async for batch in source._canonical(first, raws(), Fetch()) for ev in batch]

    at_a_line = asyncio.run(answer(["a", 7, "c"]))
    assert [e.get("delta") for e in at_a_line[:-1]] == ["a"]
    assert at_a_line[-1] == {
        "type": "error",
        "message": "the upstream sent what streamkit cannot read: careless: a value of the wrong type makes "
        "a bad text-delta event: 'delta' must be a string, not an integer",
    }
    at_the_end = asyncio.run(answer(["a", "b"]))
    assert [e.get("delta") for e in at_the_end[:-1]] == ["a", "b"]
    assert at_the_end[-1]["type"] == "error"
    assert (
        "bad finish event: 'usage.input_tokens' must be a number, not a string" in at_the_end[-1]["message"]
    )
