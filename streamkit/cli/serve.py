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
from .options import complete_dialects


@cli.command()
@click.option("-d", "--dialect", "dialects", multiple=True, metavar="DIALECT", shell_complete=complete_dialects,
              help="A dialect to answer in (its endpoints and wire format). Repeatable; default: every one.")  # fmt: skip
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
@click.option(
    "--upstream",
    metavar="DIALECT",
    shell_complete=complete_dialects,
    help="Answer live: forward each request to an upstream speaking DIALECT.",
)
@click.option(
    "--base-url",
    help="--upstream: its base URL (else STREAMKIT_BASE_URL, the provider's variable, its default).",
)
@click.option(
    "--key-file",
    help="--upstream: read its API key from this file (else STREAMKIT_API_KEY, the provider's variable).",
)
@click.option("-m", "--model", help="--upstream: send every request to this model.")
@click.option("--model-map", "model_map", multiple=True, metavar="GLOB=MODEL",
              help="--upstream: send requests for models matching GLOB to MODEL (first match wins). Repeatable.")  # fmt: skip
@click.option(
    "--forward-key", is_flag=True, help="--upstream: use the key each client presents, not the gateway's own."
)
@click.option("--client-keys", "client_keys_file", metavar="FILE",
              help="Accept only clients presenting one of the keys in FILE (one per line) as their API key.")  # fmt: skip
@click.option(
    "--insecure", is_flag=True, help="Allow --upstream on a non-loopback address without --client-keys."
)
@click.option("--retries", default=2, show_default=True, help="--upstream: retries before the first byte.")
@click.option(
    "--connect-timeout", default=10.0, show_default=True, help="--upstream: seconds to wait for a connection."
)
@click.option("--read-timeout", default=60.0, show_default=True,
              help="--upstream: seconds of silence after which an upstream stream counts as stalled.")  # fmt: skip
@click.option("--timeout", "total_timeout", type=float, metavar="SECONDS",
              help="--upstream: the most one upstream response may take, first byte to last (default: no bound).")  # fmt: skip
@click.option("--max-tool-rounds", default=5, show_default=True, type=click.IntRange(0),
              help="--upstream: rounds of MCP tool calls run in one response before it ends incomplete.")  # fmt: skip
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
@click.option("--strict", is_flag=True,
              help="--script, --replay: refuse (HTTP 400, in the dialect's own error) a request the provider's "
                   "API would refuse: tool calls left unanswered, a tool_choice naming no tool, names it does "
                   "not take...")  # fmt: skip
@click.option("--fail-status", type=int, help="Answer the first --fail-times requests with this HTTP status.")
@click.option("--fail-times", default=1, show_default=True, help="How many requests get --fail-status.")
@click.option(
    "--retry-after", default=1.0, show_default=True, help="The Retry-After (seconds) of injected failures."
)
@click.option(
    "--drop-after", type=int, metavar="N", help="Close the connection after N events of each response."
)
@click.option("--stall-after", type=int, metavar="N", help="Send N events of each response, then nothing.")
@click.option("--store", "store_spec", metavar="PATH|postgresql://...|none",
              help="Keep the Responses API's responses (retrieve, previous_response_id, background, resumed "
                   "streams) in this SQLite file or PostgreSQL database, or nowhere. Default with --upstream: "
                   "$XDG_STATE_HOME/streamkit/responses.sqlite3; else none.")  # fmt: skip
@click.option("--log-requests", metavar="FILE", help="Append every request body received to FILE as NDJSON.")
# (the default is serve.app.MAX_BODY_MIB, not imported here: a command's start stays light)
@click.option("--max-body", "max_body_mib", default=64, show_default=True, type=click.IntRange(1), metavar="MIB",
              help="The largest request body (and WebSocket message) taken, in MiB; larger: HTTP 413.")  # fmt: skip
# (the default is serve.timeouts.CLIENT_TIMEOUT, as --max-body's)
@click.option("--client-timeout", default=30.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              metavar="SECONDS",
              help="Seconds a client has to send a request's headers, and between two pieces of its body; "
                   "slower: HTTP 408, connection closed.")  # fmt: skip
