"""The tool loop end to end, over real HTTP to ``streamkit serve --script``, for every dialect that
can make requests: a scripted turn asks for two tools in parallel (one of them fails), the tools
run, the server's request log shows the continuation carrying both results in the dialect's own
format, the second scripted turn answers, and ``agent`` prints the final text. The same through the
plain shell loop of the README."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import orjson
import pytest

from streamkit.plugins import Registry, get_plugin_manager
from streamkit.serve.provider_rules import problems

from .conftest import ROOT, STREAMKIT, ndjson, run_cli
from .executors.procfs import marker_fixture  # noqa: F401 (the marker fixture)
from .test_fetch_live import serving

SCRIPT = [
    {
        "tool_calls": [
            {"name": "get_weather", "input": {"city": "Paris"}},
            {"name": "get_weather", "input": {}},
        ]
    },
    {"text": "Paris is windy at 8°C; the second call needed a city."},
]
TOOLS = ROOT / "examples" / "tools.toml"
QUESTION = "What's the weather in Paris?"


def _can_request(name: str) -> bool:
    from streamkit.dialects.base import Dialect

    dialect = Registry(get_plugin_manager()).dialect(name)
    return bool(dialect.serve_paths) and type(dialect).build_request is not Dialect.build_request


def _builtin(name: str) -> bool:
    from streamkit.dialects import BUILTIN

    return any(entry[0] == name for entry in BUILTIN)


#: the built-in dialects that make requests (the plugins' own tests run their agent loops: Bedrock's
#: needs AWS credentials, and each reads its continuations in its own tests)
DIALECTS = [
    name
    for name in sorted(Registry(get_plugin_manager()).dialects())
    if _builtin(name) and _can_request(name)
]


def continuation_results(dialect: str, body: dict[str, Any]) -> list[tuple[str, bool]]:
    """The tool results a continuation request carries, read in the dialect's own format."""
    from .dialects.continuations import results

    return results(dialect, body)


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "script.json"
    path.write_bytes(orjson.dumps(SCRIPT))
    return path


@pytest.mark.parametrize("dialect", DIALECTS)
def test_agent_runs_the_loop(dialect: str, script: Path, tmp_path: Path) -> None:
    log = tmp_path / "requests.ndjson"
    with serving("-d", dialect, "--script", str(script), "--log-requests", str(log)) as url:
        result = run_cli(
            "agent", "-d", dialect, "--base-url", url, "-m", "test-model", "--tools", str(TOOLS), QUESTION
        )
    assert result.returncode == 0, result.stderr
    events = ndjson(result.stdout)
    steps = [(e["type"], e["step"]) for e in events if e["type"] in ("start-step", "finish-step")]
    assert steps == [("start-step", 1), ("finish-step", 1), ("start-step", 2), ("finish-step", 2)]
    results = [e for e in events if e["type"] == "tool-result"]
    assert sorted(r["is_error"] for r in results) == [False, True]
    messages = [e for e in events if e["type"] == "message"]
    assert messages[-1]["content"][-1]["text"] == SCRIPT[1]["text"]
    assert events[-1] is messages[-1]  # the output ends with the answer
    kinds = [e["type"] for e in events]
    assert kinds[kinds.index("finish-step") + 1] == "message"  # each step's message follows its finish-step
    finals = ndjson(run_cli("accumulate", "--final", input=result.stdout).stdout)
    assert [m["id"] for m in finals] == [m["id"] for m in messages]  # accumulating again adds no duplicate
    bodies = ndjson(log.read_bytes())
    assert len(bodies) == 2
    assert [problems(dialect, body) for body in bodies] == [[], []]  # what the provider would take
    carried = continuation_results(dialect, bodies[1])
    assert len(carried) == 2
    assert any("windy" in text for text, _ in carried) and any("which city?" in text for text, _ in carried)
    rendered = run_cli("render", input=result.stdout)
    assert rendered.stdout.decode().strip().endswith(SCRIPT[1]["text"])


