"""``streamkit.testing``: a pytest plugin for streamkit plugins' own tests.

pytest loads it by itself wherever streamkit is installed (the ``pytest11`` entry point); the
first-party plugins in ``plugins/`` test themselves with it. Importing it costs nothing beyond
pytest: streamkit's stages are imported when a helper is first called.

Helpers (``from streamkit.testing import ...``):

* :func:`registry` — a fresh registry holding streamkit's built-ins and only the plugins a test
  names (installed ones by entry-point or distribution name, or modules and objects), so that
  another plugin installed in the same environment changes nothing.
* :func:`run_stage` — run a stage (``replay``, ``normalize``, ``accumulate``, ``run-tools``,
  ``render``, ``convert``, or any generator function) over a list of events or a recording.
* :func:`events_of` — a recording through replay, normalize and accumulate: what a golden file holds.
* :func:`golden_cases` and :func:`assert_golden` — golden-stream tests over a folder of
  ``<case>.<ext>`` recordings, each beside its ``<case>.expected.ndjson``
  (``STREAMKIT_UPDATE_GOLDEN=1`` writes the expectations; review the diff).
* :func:`recordings` and :func:`shared_fixtures` — the shared recordings of real providers'
  streams (``$STREAMKIT_FIXTURES``), as test parameters that skip with a reason when absent;
  :func:`messages` and :func:`essence` — the final messages of a stream, and what a client would
  notice in one (to compare two ways of making it).
* :func:`check_order` — the order rules of the canonical stream (see :mod:`streamkit.hookspecs`),
  checked by :func:`assert_golden` on every case.
* :func:`serving` — ``streamkit serve`` in any mode, on loopback, for a ``with`` block: in a
  thread of the test process when it answers from recordings or a script, else as a process.
* :func:`assert_serve_replays` — a dialect's requests and recordings through a real ``serve
  --replay`` and back: what ``fetch`` gets over HTTP is what ``fetch --replay`` reads.
* :func:`wrong_types` — a recording with a value of the wrong type put in every place of its
  payloads in turn: the normalizer must refuse the line or write only events the next stage reads.
* :func:`check_plain_deltas` — an encoder's templates for the deltas of an open block
  (``Encoder.plain_delta``), each checked against the encoder itself: the same bytes, the same
  state after.

Fixtures:

* ``streamkit_registry`` — :func:`registry`, made the default registry for the test (what the
  stages and the in-process CLI use when given none) and forgotten after it.
* ``streamkit_serve`` — start a real ``streamkit serve --script`` answering in a dialect, on
  loopback; returns a :class:`Served` (its ``url``, and the request bodies it got). The server is
  stopped after the test.

Example (a test module of a plugin that registers a ``cohere`` dialect)::

    from streamkit.testing import assert_golden, golden_cases, run_stage

    @pytest.mark.parametrize("case", golden_cases(Path(__file__).parent / "data", "sse"))
    def test_golden(case, streamkit_registry):
        assert_golden(case, registry=streamkit_registry("cohere"))

    def test_a_text_delta(streamkit_registry):
        reg = streamkit_registry("cohere")
        events = run_stage("normalize", [{"type": "content-delta", ...}], registry=reg, dialect="cohere")
"""

from __future__ import annotations

import io
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .plugins import Registry

__all__ = [
    "Served",
    "assert_golden",
    "assert_serve_replays",
    "check_order",
    "check_plain_deltas",
    "essence",
    "events_of",
    "golden_cases",
    "messages",
    "recordings",
    "registry",
    "run_stage",
    "serving",
    "shared_fixtures",
    "stop",
    "wrong_types",
]

Event = dict[str, Any]


# -- registries ---------------------------------------------------------------------------------


