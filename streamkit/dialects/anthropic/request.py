"""Canonical conversations → Anthropic Messages requests: the body, the URL and the betas.

Requests (``fetch``, ``agent``): ``POST {base}/v1/messages`` (a base URL that already ends in
``/v1`` is not doubled), base URL from ``ANTHROPIC_BASE_URL`` else ``https://api.anthropic.com``,
the key from ``ANTHROPIC_API_KEY`` in the ``x-api-key`` header (nowhere else), a bearer token from
``ANTHROPIC_AUTH_TOKEN`` in ``Authorization`` when no key is set (the key wins, as in the SDK), and
``anthropic-version: 2023-06-01``. The body, from a canonical conversation:

* ``model``; ``max_tokens`` (the API requires it): the ``max_tokens`` option, else 4096, plus the
  thinking budget when ``thinking.budget_tokens`` is set (the API wants it above the budget);
  ``system``: the ``system`` field and system messages, joined; ``stream: true``.
* ``messages`` alternate user / assistant: consecutive messages of one side are merged, so tool
  messages (and a user message that follows them) become one user message whose ``tool_result``
  blocks (``tool_use_id``, ``content``: the output, JSON text unless a string, or its text and
  the ``image`` / ``document`` blocks of the files the result holds; ``is_error: true`` for a
  failed tool) come first, as the API requires. User text is a string when it is all the
  message holds; file parts become ``image`` blocks (JPEG, PNG, GIF, WebP; base64 or URL source),
  ``document`` blocks for PDFs (base64 or URL) and plain text (``text/*``, decoded); anything else
  is a usage error.
* Earlier assistant turns keep their blocks in order: ``text``; reasoning that came from
  Anthropic as ``thinking`` with its exact ``signature``, ``redacted_thinking`` with its
  ``data``, ``compaction`` with its content and opaque fields (the API needs them back when
  thinking is on and tools are used), ``fallback`` with its ``from``, ``to`` and ``trigger`` (in
  its place: the API checks the thinking on each side of it); ``tool_use`` (``id``, ``name``, ``input``, and ``caller``
  when sent); provider-executed calls and results that came from Anthropic as the blocks they
  were (``server_tool_use``, ``web_search_tool_result``, ...). Reasoning with no signature (other
  dialects', or a thinking block cut off before its signature) is left out: the API rejects it.
  Sources are not sent back (they describe the answer). Provider-executed tools of other
  dialects and files in assistant turns cannot be sent: left out with a warning.
* ``container``: the code-execution container of the last Anthropic turn that had one (a
  programmatic tool call must be answered in its container), unless the options name one.
* ``tools``: ``name``, ``description``, ``input_schema`` (the tool's parameters, a freeform
  ``custom`` tool's one string ``input``: :func:`streamkit.conversation.tool_parameters`); the
  canonical web search → ``{"type": "web_search_20250305", "name": "web_search"}`` with its
  settings (:mod:`..web_search`), the canonical code execution →
  ``{"type": "code_execution_20250522", "name": "code_execution"}``; a ``tools`` option (server tools such as
  ``{"type": "bash_20250124", "name": "bash"}``) is added after them. A tool of another kind is
  left out with a warning.
* Options (canonical names, :mod:`streamkit.conversation`) in their Messages form:

  ==========================  ==================================================================
  ``max_tokens``              ``max_tokens`` (default 4096, plus the thinking budget when there
                              is one: the API counts thinking in ``max_tokens``)
  ``temperature``, ``top_p``, as they are
  ``top_k``
  ``stop``                    ``stop_sequences`` (a string becomes a list)
  ``tool_choice``             ``"auto"`` → ``{"type": "auto"}``, ``"none"`` → ``{"type": "none"}``,
                              ``"required"`` → ``{"type": "any"}``, ``{"name": N}`` →
                              ``{"type": "tool", "name": N}``; a native object (with a ``type``)
                              as it is. A canonical one is sent only with tools (the API
                              refuses it without).
  ``parallel_tool_calls``     ``false`` → ``tool_choice.disable_parallel_tool_use: true`` (with
                              ``{"type": "auto"}`` when no tool_choice was given); ``true`` is the
                              API's default: nothing is sent
  ``response_format``         ``json_schema`` → ``output_config.format`` ``{"type": "json_schema",
                              "schema": ...}`` (structured outputs; its ``name`` and ``strict``
                              have no place: the API's outputs are always strict); ``json_object``
                              has no Messages form (the API needs a schema): left out with a
                              warning; ``text`` is the default: nothing is sent
  ``reasoning_budget``        ``thinking: {"type": "enabled", "budget_tokens": B}`` (at least
                              1024, the API's minimum); 0 → ``{"type": "disabled"}``
  ``reasoning_effort``        thinking with a budget: ``minimal`` 1024, ``low`` 2048, ``medium``
                              8192, ``high`` 24576 tokens (``reasoning_budget`` wins when both are
                              given; ``none`` sends no thinking). An effort that came from an
                              Anthropic client's ``output_config.effort`` goes back there as sent.
  ``seed``,                   no Messages parameter: left out with a warning
  ``frequency_penalty``,
  ``presence_penalty``
  ==========================  ==================================================================

  A budget an explicit ``max_tokens`` cannot hold (the API wants the budget below it) is cut to
  half of ``max_tokens`` (thinking is left off, with a warning, when that is under 1024). With
  thinking from these options on, what the API refuses beside it is left out with a warning:
  ``temperature`` other than 1, ``top_k``, ``top_p`` under 0.95; a forced ``tool_choice``
  (``required`` or a name) leaves thinking off instead. ``betas`` (a list or a comma-separated
  string) goes to the ``anthropic-beta`` header; anything else (``thinking``, ``metadata``,
  ``context_management``, ...) is sent as it is, a native ``thinking`` winning over the
  reasoning options.
* What only an Anthropic request carries, kept by :mod:`.parse` in the conversation's
  ``provider_metadata["anthropic"]``, is restored: ``body`` (top-level fields such as
  ``metadata``, ``service_tier``, ``mcp_servers``; the conversation's own fields win), ``system``
  (the system blocks with their ``cache_control``, while the system text is unchanged), ``tools``
  (Anthropic's own tools, after the conversation's), ``thinking`` (an ``adaptive`` one, or an
  enabled one's other fields while its budget is unchanged), ``effort``, ``output_config``,
  ``betas``; and per part: ``cache_control`` and other block fields of text, files, tool results
  and tool declarations, a tool result's blocks while its text is unchanged.

The server keeps no state: every request carries the whole conversation (``continuation_state``
is ``None``). A ``pause_turn`` response is continued by sending the conversation back with the
paused assistant turn last, as it is. A native ``--body`` is sent as-is.
"""

