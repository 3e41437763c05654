"""The README's example plugin ("Writing one") is true: built from the README's own text into a
package, installed (a real build with pip where hatchling is at hand), listed by streamkit, its
shell examples give what their comments say, and its own tests (streamkit.testing) pass,
golden case included."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from streamkit._entrypoints import entry_points

from .conftest import ROOT, STREAMKIT

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]


def section() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("### Writing one")
    return text[start : text.index("\n## ", start)]


def files() -> dict[str, str]:
    """The section's code blocks that name their file on their first line (``# name``)."""
    blocks = re.findall(r"```(?:toml|python)\n# (\S+)\n(.*?)```", section(), re.S)
    return {name: body for name, body in blocks}


def shell_examples() -> list[tuple[str, str]]:
    """(command, what its output starts with, from its ``# comment``)."""
    (block,) = re.findall(r"```sh\n(.*?)```", section(), re.S)
    out = []
    for line in block.splitlines():
        command, _, expected = line.rpartition("   # ")
        out.append((command.strip(), expected.strip().removesuffix("...").strip()))
    return out


def _install(package: Path, target: Path, env: dict[str, str]) -> None:
    """pip builds and installs the package into ``target`` (offline: no build isolation, so with
    the environment's hatchling, which the test extra installs), or, where this environment has
    no hatchling, the same distribution is laid out by hand: its ``.dist-info`` with the entry
    points, and the module."""
    can_build = (
        subprocess.run([sys.executable, "-c", "import hatchling.build"], capture_output=True).returncode == 0
    )
    if can_build:
        result = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
             "--disable-pip-version-check", "--target", str(target), str(package)],
            capture_output=True, env=env, timeout=240,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr.decode()
        return
    config = tomllib.loads((package / "pyproject.toml").read_text())
    project = config["project"]
    info = target / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n"
    )
    points = project["entry-points"]["streamkit"]
    (info / "entry_points.txt").write_text(
        "[streamkit]\n" + "".join(f"{k} = {v}\n" for k, v in points.items())
    )
    for module in config["tool"]["hatch"]["build"]["targets"]["wheel"]["only-include"]:
        (target / module).write_text((package / module).read_text())


def test_the_readme_s_example_plugin_builds_lists_runs_and_passes_its_own_tests(tmp_path: Path) -> None:
    found = files()
    assert set(found) == {"pyproject.toml", "streamkit_toy.py", "test_toy.py"}
    package = tmp_path / "streamkit-toy"
    (package / "tests" / "data").mkdir(parents=True)
    (package / "pyproject.toml").write_text(found["pyproject.toml"])
    (package / "streamkit_toy.py").write_text(found["streamkit_toy.py"])
    (package / "tests" / "test_toy.py").write_text(found["test_toy.py"])

    site = tmp_path / "site"
    env = {k: v for k, v in os.environ.items() if k not in ("STREAMKIT_LOAD_PLUGINS", "PYTEST_ADDOPTS")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))
    env["PATH"] = f"{STREAMKIT.parent}{os.pathsep}{env.get('PATH', '')}"
    _install(package, site, env)

    def sh(command: str, **extra: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(["sh", "-c", command], cwd=tmp_path, env={**env, **extra}, capture_output=True,
                              timeout=60)  # fmt: skip

    listed = {what: sh(f"streamkit {what}").stdout.decode() for what in ("dialects", "formats", "executors")}
    assert re.search(r"^toy +A toy dialect.*\[toy\]$", listed["dialects"], re.M), listed["dialects"]
    assert re.search(r"^shout +The answer's text in capitals +\[toy\]$", listed["formats"], re.M)
    assert re.search(r"^reverse +Answers with its text argument reversed", listed["executors"], re.M)

    examples = shell_examples()
    assert len(examples) == 2
    for command, expected in examples:
        result = sh(command)
        assert result.returncode == 0, (command, result.stderr)
        assert result.stdout.decode().startswith(expected), (command, result.stdout)
        assert result.stderr == b"", (command, result.stderr)

    # its own tests: a golden case is two files; STREAMKIT_UPDATE_GOLDEN=1 writes the second
    data = package / "tests" / "data"
    (data / "hello.jsonl").write_text('{"say": "Hello"}\n{"say": ", world"}\n{"done": true}\n')
    pytest_args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"]
    if not any(ep.value == "streamkit.testing" for ep in entry_points("pytest11")):
        pytest_args[3:3] = ["-p", "streamkit.testing"]  # a streamkit installed before its entry point
    run = lambda **extra: subprocess.run(pytest_args, cwd=package, env={**env, **extra},  # noqa: E731
                                         capture_output=True, timeout=240)  # fmt: skip
    first = run(STREAMKIT_UPDATE_GOLDEN="1")
    assert first.returncode == 0, first.stdout.decode()[-3000:]
    expected = [orjson.loads(line) for line in (data / "hello.expected.ndjson").read_bytes().splitlines()]
    assert [e["type"] for e in expected] == ["start", "text-start", "text-delta", "text-delta", "text-end",
                                             "finish", "message"]  # fmt: skip
    assert expected[-1]["content"] == [{"type": "text", "text": "Hello, world"}]
    again = run()
    assert again.returncode == 0 and b"2 passed" in again.stdout, again.stdout.decode()[-3000:]
    # and a golden case that is wrong fails, saying where
    (data / "hello.expected.ndjson").write_bytes(
        (data / "hello.expected.ndjson").read_bytes().replace(b"world", b"moon")
    )
    wrong = run()
    assert wrong.returncode == 1 and b"hello.jsonl: event 4 differs" in wrong.stdout, wrong.stdout.decode()[
        -3000:
    ]


@pytest.mark.parametrize(
    "name", ["Dialect", "Encoder", "Executor", "Format", "Normalizer", "ToolOutput", "hookimpl"]
)
def test_what_the_example_imports_is_exported(name: str) -> None:
    import streamkit

    assert name in streamkit.__all__ and getattr(streamkit, name) is not None
