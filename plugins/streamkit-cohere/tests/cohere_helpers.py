"""Small helpers for the streamkit-cohere tests (plugin tests cannot use streamkit's conftest)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from streamkit import Registry, accumulate, normalize, render, replay, testing
from streamkit.testing import essence, messages, serving  # noqa: F401  (the tests import them from here)

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
REPO = HERE.parents[2]


def registry() -> Registry:
    """A fresh registry with streamkit's built-ins and this plugin, no other (streamkit.testing)."""
    return testing.registry("cohere")


def recordings(folder: str) -> list[Any]:
    """Parameters for the shared recordings of a folder, or one skipped parameter saying why."""
    return testing.recordings(folder)


def events_of(source: Path | bytes, reg: Registry | None = None, **options: Any) -> list[dict[str, Any]]:
    """replay → normalize → accumulate, in-process."""
    reg = reg or registry()
    data = source if isinstance(source, bytes) else source.read_bytes()
    return list(accumulate(normalize(replay(io.BytesIO(data)), registry=reg, **options)))


def encode(events: list[dict[str, Any]], fmt: str = "cohere", reg: Registry | None = None) -> bytes:
    return b"".join(render(iter(events), format=fmt, registry=reg or registry()))


def sdk_types() -> Any:
    """The official cohere SDK's union of v2 stream events (skips the test when it is absent)."""
    module = pytest.importorskip(
        "cohere.v2.types.v2chat_stream_response", reason="cohere (the test extra) is not installed"
    )
    return module.V2ChatStreamResponse


def validate_with_sdk(wire: bytes) -> list[tuple[str | None, Any]]:
    """Every event of a rendered stream validates (strictly) as the SDK's V2ChatStreamResponse, and
    its SSE event name is its ``type``."""
    from pydantic import TypeAdapter

    adapter = TypeAdapter(sdk_types())
    pairs = [(raw["event"], raw["data"]) for raw in replay(io.BytesIO(wire))]
    for event, data in pairs:
        assert event == data["type"]
        parsed = adapter.validate_python(data)
        assert parsed.type == data["type"]
    return pairs


def read_with_client(wire: bytes) -> list[Any]:
    """The events the official client's ``chat_stream`` yields when a server answers with ``wire``."""
    sdk_types()
    import cohere
    import httpx

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=wire)

    client = cohere.ClientV2(
        api_key="test-key", httpx_client=httpx.Client(transport=httpx.MockTransport(answer))
    )
    return list(client.chat_stream(model="command-a-03-2025", messages=[{"role": "user", "content": "hi"}]))


STREAMKIT = Path(sys.executable).parent / "streamkit"


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[bytes]:
    """The installed ``streamkit`` command as a real process."""
    return subprocess.run([str(STREAMKIT), *args], capture_output=True, env={**os.environ, **(env or {})},
                          timeout=timeout)  # fmt: skip


def ndjson(data: bytes) -> list[dict[str, Any]]:
    import orjson

    return [orjson.loads(line) for line in data.splitlines() if line.strip()]
