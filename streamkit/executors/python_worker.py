"""The python executor's worker: one call of ``module:function`` in a process of its own.

The python executor runs this file's source with ``python -c`` (the same interpreter as the
runner). It imports nothing from streamkit, so it starts as fast as Python does. It reads one
JSON request on stdin::

    {"mode": "call" | "check", "function": "module:attr", "sys_path": [...], "paths": [...],
     "arguments": {...}, "limit": 65536}

and answers on the stdout it was given with one JSON header line, ``{"is_error": bool, "truncated": bool}``, then the
output as UTF-8, cut at ``limit + 1`` bytes (``"truncated": true`` when the output was longer),
so the runner never reads more than the cap. The tool's own writes to stdout go to stderr instead, so they can never be
taken for the answer. ``sys.path`` is the runner's, with the tool's ``paths`` first.

Whatever the function does ends as an answer: an exception, ``sys.exit()`` and
``KeyboardInterrupt`` are error answers naming them, ``None`` is the error "returned nothing".
Only a hard end of the process (``os._exit``, a crash, the runner's kill on a timeout) gives no
answer, and the executor says so. ``check`` only imports the function.
"""

import sys

if sys.path and sys.path[0] == "" and not getattr(sys.flags, "safe_path", False):
    del sys.path[0]  # ``-c`` puts the current directory first: no stray json.py may shadow ours

import json
import os


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _load(target: str) -> object:
    import importlib

    module_name, _, attr = target.partition(":")
    obj: object = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def _dumps(value: object) -> str:
    try:
        import orjson

        return orjson.dumps(value, default=str).decode()
    except ImportError:
        return json.dumps(value, default=str, ensure_ascii=False, separators=(",", ":"))


def _call(request: dict) -> tuple[bool, str]:
    """(is_error, text) for the request; never raises."""
    target = request["function"]
    try:
        function = _load(target)
    except (ImportError, AttributeError) as exc:
        return True, f"cannot load {target}: {exc}"
    except BaseException as exc:  # the module's own code failed, or called sys.exit, at import
        return True, f"cannot load {target}: importing it raised {_describe(exc)}"
    if not callable(function):
        return True, f"{target} is not callable"
    if request["mode"] == "check":
        return False, ""
    try:
        value = function(**request["arguments"])
        if hasattr(value, "__await__"):
            import asyncio

            async def awaited() -> object:
                return await value

            value = asyncio.run(awaited())
    except TypeError as exc:
        return True, f"the tool rejected its arguments: {exc}"
    except SystemExit as exc:
        return True, f"the tool called sys.exit({exc.code!r})"
    except BaseException as exc:  # KeyboardInterrupt too: it is the tool's, not the runner's
        return True, f"the tool raised {_describe(exc)}"
    if value is None:
        return True, "the tool returned nothing (None)"
    if isinstance(value, str):
        return False, value
    try:
        return False, _dumps(value)
    except (TypeError, ValueError) as exc:
        return True, f"the tool returned something that is not JSON: {exc}"


def main() -> None:
    request = json.loads(sys.stdin.buffer.read())
    answer = os.dup(1)
    os.dup2(2, 1)  # the tool's prints go with its stderr, never into the answer
    sys.path[:] = [*request["paths"], *request["sys_path"]]
    is_error, text = _call(request)
    limit = request["limit"] + 1
    body = text[:limit].encode("utf-8", "replace")
    header = {"is_error": is_error, "truncated": len(body) >= limit}
    data = json.dumps(header).encode() + b"\n" + body[:limit]
    view = memoryview(data)
    while view:
        view = view[os.write(answer, view) :]
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(0)  # no atexit handlers or threads of the tool's may hold the answer back


if __name__ == "__main__":
    main()
