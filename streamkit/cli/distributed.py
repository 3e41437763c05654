"""``convert --engine ray``: the batch conversion as Ray Data tasks, on a local Ray or a cluster.

Inputs are files, folders and globs (each file read in the task that converts it), or, with
``--column COL``, Parquet or JSONL datasets of recordings. ``-o DIR`` writes one file per input, as
``convert -o DIR`` does; ``-o NAME.parquet`` or ``-o NAME.jsonl`` writes a dataset (a folder of
part files, as Ray writes them) with one row per recording: path, dialect, model, usage, the
final messages, the converted output (with ``--to``), and any error
(:mod:`streamkit.distributed` has the columns). Ray reports progress on stderr itself.

Choices where the issue is silent:

* Without ``--address`` a local Ray is started for the run (``-j N`` CPUs, ``-j 0`` or none given:
  every core) and shut down after; with it the run joins that cluster (``auto``, or
  ``ray://host:10001``), whose nodes need streamkit installed and must see the inputs and the
  output folder (a shared file system; a dataset may also be read from and written to object
  storage, ``s3://...``, which Ray's readers and writers take).
* Rows of a dataset are named by its ``path`` column: one file per row needs it (a usage error
  without), a dataset output carries it (and every other column) through.
* Exit codes and the summary are those of ``convert -o DIR``: 65 if any recording failed, else 1
  if any stream ends in an error event (unless ``--ignore-errors``); with a dataset output the
  summary is read back from the dataset's ``path``, ``exit_code`` and ``error`` columns.
"""

from __future__ import annotations

import glob
import logging
import os
import time
from pathlib import Path
from typing import Any

from .. import diagnostics
from ..batch import Converted
from ..errors import UsageError

INSTALL = "--engine ray needs Ray: pip install 'streamkit[ray]'"
#: recordings per task: a recording is about a millisecond of work, a task several
ROWS_PER_TASK = 64
DATASET_SUFFIXES = {".parquet": "parquet", ".jsonl": "json", ".ndjson": "json", ".json": "json"}


def dataset_output(out: str) -> str | None:
    """The dataset format ``-o OUT`` asks for (``parquet``, ``json``), or None for a folder."""
    return DATASET_SUFFIXES.get(Path(out.rstrip("/")).suffix.lower())


