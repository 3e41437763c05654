"""run-tools: every call gets exactly one result, whatever happens."""

from __future__ import annotations

import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson
import pytest

from streamkit.errors import UsageError
from streamkit.stages.run_tools import run_tools
from streamkit.tools import load_tools

from ..conftest import ROOT, STREAMKIT, ndjson, run_cli
from ..executors.procfs import (
    marker_fixture,  # noqa: F401 (the marker fixture)
)

PY = sys.executable


def tools_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "tools.toml"
    path.write_text(body)
    return path


def call(call_id: str, name: str, args: object = None, **extra: object) -> dict:
    ev = {
        "type": "tool-call",
        "tool_call_id": call_id,
        "tool_name": name,
        "arguments": json.dumps(args or {}),
        "input": args if args is not None else {},
    }
    ev.update(extra)
    return ev


def results(events: list[dict]) -> dict[str, dict]:
    return {e["tool_call_id"]: e for e in events if e["type"] == "tool-result"}


SHELL = f"""
[[tools]]
name = "echo"
executor = "shell"
command = ["{PY}", "-c", "import json, os, sys; a = json.load(sys.stdin); print(json.dumps({{'got': a, 'name': os.environ['STREAMKIT_TOOL_NAME'], 'id': os.environ['STREAMKIT_TOOL_CALL_ID']}}))"]

[[tools]]
name = "fail"
executor = "shell"
command = ["{PY}", "-c", "import sys; print('partial'); sys.stderr.write('disk full'); sys.exit(3)"]

[[tools]]
name = "warn"
executor = "shell"
command = ["{PY}", "-c", "import sys; print('ok'); sys.stderr.write('careful')"]

[[tools]]
name = "silent"
executor = "shell"
command = ["{PY}", "-c", "pass"]

[[tools]]
name = "sleepy"
executor = "shell"
command = ["{PY}", "-c", "import time; time.sleep(30)"]
timeout = 0.5

[[tools]]
name = "chatty"
executor = "shell"
command = ["{PY}", "-c", "print('x' * 5000)"]
max_output = 100

[[tools]]
name = "python_add"
executor = "python"
function = "tests.tools.helpers:add"
path = "{ROOT}"

[[tools]]
name = "python_async"
executor = "python"
function = "tests.tools.helpers:slow_echo"
path = "{ROOT}"

[[tools]]
name = "python_boom"
executor = "python"
function = "tests.tools.helpers:boom"
path = "{ROOT}"

[[tools]]
name = "python_nothing"
executor = "python"
function = "tests.tools.helpers:nothing"
path = "{ROOT}"
"""


def run(tmp_path: Path, calls: list[dict], **kw: object) -> dict[str, dict]:
    tools = load_tools(tools_file(tmp_path, SHELL))
    return results(list(run_tools(iter([{"type": "start", "id": "r"}, *calls]), tools, **kw)))


def test_shell_gets_arguments_on_stdin_and_its_name_and_id_in_the_environment(tmp_path: Path) -> None:
    out = run(tmp_path, [call("c1", "echo", {"q": 'it\'s "quoted"; rm -rf /'})])
    assert not out["c1"]["is_error"]
    assert orjson.loads(out["c1"]["output"]) == {
        "got": {"q": 'it\'s "quoted"; rm -rf /'},
        "name": "echo",
        "id": "c1",
    }


@pytest.mark.parametrize(
    ("name", "args", "needle"),
    [
        ("fail", {}, "the tool exited with status 3:\ndisk full\npartial"),
        ("warn", {}, "ok\n[stderr] careful"),
        ("silent", {}, "error: the tool returned nothing"),
        ("sleepy", {}, "error: the tool did not finish within 0.5 seconds and was stopped"),
        ("nope", {}, "error: there is no tool named 'nope'; the available tools are: chatty, echo"),
        ("python_boom", {}, "the tool raised RuntimeError: the tool broke"),
        ("python_add", {"a": 1}, "the tool rejected its arguments"),
        ("python_nothing", {}, "error: the tool returned nothing"),
    ],
)
def test_every_failure_is_an_error_result_with_a_plain_message(
    tmp_path: Path, name: str, args: dict, needle: str
) -> None:
    (result,) = run(tmp_path, [call("c1", name, args)]).values()
    assert result["is_error"] is True
    assert needle in result["output"]


