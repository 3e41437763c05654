"""streamkit: small Unix commands for LLM streaming APIs, and the same stages as Python generators.

    from streamkit import replay, normalize, accumulate

    with open("recording.sse", "rb") as f:
        for event in accumulate(normalize(replay(f)), final=True):
            print(event["content"])

Names are imported on first use, so ``import streamkit`` stays cheap.
"""

from __future__ import annotations

import importlib

from . import _native

_native.guard()  # (a compiled build older than its sources is not used: see streamkit._native)

TYPE_CHECKING = False  # (not typing's: importing typing costs 4 ms of a stage's start)
if TYPE_CHECKING:
    from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    # stages
    "replay": "streamkit.stages.fetch",
    "normalize": "streamkit.stages.normalize",
    "accumulate": "streamkit.stages.accumulate",
    "Accumulator": "streamkit.stages.accumulate",
    "render": "streamkit.stages.render",
    "convert": "streamkit.stages.convert",
    # NDJSON runtime
    "read_events": "streamkit.ndjson",
    "EventWriter": "streamkit.ndjson",
    "write_events": "streamkit.ndjson",
    # plugins
    "get_plugin_manager": "streamkit.plugins",
    "Registry": "streamkit.plugins",
    "hookimpl": "streamkit.hookspecs",
    "Dialect": "streamkit.dialects.base",
    "Normalizer": "streamkit.dialects.base",
    "Encoder": "streamkit.dialects.base",
    "Format": "streamkit.formats.base",
    "Executor": "streamkit.executors.base",
    "ToolCall": "streamkit.executors.base",
    "ToolOutput": "streamkit.executors.base",
    # errors
    "StreamkitError": "streamkit.errors",
    "DataError": "streamkit.errors",
    "UsageError": "streamkit.errors",
    "UpstreamError": "streamkit.errors",
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'streamkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
