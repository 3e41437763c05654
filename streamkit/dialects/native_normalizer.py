"""The base class of the normalizers mypyc compiles (see :mod:`streamkit._native`).

A compiled class derives from compiled classes alone, and :class:`.normalizer.Normalizer` stays
Python (compiled, it would slow every subclass that is not: every plugin's normalizer and the
other dialects'). So a compiled normalizer derives from this one, which declares the base class's
attributes again and is a Normalizer by registration: ``isinstance`` and ``issubclass`` hold for
it and every class derived from it.
"""

from __future__ import annotations

from typing import ClassVar

from .._native import mypyc_attr
from .normalizer import Normalizer


@mypyc_attr(allow_interpreted_subclasses=True)  # (so may its subclasses: see streamkit._native)
class NativeNormalizer:
    """What a compiled normalizer has of :class:`~streamkit.dialects.base.Normalizer`."""

    checks_types: ClassVar[bool] = True  # (the built-in ones do: Normalizer.checks_types)
    delta_bytes: bool = False  # (Normalizer.delta_bytes)
    call_id_prefix: str = "call_"  # (Normalizer.call_id_prefix)


Normalizer.register(NativeNormalizer)
