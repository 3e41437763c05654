"""What a dialect is: the base classes a dialect plugin subclasses.

A dialect is one upstream wire protocol (OpenAI Chat Completions, Anthropic Messages, ...). It
knows how to recognise its events (``sniff``), how to turn them into canonical events (a
stateful :class:`Normalizer`, one per stream) and how to turn canonical events back into its
own wire events (an :class:`Encoder`), and how its wire events are framed on the wire
(``framing``: ``sse``, ``ndjson``, ``json-array``).

Wire events are ``(event_name, data)`` pairs: ``event_name`` is the SSE ``event:`` field (or
``None``), ``data`` a JSON-serialisable value or a string sent as-is (``"[DONE]"``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from orjson import dumps as _dumps

from .normalizer import Normalizer

WireEvent = tuple[str | None, Any]


@dataclass
class Endpoint:
    """Where a request goes: the upstream's base URL, the API key (never logged), the model.

    ``auth_token`` is a bearer token from the dialect's :attr:`Dialect.auth_token_env`
    (``ANTHROPIC_AUTH_TOKEN``, Azure's ``AZURE_OPENAI_AD_TOKEN``), sent as ``Authorization:
    Bearer`` by the dialects that know one; ``api_version`` is an API version from
    :attr:`Dialect.api_version_env` (Azure OpenAI's ``OPENAI_API_VERSION``). Neither is logged.
    """

    base_url: str
    api_key: str | None = None
    model: str | None = None
    auth_token: str | None = None
    api_version: str | None = None

    def __repr__(self) -> str:  # the key stays out of reprs, logs and tracebacks
        key = "set" if self.api_key else "none"
        token = ", auth_token=<set>" if self.auth_token else ""
        return f"Endpoint(base_url={self.base_url!r}, api_key=<{key}>{token}, model={self.model!r})"


@dataclass
class Request:
    """One HTTP request a dialect asks for: ``fetch`` sends it and reads the streamed answer."""

    url: str
    body: Any
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    method: str = "POST"
    #: how the response body is framed (``sse``, ``ndjson``, ``json-array``, ``eventstream``)
    framing: str = "sse"
    #: a WebSocket mode, for dialects that have one (the Responses API): where to connect, the
    #: message to send (``response.create``), and the event types that end its answer
    websocket_url: str | None = None
    websocket_message: Any = None
    websocket_final: frozenset[str] = frozenset()


@dataclass
class ParsedRequest:
    """A client's native request as ``streamkit serve`` understands it (see
    :meth:`Dialect.parse_request`): the canonical conversation, and how to answer it."""

    #: the canonical conversation (:mod:`streamkit.conversation`), ``model`` included
    conversation: dict[str, Any]
    #: whether the client asked for a stream (else it gets the dialect's whole response object)
    stream: bool = True
    #: options for the dialect's encoder and :meth:`Dialect.whole_response`: what the answer must
    #: agree with (an endpoint kind, the custom tools the request declared, ids it named)
    answer_options: dict[str, Any] = field(default_factory=dict)
    #: what the request asked for that a canonical conversation cannot carry to another dialect
    #: (``"the web_search tool"``); the gateway warns once per kind when the upstream is another
    #: dialect. Fields nobody needs (cache hints, client metadata) are not listed: accepted quietly.
    dropped: list[str] = field(default_factory=list)


def wire_string(value: Any, field: str) -> str:
    """``value`` when it is a string, for a normalizer that passes a provider's value on as text
    (a delta, a tool's name or id); else a :class:`~streamkit.errors.DataError` saying that
    ``field`` is not one. A normalizer never makes an event the next stage would refuse: see
    ``tests/stages/test_normalize_wire_types.py``, which puts a wrong type in every place."""
    if type(value) is str:
        return value
    from ..errors import DataError

    raise DataError(f"{field} is a {type(value).__name__}, expected a string")


def unix_time(created: Any) -> int | float | None:
    """A ``start`` event's ``created`` when it is a Unix time (seconds) a wire format can write,
    else None: absent, not a number, or past datetime's years 1 to 9999 (the commands refuse such
    a ``start`` when they read it; an encoder given one in process writes the time of now)."""
    from ..canonical import EPOCH_RANGE

    if type(created) in (int, float) and EPOCH_RANGE[0] <= created < EPOCH_RANGE[1]:
        return created
    return None


def unix_seconds(created: Any) -> int:
    """:func:`unix_time` in whole seconds, or now's, for a wire format that writes an integer."""
    from time import time

    moment = unix_time(created)
    return int(time() if moment is None else moment)


def token_counts(usage: dict[str, Any], field: str = "usage") -> dict[str, Any]:
    """A canonical usage made of a provider's ``field``, given back when each of its counts is a
    number (or null); else a :class:`~streamkit.errors.DataError` naming the count. For the
    ``finish`` a normalizer builds, once a response, of a usage it read (see :func:`wire_string`)."""
    if _COUNT_TYPES.issuperset(map(type, usage.values())):  # (the usual: one look, in C)
        return usage
    from ..errors import DataError

    key, count = next((k, c) for k, c in usage.items() if type(c) not in _COUNT_TYPES)
    raise DataError(f"{field}: a token count ({key}) is a {type(count).__name__}, expected a number")


_COUNT_TYPES = frozenset((int, float, type(None)))  # (a bool is no count: type(True) is bool)


#: the names of the calls of a provider's web search (``web_search``, the canonical one, which
#: Anthropic's, Responses' and Gemini's normalizers give; ``google_search_web``, Gemini's before
#: it did; Groq's ``browser_search``...): each encoder writes another provider's search as its own.
#: (Here, not in :mod:`.web_search`, so that an encoder's start-up does not load the request-side
#: modules.)
SEARCH_CALL_NAMES = frozenset(
    {"web_search", "web_search_preview", "google_search", "google_search_web", "browser_search"}
)


def search_pages(output: Any, call_input: Any = None) -> list[tuple[str, str | None]]:
    """The pages a provider's web search found, as (url, title or None), for an encoder that
    writes another provider's search as its own: from the search's result (Anthropic's
    ``web_search_result`` blocks, a ``sources`` or ``results`` list), else from its call's input
    (a Responses search's ``action.sources``); pages without a string ``url`` are skipped."""
    found: list[tuple[str, str | None]] = []
    for place in (output, call_input):
        pages = place.get("sources") or place.get("results") if isinstance(place, dict) else place
        for page in pages if isinstance(pages, list) else ():
            if isinstance(page, dict) and isinstance(page.get("url"), str):
                title = page.get("title")
                found.append((page["url"], title if isinstance(title, str) else None))
        if found:
            break
    return found


def search_queries(call_input: Any) -> list[str]:
    """The queries of a provider's web search call (its input's ``query``, or ``queries``)."""
    if not isinstance(call_input, dict):
        return []
    queries = call_input.get("queries")
    found = [q for q in queries if isinstance(q, str)] if isinstance(queries, list) else []
    query = call_input.get("query")
    return [query, *found] if isinstance(query, str) and query not in found else found


#: the image formats the Responses API names in an image generation's ``output_format``
IMAGE_FORMATS = frozenset({"png", "jpeg", "webp"})


def generated_image(ev: dict[str, Any]) -> tuple[str, str] | None:
    """A ``file`` event (or part) that is an image the model made, as its media type and base64
    data: an ``image/*`` file given as data (not by URL) and not a Gemini thought's draft; else
    None. The dialects that have generated images write these (a Responses
    ``image_generation_call``, Chat's ``images`` as OpenRouter gives them)."""
    media, data = ev.get("media_type"), ev.get("data")
    if not isinstance(media, str) or not media.startswith("image/") or not isinstance(data, str) or not data:
        return None
    if ev.get("url") or data.startswith(("http://", "https://", "gs://", "data:")):
        return None
    if any(isinstance(m, dict) and m.get("thought") for m in (ev.get("provider_metadata") or {}).values()):
        return None
    return media.split(";")[0], data


#: Where a :class:`PlainDelta`'s template holds the delta's text.
PLAIN_HOLE = "\x00streamkit plain delta\x00"
#: Where a :class:`PlainDelta`'s template holds the number its ``counter`` gives (after the text).
PLAIN_COUNT = "\x00streamkit count\x00"


class PlainDelta:
    """A template for the deltas of one open block (see :attr:`Encoder.plain_delta`): a delta of
    canonical type ``kind`` whose ``id`` is ``block_id`` makes the wire event ``(name, data)``
    with its text in place of :data:`PLAIN_HOLE` in ``data``. ``extra_fields`` says whether a
    delta with more fields than its type, id and text (``provider_metadata``, ``t``; never
    ``choice``) writes the same, the encoder reading none of them.

    Two changes to the encoder's state may come with each such delta, which the loop then makes
    itself: ``fragments``, a list of the encoder's that the text is appended to (the block's text
    so far), and ``counter``, the name of an integer attribute of the encoder (a sequence number)
    whose value goes in place of :data:`PLAIN_COUNT` in ``data`` (after the text) and which then
    goes up by one."""

    __slots__ = (
        "block_id",
        "counter",
        "data",
        "extra_fields",
        "fragments",
        "frames",
        "kind",
        "name",
        "plain",
    )

    def __init__(
        self, kind: str, block_id: str, name: str | None, data: Any, *, extra_fields: bool = False,
        fragments: list[str] | None = None, counter: str | None = None,
    ) -> None:  # fmt: skip
        self.kind = kind
        self.block_id = block_id
        self.name = name
        self.data = data
        self.extra_fields = extra_fields
        self.fragments = fragments
        self.counter = counter
        #: whether the template changes nothing (no fragments, no counter: set them when making it)
        self.plain = fragments is None and counter is None
        #: the framed template cut at the text (and at the count): set by the loop that writes it,
        #: once (empty when the framing cannot be cut so)
        self.frames: tuple[bytes, ...] | None = None

    def written(self, encoder: Any, text: str) -> bytes:
        """A delta's bytes from a template that is not :attr:`plain`, its changes to ``encoder``'s
        state made (the text appended to the fragments, the counter's value written and raised).
        The loops write a plain template's bytes themselves."""
        frames = self.frames
        assert frames  # (the loop frames the template first)
        if self.fragments is not None:
            self.fragments.append(text)
        if self.counter is None or len(frames) != 3:
            return frames[0] + _dumps(text) + frames[1]
        count = getattr(encoder, self.counter)
        setattr(encoder, self.counter, count + 1)
        return frames[0] + _dumps(text) + frames[1] + b"%d" % count + frames[2]

    def fits(self, event: Any) -> str | None:
        """The text of ``event`` when it is a delta this template writes (non-empty), else None.
        (``render``'s command loop makes the same test inline.)"""
        if (
            type(event) is dict
            and event.get("id") == self.block_id
            and event.get("type") == self.kind
            and (len(event) == 3 or (self.extra_fields and "choice" not in event))
            and type(text := event.get("delta")) is str
            and text
        ):
            return text
        return None

    def __eq__(self, other: object) -> bool:  # (the frames are the loop's cache)
        if not isinstance(other, PlainDelta):
            return NotImplemented
        return self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]

    def _fields(self) -> tuple[Any, ...]:
        return (
            self.kind,
            self.block_id,
            self.name,
            self.data,
            self.extra_fields,
            self.fragments,
            self.counter,
        )

    def __repr__(self) -> str:
        return "PlainDelta({}, {}, {}, {}, extra_fields={}, fragments={}, counter={})".format(
            *map(repr, self._fields())
        )


