"""Messages a new user meets: each says what is wrong and what to do, with the right exit code."""

from __future__ import annotations

import types

import pytest

from streamkit.cli import main
from streamkit.dialects.base import Dialect
from streamkit.hookspecs import hookimpl
from streamkit.plugins import Registry, get_plugin_manager, set_default_registry

from .conftest import run_cli


class ReadOnly(Dialect):
    """A dialect that normalizes and encodes but builds no request (no build_request)."""

    name = "read-only"
    description = "a dialect with no requests"


def _registry_with_read_only() -> Registry:
    pm = get_plugin_manager(load_entry_points=False)
    pm.register(types.SimpleNamespace(register_dialects=hookimpl(lambda register: register(ReadOnly()))))
    return Registry(pm)


@pytest.mark.parametrize(
    "args",
    [
        ["fetch", "-d", "read-only", "-m", "x", "Hi"],
        ["fetch", "-d", "read-only", "--base-url", "http://127.0.0.1:9", "-m", "x", "Hi"],
        ["agent", "-d", "read-only", "-m", "x", "Hi"],
        ["serve", "--upstream", "read-only"],
    ],
)
def test_a_dialect_that_makes_no_requests_says_so_not_that_a_url_is_missing(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    set_default_registry(_registry_with_read_only())
    with pytest.raises(SystemExit) as exit:
        main(args)
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert err == (
        f"streamkit {args[0]}: the read-only dialect makes no requests: streamkit reads and writes its "
        "streams (fetch --replay FILE, convert, render -f read-only) but does not call its API\n"
    )


def test_every_built_in_dialect_makes_requests() -> None:
    registry = Registry(get_plugin_manager(load_entry_points=False))
    assert all(d.makes_requests for d in registry.dialects().values())
    assert not ReadOnly().makes_requests


@pytest.mark.parametrize(
    ("text", "line", "shown"),
    [
        (b"hello world\n", 1, "hello world"),
        (b"\n\nplain text, not a recording\nmore\n", 3, "plain text, not a recording"),
        (b"<html><body>Bad gateway</body></html>", 1, "<html><body>Bad gateway</body></html>"),
    ],
)
def test_plain_text_given_to_convert_is_bad_input_not_an_empty_success(
    text: bytes, line: int, shown: str
) -> None:
    expected = (
        f"line {line}: not a recording: expected SSE, NDJSON, a JSON array or AWS event-stream frames, "
        f"got {shown!r}\n"
    )
    for args in (["convert", "--to", "text"], ["fetch", "--replay", "-"]):
        result = run_cli(*args, input=text)
        assert (result.returncode, result.stdout) == (65, b""), args
        assert result.stderr.decode() == f"streamkit {args[0]}: {expected}"


@pytest.mark.parametrize(
    "text", [b"", b"\n\n", b": keep-alive\n\n", b"event: ping\n\n", b"id: 7\nretry: 10\n\n"]
)
def test_an_sse_recording_with_no_event_is_still_an_empty_stream(text: bytes) -> None:
    result = run_cli("convert", "--to", "text", input=text)
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")


def test_convert_names_the_pipeline_that_keeps_raw_events_not_an_option_it_lacks() -> None:
    recording = (
        b'data: {"id":"c","object":"chat.completion.chunk","model":"m","choices":[{"index":0,'
        b'"delta":{"content":"hi"},"finish_reason":null}]}\n\n'
        b"data: not json at all\n\n"
        b"data: [DONE]\n\n"
    )
    result = run_cli("convert", "--to", "text", input=recording)
    assert (result.returncode, result.stdout) == (0, b"hi\n")
    assert result.stderr.decode() == (
        "streamkit convert: warning: 1 openai-chat event with no canonical meaning (chunk); "
        "fetch --replay FILE | normalize --keep-raw keeps them\n"
    )
    assert b"--keep-raw" not in run_cli("convert", "--help").stdout  # the option it does not have
    piped = run_cli("normalize", input=run_cli("fetch", "--replay", "-", input=recording).stdout)
    assert piped.stderr.decode().endswith("(chunk); --keep-raw keeps them\n")
