"""Small helpers for the streamkit-bedrock tests (plugin tests cannot use streamkit's conftest)."""

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
    return testing.registry("bedrock")


def recordings(folder: str) -> list[Any]:
    """Parameters for the shared recordings of a folder, or one skipped parameter saying why."""
    return testing.recordings(folder)


def events_of(source: Path | bytes, reg: Registry | None = None, **options: Any) -> list[dict[str, Any]]:
    """replay → normalize → accumulate, in-process."""
    reg = reg or registry()
    data = source if isinstance(source, bytes) else source.read_bytes()
    return list(accumulate(normalize(replay(io.BytesIO(data)), registry=reg, **options)))


def encode(events: list[dict[str, Any]], fmt: str = "bedrock", reg: Registry | None = None) -> bytes:
    return b"".join(render(iter(events), format=fmt, registry=reg or registry()))


def botocore_stream_shape() -> Any:
    botocore = pytest.importorskip("botocore.session", reason="botocore (the test extra) is not installed")
    model = botocore.get_session().get_service_model("bedrock-runtime")
    return model.operation_model("ConverseStream").output_shape.members["stream"]


def validate_with_botocore(wire: bytes) -> list[tuple[str | None, Any]]:
    """Every event of a rendered stream validates against botocore's shape for it."""
    shape = botocore_stream_shape()  # skips the test when botocore is absent
    from botocore.validate import ParamValidator

    validator = ParamValidator()
    pairs = [(raw["event"], raw["data"]) for raw in replay(io.BytesIO(wire))]
    for event, data in pairs:
        assert event in shape.members, event
        if event == "metadata" and "serverToolUsage" in data.get("usage", {}):
            # real Bedrock sends it (see the recordings), botocore's service model does not know it yet
            data = {**data, "usage": {k: v for k, v in data["usage"].items() if k != "serverToolUsage"}}
        report = validator.validate(data, shape.members[event])
        assert not report.has_errors(), report.generate_report()
    return pairs


def read_with_botocore(wire: bytes) -> list[dict[str, Any]]:
    """The events botocore's own event-stream reader (what boto3's converse_stream uses) parses."""
    shape = botocore_stream_shape()  # skips the test when botocore is absent
    from botocore.eventstream import EventStream
    from botocore.parsers import EventStreamJSONParser

    class Body:
        def stream(self) -> Any:
            yield wire

        def close(self) -> None:
            pass

    return list(EventStream(Body(), shape, EventStreamJSONParser(), "ConverseStream"))


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
