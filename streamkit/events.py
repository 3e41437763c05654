"""The canonical events: one pydantic model per ``type``, joined in one discriminated union.

This module is the contract of DESIGN.md §2 in code, for validation and the JSON Schema
(``streamkit schema``). Stages work on plain dicts on the hot path and never import it (they use
:mod:`streamkit.canonical`, the same vocabulary as plain names and helpers); tests validate every
event a stage writes against :data:`Event`.

Extensions to DESIGN.md §2, written down here and in the README:

* ``choice`` (any event): the choice index of a Chat Completions response asked with ``n>1``.
  Absent means choice 0. Every choice is its own sequence of blocks (block ids carry a
  ``c<k>.`` prefix) and gets its own ``finish`` and ``message``; the ``finish`` of choice 0 comes
  last and carries the response's usage, so "a ``finish`` without ``choice`` ends the response".
* ``refusal`` on ``text-start`` and on text parts: the text is a refusal (OpenAI ``refusal``).
* ``provider_executed`` on tool events: the provider ran the tool itself (web search, code
  execution); client tool runners leave these alone.
* ``dialect`` on ``start`` and ``message``: the dialect the response was normalized from.
* ``model`` on ``finish``: the model that answered, when it is not the one ``start`` named (the
  model is known only after the response began: Anthropic's server-side fallback hands a request
  over to another model mid-stream). accumulate makes it the ``message``'s ``model``.

Every model allows extra fields, so that fields from newer producers pass through.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

FinishReason = Literal["stop", "length", "tool-calls", "content-filter", "error", "other"]
#: keyed by dialect name, each dialect's own object (the Vercel AI SDK's ``ProviderMetadata``)
ProviderMetadata = dict[str, dict[str, Any]]


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow")


class _Event(_Model):
    provider_metadata: ProviderMetadata | None = Field(
        default=None, description="Dialect-specific data, keyed by dialect name."
    )
    choice: int | None = Field(default=None, description="Choice index (n>1); absent means 0.")


class Usage(_Model):
    """Token counts. Fields a provider does not report are absent or null.

    What each count means, whatever the dialect (each normalizer converts to it):

    * ``input_tokens``: every input token billed, cached ones included (Anthropic's own field
      leaves them out: they are added back); ``cached_input_tokens`` says how many were read
      from the cache.
    * ``output_tokens``: every output token billed, reasoning included; ``reasoning_tokens``
      says how many were reasoning. Where a provider counts reasoning apart from its output
      (Gemini's ``thoughtsTokenCount``; xAI's ``completion_tokens``, which a Chat Completions
      ``completion_tokens`` smaller than its ``reasoning_tokens``, or a ``total_tokens`` equal to
      prompt + completion + reasoning, gives away), the two are added; OpenAI's
      ``completion_tokens`` already includes them.
    * ``total_tokens``: input + output (never less than their sum).
    * Usage of several passes of one response (Anthropic ``usage.iterations``: compaction,
      server-side tool loops, fallback) is summed: the counts are what the caller pays for.
    """

    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    cached_input_tokens: int | None = None
    reasoning_tokens: int | None = None


# --- events --------------------------------------------------------------------------------


class Raw(_Event):
    """Emitted by fetch: one event exactly as the upstream sent it."""

    type: Literal["raw"]
    dialect: str | None = None
    event: str | None = Field(default=None, description="SSE event name, if any.")
    data: Any = Field(description="Parsed JSON, or the string for non-JSON payloads such as [DONE].")
    t: float | None = Field(default=None, description="Seconds since the request began.")


class Start(_Event):
    """Emitted by normalize when an upstream response begins."""

    type: Literal["start"]
    id: str | None = None
    model: str | None = None
    dialect: str | None = None
    created: int | float | None = None


class TextStart(_Event):
    """Emitted when a block of assistant text begins."""

    type: Literal["text-start"]
    id: str
    refusal: bool | None = None


class TextDelta(_Event):
    """Emitted for each fragment of assistant text."""

    type: Literal["text-delta"]
    id: str
    delta: str


class TextEnd(_Event):
    """Emitted when a text block ends; ``text`` is the full text, filled at the latest by accumulate."""

    type: Literal["text-end"]
    id: str
    text: str | None = None


class ReasoningStart(_Event):
    """Emitted when a block of reasoning (thinking) begins."""

    type: Literal["reasoning-start"]
    id: str


class ReasoningDelta(_Event):
    """Emitted for each fragment of reasoning text."""

    type: Literal["reasoning-delta"]
    id: str
    delta: str


class ReasoningEnd(_Event):
    """Emitted when a reasoning block ends; signatures and encrypted content ride in provider_metadata."""

    type: Literal["reasoning-end"]
    id: str
    text: str | None = None


class ToolInputStart(_Event):
    """Emitted when the model starts writing a tool call's arguments."""

    type: Literal["tool-input-start"]
    id: str = Field(description="The tool call id.")
    tool_name: str
    provider_executed: bool | None = None