def registry(*plugins: Any, builtins: bool = True) -> Registry:
    """A fresh registry: streamkit's built-ins (unless ``builtins=False``), then each plugin named.

    A plugin is a string, the entry-point name or the distribution name of an installed plugin
    (``"cohere"`` or ``"streamkit-cohere"``), or a module or object with ``@hookimpl`` functions
    (the plugin being written, not installed yet). Plugins registered later win over earlier ones
    and over the built-ins, as installed plugins do.
    """
    from . import hookspecs
    from ._entrypoints import entry_points, normalize_name
    from .plugins import ENTRY_POINT_GROUP, PluginManager, Registry, get_plugin_manager

    if builtins:
        pm = get_plugin_manager(load_entry_points=False)
    else:
        pm = PluginManager()
        pm.add_hookspecs(hookspecs)
    installed = None
    for plugin in plugins:
        if not isinstance(plugin, str):
            pm.register(plugin)
            continue
        if installed is None:
            installed = entry_points(ENTRY_POINT_GROUP)
        wanted = normalize_name(plugin)
        found = [ep for ep in installed if wanted in (normalize_name(ep.name), normalize_name(ep.dist_name))]
        if not found:
            names = ", ".join(sorted({f"{ep.name} ({ep.dist_name})" for ep in installed})) or "none"
            raise LookupError(f"no installed streamkit plugin is called {plugin!r} (installed: {names})")
        for ep in found:
            if pm.get_plugin(ep.name) is None:
                pm.register(ep.load(), name=ep.name)
                pm.dists[ep.name] = (ep.dist_name, ep.dist_version)
    return Registry(pm)


@pytest.fixture
def streamkit_registry() -> Iterator[Callable[..., Registry]]:
    """A factory: ``streamkit_registry("cohere")`` is :func:`registry`, also made the default
    registry until the end of the test."""
    from .plugins import set_default_registry

    def make(*plugins: Any, builtins: bool = True) -> Registry:
        made = registry(*plugins, builtins=builtins)
        set_default_registry(made)
        return made

    yield make
    set_default_registry(None)


# -- stages -------------------------------------------------------------------------------------


def _source(recording: bytes | str | Path) -> io.BytesIO:
    data = recording if isinstance(recording, bytes) else Path(recording).read_bytes()
    return io.BytesIO(data)


def run_stage(
    stage: str | Callable[..., Iterable[Any]],
    events: Iterable[Event] | bytes | str | Path,
    *,
    registry: Registry | None = None,
    **options: Any,
) -> Any:
    """Run one stage to the end and return what it made: a list of events, or ``bytes`` for
    ``render`` and ``convert``.

    ``stage`` is a name or a generator function taking the events first. ``events`` is a list
    of events, or for ``replay`` and ``convert`` a recording (bytes or a path). ``options`` go to
    the stage: ``dialect=`` (normalize), ``final=`` (accumulate), ``format=`` (render), ``to=``
    and ``from_=`` (convert), ``tools=`` (run-tools: a tools file, or a list of tool entries as a
    tools file holds them). The stages use ``registry`` (default: the default registry).
    """
    from .stages.accumulate import accumulate
    from .stages.convert import convert
    from .stages.fetch import replay
    from .stages.normalize import normalize
    from .stages.render import render

    if callable(stage):
        return list(stage(events, **options))
    name = stage.replace("_", "-")
    if name == "replay":
        return list(replay(_source(events), **options))  # type: ignore[arg-type]
    if name == "convert":
        return b"".join(convert(_source(events), registry=registry, **options))  # type: ignore[arg-type]
    if isinstance(events, (bytes, str, Path)):
        raise TypeError(f"{stage}: give a list of events (a recording is for replay and convert)")
    if name == "normalize":
        return list(normalize(events, registry=registry, **options))
    if name == "accumulate":
        return list(accumulate(events, **options))
    if name == "render":
        return b"".join(render(events, registry=registry, **options))
    if name == "run-tools":
        return _run_tools(events, registry, **options)
    raise ValueError(f"unknown stage {stage!r} (replay, normalize, accumulate, run-tools, render, convert)")


def _run_tools(
    events: Iterable[Event], registry: Registry | None, *, tools: Any, **options: Any
) -> list[Event]:
    import tempfile

    import orjson

    from .stages.run_tools import run_tools
    from .tools import load_tools

    if isinstance(tools, (str, Path)):
        loaded = load_tools(tools)
    else:  # tool entries: written as a JSON tools file, so that they are checked as one is
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "tools.json"
            path.write_bytes(orjson.dumps(list(tools)))
            loaded = load_tools(path)
    return list(run_tools(events, loaded, registry=registry, **options))


def events_of(
    recording: bytes | str | Path, *, registry: Registry | None = None, **options: Any
) -> list[Event]:
    """A recording through replay, normalize and accumulate, in-process (``options`` go to
    normalize: ``dialect=``, ``think_tags=``...)."""
    from .stages.accumulate import accumulate
    from .stages.fetch import replay
    from .stages.normalize import normalize

    return list(accumulate(normalize(replay(_source(recording)), registry=registry, **options)))


