"""Anthropic Messages streaming events (message_start ... message_stop): normalize and encode. Being written for issue 3."""

from __future__ import annotations

from .base import Dialect

NAME = "anthropic"


class Anthropic(Dialect):
    name = NAME
    description = "Anthropic Messages streaming events (message_start ... message_stop)"
    framing = "sse"
