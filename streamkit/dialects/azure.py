"""Azure OpenAI: where the two OpenAI dialects send a request when the base URL is Azure's, and
with which credential.

Azure serves Chat Completions and Responses under its own URLs, with the key in an ``api-key``
header (or an Entra ID token as ``Authorization: Bearer``) and, for its dated API, an
``api-version`` query parameter. A base URL is Azure's when its host is (``*.openai.azure.com``,
``*.cognitiveservices.azure.com``, ``*.services.ai.azure.com``), when its path names a deployment
(``/openai/deployments/NAME``), or when its query holds an ``api-version`` (any host: a proxy, a
local server). The URLs, as the official ``AzureOpenAI`` client builds them:

==========================================  ===========================================================
base URL                                    request URL
==========================================  ===========================================================
``https://R.openai.azure.com`` (the         the v1 API: ``/openai/v1/chat/completions``,
resource, ``AZURE_OPENAI_ENDPOINT``)        ``/openai/v1/responses`` (the model names the deployment);
                                            with an API version (``OPENAI_API_VERSION`` or
                                            ``?api-version=`` in the URL), the dated API:
                                            ``/openai/deployments/MODEL/chat/completions?api-version=V``,
                                            ``/openai/responses?api-version=V``
``https://R.openai.azure.com/openai/v1``    ``/chat/completions``, ``/responses`` appended (the query kept)
``…/openai/deployments/NAME``               chat: ``…/openai/deployments/NAME/chat/completions?api-version=V``
                                            (V: given, else ``2024-10-21``, the last GA version);
                                            Responses: ``…/openai/responses?api-version=V`` with NAME as
                                            the model unless ``-m`` says otherwise
==========================================  ===========================================================

A base URL that already ends in ``/chat/completions`` or ``/responses`` (the portal's "target
URI") is used as it is. Keys: ``AZURE_OPENAI_API_KEY`` (never ``OPENAI_API_KEY``: an OpenAI key
is not sent to Azure), else an ``AZURE_OPENAI_AD_TOKEN`` as a bearer token; ``--key-file`` and
``STREAMKIT_API_KEY`` as for every dialect. The version given in the URL wins over
``OPENAI_API_VERSION``, which the v1 API ignores (it takes none).
"""

from __future__ import annotations

from urllib.parse import SplitResult, parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from ..errors import UsageError
from .base import Endpoint

#: the hosts of Azure OpenAI resources (Azure AI Foundry's too)
HOSTS = (".openai.azure.com", ".cognitiveservices.azure.com", ".services.ai.azure.com")
#: the dated API version used when a deployment URL names none: the latest GA one
DEFAULT_API_VERSION = "2024-10-21"
KEY_ENV = ("AZURE_OPENAI_API_KEY",)
TOKEN_ENV = ("AZURE_OPENAI_AD_TOKEN",)


def is_azure(base_url: str) -> bool:
    """Whether requests to ``base_url`` speak Azure's dialect of the OpenAI API."""
    parts = urlsplit(base_url)
    host = (parts.hostname or "").lower()
    if host.endswith(HOSTS) or "/openai/deployments/" in parts.path + "/":
        return True
    return any(k == "api-version" for k, _ in parse_qsl(parts.query))


def request_url(endpoint: Endpoint, operation: str) -> tuple[str, str | None]:
    """The URL of ``operation`` (``chat/completions`` or ``responses``) on Azure, and the model to
    name when neither ``-m`` nor the conversation names one (a deployment URL's deployment)."""
    parts = urlsplit(endpoint.base_url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "api-version"]
    given = next((v for k, v in parse_qsl(parts.query) if k == "api-version"), None)
    version = given or endpoint.api_version
    path = parts.path.rstrip("/")
    if path.endswith(("/chat/completions", "/responses")):  # a target URI: as it is
        return endpoint.base_url, _deployment(path)
    if path.endswith("/v1"):  # Azure's v1 API: OpenAI's paths, no version needed
        return _join(parts, f"{path}/{operation}", query, given), None
    resource, _, deployment = path.partition("/openai/deployments/")
    if deployment:
        deployment = deployment.split("/")[0]
        if operation == "chat/completions":
            url_path = f"{resource}/openai/deployments/{deployment}/chat/completions"
        else:
            url_path = f"{resource}/openai/responses"
        return _join(parts, url_path, query, version or DEFAULT_API_VERSION), unquote(deployment)
    resource = path.removesuffix("/openai")
    if not version:
        return _join(parts, f"{resource}/openai/v1/{operation}", query, None), None
    if operation == "responses":
        return _join(parts, f"{resource}/openai/responses", query, version), None
    if not endpoint.model:
        raise UsageError("no deployment: pass -m DEPLOYMENT (Azure names the model by its deployment)")
    url_path = f"{resource}/openai/deployments/{quote(endpoint.model, safe='')}/chat/completions"
    return _join(parts, url_path, query, version), None


def _deployment(path: str) -> str | None:
    _, _, deployment = path.partition("/openai/deployments/")
    return unquote(deployment.split("/")[0]) if deployment else None


def headers(endpoint: Endpoint) -> dict[str, str]:
    """Azure's credential header: the key in ``api-key``, else an Entra ID token as a bearer."""
    if endpoint.api_key:
        return {"api-key": endpoint.api_key}
    if endpoint.auth_token:
        return {"Authorization": f"Bearer {endpoint.auth_token}"}
    return {}


def _join(parts: SplitResult, path: str, query: list[tuple[str, str]], version: str | None) -> str:
    if version:
        query = [*query, ("api-version", version)]
    return urlunsplit((parts.scheme, parts.netloc, path, urlencode(query), ""))
