"""Bedrock ConverseStream requests: the body (checked by botocore's own parameter validation
against the service model), SigV4 signatures checked over loopback by a server that recomputes
them from what arrived, and ``fetch -d bedrock`` against a real ``streamkit serve -d bedrock``
(as the built-in dialects are tested)."""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import pytest
from bedrock_helpers import DATA, STREAMKIT, ndjson, registry, run_cli

from streamkit.conversation import from_prompt
from streamkit.dialects.base import Endpoint
from streamkit.testing import assert_serve_replays

botocore = pytest.importorskip("botocore", reason="botocore (the plugin's dependency) is not installed")
pytest.importorskip("botocore.session")  # a submodule: imported here, not by whichever test ran before

ACCESS = "AKIDSTREAMKITTEST"
SECRET = "streamkit-aws-SECRET-key-7171"
TOKEN = "streamkit-aws-SESSION-token-6161"
MODEL = "arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.anthropic.claude-sonnet-4:0"
DIALECT = registry().dialect("bedrock")
#: the caller's AWS settings must not leak into the tests (a real profile, a real key)
CLEAN = {"AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
         "AWS_BEARER_TOKEN_BEDROCK": "", "AWS_ENDPOINT_URL": "", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": "",
         "AWS_EC2_METADATA_DISABLED": "true", "STREAMKIT_API_KEY": "",
         "STREAMKIT_BASE_URL": ""}  # fmt: skip
CREDENTIALS = {**CLEAN, "AWS_ACCESS_KEY_ID": ACCESS, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_SESSION_TOKEN": TOKEN,
               "AWS_REGION": "eu-west-1"}  # fmt: skip

