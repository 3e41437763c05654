"""The plugin manager and the registries built from it.

Nothing happens at import time: :func:`get_plugin_manager` builds a manager when a command
first needs one, registering the built-in plugins first and installed ones (entry-point group
``streamkit``) after them, so that pluggy, which calls the last registered first, lets an
installed plugin replace a built-in of the same name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import pluggy

from . import diagnostics, hookspecs
from .errors import UsageError

ENTRY_POINT_GROUP = "streamkit"

#: Modules holding the built-in hook implementations, registered like any plugin.
BUILTIN_PLUGINS = (
    "streamkit.dialects",
    "streamkit.formats",
    "streamkit.executors",
)


def _allowed_plugins() -> set[str] | None:
    value = os.environ.get("STREAMKIT_LOAD_PLUGINS")
    if value is None:
        return None
    return {name.strip() for name in value.split(",") if name.strip()}


class PluginManager(pluggy.PluginManager):
    """pluggy's manager, remembering which distribution each installed plugin came from."""

    def __init__(self) -> None:
        super().__init__(hookspecs.PROJECT)
        #: plugin name -> (distribution name, version)
        self.dists: dict[str, tuple[str, str]] = {}


def get_plugin_manager(*, load_entry_points: bool = True) -> PluginManager:
    """A fresh plugin manager with the built-ins and (unless told not to) installed plugins."""
    import importlib

    pm = PluginManager()
    pm.add_hookspecs(hookspecs)
    for module_name in BUILTIN_PLUGINS:
        pm.register(importlib.import_module(module_name), name=module_name)
    if load_entry_points:
        _load_entry_points(pm)
    return pm


def _load_entry_points(pm: PluginManager) -> None:
    from ._entrypoints import entry_points, normalize_name

    allowed = _allowed_plugins()
    allowed_names = {normalize_name(n) for n in allowed} if allowed is not None else None
    for ep in entry_points(ENTRY_POINT_GROUP):
        if (
            allowed_names is not None
            and normalize_name(ep.name) not in allowed_names
            and normalize_name(ep.dist_name) not in allowed_names
        ):
            continue
        if pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
            continue
        try:
            plugin = ep.load()
        except Exception as exc:  # a broken plugin must not take every command down
            diagnostics.warn(f"plugin {ep.name!r} failed to load and was skipped: {exc}")
            continue
        pm.register(plugin, name=ep.name)
        pm.dists[ep.name] = (ep.dist_name, ep.dist_version)


@dataclass
class Entry:
    """One registered dialect, format or executor, and the plugin that registered it."""

    name: str
    obj: Any
    plugin: str
    shadowed: list[str] = field(default_factory=list)


def _collect(pm: pluggy.PluginManager, hook_name: str) -> dict[str, Entry]:
    """Call a registration hook and keep, per name, the registration of highest precedence.

    pluggy calls implementations last-registered first, so the first registration of a name
    wins; the built-ins were registered first and so are called last.
    """
    entries: dict[str, Entry] = {}
    hook = getattr(pm.hook, hook_name)
    for impl in reversed(hook.get_hookimpls()):  # call order: last registered first
        plugin_name = impl.plugin_name

        def register(obj: Any, _plugin: str = plugin_name) -> None:
            name = getattr(obj, "name", None)
            if not name:
                raise UsageError(f"plugin {_plugin!r} registered {obj!r} without a name")
            if name in entries:
                entries[name].shadowed.append(_plugin)
            else:
                entries[name] = Entry(name, obj, _plugin)

        impl.function(**({"register": register} if "register" in impl.argnames else {}))
    return entries


class Registry:
    """Dialects, formats and executors from one plugin manager, collected on first use."""

    def __init__(self, pm: PluginManager | None = None) -> None:
        self._pm = pm
        self._cache: dict[str, dict[str, Entry]] = {}

    @property
    def pm(self) -> PluginManager:
        if self._pm is None:
            self._pm = get_plugin_manager()
        return self._pm

    def _entries(self, hook_name: str) -> dict[str, Entry]:
        if hook_name not in self._cache:
            self._cache[hook_name] = _collect(self.pm, hook_name)
        return self._cache[hook_name]

    def dialect_entries(self) -> dict[str, Entry]:
        return self._entries("register_dialects")

    def format_entries(self) -> dict[str, Entry]:
        return self._entries("register_formats")

    def executor_entries(self) -> dict[str, Entry]:
        return self._entries("register_tool_executors")

    def dialects(self) -> dict[str, Any]:
        """Every dialect, loaded (see :class:`~streamkit.dialects.base.LazyDialect`)."""
        return {name: _loaded(e.obj) for name, e in self.dialect_entries().items()}

    def dialect(self, name: str) -> Any:
        entry = self.dialect_entries().get(name)
        if entry is None:
            known = ", ".join(sorted(self.dialect_entries())) or "none"
            raise UsageError(f"unknown dialect {name!r} (installed: {known})")
        return _loaded(entry.obj)

    def format(self, name: str) -> Any:
        """A format by name; a dialect of that name stands in as its own wire format."""
        entry = self.format_entries().get(name)
        if entry is not None:
            return entry.obj
        dialect = self.dialect_entries().get(name)
        if dialect is not None:
            from .formats.dialect import DialectFormat

            return DialectFormat(_loaded(dialect.obj))
        known = ", ".join(sorted(set(self.format_entries()) | set(self.dialect_entries())))
        raise UsageError(f"unknown format {name!r} (installed: {known})")

    def plugin_names(self) -> list[str]:
        return [name for name, _ in self.pm.list_name_plugin()]


def _loaded(obj: Any) -> Any:
    load = getattr(type(obj), "load", None)
    return obj.load() if load is not None and type(obj).__name__ == "LazyDialect" else obj


_default: Registry | None = None


def default_registry() -> Registry:
    """The registry the CLI uses: one per process, built on first use."""
    global _default
    if _default is None:
        _default = Registry()
    return _default


def set_default_registry(registry: Registry | None) -> None:
    """Replace (or with ``None``, forget) the process-wide registry; tests use this."""
    global _default
    _default = registry


def plugin_info(pm: PluginManager) -> list[dict[str, Any]]:
    """What ``streamkit plugins`` shows: each plugin, its package and version, its hooks."""
    out = []
    for name, plugin in pm.list_name_plugin():
        hooks = sorted(caller.name for caller in pm.get_hookcallers(plugin) or [])
        package, version = pm.dists.get(name, (None, None))
        out.append(
            {
                "name": name,
                "builtin": name in BUILTIN_PLUGINS,
                "package": package,
                "version": version,
                "hooks": hooks,
            }
        )
    return out
