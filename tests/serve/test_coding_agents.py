"""Real coding agents through the gateway (opt-in: ``make test-clients``).

Claude Code (Anthropic Messages), the Codex CLI (the Responses API), the Gemini CLI (Gemini's
``streamGenerateContent``) and OpenCode (Chat Completions, through the Vercel AI SDK), installed
from npm into a cache folder by ``make test-clients``, run headless with dummy keys against
``serve --upstream D`` in front of a scripted upstream of each dialect D; each must finish a tool
loop: the scripted model calls the agent's own tool (Claude Code's ``Write``, Codex's
``exec_command``, the Gemini CLI's ``read_file``, OpenCode's ``write``), the agent runs it, sends
the result back, and ends with the scripted answer. Skipped unless ``STREAMKIT_AGENTS`` names the
folder holding the ``claude``, ``codex``, ``gemini`` and ``opencode`` commands.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import subprocess
import threading
import time
import zlib
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from streamkit.serve.tool_names import fit
from streamkit.testing import serving
from tests.conftest import ndjson
from tests.dialects.continuations import images, results
from tests.serve.conftest import TOKEN
from tests.serve.test_gateway import gateway

AGENTS = os.environ.get("STREAMKIT_AGENTS")
pytestmark = pytest.mark.skipif(
    not AGENTS, reason="coding agents not installed: run `make test-clients` (installs them from npm)"
)
UPSTREAMS = ["openai-chat", "anthropic", "gemini", "ollama", "openai-responses"]
ANSWER = "The file is written."


def _agent_env(home: Path, **extra: str) -> dict[str, str]:
    keep = ("PATH", "LANG", "TERM", "TMPDIR")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(HOME=str(home), DISABLE_TELEMETRY="1", DISABLE_AUTOUPDATER="1", DISABLE_ERROR_REPORTING="1",
               CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1", NO_COLOR="1", **extra)  # fmt: skip
    return env


def _two_files_then_cat(work: Path, write: str, path_key: str, shell: str) -> list[dict[str, Any]]:
    """The script of a three-turn loop in the agent's own tool names: reasoning and two ``write``
    calls at once (the path under ``path_key``), text and a ``shell`` call reading both files,
    then the answer."""
    writes = [{"name": write, "input": {path_key: str(work / f"{n.lower()}.txt"), "content": f"from streamkit {n}\n"}}
              for n in ("A", "B")]  # fmt: skip
    cat = {"name": shell, "input": {"command": "cat a.txt b.txt", "description": "Show both files"}}
    return [{"reasoning": "Both files at once.", "tool_calls": writes},
            {"text": "Checking them.", "tool_calls": [cat]}, {"text": ANSWER}]  # fmt: skip


def _assert_two_files_then_cat(work: Path, log: Path) -> None:
    """The loop of :func:`_two_files_then_cat` ran: both files written, and each turn's results
    went back upstream in its own format (both writes, then what cat read)."""
    assert [(work / n).read_text() for n in ("a.txt", "b.txt")] == [
        "from streamkit A\n",
        "from streamkit B\n",
    ]
    _, second, third = ndjson(log.read_bytes())
    assert "a.txt" in json.dumps(second) and "b.txt" in json.dumps(second)
    assert "from streamkit A\\nfrom streamkit B" in json.dumps(third)


@pytest.mark.parametrize("upstream", UPSTREAMS)
def test_claude_code_finishes_a_tool_loop(upstream: str, tmp_path: Path) -> None:
    """Three turns: reasoning and two calls at once (``Write``, ``Write``), text and a ``Bash`` call
    reading both files, then the answer; each turn's results go back upstream."""
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    script = _two_files_then_cat(work, "Write", "file_path", "Bash")
    with gateway(upstream, tmp_path, script=script) as (url, log):
        result = subprocess.run(
            [f"{AGENTS}/claude", "-p", "Write a.txt and b.txt", "--output-format", "stream-json", "--verbose",
             "--allowedTools", "Write,Bash"],
            cwd=work, capture_output=True, timeout=180,
            env=_agent_env(home, ANTHROPIC_BASE_URL=url, ANTHROPIC_API_KEY="sk-ant-dummy-key"),
        )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    events = ndjson(result.stdout)
    final = events[-1]
    assert final["type"] == "result" and not final["is_error"], final
    assert final["result"] == ANSWER
    _assert_two_files_then_cat(work, log)


