"""The commands as real processes joined by real pipes: output, exit codes, stderr."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time

import orjson
import pytest

from .conftest import DATA, STREAMKIT, ndjson, run_cli, sh

CHAT = DATA / "openai-chat"


def test_the_four_stage_pipeline_prints_the_answer() -> None:
    result = sh(
        f"streamkit fetch --replay {CHAT}/usage-chunk.sse | streamkit normalize | streamkit accumulate | streamkit render"
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, b"Hello, world\n", b"")


def test_python_dash_m_is_the_same_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "streamkit", "convert", "--to", "text", str(CHAT / "reasoning-content.sse")],
        capture_output=True,
    )
    assert (result.returncode, result.stdout) == (0, b"4\n")


def test_render_json_and_accumulate_final() -> None:
    result = sh(f"streamkit convert --to ndjson {CHAT}/parallel-tools.sse | streamkit accumulate --final")
    (message,) = ndjson(result.stdout)
    assert message["type"] == "message" and [p["tool_name"] for p in message["content"]] == ["f", "g", "h"]
    pretty = sh(f"streamkit convert --to json {CHAT}/parallel-tools.sse")
    assert orjson.loads(pretty.stdout) == message


def test_convert_reads_stdin_and_round_trips_through_the_wire_format() -> None:
    result = sh(
        f"streamkit convert --to openai-chat - < {CHAT}/n2.sse | streamkit fetch --replay - | streamkit normalize | streamkit accumulate --final"
    )
    msgs = ndjson(result.stdout)
    assert sorted((m.get("choice", 0), m["content"][0]["text"]) for m in msgs) == [
        (0, "Red apple"),
        (1, "Blue sky and more"),
    ]


def test_text_render_notes_tool_calls_and_errors_on_stderr() -> None:
    result = sh(f"streamkit convert --to text {CHAT}/error-mid-stream.sse")
    assert result.stdout == b"Partial answer\n"
    assert (
        result.stderr
        == b"streamkit convert: error: The server had an error while processing your request. (server_error)\n"
    )
    calls = sh(f"streamkit convert --to text {CHAT}/tool-whole.sse")
    assert b'[tool call] weather({"location": "Oslo"})' in calls.stderr


GOOD = b'{"type":"start","id":"r"}\n{"type":"text-start","id":"t"}\n'


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (
            b'{"type":"text-delta","id":"t","del',
            b"streamkit accumulate: line 3: invalid JSON (unexpected end of data, column 35)\n",
        ),
        (b"this is not json", b"streamkit accumulate: line 3: not JSON\n"),
        (
            b'{"type":"text-delta","id":"t","delta":"\xff\xfe"}',
            b"streamkit accumulate: line 3: invalid UTF-8\n",
        ),
    ],
)
def test_bad_input_writes_what_came_before_then_one_line_and_exit_65(bad: bytes, message: bytes) -> None:
    result = run_cli("accumulate", input=GOOD + bad + b"\n" + b'{"type":"finish","finish_reason":"stop"}\n')
    assert result.returncode == 65
    assert result.stdout == GOOD
    assert result.stderr == message


def test_on_error_skip_and_pass_go_on() -> None:
    data = (
        GOOD
        + b"garbage\n"
        + b'{"type":"text-delta","id":"t","delta":"ok"}\n{"type":"finish","finish_reason":"stop"}\n'
    )
    skipped = run_cli("accumulate", "--final", "--on-error", "skip", input=data)
    assert (
        skipped.returncode == 0 and b"line 3: not JSON" in skipped.stderr and b"(skipped)" in skipped.stderr
    )
    assert ndjson(skipped.stdout)[0]["content"] == [{"type": "text", "text": "ok"}]
    passed = run_cli("accumulate", "--final", "--on-error", "pass", input=data)
    error, message = ndjson(passed.stdout)
    assert (passed.returncode, error["type"], error["line"], error["code"]) == (0, "error", 3, "bad-input")
    assert message["content"] == [{"type": "text", "text": "ok"}]


def test_unknown_event_types_pass_through_every_stage() -> None:
    odd = b'{"type":"x-trace","span":42}\n'
    for command in ("normalize", "accumulate"):
        result = run_cli(command, input=odd)
        assert (result.returncode, result.stdout, result.stderr) == (0, odd, b"")


def test_raw_event_of_an_unknown_dialect() -> None:
    data = b'{"type":"raw","dialect":"openai-chat","event":null,"data":{"object":"chat.completion.chunk","id":"a","model":"m","choices":[{"index":0,"delta":{"content":"x"}}]}}\n'
    data += b'{"type":"raw","dialect":"klingon","event":null,"data":{}}\n'
    result = run_cli("normalize", input=data)
    assert result.returncode == 65
    assert result.stderr.startswith(b"streamkit normalize: line 2: unknown dialect 'klingon' (installed: ")
    assert result.stderr.count(b"\n") == 1
    assert [e["type"] for e in ndjson(result.stdout)] == ["start", "text-start", "text-delta"]


def test_undetectable_stream() -> None:
    result = run_cli(
        "normalize", input=b'{"type":"raw","event":"transcript.text.delta","data":{"delta":"hi"}}\n'
    )
    assert result.returncode == 65
    assert (
        b"no installed dialect recognizes this stream (first event: transcript.text.delta); pass -d DIALECT"
        in result.stderr
    )
    assert result.stderr.count(b"\n") == 1


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["render", "-f", "nope"], b"unknown format 'nope'"),
        (["normalize", "-d", "nope"], b"unknown dialect 'nope'"),
        (
            ["convert", "--to", "text", "/no/such/file"],
            b"cannot read /no/such/file: No such file or directory",
        ),
        (["accumulate", "--bogus"], b"No such option '--bogus'"),
        (["render", "-O", "novalue"], b"expected KEY=VALUE"),
    ],
)
def test_usage_errors_exit_2_without_traceback(args: list[str], needle: bytes) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    assert needle in result.stderr and b"Traceback" not in result.stderr


def test_head_1_ends_quietly(tmp_path) -> None:
    big = tmp_path / "big.ndjson"
    big.write_bytes(b"".join(b'{"type":"text-delta","id":"t","delta":"%d"}\n' % i for i in range(200_000)))
    result = subprocess.run(
        ["bash", "-c", f"{STREAMKIT} accumulate < {big} 2>{tmp_path}/err | head -1; echo ${{PIPESTATUS[0]}}"],
        capture_output=True,
    )  # fmt: skip
    first, status = result.stdout.splitlines()
    assert first == b'{"type":"text-delta","id":"t","delta":"0"}'
    assert status == b"0"
    assert (tmp_path / "err").read_bytes() == b""


class Lines:
    """Lines from a pipe, read without Python-side buffering so that select() tells the truth."""

    def __init__(self, stream) -> None:
        self.fd = stream.fileno()
        self.buf = b""

    def next(self, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            ready, _, _ = select.select([self.fd], [], [], max(0.0, deadline - time.monotonic()))
            assert ready, "no output within the timeout: the event waited in a buffer"
            data = os.read(self.fd, 65536)
            assert data, "the pipe closed"
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return line + b"\n"


def test_a_token_does_not_wait_for_the_next_and_ctrl_c_exits_130() -> None:
    """Through a real three-process pipeline: each delta comes out before the next goes in."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    # bash stands in for the interactive shell: it survives Ctrl-C and reports each stage's status
    script = (
        f"trap : INT; {STREAMKIT} fetch --replay - | {STREAMKIT} normalize | {STREAMKIT} accumulate; "
        'echo "status ${PIPESTATUS[*]}" >&2'
    )
    chunk = b'data: {"id":"c","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"content":"%s"}}]}\n\n'
    with subprocess.Popen(["bash", "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=env, start_new_session=True) as pipeline:  # fmt: skip
        lines = Lines(pipeline.stdout)
        pipeline.stdin.write(chunk % b"one")
        pipeline.stdin.flush()
        got = [orjson.loads(lines.next(10)) for _ in range(3)]
        assert [e["type"] for e in got] == ["start", "text-start", "text-delta"]
        pipeline.stdin.write(chunk % b"two")
        pipeline.stdin.flush()
        assert orjson.loads(lines.next(10))["delta"] == "two"
        # Ctrl-C reaches the whole process group, as from a terminal: every stage exits quietly
        os.killpg(pipeline.pid, signal.SIGINT)
        pipeline.wait(timeout=10)
        assert pipeline.stderr.read() == b"status 130 130 130\n"  # and no traceback


def test_a_read_ending_in_a_line_that_makes_nothing_does_not_hold_back_the_lines_before() -> None:
    """One write of a text delta and a ping: the delta comes out while the stream stays open
    (it used to wait for the next read, as the ping's line, the read's last, made no event)."""
    raw = b'{"type":"raw","dialect":"anthropic","event":"%s","data":%s}\n'
    burst = b"".join([
        raw % (b"message_start", b'{"type":"message_start","message":{"id":"m","model":"c","usage":{}}}'),
        raw % (b"content_block_start", b'{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}'),
        raw % (b"content_block_delta", b'{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}'),
        raw % (b"ping", b'{"type":"ping"}'),
    ])  # fmt: skip
    with subprocess.Popen(
        [str(STREAMKIT), "normalize"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as proc:
        proc.stdin.write(burst)
        proc.stdin.flush()
        lines = Lines(proc.stdout)
        got = [orjson.loads(lines.next(10)) for _ in range(3)]
        assert [e["type"] for e in got] == ["start", "text-start", "text-delta"]
        assert got[2]["delta"] == "Hi"
        proc.stdin.close()
        assert proc.wait(timeout=10) == 0


def test_ctrl_c_flushes_and_exits_130() -> None:
    with subprocess.Popen(
        [str(STREAMKIT), "accumulate"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as proc:
        proc.stdin.write(b'{"type":"text-delta","id":"t","delta":"kept"}\n')
        proc.stdin.flush()
        assert b"kept" in Lines(proc.stdout).next(10)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 130
        assert proc.stderr.read() == b""


def test_schema_and_listings() -> None:
    schema = orjson.loads(run_cli("schema").stdout)
    names = {
        v["properties"]["type"]["const"]
        for v in schema["$defs"].values()
        if "type" in v.get("properties", {}) and "const" in v["properties"]["type"]
    }
    assert {"raw", "start", "text-delta", "tool-call", "finish", "message", "error"} <= names
    dialects = run_cli("dialects")
    assert dialects.returncode == 0 and b"openai-chat" in dialects.stdout
    formats = orjson.loads(run_cli("formats", "--json").stdout)
    assert {"text", "ndjson", "json", "openai-chat"} <= {f["name"] for f in formats}
    plugins = orjson.loads(run_cli("plugins").stdout)
    assert {"streamkit.dialects", "streamkit.formats"} <= {p["name"] for p in plugins}


def test_no_arguments_shows_help() -> None:
    result = run_cli()
    assert b"Usage: streamkit" in result.stdout + result.stderr and b"Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "modules"),
    [
        (["normalize"], []),
        (["render", "-f", "text"], []),
        (["render", "-f", "openai-chat", "-O", "model=m"], ["streamkit.cli.stages"]),
    ],  # normalize and render start without click; render with -O through click, its stages module
)
def test_a_command_imports_its_own_module_and_no_plugin_s_unused_parts(
    args: list[str], modules: list[str]
) -> None:
    """A command loads neither the other commands' modules nor what a plugin needs only when
    used (Bedrock's directions, the MCP executor's futures and logging): start-up time."""
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: print(sorted(m for m in sys.modules if m in WATCHED), file=sys.stderr))\n"
        "WATCHED = {'streamkit.cli.agent', 'streamkit.cli.serve', 'streamkit.cli.fetch', 'streamkit.cli.listing',"
        " 'streamkit.cli.stages', 'streamkit_bedrock.normalize', 'streamkit_bedrock.encode',"
        " 'concurrent.futures', 'logging', 'botocore', 'streamkit_bedrock.request', 'streamkit_cohere.request'}\n"
        "from streamkit.cli import main\n"
        f"main({args!r})\n"
    )
    path = DATA / "openai-chat" / "usage-chunk.sse"
    raws = run_cli("fetch", "--replay", str(path)).stdout
    given = raws if args[0] == "normalize" else run_cli("normalize", input=raws).stdout
    result = subprocess.run([sys.executable, "-c", code], input=given, capture_output=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout
    assert result.stderr.decode().strip().splitlines()[-1] == repr(modules)


def test_every_built_in_command_is_listed_with_its_module() -> None:
    from streamkit.cli.group import BUILTIN, cli

    for module in set(BUILTIN.values()):
        __import__(f"streamkit.cli.{module}")
        defined = {
            name for name, c in cli.commands.items() if c.callback.__module__ == f"streamkit.cli.{module}"
        }
        assert defined == {name for name, m in BUILTIN.items() if m == module}
