"""The normalizer's hot paths (ResponsesNormalizer.feed: deltas of the open text or reasoning block,
fragments of a call's arguments) give, event by event, what the general path gives: the same
events, or the same error. Checked on every recorded case, and on the cases with events mutated
(deltas of the wrong type, missing or empty, other item ids, other indices, fragments after the
call's end)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from streamkit.dialects.openai_responses.normalize import ResponsesNormalizer
from streamkit.errors import DataError
from streamkit.stages.fetch import replay
from tests.conftest import DATA

CASES = sorted((DATA / "openai-responses").glob("*.sse"))


class _General(ResponsesNormalizer):
    """The same normalizer with no hot path: every event takes the general one."""

    def feed(self, data: Any, event: str | None = None) -> list[dict[str, Any]] | None:
        self.hot_block = self.hot_call = None
        return super().feed(data, event)


def _run(normalizer: ResponsesNormalizer, events: list[tuple[Any, str | None]]) -> list[Any]:
    outs: list[Any] = []
    for data, event in events:
        try:
            outs.append(normalizer.feed(data, event))
        except DataError as exc:
            outs.append(("error", exc.message))
        except (KeyError, TypeError, AttributeError, ValueError, IndexError) as exc:  # malformed events
            outs.append((type(exc).__name__, str(exc)))
    outs.append(normalizer.close())
    return outs


def _same(events: list[tuple[Any, str | None]]) -> None:
    assert _run(ResponsesNormalizer(), events) == _run(_General(), events)


def _payloads(path: Any) -> list[tuple[Any, str | None]]:
    with open(path, "rb") as source:
        return [(raw["data"], raw.get("event")) for raw in replay(source) if raw.get("type") == "raw"]


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_every_case_reads_the_same_on_the_hot_paths(case: Any) -> None:
    _same(_payloads(case))


_ODD = [None, 0, 1, 2, 300, True, False, 1.5, "", "x", [], [{"token": "a"}], {}, {"a": 1}]


def _mutate(rnd: random.Random, data: Any) -> Any:
    if not isinstance(data, dict):
        return data
    data = dict(data)
    key = rnd.choice(["delta", "delta", "item_id", "content_index", "summary_index", "logprobs", "type"])
    roll = rnd.random()
    if roll < 0.25:
        data.pop(key, None)
    elif roll < 0.5 and isinstance(data.get(key), str):
        data[key] += "z"
    elif roll < 0.55:
        return rnd.choice(_ODD)
    else:
        data[key] = rnd.choice(_ODD)
    return data


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_mutated_cases_read_the_same_on_the_hot_paths(case: Any) -> None:
    events = _payloads(case)
    rnd = random.Random(case.stem)
    for _ in range(20):
        mutated = [(_mutate(rnd, d), e) if rnd.random() < 0.1 else (d, e) for d, e in events]
        if rnd.random() < 0.3:  # a stream cut, or one event repeated (a fragment after the call's end)
            at = rnd.randrange(len(mutated))
            mutated = mutated[:at] if rnd.random() < 0.5 else [*mutated, mutated[at]]
        _same(mutated)


def test_fragments_of_a_call_take_the_hot_path_after_the_first() -> None:
    item = {"id": "fc_1", "type": "function_call", "call_id": "call_1", "name": "f", "arguments": ""}
    added = {"type": "response.output_item.added", "output_index": 0, "item": item}

    def frag(delta: Any) -> dict:
        return {"type": "response.function_call_arguments.delta", "item_id": "fc_1", "output_index": 0,
                "delta": delta}  # fmt: skip

    n = ResponsesNormalizer()
    n.feed({"type": "response.created", "response": {"id": "r", "model": "m"}})
    n.feed(added)
    assert n.feed(frag('{"a"')) == [{"type": "tool-input-delta", "id": "call_1", "delta": '{"a"'}]
    assert n.hot_call is not None
    assert n.feed(frag(":1}")) == [{"type": "tool-input-delta", "id": "call_1", "delta": ":1}"}]
    assert n.feed(frag("")) == []
    with pytest.raises(DataError, match="'delta' is a int, expected a string"):
        n.feed(frag(5))
    done = {"type": "response.function_call_arguments.done", "item_id": "fc_1", "output_index": 0,
            "arguments": '{"a":1}'}  # fmt: skip
    assert [e["type"] for e in n.feed(done) or []] == ["tool-input-end", "tool-call"]
    assert n.feed(frag("x")) == []  # after the call's end: nothing


_OPENED = [
    {"type": "response.created", "response": {"id": "r", "model": "m"}},
    {"type": "response.output_item.added", "output_index": 0, "item": {"id": "rs", "type": "reasoning"}},
    {"type": "response.reasoning_summary_text.delta", "item_id": "rs", "output_index": 0, "summary_index": 0,
     "delta": "a"},
    {"type": "response.output_item.added", "output_index": 1, "item": {"id": "m", "type": "message"}},
    {"type": "response.output_text.delta", "item_id": "m", "output_index": 1, "content_index": 0, "delta": "a"},
]  # fmt: skip
_TEXT = _OPENED[-1]
_SUMMARY = _OPENED[2]


@pytest.mark.parametrize(
    "change",
    [
        {"content_index": False}, {"content_index": True}, {"content_index": 0.0}, {"content_index": "0"},
        {"content_index": 1}, {"content_index": None}, {"item_id": "m2"}, {"item_id": None}, {"item_id": 5},
        {"logprobs": {}}, {"logprobs": ""}, {"logprobs": 0}, {"logprobs": None}, {"logprobs": []},
        {"logprobs": [{"token": "b"}]}, {"delta": None}, {"delta": 5}, {"delta": ""}, {"type": None},
        {"output_index": "1"}, {"output_index": 7},
    ],
)  # fmt: skip
def test_a_changed_text_delta_reads_as_the_general_path_reads_it(change: dict) -> None:
    _same([(e, e["type"]) for e in [*_OPENED, {**_TEXT, **change}, _TEXT]])


@pytest.mark.parametrize(
    "change",
    [{"summary_index": False}, {"summary_index": 1}, {"item_id": "m"}, {"delta": None}, {"delta": ""}],
)
def test_a_changed_reasoning_delta_reads_as_the_general_path_reads_it(change: dict) -> None:
    events = [*_OPENED[:3], {**_SUMMARY, **change}, _SUMMARY]
    _same([(e, e["type"]) for e in events])


@pytest.mark.parametrize("missing", ["type", "item_id", "content_index", "delta"])
def test_a_text_delta_missing_a_field_reads_as_the_general_path_reads_it(missing: str) -> None:
    changed = {k: v for k, v in _TEXT.items() if k != missing}
    _same([(e, "response.output_text.delta") for e in [*_OPENED, changed, _TEXT]])


@pytest.mark.parametrize("data", ["[DONE]", " [DONE]\n", [], ["type"], 5, None, "type"])
def test_data_that_is_not_an_object_reads_as_the_general_path_reads_it(data: Any) -> None:
    _same([*[(e, e["type"]) for e in _OPENED], (data, "response.output_text.delta"), (_TEXT, None)])
