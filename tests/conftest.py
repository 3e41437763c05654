"""Shared test helpers: a fresh plugin registry per test, the real CLI, the shared fixtures."""

from __future__ import annotations

import io
import itertools
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest

from streamkit.plugins import Registry, set_default_registry
from streamkit.testing import NO_FIXTURES, essence, messages, shared_fixtures
from streamkit.testing import recordings as fixture_files

__all__ = ["essence", "fixture_files", "messages", "shared_fixtures"]  # (the tests import them from here)

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
STREAMKIT = Path(sys.executable).parent / "streamkit"

#: The distributions of streamkit's first-party plugins (plugins/*). The project's own tests load
#: these and no other installed plugin: one installed beside them (a user's, one being written)
#: must not change what `streamkit dialects` lists or which dialect claims a stream. Set
#: STREAMKIT_LOAD_PLUGINS yourself to run the tests with another set.
FIRST_PARTY = ",".join(sorted(p.parent.name for p in (ROOT / "plugins").glob("*/pyproject.toml")))
os.environ.setdefault("STREAMKIT_LOAD_PLUGINS", FIRST_PARTY)


@pytest.fixture(autouse=True, scope="session")
def own_state_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every gateway a test starts keeps its default store (``serve --store``) in a folder of the
    test session's, never in the user's ~/.local/state."""
    before = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = str(tmp_path_factory.mktemp("state"))
    yield
    if before is None:
        os.environ.pop("XDG_STATE_HOME", None)
    else:
        os.environ["XDG_STATE_HOME"] = before


@pytest.fixture(autouse=True)
def fresh_registry() -> Iterator[Registry]:
    """Each test gets a fresh registry (its plugin manager made on first use: most tests never
    ask, and making one costs about 3 ms, 15 s of CPU over the suite)."""
    registry = Registry()
    set_default_registry(registry)
    yield registry
    set_default_registry(None)


def shared_recordings(*dialects: str) -> list[Path]:
    """Every shared recording of the given dialect folders, for a test that takes them all at
    once; skips the test when they are absent."""
    base = shared_fixtures()
    if base is None:
        pytest.skip(NO_FIXTURES)
    return sorted(p for d in dialects for p in (base / d).glob("*") if p.is_file())


def run_cli(
    *args: str, input: bytes | str = b"", env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[bytes]:
    """Run the installed ``streamkit`` console script as a real process."""
    if isinstance(input, str):
        input = input.encode()
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [str(STREAMKIT), *args], input=input, capture_output=True, env=full_env, timeout=timeout
    )


def sh(
    script: str, *, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[bytes]:
    """Run a shell pipeline with the venv's bin first on PATH."""
    full_env = {**os.environ, **(env or {})}
    full_env["PATH"] = f"{STREAMKIT.parent}{os.pathsep}{full_env.get('PATH', '')}"
    return subprocess.run(["sh", "-c", script], capture_output=True, env=full_env, timeout=timeout, cwd=ROOT)


def ndjson(data: bytes) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in data.splitlines() if line.strip()]


def events_of(path: Path | bytes, dialect: str | None = None, **options: Any) -> list[dict[str, Any]]:
    """replay → normalize → accumulate, in-process."""
    from streamkit.stages.accumulate import accumulate
    from streamkit.stages.fetch import replay
    from streamkit.stages.normalize import normalize

    source = io.BytesIO(path) if isinstance(path, bytes) else open(path, "rb")
    with source:
        return list(accumulate(normalize(replay(source), dialect=dialect, **options)))


class _Stopped(datetime):
    """A clock whose ``now`` is always the same moment (Ollama's encoder stamps each chunk)."""

    @classmethod
    def now(cls, tz: Any = None) -> Any:
        return datetime(2023, 11, 14, 22, 13, 20, tzinfo=timezone.utc)


@pytest.fixture
def steady(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The encoders' generated ids and clock made the same for every run (restarted by calling it)."""

    def restart() -> None:
        counter = itertools.count()
        monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(int=next(counter)))

    monkeypatch.setattr(time, "time", lambda: 1_700_000_000.0)
    from streamkit.dialects.ollama import encode as ollama_encode

    monkeypatch.setattr(ollama_encode, "datetime", _Stopped)
    restart()
    return restart


@pytest.fixture
def ca_bundle_loads(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every load of CA certificates into an SSL context while the test runs (what httpx does
    for each client it makes with its verified default), with no proxy variable set."""
    import ssl

    from streamkit.upstream import PROXY_VARIABLES

    loads: list[Any] = []
    original = ssl.SSLContext.load_verify_locations

    def counted(self: ssl.SSLContext, *args: Any, **kwargs: Any) -> None:
        loads.append(args or kwargs)
        original(self, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counted)
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return loads


def say_dialect(name: str, normalizer: Any, description: str = "a test dialect") -> Registry:
    """A registry of the built-ins and one plugin dialect ``name``, which claims the payloads with
    a ``say`` field and makes each stream's normalizer by calling ``normalizer()``."""
    import types

    from streamkit.dialects.base import Dialect
    from streamkit.hookspecs import hookimpl
    from streamkit.testing import registry

    class SayDialect(Dialect):
        def sniff(self, data: Any, event: str | None = None) -> bool:
            return isinstance(data, dict) and "say" in data

        def normalizer(self, **options: Any) -> Any:
            return normalizer()

    SayDialect.name = name
    SayDialect.description = description
    return registry(
        types.SimpleNamespace(register_dialects=hookimpl(lambda register: register(SayDialect())))
    )


def places(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into a JSON value (its keys and indexes, depth first), the root left out: where
    the "any value anywhere" tests put a value."""
    out = [path] if path else []
    if isinstance(value, dict):
        out += [p for k, v in value.items() for p in places(v, (*path, k))]
    elif isinstance(value, list):
        out += [p for i, v in enumerate(value) for p in places(v, (*path, i))]
    return out


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    """A copy of a JSON value with what is at ``path`` replaced by ``new`` (all of it for ``()``)."""
    if not path:
        return new
    if isinstance(value, dict):
        return {**value, path[0]: replaced(value[path[0]], path[1:], new)}
    copy = list(value)
    copy[path[0]] = replaced(value[path[0]], path[1:], new)
    return copy


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a test CA (``ca.pem``), a certificate for 127.0.0.1 and localhost issued by it
    (``cert.pem``, its key ``key.pem``, both in ``both.pem``), and a script of answers."""
    trustme = pytest.importorskip("trustme")
    where = tmp_path_factory.mktemp("pki")
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1", "localhost")
    ca.cert_pem.write_to_path(str(where / "ca.pem"))
    issued.cert_chain_pems[0].write_to_path(str(where / "cert.pem"))
    issued.private_key_pem.write_to_path(str(where / "key.pem"))
    issued.private_key_and_cert_chain_pem.write_to_path(str(where / "both.pem"))
    (where / "script.json").write_bytes(orjson.dumps([{"text": "over tls"}] * 20))
    return where
