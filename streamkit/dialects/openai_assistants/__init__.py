"""The openai-assistants dialect: OpenAI Assistants API run streams (SSE events ``thread.run.*``,
``thread.run.step.*``, ``thread.message.*``), read and written, and the requests that start a run
or continue one.

- ``normalize``: the normalizer, a run stream → canonical events (its docstring maps the wire).
- ``normalize_tools``: the normalizer's reading of run steps' tool calls (a mixin).
- ``encode``: the encoder, canonical events → a run stream.
- ``request``: a canonical conversation → a request (create a thread and run, a run on a thread,
  or ``submit_tool_outputs``), and where a native body goes.
- ``wire``: what they share (the dialect's name, the provider-executed tools, its metadata, checks).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ..base import Dialect, Endpoint, Request
from .wire import NAME, _meta

if TYPE_CHECKING:
    from .encode import AssistantsEncoder
    from .normalize import AssistantsNormalizer

#: the names this package exports from its modules, imported on first use (a command that only
#: normalizes does not import the encoder or the request builder)
_EXPORTS = {
    "AssistantsNormalizer": "normalize",
    "AssistantsEncoder": "encode",
}

__all__ = ["AssistantsEncoder", "AssistantsNormalizer", "OpenAIAssistants"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


# object types of the data a run stream carries (for sniffing and for bare JSON lines)
_OBJECTS = frozenset(
    {
        "thread",
        "thread.run",
        "thread.run.step",
        "thread.message",
        "thread.run.step.delta",
        "thread.message.delta",
    }
)


class OpenAIAssistants(Dialect):
    name = NAME
    description = "OpenAI Assistants API run streams (thread.run.*, thread.run.step.*, thread.message.*)"
    framing = "sse"
    #: (the API takes tool names of 64 letters, digits, ``_`` and ``-`` at most)
    tool_name_pattern = r"[a-zA-Z0-9_-]{1,64}"

    default_base_url = "https://api.openai.com/v1"
    base_url_env = ("OPENAI_BASE_URL",)
    api_key_env = ("OPENAI_API_KEY",)
    serve_paths = (
        "/v1/threads/runs",
        "/v1/threads/{thread_id}/runs",
        "/v1/threads/{thread_id}/runs/{run_id}/submit_tool_outputs",
        "/threads/runs",
        "/threads/{thread_id}/runs",
        "/threads/{thread_id}/runs/{run_id}/submit_tool_outputs",
    )

    def build_request(
        self, conversation: dict[str, Any] | None, endpoint: Endpoint, *, body: Any = None
    ) -> Request:
        from .request import _native_route, assistants_request

        if body is None:
            path, body = assistants_request(conversation or {"messages": []}, endpoint.model)
        else:
            path, body = _native_route(body)
        headers = {
            "Accept": "text/event-stream",
            "Content-Type": "application/json",
            "OpenAI-Beta": "assistants=v2",
        }
        if endpoint.api_key:
            headers["Authorization"] = f"Bearer {endpoint.api_key}"
        return Request(f"{endpoint.base_url}{path}", body, headers)

    def serve_options(self, path: str, params: dict[str, str], body: Any) -> dict[str, Any]:
        """The thread and run a request names, so that the answer is on them: a run on a thread
        (no ``thread.created``), or, for ``submit_tool_outputs``, the continuation of that run (no
        ``thread.run.created``); the assistant the body names. ``/threads/runs``: ids of our own."""
        options: dict[str, Any] = {}
        if params.get("thread_id"):
            options["thread_id"] = params["thread_id"]
        if params.get("run_id"):
            options["run_id"] = params["run_id"]
            options["continuation"] = True
            # the calls this request answers: new step and message ids for each continuation
            outputs = body.get("tool_outputs") if isinstance(body, dict) else None
            answered = [o.get("tool_call_id") for o in outputs or () if isinstance(o, dict)]
            options["id_seed"] = ",".join(str(c) for c in answered) or "continued"
        if isinstance(body, dict) and isinstance(body.get("assistant_id"), str) and body["assistant_id"]:
            options["assistant_id"] = body["assistant_id"]
        return options

    def continuation_state(self, message: dict[str, Any], known: int) -> dict[str, Any] | None:
        """The thread and run this response was on (from its finish), whether the run now waits
        for tool outputs (``status: requires_action``, with the ``tool_call_ids`` it waits for),
        the assistant, and ``known``: the messages the thread holds."""
        meta = _meta(message)
        thread_id = meta.get("thread_id")
        if not isinstance(thread_id, str) or not thread_id:
            return None
        state: dict[str, Any] = {"thread_id": thread_id}
        run_id = meta.get("run_id") or message.get("id")
        if isinstance(run_id, str) and run_id:
            state["run_id"] = run_id
        if isinstance(meta.get("assistant_id"), str):
            state["assistant_id"] = meta["assistant_id"]
        status = meta.get("status")
        if message.get("raw_finish_reason") == "requires_action" or status == "requires_action":
            state["status"] = "requires_action"
            ids = meta.get("tool_call_ids")
            if not isinstance(ids, list):
                ids = [
                    p["tool_call_id"]
                    for p in message.get("content") or ()
                    if p.get("type") == "tool-call" and not p.get("provider_executed")
                ]
            state["tool_call_ids"] = ids
        elif isinstance(status, str):
            state["status"] = status
        state["known"] = known
        return state

    def sniff(self, data: Any, event: str | None = None) -> bool:
        if event:
            return event.startswith("thread.")
        return type(data) is dict and data.get("object") in _OBJECTS

    def normalizer(self, **options: Any) -> AssistantsNormalizer:
        from .normalize import AssistantsNormalizer

        return AssistantsNormalizer(**options)

    def encoder(self, **options: Any) -> AssistantsEncoder:
        from .encode import AssistantsEncoder

        return AssistantsEncoder(**options)
