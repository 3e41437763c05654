"""The mcp executor through the real commands, as real processes: ``run-tools`` (stdio and
streamable HTTP), ``fetch --tools`` and ``agent`` against ``streamkit serve``, and Ctrl-C."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from mcp_helpers import (
    PY,
    SERVER,
    STREAMKIT,
    call,
    entry,
    http_server,
    lines,
    ndjson,
    pids,
    results,
    run_cli,
    tools_file,
    wait_gone,
)


def server_listing() -> list[dict[str, Any]]:
    """The test server's tools as the official SDK's own client lists them."""
    from mcp import Client, StdioServerParameters
    from mcp.client.stdio import stdio_client

    async def listing() -> list[dict[str, Any]]:
        async with Client(stdio_client(StdioServerParameters(command=PY, args=[str(SERVER)]))) as client:
            return [
                {"name": t.name, "description": t.description, "parameters": t.input_schema}
                for t in (await client.list_tools()).tools
            ]

    return asyncio.run(listing())


def test_run_tools_gives_every_call_exactly_one_result(tmp_path: Path) -> None:
    pidfile = tmp_path / "pids"
    path = tools_file(tmp_path,
        entry("test", env={"MCP_TEST_PIDFILE": str(pidfile)}, tools=["add", "refuse", "crash", "empty", "weather"]),
        entry("quick", tools=["slow"], prefix="quick_", timeout=0.5),
    )  # fmt: skip
    stream = [
        {"type": "start", "id": "r1", "model": "m"},
        call("ok", "add", {"a": 2, "b": 40}),
        call("json", "weather", {"city": "Oslo"}),
        call("refused", "refuse", {"reason": "out of paper"}),
        call("crashed", "crash"),
        call("silent", "empty"),
        call("late", "quick_slow", {"seconds": 10}),
        call("unknown", "teleport", {"to": "Mars"}),
        call(
            "garbled",
            "add",
            None,
            arguments='{"a": 2,',
            input=None,
            input_error="arguments are not valid JSON",
        ),
        call("theirs", "web_search", {"q": "x"}, provider_executed=True),
        {"type": "finish", "finish_reason": "tool-calls"},
    ]
    started = time.monotonic()
    result = run_cli("run-tools", "--tools", str(path), input=lines(stream))
    assert result.returncode == 0, result.stderr
    assert result.stderr == b""  # the servers' own logging stays out of streamkit's stderr
    assert time.monotonic() - started < 20
    events = ndjson(result.stdout)
    assert [e for e in events if e["type"] != "tool-result"] == stream  # every event passes through, in order
    out = results(events)
    assert sorted(out) == sorted(c["tool_call_id"] for c in stream[1:-2])  # one each; none for the provider's
    for event in events:
        if event["type"] == "tool-result":  # each result after its call
            at = next(i for i, e in enumerate(events) if e.get("tool_call_id") == event["tool_call_id"])
            assert events[at]["type"] == "tool-call" and events.index(event) > at
    assert (out["ok"]["output"], out["ok"]["is_error"]) == ("42", False)
    assert orjson.loads(out["json"]["output"])["city"] == "Oslo" and not out["json"]["is_error"]
    expected = {
        "refused": "Error executing tool refuse: out of paper",
        "crashed": "Error executing tool crash",
        "silent": "error: the tool returned nothing",
        "late": "error: the tool did not finish within 0.5 seconds and was stopped",
        "unknown": "error: there is no tool named 'teleport'; the available tools are: add, crash, empty",
        "garbled": "error: the arguments could not be used (arguments are not valid JSON); call add again",
    }
    for call_id, needle in expected.items():
        assert out[call_id]["is_error"] is True and needle in out[call_id]["output"], out[call_id]
    (pid,) = pids(pidfile)
    wait_gone(pid)


def test_run_tools_over_streamable_http(tmp_path: Path) -> None:
    with http_server() as url:
        path = tools_file(tmp_path, entry("remote", url=url, headers={"X-Team": "red"}))
        stream = [
            call("a", "add", {"a": 1, "b": 2}),
            call("h", "header", {"name": "X-Team"}),
            call("d", "die"),
        ]
        result = run_cli(
            "run-tools", "--tools", str(path), "--parallel", "1", input=lines(stream)
        )  # in order
    assert result.returncode == 0, result.stderr
    out = results(ndjson(result.stdout))
    assert (out["a"]["output"], out["h"]["output"]) == ("3", "X-Team: red")
    assert (
        out["d"]["is_error"] is True and "MCP server 'remote'" in out["d"]["output"]
    )  # its server went away


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"command": [PY, "-c", "import sys; sys.exit('missing API key')"]},
         "the MCP server 'docs' ({py} -c import sys; sys.exit('missing API key')) closed the connection before answering; it said: missing API key"),
        ({"url": "http://127.0.0.1:9/mcp"},
         "the MCP server 'docs' (http://127.0.0.1:9/mcp) could not be reached: All connection attempts failed"),
        ({"tools": ["serch"]}, "has no tool 'serch' (it has: add, echo, "),
        # a server that writes something else than JSON-RPC on stdout: the SDK's complaint (with a
        # traceback) is not printed, the one line says what happened
        ({"command": [PY, "-c", "print('Listening...'); import time; time.sleep(30)"], "connect_timeout": 1},
         "did not answer within 1 s"),
    ],
)  # fmt: skip
def test_a_server_that_cannot_be_used_is_a_usage_error_on_one_line(tmp_path: Path, fields: dict[str, Any],
                                                                   needle: str) -> None:  # fmt: skip
    path = tools_file(tmp_path, entry("docs", **fields))
    for command in (["run-tools", "--tools", str(path)], ["fetch", "-m", "m", "--base-url", "http://127.0.0.1:9", "--tools", str(path), "hi"]):  # fmt: skip
        result = run_cli(*command)
        assert result.returncode == 2, result.stderr
        assert result.stdout == b""
        message = result.stderr.decode()
        assert message.count("\n") == 1 and f"{path}: " in message and needle.format(py=PY) in message, (
            message
        )


def test_fetch_sends_the_servers_tools(tmp_path: Path, streamkit_serve: Any) -> None:
    served = streamkit_serve([{"text": "Hello."}], dialect="openai-chat")
    pidfile = tmp_path / "pids"
    path = tools_file(tmp_path,
        entry("test", env={"MCP_TEST_PIDFILE": str(pidfile)}, tools=["weather", "add"]),
        entry("more", tools=["echo"], prefix="more_"),
        '[[tools]]\nname = "get_time"\ndescription = "The time"\nexecutor = "shell"\ncommand = ["date"]\n',
    )  # fmt: skip
    result = run_cli(
        "fetch", "-d", "openai-chat", "--base-url", served.url, "-m", "test-model", "--tools", str(path), "hi"
    )
    assert result.returncode == 0, result.stderr
    (body,) = served.requests()
    sent = {t["function"]["name"]: t["function"] for t in body["tools"]}
    assert list(sent) == ["weather", "add", "more_echo", "get_time"]
    listed = {t["name"]: t for t in server_listing()}
    for name in ("weather", "add"):
        assert sent[name]["description"] == listed[name]["description"]
        assert sent[name]["parameters"] == listed[name]["parameters"]
    assert sent["more_echo"]["parameters"] == listed["echo"]["parameters"]
    (pid,) = pids(pidfile)
    wait_gone(pid)  # fetch only lists the tools: the server is stopped again


def test_agent_runs_the_loop_with_mcp_tools(tmp_path: Path, streamkit_serve: Any) -> None:
    """A scripted model served by streamkit.testing's streamkit_serve fixture asks for MCP tools."""
    served = streamkit_serve([
        {"tool_calls": [{"name": "calc_add", "input": {"a": 2, "b": 40}},
                        {"name": "calc_refuse", "input": {"reason": "no negative numbers"}}]},
        {"tool_calls": [{"name": "calc_add", "input": {"a": 42, "b": 0}}]},
        {"text": "The answer is 42."},
    ], dialect="openai-chat")  # fmt: skip
    pidfile = tmp_path / "pids"
    path = tools_file(
        tmp_path,
        entry("calc", tools=["add", "refuse"], prefix="calc_", env={"MCP_TEST_PIDFILE": str(pidfile)}),
    )
    result = run_cli(
        "agent", "--base-url", served.url, "-m", "test-model", "--tools", str(path), "What is 2 + 40?"
    )
    assert result.returncode == 0, result.stderr
    events = ndjson(result.stdout)
    assert [e["step"] for e in events if e["type"] == "finish-step"] == [1, 2, 3]
    out = [(e["tool_name"], e["output"], e["is_error"]) for e in events if e["type"] == "tool-result"]
    # results are written as the calls finish: the two of step 1 in either order, then step 2's
    first, refused = sorted(out[:2])
    assert first == ("calc_add", "42", False) and out[2] == ("calc_add", "42", False)
    assert refused[0] == "calc_refuse" and refused[2] is True and "no negative numbers" in refused[1]
    assert [e for e in events if e["type"] == "message"][-1]["content"][-1]["text"] == "The answer is 42."
    bodies = served.requests()
    assert len(bodies) == 3
    assert [t["function"]["name"] for t in bodies[0]["tools"]] == ["calc_add", "calc_refuse"]
    tool_messages = [(m["tool_call_id"], m["content"]) for m in bodies[1]["messages"] if m["role"] == "tool"]
    assert (
        len(tool_messages) == 2
        and tool_messages[0][1] == "42"
        and "no negative numbers" in tool_messages[1][1]
    )
    (pid,) = pids(pidfile)  # one server process for every step
    wait_gone(pid)


