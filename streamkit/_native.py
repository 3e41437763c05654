"""The modules compiled to C with mypyc, how they are built, and the guard that keeps a build older
than its sources from being used.

Every event passes through ``normalize``, whose hot path is Python bytecode: a dialect's ``feed``
and the stage's loop. mypyc (mypy's compiler, which builds black and mypy itself) compiles those
modules, unchanged, to C extensions: on Gemini's real mix, where the interpreted normalizer costs
twice the orjson floor, ``normalize`` takes a fifth less CPU (``make bench``; ``bench/HISTORY.md``).

* **Which.** :data:`MODULES`: Gemini's normalizer and its partial-argument assembly, Anthropic's
  normalizer, and the ``normalize`` stage. They are plain Python: the same files run interpreted wherever nothing was
  compiled. The :class:`~streamkit.dialects.base.Normalizer` base class is not compiled: a class
  that is not compiled and derives from a compiled one reads its instances' attributes three
  times slower, and every other dialect's normalizer and every plugin's derives from it. The
  compiled normalizers derive from :mod:`.dialects.native_normalizer`, a Normalizer by
  registration.
* **Built.** ``python -m streamkit._native_build`` (``make install`` and ``make test`` run it, in the
  project's own folder: an editable install) builds them beside their sources, with mypyc and a C
  compiler; where either is missing it says so and the sources run. A build compiles every module
  or none.
* **Guarded.** Python imports an extension module before a source of the same name, so a build
  would be used over a source edited after it. The build writes each source's size and
  modification time (:data:`STAMP`); when ``streamkit`` is imported, :func:`guard` compares them
  (a ``stat`` call per module) and, if any source differs, or ``STREAMKIT_PURE_PYTHON=1`` is set, imports
  every module of the build from its source. mypyc checks the annotations of what it compiles
  when the code runs (a function said to return a list that returns bytes raises TypeError), so
  the tests run the compiled modules (``make test``) and their own tests once more interpreted.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # (not typing's: every command imports this module)
if TYPE_CHECKING:
    from typing import Any

#: the modules mypyc compiles, as one group (a compiled module calls another directly)
MODULES = (
    "streamkit.dialects.native_normalizer",
    "streamkit.dialects.gemini.partial_args",
    "streamkit.dialects.gemini.normalize_server",
    "streamkit.dialects.gemini.normalize",
    "streamkit.stages.normalize",
    "streamkit.dialects.anthropic.normalize",
)
#: the group's shared library (a top-level module beside the package)
GROUP = "streamkit"
#: in the package's folder: a line per compiled module, ``module size mtime_ns`` of its source
STAMP = "_native.stamp"

_PACKAGE = os.path.dirname(os.path.abspath(__file__))


def source(module: str) -> str:
    """The path of a compiled module's source."""
    return os.path.join(_PACKAGE, *module.split(".")[1:]) + ".py"


def source_stat(path: str) -> str:
    st = os.stat(path)
    return f"{st.st_size} {st.st_mtime_ns}"


def stale() -> bool:
    """Whether a build is here whose sources changed since (no build, or a wheel's, is not stale)."""
    try:
        with open(os.path.join(_PACKAGE, STAMP), "rb") as f:  # (bytes: no codec to import)
            built = dict(line.split(" ", 1) for line in f.read().decode().splitlines() if line)
    except (OSError, ValueError):
        return False
    try:
        return any(built.get(module) != source_stat(source(module)) for module in MODULES)
    except OSError:  # a source gone: a wheel's compiled module runs alone
        return False


class _Sources:
    """Finds a compiled module's source first: the import system's path finder takes an extension
    module over a source of the same name."""

    @staticmethod
    def find_spec(name: str, path: Any = None, target: Any = None) -> Any:
        if name not in MODULES:
            return None
        from importlib.util import spec_from_file_location

        return spec_from_file_location(name, source(name))


def guard() -> None:
    """Import the compiled modules from their sources when the build is older than they are, or
    when ``STREAMKIT_PURE_PYTHON`` is set (to anything but ``0`` or nothing)."""
    pure = os.environ.get("STREAMKIT_PURE_PYTHON", "0") not in ("", "0")
    if (pure or stale()) and _Sources not in sys.meta_path:
        sys.meta_path.insert(0, _Sources)


def compiled() -> bool:
    """Whether the compiled modules are the ones imported (imports them)."""
    import importlib

    return all(not importlib.import_module(m).__file__.endswith(".py") for m in MODULES)  # type: ignore[union-attr]
