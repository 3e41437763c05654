"""OpenAI Assistants: one run stream shaped like today's api.openai.com run streams, mostly
``thread.message.delta`` text deltas.

The SDK has no standalone accumulator object for Assistants; its streaming helper
(``AssistantEventHandler``) is the official counterpart: every event is built into the SDK's types
as its client builds them (``construct_type``, the non-strict default) and folded into message and
run-step snapshots by the helper's own event handling.
"""

from __future__ import annotations

from typing import Any

NAME = "openai-assistants"
WORDS = ["Hello", " world", ",", " this", " is", " a", " streamed", " token", ".", "\n"]
T0 = 1770933892
THREAD, RUN, ASST = (
    "thread_D6qZM15UafaTPBIKpFWMHX4z",
    "run_nezDdZLDckoW8VYMlRPSTuJK",
    "asst_iFd6yQj3TvLHWFNpW45hvoHg",
)
STEP, MSG = "step_HRxeU5QI4zFVvTODXsoelkYu", "msg_2m8nOXQFmOu5nBoyAM2iWSi2"


def run(status: str, **fields: Any) -> dict[str, Any]:
    obj = {
        "id": RUN,
        "object": "thread.run",
        "created_at": T0,
        "assistant_id": ASST,
        "thread_id": THREAD,
        "status": status,
        "started_at": None if status == "queued" else T0 + 1,
        "expires_at": T0 + 600,
        "cancelled_at": None,
        "failed_at": None,
        "completed_at": None,
        "required_action": None,
        "last_error": None,
        "model": "gpt-4o",
        "instructions": "",
        "tools": [],
        "tool_resources": {"code_interpreter": {"file_ids": []}},
        "metadata": {},
        "temperature": 1.0,
        "top_p": 1.0,
        "reasoning_effort": None,
        "max_completion_tokens": None,
        "max_prompt_tokens": None,
        "truncation_strategy": {"type": "auto", "last_messages": None},
        "incomplete_details": None,
        "usage": None,
        "response_format": "auto",
        "tool_choice": "auto",
        "parallel_tool_calls": True,
    }
    obj.update(fields)
    return obj


def step(status: str) -> dict[str, Any]:
    return {
        "id": STEP,
        "object": "thread.run.step",
        "created_at": T0 + 2,
        "run_id": RUN,
        "assistant_id": ASST,
        "thread_id": THREAD,
        "type": "message_creation",
        "status": status,
        "cancelled_at": None,
        "completed_at": T0 + 3 if status == "completed" else None,
        "expires_at": T0 + 600,
        "failed_at": None,
        "last_error": None,
        "step_details": {"type": "message_creation", "message_creation": {"message_id": MSG}},
        "usage": None,
    }


def message(status: str, text: str | None) -> dict[str, Any]:
    content = [] if text is None else [{"type": "text", "text": {"value": text, "annotations": []}}]
    return {
        "id": MSG,
        "object": "thread.message",
        "created_at": T0 + 2,
        "assistant_id": ASST,
        "thread_id": THREAD,
        "run_id": RUN,
        "status": status,
        "incomplete_details": None,
        "incomplete_at": None,
        "completed_at": T0 + 3 if status == "completed" else None,
        "role": "assistant",
        "content": content,
        "attachments": [],
        "metadata": {},
    }


def delta(i: int) -> dict[str, Any]:
    text: dict[str, Any] = {"value": WORDS[i % len(WORDS)]}
    if i == 0:
        text["annotations"] = []
    return {
        "id": MSG,
        "object": "thread.message.delta",
        "delta": {"content": [{"index": 0, "type": "text", "text": text}]},
    }


def wire_events(n: int) -> list[tuple[str | None, Any]]:
    head: list[tuple[str | None, Any]] = [
        ("thread.run.created", run("queued")),
        ("thread.run.queued", run("queued")),
        ("thread.run.in_progress", run("in_progress")),
        ("thread.run.step.created", step("in_progress")),
        ("thread.run.step.in_progress", step("in_progress")),
        ("thread.message.created", message("in_progress", None)),
        ("thread.message.in_progress", message("in_progress", None)),
    ]
    count = max(1, n - len(head) - 5)
    deltas: list[tuple[str | None, Any]] = [("thread.message.delta", delta(i)) for i in range(count)]
    text = "".join(WORDS[i % len(WORDS)] for i in range(count))
    usage = {"prompt_tokens": 38, "completion_tokens": count, "total_tokens": 38 + count}
    tail: list[tuple[str | None, Any]] = [
        ("thread.message.completed", message("completed", text)),
        ("thread.run.step.completed", step("completed")),
        ("thread.run.completed", run("completed", completed_at=T0 + 4, usage=usage)),
        ("done", "[DONE]"),
    ]
    return head + deltas + tail


def sdk_accumulate(wire: list[tuple[str | None, Any]]) -> Any:
    from openai import AssistantEventHandler
    from openai._models import construct_type
    from openai.types.beta import AssistantStreamEvent

    handler = AssistantEventHandler()
    for event, data in wire:
        if event == "done":
            break
        handler._emit_sse_event(
            construct_type(type_=AssistantStreamEvent, value={"event": event, "data": data})
        )
    return handler.current_message_snapshot
