"""The plugin system: built-ins through the same hooks, precedence, the allow-list, commands."""

from __future__ import annotations

import types
from importlib import metadata

import click
import orjson
import pytest
from click.testing import CliRunner

from streamkit import hookspecs
from streamkit.dialects.base import Dialect
from streamkit.dialects.openai_chat import ChatNormalizer
from streamkit.formats.base import Format
from streamkit.hookspecs import hookimpl
from streamkit.plugins import BUILTIN_PLUGINS, Registry, get_plugin_manager, plugin_info, set_default_registry
from streamkit.stages.normalize import normalize

from .conftest import run_cli


def test_builtins_come_through_the_same_hooks() -> None:
    pm = get_plugin_manager(load_entry_points=False)
    pm.check_pending()  # every hookimpl matches a hookspec
    assert [name for name, _ in pm.list_name_plugin()] == list(BUILTIN_PLUGINS)
    registry = Registry(pm)
    assert registry.dialect_entries()["openai-chat"].plugin == "streamkit.dialects"
    assert {"text", "json", "ndjson"} <= set(registry.format_entries())


class LoudChat(Dialect):
    name = "openai-chat"
    description = "a replacement"

    def sniff(self, data, event=None):
        return False

    def normalizer(self, **options):
        class Loud(ChatNormalizer):
            def feed(self, data, event=None):
                out = super().feed(data, event)
                return [
                    {**e, "delta": e["delta"].upper()} if e.get("type") == "text-delta" else e
                    for e in out or []
                ]

        return Loud()


def test_an_outside_plugin_wins_over_a_builtin_of_the_same_name() -> None:
    plugin = types.SimpleNamespace(register_dialects=hookimpl(lambda register: register(LoudChat())))
    pm = get_plugin_manager(load_entry_points=False)
    pm.register(plugin, name="loud")
    registry = Registry(pm)
    entry = registry.dialect_entries()["openai-chat"]
    assert (entry.plugin, entry.shadowed) == ("loud", ["streamkit.dialects"])
    chunk = {
        "object": "chat.completion.chunk",
        "id": "a",
        "model": "m",
        "choices": [{"index": 0, "delta": {"content": "hi"}}],
    }
    deltas = [
        e["delta"]
        for e in normalize([{"type": "raw", "dialect": "openai-chat", "data": chunk}], registry=registry)
        if e["type"] == "text-delta"
    ]
    assert deltas == ["HI"]


def test_formats_and_commands_from_a_plugin() -> None:
    class Shout(Format):
        name = "shout"
        description = "capitals"

        def render(self, events, **options):
            for event in events:
                if event.get("type") == "text-delta":
                    yield event["delta"].upper().encode()

    def register_commands(cli: click.Group) -> None:
        @cli.command()
        def hello() -> None:
            """Say hello."""
            click.echo("hello from a plugin")

    plugin = types.SimpleNamespace(
        register_formats=hookimpl(lambda register: register(Shout())),
        register_commands=hookimpl(register_commands),
    )
    pm = get_plugin_manager(load_entry_points=False)
    pm.register(plugin, name="shouty")
    set_default_registry(Registry(pm))
    from streamkit.cli import cli

    result = CliRunner().invoke(cli, ["hello"])
    assert result.exit_code == 0 and result.output == "hello from a plugin\n"
    info = {p["name"]: p for p in plugin_info(pm)}
    assert info["shouty"]["hooks"] == ["register_commands", "register_formats"]


def test_allow_list(monkeypatch: pytest.MonkeyPatch) -> None:
    """STREAMKIT_LOAD_PLUGINS limits the installed plugins (streamkit-rich is installed by `make test`)."""
    names = lambda: {name for name, _ in get_plugin_manager().list_name_plugin()}  # noqa: E731
    monkeypatch.delenv("STREAMKIT_LOAD_PLUGINS", raising=False)
    assert "rich" in names()
    monkeypatch.setenv("STREAMKIT_LOAD_PLUGINS", "")
    assert names() == set(BUILTIN_PLUGINS)
    monkeypatch.setenv("STREAMKIT_LOAD_PLUGINS", "streamkit-rich")
    assert "rich" in names()
    result = run_cli("formats", env={"STREAMKIT_LOAD_PLUGINS": ""})
    assert b"rich" not in result.stdout and b"openai-chat" in result.stdout


