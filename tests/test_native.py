"""The modules compiled with mypyc (streamkit/_native.py): a build is used while its sources are
the ones it was made from, and not once one changes, nor with STREAMKIT_PURE_PYTHON=1; a build
that cannot be made says why and leaves the sources to run. Each test works on a copy of the
package in a temporary folder, since the build's files sit beside the sources."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path
from typing import Any

import pytest

from streamkit import _native

from .conftest import ROOT

GEMINI = ROOT / "tests" / "data" / "gemini"
#: what a wrong type is, for the two forms to agree on
WRONG = [None, 1, -1, 1.5, True, "x", "", [], {}]
#: normalizes each stream of a JSON list with the command's own loop and writes, as JSON, what it
#: wrote and the error it stopped on (run once compiled and once as Python)
EACH = """
import io, sys, orjson
from streamkit.ndjson import EventWriter, NDJSONReader
from streamkit.stages.normalize import write_normalized
results = []
dialect = sys.argv[2]
for stream in orjson.loads(open(sys.argv[1], "rb").read()):
    out = io.BytesIO()
    try:
        write_normalized(NDJSONReader(io.BytesIO(stream.encode())), EventWriter(out), lambda e: None, dialect=dialect)
        error = None
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
    results.append([out.getvalue().decode(), error])
sys.stdout.buffer.write(orjson.dumps(results))
"""
BUILT = (ROOT / "streamkit" / _native.STAMP).exists() and not _native.stale()


def copy_tree(into: Path) -> Path:
    """The package (with its build, if any) and the build's library, copied into ``into``."""
    shutil.copytree(ROOT / "streamkit", into / "streamkit", copy_function=shutil.copy2)
    for suffix in EXTENSION_SUFFIXES:
        library = ROOT / f"{_native.GROUP}__mypyc{suffix}"
        if library.exists():
            shutil.copy2(library, into / library.name)
    return into


def run(tree: Path, *args: str, stdin: bytes = b"", **env: str) -> subprocess.CompletedProcess[bytes]:
    full = {k: v for k, v in os.environ.items() if k != "STREAMKIT_PURE_PYTHON"}
    full.update(env, PYTHONPATH=str(tree))
    # (run in the copy: Python puts the current folder first on the path)
    return subprocess.run(
        [sys.executable, *args], input=stdin, capture_output=True, env=full, timeout=120, cwd=tree
    )


def compiled_in(tree: Path, **env: str) -> list[str]:
    """Where each compiled module was imported from, in a fresh process on the copy."""
    code = "import importlib, streamkit._native as n; [print(importlib.import_module(m).__file__) for m in n.MODULES]"
    result = run(tree, "-c", code, **env)
    assert result.returncode == 0, result.stderr.decode()
    files = result.stdout.decode().split()
    assert len(files) == len(_native.MODULES) and all(f.startswith(str(tree)) for f in files), files
    return [Path(f).suffix for f in files]


def normalized(tree: Path, **env: str) -> bytes:
    """The canonical events of a streamed function call and of grounding, by the copy's normalize."""
    stream = b""
    for name in ("function-call-streamed.sse", "grounding.sse"):
        replayed = run(
            tree, "-m", "streamkit", "fetch", "-d", "gemini", "--replay", str(GEMINI / name), **env
        )
        assert replayed.returncode == 0, replayed.stderr.decode()
        stream += replayed.stdout
    result = run(tree, "-m", "streamkit", "normalize", "-d", "gemini", stdin=stream, **env)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.count(b"\n") > 10
    return result.stdout


@pytest.mark.skipif(
    not BUILT, reason="no compiled build here: python -m streamkit._native_build (mypy and a C compiler)"
)
def test_the_build_is_used_until_a_source_changes(tmp_path: Path) -> None:
    tree = copy_tree(tmp_path)
    assert set(compiled_in(tree)) == {".so"}
    compiled = normalized(tree)
    # asked for the sources
    assert set(compiled_in(tree, STREAMKIT_PURE_PYTHON="1")) == {".py"}
    # one source touched (an edit after the build): every module of the group runs as Python
    source = tree / "streamkit" / "dialects" / "gemini" / "partial_args.py"
    stat = source.stat()
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert set(compiled_in(tree)) == {".py"}
    assert normalized(tree) == compiled  # the two forms make the same bytes


