"""OpenAI Responses request bodies → canonical conversations (``parse_request``): :mod:`.request`
backwards.

What ``streamkit serve`` makes of a Responses client's ``POST /v1/responses`` (the body as the
official ``openai`` SDK and the Codex CLI send it):

* ``model`` → the conversation's ``model``; ``stream`` → :attr:`ParsedRequest.stream` (false when
  absent, as the API's default); ``instructions`` → ``system``.
* ``input``: a string is one user message. A list holds items, read in order; the items of an
  assistant turn (assistant ``message``, ``reasoning``, the calls) that follow each other make one
  assistant message, as ``accumulate`` makes one of a response:

  - ``message`` (also the short form ``{"role", "content"}`` without ``type``): ``user`` content
    (a string, or ``input_text``, ``input_image``, ``input_file`` parts) → text and ``file``
    parts: an image's ``image_url`` (a ``data:`` URL → ``media_type`` and base64 ``data``; else
    ``url``, the media type guessed from its path, ``image/*`` when it says nothing), a file's
    ``file_data`` (a data URL, or bare base64 typed by its ``filename``), ``file_url`` and
    ``filename``; an image's ``detail`` other than ``auto``, a ``file_id`` and a part's other
    fields (cache breakpoints) in the part's ``provider_metadata``. ``assistant`` content
    (``output_text``, ``refusal`` as a text part with ``refusal: true``) → text parts with the
    item's ``id`` and ``phase`` in ``provider_metadata`` (as the normalizer puts them); a message
    with no id right after another (Codex's commentary, then its answer) has its first part
    marked ``split``, so that the builder does not join their texts.
    ``system`` → a system message in its place; ``developer`` → a system message with
    ``"developer": true``.
  - ``reasoning``: each ``summary`` text, then each ``reasoning_text`` content part, → a
    reasoning part with the item's ``id`` (and ``"part": "reasoning_text"`` for raw reasoning);
    ``encrypted_content`` on the item's last part; an item with no text at all is one empty
    part. This is what the normalizer writes, so a Responses upstream gets the items back. An
    ``encrypted_content`` the encoder sealed another dialect's reasoning metadata in (``streamkit:``,
    an Anthropic or Gemini signature) gives that metadata back instead, for that dialect's builder.
  - ``function_call`` → a tool-call part (``call_id``, ``name``, ``arguments`` as sent, ``input``
    parsed from them; the item's ``id`` and ``namespace`` in ``provider_metadata``);
    ``custom_tool_call`` → a tool-call whose input is ``{"input": <the string>}``, marked
    ``"type": "custom_tool_call"`` so that the builder writes it back as one;
    ``apply_patch_call`` → a call of ``apply_patch`` whose input is the ``operation``.
  - ``function_call_output``, ``custom_tool_call_output``, ``apply_patch_call_output`` → a tool
    message (``tool_name`` the call's, when the request holds it; ``is_error`` for an
    apply_patch output with ``status: failed``, the only output that has an error flag). An
    output given as a list of content parts: its text when it is only ``input_text``, else its
    text as ``output`` and its parts (text, and ``file`` for ``input_image`` / ``input_file``) as
    the message's ``content``, which every builder sends on as its dialect can.
  - Any other item (``item_reference``, ``local_shell_call`` and its output, hosted tools' calls
    from earlier turns such as ``web_search_call``, ``compaction``, ...) has no canonical
    meaning: kept in ``provider_metadata["openai-responses"]["input_items"]`` with the number of
    messages before it (it ends an open assistant turn), restored there by the builder, and
    listed in :attr:`ParsedRequest.dropped`.
* ``tools``: ``function`` → a canonical tool (``description`` when not empty, ``parameters``,
  ``strict: true``); ``custom`` → a tool with ``"kind": "custom"`` and its ``format``; their other
  fields (``defer_loading``, ``output_schema``, a ``strict`` of null, ...) in the tool's
  ``provider_metadata``. A ``namespace`` (Codex's ``multi_agent_v1``) → its function and custom
  tools as canonical tools, each with its ``namespace`` in ``provider_metadata`` (one named as
  another tool is dropped: a call names its tool alone), for dialects that have no namespaces;
  the namespace itself → ``provider_metadata["openai-responses"]["tools"]``, which a Responses
  upstream gets instead; the names in the ``namespaces`` answer option, so that a call of one
  comes back to the client with its ``namespace``. ``web_search`` (and its dated and preview
  types) → the canonical web search tool: ``filters.allowed_domains``, ``user_location`` and
  ``search_context_size`` as its settings, the rest (its ``type``, ``external_web_access``...) in
  its ``provider_metadata`` (:mod:`..web_search`). ``code_interpreter`` → the canonical code
  execution, the tool itself (its ``container``) in its ``provider_metadata``. Every other tool
  (hosted: ``file_search``,
  ``mcp``, ``local_shell``, ...) → ``provider_metadata["openai-responses"]["tools"]``, and
  ``"the file_search tool"`` in ``dropped``.
* ``tool_choice``: ``auto``, ``none``, ``required`` as they are; a named function or custom tool
  → ``{"name": ...}``; ``allowed_tools`` → its ``mode``, the object itself kept in
  ``provider_metadata`` (and listed as dropped); the web search's choice → ``{"name":
  "web_search"}`` (the canonical search) and ``code_interpreter``'s → ``{"name":
  "code_execution"}``, each itself kept for a Responses upstream; another hosted tool's choice →
  ``provider_metadata`` only (dropped).
* ``text.format``: ``json_schema`` → ``response_format`` ``{"type": "json_schema", "name",
  "schema", "strict"?, "description"?}``, ``json_object`` → ``{"type": "json_object"}``, ``text``
  → nothing; the other ``text`` fields (``verbosity``) → ``provider_metadata``.
* ``reasoning.effort``: ``minimal``, ``low``, ``medium``, ``high`` → ``reasoning_effort``;
  ``none`` → ``reasoning_budget: 0`` (no thinking); ``xhigh`` and ``max`` → ``high``; the
  effort itself when it was not one of the canonical ones, and the other fields (``summary``),
  → ``provider_metadata``.
* ``max_output_tokens`` → ``max_tokens``; ``temperature``, ``top_p``, ``parallel_tool_calls`` as
  they are.
* Every other field (``store``, ``include``, ``prompt_cache_key``, ``metadata``, ``user``,
  ``service_tier``, ``truncation``, ``background``, ``previous_response_id``, fields streamkit
  does not know) → ``provider_metadata["openai-responses"]["body"]``, accepted quietly, except
  the few whose loss a user would notice, listed in ``dropped``: ``previous_response_id`` (the
  earlier turns it names), ``conversation``, ``prompt`` (a stored prompt), ``top_logprobs``.

Wrong types in valid JSON (``input`` a number, a part that is not an object, ``temperature`` a
string, a call without ``call_id``) are a :class:`UsageError` naming the field, which ``serve``
answers with a 400 in the dialect's error shape. Null is the same as absent.
"""

