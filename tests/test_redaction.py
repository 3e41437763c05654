"""Keeping a request's secrets out of what streamkit writes (:mod:`streamkit.redaction`): the
secrets a request carries, in every form a message may quote them, and a body's bytes redacted as
they arrive, whatever the reads' boundaries, holding back only what could begin a secret."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from streamkit.dialects.base import Request
from streamkit.redaction import STREAM_SECRET_MIN, StreamRedactor, redact, request_secrets

KEY = "sk-proj-Abc123SECRETxyz789"


def test_a_requests_secrets_in_every_form_a_message_quotes_them() -> None:
    request = Request("https://api.test/v1/x?key=AIzaQUERYKEY&alt=sse", {},
                      headers={"Authorization": f"Bearer {KEY}\n2", "x-api-key": "short", "content-type": "json"})  # fmt: skip
    secrets = request_secrets(request)
    assert f"{KEY}\n2" in secrets and f"{KEY}\\n2" in secrets  # (as a str's or bytes' repr escapes it)
    assert "AIzaQUERYKEY" in secrets and "short" in secrets and "json" not in secrets
    assert secrets == sorted(secrets, key=len, reverse=True)
    assert (
        redact(f"Illegal header value b'Bearer {KEY}\\n2'", secrets) == "Illegal header value b'[redacted]'"
    )


@settings(max_examples=300, deadline=None)
@given(
    before=st.binary(max_size=40),
    between=st.binary(max_size=40),
    after=st.binary(max_size=40),
    cuts=st.lists(st.integers(0, 200), max_size=6),
)
def test_any_reads_of_a_body_give_the_body_redacted(
    before: bytes, between: bytes, after: bytes, cuts: list[int]
) -> None:
    body = before + KEY.encode() + between + KEY.encode()[:-1] + b"\n" + KEY.encode() + after
    bounds = sorted({0, len(body), *(c for c in cuts if c < len(body))})
    redactor = StreamRedactor([KEY])
    out = [redactor.feed(body[a:b]) for a, b in pairwise(bounds)]
    out.append(redactor.close())
    assert b"".join(out) == body.replace(KEY.encode(), b"[redacted]")


def test_only_what_could_begin_a_secret_waits() -> None:
    redactor = StreamRedactor([KEY])
    assert redactor.feed(b'data: {"text": "sk-pr') == b'data: {"text": "'  # (the start of the key)
    assert redactor.feed(b'ompt"}\n\n') == b'sk-prompt"}\n\n'  # (it was not: said at the next read)
    assert redactor.feed(b"data: [DONE]\n\n") == b"data: [DONE]\n\n"  # (a line end holds nothing)
    assert redactor.feed(b"a sk") == b"a " and redactor.close() == b"sk"


def test_a_short_placeholder_key_is_no_secret_in_a_stream() -> None:
    """A local server's placeholder key (Ollama's "ollama") would take words out of the answer."""
    assert not StreamRedactor(["ollama", "x" * (STREAM_SECRET_MIN - 1)])
    assert StreamRedactor(["ollama", KEY]).feed(b"ollama says " + KEY.encode()) == b"ollama says [redacted]"
