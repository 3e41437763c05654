"""Gemini chunks for the gemini tests: the cases under tests/data/gemini/, a chunk built from its
parts, what ``render -f gemini`` writes, and a check of one chunk against the google-genai SDK's type."""

from __future__ import annotations

import io
from typing import Any

import orjson

from streamkit.stages.fetch import replay
from streamkit.stages.render import render
from tests.conftest import DATA

CASES = DATA / "gemini"
ALL_CASES = sorted(p for p in CASES.glob("*") if p.suffix in (".sse", ".json"))


def chunk(parts: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    cand: dict[str, Any] = {"content": {"role": "model", "parts": parts}}
    extra = {
        k: fields.pop(k)
        for k in ("finishReason", "groundingMetadata", "index", "logprobsResult")
        if k in fields
    }
    cand.update(extra)
    return {"candidates": [cand], "modelVersion": "gemini-test", "responseId": "r1", **fields}


def wire_of(events: list[dict[str, Any]]) -> list[Any]:
    return [raw["data"] for raw in replay(io.BytesIO(b"".join(render(iter(events), format="gemini"))))]


def validate_chunk(data: Any) -> None:
    """One wire chunk against google-genai's own type (which forbids unknown fields)."""
    from google.genai import types

    if isinstance(data, dict) and "error" in data:
        assert set(data) == {"error"} and isinstance(data["error"]["code"], int)
        return
    data = orjson.loads(orjson.dumps(data))
    for cand in data.get("candidates") or ():
        cites = cand.get("citationMetadata")
        if cites:  # the Gemini API's name for what the SDK type calls `citations`
            cand["citationMetadata"] = {"citations": cites.pop("citationSources")}
    types.GenerateContentResponse.model_validate(data)
