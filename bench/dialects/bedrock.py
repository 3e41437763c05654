"""Amazon Bedrock ConverseStream: events shaped like the frames Bedrock sends today (each payload
padded with a ``p`` field of varying length), as ``fetch --replay`` writes them from the binary
frames: the event name from the ``:event-type`` header, the parsed JSON payload as data.

There is no ``sdk_accumulate``: boto3 and botocore parse the events but have no accumulator.
"""

from __future__ import annotations

from typing import Any

NAME = "bedrock"
WORDS = ["Hello", " world", ",", " this", " is", " a", " streamed", " token", ".", "\n"]
PAD = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def wire_events(n: int) -> list[tuple[str | None, Any]]:
    events: list[tuple[str | None, Any]] = [("messageStart", {"p": PAD[:17], "role": "assistant"})]
    events += [
        (
            "contentBlockDelta",
            {"contentBlockIndex": 0, "delta": {"text": WORDS[i % len(WORDS)]}, "p": PAD[: 1 + i * 7 % 60]},
        )
        for i in range(n - 4)
    ]
    events.append(("contentBlockStop", {"contentBlockIndex": 0, "p": PAD[:33]}))
    events.append(("messageStop", {"p": PAD[:14], "stopReason": "end_turn"}))
    usage = {"inputTokens": 13, "outputTokens": n - 4, "totalTokens": n + 9}
    events.append(("metadata", {"metrics": {"latencyMs": 522}, "p": PAD[:40], "usage": usage}))
    return events
