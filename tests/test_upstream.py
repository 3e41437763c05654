"""Talking to a hostile upstream (:mod:`tests.hostile`): what fetch writes when the server misbehaves."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import pytest

from tests.conftest import STREAMKIT, ndjson, run_cli
from tests.hostile import hostile

SECRET = "sk-streamkit-echoed-SECRET-9191"
#: the dialects that make requests, and the variable each reads its key from
KEY_VARIABLES = {
    "openai-chat": "OPENAI_API_KEY",
    "openai-responses": "OPENAI_API_KEY",
    "openai-assistants": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "gemini": "GEMINI_API_KEY",
    "ollama": "STREAMKIT_API_KEY",
}


@pytest.mark.parametrize("dialect", sorted(KEY_VARIABLES))
def test_a_key_the_upstream_echoes_is_redacted_everywhere(dialect: str) -> None:
    with hostile("echo-key") as url:
        result = run_cli("fetch", "-d", dialect, "--base-url", url, "-m", "m", "--retries", "0", "hi",
                         env={KEY_VARIABLES[dialect]: SECRET})  # fmt: skip
    assert result.returncode == 1
    assert SECRET.encode() not in result.stdout + result.stderr
    (error,) = [e for e in ndjson(result.stdout) if e["type"] == "error"]
    assert error["status"] == 401 and "[redacted]" in error["message"]


def test_a_key_an_upstream_echoes_into_its_stream_reaches_no_event_or_recording(tmp_path) -> None:
    """The key straddles two reads of the body: StreamRedactor holds the first piece back."""
    record = tmp_path / "recording.sse"
    with hostile("echo-key-in-stream") as url:
        result = run_cli("fetch", "-d", "openai-chat", "--base-url", url, "-m", "m", "--record", str(record), "hi",
                         env={"OPENAI_API_KEY": SECRET})  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert SECRET.encode() not in result.stdout + result.stderr + record.read_bytes()
    assert b"your key is [redacted]" in record.read_bytes()
    replayed = run_cli("fetch", "--replay", str(record)).stdout
    assert replayed.count(b'"type":"raw"') == result.stdout.count(b'"type":"raw"') == 2
    text = run_cli("render", input=run_cli("normalize", input=result.stdout).stdout).stdout
    assert text == b"your key is [redacted]\n"


def test_a_key_a_message_quotes_escaped_is_redacted_too() -> None:
    """httpx refuses a header holding a line break by quoting its bytes, escaped: that quote of the
    key is redacted as the key itself is (the commands refuse such a key first: test_endpoints)."""
    from streamkit.dialects.base import Request
    from streamkit.upstream import Fetch

    key = "sk-first-SECRET\nsk-second-SECRET"
    with hostile("fine") as url:
        request = Request(f"{url}/v1/chat/completions", {"model": "m", "messages": []},
                          headers={"Authorization": f"Bearer {key}"})  # fmt: skip
        events = list(Fetch(request, dialect="openai-chat", retries=0))
    (error,) = [e for e in events if e["type"] == "error"]
    assert "[redacted]" in error["message"] and "SECRET" not in error["message"], error


#: behaviour -> (retried?, what the error says); every one: an error event, exit 1, no traceback
FAULTS = {
    "stall-before-headers": (True, "sent no answer within 1 s"),
    "close-before-headers": (True, "did not answer with HTTP"),
    "not-http": (True, "did not answer with HTTP"),
    "oversized-header": (True, "did not answer with HTTP"),
    "reset": (True, "failed before answering ([Errno 104] Connection reset by peer)"),
    "html-200": (False, "answered with an HTML page"),
    "empty-200": (False, "answered with an empty body"),
    "redirect": (False, "answered with a redirect (HTTP 302) to https://login.example/"),
    "binary-garbage": (False, "sent what is not sse"),
    "corrupt-gzip": (False, "cannot be decoded"),
    "keep-alive-forever": (False, "did not finish within 3 s (--timeout)"),
    "trickle": (False, "did not finish within 3 s (--timeout)"),
    "retry-after-forever": (False, "it asks to retry after 100000 s; streamkit waits at most 60 s"),
}


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_a_faulty_upstream_is_an_error_event_and_exit_1(name: str) -> None:
    import time

    from tests.hostile import counts

    retried, says = FAULTS[name]
    began = time.monotonic()
    with hostile(name) as url, tempfile.TemporaryFile() as out:
        # stdout to a file, as `fetch ... > answer.ndjson`: fetch says the error itself (down a
        # pipe it leaves that to the reader: tests/cli/test_outcome.py)
        result = subprocess.run([str(STREAMKIT), "fetch", "--base-url", url, "-m", "m", "--retries", "1",
                                 "--read-timeout", "1", "--timeout", "3", "hi"], stdout=out, stderr=subprocess.PIPE,
                                env={**os.environ, "OPENAI_API_KEY": SECRET}, timeout=60)  # fmt: skip
        out.seek(0)
        stdout = out.read()
    assert time.monotonic() - began < 15
    assert result.returncode == 1, result.stderr
    assert b"Traceback" not in result.stderr and b"internal error" not in result.stderr
    events = ndjson(stdout)
    assert events[-1]["type"] == "error" and says in events[-1]["message"], events[-1]
    lines = result.stderr.decode().splitlines()
    assert all(line.startswith("streamkit fetch: ") for line in lines) and says in lines[-1]
    assert sum(says in line for line in lines) == 1  # said once
    assert counts[name] == (2 if retried else 1)
    if name in ("binary-garbage",):
        assert [e["type"] for e in events] == ["raw", "error"]  # the good event before the garbage came out


@pytest.mark.parametrize(
    ("name", "says"),
    [("flood", "sent 64 MiB without completing an event"), ("endless-error", "HTTP 500")],
)
def test_an_upstream_that_floods_is_cut_off_with_bounded_memory(name: str, says: str) -> None:
    """An event that never ends, or an error body that never ends: fetch reads a bounded part of
    it (MAX_EVENT_BYTES, MAX_ERROR_BODY), says so in one error event and exits 1, where it once
    held all of it (the hostile server sends up to 200 MiB)."""
    from streamkit.upstream import MAX_EVENT_BYTES

    with hostile(name) as url, tempfile.TemporaryFile() as out:
        result = subprocess.run([sys.executable, "-c", _PEAK, "fetch", "--base-url", url, "-m", "m", "--retries",
                                 "0", "hi"], stdout=out, stderr=subprocess.PIPE,
                                env={**os.environ, "OPENAI_API_KEY": SECRET}, timeout=60)  # fmt: skip
        out.seek(0)
        events = ndjson(out.read())
    assert result.returncode == 1, result.stderr
    assert b"Traceback" not in result.stderr
    (error,) = events
    assert error["type"] == "error" and says in f"HTTP {error.get('status')}: {error['message']}", error
    peak = int(result.stderr.decode().rsplit("peak ", 1)[1])  # KiB, from _PEAK
    assert peak * 1024 < 3 * MAX_EVENT_BYTES, peak  # the event's bytes and their joining, not 200 MiB


#: runs the CLI and prints its peak memory (KiB) on stderr as it exits: the kernel's VmHWM, which
#: starts afresh at exec (ru_maxrss would count the forking parent's memory: a pytest worker's)
_PEAK = """
import atexit, sys
def peak():
    status = open("/proc/self/status").read()
    print("peak", status.split("VmHWM:")[1].split()[0], file=sys.stderr)
