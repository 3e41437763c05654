"""Ollama lines for the ollama dialect's tests: the recorded cases, and small builders of
``/api/chat`` lines and of what the encoder writes."""

from __future__ import annotations

import io
from typing import Any

import orjson

from streamkit.stages.fetch import replay
from streamkit.stages.render import render
from tests.conftest import DATA

CASES = DATA / "ollama"
ALL_CASES = sorted(p for p in CASES.glob("*.ndjson") if not p.name.endswith(".expected.ndjson"))


def of_type(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == kind]


def ndjson(*lines: Any) -> bytes:
    return b"".join(orjson.dumps(line) + b"\n" for line in lines)


def chat(content: str = "", **message: Any) -> dict[str, Any]:
    return {
        "model": "m",
        "created_at": "2025-01-01T00:00:00Z",
        "message": {"role": "assistant", "content": content, **message},
        "done": False,
    }


def done(reason: str | None = "stop", **fields: Any) -> dict[str, Any]:
    line: dict[str, Any] = {
        "model": "m",
        "created_at": "2025-01-01T00:00:01Z",
        "message": {"role": "assistant", "content": ""},
        "done": True,
    }
    if reason is not None:
        line["done_reason"] = reason
    return {**line, **fields}


def wire_of(events: list[dict[str, Any]], **options: Any) -> list[Any]:
    return [
        raw["data"] for raw in replay(io.BytesIO(b"".join(render(iter(events), format="ollama", **options))))
    ]
