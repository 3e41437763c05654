"""Python tools used by the run-tools tests (loaded by the python executor)."""

from __future__ import annotations

import asyncio
import os


def add(a: float, b: float) -> dict:
    return {"sum": a + b}


def environment(names: list[str]) -> dict:
    """The worker's values of these variables (null: not set)."""
    return {name: os.environ.get(name) for name in names}


async def slow_echo(text: str) -> str:
    await asyncio.sleep(0.01)
    return text.upper()


def boom(**kwargs: object) -> str:
    raise RuntimeError("the tool broke")


def nothing() -> str:
    return ""


def hang(**kwargs: object) -> str:
    import time

    time.sleep(300)
    return "woke up"


def exits(code: int = 3) -> str:
    import sys

    sys.exit(code)


def interrupts() -> str:
    raise KeyboardInterrupt


def returns_none() -> None:
    return None


def dies(code: int = 7) -> str:
    import os

    os._exit(code)


def says(text: str) -> str:
    """Prints ``text`` (to the runner's stderr) and answers with it."""
    print(text)
    return text


def prints(text: str) -> str:
    print("a print is not the answer")
    return text


def big(size: int) -> str:
    return "y" * size


def starts_a_child(marker: str) -> str:
    """Start a process that would outlive the call, in a session of its own."""
    import subprocess
    import sys

    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)", marker], start_new_session=True)
    return "started"
