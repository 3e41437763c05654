"""The bodies of ``normalize`` and ``accumulate``, the stages every event of a pipeline passes
through; ``stages`` holds their click commands."""

from __future__ import annotations

from typing import IO, Any

from .guard import _stdin, run
from .outcome import Outcome


def normalize(
    dialect: str | None, keep_raw: bool, think_tags: bool, on_error: str, ignore_errors: bool
) -> None:
    """``streamkit normalize``, its options parsed."""

    def body(out: IO[bytes]) -> None:
        from ..ndjson import EventWriter, read_events, write_events
        from ..stages.normalize import normalize as normalize_stage

        reader = read_events(_stdin(), on_error=on_error, check=True)  # type: ignore[arg-type]
        options: dict[str, Any] = {"think_tags": True} if think_tags else {}
        events = normalize_stage(
            reader,
            dialect=dialect,
            keep_raw=keep_raw,
            on_error=on_error,  # type: ignore[arg-type]
            line_no=lambda: reader.line_no,
            **options,
        )
        outcome = Outcome(events)
        write_events(outcome, EventWriter(out, reader.pending))
        outcome.check(ignore=ignore_errors)

    run("normalize", body)


def accumulate(final: bool, on_error: str, ignore_errors: bool) -> None:
    """``streamkit accumulate``, its options parsed."""

    def body(out: IO[bytes]) -> None:
        from ..canonical import CANONICAL_TYPES
        from ..ndjson import EventWriter, read_events, write_events
        from ..stages.accumulate import accumulate as accumulate_stage

        reader = read_events(_stdin(), on_error=on_error, check=True)  # type: ignore[arg-type]
        # accumulate never changes an event in place (a filled-in text-end or tool-call is a new
        # dict), so whatever it hands on as the very event it read is written as its own line
        outcome = Outcome(accumulate_stage(reader, final=final))
        write_events(outcome, EventWriter(out, reader.pending, CANONICAL_TYPES))
        outcome.check(ignore=ignore_errors)

    run("accumulate", body)
