"""OpenAI Assistants API run streams, both ways.

A run stream is SSE whose ``event:`` line names each event (``thread.run.created``,
``thread.message.delta``, ...) and whose ``data:`` is the object the event is about (a thread, a
run, a run step, a message, or a delta of one of these). It ends with ``event: done`` /
``data: [DONE]``. After ``thread.run.requires_action`` the client submits the tool outputs with
``stream: true`` on the same run and must read that *new* stream to its end: it continues the
run (no ``thread.created``, no ``thread.run.created``; it begins with the tool step completing,
then ``thread.run.queued`` / ``in_progress``) and may itself end with another requires_action.

What the wire sends, and what it becomes (canonical events on the right):

* A "response" is one segment of a run. ``start`` comes at ``thread.run.created``, or, when the
  stream is a continuation, at the first run event or the first step/message event that has
  content (the start then carries ``provider_metadata["openai-assistants"]["continuation"]``).
  ``start.id`` is the run id, ``model`` and ``created`` the run's; ``thread_id`` and
  ``assistant_id`` are in ``provider_metadata``.
* ``thread.created`` → nothing of its own: its thread object rides on the next ``start``'s
  ``provider_metadata`` (``thread``). Lifecycle events (``thread.run.queued`` / ``in_progress`` /
  ``cancelling``, ``thread.run.step.created`` / ``in_progress``, ``thread.message.created`` /
  ``in_progress``) give nothing but are consumed: they carry the ids and step types used later.
  Only unknown event names are counted as having no canonical meaning.
* ``thread.message.delta`` content: ``text`` → text deltas, one text block per message content
  index; ``refusal`` → a text block marked ``refusal``; ``image_file`` / ``image_url`` → ``file``
  (``media_type`` ``image/*``, ``data`` the file id or the url, the content object in
  ``provider_metadata``). The message id rides on each ``text-start`` and ``file``
  (``provider_metadata``: ``message_id``). A content index that got no delta is taken whole from
  ``thread.message.completed``.
* Text annotations (``file_citation``, ``file_path``) → ``source`` (``document``); ``title`` and
  ``filename`` are the file name from the citation marker (``【4:0†foods.txt】``) or the sandbox
  path, else the file id; the annotation object is in ``provider_metadata`` (``annotation``).
* ``thread.run.step.delta`` with ``step_details.tool_calls``: ``function`` → client tool calls
  (the provider's id and name, ``tool-input-delta`` per arguments fragment); ``code_interpreter``
  → a provider-executed ``tool-call`` whose arguments are ``{"input": <code>}`` (the code
  fragments are streamed JSON-escaped) and a ``tool-result`` whose output is the list of
  ``outputs``; ``file_search`` → a provider-executed ``tool-call`` (input: the ``file_search``
  object without results) and a ``tool-result`` whose output is the list of ``results``. Results
  come when the step ends (``thread.run.step.completed``, whose snapshot is authoritative); a
  failed, cancelled or expired step gives ``is_error: true`` with the step's ``last_error``.
  Calls are completed (``tool-input-end`` + ``tool-call``) when their step ends, when message
  text starts, or when the run segment ends. A function call that already carries an ``output``
  (the tool step of the previous segment, completing at the head of a continuation) was
  answered by the client: it gives nothing.
* ``thread.run.requires_action`` → ``finish`` ``tool-calls``; ``provider_metadata`` carries
  ``thread_id``, ``run_id`` and ``tool_call_ids`` (what ``submit_tool_outputs`` needs). Calls
  listed in ``required_action`` but never streamed are emitted whole from it.
* ``thread.run.completed`` → ``stop``. ``thread.run.incomplete`` → ``length``
  (``incomplete_details.reason`` ``max_completion_tokens`` / ``max_prompt_tokens``, or a message
  incomplete with ``max_tokens``) or ``content-filter`` (``content_filter``), else ``other``;
  ``raw_finish_reason`` is that reason, or the run status. ``thread.run.failed`` → an ``error``
  (the run's ``last_error``; ``retryable`` for ``server_error`` / ``rate_limit_exceeded``) then
  ``finish`` ``error``. ``thread.run.cancelled`` / ``expired`` → ``other`` (raw ``cancelled`` /
  ``expired``).
* Usage: the run's ``usage`` (``prompt_tokens`` / ``completion_tokens`` / ``total_tokens``, and
  the cached and reasoning token details when sent) → ``finish.usage``; the raw object in
  ``finish.provider_metadata``, with ``thread_id``, ``run_id`` and the run ``status``.
* ``event: error`` (an error object, bare or under ``error``) → ``error``; the segment then
  finishes with ``error``. ``done`` / ``[DONE]`` ends the stream: a segment still open is
  finished there (``error`` after an error, else ``other``), as at the end of input.
* Bare JSON lines with no ``event:`` name are understood from their ``object`` and ``status``.

The encoder writes each canonical response as one run segment followed by ``event: done`` (what
one HTTP response of the API holds): a ``thread.created`` when the thread is not known from
``provider_metadata`` (or was created in the original stream), then ``thread.run.created`` /
``queued`` / ``in_progress``. The response after a tool-calls finish continues the paused run, as
``submit_tool_outputs`` does: only ``queued`` / ``in_progress`` (from this dialect, when its
``start.id`` is that run's; from another dialect, whatever its id). Text becomes a
``message_creation`` step with ``thread.message.created`` / ``delta`` / ``completed``; client tool
calls a ``tool_calls`` step with deltas, then ``thread.run.requires_action`` listing them (usage,
when known, on that run object); this dialect's code_interpreter / file_search calls a
``tool_calls`` step completed with their outputs. The run ends ``completed``, ``incomplete``
(length: ``max_completion_tokens``; content-filter: the message ends incomplete with
``content_filter``; other), ``failed`` (an error, as ``last_error``), ``cancelled`` or
``expired``; an error not followed by a failed finish is an ``event: error`` with an error
object. Ids are consistent and derived, so the same input gives the same bytes: one thread id, a
run id per run (``start.id`` when it is a run id, else derived from it), ``msg_`` and ``step_``
ids (a message keeps its original id when ``provider_metadata`` has it), ``created_at`` from
``start.created``. Run objects have ``instructions: ""`` (the SDK's type requires a string; the
API itself sends null). What Assistants cannot express (reasoning, url sources, annotations
outside a message's text, other dialects' provider-executed tools, files that are not Assistants
images, choices k>0) is dropped with a warning. ``streamkit serve`` passes it the thread and run a
request names (see ``AssistantsEncoder`` and ``OpenAIAssistants.serve_options``).

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

import time
from typing import Any

from orjson import dumps

from ..canonical import message_to_events, parse_arguments
from ..errors import DataError, UsageError
from .base import Dialect, Encoder, Endpoint, Normalizer, Request, WireEvent
from .openai_chat import map_usage
from .openai_chat import wire_usage as chat_wire_usage

NAME = "openai-assistants"

#: run.incomplete_details.reason / message.incomplete_details.reason -> canonical finish reason
INCOMPLETE_REASONS = {
    "max_completion_tokens": "length",
    "max_prompt_tokens": "length",
    "max_tokens": "length",
    "content_filter": "content-filter",
}

#: terminal run events -> (canonical finish reason, raw finish reason) where fixed
_RUN_ENDS = {
    "thread.run.completed": ("stop", "completed"),
    "thread.run.cancelled": ("other", "cancelled"),
    "thread.run.expired": ("other", "expired"),
}

_RETRYABLE = {"server_error": True, "rate_limit_exceeded": True, "invalid_prompt": False}

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

_EXECUTED = ("code_interpreter", "file_search")


def wire_usage(usage: dict[str, Any]) -> dict[str, Any]:
    """Canonical usage → Assistants usage: Chat Completions' fields, but ``prompt_token_details``."""
    return chat_wire_usage(usage, details="prompt_token_details")


