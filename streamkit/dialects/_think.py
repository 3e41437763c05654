"""``<think>…</think>`` inside streamed text: split it into reasoning and text as it streams.

Servers that inline reasoning (DeepSeek-R1 and Qwen behind llama.cpp, vLLM without a reasoning
parser, Ollama's older models) put it in the content between tags. The tags may be split across
deltas in any way (``"<thi"`` + ``"nk>"``), so a tail that could still become a tag is held back
until the next delta says whether it does; nothing else is delayed. Used by the normalizers that
take the ``think_tags`` option (``normalize --think-tags``).
"""

from __future__ import annotations

OPEN = "<think>"
CLOSE = "</think>"


def _held_back(text: str, tag: str) -> int:
    """How many characters at the end of ``text`` could be the beginning of ``tag``."""
    for n in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-n:]):
            return n
    return 0


class ThinkSplitter:
    """Feed text deltas, get ``(kind, text)`` segments, ``kind`` being ``"reasoning"`` or ``"text"``."""

    def __init__(self) -> None:
        self.inside = False
        self._pending = ""

    def feed(self, delta: str) -> list[tuple[str, str]]:
        text = self._pending + delta if self._pending else delta
        self._pending = ""
        out: list[tuple[str, str]] = []
        while text:
            tag = CLOSE if self.inside else OPEN
            kind = "reasoning" if self.inside else "text"
            at = text.find(tag)
            if at >= 0:
                if at:
                    out.append((kind, text[:at]))
                self.inside = not self.inside
                text = text[at + len(tag) :]
                continue
            hold = _held_back(text, tag)
            if hold:
                self._pending = text[-hold:]
                text = text[:-hold]
            if text:
                out.append((kind, text))
            break
        return out

    def close(self) -> list[tuple[str, str]]:
        """The end of the stream: a held-back tail was text (or reasoning) after all."""
        if not self._pending:
            return []
        pending, self._pending = self._pending, ""
        return [("reasoning" if self.inside else "text", pending)]
