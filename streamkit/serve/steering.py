"""Steering over the Responses WebSocket (``response.steer``), in the gateway, for any upstream.

A client of the WebSocket mode may queue user input for a response under way on its connection:
``{"type": "response.steer", "previous_response_id": ID, "input": ...}`` (the official SDK's
``client.beta.responses.connect()`` and ``connection.response.steer(...)``). No upstream of the
gateway knows of it, so the gateway does what the API describes with the requests it already
makes:

* The event is checked as the API checks it: only ``type``, ``previous_response_id`` and
  ``input``; ``input`` a non-empty string, or a non-empty list of ``user`` messages of ``type``,
  ``role`` and ``content`` (a string, or ``input_text`` / ``input_image`` / ``input_file``
  parts). Anything else is ``response.steer.failed`` with ``invalid_input`` and the input given
  back. A response this connection is not running is ``response_not_found``, or
  ``response_already_completed`` when it ran here and ended; more than :data:`MAX_STEERS`
  queued on one response, or more queued input than one request may be large (``--max-body``,
  together with the requests waiting on the connection's lanes) is ``too_many_pending_steers``.
* Accepted input gets an id (``steer_`` and 32 hex digits) and ``response.steer.accepted``, on
  the lane (``stream_id``) of the response it steers. The response runs on to its end: the
  gateway cannot tell the upstream mid-answer, so no response ends early as ``steered``.
* The response completed with nothing waiting for the client: the gateway starts its successor
  at once on the same lane, as the API does: the response's own request (model, instructions,
  tools, options), continuing it (``previous_response_id``), with the queued input in the order it
  came as the new input. Its ``response.created`` is where the input is committed; a successor
  the upstream refuses before its first byte gives each input back in ``response.steer.failed``
  (``successor_creation_failed``).
* The response stopped for the client's own tool calls (function, custom, shell, apply-patch,
  computer, client tool-search calls) or MCP approvals: ``response.steer.pending``
  (``waiting_for_required_input``) follows ``response.completed``, once per steering input, with
  the stubs of the outputs it waits for (``required_input``). The client's next
  ``response.create`` naming that response gets the queued input inserted in its input: after the
  outputs and approval answers it starts with, so that every upstream gets a tool's result right
  after its call (Anthropic and Chat Completions refuse a turn between them), and before the rest.
  At most :data:`MAX_STEERS` responses keep input waiting so on a connection (the oldest is let
  go).
* The response failed, was cancelled or ended incomplete: its queued input comes back in
  ``response.steer.failed`` (``response_not_active``).

The steering events carry a ``sequence_number`` counted per connection (they belong to no one
response's stream).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

#: the steering inputs one response may have queued at once
MAX_STEERS = 16
#: the fields a ``response.steer`` event may have
FIELDS = frozenset({"type", "previous_response_id", "input"})
#: the content part types steering input may hold
PARTS = frozenset({"input_text", "input_image", "input_file"})
#: output item type -> the stub of the input that answers it (its identifying fields)
_REQUIRED = {
    "function_call": ("function_call_output", ("call_id", "name")),
    "custom_tool_call": ("custom_tool_call_output", ("call_id",)),
    "computer_call": ("computer_call_output", ("call_id",)),
    "shell_call": ("shell_call_output", ("call_id",)),
    "apply_patch_call": ("apply_patch_call_output", ("call_id",)),
}
#: input item types that answer what a response waits for (the ones a continuation starts with)
ANSWERS = frozenset({stub for stub, _ in _REQUIRED.values()}
                    | {"tool_search_output", "mcp_approval_response", "local_shell_call_output"})  # fmt: skip


@dataclass
class Steer:
    """One accepted steering input."""

    id: str
    previous_response_id: str
    input: Any
    #: the bytes of its event, counted in what waits on the connection until it is used
    size: int = 0


@dataclass
class Steering:
    """A response under way on a connection that may be steered: its request and lane."""

    body: dict[str, Any]
    lane: str | None
    steers: list[Steer] = field(default_factory=list)
    #: the task answering it (what a ``response.interrupt`` stops)
    task: Any = None


def problem(event: dict[str, Any]) -> str | None:
    """What is wrong with a ``response.steer`` event (None: nothing)."""
    extra = sorted(str(k) for k in event if k not in FIELDS)
    if extra:
        return f"response.steer takes only type, previous_response_id and input, not {', '.join(extra)}"
    previous = event.get("previous_response_id")
    if not isinstance(previous, str) or not previous:
        return "previous_response_id must be a response id"
    value = event.get("input")
    if isinstance(value, str):
        return None if value else "input must not be empty"
    if not isinstance(value, list) or not value:
        return "input must be a string or a non-empty list of user messages"
    for n, item in enumerate(value):
        where = f"input[{n}]"
        if not isinstance(item, dict):
            return f"{where} must be a message"
        if any(k not in ("type", "role", "content") for k in item):
            return f"{where} may hold only type, role and content"
        if item.get("type", "message") != "message" or item.get("role") != "user":
            return f"{where}: steering takes only messages of the user role"
        content = item.get("content")
        if isinstance(content, str):
            continue
        if not isinstance(content, list) or not all(
            isinstance(part, dict) and part.get("type") in PARTS for part in content
        ):
            return f"{where}.content must be a string or input_text, input_image and input_file parts"
    return None


def new_steer(event: dict[str, Any], size: int) -> Steer:
    return Steer(f"steer_{uuid.uuid4().hex}", event["previous_response_id"], event["input"], size)


def items(steers: list[Steer]) -> list[dict[str, Any]]:
    """The queued inputs as input items, in the order they came."""
    out: list[dict[str, Any]] = []
    for steer in steers:
        if isinstance(steer.input, str):
            out.append({"type": "message", "role": "user", "content": steer.input})
        else:
            out += [{"type": "message", **item} for item in steer.input]
    return out


def required_input(response: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The stubs of the client's outputs a completed response waits for (none: it waits for none)."""
    stubs: list[dict[str, Any]] = []
    output = response.get("output") if isinstance(response, dict) else None
    for item in output if isinstance(output, list) else ():
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if kind in _REQUIRED:
            stub_type, fields = _REQUIRED[kind]
            stubs.append({"type": stub_type, **{f: item.get(f) for f in fields}})
        elif kind == "tool_search_call" and item.get("execution") == "client":
            stubs.append(
                {"type": "tool_search_output", "call_id": item.get("call_id"), "execution": "client"}
            )
        elif kind == "mcp_approval_request":
            stubs.append({"type": "mcp_approval_response", "approval_request_id": item.get("id")})
    return stubs


