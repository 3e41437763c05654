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
