"""serve over HTTPS and WSS (``--ssl-certfile``, ``--ssl-keyfile``): real TLS on loopback with a
test CA's certificate (trustme), checked by the official SDK, a WebSocket client and curl; and
every wrong certificate or key is a one-line usage error before the server says its URL."""

from __future__ import annotations

import json
import ssl
import subprocess
from pathlib import Path

import httpx
import orjson
import pytest

from streamkit.testing import serving

from ..conftest import STREAMKIT
from .senders import node_fetch_answers, urllib_answer


def test_serve_answers_https_and_wss_and_nothing_in_clear_text(pki: Path) -> None:
    openai = pytest.importorskip("openai")
    from websockets.sync.client import connect

    args = ["--script", str(pki / "script.json"), "--ssl-certfile", str(pki / "cert.pem"), "--ssl-keyfile",
            str(pki / "key.pem")]  # fmt: skip
    with serving(*args, process=True) as url:
        assert url.startswith("https://127.0.0.1:")
        trusted = ssl.create_default_context(cafile=str(pki / "ca.pem"))
        http = openai.DefaultHttpxClient(verify=trusted)
        with openai.OpenAI(api_key="k", base_url=f"{url}/v1", http_client=http, max_retries=0) as client:
            reply = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
            streamed = client.responses.create(model="m", input="hi", stream=True)
            done = [event for event in streamed if event.type == "response.completed"]
        assert reply.choices[0].message.content == "over tls"
        assert done[0].response.output_text == "over tls"
        # the Responses WebSocket (the Codex CLI's transport) over wss://
        with connect(url.replace("https://", "wss://") + "/v1/responses", ssl=trusted) as ws:
            ws.send(json.dumps({"type": "response.create", "model": "m", "input": "hi"}))
            while (message := json.loads(ws.recv(timeout=10)))["type"] != "response.completed":
                pass
        assert message["response"]["output"][0]["content"][0]["text"] == "over tls"
        # a client that does not trust the CA is refused, and plain HTTP is not served
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.post(f"{url}/v1/chat/completions", json={})
        with pytest.raises(httpx.HTTPError):
            httpx.post(url.replace("https://", "http://") + "/v1/chat/completions", json={}, timeout=5)


def test_a_gateway_over_https_with_client_keys(pki: Path, tmp_path: Path) -> None:
    """A gateway beyond clear text: its client keys travel inside TLS (the key file holds the
    certificate chain and its key together)."""
    (tmp_path / "upstream-key").write_text("sk-upstream\n")
    (tmp_path / "client-keys").write_text("sk-client-0123456789\n")
    with serving("-d", "openai-chat", "--script", str(pki / "script.json")) as upstream:
        gateway = ["--upstream", "openai-chat", "--base-url", f"{upstream}/v1", "--key-file",
                   str(tmp_path / "upstream-key"), "--client-keys", str(tmp_path / "client-keys"), "--store",
                   "none", "--ssl-certfile", str(pki / "both.pem")]  # fmt: skip
        with serving(*gateway) as url:
            done = subprocess.run(
                ["curl", "-sS", "--cacert", str(pki / "ca.pem"), "-H", "authorization: Bearer sk-client-0123456789",
                 "-H", "content-type: application/json", "-d",
                 '{"model": "m", "messages": [{"role": "user", "content": "hi"}]}', f"{url}/v1/chat/completions"],
                capture_output=True, timeout=60,
            )  # fmt: skip
    if done.returncode == 127:
        pytest.skip("curl is not installed")
    assert orjson.loads(done.stdout)["choices"][0]["message"]["content"] == "over tls"


def test_refused_connections_and_bodies_are_answered_over_tls_too(pki: Path) -> None:
    """A 503 past --max-connections and a 413 for a body over --max-body reach clients that read
    no answer while they send (urllib, Node's fetch) over TLS as over plain HTTP."""
    import socket
    import time

    trusted = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    body = pki / "large.json"
    body.write_bytes(orjson.dumps({"model": "m", "messages": [{"role": "user", "content": "x" * 3_000_000}]}))
    tls = ["--script", str(pki / "script.json"), "--ssl-certfile", str(pki / "both.pem")]
    with serving(*tls, "--max-body", "1") as url:
        chat = f"{url}/v1/chat/completions"
        assert [urllib_answer(chat, body.read_bytes(), trusted)[0] for _ in range(5)] == [413] * 5
        assert node_fetch_answers(chat, body, 5, ca=pki / "ca.pem") == ["413 null"] * 5
    with serving(*tls, "--max-connections", "1") as url:
        held = trusted.wrap_socket(socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1]))),
                                   server_hostname="127.0.0.1")  # fmt: skip
        time.sleep(0.3)
        chat = f"{url}/v1/chat/completions"
        assert [urllib_answer(chat, body.read_bytes(), trusted) for _ in range(5)] == [(503, "1")] * 5
        assert node_fetch_answers(chat, body, 5, ca=pki / "ca.pem") == ["503 1"] * 5
        held.close()


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (["--ssl-certfile", "nope.pem"], "cannot read nope.pem: No such file or directory"),
        (["--ssl-certfile", "script.json"], "--ssl-certfile script.json holds no PEM certificate"),
        (["--ssl-certfile", "cert.pem"], "--ssl-certfile cert.pem holds no PEM private key: pass the key with --ssl-keyfile FILE"),
        (["--ssl-certfile", "cert.pem", "--ssl-keyfile", "ca.pem"], "--ssl-keyfile ca.pem holds no PEM private key"),
        (["--ssl-certfile", "ca.pem", "--ssl-keyfile", "key.pem"], "the private key in key.pem is not the key of ca.pem's certificate"),
        (["--ssl-certfile", "cert.pem", "--ssl-keyfile", "encrypted.pem"], "encrypted.pem: the private key is encrypted; serve takes an unencrypted one (openssl pkey -in KEY -out PLAIN)"),
        (["--ssl-keyfile", "key.pem"], "--ssl-keyfile is the key of --ssl-certfile's certificate: pass --ssl-certfile FILE too"),
    ],
)  # fmt: skip
def test_a_wrong_certificate_or_key_is_a_usage_error_before_the_url(
    pki: Path, files: list[str], message: str
) -> None:
    """Checked as uvicorn will load them, before the server says its URL (an encrypted key would
    have OpenSSL prompt for its password on the terminal: never)."""
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key((pki / "key.pem").read_bytes(), password=None)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"a password"),
    )
    (pki / "encrypted.pem").write_bytes(encrypted)
    done = subprocess.run([str(STREAMKIT), "serve", "--script", "script.json", "--port", "0", *files],
                          cwd=pki, capture_output=True, stdin=subprocess.DEVNULL, timeout=60)  # fmt: skip
    assert (done.returncode, done.stdout) == (2, b"")
    assert done.stderr.decode() == f"streamkit serve: {message}\n"