from __future__ import annotations

from typing import Any

import orjson

from ...canonical import parse_arguments
from ...conversation import CODE_EXECUTION, WEB_SEARCH, is_approval
from ...errors import UsageError
from .. import web_search
from ..requests import result_files
from .wire import NAME, _meta

API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096
#: the version of Anthropic's web search tool a canonical one is sent as (every model has it)
WEB_SEARCH_TYPE = "web_search_20250305"
#: the version of Anthropic's code execution tool a canonical one is sent as (Python only: its
#: results are ``code_execution_tool_result`` blocks every dialect has a form for)
CODE_EXECUTION_TYPE = "code_execution_20250522"

#: canonical option names → Messages parameters (other options pass through as they are; the
#: canonical ``tool_choice``, ``parallel_tool_calls``, ``response_format``, ``reasoning_effort`` and
#: ``reasoning_budget`` are translated by :func:`anthropic_request`)
OPTION_NAMES = {
    "max_tokens": "max_tokens",
    "temperature": "temperature",
    "top_p": "top_p",
    "top_k": "top_k",
    "stop": "stop_sequences",
}
#: canonical options the Messages API has no parameter for
UNSUPPORTED_OPTIONS = frozenset({"seed", "frequency_penalty", "presence_penalty"})

#: canonical reasoning_effort → thinking.budget_tokens
EFFORT_BUDGETS = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 24576}
#: the smallest thinking budget the API takes
MIN_BUDGET = 1024
#: output_config.effort values → canonical reasoning_effort (as :mod:`.parse` reads them)
NATIVE_EFFORTS = {"low": "low", "medium": "medium", "high": "high", "xhigh": "high", "max": "high"}
#: canonical tool_choice strings → Messages tool_choice types
TOOL_CHOICE_TYPES = {"auto": "auto", "none": "none", "required": "any"}

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


