"""Canonical conversation → a Chat Completions request body (``messages``, tools, options)."""

from __future__ import annotations

from typing import Any


def _data_url(part: dict[str, Any]) -> str:
    if part.get("url"):
        return str(part["url"])
    return f"data:{part.get('media_type') or 'application/octet-stream'};base64,{part.get('data') or ''}"


def _user_content(parts: list[dict[str, Any]]) -> Any:
    if all(p.get("type") == "text" for p in parts):
        return "".join(p.get("text") or "" for p in parts)
    out: list[dict[str, Any]] = []
    for part in parts:
        kind = part.get("type")
        if kind == "text":
            out.append({"type": "text", "text": part.get("text") or ""})
        elif kind == "file" and str(part.get("media_type", "")).startswith("image/"):
            out.append({"type": "image_url", "image_url": {"url": _data_url(part)}})
        elif kind == "file":
            file: dict[str, Any] = {"file_data": _data_url(part)}
            if part.get("filename"):
                file["filename"] = part["filename"]
            out.append({"type": "file", "file": file})
    return out


def _output_text(output: Any) -> str:
    if isinstance(output, str):
        return output
    import orjson

    return orjson.dumps(output).decode()


def chat_messages(conversation: dict[str, Any]) -> list[dict[str, Any]]:
    """Canonical conversation → Chat Completions ``messages``.

    Reasoning parts of earlier assistant turns are not sent back: most servers reject or ignore
    them (DeepSeek answers 400 to a ``reasoning_content`` in the input).
    """
    from ...conversation import system_text

    messages: list[dict[str, Any]] = []
    system = system_text(conversation)
    if system:
        messages.append({"role": "system", "content": system})
    for message in conversation.get("messages", ()):
        role = message["role"]
        if role == "system":
            continue
        if role == "user":
            messages.append({"role": "user", "content": _user_content(message["content"])})
        elif role == "assistant":
            parts = message["content"]
            text = "".join(
                p.get("text") or "" for p in parts if p.get("type") == "text" and not p.get("refusal")
            )
            out: dict[str, Any] = {"role": "assistant", "content": text or None}
            calls = [
                {
                    "id": p["tool_call_id"],
                    "type": "function",
                    "function": {
                        "name": p["tool_name"],
                        "arguments": p.get("arguments") or _output_text(p.get("input") or {}),
                    },
                }
                for p in parts
                if p.get("type") == "tool-call" and not p.get("provider_executed")
            ]
            if calls:
                out["tool_calls"] = calls
            messages.append(out)
        elif role == "tool":
            messages.append(
                {
                    "role": "tool",
                    "tool_call_id": message["tool_call_id"],
                    "content": _output_text(message.get("output")),
                }
            )
    return messages


#: canonical option names → Chat Completions parameters (other options pass through as they are)
OPTION_NAMES = {
    "max_tokens": "max_tokens",
    "temperature": "temperature",
    "top_p": "top_p",
    "stop": "stop",
    "seed": "seed",
}


def chat_request_body(conversation: dict[str, Any], model: str | None) -> dict[str, Any]:
    from ...errors import UsageError

    model = model or conversation.get("model")
    if not model:
        raise UsageError('no model: pass -m MODEL, put "model" in the conversation, or set STREAMKIT_MODEL')
    body: dict[str, Any] = {"model": model, "messages": chat_messages(conversation), "stream": True,
                            "stream_options": {"include_usage": True}}  # fmt: skip
    tools = conversation.get("tools")
    if tools:
        body["tools"] = [
            {"type": "function", "function": {"name": t["name"], "description": t.get("description", ""),
                                              "parameters": t.get("parameters") or {"type": "object", "properties": {}}}}
            for t in tools
        ]  # fmt: skip
    for key, value in (conversation.get("options") or {}).items():
        body[OPTION_NAMES.get(key, key)] = value
    return body
