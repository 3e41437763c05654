"""fetch against a real local server (``streamkit serve``) over loopback HTTP, as real processes.

Every fault the server can inject, asserted on the events written, the exit code, and that
nothing received was lost; retries and their backoff; no retry once the body has begun; the API
key nowhere in what fetch writes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import orjson
import pytest

from streamkit.testing import assert_serve_replays, serving

from .conftest import DATA, STREAMKIT, ndjson, run_cli, shared_recordings

CHAT = DATA / "openai-chat"
SECRET = "sk-streamkit-test-SECRET-4242"


def fetch(url: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    return run_cli(
        "fetch", "--base-url", url, "-m", "test-model", *args, env={"OPENAI_API_KEY": SECRET, **(env or {})}
    )


def without_t(events: list[dict]) -> list[dict]:
    return [{k: v for k, v in e.items() if k != "t"} for e in events]


def test_fetch_from_serve_replay_equals_fetch_replay() -> None:
    assert_serve_replays("openai-chat", sorted(CHAT.glob("*.sse")), env={"OPENAI_API_KEY": SECRET})


def test_fetch_from_serve_replay_equals_fetch_replay_for_the_shared_recordings() -> None:
    recordings = shared_recordings("openai-chat", "mistral")
    assert_serve_replays("openai-chat", recordings, env={"OPENAI_API_KEY": SECRET})


def test_a_scripted_tool_loop_turn_and_the_request_log(tmp_path: Path) -> None:
    script = tmp_path / "turns.json"
    script.write_text('[{"tool_calls": [{"name": "add", "input": {"a": 1, "b": 2}}]}, {"text": "Three."}]')
    tools = tmp_path / "tools.toml"
    tools.write_text(
        '[[tools]]\nname = "add"\ndescription = "Add two numbers"\nparameters = {type = "object", properties = {a = {type = "number"}, b = {type = "number"}}}\n'
    )
    log = tmp_path / "requests.ndjson"
    with serving("-d", "openai-chat", "--script", str(script), "--log-requests", str(log)) as url:
        first = fetch(url, "What is 1+2?", "--tools", str(tools), "-o", "temperature=0", "-s", "Be brief.")
        conversation = {"messages": [{"role": "user", "content": "again"}], "model": "from-conversation"}
        second = run_cli(
            "fetch", "--base-url", url, input=orjson.dumps(conversation), env={"OPENAI_API_KEY": SECRET}
        )
    calls = [e for e in ndjson(run_cli("normalize", input=first.stdout).stdout) if e["type"] == "tool-call"]
    assert [(c["tool_name"], c["input"]) for c in calls] == [("add", {"a": 1, "b": 2})]
    assert b"Three." in run_cli("render", input=run_cli("normalize", input=second.stdout).stdout).stdout
    bodies = ndjson(log.read_bytes())
    assert bodies[0]["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is 1+2?"},
    ]
    assert bodies[0]["tools"][0]["function"]["name"] == "add" and bodies[0]["temperature"] == 0
    assert bodies[0]["stream"] is True and bodies[0]["stream_options"] == {"include_usage": True}
    assert bodies[1]["model"] == "from-conversation"


def test_retries_honour_retry_after_then_succeed(tmp_path: Path) -> None:
    log = tmp_path / "log.ndjson"
    with serving("-d", "openai-chat", "--replay", str(CHAT / "usage-chunk.sse"), "--fail-status", "429", "--fail-times", "2",
                 "--retry-after", "0.3", "--log-requests", str(log)) as url:  # fmt: skip
        began = time.monotonic()
        result = fetch(url, "hi", "--retries", "2")
        elapsed = time.monotonic() - began
    assert result.returncode == 0, result.stderr
    assert len(ndjson(log.read_bytes())) == 3  # two refused, the third served
    assert elapsed >= 0.6  # both Retry-After waits were honoured
    assert [e["type"] for e in ndjson(result.stdout)][-1] == "raw"


@pytest.mark.parametrize(
    ("status", "retries", "requests", "retryable"), [(429, 1, 2, True), (503, 0, 1, True), (400, 3, 1, False)]
)
def test_an_error_status_becomes_an_error_event_and_exit_1(
    tmp_path: Path, status: int, retries: int, requests: int, retryable: bool
) -> None:
    log = tmp_path / "log.ndjson"
    with serving("-d", "openai-chat", "--replay", str(CHAT / "usage-chunk.sse"), "--fail-status", str(status), "--fail-times", "9",
                 "--retry-after", "0", "--log-requests", str(log)) as url:  # fmt: skip
        result = fetch(url, "hi", "--retries", str(retries))
    assert result.returncode == 1
    (error,) = ndjson(result.stdout)
    assert (error["type"], error["status"], error["retryable"]) == ("error", status, retryable)
    assert error["message"] == f"injected failure {status}"  # the provider's own message
    assert len(ndjson(log.read_bytes())) == requests
    # stdout is a pipe here: the error event's reader says it (tests/cli/test_outcome.py)
    assert result.stderr == b""


def test_a_dropped_connection_keeps_what_came_and_is_not_retried(tmp_path: Path) -> None:
    log = tmp_path / "log.ndjson"
    with serving(
        "-d",
        "openai-chat",
        "--replay",
        str(CHAT / "usage-chunk.sse"),
        "--drop-after",
        "3",
        "--log-requests",
        str(log),
    ) as url:
        result = fetch(url, "hi", "--retries", "3")
    assert result.returncode == 1
    events = ndjson(result.stdout)
    assert [e["type"] for e in events] == ["raw", "raw", "raw", "error"]
    assert events[-1]["retryable"] is True and "closed mid-stream" in events[-1]["message"]
    assert len(ndjson(log.read_bytes())) == 1  # no retry after the first byte
    canonical = ndjson(
        run_cli("accumulate", "--final", input=run_cli("normalize", input=result.stdout).stdout).stdout
    )
    assert [p["text"] for m in canonical if m["type"] == "message" for p in m["content"]] == ["Hello, world"]


def test_a_stall_past_the_read_timeout(tmp_path: Path) -> None:
    with serving("-d", "openai-chat", "--replay", str(CHAT / "usage-chunk.sse"), "--stall-after", "2") as url:
        began = time.monotonic()
        result = fetch(url, "hi", "--read-timeout", "0.5")
        elapsed = time.monotonic() - began
    assert result.returncode == 1
    events = ndjson(result.stdout)
    assert [e["type"] for e in events] == ["raw", "raw", "error"]
    assert events[-1]["retryable"] is True and "stalled" in events[-1]["message"]
    assert 0.5 <= elapsed < 10


def test_connection_refused_is_retried_then_fails() -> None:
    began = time.monotonic()
    result = fetch("http://127.0.0.1:9", "hi", "--retries", "2")
    assert result.returncode == 1
    (error,) = ndjson(result.stdout)
    assert error["retryable"] is True and error["message"].startswith(
        "cannot connect to http://127.0.0.1:9/chat/completions"
    )
    assert time.monotonic() - began < 10


def test_record_writes_the_exact_bytes_and_replays_to_the_same_events(tmp_path: Path) -> None:
    recording = CHAT / "reasoning-details.sse"
    record = tmp_path / "rec.sse"
    with serving("-d", "openai-chat", "--replay", str(recording)) as url:
        live = fetch(url, "hi", "--record", str(record))
    replayed = run_cli("fetch", "--replay", str(record), "-d", "openai-chat")
    assert without_t(ndjson(live.stdout)) == ndjson(replayed.stdout)
    assert record.read_bytes().startswith(b"data: {")


def test_realtime_replay_keeps_the_recorded_timing(tmp_path: Path) -> None:
    events = [
        {"type": "raw", "dialect": "openai-chat", "event": None, "data": "x", "t": t} for t in (0.0, 0.3, 0.6)
    ]
    path = tmp_path / "timed.ndjson"
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    began = time.monotonic()
    result = run_cli("fetch", "--replay", str(path), "--realtime")
    assert time.monotonic() - began >= 0.6
    assert ndjson(result.stdout) == events


def test_the_key_never_appears_in_what_fetch_writes(tmp_path: Path) -> None:
    record = tmp_path / "rec.sse"
    outputs = []
    with serving(
        "-d",
        "openai-chat",
        "--replay",
        str(CHAT / "usage-chunk.sse"),
        "--fail-status",
        "401",
        "--fail-times",
        "1",
    ) as url:
        outputs.append(fetch(url, "hi"))  # an error
        outputs.append(fetch(url, "hi", "--record", str(record)))  # a success
    outputs.append(fetch("http://127.0.0.1:9", "hi", "--retries", "0"))  # connection refused
    key_file = tmp_path / "key"
    key_file.write_text(SECRET + "\n")
    outputs.append(
        run_cli(
            "fetch",
            "--base-url",
            "http://127.0.0.1:9",
            "--key-file",
            str(key_file),
            "-m",
            "m",
            "hi",
            "--retries",
            "0",
        )
    )
    outputs.append(run_cli("fetch", "--key-file", str(tmp_path / "missing"), "-m", "m", "hi"))
    for result in outputs:
        assert SECRET.encode() not in result.stdout + result.stderr
    assert SECRET.encode() not in record.read_bytes()


def test_request_mistakes_are_usage_errors(tmp_path: Path) -> None:
    bad = tmp_path / "conv.json"
    bad.write_text('{"messages": [{"role": "robot", "content": "hi"}]}')
    cases = [
        (["fetch", "--conversation", str(bad), "-m", "m"], b"messages[0]: 'role' must be one of"),
        (["fetch", "hi"], b"no model: pass -m MODEL"),
        (["fetch", "-d", "klingon", "hi"], b"unknown dialect 'klingon'"),
        (["fetch", "hi", "--body", str(bad)], b"give one of PROMPT, --conversation FILE or --body FILE"),
        (["fetch", "-m", "m", "hi", "--tools", str(tmp_path / "none.toml")], b"cannot read tools file"),
    ]
    env = {k: "" for k in ("STREAMKIT_MODEL", "OPENAI_API_KEY")}
    for args, needle in cases:
        result = run_cli(*args, env=env)
        assert result.returncode == 2, (args, result.stderr)
        assert needle in result.stderr and b"Traceback" not in result.stderr


def test_serve_usage_errors_and_ctrl_c() -> None:
    assert run_cli("serve", "-d", "openai-chat").returncode == 2
    assert b"cannot read script" in run_cli("serve", "-d", "openai-chat", "--script", "/no/such").stderr
    proc = subprocess.Popen([str(STREAMKIT), "serve", "-d", "openai-chat", "--replay", str(CHAT / "n2.sse"), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    with proc:
        assert proc.stdout is not None and proc.stdout.readline().startswith(b"http://127.0.0.1:")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 130
        assert b"Traceback" not in (proc.stderr.read() if proc.stderr else b"")


def test_keys_from_the_environment_reach_the_server_only_as_a_header(tmp_path: Path) -> None:
    """The key goes in the Authorization header, never in the body the server logs."""
    log = tmp_path / "log.ndjson"
    with serving(
        "-d", "openai-chat", "--replay", str(CHAT / "usage-chunk.sse"), "--log-requests", str(log)
    ) as url:
        assert fetch(url, "hi").returncode == 0
    assert SECRET.encode() not in log.read_bytes()
    assert os.environ.get("OPENAI_API_KEY") != SECRET


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("localhost", "http://localhost:11434"),
        ("0.0.0.0:8080", "http://0.0.0.0:8080"),
        ("https://ollama.example", "https://ollama.example"),
    ],
)
def test_ollama_host_as_the_ollama_client_reads_it(host: str, url: str) -> None:
    from streamkit.endpoints import resolve
    from streamkit.plugins import default_registry

    assert resolve(default_registry().dialect("ollama"), env={"OLLAMA_HOST": host}).base_url == url


def test_ctrl_c_during_a_live_request_exits_130_with_what_came() -> None:
    with serving("-d", "openai-chat", "--replay", str(CHAT / "usage-chunk.sse"), "--stall-after", "2") as url, subprocess.Popen(
        [str(STREAMKIT), "fetch", "--base-url", url, "-m", "m", "hi"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "OPENAI_API_KEY": SECRET},
    ) as proc:  # fmt: skip
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.readline() + proc.stdout.readline()  # both events, then the stall
        assert [e["type"] for e in ndjson(first)] == ["raw", "raw"]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 130
        rest = proc.stdout.read()
        assert b"Traceback" not in proc.stderr.read()
    assert len(ndjson(first + rest)) == 2  # what came before the stall, and nothing made up after it


@pytest.mark.parametrize("transport", ["http", "websocket"])
def test_tls_trusts_ssl_cert_file_and_says_at_once_what_no_retry_mends(transport: str, pki: Path) -> None:
    """A server whose certificate this machine does not trust, or that does not speak TLS, is
    refused the same way every time: said as such and not retried (it was "cannot connect",
    retryable); SSL_CERT_FILE trusts a private CA, as OpenSSL and httpx read it."""
    args = ["-m", "m", "--retries", "3", "hi"]
    if transport == "websocket":
        args = ["-d", "openai-responses", "--transport", "websocket", *args]
    env = {"OPENAI_API_KEY": "sk-test"}
    with serving("--script", str(pki / "script.json"), "--ssl-certfile", str(pki / "both.pem")) as url:
        refused = run_cli("fetch", "--base-url", f"{url}/v1", *args, env=env)
        trusted = run_cli(
            "fetch", "--base-url", f"{url}/v1", *args, env={**env, "SSL_CERT_FILE": str(pki / "ca.pem")}
        )
    untrusted = (
        "its certificate is not trusted (unable to get local issuer certificate); to trust a private CA, "
        "set SSL_CERT_FILE to the CA's certificate (PEM)"
    )
    assert refused.returncode == 1
    if transport == "http":  # (the error event says it, and stderr when stdout is not a pipe)
        (error,) = ndjson(refused.stdout)
        assert untrusted in error["message"] and error["retryable"] is False
    else:
        assert untrusted in refused.stderr.decode()
    assert trusted.returncode == 0 and b"over tls" in trusted.stdout
    with serving("--script", str(pki / "script.json")) as url:  # plain HTTP, asked for over TLS
        plain = run_cli("fetch", "--base-url", url.replace("http://", "https://") + "/v1", *args, env=env)
    assert plain.returncode == 1
    assert "it does not speak TLS (is its URL http://?)" in (plain.stdout + plain.stderr).decode()
