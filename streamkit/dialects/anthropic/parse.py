"""Anthropic Messages requests → canonical conversations: what ``streamkit serve`` reads from an
Anthropic client (Claude Code, the official SDKs), the inverse of :mod:`.request`.

``POST /v1/messages`` (Claude Code adds ``?beta=true``; the query is ignored) and
``/v1/messages/count_tokens``. The body, field by field:

* ``model`` → ``model``; ``stream: true`` → a streamed answer, absent or false → a whole
  ``message`` object (a ``count_tokens`` path is never streamed).
* ``system``: a string, or a list of ``text`` blocks (with ``cache_control``) whose texts are
  joined with blank lines → ``system``. The blocks as sent are kept in ``provider_metadata``
  (below) and sent again as they were while the system text is unchanged.
* ``messages`` (user / assistant; content a string or blocks):
  - ``text`` → a text part; ``image`` (base64 or URL source) → a file part (``media_type``,
    ``data`` or ``url``; a URL's media type guessed from its extension, else ``image/*``);
    ``document`` → a file part: a base64 or URL PDF (``application/pdf``), a ``text`` source or a
    ``content`` source's texts as base64 ``text/plain``; its ``title`` → ``filename``.
  - ``tool_result`` → a ``tool`` message (``tool_call_id``, ``tool_name`` from the call it answers,
    ``output``: the string, or the texts of its blocks joined with newlines, ``is_error``); a user
    message's tool results come before its other blocks, so they become tool messages followed by
    a user message with the rest.
  - ``thinking`` → a reasoning part with ``provider_metadata["anthropic"]["signature"]``;
    ``redacted_thinking`` → an empty reasoning part with ``redacted_data``; ``compaction`` → a
    reasoning part typed ``compaction``, ``fallback`` → an empty reasoning part typed ``fallback``
    (exactly as the normalizer puts them on parts, so that
    :mod:`.request` sends them back as they were).
  - ``tool_use`` → a tool-call part (``arguments`` the JSON text of ``input``; ``caller`` and other
    fields in ``provider_metadata["anthropic"]``); ``server_tool_use``, ``mcp_tool_use`` (a block
    with ``id``, ``name``, ``input``) → a provider-executed tool call, its type and fields in
    ``provider_metadata``; ``web_search_tool_result`` and the other ``*_tool_result`` blocks (a
    block with a ``tool_use_id``) → a provider-executed tool-result part, as the normalizer makes it.
  - ``cache_control`` on any block, ``citations`` on text blocks, a document's ``context``, a tool
    result's blocks: kept in the part's ``provider_metadata["anthropic"]`` for an Anthropic upstream,
    quietly ignored by the others.
  - Blocks nothing else can carry (``search_result``, ``container_upload``, images and files given
    by Files API id, images inside tool results) are listed in ``ParsedRequest.dropped``.
* ``tools``: client tools (no ``type``, or ``custom``) → ``{"name", "description", "parameters"}``
  (an object ``input_schema`` without ``properties``, as Claude Code sends, gets an empty one);
  ``cache_control``, ``strict`` and other fields in the tool's ``provider_metadata``. The web
  search (``web_search_20250305`` or a later version) → the canonical web search tool, its
  ``type`` and fields it has no setting for in the tool's ``provider_metadata``
  (:mod:`..web_search`). The code execution tool (``code_execution_*``) → the canonical one, its
  ``type`` in its ``provider_metadata``. Anthropic's other tools (``bash_20250124``,
  ``text_editor_*``, ...) are hosted or Anthropic-defined: kept for an Anthropic upstream and
  listed in ``dropped``.
* Options (canonical names, see :mod:`streamkit.conversation`): ``max_tokens``, ``temperature``,
  ``top_p``, ``top_k``; ``stop_sequences`` → ``stop``; ``tool_choice`` ``auto`` / ``none`` / ``any``
  → ``"auto"`` / ``"none"`` / ``"required"``, ``tool`` → ``{"name": ...}``,
  ``disable_parallel_tool_use`` → ``parallel_tool_calls`` (its negation); ``thinking`` ``enabled``
  → ``reasoning_budget`` (its ``budget_tokens``), ``disabled`` → ``reasoning_budget: 0``, other
  types (``adaptive``) kept native; ``output_config.format`` (and the older beta ``output_format``)
  → ``response_format`` ``{"type": "json_schema", "schema": ...}``; ``output_config.effort`` →
  ``reasoning_effort`` (``xhigh`` and ``max`` → ``high``).
* Everything else at the top level (``metadata``, ``service_tier``, ``container``,
  ``context_management``, ``mcp_servers``, fields newer than this module) is accepted: it goes to
  ``provider_metadata["anthropic"]["body"]`` and back to an Anthropic upstream as it was;
  ``mcp_servers`` and ``context_management`` are listed in ``dropped`` (others cannot run them).
* Headers: ``anthropic-beta`` (comma-separated) → ``provider_metadata["anthropic"]["betas"]``, sent
  again to an Anthropic upstream; ``anthropic-version`` and the key headers are not kept.

``conversation["provider_metadata"]["anthropic"]`` holds, when there is any: ``body`` (top-level
fields), ``system`` (the blocks), ``tools`` (Anthropic's own tools), ``thinking`` (as sent, when
the options cannot say it all), ``effort`` (``output_config.effort`` as sent), ``output_config``
(its other fields), ``betas``.

A body the API itself would reject for its shape (``messages`` not a list, a block without a
``type``, a ``tool_use`` whose ``input`` is not an object, a wrong type anywhere) raises
:class:`streamkit.errors.UsageError` naming the field; unknown fields never do.
"""

