"""streamkit.distributed and ``convert --engine ray``: the batch unit of work as Ray Data tasks.

The recordings are generated here from the project's own tests/data streams: every source
stream converted into every installed dialect (a deterministic third of the pairs, a few hundred
recordings), plus one corrupt file. One local Ray with two CPUs serves the module.
"""

from __future__ import annotations

import filecmp
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from streamkit.batch import convert_bytes

from .conftest import DATA, STREAMKIT

# Ray warns of its own deprecated settings from its own modules: not ours to fix
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning:ray", "ignore::FutureWarning:ray"),
    # a local Ray cluster's start and its tasks: 110 s for one test on a loaded 2-core machine, as
    # long as the subprocess runs below are given
    pytest.mark.timeout(300),
]

CORRUPT = b"data: {this is not json\n\n"


def _generate(root: Path) -> list[Path]:
    """tests/data streams converted into every dialect, under root/<dialect>/; a corrupt file
    beside them. Returns the files written."""
    from streamkit.batch import extension_of
    from streamkit.plugins import default_registry

    registry = default_registry()
    sources = sorted(p for p in DATA.rglob("*") if p.is_file() and not p.name.endswith(".expected.ndjson"))
    written = []
    for d, dialect in enumerate(sorted(registry.dialects())):
        ext = extension_of(registry.format(dialect))
        for i, source in enumerate(sources):
            if i % 3 != d % 3:
                continue
            result = convert_bytes(source.read_bytes(), to=dialect)
            if result.exit_code not in (0, 1) or not result.output:
                continue
            target = root / dialect / f"{source.parent.name}-{source.stem}.{ext}"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(result.output)
            written.append(target)
    (root / "corrupt.sse").write_bytes(CORRUPT)
    written.append(root / "corrupt.sse")
    return written


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    root = tmp_path_factory.mktemp("recordings")
    return root, _generate(root)


# -- convert_batch without Ray: one function over a pyarrow table ------------------------------


def test_convert_batch_rows_say_what_each_recording_was() -> None:
    pa = pytest.importorskip(
        "pyarrow", reason="pyarrow comes with the ray extra: pip install 'streamkit[ray]'"
    )
    from streamkit.distributed import COLUMNS, convert_batch, schema

    tool_use = (DATA / "anthropic" / "tool-use.sse").read_bytes()
    table = pa.table({"id": [7, 8], "path": ["a/tool-use.sse", "b.sse"], "body": [tool_use, CORRUPT]})
    out = convert_batch(table, to="openai-chat", column="body")
    assert out.column_names == ["id", *COLUMNS]  # the recording's bytes are not carried on
    assert out.schema.remove(0) == schema()
    good, bad = out.to_pylist()
    expected = convert_bytes(tool_use, to="openai-chat", keep="messages")
    # chat chunks carry the time of the conversion (an Anthropic stream has none): it may tick
    undated = lambda text: re.sub(r'"created":\d+', '"created":0', text)  # noqa: E731
    assert '"created":' in good["output"] and undated(good["output"]) == undated(expected.output.decode())
    assert json.loads(good["messages"]) == list(expected.events) and expected.events[0]["type"] == "message"
    assert (good["id"], good["dialect"], good["model"], good["exit_code"], good["error"]) == (
        7, "anthropic", expected.model, 0, None)  # fmt: skip
    assert good["usage"]["output_tokens"] == expected.usage["output_tokens"]  # type: ignore[index]
    assert (bad["id"], bad["exit_code"], bad["output"], bad["messages"]) == (8, 65, None, None)
    assert "line 1" in bad["error"]


def test_convert_bytes_keeps_events_or_messages_on_request() -> None:
    data = (DATA / "openai-chat" / "parallel-tools.sse").read_bytes()
    events = convert_bytes(data, to=None, keep="events")
    assert events.output == b"" and events.events[0]["type"] == "start"
    assert events.events[-1]["type"] == "finish" and events.dialect == "openai-chat"
    messages = convert_bytes(data, to="ndjson", keep="messages")
    assert [m["type"] for m in messages.events] == ["message"]
    assert sum(p["type"] == "tool-call" for p in messages.events[0]["content"]) >= 2
    assert messages.output == convert_bytes(data, to="ndjson").output


