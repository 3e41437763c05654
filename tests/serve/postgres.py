"""A throwaway PostgreSQL server for tests (as pytest-postgresql does): ``initdb`` and ``pg_ctl``
in a temporary folder, on a free port of 127.0.0.1 and a unix socket in that folder, ``fsync``
off, stopped and removed afterwards. As root (CI), the server runs as ``nobody``: PostgreSQL
refuses to run as root.

:func:`postgres_dsn` skips with the reason when PostgreSQL (``pg_ctl`` on PATH or under
``/usr/lib/postgresql/*/bin``) or psycopg is absent.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def pg_bin() -> Path | None:
    """The folder of ``pg_ctl`` and ``initdb``: on PATH, else Debian's newest."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    return Path(versions[-1]).parent if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def postgres_dsn() -> Iterator[str]:
    """A running PostgreSQL server's DSN (the ``postgres`` superuser, trusted on loopback)."""
    pytest.importorskip("psycopg", reason="psycopg 3 is not installed: pip install 'streamkit[postgres]'")
    bin_dir = pg_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (no pg_ctl on PATH or in /usr/lib/postgresql/*/bin)")
    folder = Path(tempfile.mkdtemp(prefix="streamkit-pg-"))
    user: str | None = None
    if os.geteuid() == 0:
        user = "nobody"
        shutil.chown(folder, user)
    data, port = folder / "data", _free_port()

    def run(*args: str, timeout: float = 60) -> None:
        subprocess.run(args, check=True, capture_output=True, timeout=timeout, user=user, cwd=folder)

    try:
        run(
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
        )
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start")
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        log = folder / "log"
        detail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        shutil.rmtree(folder, ignore_errors=True)
        stderr = getattr(exc, "stderr", b"") or b""
        pytest.fail(f"could not start PostgreSQL: {exc}: {stderr.decode(errors='replace')} {detail}")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        try:
            run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop", timeout=30)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
