"""Ollama /api/chat and /api/generate NDJSON: normalize and encode. Being written for issue 3."""

from __future__ import annotations

from .base import Dialect

NAME = "ollama"


class Ollama(Dialect):
    name = NAME
    description = "Ollama /api/chat and /api/generate NDJSON"
    framing = "ndjson"
