"""The credentials a request carries, and keeping them out of what streamkit writes: an upstream
may echo a key back (in an error body, or a misbehaving proxy in its stream), and a message may
quote a header; none of it may reach events, messages, recordings or a gateway's clients."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .dialects.base import Request

SECRET_HEADERS = frozenset({"authorization", "x-api-key", "x-goog-api-key", "api-key"})


def request_secrets(request: Request) -> list[str]:
    """The credentials a request carries (header values, a bearer token, a ``key`` query
    parameter), longest first, for :func:`redact`."""
    from urllib.parse import parse_qsl, urlsplit

    found: set[str] = set()
    for name, value in request.headers.items():
        if name.lower() in SECRET_HEADERS and value:
            found.add(value)
            if value[:7].lower() == "bearer ":
                found.add(value[7:].strip())
    found.update(v for k, v in parse_qsl(urlsplit(request.url).query) if k.lower() == "key" and v)
    # and each as a message may quote it: escaped, as Python writes a str or bytes value (h11
    # refuses a header holding a line break by quoting the header's bytes)
    found.update([*(ascii(v)[1:-1] for v in found), *(repr(v.encode())[2:-1] for v in found)])
    return sorted((s for s in found if len(s) >= 4), key=len, reverse=True)


def redact(text: str, secrets: list[str]) -> str:
    """``text`` with every secret replaced by ``[redacted]`` (an upstream may echo a key back in
    its error body: it must not reach events, messages or a gateway's clients)."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, "[redacted]")
    return text
