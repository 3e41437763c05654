"""The mcp executor in-process, against a real MCP server written with the official SDK (started
over stdio by the executor, or over streamable HTTP by the test): the server's tools become
tools, calls reach the server, and every call gets exactly one result whatever happens."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from mcp_helpers import (
    PY,
    SERVER_TOOLS,
    call,
    entry,
    http_server,
    pids,
    registry,
    results,
    tools_file,
    wait_gone,
)

from streamkit.errors import UsageError
from streamkit.stages.run_tools import ToolRunner, declarations, run_tools, start_call
from streamkit.tools import load_tools

PIXEL_BYTES = 71  # the size of the test server's 1x1 PNG
TOKEN = "tok-SECRET-of-the-mcp-server-0123"


def runner_for(path: Path, **kw: Any) -> ToolRunner:
    return ToolRunner(load_tools(path), registry=registry(), **kw)


def run_calls(runner: ToolRunner, *calls: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Run the calls through the runner (left open); their results by call id."""
    events = list(run_tools(iter([{"type": "start", "id": "r"}, *calls]), [], runner=runner))
    out = results(events)
    assert len(out) == len(calls) == sum(e["type"] == "tool-result" for e in events)  # one result per call
    return out


def one(runner: ToolRunner, name: str, args: Any = None, **extra: Any) -> dict[str, Any]:
    (result,) = run_calls(runner, call("c1", name, args, **extra)).values()
    return result


@pytest.fixture(scope="module")
def server_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("mcp")
    (base / "srv").mkdir()
    return base


@pytest.fixture(scope="module")
def runner(server_dir: Path) -> Iterator[ToolRunner]:
    """One runner (one server process per entry) for the tests of calls."""
    path = tools_file(server_dir,
        entry("test", cwd="srv", env={"GREETING": "hello", "MCP_TEST_PIDFILE": str(server_dir / "pids"),
                                      "SERVICE_TOKEN": TOKEN}),
        entry("quick", tools=["slow"], prefix="quick_", timeout=0.5),
        entry("small", tools=["big"], prefix="small_", max_output=100),
    )  # fmt: skip
    runner = runner_for(path, parallel=4)
    yield runner
    runner.close()


# --- declaring ------------------------------------------------------------------------------------


def test_registered_through_its_entry_point() -> None:
    entry = registry().executor_entries()["mcp"]
    assert entry.plugin == "mcp"  # the entry point's name: an installed plugin, not a built-in
    assert type(entry.obj).__module__ == "streamkit_mcp.executor"


def test_the_servers_tools_become_tools(runner: ToolRunner) -> None:
    safe = [name.replace(".", "_") for name in SERVER_TOOLS]
    assert list(runner.tools) == [*safe, "quick_slow", "small_big"]
    add = runner.tools["add"]
    assert add.description == "Add two integers."
    assert add.parameters["type"] == "object" and add.parameters["required"] == ["a", "b"]
    assert {k: v["type"] for k, v in add.parameters["properties"].items()} == {"a": "integer", "b": "integer"}
    assert add.declaration() == {
        "name": "add",
        "description": "Add two integers.",
        "parameters": add.parameters,
    }
    # the entry's own settings apply to each of its tools
    assert (runner.tools["quick_slow"].timeout, runner.tools["small_big"].max_output) == (0.5, 100)
    assert runner.tools["add"].timeout == 30 and runner.tools["add"].source.endswith("tools.toml")


def test_tools_and_prefix_choose_and_rename(tmp_path: Path) -> None:
    path = tools_file(tmp_path, entry("docs", tools=["echo", "add"], prefix="docs_", approve="always"))
    runner = runner_for(path)
    try:
        assert list(runner.tools) == ["docs_echo", "docs_add"]  # in the order the entry names them
        assert all(t.approve == "always" for t in runner.tools.values())
        runner.approve, runner.asker = "never", lambda question: True
        assert one(runner, "docs_add", {"a": 2, "b": 3})["output"] == "5"
    finally:
        runner.close()


def test_a_name_that_model_apis_reject_is_made_safe_and_calls_the_right_tool(runner: ToolRunner) -> None:
    assert "files.read" not in runner.tools
    result = one(runner, "files_read", {"path": "/etc/motd"})
    assert (result["tool_name"], result["output"], result["is_error"]) == (
        "files_read",
        "read /etc/motd",
        False,
    )


