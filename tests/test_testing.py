"""streamkit.testing, the pytest plugin for plugin authors: its registry, stage runner, golden
assertions, order rules and the real `serve --script` fixture."""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path

import orjson
import pytest

from streamkit import Format, hookimpl
from streamkit._entrypoints import entry_points
from streamkit.testing import (
    assert_golden,
    assert_serve_replays,
    check_order,
    events_of,
    golden_cases,
    registry,
    run_stage,
    serving,
)

from .conftest import DATA, ROOT, STREAMKIT

HAIKU = ROOT / "examples" / "haiku.sse"


class Upper(Format):
    name = "upper"
    description = "the text in capitals"

    def render(self, events, **options):
        for event in events:
            if event.get("type") == "text-delta":
                yield event["delta"].upper().encode()


UPPER = types.SimpleNamespace(register_formats=hookimpl(lambda register: register(Upper())))


def test_registry_holds_the_built_ins_and_the_plugins_named_only() -> None:
    plain = registry()
    assert "openai-chat" in plain.dialect_entries() and "rich" not in plain.format_entries()
    rich = registry("rich")  # by entry-point name
    assert rich.format_entries()["rich"].plugin == "rich" and "cohere" not in rich.dialect_entries()
    assert "rich" in registry("streamkit-rich").format_entries()  # by distribution name
    own = registry(UPPER)  # a plugin being written: a module or object with hookimpls
    assert own.format_entries()["upper"].plugin != "streamkit.formats"
    bare = registry(UPPER, builtins=False)
    assert set(bare.format_entries()) == {"upper"} and not bare.dialect_entries()
    with pytest.raises(LookupError, match="no installed streamkit plugin is called 'nope'"):
        registry("nope")


def test_the_registry_fixture_is_the_default_for_the_test(streamkit_registry) -> None:
    reg = streamkit_registry(UPPER)
    from streamkit.plugins import default_registry

    assert default_registry() is reg
    assert run_stage("convert", HAIKU, to="upper").startswith(b"BYTES FLOW")


def test_run_stage_runs_each_stage() -> None:
    raw = run_stage("replay", HAIKU)
    assert raw[0]["type"] == "raw" and len(raw) > 10
    events = run_stage("normalize", raw, dialect="openai-chat")
    assert events[0]["type"] == "start" and events[-1]["type"] == "finish"
    (message,) = run_stage("accumulate", events, final=True)
    assert message["content"][-1]["text"].startswith("Bytes flow line by line")
    assert run_stage("render", events).decode().startswith("Bytes flow line by line")
    assert run_stage("render", events, format="upper", registry=registry(UPPER)).startswith(b"BYTES")
    assert run_stage("convert", HAIKU, to="text") == run_stage("render", events)
    assert events_of(HAIKU)[-1] == message
    assert run_stage(lambda evs, n: list(evs)[:n], events, n=2) == events[:2]  # any generator function


def test_run_stage_runs_tools_from_entries() -> None:
    call = {"type": "tool-call", "tool_call_id": "c1", "tool_name": "shout", "arguments": '{"w": "hi"}'}
    tools = [{"name": "shout", "executor": "shell", "command": [sys.executable, "-c",
              "import json, sys; print(json.load(sys.stdin)['w'].upper())"]}]  # fmt: skip
    out = run_stage("run-tools", [call], tools=tools)
    assert out[0] == call
    assert (out[1]["type"], out[1]["output"].strip(), out[1]["is_error"]) == ("tool-result", "HI", False)


def test_golden_cases_and_assertions(tmp_path: Path) -> None:
    (tmp_path / "hello.sse").write_bytes(HAIKU.read_bytes())
    (tmp_path / "notes.txt").write_text("not a case")
    cases = golden_cases(tmp_path, "sse")
    assert [c.id for c in cases] == ["hello"]
    case = cases[0].values[0]
    with pytest.raises(pytest.fail.Exception, match=r"hello.expected.ndjson is missing"):
        assert_golden(case)
    expected = b"".join(orjson.dumps(e) + b"\n" for e in events_of(case))
    (tmp_path / "hello.expected.ndjson").write_bytes(expected)
    assert assert_golden(case)[-1]["type"] == "message"
    (tmp_path / "hello.expected.ndjson").write_bytes(expected.replace(b"line by line", b"bit by bit", 1))
    with pytest.raises(pytest.fail.Exception, match=r"hello.sse: event \d+ differs"):
        assert_golden(case)


@pytest.mark.parametrize("case", golden_cases(DATA / "anthropic", "sse")[:5])
def test_the_project_s_own_cases_pass_the_golden_assertion(case: Path) -> None:
    assert_golden(case)


