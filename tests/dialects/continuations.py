"""How each dialect carries tool results in a continuation request, read from the request body.

One module per dialect (``tests/dialects/openai_chat/continuations.py`` for ``openai-chat``), each defining
``results(body) -> list[tuple[str, bool]]``: the text of each tool output the request carries,
and whether the request marks it as an error (False where the format cannot say). Used by the
agent tests to check what ``streamkit serve --log-requests`` saw.
"""

from __future__ import annotations

import importlib
from typing import Any


def results(dialect: str, body: Any) -> list[tuple[str, bool]]:
    module = importlib.import_module(f"tests.dialects.{dialect.replace('-', '_')}.continuations")
    return module.results(body)