def test_invalid_json_arguments(tmp_path: Path) -> None:
    bad = call(
        "c1",
        "echo",
        None,
        arguments='{"q": ',
        input=None,
        input_error="arguments are not valid JSON: unexpected end of data",
    )
    (result,) = run(tmp_path, [bad]).values()
    assert result["is_error"] and "call echo again with a valid JSON object" in result["output"]


def test_output_over_the_cap_is_truncated_with_a_note(tmp_path: Path) -> None:
    (result,) = run(tmp_path, [call("c1", "chatty")]).values()
    assert result["is_error"] is True
    assert result["output"].startswith(
        "x" * 100
        + "\n[output truncated: the tool wrote more than 100 bytes, the limit, and was stopped there]"
    )


def test_python_sync_async_and_json_results(tmp_path: Path) -> None:
    out = run(
        tmp_path, [call("a", "python_add", {"a": 1, "b": 2.5}), call("b", "python_async", {"text": "hi"})]
    )
    assert (out["a"]["output"], out["a"]["is_error"]) == ('{"sum":3.5}', False)
    assert out["b"]["output"] == "HI"


def test_provider_executed_calls_are_left_alone(tmp_path: Path) -> None:
    assert run(tmp_path, [call("c1", "web_search", {"q": "x"}, provider_executed=True)]) == {}


def test_calls_run_concurrently(tmp_path: Path) -> None:
    """Two calls that each wait for the other to have started: only concurrency lets both finish."""
    tools = tools_file(tmp_path, f"""
[[tools]]
name = "meet"
executor = "shell"
timeout = 10
command = ["{PY}", "-c", "import json, pathlib, sys, time; a = json.load(sys.stdin); d = pathlib.Path(a['dir']); (d / a['me']).touch(); t = time.time()\\nwhile not (d / a['other']).exists():\\n    time.sleep(0.01)\\n    assert time.time() - t < 8, 'the other call never started'\\nprint('met')"]
""")  # fmt: skip
    calls = [
        call("c1", "meet", {"dir": str(tmp_path), "me": "a", "other": "b"}),
        call("c2", "meet", {"dir": str(tmp_path), "me": "b", "other": "a"}),
    ]
    out = results(list(run_tools(iter(calls), load_tools(tools), parallel=2)))
    assert [(out[c]["output"], out[c]["is_error"]) for c in ("c1", "c2")] == [("met", False), ("met", False)]


def test_each_result_comes_after_its_call(tmp_path: Path) -> None:
    events = list(run_tools(iter([call("c1", "python_add", {"a": 1, "b": 1}), {"type": "finish", "finish_reason": "tool-calls"}]),
                            load_tools(tools_file(tmp_path, SHELL))))  # fmt: skip
    kinds = [e["type"] for e in events]
    assert kinds.index("tool-result") > kinds.index("tool-call") and kinds.count("tool-result") == 1


