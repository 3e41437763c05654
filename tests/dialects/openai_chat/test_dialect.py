"""The openai-chat dialect as a whole: which streams it claims."""

from __future__ import annotations

from streamkit.dialects.openai_chat import OpenAIChat


def test_sniff() -> None:
    dialect = OpenAIChat()
    assert dialect.sniff({"object": "chat.completion.chunk", "choices": []})
    assert dialect.sniff({"choices": [], "id": "", "object": "", "prompt_filter_results": []})
    assert dialect.sniff({"id": "x", "choices": [{"index": 0, "delta": {"content": "a"}}]})
    assert not dialect.sniff(
        {"choices": [{"index": 0, "text": "legacy completion"}], "object": "text_completion"}
    )
    assert not dialect.sniff({"type": "message_start"})
    assert not dialect.sniff("[DONE]")
