"""OpenAI Assistants API run streams (thread.run.*, thread.run.step.*, thread.message.*): normalize and encode. Being written for issue 3."""

from __future__ import annotations

from .base import Dialect

NAME = "openai-assistants"


class OpenAIAssistants(Dialect):
    name = NAME
    description = "OpenAI Assistants API run streams (thread.run.*, thread.run.step.*, thread.message.*)"
    framing = "sse"
