"""Anthropic usage -> canonical usage: input counting cached tokens (as in the other dialects),
``usage.iterations`` summed in. What each count means is told in :mod:`.normalize`'s docstring."""

from __future__ import annotations

from typing import Any

from ...errors import DataError

_USAGE_INPUTS = ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
_USAGE_COUNTS = (*_USAGE_INPUTS, "output_tokens")
# usage.iterations entries of the passes the top-level counts stand for (compaction passes are
# left out of them)
_ANSWER_PASSES = frozenset({"message", "fallback_message"})


def _count(usage: dict[str, Any], key: str) -> int | None:
    value = usage.get(key)
    if value is None:
        return None
    if type(value) is not int:
        raise DataError(f"usage.{key} is {value!r}, expected an integer")
    return value


def billed_usage(usage: dict[str, Any]) -> dict[str, Any]:
    """The usage with its ``iterations`` summed in: every sampling pass (compaction too) is billed."""
    entries = [e for e in usage["iterations"] if isinstance(e, dict)]
    top = not any(e.get("type") in _ANSWER_PASSES for e in entries)
    out = dict(usage)
    for key in _USAGE_COUNTS:
        counts = [_count(e, key) for e in entries]
        if top:
            counts.append(_count(usage, key))
        if any(n is not None for n in counts):
            out[key] = sum(n or 0 for n in counts)
    return out


def map_usage(usage: dict[str, Any]) -> dict[str, Any]:
    """Anthropic usage → canonical usage (input counting cached tokens, as in other dialects;
    ``iterations`` summed in)."""
    get = usage.get
    iterations = get("iterations")
    if iterations is not None and isinstance(iterations, list) and iterations:
        usage = billed_usage(usage)
        get = usage.get
    inp = get("input_tokens")
    read = get("cache_read_input_tokens")
    created = get("cache_creation_input_tokens")
    output = get("output_tokens")
    if type(inp) is int and type(read) is int and type(created) is int and type(output) is int:
        # the common shape: every count sent
        total = inp + read + created
        out: dict[str, Any] = {
            "input_tokens": total,
            "output_tokens": output,
            "total_tokens": total + output,
            "cached_input_tokens": read,
        }
        details = get("output_tokens_details")
        if details is not None and isinstance(details, dict) and details.get("thinking_tokens") is not None:
            out["reasoning_tokens"] = _count(details, "thinking_tokens")
        return out
    if read is None and created is None and type(inp) is int and type(output) is int:
        # no cache counts at all
        out = {"input_tokens": inp, "output_tokens": output, "total_tokens": inp + output}
        details = get("output_tokens_details")
        if details is not None and isinstance(details, dict) and details.get("thinking_tokens") is not None:
            out["reasoning_tokens"] = _count(details, "thinking_tokens")
        return out
    if not (
        (inp is None or type(inp) is int)
        and (read is None or type(read) is int)
        and (created is None or type(created) is int)
        and (output is None or type(output) is int)
    ):
        for key in _USAGE_COUNTS:  # the first count that is not an integer, in words
            _count(usage, key)
    out = {}
    if inp is not None or read is not None or created is not None:
        out["input_tokens"] = (inp or 0) + (read or 0) + (created or 0)
    if output is not None:
        out["output_tokens"] = output
        if "input_tokens" in out:
            out["total_tokens"] = out["input_tokens"] + output
    if read is not None:
        out["cached_input_tokens"] = read
    details = get("output_tokens_details")
    if isinstance(details, dict) and details.get("thinking_tokens") is not None:
        out["reasoning_tokens"] = _count(details, "thinking_tokens")
    return out
