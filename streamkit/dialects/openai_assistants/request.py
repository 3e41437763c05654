"""Canonical conversations → OpenAI Assistants API requests: creating a thread and its run, a run
on a thread, or the tool outputs a paused run waits for; and where a native body goes.

Requests (``fetch``, ``agent``; headers ``OpenAI-Beta: assistants=v2`` and ``Authorization:
Bearer``, base URL and key as for openai-chat). ``-m`` names the assistant; a conversation's
``assistant_id`` comes first, the thread's own (from its state) last. The conversation's
``state["openai-assistants"]`` (written by ``continuation_state`` from a response's finish:
``thread_id``, ``run_id``, ``assistant_id``, the run ``status``, the ``tool_call_ids`` a paused run
waits for, and ``known``, the number of messages the thread holds) chooses the request:

* no thread: ``POST /threads/runs`` (create a thread and run it), every message in
  ``thread.messages``;
* the run waits (``requires_action``) and the messages after ``known`` are tool messages answering
  every call it waits for: ``POST /threads/{thread}/runs/{run}/submit_tool_outputs`` with
  ``tool_outputs`` (one per call, in the run's order; the output as a string, JSON for other
  values; this format has no error flag, the error text is the output) and ``stream: true``. Its
  stream continues the same run and is read to its end; it may end in ``requires_action`` again;
* else a new run on the thread, ``POST /threads/{thread}/runs``, with the messages after
  ``known`` as ``additional_messages`` (a paused run left unanswered: a warning first).

Runs carry ``assistant_id``, the system prompt as ``instructions``, the tools as function tools
(they replace the assistant's tools for the run), the options (``max_tokens`` →
``max_completion_tokens``; ``temperature``, ``top_p``; any other passes through) and ``stream:
true``. Thread messages: user text, images by URL or as this dialect's ``image_file`` /
``image_url`` (an inline file cannot be sent: a usage error); assistant text (reasoning is not sent
back). Tool calls and results have no place in a thread's messages: outside
``submit_tool_outputs`` they are left out with a warning. A native ``--body`` goes to
``/threads/runs``, or, when it names ``thread_id`` (and ``run_id``), to that thread's runs (that
run's ``submit_tool_outputs``); those routing keys are taken out of the body.
"""

from __future__ import annotations

from typing import Any

from orjson import dumps

from ...errors import UsageError
from ..requests import result_files
from ..web_search import split_tools
from .wire import NAME, _meta

#: canonical option names → run parameters (other options pass through as they are)
OPTION_NAMES = {"max_tokens": "max_completion_tokens", "temperature": "temperature", "top_p": "top_p"}

#: the routing keys a native ``--body`` may name (not API fields: they go in the URL)
_ROUTING = ("thread_id", "run_id")


def _quote(value: Any, what: str) -> str:
    from urllib.parse import quote

    if not isinstance(value, str) or not value:
        raise UsageError(f"{what} must be a non-empty string, got {value!r}")
    return quote(value, safe="")


def _output_text(output: Any) -> str:
    """A tool output as the string ``submit_tool_outputs`` takes (JSON for anything else)."""
    if isinstance(output, str):
        return output
    if output is None:
        return ""
    return dumps(output).decode()


class _Dropped:
    """What a request cannot carry, counted per kind and warned about once (never silently)."""

    def __init__(self) -> None:
        self.kinds: dict[str, int] = {}

    def add(self, what: str) -> None:
        self.kinds[what] = self.kinds.get(what, 0) + 1

    def warn(self) -> None:
        from ... import diagnostics

        for what, count in self.kinds.items():
            diagnostics.warn(f"{NAME} cannot send {what} ({count}); left out of the request")


def _image(part: dict[str, Any]) -> dict[str, Any] | None:
    """A canonical file part as a message image: this dialect's own image object, else a URL."""
    meta = _meta(part)
    for kind in ("image_file", "image_url"):
        if isinstance(meta.get(kind), dict):
            return {"type": kind, kind: meta[kind]}
    media = str(part.get("media_type") or "")
    url = part.get("url")
    if isinstance(url, str) and url and (not media or media.startswith("image/")):
        return {"type": "image_url", "image_url": {"url": url}}
    return None