class ToolInputDelta(_Event):
    """Emitted for each fragment of a tool call's arguments (JSON text)."""

    type: Literal["tool-input-delta"]
    id: str
    delta: str


class ToolInputEnd(_Event):
    """Emitted when a tool call's arguments are complete."""

    type: Literal["tool-input-end"]
    id: str


class ToolCall(_Event):
    """Emitted once per tool call, with its whole arguments."""

    type: Literal["tool-call"]
    tool_call_id: str
    tool_name: str
    arguments: str = Field(description="The arguments as JSON text, as the model wrote them.")
    input: Any = Field(default=None, description="The parsed arguments, or null (see input_error).")
    input_error: str | None = None
    provider_executed: bool | None = None


class ToolApprovalRequest(_Event):
    """Emitted by run-tools before asking whether a call may run; or by normalize when the
    provider asks before it runs a tool (an OpenAI Responses MCP approval request:
    ``provider_executed`` true, ``tool_call_id`` the request's id, which the answer names)."""

    type: Literal["tool-approval-request"]
    tool_call_id: str
    tool_name: str | None = None
    arguments: str | None = Field(default=None, description="The call's arguments as JSON text.")
    input: Any = None
    input_error: str | None = None
    provider_executed: bool | None = None


class ToolApprovalResponse(_Event):
    """Emitted by run-tools with the answer to an approval request."""

    type: Literal["tool-approval-response"]
    tool_call_id: str
    approved: bool
    reason: str | None = None


class ToolResult(_Event):
    """Emitted by run-tools (or the upstream, for provider-executed tools) with a call's output."""

    type: Literal["tool-result"]
    tool_call_id: str
    tool_name: str | None = None
    output: Any = None
    is_error: bool = False
    provider_executed: bool | None = None


class Source(_Event):
    """Emitted for a citation or annotation."""

    type: Literal["source"]
    source_type: Literal["url", "document"]
    id: str
    url: str | None = None
    title: str | None = None
    media_type: str | None = None
    filename: str | None = None


class File(_Event):
    """Emitted for a file the model produced (an image, audio)."""

    type: Literal["file"]
    media_type: str
    data: str = Field(description="Base64 content, or a URL.")


class Finish(_Event):
    """Emitted by normalize when an upstream response (or one of its choices) ends."""

    type: Literal["finish"]
    finish_reason: FinishReason
    raw_finish_reason: str | None = None
    usage: Usage | None = None
    model: str | None = Field(
        default=None, description="The model that answered, when not the one start named."
    )


class Error(_Event):
    """Emitted by any stage: an upstream error, or a bad input line under ``--on-error pass``."""

    type: Literal["error"]
    message: str
    code: str | int | None = None
    retryable: bool | None = None
    line: int | None = None


# --- message parts ---------------------------------------------------------------------------