def test_calls_sent_without_ids_get_ids_unique_across_steps(tmp_path: Path) -> None:
    """Ollama sends no call ids: each step's made-up ids are its own (``call_0`` in the first,
    ``call_2_0`` in the second), so that the conversation never holds one twice."""
    path = tmp_path / "script.json"
    turn = {"tool_calls": [{"name": "get_weather", "input": {"city": "Paris"}}]}
    path.write_bytes(orjson.dumps([turn, turn, {"text": "Done."}]))
    with serving("-d", "ollama", "--script", str(path)) as url:
        result = run_cli(
            "agent", "-d", "ollama", "--base-url", url, "-m", "m", "--tools", str(TOOLS), QUESTION
        )
    assert result.returncode == 0, result.stderr
    ids = [e["tool_call_id"] for e in ndjson(result.stdout) if e["type"] == "tool-call"]
    assert ids == ["call_0", "call_2_0"]


def test_the_step_limit(tmp_path: Path) -> None:
    path = tmp_path / "script.json"
    path.write_bytes(orjson.dumps([SCRIPT[0]] * 3))
    with serving("-d", "openai-chat", "--script", str(path)) as url:
        result = run_cli(
            "agent", "--base-url", url, "-m", "m", "--tools", str(TOOLS), "--max-steps", "2", QUESTION
        )
    assert result.returncode == 1
    events = ndjson(result.stdout)
    assert events[-1]["type"] == "error" and "the step limit (2) was reached" in events[-1]["message"]
    assert [e["step"] for e in events if e["type"] == "finish-step"] == [1, 2]
    assert b"step limit (2)" in result.stderr


def test_final_writes_the_answer_only(script: Path) -> None:
    with serving("-d", "openai-chat", "--script", str(script)) as url:
        result = run_cli("agent", "--base-url", url, "-m", "m", "--tools", str(TOOLS), "--final", QUESTION)
    (message,) = ndjson(result.stdout)
    assert message["type"] == "message" and message["content"][-1]["text"] == SCRIPT[1]["text"]


def test_the_python_api_with_callbacks(script: Path) -> None:
    from streamkit.stages.agent import run_agent

    seen: dict[str, list[Any]] = {"text": [], "created": [], "done": [], "results": [], "messages": []}
    with serving("-d", "openai-chat", "--script", str(script)) as url:
        final = run_agent(
            QUESTION, dialect="openai-chat", tools=str(TOOLS), model="m", base_url=url,
            on_text_delta=lambda delta, snapshot: seen["text"].append(snapshot),
            on_tool_call_created=lambda e: seen["created"].append(e["tool_name"]),
            on_tool_call_done=lambda e: seen["done"].append(e["input"]),
            on_tool_result=lambda e: seen["results"].append(e["is_error"]),
            on_message_done=lambda e: seen["messages"].append(e["finish_reason"]),
        )  # fmt: skip
    assert final is not None and final["content"][-1]["text"] == SCRIPT[1]["text"]
    assert seen["text"][-1] == SCRIPT[1]["text"]  # snapshots grow to the whole text
    assert seen["created"] == ["get_weather", "get_weather"] and seen["done"] == [{"city": "Paris"}, {}]
    assert sorted(seen["results"]) == [False, True] and seen["messages"] == ["tool-calls", "stop"]


def test_the_agent_makes_its_executors_ready_while_the_first_request_waits(script: Path) -> None:
    """Each executor's warm_up is called as the loop starts (not left for the first call), once,
    beside the request: the tools run only after it."""
    import threading
    import types

    from streamkit.executors.base import Executor, ToolCall, ToolOutput
    from streamkit.hookspecs import hookimpl
    from streamkit.stages.agent import run_agent
    from streamkit.testing import registry
    from streamkit.tools import Tool

    warmed: list[str] = []
    ready = threading.Event()

    class Warmed(Executor):
        name = "warmed"

        def warm_up(self) -> None:
            warmed.append(threading.current_thread().name)
            ready.set()

        def run(self, call: ToolCall, cancel: threading.Event) -> ToolOutput:
            return ToolOutput("ready" if ready.wait(5) else "not made ready")

    plugin = types.SimpleNamespace(register_tool_executors=hookimpl(lambda register: register(Warmed())))
    results: list[str] = []
    with serving("-d", "openai-chat", "--script", str(script)) as url:
        run_agent(QUESTION, dialect="openai-chat", tools=[Tool("get_weather", executor="warmed")], model="m",
                  base_url=url, registry=registry(plugin), on_tool_result=lambda e: results.append(e["output"]))  # fmt: skip
    assert results == ["ready", "ready"]
    assert warmed == ["streamkit-warm-up"]  # once, in a thread of its own


