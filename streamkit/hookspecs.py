"""The plugin author's manual: every hook streamkit calls, when, with what, and what it expects back.

streamkit uses pluggy with the project name ``streamkit``. A plugin is a module (or object)
with functions decorated by :data:`hookimpl`, made known through the ``streamkit`` entry-point
group of its package::

    # pyproject.toml of your plugin
    [project.entry-points.streamkit]
    shout = "streamkit_shout"

    # streamkit_shout.py
    from streamkit import Format, hookimpl

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
* The base classes are exported from ``streamkit``: ``Dialect``, ``Normalizer``, ``Encoder``
  (dialects), ``Format`` (formats), ``Executor``, ``ToolCall``, ``ToolOutput`` (tool executors).
* ``streamkit.testing`` is a pytest plugin for your tests (a registry holding only your plugin,
  a helper that runs a stage over a list of events, golden-stream assertions, a fixture that
  starts ``streamkit serve --script`` in a dialect); pytest loads it wherever streamkit is
  installed. The first-party plugins in ``plugins/`` test themselves with it.

The events a normalizer emits, in order
---------------------------------------

A :class:`~streamkit.dialects.base.Normalizer` turns one wire stream into canonical events (plain
dicts; ``streamkit schema`` has every field). ``streamkit.testing.check_order`` checks these
rules, and its golden assertions apply it to every case:

1. ``start`` (``id``, ``model``, ``dialect``) opens each response, before anything of it.
2. Content comes in blocks, each ``X-start``, any number of ``X-delta``, ``X-end``, all with the
   block's ``id``, for X in ``text``, ``reasoning`` and ``tool-input`` (a tool call's arguments as
   JSON text fragments; its ``id`` is the tool call id, ``tool_name`` on the start). Blocks may
   interleave (parallel tool calls), but a delta or end comes only between its block's start and
   end, and an id is not started again while open. ``text-end`` need not carry ``text``, nor a
   ``tool-call`` its ``input``: accumulate fills them in.
3. ``tool-call`` (``tool_call_id``, ``tool_name``, ``arguments``) after its ``tool-input-end``
   (or alone, when the wire sends whole calls); ``source``, ``file`` and provider-executed
   ``tool-result`` where the wire has them.
4. ``finish`` (``finish_reason``, ``raw_finish_reason``, ``usage``) closes the response, after
   every block of it has ended. Usage that arrives late is held until then (``close()`` emits
   what is still pending at the end of the stream).
5. ``error`` may come anywhere; a stream that breaks off still ends with a ``finish``
   (``finish_reason`` ``error`` after an error), and may leave blocks open.
6. Several responses follow one another, each ``start`` ... ``finish``. Choices (``n>1``) carry
   ``choice`` on their events, each with its own blocks and ``finish``; the ``finish`` without a
   ``choice`` comes last and ends the response.

An event with no canonical meaning makes ``feed`` return ``None`` (counted in a warning, or kept
as ``raw`` with ``--keep-raw``); ``[]`` means "nothing yet". Keep what the dialect needs to give
the same stream back in ``provider_metadata[NAME]``. A tool call that came without an id gets one
made up after the normalizer's ``call_id_prefix`` (``call_0``, ``call_1``...; ``serve --upstream``
sets a prefix of its own per response, so that its clients never see an id twice).

What a format receives
----------------------

``Format.render(events, **options)`` gets the events as ``render`` reads them, in stream order,
whatever ran before it, so a format must accept all of these:

* the deltas straight from ``normalize`` (``start``, blocks, ``tool-call``, ``finish``), the same
  with ``accumulate``'s whole ``text-end.text`` and one ``message`` per response after its
  ``finish``, or only ``message`` events (``accumulate --final``);
* ``tool-result`` events from ``run-tools``, each after its ``tool-call``, in the order the calls
  finished (the agent's order: not necessarily the order of the calls), and
  ``tool-approval-request``/``-response`` around a call that was asked about;
* ``start-step``/``finish-step`` around each response of ``agent``;
* ``error`` events anywhere, and unknown event types (pass them by; never fail on them).

Yield ``bytes`` as soon as they can be written (one per delta for a text format); write notes for
people through :mod:`streamkit.diagnostics` to stderr, never into the output. ``-O KEY=VALUE``
options arrive as keyword arguments.
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
    ``normalize`` checks every event a plugin's normalizer makes (a wrong type is the line's bad
    input) unless the normalizer sets ``checks_types = True``, saying it checks the types of
    what it passes on itself, as the built-in ones do
    (:attr:`~streamkit.dialects.base.Normalizer.checks_types`). A dialect whose API refuses some
    tool names says which it takes in ``tool_name_pattern`` (a regular expression), and
    ``serve --upstream`` sends it the others under names that fit
    (:attr:`~streamkit.dialects.base.Dialect.tool_name_pattern`). A dialect that builds requests
    declares the conversation's function and custom tools, sends the kinds of tool its provider
    runs itself in its own form (the web search: ``"kind": "web_search"``), and leaves out any
    other kind with a warning: :func:`streamkit.dialects.web_search.split_tools` does that split.

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
    ``ToolOutput``, ``close()`` releases what it holds, and ``warm_up()`` (optional) makes
    what a first call would wait for, while ``run-tools`` waits for its first input line. The
    runner enforces timeouts and output caps and gives every call exactly one result.

    Returns: nothing.

    Example::

        from streamkit import Executor, ToolOutput, hookimpl

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