def _codex(
    url: str, work: Path, home: Path, prompt: str, websockets: str
) -> subprocess.CompletedProcess[bytes]:
    provider = (
        f'{{name="streamkit", base_url="{url}/v1", wire_api="responses", env_key="STREAMKIT_TEST_KEY", '
        f"supports_websockets={websockets}}}"
    )
    return subprocess.run(
        [f"{AGENTS}/codex", "exec", "--skip-git-repo-check", "-s", "workspace-write", "-c", "model_provider=streamkit",
         "-c", f"model_providers.streamkit={provider}", "-m", "gpt-5-codex", prompt],
        cwd=work, capture_output=True, timeout=180, env=_agent_env(home, STREAMKIT_TEST_KEY="dummy-key"),
    )  # fmt: skip


@pytest.mark.parametrize("transport", ["http", "websocket"])
@pytest.mark.parametrize("upstream", UPSTREAMS)
def test_codex_finishes_a_tool_loop(upstream: str, transport: str, tmp_path: Path) -> None:
    """Over HTTP (SSE), and over the Responses WebSocket (``supports_websockets``), where Codex
    warms up with ``generate: false`` and sends each turn as its new input and the
    ``previous_response_id`` of the turn before, ``store: false``."""
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    script = [{"reasoning": "Both files at once.", "tool_calls": [
                  {"name": "exec_command", "input": {"cmd": "echo from streamkit A > a.txt"}},
                  {"name": "exec_command", "input": {"cmd": "echo from streamkit B > b.txt"}}]},
              {"text": "Checking them.", "tool_calls": [{"name": "exec_command", "input": {"cmd": "cat a.txt b.txt"}}]},
              {"text": ANSWER}]  # fmt: skip
    received = tmp_path / "gateway.ndjson"
    with gateway(upstream, tmp_path, "--log-requests", str(received), script=script) as (url, log):
        websockets = "true" if transport == "websocket" else "false"
        result = _codex(url, work, home, "Write a.txt and b.txt", websockets)
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert [(work / n).read_text() for n in ("a.txt", "b.txt")] == [
        "from streamkit A\n",
        "from streamkit B\n",
    ]
    assert result.stdout.decode().strip().endswith(ANSWER)
    first, second, third = ndjson(log.read_bytes())  # three requests: a warm-up asks nothing of the upstream
    assert "spawn_agent" in json.dumps(first["tools"])  # Codex's sub-agent tools, from their namespace
    assert "a.txt" in json.dumps(second) and "b.txt" in json.dumps(second)  # both calls went back upstream
    assert "from streamkit A\\nfrom streamkit B" in json.dumps(third)  # and what cat read
    assert "Write a.txt and b.txt" in json.dumps(third)  # with the whole conversation
    bodies = ndjson(received.read_bytes())
    if transport == "websocket":
        assert {b.get("type") for b in bodies} == {"response.create"}
        assert any(b.get("generate") is False for b in bodies)
        assert sum("previous_response_id" in b for b in bodies) >= 2
    else:
        assert not any(b.get("type") == "response.create" for b in bodies)


@pytest.mark.parametrize("agent", ["claude", "codex"])
def test_the_agents_reach_a_gateway_over_tls(agent: str, pki: Path, tmp_path: Path) -> None:
    """``serve --ssl-certfile``: Claude Code trusts the test CA through ``NODE_EXTRA_CA_CERTS``,
    Codex through ``SSL_CERT_FILE`` and over the WebSocket (wss://); each finishes its loop."""
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    received = tmp_path / "gateway.ndjson"
    tls = ("--ssl-certfile", str(pki / "both.pem"), "--log-requests", str(received))
    if agent == "claude":
        script = _two_files_then_cat(work, "Write", "file_path", "Bash")
        with gateway("anthropic", tmp_path, *tls, script=script) as (url, log):
            assert url.startswith("https://")
            result = subprocess.run(
                [f"{AGENTS}/claude", "-p", "Write a.txt and b.txt", "--output-format", "stream-json", "--verbose",
                 "--allowedTools", "Write,Bash"],
                cwd=work, capture_output=True, timeout=180,
                env=_agent_env(home, ANTHROPIC_BASE_URL=url, ANTHROPIC_API_KEY="sk-ant-dummy-key",
                               NODE_EXTRA_CA_CERTS=str(pki / "ca.pem")),
            )  # fmt: skip
        assert result.returncode == 0, result.stderr.decode()[-2000:]
        assert ndjson(result.stdout)[-1]["result"] == ANSWER
        _assert_two_files_then_cat(work, log)
        return
    with gateway("openai-chat", tmp_path, *tls, script=[{"text": ANSWER}]) as (url, _):
        provider = (f'{{name="streamkit", base_url="{url}/v1", wire_api="responses", env_key="STREAMKIT_TEST_KEY", '
                    "supports_websockets=true}")  # fmt: skip
        result = subprocess.run(
            [f"{AGENTS}/codex", "exec", "--skip-git-repo-check", "-s", "workspace-write", "-c",
             "model_provider=streamkit", "-c", f"model_providers.streamkit={provider}", "-m", "gpt-5-codex", "hi"],
            cwd=work, capture_output=True, timeout=180,
            env=_agent_env(home, STREAMKIT_TEST_KEY="dummy-key", SSL_CERT_FILE=str(pki / "ca.pem")),
        )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert result.stdout.decode().strip().endswith(ANSWER)
    assert {body.get("type") for body in ndjson(received.read_bytes())} == {
        "response.create"
    }  # (over wss://)