from __future__ import annotations

import mimetypes
from typing import Any
from urllib.parse import urlsplit

from ...canonical import tool_call
from ...conversation import CODE_EXECUTION, CONTEXT_SIZES
from .. import web_search
from ..base import ParsedRequest
from ..checks import Checks, kind_of, label, quote
from .wire import NAME, _dumps, unseal

#: the top-level fields parse reads; every other is kept in ``provider_metadata[NAME]["body"]``
_READ = frozenset({
    "model", "instructions", "input", "tools", "tool_choice", "parallel_tool_calls", "text",
    "reasoning", "max_output_tokens", "temperature", "top_p", "stream",
})  # fmt: skip

#: native-only fields whose loss a user would notice with another upstream
_NOTICED = {
    "previous_response_id": "previous_response_id (the earlier turns it names)",
    "conversation": "the stored conversation (conversation)",
    "prompt": "the stored prompt (prompt)",
    "top_logprobs": "logprobs (top_logprobs)",
}

#: reasoning efforts with a canonical name; the API's others → (canonical options, kept natively)
_EFFORTS = frozenset({"minimal", "low", "medium", "high"})
#: the types of the web search tool, current and dated (the canonical web search)
WEB_SEARCH_TYPES = frozenset(
    {"web_search", "web_search_preview", "web_search_2025_08_26", "web_search_preview_2025_03_11"}
)
_OTHER_EFFORTS: dict[str, dict[str, Any]] = {
    "none": {"reasoning_budget": 0},
    "xhigh": {"reasoning_effort": "high"},
    "max": {"reasoning_effort": "high"},
}

