"""The ``text`` format: the answer's text on stdout as it streams; the rest on stderr.

Text deltas of choice 0 are written as they arrive. Tool calls, provider tool results and
upstream errors are noted on stderr (stdout stays the answer alone, ready for a file or a
pipe); with ``reasoning=True`` (``render --reasoning``) reasoning streams to stderr too.
A note ends the text's current line first (a newline on stdout), and the CLI flushes stdout
before it, so that a terminal shows text and notes in the order they came.
A stream that carries only final ``message`` events (``accumulate --final | render``) prints
their text. Other choices (``n>1``) are printed after their own finish, under a heading.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from .. import diagnostics
from .base import Format

_PREVIEW = 200


def _preview(value: Any) -> str:
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    text = text.replace("\n", " ")
    return text if len(text) <= _PREVIEW else text[: _PREVIEW - 1] + "…"


def _stderr_is_terminal() -> bool:
    """Whether reasoning may be dimmed on stderr: a terminal, and no NO_COLOR."""
    import sys

    return diagnostics.color(sys.stderr)


def _separator(last: bytes) -> str:
    return "" if last == b"\n" else "\n"


class TextFormat(Format):
    name = "text"
    description = "The answer's text as it streams (tool calls and errors noted on stderr)"
    reports_errors = True
    extension = "txt"

    def render(
        self, events: Iterable[dict[str, Any]], *, reasoning: bool = False, **options: Any
    ) -> Iterator[bytes]:
        streamed = False  # text deltas seen since the last start
        last = b"\n"
        others: dict[int, list[str]] = {}  # text of choices k>0
        in_reasoning = False
        dim = reasoning and _stderr_is_terminal()  # reasoning dimmed, as chat UIs show it
        for ev in events:
            kind = ev.get("type")
            if kind == "text-delta":
                choice = ev.get("choice")
                if choice:
                    others.setdefault(choice, []).append(ev["delta"])
                    continue
                if in_reasoning:
                    diagnostics._write("\x1b[0m\n" if dim else "\n")
                    in_reasoning = False
                data = ev["delta"].encode()
                if data:
                    streamed = True
                    last = data[-1:]
                    yield data
            elif kind == "reasoning-delta":
                if reasoning and not ev.get("choice"):
                    if not in_reasoning and dim:
                        diagnostics._write("\x1b[2m")
                    in_reasoning = True
                    diagnostics._write(ev["delta"])
            elif kind == "start":
                streamed = False
            elif kind in ("tool-call", "tool-result", "error", "finish") and in_reasoning:
                diagnostics._write("\x1b[0m\n" if dim else "\n")  # end the reasoning line first
                in_reasoning = False
            if kind in ("tool-call", "tool-result", "error") and last != b"\n":
                last = b"\n"  # end the line of text first: the note gets a line of its own
                yield b"\n"
            if kind == "tool-call":
                who = "provider tool" if ev.get("provider_executed") else "tool call"
                diagnostics.note(f"[{who}] {ev.get('tool_name')}({_preview(ev.get('arguments') or '')})")
            elif kind == "tool-result":
                flag = " (error)" if ev.get("is_error") else ""
                diagnostics.note(
                    f"[tool result{flag}] {ev.get('tool_name') or ev.get('tool_call_id')}: {_preview(ev.get('output'))}"
                )
            elif kind == "error":
                line = f"line {ev['line']}: " if ev.get("line") else ""
                code = f" ({ev['code']})" if ev.get("code") and ev.get("code") != "bad-input" else ""
                status = f"HTTP {ev['status']}: " if ev.get("status") else ""
                diagnostics.error(f"error: {line}{status}{ev.get('message')}{code}")
            elif kind == "finish":
                choice = ev.get("choice")
                if choice and choice in others:
                    text = "".join(others.pop(choice))
                    data = (_separator(last) + f"--- choice {choice} ---\n" + text).encode()
                    last = data[-1:] if data else last
                    yield data
                elif not choice and last != b"\n":
                    last = b"\n"
                    yield b"\n"
            elif kind == "message" and not streamed:
                text = "".join(
                    p.get("text") or "" for p in ev.get("content") or () if p.get("type") == "text"
                )
                if ev.get("choice"):
                    text = _separator(last) + f"--- choice {ev['choice']} ---\n" + text
                data = text.encode()
                if data:
                    last = data[-1:]
                    yield data
                if last != b"\n":
                    last = b"\n"
                    yield b"\n"
        if in_reasoning:
            diagnostics._write("\x1b[0m\n" if dim else "\n")
        if last != b"\n":
            yield b"\n"