def test_declarations_for_fetch_expand_the_server_and_close_it(tmp_path: Path) -> None:
    pidfile = tmp_path / "pids"
    path = tools_file(tmp_path,
        entry("test", tools=["add"], env={"MCP_TEST_PIDFILE": str(pidfile)}),
        '[[tools]]\nname = "elsewhere"\ndescription = "Run by another machine"\nexecutor = "not-installed"\n',
    )  # fmt: skip
    declared = declarations(load_tools(path), registry())
    assert [d["name"] for d in declared] == ["add", "elsewhere"]
    assert declared[0]["description"] == "Add two integers." and declared[0]["parameters"]["required"] == [
        "a",
        "b",
    ]
    (pid,) = pids(pidfile)
    wait_gone(pid)


# --- calling --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "args", "output"),
    [
        ("add", {"a": 2, "b": 3}, "5"),
        ("echo", {"text": "ünïcode\nand lines"}, "ünïcode\nand lines"),
        ("slow", {"seconds": 0.01}, "slept 0.01"),
    ],
)
def test_text_content_is_the_output(runner: ToolRunner, name: str, args: dict[str, Any], output: str) -> None:
    result = one(runner, name, args)
    assert (result["output"], result["is_error"]) == (output, False)


def test_structured_results_give_their_text(runner: ToolRunner) -> None:
    """The server sends the JSON as text and as structured content: the text is the output."""
    result = one(runner, "weather", {"city": "Oslo"})
    assert not result["is_error"]
    assert orjson.loads(result["output"]) == {"city": "Oslo", "temperature": 8, "wind": "strong"}


def test_other_content_is_described_in_text(runner: ToolRunner) -> None:
    result = one(runner, "media")
    assert result["is_error"] is False
    assert result["output"].split("\n") == [
        "a red pixel",
        f"[image: image/png, {PIXEL_BYTES} bytes, not shown]",
        "[resource file:///notes.txt]",
        "remember the milk",
        f"[resource file:///pixel.png: image/png, {PIXEL_BYTES} bytes, not shown]",
        "[resource link report <file:///report.pdf>]",
    ]


def test_the_server_gets_its_environment_and_a_cwd_relative_to_the_tools_file(
    runner: ToolRunner, server_dir: Path
) -> None:
    result = one(runner, "environment", {"name": "GREETING"})
    assert result["output"] == f"GREETING=hello cwd={server_dir / 'srv'}"


def test_a_credential_the_tools_file_gives_the_server_is_redacted_from_what_it_answers(
    runner: ToolRunner,
) -> None:
    """The server's environment holds a token (by a name that says so); a tool that quotes it
    gives it to neither the events nor the model. Other values pass as they are."""
    assert one(runner, "environment", {"name": "SERVICE_TOKEN"})["output"].startswith(
        "SERVICE_TOKEN=[redacted] "
    )
    assert one(runner, "echo", {"text": f"said {TOKEN}"})["output"] == "said [redacted]"
    assert one(runner, "environment", {"name": "GREETING"})["output"].startswith("GREETING=hello ")


def test_the_server_runs_without_the_credentials_in_streamkits_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key streamkit was given for its model is not the server's, whatever it is asked; a
    credential the entry passes on by name is, and is redacted from what it answers."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-never-in-a-server")
    monkeypatch.setenv("DOCS_TOKEN", "passed-on-by-the-tools-file")
    runner = runner_for(tools_file(tmp_path, entry("test", pass_env=["DOCS_*"])))
    try:
        assert one(runner, "environment", {"name": "OPENAI_API_KEY"})["output"].startswith("OPENAI_API_KEY= ")
        # (it has it: what it answers holds it, which is redacted as a credential it was given)
        assert one(runner, "environment", {"name": "DOCS_TOKEN"})["output"].startswith(
            "DOCS_TOKEN=[redacted] "
        )
    finally:
        runner.close()


