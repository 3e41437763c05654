"""What the gateway's tests share: a real MCP server (``tests/serve/mcp_server.py``)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from streamkit.testing import stop

#: the bearer token the MCP server wants
TOKEN = "mcp-secret-token-7f3a9c"


@pytest.fixture(scope="module")
def mcp_url() -> Iterator[str]:
    """The URL of a real MCP server (two tools; wants ``Authorization: Bearer TOKEN``)."""
    server = Path(__file__).with_name("mcp_server.py")
    proc = subprocess.Popen(
        [sys.executable, str(server), TOKEN], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode().strip()  # printed once the socket listens
        assert line.startswith("http://127.0.0.1:"), proc.stderr.read() if proc.stderr else line
        yield line
    finally:
        stop(proc)
