"""run-tools and the processes of its tools: the output cap bounds memory, nothing of a tool
outlives its call, and a signal still writes every result."""

from __future__ import annotations

import http.server
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import orjson
import pytest

from ..conftest import ROOT, STREAMKIT, ndjson, run_cli
from ..executors.procfs import (
    assert_gone,
    marker_fixture,  # noqa: F401 (the marker fixture)
    wait_for,
)
from .test_run_tools import PY, call, results, tools_file

# --- the output cap bounds memory -------------------------------------------------------------


def test_peak_memory_of_run_tools_with_a_tool_that_writes_1_gib(tmp_path: Path) -> None:
    """The peak RSS of run-tools' own memory (VmHWM, read while it still runs, once the result is
    out; wait4's ru_maxrss would count the pytest process it was forked from). Before the cap
    bounded reading, this took 3.1 GB."""
    path = tools_file(tmp_path, """
[[tools]]
name = "flood"
executor = "shell"
command = ["head", "-c", "1073741824", "/dev/zero"]
timeout = 60
""")  # fmt: skip
    began = time.monotonic()
    with subprocess.Popen([str(STREAMKIT), "run-tools", "--tools", str(path)], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:  # fmt: skip
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        proc.stdin.write(orjson.dumps(call("c1", "flood")) + b"\n")
        proc.stdin.flush()
        out = proc.stdout.readline() + proc.stdout.readline()  # the call, then its result
        status = Path(f"/proc/{proc.pid}/status").read_text()
        proc.stdin.close()
        proc.wait(timeout=30)
    assert proc.returncode == 0, proc.stderr.read()
    peak = int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1]) * 1024
    assert peak < 200 * 2**20, f"peak RSS {peak / 2**20:.0f} MiB"
    assert time.monotonic() - began < 30
    (result,) = results(ndjson(out)).values()
    assert result["is_error"] and result["output"].endswith(
        "[output truncated: the tool wrote more than 65536 bytes, the limit, and was stopped there]"
    )


# --- nothing of a tool outlives its call --------------------------------------------------------


def marked_tools(tmp_path: Path, marker: str) -> Path:
    sleeper = f"{PY} -c 'import time; time.sleep(300)' {marker}"
    in_own_session = f"{PY} -c 'import os, time; os.setsid(); time.sleep(300)' {marker}"
    return tools_file(tmp_path, f"""
[[tools]]
name = "background"
executor = "shell"
timeout = 20
command = ["sh", "-c", "{sleeper} & echo ok"]

[[tools]]
name = "setsid"
executor = "shell"
timeout = 20
command = ["sh", "-c", "{in_own_session} >/dev/null & sleep 0.3; echo ok"]

[[tools]]
name = "hang"
executor = "shell"
timeout = 1
command = ["sh", "-c", "{in_own_session} & {sleeper}"]

[[tools]]
name = "hang_long"
executor = "shell"
timeout = 60
command = ["sh", "-c", "{in_own_session} & {sleeper}"]

[[tools]]
name = "quick"
executor = "shell"
command = ["echo", "quick"]
""")  # fmt: skip


@pytest.mark.parametrize(
    ("name", "output", "is_error"),
    [
        ("background", "ok", False),  # done, with a child still running
        ("setsid", "ok", False),  # done, with a child that left the process group
        ("hang", "error: the tool did not finish within 1 seconds and was stopped", True),
    ],
)
def test_no_process_of_a_tool_outlives_its_call(
    tmp_path: Path, name: str, output: str, is_error: bool, marker: str
) -> None:
    path = marked_tools(tmp_path, marker)
    began = time.monotonic()
    result = run_cli(
        "run-tools", "--tools", str(path), input=orjson.dumps(call("c1", name)) + b"\n", timeout=30
    )
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - began < 15
    (got,) = results(ndjson(result.stdout)).values()
    assert (got["output"], got["is_error"]) == (output, is_error)
    assert_gone(marker)


