"""Scripted assistant turns for ``serve --script``: what the fake model says, request by request.

A script is a JSON list (or NDJSON, one turn per line) of assistant turns. A turn is the content
of a canonical message, or a shorthand for it::

    [
      {"tool_calls": [{"name": "get_weather", "input": {"city": "Paris"}},
                      {"name": "get_time", "input": {"tz": "CET"}}]},
      {"reasoning": "Both tools answered.", "text": "It is 18°C in Paris and 14:05."}
    ]

    {"content": [{"type": "text", "text": "Hello"}], "finish_reason": "stop"}   # the long form

A part's ``provider_metadata`` (in either form, e.g. a Gemini ``thought_signature`` on a tool call)
is kept on the event that ends it, so the dialect's encoder writes it where its wire carries it.
A tool the provider ran itself (its web search) is a ``tool-call`` part with ``"provider_executed":
true`` and a ``tool-result`` part (``tool_call_id``, ``tool_name``, ``output``) after it, as in a
canonical message; such a call does not make the turn finish ``tool-calls``::

    {"content": [
      {"type": "tool-call", "tool_call_id": "ws_1", "tool_name": "web_search", "provider_executed": true,
       "input": {"query": "tides in Brest"}},
      {"type": "tool-result", "tool_call_id": "ws_1", "tool_name": "web_search", "provider_executed": true,
       "output": {"sources": [{"type": "url", "url": "https://maree.info/"}]}},
      {"type": "text", "text": "High tide is at 14:05."}]}

Each request gets the next turn, expanded into canonical events whose text and arguments come in
small deltas (a few characters each), then encoded by the served dialect's encoder.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson

from ..canonical import check_event, fields_problem, parse_arguments
from ..errors import UsageError

_WORDS = re.compile(r"\S+\s*|\s+")


def load_script(path: str | Path) -> list[dict[str, Any]]:
    """Read a script file: a JSON list of turns, or NDJSON with one turn per line."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read script {path}: {exc.strerror}") from None
    try:
        turns = orjson.loads(data)
    except orjson.JSONDecodeError:
        try:
            turns = [orjson.loads(line) for line in data.splitlines() if line.strip()]
        except orjson.JSONDecodeError as exc:
            raise UsageError(f"{path}: not JSON or NDJSON: {exc}") from None
    if isinstance(turns, dict):
        turns = turns.get("turns", [turns])
    if not isinstance(turns, list) or not turns:
        raise UsageError(f"{path}: expected a non-empty list of assistant turns")
    return [_turn(t, f"{path}: turn {i + 1}") for i, t in enumerate(turns)]


def _turn(raw: Any, where: str) -> dict[str, Any]:
    """A turn in its long form: ``{"content": [parts], "finish_reason", "usage"}``."""
    if not isinstance(raw, dict):
        raise UsageError(f"{where}: expected an object")
    if "content" in raw:
        content = raw["content"]
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        if not isinstance(content, list):
            raise UsageError(f"{where}: 'content' must be a list of parts")
    else:
        content = []
        if raw.get("reasoning"):
            content.append({"type": "reasoning", "text": str(raw["reasoning"])})
        if raw.get("text"):
            content.append({"type": "text", "text": str(raw["text"])})
        for j, call in enumerate(raw.get("tool_calls") or ()):
            if not isinstance(call, dict) or not call.get("name") or type(call["name"]) is not str:
                raise UsageError(f"{where}: tool_calls[{j}] needs a 'name', a string")
            content.append({"type": "tool-call", "tool_name": call["name"], "input": call.get("input", call.get("arguments", {})),
                            **({"tool_call_id": call["id"]} if call.get("id") else {}),
                            **({"provider_metadata": call["provider_metadata"]} if call.get("provider_metadata") else {})})  # fmt: skip
        if not content:
            raise UsageError(f"{where}: a turn needs text, reasoning, tool_calls or content")
    for j, part in enumerate(content):
        if not isinstance(part, dict) or part.get("type") not in _PART_TEXTS:
            raise UsageError(
                f"{where}: content[{j}] must be a text, reasoning, tool-call or tool-result part"
            )
        problem = fields_problem(_PART_TEXTS[part["type"]], part)
        if problem:
            raise UsageError(f"{where}: content[{j}]: {problem}")
    turn: dict[str, Any] = {"content": content}
    for key in ("finish_reason", "raw_finish_reason", "usage", "error"):
        if key in raw:
            turn[key] = raw[key]
    # what the turn becomes is checked as the stages check what they read (a finish reason that is
    # no string, a usage that is no object...): said now, not as a 500 to the request that gets it
    for event in turn_events(turn, response_id="r", model="m", call_prefix="call_"):
        problem = check_event(event)
        if problem:
            raise UsageError(f"{where}: {problem}")
    return turn


