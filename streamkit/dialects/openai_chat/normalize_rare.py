"""The rarer parts of Chat Completions chunks → canonical events, for the normalizer: url
citations (``delta.annotations``, Perplexity's ``citations``), Groq's provider-executed tools,
audio output, generated images (OpenRouter's and Vercel AI Gateway's ``delta.images``), and the chunk-level fields beyond the usual ones (Azure's prompt filter results,
the ``moderation`` chunk, ``x_groq.usage``, an error object mid-stream).

:class:`_RarerParts` is the base class of :class:`~.normalize.ChatNormalizer`.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from ..._native import mypyc_attr
from ...canonical import parse_arguments
from ...errors import DataError
from ..base import wire_string
from ..checks import kind_of
from ..native_normalizer import NativeNormalizer
from .wire import NAME

if TYPE_CHECKING:
    from .normalize import _Choice

# rarer chunk-level fields that carry meaning (see _extras)
_EXTRA_FIELDS = frozenset({"prompt_filter_results", "moderation", "x_groq", "citations", "error"})


@mypyc_attr(allow_interpreted_subclasses=True)  # (so may its subclasses: see streamkit._native)
class _RarerParts(NativeNormalizer):
    """The rarer parts of the response being read: the base of ChatNormalizer, which sets the
    attributes declared here and defines the methods that raise NotImplementedError here (a
    class compiled with mypyc, as this one is, says what it has outright: see streamkit._native)."""

    started: bool
    choices: dict[int, _Choice]
    start_meta: dict[str, Any]
    finish_meta: dict[str, Any]
    usage: Any
    sources: set[str]
    executed: dict[Any, str]

    def _start(self, out: list[dict[str, Any]]) -> None:
        raise NotImplementedError

    def _on_error(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        raise NotImplementedError

    def _end_blocks(self, st: _Choice, out: list[dict[str, Any]]) -> None:
        raise NotImplementedError

    def _open(
        self, st: _Choice, kind: str, out: list[dict[str, Any]], meta: dict[str, Any] | None = None
    ) -> str:
        raise NotImplementedError

    @staticmethod
    def _with_choice(ev: dict[str, Any], st: _Choice) -> dict[str, Any]:
        raise NotImplementedError

    def _source(
        self, st: _Choice | None, url: str, title: Any, meta: dict[str, Any] | None, out: list[dict[str, Any]]
    ) -> None:
        if url in self.sources:
            return
        self.sources.add(url)
        ev: dict[str, Any] = {
            "type": "source",
            "source_type": "url",
            "id": f"src-{len(self.sources) - 1}",
            "url": url,
        }
        if title:
            ev["title"] = wire_string(title, "a citation's title")
        if meta:
            ev["provider_metadata"] = {NAME: meta}
        if st is not None and st.n:
            ev["choice"] = st.n
        out.append(ev)

    def _annotation(self, st: _Choice, ann: Any, out: list[dict[str, Any]]) -> None:
        if not isinstance(ann, dict):
            return
        cite = ann.get("url_citation") or ann
        if not isinstance(cite, dict) or not cite.get("url"):
            return
        meta = {k: v for k, v in cite.items() if k not in ("url", "title") and v is not None}
        self._source(st, wire_string(cite["url"], "a url_citation's url"), cite.get("title"), meta, out)

    def _executed_tool(self, st: _Choice, tool: Any, out: list[dict[str, Any]]) -> None:
        """Groq compound: a tool the provider ran, first announced, then with its output."""
        if not isinstance(tool, dict):
            return
        key = tool.get("index", len(self.executed))
        name = tool.get("type") or tool.get("name") or "tool"
        wire_string(name, "an executed tool's type")
        call_id = self.executed.get(key)
        if call_id is None:
            self._end_blocks(st, out)
            call_id = self.executed[key] = f"executed_{key}"
            arguments = tool.get("arguments") or ""
            value, err = parse_arguments(arguments)
            ev = {
                "type": "tool-call",
                "tool_call_id": call_id,
                "tool_name": name,
                "arguments": arguments,
                "input": value,
                "provider_executed": True,
                "provider_metadata": {NAME: {"executed_tool": {"index": key, "type": tool.get("type")}}},
            }
            if err:
                ev["input_error"] = err
            out.append(self._with_choice(ev, st))
        if tool.get("output") is not None:
            meta = {k: v for k, v in tool.items() if k != "output"}
            ev = {
                "type": "tool-result",
                "tool_call_id": call_id,
                "tool_name": name,
                "output": tool["output"],
                "is_error": False,
                "provider_executed": True,
                "provider_metadata": {NAME: {"executed_tool": meta}},
            }
            out.append(self._with_choice(ev, st))

    def _audio(self, st: _Choice, audio: Any, out: list[dict[str, Any]]) -> None:
        if not isinstance(audio, dict):
            return
        if st.audio is None:
            st.audio = {"chunks": [], "meta": {}}
        if audio.get("data"):
            try:
                st.audio["chunks"].append(base64.b64decode(audio["data"]))
            except (TypeError, ValueError):  # binascii.Error is a ValueError
                raise DataError("delta.audio.data is not base64") from None
        for key in ("id", "expires_at"):
            if audio.get(key) is not None:
                st.audio["meta"][key] = audio[key]
        if audio.get("transcript"):
            text = wire_string(audio["transcript"], "delta.audio.transcript")
            bid = st.transcript
            if bid is None:  # a text block of its own, marked as the audio's transcript
                mark = {"id": st.audio["meta"]["id"]} if "id" in st.audio["meta"] else {}
                bid = st.transcript = self._open(st, "transcript", out, {"audio": mark})
            out.append(self._with_choice({"type": "text-delta", "id": bid, "delta": text}, st))

    def _images(self, st: _Choice, images: Any, out: list[dict[str, Any]]) -> None:
        """Images the model made, as OpenRouter and Vercel's AI Gateway stream them from image
        models (``delta.images``: ``{"type": "image_url", "image_url": {"url": ...}}`` each, a
        ``data:`` URL of the base64 image): a ``file`` each (an image by web URL: the URL as its
        data)."""
        if not isinstance(images, list):
            raise DataError(f"delta.images is {kind_of(images)}, expected a list")
        for image in images:
            ref = image.get("image_url") if isinstance(image, dict) else None
            url = ref.get("url") if isinstance(ref, dict) else None
            if not isinstance(url, str) or not url:
                raise DataError("an entry of delta.images has no image_url.url")
            head, sep, data = url.partition(",")
            if url.startswith("data:") and sep and head.endswith(";base64"):
                ev = {"type": "file", "media_type": head[5:-7] or "image/png", "data": data}
            else:  # (as Gemini's fileData: the data is the URL)
                ev = {"type": "file", "media_type": "image/png", "data": url}
            out.append(self._with_choice(ev, st))

    def _extras(self, data: dict[str, Any], out: list[dict[str, Any]]) -> bool:
        """Chunk-level fields beyond the usual ones. Returns whether any had a meaning."""
        if _EXTRA_FIELDS.isdisjoint(data):
            return False
        used = False
        if data.get("prompt_filter_results"):
            target = self.finish_meta if self.started else self.start_meta
            target["prompt_filter_results"] = data["prompt_filter_results"]
            used = True
        if data.get("moderation"):
            self.finish_meta["moderation"] = data["moderation"]
            used = True
        x_groq = data.get("x_groq")
        if isinstance(x_groq, dict) and x_groq.get("usage"):
            self.usage = x_groq["usage"]
            used = True
        citations = data.get("citations")
        if isinstance(citations, list):
            titles = {}
            for result in data.get("search_results") or ():
                if isinstance(result, dict) and isinstance(result.get("url"), str):
                    titles[result["url"]] = result.get("title")
            if not self.started and citations:
                self._start(out)
            for url in citations:
                if isinstance(url, str):
                    self._source(self.choices.get(0), url, titles.get(url), None, out)
            used = True
        if "error" in data and data.get("error"):
            out.extend(self._on_error(data))
            used = True
        return used