def successor(body: dict[str, Any], response_id: str, steers: list[Steer]) -> dict[str, Any]:
    """The request of the response that continues ``response_id`` with the queued input: its own
    request's settings, the input new."""
    out = {
        k: v for k, v in body.items() if k not in ("input", "previous_response_id", "generate", "background")
    }
    out["previous_response_id"] = response_id
    out["input"] = items(steers)
    return out


def continued(body: dict[str, Any], steers: list[Steer]) -> dict[str, Any]:
    """The client's continuation of a response that waited for its outputs, with the queued input
    after the outputs and approval answers its input starts with."""
    value = body.get("input")
    given: list[Any] = [{"type": "message", "role": "user", "content": value}] if isinstance(value, str) else (
        list(value) if isinstance(value, list) else []
    )  # fmt: skip
    at = 0
    while at < len(given) and isinstance(given[at], dict) and given[at].get("type") in ANSWERS:
        at += 1
    return {**body, "input": given[:at] + items(steers) + given[at:]}


def steer_of(steer: Steer, *, with_input: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"id": steer.id, "previous_response_id": steer.previous_response_id}
    if with_input:
        out["input"] = steer.input
    return out


def failed(event: dict[str, Any] | Steer, code: str, message: str) -> dict[str, Any]:
    """``response.steer.failed`` (without its sequence number), the input given back."""
    if isinstance(event, Steer):
        steer = steer_of(event, with_input=True)
    else:
        previous = event.get("previous_response_id")
        steer = {
            "previous_response_id": previous if isinstance(previous, str) else "",
            "input": event.get("input"),
        }
    return {"type": "response.steer.failed",
            "error": {"type": "invalid_request_error", "code": code, "message": message}, "steer": steer}  # fmt: skip


def accepted(steer: Steer) -> dict[str, Any]:
    return {"type": "response.steer.accepted", "steer": steer_of(steer)}


def pending(steer: Steer, stubs: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "response.steer.pending", "reason": "waiting_for_required_input",
            "required_input": stubs, "steer": steer_of(steer)}  # fmt: skip