CONVERSATION = {
    "system": "Be terse.",
    "messages": [
        {"role": "user", "content": [{"type": "text", "text": "What is in it?"},
                                     {"type": "file", "media_type": "image/png", "data": "iVBORw0KGgo="}]},
        {"role": "assistant", "content": [
            {"type": "reasoning", "text": "Look.", "provider_metadata": {"bedrock": {"signature": "sig=="}}},
            {"type": "tool-call", "tool_call_id": "t1", "tool_name": "look", "arguments": '{"x": 1}', "input": {"x": 1}}]},
        {"role": "tool", "tool_call_id": "t1", "output": {"seen": "a cat"}},
        {"role": "user", "content": "And?"},
    ],
    "tools": [{"name": "look", "description": "Look closer.", "parameters": {"type": "object", "properties": {"x": {"type": "integer"}}}}],
    "options": {"max_tokens": 100, "temperature": 0.5, "stop": "END", "top_k": 5, "tool_choice": "required",
                "seed": 1},
}  # fmt: skip


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        monkeypatch.delenv(name)
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    """``streamkit ARGS`` with none of the caller's AWS settings, and ``env``."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return subprocess.run([str(STREAMKIT), *args], capture_output=True, env={**full, **env}, timeout=60)


def test_the_body_is_valid_for_botocore(aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    from botocore.validate import validate_parameters

    request = DIALECT.build_request(
        CONVERSATION, Endpoint("https://bedrock-runtime.eu-west-1.amazonaws.com", None, MODEL)
    )
    assert request.url == ("https://bedrock-runtime.eu-west-1.amazonaws.com/model/"
                           "arn%3Aaws%3Abedrock%3Aeu-west-1%3A123456789012%3Ainference-profile%2Feu.anthropic.claude-sonnet-4%3A0"
                           "/converse-stream")  # fmt: skip
    assert request.framing == "eventstream"
    body = request.body
    assert body["messages"] == [
        {"role": "user", "content": [{"text": "What is in it?"}, {"image": {"format": "png", "source": {"bytes": "iVBORw0KGgo="}}}]},
        {"role": "assistant", "content": [{"reasoningContent": {"reasoningText": {"text": "Look.", "signature": "sig=="}}},
                                          {"toolUse": {"toolUseId": "t1", "name": "look", "input": {"x": 1}}}]},
        {"role": "user", "content": [{"toolResult": {"toolUseId": "t1", "content": [{"json": {"seen": "a cat"}}]}},
                                     {"text": "And?"}]},
    ]  # fmt: skip
    assert body["system"] == [{"text": "Be terse."}]
    assert body["inferenceConfig"] == {"maxTokens": 100, "temperature": 0.5, "stopSequences": ["END"]}
    assert body["toolConfig"]["toolChoice"] == {"any": {}}
    assert body["additionalModelRequestFields"] == {"top_k": 5}
    assert "bedrock cannot send seed (1)" in capsys.readouterr().err
    model = botocore.session.get_session().get_service_model("bedrock-runtime")
    validate_parameters({**body, "modelId": MODEL}, model.operation_model("ConverseStream").input_shape)


def test_the_signature_and_where_credentials_come_from(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    request = DIALECT.build_request(from_prompt("hi"), Endpoint("http://127.0.0.1:9", None, "m"))
    auth = request.headers["Authorization"]
    assert (
        auth.startswith(f"AWS4-HMAC-SHA256 Credential={ACCESS}/")
        and "/eu-west-1/bedrock/aws4_request" in auth
    )
    assert request.headers["X-Amz-Security-Token"] == TOKEN and SECRET not in repr(request.headers)
    regional = DIALECT.build_request(
        from_prompt("hi"), Endpoint("https://bedrock-runtime.us-west-2.amazonaws.com", None, "m")
    )
    assert "/us-west-2/bedrock/aws4_request" in regional.headers["Authorization"]  # the host's region wins
    keyed = DIALECT.build_request(from_prompt("hi"), Endpoint("http://127.0.0.1:9", "bedrock-api-key", "m"))
    assert keyed.headers["Authorization"] == "Bearer bedrock-api-key" and "X-Amz-Date" not in keyed.headers
    from streamkit.endpoints import resolve
    from streamkit.errors import UsageError

    monkeypatch.setenv("AWS_REGION", "ap-south-1")  # botocore reads the process's environment
    assert resolve(DIALECT, env={}, model="m").base_url == "https://bedrock-runtime.ap-south-1.amazonaws.com"
    assert (
        resolve(DIALECT, env={"AWS_ENDPOINT_URL_BEDROCK_RUNTIME": "http://vpce.test/"}).base_url
        == "http://vpce.test"
    )
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    with pytest.raises(UsageError, match="no AWS credentials for bedrock"):
        DIALECT.build_request(from_prompt("hi"), Endpoint("http://127.0.0.1:9", None, "m"))
    monkeypatch.setenv("AWS_PROFILE", "nowhere")
    with pytest.raises(UsageError, match="bedrock: the AWS configuration: The config profile"):
        DIALECT.build_request(from_prompt("hi"), Endpoint("http://127.0.0.1:9", None, "m"))


def test_a_profile_from_the_shared_files(aws: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    (tmp_path / "credentials").write_text(
        f"[work]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = {SECRET}\n"
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_PROFILE", "work")
    request = DIALECT.build_request(from_prompt("hi"), Endpoint("http://127.0.0.1:9", None, "m"))
    assert "Credential=AKIDPROFILE/" in request.headers["Authorization"]


# --- over loopback -------------------------------------------------------------------------------


class _Verifier(BaseHTTPRequestHandler):
    """Answers a ConverseStream request whose SigV4 signature, recomputed by botocore from what
    arrived (method, path, the signed headers, the body bytes), matches; else 403 as AWS would."""

    answer = b""
    seen: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        payload = self.rfile.read(int(self.headers.get("content-length") or 0))
        auth = self.headers.get("authorization") or ""
        signed = auth.partition("SignedHeaders=")[2].partition(",")[0].split(";")
        headers = {name: self.headers.get(name) or "" for name in signed}
        request = AWSRequest(
            method="POST", url=f"http://{self.headers['host']}{self.path}", data=payload, headers=headers
        )
        request.context["timestamp"] = self.headers.get("x-amz-date")
        signer = SigV4Auth(Credentials(ACCESS, SECRET, TOKEN), "bedrock", "eu-west-1")
        expected = signer.signature(
            signer.string_to_sign(request, signer.canonical_request(request)), request
        )
        ok = auth.endswith(f"Signature={expected}") and self.headers.get("x-amz-security-token") == TOKEN
        self.seen.append({"ok": ok, "path": self.path, "body": orjson.loads(payload)})
        body = self.answer if ok else b'{"message":"The request signature we calculated does not match"}'
        self.send_response(200 if ok else 403)
        self.send_header("content-type", "application/vnd.amazon.eventstream" if ok else "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def verifying(answer: bytes) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    handler = type("Handler", (_Verifier,), {"answer": answer, "seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler.seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_fetch_sends_a_signature_the_server_can_check(tmp_path: Path) -> None:
    frames = run_cli("convert", "--to", "bedrock", str(DATA / "tool-use.jsonl")).stdout
    (tmp_path / "answer.eventstream").write_bytes(frames)
    with verifying(frames) as (url, seen):
        args = (
            "fetch",
            "-d",
            "bedrock",
            "--base-url",
            url,
            "-m",
            MODEL,
            "--retries",
            "0",
            "Weather in Oslo?",
        )
        good = cli(*args, env=CREDENTIALS)
        forged = cli(*args, env={**CREDENTIALS, "AWS_SECRET_ACCESS_KEY": "not-the-secret"})
    assert good.returncode == 0, good.stderr
    replayed = run_cli("fetch", "--replay", str(tmp_path / "answer.eventstream"), "-d", "bedrock")
    assert [{k: v for k, v in e.items() if k != "t"} for e in ndjson(good.stdout)] == ndjson(replayed.stdout)
    assert forged.returncode == 1 and ndjson(forged.stdout)[-1]["status"] == 403
    assert [s["ok"] for s in seen] == [True, False]
    assert (
        seen[0]["path"].startswith("/model/arn%3Aaws%3Abedrock%3A")
        and seen[0]["body"]["messages"][0]["role"] == "user"
    )
    for result in (good, forged):
        for secret in (SECRET, TOKEN):
            assert secret.encode() not in result.stdout + result.stderr


def test_botocore_s_own_request_passes_the_same_check() -> None:
    """The check is the real one: botocore's own client, signing its own ConverseStream call, passes it."""
    frames = run_cli("convert", "--to", "bedrock", str(DATA / "text.jsonl")).stdout
    with verifying(frames) as (url, seen):
        client = botocore.session.get_session().create_client(
            "bedrock-runtime", region_name="eu-west-1", endpoint_url=url, aws_access_key_id=ACCESS,
            aws_secret_access_key=SECRET, aws_session_token=TOKEN)  # fmt: skip
        response = client.converse_stream(
            modelId=MODEL, messages=[{"role": "user", "content": [{"text": "hi"}]}]
        )
        kinds = [next(iter(event)) for event in response["stream"]]
        client.close()
    assert seen[0]["ok"] and kinds[0] == "messageStart" and "contentBlockDelta" in kinds


OURS = sorted(DATA.glob("*.jsonl"))


def test_fetch_from_serve_replay_equals_fetch_replay(tmp_path: Path) -> None:
    converted = run_cli("convert", "--to", "bedrock", "--ignore-errors", "-o", str(tmp_path), *map(str, OURS))
    assert converted.returncode == 0, converted.stderr
    recordings = [
        tmp_path / f"{case.stem}.eventstream" for case in OURS
    ]  # as Bedrock sends them: binary frames
    env = {**CREDENTIALS, "AWS_PROFILE": "", "AWS_DEFAULT_PROFILE": ""}
    assert_serve_replays("bedrock", recordings, model=MODEL, env=env, registry=registry())