def test_a_broken_plugin_is_skipped_with_a_warning(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    info = tmp_path / "broken_plugin-1.0.dist-info"
    info.mkdir()
    (info / "entry_points.txt").write_text("[streamkit]\nbroken = no_such_module_anywhere\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("STREAMKIT_LOAD_PLUGINS", raising=False)
    pm = get_plugin_manager()
    assert pm.get_plugin("broken") is None
    assert "rich" in {name for name, _ in pm.list_name_plugin()}  # the others still load
    assert "plugin 'broken' failed to load and was skipped" in capsys.readouterr().err


@pytest.mark.parametrize("group", ["streamkit", "console_scripts", "pytest11", "hypothesis"])
def test_our_entry_point_scan_finds_what_importlib_metadata_finds(group: str) -> None:
    from streamkit._entrypoints import entry_points

    ours = sorted((ep.name, ep.value, ep.dist_name.replace("_", "-").lower()) for ep in entry_points(group))
    theirs = sorted(
        (ep.name, ep.value, ep.dist.name.replace("_", "-").lower())
        for ep in metadata.entry_points(group=group)
    )
    assert ours == theirs


def test_hookspecs_are_documented() -> None:
    for name in ("register_dialects", "register_formats", "register_tool_executors", "register_commands"):
        doc = getattr(hookspecs, name).__doc__
        assert "Called:" in doc and "Gets:" in doc and "Returns:" in doc


def test_builtin_dialects_load_lazily_and_their_entries_tell_the_truth() -> None:
    """Listing reads name, description and framing without importing a dialect module; those match the class."""
    import subprocess
    import sys

    from streamkit.dialects import BUILTIN

    code = (
        "import sys; from streamkit.plugins import Registry, get_plugin_manager; "
        "r = Registry(get_plugin_manager(load_entry_points=False)); [e.obj.description for e in r.dialect_entries().values()]; "
        "r.dialect('openai-chat'); print(sorted(m for m in sys.modules if m.startswith('streamkit.dialects.') and m[19:] not in ('base', 'normalizer', '_think')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "['streamkit.dialects.openai_chat']"
    registry = Registry(get_plugin_manager(load_entry_points=False))
    for name, _target, framing, description in BUILTIN:
        dialect = registry.dialect(name)
        assert (dialect.name, dialect.framing, dialect.description) == (name, framing, description)


def test_executors_listing() -> None:
    result = run_cli("executors", "--json")
    listed = {e["name"]: e["plugin"] for e in orjson.loads(result.stdout)}
    assert {"shell", "python", "http"} <= set(listed) and listed["shell"] == "streamkit.executors"


def test_a_plugin_normalizer_may_give_the_command_loop_deltas_as_bytes() -> None:
    """Normalizer.delta_bytes is set by `normalize`'s loop on a Normalizer that says it checks the
    types of what it passes on (which may then return a delta's bytes up to its "}", the loop
    adding t and the end), never on one that does not (its events are checked: lists), never on
    another class, and never by the stage's generator."""
    import io

    from streamkit.cli.outcome import Outcome
    from streamkit.dialects.base import Normalizer
    from streamkit.ndjson import EventWriter, read_events
    from streamkit.stages.normalize import write_normalized

    seen: list[object] = []

    class Said(Normalizer):
        checks_types = True

        def feed(self, data, event=None):
            seen.append(self.delta_bytes)
            if self.delta_bytes:
                return b'{"type":"text-delta","id":"t","delta":' + orjson.dumps(data["say"])
            return [{"type": "text-delta", "id": "t", "delta": data["say"]}]

    class Unchecked(Said):
        checks_types = False

    class Plain:  # a normalizer that is no Normalizer: lists only, and no attribute set on it
        def feed(self, data, event=None):
            seen.append(getattr(self, "delta_bytes", "unset"))
            return [{"type": "text-delta", "id": "t", "delta": data["say"]}]

        def close(self):
            return []

    def toy(made: type) -> Dialect:
        class Toy(Dialect):
            name = "toy"
            description = "says"

            def sniff(self, data, event=None):
                return isinstance(data, dict) and "say" in data

            def normalizer(self, **options):
                return made()

        return Toy()

    lines = [{"type": "raw", "dialect": "toy", "event": None, "data": {"say": s}} for s in ("a", "b")]
    lines.append({**lines[1], "t": 0.25})
    data = b"".join(orjson.dumps(line) + b"\n" for line in lines)
    for made in (Said, Unchecked, Plain):
        pm = get_plugin_manager(load_entry_points=False)
        pm.register(
            types.SimpleNamespace(register_dialects=hookimpl(lambda register, m=made: register(toy(m))))
        )
        registry = Registry(pm)
        seen.clear()
        reader = read_events(io.BytesIO(data), check=True, unchecked="raw")
        out = io.BytesIO()
        write_normalized(reader, EventWriter(out, reader.pending), Outcome(()).see, registry=registry)
        assert out.getvalue() == (
            b'{"type":"text-delta","id":"t","delta":"a"}\n{"type":"text-delta","id":"t","delta":"b"}\n'
            b'{"type":"text-delta","id":"t","delta":"b","t":0.25}\n'
        )
        assert seen == {Said: [True] * 3, Unchecked: [False] * 3, Plain: ["unset"] * 3}[made]
        seen.clear()
        generated = list(normalize(lines, registry=Registry(pm)))
        assert [e["delta"] for e in generated] == ["a", "b", "b"]
        assert seen == ([False] * 3 if made is not Plain else ["unset"] * 3)
