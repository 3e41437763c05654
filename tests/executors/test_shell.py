"""The shell executor: the whole process tree of a call ends with it; output read within the cap."""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

from streamkit.executors.base import ToolCall, ToolOutput
from streamkit.executors.shell import ShellExecutor
from streamkit.tools import Tool

from .procfs import (
    assert_gone,
    marker_fixture,  # noqa: F401 (the marker fixture)
    wait_for,
)

PY = sys.executable
SLEEPER = "import time; time.sleep(300)"


def run(
    script: str, cancel: threading.Event | None = None, *, pass_env: Any = None, env: Any = None, **extra: Any
) -> ToolOutput:
    executor = ShellExecutor()
    settings = {"command": ["sh", "-c", script], "pass_env": pass_env, "env": env}
    tool = Tool("t", executor="shell", settings={k: v for k, v in settings.items() if v is not None}, **extra)
    executor.check(tool)
    try:
        return executor.run(ToolCall(tool, "c1", {"q": 1}), cancel or threading.Event())
    finally:
        executor.close()


def test_success_with_a_background_child_still_running_ends_the_child(marker: str) -> None:
    began = time.monotonic()
    assert run(f"{PY} -c '{SLEEPER}' {marker} & echo ok") == ToolOutput("ok")
    assert time.monotonic() - began < 10
    assert_gone(marker)


def test_a_child_that_called_setsid_ends_with_the_call(marker: str) -> None:
    script = f"{PY} -c 'import os, time; os.setsid(); time.sleep(300)' {marker} & sleep 0.3; echo ok"
    assert run(script) == ToolOutput("ok")
    assert_gone(marker)


def test_a_cancel_ends_the_tool_and_every_child(marker: str) -> None:
    script = (
        f"{PY} -c 'import os, time; os.setsid(); time.sleep(300)' {marker} & {PY} -c '{SLEEPER}' {marker}"
    )
    cancel = threading.Event()
    done: list[ToolOutput] = []
    worker = threading.Thread(target=lambda: done.append(run(script, cancel)))
    worker.start()
    wait_for(marker, count=3)  # sh, the child in its own session, the other child
    cancel.set()
    worker.join(5)
    assert done == [ToolOutput("the tool was stopped", is_error=True)]
    assert_gone(marker)


def test_output_past_the_cap_stops_the_tool() -> None:
    out = run("head -c 1073741824 /dev/zero", max_output=100)
    assert out.truncated and out.is_error and len(out.output) == 102


def test_a_tool_writing_exactly_the_cap_and_a_line_end_is_whole() -> None:
    assert run("printf '%0100d\\n' 0", max_output=100) == ToolOutput("0" * 100)


def test_an_executor_close_ends_what_is_running(marker: str) -> None:
    executor = ShellExecutor()
    tool = Tool("t", executor="shell", settings={"command": ["sh", "-c", f"{PY} -c '{SLEEPER}' {marker}"]})
    worker = threading.Thread(target=executor.run, args=(ToolCall(tool, "c1", {}), threading.Event()))
    worker.start()
    wait_for(marker)
    executor.close()
    assert_gone(marker)
    worker.join(5)
    assert not worker.is_alive()


def test_the_tool_runs_without_the_credentials_in_streamkits_environment(monkeypatch: Any) -> None:
    """A tool that prints its environment (what a model could ask a shell tool to do) shows no
    key; those its tools file passes on, and its own ``env``, it has."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-never-in-a-tool")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp-test-passed-on")
    monkeypatch.setenv("SSH_AUTH_SOCK", "/tmp/agent.sock")
    out = run("env")
    assert not out.is_error
    assert "sk-test-never-in-a-tool" not in out.output
    assert "ghp-test-passed-on" not in out.output
    assert "SSH_AUTH_SOCK=/tmp/agent.sock" in out.output.splitlines()
    assert "STREAMKIT_TOOL_NAME=t" in out.output.splitlines()
    out = run('env; [ "$GITHUB_TOKEN" = ghp-test-passed-on ] && echo passed on', pass_env=["GITHUB_*"],
              env={"SERVICE_TOKEN": "given"})  # fmt: skip
    lines = out.output.splitlines()
    assert "passed on" in lines  # (its value, echoed, is redacted: see below)
    assert "SERVICE_TOKEN=given" in lines
    assert "sk-test-never-in-a-tool" not in out.output


def test_a_credential_the_tool_is_given_is_redacted_from_what_it_writes(monkeypatch: Any) -> None:
    """The tool needs the token it is given; the model and the events do not, should it echo it
    (on stdout, or on stderr into an error). Short values are no secret to look for."""
    token = "ghp_" + "t" * 36
    monkeypatch.setenv("GITHUB_TOKEN", token)
    monkeypatch.setenv("GITHUB_USER", "octocat-the-long-name")  # passed on, not named as a credential
    given = "svc-" + "s" * 20
    script = 'echo "$GITHUB_TOKEN $GITHUB_USER $SERVICE_TOKEN $SHORT_TOKEN"; echo "$SERVICE_TOKEN" >&2'
    out = run(script, pass_env=["GITHUB_*"], env={"SERVICE_TOKEN": given, "SHORT_TOKEN": "abc"})
    assert out == ToolOutput(
        "[redacted] octocat-the-long-name [redacted] abc\n[stderr] [redacted]", is_error=True
    )