def test_ctrl_c_during_an_mcp_call_leaves_no_server_running(tmp_path: Path) -> None:
    pidfile, marker = tmp_path / "pids", tmp_path / "started"
    path = tools_file(tmp_path, entry("test", env={"MCP_TEST_PIDFILE": str(pidfile)}, timeout=120))
    with subprocess.Popen([str(STREAMKIT), "run-tools", "--tools", str(path)], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:  # fmt: skip
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        proc.stdin.write(lines([call("c1", "slow", {"seconds": 120, "marker": str(marker)})]))
        proc.stdin.flush()
        deadline = time.monotonic() + 20
        while not marker.exists():
            assert time.monotonic() < deadline and proc.poll() is None, "the call never started"
            time.sleep(0.02)
        (pid,) = pids(pidfile)
        proc.send_signal(signal.SIGINT)
        started = time.monotonic()
        assert proc.wait(timeout=15) == 130
        assert time.monotonic() - started < 10
        assert b"Traceback" not in proc.stderr.read()
        written = ndjson(proc.stdout.read())
    assert [e["type"] for e in written] == ["tool-call", "tool-result"]  # the call still gets its one result
    assert (
        written[1]["is_error"]
        and written[1]["output"] == "error: the run was interrupted before the tool finished"
    )
    wait_gone(pid)
