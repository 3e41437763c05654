"""The ``streamkit`` group: built-in commands resolve at once, plugin commands load when asked for."""

from __future__ import annotations

import click

from .. import diagnostics

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class StreamkitGroup(click.Group):
    """Built-in commands resolve at once; plugin commands load only when asked for."""

    _loaded_for: object = None  # the registry whose plugins added their commands

    def _load_plugin_commands(self) -> None:
        from ..plugins import default_registry

        registry = default_registry()
        if self._loaded_for is registry:
            return
        self._loaded_for = registry
        try:
            registry.pm.hook.register_commands(cli=self)
        except Exception as exc:
            diagnostics.warn(f"a plugin failed to add its commands: {exc}")

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None:
            self._load_plugin_commands()
            command = super().get_command(ctx, cmd_name)
        return command

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_plugin_commands()
        return super().list_commands(ctx)


@click.group(cls=StreamkitGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(package_name="streamkit", prog_name="streamkit")
def cli() -> None:
    """Small Unix commands for LLM streaming APIs, joined by pipes over NDJSON.

    \b
      streamkit fetch --replay rec.sse | streamkit normalize | streamkit accumulate | streamkit render
      streamkit convert --to anthropic rec.sse

    Every command reads and writes one JSON event per line. Exit codes: 0 ok, 1 runtime
    failure, 2 usage error, 65 bad input data, 130 interrupted.
    """
