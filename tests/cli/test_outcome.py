"""Exit codes a script can trust: a stage that writes or renders a stream ending in an error event
exits 1 (``--ignore-errors``: 0), and the message appears once in a pipeline; render and convert
flush stdout before each stderr note. Real processes, real pipes, a real ``streamkit serve``."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from ..conftest import DATA, sh
from ..test_fetch_live import serving

OVERLOADED = DATA / "anthropic" / "error-overloaded.sse"
TEXT = DATA / "anthropic" / "text.sse"


def statuses(script: str) -> tuple[list[int], str]:
    """Run a bash pipeline; return every stage's exit status and stderr."""
    result = sh(f"bash -c {shlex.quote(script + '; echo ${PIPESTATUS[@]} >&2')}")
    *lines, codes = result.stderr.decode().rstrip("\n").split("\n")
    return [int(c) for c in codes.split()], "\n".join(lines)


def test_an_upstream_error_fails_every_stage_and_is_said_once() -> None:
    with serving(
        "-d", "openai-chat", "--replay", str(TEXT), "--fail-status", "500", "--fail-times", "9"
    ) as url:
        fetch = f"streamkit fetch --base-url {url}/v1 -m m --retries 0 hi"
        codes, err = statuses(f"{fetch} | streamkit normalize | streamkit accumulate | streamkit render")
        assert codes == [1, 1, 1, 1]
        assert err == "streamkit render: error: HTTP 500: injected failure 500 (server_error)"
        codes, err = statuses(
            f"{fetch} --ignore-errors | streamkit normalize --ignore-errors | streamkit render --ignore-errors"
        )
        assert codes == [0, 0, 0]
        assert err.count("injected failure 500") == 1  # still said, by the stage that shows the stream


def test_a_stage_writing_to_a_file_says_it_itself(tmp_path: Path) -> None:
    out = tmp_path / "raw.ndjson"
    with serving(
        "-d", "openai-chat", "--replay", str(TEXT), "--fail-status", "503", "--fail-times", "9"
    ) as url:
        codes, err = statuses(f"streamkit fetch --base-url {url}/v1 -m m --retries 0 hi > {out}")
    assert codes == [1]
    assert err == "streamkit fetch: HTTP 503: injected failure 503"
    assert b'"type":"error"' in out.read_bytes()


def test_an_in_stream_error_fails_the_pipeline_and_convert() -> None:
    stages = f"streamkit fetch --replay {OVERLOADED} | streamkit normalize | streamkit accumulate"
    codes, err = statuses(f"{stages} | streamkit render >/dev/null")
    assert codes == [0, 1, 1, 1]  # fetch's stream is fine: the upstream's own error event is data to it
    assert err == "streamkit render: error: Overloaded (overloaded_error)"
    codes, err = statuses(f"streamkit convert --to text {OVERLOADED} >/dev/null")
    assert (codes, err) == ([1], "streamkit convert: error: Overloaded (overloaded_error)")
    codes, err = statuses(f"streamkit convert --to openai-chat {OVERLOADED} >/dev/null")
    assert (codes, err) == ([1], "streamkit convert: Overloaded")  # the wire format has no stderr of its own
    codes, err = statuses(f"streamkit convert --to openai-chat {OVERLOADED} | cat >/dev/null")
    assert (codes, err) == ([1, 0], "")  # in-band, to the reader of the pipe
    codes, _ = statuses(f"streamkit convert --ignore-errors --to openai-chat {OVERLOADED} >/dev/null")
    assert codes == [0]


@pytest.mark.parametrize("stage", ["normalize", "accumulate", "render -f ndjson"])
def test_a_later_response_supersedes_an_error_and_bad_input_passed_on_does_not_count(stage: str) -> None:
    error = '{"type":"error","message":"boom"}'
    retried = '{"type":"start","id":"r2"}\\n{"type":"finish","finish_reason":"stop"}'
    codes, _ = statuses(f"printf '{error}\\n{retried}\\n' | streamkit {stage} >/dev/null")
    assert codes == [0, 0]
    codes, _ = statuses(
        f'printf \'oops\\n{{"type":"start"}}\\n\' | streamkit {stage} --on-error pass >/dev/null'
    )
    assert codes == [0, 0]
    codes, err = statuses(f"printf '{retried}\\n{error}\\n' | streamkit {stage} >/dev/null")
    assert codes == [0, 1]
    assert err.endswith("boom")


def test_notes_come_after_the_text_before_them() -> None:
    """stdout and stderr into one pipe: the tool-call note follows the text that preceded it."""
    for command in (
        "streamkit convert --to text {}",
        "streamkit fetch --replay {} | streamkit normalize | streamkit render",
    ):
        result = sh(command.format(DATA / "anthropic" / "tool-use.sse") + " 2>&1 | cat")
        assert result.stdout.decode().startswith("I'll look up the weather in Oslo.\nstreamkit "), (
            result.stdout
        )
        assert b': [tool call] get_weather({"city": "Oslo"' in result.stdout
