"""The Responses API's whole answers: the ``response`` object of a request that did not ask for a
stream, and the error body of a request that failed.

* :func:`whole_response`: the accumulated ``message`` → the ``response`` object the API returns
  (``object: "response"``, ``status``, ``output`` items, ``usage``, ``error``,
  ``incomplete_details``), the one the stream's terminal event would hold (no message at all:
  a failed response): it is made by the
  encoder, so that a streamed and a whole answer have the same items (custom tool calls, reasoning
  with its encrypted content, annotations, provider-executed tools) and the same status rules.
* :func:`error_body`: OpenAI's error shape, ``{"error": {"message", "type", "param", "code"}}``,
  from which the official SDK raises its error type of the status (``BadRequestError``,
  ``AuthenticationError``, ``RateLimitError``, ``InternalServerError``, ...) with the message.
"""

from __future__ import annotations

from typing import Any

from ...canonical import message_to_events
from .encode import ResponsesEncoder

#: the ``type`` and default ``code`` of OpenAI's errors, by HTTP status, as the API writes them
#: (other 4xx: ``invalid_request_error``; 5xx: ``server_error``)
ERROR_TYPES = {429: "requests"}
ERROR_CODES = {401: "invalid_api_key", 429: "rate_limit_exceeded"}

_TERMINAL = frozenset({"response.completed", "response.incomplete", "response.failed"})


def whole_response(messages: list[dict[str, Any]], **options: Any) -> dict[str, Any]:
    """The ``response`` object of one accumulated message (the first choice: the Responses API
    has no other; later ones are dropped with the encoder's warning). ``options`` are the
    encoder's: ``custom_tools``, ``previous_response_id``."""
    encoder = ResponsesEncoder(**options)
    wire: list[tuple[str | None, Any]] = [] if messages else encoder.feed({"type": "start"})
    for message in messages:
        meta = message.get("provider_metadata")
        for event in message_to_events(message):
            if event["type"] == "finish" and meta:
                # what the finish carried (the raw usage, the service tier) is on the message
                event = {**event, "provider_metadata": meta}
            wire += encoder.feed(event)
    wire += encoder.close()
    terminal = [data for _, data in wire if isinstance(data, dict) and data.get("type") in _TERMINAL]
    response: dict[str, Any] = terminal[0]["response"]  # close() ends every response it began
    return response


def error_body(status: int, message: str, code: Any = None) -> dict[str, Any]:
    """OpenAI's error body for an HTTP status (``code`` a string, or the status's usual one)."""
    kind = ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    if code is None:
        code = ERROR_CODES.get(status)
    elif not isinstance(code, str):
        code = str(code)
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}
