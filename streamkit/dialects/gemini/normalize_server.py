"""Gemini parts the server adds → canonical events, for the normalizer: its own tools' calls and
results (``executableCode`` / ``codeExecutionResult``, ``toolCall`` / ``toolResponse``), files
(``inlineData``, ``fileData``), and grounding chunks and citations as sources.

:class:`_ServerParts` is the base of :class:`~.normalize.GeminiNormalizer`; its ``_on_*`` handlers
are in the normalizer's ``_PART_HANDLERS``.
"""

from __future__ import annotations

from typing import Any

from ..._native import mypyc_attr
from ...canonical import tool_call
from ...errors import DataError
from ..native_normalizer import NativeNormalizer
from .wire import CODE_EXECUTION, NAME, SEARCH_TOOL_TYPE, _dumps

#: server-side tool types whose calls have a canonical name other than the type in lower case
_TOOL_NAMES = {SEARCH_TOOL_TYPE: "web_search"}


def tool_name(tool_type: Any) -> str:
    """The canonical ``tool_name`` of a ``toolCall`` / ``toolResponse`` of ``tool_type``: a Google
    search is ``web_search``, as every dialect's own search (see :mod:`..web_search`); any other
    type in lower case (``FILE_SEARCH`` → ``file_search``); ``tool`` without one. The type itself
    is kept in ``provider_metadata``, which ``render -f gemini`` writes back."""
    if not tool_type:
        return "tool"
    return _TOOL_NAMES.get(tool_type) or str(tool_type).lower()