@pytest.mark.skipif(
    not BUILT, reason="no compiled build here: python -m streamkit._native_build (mypy and a C compiler)"
)
def test_a_build_that_does_not_load_leaves_the_sources_to_run(tmp_path: Path) -> None:
    """A current build whose shared library does not load (damaged, or built for another C
    library): the command says so in one line and runs the sources, where it used to fail with an
    internal error."""
    tree = copy_tree(tmp_path)
    compiled = normalized(tree)
    (library,) = tree.glob(f"{_native.GROUP}__mypyc*")
    library.write_bytes(b"\0" * library.stat().st_size)  # no ELF header
    assert set(compiled_in(tree)) == {".py"}
    assert normalized(tree) == compiled
    result = run(tree, "-m", "streamkit", "normalize", "-d", "gemini", stdin=b"")
    assert result.returncode == 0, result.stderr.decode()
    (said,) = result.stderr.decode().splitlines()
    assert said.startswith("streamkit: the compiled modules do not load (") and library.name in said
    # a command that imports no compiled module says nothing
    assert run(tree, "-m", "streamkit", "accumulate").stderr == b""


@pytest.mark.skipif(
    not BUILT, reason="no compiled build here: python -m streamkit._native_build (mypy and a C compiler)"
)
@pytest.mark.parametrize("dialect", ["gemini", "anthropic", "openai-chat", "openai-responses", "ollama"])
def test_the_two_forms_agree_on_a_wrong_type_anywhere(dialect: str, tmp_path: Path) -> None:
    """mypyc checks annotations as the code runs: one that says ``str`` where the wire may hold
    anything refuses, compiled, what the Python form takes (a number as a thought signature, say).
    Every stream of the project's own in a compiled normalizer's dialect, with each value in turn
    made each wrong type: the same events and the same error, byte for byte, in both forms."""
    import orjson

    from streamkit.stages.fetch import replay

    from .conftest import places, replaced

    streams = []
    for path in sorted((ROOT / "tests" / "data" / dialect).iterdir()):
        if path.suffix not in (".sse", ".ndjson") or path.name.endswith(".expected.ndjson"):
            continue  # (a recording is SSE, or NDJSON for Ollama)
        raws = [orjson.dumps(r) for r in replay(io.BytesIO(path.read_bytes()), dialect=dialect)]
        for i, raw in enumerate(map(orjson.loads, raws)):
            for place in places(raw["data"]):
                for wrong in WRONG:
                    bad = orjson.dumps({**raw, "data": replaced(raw["data"], place, wrong)})
                    streams.append(b"\n".join([*raws[:i], bad, *raws[i + 1 :]]).decode() + "\n")
    assert len(streams) > 3000
    (tmp_path / "streams.json").write_bytes(orjson.dumps(streams))
    compiled, interpreted = (
        run(ROOT, "-c", EACH, str(tmp_path / "streams.json"), dialect, **env)
        for env in ({}, {"STREAMKIT_PURE_PYTHON": "1"})
    )
    assert compiled.returncode == 0 and interpreted.returncode == 0, compiled.stderr + interpreted.stderr
    pairs = list(zip(orjson.loads(compiled.stdout), orjson.loads(interpreted.stdout), streams))
    assert len(pairs) == len(streams)
    differ = [(c, p, s) for c, p, s in pairs if c != p]
    assert not differ, differ[0]
    # wrong types refused in words, and wrong types taken, with events written either way
    assert sum(1 for c, _, _ in pairs if c[1] and c[1].startswith("DataError")) > 100
    assert sum(1 for c, _, _ in pairs if c[1] is None and c[0].count("\n") > 3) > 1000


