"""A tool as a child process: started apart from the runner, read within its cap, ended whole.

The ``shell`` executor runs every call this way, and the ``python`` executor runs each call's
worker process this way. What a call's processes get:

- **Their own session and process group** (``setsid``): a Ctrl-C on the terminal reaches
  run-tools alone, which then ends the tools itself; killing the group ends the tool and every
  child that stayed in it (``sleep 300 &``).
- **A marker in their environment**, ``STREAMKIT_TOOL_RUN=<random token>``, one per call and
  inherited by everything the tool starts. A child that calls ``setsid`` leaves the process group
  but keeps the marker: ending a call kills its group, then every process whose
  ``/proc/<pid>/environ`` holds the call's marker (and that process's group), again until none is
  left. Only a process started with a wiped environment (``env -i``) escapes this.
- **A death signal** (Linux): ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` through ctypes in the child
  before ``exec``, so the tool dies with the runner even when the runner is killed with SIGKILL
  and could clean nothing up. It covers the tool's own process, not its children.

A cgroup would catch every descendant, but it needs a writable, delegated cgroup tree, which an
unprivileged user rarely has (and this machine's cgroup v1 is read-only): not used. Where
``/proc`` or ``prctl`` are missing (macOS), the process group is what remains.

"Ended" is SIGKILL at once: a timeout, an output over the cap and a cancel are hard stops, and a
tool gets no grace period to outlive the call. A call ends when its main process exits, even
when a background child still holds its stdout open: what was written is kept and the rest of
the call's processes are killed.

Output is read as it comes, never more than the cap: ``stdout`` up to ``limit`` bytes, after
which the tool is ended (``overflow``), and ``stderr`` up to ``limit`` bytes, the rest drained
and dropped. Memory stays bounded by the cap, whatever the tool writes.
"""

from __future__ import annotations

import contextlib
import functools
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

MARKER = "STREAMKIT_TOOL_RUN"
_READ = 65536
_POLL = 0.05  # how often a read loop looks at the cancel event and the main process
_DRAIN = 1.0  # after the tool is ended, how long its pipes may take to reach end of file
_SWEEPS = 20  # bounded: a tool that forks as fast as it is killed still ends the loop


@dataclass
class Finished:
    """What a process call gave: its exit status (negative: the signal), what it wrote, and why
    it was stopped early (``"overflow"``, ``"cancel"``) or None."""

    returncode: int | None
    stdout: bytes
    stderr: bytes
    stopped: str | None = None