_ROLES = ("user", "assistant", "system", "developer")
_TEXT_PARTS = ("input_text", "output_text", "text")


_check = Checks(NAME)


def _meta(**fields: Any) -> dict[str, Any]:
    """A part's ``provider_metadata`` with this dialect's fields (those not None), or nothing."""
    kept = {k: v for k, v in fields.items() if v is not None and v != {}}
    return {"provider_metadata": {NAME: kept}} if kept else {}


def _item_id(part: dict[str, Any]) -> Any:
    meta = part.get("provider_metadata", {}).get(NAME, {})
    return meta.get("item_id")


def _data_url(value: str) -> tuple[str, str] | None:
    """``data:<media type>;base64,<data>`` → (media type, data); None for anything else."""
    if not value.startswith("data:"):
        return None
    header, sep, data = value[5:].partition(",")
    if not sep or not header.endswith(";base64"):
        return None
    return header[: -len(";base64")].split(";")[0] or "application/octet-stream", data


def _guess(name: str | None, default: str) -> str:
    """A media type from a file name or URL path."""
    if name:
        guessed, _ = mimetypes.guess_type(urlsplit(name).path if "://" in name else name, strict=False)
        if guessed:
            return guessed
    return default


class _Parser:
    """One request being read: the messages so far, the assistant turn open, what was dropped."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.turn: list[dict[str, Any]] | None = None  # the content of the open assistant turn
        self.calls: dict[str, str] = {}  # call_id -> tool name
        self.own: dict[str, Any] = {}  # provider_metadata[NAME] of the conversation
        self.dropped: list[str] = []

    def drop(self, what: str) -> None:
        if what not in self.dropped:
            self.dropped.append(what)

    def add(self, message: dict[str, Any]) -> None:
        self.turn = None
        self.messages.append(message)

    def assistant(self) -> list[dict[str, Any]]:
        if self.turn is None:
            self.turn = []
            self.messages.append({"role": "assistant", "content": self.turn})
        return self.turn

    # --- input items --------------------------------------------------------------------------

    def items(self, items: list[Any]) -> None:
        for i, item in enumerate(items):
            at = f"input[{i}]"
            _check.object(item, at)
            kind = item.get("type")
            if kind is None and "role" in item:
                kind = "message"
            kind = _check.string(kind, f"{at}.type")
            handler = _ITEMS.get(kind)
            if handler is None:
                self.other_item(item, kind)
            else:
                handler(self, item, at)

    def other_item(self, item: dict[str, Any], kind: str) -> None:
        """An item with no canonical meaning: kept in its place for a Responses upstream."""
        self.turn = None
        self.own.setdefault("input_items", []).append([len(self.messages), item])
        self.drop(
            "item references (item_reference)" if kind == "item_reference" else f"{label(kind)} input items"
        )

    def message(self, item: dict[str, Any], at: str) -> None:
        role = item.get("role")
        if role not in _ROLES:
            raise _check.fail(f"{at}.role", f"must be one of {', '.join(_ROLES)}, not {quote(role)}")
        content = _check.string_or_list(item.get("content"), f"{at}.content", "parts")
        if role == "user":
            parts = (
                [{"type": "text", "text": content}]
                if isinstance(content, str)
                else self.user_parts(content, at)
            )
            self.add({"role": "user", "content": parts})
        elif role == "assistant":
            self.assistant_message(item, content, at)
        else:
            message: dict[str, Any] = {"role": "system", "content": self.text_parts(content, at)}
            if role == "developer":
                message["developer"] = True
            self.add(message)

    def text_parts(self, content: str | list[Any], at: str) -> list[dict[str, Any]]:
        """A system or developer message's content → text parts."""
        if isinstance(content, str):
            return [{"type": "text", "text": content}]
        out = []
        for j, part in enumerate(content):
            where = f"{at}.content[{j}]"
            part = _check.object(part, where, default={})
            if part.get("type") in _TEXT_PARTS:
                out.append({"type": "text", "text": _check.string(part.get("text"), f"{where}.text")})
            else:
                self.drop(f"{label(part.get('type'))} parts of system messages")
        return out

    def user_parts(self, content: list[Any], at: str, field: str = "content") -> list[dict[str, Any]]:
        """A user message's parts (or a tool output's, ``field`` naming where they are)."""
        out: list[dict[str, Any]] = []
        for j, part in enumerate(content):
            where = f"{at}.{field}[{j}]"
            _check.object(part, where)
            kind = part.get("type")
            if kind in _TEXT_PARTS:
                text = _check.string(part.get("text"), f"{where}.text")
                # the other fields of an input_text part (a cache breakpoint) go back with it
                fields = (
                    {k: v for k, v in part.items() if k not in ("type", "text")}
                    if kind == "input_text"
                    else {}
                )
                out.append({"type": "text", "text": text, **_meta(fields=fields or None)})
            elif kind == "input_image":
                out.append(self.image(part, where))
            elif kind == "input_file":
                out.append(self.file(part, where))
            else:
                self.drop(
                    f"{label(kind)} parts of {'user messages' if field == 'content' else 'tool outputs'}"
                )
        return out

    def image(self, part: dict[str, Any], at: str) -> dict[str, Any]:
        url = _check.string(part.get("image_url"), f"{at}.image_url", default=None)
        file_id = _check.string(part.get("file_id"), f"{at}.file_id", default=None)
        detail = _check.string(part.get("detail"), f"{at}.detail", default=None)
        fields = {k: v for k, v in part.items() if k not in ("type", "image_url", "file_id", "detail")}
        meta = _meta(detail=None if detail == "auto" else detail, fields=fields or None)
        if url:
            inline = _data_url(url)
            if inline:
                return {"type": "file", "media_type": inline[0], "data": inline[1], **meta}
            return {"type": "file", "media_type": _guess(url, "image/*"), "url": url, **meta}
        if file_id:
            self.drop("files given by file_id")
            meta = _meta(file_id=file_id, detail=None if detail == "auto" else detail, fields=fields or None)
            return {"type": "file", "media_type": "image/*", **meta}
        raise _check.fail(at, "needs an image_url or a file_id")

    def file(self, part: dict[str, Any], at: str) -> dict[str, Any]:
        data = _check.string(part.get("file_data"), f"{at}.file_data", default=None)
        url = _check.string(part.get("file_url"), f"{at}.file_url", default=None)
        file_id = _check.string(part.get("file_id"), f"{at}.file_id", default=None)
        filename = _check.string(part.get("filename"), f"{at}.filename", default=None)
        detail = _check.string(part.get("detail"), f"{at}.detail", default=None)
        fields = {
            k: v
            for k, v in part.items()
            if k not in ("type", "file_data", "file_url", "file_id", "filename", "detail")
        }
        out: dict[str, Any] = {"type": "file"}
        if data is not None:
            inline = _data_url(data)
            media, b64 = inline if inline else (_guess(filename, "application/octet-stream"), data)
            out.update(media_type=media, data=b64)
        elif url:
            out.update(media_type=_guess(url, "application/octet-stream"), url=url)
        elif file_id:
            self.drop("files given by file_id")
            out["media_type"] = _guess(filename, "application/octet-stream")
        else:
            raise _check.fail(at, "needs file_data, a file_url or a file_id")
        if filename:
            out["filename"] = filename
        out.update(
            _meta(file_id=file_id if data is None and not url else None, detail=detail, fields=fields or None)
        )
        return out

    def assistant_message(self, item: dict[str, Any], content: str | list[Any], at: str) -> None:
        item_id = _check.string(item.get("id"), f"{at}.id", default=None)
        phase = _check.string(item.get("phase"), f"{at}.phase", default=None)
        turn = self.assistant()
        # two messages with no id in a row (Codex's commentary, then its answer): the second is
        # marked, else the builder would join their texts into one message
        last = turn[-1] if turn else None
        split = item_id is None and last is not None and last["type"] == "text" and not _item_id(last)
        meta = _meta(item_id=item_id, phase=phase)
        first = _meta(item_id=item_id, phase=phase, split=True if split else None)
        if isinstance(content, str):
            turn.append({"type": "text", "text": content, **first})
            return
        for j, part in enumerate(content):
            where = f"{at}.content[{j}]"
            _check.object(part, where)
            kind = part.get("type")
            if kind in _TEXT_PARTS:
                text = _check.string(part.get("text"), f"{where}.text")
                turn.append({"type": "text", "text": text, **first})
            elif kind == "refusal":
                text = _check.string(part.get("refusal"), f"{where}.refusal")
                turn.append({"type": "text", "text": text, "refusal": True, **first})
            else:
                self.drop(f"{label(kind)} parts of assistant messages")
                continue
            first = meta

    def reasoning(self, item: dict[str, Any], at: str) -> None:
        item_id = _check.string(item.get("id"), f"{at}.id", default=None)
        encrypted = _check.string(item.get("encrypted_content"), f"{at}.encrypted_content", default=None)
        parts: list[dict[str, Any]] = []
        for field, raw in (("summary", False), ("content", True)):
            for j, entry in enumerate(_check.list(item.get(field), f"{at}.{field}", default=[])):
                where = f"{at}.{field}[{j}]"
                entry = _check.object(entry, where, default={})
                if raw and entry.get("type") not in (None, "reasoning_text"):
                    continue
                text = _check.string(entry.get("text"), f"{where}.text")
                parts.append({"type": "reasoning", "text": text, "raw": raw})
        if not parts:
            parts.append({"type": "reasoning", "text": "", "raw": False})
        # another dialect's signature, sealed here by the encoder: back where its builder looks
        foreign = unseal(encrypted) if encrypted else None
        turn = self.assistant()
        for n, part in enumerate(parts):
            last = n == len(parts) - 1
            raw = part.pop("raw")
            part.update(
                _meta(
                    item_id=item_id,
                    part="reasoning_text" if raw else None,
                    encrypted_content=encrypted if last and foreign is None else None,
                )
            )
            if last and foreign:
                part["provider_metadata"] = {**foreign, **part.get("provider_metadata", {})}
            turn.append(part)

    def call(self, item: dict[str, Any], at: str) -> None:
        kind = item["type"]
        call_id = _check.string(item.get("call_id"), f"{at}.call_id")
        item_id = _check.string(item.get("id"), f"{at}.id", default=None)
        if kind == "function_call":
            name = _check.string(item.get("name"), f"{at}.name")
            arguments = item.get("arguments")
            if isinstance(arguments, dict):
                arguments = _dumps(arguments)
            arguments = _check.string(arguments, f"{at}.arguments", default="")
            namespace = _check.string(item.get("namespace"), f"{at}.namespace", default=None)
            meta = _meta(item_id=item_id, namespace=namespace)
        elif kind == "custom_tool_call":
            name = _check.string(item.get("name"), f"{at}.name")
            text = _check.string(item.get("input"), f"{at}.input")
            arguments = _dumps({"input": text})
            namespace = _check.string(item.get("namespace"), f"{at}.namespace", default=None)
            meta = _meta(item_id=item_id, type=kind, namespace=namespace)
        else:  # apply_patch_call
            name = "apply_patch"
            operation = _check.object(item.get("operation"), f"{at}.operation", default={})
            if "diff" in operation:  # as the normalizer writes it: the streamed diff last
                operation = {**{k: v for k, v in operation.items() if k != "diff"}, "diff": operation["diff"]}
            arguments = _dumps(operation)
            meta = _meta(item_id=item_id, type=kind)
        part = tool_call(call_id, name, arguments)  # (a message's part has the event's fields)
        part.update(meta)
        self.calls[call_id] = name
        self.assistant().append(part)

    def output(self, item: dict[str, Any], at: str) -> None:
        call_id = _check.string(item.get("call_id"), f"{at}.call_id")
        message: dict[str, Any] = {"role": "tool", "tool_call_id": call_id}
        if call_id in self.calls:
            message["tool_name"] = self.calls[call_id]
        output = item.get("output")
        if isinstance(output, list):
            parts = [_check.object(p, f"{at}.output[{j}]", default={}) for j, p in enumerate(output)]
            if all(p.get("type") in _TEXT_PARTS for p in parts):
                message["output"] = "".join(
                    _check.string(p.get("text"), f"{at}.output[{j}].text") for j, p in enumerate(parts)
                )
            else:  # an image a tool read (Codex's view_image): the text, and the parts in content
                content = self.user_parts(parts, at, "output")
                message["output"] = "".join(p["text"] for p in content if p["type"] == "text")
                message["content"] = content
        elif output is None and item["type"] == "apply_patch_call_output":
            message["output"] = ""
        else:
            message["output"] = _check.string(output, f"{at}.output")
        if item["type"] == "apply_patch_call_output":
            status = _check.string(item.get("status"), f"{at}.status", default=None)
            if status == "failed":
                message["is_error"] = True
        self.add(message)

    # --- tools and options ----------------------------------------------------------------------

    def tools(self, tools: list[Any]) -> tuple[list[dict[str, Any]], list[str], dict[str, str]]:
        """The declared tools; the names of the custom (freeform) ones; and the namespace of each
        tool a ``namespace`` declared (Codex's ``multi_agent_v1``: ``spawn_agent``...), which
        other dialects get as plain tools, a Responses upstream as the namespace itself."""
        out: list[dict[str, Any]] = []
        namespaces: dict[str, str] = {}
        grouped: list[tuple[str, dict[str, Any], str]] = []
        for i, tool in enumerate(tools):
            at = f"tools[{i}]"
            _check.object(tool, at)
            kind = _check.string(tool.get("type"), f"{at}.type")
            if kind == "namespace":
                self.own.setdefault("tools", []).append(tool)
                space = _check.string(tool.get("name"), f"{at}.name")
                for j, inner in enumerate(_check.list(tool.get("tools"), f"{at}.tools", default=[])):
                    grouped.append((f"{at}.tools[{j}]", _check.object(inner, f"{at}.tools[{j}]"), space))
                continue
            if kind in WEB_SEARCH_TYPES:
                out.append(self.web_search(tool, at))
                continue
            if kind == "code_interpreter":  # (its container and the rest: for a Responses upstream)
                meta = {k: v for k, v in tool.items() if k != "name"}
                out.append(web_search.code_execution(meta, NAME))
                continue
            if kind == "image_generation":  # (its settings: for a Responses upstream)
                out.append(web_search.image_generation(dict(tool), NAME))
                continue
            if kind not in ("function", "custom"):
                self.own.setdefault("tools", []).append(tool)
                self.drop(f"the {label(kind)} tool")
                continue
            out.append(self.declaration(tool, kind, at))
        names = {t["name"] for t in out}
        for at, inner, space in grouped:
            kind = _check.string(inner.get("type"), f"{at}.type")
            if kind not in ("function", "custom"):
                self.drop(f"the {label(kind)} tool")
                continue
            decl = self.declaration(inner, kind, at, namespace=space)
            if decl["name"] in names:  # (a call names its tool alone: it would be two tools' call)
                self.drop("namespace tools named as another tool")
                continue
            names.add(decl["name"])
            namespaces[decl["name"]] = space
            out.append(decl)
        custom = [t["name"] for t in out if t.get("kind") == "custom"]
        return out, custom, namespaces

    @staticmethod
    def web_search(tool: dict[str, Any], at: str) -> dict[str, Any]:
        """A ``web_search`` tool → the canonical web search (see :mod:`..web_search`)."""
        filters = _check.object(tool.get("filters"), f"{at}.filters", default={})
        size = _check.string(tool.get("search_context_size"), f"{at}.search_context_size", default=None)
        if size is not None and size not in CONTEXT_SIZES:
            raise _check.fail(f"{at}.search_context_size", f"must be low, medium or high, not {quote(size)}")
        settings = {
            "allowed_domains": web_search.read_domains(
                _check, filters.get("allowed_domains"), f"{at}.filters.allowed_domains"
            ),
            "user_location": web_search.read_location(
                _check, tool.get("user_location"), f"{at}.user_location"
            ),
            "context_size": size,
        }
        meta = {k: v for k, v in tool.items() if k not in ("filters", "user_location", "search_context_size")}
        rest = {k: v for k, v in filters.items() if k != "allowed_domains"}
        if rest:
            meta["filters"] = rest
        return web_search.canonical(settings, meta, _check, at)

    def declaration(
        self, tool: dict[str, Any], kind: str, at: str, namespace: str | None = None
    ) -> dict[str, Any]:
        """A ``function`` or ``custom`` tool → a canonical tool (in ``namespace``, if one)."""
        name = _check.string(tool.get("name"), f"{at}.name")
        description = _check.string(tool.get("description"), f"{at}.description", default=None)
        decl: dict[str, Any] = {"name": name}
        if description:
            decl["description"] = description
        if kind == "custom":
            decl["kind"] = "custom"
            if tool.get("format") is not None:
                decl["format"] = _check.object(tool.get("format"), f"{at}.format", default={})
            read: tuple[str, ...] = ("type", "name", "description", "format")
        else:
            if tool.get("parameters") is not None:
                decl["parameters"] = _check.object(tool.get("parameters"), f"{at}.parameters", default={})
            strict = _check.boolean(tool.get("strict"), f"{at}.strict", default=None)
            if strict:
                decl["strict"] = True
            read = ("type", "name", "description", "parameters", "strict")
        fields = {k: v for k, v in tool.items() if k not in read}
        if kind == "function" and tool.get("strict", False) is None:
            fields["strict"] = None  # the API's "strict where the schema allows"
        decl.update(_meta(fields=fields or None, namespace=namespace))
        return decl

    def tool_choice(self, value: Any) -> Any:
        """The canonical ``tool_choice`` (None: none), the native one kept where it says more."""
        if value is None:
            return None
        if isinstance(value, str):
            if value not in ("auto", "none", "required"):
                raise _check.fail(
                    "tool_choice", f"must be auto, none, required or an object, not {quote(value)}"
                )
            return value
        if not isinstance(value, dict):
            raise _check.fail("tool_choice", f"must be a string or an object, not {kind_of(value)}")
        kind = _check.string(value.get("type"), "tool_choice.type")
        if kind in ("function", "custom"):
            return {"name": _check.string(value.get("name"), "tool_choice.name")}
        self.own["tool_choice"] = value
        if kind in WEB_SEARCH_TYPES:  # (forcing the search, which other dialects have: the canonical one)
            return {"name": "web_search"}
        if kind == "code_interpreter":  # (forcing the sandbox: the canonical code execution tool)
            return {"name": CODE_EXECUTION}
        self.drop(f"the {label(kind)} tool_choice")
        if kind == "allowed_tools":
            mode = value.get("mode")
            return mode if mode in ("auto", "required") else None
        return None

    def text(self, value: Any, options: dict[str, Any]) -> None:
        text = dict(_check.object(value, "text", default={}))
        fmt = text.pop("format", None)
        if fmt is not None:
            fmt = _check.object(fmt, "text.format", default={})
            kind = _check.string(fmt.get("type"), "text.format.type")
            if kind == "json_schema":
                schema = _check.object(fmt.get("schema"), "text.format.schema")
                rf: dict[str, Any] = {"type": "json_schema"}
                name = _check.string(fmt.get("name"), "text.format.name", default=None)
                if name:
                    rf["name"] = name
                rf["schema"] = schema
                strict = _check.boolean(fmt.get("strict"), "text.format.strict", default=None)
                if strict is not None:
                    rf["strict"] = strict
                description = _check.string(fmt.get("description"), "text.format.description", default=None)
                if description:
                    rf["description"] = description
                options["response_format"] = rf
            elif kind == "json_object":
                options["response_format"] = {"type": "json_object"}
            elif kind != "text":
                text["format"] = fmt
                self.drop(f"the {label(kind)} text format")
        if text:
            self.own["text"] = text

    def reasoning_options(self, value: Any, options: dict[str, Any]) -> None:
        reasoning = dict(_check.object(value, "reasoning", default={}))
        effort = _check.string(reasoning.pop("effort", None), "reasoning.effort", default=None)
        if effort in _EFFORTS:
            options["reasoning_effort"] = effort
        elif effort is not None:
            options.update(_OTHER_EFFORTS.get(effort, {}))
            reasoning["effort"] = effort
        kept = {k: v for k, v in reasoning.items() if v is not None}
        if kept:
            self.own["reasoning"] = kept


