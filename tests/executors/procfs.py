"""Finding a test's processes in /proc by a marker in their argv or environment."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator

import pytest


@pytest.fixture(name="marker")
def marker_fixture() -> Iterator[str]:
    """A marker for the test's tool processes; any still running at the end are killed."""
    value = f"streamkit-test-{uuid.uuid4().hex}"
    yield value
    for pid in with_marker(value):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def with_marker(marker: str) -> list[int]:
    """Live (not zombie) processes whose argv or environment holds ``marker``."""
    needle = marker.encode()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                if f.read().rsplit(b") ", 1)[1][:1] == b"Z":
                    continue
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmdline = f.read()
            with open(f"/proc/{name}/environ", "rb") as f:
                environ = f.read()
        except OSError:
            continue
        if needle in cmdline or needle in environ:
            found.append(int(name))
    return found


def wait_for(marker: str, count: int = 1, timeout: float = 10) -> list[int]:
    """Wait until ``count`` processes carry ``marker``; their pids (fails after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while len(pids := with_marker(marker)) < count:
        assert time.monotonic() < deadline, f"no process with {marker} started"
        time.sleep(0.02)
    return pids


def assert_gone(marker: str, timeout: float = 5) -> None:
    """Every process carrying ``marker`` ends within ``timeout``."""
    deadline = time.monotonic() + timeout
    while pids := with_marker(marker):
        if time.monotonic() > deadline:
            left = {pid: _cmdline(pid) for pid in pids}
            raise AssertionError(f"processes of the tool are still running: {left}")
        time.sleep(0.02)


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "?"
