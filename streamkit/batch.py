"""Batch conversion: many recordings, each converted on its own, failures as values.

:func:`convert_bytes` is the unit of work: one recording's bytes in, a :class:`Converted` out,
holding the output or the reason it failed, never raising for bad data. It takes and returns only
plain, picklable values and looks its plugins up in the process it runs in, so any pool can run it
(``convert -j N`` uses :mod:`concurrent.futures` processes; a Ray task or a Spark map works alike).
:func:`convert_file` is the same for a path, writing the output beside nothing but its target.

Choices where the issue is silent:

* A recording whose stream ends in an ``error`` event (an upstream failure it recorded) is
  converted (its output is written), and reported as ``stream_error``: ``convert`` counts it as
  failed (exit 1) unless ``--ignore-errors``. Bad data (not a recording, an unknown dialect, a
  broken record) is ``failed``: no output file is written, and ``convert`` exits 65.
* Diagnostics a conversion writes (warnings, the text format's notes) are captured into
  :attr:`Converted.messages` instead of the process's stderr, where a progress bar lives.
* Output names: the input's name with the target's extension (:attr:`Format.extension`); a
  directory given as input is walked recursively (hidden files and folders skipped) and its
  layout is kept under the output directory.
* Besides the output bytes, a result says what the recording was: its dialect and model (the
  first ``start`` event's), the last ``finish_reason``, and its usage summed over every response
  in it (a recording of a resumed turn holds several), so a table of results can be costed.
  ``keep="events"`` also returns the canonical events, ``keep="messages"`` the final ``message``
  events (accumulated), as plain dicts; ``to=None`` renders nothing (only what ``keep`` asks).
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .errors import EXIT_DATAERR, EXIT_FAILURE, EXIT_OK, StreamkitError

__all__ = ["Converted", "convert_bytes", "convert_file", "extension_of", "plan"]


@dataclass(frozen=True)
class Converted:
    """The result of converting one recording."""

    #: the input's name (a path, or whatever the caller named it)
    name: str = ""
    #: the converted bytes (empty when it failed, or when written to a file by :func:`convert_file`)
    output: bytes = b""
    #: 0 ok; 65 bad input data; 1 the stream ends in an error event; 2 a usage error
    exit_code: int = EXIT_OK
    #: why it failed, in one line (None when ``exit_code`` is 0)
    error: str | None = None
    #: what the conversion wrote on stderr (warnings, notes), one line each
    messages: tuple[str, ...] = field(default_factory=tuple)
    #: where the output was written (``convert_file``), or None
    path: str | None = None
    #: the recording's dialect and model (its first ``start`` event), when it got that far
    dialect: str | None = None
    model: str | None = None
    #: the last response's finish reason, and the usage summed over every response
    finish_reason: str | None = None
    usage: dict[str, int] | None = None
    #: the canonical events (``keep="events"``) or the final messages (``keep="messages"``)
    events: tuple[dict[str, Any], ...] = ()

    @property
    def ok(self) -> bool:
        return self.exit_code == EXIT_OK

    @property
    def stream_error(self) -> bool:
        """Converted, but the stream ends in an ``error`` event."""
        return self.exit_code == EXIT_FAILURE


def convert_bytes(
    data: bytes,
    *,
    to: str | None,
    from_: str | None = None,
    name: str = "",
    think_tags: bool = False,
    options: dict[str, Any] | None = None,
    keep: Literal["events", "messages"] | None = None,
) -> Converted:
    """Convert one recording (``data``, any framing ``fetch --replay`` reads) into format ``to``
    (None: no output bytes), keeping its canonical events or final messages if ``keep`` says so.

    Never raises for bad data, an unknown dialect or format: the result says what went wrong.
    """
    from . import diagnostics
    from .stages.fetch import replay
    from .stages.normalize import normalize
    from .stages.render import render

    captured = io.StringIO()
    chunks: list[bytes] = []
    kept: list[dict[str, Any]] = []
    watched: _Ending | None = None
    error: dict[str, Any] | None = None
    code, reason = EXIT_OK, None
    prog = diagnostics.prog()
    hook = diagnostics._before
    try:
        with contextlib.redirect_stderr(captured):
            diagnostics.before_write(None)
            diagnostics.set_prog(f"streamkit convert {name}".rstrip())
            raw = replay(io.BytesIO(data), dialect=from_)
            extra: dict[str, Any] = {"dialect_flag": "--from"}
            if think_tags:
                extra["think_tags"] = True
            events = normalize(raw, dialect=from_, line_no=lambda: raw.count, **extra)
            watched = _Ending(events, keep=keep is not None)
            if to is None:
                for _ in watched:
                    pass
            else:
                chunks.extend(render(watched, format=to, **(options or {})))
            error = watched.error
            kept = watched.kept
            if keep == "messages":
                from .stages.accumulate import accumulate

                kept = [ev for ev in accumulate(kept, final=True) if ev.get("type") == "message"]
            if not chunks and not raw.count and data.strip():
                code, reason = EXIT_DATAERR, "no records found: is this a recording?"
    except StreamkitError as exc:
        code, reason = exc.exit_code, str(exc)
    except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
        code, reason = EXIT_DATAERR, f"this recording cannot be processed ({type(exc).__name__}: {exc})"
    finally:
        diagnostics.set_prog(prog)
        diagnostics.before_write(hook)
    messages = tuple(line for line in captured.getvalue().splitlines() if line)
    about = watched.about() if watched is not None else {}
    if code != EXIT_OK:
        return Converted(name=name, exit_code=code, error=reason, messages=messages, **about)
    if error is not None:
        status = f"HTTP {error['status']}: " if error.get("status") else ""
        code, reason = EXIT_FAILURE, f"the stream ends in an error: {status}{error.get('message')}"
    return Converted(name=name, output=b"".join(chunks), exit_code=code, error=reason, messages=messages,
                     events=tuple(kept), **about)  # fmt: skip


class _Ending:
    """Pass events on, keeping the error event the stream ends in, as ``convert`` counts it
    (README "Exit codes"; the CLI's twin is :class:`streamkit.cli.outcome.Outcome`)."""

    def __init__(self, events: Iterable[dict[str, Any]], *, keep: bool = False) -> None:
        self._events = events
        self.error: dict[str, Any] | None = None
        self.kept: list[dict[str, Any]] = []
        self._keep = keep
        self._start: dict[str, Any] | None = None
        self._finish_reason: str | None = None
        self._usage: dict[str, int] | None = None

    def __iter__(self) -> Iterator[dict[str, Any]]:
        keep = self.kept.append if self._keep else None
        for event in self._events:
            kind = event.get("type")
            if kind == "error" and event.get("code") != "bad-input":
                self.error = event
            elif kind == "start":
                self.error = None
                if self._start is None:
                    self._start = event
            elif kind == "finish":
                self._finished(event)
            if keep is not None:
                keep(event)
            yield event

    def _finished(self, event: dict[str, Any]) -> None:
        self._finish_reason = event.get("finish_reason")
        usage = event.get("usage")
        if isinstance(usage, dict):
            total = self._usage if self._usage is not None else {}
            for key, value in usage.items():
                if isinstance(value, int) and not isinstance(value, bool):
                    total[key] = total.get(key, 0) + value
            self._usage = total

    def about(self) -> dict[str, Any]:
        """What the recording was: dialect, model, finish reason, usage (see the module's notes)."""
        start = self._start or {}
        dialect, model = start.get("dialect"), start.get("model")
        return {
            "dialect": dialect if isinstance(dialect, str) else None,
            "model": model if isinstance(model, str) else None,
            "finish_reason": self._finish_reason,
            "usage": self._usage,
        }


def convert_file(
    source: str,
    target: str | None,
    *,
    to: str,
    from_: str | None = None,
    think_tags: bool = False,
    options: dict[str, Any] | None = None,
) -> Converted:
    """Convert the recording at ``source`` and write the output to ``target`` (its folder made
    as needed; nothing is written when the conversion failed). The result carries no output
    bytes when written to a file, so a worker process sends little back."""
    try:
        with open(source, "rb") as f:
            data = f.read()
    except OSError as exc:
        return Converted(name=source, exit_code=EXIT_DATAERR, error=f"cannot read it: {exc.strerror}")
    result = convert_bytes(data, to=to, from_=from_, name=source, think_tags=think_tags, options=options)
    if target is None or result.exit_code not in (EXIT_OK, EXIT_FAILURE):
        return result
    try:
        os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
        with open(target, "wb") as f:
            f.write(result.output)
    except OSError as exc:
        return Converted(name=source, exit_code=EXIT_FAILURE, error=f"cannot write {target}: {exc.strerror}",
                         messages=result.messages)  # fmt: skip
    return Converted(name=source, exit_code=result.exit_code, error=result.error, messages=result.messages,
                     path=target)  # fmt: skip


def extension_of(fmt: Any) -> str:
    """The file extension (no dot) of a format's output: its ``extension``, else by its framing
    (a dialect's wire format), else ``out``."""
    ext = getattr(fmt, "extension", "")
    if ext:
        return str(ext)
    framing = getattr(getattr(fmt, "dialect", None), "framing", None)
    return {"sse": "sse", "ndjson": "ndjson", "json-array": "json", "eventstream": "eventstream"}.get(
        framing or "", "out"
    )


def plan(inputs: Iterable[str], out_dir: str, extension: str) -> list[tuple[str, str]]:
    """(source, target) for every recording named: a file as it is, a directory walked
    recursively in name order (hidden entries skipped), its layout kept under ``out_dir``. Raises
    :class:`~streamkit.errors.UsageError` for a missing input or two inputs with one target."""
    from .errors import UsageError

    pairs: list[tuple[str, str]] = []
    for given in inputs:
        path = Path(given)
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            pairs.extend(
                (str(p), str(Path(out_dir, p.relative_to(path)).with_suffix("." + extension))) for p in found
            )
        elif path.is_file():
            pairs.append((given, str(Path(out_dir, path.name).with_suffix("." + extension))))
        else:
            raise UsageError(f"cannot read {given}: no such file or directory")
    seen: dict[str, str] = {}
    for source, target in pairs:
        if target in seen:
            raise UsageError(f"{seen[target]} and {source} would both be written to {target}")
        seen[target] = source
    return pairs