def _read_until(proc: subprocess.Popen[bytes], seen: bytearray, needle: bytes, timeout: float = 15) -> None:
    import select

    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while needle not in seen:
        assert time.monotonic() < deadline, f"{needle!r} never came: {bytes(seen)!r}"
        ready, _, _ = select.select([proc.stdout], [], [], 0.1)
        if ready:
            seen += os.read(proc.stdout.fileno(), 65536)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_writes_every_result_ends_every_tool_and_exits(
    tmp_path: Path, marker: str, signum: int, code: int
) -> None:
    """SIGTERM behaves as Ctrl-C: one call done, one running, one waiting for the slot, and each
    gets its result; nothing of the tools is left."""
    path = marked_tools(tmp_path, marker)
    stream = [call("c1", "quick"), call("c2", "hang_long"), call("c3", "hang_long")]
    with subprocess.Popen([str(STREAMKIT), "run-tools", "--tools", str(path), "--parallel", "1"], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:  # fmt: skip
        assert proc.stdin is not None and proc.stderr is not None and proc.stdout is not None
        proc.stdin.write(b"".join(orjson.dumps(e) + b"\n" for e in stream))
        proc.stdin.flush()  # left open: run-tools is still reading when the signal comes
        seen = bytearray()
        _read_until(proc, seen, b'"output":"quick"')
        wait_for(marker, count=3)  # sh, its child in its own session, the sleeper
        proc.send_signal(signum)
        assert proc.wait(timeout=15) == code
        seen += proc.stdout.read()
        assert proc.stderr.read() == b""
    out = results(ndjson(bytes(seen)))
    assert {c: (r["output"], r["is_error"]) for c, r in out.items()} == {
        "c1": ("quick", False),
        "c2": ("error: the run was interrupted before the tool finished", True),
        "c3": ("error: the run was interrupted before the tool started", True),
    }
    assert_gone(marker)


# --- a python or http tool cannot hold the runner ------------------------------------------------

PYTHON_TOOLS = f"""
[[tools]]
name = "hang"
executor = "python"
function = "tests.tools.helpers:hang"
path = "{ROOT}"
timeout = 0.5

[[tools]]
name = "exits"
executor = "python"
function = "tests.tools.helpers:exits"
path = "{ROOT}"

[[tools]]
name = "interrupts"
executor = "python"
function = "tests.tools.helpers:interrupts"
path = "{ROOT}"

[[tools]]
name = "returns_none"
executor = "python"
function = "tests.tools.helpers:returns_none"
path = "{ROOT}"

[[tools]]
name = "dies"
executor = "python"
function = "tests.tools.helpers:dies"
path = "{ROOT}"

[[tools]]
name = "add"
executor = "python"
function = "tests.tools.helpers:add"
path = "{ROOT}"
"""


def test_a_hanging_python_tool_times_out_and_run_tools_exits_at_once(tmp_path: Path, marker: str) -> None:
    began = time.monotonic()
    result = run_cli("run-tools", "--tools", str(tools_file(tmp_path, PYTHON_TOOLS)),
                     input=orjson.dumps(call("c1", "hang")) + b"\n", env={"STREAMKIT_TEST_MARKER": marker}, timeout=30)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - began < 10
    (got,) = results(ndjson(result.stdout)).values()
    assert (got["output"], got["is_error"]) == (
        "error: the tool did not finish within 0.5 seconds and was stopped",
        True,
    )
    assert_gone(marker)


def test_a_python_tool_cannot_end_run_tools(tmp_path: Path) -> None:
    """sys.exit, KeyboardInterrupt, os._exit and None are each that call's error; the rest goes on."""
    names = ["exits", "interrupts", "dies", "returns_none", "add"]
    stream = b"".join(orjson.dumps(call(n, n, {"a": 1, "b": 2} if n == "add" else {})) + b"\n" for n in names)
    result = run_cli(
        "run-tools", "--tools", str(tools_file(tmp_path, PYTHON_TOOLS)), input=stream, timeout=60
    )
    assert (result.returncode, result.stderr) == (0, b"")
    out = {c: (r["output"], r["is_error"]) for c, r in results(ndjson(result.stdout)).items()}
    assert out == {
        "exits": ("the tool called sys.exit(3)", True),
        "interrupts": ("the tool raised KeyboardInterrupt", True),
        "dies": ("the tool's process ended without an answer (exit status 7)", True),
        "returns_none": ("the tool returned nothing (None)", True),
        "add": ('{"sum":3}', False),
    }


def test_a_trickling_http_tool_times_out_and_run_tools_exits_at_once(tmp_path: Path) -> None:
    from ..executors.test_http import Handler

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.stopping = threading.Event()  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    path = tools_file(tmp_path, f'[[tools]]\nname = "remote"\nexecutor = "http"\ntimeout = 1\nurl = "http://127.0.0.1:{server.server_port}/trickle"\n')  # fmt: skip
    try:
        began = time.monotonic()
        result = run_cli(
            "run-tools", "--tools", str(path), input=orjson.dumps(call("c1", "remote")) + b"\n", timeout=40
        )
        elapsed = time.monotonic() - began
    finally:
        server.stopping.set()  # type: ignore[attr-defined]
        server.shutdown()
        server.server_close()
    assert result.returncode == 0, result.stderr
    assert elapsed < 10
    (got,) = results(ndjson(result.stdout)).values()
    assert got["is_error"] and "within 1" in got["output"]
