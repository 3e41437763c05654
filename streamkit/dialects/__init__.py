"""The built-in dialects, registered through the same hook as any plugin's.

Registered as :class:`~streamkit.dialects.base.LazyDialect`, so that a command imports only the
dialect modules it uses (``normalize`` of a stream stamped ``openai-chat`` never imports the
Anthropic module); a test checks that each entry's name, description and framing are the
dialect class's own. Marked ``trylast`` so that an installed plugin registering the same name wins.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..hookspecs import hookimpl
from .base import LazyDialect

BUILTIN: tuple[tuple[str, str, str, str], ...] = (
    ("openai-chat", "streamkit.dialects.openai_chat:OpenAIChat", "sse",
     "OpenAI Chat Completions chunks (and compatible servers: Azure, Mistral, DeepSeek, Groq, OpenRouter, vLLM, ...)"),
    ("openai-responses", "streamkit.dialects.openai_responses:OpenAIResponses", "sse",
     "OpenAI Responses API events (response.*), over SSE; also Responses-compatible servers"),
    ("openai-assistants", "streamkit.dialects.openai_assistants:OpenAIAssistants", "sse",
     "OpenAI Assistants API run streams (thread.run.*, thread.run.step.*, thread.message.*)"),
    ("anthropic", "streamkit.dialects.anthropic:Anthropic", "sse",
     "Anthropic Messages streaming events (message_start ... message_stop)"),
    ("gemini", "streamkit.dialects.gemini:Gemini", "sse",
     "Google Gemini streamGenerateContent (SSE with alt=sse, or one JSON array)"),
    ("ollama", "streamkit.dialects.ollama:Ollama", "ndjson", "Ollama /api/chat and /api/generate NDJSON"),
)  # fmt: skip


@hookimpl(trylast=True)
def register_dialects(register: Callable[[Any], None]) -> None:
    for name, target, framing, description in BUILTIN:
        register(LazyDialect(name, target, description=description, framing=framing))