def _restored(block: dict[str, Any], part: dict[str, Any]) -> dict[str, Any]:
    """A block with the fields an Anthropic request had on it (``cache_control``, ``citations``,
    a document's ``context``), kept in the part's provider_metadata by :mod:`.parse`."""
    block.update((k, v) for k, v in _meta(part).items() if k not in block)
    return block


def _user_blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    out: list[dict[str, Any]] = []
    for part in content or ():
        kind = part.get("type")
        if kind == "text":
            if part.get("text"):  # the API rejects empty text blocks
                out.append(_restored({"type": "text", "text": part["text"]}, part))
        elif kind == "file":
            out.append(_restored(_file_block(part), part))
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
    if meta.get("type") == "fallback":  # where one model handed over to the next: kept in place
        return {"type": "fallback", **{k: v for k, v in meta.items() if k != "type"}}
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
                out.append(_restored({"type": "text", "text": part["text"]}, part))
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
        elif kind == "tool-approval-request":
            dropped.add("the provider's tool approval requests")
        # sources describe the answer's text: not sent back
    return out


def _blocks_text(content: Any) -> str | None:
    """The text :mod:`.parse` makes of a tool result's blocks (None when they are not a list)."""
    if not isinstance(content, list):
        return None
    return "\n".join(b.get("text") or "" for b in content if isinstance(b, dict) and b.get("type") == "text")


def _tool_result(message: dict[str, Any]) -> dict[str, Any]:
    """A tool message as a ``tool_result`` block: its text, or its blocks (text, then the images
    and documents of its ``content``; an Anthropic client's own blocks as they were)."""
    output = _json_text(message.get("output"))
    meta = _meta(message)
    content: Any = output
    files = result_files(message)
    if _blocks_text(meta.get("content")) == output:  # the blocks an Anthropic client sent
        content = meta["content"]
    elif files:
        text = [{"type": "text", "text": output}] if output else []
        content = text + [_restored(_file_block(f), f) for f in files]
    block: dict[str, Any] = {
        "type": "tool_result",
        "tool_use_id": message["tool_call_id"],
        "content": content,
    }
    if message.get("is_error"):
        block["is_error"] = True
    block.update((k, v) for k, v in meta.items() if k not in block and k != "content")
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
        elif role == "tool" and is_approval(message):
            dropped.add("answers to tool approval requests")
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
        if len(blocks) == 1 and blocks[0].keys() == {"type", "text"} and blocks[0]["type"] == "text":
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


def _betas(value: Any) -> list[str]:
    if isinstance(value, str):
        return [b.strip() for b in value.split(",") if b.strip()]
    if isinstance(value, list) and all(isinstance(b, str) for b in value):
        return [b.strip() for b in value if b.strip()]
    raise UsageError(f"the betas option must be a list of names or a comma-separated string, got {value!r}")


def _native(conversation: dict[str, Any]) -> dict[str, Any]:
    """What only an Anthropic request carried (see :mod:`.parse`): the conversation's
    ``provider_metadata["anthropic"]``, or {}."""
    pm = conversation.get("provider_metadata")
    native = pm.get(NAME) if isinstance(pm, dict) else None
    return native if isinstance(native, dict) else {}


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _tool_choice(value: Any) -> dict[str, Any]:
    if isinstance(value, str) and value in TOOL_CHOICE_TYPES:
        return {"type": TOOL_CHOICE_TYPES[value]}
    if isinstance(value, dict) and isinstance(value.get("type"), str):
        return dict(value)  # a native tool_choice
    if isinstance(value, dict) and isinstance(value.get("name"), str):
        return {"type": "tool", "name": value["name"]}
    raise UsageError(
        f'the tool_choice option must be auto, none, required or {{"name": TOOL}}, got {value!r}'
    )


def _output_format(value: Any, dropped: _Dropped) -> dict[str, Any] | None:
    """A canonical response_format → ``output_config.format``, or None."""
    kind = value.get("type") if isinstance(value, dict) else None
    if kind == "json_schema":
        schema = value.get("schema")
        if schema is None and isinstance(value.get("json_schema"), dict):  # Chat's own shape
            schema = value["json_schema"].get("schema")
        if isinstance(schema, dict):
            return {"type": "json_schema", "schema": schema}
        raise UsageError("a json_schema response_format needs a 'schema' object")
    if kind == "text":
        return None
    dropped.add(f"response_format {kind or value!r} (structured outputs need a JSON schema)")
    return None


