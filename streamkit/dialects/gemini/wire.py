"""Gemini's shared vocabulary: the dialect's name, the finish reasons and candidate fields that
both the normalizer and the encoder map, and the parts written back (by the encoder, and in the
``model`` turns of a request)."""

from __future__ import annotations

from typing import Any

from ...conversation import IMAGE_GENERATION
from ..base import IMAGE_FORMATS, SEARCH_CALL_NAMES

NAME = "gemini"

FINISH_REASONS = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content-filter",
    "RECITATION": "content-filter",
    "BLOCKLIST": "content-filter",
    "PROHIBITED_CONTENT": "content-filter",
    "SPII": "content-filter",
    "IMAGE_SAFETY": "content-filter",
    "IMAGE_PROHIBITED_CONTENT": "content-filter",
    "IMAGE_RECITATION": "content-filter",
    "MALFORMED_FUNCTION_CALL": "error",
}

# candidate fields kept in finish.provider_metadata, under these names
_CANDIDATE_FIELDS = {
    "safetyRatings": "safety_ratings",
    "urlContextMetadata": "url_context_metadata",
    "finishMessage": "finish_message",
    "avgLogprobs": "avg_logprobs",
}

CODE_EXECUTION = "code_execution"
#: the ``toolType`` of a Google search's server-side tool call
SEARCH_TOOL_TYPE = "GOOGLE_SEARCH_WEB"


def foreign_image(ev: dict[str, Any]) -> bool:
    """Whether a provider-executed call or result is another provider's image generation (a
    Responses ``image_generation_call``): its image is the result's, an ``inlineData`` part, as
    Gemini's image models write theirs."""
    meta = (ev.get("provider_metadata") or {}).get(NAME) or {}
    return ev.get("tool_name") == IMAGE_GENERATION and not meta.get("tool_type")


def generated_image_part(ev: dict[str, Any]) -> dict[str, Any] | None:
    """Another provider's generated image (its result's base64 ``result``, in its
    ``output_format``: PNG when it names none) as an ``inlineData`` part; None when the result
    holds no image (a generation that failed)."""
    output = ev.get("output")
    if not isinstance(output, dict) or ev.get("is_error"):
        return None
    data, kind = output.get("result"), output.get("output_format")
    if not isinstance(data, str) or not data:
        return None
    mime = f"image/{kind}" if kind in IMAGE_FORMATS else "image/png"
    return {"inlineData": {"mimeType": mime, "data": data}}


def _dumps(value: Any) -> str:
    from orjson import dumps

    return dumps(value).decode()


# --- parts written back (by the encoder, and in the model turns of a request) --------------------


def executed_call_part(
    ev: dict[str, Any], value: Any, meta: dict[str, Any], code_ids: dict[str, str | None],
    searches: bool = False,
) -> dict[str, Any] | None:  # fmt: skip
    """A provider-executed call that came from Gemini as its part (``toolCall`` for a server-side
    tool, ``executableCode`` for code execution), or None for another provider's executed tool.
    ``code_ids`` (canonical call id → ``executableCode`` id) is filled for the results that follow.
    With ``searches`` (the encoder's, not a request's turns: Gemini reads back only its own), another
    provider's web search is a ``toolCall`` of a Google search, and a Responses code interpreter's
    run is ``executableCode``."""
    part: dict[str, Any]
    if searches and not meta.get("tool_type") and ev.get("tool_name") in SEARCH_CALL_NAMES:
        meta = {**meta, "tool_type": SEARCH_TOOL_TYPE}  # another provider's web search, as Gemini's own
    if meta.get("tool_type"):
        call: dict[str, Any] = {"toolType": meta["tool_type"]}
        if value:
            call["args"] = value
        if not meta.get("generated_id"):
            call["id"] = ev["tool_call_id"]
        part = {"toolCall": call}
    elif (
        (ev.get("tool_name") == CODE_EXECUTION or (searches and ev.get("tool_name") == "code_interpreter"))
        and isinstance(value, dict)
        and isinstance(value.get("code"), str)
    ):  # (Gemini's own, or with ``searches`` a Responses code_interpreter_call: its code, run the same way)
        code: dict[str, Any] = {"language": value.get("language") or "PYTHON", "code": value["code"]}
        code_id = None if meta.get("generated_id") else ev["tool_call_id"]
        if code_id:
            code["id"] = code_id
        code_ids[ev["tool_call_id"]] = code_id
        part = {"executableCode": code}
    else:
        return None
    if meta.get("thought_signature"):
        part["thoughtSignature"] = meta["thought_signature"]
    return part


def executed_result_part(
    ev: dict[str, Any], code_ids: dict[str, str | None], searches: bool = False
) -> dict[str, Any] | None:
    """A provider-executed result as its Gemini part (``toolResponse`` / ``codeExecutionResult``),
    or None for another provider's executed tool (but a web search's, with ``searches``)."""
    meta = (ev.get("provider_metadata") or {}).get(NAME) or {}
    output = ev.get("output")
    part: dict[str, Any]
    if searches and not meta.get("tool_type") and ev.get("tool_name") in SEARCH_CALL_NAMES:
        meta = {**meta, "tool_type": SEARCH_TOOL_TYPE}
    if meta.get("tool_type"):
        response: dict[str, Any] = {"toolType": meta["tool_type"]}
        if not meta.get("generated_id"):
            response["id"] = ev["tool_call_id"]
        if output:
            response["response"] = output if isinstance(output, dict) else {"output": output}
        part = {"toolResponse": response}
    elif ev.get("tool_call_id") in code_ids or ev.get("tool_name") == CODE_EXECUTION:
        if isinstance(output, dict) and ("outcome" in output or "output" in output):
            result: dict[str, Any] = {k: output[k] for k in ("outcome", "output") if k in output}
        elif isinstance(output, dict) and isinstance(
            output.get("outputs"), list
        ):  # a code_interpreter_call's logs
            logs = [
                o["logs"] for o in output["outputs"] if isinstance(o, dict) and isinstance(o.get("logs"), str)
            ]
            result = {
                "outcome": "OUTCOME_FAILED" if ev.get("is_error") else "OUTCOME_OK",
                "output": "".join(logs),
            }
        else:
            text = output if isinstance(output, str) else _dumps(output)
            result = {"outcome": "OUTCOME_FAILED" if ev.get("is_error") else "OUTCOME_OK", "output": text}
        if not meta.get("generated_id") and code_ids.get(ev.get("tool_call_id")):  # type: ignore[arg-type]
            result["id"] = ev["tool_call_id"]
        part = {"codeExecutionResult": result}
    else:
        return None
    if meta.get("thought_signature"):
        part["thoughtSignature"] = meta["thought_signature"]
    return part


def file_part(ev: dict[str, Any]) -> dict[str, Any]:
    """A file (event or part) as ``fileData`` (a URL: the part's ``url``, or a URI in ``data``) or
    ``inlineData`` (base64 ``data``), with its thought mark and signature."""
    meta = (ev.get("provider_metadata") or {}).get(NAME) or {}
    data = ev.get("data") or ""
    url = ev.get("url")
    mime = ev.get("media_type") or "application/octet-stream"
    part: dict[str, Any]
    if url or meta.get("file_uri") or data.startswith(("http://", "https://", "gs://")):
        part = {"fileData": {"mimeType": mime, "fileUri": url or data}}
    else:
        part = {"inlineData": {"mimeType": mime, "data": data}}
    if meta.get("thought"):
        part["thought"] = True
    if meta.get("thought_signature"):
        part["thoughtSignature"] = meta["thought_signature"]
    return part
