"""The python executor: each call in a worker process that the tool cannot take down with it."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from streamkit.errors import UsageError
from streamkit.executors.base import ToolCall, ToolOutput
from streamkit.executors.python import PythonExecutor
from streamkit.tools import Tool

from ..conftest import ROOT
from .procfs import (
    assert_gone,
    marker_fixture,  # noqa: F401 (the marker fixture)
)


def tool(function: str, settings: dict[str, Any] | None = None, **extra: Any) -> Tool:
    return Tool(
        "t",
        executor="python",
        settings={"function": f"tests.tools.helpers:{function}", "path": str(ROOT), **(settings or {})},
        **extra,
    )


def run(
    function: str,
    arguments: dict[str, Any] | None = None,
    cancel: threading.Event | None = None,
    settings: dict[str, Any] | None = None,
    **extra: Any,
) -> ToolOutput:
    executor = PythonExecutor()
    t = tool(function, settings, **extra)
    executor.check(t)
    try:
        return executor.run(ToolCall(t, "c1", arguments or {}), cancel or threading.Event())
    finally:
        executor.close()


@pytest.mark.parametrize(
    ("function", "arguments", "expected"),
    [
        ("add", {"a": 1, "b": 2.5}, ToolOutput('{"sum":3.5}')),  # a value other than a string: JSON
        ("slow_echo", {"text": "hi"}, ToolOutput("HI")),
        ("exits", {"code": 3}, ToolOutput("the tool called sys.exit(3)", is_error=True)),
        ("interrupts", {}, ToolOutput("the tool raised KeyboardInterrupt", is_error=True)),
        ("returns_none", {}, ToolOutput("the tool returned nothing (None)", is_error=True)),
        ("boom", {}, ToolOutput("the tool raised RuntimeError: the tool broke", is_error=True)),
        ("prints", {"text": "the answer"}, ToolOutput("the answer")),  # its print is not the answer
    ],
)
def test_whatever_the_function_does_is_an_answer(
    function: str, arguments: dict[str, Any], expected: ToolOutput
) -> None:
    assert run(function, arguments) == expected


def test_a_process_that_dies_without_an_answer_is_an_error() -> None:
    out = run("dies", {"code": 7})
    assert out == ToolOutput("the tool's process ended without an answer (exit status 7)", is_error=True)


def test_wrong_arguments_are_rejected_with_the_reason() -> None:
    out = run("add", {"a": 1})
    assert out.is_error and out.output.startswith("the tool rejected its arguments: ")


def test_a_huge_answer_crosses_no_more_than_the_cap() -> None:
    out = run("big", {"size": 200_000_000}, max_output=100)
    assert out == ToolOutput("y" * 101, truncated=True)


def test_a_hanging_tool_is_killed_when_cancelled() -> None:
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    began = time.monotonic()
    assert run("hang", cancel=cancel) == ToolOutput("the tool was stopped", is_error=True)
    assert time.monotonic() - began < 5


def test_what_the_tool_starts_ends_with_the_call(marker: str) -> None:
    assert run("starts_a_child", {"marker": marker}) == ToolOutput("started")
    assert_gone(marker)


def test_a_missing_module_is_a_usage_error_at_load_and_no_tool_code_runs_then(tmp_path: Path) -> None:
    executor = PythonExecutor()
    with pytest.raises(
        UsageError, match="cannot load no_such_module_x:f: no module named 'no_such_module_x'"
    ):
        executor.check(Tool("t", executor="python", settings={"function": "no_such_module_x:f"}))
    with pytest.raises(UsageError, match="tests.tools.nope"):
        executor.check(
            Tool("t", executor="python", settings={"function": "tests.tools.nope:f", "path": str(ROOT)})
        )
    (tmp_path / "loud.py").write_text(
        f"open({str(tmp_path / 'ran')!r}, 'w').close()\ndef f():\n    return 'ok'\n"
    )
    loud = Tool("t", executor="python", settings={"function": "loud:f", "path": str(tmp_path)})
    executor.check(loud)  # found, not imported
    assert not (tmp_path / "ran").exists()
    assert executor.run(ToolCall(loud, "c1", {}), threading.Event()) == ToolOutput("ok")
    assert (tmp_path / "ran").exists()


def test_a_missing_function_is_that_calls_error() -> None:
    out = run("no_such_function")
    assert out.is_error and "cannot load tests.tools.helpers:no_such_function" in out.output


def test_the_worker_runs_without_the_credentials_in_streamkits_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-never-in-a-tool")
    monkeypatch.setenv("WEATHER_API_KEY", "passed-on")
    names = ["ANTHROPIC_API_KEY", "WEATHER_API_KEY", "HOME", "STREAMKIT_TOOL_NAME", "GREETING"]
    out = run(
        "environment", {"names": names}, settings={"pass_env": ["WEATHER_*"], "env": {"GREETING": "hi"}}
    )
    assert orjson.loads(out.output) == {"ANTHROPIC_API_KEY": None, "WEATHER_API_KEY": "passed-on",
                                        "HOME": os.environ.get("HOME"), "STREAMKIT_TOOL_NAME": "t",
                                        "GREETING": "hi"}  # fmt: skip
    out = run("environment", {"names": names})
    assert orjson.loads(out.output)["WEATHER_API_KEY"] is None


def test_wrong_environment_settings_are_a_usage_error() -> None:
    with pytest.raises(UsageError, match="^tool 't': 'pass_env' must be a list"):
        PythonExecutor().check(tool("add", {"pass_env": "WEATHER_API_KEY"}))


def test_a_credential_the_worker_is_given_is_redacted_from_its_answer_and_what_it_prints(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    token = "wk-" + "w" * 30
    monkeypatch.setenv("WEATHER_API_KEY", token)
    out = run("environment", {"names": ["WEATHER_API_KEY"]}, settings={"pass_env": ["WEATHER_API_KEY"]})
    assert orjson.loads(out.output) == {"WEATHER_API_KEY": "[redacted]"}
    out = run("says", {"text": f"the key is {token}"}, settings={"pass_env": ["WEATHER_API_KEY"]})
    assert out.output == "the key is [redacted]"
    assert capsys.readouterr().err == "the key is [redacted]\n"