def convert_on_ray(inputs: tuple[str, ...], out: str, *, to: str | None, from_: str | None, jobs: int,
                   address: str | None, column: str | None, think_tags: bool, options: dict[str, Any],
                   ignore_errors: bool) -> None:  # fmt: skip
    from ..batch import extension_of, plan
    from ..plugins import default_registry
    from .batch import _summary

    try:
        import ray
    except ImportError:
        raise UsageError(INSTALL) from None
    registry = default_registry()
    extension = None
    if to is not None:
        extension = extension_of(registry.format(to))  # an unknown format: a usage error before Ray starts
    if from_:
        registry.dialect(from_)
    if "-" in inputs or not inputs:
        raise UsageError("--engine ray converts files, folders, globs or datasets, not stdin")
    written_as = dataset_output(out)
    if written_as is None and to is None:
        raise UsageError("Missing option '--to' (needed to write one file per input; a .parquet or "
                         ".jsonl output holds the messages without it)")  # fmt: skip
    paths = _expand(inputs)
    items: list[dict[str, Any]] | None = None
    if column is None:
        if written_as is None:
            items = [{"path": s, "target": t} for s, t in plan(paths, out, extension or "out")]
        else:
            items = [{"path": p} for p in _files(paths)]
        if not items:
            raise UsageError(f"no files found in {', '.join(inputs)}")

    began = time.perf_counter()
    started = _start(ray, address, jobs)
    ds: Any
    try:
        if items is not None:
            blocks = max(1, min(len(items), -(-len(items) // ROWS_PER_TASK)))
            ds = ray.data.from_items(items, override_num_blocks=blocks)
        else:
            # a Parquet file is read as one block: cut it so that its rows spread over the CPUs
            ds = _read_datasets(ray, paths, column).repartition(target_num_rows_per_block=ROWS_PER_TASK)  # type: ignore[arg-type]
            if written_as is None and "path" not in ds.schema().names:
                raise UsageError(f"one file per row needs a 'path' column to name it: {', '.join(inputs)} has "
                                 "none (write a dataset instead: -o NAME.parquet)")  # fmt: skip
        kwargs = {"to": to, "column": column, "from_": from_, "messages": written_as is not None,
                  "out_dir": out if written_as is None else None, "extension": extension,
                  "think_tags": think_tags, "options": options}  # fmt: skip
        from ..distributed import convert_batch

        ds = ds.map_batches(convert_batch, fn_kwargs=kwargs, batch_format="pyarrow", batch_size=ROWS_PER_TASK)
        columns = ["path", "exit_code", "error"]
        if written_as is None:
            back = ds.select_columns(columns).materialize()  # a few small columns, kept for the summary
        elif written_as == "parquet":
            ds.write_parquet(out)
            back = ray.data.read_parquet(out).select_columns(columns)
        else:
            from ..distributed import json_lines_sink

            ds.write_datasink(json_lines_sink(out))
            back = ray.data.read_json(out, lines=True, file_extensions=None).select_columns(columns)
        total = back.count()
        if written_as is None:  # already materialized: read on the driver
            rows = [row for row in back.iter_rows() if row["exit_code"]]
        else:
            from ray.data.expressions import col

            rows = list(back.filter(expr=col("exit_code") != 0).iter_rows())
        rows += [{"exit_code": 0}] * (total - len(rows))
    finally:
        if started:
            ray.shutdown()
    results = [Converted(name=str(r.get("path") or ""), exit_code=int(r["exit_code"]), error=r.get("error"))
               for r in rows]  # fmt: skip
    _summary(results, out, time.perf_counter() - began, ignore_errors)


def _start(ray: Any, address: str | None, jobs: int) -> bool:
    """Join the cluster at ``address``, or start a local Ray of ``jobs`` CPUs (0: every core);
    False when this process is in a Ray session already (a Python caller's): it is used as it is."""
    if ray.is_initialized():
        return False
    if address:
        diagnostics.note(f"joining the Ray cluster at {address}")
        ray.init(address=address, logging_level=logging.WARNING)
        return True
    cpus = jobs or os.cpu_count() or 1
    diagnostics.note(f"starting a local Ray with {cpus} CPUs")
    ray.init(num_cpus=cpus, include_dashboard=False, logging_level=logging.WARNING)
    return True


def _expand(inputs: tuple[str, ...]) -> list[str]:
    """Globs expanded (``**`` too), in name order; other inputs as they are. A glob that matches
    nothing is a usage error, as a missing file is."""
    paths: list[str] = []
    for given in inputs:
        if "://" in given or not glob.has_magic(given):
            paths.append(given)
            continue
        found = sorted(glob.glob(given, recursive=True))
        if not found:
            raise UsageError(f"cannot read {given}: no file matches")
        paths.extend(found)
    return paths


def _files(paths: list[str]) -> list[str]:
    """Every file named or under a folder named (hidden entries skipped), in name order."""
    files: list[str] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            files.extend(
                str(p)
                for p in sorted(path.rglob("*"))
                if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        elif path.is_file():
            files.append(given)
        else:
            raise UsageError(f"cannot read {given}: no such file or directory")
    return files


def _read_datasets(ray: Any, paths: list[str], column: str) -> Any:
    """Parquet files or folders, or JSONL files (by their suffix), as one dataset with ``column``."""
    parts = []
    for given in paths:
        if "://" not in given and not os.path.exists(given):
            raise UsageError(f"cannot read {given}: no such file or directory")
        kind = DATASET_SUFFIXES.get(Path(given.removesuffix(".gz")).suffix.lower(), "parquet")
        ds = (
            ray.data.read_json(given, lines=True, file_extensions=None)
            if kind == "json"
            else ray.data.read_parquet(given)
        )
        if column not in ds.schema().names:
            raise UsageError(
                f"{given} has no column {column!r} (its columns: {', '.join(ds.schema().names)})"
            )
        parts.append(ds)
    return parts[0] if len(parts) == 1 else parts[0].union(*parts[1:])
