"""normalize on a live pipe: what it loads while the first line is still on its way.

Behind a ``fetch`` waiting for its upstream, ``normalize``'s first read waits. Before that read it
makes msgspec's decoder and the forced dialect's normalizer (or loads the dialects detection
needs), so that the first event is not held back by imports when its line comes. These tests run
the command's loop on a real pipe in a thread, and the command itself in a real process.
"""

from __future__ import annotations

import io
import os
import subprocess
import threading
import time
import types
from pathlib import Path
from typing import Any

import orjson
import pytest

from streamkit.dialects.base import Normalizer
from streamkit.errors import DataError
from streamkit.hookspecs import hookimpl
from streamkit.ndjson import EventWriter, read_events
from streamkit.plugins import Registry
from streamkit.stages.normalize import write_normalized

from ..conftest import STREAMKIT, say_dialect

LINES = [
    b'{"type":"raw","dialect":"ahead","event":null,"data":{"say":"a"}}\n',
    b'{"type":"raw","dialect":"ahead","event":null,"data":{"say":"b"}}\n',
]


def _registry(made: list[float], fail: bool = False) -> Registry:
    """A registry with one plugin dialect, ``ahead``, whose normalizers note when each was made
    (``made``), write a text delta a line and a finish at the end; with ``fail``, none can be made."""

    class Ahead(Normalizer):
        def __init__(self) -> None:
            if fail:
                raise DataError("ahead: no normalizer today")
            made.append(time.monotonic())

        def feed(self, data: Any, event: str | None = None) -> list[dict[str, Any]]:
            return [{"type": "text-delta", "id": "t", "delta": data["say"]}]

        def close(self) -> list[dict[str, Any]]:
            return [{"type": "finish", "finish_reason": "stop"}]

    return say_dialect("ahead", Ahead, "notes when its normalizers are made")


def _run(source: Any, registry: Registry, **options: Any) -> tuple[bytes, str | None]:
    reader = read_events(source, check=True, unchecked="raw")
    out = io.BytesIO()
    try:
        write_normalized(
            reader, EventWriter(out, reader.pending), lambda ev: None, registry=registry, **options
        )
    except DataError as exc:
        return out.getvalue(), str(exc)
    return out.getvalue(), None


def _on_a_pipe(
    registry: Registry, lines: list[bytes], before: Any, **options: Any
) -> tuple[bytes, str | None]:
    """The loop reading a real pipe in a thread: ``before()`` runs once the loop waits for its
    first line, which is written after it, then the rest."""
    read_end, write_end = os.pipe()
    result: list[tuple[bytes, str | None]] = []
    with open(read_end, "rb") as pipe, open(write_end, "wb", buffering=0) as feed:
        thread = threading.Thread(target=lambda: result.append(_run(pipe, registry, **options)))
        thread.start()
        before()
        for line in lines:
            feed.write(line)
            time.sleep(0.01)
        feed.close()
        thread.join(10)
    assert not thread.is_alive()
    return result[0]


def _wait_for(made: list[float]) -> None:
    deadline = time.monotonic() + 10
    while not made and time.monotonic() < deadline:
        time.sleep(0.01)


def test_the_forced_dialect_s_normalizer_is_made_before_the_first_line_comes_and_used() -> None:
    made: list[float] = []
    registry = _registry(made)
    written: list[float] = []

    def before() -> None:
        _wait_for(made)
        written.append(time.monotonic())

    out, error = _on_a_pipe(registry, LINES, before, dialect="ahead")
    assert error is None
    assert len(made) == 1 and made[0] < written[0]  # made while waiting, and the only one
    # what the loop writes reading a file of the same lines
    assert out == _run(io.BytesIO(b"".join(LINES)), _registry([]), dialect="ahead")[0]
    assert [orjson.loads(line)["type"] for line in out.splitlines()] == ["text-delta", "text-delta", "finish"]