@click.option("--max-connections", type=click.IntRange(0), metavar="N",
              help="The most client connections held at once; past it a new one is answered HTTP 503 and "
                   "closed, keeping file descriptors for upstream requests. Default: the limit on open files "
                   "less a reserve, halved in front of an upstream (768 or 384 of 1,024); 0: no bound.")  # fmt: skip
@click.option("--max-connections-per-client", type=click.IntRange(1), metavar="N",
              help="The most connections held at once from one client address; past it a new one is answered "
                   "HTTP 429 and closed. Default: no bound (behind a proxy, bound clients at the proxy).")  # fmt: skip
@click.option("--websocket-deflate/--no-websocket-deflate", default=None,
              help="Offer WebSocket clients per-message compression. Default: only when listening beyond "
                   "loopback (on loopback it costs CPU and saves nothing).")  # fmt: skip
@click.option("--ssl-certfile", metavar="FILE",
              help="Serve HTTPS (and WSS) with this PEM certificate chain (the key in it, or in --ssl-keyfile).")  # fmt: skip
@click.option("--ssl-keyfile", metavar="FILE", help="--ssl-certfile's private key (PEM, not encrypted).")
@click.option(
    "--websocket/--no-websocket",
    default=True,
    show_default=True,
    help="Answer on the dialects' WebSocket paths too.",
)
@click.argument("more_recordings", nargs=-1, metavar="[FILE]...")
def serve(dialects: tuple[str, ...], replay_files: tuple[str, ...], script_file: str | None, upstream: str | None,
          base_url: str | None, key_file: str | None, model: str | None, model_map: tuple[str, ...], forward_key: bool,
          client_keys_file: str | None, insecure: bool, retries: int, connect_timeout: float, read_timeout: float,
          total_timeout: float | None, max_tool_rounds: int,
          host: str, port: int, realtime: bool, delay: float, fail_status: int | None, fail_times: int,
          retry_after: float, drop_after: int | None, stall_after: int | None, log_requests: str | None,
          more_recordings: tuple[str, ...], websocket: bool = True, store_spec: str | None = None,
          max_body_mib: int = 64, client_timeout: float = 30.0, max_connections: int | None = None,
          max_connections_per_client: int | None = None, websocket_deflate: bool | None = None,
          strict: bool = False, ssl_certfile: str | None = None, ssl_keyfile: str | None = None) -> None:  # fmt: skip
    """Run a local server that speaks the dialects' APIs, answering with recordings, a script, or
    live from an upstream of any dialect.

    \b
      streamkit serve -d openai-chat --script turns.json --port 0
      streamkit serve -d anthropic --replay a.sse b.sse --fail-status 429 --fail-times 2
      streamkit serve --upstream openai-chat --base-url http://localhost:8000/v1 -m qwen3

    Without -d it answers every dialect's endpoints at once. A request that asks for no stream gets
    the dialect's whole response.
    """

    params = dict(locals())

    def body(out: IO[bytes]) -> None:
        _check_server_installed()
        from .. import serve as serving
        from ..plugins import default_registry

        server, what = make_server(default_registry(), **params)

        def announce(url: str) -> None:
            out.write(url.encode() + b"\n")
            out.flush()
            diagnostics.note(f"serving {', '.join(server.dialects)} on {url}, answered {what} (Ctrl-C stops)")

        serving.run(server, host=host, port=port, announce=announce)

    run("serve", body)