def test_codex_goes_on_when_the_gateway_restarts_between_turns(tmp_path: Path) -> None:
    """Over the WebSocket, with ``store: false``, a connection's responses are its own: a gateway
    restarted between two turns knows none of them. Codex's tool (running while the gateway
    restarts on the same port) ends; Codex opens a new connection and sends the whole conversation
    again, without a ``previous_response_id``, and the loop finishes."""
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    signal = tmp_path / "tool-running"
    command = f"echo hi from streamkit > hello.txt; touch {signal}; sleep 3"
    script = [{"tool_calls": [{"name": "exec_command", "input": {"cmd": command}}]}, {"text": ANSWER}]
    (tmp_path / "script.json").write_text(json.dumps(script))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    before, after = tmp_path / "before.ndjson", tmp_path / "after.ndjson"
    upstream_log = tmp_path / "upstream.ndjson"
    with (
        serving("-d", "openai-chat", "--script", str(tmp_path / "script.json"), "--log-requests", str(upstream_log))
        as up, ExitStack() as first, ExitStack() as second,
    ):  # fmt: skip
        args = ("--upstream", "openai-chat", "--base-url", f"{up}/v1", "--port", port)
        url = first.enter_context(serving(*args, "--log-requests", str(before)))
        restarted: list[str] = []

        def restart() -> None:
            deadline = time.monotonic() + 120
            while not signal.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            first.close()
            restarted.append(second.enter_context(serving(*args, "--log-requests", str(after))))

        watcher = threading.Thread(target=restart)
        watcher.start()
        result = _codex(url, work, home, "Write hello.txt saying hi", "true")
        watcher.join(timeout=60)
    assert restarted == [url]
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert (work / "hello.txt").read_text() == "hi from streamkit\n"
    assert result.stdout.decode().strip().endswith(ANSWER)
    # the first gateway: the warm-up, and the first turn chained to it
    assert [b.get("generate") for b in ndjson(before.read_bytes())] == [False, None]
    # the second: the whole conversation again, chained to nothing it could not know
    resent = ndjson(after.read_bytes())
    assert resent and not any("previous_response_id" in b for b in resent)
    assert "Write hello.txt saying hi" in json.dumps(resent[-1]) and "exec_command" in json.dumps(resent[-1])
    _, second_request = ndjson(upstream_log.read_bytes())
    assert "hi from streamkit" in json.dumps(second_request)  # the tool's call and output went upstream


def _png() -> bytes:
    """A 4x4 red PNG."""
    rows = b"".join(b"\x00" + b"\xff\x00\x00" * 4 for _ in range(4))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("agent", ["claude", "codex"])
