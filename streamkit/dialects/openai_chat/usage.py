"""Chat Completions usage in canonical terms: the rule for reasoning tokens, in one place.

``output_tokens`` always counts the reasoning tokens. OpenAI's ``completion_tokens`` already
includes ``completion_tokens_details.reasoning_tokens``; xAI's leaves them out (its
``total_tokens`` is prompt + completion + reasoning: ``completion_tokens: 1`` next to
``reasoning_tokens: 290``). Which one a server does is read from the numbers, not from its name
(the same server is reached under many base URLs and proxies):

* ``completion_tokens`` < ``reasoning_tokens``: it cannot hold them, so they are left out;
* else ``total_tokens`` == prompt + completion + reasoning (with reasoning > 0, not prompt +
  completion): they are counted apart, so left out;
* else (OpenAI, and a server that sends no total): they are in ``completion_tokens``.

When they are left out, ``output_tokens`` is completion + reasoning and ``total_tokens`` is at
least input + output (the reported total when it is already that).
"""

from __future__ import annotations

from typing import Any


def map_usage(usage: dict[str, Any]) -> dict[str, Any]:
    """Chat Completions usage → canonical usage (fields the server did not send are left out;
    ``output_tokens`` counts the reasoning tokens even where ``completion_tokens`` does not)."""
    out: dict[str, Any] = {}
    prompt = usage.get("prompt_tokens")
    if prompt is not None:
        out["input_tokens"] = prompt
    if usage.get("completion_tokens") is not None:
        out["output_tokens"] = usage["completion_tokens"]
    if usage.get("total_tokens") is not None:
        out["total_tokens"] = usage["total_tokens"]
    # the Assistants API spells it prompt_token_details: both are read (that dialect uses this too)
    details = usage.get("prompt_tokens_details") or usage.get("prompt_token_details")
    if isinstance(details, dict) and details.get("cached_tokens") is not None:
        out["cached_input_tokens"] = details["cached_tokens"]
    details = usage.get("completion_tokens_details")
    if isinstance(details, dict) and details.get("reasoning_tokens") is not None:
        reasoning = out["reasoning_tokens"] = details["reasoning_tokens"]
        completion = out.get("output_tokens")
        if reasoning_left_out(prompt, completion, reasoning, out.get("total_tokens")):
            out["output_tokens"] = completion + reasoning
            if type(prompt) is int:
                out["total_tokens"] = max(out.get("total_tokens") or 0, prompt + out["output_tokens"])
    return out


def reasoning_left_out(prompt: Any, completion: Any, reasoning: Any, total: Any) -> bool:
    """Whether ``completion_tokens`` leaves the reasoning tokens out (xAI counts them apart,
    OpenAI inside): when it is smaller than them, or when the total is prompt + completion +
    reasoning (and so not prompt + completion, which reasoning > 0 makes a different number)."""
    if type(completion) is not int or type(reasoning) is not int or reasoning <= 0:
        return False
    if completion < reasoning:
        return True
    return type(prompt) is int and type(total) is int and total == prompt + completion + reasoning
