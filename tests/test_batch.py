"""streamkit.batch: one recording's bytes in, its conversion or its failure out, as values."""

from __future__ import annotations

import pickle
import re
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from streamkit.batch import Converted, convert_bytes, convert_file, extension_of, plan
from streamkit.errors import UsageError

from .conftest import DATA, run_cli

TOOL_USE = DATA / "anthropic" / "tool-use.sse"
OVERLOADED = DATA / "anthropic" / "error-overloaded.sse"


def _undated(output: bytes) -> bytes:
    """Chat chunks carry ``created``: the source's time, else the time of the conversion (an
    Anthropic stream has none), which may tick between two conversions."""
    return re.sub(rb'"created":\d+', b'"created":0', output)


def test_the_output_is_what_convert_writes() -> None:
    result = convert_bytes(TOOL_USE.read_bytes(), to="openai-chat", name="tool-use")
    assert (result.ok, result.error) == (True, None)
    written = run_cli("convert", "--to", "openai-chat", str(TOOL_USE)).stdout
    assert b'"created":' in written and _undated(result.output) == _undated(written)
    assert pickle.loads(pickle.dumps(result)) == result


def test_notes_and_warnings_are_captured_not_written(capsys: pytest.CaptureFixture[str]) -> None:
    result = convert_bytes(TOOL_USE.read_bytes(), to="text")
    assert result.output == b"I'll look up the weather in Oslo.\n"
    assert any("[tool call] get_weather" in m for m in result.messages)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    ("data", "code", "reason"),
    [
        (b"hello, this is plain text\n", 65, "not a recording"),
        (b'data: {"nobody": "knows me"}\n\n', 65, "no installed dialect recognizes this stream"),
        (b'{"type":"message_start","message":{}}\n{oops\n', 65, "line 2"),
    ],
)
def test_bad_data_is_a_value_not_an_exception(data: bytes, code: int, reason: str) -> None:
    result = convert_bytes(data, to="openai-chat")
    assert (result.exit_code, result.output) == (code, b"")
    assert result.error is not None and reason in result.error


def test_an_unknown_format_is_a_usage_error_value() -> None:
    result = convert_bytes(TOOL_USE.read_bytes(), to="klingon")
    assert result.exit_code == 2 and "klingon" in (result.error or "")


def test_a_stream_ending_in_an_error_keeps_its_output() -> None:
    result = convert_bytes(OVERLOADED.read_bytes(), to="anthropic")
    assert result.stream_error and result.error == "the stream ends in an error: Overloaded"
    assert b"event: error" in result.output


def test_it_runs_in_worker_processes(tmp_path: Path) -> None:
    with ProcessPoolExecutor(max_workers=2) as pool:
        futures = [
            pool.submit(convert_file, str(TOOL_USE), str(tmp_path / "out.sse"), to="gemini"),
            pool.submit(convert_file, str(tmp_path / "missing.sse"), str(tmp_path / "x.sse"), to="gemini"),
        ]
        results = [f.result(timeout=60) for f in futures]
    ok, missing = results
    assert isinstance(ok, Converted) and ok.ok and ok.path == str(tmp_path / "out.sse") and ok.output == b""
    assert (tmp_path / "out.sse").read_bytes() == run_cli("convert", "--to", "gemini", str(TOOL_USE)).stdout
    assert missing.exit_code == 65 and "cannot read it" in (missing.error or "")
    assert not (tmp_path / "x.sse").exists()


def test_plan_walks_directories_keeps_names_and_refuses_collisions(tmp_path: Path) -> None:
    (tmp_path / "in" / "sub").mkdir(parents=True)
    (tmp_path / "in" / ".hidden").mkdir()
    for name in ("a.sse", "sub/b.ndjson", ".c.sse", ".hidden/d.sse"):
        (tmp_path / "in" / name).write_text("x")
    assert plan([str(tmp_path / "in")], "out", "json") == [
        (str(tmp_path / "in" / "a.sse"), "out/a.json"),
        (str(tmp_path / "in" / "sub" / "b.ndjson"), "out/sub/b.json"),
    ]
    (tmp_path / "a.ndjson").write_text("x")
    with pytest.raises(UsageError, match="would both be written to out/a.json"):
        plan([str(tmp_path / "in"), str(tmp_path / "a.ndjson")], "out", "json")
    with pytest.raises(UsageError, match="no such file"):
        plan([str(tmp_path / "nope")], "out", "json")


def test_extensions_follow_the_target(fresh_registry: object) -> None:
    from streamkit.plugins import default_registry

    registry = default_registry()
    names = {name: extension_of(registry.format(name)) for name in ("text", "ndjson", "json", "anthropic", "gemini", "ollama")}  # fmt: skip
    assert names == {"text": "txt", "ndjson": "ndjson", "json": "json", "anthropic": "sse", "gemini": "sse",
                     "ollama": "ndjson"}  # fmt: skip
