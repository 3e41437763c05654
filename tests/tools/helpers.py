"""Python tools used by the run-tools tests (loaded by the python executor)."""

from __future__ import annotations

import asyncio


def add(a: float, b: float) -> dict:
    return {"sum": a + b}


async def slow_echo(text: str) -> str:
    await asyncio.sleep(0.01)
    return text.upper()


def boom(**kwargs: object) -> str:
    raise RuntimeError("the tool broke")


def nothing() -> str:
    return ""