def test_render_conversation_builds_the_next_request(tmp_path: Path) -> None:
    base = {"model": "m", "messages": [{"role": "user", "content": QUESTION}]}
    (tmp_path / "conv.json").write_bytes(orjson.dumps(base))
    stream = [
        {"type": "start", "id": "r1", "model": "m", "dialect": "openai-chat"},
        {
            "type": "tool-call",
            "tool_call_id": "c1",
            "tool_name": "get_weather",
            "arguments": '{"city":"Paris"}',
            "input": {"city": "Paris"},
        },
        {"type": "finish", "finish_reason": "tool-calls"},
        {
            "type": "tool-result",
            "tool_call_id": "c1",
            "tool_name": "get_weather",
            "output": "windy",
            "is_error": False,
        },
    ]
    result = run_cli(
        "render",
        "-f",
        "conversation",
        "--base",
        str(tmp_path / "conv.json"),
        input=b"".join(orjson.dumps(e) + b"\n" for e in stream),
    )
    conversation = orjson.loads(result.stdout)
    assert [m["role"] for m in conversation["messages"]] == ["user", "assistant", "tool"]
    assert conversation["messages"][1]["content"][0]["tool_call_id"] == "c1"
    assert conversation["messages"][2] == {
        "role": "tool",
        "tool_call_id": "c1",
        "output": "windy",
        "tool_name": "get_weather",
    }


def readme_loop() -> str:
    """The shell loop exactly as the README shows it (its ```sh block with the `while`)."""
    import re

    for block in re.findall(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.S):
        if "while :; do" in block:
            return block
    raise AssertionError("the README shows no shell loop")


@pytest.mark.parametrize("dialect", DIALECTS)
def test_the_readme_shell_loop(dialect: str, script: Path, tmp_path: Path) -> None:
    loop = readme_loop()
    # the README's loop, pointed at the local server instead of api.openai.com
    loop = loop.replace("-d openai-chat -m gpt-4o-mini", '-d "$DIALECT" --base-url "$URL" -m test-model')
    loop = loop.replace("examples/tools.toml", '"$TOOLS"').replace(
        "What is the weather in Paris?", QUESTION.replace("'", "'\\''")
    )
    assert '"$URL"' in loop and '"$TOOLS"' in loop
    log = tmp_path / "requests.ndjson"
    with serving("-d", dialect, "--script", str(script), "--log-requests", str(log)) as url:
        result = subprocess.run(["sh", "-ec", loop], cwd=tmp_path, capture_output=True, timeout=120,
                                env={**_env(), "DIALECT": dialect, "URL": url, "TOOLS": str(TOOLS)})  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().strip() == SCRIPT[1]["text"]
    bodies = ndjson(log.read_bytes())
    assert len(continuation_results(dialect, bodies[1])) == 2
    assert [problems(dialect, body) for body in bodies] == [[], []]


def _env() -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    env["PATH"] = f"{STREAMKIT.parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def test_render_conversation_takes_results_written_before_their_message(tmp_path: Path) -> None:
    """run-tools writes a fast tool's result before the response's finish and message arrive."""
    stream = [
        {"type": "start", "id": "r1", "model": "m", "dialect": "openai-chat"},
        {"type": "tool-call", "tool_call_id": "c1", "tool_name": "a", "arguments": "{}", "input": {}},
        {"type": "tool-result", "tool_call_id": "c1", "tool_name": "a", "output": "first", "is_error": False},
        {"type": "tool-call", "tool_call_id": "c2", "tool_name": "b", "arguments": "{}", "input": {}},
        {"type": "finish", "finish_reason": "tool-calls"},
        {"type": "tool-result", "tool_call_id": "c2", "tool_name": "b", "output": "second", "is_error": True},
    ]
    result = run_cli("render", "-f", "conversation", input=b"".join(orjson.dumps(e) + b"\n" for e in stream))
    conversation = orjson.loads(result.stdout)
    tools = [m for m in conversation["messages"] if m["role"] == "tool"]
    assert [(m["tool_call_id"], m["output"], m.get("is_error", False)) for m in tools] == [
        ("c1", "first", False),
        ("c2", "second", True),
    ]


