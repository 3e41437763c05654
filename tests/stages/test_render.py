"""render: the command's one loop for a dialect's wire format (write_rendered) against the generator."""

from __future__ import annotations

import io
import itertools
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamkit.cli.outcome import Outcome
from streamkit.dialects.base import _Untemplated as no_templates
from streamkit.errors import DataError
from streamkit.formats.dialect import DialectFormat
from streamkit.ndjson import EventWriter, read_events
from streamkit.plugins import default_registry
from streamkit.stages.fetch import replay
from streamkit.stages.normalize import normalize
from streamkit.stages.render import write_rendered

from ..conftest import run_cli
from ..test_ndjson import Trickle

DATA = Path(__file__).parents[1] / "data"
RECORDINGS = sorted(p for p in DATA.glob("*/*") if not p.name.endswith(".expected.ndjson"))
DIALECTS = sorted(default_registry().dialect_entries())

#: lines of every kind the reader and the encoders meet besides a recording's own
ODD = [
    b"not json\n",
    b"\n",
    b"[1]\n",
    b'{ "type" : "x-unknown" , "n" : 123456789012345678901234567890 }\n',
    b'{"type":"text-delta","id":"t","delta":5}\n',  # a wrong type
    b'{"type":"text-delta","id":7,"delta":"x"}\n',
    b'{"type":["text-delta"],"id":"t","delta":"x"}\n',  # (an unhashable type)
    b'{"type":"text-delta","id":"late","delta":"no start"}\n',
    b'{"type":"tool-input-delta","id":"c0","delta":"{"}\n',  # no tool-input-start
    b'{"type":"text-delta","id":"t","delta":"x","delta":"repeated"}\n',
    b'{"type":"tool-call","tool_call_id":"c9","tool_name":"f","arguments":"{"}\n',
    b'{"type":"start","id":"r9","model":"m"}\n',
    b'{"type":"error","message":"bad","code":"bad-input"}\n',
    b'{"type":"error","message":"overloaded"}\n',
]


def _canonical_lines(path: Path) -> list[bytes]:
    with open(path, "rb") as source:
        events = normalize(replay(source, dialect=path.parent.name), dialect=path.parent.name)
        return [orjson.dumps(e) + b"\n" for e in events]


def _both(data: bytes, pieces: list[int], dialect: str | Any, restart: Any, capsys: pytest.CaptureFixture[str],
          on_error: str = "fail") -> list[Any]:  # fmt: skip
    """What the generator and what the command's loop make of the same bytes read in the same
    pieces: (bytes written, the error the stream ends in, the exception, stderr). ``dialect`` is
    a name, or a dialect object (framed as it says)."""
    results = []
    fmt = default_registry().format(dialect) if isinstance(dialect, str) else DialectFormat(dialect)
    for loop in (False, True):
        restart()
        cuts = sorted({0, len(data), *(p % (len(data) + 1) for p in pieces)})
        reader = read_events(Trickle([data[a:b] for a, b in itertools.pairwise(cuts)]), check=True,
                             on_error=on_error)  # type: ignore[arg-type]  # fmt: skip
        out = io.BytesIO()
        writer = EventWriter(out, reader.pending)
        outcome = Outcome(reader)
        raised = None
        try:
            if loop:
                write_rendered(reader, writer, outcome.see, fmt.dialect)
            else:
                for chunk in fmt.render(outcome):
                    writer.write_bytes(chunk)
        except DataError as exc:
            raised = str(exc)
        results.append((out.getvalue(), outcome.error, raised, capsys.readouterr().err))
    return results