@pytest.mark.parametrize(
    ("name", "args", "extra", "needle"),
    [
        ("refuse", {"reason": "the printer is on fire"}, {}, "Error executing tool refuse: the printer is on fire"),
        ("crash", {}, {}, "Error executing tool crash"),
        ("add", {"a": "two"}, {}, "validation error"),  # the server checks the arguments
        ("empty", {}, {}, "error: the tool returned nothing"),
        ("nope", {}, {}, "error: there is no tool named 'nope'; the available tools are: add, big, crash"),
        ("add", None, {"arguments": '{"a": ', "input": None, "input_error": "arguments are not valid JSON"},
         "call add again with a valid JSON object"),
        ("quick_slow", {"seconds": 5}, {}, "error: the tool did not finish within 0.5 seconds and was stopped"),
        ("small_big", {"size": 5000}, {}, "[output truncated: the tool wrote 5000 bytes, the limit is 100]"),
    ],
)  # fmt: skip
def test_every_failure_is_one_error_result_with_a_plain_message(
    runner: ToolRunner, name: str, args: Any, extra: dict[str, Any], needle: str
) -> None:
    result = one(runner, name, args, **extra)
    assert result["is_error"] is True
    assert needle in result["output"]


def test_the_session_outlives_a_timed_out_call(runner: ToolRunner, server_dir: Path) -> None:
    assert one(runner, "quick_slow", {"seconds": 5})["is_error"]
    assert one(runner, "quick_slow", {"seconds": 0.01})["output"] == "slept 0.01"
    assert one(runner, "add", {"a": 1, "b": 1})["output"] == "2"
    assert len(pids(server_dir / "pids")) == 1  # the same server process all along


def test_calls_run_concurrently_over_one_session(runner: ToolRunner) -> None:
    started = time.monotonic()
    out = run_calls(runner, *(call(f"c{i}", "slow", {"seconds": 1}) for i in range(4)))
    assert [r["output"] for r in out.values()] == ["slept 1.0"] * 4
    assert time.monotonic() - started < 3  # 4 s one after the other


def test_a_server_that_dies_gives_error_results_for_its_calls(tmp_path: Path) -> None:
    runner = runner_for(tools_file(tmp_path, entry("fragile")))
    try:
        out = run_calls(runner, call("c1", "die"), call("c2", "slow", {"seconds": 5}))
        for result in out.values():
            assert result["is_error"] is True
            assert (
                "the MCP server 'fragile' (" in result["output"]
                and "is not running any more" in result["output"]
            )
        later = one(runner, "add", {"a": 1, "b": 2})
        assert later["is_error"] and "is not running any more" in later["output"]
    finally:
        runner.close()


def test_close_ends_the_stdio_server(tmp_path: Path) -> None:
    pidfile = tmp_path / "pids"
    runner = runner_for(tools_file(tmp_path, entry("test", env={"MCP_TEST_PIDFILE": str(pidfile)})))
    try:
        (pid,) = pids(pidfile)
        assert one(runner, "add", {"a": 1, "b": 2})["output"] == "3"
    finally:
        runner.close()
    wait_gone(pid)


def test_close_during_a_call_stops_it_and_the_server(tmp_path: Path) -> None:
    pidfile, marker = tmp_path / "pids", tmp_path / "started"
    runner = runner_for(tools_file(tmp_path, entry("test", env={"MCP_TEST_PIDFILE": str(pidfile)})))
    try:
        (pid,) = pids(pidfile)
        written, future = start_call(runner, call("c1", "slow", {"seconds": 60, "marker": str(marker)}))
        assert written == [] and future is not None
        deadline = time.monotonic() + 10
        while not marker.exists():
            assert time.monotonic() < deadline, "the call never started"
            time.sleep(0.02)
    finally:
        started = time.monotonic()
        runner.close(cancel=True)
    assert time.monotonic() - started < 8
    result = future.result(timeout=1)
    assert (
        result["is_error"] and result["output"] == "error: the run was interrupted before the tool finished"
    )
    wait_gone(pid)


# --- streamable HTTP -----------------------------------------------------------------------------