@mypyc_attr(allow_interpreted_subclasses=True)  # (so may its subclasses: see streamkit._native)
class _ServerParts(NativeNormalizer):
    """The provider-executed calls and results, files and sources of a response: the base of
    GeminiNormalizer, which provides the state and the methods declared here. (A base class, not a
    mixin: mypyc compiles the normalizer, and a compiled class has one base, see
    :mod:`streamkit._native`.)"""

    pending: dict[str, list[str]]
    generated: set[str]
    sources: set[bytes]
    grounding: dict[str, Any] | None

    def _end_call(self, out: list[dict[str, Any]], complete: bool = True) -> None:
        raise NotImplementedError

    def _end_blocks(self, out: list[dict[str, Any]], signature: Any = None) -> None:
        raise NotImplementedError

    def _new_id(self, given: Any) -> tuple[str, bool]:
        raise NotImplementedError

    def _call_meta(self, part: dict[str, Any], generated: bool, **extra: Any) -> dict[str, Any]:
        raise NotImplementedError

    def _whole_call(
        self,
        call_id: str,
        name: str,
        arguments: str,
        meta: dict[str, Any],
        out: list[dict[str, Any]],
        *,
        executed: bool = False,
    ) -> None:
        start: dict[str, Any] = {"type": "tool-input-start", "id": call_id, "tool_name": name}
        if executed:
            start["provider_executed"] = True
        out.append(start)
        if arguments:
            out.append({"type": "tool-input-delta", "id": call_id, "delta": arguments})
        out.append({"type": "tool-input-end", "id": call_id})
        out.append(self._tool_call(call_id, name, arguments, meta, executed=executed))

    @staticmethod
    def _tool_call(
        call_id: str, name: str, arguments: str, meta: dict[str, Any], *, executed: bool = False
    ) -> dict[str, Any]:
        ev = tool_call(call_id, name, arguments)
        if executed:
            ev["provider_executed"] = True
        if meta:
            ev["provider_metadata"] = {NAME: meta}
        return ev

    def _result_id(self, kind: str, given: Any) -> str:
        """The id of the call a provider-executed result answers: its own, else the oldest waiting."""
        pending = self.pending.get(kind) or []
        if isinstance(given, str) and given in pending:
            pending.remove(given)
            return given
        if pending:
            return pending.pop(0)
        return self._new_id(given)[0]

    def _on_executable_code(self, part: dict[str, Any], out: list[dict[str, Any]]) -> None:
        code = part["executableCode"]
        if not isinstance(code, dict):
            raise DataError(f"executableCode is a {type(code).__name__}, expected an object")
        self._end_call(out)
        self._end_blocks(out)
        call_id, generated = self._new_id(code.get("id"))
        self.pending.setdefault(CODE_EXECUTION, []).append(call_id)
        value = {k: code[k] for k in ("language", "code") if code.get(k) is not None}
        meta = self._call_meta(part, generated)
        self._whole_call(call_id, CODE_EXECUTION, _dumps(value), meta, out, executed=True)

    def _on_code_execution_result(self, part: dict[str, Any], out: list[dict[str, Any]]) -> None:
        result = part["codeExecutionResult"]
        if not isinstance(result, dict):
            raise DataError(f"codeExecutionResult is a {type(result).__name__}, expected an object")
        self._end_call(out)
        self._end_blocks(out)
        call_id = self._result_id(CODE_EXECUTION, result.get("id"))
        output = {k: result[k] for k in ("outcome", "output") if result.get(k) is not None}
        ev: dict[str, Any] = {
            "type": "tool-result",
            "tool_call_id": call_id,
            "tool_name": CODE_EXECUTION,
            "output": output,
            "is_error": result.get("outcome") not in (None, "OUTCOME_OK"),
            "provider_executed": True,
        }
        meta = self._call_meta(part, call_id in self.generated)
        if meta:
            ev["provider_metadata"] = {NAME: meta}
        out.append(ev)

    def _on_tool_call(self, part: dict[str, Any], out: list[dict[str, Any]]) -> None:
        call = part["toolCall"]
        if not isinstance(call, dict):
            raise DataError(f"toolCall is a {type(call).__name__}, expected an object")
        self._end_call(out)
        self._end_blocks(out)
        tool_type = call.get("toolType")
        call_id, generated = self._new_id(call.get("id"))
        self.pending.setdefault(f"tool:{tool_type}", []).append(call_id)
        meta = self._call_meta(part, generated, tool_type=tool_type)
        name = tool_name(tool_type)
        args = call.get("args")
        self._whole_call(call_id, name, _dumps(args if args is not None else {}), meta, out, executed=True)

    def _on_tool_response(self, part: dict[str, Any], out: list[dict[str, Any]]) -> None:
        response = part["toolResponse"]
        if not isinstance(response, dict):
            raise DataError(f"toolResponse is a {type(response).__name__}, expected an object")
        self._end_call(out)
        self._end_blocks(out)
        tool_type = response.get("toolType")
        call_id = self._result_id(f"tool:{tool_type}", response.get("id"))
        meta = self._call_meta(part, call_id in self.generated, tool_type=tool_type)
        ev: dict[str, Any] = {
            "type": "tool-result",
            "tool_call_id": call_id,
            "tool_name": tool_name(tool_type),
            "output": response.get("response") if response.get("response") is not None else {},
            "is_error": False,
            "provider_executed": True,
            "provider_metadata": {NAME: meta},
        }
        out.append(ev)

    def _on_inline_data(self, part: dict[str, Any], out: list[dict[str, Any]]) -> None:
        blob = part["inlineData"]
        if not isinstance(blob, dict):
            raise DataError(f"inlineData is a {type(blob).__name__}, expected an object")
        self._file(part, blob.get("mimeType"), blob.get("data"), out)

    def _on_file_data(self, part: dict[str, Any], out: list[dict[str, Any]]) -> None:
        ref = part["fileData"]
        if not isinstance(ref, dict):
            raise DataError(f"fileData is a {type(ref).__name__}, expected an object")
        self._file(part, ref.get("mimeType"), ref.get("fileUri"), out, uri=True)

    def _file(
        self, part: dict[str, Any], mime: Any, data: Any, out: list[dict[str, Any]], *, uri: bool = False
    ) -> None:
        self._end_call(out)
        self._end_blocks(out)
        ev: dict[str, Any] = {
            "type": "file",
            "media_type": mime if isinstance(mime, str) else "application/octet-stream",
            "data": data if isinstance(data, str) else "",
        }
        meta: dict[str, Any] = {}
        if uri:
            meta["file_uri"] = True
        if part.get("thought") is True:
            meta["thought"] = True
        if part.get("thoughtSignature"):
            meta["thought_signature"] = part["thoughtSignature"]
        if meta:
            ev["provider_metadata"] = {NAME: meta}
        out.append(ev)

    # --- grounding and citations -------------------------------------------------------------------

    def _grounding(self, grounding: dict[str, Any], out: list[dict[str, Any]]) -> None:
        for chunk in grounding.get("groundingChunks") or ():
            if isinstance(chunk, dict):
                self._grounding_chunk(chunk, out)
        rest = {k: v for k, v in grounding.items() if k != "groundingChunks"}
        if rest:
            self.grounding = {**(self.grounding or {}), **rest}

    def _seen(self, value: Any) -> bool:
        from orjson import OPT_SORT_KEYS, dumps

        key = dumps(value, option=OPT_SORT_KEYS)
        if key in self.sources:
            return True
        self.sources.add(key)
        return False

    def _grounding_chunk(self, chunk: dict[str, Any], out: list[dict[str, Any]]) -> None:
        if self._seen(chunk):
            return
        for kind in ("web", "maps", "image", "retrievedContext"):
            body = chunk.get(kind)
            if isinstance(body, dict):
                break
        else:
            return
        uri = body.get("uri")
        meta: dict[str, Any] = {"grounding_chunk": kind}
        meta.update({k: v for k, v in body.items() if k not in ("uri", "title")})
        if isinstance(uri, str) and uri.startswith(("http://", "https://")):
            self._source("url", uri, body.get("title"), meta, out)
        else:
            if uri is not None:
                meta["uri"] = uri
            title = body.get("title") or body.get("documentName")
            filename = uri.rsplit("/", 1)[-1] if isinstance(uri, str) and uri else None
            self._source("document", None, title, meta, out, filename=filename)

    def _citation(self, cite: dict[str, Any], out: list[dict[str, Any]]) -> None:
        uri = cite.get("uri")
        if not isinstance(uri, str) or not uri or self._seen({"citation": cite}):
            return
        meta: dict[str, Any] = {"citation": {k: v for k, v in cite.items() if k not in ("uri", "title")}}
        kind = "url" if uri.startswith(("http://", "https://")) else "document"
        if kind == "document":
            meta["uri"] = uri
        self._source(kind, uri if kind == "url" else None, cite.get("title"), meta, out)

    def _source(
        self,
        kind: str,
        url: str | None,
        title: Any,
        meta: dict[str, Any],
        out: list[dict[str, Any]],
        *,
        filename: str | None = None,
    ) -> None:
        ev: dict[str, Any] = {"type": "source", "source_type": kind, "id": f"src-{len(self.sources) - 1}"}
        if url:
            ev["url"] = url
        if isinstance(title, str) and title:
            ev["title"] = title
        if filename:
            ev["filename"] = filename
        ev["provider_metadata"] = {NAME: meta}
        out.append(ev)