def make_server(registry: Any, *, dialects: tuple[str, ...], replay_files: tuple[str, ...], script_file: str | None,
                upstream: str | None, base_url: str | None, key_file: str | None, model: str | None,
                model_map: tuple[str, ...], forward_key: bool, client_keys_file: str | None, insecure: bool,
                retries: int, connect_timeout: float, read_timeout: float, total_timeout: float | None,
                max_tool_rounds: int, host: str, port: int, realtime: bool, delay: float, fail_status: int | None,
                fail_times: int, retry_after: float, drop_after: int | None, stall_after: int | None,
                log_requests: str | None, more_recordings: tuple[str, ...], websocket: bool = True,
                store_spec: str | None = None, max_body_mib: int = 64, client_timeout: float = 30.0,
                max_connections: int | None = None, max_connections_per_client: int | None = None,
                websocket_deflate: bool | None = None, strict: bool = False, ssl_certfile: str | None = None,
                ssl_keyfile: str | None = None) -> tuple[Any, str]:  # fmt: skip
    """The :class:`~streamkit.serve.Server` that ``serve``'s options describe (``serve``'s own
    parameters, by name), and what answers it ("recorded", "scripted" or the upstream) for its
    start-up note. ``streamkit.testing`` builds in-process servers with it."""
    from .. import serve as serving

    recordings = replay_files + more_recordings
    if more_recordings and not replay_files:
        raise UsageError("FILE arguments are recordings for --replay; pass --replay FILE")
    if sum((bool(recordings), bool(script_file), bool(upstream))) != 1:
        raise UsageError("pass one of --replay FILE..., --script FILE or --upstream DIALECT")
    if strict and upstream:
        raise UsageError(
            "--strict is for --script and --replay: a gateway's upstream refuses what it refuses"
        )
    served = _served(registry, dialects, live=bool(upstream))
    source: Any
    if upstream:
        source = _gateway(registry, upstream, base_url, key_file, model, model_map, forward_key, retries,
                          connect_timeout, read_timeout, total_timeout)  # fmt: skip
        source.max_tool_rounds = max_tool_rounds
        diagnostics.warn_once()
    elif script_file:
        source = serving.ScriptSource(script_file, delay)
    else:
        source = serving.ReplaySource(recordings, registry)
        if realtime:
            for raws, _, path in source.responses:
                if raws and all(raw.get("t") is None for raw in raws):
                    diagnostics.warn(f"--realtime: {path} has no timing (no t on its events): it is sent at once; "
                                     "fetch --record-events FILE records one with timing")  # fmt: skip
    if strict:
        source = serving.StrictSource(source)
    client_keys = _client_keys(client_keys_file)
    tls = _tls(ssl_certfile, ssl_keyfile)
    from ..serve.connections import loopback

    if upstream and client_keys is None and not insecure and not loopback(host):
        raise UsageError(f"serving an upstream on {host} needs --client-keys FILE (or --insecure): "
                         "anyone who reaches it would spend the upstream key")  # fmt: skip
    faults = serving.Faults(
        fail_status, fail_times if fail_status else 0, retry_after, drop_after, stall_after
    )
    if max_connections is None:  # (--max-connections not given: see serve.connections)
        from ..serve.connections import default_limit

        max_connections = default_limit(2 if upstream else 1)  # (a gateway's streams each hold two)
    server = serving.Server(served, source, realtime=realtime, faults=faults, log=serving.open_log(log_requests),
                            websocket=websocket, client_keys=client_keys, max_body=max_body_mib * 2**20,
                            client_timeout=client_timeout, max_connections=max_connections or None,
                            max_connections_per_client=max_connections_per_client,
                            websocket_deflate=websocket_deflate, tls=tls)  # fmt: skip
    if upstream:
        server.extra_routes = serving.catalog.routes(source, server)
    if "openai-responses" in served and (upstream or store_spec is not None):
        from ..serve.responses import Responses
        from ..serve.store import open_store

        # a stored response is its creator's key's where keys mean something (serve.responses)
        owned = client_keys is not None or forward_key
        server.responses = Responses(open_store(store_spec), source, owned=owned)
    what = (
        f"{upstream} at {source.endpoint.base_url}" if upstream else "scripted" if script_file else "recorded"
    )
    return server, what


def _check_server_installed() -> None:
    """starlette and uvicorn are dependencies of streamkit itself; an install that lacks them
    (``--no-deps``, a trimmed image) gets one line saying how to get them, not a traceback."""
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise UsageError(
            f"serve needs {exc.name or 'starlette and uvicorn'}, which is not installed: "
            "pip install 'streamkit[serve]' (or pip install starlette uvicorn)"
        ) from None


