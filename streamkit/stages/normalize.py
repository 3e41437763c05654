"""normalize: one dialect's raw events → the canonical vocabulary.

Input lines are ``raw`` events (from ``fetch``), or a provider's bare JSON payloads (a line
with no ``type``, or a ``type`` a dialect claims, like Anthropic's ``message_start``). Canonical
events and unknown event types pass through unchanged.

The dialect comes from ``dialect=`` (``-d``), else from each raw event's ``dialect`` field,
else it is detected: the first events of the stream are offered to every installed dialect's
``sniff`` until one claims them (events nobody claims yet are held back, at most
:data:`SNIFF_LIMIT` of them).
"""

from __future__ import annotations

import gc
import json
import os
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Literal

import orjson

from .. import diagnostics
from ..canonical import CANONICAL_TYPES, check_event
from ..errors import DataError
from ..ndjson import EventWriter, NDJSONReader
from ..plugins import Registry, default_registry

if TYPE_CHECKING:
    from ..ndjson import OnError

SNIFF_LIMIT = 64

_MISSING = object()


class _Detect:
    """Which dialect a stream is, decided from its first events."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._dialects: list[Any] | None = None  # loaded on the first event that needs sniffing
        self.names = ", ".join(sorted(registry.dialect_entries())) or "none"

    def load(self) -> list[Any]:
        if self._dialects is None:
            self._dialects = list(self.registry.dialects().values())
        return self._dialects

    def preload(self) -> None:
        """Load the dialects ahead of the first event. One that cannot be loaded (a broken
        plugin) fails where it did without this: when detection needs it, if it does."""
        try:
            self.load()
        except Exception:
            self._dialects = None

    def claims(self, data: Any, event: str | None) -> Any:
        for dialect in self._dialects or self.load():
            try:
                if dialect.sniff(data, event):
                    return dialect
            except Exception:  # a plugin's sniff must not break detection for the others
                continue
        return None


class _Router:
    """Everything but the hot path: detection, switching dialects, bad events, the end."""

    def __init__(self, registry: Registry, dialect: str | None, keep_raw: bool, on_error: OnError,
                 line_no: Any, options: dict[str, Any], delta_bytes: bool = False) -> None:  # fmt: skip
        self.registry = registry
        self.forced = registry.dialect(dialect) if dialect else None
        self.detect = _Detect(registry)
        self.keep_raw = keep_raw
        self.on_error = on_error
        self.line_no = line_no
        self.options = options
        self.current: Any = None  # the dialect of the stream being normalized
        self.feed: Any = None  # its normalizer's feed, once there is one
        self.normalizer: Any = None
        self.accepts: tuple[Any, ...] = ()  # raw.dialect values the current normalizer takes
        self.delta_bytes = delta_bytes  # whether feed may return an event's bytes (Normalizer.delta_bytes)
        self.held: list[tuple[dict[str, Any], Any, str | None]] = []  # waiting for detection
        self.unused: dict[str, int] = {}
        self.debug = bool(os.environ.get("STREAMKIT_DEBUG"))
        self.ready: Any = None  # the forced dialect's normalizer, made ahead (see warm_up)
        self.dialect_flag = options.pop("dialect_flag", "-d")  # how the caller names the dialect
        self.keep_raw_hint = options.pop("keep_raw_hint", "--keep-raw keeps them")  # and keep_raw
        # what made-up call ids start with (Normalizer.call_id_prefix: set, not an option)
        self.call_id_prefix = options.pop("call_id_prefix", None)

    def bad(self, message: str) -> list[dict[str, Any]]:
        """A data error: raise, skip or pass it on, as on_error says."""
        line = self.line_no() if self.line_no is not None else None
        if self.on_error == "fail":
            raise DataError(message, line)
        if self.on_error == "skip":
            diagnostics.warn(f"{f'line {line}: ' if line else ''}{message} (skipped)")
            return []
        ev: dict[str, Any] = {"type": "error", "message": message, "code": "bad-input"}
        if line:
            ev["line"] = line
        return [ev]

    def failed(self, exc: Exception) -> list[dict[str, Any]]:
        """The normalizer raised on an event."""
        message = failure(self.current.name, exc)
        if message is None or (self.debug and not isinstance(exc, DataError)):
            raise exc
        return self.bad(message)

    def checked(self, out: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The events a normalizer made, if each is canonical (see :func:`check_made`); else bad
        input, as when it raises."""
        try:
            check_made(out)
        except DataError as exc:
            return self.failed(exc)
        return out

    def no_meaning(self, raw: dict[str, Any] | None, data: Any, event: str | None) -> list[dict[str, Any]]:
        """An event that means nothing canonical: kept as a raw event (``raw``, the line's, read
        when --keep-raw is given) or counted in the warning at the end."""
        if self.keep_raw:
            if raw is not None and raw.get("type") == "raw":
                return [raw if raw.get("dialect") else {**raw, "dialect": self.current.name}]
            return [{"type": "raw", "dialect": self.current.name, "event": event, "data": data}]
        kind = event or (data.get("type") if isinstance(data, dict) else None)
        if type(kind) is not str or not kind:  # counted by its event type, if it names one
            kind = "chunk"
        self.unused[kind] = self.unused.get(kind, 0) + 1
        return []

    def run(self, raw: dict[str, Any], data: Any, event: str | None) -> list[dict[str, Any]]:
        try:
            out = self.normalizer.feed(data, event)  # (checked below: not the hot path's checking feed)
        except Exception as exc:
            return self.failed(exc)
        if out is None:
            return self.no_meaning(raw, data, event)
        if type(out) is bytes:  # one event's bytes (see Normalizer.delta_bytes), off the hot path
            out = [orjson.loads(out + b"}")]
        return self.checked(out)

    def warm_up(self) -> None:
        """Make the forced dialect's normalizer ahead of the first event (importing its module),
        for the first event to use. If it cannot be made, the first event makes it again and says
        why, as without this."""
        if self.forced is None:
            self.detect.preload()
        elif self.normalizer is None and self.ready is None:
            try:
                self.ready = self.forced.normalizer(**self.options)
            except Exception:
                self.ready = None

    def switch(self, new: Any) -> list[dict[str, Any]]:
        out = self.close_normalizer()
        self.current = new
        ready, self.ready = self.ready, None
        self.normalizer = (
            ready if ready is not None and new is self.forced else new.normalizer(**self.options)
        )
        if self.call_id_prefix is not None:
            self.normalizer.call_id_prefix = self.call_id_prefix
        if not getattr(self.normalizer, "checks_types", False):  # (a plugin's: Normalizer.checks_types)
            self.feed = _checking(self.normalizer.feed)
        else:
            if self.delta_bytes and hasattr(type(self.normalizer), "delta_bytes"):  # (a Normalizer's)
                try:
                    self.normalizer.delta_bytes = True
                except AttributeError:  # (slots: it returns lists)
                    pass
            self.feed = self.normalizer.feed
        # (the name first: a str compared with None first costs twice what the match does)
        self.accepts = (new.name, None) if self.forced is None else ()
        return out

    def close_normalizer(self) -> list[dict[str, Any]]:
        if self.normalizer is None:
            return []
        try:
            out = self.normalizer.close()
        except Exception as exc:
            return self.failed(exc)
        return self.checked(out)

    def route(self, raw: dict[str, Any]) -> list[dict[str, Any]]:
        kind = raw.get("type")
        if kind == "raw":
            problem = check_event(raw)
            if problem is not None:
                return self.bad(problem)
            data = raw.get("data")
            event = raw.get("event")
            named = raw.get("dialect")
        elif kind in CANONICAL_TYPES:
            return [raw]
        else:
            # a bare provider payload (no type, or a type a dialect claims), or an unknown event
            data, event, named = raw, None, None
            if kind is not None:
                forced, current = self.forced, self.current
                if forced is not None:
                    claimant = forced if forced.sniff(data, None) else None
                elif current is not None:
                    claimant = current if current.sniff(data, None) else None
                else:
                    claimant = self.detect.claims(data, None)
                if claimant is None:
                    return [raw]  # unknown event types pass through unchanged
        if self.forced is not None:
            target = self.forced
        elif named:
            if self.current is not None and self.current.name == named:
                target = self.current
            else:
                try:
                    target = self.registry.dialect(named)
                except Exception:
                    return self.bad(f"unknown dialect {named!r} (installed: {self.detect.names})")
        elif self.current is not None:
            target = self.current
        else:
            target = self.detect.claims(data, event)
            if target is None:
                self.held.append((raw, data, event))
                if len(self.held) >= SNIFF_LIMIT:
                    return self.undetected()
                return []
        out = self.switch(target) if target is not self.current else []
        if self.held:
            held, self.held = self.held, []
            for h_raw, h_data, h_event in held:
                out.extend(self.run(h_raw, h_data, h_event))
        out.extend(self.run(raw, data, event))
        return out

    def off_hot_path(self, raw: dict[str, Any], last_t: Any) -> tuple[list[dict[str, Any]], Any]:
        """The events of an event the hot path did not take, and the t of the last raw event
        (``last_t`` unless this one is raw): its t is kept on every event made from it."""
        out = self.route(raw)
        if raw.get("type") == "raw":
            t = last_t = raw.get("t")
            if t is not None:
                for ev in out:
                    ev["t"] = t
        return out, last_t

    def undetected(self) -> list[dict[str, Any]]:
        held, self.held = self.held, []
        data, event = held[0][1], held[0][2]
        first = event or (data.get("type") if isinstance(data, dict) else None)
        what = f" (first event: {first})" if first and type(first) is str else ""
        names = self.detect.names
        return self.bad(
            f"no installed dialect recognizes this stream{what}; pass {self.dialect_flag} DIALECT (installed: {names})"
        )

    def end(self, last_t: Any) -> list[dict[str, Any]]:
        """What the end of the stream completes (a finish), at its last raw event's time."""
        out = self.undetected() if self.held else []
        out.extend(self.close_normalizer())
        if self.unused:
            total = sum(self.unused.values())
            kinds = ", ".join(f"{k} x{n}" if n > 1 else k for k, n in sorted(self.unused.items()))
            name = self.current.name if self.current else ""
            diagnostics.warn(
                f"{total} {name} event{'s' if total > 1 else ''} with no canonical meaning ({kinds}); "
                + self.keep_raw_hint
            )
        if last_t is not None:
            for ev in out:
                ev["t"] = last_t
        return out


