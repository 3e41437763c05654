"""convert: a recording → another format in one process; bad input fails after the good."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

import pytest

from streamkit.stages.convert import convert

from ..conftest import DATA, ndjson, run_cli
from .test_fetch import BROKEN, Broken, _check_failed_run, run_in_pieces, until_error


def _needs_dialect(case: Broken) -> None:
    if case.dialect == "bedrock" and importlib.util.find_spec("streamkit_bedrock") is None:
        pytest.skip("the bedrock plugin is not installed")


def _deltas(events: list[dict]) -> list[str]:
    return [e["delta"] for e in events if e["type"] == "text-delta"]


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_the_good_records_before_a_bad_one_are_converted_first(name: str) -> None:
    case = BROKEN[name]
    _needs_dialect(case)
    chunks, error = until_error(convert(io.BytesIO(case.good + case.bad), to="ndjson"))
    assert _deltas(ndjson(b"".join(chunks))) == ["a", "b"]
    assert error.exit_code == 65


@pytest.mark.parametrize("name", sorted(BROKEN))
@pytest.mark.parametrize("how", ["file", "pipe"])
def test_cli_convert_writes_the_good_records_then_fails(name: str, how: str, tmp_path: Path) -> None:
    case = BROKEN[name]
    _needs_dialect(case)
    path = tmp_path / "good"
    path.write_bytes(case.good)
    whole = run_cli("convert", "--to", "ndjson", str(path))  # the good part alone, ended cleanly
    assert whole.returncode == 0, whole.stderr
    if how == "file":  # read in one chunk
        path.write_bytes(case.good + case.bad)
        result = run_cli("convert", "--to", "ndjson", str(path))
        code, out, err = result.returncode, result.stdout, result.stderr
    else:  # the good records are converted and written before the bad one arrives
        events = ndjson(whole.stdout)
        lines = max(i for i, e in enumerate(events) if e["type"] == "text-delta") + 1  # up to "b"
        code, out, err = run_in_pieces(["convert", "--to", "ndjson", "-"], case.good, case.bad, lines)
    assert _deltas(ndjson(out)) == ["a", "b"]
    assert whole.stdout.startswith(out)
    _check_failed_run(code, out, err, "convert", case)


@pytest.mark.parametrize("to", ["anthropic", "gemini", "ollama", "openai-chat", "openai-assistants"])
def test_a_provider_approval_request_a_dialect_cannot_carry_is_counted_as_dropped(
    to: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """An OpenAI Responses MCP approval request has no counterpart elsewhere: said, not lost."""
    with open(DATA / "openai-responses" / "mcp-approval.sse", "rb") as source:
        b"".join(convert(source, to=to))
    err = capsys.readouterr().err
    assert f"{to} cannot express the provider's tool approval requests (1); dropped" in err