def parse_request(body: Any) -> ParsedRequest:
    """A Responses request body → the canonical conversation, as the module's docstring says."""
    body = _check.body(body)
    parser = _Parser()
    conversation: dict[str, Any] = {}
    model = _check.string(body.get("model"), "model", default=None)
    if model:
        conversation["model"] = model
    instructions = _check.string(body.get("instructions"), "instructions", default=None)
    if instructions:
        conversation["system"] = instructions
    stream = _check.boolean(body.get("stream"), "stream", default=None)
    # read by the gateway (kept natively): a value of another type is the API's 400, not a guess
    _check.string(body.get("previous_response_id"), "previous_response_id", default=None)
    _check.boolean(body.get("store"), "store", default=None)
    _check.boolean(body.get("background"), "background", default=None)
    _check.boolean(body.get("generate"), "generate", default=None)  # (the WebSocket's warm-up)
    source = body.get("input")
    if isinstance(source, str):
        parser.add({"role": "user", "content": [{"type": "text", "text": source}]})
    elif source is not None:
        parser.items(_check.list(source, "input", default=[]))
    conversation["messages"] = parser.messages
    tools, custom, namespaces = parser.tools(_check.list(body.get("tools"), "tools", default=[]))
    if tools:
        conversation["tools"] = tools
    options: dict[str, Any] = {}
    max_tokens = _check.integer(body.get("max_output_tokens"), "max_output_tokens", default=None)
    if max_tokens is not None:
        options["max_tokens"] = max_tokens
    for key in ("temperature", "top_p"):
        value = _check.number(body.get(key), key, default=None)
        if value is not None:
            options[key] = value
    parallel = _check.boolean(body.get("parallel_tool_calls"), "parallel_tool_calls", default=None)
    if parallel is not None:
        options["parallel_tool_calls"] = parallel
    choice = parser.tool_choice(body.get("tool_choice"))
    if choice is not None:
        options["tool_choice"] = choice
    if body.get("text") is not None:
        parser.text(body["text"], options)
    if body.get("reasoning") is not None:
        parser.reasoning_options(body["reasoning"], options)
    if options:
        conversation["options"] = options
    rest = {k: v for k, v in body.items() if k not in _READ}
    for key, what in _NOTICED.items():
        if rest.get(key) is not None:
            parser.drop(what)
    if rest:
        parser.own["body"] = rest
    if parser.own:
        conversation["provider_metadata"] = {NAME: parser.own}
    answer: dict[str, Any] = {"custom_tools": custom} if custom else {}
    if namespaces:
        answer["namespaces"] = namespaces
    return ParsedRequest(conversation, stream=stream is True, answer_options=answer, dropped=parser.dropped)


_P = _Parser
_ITEMS: dict[str, Any] = {
    "message": _P.message,
    "reasoning": _P.reasoning,
    "function_call": _P.call,
    "custom_tool_call": _P.call,
    "apply_patch_call": _P.call,
    "function_call_output": _P.output,
    "custom_tool_call_output": _P.output,
    "apply_patch_call_output": _P.output,
}
