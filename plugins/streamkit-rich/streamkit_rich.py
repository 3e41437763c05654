"""streamkit-rich: render the answer as live Markdown in the terminal.

An outside plugin in every respect: it only uses streamkit's public plugin API (``hookimpl``
and :class:`streamkit.Format`) and is found through its ``streamkit`` entry point.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Iterator
from typing import Any

from streamkit import Format, hookimpl


class _Capture(io.StringIO):
    """rich writes here; the format hands what was written to streamkit, which writes stdout."""

    def take(self) -> bytes:
        text = self.getvalue()
        self.seek(0)
        self.truncate()
        return text.encode()


class RichFormat(Format):
    name = "rich"
    description = "Live Markdown in the terminal, with reasoning, tool calls and errors (rich)"

    def render(
        self,
        events: Iterable[dict[str, Any]],
        *,
        width: int | None = None,
        color: bool | None = None,
        reasoning: bool = True,
        **options: Any,
    ) -> Iterator[bytes]:
        from rich.console import Console, Group
        from rich.live import Live
        from rich.markdown import Markdown
        from rich.panel import Panel
        from rich.text import Text

        terminal = os.isatty(1) if color is None else bool(color)
        out = _Capture()
        console = Console(
            file=out,
            force_terminal=terminal,
            width=width or (None if terminal else 100),
            # NO_COLOR (https://no-color.org) drops colours; bold, italics and the live redraw stay
            no_color=not terminal or (color is None and bool(os.environ.get("NO_COLOR"))),
        )
        live_mode = terminal and color is None  # redraw in place only on a real terminal

        text: list[str] = []
        thinking: list[str] = []
        streamed = False

        def view() -> Group:
            parts: list[Any] = []
            if reasoning and thinking:
                parts.append(Text("".join(thinking), style="dim italic"))
            parts.append(Markdown("".join(text)))
            return Group(*parts)

        live: Live | None = None

        def update() -> Iterator[bytes]:
            nonlocal live
            if not live_mode:
                return
            if live is None:
                live = Live(view(), console=console, auto_refresh=False, transient=False)
                live.start()
            else:
                live.update(view(), refresh=True)
            yield out.take()

        def flush_block() -> Iterator[bytes]:
            """End the current answer: stop the live view, or print it once when not live."""
            nonlocal live, streamed
            if live is not None:
                live.update(view(), refresh=True)
                live.stop()
                live = None
            elif text or thinking:
                console.print(view())
            text.clear()
            thinking.clear()
            yield out.take()

        for event in events:
            kind = event.get("type")
            if event.get("choice"):
                continue  # other choices (n>1): the text format shows them
            if kind == "text-delta":
                streamed = True
                text.append(event["delta"])
                yield from update()
            elif kind == "reasoning-delta":
                thinking.append(event["delta"])
                if reasoning:
                    yield from update()
            elif kind == "start":
                streamed = False
            elif kind in ("tool-call", "tool-result", "error"):
                yield from flush_block()
                if kind == "tool-call":
                    title = "provider tool" if event.get("provider_executed") else "tool call"
                    body = Text(f"{event.get('tool_name')}({event.get('arguments') or ''})")
                    console.print(Panel(body, title=title, border_style="cyan", expand=False))
                elif kind == "tool-result":
                    style = "red" if event.get("is_error") else "green"
                    output = event.get("output")
                    body = Text(output if isinstance(output, str) else repr(output))
                    console.print(
                        Panel(
                            body,
                            title=f"result: {event.get('tool_name') or ''}",
                            border_style=style,
                            expand=False,
                        )
                    )
                else:
                    console.print(Text(f"error: {event.get('message')}", style="bold red"))
                yield out.take()
            elif kind == "finish":
                yield from flush_block()
            elif kind == "message" and not streamed:
                text.extend(
                    p.get("text") or "" for p in event.get("content") or () if p.get("type") == "text"
                )
                thinking.extend(
                    p.get("text") or "" for p in event.get("content") or () if p.get("type") == "reasoning"
                )
                yield from flush_block()
        yield from flush_block()


@hookimpl
def register_formats(register: Any) -> None:
    register(RichFormat())
