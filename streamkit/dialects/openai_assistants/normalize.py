"""OpenAI Assistants API run streams → canonical events: the normalizer (the tool calls of run
steps are read by its mixin in ``normalize_tools``).

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
"""

from __future__ import annotations

from typing import Any

from ...errors import DataError
from ..base import Normalizer, token_counts, unix_time, wire_string
from ..openai_chat import map_usage
from .normalize_tools import RunStepTools, _Call
from .wire import NAME, _list, _obj

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


class AssistantsNormalizer(RunStepTools, Normalizer):
    """One Assistants run stream (possibly several segments, each ended by ``done``)."""

    checks_types = True  # (tests/stages/test_normalize_wire_types.py)

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
                ev["model"] = wire_string(run["model"], "run.model")
            if unix_time(run.get("created_at")) is not None:  # (one of another kind is left out)
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
                fin["usage"] = token_counts(map_usage(usage))
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
                    name = wire_string(fn.get("name") or "", "a function tool call's name")
                    args = wire_string(fn.get("arguments") or "", "a function tool call's arguments")
                    self._whole_call(out, call_id, name, args)
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
            raw = wire_string(detail or self.incomplete_reason or "incomplete", "incomplete_details.reason")
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
            self.incomplete_reason = wire_string(details["reason"], "message.incomplete_details.reason")
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