@pytest.mark.parametrize("dialect", DIALECTS)
def test_the_command_loop_writes_what_the_generator_does(
    dialect: str, steady: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    for n, path in enumerate(RECORDINGS):
        lines = _canonical_lines(path)
        data = b"".join(lines)
        generator, loop = _both(data, [len(data) // 3, len(data) // 3 + 1], dialect, steady, capsys)
        assert loop == generator, path
        if n % 5 == 0:  # the odd lines, under each way of handling bad input, on a fifth of them
            middle = len(lines) // 2
            for on_error, odd in (("pass", ODD), ("skip", ODD), ("fail", ODD[3:])):
                data = b"".join(lines[:middle] + odd + lines[middle:] + lines)
                generator, loop = _both(data, [], dialect, steady, capsys, on_error=on_error)
                assert loop == generator, (path, on_error)


class _InAnArray:
    """Gemini's encoder, its chunks framed as one JSON array (as Gemini answers without
    ``alt=sse``): no dialect installed frames so, and the loop writes the brackets itself."""

    name = "gemini-array"
    framing = "json-array"

    def encoder(self, **options: Any) -> Any:
        return default_registry().dialect("gemini").encoder(**options)


def test_the_command_loop_frames_a_json_array_as_the_generator_does(
    steady: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    streams = [b"", b'{"type":"x-unknown"}\n', *(b"".join(_canonical_lines(p)) for p in RECORDINGS[::9])]
    for data in streams:
        generator, loop = _both(data, [len(data) // 2], _InAnArray(), steady, capsys)
        assert loop == generator
        assert orjson.loads(loop[0]) is not None  # one JSON array, brackets and commas in place
    assert generator[0].startswith(b"[{")


def test_the_loop_was_compared_on_something() -> None:
    # (a registry or data folder that came up empty would make the test above pass vacuously)
    assert len(RECORDINGS) > 100
    assert {"openai-chat", "openai-responses", "anthropic", "gemini", "ollama"} <= set(DIALECTS)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    picks=st.lists(st.integers(0, 1_000_000), min_size=2, max_size=40),
    pieces=st.lists(st.integers(0, 1_000_000), max_size=6),
    on_error=st.sampled_from(["fail", "skip", "pass"]),
)
def test_the_command_loop_and_the_generator_agree_on_any_mix_of_lines(
    picks: list[int], pieces: list[int], on_error: str, steady: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    path = RECORDINGS[picks[0] % len(RECORDINGS)]
    dialect = DIALECTS[picks[1] % len(DIALECTS)]
    pool = [*_canonical_lines(path), *ODD, b'{"type":"finish","finish_reason":1}\n',
            b'{"type":{},"id":"t","delta":"x"}\n', b'{"type":"text-delta","id":"t0","delta":"d","choice":2}\n']  # fmt: skip
    data = b"".join(pool[p % len(pool)] for p in picks[2:])
    if data:
        generator, loop = _both(data, pieces, dialect, steady, capsys, on_error=on_error)
        assert loop == generator


@pytest.mark.parametrize("dialect", ["gemini", "openai-chat"])
def test_render_to_a_wire_format_keeps_its_exit_codes_and_its_output(dialect: str) -> None:
    lines = _canonical_lines(DATA / "anthropic" / "text.sse")
    good = b"".join(lines)
    # a bad line: everything before it written, one line saying where, exit 65
    bad = run_cli("render", "-f", dialect, input=good[: len(good) // 2].rsplit(b"\n", 1)[0] + b"\n{oops\n")
    assert bad.returncode == 65
    assert bad.stderr.decode().count("\n") == 1 and "line " in bad.stderr.decode()
    assert bad.stdout and b"oops" not in bad.stdout
    # the stream ends in an error event: its frames written, exit 1
    failed = run_cli("render", "-f", dialect, input=good + b'{"type":"error","message":"overloaded"}\n')
    assert failed.returncode == 1 and b"overloaded" in failed.stdout
    # a retry's start supersedes it
    retried = run_cli(
        "render", "-f", dialect, input=good + b'{"type":"error","message":"overloaded"}\n' + good
    )
    assert (retried.returncode, retried.stderr) == (0, b"")


# --- the encoders' templates (Encoder.plain_delta) ----------------------------------------------


class _WithoutTemplates:
    """A dialect whose encoder never offers a template: every delta goes through ``feed``."""

    def __init__(self, name: str) -> None:
        self.dialect = default_registry().dialect(name)
        self.name, self.framing = name, self.dialect.framing

    def encoder(self, **options: Any) -> Any:
        return no_templates(self.dialect.encoder(**options))  # (as a duck-typed encoder is wrapped)


def _timed_and_tagged(lines: list[bytes]) -> list[bytes]:
    """The recording's events, every other one with fetch's ``t``, every third delta with logprobs
    (which Chat, Gemini and Ollama write back) or another dialect's metadata (which none does)."""
    out = []
    for n, line in enumerate(lines):
        event = orjson.loads(line)
        if event["type"].endswith("-delta") and n % 3 == 1:
            event["provider_metadata"] = {"x-other": {"n": n}}
        elif event["type"].endswith("-delta") and n % 3 == 2:
            event["provider_metadata"] = {
                "openai-chat": {"logprobs": [{"token": "a", "logprob": -0.5}]},
                "gemini": {"logprobs_result": {"chosenCandidates": []}},
                "ollama": {"logprobs": [{"token": "a", "logprob": -0.5}]},
            }
        out.append(orjson.dumps({**event, "t": n / 4} if n % 2 else event) + b"\n")
    return out


@pytest.mark.parametrize("dialect", DIALECTS)
def test_the_templates_write_what_the_encoders_do(
    dialect: str, steady: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # the generator and the command's loop, each against the encoder fed every delta
    for path in RECORDINGS:
        lines = _canonical_lines(path)
        for data in (b"".join(lines), b"".join(_timed_and_tagged(lines))):
            reference, _ = _both(data, [], _WithoutTemplates(dialect), steady, capsys)
            generator, loop = _both(data, [len(data) // 2], dialect, steady, capsys)
            assert generator == reference, path
            assert loop == reference, path


def test_bad_input_after_a_template_is_still_bad_input() -> None:
    lines = _canonical_lines(DATA / "anthropic" / "text.sse")
    deltas = [n for n, line in enumerate(lines) if b'"text-delta"' in line]
    assert len(deltas) > 2
    # a delta of the templated block with a field of the wrong type: its metadata, its choice
    for bad in (b'"provider_metadata":5', b'"choice":"one"'):
        at = deltas[-1]
        lines_bad = [*lines[:at], lines[at][:-2] + b"," + bad + b"}\n", *lines[at + 1 :]]
        done = run_cli("render", "-f", "anthropic", input=b"".join(lines_bad))
        assert done.returncode == 65, done.stderr
        assert done.stderr.decode().count("\n") == 1 and f"line {at + 1}" in done.stderr.decode()
        assert done.stdout.count(b"event: content_block_delta") == len(deltas) - 1  # (the ones before it)


class _DuckEncoder:
    """A plugin's encoder written to the duck type (no Encoder base class, so no plain_delta)."""

    def feed(self, event: dict[str, Any]) -> list[Any]:
        return [(None, {"got": event.get("delta")})] if event.get("type") == "text-delta" else []

    def close(self) -> list[Any]:
        return [(None, {"done": True})]


class _DuckDialect:
    name = "duck"
    framing = "ndjson"

    def encoder(self, **options: Any) -> Any:
        return _DuckEncoder()


def test_an_encoder_of_the_duck_type_renders_as_before(
    steady: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    data = b"".join(_canonical_lines(DATA / "anthropic" / "text.sse"))
    generator, loop = _both(data, [], _DuckDialect(), steady, capsys)
    assert loop == generator
    assert generator[0].splitlines()[-1] == b'{"done":true}' and generator[0].count(b'"got"') == 3
