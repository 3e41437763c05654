"""Which upstream a request goes to, with which key: options, then ``STREAMKIT_*``, then the
provider's usual variables, then the dialect's default.

Base URL: ``--base-url``, ``STREAMKIT_BASE_URL``, the dialect's variables (``OPENAI_BASE_URL``,
``ANTHROPIC_BASE_URL``, ``OLLAMA_HOST``, ...), its default. Key: ``--key-file``,
``STREAMKIT_API_KEY_FILE``, ``STREAMKIT_API_KEY``, the dialect's variables (``OPENAI_API_KEY``,
``ANTHROPIC_API_KEY``, ``GEMINI_API_KEY``, ...); for an Azure URL, Azure's (``AZURE_OPENAI_API_KEY``).
A bearer token (``ANTHROPIC_AUTH_TOKEN``, ``AZURE_OPENAI_AD_TOKEN``) and an API version
(``OPENAI_API_VERSION``) come from the dialect's variables only. Model: ``-m``, the
conversation's, ``STREAMKIT_MODEL``.
Keys are never written anywhere: not to stdout, recordings, events or messages.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .dialects.base import Endpoint
from .errors import UsageError


def _first(env: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = env.get(name)
        if value:
            return value
    return None


def read_key_file(path: str) -> str:
    try:
        key = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise UsageError(f"cannot read key file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:  # (a key's text never goes into a message)
        raise UsageError(f"key file {path} is not UTF-8 text") from None
    if not key:
        raise UsageError(f"key file {path} is empty")
    return key


def resolve(dialect: Any, *, base_url: str | None = None, key_file: str | None = None, model: str | None = None,
            env: Mapping[str, str] | None = None) -> Endpoint:  # fmt: skip
    """The endpoint for ``dialect`` from options and the environment."""
    if not getattr(dialect, "makes_requests", True):
        raise UsageError(
            f"the {dialect.name} dialect makes no requests: streamkit reads and writes its streams "
            f"(fetch --replay FILE, convert, render -f {dialect.name}) but does not call its API"
        )
    env = os.environ if env is None else env
    url = (
        base_url
        or env.get("STREAMKIT_BASE_URL")
        or _first(env, dialect.base_url_env)
        or dialect.default_base_url
    )
    if not url:
        raise UsageError(f"no base URL for {dialect.name}: pass --base-url or set STREAMKIT_BASE_URL")
    if "://" not in url:  # OLLAMA_HOST is often host, or host:port
        from urllib.parse import urlsplit

        url = "http://" + url
        port = getattr(dialect, "default_port", None)
        if port and urlsplit(url).port is None:
            parts = urlsplit(url)
            url = f"{parts.scheme}://{parts.netloc}:{port}{parts.path}"
    url = url.rstrip("/")
    scheme = url.split("://", 1)[0].lower()
    # (ws and wss: a Responses base URL for --transport websocket, as before; the message names
    # the scheme alone, since a URL may carry credentials)
    if scheme not in ("http", "https", "ws", "wss"):
        raise UsageError(
            f"the base URL for {dialect.name} is {scheme}://...: streamkit speaks http(s) and ws(s)"
        )
    credential_env = getattr(dialect, "credential_env", None)
    key_env, token_env = credential_env(url) if credential_env else (dialect.api_key_env, ())
    key_file = key_file or env.get("STREAMKIT_API_KEY_FILE")
    if key_file:
        api_key: str | None = _header_safe(read_key_file(key_file), f"the key file {key_file}")
    else:
        names = ("STREAMKIT_API_KEY", *key_env)
        api_key = _header_safe(_first(env, names), _named(env, names))
    return Endpoint(url, api_key, model or env.get("STREAMKIT_MODEL") or None,
                    auth_token=_header_safe(_first(env, token_env), _named(env, token_env)),
                    api_version=_first(env, getattr(dialect, "api_version_env", ())))  # fmt: skip


def _named(env: Mapping[str, str], names: tuple[str, ...]) -> str:
    return next((f"${name}" for name in names if env.get(name)), "")


def _header_safe(secret: str | None, source: str) -> str | None:
    """A key or token as it goes into a header: one that holds a line break or another control
    character (two keys pasted into one file) is a usage error, which never quotes it."""
    if secret is not None and not secret.isprintable():
        raise UsageError(f"the key in {source} holds a line break or another control character")
    return secret
