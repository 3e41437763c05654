"""Build the modules of :mod:`streamkit._native` with mypyc, beside their sources:
``python -m streamkit._native_build`` (``make install`` and ``make test`` run it)."""

from __future__ import annotations

import os
import sys

from ._native import _PACKAGE, GROUP, MODULES, STAMP, source, source_stat


def _extensions(root: str) -> list[str]:
    """The build's files under ``root``: every extension module in the package (it has none of its
    own: a module compiled once and no longer listed goes too) and the group's library."""
    from importlib.machinery import EXTENSION_SUFFIXES

    found = [
        os.path.join(folder, name)
        for folder, _, names in os.walk(_PACKAGE)
        for name in names
        if name.endswith(tuple(EXTENSION_SUFFIXES))
    ]
    library = os.path.join(root, f"{GROUP}__mypyc")
    return found + [library + suffix for suffix in EXTENSION_SUFFIXES if os.path.exists(library + suffix)]


def _remove(root: str) -> None:
    """Remove what a build made: its extensions and its stamp (the sources then run)."""
    for path in [*_extensions(root), os.path.join(_PACKAGE, STAMP)]:
        if os.path.exists(path):
            os.remove(path)


def build() -> str | None:
    """Compile :data:`MODULES` beside their sources; None, or why not (the sources then run)."""
    root = os.path.dirname(_PACKAGE)
    _remove(root)  # (a failed build leaves none)
    import shutil
    import sysconfig

    compiler = (os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        return f"no C compiler ({compiler})"
    if not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")):
        return "no Python headers (Python.h)"
    try:
        from mypyc.build import mypycify
        from setuptools import Distribution
    except ImportError as exc:
        return f"mypyc or setuptools is not installed ({exc.name}): pip install 'streamkit[native]'"
    import contextlib
    import io
    import tempfile

    before = {m: source_stat(source(m)) for m in MODULES}
    cwd = os.getcwd()
    log = io.StringIO()
    try:
        os.chdir(root)  # (mypyc names a module by its path from here)
        with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(log):
            paths = [os.path.relpath(source(m), root) for m in MODULES]
            extensions = mypycify(paths, group_name=GROUP, target_dir=os.path.join(tmp, "c"))
            dist = Distribution({"name": "streamkit-native", "ext_modules": extensions})
            command = dist.get_command_obj("build_ext")
            command.inplace = True
            command.build_temp = os.path.join(tmp, "o")
            command.build_lib = os.path.join(tmp, "lib")
            dist.run_command("build_ext")
    except (Exception, SystemExit) as exc:  # mypy's errors, no compiler, a compile error
        _remove(root)
        detail = log.getvalue().strip().splitlines()[-1:] or [str(exc)]
        return f"the build failed: {detail[0]}"
    finally:
        os.chdir(cwd)
    after = {m: source_stat(source(m)) for m in MODULES}
    if after != before:
        _remove(root)
        return "a source changed while it was compiled"
    with open(os.path.join(_PACKAGE, STAMP), "w", encoding="ascii") as f:
        f.write("".join(f"{m} {after[m]}\n" for m in MODULES))
    return None


def main() -> int:
    problem = build()
    if problem:
        print(f"streamkit native: {problem}; the modules run as Python", file=sys.stderr)
        return 1
    print(f"streamkit native: {len(MODULES)} modules compiled", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
