"""streamkit-rich, tested through streamkit itself: found as a plugin, rendering real events."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from streamkit.testing import registry as fresh_registry
from streamkit.testing import run_stage

ROOT = Path(__file__).resolve().parents[3]
STREAMKIT = Path(sys.executable).parent / "streamkit"


def events() -> list[dict]:
    return [
        {"type": "start", "id": "r"},
        {"type": "reasoning-start", "id": "r0"},
        {"type": "reasoning-delta", "id": "r0", "delta": "Thinking hard"},
        {"type": "reasoning-end", "id": "r0"},
        {"type": "text-start", "id": "t0"},
        {"type": "text-delta", "id": "t0", "delta": "# Title\n\nSome **bold** "},
        {"type": "text-delta", "id": "t0", "delta": "words."},
        {"type": "text-end", "id": "t0"},
        {
            "type": "tool-call",
            "tool_call_id": "c1",
            "tool_name": "lookup",
            "arguments": '{"q": "x"}',
            "input": {"q": "x"},
        },
        {"type": "finish", "finish_reason": "tool-calls"},
    ]


def test_registered_through_its_entry_point() -> None:
    registry = fresh_registry("rich")  # the built-ins and this plugin, no other
    entry = registry.format_entries()["rich"]
    assert entry.plugin == "rich"  # the entry point's name, not a built-in


def test_plain_output_when_not_a_terminal() -> None:
    registry = fresh_registry("rich")  # the built-ins and this plugin, no other
    out = run_stage("render", events(), format="rich", registry=registry, color=False, width=60).decode()
    assert "Title" in out and "Some bold words." in out  # Markdown rendered, not echoed
    assert "**" not in out and "\x1b[" not in out
    assert "Thinking hard" in out
    assert 'lookup({"q": "x"})' in out


def test_colour_on_request() -> None:
    registry = fresh_registry("rich")  # the built-ins and this plugin, no other
    out = run_stage("render", events(), format="rich", registry=registry, color=True, width=60).decode()
    assert "\x1b[" in out and "Some" in out


def test_through_the_cli() -> None:
    sample = ROOT / "tests" / "data" / "openai-chat" / "reasoning-content.sse"
    result = subprocess.run(
        [str(STREAMKIT), "convert", "--to", "rich", "-O", "width=40", str(sample)], capture_output=True
    )
    assert result.returncode == 0, result.stderr
    assert b"Two plus two is four." in result.stdout and b"4" in result.stdout
