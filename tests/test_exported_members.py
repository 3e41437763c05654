"""The public Python API is what __all__ says, and every name in it resolves."""

from __future__ import annotations

import streamkit


def test_all() -> None:
    assert streamkit.__all__ == [
        "Accumulator",
        "DataError",
        "Dialect",
        "Encoder",
        "EventWriter",
        "Executor",
        "Format",
        "Normalizer",
        "Registry",
        "StreamkitError",
        "ToolCall",
        "ToolOutput",
        "UpstreamError",
        "UsageError",
        "__version__",
        "accumulate",
        "convert",
        "get_plugin_manager",
        "hookimpl",
        "normalize",
        "read_events",
        "render",
        "replay",
        "write_events",
    ]
    for name in streamkit.__all__:
        assert getattr(streamkit, name) is not None


def test_import_is_cheap() -> None:
    """`import streamkit` and the normalize path load neither httpx nor pydantic."""
    import subprocess
    import sys

    code = (
        "import sys, io, streamkit; from streamkit.stages.normalize import normalize; "
        "from streamkit.stages.accumulate import accumulate; from streamkit.cli import cli; "
        "list(accumulate(normalize([{'object': 'chat.completion.chunk', 'choices': []}]))); "
        "print(sorted(m for m in ('httpx', 'pydantic') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr
