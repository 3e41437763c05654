"""Canonical conversations → Anthropic Messages requests: the body, the URL and the betas.

Requests (``fetch``, ``agent``): ``POST {base}/v1/messages`` (a base URL that already ends in
``/v1`` is not doubled), base URL from ``ANTHROPIC_BASE_URL`` else ``https://api.anthropic.com``,
the key from ``ANTHROPIC_API_KEY`` in the ``x-api-key`` header (nowhere else), and
``anthropic-version: 2023-06-01``. The body, from a canonical conversation:

* ``model``; ``max_tokens`` (the API requires it): the ``max_tokens`` option, else 4096, plus the
  thinking budget when ``thinking.budget_tokens`` is set (the API wants it above the budget);
  ``system``: the ``system`` field and system messages, joined; ``stream: true``.
* ``messages`` alternate user / assistant: consecutive messages of one side are merged, so tool
  messages (and a user message that follows them) become one user message whose ``tool_result``
  blocks (``tool_use_id``, ``content``: the output, JSON text unless a string, ``is_error: true``
  for a failed tool) come first, as the API requires. User text is a string when it is all the
  message holds; file parts become ``image`` blocks (JPEG, PNG, GIF, WebP; base64 or URL source),
  ``document`` blocks for PDFs (base64 or URL) and plain text (``text/*``, decoded); anything else
  is a usage error.
* Earlier assistant turns keep their blocks in order: ``text``; reasoning that came from
  Anthropic as ``thinking`` with its exact ``signature``, ``redacted_thinking`` with its
  ``data``, ``compaction`` with its content and opaque fields (the API needs them back when
  thinking is on and tools are used); ``tool_use`` (``id``, ``name``, ``input``, and ``caller``
  when sent); provider-executed calls and results that came from Anthropic as the blocks they
  were (``server_tool_use``, ``web_search_tool_result``, ...). Reasoning with no signature (other
  dialects', or a thinking block cut off before its signature) is left out: the API rejects it.
  Sources are not sent back (they describe the answer). Provider-executed tools of other
  dialects and files in assistant turns cannot be sent: left out with a warning.
* ``container``: the code-execution container of the last Anthropic turn that had one (a
  programmatic tool call must be answered in its container), unless the options name one.
* ``tools``: ``name``, ``description``, ``input_schema``; a ``tools`` option (server tools such as
  ``{"type": "web_search_20250305", "name": "web_search"}``) is added after them.
* Options: ``max_tokens``, ``temperature``, ``top_p`` as they are, ``stop`` → ``stop_sequences``
  (a string becomes a list); ``seed`` has no Messages parameter (left out with a warning);
  ``betas`` (a list or a comma-separated string) goes to the ``anthropic-beta`` header; anything
  else (``thinking``, ``tool_choice``, ``metadata``, ``top_k``, ``context_management``, ...) is
  sent as it is.

The server keeps no state: every request carries the whole conversation (``continuation_state``
is ``None``). A ``pause_turn`` response is continued by sending the conversation back with the
paused assistant turn last, as it is. A native ``--body`` is sent as-is.
"""

from __future__ import annotations

from typing import Any

import orjson

from ...canonical import parse_arguments
from ...errors import UsageError
from .wire import NAME, _meta

API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096

#: canonical option names → Messages parameters (other options pass through as they are)
OPTION_NAMES = {
    "max_tokens": "max_tokens",
    "temperature": "temperature",
    "top_p": "top_p",
    "stop": "stop_sequences",
}
#: canonical options the Messages API has no parameter for
UNSUPPORTED_OPTIONS = frozenset({"seed"})

#: the image types the Messages API takes
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})


class _Dropped:
    """What a request cannot carry, counted per kind and warned about once (never silently)."""

    def __init__(self) -> None:
        self.kinds: dict[str, int] = {}

    def add(self, what: str) -> None:
        self.kinds[what] = self.kinds.get(what, 0) + 1

    def warn(self) -> None:
        from ... import diagnostics

        for what, count in self.kinds.items():
            diagnostics.warn(f"{NAME} cannot send {what} ({count}); left out of the request")


def messages_url(base_url: str) -> str:
    """``{base}/v1/messages``, or ``{base}/messages`` when the base URL already ends in ``/v1``."""
    base = base_url.rstrip("/")
    return f"{base}/messages" if base.endswith("/v1") else f"{base}/v1/messages"


def _json_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return orjson.dumps(value).decode()


def _file_data(part: dict[str, Any]) -> tuple[str | None, str | None, str]:
    """A file part's ``(url, base64 data, media type)``; a ``data:`` URL counts as data."""
    media = str(part.get("media_type") or "")
    data = part.get("data")
    url = part.get("url")
    if isinstance(data, str) and data:
        return None, data, media
    if isinstance(url, str) and url.startswith("data:"):
        head, _, payload = url[5:].partition(",")
        kind, _, encoding = head.partition(";")
        if encoding == "base64":
            return None, payload, media or kind
        import base64
        from urllib.parse import unquote_to_bytes

        return None, base64.b64encode(unquote_to_bytes(payload)).decode(), media or kind
    if isinstance(url, str) and url:
        return url, None, media
    raise UsageError(f"a {media or 'file'} part has neither 'data' nor 'url'")


def _source(url: str | None, data: str | None, media: str) -> dict[str, Any]:
    if url is not None:
        return {"type": "url", "url": url}
    return {"type": "base64", "media_type": media, "data": data}


def _file_block(part: dict[str, Any]) -> dict[str, Any]:
    """A user's file part as an ``image`` or ``document`` block."""
    url, data, media = _file_data(part)
    if media.startswith("image/") or (url is not None and not media):
        if data is not None and media not in IMAGE_TYPES:
            raise UsageError(f"{NAME} cannot send a {media} image: the API takes JPEG, PNG, GIF and WebP")
        return {"type": "image", "source": _source(url, data, media)}
    if media == "application/pdf":
        block: dict[str, Any] = {"type": "document", "source": _source(url, data, media)}
    elif media.startswith("text/") and data is not None:
        import base64
        import binascii

        try:
            text = base64.b64decode(data, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise UsageError(f"a {media} file part's data is not base64 of UTF-8 text") from None
        block = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": text}}
    else:
        what = f"{media} file by URL" if url is not None else f"{media or 'untyped'} file"
        raise UsageError(
            f"{NAME} cannot send a {what}: user messages take images (JPEG, PNG, GIF, WebP), PDFs "
            "(inline or by URL) and plain text"
        )
    if part.get("filename"):
        block["title"] = str(part["filename"])
    return block


def _user_blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    out: list[dict[str, Any]] = []
    for part in content or ():
        kind = part.get("type")
        if kind == "text":
            if part.get("text"):  # the API rejects empty text blocks
                out.append({"type": "text", "text": part["text"]})
        elif kind == "file":
            out.append(_file_block(part))
        else:
            raise UsageError(f"{NAME} cannot send a {kind} part in a user message")
    return out


def _tool_input(part: dict[str, Any], dropped: _Dropped) -> dict[str, Any]:
    """A call's input object: ``input``, else its ``arguments`` parsed."""
    value = part.get("input")
    if isinstance(value, dict):
        return value
    arguments = part.get("arguments")
    if value is None and isinstance(arguments, str):
        value, _ = parse_arguments(arguments)
        if isinstance(value, dict):
            return value
    elif value is None and arguments is None:
        return {}
    dropped.add("tool-call arguments that are not a JSON object (sent as {})")
    return {}


def _reasoning_block(part: dict[str, Any]) -> dict[str, Any] | None:
    """An earlier reasoning part as the block the API wants back, or None when it has none."""
    meta = _meta(part)
    if meta.get("type") == "compaction":
        block: dict[str, Any] = {"type": "compaction", "content": part.get("text") or None}
        block.update((k, v) for k, v in meta.items() if k != "type")
        return block
    if meta.get("redacted_data") is not None:
        return {"type": "redacted_thinking", "data": meta["redacted_data"]}
    if meta.get("signature"):
        return {"type": "thinking", "thinking": part.get("text") or "", "signature": meta["signature"]}
    return None


def _assistant_blocks(content: Any, dropped: _Dropped) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    out: list[dict[str, Any]] = []
    for part in content or ():
        kind = part.get("type")
        meta = _meta(part)
        if kind == "text":
            if part.get("text"):
                out.append({"type": "text", "text": part["text"]})
        elif kind == "reasoning":
            block = _reasoning_block(part)
            if block is not None:
                out.append(block)
        elif kind == "tool-call":
            block_type, extra = "tool_use", meta
            if part.get("provider_executed"):
                if not isinstance(meta.get("type"), str):
                    dropped.add("provider-executed tool calls of other dialects")
                    continue
                block_type = meta["type"]
                extra = {k: v for k, v in meta.items() if k != "type"}
            block = {"type": block_type, "id": part["tool_call_id"], "name": part["tool_name"],
                     "input": _tool_input(part, dropped)}  # fmt: skip
            block.update((k, v) for k, v in extra.items() if k not in block)
            out.append(block)
        elif kind == "tool-result":
            if not part.get("provider_executed") or not isinstance(meta.get("type"), str):
                dropped.add("provider-executed tool results of other dialects")
                continue
            block = dict(meta)
            block["tool_use_id"] = part.get("tool_call_id")
            block["content"] = part.get("output")
            out.append(block)
        elif kind == "file":
            dropped.add("files in assistant turns")
        # sources describe the answer's text: not sent back
    return out


def _tool_result(message: dict[str, Any]) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "tool_result",
        "tool_use_id": message["tool_call_id"],
        "content": _json_text(message.get("output")),
    }
    if message.get("is_error"):
        block["is_error"] = True
    return block