from __future__ import annotations

import base64
import mimetypes
from typing import Any

import orjson

from .. import web_search
from ..base import ParsedRequest
from ..checks import Checks, label, quote
from .request import NATIVE_EFFORTS, TOOL_CHOICE_TYPES
from .wire import NAME

#: ``output_config.effort`` → canonical ``reasoning_effort``
EFFORTS = NATIVE_EFFORTS
#: the roles of ``messages`` (Claude Code sends system messages among them)
_ROLES = ("user", "assistant", "system")
#: tool_choice types → canonical tool_choice (``tool`` → ``{"name": ...}``)
TOOL_CHOICES = {native: canonical for canonical, native in TOOL_CHOICE_TYPES.items()}

# top-level fields read here; anything else is kept in provider_metadata as it is
_READ = frozenset(
    {"model", "messages", "system", "max_tokens", "temperature", "top_p", "top_k", "stop_sequences",
     "stream", "tools", "tool_choice", "thinking", "output_config", "output_format"}
)  # fmt: skip
# top-level fields another dialect cannot act on and a user would miss
_NOTICED = {
    "mcp_servers": "MCP servers (mcp_servers)",
    "context_management": "context management (context_management)",
}


_check = Checks(NAME)


def _extras(block: dict[str, Any], known: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in block.items() if k not in known and v is not None}