def _thinking(
    options: dict[str, Any], native: dict[str, Any], effort: Any, budget: Any, dropped: _Dropped
) -> dict[str, Any] | None:
    """Thinking from the canonical reasoning options (or an adaptive one an Anthropic client sent)."""
    if budget is not None and not (_int(budget) and budget >= 0):
        dropped.add(f"the reasoning_budget option {budget!r} (not a number of tokens)")
        budget = None
    if budget is None and effort is not None and effort != "none":
        budget = EFFORT_BUDGETS.get(effort) if type(effort) is str else None
        if budget is None:
            dropped.add(f"the reasoning_effort option {effort!r}")
    sent: dict[str, Any] = native["thinking"] if isinstance(native.get("thinking"), dict) else {}
    if budget is None:
        if sent.get("type") not in (None, "enabled", "disabled"):
            return dict(sent)  # adaptive, between_tools: no canonical name
        return None
    if budget == 0:
        return {"type": "disabled"}
    budget = max(budget, MIN_BUDGET)
    max_tokens = options.get("max_tokens")
    if isinstance(max_tokens, int) and budget >= max_tokens:
        budget = max_tokens // 2
        if budget < MIN_BUDGET:
            dropped.add(f"thinking (max_tokens {max_tokens} leaves no room for a {MIN_BUDGET}-token budget)")
            return None
    if sent.get("type") == "enabled" and sent.get("budget_tokens") == budget:
        return dict(sent)  # as the client sent it, with its other fields (display)
    return {"type": "enabled", "budget_tokens": budget}


def _beside_thinking(options: dict[str, Any], tool_choice: dict[str, Any] | None, dropped: _Dropped) -> bool:
    """Leave out what the API refuses beside thinking; False when thinking itself must go."""
    if tool_choice is not None and tool_choice.get("type") in ("any", "tool"):
        dropped.add("thinking with a forced tool_choice (the API refuses both)")
        return False
    temperature = options.get("temperature")
    if temperature is not None and temperature != 1:
        del options["temperature"]
        dropped.add("temperature with thinking on")
    if "top_k" in options:
        del options["top_k"]
        dropped.add("top_k with thinking on")
    top_p = options.get("top_p")
    if isinstance(top_p, (int, float)) and top_p < 0.95:
        del options["top_p"]
        dropped.add("top_p under 0.95 with thinking on")
    return True


def _system(conversation: dict[str, Any], native: dict[str, Any]) -> Any:
    """The system prompt: the blocks an Anthropic client sent while its text is unchanged."""
    from ...conversation import system_text

    system = system_text(conversation)
    blocks = native.get("system")
    if system and isinstance(blocks, list):
        texts = [b.get("text") for b in blocks if isinstance(b, dict)]
        if "\n\n".join(t for t in texts if isinstance(t, str) and t) == system:
            return blocks
    return system


def _tools(
    conversation: dict[str, Any], native: dict[str, Any], extra: Any, dropped: _Dropped
) -> list[dict[str, Any]]:
    from ...conversation import tool_parameters

    tools: list[dict[str, Any]] = []
    functions, hosted = web_search.split_tools(conversation.get("tools"), dropped, _HOSTED)
    for t in functions:
        tool: dict[str, Any] = {"name": t["name"]}
        if t.get("description"):
            tool["description"] = t["description"]
        tool["input_schema"] = tool_parameters(t)
        tools.append(_restored(tool, t))
    for t in hosted:  # the web search, the code execution
        if t["kind"] == CODE_EXECUTION:
            tools.append(
                {"type": CODE_EXECUTION_TYPE, "name": CODE_EXECUTION, **(web_search.own(t, NAME) or {})}
            )
        else:
            tools.append(_web_search(t, dropped))
    if isinstance(native.get("tools"), list):
        tools.extend(native["tools"])  # Anthropic's own tools, as an Anthropic client sent them
    if extra is not None:
        if not isinstance(extra, list):
            raise UsageError(f"the tools option must be a list of tool objects, got {extra!r}")
        tools.extend(extra)
    return tools


#: the canonical hosted tools Anthropic has (as server tools)
_HOSTED = frozenset({WEB_SEARCH, CODE_EXECUTION})