class TextPart(_Model):
    type: Literal["text"]
    text: str
    refusal: bool | None = None
    provider_metadata: ProviderMetadata | None = None


class ReasoningPart(_Model):
    type: Literal["reasoning"]
    text: str
    provider_metadata: ProviderMetadata | None = None


class ToolCallPart(_Model):
    type: Literal["tool-call"]
    tool_call_id: str
    tool_name: str
    arguments: str
    input: Any = None
    input_error: str | None = None
    provider_executed: bool | None = None
    provider_metadata: ProviderMetadata | None = None


class ToolResultPart(_Model):
    type: Literal["tool-result"]
    tool_call_id: str
    tool_name: str | None = None
    output: Any = None
    is_error: bool = False
    provider_executed: bool | None = None
    provider_metadata: ProviderMetadata | None = None


class ToolApprovalRequestPart(_Model):
    """A provider's request for approval before it runs a tool (``provider_executed``)."""

    type: Literal["tool-approval-request"]
    tool_call_id: str
    tool_name: str | None = None
    arguments: str | None = None
    input: Any = None
    input_error: str | None = None
    provider_executed: bool | None = None
    provider_metadata: ProviderMetadata | None = None


class SourcePart(_Model):
    type: Literal["source"]
    source_type: Literal["url", "document"]
    id: str
    url: str | None = None
    title: str | None = None
    provider_metadata: ProviderMetadata | None = None


class FilePart(_Model):
    type: Literal["file"]
    media_type: str
    data: str
    provider_metadata: ProviderMetadata | None = None


Part = Annotated[
    TextPart
    | ReasoningPart
    | ToolCallPart
    | ToolResultPart
    | ToolApprovalRequestPart
    | SourcePart
    | FilePart,
    Field(discriminator="type"),
]


class Message(_Event):
    """Emitted by accumulate when a response (or choice) ends: the whole assistant turn."""

    type: Literal["message"]
    role: Literal["assistant"] = "assistant"
    content: list[Part]
    finish_reason: FinishReason | None = None
    raw_finish_reason: str | None = None
    usage: Usage | None = None
    id: str | None = None
    model: str | None = None
    dialect: str | None = None


class StartStep(_Event):
    """Emitted by agent before each upstream request of the tool loop."""

    type: Literal["start-step"]
    step: int


class FinishStep(_Event):
    """Emitted by agent after each step's response (and its tool results)."""

    type: Literal["finish-step"]
    step: int


Event = Annotated[
    Raw
    | Start
    | TextStart
    | TextDelta
    | TextEnd
    | ReasoningStart
    | ReasoningDelta
    | ReasoningEnd
    | ToolInputStart
    | ToolInputDelta
    | ToolInputEnd
    | ToolCall
    | ToolApprovalRequest
    | ToolApprovalResponse
    | ToolResult
    | Source
    | File
    | Finish
    | Error
    | Message
    | StartStep
    | FinishStep,
    Field(discriminator="type"),
]

EventAdapter: TypeAdapter[Any] = TypeAdapter(Event)

EVENT_TYPES: frozenset[str] = frozenset(
    m.model_fields["type"].annotation.__args__[0]  # type: ignore[union-attr]
    for m in (
        Raw, Start, TextStart, TextDelta, TextEnd, ReasoningStart, ReasoningDelta, ReasoningEnd,
        ToolInputStart, ToolInputDelta, ToolInputEnd, ToolCall, ToolApprovalRequest,
        ToolApprovalResponse, ToolResult, Source, File, Finish, Error, Message, StartStep, FinishStep,
    )
)  # fmt: skip


def validate_event(event: dict[str, Any]) -> Any:
    """Validate one event dict against the canonical models; raises pydantic.ValidationError."""
    return EventAdapter.validate_python(event)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of every canonical event (what ``streamkit schema`` prints)."""
    schema = EventAdapter.json_schema()
    schema["title"] = "streamkit event"
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
