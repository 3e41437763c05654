"""A tool's process tree: read within its cap, ended whole (group, marker, death signal)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from streamkit.executors.process import MARKER, Running, ToolProcess, marked

from .procfs import (
    assert_gone,
    marker_fixture,  # noqa: F401 (the marker fixture)
    wait_for,
)

PY = sys.executable
SLEEPER = "import time; time.sleep(300)"


def start(script: str) -> ToolProcess:
    return ToolProcess.start(["sh", "-c", script], env=dict(os.environ), running=Running())


def test_the_call_ends_when_the_tool_exits_and_its_background_child_is_killed(marker: str) -> None:
    began = time.monotonic()
    done = start(f"{PY} -c '{SLEEPER}' {marker} & echo ok").communicate(b"", 100, threading.Event())
    assert (done.returncode, done.stdout, done.stopped) == (0, b"ok\n", None)
    assert time.monotonic() - began < 10  # the child holds stdout open: not waited for
    assert_gone(marker)


def test_a_child_that_left_the_process_group_is_found_by_its_marker_and_killed(marker: str) -> None:
    script = f"{PY} -c 'import os, time; os.setsid(); time.sleep(300)' {marker} >/dev/null 2>&1 & echo ok"
    done = start(script).communicate(b"", 100, threading.Event())
    assert done.stdout == b"ok\n"
    assert_gone(marker)


def test_cancel_kills_the_whole_tree_at_once(marker: str) -> None:
    script = (
        f"{PY} -c 'import os, time; os.setsid(); time.sleep(300)' {marker} & {PY} -c '{SLEEPER}' {marker}"
    )
    cancel = threading.Event()
    proc = start(script)
    threading.Timer(0.5, cancel.set).start()
    wait_for(marker)
    began = time.monotonic()
    done = proc.communicate(b"", 100, cancel)
    assert done.stopped == "cancel" and time.monotonic() - began < 5
    assert_gone(marker)


def test_reading_stops_past_the_cap_and_the_writer_is_killed() -> None:
    """1 GiB of output: at most the cap is held, and the tool does not get to write it all."""
    proc = start("head -c 1073741824 /dev/zero; echo finished >&2")
    began = time.monotonic()
    done = proc.communicate(b"", 1000, threading.Event())
    assert done.stopped == "overflow" and len(done.stdout) == 1001 and b"finished" not in done.stderr
    assert done.returncode == -signal.SIGKILL and time.monotonic() - began < 10


def test_stderr_is_kept_up_to_the_cap_and_the_rest_drained() -> None:
    done = start("head -c 10000000 /dev/zero >&2; echo ok").communicate(b"", 100, threading.Event())
    assert (done.stdout, len(done.stderr), done.stopped, done.returncode) == (b"ok\n", 100, None, 0)


def test_the_arguments_reach_stdin_and_a_tool_that_ignores_them_is_no_error() -> None:
    done = start("cat").communicate(b'{"a": 1}', 100, threading.Event())
    assert done.stdout == b'{"a": 1}'
    big = b"x" * 1_000_000  # more than a pipe holds, to a tool that never reads it
    done = start("echo ok").communicate(big, 100, threading.Event())
    assert (done.stdout, done.returncode) == (b"ok\n", 0)


def test_each_call_has_its_own_marker_in_the_environment() -> None:
    proc = start(f"echo ${MARKER}")
    done = proc.communicate(b"", 100, threading.Event())
    assert done.stdout.decode().strip() == proc.token and len(proc.token) >= 16
    assert marked(proc.token) == []


def test_end_all_ends_what_is_still_running(marker: str) -> None:
    running = Running()
    proc = ToolProcess.start(
        ["sh", "-c", f"{PY} -c '{SLEEPER}' {marker}"], env=dict(os.environ), running=running
    )
    reading = threading.Thread(target=proc.communicate, args=(b"", 100, threading.Event()))
    reading.start()
    wait_for(marker)
    running.end_all()
    assert_gone(marker)
    reading.join(5)
    assert not reading.is_alive()


def test_end_all_ends_a_call_caught_between_its_exec_and_its_listing(marker: str) -> None:
    """The process is in /proc before Popen returns: an end_all in that window still ends it."""
    running = Running()
    visible = threading.Event()

    def slow_start() -> ToolProcess:
        made = start(f"{PY} -c '{SLEEPER}' {marker}")
        visible.set()
        time.sleep(0.3)  # the window, widened: the process runs but is not listed yet
        return made

    made: list[ToolProcess] = []
    starting = threading.Thread(target=lambda: made.append(running.started(slow_start)))
    starting.start()
    assert visible.wait(10)
    running.end_all()
    assert_gone(marker)
    starting.join(5)
    assert made[0].communicate(b"", 100, threading.Event()).returncode == -signal.SIGKILL


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl(PR_SET_PDEATHSIG) is Linux's")
def test_the_tool_dies_with_a_runner_killed_by_sigkill(marker: str) -> None:
    """The runner gets no chance to clean up: the death signal ends the tool anyway."""
    runner = (
        "import os, sys, threading; from streamkit.executors.process import Running, ToolProcess; "
        f"p = ToolProcess.start([sys.executable, '-c', {SLEEPER!r}, {marker!r}], env=dict(os.environ), running=Running()); "
        "p.communicate(b'', 100, threading.Event())"
    )
    with subprocess.Popen([PY, "-c", runner]) as proc:
        try:
            wait_for(marker)
        finally:
            proc.kill()
    assert_gone(marker)


def test_the_cap_bounds_memory() -> None:
    """Peak RSS (VmHWM: this process's own, not what a fork inherits) of a process that reads
    1 GiB of tool output through ToolProcess (generous bound)."""
    reader = (
        "import os, threading; from streamkit.executors.process import Running, ToolProcess; "
        "p = ToolProcess.start(['head', '-c', '1073741824', '/dev/zero'], env=dict(os.environ), running=Running()); "
        "n = len(p.communicate(b'', 65536, threading.Event()).stdout); "
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0].split()[1]; "
        "print(n, hwm)"
    )
    result = subprocess.run([PY, "-c", reader], capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr
    read, peak_kb = map(int, result.stdout.split())
    assert read == 65537 and peak_kb * 1024 < 100 * 2**20