def _served(registry: Any, names: tuple[str, ...], *, live: bool) -> dict[str, Any]:
    """The client dialects to answer: those named, else every one with endpoints (that can
    parse requests, for a gateway)."""
    from ..dialects.base import Dialect

    if names:
        return {name: registry.dialect(name) for name in dict.fromkeys(names)}
    dialects = registry.dialects()
    return {
        name: d
        for name, d in sorted(dialects.items())
        if d.serve_paths and (not live or type(d).parse_request is not Dialect.parse_request)
    }


def _gateway(registry: Any, upstream: str, base_url: str | None, key_file: str | None, model: str | None,
             model_map: tuple[str, ...], forward_key: bool, retries: int, connect_timeout: float,
             read_timeout: float, total_timeout: float | None = None) -> Any:  # fmt: skip
    from ..endpoints import resolve
    from ..serve.gateway import ModelMap, UpstreamSource

    dialect = registry.dialect(upstream)
    endpoint = resolve(dialect, base_url=base_url, key_file=key_file)
    endpoint.model = None  # the model comes from each request (or -m, --model-map)
    return UpstreamSource(dialect, endpoint, models=ModelMap.parse(model, model_map), forward_key=forward_key,
                          retries=retries, connect_timeout=connect_timeout, read_timeout=read_timeout,
                          timeout=total_timeout)  # fmt: skip


class _EncryptedKey(Exception):
    """The private key asks for a password (OpenSSL would prompt for it on the terminal)."""


def _no_password() -> bytes:
    raise _EncryptedKey


def _tls(certfile: str | None, keyfile: str | None) -> tuple[str, str | None] | None:
    """``--ssl-certfile`` and ``--ssl-keyfile``, checked by loading them as uvicorn will, so that
    a wrong file is a usage error now, not a failure once the server has said its URL."""
    if certfile is None:
        if keyfile is not None:
            raise UsageError(
                "--ssl-keyfile is the key of --ssl-certfile's certificate: pass --ssl-certfile FILE too"
            )
        return None
    import ssl

    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(
            certfile, keyfile, password=_no_password
        )
    except _EncryptedKey:
        raise UsageError(f"{keyfile or certfile}: the private key is encrypted; serve takes an unencrypted one "
                         "(openssl pkey -in KEY -out PLAIN)") from None  # fmt: skip
    except ssl.SSLError as exc:
        raise UsageError(_tls_problem(certfile, keyfile, exc)) from None
    except OSError as exc:
        raise UsageError(f"cannot read {exc.filename or certfile}: {exc.strerror}") from None
    return certfile, keyfile


def _tls_problem(certfile: str, keyfile: str | None, exc: Exception) -> str:
    """What is wrong with a certificate and key OpenSSL refused, in words (its own are "PEM lib")."""
    if getattr(exc, "reason", None) == "KEY_VALUES_MISMATCH":
        return f"the private key in {keyfile or certfile} is not the key of {certfile}'s certificate"
    with open(certfile, "rb") as f:
        chain = f.read()
    if b"-----BEGIN CERTIFICATE-----" not in chain:
        return f"--ssl-certfile {certfile} holds no PEM certificate"
    if keyfile is None:
        return f"--ssl-certfile {certfile} holds no PEM private key: pass the key with --ssl-keyfile FILE"
    with open(keyfile, "rb") as f:
        if b"PRIVATE KEY-----" not in f.read():
            return f"--ssl-keyfile {keyfile} holds no PEM private key"
    return f"--ssl-certfile {certfile}, --ssl-keyfile {keyfile}: {getattr(exc, 'strerror', None) or exc}"


def _client_keys(path: str | None) -> frozenset[str] | None:
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8") as f:
            keys = frozenset(line.strip() for line in f if line.strip() and not line.lstrip().startswith("#"))
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:  # (a key's text never goes into a message)
        raise UsageError(f"{path}: not UTF-8 text") from None
    if not keys:
        raise UsageError(f"{path} holds no keys")
    return keys
