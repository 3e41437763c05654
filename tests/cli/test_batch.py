"""``convert`` over many files: -o DIR, -j N, the failure summary, exit 65, the progress bar on a
terminal. Real processes."""

from __future__ import annotations

import os
import pty
import select
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from streamkit.batch import convert_bytes

from ..conftest import DATA, STREAMKIT, run_cli


def inputs(tmp_path: Path) -> Path:
    src = tmp_path / "in"
    shutil.copytree(DATA / "anthropic", src / "anthropic", ignore=shutil.ignore_patterns("*.ndjson"))
    shutil.copytree(DATA / "openai-chat", src / "chat", ignore=shutil.ignore_patterns("*.ndjson"))
    (src / "notes.txt").write_text("just some text, not a recording\n")
    return src


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_directory_into_a_directory(tmp_path: Path, jobs: str) -> None:
    src = inputs(tmp_path)
    out = tmp_path / "out"
    result = run_cli("convert", "--to", "gemini", "-o", str(out), "-j", jobs, str(src), timeout=120)
    assert result.returncode == 65, result.stderr
    recordings = sorted(p for p in src.rglob("*.sse"))
    for i, p in enumerate(recordings):  # every good one written under its own name, as convert writes it
        target = out / p.relative_to(src).with_suffix(".sse")
        if (
            i % 20 == 0
        ):  # the command itself, for a few (streamkit.batch's in-process twin is checked against it)
            single = run_cli("convert", "--to", "gemini", str(p))
            ok, output = single.returncode in (0, 1), single.stdout
        else:
            converted = convert_bytes(p.read_bytes(), to="gemini", name=p.name)
            ok, output = converted.exit_code in (0, 1), converted.output
        if ok:
            assert target.read_bytes() == output, p
        else:
            assert not target.exists()
    assert not (out / "notes.sse").exists()
    err = result.stderr.decode().splitlines()
    assert err[0].startswith(
        f"streamkit convert: {len(list(out.rglob('*.sse')))} of {len(recordings) + 1} files"
    )
    assert any(
        line.startswith(f"streamkit convert:   {src / 'notes.txt'}: failed: line 1: not a recording")
        for line in err
    )
    assert any(
        "anthropic/error-overloaded.sse: the stream ends in an error: Overloaded" in line for line in err
    )


def test_exit_codes_of_a_batch(tmp_path: Path) -> None:
    good, failing = DATA / "anthropic" / "text.sse", DATA / "anthropic" / "error-overloaded.sse"
    out = tmp_path / "out"
    assert run_cli("convert", "--to", "text", "-o", str(out), str(good)).returncode == 0
    assert (out / "text.txt").read_bytes() == run_cli("convert", "--to", "text", str(good)).stdout
    assert run_cli("convert", "--to", "text", "-o", str(out), str(good), str(failing)).returncode == 1
    assert (
        run_cli(
            "convert", "--ignore-errors", "--to", "text", "-o", str(out), str(good), str(failing)
        ).returncode
        == 0
    )
    several = run_cli("convert", "--to", "text", str(good), str(failing))
    assert (several.returncode, several.stdout) == (2, b"")
    assert b"add -o DIR" in several.stderr
    folder = run_cli("convert", "--to", "text", str(DATA / "anthropic"))
    assert folder.returncode == 2 and b"is a directory" in folder.stderr
    unknown = run_cli("convert", "--to", "klingon", "-o", str(out), str(good))
    assert unknown.returncode == 2 and b"klingon" in unknown.stderr


def test_a_progress_bar_on_a_terminal_only(tmp_path: Path) -> None:
    src = inputs(tmp_path)
    piped = run_cli("convert", "--to", "gemini", "-o", str(tmp_path / "a"), str(src))
    assert b"converting" not in piped.stderr  # stderr is a pipe: no bar
    leader, follower = pty.openpty()
    proc = subprocess.Popen([str(STREAMKIT), "convert", "--to", "gemini", "-o", str(tmp_path / "b"), str(src)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=follower)  # fmt: skip
    os.close(follower)
    seen = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 1)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the other end closed
                break
            if not chunk:
                break
            seen += chunk
        elif proc.poll() is not None:
            break
    os.close(leader)
    assert proc.wait(timeout=30) == 65
    assert b"converting" in seen and b"files converted into" in seen


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_stops_the_workers_with_the_command(signum: int, code: int, tmp_path: Path) -> None:
    """SIGTERM to ``convert -j 2`` (``timeout``, ``docker stop``) behaves as Ctrl-C sent to it
    alone: the command stops at once with its workers, exit 143 (130). With SIGTERM's default the
    workers ran on, orphaned, holding the command's standard error open."""
    src = tmp_path / "in"
    src.mkdir()
    recording = (DATA / "openai-chat" / "content-parts.sse").read_bytes()
    for n in range(4000):
        (src / f"r{n}.sse").write_bytes(recording)
    with subprocess.Popen([str(STREAMKIT), "convert", "--to", "anthropic", "-j", "2", "-o", str(tmp_path / "out"),
                           str(src)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as proc:  # fmt: skip
        deadline = time.monotonic() + 60
        while not (tmp_path / "out").exists() or not any(
            (tmp_path / "out").iterdir()
        ):  # (the workers are at it)
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.02)
        workers = [int(pid) for pid in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()]
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=30)  # (the workers' end closes standard error)
    assert proc.returncode == code and b"Traceback" not in err, err
    assert len(list((tmp_path / "out").iterdir())) < 4000  # (stopped, not run to its end)
    deadline = time.monotonic() + 5
    while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]
