"""Batch conversion on Ray Data: :func:`streamkit.batch.convert_bytes` as the function of a
``map_batches``, so a pipeline of your own (or ``convert --engine ray``) runs the very unit of
work ``convert -j N`` runs, on a laptop or a cluster.

::

    import ray
    from streamkit.distributed import convert_batch

    ds = ray.data.read_binary_files("s3://bucket/recordings/", include_paths=True)
    ds = ds.map_batches(convert_batch, fn_kwargs={"to": "anthropic"}, batch_format="pyarrow")
    ds.write_parquet("s3://bucket/converted/")

Ray is imported by nothing here at module level: only pyarrow (which ``ray[data]`` brings) is
needed to call :func:`convert_batch`, so it can be tested and used without a cluster.

Choices where the issue is silent:

* One row out per recording in, with a fixed schema (:data:`COLUMNS`) whatever the recording held,
  so every block of a dataset writes the same Parquet schema. A batch's other columns (ids,
  metadata of a dataset of recordings) are kept beside them; where a name clashes, ours win. The
  recording's own bytes are not carried on.
* ``messages`` holds the final ``message`` events as JSON text (a list), not nested columns: the
  content parts of a message vary too much for one Parquet schema. ``usage`` is a struct of the
  canonical usage counts, summed over every response of a recording.
* ``output`` holds the converted recording as text (when ``to`` is given and ``out_dir`` is not); a
  target format whose output is not UTF-8 (AWS event-stream) is an error value there: write those
  one file per recording (``out_dir``).
* With ``out_dir``, each recording is written as a file there, named by its ``path`` column (made
  relative: a leading ``/`` and drive dropped; a path holding ``..`` is an error value) with the
  target's extension, or by the ``target`` column where one is given (``convert --engine ray``
  plans the names as ``convert -o DIR`` does); ``written`` says where.
"""

from __future__ import annotations

import os
from pathlib import PurePath, PurePosixPath
from typing import TYPE_CHECKING, Any, Literal

import orjson

from .batch import Converted, convert_bytes
from .errors import EXIT_DATAERR, EXIT_FAILURE, EXIT_OK

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["COLUMNS", "USAGE_FIELDS", "convert_batch", "json_lines_sink", "schema"]

#: the canonical usage counts, as the ``usage`` struct's fields
USAGE_FIELDS = ("input_tokens", "output_tokens", "total_tokens", "cached_input_tokens", "reasoning_tokens")
#: the columns :func:`convert_batch` adds, in order
COLUMNS = ("path", "dialect", "model", "finish_reason", "usage", "messages", "output", "written", "exit_code",
           "error", "notes")  # fmt: skip


def schema() -> pa.Schema:
    """The pyarrow schema of the columns :func:`convert_batch` adds."""
    import pyarrow as pa

    return pa.schema(
        [
            ("path", pa.string()),
            ("dialect", pa.string()),
            ("model", pa.string()),
            ("finish_reason", pa.string()),
            ("usage", pa.struct([(name, pa.int64()) for name in USAGE_FIELDS])),
            ("messages", pa.string()),
            ("output", pa.string()),
            ("written", pa.string()),
            ("exit_code", pa.int32()),
            ("error", pa.string()),
            ("notes", pa.list_(pa.string())),
        ]
    )