def _annotation_filename(ann: dict[str, Any]) -> str | None:
    """The file name an annotation shows: ``【4:0†foods.txt】`` → ``foods.txt``; a sandbox path's last part."""
    text = ann.get("text")
    if not isinstance(text, str) or not text:
        return None
    if "†" in text:
        name = text.split("†", 1)[1].rstrip("】").strip()
        return name or None
    if ann.get("type") == "file_path":
        return text.rsplit("/", 1)[-1] or None
    return None


def _obj(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise DataError(f"{what} is a {type(value).__name__}, expected an object")
    return value


def _list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise DataError(f"{what} is a {type(value).__name__}, expected a list")
    return value


# ==========================================================================================
# normalize
# ==========================================================================================


class _Call:
    """One tool call of a run step, as its deltas arrive."""

    __slots__ = ("args", "done", "id", "index", "kind", "name", "outputs", "result_sent", "search", "step")

    def __init__(self, call_id: str, kind: str, step: str, index: int) -> None:
        self.id = call_id
        self.kind = kind  # function, code_interpreter, file_search
        self.step = step
        self.index = index
        self.name = ""
        self.args: list[str] = []  # argument fragments (code_interpreter: JSON-escaped code)
        self.outputs: dict[int, dict[str, Any]] = {}  # code_interpreter outputs by index
        self.search: dict[str, Any] = {}  # the file_search object
        self.done = False  # tool-call written
        self.result_sent = False  # tool-result written (provider-executed)


class AssistantsNormalizer(Normalizer):
    """One Assistants run stream (possibly several segments, each ended by ``done``)."""

    def __init__(self, **options: Any) -> None:
        self._generated = 0
        self.thread_id: str | None = None
        self.thread: dict[str, Any] | None = None  # from thread.created, for the next start
        self.runs_seen: set[str] = set()
        self.steps_seen: set[str] = set()
        self.step_runs: dict[str, str] = {}
        self.messages_seen: set[str] = set()
        self._reset()

    def _reset(self) -> None:
        self.open = False  # a start was written
        self.run_id: str | None = None
        self.assistant_id: str | None = None
        self.nblocks = 0
        self.block: str | None = None  # the open text block
        self.block_key: tuple[str, int] | None = None
        self.hot_msg: str | None = None  # message id and content index of the open plain text block
        self.hot_index: int | None = None
        self.streamed: set[tuple[str, int]] = set()  # content indexes that got deltas
        self.annotations: set[tuple[str, int, Any]] = set()
        self.nsources = 0
        self.calls: dict[tuple[str, int], _Call] = {}
        self.by_id: dict[str, _Call] = {}
        self.pending: list[_Call] = []  # calls whose tool-call is not written yet
        self.emitted: list[str] = []  # client tool call ids written in this segment
        self.error = False
        self.incomplete_reason: str | None = None  # from thread.message.incomplete

    # --- the wire events -----------------------------------------------------------------

    def feed(self, data: Any, event: str | None = None) -> list[dict[str, Any]] | None:
        # The hot path, measured in `make bench`: one text delta for the open text block, whose
        # text object holds only its value. Anything else (or anything malformed) raises or fails a
        # test here and takes the general path, which says what is wrong.
        # (hot_msg and hot_index name the open block only when it is plain text, not a refusal.)
        if event == "thread.message.delta":
            try:
                if data["id"] == self.hot_msg:
                    (item,) = data["delta"]["content"]
                    if item["index"] == self.hot_index:
                        text = item["text"]
                        value = text["value"]
                        if len(text) == 1 and type(value) is str and value:
                            return [{"type": "text-delta", "id": self.block, "delta": value}]
            except (KeyError, TypeError, ValueError, IndexError):
                pass
        return self._feed(data, event)

    def _feed(self, data: Any, event: str | None) -> list[dict[str, Any]] | None:
        if type(data) is str:
            if data.strip() == "[DONE]":
                return self._on_done()
            return None
        if event is None or event == "message":  # bare JSON lines: the object says what it is
            event = self._infer(data)
            if event is None:
                return None
        if event == "done":
            return self._on_done()
        handler = _HANDLERS.get(event)
        if handler is None:
            return None
        return handler(self, event, _obj(data, f"the data of {event}"))

    def close(self) -> list[dict[str, Any]]:
        if not self.open:
            return []
        return self._end_segment(None)

    def _infer(self, data: Any) -> str | None:
        if type(data) is not dict:
            return None
        obj = data.get("object")
        status = data.get("status")
        if obj in ("thread.message.delta", "thread.run.step.delta"):
            return str(obj)
        if obj == "thread":
            return "thread.created"
        if obj == "thread.run" and isinstance(status, str):
            if status == "queued" and data.get("id") not in self.runs_seen:
                return "thread.run.created"
            return f"thread.run.{status}"
        if obj == "thread.run.step" and isinstance(status, str):
            if status == "in_progress" and data.get("id") not in self.steps_seen:
                return "thread.run.step.created"
            return f"thread.run.step.{status}"
        if obj == "thread.message" and isinstance(status, str):
            if status == "in_progress" and data.get("id") not in self.messages_seen:
                return "thread.message.created"
            return f"thread.message.{status}"
        if "error" in data or ("message" in data and "code" in data):
            return "error"
        return None

    # --- segments ----------------------------------------------------------------------------

    def _start(
        self, out: list[dict[str, Any]], run_id: Any, run: dict[str, Any] | None, created: bool
    ) -> None:
        """Open a segment (a response) of run ``run_id``."""
        self.open = True
        self.run_id = run_id if isinstance(run_id, str) else None
        ev: dict[str, Any] = {"type": "start", "id": self.run_id, "model": None, "dialect": NAME}
        meta: dict[str, Any] = {}
        if run is not None:
            if run.get("model"):
                ev["model"] = run["model"]
            if run.get("created_at") is not None:
                ev["created"] = run["created_at"]
            if run.get("thread_id"):
                self.thread_id = run["thread_id"]
            if run.get("assistant_id"):
                self.assistant_id = run["assistant_id"]
        if self.thread_id:
            meta["thread_id"] = self.thread_id
        if self.assistant_id:
            meta["assistant_id"] = self.assistant_id
        if self.thread is not None:
            meta["thread"] = self.thread
            self.thread = None
        if not created:
            meta["continuation"] = True
        ev["provider_metadata"] = {NAME: meta}
        out.append(ev)

    def _ensure_open(self, out: list[dict[str, Any]], run_id: Any) -> None:
        if not self.open:
            self._start(out, run_id, None, False)

    def _run_segment(self, out: list[dict[str, Any]], run: dict[str, Any], created: bool) -> None:
        """A run event: end a segment of another run, open one for this run if none is open."""
        run_id = run.get("id")
        if isinstance(run_id, str):
            self.runs_seen.add(run_id)
        if self.open and (created or (run_id and self.run_id and run_id != self.run_id)):
            out.extend(self._end_segment(None))
        if not self.open:
            self._start(out, run_id, run, created)
        else:
            if run.get("thread_id"):
                self.thread_id = run["thread_id"]
            if run.get("assistant_id"):
                self.assistant_id = run["assistant_id"]

    def _finish(
        self,
        out: list[dict[str, Any]],
        reason: str,
        raw: str | None,
        run: dict[str, Any] | None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self._end_block(out)
        self._complete_calls(out)
        fin: dict[str, Any] = {"type": "finish", "finish_reason": reason, "raw_finish_reason": raw}
        meta: dict[str, Any] = {}
        if self.thread_id:
            meta["thread_id"] = self.thread_id
        if self.run_id:
            meta["run_id"] = self.run_id
        if run is not None:
            if run.get("status"):
                meta["status"] = run["status"]
            usage = run.get("usage")
            if isinstance(usage, dict):
                fin["usage"] = map_usage(usage)
                meta["usage"] = usage
        if extra:
            meta.update(extra)
        fin["provider_metadata"] = {NAME: meta}
        out.append(fin)
        self._reset()

    def _end_segment(self, run: dict[str, Any] | None) -> list[dict[str, Any]]:
        """A segment cut off (no terminal run event): finish it with error or other."""
        out: list[dict[str, Any]] = []
        self._finish(out, "error" if self.error else "other", None, run)
        return out

    # --- run events ---------------------------------------------------------------------------

    def _on_thread(self, event: str, data: dict[str, Any]) -> list[dict[str, Any]]:
        if data.get("id"):
            self.thread_id = data["id"]
        self.thread = data
        return []

    def _on_run_created(self, event: str, run: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        self._run_segment(out, run, True)
        return out

    def _on_run_progress(self, event: str, run: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        self._run_segment(out, run, False)
        return out

    def _on_requires_action(self, event: str, run: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        self._run_segment(out, run, False)
        self._end_block(out)
        self._complete_calls(out)
        action = run.get("required_action")
        ids: list[str] = []
        if isinstance(action, dict):
            submit = action.get("submit_tool_outputs")
            calls = _list(
                submit.get("tool_calls") if isinstance(submit, dict) else None, "required tool_calls"
            )
            for tc in calls:
                if not isinstance(tc, dict):
                    raise DataError("a required_action tool call is not an object")
                call_id = tc.get("id")
                if not isinstance(call_id, str):
                    raise DataError("a required_action tool call has no id")
                ids.append(call_id)
                if call_id not in self.emitted:
                    fn = tc.get("function")
                    if not isinstance(fn, dict):
                        fn = {}
                    self._whole_call(out, call_id, fn.get("name") or "", fn.get("arguments") or "")
        else:
            ids = list(self.emitted)
        self._finish(out, "tool-calls", "requires_action", run, {"tool_call_ids": ids})
        return out

    def _on_run_end(self, event: str, run: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        self._run_segment(out, run, False)
        extra: dict[str, Any] = {}
        fixed = _RUN_ENDS.get(event)
        if fixed is not None:
            reason, raw = fixed
        elif event == "thread.run.incomplete":
            details = run.get("incomplete_details")
            detail = details.get("reason") if isinstance(details, dict) else None
            if details:
                extra["incomplete_details"] = details
            raw = detail or self.incomplete_reason or "incomplete"
            reason = INCOMPLETE_REASONS.get(raw, "other")
        else:  # thread.run.failed
            reason, raw = "error", "failed"
            last = run.get("last_error")
            if isinstance(last, dict):
                extra["last_error"] = last
                self._end_block(out)
                out.append(self._error_event(last))
            elif not self.error:
                self._end_block(out)
                out.append({"type": "error", "message": "the run failed"})
        self._finish(out, reason, raw, run, extra)
        return out

    # --- run steps: tool calls ------------------------------------------------------------------

    def _on_step(self, event: str, step: dict[str, Any]) -> list[dict[str, Any]]:
        step_id = step.get("id")
        if isinstance(step_id, str):
            self.steps_seen.add(step_id)
            if isinstance(step.get("run_id"), str):
                self.step_runs[step_id] = step["run_id"]
        return []

    def _on_step_delta(self, event: str, data: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        step_id = data.get("id")
        if not isinstance(step_id, str):
            raise DataError("thread.run.step.delta has no step id")
        delta = _obj(data.get("delta"), "thread.run.step.delta's delta")
        details = delta.get("step_details")
        if not isinstance(details, dict) or details.get("type") != "tool_calls":
            return out  # message_creation deltas say nothing the message events do not
        for tc in _list(details.get("tool_calls"), "step_details.tool_calls"):
            self._tool_delta(out, step_id, _obj(tc, "a tool_calls entry"))
        return out

    def _new_id(self) -> str:
        while True:
            candidate = f"call_{self._generated}"
            self._generated += 1
            if candidate not in self.by_id:
                return candidate

    def _tool_delta(self, out: list[dict[str, Any]], step_id: str, tc: dict[str, Any]) -> None:
        index = tc.get("index")
        if not isinstance(index, int):
            index = len([k for k in self.calls if k[0] == step_id])
        call = self.calls.get((step_id, index))
        if call is None:
            kind = tc.get("type")
            if kind not in ("function", *_EXECUTED):
                raise DataError(f"unknown tool call type {kind!r} in a run step")
            fn = tc.get("function")
            if kind == "function" and isinstance(fn, dict) and fn.get("output") is not None:
                return  # already answered: the previous segment's call, completing
            self._ensure_open(out, self.run_id or self.step_runs.get(step_id))
            self._end_block(out)
            given = tc.get("id")
            call_id = given if isinstance(given, str) else self._new_id()
            call = _Call(call_id, kind, step_id, index)
            self.calls[(step_id, index)] = call
            self.by_id[call_id] = call
            self.pending.append(call)
            if kind == "function":
                call.name = (fn.get("name") if isinstance(fn, dict) else None) or ""
                out.append({"type": "tool-input-start", "id": call_id, "tool_name": call.name})
            else:
                call.name = kind
                out.append(
                    {"type": "tool-input-start", "id": call_id, "tool_name": kind, "provider_executed": True}
                )
                if kind == "code_interpreter":
                    call.args.append('{"input":"')
                    out.append({"type": "tool-input-delta", "id": call_id, "delta": '{"input":"'})
        if call.done and call.kind == "function":
            fn = tc.get("function")
            if isinstance(fn, dict) and fn.get("arguments"):
                raise DataError(f"arguments for tool call {call.id} arrived after the call was complete")
            return
        if call.kind == "function":
            fn = tc.get("function")
            if isinstance(fn, dict):
                if fn.get("name") and not call.name:
                    call.name = fn["name"]
                args = fn.get("arguments")
                if args and isinstance(args, str):
                    call.args.append(args)
                    out.append({"type": "tool-input-delta", "id": call.id, "delta": args})
        elif call.kind == "code_interpreter":
            ci = tc.get("code_interpreter")
            if isinstance(ci, dict):
                code = ci.get("input")
                if code and isinstance(code, str) and not call.done:
                    frag = dumps(code).decode()[1:-1]
                    call.args.append(frag)
                    out.append({"type": "tool-input-delta", "id": call.id, "delta": frag})
                for output in _list(ci.get("outputs"), "code_interpreter.outputs"):
                    if isinstance(output, dict):
                        key = output.get("index", len(call.outputs))
                        merged = call.outputs.setdefault(key, {})
                        merged.update({k: v for k, v in output.items() if k != "index"})
        else:
            fs = tc.get("file_search")
            if isinstance(fs, dict):
                call.search.update(fs)

    def _complete_calls(self, out: list[dict[str, Any]]) -> None:
        """Write the tool-call of every call still open (arguments as received so far)."""
        for call in self.pending:
            self._complete(out, call, None)
        self.pending = []

    def _complete(self, out: list[dict[str, Any]], call: _Call, final: dict[str, Any] | None) -> None:
        if call.done:
            return
        call.done = True
        if call.kind == "function":
            fn = final.get("function") if final is not None else None
            if (
                not call.args
                and isinstance(fn, dict)
                and isinstance(fn.get("arguments"), str)
                and fn["arguments"]
            ):
                call.args.append(fn["arguments"])
                out.append({"type": "tool-input-delta", "id": call.id, "delta": fn["arguments"]})
            if not call.name and isinstance(fn, dict) and fn.get("name"):
                call.name = fn["name"]
        elif call.kind == "code_interpreter":
            ci = final.get("code_interpreter") if final is not None else None
            if (
                len(call.args) == 1
                and isinstance(ci, dict)
                and isinstance(ci.get("input"), str)
                and ci["input"]
            ):
                frag = dumps(ci["input"]).decode()[1:-1]
                call.args.append(frag)
                out.append({"type": "tool-input-delta", "id": call.id, "delta": frag})
            call.args.append('"}')
            out.append({"type": "tool-input-delta", "id": call.id, "delta": '"}'})
        else:
            fs = final.get("file_search") if final is not None else None
            if isinstance(fs, dict):
                call.search.update(fs)
            query = {k: v for k, v in call.search.items() if k != "results"}
            arguments = dumps(query).decode()
            call.args.append(arguments)
            out.append({"type": "tool-input-delta", "id": call.id, "delta": arguments})
        out.append({"type": "tool-input-end", "id": call.id})
        arguments = "".join(call.args)
        value, err = parse_arguments(arguments)
        ev: dict[str, Any] = {
            "type": "tool-call",
            "tool_call_id": call.id,
            "tool_name": call.name,
            "arguments": arguments,
            "input": value,
        }
        if err:
            ev["input_error"] = err
        if call.kind == "function":
            self.emitted.append(call.id)
        else:
            ev["provider_executed"] = True
            ev["provider_metadata"] = {NAME: {"step_id": call.step}}
        out.append(ev)

    def _result(
        self, out: list[dict[str, Any]], call: _Call, final: dict[str, Any] | None, error: Any = None
    ) -> None:
        """The tool-result of a provider-executed call, from the step's final snapshot."""
        if call.result_sent or call.kind == "function":
            return
        call.result_sent = True
        output: Any
        if error is not None:
            output = error
        elif call.kind == "code_interpreter":
            ci = final.get("code_interpreter") if final is not None else None
            if isinstance(ci, dict) and isinstance(ci.get("outputs"), list):
                output = ci["outputs"]
            else:
                output = [call.outputs[k] for k in sorted(call.outputs, key=str)]
        else:
            fs = final.get("file_search") if final is not None else None
            if isinstance(fs, dict):
                call.search.update(fs)
            output = call.search.get("results") or []
        out.append(
            {
                "type": "tool-result",
                "tool_call_id": call.id,
                "tool_name": call.name,
                "output": output,
                "is_error": error is not None,
                "provider_executed": True,
                "provider_metadata": {NAME: {"step_id": call.step}},
            }
        )

    def _whole_call(
        self, out: list[dict[str, Any]], call_id: str, name: str, arguments: str, run_id: Any = None
    ) -> None:
        """A client call known only whole (from required_action or a completed step)."""
        self._ensure_open(out, self.run_id or run_id)
        self._end_block(out)
        call = _Call(call_id, "function", "", -1)
        call.name = name
        self.by_id[call_id] = call
        out.append({"type": "tool-input-start", "id": call_id, "tool_name": name})
        if arguments:
            call.args.append(arguments)
            out.append({"type": "tool-input-delta", "id": call_id, "delta": arguments})
        self._complete(out, call, None)

    def _on_step_end(self, event: str, step: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        step_id = step.get("id")
        details = step.get("step_details")
        if (
            not isinstance(step_id, str)
            or not isinstance(details, dict)
            or details.get("type") != "tool_calls"
        ):
            return out
        failed = event != "thread.run.step.completed"
        error = step.get("last_error") or {
            "code": step.get("status") or "failed",
            "message": f"the step {event[16:]}",
        }
        finals = _list(details.get("tool_calls"), "step_details.tool_calls")
        seen: set[int] = set()
        for position, tc in enumerate(finals):
            tc = _obj(tc, "a tool_calls entry")
            call = self.by_id.get(tc["id"]) if isinstance(tc.get("id"), str) else None
            if call is None:
                call = self.calls.get((step_id, tc.get("index", position)))
            if call is None:
                kind = tc.get("type")
                fn = tc.get("function")
                if kind == "function":
                    if isinstance(fn, dict) and fn.get("output") is None and isinstance(tc.get("id"), str):
                        args = fn.get("arguments") or ""
                        self._whole_call(out, tc["id"], fn.get("name") or "", args, step.get("run_id"))
                    continue  # answered: the previous segment's call
                if kind not in _EXECUTED:
                    raise DataError(f"unknown tool call type {kind!r} in a run step")
                self._ensure_open(out, step.get("run_id"))
                self._end_block(out)
                given = tc.get("id")
                call_id = given if isinstance(given, str) else self._new_id()
                call = _Call(call_id, kind, step_id, position)
                call.name = kind
                self.by_id[call_id] = call
                out.append(
                    {"type": "tool-input-start", "id": call_id, "tool_name": kind, "provider_executed": True}
                )
                if kind == "code_interpreter":
                    call.args.append('{"input":"')
                    out.append({"type": "tool-input-delta", "id": call_id, "delta": '{"input":"'})
            seen.add(id(call))
            self._complete(out, call, tc)
            self._result(out, call, tc, error if failed else None)
        for key, call in list(self.calls.items()):
            if key[0] == step_id and id(call) not in seen:
                self._complete(out, call, None)
                self._result(out, call, None, error if failed else None)
        self.pending = [c for c in self.pending if not c.done]
        return out

    # --- messages -------------------------------------------------------------------------------

    def _on_message(self, event: str, msg: dict[str, Any]) -> list[dict[str, Any]]:
        if isinstance(msg.get("id"), str):
            self.messages_seen.add(msg["id"])
        return []

    def _open_block(self, out: list[dict[str, Any]], key: tuple[str, int], refusal: bool, run_id: Any) -> str:
        self._ensure_open(out, self.run_id or run_id)
        self._end_block(out)
        if self.pending:
            self._complete_calls(out)
        bid = f"text-{self.nblocks}"
        self.nblocks += 1
        ev: dict[str, Any] = {
            "type": "text-start",
            "id": bid,
            "provider_metadata": {NAME: {"message_id": key[0]}},
        }
        if refusal:
            ev["refusal"] = True
        else:
            self.hot_msg, self.hot_index = key
        out.append(ev)
        self.block, self.block_key = bid, key
        self.streamed.add(key)
        return bid

    def _end_block(self, out: list[dict[str, Any]]) -> None:
        if self.block is not None:
            out.append({"type": "text-end", "id": self.block})
            self.block = self.block_key = self.hot_msg = self.hot_index = None

    def _on_message_delta(self, event: str, data: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        msg_id = data.get("id")
        if not isinstance(msg_id, str):
            raise DataError("thread.message.delta has no message id")
        delta = _obj(data.get("delta"), "thread.message.delta's delta")
        for position, item in enumerate(_list(delta.get("content"), "delta.content")):
            self._content(out, msg_id, _obj(item, "a delta.content entry"), position, None)
        return out

    def _content(
        self, out: list[dict[str, Any]], msg_id: str, item: dict[str, Any], position: int, run_id: Any
    ) -> None:
        """One content item of a message (a delta, or a whole block of a completed message)."""
        index = item.get("index", position)
        key = (msg_id, index)
        kind = item.get("type")
        if kind == "text":
            text = item.get("text")
            if not isinstance(text, dict):
                return
            bid = self.block if self.block_key == key else None
            value = text.get("value")
            if bid is None:
                if key in self.streamed and not value:
                    bid = None  # a late annotation of a block already ended
                else:
                    bid = self._open_block(out, key, False, run_id)
            if value and isinstance(value, str) and bid is not None:
                out.append({"type": "text-delta", "id": bid, "delta": value})
            for n, ann in enumerate(_list(text.get("annotations"), "text.annotations")):
                if isinstance(ann, dict):
                    self._source(out, key, ann, n)
        elif kind == "refusal":
            bid = self.block if self.block_key == key else self._open_block(out, key, True, run_id)
            value = item.get("refusal")
            if value and isinstance(value, str):
                out.append({"type": "text-delta", "id": bid, "delta": value})
        elif kind in ("image_file", "image_url"):
            if key in self.streamed:
                return
            self.streamed.add(key)
            self._ensure_open(out, self.run_id or run_id)
            self._end_block(out)
            image = item.get(kind)
            if not isinstance(image, dict):
                return
            ref = image.get("file_id") if kind == "image_file" else image.get("url")
            out.append(
                {
                    "type": "file",
                    "media_type": "image/*",
                    "data": ref if isinstance(ref, str) else "",
                    "provider_metadata": {NAME: {kind: image, "message_id": msg_id}},
                }
            )

    def _source(self, out: list[dict[str, Any]], key: tuple[str, int], ann: dict[str, Any], n: int) -> None:
        akey = (key[0], key[1], ann.get("index", n))
        if akey in self.annotations:
            return
        self.annotations.add(akey)
        kind = ann.get("type")
        ref = ann.get(kind) if isinstance(kind, str) else None
        file_id = ref.get("file_id") if isinstance(ref, dict) else None
        filename = _annotation_filename(ann)
        ev: dict[str, Any] = {"type": "source", "source_type": "document", "id": f"src-{self.nsources}"}
        self.nsources += 1
        title = filename or file_id or ann.get("text")
        if title:
            ev["title"] = title
        if filename:
            ev["filename"] = filename
        ev["provider_metadata"] = {NAME: {"annotation": ann}}
        out.append(ev)

    def _on_message_end(self, event: str, msg: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        msg_id = msg.get("id")
        if not isinstance(msg_id, str):
            raise DataError(f"{event} has no message id")
        for position, item in enumerate(_list(msg.get("content"), "message.content")):
            if isinstance(item, dict) and (msg_id, position) not in self.streamed:
                self._content(out, msg_id, {"index": position, **item}, position, msg.get("run_id"))
        if self.block_key is not None and self.block_key[0] == msg_id:
            self._end_block(out)
        details = msg.get("incomplete_details")
        if event == "thread.message.incomplete" and isinstance(details, dict) and details.get("reason"):
            self.incomplete_reason = details["reason"]
        return out

    # --- errors and the end -------------------------------------------------------------------

    def _error_event(self, err: dict[str, Any]) -> dict[str, Any]:
        message = err.get("message") or err.get("type") or "upstream error"
        code = err.get("code") or err.get("type")
        ev: dict[str, Any] = {"type": "error", "message": str(message)}
        if isinstance(code, (str, int)):
            ev["code"] = code
            if code in _RETRYABLE:
                ev["retryable"] = _RETRYABLE[code]
        ev["provider_metadata"] = {NAME: {"error": err}}
        self.error = True
        return ev

    def _on_error(self, event: str, data: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        self._ensure_open(out, self.run_id)
        self._end_block(out)
        err = data.get("error")
        out.append(self._error_event(err if isinstance(err, dict) else data))
        return out

    def _on_done(self) -> list[dict[str, Any]]:
        out = self._end_segment(None) if self.open else []
        self.thread = None
        return out


_HANDLERS: dict[str, Any] = {
    "thread.created": AssistantsNormalizer._on_thread,
    "thread.run.created": AssistantsNormalizer._on_run_created,
    "thread.run.queued": AssistantsNormalizer._on_run_progress,
    "thread.run.in_progress": AssistantsNormalizer._on_run_progress,
    "thread.run.cancelling": AssistantsNormalizer._on_run_progress,
    "thread.run.requires_action": AssistantsNormalizer._on_requires_action,
    "thread.run.completed": AssistantsNormalizer._on_run_end,
    "thread.run.incomplete": AssistantsNormalizer._on_run_end,
    "thread.run.failed": AssistantsNormalizer._on_run_end,
    "thread.run.cancelled": AssistantsNormalizer._on_run_end,
    "thread.run.expired": AssistantsNormalizer._on_run_end,
    "thread.run.step.created": AssistantsNormalizer._on_step,
    "thread.run.step.in_progress": AssistantsNormalizer._on_step,
    "thread.run.step.delta": AssistantsNormalizer._on_step_delta,
    "thread.run.step.completed": AssistantsNormalizer._on_step_end,
    "thread.run.step.failed": AssistantsNormalizer._on_step_end,
    "thread.run.step.cancelled": AssistantsNormalizer._on_step_end,
    "thread.run.step.expired": AssistantsNormalizer._on_step_end,
    "thread.message.created": AssistantsNormalizer._on_message,
    "thread.message.in_progress": AssistantsNormalizer._on_message,
    "thread.message.delta": AssistantsNormalizer._on_message_delta,
    "thread.message.completed": AssistantsNormalizer._on_message_end,
    "thread.message.incomplete": AssistantsNormalizer._on_message_end,
    "error": AssistantsNormalizer._on_error,
}


# ==========================================================================================
# encode
# ==========================================================================================


def _digest(text: str) -> str:
    """A stable id suffix (the encoder's ids are derived, so the same input gives the same bytes)."""
    import hashlib  # the encoder's only: not imported on the normalize path

    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _meta(ev: dict[str, Any]) -> dict[str, Any]:
    pm = ev.get("provider_metadata")
    meta = pm.get(NAME) if isinstance(pm, dict) else None
    return meta if isinstance(meta, dict) else {}


def _last_error(err: Any, allowed: tuple[str, ...]) -> dict[str, Any]:
    """A canonical error (or a provider error object) as a run's or step's ``last_error``."""
    if not isinstance(err, dict):
        return {"code": "server_error", "message": str(err) if err is not None else "the run failed"}
    code = err.get("code")
    return {
        "code": code if code in allowed else "server_error",
        "message": str(err.get("message") or "the run failed"),
    }


class AssistantsEncoder(Encoder):
    """Canonical events → an Assistants run stream: one run segment per response, each ended by ``done``.

    Options (what ``streamkit serve`` passes, see :meth:`OpenAIAssistants.serve_options`), so that
    the stream agrees with the request it answers: ``thread_id`` (the stream is on this existing
    thread: no ``thread.created``), ``run_id`` (the first response is this run) with
    ``continuation`` (it continues that paused run, as ``submit_tool_outputs`` does: no
    ``thread.run.created``), and ``assistant_id``. Without them the ids are derived; ``id_seed``
    enters the derivation of step and message ids, so that each request served on one run gets
    ids of its own.
    """

    dialect_name = NAME

    def __init__(
        self,
        *,
        thread_id: str | None = None,
        run_id: str | None = None,
        assistant_id: str | None = None,
        continuation: bool = False,
        id_seed: str | None = None,
        **options: Any,
    ) -> None:
        self.id_seed = f"{id_seed}:" if id_seed else ""
        self.forced_thread = thread_id or None
        self.forced_assistant = assistant_id or None
        self.forced_run = run_id or None  # the first response's run (consumed by its start)
        self.forced_continuation = bool(continuation and run_id)
        self.thread_id: str | None = None
        self.assistant_id: str | None = None
        self.threads_written: set[str] = set()
        self.run_ids: dict[str, str] = {}  # canonical start id -> run id
        self.used_messages: set[str] = set()
        self.paused_run: str | None = None  # the run whose last segment ended in requires_action
        self.seq = 0
        self.choices: set[int] = set()
        self.seen = False  # events of the current response were written (a bare message is not expanded)
        self.early_errors: list[dict[str, Any]] = []  # errors seen before any response
        self._new_response()

    def _new_response(self) -> None:
        self.open = False
        self.run_id = ""
        self.created = 0
        self.model = ""
        self.message: dict[str, Any] | None = None  # the open message: id, step, contents
        self.blocks: dict[str, dict[str, Any]] = {}  # text block id -> its content entry
        self.last_text: dict[str, Any] | None = None
        self.func: dict[str, Any] | None = None  # the client tool step (open until requires_action)
        self.executed: dict[str, Any] | None = None  # the open provider-executed tool step
        self.exec_calls: dict[str, dict[str, Any]] = {}
        self.skipped: set[str] = set()  # provider-executed calls dropped (their results go too)
        self.reasoning: set[str] = set()
        self.errors: list[dict[str, Any]] = []  # canonical errors, written with the run's end

    def _id(self, prefix: str) -> str:
        self.seq += 1
        return f"{prefix}_{_digest(f'{prefix}:{self.id_seed}{self.run_id}:{self.seq}')}"

    def feed(self, event: dict[str, Any]) -> list[WireEvent]:
        choice = event.get("choice")
        if choice:
            if choice not in self.choices:
                self.choices.add(choice)
                self.drop("choices other than the first")
            return []
        handler = self._handlers.get(event.get("type"))  # type: ignore[arg-type]
        if handler is None:
            return []
        return handler(self, event)

    def close(self) -> list[WireEvent]:
        if self.early_errors and not self.open:  # errors with no response: written alone
            self.errors, self.early_errors = self.early_errors, []
            out = self._end()
        else:
            out = self._end() if self.open else []
        self.report_dropped()
        return out

    # --- wire objects ----------------------------------------------------------------------

    def _run(self, status: str, **fields: Any) -> dict[str, Any]:
        run: dict[str, Any] = {
            "id": self.run_id,
            "object": "thread.run",
            "created_at": self.created,
            "assistant_id": self.assistant_id,
            "thread_id": self.thread_id,
            "status": status,
            "started_at": None if status == "queued" else self.created,
            "expires_at": None,
            "cancelled_at": None,
            "failed_at": None,
            "completed_at": None,
            "required_action": None,
            "last_error": None,
            "model": self.model,
            "instructions": "",
            "tools": [],
            "tool_resources": {},
            "metadata": {},
            "temperature": None,
            "top_p": None,
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
        run.update(fields)
        return run

    def _step(
        self, step_id: str, kind: str, status: str, details: dict[str, Any], **fields: Any
    ) -> dict[str, Any]:
        step: dict[str, Any] = {
            "id": step_id,
            "object": "thread.run.step",
            "created_at": self.created,
            "run_id": self.run_id,
            "assistant_id": self.assistant_id,
            "thread_id": self.thread_id,
            "type": kind,
            "status": status,
            "cancelled_at": None,
            "completed_at": self.created if status == "completed" else None,
            "expires_at": None,
            "failed_at": self.created if status == "failed" else None,
            "last_error": None,
            "step_details": details,
            "usage": None,
        }
        step.update(fields)
        return step

    def _message_object(self, msg_id: str, status: str, content: list[Any], **fields: Any) -> dict[str, Any]:
        message: dict[str, Any] = {
            "id": msg_id,
            "object": "thread.message",
            "created_at": self.created,
            "assistant_id": self.assistant_id,
            "thread_id": self.thread_id,
            "run_id": self.run_id,
            "status": status,
            "incomplete_details": None,
            "incomplete_at": None,
            "completed_at": self.created if status == "completed" else None,
            "role": "assistant",
            "content": content,
            "attachments": [],
            "metadata": {},
        }
        message.update(fields)
        return message

    def _step_delta(self, step_id: str, calls: list[dict[str, Any]]) -> WireEvent:
        delta = {"step_details": {"type": "tool_calls", "tool_calls": calls}}
        return ("thread.run.step.delta", {"id": step_id, "object": "thread.run.step.delta", "delta": delta})

    def _message_delta(self, item: dict[str, Any]) -> WireEvent:
        assert self.message is not None
        data = {"id": self.message["id"], "object": "thread.message.delta", "delta": {"content": [item]}}
        return ("thread.message.delta", data)

    # --- the run --------------------------------------------------------------------------

    def _ensure_open(self) -> list[WireEvent]:
        if self.open:
            return []
        return self._on_start({"type": "start"})

    def _on_start(self, ev: dict[str, Any]) -> list[WireEvent]:
        out = self._end() if self.open else []
        self._new_response()
        self.open = self.seen = True
        self.errors, self.early_errors = self.early_errors, []
        meta = _meta(ev)
        sid = ev.get("id")
        forced, continues = self.forced_run, self.forced_continuation
        self.forced_run, self.forced_continuation = None, False
        if forced is not None:  # the run the request named (serve)
            self.run_id = forced
            if isinstance(sid, str) and sid:
                self.run_ids.setdefault(sid, forced)
        elif isinstance(sid, str) and sid.startswith("run_"):
            self.run_id = sid
        elif self.paused_run is not None:
            # from another dialect, the response after a tool-calls finish is the tool loop's next
            # step: in Assistants, submit_tool_outputs continues the same run
            self.run_id = self.paused_run
            if isinstance(sid, str) and sid:
                self.run_ids.setdefault(sid, self.run_id)
        elif isinstance(sid, str) and sid:
            self.run_id = self.run_ids.setdefault(sid, f"run_{_digest(sid)}")
        else:
            import uuid

            self.run_id = f"run_{uuid.uuid4().hex[:24]}"
        continuation = continues or self.run_id == self.paused_run or bool(meta.get("continuation"))
        self.paused_run = None
        thread = self.forced_thread or meta.get("thread_id")
        invented = False
        if self.forced_thread is not None:  # an existing thread: never created here
            self.thread_id = self.forced_thread
            self.threads_written.add(self.thread_id)
        elif isinstance(thread, str) and thread:
            self.thread_id = thread
        elif self.thread_id is None:
            self.thread_id = f"thread_{_digest(self.run_id)}"
            invented = True
        assistant = self.forced_assistant or meta.get("assistant_id")
        if isinstance(assistant, str) and assistant:
            self.assistant_id = assistant
        elif self.assistant_id is None:
            self.assistant_id = f"asst_{_digest(self.thread_id)}"
        created = ev.get("created")
        self.created = int(created) if isinstance(created, (int, float)) else int(time.time())
        self.model = ev.get("model") or ""
        thread_obj = meta.get("thread")
        if (
            not continuation
            and self.thread_id not in self.threads_written
            and (invented or isinstance(thread_obj, dict))
        ):
            self.threads_written.add(self.thread_id)
            if not isinstance(thread_obj, dict) or thread_obj.get("id") != self.thread_id:
                thread_obj = {
                    "id": self.thread_id,
                    "object": "thread",
                    "created_at": self.created,
                    "metadata": {},
                    "tool_resources": {},
                }
            out.append(("thread.created", thread_obj))
        if not continuation:
            out.append(("thread.run.created", self._run("queued")))
        out.append(("thread.run.queued", self._run("queued")))
        out.append(("thread.run.in_progress", self._run("in_progress")))
        return out

    def _on_finish(self, ev: dict[str, Any]) -> list[WireEvent]:
        out = self._ensure_open()
        reason = ev.get("finish_reason") or "other"
        raw = ev.get("raw_finish_reason")
        meta = _meta(ev)
        raw_usage = meta.get("usage")
        if isinstance(raw_usage, dict) and isinstance(raw_usage.get("prompt_tokens"), int):
            usage: dict[str, Any] | None = raw_usage
        else:
            usage = wire_usage(ev["usage"]) if isinstance(ev.get("usage"), dict) else None
        incomplete: str | None = None
        if reason == "content-filter":
            incomplete = "content_filter"
            if self.message is None:
                out.extend(self._open_message(None))
        elif reason == "length" and self.message is not None:
            incomplete = "max_tokens"
        out.extend(self._complete_message(incomplete))
        out.extend(self._complete_executed())
        calls = self.func["calls"] if self.func is not None else []
        at = self.created
        fields: dict[str, Any] = {"usage": usage}
        if reason == "error":
            error = meta.get("last_error") or (self.errors[-1] if self.errors else None)
            self.errors = []
            name, status = "thread.run.failed", "failed"
            fields.update(
                last_error=_last_error(error, ("server_error", "rate_limit_exceeded", "invalid_prompt")),
                failed_at=at,
            )
        elif calls and reason in ("stop", "tool-calls"):
            name, status = "thread.run.requires_action", "requires_action"
            required = [
                {
                    "id": c["id"],
                    "type": "function",
                    "function": {"name": c["name"], "arguments": c["arguments"] or "".join(c["frags"])},
                }
                for c in calls
            ]
            fields["required_action"] = {
                "type": "submit_tool_outputs",
                "submit_tool_outputs": {"tool_calls": required},
            }
        elif reason in ("stop", "tool-calls"):
            name, status = "thread.run.completed", "completed"
            fields["completed_at"] = at
        elif reason == "length":
            detail = raw if raw in ("max_completion_tokens", "max_prompt_tokens") else "max_completion_tokens"
            name, status = "thread.run.incomplete", "incomplete"
            fields["incomplete_details"] = {"reason": detail}
        elif raw == "cancelled":
            name, status = "thread.run.cancelled", "cancelled"
            fields["cancelled_at"] = at
        elif raw == "expired":
            name, status = "thread.run.expired", "expired"
            fields["expires_at"] = at
        else:  # content-filter (said on the message), other
            name, status = "thread.run.incomplete", "incomplete"
        out.extend(self._errors())
        out.append((name, self._run(status, **fields)))
        out.extend(self._end())
        if status == "requires_action":
            self.paused_run = self.run_id
        return out

    def _on_error(self, ev: dict[str, Any]) -> list[WireEvent]:
        if ev.get("code") == "bad-input":
            return []  # a bad line upstream of us, not an upstream error
        error = _meta(ev).get("error")
        if not isinstance(error, dict):
            error = {"message": ev.get("message"), "code": ev.get("code")}
        if not self.open:
            # before its response (accumulate --final writes the error, then the message it
            # belongs to): held for the next response, or written alone at the end
            self.early_errors.append(error)
            return []
        self.errors.append(error)
        return []

    def _errors(self) -> list[WireEvent]:
        """Errors not told by a failed run: ``event: error`` with an error object each."""
        out: list[WireEvent] = []
        for err in self.errors:
            code = err.get("code")
            obj = {
                "message": str(err.get("message") or "upstream error"),
                "type": str(err.get("type") or "server_error"),
                "param": err.get("param"),
                "code": str(code) if code is not None else None,
            }
            out.append(("error", obj))
        self.errors = []
        return out

    def _end(self) -> list[WireEvent]:
        out = self._errors()
        out.append(("done", "[DONE]"))
        self.open = False
        return out

    def _on_message(self, ev: dict[str, Any]) -> list[WireEvent]:
        if self.seen:
            return []  # the events it sums up were already written
        out: list[WireEvent] = []
        for sub in message_to_events(ev):
            out.extend(self.feed(sub))
        self.seen = False  # the next bare message is a response of its own
        return out

    # --- messages -------------------------------------------------------------------------

    def _open_message(self, hint: Any) -> list[WireEvent]:
        out: list[WireEvent] = []
        if self.message is not None:
            # a new message only when the source said so (its message ids differ)
            if not isinstance(hint, str) or hint == self.message["id"] or not self.message["hinted"]:
                return out
            out.extend(self._complete_message(None))
        out.extend(self._complete_executed())
        msg_id = (
            hint if isinstance(hint, str) and hint and hint not in self.used_messages else self._id("msg")
        )
        self.used_messages.add(msg_id)
        step_id = self._id("step")
        self.message = {"id": msg_id, "step": step_id, "contents": [], "hinted": msg_id == hint}
        details = {"type": "message_creation", "message_creation": {"message_id": msg_id}}
        step = self._step(step_id, "message_creation", "in_progress", details)
        message = self._message_object(msg_id, "in_progress", [])
        out.append(("thread.run.step.created", step))
        out.append(("thread.run.step.in_progress", step))
        out.append(("thread.message.created", message))
        out.append(("thread.message.in_progress", message))
        return out

    def _complete_message(self, incomplete: str | None) -> list[WireEvent]:
        msg = self.message
        if msg is None:
            return []
        self.message = None
        self.blocks = {}
        self.last_text = None
        content: list[dict[str, Any]] = []
        for entry in msg["contents"]:
            kind = entry["type"]
            if kind == "text":
                text = {"value": "".join(entry["frags"]), "annotations": entry["annotations"]}
                content.append({"type": "text", "text": text})
            elif kind == "refusal":
                content.append({"type": "refusal", "refusal": "".join(entry["frags"])})
            else:
                content.append({"type": kind, kind: entry[kind]})
        if incomplete:
            message = self._message_object(
                msg["id"],
                "incomplete",
                content,
                incomplete_details={"reason": incomplete},
                incomplete_at=self.created,
            )
            out: list[WireEvent] = [("thread.message.incomplete", message)]
        else:
            out = [("thread.message.completed", self._message_object(msg["id"], "completed", content))]
        details = {"type": "message_creation", "message_creation": {"message_id": msg["id"]}}
        out.append(
            ("thread.run.step.completed", self._step(msg["step"], "message_creation", "completed", details))
        )
        return out

    def _on_text_start(self, ev: dict[str, Any]) -> list[WireEvent]:
        out = self._ensure_open()
        if ev["id"] in self.blocks:
            return out
        out.extend(self._open_message(_meta(ev).get("message_id")))
        assert self.message is not None
        contents = self.message["contents"]
        entry: dict[str, Any] = {
            "type": "refusal" if ev.get("refusal") else "text",
            "index": len(contents),
            "frags": [],
            "annotations": [],
            "written": False,
        }
        contents.append(entry)
        self.blocks[ev["id"]] = entry
        if entry["type"] == "text":
            self.last_text = entry
        return out

    def _text(self, entry: dict[str, Any], value: str) -> WireEvent:
        if entry["type"] == "refusal":
            item: dict[str, Any] = {"index": entry["index"], "type": "refusal", "refusal": value}
        else:
            text: dict[str, Any] = {"value": value}
            if not entry["written"]:
                text["annotations"] = []
            item = {"index": entry["index"], "type": "text", "text": text}
        entry["written"] = True
        return self._message_delta(item)

    def _on_text_delta(self, ev: dict[str, Any]) -> list[WireEvent]:
        entry = self.blocks.get(ev["id"])
        out: list[WireEvent] = []
        if entry is None:
            out = self._on_text_start({"type": "text-start", "id": ev["id"]})
            entry = self.blocks[ev["id"]]
        delta = ev["delta"]
        if delta:
            entry["frags"].append(delta)
            out.append(self._text(entry, delta))
        return out

    def _on_text_end(self, ev: dict[str, Any]) -> list[WireEvent]:
        entry = self.blocks.get(ev["id"])
        if entry is None:
            if not ev.get("text"):
                return []
            out = self._on_text_start({"type": "text-start", "id": ev["id"]})
            entry = self.blocks[ev["id"]]
        else:
            out = []
        text = ev.get("text")
        if not entry["frags"] and isinstance(text, str) and text:
            entry["frags"].append(text)
            out.append(self._text(entry, text))
        elif not entry["written"]:
            out.append(self._text(entry, ""))
        return out

    def _on_reasoning(self, ev: dict[str, Any]) -> list[WireEvent]:
        if ev["id"] in self.reasoning:
            return []
        self.reasoning.add(ev["id"])
        return self.drop("reasoning")

    def _on_source(self, ev: dict[str, Any]) -> list[WireEvent]:
        ann = _meta(ev).get("annotation")
        if not isinstance(ann, dict) or ann.get("type") not in ("file_citation", "file_path"):
            return self.drop(f"{ev.get('source_type') or 'url'} sources")
        entry = self.last_text if self.message is not None else None
        if entry is None:
            return self.drop("annotations outside a message's text")
        whole = {k: v for k, v in ann.items() if k != "index"}
        item = {
            "index": entry["index"],
            "type": "text",
            "text": {"annotations": [{"index": len(entry["annotations"]), **whole}]},
        }
        entry["annotations"].append(whole)
        entry["written"] = True
        return [*self._ensure_open(), self._message_delta(item)]

    def _on_file(self, ev: dict[str, Any]) -> list[WireEvent]:
        meta = _meta(ev)
        kind = "image_file" if isinstance(meta.get("image_file"), dict) else "image_url"
        image = meta.get(kind)
        if not isinstance(image, dict):
            return self.drop("files")
        out = self._ensure_open()
        out.extend(self._open_message(meta.get("message_id")))
        assert self.message is not None
        contents = self.message["contents"]
        contents.append({"type": kind, kind: image, "index": len(contents)})
        out.append(self._message_delta({"index": len(contents) - 1, "type": kind, kind: image}))
        return out

    # --- tool calls ---------------------------------------------------------------------------

    def _function_step(self) -> list[WireEvent]:
        out = self._ensure_open()
        out.extend(self._complete_message(None))
        out.extend(self._complete_executed())
        if self.func is None:
            step_id = self._id("step")
            self.func = {"id": step_id, "calls": [], "by_id": {}}
            step = self._step(step_id, "tool_calls", "in_progress", {"type": "tool_calls", "tool_calls": []})
            out.append(("thread.run.step.created", step))
            out.append(("thread.run.step.in_progress", step))
        return out

    def _new_function_call(self, call_id: str, name: str, arguments: str) -> list[WireEvent]:
        out = self._function_step()
        assert self.func is not None
        frags: list[str] = [arguments] if arguments else []
        call = {
            "id": call_id,
            "name": name,
            "frags": frags,
            "arguments": None,
            "index": len(self.func["calls"]),
        }
        self.func["calls"].append(call)
        self.func["by_id"][call_id] = call
        wire = {
            "index": call["index"],
            "id": call_id,
            "type": "function",
            "function": {"name": name, "arguments": arguments, "output": None},
        }
        out.append(self._step_delta(self.func["id"], [wire]))
        return out

    def _on_tool_input_start(self, ev: dict[str, Any]) -> list[WireEvent]:
        if ev.get("provider_executed"):
            return []  # written whole at its tool-call
        if self.func is not None and ev["id"] in self.func["by_id"]:
            return []
        return self._new_function_call(ev["id"], ev.get("tool_name") or "", "")

    def _on_tool_input_delta(self, ev: dict[str, Any]) -> list[WireEvent]:
        call = self.func["by_id"].get(ev["id"]) if self.func is not None else None
        if call is None or not ev["delta"]:
            return []  # provider-executed, or a delta with no start: its tool-call carries it
        call["frags"].append(ev["delta"])
        wire = {"index": call["index"], "type": "function", "function": {"arguments": ev["delta"]}}
        return [self._step_delta(self.func["id"], [wire])]  # type: ignore[index]

    def _on_tool_call(self, ev: dict[str, Any]) -> list[WireEvent]:
        if ev.get("provider_executed"):
            return self._executed_call(ev)
        arguments = ev.get("arguments")
        if arguments is None:
            arguments = dumps(ev.get("input") or {}).decode()
        call = self.func["by_id"].get(ev["tool_call_id"]) if self.func is not None else None
        if call is None:
            out = self._new_function_call(ev["tool_call_id"], ev.get("tool_name") or "", arguments)
            call = self.func["by_id"][ev["tool_call_id"]]  # type: ignore[index]
        else:
            out = []
            if not call["frags"] and arguments:
                call["frags"].append(arguments)
                wire = {"index": call["index"], "type": "function", "function": {"arguments": arguments}}
                out.append(self._step_delta(self.func["id"], [wire]))  # type: ignore[index]
        call["arguments"] = arguments
        return out

    def _executed_step(self) -> list[WireEvent]:
        out = self._ensure_open()
        out.extend(self._complete_message(None))
        if self.executed is None:
            step_id = self._id("step")
            self.executed = {"id": step_id, "calls": []}
            step = self._step(step_id, "tool_calls", "in_progress", {"type": "tool_calls", "tool_calls": []})
            out.append(("thread.run.step.created", step))
            out.append(("thread.run.step.in_progress", step))
        return out

    def _executed_call(self, ev: dict[str, Any]) -> list[WireEvent]:
        call_id = ev["tool_call_id"]
        name = ev.get("tool_name")
        if NAME not in (ev.get("provider_metadata") or {}) or name not in _EXECUTED:
            self.skipped.add(call_id)
            return self.drop("provider-executed tools of other dialects")
        if call_id in self.exec_calls:
            return []
        out = self._executed_step()
        assert self.executed is not None
        inp = ev.get("input")
        if not isinstance(inp, dict):
            inp = {}
        call: dict[str, Any] = {
            "id": call_id,
            "type": name,
            "index": len(self.executed["calls"]),
            "result": None,
        }
        self.executed["calls"].append(call)
        self.exec_calls[call_id] = call
        if name == "code_interpreter":
            code = inp.get("input")
            call["input"] = code if isinstance(code, str) else ""
            first = {"index": call["index"], "id": call_id, "type": name, name: {"input": "", "outputs": []}}
            out.append(self._step_delta(self.executed["id"], [first]))
            if call["input"]:
                more = {"index": call["index"], "type": name, name: {"input": call["input"]}}
                out.append(self._step_delta(self.executed["id"], [more]))
        else:
            call["file_search"] = inp
            first = {"index": call["index"], "id": call_id, "type": name, name: inp}
            out.append(self._step_delta(self.executed["id"], [first]))
        return out

    def _on_tool_result(self, ev: dict[str, Any]) -> list[WireEvent]:
        if not ev.get("provider_executed"):
            return []  # a client tool's output is sent with submit_tool_outputs, not in this stream
        call_id = ev["tool_call_id"]
        if call_id in self.skipped:
            return []  # its call was dropped (and counted)
        call = self.exec_calls.get(call_id)
        if call is None or self.executed is None or call not in self.executed["calls"]:
            return self.drop("provider-executed tool results without their call")
        output = ev.get("output")
        out: list[WireEvent] = []
        if ev.get("is_error"):
            call["error"] = output
            call["result"] = []
        elif call["type"] == "code_interpreter":
            outputs = output if isinstance(output, list) else [{"type": "logs", "logs": str(output)}]
            call["result"] = outputs
            wire = [{"index": k, **o} for k, o in enumerate(outputs) if isinstance(o, dict)]
            item = {"index": call["index"], "type": "code_interpreter", "code_interpreter": {"outputs": wire}}
            out.append(self._step_delta(self.executed["id"], [item]))
        else:
            call["result"] = output if isinstance(output, list) else []
        if all(c["result"] is not None for c in self.executed["calls"]):
            out.extend(self._complete_executed())
        return out

    def _complete_executed(self) -> list[WireEvent]:
        step = self.executed
        if step is None:
            return []
        self.executed = None
        calls: list[dict[str, Any]] = []
        error = None
        for call in step["calls"]:
            if call.get("error") is not None:
                error = call["error"]
            if call["type"] == "code_interpreter":
                ci = {"input": call["input"], "outputs": call["result"] or []}
                calls.append({"id": call["id"], "type": "code_interpreter", "code_interpreter": ci})
            else:
                fs = {**call["file_search"], "results": call["result"] or []}
                calls.append({"id": call["id"], "type": "file_search", "file_search": fs})
        details = {"type": "tool_calls", "tool_calls": calls}
        if error is not None:
            last = _last_error(error, ("server_error", "rate_limit_exceeded"))
            return [
                (
                    "thread.run.step.failed",
                    self._step(step["id"], "tool_calls", "failed", details, last_error=last),
                )
            ]
        return [("thread.run.step.completed", self._step(step["id"], "tool_calls", "completed", details))]

    _handlers: dict[str, Any] = {
        "start": _on_start,
        "text-start": _on_text_start,
        "text-delta": _on_text_delta,
        "text-end": _on_text_end,
        "reasoning-start": _on_reasoning,
        "reasoning-delta": _on_reasoning,
        "tool-input-start": _on_tool_input_start,
        "tool-input-delta": _on_tool_input_delta,
        "tool-call": _on_tool_call,
        "tool-result": _on_tool_result,
        "source": _on_source,
        "file": _on_file,
        "finish": _on_finish,
        "error": _on_error,
        "message": _on_message,
    }


# ==========================================================================================
# requests
# ==========================================================================================

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
        from .. import diagnostics

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
    for call_id in answers:
        if call_id not in required:
            dropped.add("tool results for calls the run did not ask for")
    return [{"tool_call_id": c, "output": _output_text(answers[c].get("output"))} for c in required], []


def _run_fields(conversation: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """What every run creation carries: instructions, tools, options, streaming."""
    from ..conversation import system_text

    system = system_text(conversation)
    if system:
        body["instructions"] = system
    tools = conversation.get("tools")
    if tools:
        body["tools"] = [
            {"type": "function", "function": {"name": t["name"], "description": t.get("description", ""),
                                              "parameters": t.get("parameters") or {"type": "object", "properties": {}}}}
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
            from .. import diagnostics

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
    dropped.warn()
    return path, _run_fields(conversation, body)


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


class OpenAIAssistants(Dialect):
    name = NAME
    description = "OpenAI Assistants API run streams (thread.run.*, thread.run.step.*, thread.message.*)"
    framing = "sse"

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
        return AssistantsNormalizer(**options)

    def encoder(self, **options: Any) -> AssistantsEncoder:
        return AssistantsEncoder(**options)
