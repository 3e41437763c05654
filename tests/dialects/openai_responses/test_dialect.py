"""The openai-responses dialect as a whole: telling its streams from other dialects'."""

from __future__ import annotations

from streamkit.dialects.openai_responses import OpenAIResponses


def test_sniff() -> None:
    dialect = OpenAIResponses()
    assert dialect.sniff({"type": "response.created", "response": {}})
    assert dialect.sniff({"type": "response.output_text.delta", "delta": "x"})
    assert dialect.sniff({"type": "error", "code": "x", "message": "y", "sequence_number": 3})
    assert not dialect.sniff({"type": "error", "error": {"type": "overloaded_error"}})  # Anthropic's
    assert not dialect.sniff({"type": "message_start"})
    assert not dialect.sniff({"object": "chat.completion.chunk", "choices": []})
    assert not dialect.sniff("[DONE]")