def test_check_order() -> None:
    start, finish = {"type": "start", "id": "r"}, {"type": "finish", "finish_reason": "stop"}

    def block(kind: str, id: str, *parts: str) -> list[dict]:
        return [{"type": f"{kind}-{p}", "id": id, **({"delta": "x"} if p == "delta" else {})} for p in parts]

    good = [start, *block("text", "t", "start", "delta", "end"), finish]
    assert check_order(good) == []
    interleaved = [start, *block("tool-input", "a", "start"), *block("tool-input", "b", "start", "delta"),
                   *block("tool-input", "a", "delta", "end"), *block("tool-input", "b", "end"),
                   {"type": "tool-call", "tool_call_id": "a"}, finish]  # fmt: skip
    assert check_order(interleaved) == []
    assert check_order([*good, *good]) == []  # responses one after another
    cut = [start, *block("text", "t", "start", "delta"), {"type": "error", "message": "gone"}, finish]
    assert check_order(cut) == []  # a stream broken off may leave blocks open
    assert check_order([*block("text", "t", "start"), finish]) == [
        "event 1 (text-start 't'): outside a response (no start before it)",
        "event 2 (finish): outside a response (no start before it)",
        "event 2 (finish): blocks still open: t",
    ]
    assert check_order([start, *block("text", "t", "delta"), finish]) == [
        "event 2 (text-delta 't'): no text-start before it"
    ]
    assert check_order([start, *block("text", "t", "start", "delta"), finish]) == [
        "event 4 (finish): blocks still open: t"
    ]
    early = [start, *block("tool-input", "a", "start"), {"type": "tool-call", "tool_call_id": "a"}]
    assert check_order(early) == ["event 3 (tool-call): before its tool-input-end"]
    assert check_order([start, start]) == [
        "event 2 (start 'r'): a start before the previous response's finish"
    ]


def test_the_serve_fixture_answers_an_official_sdk_over_loopback(streamkit_serve) -> None:
    anthropic = pytest.importorskip("anthropic")
    served = streamkit_serve([{"text": "Hello from the script."}], dialect="anthropic")
    assert served.url.startswith("http://127.0.0.1:")
    client = anthropic.Anthropic(base_url=served.url, api_key="unused", max_retries=0, timeout=30)
    with client.messages.stream(
        model="m", max_tokens=64, messages=[{"role": "user", "content": "Hi"}]
    ) as stream:
        text = "".join(stream.text_stream)
    assert text == "Hello from the script."
    (body,) = served.requests()
    assert body["messages"] == [{"role": "user", "content": "Hi"}]


def test_the_serve_fixture_fails_the_test_when_serve_cannot_start(streamkit_serve) -> None:
    with pytest.raises(
        pytest.fail.Exception, match="streamkit serve did not start: .*unknown dialect 'klingon'"
    ):
        streamkit_serve([{"text": "x"}], dialect="klingon")


def _serve_threads() -> list[str]:
    import threading

    return [t.name for t in threading.enumerate() if t.name == "streamkit-serve"]


@pytest.mark.parametrize("process", [None, True], ids=["in-process", "process"])
def test_serving_answers_over_loopback_in_a_thread_or_a_process(process: bool | None, tmp_path: Path) -> None:
    import httpx

    script, log = tmp_path / "script.json", tmp_path / "log.ndjson"
    script.write_bytes(orjson.dumps([{"text": "Hi there."}]))
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    with serving(
        "-d", "openai-chat", "--script", str(script), "--log-requests", str(log), process=process
    ) as url:
        answer = httpx.post(f"{url}/v1/chat/completions", json=body, timeout=30).json()
        threads = _serve_threads()
    assert answer["choices"][0]["message"]["content"] == "Hi there."
    assert threads == (["streamkit-serve"] if process is None else [])
    assert _serve_threads() == []  # stopped with the block
    assert [r["messages"] for r in map(orjson.loads, log.read_bytes().splitlines())] == [body["messages"]]


def test_serving_refuses_what_serve_refuses() -> None:
    from streamkit.errors import UsageError

    with (
        pytest.raises(UsageError, match="pass one of --replay"),
        serving("-d", "openai-chat", "--script", "x", "--replay", "y"),
    ):
        pass


def test_assert_serve_replays_names_the_recordings_that_come_back_different() -> None:
    other = DATA / "anthropic" / "text.sse"  # served to a Chat client: converted, so not the same
    same = DATA / "openai-chat" / "annotations.sse"
    with pytest.raises(AssertionError) as failed:
        assert_serve_replays("openai-chat", [other, same], env={"OPENAI_API_KEY": "sk-test-1234"})
    assert "text.sse" in str(failed.value) and "annotations" not in str(failed.value)
    assert_serve_replays("openai-chat", [same, same], env={"OPENAI_API_KEY": "sk-test-1234"})


def test_importing_it_costs_no_stage() -> None:
    code = "import sys, streamkit.testing; print(sorted(m for m in ('httpx', 'pydantic', 'streamkit.stages.normalize') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "[]", result.stderr


def test_pytest_loads_it_from_its_entry_point(tmp_path: Path) -> None:
    """Wherever streamkit is installed, a plugin's tests get the fixtures without naming them."""
    if not any(ep.value == "streamkit.testing" for ep in entry_points("pytest11")):
        pytest.skip("this streamkit was installed before its pytest11 entry point: make test reinstalls it")
    (tmp_path / "test_uses_it.py").write_text(
        "def test_fixtures(streamkit_registry, streamkit_serve):\n"
        "    assert 'text' in streamkit_registry().format_entries()\n"
    )
    env = {**os.environ, "PATH": f"{STREAMKIT.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("PYTEST_ADDOPTS", None)
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                            cwd=tmp_path, capture_output=True, env=env, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stdout.decode()[-2000:]
    assert b"1 passed" in result.stdout