def messages(events: Iterable[Event]) -> list[Event]:
    """The ``message`` events of a stream (what ``accumulate`` completes)."""
    return [e for e in events if e.get("type") == "message"]


_PART_FIELDS = ("type", "text", "refusal", "tool_call_id", "tool_name", "input", "provider_executed",
                "output", "is_error", "source_type", "url", "title", "media_type", "data")  # fmt: skip


def essence(message: Event) -> Event:
    """What a client would notice in a message: its canonical fields, no provider_metadata."""
    parts = [{k: p[k] for k in _PART_FIELDS if p.get(k) not in (None, False, "")} for p in message["content"]]
    return {
        "content": parts,
        "finish_reason": message.get("finish_reason"),
        "usage": message.get("usage"),
        "id": message.get("id"),
        "model": message.get("model"),
        "choice": message.get("choice"),
    }


# -- the shared recordings ----------------------------------------------------------------------

#: why the tests of the shared recordings are skipped when they are absent
NO_FIXTURES = "shared fixtures absent: set STREAMKIT_FIXTURES or put them in ../shared/fixtures"


def shared_fixtures() -> Path | None:
    """The folder of shared recordings of real streams: ``$STREAMKIT_FIXTURES``, else
    ``../shared/fixtures`` beside a source checkout of streamkit; None when it is absent."""
    path = Path(
        os.environ.get("STREAMKIT_FIXTURES") or Path(__file__).resolve().parents[2] / "shared" / "fixtures"
    )
    return path if path.is_dir() else None


def recordings(*folders: str) -> list[Any]:
    """Test parameters for every shared recording in the given folders (``anthropic``, ...), or one
    skipped parameter saying why when the shared recordings are absent."""
    base = shared_fixtures()
    if base is None:
        return [pytest.param(None, marks=pytest.mark.skip(reason=NO_FIXTURES))]
    files = sorted(p for folder in folders for p in (base / folder).glob("*") if p.is_file())
    return [pytest.param(p, id=f"{p.parent.name}/{p.name}") for p in files]


# -- golden streams -----------------------------------------------------------------------------


def golden_cases(folder: str | Path, ext: str) -> list[Any]:
    """``pytest.param`` for each ``<case>.<ext>`` in ``folder`` (id: the case's name); adding a
    case is adding two files."""
    ext = ext.lstrip(".")
    cases = sorted(p for p in Path(folder).glob(f"*.{ext}") if not p.name.endswith(".expected.ndjson"))
    return [pytest.param(case, id=case.name[: -len(ext) - 1]) for case in cases]


def expected_path(case: Path) -> Path:
    """Where a case's expected events are: ``<case>.expected.ndjson`` beside it."""
    return case.with_name(case.name.rsplit(".", 1)[0] + ".expected.ndjson")


def assert_golden(case: str | Path, *, registry: Registry | None = None, **options: Any) -> list[Event]:
    """Replay, normalize and accumulate ``case``; the events must be the ones in its
    ``.expected.ndjson``, each valid against streamkit's event models, in an order
    :func:`check_order` accepts. With ``STREAMKIT_UPDATE_GOLDEN=1`` the expectation is written
    instead. Returns the events."""
    import orjson

    from .events import validate_event

    case = Path(case)
    got = events_of(case, registry=registry, **options)
    expected_file = expected_path(case)
    if os.environ.get("STREAMKIT_UPDATE_GOLDEN"):
        expected_file.write_bytes(b"".join(orjson.dumps(e, option=orjson.OPT_APPEND_NEWLINE) for e in got))
    if not expected_file.exists():
        pytest.fail(f"{expected_file.name} is missing: STREAMKIT_UPDATE_GOLDEN=1 writes it (then review it)")
    expected = [orjson.loads(line) for line in expected_file.read_bytes().splitlines() if line.strip()]
    for i, (g, e) in enumerate(zip(got, expected)):
        if g != e:
            pytest.fail(f"{case.name}: event {i + 1} differs\n  got:      {g}\n  expected: {e}")
    if len(got) != len(expected):
        pytest.fail(f"{case.name}: {len(got)} events, {len(expected)} expected")
    for event in got:
        validate_event(event)
    problems = check_order(got)
    if problems:
        pytest.fail(f"{case.name}: events out of order:\n  " + "\n  ".join(problems))
    return got