def normalize(
    events: Iterable[dict[str, Any]],
    *,
    dialect: str | None = None,
    keep_raw: bool = False,
    on_error: OnError = "fail",
    registry: Registry | None = None,
    line_no: Any = None,
    **options: Any,
) -> Iterator[dict[str, Any]]:
    """Normalize a stream of raw (or bare provider) events into canonical events.

    ``options`` go to the dialect's normalizer, except ``dialect_flag``, the option named in the
    message when no dialect recognizes the stream (``-d``; ``convert`` says ``--from``), and
    ``keep_raw_hint``, how the warning about events with no canonical meaning says to keep them
    (``--keep-raw keeps them``; ``convert``, which has no such option, names the pipeline), and
    ``call_id_prefix``, set as the normalizer's
    :attr:`~streamkit.dialects.base.Normalizer.call_id_prefix`.
    ``line_no`` is a callable giving the current input line, used in error messages.
    A raw event's ``t`` (seconds since the request began, as ``fetch`` stamps it) is kept on every
    event made from it, for ``render -f stats``.
    """
    router = _Router(registry or default_registry(), dialect, keep_raw, on_error, line_no, options)
    # the router's state as locals, refreshed whenever the slow path may have changed it
    feed, accepts, forced = router.feed, router.accepts, router.forced
    last_t = None  # the t of the last raw event
    missing = _MISSING
    for raw in events:
        # The hot path: a raw event for the normalizer already running, its dialect and event
        # names of the right types and no other fields but a live fetch's t (anything else takes
        # the router, which checks it with check_event and says what is wrong)
        if (
            feed is not None
            and raw.get("type") == "raw"
            and ((n := len(raw)) == 4 or (n == 5 and "t" in raw))
            and (data := raw.get("data", missing)) is not missing
            and (
                (named := raw.get("dialect", 0)) in accepts
                or (forced and (named is None or type(named) is str))
            )
            and ((event := raw.get("event", 0)) is None or type(event) is str)
        ):
            try:
                out = feed(data, event)
            except Exception as exc:
                out = router.failed(exc)
            t = last_t = raw["t"] if n == 5 else None
            if out:
                if t is not None:  # the raw event's time, kept on every event it made
                    for ev in out:
                        ev["t"] = t
                if len(out) == 1:
                    yield out[0]
                else:
                    yield from out
            elif out is None:
                yield from router.no_meaning(raw, data, event)
            continue
        out, last_t = router.off_hot_path(raw, last_t)
        yield from out
        feed, accepts = router.feed, router.accepts
    yield from router.end(last_t)


