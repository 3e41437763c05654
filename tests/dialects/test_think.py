"""<think>…</think> inside streamed text: split correctly however the tags are cut."""

from __future__ import annotations

import itertools

import orjson
from hypothesis import given
from hypothesis import strategies as st

from streamkit.dialects._think import ThinkSplitter

from ..conftest import events_of, messages, run_cli

TEXT = "<think>Let me think: 2+2.</think>The answer is 4. <think>again?</think>Yes, <thin and </think a tag-like tail"


def split(parts: list[str]) -> list[tuple[str, str]]:
    splitter = ThinkSplitter()
    out = [seg for part in parts for seg in splitter.feed(part)] + splitter.close()
    merged: list[tuple[str, str]] = []
    for kind, text in out:
        if merged and merged[-1][0] == kind:
            merged[-1] = (kind, merged[-1][1] + text)
        else:
            merged.append((kind, text))
    return merged


EXPECTED = [
    ("reasoning", "Let me think: 2+2."),
    ("text", "The answer is 4. "),
    ("reasoning", "again?"),
    ("text", "Yes, <thin and </think a tag-like tail"),
]


def test_whole() -> None:
    assert split([TEXT]) == EXPECTED


@given(st.lists(st.integers(min_value=0, max_value=len(TEXT)), max_size=12))
def test_any_cut(cuts: list[int]) -> None:
    bounds = [0, *sorted(cuts), len(TEXT)]
    assert split([TEXT[a:b] for a, b in itertools.pairwise(bounds)]) == EXPECTED


def test_character_by_character_and_only_the_possible_tag_is_held() -> None:
    assert split(list(TEXT)) == EXPECTED
    splitter = ThinkSplitter()
    assert splitter.feed("Hello <th") == [("text", "Hello ")]  # "<th" may become "<think>"
    assert splitter.feed("ere") == [("text", "<there")]


def chat_sse(deltas: list[str]) -> bytes:
    chunks = [
        {
            "id": "c",
            "object": "chat.completion.chunk",
            "model": "m",
            "choices": [{"index": 0, "delta": {"content": d}}],
        }
        for d in deltas
    ]
    chunks.append(
        {
            "id": "c",
            "object": "chat.completion.chunk",
            "model": "m",
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
        }
    )
    return b"".join(b"data: " + orjson.dumps(c) + b"\n\n" for c in chunks) + b"data: [DONE]\n\n"


def test_openai_chat_option() -> None:
    wire = chat_sse(["<thi", "nk>Plan", "ning.</th", "ink>\n\nDone", "."])
    (message,) = messages(events_of(wire, think_tags=True))
    assert [(p["type"], p["text"]) for p in message["content"]] == [
        ("reasoning", "Planning."),
        ("text", "\n\nDone."),
    ]
    (plain,) = messages(events_of(wire))
    assert plain["content"] == [{"type": "text", "text": "<think>Planning.</think>\n\nDone."}]  # opt-in only


def test_cli_flags() -> None:
    raw = run_cli("fetch", "--replay", "-", input=chat_sse(["<think>a</think>b"])).stdout
    events = [
        orjson.loads(line) for line in run_cli("normalize", "--think-tags", input=raw).stdout.splitlines()
    ]
    assert [e["type"] for e in events if e["type"].endswith("-delta")] == ["reasoning-delta", "text-delta"]
    result = run_cli("convert", "--think-tags", "--to", "json", input=chat_sse(["<think>a</think>b"]))
    assert [p["type"] for p in orjson.loads(result.stdout)["content"]] == ["reasoning", "text"]
