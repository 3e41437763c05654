"""``streamkit serve``: a local server that speaks a dialect's API."""

from __future__ import annotations

from typing import IO, Any

import click

from .. import diagnostics
from ..errors import (
    UsageError,
)
from .group import cli
from .guard import run


@cli.command()
@click.option("-d", "--dialect", required=True, help="The dialect to speak (its endpoints and wire format).")
@click.option(
    "--replay",
    "replay_files",
    multiple=True,
    metavar="FILE",
    help="Answer each request with the next recording (more FILEs may follow).",
)
@click.option(
    "--script",
    "script_file",
    metavar="FILE",
    help="Answer each request with the next scripted assistant turn.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option(
    "--port",
    default=0,
    show_default=True,
    help="The port (0: a free one). The first line on stdout is the base URL.",
)
@click.option(
    "--realtime", is_flag=True, help="Pace replays with their recorded timing, scripts with --delay."
)
@click.option(
    "--delay", default=0.02, show_default=True, help="Seconds between events of a script under --realtime."
)
@click.option("--fail-status", type=int, help="Answer the first --fail-times requests with this HTTP status.")
@click.option("--fail-times", default=1, show_default=True, help="How many requests get --fail-status.")
@click.option(
    "--retry-after", default=1.0, show_default=True, help="The Retry-After (seconds) of injected failures."
)
@click.option(
    "--drop-after", type=int, metavar="N", help="Close the connection after N events of each response."
)
@click.option("--stall-after", type=int, metavar="N", help="Send N events of each response, then nothing.")
@click.option("--log-requests", metavar="FILE", help="Append every request body received to FILE as NDJSON.")
@click.option(
    "--websocket/--no-websocket",
    default=True,
    show_default=True,
    help="Answer on the dialect's WebSocket paths too.",
)
@click.argument("more_recordings", nargs=-1, metavar="[FILE]...")
def serve(dialect: str, replay_files: tuple[str, ...], script_file: str | None, host: str, port: int, realtime: bool,
          delay: float, fail_status: int | None, fail_times: int, retry_after: float, drop_after: int | None,
          stall_after: int | None, log_requests: str | None, more_recordings: tuple[str, ...], websocket: bool = True) -> None:  # fmt: skip
    """Run a local server that speaks DIALECT, answering with recordings or a script.

    \b
      streamkit serve -d openai-chat --script turns.json --port 0
      streamkit serve -d anthropic --replay a.sse b.sse --fail-status 429 --fail-times 2
    """

    def body(out: IO[bytes]) -> None:
        try:
            from .. import serve as serving
        except ImportError as exc:  # pragma: no cover (the serve extra is missing)
            raise UsageError(f"serve needs the serve extra: pip install 'streamkit[serve]' ({exc})") from None
        from ..plugins import default_registry

        registry = default_registry()
        served = registry.dialect(dialect)
        recordings = replay_files + more_recordings
        if more_recordings and not replay_files:
            raise UsageError("FILE arguments are recordings for --replay; pass --replay FILE")
        if bool(recordings) == bool(script_file):
            raise UsageError("pass either --replay FILE... or --script FILE")
        source: Any = (
            serving.ScriptSource(script_file, served)
            if script_file
            else serving.ReplaySource(recordings, served, registry)
        )
        faults = serving.Faults(
            fail_status, fail_times if fail_status else 0, retry_after, drop_after, stall_after
        )
        server = serving.Server(served, source, realtime=realtime, delay=delay, faults=faults,
                                log=serving.open_log(log_requests), websocket=websocket)  # fmt: skip

        def announce(url: str) -> None:
            out.write(url.encode() + b"\n")
            out.flush()
            diagnostics.note(f"serving {dialect} on {url} (Ctrl-C stops)")

        serving.run(server, host=host, port=port, announce=announce)

    run("serve", body)
