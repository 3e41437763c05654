"""Reasoning a reader never sees: another dialect's redacted or encrypted reasoning.

Anthropic's ``redacted_thinking`` (``redacted_data``), a Responses reasoning item's
``encrypted_content`` (and an Anthropic compaction's), OpenRouter's ``reasoning.encrypted``
details (``data`` under ``openai-chat``) travel in ``provider_metadata`` only. An encoder whose
wire has no place for them drops them; it counts them (:meth:`Encoder.drop`) through this test,
so that the conversion says so instead of losing them silently.
"""

from __future__ import annotations

from typing import Any

#: what the drop warning calls them
HIDDEN_REASONING = "redacted or encrypted reasoning from other dialects"

_KEYS = ("redacted_data", "encrypted_content")


def hidden_reasoning(event: dict[str, Any], own: str) -> bool:
    """Whether a reasoning event or part carries another dialect's (not ``own``'s) redacted or
    encrypted reasoning."""
    pm = event.get("provider_metadata")
    if not pm or type(pm) is not dict:
        return False
    for dialect, meta in pm.items():
        if dialect == own or type(meta) is not dict:
            continue
        if any(meta.get(key) for key in _KEYS):
            return True
        if dialect == "openai-chat" and meta.get("data") and meta.get("type") == "reasoning.encrypted":
            return True
    return False
