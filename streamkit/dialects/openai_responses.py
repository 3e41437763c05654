"""OpenAI Responses API events (response.*), over SSE; also Responses-compatible servers: normalize and encode. Being written for issue 3."""

from __future__ import annotations

from .base import Dialect

NAME = "openai-responses"


class OpenAIResponses(Dialect):
    name = NAME
    description = "OpenAI Responses API events (response.*), over SSE; also Responses-compatible servers"
    framing = "sse"
