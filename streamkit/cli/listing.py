"""What is installed: ``dialects``, ``formats``, ``executors``, ``plugins``, and the events' ``schema``."""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, Any

import click

from .group import cli
from .guard import run


def _listing(
    command: str, entries: dict[str, Any], as_json: bool, extra: Callable[[Any], dict[str, Any]]
) -> None:
    import orjson

    def body(out: IO[bytes]) -> None:
        rows = []
        for name in sorted(entries):
            entry = entries[name]
            row = {"name": name, "description": getattr(entry.obj, "description", ""), "plugin": entry.plugin}
            row.update(extra(entry.obj))
            if entry.shadowed:
                row["replaces"] = entry.shadowed
            rows.append(row)
        if as_json:
            out.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE))
            return
        width = max((len(r["name"]) for r in rows), default=0)
        for r in rows:
            origin = "" if r["plugin"].startswith("streamkit.") else f"  [{r['plugin']}]"
            out.write(f"{r['name']:<{width}}  {r['description']}{origin}\n".encode())

    run(command, body)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Write JSON.")
def dialects(as_json: bool) -> None:
    """List the installed dialects (for -d, --from and -f).

    \b
      streamkit dialects
      streamkit dialects | cut -d' ' -f1
    """
    from ..plugins import default_registry

    _listing("dialects", default_registry().dialect_entries(), as_json, lambda d: {"framing": d.framing})


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Write JSON.")
def formats(as_json: bool) -> None:
    """List the output formats for render -f (every dialect is one too).

    \b
      streamkit formats
    """
    from ..plugins import Entry, default_registry

    registry = default_registry()
    entries = dict(registry.format_entries())
    for name, entry in registry.dialect_entries().items():
        if name not in entries:
            entries[name] = Entry(name, entry.obj, entry.plugin)
    _listing(
        "formats", entries, as_json, lambda f: {"kind": "dialect" if hasattr(f, "framing") else "format"}
    )


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Write JSON.")
def executors(as_json: bool) -> None:
    """List the tool executor kinds a tools file may name (executor = "...").

    \b
      streamkit executors
    """
    from ..plugins import default_registry

    _listing("executors", default_registry().executor_entries(), as_json, lambda e: {})


@cli.command()
def plugins() -> None:
    """List the loaded plugins, their packages and the hooks they implement, as JSON.

    \b
      streamkit plugins | jq -r '.[] | select(.builtin | not) | .package'
      STREAMKIT_LOAD_PLUGINS= streamkit plugins     # the built-ins only
    """
    import orjson

    def body(out: IO[bytes]) -> None:
        from ..plugins import default_registry, plugin_info

        out.write(
            orjson.dumps(
                plugin_info(default_registry().pm), option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE
            )
        )

    run("plugins", body)


@cli.command()
def schema() -> None:
    """Print the JSON Schema of every canonical event.

    \b
      streamkit schema > events.schema.json
      streamkit schema | jq '."$defs" | keys'
    """
    import orjson

    def body(out: IO[bytes]) -> None:
        from ..events import json_schema

        out.write(orjson.dumps(json_schema(), option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE))

    run("schema", body)