def write_normalized(
    reader: NDJSONReader,
    writer: EventWriter,
    see: Callable[[dict[str, Any]], Any],
    *,
    dialect: str | None = None,
    keep_raw: bool = False,
    on_error: OnError = "fail",
    registry: Registry | None = None,
    **options: Any,
) -> None:
    """The ``normalize`` command's loop: normalize the reader's lines and write the events, the
    same bytes as ``write_events(normalize(reader, ...), writer)``; ``see`` is shown every
    ``error`` and ``start`` event written (how the stream ends).

    It is :func:`normalize`'s hot path with the line read and the events written in the same
    loop: a line no longer passes through the reader's, the stage's and the outcome's generators.
    Measured on the real chat mix: 4.7% fewer instructions per event. A line the hot path does
    not take goes the generator's way: the reader's own checks, then the router. Output is
    flushed before each read that may wait (the reader's ``on_wait``), as the writer does.

    The hot path decodes a line with msgspec, straight into a struct whose fields' types it checks
    on the way (see :func:`_raw_decoder`), not with ``orjson.loads`` and checks in Python: 15% and
    18% fewer instructions on the real Anthropic and Bedrock mixes, 4 to 18% less CPU time on the
    real mixes (paired runs). ``data`` holds what ``orjson.loads`` would give, except for an
    integer beyond 64 bits, which orjson reads as a float and msgspec exactly; an event holding one
    is written exactly (by :mod:`json`: orjson writes no such integer). A normalizer may hand a
    lone delta back as its bytes (:attr:`~streamkit.dialects.base.Normalizer.delta_bytes`).
    """
    router = _Router(
        registry or default_registry(),
        dialect,
        keep_raw,
        on_error,
        lambda: reader.line_no,
        options,
        delta_bytes=True,
    )
    # (no dialect forced until there is a normalizer: the hot path takes nothing before it)
    feed, accepts, forced = router.feed, router.accepts, router.forced if router.feed is not None else None
    dumps, nl = orjson.dumps, orjson.OPT_APPEND_NEWLINE
    decode: Any = None  # msgspec's, made when the first line comes (importing it takes ~7-15 ms)
    write, flush = writer.out.write, writer.out.flush
    reader.on_wait = flush
    # Before a first read that would wait (a live pipe: fetch still waiting for its upstream),
    # msgspec's decoder and the forced dialect's normalizer are made then, not when the first
    # line has come: measured, the first event of a live stream went from 19 ms after its line to
    # 0.4 ms (a later one: 0.2 to 0.3 ms). A file, or input already there, is read at once as before.
    early: list[Any] = []

    def warm_up() -> None:
        try:
            early.append(_raw_decoder())
        except Exception:  # (ahead of time only: the first line makes it again, and fails as ever)
            pass
        router.warm_up()

    reader.on_idle = warm_up
    last_t = None
    frozen = False
    line_no = reader.line_no
    # the line number is kept in a local on the hot path and given to the reader (whose line_no
    # the router's messages and the last-resort error handler read) before anything else may
    # read it: the long way, a normalizer's exception, the next batch, and on the way out
    try:
        for lines in reader.batches():
            if decode is None:
                decode, decode_errors = early[0] if early else _raw_decoder()
            for line in lines:
                line_no += 1
                # the hot path of normalize(): a raw event whose fields are all there with the
                # right types and no other field (the struct's checks), of an accepted dialect
                try:
                    raw = decode(line)
                except decode_errors:
                    raw = None
                if raw is not None and (raw.dialect in accepts or forced):
                    data = raw.data
                    event = raw.event
                    try:
                        out = feed(data, event)
                    except Exception as exc:
                        reader.line_no = line_no
                        out = router.failed(exc)
                    t = last_t = raw.t
                    if type(out) is bytes:  # an event's bytes up to its "}" (Normalizer.delta_bytes)
                        write(out + b"}\n" if t is None else out + _t_field(t))
                        continue
                    if out:
                        for ev in out:
                            if t is not None:  # the raw event's time, kept on every event it made
                                ev["t"] = t
                            kind = ev.get("type")
                            if kind == "error" or kind == "start":
                                see(ev)
                            try:
                                write(dumps(ev, option=nl))
                            except TypeError as exc:  # an integer beyond 64 bits?
                                write(_exact(ev, exc))
                        continue
                    if out is None:
                        reader.line_no = line_no
                        # (the raw event as a dict for --keep-raw to write: orjson's, as the long way's)
                        as_dict = orjson.loads(line) if router.keep_raw else None
                        _write_all(router.no_meaning(as_dict, data, event), None, b"", write, see)
                    continue
                reader.line_no = line_no
                obj = reader.event_of(line, line_no)
                if obj is None:
                    continue
                out, last_t = router.off_hot_path(obj, last_t)
                _write_all(out, obj, line, write, see)
                feed, accepts = router.feed, router.accepts
                forced = router.forced if feed is not None else None
            reader.line_no = line_no
            if not frozen:  # the dialect is loaded: see write_events
                gc.freeze()
                frozen = True
    finally:
        reader.line_no = line_no
    _write_all(router.end(last_t), None, b"", write, see)
    flush()


