"""The README's examples are true: every ```console block is run and its output compared.

A block is a list of ``$ command`` lines, each followed by the output it writes (stdout and
stderr together, as a terminal shows them). Commands run with ``sh`` in the repository root with
the venv's ``bin`` first on PATH. ``STREAMKIT_UPDATE_README=1 pytest tests/test_readme.py``
rewrites the outputs from a real run (review the diff).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from .conftest import FIRST_PARTY, ROOT, STREAMKIT

README = ROOT / "README.md"
BLOCK = re.compile(r"```console\n(.*?)```", re.S)


def blocks(text: str) -> list[str]:
    return BLOCK.findall(text)


def parse(block: str) -> list[tuple[str, str]]:
    """[(command, expected output)]"""
    steps: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif steps:
            steps[-1][1].append(line)
    return [(cmd, "\n".join(out) + ("\n" if out else "")) for cmd, out in steps]


def run(command: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    env["STREAMKIT_LOAD_PLUGINS"] = FIRST_PARTY  # what the README shows: the first-party plugins, no other
    env["PATH"] = f"{STREAMKIT.parent}{os.pathsep}{env.get('PATH', '')}"
    env["COLUMNS"] = "100"
    result = subprocess.run(["sh", "-c", command], cwd=ROOT, env=env, capture_output=False, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, timeout=60)  # fmt: skip
    return result.stdout.decode()


def _skip_reason(command: str) -> str | None:
    if command.startswith("make "):
        return "make targets are exercised by CI itself"
    for tool in ("jq",):
        if re.search(rf"\b{tool}\b", command) and shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None


EXAMPLES = [(i, cmd, out) for i, block in enumerate(blocks(README.read_text())) for cmd, out in parse(block)]


@pytest.mark.parametrize(
    ("index", "command", "expected"), EXAMPLES, ids=[f"{i}:{c[:50]}" for i, c, _ in EXAMPLES]
)
def test_readme_example(index: int, command: str, expected: str) -> None:
    reason = _skip_reason(command)
    if reason:
        pytest.skip(reason)
    got = run(command)
    if os.environ.get("STREAMKIT_UPDATE_README") and got != expected:
        text = README.read_text()
        old = f"$ {command}\n{expected}"
        assert old in text, "could not find the example to update"
        README.write_text(text.replace(old, f"$ {command}\n{got}", 1))
        return
    assert got == expected


def test_readme_has_the_two_commands() -> None:
    text = README.read_text()
    assert "make demo" in text and "make test" in text