def test_a_streamable_http_server(tmp_path: Path) -> None:
    pidfile = tmp_path / "pids"
    with http_server(pidfile) as url:
        path = tools_file(tmp_path, entry("remote", url=url, headers={"X-Team": "blue"}, tools=["add", "header", "refuse"],
                                          prefix="remote_"))  # fmt: skip
        runner = runner_for(path)
        try:
            assert list(runner.tools) == ["remote_add", "remote_header", "remote_refuse"]
            out = run_calls(runner, call("a", "remote_add", {"a": 20, "b": 22}), call("h", "remote_header", {"name": "X-Team"}),
                            call("r", "remote_refuse", {"reason": "not today"}))  # fmt: skip
        finally:
            runner.close()
        assert (out["a"]["output"], out["a"]["is_error"]) == ("42", False)
        assert (out["h"]["output"], out["h"]["is_error"]) == (
            "X-Team: blue",
            False,
        )  # the entry's headers are sent
        assert out["r"]["is_error"] and "not today" in out["r"]["output"]
        (pid,) = pids(pidfile)
        assert pid  # the HTTP server is the test's own: closing the session leaves it running
        with pytest.raises(UsageError) as info:  # and a second runner still reaches it
            runner_for(tools_file(tmp_path, entry("remote", url=url, tools=["nope"])))
        assert "has no tool 'nope'" in str(info.value)


# --- usage errors when the tools file is loaded --------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"command": "python3 server.py"}, "'command' must be an argv list such as"),
        ({"command": []}, "'command' must be a non-empty list of strings"),
        (
            {"command": [PY], "url": "http://127.0.0.1:1/mcp"},
            "give either 'command' (a stdio server) or 'url'",
        ),
        ({"url": "ftp://example.org"}, "'url' must be an http(s) URL"),
        (
            {"url": "http://127.0.0.1:1/mcp", "env": {"A": "b"}},
            "'cwd', 'env' and 'pass_env' are for a 'command'",
        ),
        (
            {"url": "http://127.0.0.1:1/mcp", "pass_env": ["A"]},
            "'cwd', 'env' and 'pass_env' are for a 'command'",
        ),
        ({"command": [PY], "headers": {"A": "b"}}, "'headers' is for a 'url' server"),
        ({"command": [PY], "env": {"A": 1}}, "'env' must be a table of strings"),
        (
            {"command": [PY], "pass_env": "GITHUB_TOKEN"},
            "'pass_env' must be a list of variable names or patterns",
        ),
        ({"command": [PY], "tools": "add"}, "'tools' must be a list of the server's tool names"),
        ({"command": [PY], "prefix": 3}, "'prefix' must be a string"),
        ({"command": [PY], "connect_timeout": 0}, "'connect_timeout' must be a positive number"),
        ({"command": [PY], "tool": ["add"]}, "unknown field 'tool'"),
    ],
)
def test_a_wrong_field_is_a_usage_error_naming_the_file_and_the_entry(tmp_path: Path, fields: dict[str, Any],
                                                                      needle: str) -> None:  # fmt: skip
    path = tools_file(tmp_path, entry("docs", **fields))
    with pytest.raises(UsageError) as info:
        runner_for(path)
    message = str(info.value)
    assert message.startswith(f"{path}: mcp server 'docs': ") and needle in message


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"command": ["/no/such/server"]}, "(/no/such/server) could not be started: No such file or directory"),
        ({"command": [PY, "-c", "import sys; sys.exit('no database configured')"]},
         "closed the connection before answering; it said: no database configured"),
        ({"command": [PY, "-c", "import time; time.sleep(60)"], "connect_timeout": 1}, "did not answer within 1 s"),
        ({"tools": ["add", "nope"]}, f"has no tool 'nope' (it has: {', '.join(SERVER_TOOLS)})"),
        ({"url": "http://127.0.0.1:9/mcp"}, "(http://127.0.0.1:9/mcp) could not be reached: All connection attempts failed"),
    ],
)  # fmt: skip
def test_a_server_that_cannot_be_used_is_a_usage_error(
    tmp_path: Path, fields: dict[str, Any], needle: str
) -> None:
    path = tools_file(tmp_path, entry("docs", **fields))
    with pytest.raises(UsageError) as info:
        runner_for(path)
    message = str(info.value)
    assert message.startswith(f"{path}: the MCP server 'docs' (") and needle in message, message


def test_the_same_name_twice_is_a_usage_error_and_closes_what_was_opened(tmp_path: Path) -> None:
    pidfile = tmp_path / "pids"
    env = {"MCP_TEST_PIDFILE": str(pidfile)}
    path = tools_file(
        tmp_path, entry("one", tools=["add"], env=env), entry("two", tools=["echo", "add"], env=env)
    )
    with pytest.raises(UsageError, match=r"tool 'add' is declared twice \(again by entry 'two'\)"):
        runner_for(path)
    first, second = pids(pidfile)
    wait_gone(first)
    wait_gone(second)