def _user_content(parts: list[dict[str, Any]]) -> Any:
    if all(p.get("type") == "text" for p in parts):
        return "".join(p.get("text") or "" for p in parts)
    out: list[dict[str, Any]] = []
    for part in parts:
        kind = part.get("type")
        if kind == "text":
            out.append({"type": "text", "text": part.get("text") or ""})
        elif kind == "file":
            image = _image(part)
            if image is None:
                media = part.get("media_type") or "file"
                raise UsageError(
                    f"{NAME} cannot send a {media} inline: a thread message takes images by URL or by "
                    "uploaded file id; upload the file and send a native body (--body) that attaches it"
                )
            out.append(image)
    return out


def thread_messages(messages: list[dict[str, Any]], dropped: _Dropped) -> list[dict[str, Any]]:
    """Conversation messages → thread messages (``thread.messages`` / ``additional_messages``).

    User messages keep their text and images; assistant messages their text (reasoning is not
    sent back, as in Chat Completions). Tool calls and tool results have no place in a thread's
    messages (they live in a run's steps): they are counted in ``dropped``. System messages are
    part of ``instructions``.
    """
    out: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        if role == "user":
            out.append({"role": "user", "content": _user_content(message.get("content") or [])})
        elif role == "assistant":
            text = []
            for part in message.get("content") or ():
                kind = part.get("type")
                if kind == "text" and not part.get("refusal"):
                    text.append(part.get("text") or "")
                elif kind in ("tool-call", "tool-result"):
                    dropped.add("earlier tool calls in a thread's messages")
                elif kind == "tool-approval-request":
                    dropped.add("the provider's tool approval requests")
                elif kind == "file":
                    dropped.add("files of assistant turns")
            if "".join(text):
                out.append({"role": "assistant", "content": "".join(text)})
        elif role == "tool":
            dropped.add("tool results outside submit_tool_outputs")
    return out


def _state(conversation: dict[str, Any]) -> dict[str, Any]:
    state = (conversation.get("state") or {}).get(NAME)
    if state is None:
        return {}
    if not isinstance(state, dict):
        raise UsageError(f"the conversation's state.{NAME} must be an object")
    return state


def _known(state: dict[str, Any], count: int) -> int:
    known = state.get("known", 0)
    if not isinstance(known, int) or isinstance(known, bool) or known < 0:
        raise UsageError(f"the conversation's state.{NAME}.known must be a count of messages, got {known!r}")
    return min(known, count)


def _tool_outputs(messages: list[dict[str, Any]], state: dict[str, Any], known: int,
                  dropped: _Dropped) -> tuple[list[dict[str, Any]] | None, list[str]]:  # fmt: skip
    """The outputs the waiting run asks for, when the messages after ``known`` are tool messages
    answering every call; else ``None`` and the calls left unanswered."""
    new = messages[known:]
    required = state.get("tool_call_ids")
    if not isinstance(required, list) or not all(isinstance(c, str) for c in required):
        turn = messages[known - 1] if known else {}
        required = [
            p["tool_call_id"]
            for p in (turn.get("content") or () if turn.get("role") == "assistant" else ())
            if p.get("type") == "tool-call" and not p.get("provider_executed")
        ]
    answers = {m.get("tool_call_id"): m for m in new if m.get("role") == "tool"}
    missing = [c for c in required if c not in answers]
    if missing or not new or len(answers) != len(new):
        return None, missing
    for call_id, answer in answers.items():
        if call_id not in required:
            dropped.add("tool results for calls the run did not ask for")
        if result_files(answer):
            dropped.add("files in tool results (an output is text)")
    return [{"tool_call_id": c, "output": _output_text(answers[c].get("output"))} for c in required], []