class Encoder:
    """Turns canonical events back into a dialect's wire events.

    ``feed`` is called once per canonical event and returns the wire events it produces;
    ``close`` returns what the end of the stream needs (a ``[DONE]`` sentinel, a final
    ``message_stop``). Encoders must accept both a delta stream and one that carries only final
    ``message`` events (see :func:`streamkit.canonical.message_to_events`).

    What the dialect cannot express is either carried in ``provider_metadata`` or dropped with
    :meth:`drop`, which counts it; :meth:`report_dropped` (call it from ``close``) then warns
    once per kind on stderr. Nothing is dropped silently.
    """

    #: The dialect's name, used in warnings.
    dialect_name: str = ""

    #: What the next delta of the open block writes, when a loop may write it without calling
    #: ``feed`` (``render -f DIALECT``, ``convert``): a :class:`PlainDelta`, or None. ``feed``
    #: sets it to None first thing; the handler of a delta that has just written it may set it
    #: when the block's next delta with a non-empty text would make exactly one wire event (the
    #: template, the text in place of :data:`PLAIN_HOLE`) and change nothing in the encoder, and
    #: ``feed`` keeps it only for the delta it was fed (:meth:`template_for`). The loop then
    #: frames the template once and writes each such delta as the frame's bytes around the text's
    #: JSON, with no handler, no dict and no serialisation of the rest: 1.13 to 1.23x less CPU for
    #: ``render -f`` on the real mixes (see ``bench/HISTORY.md``).
    #: ``streamkit.testing.check_plain_deltas`` checks an encoder keeps to this.
    plain_delta: PlainDelta | None = None

    #: Set by the loops that write templates (``render``'s and ``convert``'s, and
    #: ``streamkit.testing.check_plain_deltas``): an encoder makes templates only then, so that one
    #: fed every event (``serve``'s gateway) does no work for them.
    templates_wanted: bool = False

    def feed(self, event: dict[str, Any]) -> list[WireEvent]:
        raise NotImplementedError

    def close(self) -> list[WireEvent]:
        self.report_dropped()
        return []

    def template_for(self, event: dict[str, Any]) -> None:
        """Keep :attr:`plain_delta` only when it is for ``event`` itself, a delta: call it at the
        end of ``feed`` when one is set. A handler of another event may have made one on the way,
        writing a delta of its own (a whole tool call's arguments, a block's text given at its end)
        before changing its state (ending the call or the block)."""
        template = self.plain_delta
        if template is not None and (
            template.kind != event.get("type") or template.block_id != event.get("id")
        ):
            self.plain_delta = None

    def hold_error(self, event: dict[str, Any]) -> list[WireEvent]:
        """Keep an ``error`` that came before any event of its response (``accumulate --final``
        writes errors before the message); :meth:`release_errors` writes it inside that response,
        once it is open. Returns ``[]``."""
        self.__dict__.setdefault("_held_errors", []).append(event)
        return []

    @property
    def holding_errors(self) -> bool:
        return bool(self.__dict__.get("_held_errors"))

    def release_errors(self) -> list[WireEvent]:
        """The held errors, fed again now that their response is open."""
        held = self.__dict__.pop("_held_errors", [])
        return [wire for event in held for wire in self.feed(event)]

    def unhandled(self, event: dict[str, Any]) -> list[WireEvent]:
        """An event ``feed`` has no handler for (call it from there; returns ``[]``). What is part
        of the response and lost is counted with :meth:`drop`: a provider's approval request
        (``tool-approval-request`` with ``provider_executed``, an OpenAI Responses MCP approval
        request) that this dialect cannot carry. Other events (run-tools' own approval dialogue,
        types from newer producers) are no part of a response: they pass unsaid."""
        if event.get("type") == "tool-approval-request" and event.get("provider_executed"):
            return self.drop("the provider's tool approval requests")
        return []

    def drop(self, what: str) -> list[WireEvent]:
        """Count one thing this dialect cannot express (``"document sources"``); returns ``[]``."""
        dropped: dict[str, int] = self.__dict__.setdefault("_dropped", {})
        dropped[what] = dropped.get(what, 0) + 1
        return []

    def report_dropped(self) -> None:
        """Warn on stderr about everything :meth:`drop` counted, once per kind."""
        from .. import diagnostics

        for what, count in self.__dict__.pop("_dropped", {}).items():
            diagnostics.warn(
                f"{self.dialect_name or 'this dialect'} cannot express {what} ({count}); dropped"
            )