@pytest.mark.parametrize("upstream", UPSTREAMS)
def test_an_image_the_agent_read_reaches_the_model_as_an_image(
    agent: str, upstream: str, tmp_path: Path
) -> None:
    """Claude Code's ``Read`` of a picture and Codex's ``view_image`` answer with the image: every
    upstream gets it as an image (tests/dialects/test_tool_result_files.py), not as text."""
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    (work / "red.png").write_bytes(_png())
    name, args = (
        ("Read", {"file_path": str(work / "red.png")})
        if agent == "claude"
        else ("view_image", {"path": str(work / "red.png")})
    )
    script = [{"tool_calls": [{"name": name, "input": args}]}, {"text": ANSWER}]
    with gateway(upstream, tmp_path, script=script) as (url, log):
        if agent == "claude":
            result = subprocess.run(
                [f"{AGENTS}/claude", "-p", "What colour is red.png?", "--allowedTools", "Read"],
                cwd=work, capture_output=True, timeout=180,
                env=_agent_env(home, ANTHROPIC_BASE_URL=url, ANTHROPIC_API_KEY="sk-ant-dummy-key"),
            )  # fmt: skip
        else:
            result = _codex(url, work, home, "What colour is red.png?", "false")
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert result.stdout.decode().strip().endswith(ANSWER)
    _, second = ndjson(log.read_bytes())
    (image,) = images(upstream, second)
    assert base64.b64decode(image).startswith(b"\x89PNG")  # the picture itself
    assert not any(
        isinstance(text, str) and image in text for text, _ in results(upstream, second)
    )  # not as text


@pytest.mark.parametrize(
    "upstream", ["openai-chat", "anthropic"]
)  # (64 characters at most: Gemini takes 128)
def test_claude_codes_long_mcp_tool_names_go_under_fitted_names(
    upstream: str, mcp_url: str, tmp_path: Path
) -> None:
    """Claude Code names an MCP server's tools ``mcp__<server>__<tool>``, here 72 characters: the
    upstream gets a name its API takes, Claude Code its own back, runs the tool on the real MCP
    server, and the result goes upstream (tests/serve/test_tool_names.py has the rule)."""
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    server = "plugin_chrome-devtools-mcp_chrome-devtools-weather-station"
    name = f"mcp__{server}__weather"
    script = [{"tool_calls": [{"name": fit(name), "input": {"city": "Paris"}}]}, {"text": ANSWER}]
    config = {
        "mcpServers": {
            server: {"type": "http", "url": mcp_url, "headers": {"Authorization": f"Bearer {TOKEN}"}}
        }
    }
    with gateway(upstream, tmp_path, script=script) as (url, log):
        result = subprocess.run(
            [f"{AGENTS}/claude", "-p", "Weather in Paris?", "--mcp-config", json.dumps(config), "--strict-mcp-config",
             "--allowedTools", name],
            cwd=work, capture_output=True, timeout=180,
            env=_agent_env(home, ANTHROPIC_BASE_URL=url, ANTHROPIC_API_KEY="sk-ant-dummy-key"),
        )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert result.stdout.decode().strip() == ANSWER
    first, second = ndjson(log.read_bytes())
    assert name not in json.dumps(first) and fit(name) in json.dumps(first)
    assert "It is 18 degrees and sunny in Paris." in json.dumps(second)  # the MCP server's answer


#: a search the upstream's provider ran (serve --script writes it in the upstream's own form)
SEARCH = [
    {"type": "tool-call", "tool_call_id": "ws_1", "tool_name": "web_search", "provider_executed": True,
     "input": {"query": "coral reef news"}},
    {"type": "tool-result", "tool_call_id": "ws_1", "tool_name": "web_search", "provider_executed": True,
     "output": {"sources": [{"type": "url", "url": "https://reefs.example/tahiti"}]}},
    {"type": "text", "text": "A new coral reef was found off Tahiti."},
]  # fmt: skip
#: each upstream's own search, as the gateway declares it
SEARCH_TOOLS = {
    "anthropic": {"type": "web_search_20250305", "name": "web_search", "max_uses": 8},
    "openai-responses": {"type": "web_search"},
    "gemini": {"googleSearch": {}},
}


@pytest.mark.parametrize("upstream", list(SEARCH_TOOLS))
def test_claude_codes_web_search_searches_with_the_upstreams_own_search(
    upstream: str, tmp_path: Path
) -> None:
    """Claude Code's ``WebSearch`` asks the model for Anthropic's search tool, forced: the upstream
    gets its own search, and Claude Code reads the search it ran as Anthropic's, links included."""
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    script = [{"tool_calls": [{"name": "WebSearch", "input": {"query": "coral reef news"}}]}, {"content": SEARCH},
              {"text": ANSWER}]  # fmt: skip
    with gateway(upstream, tmp_path, script=script) as (url, log):
        result = subprocess.run(
            [f"{AGENTS}/claude", "-p", "Any good news about coral reefs?", "--output-format", "stream-json",
             "--verbose", "--allowedTools", "WebSearch"],
            cwd=work, capture_output=True, timeout=180,
            env=_agent_env(home, ANTHROPIC_BASE_URL=url, ANTHROPIC_API_KEY="sk-ant-dummy-key"),
        )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    events = ndjson(result.stdout)
    assert events[-1]["type"] == "result" and events[-1]["result"] == ANSWER
    (found,) = [b["content"] for e in events if e["type"] == "user" for b in e["message"]["content"]
                if b.get("type") == "tool_result"]  # fmt: skip
    assert "https://reefs.example/tahiti" in found and "A new coral reef was found off Tahiti." in found
    _, search, _ = ndjson(log.read_bytes())
    assert search["tools"] == [SEARCH_TOOLS[upstream]]


