"""``python -m streamkit`` is the ``streamkit`` command."""

from .cli import main

main()
