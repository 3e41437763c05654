"""What an install gives: `serve` works from the core dependencies, says how to get them when they
are missing, and `make demo` installs only what running needs (README: "Two commands")."""

from __future__ import annotations

import os
import re
import subprocess
import sys

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

from .conftest import ROOT


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!~;\[ ]", r, maxsplit=1)[0].lower() for r in requirements}


def test_serve_needs_no_extra() -> None:
    core = _names(_project()["dependencies"])
    assert {"starlette", "uvicorn"} <= core
    # the serve extra only speeds it up; the test extras stay out of a plain install
    assert _names(_project()["optional-dependencies"]["serve"]) == {"httptools", "uvloop"}
    assert not core & {"pytest", "hypothesis", "openai", "anthropic", "ruff", "mypy"}


def test_serve_without_its_server_says_how_to_get_it() -> None:
    code = (
        "import sys; sys.modules['uvicorn'] = None\n"  # as if uvicorn were not installed
        "from streamkit.cli import main\n"
        "main(['serve', '--script', 'examples/demo-script.json'])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, timeout=60, env={**os.environ}
    )
    assert result.returncode == 2
    assert result.stdout == b""
    err = result.stderr.decode()
    assert "Traceback" not in err
    assert err.strip() == (
        "streamkit serve: serve needs uvicorn, which is not installed: "
        "pip install 'streamkit[serve]' (or pip install starlette uvicorn)"
    )


def test_make_demo_installs_what_running_needs_and_make_test_the_rest() -> None:
    """A dry run of make on a venv that does not exist: the commands each target would run (all of
    them: -B, so that a build already made here is listed too)."""

    def dry(target: str) -> str:
        result = subprocess.run(
            ["make", "-n", "-B", target, "VENV=/nonexistent/venv"], cwd=ROOT, capture_output=True, timeout=30
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.decode()

    demo = dry("demo")
    # (pip itself is upgraded only where the venv's is too old for an editable install)
    upgrades = [line for line in demo.splitlines() if "--upgrade pip" in line]
    assert len(upgrades) == 1 and upgrades[0].lstrip().startswith("||"), upgrades
    installs = [line for line in demo.splitlines() if "pip install" in line and line not in upgrades]
    assert len(installs) == 1 and installs[0].rstrip().endswith("-e ."), installs
    test = dry("test")
    assert '-e ".[test,serve,bench,postgres,native]"' in test
    # the compiled modules are built for the tests (and the benchmark), not for the demo
    assert "streamkit._native_build" in test and "streamkit._native_build" not in demo
    for plugin in sorted((ROOT / "plugins").glob("*/pyproject.toml")):
        assert f'-e "plugins/{plugin.parent.name}/[test]"' in test
        # every first-party plugin has the test extra make asks for (no pip warning)
        assert "test" in tomllib.loads(plugin.read_text())["project"]["optional-dependencies"]
    assert "ruff" not in test and "[dev]" not in test
    assert '-e ".[dev]"' in dry("lint")


def test_an_outside_plugin_in_the_venv_does_not_change_the_project_s_tests(tmp_path) -> None:
    """A plugin installed beside the first-party ones (here: a distribution on PYTHONPATH, found
    as an installed one is) is loaded by streamkit, but not by the project's own tests."""
    (tmp_path / "outside_plugin.py").write_text(
        "from streamkit import Dialect, Format, hookimpl\n"
        "class Outside(Dialect):\n"
        "    name = 'zz-outside'\n"
        "    description = 'an outside dialect that claims every stream'\n"
        "    def sniff(self, data, event=None):\n"
        "        return True\n"
        "class Loud(Format):\n"
        "    name = 'zz-loud'\n"
        "    description = 'an outside format'\n"
        "    def render(self, events, **options):\n"
        "        yield b''\n"
        "@hookimpl\n"
        "def register_dialects(register):\n"
        "    register(Outside())\n"
        "@hookimpl\n"
        "def register_formats(register):\n"
        "    register(Loud())\n"
    )
    info = tmp_path / "streamkit_outside-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: streamkit-outside\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[streamkit]\noutside = outside_plugin\n")
    env = {k: v for k, v in os.environ.items() if k != "STREAMKIT_LOAD_PLUGINS"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tmp_path), env.get("PYTHONPATH")]))
    streamkit = [sys.executable, "-m", "streamkit"]
    listed = subprocess.run([*streamkit, "dialects"], env=env, capture_output=True, timeout=60)
    assert b"zz-outside" in listed.stdout  # it is installed, and streamkit loads it
    # the README's listings and messages, and dialect detection, tested as the project tests them
    tests = ["tests/test_readme.py", "tests/stages/test_normalize.py"]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", *tests],
        cwd=ROOT, env=env, capture_output=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout.decode()[-3000:]
