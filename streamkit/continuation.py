"""The next conversation: what a response and its tool results add to the conversation it answered.

``render -f conversation`` and ``agent`` both use this: the assistant's turn (the accumulated
message's parts, reasoning and signatures included, since some providers require them back),
then one ``tool`` message per client tool result, and one per answer to a provider's approval
request (a ``tool-approval-response`` naming a ``tool-approval-request`` part of the message),
then the dialect's continuation state (see
:meth:`streamkit.dialects.base.Dialect.continuation_state`).
"""

from __future__ import annotations

from typing import Any

from .conversation import check


def assistant_message(message: dict[str, Any]) -> dict[str, Any]:
    """The conversation message of an accumulated ``message`` event."""
    out: dict[str, Any] = {"role": "assistant", "content": [dict(p) for p in message.get("content") or ()]}
    if message.get("provider_metadata"):
        out["provider_metadata"] = message["provider_metadata"]
    return out


def tool_message(result: dict[str, Any]) -> dict[str, Any]:
    """The ``tool`` message of a ``tool-result``, or of a ``tool-approval-response`` (``approved``
    and ``reason`` instead of an output)."""
    if result.get("type") == "tool-approval-response":
        answer: dict[str, Any] = {"role": "tool", "tool_call_id": result["tool_call_id"],
                                  "approved": bool(result.get("approved"))}  # fmt: skip
        if isinstance(result.get("reason"), str):
            answer["reason"] = result["reason"]
        return answer
    out: dict[str, Any] = {
        "role": "tool",
        "tool_call_id": result["tool_call_id"],
        "output": result.get("output"),
    }
    if result.get("tool_name"):
        out["tool_name"] = result["tool_name"]
    if result.get("is_error"):
        out["is_error"] = True
    return out


def next_conversation(base: dict[str, Any] | None, turns: list[tuple[dict[str, Any], list[dict[str, Any]]]],
                      registry: Any = None) -> dict[str, Any]:  # fmt: skip
    """``base`` plus each ``(message, tool results)`` turn, with the dialects' continuation state."""
    conversation = check(base) if base is not None else {"messages": []}
    conversation = {**conversation, "messages": list(conversation["messages"])}
    state = dict(conversation.get("state") or {})
    for message, results in turns:
        conversation["messages"].append(assistant_message(message))
        known = len(conversation["messages"])
        name = message.get("dialect")
        if name and registry is not None:
            try:
                dialect = registry.dialect(name)
            except Exception:
                dialect = None
            if dialect is not None:
                value = dialect.continuation_state(message, known)
                if value is None:
                    state.pop(name, None)
                else:
                    state[name] = value
        # the conversation's model stays the caller's: the model a response reports is often a
        # dated variant, and for Assistants it is the run's model, not the assistant id
        conversation["messages"].extend(tool_message(r) for r in results)
    if state:
        conversation["state"] = state
    else:
        conversation.pop("state", None)
    return conversation


def turns_of(events: Any) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Each final message (choice 0) with the client tool results that answer its calls, and the
    answers to the approval requests it holds (``tool-approval-response`` events).

    Results are matched to calls by id wherever they appear: ``run-tools`` writes a result as soon
    as its tool finishes, which may be before the response's ``finish`` and ``message`` arrive.
    """
    messages: list[dict[str, Any]] = []
    results: dict[str, dict[str, Any]] = {}
    answers: dict[str, dict[str, Any]] = {}
    for event in events:
        kind = event.get("type")
        if kind == "message" and not event.get("choice"):
            messages.append(event)
        elif kind == "tool-result" and not event.get("provider_executed") and event.get("tool_call_id"):
            results.setdefault(event["tool_call_id"], event)
        elif kind == "tool-approval-response" and isinstance(event.get("tool_call_id"), str):
            answers.setdefault(event["tool_call_id"], event)
    turns = []
    for message in messages:
        content = message.get("content") or ()
        calls = [
            p["tool_call_id"]
            for p in content
            if p.get("type") == "tool-call" and not p.get("provider_executed")
        ]
        asked = [p["tool_call_id"] for p in content if p.get("type") == "tool-approval-request"]
        answered = [results[c] for c in calls if c in results] + [answers[a] for a in asked if a in answers]
        turns.append((message, answered))
    return turns