#: the exceptions a normalizer raises on a payload of a shape it does not expect (a list where an
#: object goes): bad data, said as a malformed event; any other is a bug, and raised again
MALFORMED = (KeyError, TypeError, AttributeError, ValueError, IndexError)


def failure(dialect: str, exc: Exception) -> str | None:
    """What a normalizer's exception says of the data it was fed, in words naming ``dialect``:
    a :class:`DataError`'s message, or a malformed event (:data:`MALFORMED`); None for any other
    exception (a bug, for the caller to raise again). ``serve --upstream`` says the same of an
    upstream's stream."""
    if isinstance(exc, DataError):
        return f"{dialect}: {exc.message}"
    if isinstance(exc, MALFORMED):
        return f"{dialect}: malformed event ({type(exc).__name__}: {exc})"
    return None


def check_made(events: list[dict[str, Any]]) -> None:
    """Raise :class:`DataError` for the first of a normalizer's events that is no canonical event
    (``a value of the wrong type makes a bad text-delta event: 'delta' must be a string...``).

    A normalizer that passes a provider's value on without looking at its type (a text block
    whose text is an object, a usage count that is a list) would make such an event: the next
    stage would refuse it, naming a line of this stage's output, and ``convert`` (one process)
    would fail inside an encoder. The line that made a bad event is bad input, as when the
    normalizer raises.

    Where it is checked: every event of a normalizer that does not say it checks the types of
    what it passes on (:attr:`~streamkit.dialects.base.Normalizer.checks_types`: a plugin's, as a
    rule); for one that does, every event of a line off the hot path (detection, a change of
    dialect) and of the end of the stream. Not on its hot path:
    checking every event there cost 9 to 14% more instructions on the real mixes, and checking
    the start and finish events alone (usage, a finish reason) 4% more bytecodes a line on the
    Anthropic mix. The built-in normalizers check the types of what they pass on where they read
    it, and ``tests/stages/test_normalize_wire_types.py`` holds them to it (a wrong type in every
    place of every recording). The deltas a normalizer writes as bytes
    (:attr:`~streamkit.dialects.base.Normalizer.delta_bytes`) are of strings it checked.
    """
    for ev in events:
        problem = check_event(ev)
        if problem is not None:
            raise DataError(f"a value of the wrong type makes a bad {problem}")


