"""Help that helps: every command's --help shows examples (and those that need no server run as
shown), NO_COLOR is respected, and shell completion offers dialect and format names."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import time

import orjson
import pytest

from streamkit.cli.group import BUILTIN

from .conftest import ROOT, STREAMKIT, run_cli, sh


def _example_lines(help_text: str) -> list[str]:
    """The example lines of a command's --help: the indented lines that run streamkit."""
    lines = help_text.split("\nOptions:")[0].splitlines()
    return [line.strip() for line in lines if line.startswith("    ") and "streamkit" in line]


def examples(command: str) -> list[str]:
    """The examples of a command's --help, read in this process (at collection, on every worker:
    13 processes each time cost about 1 s of each worker's start). The test below checks that the
    real command prints the same."""
    from click.testing import CliRunner

    from streamkit.cli.group import cli

    result = CliRunner().invoke(cli, [command, "--help"], env={"COLUMNS": "200"}, prog_name="streamkit")
    assert result.exit_code == 0, result.output
    return _example_lines(result.output)


@pytest.mark.parametrize("command", sorted(BUILTIN))
def test_every_command_s_help_has_examples(command: str) -> None:
    result = run_cli(command, "--help", env={"COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    found = _example_lines(result.stdout.decode())
    assert 1 <= len(found) <= 3, found
    assert any(re.search(rf"\bstreamkit {command}\b", line) for line in found), found
    assert examples(command) == found  # what the examples run below are collected from


def _runnable(line: str) -> bool:
    """An example that needs no server, key or file of the reader's own: it reads examples/."""
    if line.startswith(("|", "...")) or line.endswith("\\"):  # part of a longer example
        return False
    names = ("rec.sse", "conv.json", "turn.ndjson", "events.ndjson", "tools.toml ", "--base-url", "-m ")
    return (
        "examples/" in line
        or line in ("streamkit dialects", "streamkit formats", "streamkit executors")
        or line.startswith(("streamkit plugins", "streamkit schema |"))
    ) and not any(n in line for n in names)


RUNNABLE = [(c, line) for c in sorted(BUILTIN) for line in examples(c) if _runnable(line)]


@pytest.mark.parametrize(("command", "line"), RUNNABLE, ids=[line[:60] for _, line in RUNNABLE])
def test_the_examples_that_need_no_server_run_as_shown(command: str, line: str) -> None:
    if "jq" in line and subprocess.run(["sh", "-c", "command -v jq"], capture_output=True).returncode:
        pytest.skip("jq is not installed")
    result = sh(f"set -e; {line}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip(), line
    assert b"warning" not in result.stderr and b"Traceback" not in result.stderr


def test_the_runnable_examples_cover_the_stages() -> None:
    assert {c for c, _ in RUNNABLE} >= {"normalize", "accumulate", "render", "convert", "dialects", "schema"}


def _through_a_terminal(args: list[str], stdin: bytes, fd: int, env: dict[str, str]) -> bytes:
    """Run a command with stdout (fd 1) or stderr (fd 2) on a pseudo-terminal; what it wrote there."""
    master, slave = pty.openpty()
    streams = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    streams["stdout" if fd == 1 else "stderr"] = slave
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, env=env, **streams)  # type: ignore[call-overload]
    os.close(slave)
    assert proc.stdin is not None
    proc.stdin.write(stdin)
    proc.stdin.close()
    out = b""
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the other side closed (Linux: EIO)
                    break
                if not chunk:
                    break
                out += chunk
            elif proc.poll() is not None:
                break
    finally:
        os.close(master)
        proc.kill()
        proc.wait(10)
    return out


EVENTS = b"".join(
    orjson.dumps(e) + b"\n"
    for e in [
        {"type": "start", "id": "r"},
        {"type": "reasoning-start", "id": "r0"},
        {"type": "reasoning-delta", "id": "r0", "delta": "Thinking"},
        {"type": "reasoning-end", "id": "r0"},
        {"type": "text-start", "id": "t"},
        {"type": "text-delta", "id": "t", "delta": "Some **bold** `code`\n\n```python\nx = 1\n```\n"},
        {"type": "text-end", "id": "t"},
        {"type": "finish", "finish_reason": "stop"},
    ]
)
COLOUR = re.compile(rb"\x1b\[[0-9;]*(3[0-9]|4[0-9]|9[0-7])[0-9;]*m")  # an SGR that sets a colour


@pytest.mark.parametrize("no_color", [None, "1"])
def test_no_color_is_respected_on_a_terminal(no_color: str | None) -> None:
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    if no_color:
        env["NO_COLOR"] = no_color
    # render's reasoning on stderr is dimmed on a terminal
    dimmed = _through_a_terminal([str(STREAMKIT), "render", "--reasoning"], EVENTS, 2, env)
    assert b"Thinking" in dimmed
    assert (b"\x1b[" in dimmed) is (no_color is None)
    # the rich format (a first-party plugin) keeps its styles, drops its colours
    rich = _through_a_terminal([str(STREAMKIT), "render", "-f", "rich"], EVENTS, 1, env)
    assert b"bold" in rich and b"\x1b[1m" in rich
    assert bool(COLOUR.search(rich)) is (no_color is None)


def complete(*words: str, shell: str = "bash") -> list[str]:
    """What the shell would offer after ``streamkit WORDS`` (the last word being completed)."""
    env = {
        **os.environ,
        "_STREAMKIT_COMPLETE": f"{shell}_complete",
        "COMP_WORDS": " ".join(("streamkit", *words)),
        "COMP_CWORD": str(len(words)),
    }
    result = subprocess.run([str(STREAMKIT)], env=env, capture_output=True, timeout=30, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return result.stdout.decode().splitlines()


def test_shell_completion_offers_dialect_and_format_names() -> None:
    assert complete("convert", "--to", "op") == [
        "plain,openai-assistants",
        "plain,openai-chat",
        "plain,openai-responses",
    ]
    dialects = {line.split(",", 1)[1] for line in complete("fetch", "-d", "")}
    assert {"anthropic", "gemini", "ollama", "openai-chat"} <= dialects and "text" not in dialects
    formats = {line.split(",", 1)[1] for line in complete("render", "-f", "")}
    assert {"text", "json", "ndjson", "conversation", "anthropic"} <= formats
    for words in (("normalize", "-d", "gem"), ("convert", "--from", "gem"), ("agent", "-d", "gem"),
                  ("serve", "--upstream", "gem"), ("serve", "-d", "gem")):  # fmt: skip
        assert complete(*words) == ["plain,gemini"], words
    # zsh gets the descriptions too
    assert complete("render", "-f", "ndj", shell="zsh") == [
        "plain",
        "ndjson",
        "The canonical events themselves, one JSON object per line",
    ]


def test_the_completion_scripts_the_readme_names_exist() -> None:
    for shell in ("bash", "zsh", "fish"):
        result = subprocess.run(
            [str(STREAMKIT)], env={**os.environ, "_STREAMKIT_COMPLETE": f"{shell}_source"},
            capture_output=True, timeout=30,
        )  # fmt: skip
        assert result.returncode == 0 and b"_STREAMKIT_COMPLETE" in result.stdout, shell
        assert f"_STREAMKIT_COMPLETE={shell}_source streamkit" in (ROOT / "README.md").read_text()