def convert_batch(
    batch: Any,
    *,
    to: str | None = None,
    column: str | None = "bytes",
    path_column: str = "path",
    from_: str | None = None,
    messages: bool = True,
    out_dir: str | None = None,
    extension: str | None = None,
    think_tags: bool = False,
    options: dict[str, Any] | None = None,
) -> pa.Table:
    """Convert every recording of a batch (a ``pyarrow.Table``, or a dict of columns as Ray's
    ``batch_format="numpy"`` gives), one row out per row in: the columns of :data:`COLUMNS`.

    ``column`` names the recordings' bytes (or text); None reads each row's ``path`` as a file
    instead. ``to``: the format of ``output`` (or of the files written into ``out_dir``), None for
    no conversion beyond the messages. ``messages``: fill the ``messages`` column. Never raises
    for a bad recording: its row says what went wrong.
    """
    import pyarrow as pa

    table = batch if isinstance(batch, pa.Table) else pa.table(dict(batch))
    rows = table.num_rows
    names = table.column(path_column).to_pylist() if path_column in table.column_names else [None] * rows
    datas = table.column(column).to_pylist() if column is not None else [None] * rows
    targets = table.column("target").to_pylist() if "target" in table.column_names else [None] * rows
    out: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    keep: Literal["messages"] | None = "messages" if messages else None
    for name, data, target in zip(names, datas, targets):
        label = "" if name is None else str(name)
        raw = _read(label) if column is None else data
        if isinstance(raw, Converted):
            result = raw
        elif raw is None:
            result = Converted(name=label, exit_code=EXIT_DATAERR, error=f"no recording in column {column!r}")
        else:
            raw = raw.encode() if isinstance(raw, str) else bytes(raw)
            result = convert_bytes(raw, to=to, from_=from_, name=label, think_tags=think_tags,
                                   options=options, keep=keep)  # fmt: skip
        written = None
        if out_dir is not None and result.exit_code in (EXIT_OK, EXIT_FAILURE):
            written, result = _write(result, out_dir, target, extension)
        text = None
        if to is not None and out_dir is None and result.exit_code in (EXIT_OK, EXIT_FAILURE):
            try:
                text = result.output.decode()
            except UnicodeDecodeError:
                result = _failed(result, f"{to} output is not text: write it one file per recording (-o DIR)")
        out["path"].append(name)
        out["dialect"].append(result.dialect)
        out["model"].append(result.model)
        out["finish_reason"].append(result.finish_reason)
        usage = result.usage
        out["usage"].append(None if usage is None else {key: usage.get(key) for key in USAGE_FIELDS})
        out["messages"].append(
            orjson.dumps(list(result.events)).decode() if messages and result.events else None
        )
        out["output"].append(text)
        out["written"].append(written)
        out["exit_code"].append(result.exit_code)
        out["error"].append(result.error)
        out["notes"].append(list(result.messages))
    ours = pa.Table.from_pydict(out, schema=schema())
    drop = {column, "target", *COLUMNS} if column is not None else {"target", *COLUMNS}
    kept = [name for name in table.column_names if name not in drop]
    if not kept:
        return ours
    return pa.Table.from_arrays(
        [table.column(name) for name in kept] + list(ours.columns), names=kept + list(ours.column_names)
    )


def _read(path: str) -> bytes | Converted:
    """The file's bytes, or the failure to read it as a value (as :func:`convert_file` says it)."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        return Converted(name=path, exit_code=EXIT_DATAERR, error=f"cannot read it: {exc.strerror}")


def _failed(result: Converted, reason: str) -> Converted:
    return Converted(name=result.name, exit_code=EXIT_DATAERR, error=reason, messages=result.messages,
                     dialect=result.dialect, model=result.model)  # fmt: skip


def _write(
    result: Converted, out_dir: str, target: str | None, extension: str | None
) -> tuple[str | None, Converted]:
    if target is None:
        relative = _relative(result.name)
        if relative is None:
            return None, _failed(result, f"cannot name its output after {result.name!r}")
        target = str(PurePath(out_dir, relative).with_suffix("." + (extension or "out")))
    try:
        os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
        with open(target, "wb") as f:
            f.write(result.output)
    except OSError as exc:
        return None, Converted(name=result.name, exit_code=EXIT_FAILURE, error=f"cannot write {target}: {exc.strerror}",
                               messages=result.messages)  # fmt: skip
    return target, result


def _relative(name: str) -> PurePosixPath | None:
    """``name`` as a path under an output folder: anchor dropped; None if empty or it climbs."""
    path = PurePosixPath(name.replace("\\", "/"))
    parts = [part for part in path.parts if part not in ("/", "")]
    if parts and parts[0].endswith(":"):  # a drive, or a URI's scheme: s3://bucket/a.sse
        parts = parts[1:]
    if not parts or ".." in parts or parts == ["."]:
        return None
    return PurePosixPath(*parts)


def json_lines_sink(path: str) -> Any:
    """A Ray datasink writing a dataset as JSON Lines (one ``.jsonl`` file per block), for
    ``ds.write_datasink(json_lines_sink(path))``. Unlike ``write_json`` (pandas), integers stay
    integers when a column holds nulls, and text is written as it is (orjson)."""
    from ray.data.datasource.file_datasink import BlockBasedFileDatasink

    class JSONLinesDatasink(BlockBasedFileDatasink):
        def write_block_to_file(self, block: Any, file: Any) -> None:
            dumps, option = orjson.dumps, orjson.OPT_APPEND_NEWLINE
            file.write(b"".join(dumps(row, option=option) for row in block.to_arrow().to_pylist()))

    return JSONLinesDatasink(path, file_format="jsonl")