_BLOCKS = {"text", "reasoning", "tool-input"}
_RESPONSE = _BLOCKS | {"tool-call", "tool-result", "source", "file", "tool-approval-request"}


def check_order(events: Iterable[Event]) -> list[str]:
    """What breaks the canonical order in a normalized stream (an empty list when nothing does).

    The rules (the manual, :mod:`streamkit.hookspecs`, says them for normalizer authors): a
    response opens with ``start`` and ends with ``finish``; a block's ``-delta`` and ``-end`` come
    between its ``-start`` and its end, with the same ``id``; a ``tool-call`` comes after its
    ``tool-input-end``; a ``finish`` comes after every block
    of its response has ended. ``error`` may come anywhere; a response cut short (an ``error``
    then ``finish``) may leave blocks open. Choices (``choice``) are checked apart.
    """
    problems: list[str] = []
    open_blocks: dict[Any, dict[Any, str]] = {}  # choice -> block id -> its family
    started = errored = False  # in a response; an error came in it
    for i, event in enumerate(events, 1):
        kind = event.get("type", "")
        choice = event.get("choice")
        blocks = open_blocks.setdefault(choice, {})
        where = f"event {i} ({kind})" if "id" not in event else f"event {i} ({kind} {event['id']!r})"
        if kind == "start":
            if started:
                problems.append(f"{where}: a start before the previous response's finish")
            started, errored = True, False
            open_blocks.clear()
            continue
        if kind == "error":
            errored = True
            continue
        family, _, part = kind.rpartition("-")
        if (family in _BLOCKS or kind in _RESPONSE or kind == "finish") and not started:
            problems.append(f"{where}: outside a response (no start before it)")
        if family in _BLOCKS and part in ("start", "delta", "end"):
            block_id = event.get("id")
            if part == "start":
                if block_id in blocks:
                    problems.append(f"{where}: started again before its end")
                blocks[block_id] = family
            elif blocks.get(block_id) != family:
                problems.append(f"{where}: no {family}-start before it")
            elif part == "end":
                del blocks[block_id]
        elif kind == "tool-call" and blocks.get(event.get("tool_call_id")) == "tool-input":
            problems.append(f"{where}: before its tool-input-end")
        elif kind == "finish":
            if blocks and not errored:
                problems.append(f"{where}: blocks still open: {', '.join(map(str, blocks))}")
            blocks.clear()
            if choice is None:  # the finish without a choice ends the response
                started = False
    return problems


# -- a real server ------------------------------------------------------------------------------


@dataclass
class Served:
    """A running ``streamkit serve``: its base URL, and the bodies of the requests it got."""

    url: str
    process: subprocess.Popen[bytes] = field(repr=False)
    log: Path = field(repr=False)

    def requests(self) -> list[Any]:
        import orjson

        if not self.log.exists():
            return []
        return [orjson.loads(line) for line in self.log.read_bytes().splitlines() if line.strip()]


def _start_serve(args: list[str], env: dict[str, str] | None) -> subprocess.Popen[bytes]:
    port = [] if "--port" in args else ["--port", "0"]
    command = [sys.executable, "-m", "streamkit", "serve", *args, *port]
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **(env or {})}
    )


def _first_line(proc: subprocess.Popen[bytes], timeout: float) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    line = b""
    fd = proc.stdout.fileno()
    while not line.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            break
        chunk = os.read(fd, 1)  # one byte at a time: nothing past the first line is read
        if not chunk:
            break
        line += chunk
    return line.decode().strip()


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a server process a test started: Ctrl-C (SIGINT), then killed if it has not ended
    within 10 s; its pipes closed."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    for stream in (proc.stdout, proc.stderr):
        if stream:
            stream.close()