def test_a_build_that_cannot_be_made_says_why_and_leaves_the_sources(tmp_path: Path) -> None:
    tree = copy_tree(tmp_path)
    result = run(tree, "-m", "streamkit._native_build", CC=str(tmp_path / "no-such-cc"))
    assert result.returncode == 1
    assert result.stderr.decode().splitlines() == [
        f"streamkit native: no C compiler ({tmp_path / 'no-such-cc'}); the modules run as Python"
    ]
    # what an earlier build left is gone, so the sources run
    assert not list(tree.rglob("*.so")) and not (tree / "streamkit" / _native.STAMP).exists()
    assert set(compiled_in(tree)) == {".py"}
    normalized(tree)


def test_the_makefile_rebuilds_when_any_compiled_module_changes() -> None:
    makefile = (ROOT / "Makefile").read_text()
    sources = makefile.split("NATIVE_SOURCES :=", 1)[1].split("\n# ", 1)[0]
    for module in _native.MODULES:
        assert str(Path(_native.source(module)).relative_to(ROOT)) in sources, module


@pytest.mark.parametrize("dialect", ["gemini", "anthropic", "openai-chat", "openai-responses", "ollama"])
def test_a_compiled_normalizer_is_a_normalizer_and_the_base_class_is_not_compiled(dialect: str) -> None:
    """A compiled dialect's normalizer is a Normalizer (by registration: a compiled class cannot
    derive from it); the base class stays Python, since an interpreted subclass of a compiled
    class reads its attributes slower (every other dialect's normalizer and every plugin's
    derives from it)."""
    from streamkit.dialects.base import Normalizer
    from streamkit.plugins import default_registry

    normalizer = default_registry().dialect(dialect).normalizer()
    assert isinstance(normalizer, Normalizer) and issubclass(type(normalizer), Normalizer)
    assert type(normalizer).__module__ in _native.MODULES
    assert "streamkit.dialects.normalizer" not in _native.MODULES
    assert sys.modules[Normalizer.__module__].__file__.endswith(".py")


@pytest.mark.parametrize(
    ("dialect", "recording", "inner"),
    [
        ("gemini", "function-call-streamed.sse", "_end_response"),
        ("anthropic", "tool-use.sse", "_end_response"),
        ("openai-chat", "parallel-tools.sse", "_end_response"),
        ("openai-responses", "function-call.sse", "_end_all"),
        ("ollama", "chat-tool-calls.ndjson", "_finish"),
    ],
)
def test_a_plugin_normalizer_may_derive_from_a_compiled_one(dialect: str, recording: str, inner: str) -> None:
    """A plugin's normalizer derives from a built-in one and overrides its methods (a compiled
    class allows it only when it says so, ``mypyc_attr(allow_interpreted_subclasses=True)``:
    without, "interpreted classes cannot inherit from compiled"), and the built-in's compiled
    code calls the overrides (``inner``, a method its own code calls)."""
    from streamkit.plugins import default_registry
    from streamkit.stages.fetch import replay

    base = type(default_registry().dialect(dialect).normalizer())
    calls: list[str] = []

    def feed(self: Any, data: Any, event: str | None = None) -> Any:
        calls.append("feed")
        return super(derived, self).feed(data, event)

    def spy(self: Any, *args: Any) -> Any:
        calls.append(inner)
        return getattr(super(derived, self), inner)(*args)

    derived = type("Derived", (base,), {"feed": feed, inner: spy})
    raws = list(
        replay(io.BytesIO((ROOT / "tests" / "data" / dialect / recording).read_bytes()), dialect=dialect)
    )
    ours, theirs = base(), derived()
    expected = [e for r in raws for e in ours.feed(r["data"], r.get("event")) or []] + ours.close()
    got = [e for r in raws for e in theirs.feed(r["data"], r.get("event")) or []] + theirs.close()
    assert len(expected) > 5 and got == expected
    assert calls.count("feed") == len(raws) and inner in calls