def _run_fields(conversation: dict[str, Any], body: dict[str, Any], dropped: _Dropped) -> dict[str, Any]:
    """What every run creation carries: instructions, tools (a custom tool as a function taking one
    string ``input``: :func:`streamkit.conversation.tool_parameters`), options, streaming."""
    from ...conversation import system_text, tool_parameters

    system = system_text(conversation)
    if system:
        body["instructions"] = system
    tools, _ = split_tools(conversation.get("tools"), dropped)
    if tools:
        body["tools"] = [
            {"type": "function", "function": {"name": t["name"], "description": t.get("description", ""),
                                              "parameters": tool_parameters(t)}}
            for t in tools
        ]  # fmt: skip
    body["stream"] = True
    for key, value in (conversation.get("options") or {}).items():
        body[OPTION_NAMES.get(key, key)] = value
    return body


def _assistant(conversation: dict[str, Any], model: str | None, state: dict[str, Any]) -> str:
    assistant = conversation.get("assistant_id") or model or state.get("assistant_id")
    if not assistant:
        raise UsageError(
            f'no assistant: pass -m ASSISTANT_ID (for {NAME}, -m names the assistant), put "assistant_id" '
            "in the conversation, or set STREAMKIT_MODEL"
        )
    if not isinstance(assistant, str):
        raise UsageError(f"the assistant id must be a string, got {assistant!r}")
    return assistant


def assistants_request(conversation: dict[str, Any], model: str | None) -> tuple[str, dict[str, Any]]:
    """A canonical conversation → the path (under the base URL) and body of its streaming request.

    No thread in the conversation's state: create a thread and run it (``/threads/runs``) with
    every message. A thread whose run waits for tool outputs, answered by the tool messages that
    follow: ``submit_tool_outputs`` on that run. Else a new run on the thread with the messages the
    server has not seen (``additional_messages``).
    """
    state = _state(conversation)
    messages = list(conversation.get("messages") or ())
    dropped = _Dropped()
    thread_id = state.get("thread_id")
    if not thread_id:
        body: dict[str, Any] = {"assistant_id": _assistant(conversation, model, state),
                                "thread": {"messages": thread_messages(messages, dropped)}}  # fmt: skip
        path = "/threads/runs"
    else:
        thread = _quote(thread_id, f"state.{NAME}.thread_id")
        known = _known(state, len(messages))
        new = messages[known:]
        run_id = state.get("run_id")
        if state.get("status") == "requires_action" and run_id:
            outputs, missing = _tool_outputs(messages, state, known, dropped)
            if outputs is not None:
                dropped.warn()
                run = _quote(run_id, f"state.{NAME}.run_id")
                return f"/threads/{thread}/runs/{run}/submit_tool_outputs", {
                    "tool_outputs": outputs,
                    "stream": True,
                }
            from ... import diagnostics

            waiting = f" for {', '.join(missing)}" if missing else ""
            diagnostics.warn(
                f"run {run_id} waits for tool outputs{waiting}, which the conversation does not end with; "
                f"starting a new run on thread {thread_id} instead"
            )
        body = {"assistant_id": _assistant(conversation, model, state)}
        additional = thread_messages(new, dropped)
        if additional:
            body["additional_messages"] = additional
        path = f"/threads/{thread}/runs"
    body = _run_fields(conversation, body, dropped)
    dropped.warn()
    return path, body


def _native_route(body: Any) -> tuple[str, Any]:
    """Where a native body goes: ``/threads/runs``, unless it names ``thread_id`` (a run on that
    thread) and ``run_id`` (that run's ``submit_tool_outputs``), keys taken out of the body."""
    if not isinstance(body, dict) or not any(k in body for k in _ROUTING):
        return "/threads/runs", body
    rest = {k: v for k, v in body.items() if k not in _ROUTING}
    if "thread_id" not in body:
        raise UsageError("a native body that names run_id must name its thread_id too")
    thread = _quote(body["thread_id"], "the body's thread_id")
    if "run_id" in body:
        run = _quote(body["run_id"], "the body's run_id")
        return f"/threads/{thread}/runs/{run}/submit_tool_outputs", rest
    return f"/threads/{thread}/runs", rest