_TEXT = (str, type(None))
#: what turn_events reads of a part as text (the rest is checked in the events it makes)
_PART_TEXTS = {
    "text": (("text", _TEXT, False),),
    "reasoning": (("text", _TEXT, False),),
    "tool-call": (("tool_name", (str,), True), ("tool_call_id", _TEXT, False), ("arguments", _TEXT, False)),
    "tool-result": (("tool_call_id", (str,), True), ("tool_name", _TEXT, False)),
}


def _pieces(text: str, size: int) -> list[str]:
    """Small deltas: a word or two of text at a time."""
    out: list[str] = []
    current = ""
    for word in _WORDS.findall(text):
        current += word
        if len(current) >= size:
            out.append(current)
            current = ""
    if current:
        out.append(current)
    return out or [text]


def turn_events(turn: dict[str, Any], *, response_id: str, model: str, call_prefix: str,
                input_tokens: int = 0, delta_size: int = 6) -> list[dict[str, Any]]:  # fmt: skip
    """A turn as the canonical events of one streamed response."""
    events: list[dict[str, Any]] = [{"type": "start", "id": response_id, "model": model}]
    output_chars = 0
    calls = 0  # the client's calls (the turn then finishes tool-calls)
    made = 0  # the calls of the turn, the provider's included (the ids made up for them)
    blocks = 0
    for part in turn["content"]:
        kind = part["type"]
        if kind in ("text", "reasoning"):
            block = f"{kind}-{blocks}"
            blocks += 1
            events.append({"type": f"{kind}-start", "id": block})
            for piece in _pieces(part.get("text") or "", delta_size):
                events.append({"type": f"{kind}-delta", "id": block, "delta": piece})
            output_chars += len(part.get("text") or "")
            end: dict[str, Any] = {"type": f"{kind}-end", "id": block}
            if part.get("provider_metadata"):
                end["provider_metadata"] = part["provider_metadata"]
            events.append(end)
        elif kind == "tool-result":  # (what a tool the provider ran gave)
            result = {k: part[k] for k in ("tool_call_id", "tool_name", "output", "is_error", "provider_metadata")
                      if k in part}  # fmt: skip
            events.append({"type": "tool-result", **result, "provider_executed": True})
        else:
            executed = part.get("provider_executed") is True
            call_id = part.get("tool_call_id") or f"{call_prefix}{made}"
            made += 1
            calls += not executed
            arguments = part.get("arguments")
            if arguments is None:
                arguments = orjson.dumps(part.get("input") or {}).decode()
            start = {"type": "tool-input-start", "id": call_id, "tool_name": part["tool_name"]}
            events.append({**start, "provider_executed": True} if executed else start)
            for i in range(0, len(arguments), 8):
                events.append({"type": "tool-input-delta", "id": call_id, "delta": arguments[i : i + 8]})
            events.append({"type": "tool-input-end", "id": call_id})
            value, err = parse_arguments(arguments)
            call = {
                "type": "tool-call",
                "tool_call_id": call_id,
                "tool_name": part["tool_name"],
                "arguments": arguments,
                "input": value,
            }
            if err:
                call["input_error"] = err
            if executed:
                call["provider_executed"] = True
            if part.get("provider_metadata"):
                call["provider_metadata"] = part["provider_metadata"]  # e.g. a Gemini thought signature
            events.append(call)
            output_chars += len(arguments)
    if turn.get("error"):
        events.append({"type": "error", "message": str(turn["error"])})
    finish = turn.get("finish_reason") or (
        "error" if turn.get("error") else "tool-calls" if calls else "stop"
    )
    output_tokens = max(1, output_chars // 4)
    usage = turn.get("usage") or {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": input_tokens + output_tokens,
    }
    fin: dict[str, Any] = {"type": "finish", "finish_reason": finish, "usage": usage}
    if turn.get("raw_finish_reason"):
        fin["raw_finish_reason"] = turn["raw_finish_reason"]  # e.g. Anthropic's pause_turn
    events.append(fin)
    return events
