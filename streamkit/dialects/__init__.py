"""The built-in dialects, registered through the same hook as any plugin's.

Marked ``trylast`` so that an installed plugin registering the same name wins.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..hookspecs import hookimpl


@hookimpl(trylast=True)
def register_dialects(register: Callable[[Any], None]) -> None:
    from .anthropic import Anthropic
    from .gemini import Gemini
    from .ollama import Ollama
    from .openai_assistants import OpenAIAssistants
    from .openai_chat import OpenAIChat
    from .openai_responses import OpenAIResponses

    for dialect in (OpenAIChat(), OpenAIResponses(), OpenAIAssistants(), Anthropic(), Gemini(), Ollama()):
        register(dialect)