class _Untemplated:
    """An encoder that is no :class:`Encoder` (a plugin's, written to the duck type): it offers no
    template, and everything goes to its ``feed``."""

    plain_delta = None

    def __init__(self, encoder: Any) -> None:
        self.feed, self.close = encoder.feed, encoder.close


def templated(encoder: Any) -> Any:
    """``encoder`` as the loops that write templates use it, asked for them
    (:attr:`Encoder.templates_wanted`): itself, or wrapped when it has no
    :attr:`Encoder.plain_delta` (so that a plugin's encoder of the duck type keeps working)."""
    if not hasattr(encoder, "plain_delta"):
        return _Untemplated(encoder)
    encoder.templates_wanted = True
    return encoder


class Dialect:
    """Base class of every dialect; register instances through ``register_dialects``."""

    #: The dialect's name, as given to ``-d`` and ``-f`` (``openai-chat``).
    name: ClassVar[str] = ""
    #: One line for ``streamkit dialects``.
    description: ClassVar[str] = ""
    #: How wire events are framed: ``sse``, ``ndjson`` or ``json-array``.
    framing: ClassVar[str] = "sse"
    #: Where requests go unless told otherwise, and the environment variables that say so
    #: (after ``--base-url`` and ``STREAMKIT_BASE_URL``), in order of precedence.
    default_base_url: ClassVar[str | None] = None
    base_url_env: ClassVar[tuple[str, ...]] = ()
    #: The port a base URL given as a bare host (``OLLAMA_HOST=localhost``) means.
    default_port: ClassVar[int | None] = None
    #: The environment variables holding the API key (after ``--key-file``, ``STREAMKIT_API_KEY``).
    api_key_env: ClassVar[tuple[str, ...]] = ()
    #: The environment variables holding a bearer token (:attr:`Endpoint.auth_token`), if the
    #: dialect sends one besides or instead of its key (Anthropic's ``ANTHROPIC_AUTH_TOKEN``).
    auth_token_env: ClassVar[tuple[str, ...]] = ()
    #: The environment variables holding an API version (:attr:`Endpoint.api_version`).
    api_version_env: ClassVar[tuple[str, ...]] = ()
    #: The paths ``streamkit serve`` answers on (POST; starlette path syntax), and WebSocket ones.
    serve_paths: ClassVar[tuple[str, ...]] = ()
    websocket_paths: ClassVar[tuple[str, ...]] = ()
    #: A regular expression every tool name the API takes matches whole, or None for any name:
    #: ``serve --upstream`` sends a client's tool whose name does not match under one that does,
    #: and names its calls back (:mod:`streamkit.serve.tool_names`).
    tool_name_pattern: ClassVar[str | None] = None

    def credential_env(self, base_url: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The environment variables holding the key, and those holding a bearer token, for
        requests to ``base_url``. Default: :attr:`api_key_env` and :attr:`auth_token_env`
        whatever the URL; the OpenAI dialects read Azure's own variables for an Azure URL, so
        that an OpenAI key is never sent to Azure (nor an Azure key to OpenAI)."""
        return self.api_key_env, self.auth_token_env

    def sniff(self, data: Any, event: str | None = None) -> bool:
        """Say whether a wire event (its parsed ``data`` and SSE ``event`` name) is this dialect's.

        Called on the first events of a stream whose dialect was not given, until one dialect
        says yes. Return ``False`` when unsure: an event nobody claims is held back and the next
        one is tried.
        """
        return False

    def normalizer(self, **options: Any) -> Normalizer:
        """A fresh normalizer for one stream."""
        raise NotImplementedError

    def encoder(self, **options: Any) -> Encoder:
        """A fresh encoder for one stream."""
        raise NotImplementedError

    def build_request(
        self, conversation: dict[str, Any] | None, endpoint: Endpoint, *, body: Any = None
    ) -> Request:
        """The streaming request for a canonical conversation (see :mod:`streamkit.conversation`),
        or, when ``body`` is given, for that native request body sent as-is.

        Raise :class:`streamkit.errors.UsageError` for what the dialect cannot send.
        """
        from ..errors import UsageError

        raise UsageError(f"the {self.name} dialect cannot make requests")

    @property
    def makes_requests(self) -> bool:
        """Whether the dialect builds requests (overrides :meth:`build_request`). ``fetch``,
        ``agent`` and ``serve --upstream`` say so up front for one that does not, before asking
        for a base URL it would never use."""
        return type(self).build_request is not Dialect.build_request

    def parse_request(
        self, body: Any, *, path: str = "", params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> ParsedRequest:  # fmt: skip
        """A native request body, as the dialect's official SDK sends it, as a canonical
        conversation: the inverse of :meth:`build_request` (``path`` and ``params`` are the
        request's path and its path parameters, ``headers`` its headers with lower-case names).

        Raise :class:`streamkit.errors.UsageError` for a request the dialect itself would reject
        (``serve`` answers it with a 400 in the dialect's error shape). Unknown fields never
        make a request fail.
        """
        from ..errors import UsageError

        raise UsageError(f"the {self.name} dialect cannot parse requests")

    def whole_response(self, messages: list[dict[str, Any]], **options: Any) -> Any:
        """The dialect's whole (non-streamed) response object for one response, from its
        accumulated ``message`` events (one per choice; usually one). ``options`` are the
        :attr:`ParsedRequest.answer_options`."""
        from ..errors import UsageError

        raise UsageError(f"the {self.name} dialect has no whole (non-streamed) response")

    def error_body(self, status: int, message: str, code: Any = None) -> Any:
        """The body of an HTTP error response in the dialect's own shape, which its official
        SDK turns into its error types. Default: ``{"error": {"message", "type", "code"}}``."""
        error: dict[str, Any] = {"message": message, "type": _error_type(status)}
        if code is not None:
            error["code"] = code
        return {"error": error}

    def wants_continuation(self, message: dict[str, Any]) -> bool:
        """Whether a response that asked for no client tool still wants the conversation sent back
        (Anthropic's ``pause_turn``: the server paused a long turn). ``agent`` then sends it back
        as it is and reads the next response. Default: no."""
        return False

    def serve_options(self, path: str, params: dict[str, str], body: Any) -> dict[str, Any]:
        """Encoder options for one request ``streamkit serve`` answers (``path`` is the request's
        path, ``params`` its path parameters, ``body`` its JSON): what the answer must agree with,
        such as the thread and run ids an Assistants continuation names. Default: none."""
        return {}

    def continuation_state(self, message: dict[str, Any], known: int) -> dict[str, Any] | None:
        """What the next request needs to continue on the server, from this response's ``message``.

        Called by ``render -f conversation`` and ``agent`` after a response; ``known`` is the
        number of conversation messages the server has seen once this response is in it. The
        result is stored in the conversation's ``state[NAME]`` and read back by
        ``build_request`` (a Responses ``previous_response_id``, an Assistants thread and run).
        The default, for dialects that keep nothing on the server, is ``None``: every request
        carries the whole conversation.
        """
        return None

    def __repr__(self) -> str:
        return f"<dialect {self.name}>"


def _error_type(status: int) -> str:
    """The OpenAI-style error type of an HTTP status."""
    return {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
            404: "not_found_error", 429: "rate_limit_error"}.get(status, "api_error" if status >= 500 else "invalid_request_error")  # fmt: skip


class LazyDialect:
    """A dialect registered by name and imported the first time it is used.

    Listing dialects (``streamkit dialects``) reads only ``name``, ``description`` and
    ``framing``; a command that uses one dialect imports that one module only. Any other
    attribute loads the dialect (``target`` is ``"package.module:Class"``).
    """

    def __init__(self, name: str, target: str, *, description: str = "", framing: str = "sse") -> None:
        self.name = name
        self.target = target
        self.description = description
        self.framing = framing
        self._loaded: Dialect | None = None

    def load(self) -> Dialect:
        if self._loaded is None:
            import importlib

            module_name, _, attr = self.target.partition(":")
            self._loaded = getattr(importlib.import_module(module_name), attr)()
        return self._loaded

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        return getattr(self.load(), attr)

    def __repr__(self) -> str:
        return f"<dialect {self.name} (lazy)>"