def test_http_executor(tmp_path: Path) -> None:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            status = 500 if body.get("fail") else 200
            data = json.dumps({"echo": body, "tool": self.headers["STREAMKIT-Tool-Name"]}).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        tools = tools_file(
            tmp_path,
            f'[[tools]]\nname = "remote"\nexecutor = "http"\nurl = "http://127.0.0.1:{server.server_port}/tool"\n',
        )
        out = results(
            list(
                run_tools(
                    iter([call("c1", "remote", {"x": 1}), call("c2", "remote", {"fail": True})]),
                    load_tools(tools),
                )
            )
        )
    finally:
        server.shutdown()
        server.server_close()
    assert (
        orjson.loads(out["c1"]["output"]) == {"echo": {"x": 1}, "tool": "remote"}
        and not out["c1"]["is_error"]
    )
    assert out["c2"]["is_error"] and out["c2"]["output"].startswith("the tool's server answered 500")


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (
            '[[tools]]\nname = "a"\nexecutor = "shell"\ncommand = "rm -rf /"\n',
            "'command' must be an argv list",
        ),
        (
            '[[tools]]\nname = "a"\nexecutor = "shell"\ncommand = ["true"]\ncwd = 5\n',
            "'cwd' must be a string",
        ),
        ('[[tools]]\nname = "a"\nexecutor = "teleport"\n', "unknown executor 'teleport'"),
        (
            '[[tools]]\nname = "a"\nexecutor = "python"\nfunction = "no_such_module_x:f"\n',
            "cannot load no_such_module_x:f",
        ),
        ('[[tools]]\ndescription = "no name"\n', "tool 1: 'name' must be a non-empty string"),
        ('[[tools]]\nname = "a"\ntimeout = -1\n', "tool 1 (a): 'timeout' must be a positive number"),
        ('[[tools]]\nname = "a"\napprove = "sometimes"\n', "'approve' must be one of never, always"),
        ("tools = [", "not valid TOML"),
    ],
)
def test_a_malformed_tools_file_is_a_usage_error(tmp_path: Path, body: str, needle: str) -> None:
    path = tools_file(tmp_path, body)
    with pytest.raises(UsageError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        list(run_tools(iter([]), load_tools(path)))
    result = run_cli("run-tools", "--tools", str(path))
    assert result.returncode == 2
    assert (
        needle.encode() in result.stderr and str(path).encode() in result.stderr
    )  # names the file and the entry
    assert result.stderr.count(b"\n") == 1


def test_the_cli_writes_results_as_they_finish(tmp_path: Path) -> None:
    path = tools_file(tmp_path, SHELL)
    stream = [
        {"type": "start", "id": "r"},
        call("c1", "python_add", {"a": 2, "b": 2}),
        call("c2", "nope"),
        {"type": "finish", "finish_reason": "tool-calls"},
    ]
    result = subprocess.run([str(STREAMKIT), "run-tools", "--tools", str(path)], input=b"".join(orjson.dumps(e) + b"\n" for e in stream),
                            capture_output=True, cwd=ROOT)  # fmt: skip
    assert result.returncode == 0, result.stderr
    events = ndjson(result.stdout)
    assert [e for e in events if e["type"] != "tool-result"] == stream
    assert {r["tool_call_id"]: r["is_error"] for r in results(events).values()} == {"c1": False, "c2": True}


def test_a_tool_asked_for_the_environment_gives_out_no_key(tmp_path: Path) -> None:
    """The model asks a shell tool for its environment (``env``): the key streamkit holds for the
    model reaches neither the result on stdout (nor the model with it) nor stderr; a variable the
    tools file passes on does."""
    path = tools_file(tmp_path, """
[[tools]]
name = "sh"
executor = "shell"
command = ["sh", "-c", "env"]
pass_env = ["DEPLOY_TOKEN"]
""")  # fmt: skip
    stream = [
        {"type": "start", "id": "r"},
        call("c1", "sh"),
        {"type": "finish", "finish_reason": "tool-calls"},
    ]
    key = "sk-proj-" + "k" * 40
    result = run_cli("run-tools", "--tools", str(path), input=b"".join(orjson.dumps(e) + b"\n" for e in stream),
                     env={"OPENAI_API_KEY": key, "STREAMKIT_API_KEY": key, "DEPLOY_TOKEN": "deploy-1"})  # fmt: skip
    assert result.returncode == 0, result.stderr
    (answer,) = results(ndjson(result.stdout)).values()
    assert "DEPLOY_TOKEN=deploy-1" in answer["output"].splitlines()
    assert "STREAMKIT_TOOL_NAME=sh" in answer["output"].splitlines()
    assert key.encode() not in result.stdout + result.stderr


def test_the_cli_exits_only_after_every_result_is_written(tmp_path: Path) -> None:
    """Results bigger than a pipe holds, read only after a pause: writing the first one blocks
    until the reader comes, and the command must wait for that write and the others, not only
    for the calls to finish (it once exited with results finished but not yet written)."""
    path = tools_file(tmp_path, '[[tools]]\nname = "yes"\nexecutor = "shell"\nmax_output = 1000000\n'
                                'command = ["sh", "-c", "yes | head -c 100000"]\n')  # fmt: skip
    calls = [call(f"c{i}", "yes") for i in range(3)]
    stream = b"".join(orjson.dumps(e) + b"\n" for e in [{"type": "start", "id": "r"}, *calls])
    with subprocess.Popen([str(STREAMKIT), "run-tools", "--tools", str(path)], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:  # fmt: skip
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        proc.stdin.write(stream)
        proc.stdin.close()
        time.sleep(1.5)  # the calls finish; their results wait on the full pipe
        stdout, stderr = proc.stdout.read(), proc.stderr.read()
        assert proc.wait(timeout=30) == 0, stderr
    written = results(ndjson(stdout))
    assert sorted(written) == ["c0", "c1", "c2"]
    assert all(r["output"].split("\n") == ["y"] * 50_000 and not r["is_error"] for r in written.values())


SLOW_CAT = '[[tools]]\nname = "cat"\nexecutor = "shell"\ncommand = ["sh", "-c", "sleep 0.3; cat"]\n'


def test_a_reader_that_goes_away_ends_run_tools_quietly(tmp_path: Path) -> None:
    """``| head -1``: results that come after the reader left end the command with exit 0 and
    nothing on stderr (no traceback from the threads that write them)."""
    path = tools_file(tmp_path, SLOW_CAT)
    stream = b"".join(orjson.dumps(call(f"c{i}", "cat", {"i": i})) + b"\n" for i in range(3))
    result = subprocess.run(["sh", "-c", f"{STREAMKIT} run-tools --tools {path} | head -1"], input=stream,
                            capture_output=True, timeout=30)  # fmt: skip
    assert result.returncode == 0
    assert ndjson(result.stdout) == [call("c0", "cat", {"i": 0})]
    assert result.stderr == b""


def test_bad_input_after_a_call_lets_the_call_finish_first(tmp_path: Path) -> None:
    """A bad line is said and exits 65 once the calls of the good lines before it have their
    results, as the tools gave them (nothing good before the bad line is lost)."""
    path = tools_file(tmp_path, SLOW_CAT)
    stream = orjson.dumps(call("c1", "cat", {"a": 1})) + b'\n{"type": "tool-call", "tool_call_id": 5}\n'
    result = run_cli("run-tools", "--tools", str(path), input=stream)
    assert result.returncode == 65
    assert (
        result.stderr
        == b"streamkit run-tools: line 2: tool-call event: 'tool_call_id' must be a string, not an integer\n"
    )
    events = ndjson(result.stdout)
    assert events[0] == call("c1", "cat", {"a": 1})
    assert results(events)["c1"]["is_error"] is False and orjson.loads(results(events)["c1"]["output"]) == {
        "a": 1
    }


def test_ctrl_c_ends_the_running_tool_and_leaves_nothing_running(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    path = tools_file(tmp_path, f"""
[[tools]]
name = "hang"
executor = "shell"
timeout = 60
command = ["{PY}", "-c", "import os, pathlib, time; pathlib.Path({str(pidfile)!r}).write_text(str(os.getpid())); time.sleep(60)"]
""")  # fmt: skip
    with subprocess.Popen([str(STREAMKIT), "run-tools", "--tools", str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as proc:  # fmt: skip
        assert proc.stdin is not None
        proc.stdin.write(orjson.dumps(call("c1", "hang")) + b"\n")
        proc.stdin.flush()
        deadline = time.monotonic() + 10
        while not pidfile.exists() or not pidfile.read_text():
            assert time.monotonic() < deadline, "the tool never started"
            time.sleep(0.02)
        tool_pid = int(pidfile.read_text())
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 130
        assert b"Traceback" not in (proc.stderr.read() if proc.stderr else b"")
    deadline = time.monotonic() + 5
    while _alive(tool_pid):
        assert time.monotonic() < deadline, "the tool process is still running"
        time.sleep(0.02)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie waiting for its parent is not running
        return f.read().split(") ")[1][0] != "Z"


def test_approval_is_asked_on_the_terminal_never_on_stdin(tmp_path: Path) -> None:
    """--approve asks on the controlling terminal (a pseudo-terminal here); y runs, n denies."""
    import fcntl
    import pty
    import termios

    path = tools_file(tmp_path, SHELL)
    master, slave = pty.openpty()

    def take_terminal() -> None:  # runs in the child after setsid: make the pty its terminal
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

    calls = [call("c1", "python_add", {"a": 1, "b": 2}), call("c2", "python_add", {"a": 3, "b": 4})]
    with subprocess.Popen([str(STREAMKIT), "run-tools", "--tools", str(path), "--approve"], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, start_new_session=True,
                          preexec_fn=take_terminal, pass_fds=(slave,)) as proc:  # fmt: skip
        assert proc.stdin is not None and proc.stdout is not None
        answers = iter([b"y\n", b"n\n"])
        asked = []
        proc.stdin.write(b"".join(orjson.dumps(c) + b"\n" for c in calls))
        proc.stdin.close()
        screen = b""
        deadline = time.monotonic() + 15
        while len(asked) < 2:
            assert time.monotonic() < deadline, f"no question on the terminal: {screen!r}"
            import select

            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                screen += os.read(master, 4096)
                while b"[y/N] " in screen:
                    question, screen = screen.split(b"[y/N] ", 1)
                    asked.append(
                        question.strip().decode().splitlines()[-1]
                    )  # past the echo of our last answer
                    os.write(master, next(answers))
        out = proc.stdout.read()
        assert proc.wait(timeout=15) == 0
    os.close(slave)  # held open until now, so that reading the master never sees the terminal hang up
    os.close(master)
    assert asked == [
        'streamkit run-tools: run python_add({"a": 1, "b": 2})?',
        'streamkit run-tools: run python_add({"a": 3, "b": 4})?',
    ]
    events = ndjson(out)
    kinds = [(e["type"], e["tool_call_id"]) for e in events]
    for c in ("c1", "c2"):  # each call, then its question and answer, then (after) its result
        at = kinds.index(("tool-call", c))
        assert kinds[at + 1 : at + 3] == [("tool-approval-request", c), ("tool-approval-response", c)]
        assert kinds.index(("tool-result", c)) > at + 2
    responses = {e["tool_call_id"]: e for e in events if e["type"] == "tool-approval-response"}
    assert responses["c1"]["approved"] is True and responses["c2"] == {
        "type": "tool-approval-response",
        "tool_call_id": "c2",
        "approved": False,
        "reason": "denied by the user",
    }
    out_results = results(events)
    assert out_results["c1"] == {
        "type": "tool-result",
        "tool_call_id": "c1",
        "tool_name": "python_add",
        "output": '{"sum":3}',
        "is_error": False,
    }
    assert out_results["c2"]["is_error"] and "did not approve" in out_results["c2"]["output"]


def test_without_a_terminal_a_call_needing_approval_is_denied(tmp_path: Path) -> None:
    path = tools_file(
        tmp_path, SHELL.replace('name = "python_add"', 'name = "python_add"\napprove = "always"')
    )
    result = subprocess.run([str(STREAMKIT), "run-tools", "--tools", str(path)], input=orjson.dumps(call("c1", "python_add", {"a": 1, "b": 1})) + b"\n",
                            capture_output=True, cwd=ROOT, start_new_session=True)  # fmt: skip
    events = ndjson(result.stdout)
    assert [e["type"] for e in events] == [
        "tool-call",
        "tool-approval-request",
        "tool-approval-response",
        "tool-result",
    ]
    assert events[2]["approved"] is False and events[3]["is_error"] is True
    # said as it is: no terminal, not a user who said no; and a warning on stderr
    assert (
        events[2]["reason"]
        == "no terminal to ask for approval on (approval asks on /dev/tty, never on stdin)"
    )
    assert "there was no terminal to ask on" in events[3]["output"]
    assert result.stderr == (
        b"streamkit run-tools: warning: python_add was not run: no terminal to ask for approval on "
        b"(approval asks on /dev/tty, never on stdin)\n"
    )


@pytest.mark.parametrize("command", ["run-tools", "agent"])
def test_approve_without_a_terminal_is_a_usage_error(tmp_path: Path, command: str) -> None:
    path = tools_file(tmp_path, SHELL)
    args = ["run-tools", "--tools", str(path), "--approve"] if command == "run-tools" else \
        ["agent", "--tools", str(path), "--approve", "--base-url", "http://127.0.0.1:9", "-m", "m", "hi"]  # fmt: skip
    result = subprocess.run([str(STREAMKIT), *args], input=b"", capture_output=True, cwd=ROOT,
                            start_new_session=True, timeout=30)  # fmt: skip
    assert (result.returncode, result.stdout) == (2, b"")
    assert (
        b"--approve asks before each call on the terminal (/dev/tty), and there is none here" in result.stderr
    )


def test_tools_files_accept_one_table_per_tool_named_by_its_key(tmp_path: Path) -> None:
    from streamkit.errors import UsageError
    from streamkit.tools import load_tools

    path = tmp_path / "tools.toml"
    path.write_text(
        '[tools.get_weather]\ndescription = "Weather"\nexecutor = "shell"\ncommand = ["cat"]\n\n'
        '[tools.add]\nexecutor = "python"\nfunction = "m:f"\nparameters = { type = "object" }\n'
    )
    tools = load_tools(path)
    assert [(t.name, t.description, t.executor, t.settings) for t in tools] == [
        ("get_weather", "Weather", "shell", {"command": ["cat"]}),
        ("add", "", "python", {"function": "m:f"}),
    ]
    as_json = tmp_path / "tools.json"
    as_json.write_bytes(orjson.dumps({"tools": {"get_weather": {"executor": "shell", "command": ["cat"]}}}))
    assert [t.name for t in load_tools(as_json)] == ["get_weather"]
    path.write_text('[tools.get_weather]\nname = "other"\n')
    with pytest.raises(
        UsageError,
        match=r"\[tools.get_weather\]: its name is its key, 'get_weather', but it says name = 'other'",
    ):
        load_tools(path)
    path.write_text('[tools]\nget_weather = "not a table"\n')
    with pytest.raises(UsageError, match=r"\[tools.get_weather\]: expected a table"):
        load_tools(path)
    # run-tools runs a tool declared that way
    path.write_text('[tools.echo]\nexecutor = "shell"\ncommand = ["cat"]\n')
    result = subprocess.run([str(STREAMKIT), "run-tools", "--tools", str(path)], capture_output=True, timeout=30,
                            input=orjson.dumps(call("c1", "echo", {"x": 1})) + b"\n")  # fmt: skip
    assert results(ndjson(result.stdout))["c1"]["output"] == '{"x":1}'


# --- arguments: input, else the arguments text parsed; never a run with made-up input ----------


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"arguments": '{"q": "from the text"}'}, {"q": "from the text"}),
        ({"arguments": '{"q": "from the text"}', "input": None}, {"q": "from the text"}),
        ({"arguments": ""}, {}),  # blank: no arguments (what OpenAI and Anthropic send for none)
        ({"arguments": "{}", "input": {"q": "input wins"}}, {"q": "input wins"}),
    ],
)
def test_a_call_without_input_runs_with_its_arguments_parsed(
    tmp_path: Path, fields: dict, expected: dict
) -> None:
    event = {"type": "tool-call", "tool_call_id": "c1", "tool_name": "echo", **fields}
    (result,) = run(tmp_path, [event]).values()
    assert not result["is_error"] and orjson.loads(result["output"])["got"] == expected


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"arguments": '{"q": '}, "(arguments are not valid JSON: unexpected end of data"),
        ({"arguments": "not json"}, "(arguments are not valid JSON"),
        ({"arguments": "[1, 2]"}, "(arguments must be a JSON object)"),
        ({"arguments": "null"}, "(arguments must be a JSON object)"),
        ({"arguments": {"q": 1}}, "(arguments must be JSON text, not dict)"),
        ({}, "(the call has neither input nor arguments)"),
        ({"arguments": "{}", "input": [1]}, "(arguments must be a JSON object)"),
    ],
)
def test_arguments_that_are_not_a_json_object_never_run_the_tool(
    tmp_path: Path, fields: dict, why: str
) -> None:
    ran = tmp_path / "ran"
    path = tools_file(tmp_path, f"""
[[tools]]
name = "record"
executor = "shell"
command = ["sh", "-c", "touch {ran}; echo ran"]
""")  # fmt: skip
    event = {"type": "tool-call", "tool_call_id": "c1", "tool_name": "record", **fields}
    (result,) = results(list(run_tools(iter([event]), load_tools(path)))).values()
    assert result["is_error"] is True
    assert result["output"].startswith(f"error: the arguments could not be used {why}")
    assert result["output"].endswith("; call record again with a valid JSON object")
    assert not ran.exists()