def _checking(feed: Callable[..., Any]) -> Callable[..., Any]:
    """``feed`` with each event it makes checked (:func:`check_made`): the hot path's feed of a
    normalizer that does not check the types of what it passes on
    (:attr:`~streamkit.dialects.base.Normalizer.checks_types`), whose wrong event is then the
    line's bad input, said as any other."""

    def checked(data: Any, event: str | None = None) -> Any:
        out = feed(data, event)
        if out:
            check_made(out)
        return out

    return checked


def _write_all(events: list[dict[str, Any]], obj: Any, line: bytes, write: Callable[[bytes], Any],
               see: Callable[[dict[str, Any]], Any]) -> None:  # fmt: skip
    """Write events off the hot path: one passed on as the line's ``obj`` itself, of a type that is
    not canonical, is written as the line's own bytes (see :class:`EventWriter`)."""
    for ev in events:
        kind = ev.get("type")
        if kind == "error" or kind == "start":
            see(ev)
        if ev is obj and kind not in CANONICAL_TYPES:
            write(line)
        else:
            try:
                write(orjson.dumps(ev, option=orjson.OPT_APPEND_NEWLINE))
            except TypeError as exc:  # an integer beyond 64 bits? (see write_normalized)
                write(_exact(ev, exc))


def _t_field(t: Any) -> bytes:
    """The end of the line of an event made as bytes (see :attr:`Normalizer.delta_bytes`), with the
    raw event's ``t`` as orjson writes it as the last field of the event's dict."""
    try:
        return b',"t":' + orjson.dumps(t) + b"}\n"
    except TypeError as exc:  # an integer beyond 64 bits?
        return b',"t":' + _exact(t, exc)[:-1] + b"}\n"


