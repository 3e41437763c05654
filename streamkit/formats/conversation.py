"""The ``conversation`` format: the next conversation, for a plain shell loop to send back.

``render -f conversation -O base=conv.json`` (or ``--base conv.json``) reads a stream (the
answer to ``conv.json``, with its tool results from ``run-tools``) and writes the conversation
to send next: the base, the assistant's turn, a ``tool`` message per result, and whatever the
dialect needs to continue on the server. Accumulates first when the stream has no ``message``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from ..errors import UsageError
from .base import Format


class ConversationFormat(Format):
    name = "conversation"
    description = "The next conversation to send (with --base FILE, the one this stream answered)"
    extension = "json"
    wants_registry = True  # each dialect says how it continues (its continuation state)

    def render(
        self, events: Iterable[dict[str, Any]], *, base: Any = None, registry: Any = None, **options: Any
    ) -> Iterator[bytes]:
        from ..continuation import next_conversation, turns_of
        from ..stages.accumulate import accumulate

        if isinstance(base, str):
            try:
                with open(base, "rb") as f:
                    base = orjson.loads(f.read())
            except OSError as exc:
                raise UsageError(f"cannot read the base conversation {base}: {exc.strerror}") from None
            except orjson.JSONDecodeError as exc:
                raise UsageError(f"the base conversation is not valid JSON: {exc}") from None
        conversation = next_conversation(base, turns_of(accumulate(events)), registry)
        yield orjson.dumps(conversation, option=orjson.OPT_APPEND_NEWLINE)
