"""Gemini: the tool results are ``functionResponse`` parts of ``user`` contents; ``response`` is an
object: ``{"error": ...}`` for a failed tool (the format's error convention), ``{"result": ...}``
for another output that is not an object, else the output object itself."""

from __future__ import annotations

from typing import Any

import orjson


def _text(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def results(body: dict[str, Any]) -> list[tuple[str, bool]]:
    out: list[tuple[str, bool]] = []
    for content in body["contents"]:
        for part in content.get("parts") or ():
            response = (
                (part.get("functionResponse") or {}).get("response") if isinstance(part, dict) else None
            )
            if not isinstance(response, dict):
                continue
            if "error" in response:
                out.append((_text(response["error"]), True))
            elif set(response) == {"result"}:
                out.append((_text(response["result"]), False))
            else:
                out.append((_text(response), False))
    return out


def images(body: dict[str, Any]) -> list[str]:
    """The base64 data of the ``inlineData`` parts of the ``functionResponse`` parts."""
    return [
        inner["inlineData"]["data"]
        for content in body["contents"]
        for part in content.get("parts") or ()
        for inner in (part.get("functionResponse") or {}).get("parts") or ()
        if "inlineData" in inner
    ]