def anthropic_messages(conversation: dict[str, Any], dropped: _Dropped | None = None) -> list[dict[str, Any]]:
    """Canonical conversation messages → Messages ``messages``, alternating user / assistant."""
    dropped = dropped if dropped is not None else _Dropped()
    out: list[dict[str, Any]] = []

    def add(role: str, blocks: list[dict[str, Any]]) -> None:
        if not blocks:
            return
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})

    for message in conversation.get("messages", ()):
        role = message.get("role")
        if role == "user":
            add("user", _user_blocks(message.get("content")))
        elif role == "assistant":
            add("assistant", _assistant_blocks(message.get("content"), dropped))
        elif role == "tool":
            add("user", [_tool_result(message)])
        # system messages are part of ``system``
    for message in out:
        if message["role"] != "user":
            continue
        blocks = message["content"]
        results = [b for b in blocks if b["type"] == "tool_result"]
        if results and blocks[: len(results)] != results:  # tool results come first
            message["content"] = blocks = results + [b for b in blocks if b["type"] != "tool_result"]
        if len(blocks) == 1 and blocks[0]["type"] == "text":
            message["content"] = blocks[0]["text"]
    return out


def _container(conversation: dict[str, Any]) -> str | None:
    """The code-execution container of the last Anthropic turn that had one."""
    for message in reversed(conversation.get("messages") or ()):
        if message.get("role") != "assistant":
            continue
        container = _meta(message).get("container")
        if isinstance(container, dict) and isinstance(container.get("id"), str):
            return container["id"]
    return None


def _max_tokens(options: dict[str, Any]) -> int:
    thinking = options.get("thinking")
    budget = thinking.get("budget_tokens") if isinstance(thinking, dict) else None
    if isinstance(budget, int) and not isinstance(budget, bool) and budget > 0:
        return DEFAULT_MAX_TOKENS + budget
    return DEFAULT_MAX_TOKENS


def _betas(value: Any) -> list[str]:
    if isinstance(value, str):
        return [b.strip() for b in value.split(",") if b.strip()]
    if isinstance(value, list) and all(isinstance(b, str) for b in value):
        return [b.strip() for b in value if b.strip()]
    raise UsageError(f"the betas option must be a list of names or a comma-separated string, got {value!r}")


def anthropic_request(conversation: dict[str, Any], model: str | None) -> tuple[dict[str, Any], list[str]]:
    """A canonical conversation → the Messages request body, and the betas it asks for."""
    from ...conversation import system_text

    model = model or conversation.get("model")
    if not model:
        raise UsageError('no model: pass -m MODEL, put "model" in the conversation, or set STREAMKIT_MODEL')
    options = dict(conversation.get("options") or {})
    dropped = _Dropped()
    body: dict[str, Any] = {"model": model, "max_tokens": _max_tokens(options)}
    system = system_text(conversation)
    if system:
        body["system"] = system
    body["messages"] = anthropic_messages(conversation, dropped)
    tools: list[dict[str, Any]] = []
    for t in conversation.get("tools") or ():
        tool: dict[str, Any] = {"name": t["name"]}
        if t.get("description"):
            tool["description"] = t["description"]
        tool["input_schema"] = t.get("parameters") or {"type": "object", "properties": {}}
        tools.append(tool)
    extra_tools = options.pop("tools", None)
    if extra_tools is not None:
        if not isinstance(extra_tools, list):
            raise UsageError(f"the tools option must be a list of tool objects, got {extra_tools!r}")
        tools.extend(extra_tools)
    if tools:
        body["tools"] = tools
    container = _container(conversation)
    if container is not None:
        body["container"] = container
    body["stream"] = True
    betas = _betas(options.pop("betas")) if "betas" in options else []
    for key, value in options.items():
        if key in UNSUPPORTED_OPTIONS:
            dropped.add(f"the {key} option")
            continue
        if key == "stop" and isinstance(value, str):
            value = [value]
        body[OPTION_NAMES.get(key) or str(key)] = value
    dropped.warn()
    return body, betas
