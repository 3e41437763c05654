"""The credentials a request carries, and keeping them out of what streamkit writes: an upstream
may echo a key back (in an error body, or a misbehaving proxy in its stream), and a message may
quote a header; none of it may reach events, messages, recordings or a gateway's clients."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .dialects.base import Request

#: request headers whose values are credentials
SECRET_HEADERS = frozenset({"authorization", "x-api-key", "x-goog-api-key", "api-key"})
_SECRET_NAME = re.compile(r"auth|key|token|secret|password|cookie")


def header_secrets(headers: Mapping[str, str], *, named: bool = False) -> set[str]:
    """The credentials among request headers (a bearer token also without its ``Bearer``). With
    ``named``, also the value of any header whose name says it holds one (``X-Tool-Token``,
    ``X-Api-Secret``): what a tools file sets for a tool's server."""
    found: set[str] = set()
    for name, value in headers.items():
        lower = name.lower()
        if value and (lower in SECRET_HEADERS or (named and _SECRET_NAME.search(lower) is not None)):
            found.add(value)
            if value[:7].lower() == "bearer ":
                found.add(value[7:].strip())
    return found


def request_secrets(request: Request) -> list[str]:
    """The credentials a request carries (header values, a bearer token, a ``key`` query
    parameter), longest first, for :func:`redact`."""
    from urllib.parse import parse_qsl, urlsplit

    found = header_secrets(request.headers)
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


#: the shortest secret taken out of a stream's own bytes: a real key is 30 characters or more, and
#: a short placeholder key ("ollama", "sk-x") would take words out of the answer
STREAM_SECRET_MIN = 16


def echoable(secrets: Iterable[str]) -> list[str]:
    """The secrets long enough to be looked for in what a server answers (a stream's bytes, a
    tool's output: :data:`STREAM_SECRET_MIN`), longest first, for :func:`redact`."""
    return sorted((s for s in secrets if len(s) >= STREAM_SECRET_MIN), key=len, reverse=True)


class StreamRedactor:
    """A body's bytes with every secret replaced by ``[redacted]``, chunk by chunk as they arrive:
    a proxy that echoes the request's headers into its stream must not put the key into raw
    events, recordings or a gateway's answer. A chunk's last bytes that could begin a secret are
    held back until the next chunk (or :meth:`close`) says whether they do; no other byte waits, and
    a chunk that ends an event (a line end) holds nothing back."""

    def __init__(self, secrets: list[str]) -> None:
        self.secrets = [s.encode() for s in echoable(secrets)]
        self._tail = b""
        #: the bytes secrets hold: a chunk whose last byte is none of them (a line end, the usual
        #: last byte of a read) can end with no secret's start
        self._bytes = frozenset(b for secret in self.secrets for b in secret)
        # what is looked for in every chunk: the start of each secret that holds no other (a
        # bearer header holds its key); a short needle is found far faster than a long one (CPython
        # prepares a needle on each search), and the whole secrets are replaced where one is found
        cores = [s for s in self.secrets if not any(o != s and o in s for o in self.secrets)]
        self._probes = sorted({core[:STREAM_SECRET_MIN] for core in cores})

    def __bool__(self) -> bool:
        return bool(self.secrets)

    def feed(self, chunk: bytes) -> bytes:
        data = self._tail + chunk if self._tail else chunk
        for probe in self._probes:
            if probe in data:
                for secret in self.secrets:  # (longest first)
                    if secret in data:
                        data = data.replace(secret, b"[redacted]")
                break
        held = self._held(data) if data and data[-1] in self._bytes else 0
        self._tail = data[len(data) - held :] if held else b""
        return data[: len(data) - held] if held else data

    def close(self) -> bytes:
        """The bytes held back at the end of the body (no secret: it ended before one could)."""
        tail, self._tail = self._tail, b""
        return tail

    def _held(self, data: bytes) -> int:
        """How many of the last bytes of ``data`` are the start of a secret (0: none)."""
        held = 0
        for secret in self.secrets:
            first = secret[:1]
            at = data.find(first, max(0, len(data) - len(secret) + 1))
            while at != -1:
                if secret.startswith(data[at:]):
                    held = max(held, len(data) - at)
                    break
                at = data.find(first, at + 1)
        return held
