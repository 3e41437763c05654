"""``ANTHROPIC_AUTH_TOKEN``: a bearer token for Anthropic-compatible servers, sent as the official
SDK sends it, checked by a real ``streamkit serve --client-keys`` over loopback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest

from streamkit.conversation import from_prompt
from streamkit.dialects.anthropic import Anthropic
from streamkit.endpoints import resolve
from tests.conftest import DATA, ndjson, run_cli
from tests.test_fetch_live import serving

DIALECT = Anthropic()
TOKEN = "sk-ant-oat-TOKEN-SECRET-5151"
KEY = "sk-ant-key-SECRET-6262"
#: a clean environment for the CLI: neither variable leaks in from the caller's
CLEAN = {
    "ANTHROPIC_API_KEY": "",
    "ANTHROPIC_AUTH_TOKEN": "",
    "STREAMKIT_API_KEY": "",
    "STREAMKIT_API_KEY_FILE": "",
}


def _sdk_credential(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> str:
    """The credential the official SDK sends with this environment (captured by a MockTransport;
    this SDK version sends either as a bearer token, so only the choice is compared)."""
    try:  # the transport package of this SDK version (newer ones refuse httpx objects)
        import httpx2 as transport
    except ImportError:
        transport = httpx  # type: ignore[no-redef]
    seen: list[Any] = []

    def capture(request: Any) -> Any:
        seen.append(request)
        return transport.Response(400, json={"type": "error", "error": {"type": "x", "message": "x"}})

    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"):
        monkeypatch.setenv(name, env.get(name, ""))
    client = anthropic.Anthropic(base_url="https://api.test", http_client=transport.Client(transport=transport.MockTransport(capture)),
                                 max_retries=0)  # fmt: skip
    with pytest.raises(anthropic.BadRequestError):
        client.messages.create(model="m", max_tokens=1, messages=[{"role": "user", "content": "hi"}])
    headers = seen[0].headers
    return str(headers.get("x-api-key") or headers["authorization"].removeprefix("Bearer "))


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"ANTHROPIC_AUTH_TOKEN": TOKEN}, {"authorization": f"Bearer {TOKEN}"}),
        ({"ANTHROPIC_AUTH_TOKEN": TOKEN, "ANTHROPIC_API_KEY": KEY}, {"x-api-key": KEY}),
        ({"ANTHROPIC_API_KEY": KEY}, {"x-api-key": KEY}),
        ({"ANTHROPIC_AUTH_TOKEN": TOKEN, "STREAMKIT_API_KEY": KEY}, {"x-api-key": KEY}),
    ],
    ids=["token", "both", "key", "streamkit-key"],
)
def test_one_credential_is_sent_the_one_the_sdk_chooses(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: dict[str, str]
) -> None:
    endpoint = resolve(DIALECT, env=env, model="m")
    request = DIALECT.build_request(from_prompt("hi"), endpoint)
    assert {k: v for k, v in request.headers.items() if k in ("x-api-key", "authorization")} == expected
    if "STREAMKIT_API_KEY" not in env:
        assert _sdk_credential(monkeypatch, env) == next(iter(expected.values())).removeprefix("Bearer ")
    assert TOKEN not in repr(endpoint) and TOKEN not in repr(request)


def test_a_token_reaches_a_server_that_checks_it_and_never_the_output(tmp_path: Path) -> None:
    keys = tmp_path / "client-keys"
    keys.write_text(TOKEN + "\n")
    record = tmp_path / "rec.sse"
    with serving(
        "-d", "anthropic", "--replay", str(DATA / "anthropic" / "text.sse"), "--client-keys", str(keys)
    ) as url:
        args = ("fetch", "-d", "anthropic", "--base-url", url, "-m", "claude-test", "--retries", "0", "hi")
        good = run_cli(*args, "--record", str(record), env={**CLEAN, "ANTHROPIC_AUTH_TOKEN": TOKEN})
        wrong = run_cli(*args, env={**CLEAN, "ANTHROPIC_AUTH_TOKEN": "sk-ant-oat-wrong"})
        none = run_cli(*args, env=CLEAN)
    assert good.returncode == 0, good.stderr
    assert [e["type"] for e in ndjson(good.stdout)] and all(e["type"] == "raw" for e in ndjson(good.stdout))
    for failed in (wrong, none):
        assert failed.returncode == 1
        assert ndjson(failed.stdout)[-1]["status"] == 401
    for result in (good, wrong, none):
        assert TOKEN.encode() not in result.stdout + result.stderr
    assert TOKEN.encode() not in record.read_bytes()


def test_the_gateway_sends_its_own_token_upstream(tmp_path: Path) -> None:
    keys = tmp_path / "client-keys"
    keys.write_text(TOKEN + "\n")
    script = tmp_path / "script.json"
    script.write_text('[{"text": "Hi from upstream."}]')
    with serving("-d", "anthropic", "--script", str(script), "--client-keys", str(keys)) as upstream, serving(
        "-d", "openai-chat", "--upstream", "anthropic", "--base-url", upstream, env={**CLEAN, "ANTHROPIC_AUTH_TOKEN": TOKEN}
    ) as gateway:  # fmt: skip
        body = {"model": "claude-test", "messages": [{"role": "user", "content": "hi"}]}
        answer = httpx.post(f"{gateway}/v1/chat/completions", json=body, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json()["choices"][0]["message"]["content"] == "Hi from upstream."
    assert TOKEN not in answer.text
