"""What several commands share: their input (stdin, a file), KEY=VALUE options, the options that
recur (``--on-error``, ``--think-tags``, ``-O``), and the conversation a request starts from."""

from __future__ import annotations

import sys
from typing import Any

import click

from ..errors import (
    UsageError,
)
from .guard import _open_input


def _parse_options(pairs: tuple[str, ...]) -> dict[str, Any]:
    import orjson

    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="'-O'")
        try:
            options[key.replace("-", "_")] = orjson.loads(value)
        except orjson.JSONDecodeError:
            options[key.replace("-", "_")] = value
    return options


def complete_dialects(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    """Shell completion for a dialect option: the installed dialects' names, with their descriptions
    (no dialect module is imported: listing reads the registrations only)."""
    from ..plugins import default_registry

    entries = default_registry().dialect_entries()
    return _completions({name: e.obj.description for name, e in entries.items()}, incomplete)


def complete_formats(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    """Shell completion for a format option: the formats, and every dialect (its wire format)."""
    from ..plugins import default_registry

    registry = default_registry()
    names = {name: e.obj.description for name, e in registry.dialect_entries().items()}
    names.update({name: e.obj.description for name, e in registry.format_entries().items()})
    return _completions(names, incomplete)


def _completions(names: dict[str, str], incomplete: str) -> list[Any]:
    from click.shell_completion import CompletionItem

    return [
        CompletionItem(name, help=(help or "").strip() or None)
        for name, help in sorted(names.items())
        if name.startswith(incomplete)
    ]


on_error_option = click.option(
    "--on-error",
    type=click.Choice(["fail", "skip", "pass"]),
    default="fail",
    show_default=True,
    help="What to do with a bad input line: stop with exit 65, drop it with a warning, or turn it into an error event.",
)


ignore_errors_option = click.option(
    "--ignore-errors",
    is_flag=True,
    help="Exit 0 even when the stream ends in an error event (by default: exit 1).",
)


think_tags_option = click.option(
    "--think-tags",
    is_flag=True,
    help="Turn <think>...</think> inside the text into reasoning (servers that inline it).",
)


format_options = click.option(
    "-O",
    "--option",
    "options",
    multiple=True,
    metavar="KEY=VALUE",
    help="An option for the format or encoder (VALUE is JSON, or a plain string). Repeatable.",
)


def _json_options(pairs: tuple[str, ...], flag: str) -> dict[str, Any]:
    import orjson

    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint=f"'{flag}'")
        try:
            options[key] = orjson.loads(value)
        except orjson.JSONDecodeError:
            options[key] = value
    return options


NOTHING_TO_SEND = (
    "nothing to send: give a PROMPT, --conversation FILE, --body FILE, or a conversation on stdin"
)


def _read_json_file(path: str, what: str) -> Any:
    import orjson

    data = _open_input(path).read()
    if not data.strip():
        if path == "-":
            raise UsageError(NOTHING_TO_SEND)
        raise UsageError(f"{what} {path} is empty")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise UsageError(f"{what} {path} is not valid JSON: {exc}") from None


def _conversation(
    prompt: str | None, conversation_file: str | None, system: str | None, nothing: str
) -> dict[str, Any]:
    """The conversation a command starts from: a PROMPT, --conversation FILE, or stdin
    (``nothing``: what to say when there is none)."""
    from .. import conversation as conv

    if prompt is not None:
        return conv.from_prompt(prompt, system=system)
    if conversation_file is None and sys.stdin.isatty():
        raise UsageError(nothing)
    conversation = conv.check(
        _read_json_file(conversation_file or "-", "conversation"), conversation_file or "stdin"
    )
    if system:
        conversation["system"] = system
    return conversation


def require_terminal_for_approval() -> None:
    """``--approve`` asks on the terminal (never on stdin, which carries events): without one it
    would deny every call, so it is a usage error instead."""
    from ..stages.run_tools import has_terminal

    if not has_terminal():
        raise UsageError(
            "--approve asks before each call on the terminal (/dev/tty), and there is none here "
            "(a script, a service, CI); run it from a terminal, or leave --approve out"
        )
