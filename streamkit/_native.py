"""The modules compiled to C with mypyc, how they are built, and the guard that keeps a build older
than its sources from being used.

Every event passes through ``normalize``, whose hot path is Python bytecode: a dialect's ``feed``
and the stage's loop. mypyc (mypy's compiler, which builds black and mypy itself) compiles those
modules, unchanged, to C extensions: on Gemini's real mix, where the interpreted normalizer costs
twice the orjson floor, ``normalize`` takes a fifth less CPU (``make bench``; ``bench/HISTORY.md``).

* **Which.** :data:`MODULES`: the normalizers of Gemini (with its partial-argument assembly),
  Anthropic, Chat Completions, the Responses API and Ollama, and the ``normalize`` stage. They are
  plain Python: the same files run interpreted wherever nothing was compiled. The
  :class:`~streamkit.dialects.base.Normalizer` base class is not compiled: a class that is not
  compiled and derives from a compiled one reads its instances' attributes three times slower,
  and every other dialect's normalizer and every plugin's derives from it. The compiled
  normalizers derive from :mod:`.dialects.native_normalizer`, a Normalizer by registration.
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
* **Loaded, or not used.** A build that is current but does not load (its shared library damaged
  or gone, or a tree moved to a machine whose C library it was not built for) would fail every
  command that imports a compiled module. The first such import tries the build's shared library;
  if it does not load, the command says so on stderr in one line and imports every compiled
  module from its source (:class:`_Loadable`).
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # (not typing's: every command imports this module)
if TYPE_CHECKING:
    from typing import Any

    from mypy_extensions import mypyc_attr
else:

    def mypyc_attr(*attrs: object, **options: object) -> Any:
        """mypy_extensions' decorator of a compiled class, without the dependency: mypyc reads it
        when it compiles (``allow_interpreted_subclasses=True``: a plugin's class may derive
        from a compiled normalizer), and at run time it changes nothing."""
        return lambda cls: cls


#: the modules mypyc compiles, as one group (a compiled module calls another directly)
MODULES = (
    "streamkit.dialects.native_normalizer",
    "streamkit.dialects.gemini.partial_args",
    "streamkit.dialects.gemini.normalize_server",
    "streamkit.dialects.gemini.normalize",
    "streamkit.stages.normalize",
    "streamkit.dialects.anthropic.normalize",
    "streamkit.dialects.openai_chat.normalize_rare",
    "streamkit.dialects.openai_chat.normalize",
    "streamkit.dialects.openai_responses.normalize_blocks",
    "streamkit.dialects.openai_responses.normalize_tools",
    "streamkit.dialects.openai_responses.normalize",
    "streamkit.dialects.ollama.normalize",
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


def _stamp() -> dict[str, str] | None:
    """What the build here was made from (:data:`STAMP`), or None where nothing was built."""
    try:
        with open(os.path.join(_PACKAGE, STAMP), "rb") as f:  # (bytes: no codec to import)
            return dict(line.split(" ", 1) for line in f.read().decode().splitlines() if line)
    except (OSError, ValueError):
        return None


def stale(built: dict[str, str] | None = None) -> bool:
    """Whether a build is here whose sources changed since (no build, or a wheel's, is not stale)."""
    built = _stamp() if built is None else built
    if built is None:
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


class _Loadable:
    """Finds a compiled module's source when the build's shared library does not load: tried once,
    at the first import of a compiled module, and said once on stderr."""

    #: None until tried; then the reason the library did not load, or "" if it did
    failure: str | None = None

    @staticmethod
    def find_spec(name: str, path: Any = None, target: Any = None) -> Any:
        if name not in MODULES:
            return None
        if _Loadable.failure is None:
            from importlib import import_module

            try:
                import_module(f"{GROUP}__mypyc")
                _Loadable.failure = ""
            except ImportError as exc:
                _Loadable.failure = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                sys.stderr.write(
                    f"streamkit: the compiled modules do not load ({_Loadable.failure}); running "
                    "them as Python (make native builds them again)\n"
                )
        return _Sources.find_spec(name) if _Loadable.failure else None


def guard() -> None:
    """Import the compiled modules from their sources when the build is older than they are, or
    when ``STREAMKIT_PURE_PYTHON`` is set (to anything but ``0`` or nothing); where a build is
    current, from their sources too if its shared library does not load (:class:`_Loadable`)."""
    if _Sources in sys.meta_path or _Loadable in sys.meta_path:
        return
    pure = os.environ.get("STREAMKIT_PURE_PYTHON", "0") not in ("", "0")
    built = _stamp()  # (None: nothing built here, a checkout before make or a wheel)
    if pure or (built is not None and stale(built)):
        sys.meta_path.insert(0, _Sources)
    elif built is not None:
        sys.meta_path.insert(0, _Loadable)


def compiled() -> bool:
    """Whether the compiled modules are the ones imported (imports them)."""
    import importlib

    return all(not importlib.import_module(m).__file__.endswith(".py") for m in MODULES)  # type: ignore[union-attr]
