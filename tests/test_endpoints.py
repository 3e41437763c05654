"""Where a request goes (``streamkit.endpoints.resolve``): the base URL from options, then the
environment, then the dialect's default; http(s), or ws(s) for a WebSocket, said before anything
is sent."""

from __future__ import annotations

import pytest

from streamkit.endpoints import resolve
from streamkit.errors import UsageError
from streamkit.plugins import default_registry
from tests.conftest import run_cli

CHAT = default_registry().dialect("openai-chat")
OLLAMA = default_registry().dialect("ollama")


@pytest.mark.parametrize("url", ["ftp://x/v1", "FILE:///etc/passwd", "gopher://u:sk-secret@x"])
def test_a_base_url_of_another_scheme_is_a_usage_error_naming_only_the_scheme(url: str) -> None:
    with pytest.raises(UsageError) as info:
        resolve(CHAT, base_url=url, env={})
    scheme = url.split("://")[0].lower()
    assert (
        str(info.value)
        == f"the base URL for openai-chat is {scheme}://...: streamkit speaks http(s) and ws(s)"
    )
    assert "secret" not in str(info.value)


def test_http_https_and_a_bare_host_are_taken() -> None:
    assert resolve(CHAT, base_url="https://api.test/v1/", env={}).base_url == "https://api.test/v1"
    assert resolve(CHAT, base_url="HTTP://127.0.0.1:8000/v1", env={}).base_url == "HTTP://127.0.0.1:8000/v1"
    assert resolve(OLLAMA, env={"OLLAMA_HOST": "gpu-box"}).base_url == "http://gpu-box:11434"
    assert (
        resolve(CHAT, base_url="wss://api.test/v1", env={}).base_url == "wss://api.test/v1"
    )  # (--transport websocket)
    with pytest.raises(UsageError, match=r"speaks http\(s\) and ws\(s\)"):
        resolve(CHAT, env={"OPENAI_BASE_URL": "ftp://x"})


@pytest.mark.parametrize(
    "command", [["fetch", "-d", "openai-chat", "-m", "m", "hi"], ["serve", "--upstream", "openai-chat"]]
)
def test_fetch_and_the_gateway_refuse_it_before_they_start(command: list[str]) -> None:
    result = run_cli(*command, "--base-url", "ftp://u:sk-secret@x/v1", timeout=30)
    assert result.returncode == 2
    assert result.stderr.decode().splitlines() == [
        f"streamkit {command[0]}: the base URL for openai-chat is ftp://...: streamkit speaks http(s) and ws(s)"
    ]
    assert result.stdout == b""


@pytest.mark.parametrize(
    ("env", "source"),
    [
        ({"OPENAI_API_KEY": "sk-one-SECRET\nsk-two-SECRET"}, "$OPENAI_API_KEY"),
        ({"STREAMKIT_API_KEY": "sk-tab\tSECRET", "OPENAI_API_KEY": "sk-fine"}, "$STREAMKIT_API_KEY"),
    ],
)
def test_a_key_with_a_line_break_is_refused_naming_where_it_came_from_not_it(env: dict, source: str) -> None:
    with pytest.raises(UsageError) as info:
        resolve(CHAT, base_url="http://127.0.0.1:9/v1", env=env)
    assert str(info.value) == f"the key in {source} holds a line break or another control character"


def test_a_key_file_of_two_lines_or_no_text_is_refused_quoting_no_key(tmp_path) -> None:
    two = tmp_path / "two"
    two.write_text("sk-one-SECRET\nsk-two-SECRET\n")
    with pytest.raises(UsageError, match=f"the key in the key file {two} holds a line break"):
        resolve(CHAT, base_url="http://127.0.0.1:9/v1", key_file=str(two), env={})
    binary = tmp_path / "binary"
    binary.write_bytes(b"sk-SECRET\xff")
    with pytest.raises(UsageError, match=f"key file {binary} is not UTF-8 text"):
        resolve(CHAT, base_url="http://127.0.0.1:9/v1", key_file=str(binary), env={})
    result = run_cli(
        "fetch", "-d", "openai-chat", "--base-url", "http://127.0.0.1:9/v1", "--key-file", str(two), "hi"
    )
    assert result.returncode == 2 and b"SECRET" not in result.stdout + result.stderr


def test_an_auth_token_is_held_to_the_same() -> None:
    anthropic = default_registry().dialect("anthropic")
    with pytest.raises(UsageError, match=r"the key in \$ANTHROPIC_AUTH_TOKEN holds a line break"):
        resolve(anthropic, base_url="http://127.0.0.1:9", env={"ANTHROPIC_AUTH_TOKEN": "tok\nSECRET"})