atexit.register(peak)
from streamkit.cli import main
sys.argv[0] = "streamkit"
main()
"""


def test_a_websocket_upstream_deaf_to_the_close_frame_holds_fetch_for_a_second_at_most() -> None:
    """The answer is written when it ends; the close handshake after it waits at most
    ``CLOSE_TIMEOUT`` (websockets' own default would hold the exit for 10 s)."""
    import time

    from streamkit.upstream_websocket import CLOSE_TIMEOUT

    began = time.monotonic()
    with hostile("deaf-to-close") as url:
        result = run_cli("fetch", "-d", "openai-responses", "--transport", "websocket", "--base-url", url,
                         "-m", "m", "hi", env={"OPENAI_API_KEY": SECRET})  # fmt: skip
    took = time.monotonic() - began
    assert result.returncode == 0, result.stderr
    assert [e["data"]["type"] for e in ndjson(result.stdout)] == ["response.completed"]
    assert CLOSE_TIMEOUT <= took < CLOSE_TIMEOUT + 5, took


def test_a_gzip_answer_the_request_did_not_ask_for_is_read() -> None:
    with hostile("gzip-unasked") as url:
        result = run_cli("fetch", "--base-url", url, "-m", "m", "hi", env={"OPENAI_API_KEY": SECRET})
    assert result.returncode == 0
    assert [e["type"] for e in ndjson(result.stdout)] == ["raw"]


def test_plain_http_without_a_proxy_gets_a_context_that_trusts_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No CA bundle is loaded for plain HTTP, and what is given instead could verify no certificate."""
    from streamkit.upstream import PROXY_VARIABLES, tls_options

    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    context = tls_options("http://127.0.0.1:8000/v1")["verify"]
    assert context.verify_mode.name == "CERT_REQUIRED" and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] == 0
    assert tls_options("https://api.example.com/v1") == {}  # httpx's own verified default
    monkeypatch.setenv("HTTPS_PROXY", "https://proxy.example:3128")
    assert tls_options("http://127.0.0.1:8000/v1") == {}  # a proxy may be reached over TLS


def test_the_command_line_leaves_httpx_s_own_cli_unimported() -> None:
    """httpx imports its own command line (click, rich, pygments) unless told not to; streamkit's
    process never runs it, so httpx imported after the command starts comes without it."""
    code = (
        "import sys; from streamkit.cli import main\n"
        "try:\n    main(['dialects'])\nexcept SystemExit:\n    pass\n"
        "import httpx; print(sys.modules.get('httpx._main') is None, 'httpx._main' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert result.stdout.strip().splitlines()[-1] == b"True True", result.stderr


def test_the_retry_jitter_leaves_the_random_module_s_state_alone() -> None:
    """An application's seeded ``random`` (or hypothesis, which fails a test whose state moved)
    is not disturbed by streamkit retrying in the background."""
    import random

    from streamkit.upstream import backoff

    random.seed(7)
    state = random.getstate()
    waits = {backoff(3, None) for _ in range(20)}
    assert random.getstate() == state
    assert len(waits) > 1 and all(0 <= w <= 2.0 for w in waits)  # full jitter up to 0.5 * 2**2
    assert backoff(3, 4.5) == 4.5  # Retry-After, as given


def test_a_provider_message_is_cut_at_max_message() -> None:
    from streamkit.upstream import MAX_MESSAGE, provider_error

    long = "why " * 5000
    message, code = provider_error(b'{"error": {"message": "%s", "code": "x"}}' % long.encode(), 400)
    assert len(message) == MAX_MESSAGE and message.endswith("…") and long.startswith(message[:-1])
    assert code == "x"
    assert provider_error(b'{"error": {"message": "short"}}', 400)[0] == "short"


def test_a_websocket_message_over_the_bound_ends_the_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    """The WebSocket transport has the same bound as HTTP: a message past it closes the
    connection (1009) and the stream ends with an error event."""
    import streamkit.upstream as upstream
    import streamkit.upstream_websocket as upstream_websocket
    from streamkit.conversation import from_prompt
    from streamkit.endpoints import resolve
    from streamkit.plugins import default_registry
    from streamkit.testing import serving
    from tests.conftest import ROOT

    # the first event, response.created, is larger
    monkeypatch.setattr(upstream_websocket, "MAX_EVENT_BYTES", 200)
    dialect = default_registry().dialect("openai-responses")
    recording = ROOT / "tests" / "data" / "openai-responses" / "annotations.sse"
    with serving("-d", "openai-responses", "--replay", str(recording)) as url:
        request = dialect.build_request(from_prompt("hi"), resolve(dialect, base_url=url, model="m"))
        events = list(
            upstream.open_stream(request, dialect="openai-responses", transport="websocket", read_timeout=5)
        )
    assert [e["type"] for e in events] == ["error"]
    assert "closed mid-stream" in events[0]["message"] and "1009" in events[0]["message"], events[0]


#: upstreams that fail a WebSocket's handshake, and whether fetch tries again
HANDSHAKE_FAULTS = {"close-before-headers": True, "reset": True, "not-http": True, "html-200": False}


@pytest.mark.parametrize("name", sorted(HANDSHAKE_FAULTS))
def test_a_websocket_handshake_that_fails_is_said_once_and_retried_where_http_would_be(name: str) -> None:
    """``fetch --transport websocket`` against an upstream that hangs up on the handshake, resets
    it, answers what is not HTTP or an HTML page: exit 1 with one line saying the WebSocket is not
    available, never an internal error (a reset during the handshake was one: ConnectionClosedError);
    what got no HTTP answer is tried again, as an HTTP request would be (it failed at once before)."""
    from tests.hostile import counts

    with hostile(name) as url:
        result = run_cli("fetch", "-d", "openai-responses", "--transport", "websocket", "--base-url", url,
                         "-m", "m", "--retries", "1", "hi", env={"OPENAI_API_KEY": SECRET})  # fmt: skip
    assert result.returncode == 1, result.stderr
    (line,) = result.stderr.decode().splitlines()
    assert line.startswith("streamkit fetch: the WebSocket transport is not available at "), line
    assert SECRET not in line and "internal error" not in line
    assert counts[name] == (2 if HANDSHAKE_FAULTS[name] else 1)
