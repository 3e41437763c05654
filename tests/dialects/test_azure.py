"""Azure OpenAI (:mod:`streamkit.dialects.azure`): the URLs and the ``api-key`` header the official
``AzureOpenAI`` client sends, for Chat Completions and Responses; fetch against a real
``streamkit serve --client-keys`` on Azure's paths; the official client against serve."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openai
import pytest

from streamkit.conversation import from_prompt
from streamkit.dialects.azure import is_azure
from streamkit.dialects.base import Endpoint
from streamkit.endpoints import resolve
from streamkit.errors import UsageError
from streamkit.plugins import default_registry
from tests.conftest import DATA, ndjson, run_cli
from tests.test_fetch_live import serving, without_t

KEY = "azure-key-SECRET-8181"
OTHER = "sk-openai-SECRET-9292"
RESOURCE = "https://myres.openai.azure.com"
CHAT = default_registry().dialect("openai-chat")
RESPONSES = default_registry().dialect("openai-responses")
#: a clean environment: no credential or version leaks in from the caller's
CLEAN = {name: "" for name in ("OPENAI_API_KEY", "AZURE_OPENAI_API_KEY", "AZURE_OPENAI_AD_TOKEN", "OPENAI_API_VERSION",
                               "STREAMKIT_API_KEY", "STREAMKIT_API_KEY_FILE", "STREAMKIT_BASE_URL")}  # fmt: skip


def _sdk_request(client_args: dict[str, Any], call: str) -> Any:
    """The request the official ``AzureOpenAI`` client sends (captured by a MockTransport)."""
    try:  # the transport package of this SDK version (newer ones refuse httpx objects)
        import httpx2 as transport
    except ImportError:
        import httpx as transport  # type: ignore[no-redef]
    seen: list[Any] = []

    def capture(request: Any) -> Any:
        seen.append(request)
        return transport.Response(400, json={"error": {"message": "x", "type": "x"}})

    http = transport.Client(transport=transport.MockTransport(capture))
    client = openai.AzureOpenAI(api_key=KEY, http_client=http, max_retries=0, **client_args)
    with pytest.raises(openai.BadRequestError):
        if call == "chat":
            client.chat.completions.create(
                model="gpt4o-deploy", messages=[{"role": "user", "content": "hi"}], stream=True
            )
        else:
            client.responses.create(model="gpt4o-deploy", input="hi", stream=True)
    return seen[0]


@pytest.mark.parametrize("call", ["chat", "responses"])
@pytest.mark.parametrize(
    ("client_args", "base_url", "env_version"),
    [
        ({"azure_endpoint": RESOURCE, "api_version": "2024-10-21"}, RESOURCE, "2024-10-21"),
        ({"azure_endpoint": RESOURCE + "/", "api_version": "2025-04-01-preview"}, RESOURCE + "/openai", "2025-04-01-preview"),
        ({"azure_endpoint": RESOURCE, "api_version": "2025-04-01-preview"}, RESOURCE + "?api-version=2025-04-01-preview", None),
        ({"azure_endpoint": RESOURCE, "azure_deployment": "gpt4o-deploy", "api_version": "2024-10-21"},
         RESOURCE + "/openai/deployments/gpt4o-deploy?api-version=2024-10-21", "1999-01-01"),
    ],
    ids=["resource", "resource-openai", "version-in-url", "deployment-url"],
)  # fmt: skip
def test_url_and_key_header_are_the_official_clients(
    client_args: dict[str, Any], base_url: str, env_version: str | None, call: str
) -> None:
    sdk = _sdk_request(client_args, call)
    endpoint = resolve(CHAT, base_url=base_url, model="gpt4o-deploy",
                       env={**CLEAN, "AZURE_OPENAI_API_KEY": KEY, "OPENAI_API_KEY": OTHER, "OPENAI_API_VERSION": env_version or ""})  # fmt: skip
    dialect = CHAT if call == "chat" else RESPONSES
    ours = dialect.build_request(from_prompt("hi"), endpoint)
    assert ours.url == str(sdk.url)
    assert ours.headers["api-key"] == sdk.headers["api-key"] == KEY
    assert "Authorization" not in ours.headers and OTHER not in repr(ours.headers)
    assert ours.body["model"] == "gpt4o-deploy" and ours.body["stream"] is True


def test_without_a_version_the_v1_api_and_a_deployment_url_defaults_to_ga() -> None:
    endpoint = Endpoint(RESOURCE, KEY, "gpt4o-deploy")
    assert CHAT.build_request(from_prompt("hi"), endpoint).url == RESOURCE + "/openai/v1/chat/completions"
    assert RESPONSES.build_request(from_prompt("hi"), endpoint).url == RESOURCE + "/openai/v1/responses"
    v1 = Endpoint(RESOURCE + "/openai/v1", KEY, "m", api_version="2024-10-21")  # v1 takes no dated version
    assert CHAT.build_request(from_prompt("hi"), v1).url == RESOURCE + "/openai/v1/chat/completions"
    deployment = Endpoint(RESOURCE + "/openai/deployments/d1", KEY, None)
    chat = CHAT.build_request(from_prompt("hi"), deployment)
    assert chat.url == RESOURCE + "/openai/deployments/d1/chat/completions?api-version=2024-10-21"
    responses = RESPONSES.build_request(from_prompt("hi"), deployment)  # the deployment is the model
    assert (
        responses.url == RESOURCE + "/openai/responses?api-version=2024-10-21"
        and responses.body["model"] == "d1"
    )
    target = (
        RESOURCE + "/openai/deployments/d1/chat/completions?api-version=2025-01-01-preview"
    )  # the portal's URI
    assert CHAT.build_request(from_prompt("hi"), Endpoint(target, KEY, "d1")).url == target
    with pytest.raises(UsageError, match="no deployment: pass -m DEPLOYMENT"):
        CHAT.build_request(from_prompt("hi"), Endpoint(RESOURCE, KEY, None, api_version="2024-10-21"))


def test_an_entra_token_is_a_bearer_and_keys_do_not_cross_providers() -> None:
    token = resolve(CHAT, base_url=RESOURCE, model="d", env={**CLEAN, "AZURE_OPENAI_AD_TOKEN": "tok-SECRET"})
    assert CHAT.build_request(from_prompt("hi"), token).headers["Authorization"] == "Bearer tok-SECRET"
    assert "tok-SECRET" not in repr(token)
    openai_only = resolve(CHAT, base_url=RESOURCE, model="d", env={**CLEAN, "OPENAI_API_KEY": OTHER})
    assert openai_only.api_key is None  # an OpenAI key is not sent to Azure
    plain = resolve(CHAT, model="m", env={**CLEAN, "OPENAI_API_KEY": OTHER, "AZURE_OPENAI_API_KEY": KEY})
    assert plain.api_key == OTHER  # nor an Azure key to OpenAI
    request = CHAT.build_request(from_prompt("hi"), plain)
    assert request.url == "https://api.openai.com/v1/chat/completions" and "api-key" not in request.headers


@pytest.mark.parametrize(
    ("url", "azure"),
    [
        (RESOURCE, True),
        ("https://x.cognitiveservices.azure.com/openai/v1", True),
        ("https://x.services.ai.azure.com", True),
        ("http://127.0.0.1:9/openai/deployments/d", True),
        ("http://proxy.test/v1?api-version=2024-10-21", True),
        ("https://api.groq.com/openai/v1", False),  # OpenAI-compatible, not Azure
        ("https://gateway.ai.cloudflare.com/v1/acct/gw/openai", False),
        ("https://api.openai.com/v1", False),
        ("https://evil.test/x.openai.azure.com", False),
    ],
)
def test_what_is_azure(url: str, azure: bool) -> None:
    assert is_azure(url) is azure


# --- against a real server -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dialect", "recording", "suffix", "extra"),
    [
        ("openai-chat", DATA / "openai-chat" / "usage-chunk.sse", "/openai/deployments/gpt4o-deploy", {}),
        ("openai-chat", DATA / "openai-chat" / "usage-chunk.sse", "", {"OPENAI_API_VERSION": "2024-10-21"}),
        ("openai-responses", DATA / "openai-responses" / "annotations.sse", "/openai?api-version=2025-04-01-preview", {}),
        ("openai-responses", DATA / "openai-responses" / "annotations.sse", "/openai/v1?api-version=preview", {}),
    ],
    ids=["chat-deployment-url", "chat-resource", "responses-dated", "responses-v1"],
)  # fmt: skip
def test_fetch_from_serve_on_azure_paths_with_the_api_key_header(
    tmp_path: Path, dialect: str, recording: Path, suffix: str, extra: dict[str, str]
) -> None:
    keys = tmp_path / "client-keys"
    keys.write_text(KEY + "\n")
    log = tmp_path / "requests.ndjson"
    with serving(
        "-d", dialect, "--replay", str(recording), "--client-keys", str(keys), "--log-requests", str(log)
    ) as url:
        # a loopback URL is Azure's by its path or its api-version; the resource form needs one of them
        base = url + (suffix or "?api-version=2024-10-21")
        args = ("fetch", "-d", dialect, "--base-url", base, "-m", "gpt4o-deploy", "--retries", "0", "hi")
        live = run_cli(*args, env={**CLEAN, "AZURE_OPENAI_API_KEY": KEY, "OPENAI_API_KEY": OTHER, **extra})
        refused = run_cli(*args, env={**CLEAN, "OPENAI_API_KEY": KEY})  # the OpenAI variable is not read
    assert live.returncode == 0, live.stderr
    replayed = run_cli("fetch", "--replay", str(recording), "-d", dialect)
    assert without_t(ndjson(live.stdout)) == ndjson(replayed.stdout)
    assert refused.returncode == 1 and ndjson(refused.stdout)[-1]["status"] == 401
    # (the refused request's body is never read, so never logged: serve asks for the key first)
    assert [body["model"] for body in ndjson(log.read_bytes())] == ["gpt4o-deploy"]
    for result in (live, refused):
        assert KEY.encode() not in result.stdout + result.stderr


def test_the_official_azure_client_against_serve(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text('[{"text": "Hello from Azure."}, {"text": "Hello again."}]')
    keys = tmp_path / "client-keys"
    keys.write_text(KEY + "\n")
    with serving(
        "-d", "openai-chat", "-d", "openai-responses", "--script", str(script), "--client-keys", str(keys)
    ) as url:
        deployed = openai.AzureOpenAI(azure_endpoint=url, azure_deployment="d1", api_version="2024-10-21", api_key=KEY,
                                      max_retries=0, timeout=30)  # fmt: skip
        chunks = deployed.chat.completions.create(
            model="d1", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        resource = openai.AzureOpenAI(azure_endpoint=url, api_version="2025-04-01-preview", api_key=KEY, max_retries=0,
                                      timeout=30)  # fmt: skip
        response = resource.responses.create(model="d1", input="hi")  # /openai/responses, whole
        wrong = openai.AzureOpenAI(
            azure_endpoint=url, api_version="2024-10-21", api_key="nope", max_retries=0, timeout=30
        )
        with pytest.raises(openai.AuthenticationError):
            wrong.chat.completions.create(model="d1", messages=[{"role": "user", "content": "hi"}])
    assert text == "Hello from Azure."
    assert response.output_text == "Hello again."