def _exact(event: Any, exc: TypeError) -> bytes:
    """The line of an event orjson could not write (``exc``) because it holds an integer beyond
    64 bits (msgspec reads those exactly), written by :mod:`json`, which writes any integer. Any
    other reason is raised again (a line nested deeper than orjson writes is bad input, said by
    the command's guard)."""
    if "64-bit" not in str(exc):
        raise exc
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def _raw_decoder() -> tuple[Callable[[bytes], Any], tuple[type[BaseException], ...]]:
    """msgspec's decoder of a line into a raw event struct, and the exceptions it raises for a
    line it does not take: bad JSON, a field missing, of the wrong type or unknown (all of which
    the long way then reads with orjson, to say what is wrong as the reader does). msgspec is
    imported here, when the first line comes or while the first read waits for it, so that a
    start with no input stays quick."""
    import msgspec

    # (made with defstruct, not a class statement: mypyc compiles this module, see streamkit._native)
    raw = msgspec.defstruct(
        "Raw",
        [
            ("type", Literal["raw"]),
            ("dialect", str | None),
            ("event", str | None),
            ("data", Any),
            ("t", Any, None),
        ],
        forbid_unknown_fields=True,
        gc=False,
    )
    return msgspec.json.Decoder(raw).decode, (msgspec.DecodeError, RecursionError)