def test_a_paused_anthropic_turn_is_sent_back_and_continued(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_bytes(orjson.dumps([
        {"text": "Let me look that up.", "finish_reason": "other", "raw_finish_reason": "pause_turn"},
        {"text": "Found it."},
    ]))  # fmt: skip
    log = tmp_path / "requests.ndjson"
    with serving("-d", "anthropic", "--script", str(script), "--log-requests", str(log)) as url:
        result = run_cli(
            "agent", "-d", "anthropic", "--base-url", url, "-m", "m", QUESTION, env={"ANTHROPIC_API_KEY": "k"}
        )
    assert result.returncode == 0, result.stderr
    messages = [e for e in ndjson(result.stdout) if e["type"] == "message"]
    assert [m["raw_finish_reason"] for m in messages] == ["pause_turn", "end_turn"]
    second = ndjson(log.read_bytes())[1]
    assert second["messages"][-1] == {
        "role": "assistant",
        "content": [{"type": "text", "text": "Let me look that up."}],
    }


def test_tool_results_go_back_in_call_order_not_finish_order(tmp_path: Path) -> None:
    import sys

    tools = tmp_path / "tools.toml"
    tools.write_text(
        f'[[tools]]\nname = "slow"\nexecutor = "shell"\ncommand = ["{sys.executable}", "-c", "import time; time.sleep(0.5); print(\'slow\')"]\n\n'
        f'[[tools]]\nname = "fast"\nexecutor = "shell"\ncommand = ["{sys.executable}", "-c", "print(\'fast\')"]\n'
    )
    script = tmp_path / "script.json"
    script.write_bytes(
        orjson.dumps(
            [{"tool_calls": [{"name": "slow", "input": {}}, {"name": "fast", "input": {}}]}, {"text": "done"}]
        )
    )
    log = tmp_path / "requests.ndjson"
    with serving("-d", "openai-chat", "--script", str(script), "--log-requests", str(log)) as url:
        result = run_cli("agent", "--base-url", url, "-m", "m", "--tools", str(tools), QUESTION)
    assert result.returncode == 0, result.stderr
    events = ndjson(result.stdout)
    finished = [e["output"] for e in events if e["type"] == "tool-result"]
    assert finished == ["fast", "slow"]  # the fast tool finished first...
    assert [text for text, _ in continuation_results("openai-chat", ndjson(log.read_bytes())[1])] == [
        "slow",
        "fast",
    ]  # ...but goes back second


@pytest.mark.parametrize(
    ("behaviour", "said"),
    [
        ("wrong-type", "openai-chat: delta.refusal is a dict, expected a string"),
        ("wrong-shape", "openai-chat: malformed event (AttributeError: 'str' object has no attribute 'get')"),
    ],
)
def test_an_upstream_stream_it_cannot_read_is_an_upstream_failure(behaviour: str, said: str) -> None:
    """The upstream's payload has the wrong type or shape: the text before it is written, then an
    error event, and agent exits 1 (the upstream failed), not 65 (the user's input was fine)."""
    from .hostile import hostile

    with hostile(behaviour) as up:
        result = run_cli("agent", "-d", "openai-chat", "--base-url", up, "-m", "m", QUESTION,
                         env={"STREAMKIT_API_KEY": "k"})  # fmt: skip
    assert result.returncode == 1
    events = ndjson(result.stdout)
    assert "".join(e["delta"] for e in events if e["type"] == "text-delta") == "Hello there"
    message = f"the upstream sent what streamkit cannot read: {said}"
    assert {k: v for k, v in events[-1].items() if k != "t"} == {"type": "error", "message": message}
    assert result.stderr.decode().strip() == f"streamkit agent: {message}"


@pytest.mark.parametrize("dialect", ["anthropic", "openai-responses", "gemini"])
def test_a_tools_files_web_search_is_the_providers_own_and_runs_there(dialect: str, tmp_path: Path) -> None:
    """A tools file's ``kind = "web_search"`` entry goes upstream as the dialect's own search; the
    search the provider ran comes back and nothing runs here: the loop ends in one step."""
    tools = tmp_path / "tools.toml"
    tools.write_text(
        TOOLS.read_text() + '\n[[tools]]\nname = "web_search"\nkind = "web_search"\nmax_uses = 2\n'
        'allowed_domains = ["weather.example"]\n'
    )
    path = tmp_path / "script.json"
    path.write_bytes(orjson.dumps([{"content": [
        {"type": "tool-call", "tool_call_id": "ws_1", "tool_name": "web_search", "provider_executed": True,
         "input": {"query": "Paris weather"}},
        {"type": "tool-result", "tool_call_id": "ws_1", "tool_name": "web_search", "provider_executed": True,
         "output": {"sources": [{"type": "url", "url": "https://weather.example/paris"}]}},
        {"type": "text", "text": "Sunny, says weather.example."}]}]))  # fmt: skip
    log = tmp_path / "requests.ndjson"
    with serving("-d", dialect, "--script", str(path), "--log-requests", str(log)) as url:
        result = run_cli(
            "agent", "-d", dialect, "--base-url", url, "-m", "gemini-3-flash", "--tools", str(tools), QUESTION
        )
    assert result.returncode == 0, result.stderr
    events = ndjson(result.stdout)
    assert [e["step"] for e in events if e["type"] == "start-step"] == [1]
    (searched,) = [e["tool_name"] for e in events if e["type"] == "tool-result"]
    assert searched == "web_search"  # every dialect's search has the one canonical name
    content = events[-1]["content"]
    assert [p["text"] for p in content if p["type"] == "text"] == ["Sunny, says weather.example."]
    if dialect == "gemini":  # (Gemini reports the pages its search found as grounding chunks too)
        assert [p["url"] for p in content if p["type"] == "source"] == ["https://weather.example/paris"]
    (body,) = ndjson(log.read_bytes())
    search = {
        "anthropic": {"type": "web_search_20250305", "name": "web_search", "max_uses": 2,
                      "allowed_domains": ["weather.example"]},
        "openai-responses": {"type": "web_search", "filters": {"allowed_domains": ["weather.example"]}},
        "gemini": {"googleSearch": {}},
    }[dialect]  # fmt: skip
    assert search in body["tools"] and problems(dialect, body) == []
    if dialect != "anthropic":  # (what its search cannot take: said once)
        assert "cannot send the web search's max_uses (1)" in result.stderr.decode()


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_stops_the_agent_and_every_process_of_its_running_tool(
    signum: int, code: int, marker: str, tmp_path: Path
) -> None:
    """SIGTERM (``timeout``, ``docker stop``) behaves as Ctrl-C: the tool running when it comes is
    stopped with all its processes, the events so far are written, exit 143 (130). With SIGTERM's
    default the agent ended alone, and the tool's processes ran on, orphaned."""
    from .executors.procfs import assert_gone, wait_for
    from .stages.test_run_tools_processes import marked_tools

    tools = marked_tools(tmp_path, marker)
    turns = tmp_path / "turns.json"
    turns.write_bytes(
        orjson.dumps([{"tool_calls": [{"name": "hang_long", "input": {}}]}, {"text": "never reached"}])
    )
    argv = [str(STREAMKIT), "agent", "-m", "m", "--tools", str(tools), QUESTION]
    env = {**os.environ, "OPENAI_API_KEY": "sk-test"}
    with (
        serving("-d", "openai-chat", "--script", str(turns)) as url,
        subprocess.Popen([*argv, "--base-url", f"{url}/v1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=env) as proc,
    ):  # fmt: skip
        wait_for(marker, count=3)  # sh, its child in its own session, the sleeper
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=15)
    assert proc.returncode == code and err == b"", err
    assert [e["tool_name"] for e in ndjson(out) if e["type"] == "tool-call"] == ["hang_long"]
    assert_gone(marker)
