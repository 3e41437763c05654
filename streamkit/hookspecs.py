"""The plugin author's manual: every hook streamkit calls, when, with what, and what it expects back.

streamkit uses pluggy with the project name ``streamkit``. A plugin is a module (or object)
with functions decorated by :data:`hookimpl`, made known through the ``streamkit`` entry-point
group of its package::

    # pyproject.toml of your plugin
    [project.entry-points.streamkit]
    shout = "streamkit_shout"

    # streamkit_shout.py
    from streamkit.hookspecs import hookimpl
    from streamkit.formats.base import Format

    class Shout(Format):
        name = "shout"
        description = "The answer's text in capitals"

        def render(self, events, **options):
            for event in events:
                if event.get("type") == "text-delta":
                    yield event["delta"].upper().encode()

    @hookimpl
    def register_formats(register):
        register(Shout())

Then ``streamkit formats`` lists ``shout`` and ``streamkit render -f shout`` uses it.

Rules that hold for every hook:

* Built-in dialects, formats and executors are registered through these same hooks (see
  ``streamkit/dialects/__init__.py``); there are no private shortcuts.
* When two plugins register the same name, an installed plugin wins over a built-in.
* ``STREAMKIT_LOAD_PLUGINS`` (a comma-separated list of distribution or entry-point names)
  limits which installed plugins load; set it to an empty string to load none.
* Registration hooks are called once per process, the first time a command needs the registry;
  keep them cheap (register instances, import heavy libraries inside your methods).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click

    from .dialects.base import Dialect
    from .formats.base import Format

PROJECT = "streamkit"

hookspec = pluggy.HookspecMarker(PROJECT)
#: Decorate your hook functions with this.
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_dialects(register: Callable[[Dialect], None]) -> None:
    """Register upstream dialects.

    Called: the first time a command needs to look up a dialect (``normalize``, ``convert``,
    ``render -f DIALECT``, ``streamkit dialects``).

    Gets: ``register``, to be called once per dialect with an instance of a
    :class:`streamkit.dialects.base.Dialect` subclass. The instance names itself (``name``),
    recognises its events (``sniff``), gives a stateful normalizer per stream
    (``normalizer()``) and an encoder (``encoder()``), and names its wire ``framing``.

    Returns: nothing.

    Example::

        @hookimpl
        def register_dialects(register):
            register(MyProviderDialect())
    """


@hookspec
def register_formats(register: Callable[[Format], None]) -> None:
    """Register output formats for ``streamkit render -f NAME``.

    Called: the first time a command needs to look up a format (``render``, ``convert``,
    ``streamkit formats``). Every dialect is also a format (its wire encoding); a format of
    the same name as a dialect wins.

    Gets: ``register``, to be called once per format with an instance of a
    :class:`streamkit.formats.base.Format` subclass, whose ``render(events, **options)``
    is a generator of ``bytes`` written to stdout as they come. ``options`` are the ``-O
    KEY=VALUE`` pairs; a format that sets ``wants_registry = True`` also gets the registry in
    use as ``registry`` (to look up dialects, as the ``conversation`` format does).

    Returns: nothing.

    Example::

        @hookimpl
        def register_formats(register):
            register(Shout())
    """


@hookspec
def register_tool_executors(register: Callable[[Any], None]) -> None:
    """Register tool executor kinds, named by the ``executor`` field of a tools file entry.

    Called: the first time ``run-tools``, ``agent`` or ``fetch --tools`` loads a tools file.

    Gets: ``register``, to be called once per executor kind with an instance of a
    :class:`streamkit.executors.base.Executor` subclass: ``check(tool)`` validates a tool's
    settings at load time, ``expand(tool)`` may turn one entry into several tools (an MCP server
    lists its tools), ``run(call, cancel)`` runs one call in a worker thread and returns a
    ``ToolOutput``, ``close()`` releases what it holds. The runner enforces timeouts and output
    caps and gives every call exactly one result.

    Returns: nothing.

    Example::

        class Echo(Executor):
            name = "echo"
            description = "Answer with the arguments"

            def run(self, call, cancel):
                return ToolOutput(call.arguments)

        @hookimpl
        def register_tool_executors(register):
            register(Echo())
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add subcommands to the ``streamkit`` command line.

    Called: once, when the ``streamkit`` command group is built, before it parses arguments.

    Gets: ``cli``, the root :class:`click.Group`. Add commands with ``@cli.command()``.

    Returns: nothing.

    Example::

        @hookimpl
        def register_commands(cli):
            @cli.command()
            def hello():
                "Say hello."
                click.echo("hello")
    """
