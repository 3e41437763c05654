"""The anthropic dialect as a whole: the events it claims when none is named (sniffing), in SSE
or as bare payload lines."""

from __future__ import annotations

import orjson

from streamkit.dialects.anthropic import Anthropic
from streamkit.stages.normalize import normalize
from tests.dialects.anthropic.test_normalize import START


def test_sniff() -> None:
    dialect = Anthropic()
    assert dialect.sniff({"type": "message_start", "message": {}})
    assert dialect.sniff({"type": "ping"}, "ping")
    assert dialect.sniff({"type": "error", "error": {"type": "overloaded_error", "message": "x"}}, "error")
    assert not dialect.sniff({"type": "error", "code": "x", "message": "y"})  # a Responses error
    assert not dialect.sniff({"type": "response.created"})
    assert not dialect.sniff({"object": "chat.completion.chunk", "choices": []})
    assert not dialect.sniff("[DONE]")


def test_bare_payload_lines_are_detected() -> None:
    lines = b"\n".join(orjson.dumps(p) for p in [START, {"type": "message_stop"}])
    events = list(normalize(orjson.loads(line) for line in lines.splitlines()))
    assert [(e["type"], e.get("dialect")) for e in events] == [("start", "anthropic"), ("finish", None)]
