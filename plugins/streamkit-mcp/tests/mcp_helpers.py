"""Helpers for the streamkit-mcp tests (plugin tests cannot use streamkit's conftest): the real
test MCP server (stdio or streamable HTTP), tools files that declare it, the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from streamkit import Registry, testing

HERE = Path(__file__).resolve().parent
SERVER = HERE / "mcp_test_server.py"
PY = sys.executable
STREAMKIT = Path(sys.executable).parent / "streamkit"

#: Every tool the test server lists, in its order.
SERVER_TOOLS = ["add", "echo", "weather", "refuse", "crash", "slow", "empty", "big", "media", "environment",
                "header", "die", "files.read"]  # fmt: skip


def registry() -> Registry:
    """A fresh registry with streamkit's built-ins and this plugin, no other (streamkit.testing)."""
    return testing.registry("mcp")


def toml_value(value: Any) -> str:
    """A TOML value (strings, numbers, lists and tables of them): JSON's syntax is TOML's here."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(value)


def entry(name: str = "test", **fields: Any) -> str:
    """One [[tools]] table: an ``mcp`` entry for the stdio test server unless told otherwise."""
    fields = {"executor": "mcp", **fields}
    if "command" not in fields and "url" not in fields:
        fields["command"] = [PY, str(SERVER)]
    return (
        "[[tools]]\n"
        + f"name = {json.dumps(name)}\n"
        + "".join(f"{k} = {toml_value(v)}\n" for k, v in fields.items())
    )


def tools_file(tmp_path: Path, *entries: str) -> Path:
    path = tmp_path / "tools.toml"
    path.write_text("\n".join(entries))
    return path


def call(call_id: str, name: str, args: Any = None, **extra: Any) -> dict[str, Any]:
    """A client tool-call event, as normalize writes it."""
    event = {"type": "tool-call", "tool_call_id": call_id, "tool_name": name,
             "arguments": json.dumps(args or {}), "input": args if args is not None else {}}  # fmt: skip
    event.update(extra)
    return event


def results(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["tool_call_id"]: e for e in events if e["type"] == "tool-result"}


def ndjson(data: bytes) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in data.splitlines() if line.strip()]


def lines(events: list[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(e) + b"\n" for e in events)


def run_cli(*args: str, input: bytes = b"", timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    """Run the installed ``streamkit`` console script as a real process."""
    return subprocess.run([str(STREAMKIT), *args], input=input, capture_output=True, timeout=timeout)


def pids(pidfile: Path) -> list[int]:
    """The pids of the test servers started so far (one line per start)."""
    return [int(p) for p in pidfile.read_text().split()] if pidfile.exists() else []


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:  # a zombie waiting for its parent is not running
            return f.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


def wait_gone(pid: int, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while alive(pid):
        assert time.monotonic() < deadline, f"the MCP server (pid {pid}) is still running"
        time.sleep(0.02)


@contextmanager
def http_server(pidfile: Path | None = None) -> Iterator[str]:
    """The test server over streamable HTTP on a free port; yields its URL."""
    env = {**os.environ, **({"MCP_TEST_PIDFILE": str(pidfile)} if pidfile else {})}
    proc = subprocess.Popen(
        [PY, str(SERVER), "--http"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().decode().strip()
        assert url.startswith("http://127.0.0.1:"), proc.stderr.read() if proc.stderr else url
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()
