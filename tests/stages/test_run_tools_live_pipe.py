"""run-tools on a live pipe: its executors are made ready while the first line is on its way.

Behind an agent's model, ``run-tools``' first read waits. Before that read it asks each executor
to make what its first call would wait for (``Executor.warm_up``: ctypes for the process
executors' death signal, httpx for the http executor), so that the first tool starts as soon as
later ones do. These tests call the runner's warm-up directly, and watch a real ``streamkit
run-tools`` process import what its first call needs before any line is written to it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import types
from pathlib import Path
from typing import Any

import orjson

from streamkit.executors.base import Executor, ToolCall, ToolOutput
from streamkit.hookspecs import hookimpl
from streamkit.stages.run_tools import ToolRunner
from streamkit.testing import registry
from streamkit.tools import Tool

from ..conftest import STREAMKIT

CALL = {"type": "tool-call", "tool_call_id": "c1", "tool_name": "ping", "arguments": "{}", "input": {}}


class Noted(Executor):
    """Notes each warm-up; ``fail``: its warm-up raises."""

    def __init__(self, name: str, notes: list[str], fail: bool = False) -> None:
        self.name, self.notes, self.fail = name, notes, fail  # type: ignore[misc]

    def warm_up(self) -> None:
        self.notes.append(self.name)
        if self.fail:
            raise RuntimeError("cannot warm up")

    def run(self, call: ToolCall, cancel: threading.Event) -> ToolOutput:
        return ToolOutput(f"ran {call.tool.name}")


def test_the_runner_warms_each_executor_once_and_leaves_failures_to_the_calls() -> None:
    notes: list[str] = []
    executors = [Noted("failing", notes, fail=True), Noted("fine", notes)]
    plugin = types.SimpleNamespace(
        register_tool_executors=hookimpl(lambda register: [register(e) for e in executors])
    )
    tools = [Tool("a", executor="failing"), Tool("b", executor="fine"), Tool("c", executor="fine")]
    runner = ToolRunner(tools, registry=registry(plugin))
    try:
        runner.warm_up()
        assert sorted(notes) == ["failing", "fine"]
        result = runner.submit({**CALL, "tool_name": "a"}).result(timeout=30)
        assert result["output"] == "ran a" and not result.get("is_error")
    finally:
        runner.close()


def _imports(log: Path) -> list[str]:
    text = log.read_text(errors="replace")
    return [line.rsplit("|", 1)[1].strip() for line in text.splitlines() if line.startswith("import time:")]


def _run_tools(tmp_path: Path, stdin: Any) -> tuple[subprocess.Popen[bytes], Path]:
    tools = tmp_path / "tools.toml"
    tools.write_text('[[tools]]\nname = "ping"\nexecutor = "shell"\ncommand = ["echo", "pong"]\n')
    log = tmp_path / "imports.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-X", "importtime", str(STREAMKIT), "run-tools", "--tools", str(tools)],
                                stdin=stdin, stdout=subprocess.PIPE, stderr=err)  # fmt: skip
    return proc, log


def test_a_live_pipe_gets_its_executors_ready_before_the_first_line(tmp_path: Path) -> None:
    read, write = os.pipe()
    proc, log = _run_tools(tmp_path, read)
    os.close(read)
    with os.fdopen(write, "wb", buffering=0) as pipe:
        try:
            deadline = time.monotonic() + 10
            while "ctypes" not in _imports(log):  # the process executors' death signal, made ahead
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
                time.sleep(0.02)
            pipe.write(orjson.dumps(CALL) + b"\n")
        except BaseException:
            proc.kill()
            proc.communicate(timeout=30)
            raise
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    events = [orjson.loads(line) for line in out.splitlines()]
    assert [e["type"] for e in events] == ["tool-call", "tool-result"]
    assert events[1]["output"].strip() == "pong"


def test_a_file_with_no_call_makes_nothing_ahead(tmp_path: Path) -> None:
    events = tmp_path / "events.ndjson"
    events.write_bytes(b'{"type":"text-delta","id":"t","delta":"hi"}\n')
    with open(events, "rb") as stdin:
        proc, log = _run_tools(tmp_path, stdin)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0 and out == events.read_bytes()
    assert "ctypes" not in _imports(log)
