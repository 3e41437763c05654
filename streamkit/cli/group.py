"""The ``streamkit`` group: each command's module is imported when that command is asked for."""

from __future__ import annotations

import importlib

import click

from .. import diagnostics

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


#: The built-in commands and the module of ``streamkit.cli`` that defines each: a command imports
#: its own module only (``normalize`` does not pay for ``serve``'s or ``agent``'s imports).
BUILTIN = {
    "fetch": "fetch",
    "agent": "agent",
    "serve": "serve",
    **dict.fromkeys(("normalize", "accumulate", "run-tools", "render", "convert"), "stages"),
    **dict.fromkeys(("dialects", "formats", "executors", "plugins", "schema"), "listing"),
}


class StreamkitGroup(click.Group):
    """Built-in commands load with their module when asked for; plugin commands load after them."""

    _loaded_for: object = None  # the registry whose plugins added their commands

    def _load_builtin(self, name: str | None = None) -> None:
        """Import the module of one built-in command (each adds its commands to the group), or
        of all of them."""
        modules = dict.fromkeys(BUILTIN.values()) if name is None else [BUILTIN[name]]
        for module in modules:
            importlib.import_module(f"{__package__}.{module}")

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
        if command is None and cmd_name in BUILTIN:
            self._load_builtin(cmd_name)
            command = super().get_command(ctx, cmd_name)
        if command is None:
            self._load_plugin_commands()
            command = super().get_command(ctx, cmd_name)
        return command

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_builtin()
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