def _with_meta(part: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
    if meta:
        part["provider_metadata"] = {NAME: meta}
    return part


def _guess_image_type(url: str) -> str:
    media, _ = mimetypes.guess_type(url.split("?", 1)[0])
    return media if media and media.startswith("image/") else "image/*"


class _Parser:
    """One request being read: what it dropped and the names of the calls it made so far."""

    def __init__(self) -> None:
        self.dropped: list[str] = []
        self.call_names: dict[str, str] = {}

    def drop(self, what: str) -> None:
        if what not in self.dropped:
            self.dropped.append(what)

    # --- the body ------------------------------------------------------------------------

    def conversation(self, body: dict[str, Any], betas: list[str]) -> dict[str, Any]:
        conversation: dict[str, Any] = {}
        native: dict[str, Any] = {}
        if body.get("model") is not None:
            conversation["model"] = _check.string(body["model"], "model")
        if "system" in body and body["system"] is not None:
            system, blocks = self.system(body["system"])
            if system:
                conversation["system"] = system
            if blocks is not None:
                native["system"] = blocks
        messages = _check.list(body.get("messages"), "messages")
        conversation["messages"] = [m for i, message in enumerate(messages) for m in self.message(message, i)]
        tools = self.tools(body.get("tools"), native)
        if tools:
            conversation["tools"] = tools
        options = self.options(body, native)
        if options:
            conversation["options"] = options
        rest = {k: v for k, v in body.items() if k not in _READ}
        for key in rest:
            if key in _NOTICED:
                self.drop(_NOTICED[key])
        if rest:
            native["body"] = rest
        if betas:
            native["betas"] = betas
        if native:
            conversation["provider_metadata"] = {NAME: native}
        return conversation

    def system(self, value: Any, field: str = "system") -> tuple[str, list[Any] | None]:
        value = _check.string_or_list(value, field, "text blocks")
        if isinstance(value, str):
            return value, None
        texts = []
        for i, block in enumerate(value):
            where = f"{field}[{i}]"
            _check.object(block, where)
            if block.get("type") != "text":
                raise _check.fail(f"{where}.type", f"must be text, not {quote(block.get('type'))}")
            texts.append(_check.string(block.get("text"), f"{where}.text"))
        return "\n\n".join(t for t in texts if t), value

    # --- messages ------------------------------------------------------------------------

    def message(self, message: Any, i: int) -> list[dict[str, Any]]:
        where = f"messages[{i}]"
        _check.object(message, where)
        role = message.get("role")
        if role not in _ROLES:
            raise _check.fail(f"{where}.role", f"must be one of {', '.join(_ROLES)}, not {quote(role)}")
        if role == "system":  # instructions among the messages (Claude Code sends them): kept in place
            text, _ = self.system(message.get("content"), f"{where}.content")
            return [{"role": "system", "content": [{"type": "text", "text": text}]}]
        content = _check.string_or_list(message.get("content"), f"{where}.content", "content blocks")
        if isinstance(content, str):
            return [{"role": role, "content": [{"type": "text", "text": content}]}]
        blocks = []
        for j, block in enumerate(content):
            at = f"{where}.content[{j}]"
            _check.object(block, at)
            _check.string(block.get("type"), f"{at}.type")
            blocks.append((at, block))
        if role == "assistant":
            parts = [p for at, block in blocks for p in self.assistant_part(block, at)]
            return [{"role": "assistant", "content": parts}]
        out: list[dict[str, Any]] = []
        parts = []
        for at, block in blocks:
            if block["type"] == "tool_result":
                if parts:
                    out.append({"role": "user", "content": parts})
                    parts = []
                out.append(self.tool_result(block, at))
            else:
                parts.extend(self.user_part(block, at))
        if parts or not out:
            out.append({"role": "user", "content": parts})
        return out

    def user_part(self, block: dict[str, Any], at: str) -> list[dict[str, Any]]:
        kind = block["type"]
        if kind == "text":
            text = _check.string(block.get("text"), f"{at}.text")
            return [_with_meta({"type": "text", "text": text}, _extras(block, ("type", "text")))]
        if kind == "image":
            part = self.image(block, at)
            return [part] if part else []
        if kind == "document":
            part = self.document(block, at)
            return [part] if part else []
        self.drop(f"{label(kind)} blocks in user messages")
        return []

    def image(self, block: dict[str, Any], at: str) -> dict[str, Any] | None:
        source = _check.object(block.get("source"), f"{at}.source")
        kind = source.get("type")
        part: dict[str, Any] = {"type": "file"}
        if kind == "base64":
            part["media_type"] = _check.string(source.get("media_type"), f"{at}.source.media_type")
            part["data"] = _check.string(source.get("data"), f"{at}.source.data")
        elif kind == "url":
            part["url"] = _check.string(source.get("url"), f"{at}.source.url")
            part["media_type"] = _guess_image_type(part["url"])
        else:
            self.drop(f"images given by {label(kind)} source")
            return None
        return _with_meta(part, _extras(block, ("type", "source")))

    def document(self, block: dict[str, Any], at: str) -> dict[str, Any] | None:
        source = _check.object(block.get("source"), f"{at}.source")
        kind = source.get("type")
        part: dict[str, Any] = {"type": "file"}
        if kind == "base64":
            part["media_type"] = _check.string(source.get("media_type"), f"{at}.source.media_type")
            part["data"] = _check.string(source.get("data"), f"{at}.source.data")
        elif kind == "url":
            part["media_type"] = "application/pdf"
            part["url"] = _check.string(source.get("url"), f"{at}.source.url")
        elif kind in ("text", "content"):
            value = source.get("data") if kind == "text" else source.get("content")
            if isinstance(value, list):
                if any(isinstance(b, dict) and b.get("type") != "text" for b in value):
                    self.drop("images inside documents")
                value = "\n".join(
                    b["text"] for b in value if isinstance(b, dict) and isinstance(b.get("text"), str)
                )
            text = _check.string(value, f"{at}.source.{'data' if kind == 'text' else 'content'}")
            part["media_type"] = "text/plain"
            part["data"] = base64.b64encode(text.encode()).decode()
        else:
            self.drop(f"documents given by {label(kind)} source")
            return None
        if block.get("title") is not None:
            part["filename"] = _check.string(block["title"], f"{at}.title")
        return _with_meta(part, _extras(block, ("type", "source", "title")))

    def tool_result(self, block: dict[str, Any], at: str) -> dict[str, Any]:
        call_id = _check.string(block.get("tool_use_id"), f"{at}.tool_use_id")
        content = _check.string_or_list(block.get("content"), f"{at}.content", "content blocks", default="")
        meta = _extras(block, ("type", "tool_use_id", "content", "is_error"))
        parts: list[dict[str, Any]] = []  # the result's text and files (an image Read)
        if isinstance(content, str):
            output = content
        else:
            for k, item in enumerate(content):
                where = f"{at}.content[{k}]"
                _check.object(item, where)
                kind = item.get("type")
                if kind == "text":
                    parts.append({"type": "text", "text": _check.string(item.get("text"), f"{where}.text")})
                elif kind in ("image", "document"):
                    part = self.image(item, where) if kind == "image" else self.document(item, where)
                    if part is not None:
                        parts.append(part)
                else:
                    self.drop(f"{label(kind)} blocks in tool results")
            output = "\n".join(p["text"] for p in parts if p["type"] == "text")
            if content != [{"type": "text", "text": output}]:
                meta["content"] = content  # sent again as it was to an Anthropic upstream
        message: dict[str, Any] = {"role": "tool", "tool_call_id": call_id}
        if call_id in self.call_names:
            message["tool_name"] = self.call_names[call_id]
        message["output"] = output
        if any(p["type"] == "file" for p in parts):
            message["content"] = parts
        if _check.boolean(block.get("is_error"), f"{at}.is_error", default=False):
            message["is_error"] = True
        return _with_meta(message, meta)

    def assistant_part(self, block: dict[str, Any], at: str) -> list[dict[str, Any]]:
        kind = block["type"]
        if kind == "text":
            text = _check.string(block.get("text"), f"{at}.text")
            return [_with_meta({"type": "text", "text": text}, _extras(block, ("type", "text")))]
        if kind == "thinking":
            text = _check.string(block.get("thinking"), f"{at}.thinking")
            signature = _check.string(block.get("signature"), f"{at}.signature")
            return [
                {"type": "reasoning", "text": text, "provider_metadata": {NAME: {"signature": signature}}}
            ]
        if kind == "redacted_thinking":
            data = _check.string(block.get("data"), f"{at}.data")
            return [{"type": "reasoning", "text": "", "provider_metadata": {NAME: {"redacted_data": data}}}]
        if kind == "compaction":
            text = _check.string(block.get("content"), f"{at}.content", default="")
            meta = {"type": "compaction", **_extras(block, ("type", "content"))}
            return [{"type": "reasoning", "text": text, "provider_metadata": {NAME: meta}}]
        if kind == "fallback":
            meta = {"type": "fallback", **_extras(block, ("type",))}
            return [{"type": "reasoning", "text": "", "provider_metadata": {NAME: meta}}]
        if "tool_use_id" in block:  # web_search_tool_result, mcp_tool_result, ...
            return [self.provider_result(block, at)]
        if kind == "tool_use" or ("id" in block and "name" in block and "input" in block):
            return [self.call(block, at)]
        self.drop(f"{label(kind)} blocks in assistant messages")
        return []

    def call(self, block: dict[str, Any], at: str) -> dict[str, Any]:
        call_id = _check.string(block.get("id"), f"{at}.id")
        name = _check.string(block.get("name"), f"{at}.name")
        value = _check.object(block.get("input"), f"{at}.input")
        self.call_names[call_id] = name
        part: dict[str, Any] = {"type": "tool-call", "tool_call_id": call_id, "tool_name": name,
                                "arguments": orjson.dumps(value).decode(), "input": value}  # fmt: skip
        meta = _extras(block, ("id", "name", "input", "type"))
        if block["type"] != "tool_use":
            part["provider_executed"] = True
            meta = {"type": block["type"], **meta}
        return _with_meta(part, meta)

    def provider_result(self, block: dict[str, Any], at: str) -> dict[str, Any]:
        call_id = _check.string(block.get("tool_use_id"), f"{at}.tool_use_id")
        content = block.get("content")
        is_error = block.get("is_error")
        if not isinstance(is_error, bool):
            kind = content.get("type") if isinstance(content, dict) else None
            is_error = isinstance(kind, str) and kind.endswith("_error")
        return {
            "type": "tool-result",
            "tool_call_id": call_id,
            "tool_name": self.call_names.get(call_id) or block["type"],
            "output": content,
            "is_error": is_error,
            "provider_executed": True,
            "provider_metadata": {
                NAME: {k: v for k, v in block.items() if k not in ("tool_use_id", "content")}
            },
        }

    # --- tools and options ---------------------------------------------------------------

    def tools(self, value: Any, native: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        hosted: list[dict[str, Any]] = []
        for i, tool in enumerate(_check.list(value, "tools", default=[])):
            where = f"tools[{i}]"
            _check.object(tool, where)
            name = _check.string(tool.get("name"), f"{where}.name")
            kind = tool.get("type")
            if isinstance(kind, str) and kind.startswith("web_search_"):
                out.append(self.web_search(tool, where))
                continue
            if isinstance(kind, str) and kind.startswith("code_execution_"):
                meta = {k: v for k, v in tool.items() if k != "name"}
                out.append(web_search.code_execution(meta, NAME))
                continue
            if kind not in (None, "custom"):
                hosted.append(tool)
                self.drop(f"the {label(name)} tool ({label(kind)})")
                continue
            entry: dict[str, Any] = {"name": name}
            if tool.get("description") is not None:
                entry["description"] = _check.string(tool["description"], f"{where}.description")
            schema = tool.get("input_schema")
            if schema is None:
                schema = {"type": "object", "properties": {}}
            _check.object(schema, f"{where}.input_schema")
            if schema.get("type") == "object" and "properties" not in schema:
                schema = {**schema, "properties": {}}  # as Claude Code sends some: others want one
            entry["parameters"] = schema
            out.append(_with_meta(entry, _extras(tool, ("name", "description", "input_schema", "type"))))
        if hosted:
            native["tools"] = hosted
        return out

    @staticmethod
    def web_search(tool: dict[str, Any], at: str) -> dict[str, Any]:
        """Anthropic's web search tool → the canonical one (see :mod:`..web_search`)."""
        uses = _check.integer(tool.get("max_uses"), f"{at}.max_uses", default=None)
        settings = {
            "max_uses": uses,
            "allowed_domains": web_search.read_domains(
                _check, tool.get("allowed_domains"), f"{at}.allowed_domains"
            ),
            "blocked_domains": web_search.read_domains(
                _check, tool.get("blocked_domains"), f"{at}.blocked_domains"
            ),
            "user_location": web_search.read_location(
                _check, tool.get("user_location"), f"{at}.user_location"
            ),
        }
        meta = {k: v for k, v in tool.items() if k not in settings and k != "name"}
        return web_search.canonical(settings, meta, _check, at)

    def options(self, body: dict[str, Any], native: dict[str, Any]) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if body.get("max_tokens") is not None:
            options["max_tokens"] = _check.integer(body["max_tokens"], "max_tokens")
        for key in ("temperature", "top_p"):
            if body.get(key) is not None:
                options[key] = _check.number(body[key], key)
        if body.get("top_k") is not None:
            options["top_k"] = _check.integer(body["top_k"], "top_k")
        stop = body.get("stop_sequences")
        if stop is not None:
            for i, s in enumerate(_check.list(stop, "stop_sequences")):
                _check.string(s, f"stop_sequences[{i}]")
            options["stop"] = stop
        if body.get("tool_choice") is not None:
            self.tool_choice(body["tool_choice"], options)
        if body.get("thinking") is not None:
            self.thinking(body["thinking"], options, native)
        if body.get("output_format") is not None:  # the structured-outputs beta's field
            options["response_format"] = self.output_format(body["output_format"], "output_format")
        if body.get("output_config") is not None:
            config = dict(_check.object(body["output_config"], "output_config"))
            if config.get("format") is not None:
                options["response_format"] = self.output_format(config.pop("format"), "output_config.format")
            effort = config.pop("effort", None)
            if effort is not None:
                if not isinstance(effort, str) or effort not in EFFORTS:
                    raise _check.fail(
                        "output_config.effort", f"must be one of {', '.join(EFFORTS)}, not {quote(effort)}"
                    )
                options["reasoning_effort"] = EFFORTS[effort]
                native["effort"] = effort
            config = {k: v for k, v in config.items() if v is not None}
            if config:
                native["output_config"] = config
        return options

    def tool_choice(self, value: Any, options: dict[str, Any]) -> None:
        _check.object(value, "tool_choice")
        kind = value.get("type")
        if kind == "tool":
            options["tool_choice"] = {"name": _check.string(value.get("name"), "tool_choice.name")}
        elif isinstance(kind, str) and kind in TOOL_CHOICES:
            options["tool_choice"] = TOOL_CHOICES[kind]
        else:
            raise _check.fail("tool_choice.type", f"must be one of auto, any, tool, none, not {quote(kind)}")
        disable = value.get("disable_parallel_tool_use")
        if _check.boolean(disable, "tool_choice.disable_parallel_tool_use", default=False):
            options["parallel_tool_calls"] = False

    def thinking(self, value: Any, options: dict[str, Any], native: dict[str, Any]) -> None:
        _check.object(value, "thinking")
        kind = _check.string(value.get("type"), "thinking.type")
        if kind == "enabled":
            options["reasoning_budget"] = _check.integer(value.get("budget_tokens"), "thinking.budget_tokens")
        elif kind == "disabled":
            options["reasoning_budget"] = 0
        if kind not in ("enabled", "disabled") or set(value) - {"type", "budget_tokens"}:
            native["thinking"] = (
                value  # what the options cannot say: other types (adaptive), fields (display)
            )

    def output_format(self, value: Any, where: str) -> dict[str, Any]:
        _check.object(value, where)
        if value.get("type") != "json_schema":
            raise _check.fail(f"{where}.type", f"must be json_schema, not {quote(value.get('type'))}")
        schema = _check.object(value.get("schema"), f"{where}.schema")
        return {"type": "json_schema", "schema": schema}


def _betas(headers: dict[str, str] | None) -> list[str]:
    value = (headers or {}).get("anthropic-beta")
    if not isinstance(value, str):
        return []
    return list(dict.fromkeys(b.strip() for b in value.split(",") if b.strip()))


def parse_request(
    body: Any, *, path: str = "", params: dict[str, str] | None = None, headers: dict[str, str] | None = None
) -> ParsedRequest:
    """A Messages request body (and its headers) → the canonical conversation and how to answer it.

    ``answer_options`` (for the encoder and :func:`.whole.whole_message`): ``model``, the model the
    client asked for (named in the answer when the upstream names none), and ``beta: true`` when
    the client sent ``anthropic-beta`` (it reads the beta API's blocks too).
    """
    body = _check.body(body)
    betas = _betas(headers)
    parser = _Parser()
    conversation = parser.conversation(body, betas)
    stream = _check.boolean(body.get("stream"), "stream", default=None)
    answer: dict[str, Any] = {}
    if conversation.get("model"):
        answer["model"] = conversation["model"]
    if betas:
        answer["beta"] = True
    return ParsedRequest(
        conversation=conversation,
        stream=bool(stream) and not path.split("?", 1)[0].rstrip("/").endswith("/count_tokens"),
        answer_options=answer,
        dropped=parser.dropped,
    )


# --- counting tokens ---------------------------------------------------------------------

#: tokens every request costs (the turn markers around the conversation)
BASE_TOKENS = 5
#: tokens each message costs besides its content (its role marker)
MESSAGE_TOKENS = 4
#: tokens an image costs: the most one costs after the API scales it (about 1.15 megapixels / 750)
IMAGE_TOKENS = 1600
#: tokens a PDF page costs (text plus the page's image), roughly
PDF_PAGE_TOKENS = 1500
#: tokens of the tool-use system prompt the API adds when tools are declared
TOOLS_TOKENS = 350
#: characters per token of English text and code, roughly
CHARS_PER_TOKEN = 4


def _file_tokens(part: dict[str, Any]) -> int:
    media = str(part.get("media_type") or "")
    data = part.get("data")
    if media == "application/pdf":
        pages = 1
        if isinstance(data, str):
            try:
                raw = base64.b64decode(data)
            except ValueError:
                raw = b""
            pages = (
                max(raw.count(b"/Type /Page") - raw.count(b"/Type /Pages"), 0)
                + max(raw.count(b"/Type/Page") - raw.count(b"/Type/Pages"), 0)
                or 1
            )
        return pages * PDF_PAGE_TOKENS
    if media.startswith("text/") and isinstance(data, str):
        return (len(data) * 3 // 4) // CHARS_PER_TOKEN
    return IMAGE_TOKENS


def count_tokens_estimate(conversation: dict[str, Any]) -> int:
    """An estimate of the input tokens the Messages API would count for a conversation (what
    ``/v1/messages/count_tokens`` answers when the upstream cannot count).

    How it is made: the characters of every text the model reads (the system prompt; text,
    reasoning and tool-result texts; tool calls' names and JSON arguments; tool declarations as
    JSON) divided by 4, plus 5 per request, 4 per message, 1,600 per image (the most an image
    costs), 1,500 per PDF page (pages counted in the PDF's bytes), a text file's characters / 4,
    and 350 for the tool-use system prompt when tools are declared. It grows with every
    character and part added; on English prose it is within a few tokens of the API's count.
    """
    from ...conversation import system_text

    chars = len(system_text(conversation) or "")
    tokens = BASE_TOKENS
    for message in conversation.get("messages") or ():
        tokens += MESSAGE_TOKENS
        if not isinstance(message, dict):
            continue
        if message.get("role") == "tool":
            output = message.get("output")
            chars += len(output if isinstance(output, str) else orjson.dumps(output).decode())
            continue
        content = message.get("content")
        if isinstance(content, str):
            chars += len(content)
            continue
        for part in content or ():
            if not isinstance(part, dict):
                continue
            kind = part.get("type")
            if kind in ("text", "reasoning"):
                chars += len(part.get("text") or "")
            elif kind == "tool-call":
                arguments = part.get("arguments")
                if not isinstance(arguments, str):
                    arguments = orjson.dumps(part.get("input") or {}).decode()
                chars += len(str(part.get("tool_name") or "")) + len(arguments)
            elif kind == "tool-result":
                chars += len(orjson.dumps(part.get("output"), default=str).decode())
            elif kind == "file":
                tokens += _file_tokens(part)
    tools = conversation.get("tools") or []
    hosted = (conversation.get("provider_metadata") or {}).get(NAME, {}).get("tools") or []
    if tools or hosted:
        tokens += TOOLS_TOKENS
        chars += len(orjson.dumps(tools + hosted, default=str))
    return tokens + -(-chars // CHARS_PER_TOKEN)