def _web_search(tool: dict[str, Any], dropped: _Dropped) -> dict[str, Any]:
    """The canonical web search → Anthropic's server tool (see :mod:`..web_search`)."""
    out: dict[str, Any] = {
        "type": WEB_SEARCH_TYPE,
        "name": "web_search",
        **(web_search.own(tool, NAME) or {}),
    }
    if tool.get("max_uses") is not None:
        out["max_uses"] = tool["max_uses"]
    allowed, blocked = tool.get("allowed_domains"), tool.get("blocked_domains")
    if allowed is not None:
        out["allowed_domains"] = allowed
    if blocked is not None and allowed is not None:
        dropped.add("the web search's blocked_domains beside its allowed_domains (the API takes one)")
    elif blocked is not None:
        out["blocked_domains"] = blocked
    place = web_search.approximate(tool)
    if place:
        out["user_location"] = {"type": "approximate", **place}
    web_search.unsent(tool, ("max_uses", "allowed_domains", "blocked_domains", "user_location"), dropped)
    return out


def anthropic_request(conversation: dict[str, Any], model: str | None) -> tuple[dict[str, Any], list[str]]:
    """A canonical conversation → the Messages request body, and the betas it asks for."""
    model = model or conversation.get("model")
    if not model:
        raise UsageError('no model: pass -m MODEL, put "model" in the conversation, or set STREAMKIT_MODEL')
    options = dict(conversation.get("options") or {})
    native = _native(conversation)
    dropped = _Dropped()
    effort = options.pop("reasoning_effort", None)
    budget = options.pop("reasoning_budget", None)
    response_format = options.pop("response_format", None)
    choice = options.pop("tool_choice", None)
    parallel = options.pop("parallel_tool_calls", None)

    output_config: dict[str, Any] = (
        dict(native["output_config"]) if isinstance(native.get("output_config"), dict) else {}
    )
    sent_effort = native.get("effort")
    if effort is not None and isinstance(sent_effort, str) and NATIVE_EFFORTS.get(sent_effort) == effort:
        output_config["effort"] = sent_effort  # an Anthropic client's own effort, as it sent it
        effort = None
    if response_format is not None:
        fmt = _output_format(response_format, dropped)
        if fmt is not None:
            output_config["format"] = fmt

    tools = _tools(conversation, native, options.pop("tools", None), dropped)
    tool_choice = _tool_choice(choice) if choice is not None else None
    if parallel is False:
        tool_choice = tool_choice or {"type": "auto"}
        if tool_choice["type"] != "none":
            tool_choice["disable_parallel_tool_use"] = True
    native_choice = isinstance(choice, dict) and "type" in choice
    if not tools and not native_choice:
        tool_choice = None  # the API refuses a tool_choice without tools (a native one is sent as it is)

    thinking = None
    if "thinking" not in options:  # a native thinking option wins
        thinking = _thinking(options, native, effort, budget, dropped)
        enabled = thinking is not None and thinking.get("type") == "enabled"
        if enabled and not _beside_thinking(options, tool_choice, dropped):
            thinking = None

    max_tokens = options.pop("max_tokens", None)
    if max_tokens is None:
        native_thinking = options.get("thinking") if "thinking" in options else thinking
        extra = native_thinking.get("budget_tokens") if isinstance(native_thinking, dict) else None
        max_tokens = DEFAULT_MAX_TOKENS + (extra if isinstance(extra, int) and extra > 0 else 0)
    body: dict[str, Any] = {"model": model, "max_tokens": max_tokens}
    system = _system(conversation, native)
    if system:
        body["system"] = system
    body["messages"] = anthropic_messages(conversation, dropped)
    if tools:
        body["tools"] = tools
    if tool_choice is not None:
        body["tool_choice"] = tool_choice
    if thinking is not None:
        body["thinking"] = thinking
    if output_config:
        body["output_config"] = output_config
    container = _container(conversation)
    if container is not None:
        body["container"] = container
    body["stream"] = True
    betas = _betas(options.pop("betas")) if "betas" in options else []
    if isinstance(native.get("betas"), list):
        betas += [b for b in native["betas"] if isinstance(b, str) and b not in betas]
    for key, value in options.items():
        if key in UNSUPPORTED_OPTIONS:
            dropped.add(f"the {key} option")
            continue
        if key == "stop" and isinstance(value, str):
            value = [value]
        body[OPTION_NAMES.get(key) or str(key)] = value
    if isinstance(native.get("body"), dict):
        for key, value in native["body"].items():
            body.setdefault(key, value)  # the conversation's own fields win
    dropped.warn()
    return body, betas