@functools.cache
def _death_signal() -> Callable[[], None] | None:
    """A ``preexec_fn`` that asks for SIGKILL when the runner dies (Linux), else None (made on
    first use: ctypes is not imported by a command that starts no tool)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def preexec() -> None:  # runs in the child between fork and exec: nothing that can block
        prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)

    return preexec


def prepare() -> None:
    """Make what starting a call's process needs before the first call (the death signal's
    ``prctl``, through ctypes: 3 of the 5 ms the first call took more than later ones, measured)."""
    _death_signal()


class Running:
    """The calls an executor has running, so that ``close`` can end those still going."""

    def __init__(self) -> None:
        self._calls: set[ToolProcess] = set()
        self._lock = threading.Lock()

    def started(self, start: Callable[[], ToolProcess]) -> ToolProcess:
        """Run ``start`` and list what it started, both under the lock: a process is visible
        (in ``/proc``) from its ``exec``, before ``Popen`` returns, so an ``end_all`` in between
        would otherwise miss it. (An executor may run again after ``close``: the agent closes
        those it used to declare tools, then runs them.)"""
        with self._lock:
            call = start()
            self._calls.add(call)
            return call

    def discard(self, call: ToolProcess) -> None:
        with self._lock:
            self._calls.discard(call)

    def end_all(self) -> None:
        """End every call still running (the run is over, or was interrupted)."""
        with self._lock:
            running = list(self._calls)
        for call in running:
            call.end()
            with contextlib.suppress(subprocess.TimeoutExpired):
                call.proc.wait(timeout=1)


class ToolProcess:
    """One call's process tree: started by :meth:`start`, read by :meth:`communicate`, ended by
    :meth:`end` (safe to call from any thread, any number of times)."""

    def __init__(self, proc: subprocess.Popen[bytes], token: str, running: Running) -> None:
        self.proc = proc
        self.token = token
        self.running = running

    @classmethod
    def start(
        cls, argv: Sequence[str], *, env: Mapping[str, str], running: Running, cwd: str | None = None
    ) -> ToolProcess:
        """Start ``argv`` in its own session with a fresh marker, listed in ``running`` until it
        is ended; ``OSError`` if it cannot start."""
        token = os.urandom(12).hex()

        def start() -> ToolProcess:
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env={**env, MARKER: token},
                cwd=cwd,
                start_new_session=True,
                preexec_fn=_death_signal(),
            )
            return cls(proc, token, running)

        return running.started(start)

    def communicate(self, data: bytes, limit: int, cancel: threading.Event) -> Finished:
        """Write ``data`` to stdin, read stdout and stderr up to ``limit`` bytes each, until the
        main process exits (then the rest of the tree is ended), stdout passes ``limit`` or
        ``cancel`` is set (then the whole tree is ended at once)."""
        proc = self.proc
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        threading.Thread(
            target=_feed, args=(proc.stdin, data), daemon=True, name="streamkit-tool-stdin"
        ).start()
        out, err = bytearray(), bytearray()
        stopped: str | None = None
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ, out)
            sel.register(proc.stderr, selectors.EVENT_READ, err)
            exited_at: float | None = None
            while sel.get_map():
                if cancel.is_set():
                    stopped = "cancel"
                    break
                if exited_at is None and self._exited():
                    # The main process is gone; a child may still hold the pipes open. Whatever
                    # was written before is in the pipes: end the rest, then read to the end.
                    self.end()
                    exited_at = time.monotonic()
                if exited_at is not None and time.monotonic() - exited_at > _DRAIN:
                    break  # a writer outside the tree (env -i) holds a pipe: do not wait for it
                for key, _ in sel.select(_POLL):
                    buf: bytearray = key.data
                    chunk = os.read(key.fd, _READ)
                    if not chunk:
                        sel.unregister(key.fileobj)
                        continue
                    room = limit + 1 - len(buf)
                    if room > 0:
                        buf += chunk[:room]
                    if buf is out and len(out) > limit:
                        stopped = "overflow"
                        break
                if stopped:
                    break
        if stopped is None and exited_at is None:
            # both pipes closed with the main process still alive: it is on its way out (a tool
            # closes its output just before it exits); give it the time to, or its own exit
            # would be taken for a kill
            deadline = time.monotonic() + _DRAIN
            while not self._exited() and time.monotonic() < deadline and not cancel.is_set():
                time.sleep(0.002)
        self.end()
        for pipe in (proc.stdout, proc.stderr):
            pipe.close()
        returncode = proc.wait()
        return Finished(returncode, bytes(out), bytes(err[:limit]), stopped)

    def _exited(self) -> bool:
        """Whether the main process has exited, leaving it unreaped: while it is a zombie its pid,
        the process group's id, cannot be given to another process, so the group can be killed
        without a chance of hitting a stranger."""
        if self.proc.returncode is not None:
            return True
        waitid = getattr(os, "waitid", None)
        if waitid is None:  # pragma: no cover - not on Linux
            return self.proc.poll() is not None
        try:
            return waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
        except ChildProcessError:
            return True

    def end(self) -> None:
        """Kill the call's process group, then every process that carries its marker."""
        if self.proc.returncode is None:  # not reaped yet: the group id is still this call's
            _killpg(self.proc.pid)
        kill_marked(self.token)
        self.running.discard(self)


def _feed(pipe: object, data: bytes) -> None:
    """Write the arguments and close stdin; a tool that does not read them is no error."""
    try:
        pipe.write(data)  # type: ignore[attr-defined]
    except (BrokenPipeError, OSError, ValueError):
        pass
    finally:
        with contextlib.suppress(OSError, ValueError):
            pipe.close()  # type: ignore[attr-defined]


def _killpg(pgid: int) -> None:
    if pgid <= 1 or pgid == os.getpgrp():
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def marked(token: str) -> list[int]:
    """The live processes whose environment holds ``STREAMKIT_TOOL_RUN=token`` (Linux ``/proc``)."""
    needle = f"\0{MARKER}={token}\0".encode()
    me = os.getpid()
    found = []
    try:
        names = os.listdir("/proc")
    except OSError:
        return []
    for name in names:
        if not name.isdigit() or int(name) == me:
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                environ = f.read()
        except OSError:  # gone, or not ours to read
            continue
        if needle in b"\0" + environ:
            found.append(int(name))
    return found


def kill_marked(token: str) -> None:
    """Kill every process carrying the marker, with its process group, until none is left."""
    for _ in range(_SWEEPS):
        pids = marked(token)
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                _killpg(os.getpgid(pid))
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.005)