def test_the_cli_parses_the_arguments_of_a_call_without_input(tmp_path: Path) -> None:
    stream = [
        {"type": "tool-call", "tool_call_id": "c1", "tool_name": "echo", "arguments": '{"q": 1}'},
        {"type": "tool-call", "tool_call_id": "c2", "tool_name": "echo", "arguments": '{"q": 1'},
    ]
    result = run_cli("run-tools", "--tools", str(tools_file(tmp_path, SHELL)), input=b"".join(orjson.dumps(e) + b"\n" for e in stream))  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = results(ndjson(result.stdout))
    assert not out["c1"]["is_error"] and orjson.loads(out["c1"]["output"])["got"] == {"q": 1}
    assert out["c2"]["is_error"] and "not valid JSON" in out["c2"]["output"]


# --- timeouts count from when the tool starts -----------------------------------------------

SLOW = """
[[tools]]
name = "slow"
executor = "shell"
command = ["sh", "-c", "sleep 0.4; echo done"]
timeout = 1.0
"""


def test_waiting_for_a_free_slot_is_not_part_of_the_timeout(tmp_path: Path) -> None:
    """Four 0.4 s calls, one at a time, each with a 1 s timeout: the last waits 1.2 s, runs 0.4 s."""
    calls = [call(f"c{i}", "slow") for i in range(4)]
    began = time.monotonic()
    out = results(list(run_tools(iter(calls), load_tools(tools_file(tmp_path, SLOW)), parallel=1)))
    assert {c: (r["output"], r["is_error"]) for c, r in out.items()} == {
        f"c{i}": ("done", False) for i in range(4)
    }
    assert time.monotonic() - began >= 1.6  # one at a time, really


def test_the_cli_times_each_call_from_its_start_with_parallel_calls(tmp_path: Path) -> None:
    stream = b"".join(orjson.dumps(call(f"c{i}", "slow")) + b"\n" for i in range(6))
    result = run_cli("run-tools", "--tools", str(tools_file(tmp_path, SLOW)), "--parallel", "2", input=stream)
    assert result.returncode == 0, result.stderr
    out = results(ndjson(result.stdout))
    assert [(out[f"c{i}"]["output"], out[f"c{i}"]["is_error"]) for i in range(6)] == [("done", False)] * 6