@pytest.mark.parametrize("upstream", list(SEARCH_TOOLS))
def test_codexs_web_search_searches_with_the_upstreams_own_search(upstream: str, tmp_path: Path) -> None:
    """Codex declares the Responses ``web_search`` tool: the upstream gets its own search beside
    Codex's functions, and Codex shows the search it ran as a ``web_search`` item."""
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    with gateway(upstream, tmp_path, script=[{"content": SEARCH}]) as (url, log):
        provider = (f'{{name="streamkit", base_url="{url}/v1", wire_api="responses", env_key="STREAMKIT_TEST_KEY", '
                    f"supports_websockets=false}}")  # fmt: skip
        result = subprocess.run(
            [f"{AGENTS}/codex", "exec", "--json", "--skip-git-repo-check", "-c", "model_provider=streamkit",
             "-c", f"model_providers.streamkit={provider}", "-c", "tools.web_search=true", "-m", "gpt-5-codex",
             "Search the web for coral reef news"],
            cwd=work, capture_output=True, timeout=180, env=_agent_env(home, STREAMKIT_TEST_KEY="dummy-key"),
        )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    items = [e["item"] for e in ndjson(result.stdout) if e.get("type") == "item.completed"]
    assert [(i["type"], i.get("query")) for i in items if i["type"] == "web_search"] == [
        ("web_search", "coral reef news")
    ]
    assert items[-1] == {
        **items[-1],
        "type": "agent_message",
        "text": "A new coral reef was found off Tahiti.",
    }
    (sent,) = ndjson(log.read_bytes())
    declared = [t for t in sent["tools"] if "googleSearch" in t or "search" in str(t.get("type"))]
    expected = dict(SEARCH_TOOLS[upstream])
    expected.pop("max_uses", None)
    if upstream == "openai-responses":
        expected["external_web_access"] = False  # (Codex's cached search, as Codex sent it)
    assert declared == [expected]


#: the Gemini CLI's settings in its home: an API key (no Google login), no telemetry, no updates
GEMINI_SETTINGS = {"security": {"auth": {"selectedType": "gemini-api-key"}},
                   "privacy": {"usageStatisticsEnabled": False}, "telemetry": {"enabled": False},
                   "general": {"disableAutoUpdate": True, "disableUpdateNag": True}}  # fmt: skip


def _gemini(url: str, work: Path, home: Path, prompt: str) -> subprocess.CompletedProcess[bytes]:
    """The Gemini CLI, headless (``-p``, JSON out), its API at ``url`` (``GOOGLE_GEMINI_BASE_URL``)."""
    (home / ".gemini").mkdir(parents=True, exist_ok=True)
    (home / ".gemini" / "settings.json").write_text(json.dumps(GEMINI_SETTINGS))
    return subprocess.run(
        [f"{AGENTS}/gemini", "-p", prompt, "-o", "json", "--skip-trust", "-m", "gemini-2.5-flash"],
        cwd=work, capture_output=True, timeout=180,
        env=_agent_env(home, GEMINI_API_KEY="dummy-key", GOOGLE_GEMINI_BASE_URL=url),
    )  # fmt: skip