def test_input_already_there_is_read_at_once_and_the_normalizer_made_for_it() -> None:
    made: list[float] = []
    read_end, write_end = os.pipe()
    os.write(write_end, b"".join(LINES))
    os.close(write_end)
    with open(read_end, "rb") as pipe:
        out, error = _run(pipe, _registry(made), dialect="ahead")
    assert error is None and len(made) == 1 and out.count(b"\n") == 3


def test_a_live_pipe_that_ends_with_no_line_writes_nothing() -> None:
    """The normalizer made ahead is not the stream's until a line comes: its finish is not written."""
    made: list[float] = []
    out, error = _on_a_pipe(_registry(made), [], lambda: _wait_for(made), dialect="ahead")
    assert len(made) == 1 and (out, error) == (b"", None)


def test_a_normalizer_that_cannot_be_made_fails_on_the_first_line_as_from_a_file() -> None:
    from_file = _run(io.BytesIO(b"".join(LINES)), _registry([], fail=True), dialect="ahead")
    on_pipe = _on_a_pipe(_registry([], fail=True), LINES, lambda: time.sleep(0.2), dialect="ahead")
    assert on_pipe == from_file
    assert from_file[1] is not None and "no normalizer today" in from_file[1]


def test_with_no_dialect_forced_the_dialects_are_loaded_before_the_first_line() -> None:
    registry = _registry([])
    loaded: list[float] = []
    dialects = registry.dialects

    def noting() -> Any:
        loaded.append(time.monotonic())
        return dialects()

    registry.dialects = noting  # type: ignore[method-assign]
    written: list[float] = []

    def before() -> None:
        _wait_for(loaded)
        written.append(time.monotonic())

    out, error = _on_a_pipe(registry, LINES, before)
    assert error is None and loaded and loaded[0] < written[0]
    assert out == _run(io.BytesIO(b"".join(LINES)), _registry([]))[0]


@pytest.mark.parametrize("args", [["-d", "openai-chat"], []], ids=["forced", "detected"])
def test_the_command_on_a_live_pipe_writes_what_it_writes_from_a_file(args: list[str]) -> None:
    """A real process whose input comes late, line by line, against the same lines from a file."""
    path = Path(__file__).parents[1] / "data" / "openai-chat"
    from streamkit.stages.fetch import replay

    recording = next(p for p in sorted(path.glob("*.sse")) if not p.name.endswith(".expected.ndjson"))
    lines = [
        orjson.dumps(e) + b"\n" for e in replay(io.BytesIO(recording.read_bytes()), dialect="openai-chat")
    ]
    from_file = subprocess.run([STREAMKIT, "normalize", *args], input=b"".join(lines), capture_output=True,
                               timeout=60)  # fmt: skip
    proc = subprocess.Popen([STREAMKIT, "normalize", *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)  # fmt: skip
    assert proc.stdin is not None
    time.sleep(0.5)  # started, waiting for its first line
    for line in lines:
        proc.stdin.write(line)
        proc.stdin.flush()
    out, err = proc.communicate(timeout=60)
    assert (proc.returncode, out, err) == (from_file.returncode, from_file.stdout, from_file.stderr)
    assert from_file.returncode == 0 and out.count(b"\n") >= len(lines) // 2


def test_a_plugin_dialect_that_cannot_be_loaded_breaks_nothing_it_did_not_break_before() -> None:
    """Loading every dialect ahead meets a broken plugin; lines that name their dialect never
    needed it, and are normalized as from a file."""
    from streamkit.dialects.base import LazyDialect

    def with_broken() -> Registry:
        made = _registry([])
        made.pm.register(types.SimpleNamespace(register_dialects=hookimpl(
            lambda register: register(LazyDialect("broken", "streamkit_no_such_module:Broken"))
        )))  # fmt: skip
        return made

    from_file = _run(io.BytesIO(b"".join(LINES)), with_broken())
    on_pipe = _on_a_pipe(with_broken(), LINES, lambda: time.sleep(0.3))
    assert on_pipe == from_file and from_file[1] is None and from_file[0].count(b"\n") == 3