def test_without_ray_the_engine_says_how_to_install_it(tmp_path: Path) -> None:
    # a real process in which `import ray` fails, whether or not ray is installed here
    code = "import sys; sys.modules['ray'] = None; from streamkit.cli import main; sys.exit(main())"
    args = [
        "convert",
        "--engine",
        "ray",
        "--to",
        "text",
        "-o",
        str(tmp_path / "out"),
        str(DATA / "anthropic"),
    ]
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert b"pip install 'streamkit[ray]'" in proc.stderr and b"Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


# -- on a local Ray with two CPUs ---------------------------------------------------------------


@pytest.fixture(scope="module")
def ray_session() -> Iterator[Any]:
    ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'streamkit[ray]'")
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING", log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()


def _single_process(recordings: tuple[Path, list[Path]], out: Path, to: str) -> None:
    from streamkit.cli.batch import BatchFailed, convert_many

    with pytest.raises(BatchFailed) as failed:
        convert_many((str(recordings[0]),), str(out), to=to, from_=None, jobs=1, think_tags=False, options={},
                     ignore_errors=False)  # fmt: skip
    assert failed.value.exit_code == 65


# ids and times an encoder makes up where the recording holds none (a Bedrock stream has no
# message id): random, or the clock's, in every run, one process or many
MADE_UP_ID = re.compile(
    rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{24,32}|(?<=\"created\":)\d+|(?<=\"created_at\":)(\d+|\"[^\"]*\")"
)


def _same_tree(a: Path, b: Path) -> list[str]:
    """The same files under a and b, byte for byte but for made-up ids; their names."""
    names = sorted(str(p.relative_to(a)) for p in a.rglob("*") if p.is_file())
    assert names == sorted(str(p.relative_to(b)) for p in b.rglob("*") if p.is_file())
    _, mismatch, errors = filecmp.cmpfiles(a, b, names, shallow=False)
    assert errors == []
    for name in mismatch:
        one, other = (MADE_UP_ID.sub(b"ID", (root / name).read_bytes()) for root in (a, b))
        assert one == other, name
    return names


@pytest.mark.parametrize("to", ["anthropic", "openai-responses"])
@pytest.mark.usefixtures("ray_session")
@pytest.mark.ray
@pytest.mark.xdist_group("ray")
def test_files_on_ray_are_what_one_process_writes(recordings: tuple[Path, list[Path]], tmp_path: Path, to: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    from streamkit.cli.batch import BatchFailed
    from streamkit.cli.distributed import convert_on_ray

    root, files = recordings
    assert len(files) > 200 and len({p.parent for p in files}) >= 6
    _single_process(recordings, tmp_path / "one", to)
    capsys.readouterr()
    with pytest.raises(BatchFailed) as failed:
        convert_on_ray((str(root),), str(tmp_path / "ray"), to=to, from_=None, jobs=2, address=None, column=None,
                       think_tags=False, options={}, ignore_errors=False)  # fmt: skip
    assert failed.value.exit_code == 65
    assert len(_same_tree(tmp_path / "one", tmp_path / "ray")) == len(files) - 1
    err = capsys.readouterr().err
    assert f"{len(files) - 1} of {len(files)} files converted" in err and "1 failed" in err
    assert f"{root / 'corrupt.sse'}: failed: line 1" in err


@pytest.mark.usefixtures("ray_session")
@pytest.mark.ray
@pytest.mark.xdist_group("ray")
def test_a_dataset_of_recordings_in_and_out(recordings: tuple[Path, list[Path]], tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from streamkit.cli.batch import BatchFailed
    from streamkit.cli.distributed import convert_on_ray

    root, files = recordings
    rows = {"path": [str(p.relative_to(root)) for p in files], "body": [p.read_bytes() for p in files],
            "row": list(range(len(files)))}  # fmt: skip
    pq.write_table(pa.table(rows), tmp_path / "in.parquet", row_group_size=50)

    with pytest.raises(BatchFailed):
        convert_on_ray((str(tmp_path / "in.parquet"),), str(tmp_path / "out.parquet"), to=None, from_=None, jobs=2,
                       address=None, column="body", think_tags=False, options={}, ignore_errors=False)  # fmt: skip
    table = pq.read_table(tmp_path / "out.parquet").sort_by("row")
    assert table.num_rows == len(files) and "body" not in table.column_names
    by_path = {r["path"]: r for r in table.to_pylist()}
    bad = by_path.pop("corrupt.sse")
    assert bad["exit_code"] == 65 and "line 1" in bad["error"] and bad["messages"] is None
    assert all(r["exit_code"] in (0, 1) for r in by_path.values())
    for path in list(by_path)[::25]:  # the messages are what convert_bytes accumulates
        expected = convert_bytes((root / path).read_bytes(), to=None, keep="messages")
        row = by_path[path]
        assert json.loads(row["messages"]) == orjson.loads(orjson.dumps(list(expected.events)))
        assert (row["dialect"], row["model"], row["finish_reason"]) == (
            expected.dialect, expected.model, expected.finish_reason)  # fmt: skip
    assert {r["dialect"] for r in by_path.values()} >= {"anthropic", "gemini", "ollama", "openai-chat"}

    # the same dataset as JSONL (text recordings only: JSON holds no bytes), named rows -> one file each
    text = [i for i, p in enumerate(files) if p.parent.name != "bedrock"]
    with open(tmp_path / "in.jsonl", "wb") as f:
        for i in text:
            f.write(orjson.dumps({"path": rows["path"][i], "body": rows["body"][i].decode()}) + b"\n")
    with pytest.raises(BatchFailed):
        convert_on_ray((str(tmp_path / "in.jsonl"),), str(tmp_path / "files"), to="gemini", from_=None, jobs=2,
                       address=None, column="body", think_tags=False, options={}, ignore_errors=False)  # fmt: skip
    for i in text[::20]:
        if rows["path"][i] == "corrupt.sse":
            continue
        target = (tmp_path / "files" / rows["path"][i]).with_suffix(".sse")
        assert target.read_bytes() == convert_bytes(rows["body"][i], to="gemini").output
    assert not (tmp_path / "files" / "corrupt.sse").exists()


@pytest.mark.ray
@pytest.mark.xdist_group("ray")
def test_the_cli_runs_on_its_own_local_ray_or_joins_a_cluster(
    ray_session: Any, recordings: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    root, files = recordings
    _single_process(recordings, tmp_path / "one", "ollama")
    env = {**os.environ, "RAY_ADDRESS": ""}  # a Ray of its own, not the test's
    args = ["convert", "--engine", "ray", "-j", "2", "--to", "ollama", "-o", str(tmp_path / "ray"), str(root)]
    proc = subprocess.run([str(STREAMKIT), *args], capture_output=True, env=env, timeout=300)
    assert proc.returncode == 65, proc.stderr[-2000:]
    err = proc.stderr.decode()
    assert "starting a local Ray with 2 CPUs" in err and f"{root / 'corrupt.sse'}: failed" in err
    assert "Traceback" not in err and proc.stdout == b""
    assert len(_same_tree(tmp_path / "one", tmp_path / "ray")) == len(files) - 1

    # the test's own Ray, joined by its address (a second local Ray would cost as much again)
    address = ray_session.get_runtime_context().gcs_address
    jsonl = tmp_path / "messages.jsonl"
    args = ["convert", "--engine", "ray", "--address", address, "--ignore-errors", "-o", str(jsonl),
            str(root / "gemini"), str(root / "anthropic")]  # fmt: skip
    proc = subprocess.run([str(STREAMKIT), *args], capture_output=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"joining the Ray cluster at {address}" in proc.stderr.decode()
    rows = [orjson.loads(line) for part in sorted(jsonl.iterdir()) for line in part.read_bytes().splitlines()]
    assert len(rows) == len([p for p in files if p.parent.name in ("gemini", "anthropic")])
    assert {r["dialect"] for r in rows} == {"gemini", "anthropic"} and all(r["output"] is None for r in rows)
