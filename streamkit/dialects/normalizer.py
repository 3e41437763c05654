"""The base class of a dialect's normalizer (re-exported by :mod:`.base`, where plugins find it).

It is an abstract base class for one reason: a normalizer compiled with mypyc (see
:mod:`streamkit._native`) cannot derive from a class that is not compiled, and compiling this one
would make every subclass that is not compiled (every plugin's, the other dialects') slower: an
attribute of an instance of such a subclass took three times as long to read. The compiled ones
derive from :class:`.native_normalizer.NativeNormalizer`, registered as a subclass instead
(``Normalizer.register``), so ``isinstance`` holds for them."""

from __future__ import annotations

from abc import ABCMeta
from typing import Any, ClassVar


class Normalizer(metaclass=ABCMeta):  # noqa: B024 (abstract for register, see above)
    """Turns one stream of a dialect's wire events into canonical events.

    ``feed`` is called once per wire event, in order, and returns the canonical events it
    completes (possibly none). It returns ``None`` for an event that has no canonical meaning,
    which normalize then counts in a warning (or keeps as a ``raw`` event with ``--keep-raw``).
    ``close`` is called at the end of the stream and returns what is still open (the last
    ``finish``, blocks never closed). A normalizer may raise :class:`streamkit.errors.DataError`
    for an event it cannot make sense of.
    """

    #: Set by the ``normalize`` command's loop, which writes what ``feed`` returns at once, on a
    #: normalizer that says it checks types (:attr:`checks_types`, below): ``feed``
    #: may then return, for a line that makes exactly one event (a delta, say: never an ``error``
    #: or a ``start``), that event's JSON as bytes up to, not including, its closing ``}`` (the
    #: loop adds the raw event's ``t`` and the end), exactly the bytes ``orjson.dumps`` writes for
    #: the event's dict. That spares the dict and its serialisation on the hot path. Unset (the
    #: stages' generators, :func:`streamkit.normalize`): ``feed`` returns lists.
    delta_bytes: bool = False

    #: Whether the normalizer checks the type of every value it passes on into its events, so
    #: that it makes only canonical events whatever the payload holds (the built-in ones and the
    #: first-party plugins do). ``normalize`` checks every event of a normalizer that does not
    #: say so (:func:`streamkit.stages.normalize.check_made`: 9 to 14% more instructions on the
    #: built-ins' real mixes) and never sets its ``delta_bytes``, so that a wrong type from a
    #: provider is bad input naming its line, not an event the next stage refuses. A plugin sets
    #: it once :func:`streamkit.testing.wrong_types` finds nothing with it set.
    checks_types: ClassVar[bool] = False

    #: What the id of a tool call that came without one starts with: a normalizer that makes such
    #: ids numbers them after it, ``call_0``, ``call_1``..., stable for a recording converted
    #: again. ``serve --upstream`` sets a prefix of its own on each response's normalizer
    #: (``call_5f3a9c1e_0``): its clients keep the whole conversation, in which every call's id
    #: must be unique (Claude Code skips a ``tool_use`` whose id it has seen before).
    call_id_prefix: str = "call_"

    def feed(self, data: Any, event: str | None = None) -> list[dict[str, Any]] | None:
        raise NotImplementedError

    def close(self) -> list[dict[str, Any]]:
        return []
