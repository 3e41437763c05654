"""How each dialect carries tool results in a continuation request, read from the request body.

One module per dialect (``tests/dialects/openai_chat/continuations.py`` for ``openai-chat``),
each defining ``results(body) -> list[tuple[str, bool]]``: the text of each tool output the
request carries, and whether the request marks it as an error (False where the format cannot
say); and ``images(body) -> list[str]``: the base64 data of the images the results carry, where
the dialect carries them. Used by the agent and gateway tests to check what ``streamkit serve
--log-requests`` saw.
"""

from __future__ import annotations

import importlib
from typing import Any


def results(dialect: str, body: Any) -> list[tuple[str, bool]]:
    module = importlib.import_module(f"tests.dialects.{dialect.replace('-', '_')}.continuations")
    return module.results(body)


def images(dialect: str, body: Any) -> list[str]:
    module = importlib.import_module(f"tests.dialects.{dialect.replace('-', '_')}.continuations")
    return module.images(body)