@contextmanager
def serving(*args: str, env: dict[str, str] | None = None, timeout: float = 30,
            process: bool | None = None) -> Iterator[str]:  # fmt: skip
    """``streamkit serve ARGS`` on a free port of loopback (or the ``--port`` ARGS name): yields
    its base URL once it listens, and stops it when the block ends.

    A server that answers from recordings or a script (``--replay``, ``--script``) runs in a
    thread of this process, built from ARGS by the command's own code (real HTTP all the same, at
    a tenth of a process's cost); a gateway (``--upstream``), a server given ``env`` (added to its
    environment) or ``process=True`` is its own ``streamkit serve`` process, stopped with Ctrl-C,
    then killed."""
    if process is None:
        process = env is not None or "--upstream" in args or not {"--replay", "--script"} & set(args)
    if not process:
        from .cli.serve import _check_server_installed, make_server
        from .cli.serve import serve as command
        from .plugins import default_registry
        from .serve import background

        _check_server_installed()
        params = command.make_context("serve", [*args] if "--port" in args else [*args, "--port", "0"]).params
        server, _ = make_server(default_registry(), **params)
        with background(server, host=params["host"], timeout=timeout) as url:
            yield url
        return
    proc = _start_serve(list(args), env)
    try:
        url = _first_line(proc, timeout)
        if not url.startswith(("http://", "https://")):
            proc.kill()
            _, err = proc.communicate(timeout=10)
            pytest.fail(f"streamkit serve did not start: {url or err.decode().strip() or 'no output'}")
        yield url
    finally:
        stop(proc)


@pytest.fixture
def streamkit_serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Served]]:
    """A factory: ``streamkit_serve(turns, dialect="cohere")`` starts ``streamkit serve -d DIALECT
    --script FILE --port 0`` on loopback and returns a :class:`Served` once it listens.

    ``turns`` is a script (a list of assistant turns, as ``serve --script`` reads them: ``{"text":
    ...}``, ``{"tool_calls": [{"name", "input"}]}``, ``{"reasoning": ...}``) or the path of one.
    ``args`` adds options (``["--realtime"]``), ``env`` environment variables (say
    ``STREAMKIT_LOAD_PLUGINS``). The server runs the installed streamkit with the installed
    plugins; every server started is stopped (Ctrl-C, then kill) after the test.
    """
    import orjson

    running: list[subprocess.Popen[bytes]] = []

    def start(turns: Any, *, dialect: str = "openai-chat", args: Iterable[str] = (),
              env: dict[str, str] | None = None, timeout: float = 30) -> Served:  # fmt: skip
        folder = tmp_path_factory.mktemp("streamkit-serve")
        if isinstance(turns, (str, Path)):
            script = Path(turns)
        else:
            script = folder / "script.json"
            script.write_bytes(orjson.dumps(turns))
        log = folder / "requests.ndjson"
        proc = _start_serve(["-d", dialect, "--script", str(script), "--log-requests", str(log), *args], env)
        running.append(proc)
        url = _first_line(proc, timeout)
        if not url.startswith(("http://", "https://")):
            proc.kill()
            _, err = proc.communicate(timeout=10)
            pytest.fail(f"streamkit serve did not start: {url or err.decode().strip() or 'no output'}")
        return Served(url, proc, log)

    yield start
    for proc in running:
        stop(proc)


@contextmanager
def _environ(env: dict[str, str] | None) -> Iterator[None]:
    """``env`` set in this process's environment for the block (an empty value unsets), then
    put back as it was."""
    before = {name: os.environ.get(name) for name in env or {}}
    try:
        for name, value in (env or {}).items():
            if value:
                os.environ[name] = value
            else:
                os.environ.pop(name, None)
        yield
    finally:
        for name, old in before.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old


def assert_serve_replays(dialect: str, recordings: Iterable[str | Path], *, model: str = "test-model",
                         env: dict[str, str] | None = None, registry: Registry | None = None) -> None:  # fmt: skip
    """The round trip every dialect's recordings must survive: one real ``streamkit serve -d
    DIALECT --replay`` of all the recordings in turn and, for each, the request the dialect builds
    for a prompt sent to it over HTTP on loopback as ``fetch`` sends it (in this process, with
    ``env`` set: the API key, say). The raw events that come back are those ``fetch --replay``
    writes for the recording (each with its ``t`` besides), and no secret sent is among them.
    Fails naming every recording that differs; one server for all keeps it quick."""
    import orjson

    from .conversation import from_prompt
    from .endpoints import resolve
    from .plugins import default_registry
    from .redaction import request_secrets
    from .stages.fetch import replay
    from .upstream import Fetch

    paths = [Path(p) for p in recordings]
    target = (registry or default_registry()).dialect(dialect)
    problems: list[str] = []
    with serving("-d", target.name, "--replay", *map(str, paths)) as url, _environ(env):
        for path in paths:
            request = target.build_request(from_prompt("hello"), resolve(target, base_url=url, model=model))
            fetched = Fetch(request, dialect=target.name, retries=0)
            live = list(fetched)
            with open(path, "rb") as f:
                expected = [orjson.loads(line) for line in replay(f, dialect=target.name).lines()]
            sent = orjson.dumps(live).decode()
            if fetched.failed is not None:
                problems.append(
                    f"{path.name}: the fetch failed: {orjson.dumps(fetched.failed).decode()[:300]}"
                )
            elif not live or not all(isinstance(raw.get("t"), float) and raw["t"] >= 0 for raw in live):
                problems.append(f"{path.name}: a raw event without its time t")
            elif [{k: v for k, v in raw.items() if k != "t"} for raw in live] != expected:
                problems.append(
                    f"{path.name}: fetched {len(live)} raw events unlike the {len(expected)} of fetch --replay"
                )
            elif any(secret in sent for secret in request_secrets(request)):
                problems.append(f"{path.name}: a secret of the request is in what was fetched")
    assert not problems, "\n".join(problems)


