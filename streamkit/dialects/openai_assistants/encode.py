"""Canonical events → an OpenAI Assistants API run stream: the encoder.

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
"""

from __future__ import annotations

from typing import Any

from orjson import dumps

from ...canonical import message_to_events
from ..base import PLAIN_HOLE, Encoder, PlainDelta, WireEvent, unix_seconds
from ..openai_chat import wire_usage as chat_wire_usage
from .wire import _EXECUTED, NAME, _meta


def wire_usage(usage: dict[str, Any]) -> dict[str, Any]:
    """Canonical usage → Assistants usage: Chat Completions' fields, but ``prompt_token_details``."""
    return chat_wire_usage(usage, details="prompt_token_details")


def _digest(text: str) -> str:
    """A stable id suffix (the encoder's ids are derived, so the same input gives the same bytes)."""
    import hashlib  # the encoder's only: not imported on the normalize path

    return hashlib.sha256(text.encode()).hexdigest()[:24]


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
        self.plain_delta = None
        choice = event.get("choice")
        if choice:
            if choice not in self.choices:
                self.choices.add(choice)
                self.drop("choices other than the first")
            return []
        handler = self._handlers.get(event.get("type"))  # type: ignore[arg-type]
        if handler is None:
            return self.unhandled(event)
        out: list[WireEvent] = handler(self, event)
        if self.plain_delta is not None:
            self.template_for(event)
        return out

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
        self.created = unix_seconds(created)
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
            if self.templates_wanted and len(ev) == 3:  # the block's next delta: its text on its fragments
                template = self._text(entry, PLAIN_HOLE)  # (written already: no annotations)
                self.plain_delta = PlainDelta(
                    ev["type"], ev["id"], template[0], template[1], fragments=entry["frags"]
                )
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
