"""``convert`` over many recordings: ``convert --to T -o DIR [-j N] FILE|DIR...``.

Each file is converted by :func:`streamkit.batch.convert_file` (in this process with ``-j 1``,
else in N worker processes), a progress bar runs on stderr when stderr is a terminal (rich, when
it is installed), and a summary of the failures ends the run. Exit 65 when any file could not be
converted (bad data), else 1 when any stream ends in an error event (unless ``--ignore-errors``),
else 0.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .. import diagnostics
from ..errors import EXIT_DATAERR, EXIT_FAILURE, EXIT_OK, StreamkitError, UsageError


class BatchFailed(StreamkitError):
    """Some files failed: the summary is already on stderr."""

    def __init__(self, code: int) -> None:
        super().__init__("")
        self.exit_code = code
        self.quiet = True


def convert_many(inputs: tuple[str, ...], out_dir: str, *, to: str, from_: str | None, jobs: int,
                 think_tags: bool, options: dict[str, Any], ignore_errors: bool) -> None:  # fmt: skip
    from ..batch import convert_file, extension_of, plan
    from ..plugins import default_registry

    registry = default_registry()
    fmt = registry.format(to)  # an unknown format or dialect is a usage error before any work
    if from_:
        registry.dialect(from_)
    if "-" in inputs:
        raise UsageError("-o DIR converts files and directories, not stdin")
    pairs = plan(inputs, out_dir, extension_of(fmt))
    if not pairs:
        raise UsageError(f"no files found in {', '.join(inputs)}")
    jobs = jobs or os.cpu_count() or 1
    kwargs: dict[str, Any] = {"to": to, "from_": from_, "think_tags": think_tags, "options": options}
    began = time.perf_counter()
    results: list[Any] = []
    from .signals import sigterm_interrupts

    # SIGTERM as Ctrl-C: the workers are stopped with this process (with the default they ran on,
    # orphaned, holding its standard error open)
    with sigterm_interrupts(), _progress(len(pairs)) as advance:
        if jobs == 1 or len(pairs) == 1:
            for source, target in pairs:
                results.append(convert_file(source, target, **kwargs))
                advance()
        else:
            from concurrent.futures import ProcessPoolExecutor
            from functools import partial

            workers = min(jobs, len(pairs))
            # files go to the workers in chunks: one file is often under a millisecond of work,
            # less than a round trip to a worker (measured: one file per task made -j 2 slower
            # than -j 1 on the shared recordings)
            chunk = max(1, min(64, len(pairs) // (workers * 4)))
            with ProcessPoolExecutor(max_workers=workers) as pool:
                for result in pool.map(partial(_convert_pair, **kwargs), pairs, chunksize=chunk):
                    results.append(result)
                    advance()
    elapsed = time.perf_counter() - began
    _summary(results, out_dir, elapsed, ignore_errors)


def _convert_pair(pair: tuple[str, str], **kwargs: Any) -> Any:
    from ..batch import convert_file

    return convert_file(pair[0], pair[1], **kwargs)


def _summary(results: list[Any], out_dir: str, elapsed: float, ignore_errors: bool) -> None:
    failed = sorted((r for r in results if r.exit_code not in (EXIT_OK, EXIT_FAILURE)), key=lambda r: r.name)
    errored = sorted((r for r in results if r.exit_code == EXIT_FAILURE), key=lambda r: r.name)
    written = len(results) - len(failed)
    rate = len(results) / elapsed if elapsed > 0 else 0.0
    parts = [f"{written} of {len(results)} files converted into {out_dir}"]
    if errored:
        parts.append(f"{len(errored)} ending in an error event")
    if failed:
        parts.append(f"{len(failed)} failed")
    diagnostics.note(f"{', '.join(parts)} ({elapsed:.2f} s, {rate:.0f} files/s)")
    for r in errored:
        diagnostics.note(f"  {r.name}: {r.error}")
    for r in failed:
        diagnostics.note(f"  {r.name}: failed: {r.error}")
    if failed:
        raise BatchFailed(EXIT_DATAERR)
    if errored and not ignore_errors:
        raise BatchFailed(EXIT_FAILURE)


@contextmanager
def _progress(total: int) -> Iterator[Callable[[], None]]:
    """A progress bar on stderr when it is a terminal (rich, if installed); else nothing."""
    try:
        terminal = sys.stderr.isatty()
    except (AttributeError, ValueError):
        terminal = False
    if not terminal:
        yield lambda: None
        return
    try:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    except ImportError:  # rich is optional: no bar then
        yield lambda: None
        return
    columns = (TextColumn("converting"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("convert", total=total)
        yield lambda: progress.advance(task)