@pytest.mark.parametrize("upstream", UPSTREAMS)
def test_the_gemini_cli_finishes_a_tool_loop(upstream: str, tmp_path: Path) -> None:
    """Three turns: reasoning and two ``read_file`` calls at once, then text and a
    ``list_directory`` call, then the answer; the Gemini CLI runs its own tools (read-only, so
    headless without asking) and each turn's results go back upstream."""
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    (work / "a.txt").write_text("from streamkit A\n")
    (work / "b.txt").write_text("from streamkit B\n")
    script = [{"reasoning": "Both files at once.", "tool_calls": [
                  {"name": "read_file", "input": {"file_path": str(work / "a.txt")}},
                  {"name": "read_file", "input": {"file_path": str(work / "b.txt")}}]},
              {"text": "And what else is there.", "tool_calls": [
                  {"name": "list_directory", "input": {"dir_path": str(work)}}]},
              {"text": ANSWER}]  # fmt: skip
    with gateway(upstream, tmp_path, script=script) as (url, log):
        result = _gemini(url, work, home, "Read a.txt and b.txt")
    assert result.returncode == 0, (result.stdout + result.stderr).decode()[-2000:]
    out = json.loads(result.stdout)
    assert out["response"] == ANSWER
    assert out["stats"]["tools"]["byName"].keys() == {"read_file", "list_directory"}
    assert out["stats"]["tools"]["totalSuccess"] == 3
    _, second, third = ndjson(log.read_bytes())
    assert "from streamkit A" in json.dumps(second) and "from streamkit B" in json.dumps(second)
    assert "a.txt" in json.dumps(third) and "b.txt" in json.dumps(third)  # the directory's listing


@pytest.mark.parametrize("upstream", list(SEARCH_TOOLS))
def test_the_gemini_clis_web_search_searches_with_the_upstreams_own_search(
    upstream: str, tmp_path: Path
) -> None:
    """The Gemini CLI's ``google_web_search`` tool asks the model, in a request of its own, for
    Gemini's ``googleSearch``: the upstream gets its own search, and the CLI lists the pages the
    search found (it reads them from ``groundingMetadata``) in the tool's output."""
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    script = [{"tool_calls": [{"name": "google_web_search", "input": {"query": "coral reef news"}}]},
              {"content": SEARCH}, {"text": ANSWER}]  # fmt: skip
    with gateway(upstream, tmp_path, script=script) as (url, log):
        result = _gemini(url, work, home, "Any good news about coral reefs?")
    assert result.returncode == 0, (result.stdout + result.stderr).decode()[-2000:]
    assert json.loads(result.stdout)["response"] == ANSWER
    _, search, last = ndjson(log.read_bytes())
    expected = dict(SEARCH_TOOLS[upstream])
    expected.pop("max_uses", None)
    assert search["tools"] == [expected]
    said = json.dumps(last)
    assert "A new coral reef was found off Tahiti." in said
    assert "Sources:" in said and "https://reefs.example/tahiti" in said


def _opencode(url: str, work: Path, home: Path, prompt: str) -> subprocess.CompletedProcess[bytes]:
    """OpenCode, headless (``run``, JSON events out), its model a Chat Completions provider (the
    Vercel AI SDK's ``openai-compatible``) at the gateway; ``--title`` spares the title request."""
    provider = {"npm": "@ai-sdk/openai-compatible", "name": "streamkit",
                "options": {"baseURL": f"{url}/v1", "apiKey": "dummy-key"}, "models": {"m": {"name": "m"}}}  # fmt: skip
    config = {"provider": {"streamkit": provider}, "autoupdate": False, "share": "disabled"}
    (work / "opencode.json").write_text(json.dumps(config))
    return subprocess.run(
        [f"{AGENTS}/opencode", "run", "-m", "streamkit/m", "--title", "test", "--format", "json", prompt],
        cwd=work, capture_output=True, timeout=180, env=_agent_env(home),
    )  # fmt: skip


@pytest.mark.parametrize("upstream", UPSTREAMS)
def test_opencode_finishes_a_tool_loop(upstream: str, tmp_path: Path) -> None:
    """OpenCode speaks Chat Completions (through the Vercel AI SDK): two ``write`` calls at once,
    then a ``bash`` call reading both files, then the answer; each turn's results go back upstream."""
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    script = _two_files_then_cat(work, "write", "filePath", "bash")
    with gateway(upstream, tmp_path, script=script) as (url, log):
        result = _opencode(url, work, home, "Write a.txt and b.txt")
    assert result.returncode == 0, (result.stdout + result.stderr).decode()[-2000:]
    events = ndjson(result.stdout)
    assert [e["part"]["text"] for e in events if e["type"] == "text"][-1] == ANSWER
    assert [e["part"]["tool"] for e in events if e["type"] == "tool_use"] == ["write", "write", "bash"]
    _assert_two_files_then_cat(work, log)