# -- a wrong type anywhere in a provider's payload ----------------------------------------------

#: the values :func:`wrong_types` puts in place of a payload's own, one of another type in turn
WRONG: list[Any] = [None, 7, 1.5, "x", "", True, [], ["x"], {}, {"a": 1}, [{}]]


def _positions(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every (path, value) below ``value``: object members and array entries, nested ones too."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*path, key), item
            yield from _positions(item, (*path, key))
    elif isinstance(value, list):
        for n, item in enumerate(value):
            yield (*path, n), item
            yield from _positions(item, (*path, n))


def mutations(raws: list[Event], most: int | None = None) -> Iterator[tuple[str, list[bytes]]]:
    """(what was changed, the raw lines) for every position of every raw event's data, each given
    a value of another type (in turn from :data:`WRONG`); with ``most``, for that many positions at
    most, spread evenly over the recording."""
    import orjson

    lines = [orjson.dumps(raw) + b"\n" for raw in raws]
    places = [(n, path, old) for n, raw in enumerate(raws) for path, old in _positions(raw.get("data"))]
    if most is not None and len(places) > most:
        places = places[:: -(-len(places) // most)]
    for turn, (n, path, old) in enumerate(places):
        others = [v for v in WRONG if type(v) is not type(old)]
        value = others[turn % len(others)]
        changed = orjson.loads(lines[n])
        target = changed["data"]
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        mutated = [*lines[:n], orjson.dumps(changed) + b"\n", *lines[n + 1 :]]
        yield f"line {n + 1}: data{''.join(f'[{k!r}]' for k in path)} = {value!r}", mutated


def _through_the_generator(lines: list[bytes], events: list[Event], registry: Registry | None) -> None:
    import orjson

    from .stages.normalize import normalize

    events.extend(normalize((orjson.loads(line) for line in lines), registry=registry))


def _through_the_loop(lines: list[bytes], events: list[Event], registry: Registry | None) -> None:
    import orjson

    from .ndjson import EventWriter, read_events
    from .stages.normalize import write_normalized

    reader = read_events(io.BytesIO(b"".join(lines)), check=True, unchecked="raw")
    out = io.BytesIO()
    try:
        write_normalized(reader, EventWriter(out, reader.pending), lambda ev: None, registry=registry)
    finally:  # (what it wrote before a DataError too)
        events.extend(orjson.loads(line) for line in out.getvalue().splitlines())


def wrong_types(recording: bytes | str | Path, *, registry: Registry | None = None,
                budget: int | None = None) -> list[str]:  # fmt: skip
    """What goes wrong when a recording's payloads hold a value of the wrong type, in words: an
    empty list when the dialect's normalizer is sound.

    Each mutation puts a value of another type (from :data:`WRONG`) in one place of one raw
    event's ``data`` (every object member and array entry, nested ones too, each in turn), and
    normalizes the stream twice: through the generator (the library's and ``convert``'s way) and
    through the ``normalize`` command's loop (deltas written as bytes). Each must either stop with
    a :class:`~streamkit.errors.DataError` (bad input, naming the line) or write only events that
    pass :func:`~streamkit.canonical.check_event`, before the error too: the next stage would
    refuse any other, and an encoder in ``convert`` or ``serve`` might fail on it. Any other
    exception is wrong too. With ``budget``, as many places as normalize about that many raw
    events in all (8 at least): a long recording has thousands. Warnings are swallowed.

    A plugin's test::

        def test_a_wrong_type_anywhere(streamkit_registry):
            assert wrong_types(DATA / "stream.sse", registry=streamkit_registry("cohere")) == []
    """
    import contextlib

    from .canonical import check_event
    from .errors import DataError
    from .stages.fetch import replay

    raws = list(replay(_source(recording)))
    most = None if budget is None else max(8, budget // (2 * len(raws) or 1))
    wrong = []
    for what, lines in mutations(raws, most):
        for run in (_through_the_generator, _through_the_loop):
            events: list[Event] = []  # (what was made before a DataError too)
            try:
                with contextlib.redirect_stderr(io.StringIO()):  # (warnings of the odd streams)
                    run(lines, events, registry)
            except DataError:
                pass
            except Exception as exc:  # what the sweep is for
                wrong.append(f"{what}: {run.__name__.lstrip('_')} raised {type(exc).__name__}: {exc}")
                continue
            problems = [p for p in map(check_event, events) if p is not None]
            if problems:
                wrong.append(f"{what}: {run.__name__.lstrip('_')} wrote a bad {problems[0]}")
    return wrong


# -- encoders' templates ------------------------------------------------------------------------


def check_plain_deltas(events: Iterable[Event], dialect: str | Any, *, registry: Registry | None = None,
                       **options: Any) -> int:  # fmt: skip
    """Feed ``events`` to the dialect's encoder as ``render -f`` and ``convert`` do, and check its
    templates (:attr:`~streamkit.dialects.base.Encoder.plain_delta`) event by event: wherever the
    loop writes a delta around its text without the encoder, a copy of the encoder fed that delta
    must write exactly those bytes (one wire event) and be left in the state the template's
    declared changes leave the encoder in (none, or its fragments and counter). Returns how many
    deltas the templates wrote; raises AssertionError at the first that differs.

    A plugin's test::

        def test_templates(streamkit_registry):
            events = events_of(DATA / "stream.sse", registry=streamkit_registry("cohere"))
            check_plain_deltas(events, "cohere", registry=streamkit_registry("cohere"))
    """
    import copy

    import orjson

    from .dialects.base import templated
    from .framing import around_text, frame
    from .plugins import default_registry

    chosen = (registry or default_registry()).dialect(dialect) if isinstance(dialect, str) else dialect
    encoder = templated(chosen.encoder(**options))
    written = 0
    for n, event in enumerate(events):
        template = encoder.plain_delta
        text = template.fits(event) if template is not None else None
        frames = around_text(chosen.framing, template.name, template.data) if text is not None else None
        if frames is None:
            encoder.feed(event)
            continue
        fed = copy.deepcopy(encoder)
        wire = fed.feed(event)
        where = f"{chosen.name}: event {n} ({event.get('type')} of {event.get('id')!r})"
        assert len(wire) == 1, f"{where}: its template writes one wire event, the encoder {len(wire)}: {wire}"
        expected = (b",\n" if chosen.framing == "json-array" else b"") + frame(chosen.framing, *wire[0])
        template.frames = frames
        # (the changes the template declares, made to the encoder as the loops make them)
        got = (
            frames[0] + orjson.dumps(text) + frames[1] if template.plain else template.written(encoder, text)
        )
        assert got == expected, f"{where}: its template writes {got!r}, the encoder {expected!r}"
        before = _state({k: v for k, v in vars(encoder).items() if k != "plain_delta"})
        after = _state({k: v for k, v in vars(fed).items() if k != "plain_delta"})
        differ = {
            k: (before.get(k), after.get(k))
            for k in before.keys() | after.keys()
            if before.get(k) != after.get(k)
        }
        assert not differ, (
            f"{where}: the encoder's state is not what feeding it makes (template, feed): {differ}"
        )
        written += 1
    encoder.close()
    return written


def _state(value: Any) -> Any:
    """An encoder's state as values to compare (its own objects by their fields)."""
    from .dialects.base import PlainDelta

    if isinstance(value, dict):
        return {k: _state(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_state(v) for v in value]
    if isinstance(value, PlainDelta) or not (hasattr(value, "__dict__") or hasattr(value, "__slots__")):
        return value
    fields = (
        vars(value) if hasattr(value, "__dict__") else {k: getattr(value, k, None) for k in value.__slots__}
    )
    return (type(value).__name__, _state(fields))
