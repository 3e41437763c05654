"""Google Gemini streamGenerateContent (SSE with alt=sse, or one JSON array): normalize and encode. Being written for issue 3."""

from __future__ import annotations

from .base import Dialect

NAME = "gemini"


class Gemini(Dialect):
    name = NAME
    description = "Google Gemini streamGenerateContent (SSE with alt=sse, or one JSON array)"
    framing = "sse"
