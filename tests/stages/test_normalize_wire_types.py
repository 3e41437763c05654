"""Valid JSON with a wrong type anywhere in a provider's payload: ``normalize`` refuses the line
(a :class:`DataError` naming it), or writes canonical events every later stage reads; never an
event the next stage refuses, never another exception.

The sweep (:func:`streamkit.testing.wrong_types`, which plugins' tests use too) takes every
recording, and in turn every position of every raw event's ``data`` (every object member and
array entry, nested ones too), and puts there a value of another type. Each mutated stream goes
through the generator (the library's way, and ``convert``'s) and through the command's loop (with
its deltas written as bytes). The project's own recordings are swept always; the shared ones when
they are present.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from streamkit.errors import DataError
from streamkit.stages.normalize import normalize
from streamkit.testing import wrong_types

from ..conftest import fixture_files, say_dialect

DATA = Path(__file__).parents[1] / "data"
OWN = sorted(p for p in DATA.glob("*/*") if not p.name.endswith(".expected.ndjson"))
#: how many raw events the sweep of one shared recording normalizes at most, about (sweeping every
#: position of the longest takes minutes): a long recording gets fewer positions, 8 at least
SHARED_BUDGET = 40_000
SHARED_DIALECTS = ("openai-chat", "mistral", "openai-responses", "openai-assistants", "anthropic", "gemini",
                   "ollama", "bedrock", "cohere")  # fmt: skip


@pytest.mark.parametrize("path", OWN, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_wrong_type_anywhere_in_our_recordings(path: Path) -> None:
    wrong = wrong_types(path)
    assert not wrong, f"{len(wrong)} mutations of {path.name}:\n" + "\n".join(wrong[:20])


@pytest.mark.parametrize("path", fixture_files(*SHARED_DIALECTS))
def test_a_wrong_type_anywhere_in_the_shared_recordings(path: Path) -> None:
    wrong = wrong_types(path, budget=SHARED_BUDGET)
    assert not wrong, f"{len(wrong)} mutations of {path.name}:\n" + "\n".join(wrong[:20])


def test_the_sweep_finds_a_normalizer_that_passes_a_wrong_type_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sweep itself: a chat normalizer that passes ``delta.content`` on unchecked is caught."""
    from streamkit.dialects.openai_chat import normalize as chat

    real = chat.ChatNormalizer.feed

    def careless(self: Any, data: Any, event: Any = None) -> Any:
        out = real(self, data, event)
        if isinstance(data, dict) and isinstance(out, list):
            for choice in data.get("choices") or ():
                content = choice.get("delta", {}).get("content") if isinstance(choice, dict) else None
                if isinstance(content, list):
                    out.append({"type": "text-delta", "id": "text-0", "delta": content})
        return out

    monkeypatch.setattr(chat.ChatNormalizer, "feed", careless)
    wrong = wrong_types(DATA / "openai-chat" / "content-parts.sse")
    assert any("wrote a bad text-delta event: 'delta' must be a string" in w for w in wrong)


# --- what normalize checks itself, whatever the dialect -------------------------------------------


def _careless_registry(made: list[dict[str, Any]], at_close: list[dict[str, Any]], claims: bool = False,
                       bad_at: int = 0, bad: list[dict[str, Any]] | None = None) -> Any:  # fmt: skip
    """A registry with a plugin dialect ``careless`` whose normalizer makes ``made`` of every
    line (``bad`` of line ``bad_at``) and ``at_close`` at the end, unchecked (``claims``: it says
    it checks the types of what it passes on, ``Normalizer.checks_types``)."""
    from streamkit.dialects.base import Normalizer

    class Careless(Normalizer):
        checks_types = claims

        def __init__(self) -> None:
            self.lines = 0

        def feed(self, data: Any, event: str | None = None) -> list[dict[str, Any]]:
            self.lines += 1
            return [dict(ev) for ev in (bad if bad is not None and self.lines == bad_at else made)]

        def close(self) -> list[dict[str, Any]]:
            return [dict(ev) for ev in at_close]

    return say_dialect("careless", Careless, "passes values on unchecked")


GOOD = [{"type": "start", "id": "r", "model": "m", "dialect": "careless"}]
BAD_FINISH = [{"type": "finish", "finish_reason": "stop", "usage": {"input_tokens": ["x"]}}]


def test_a_plugin_s_bad_event_at_the_end_is_bad_input_on_the_last_line() -> None:
    registry = _careless_registry([], BAD_FINISH)
    lines = [{"say": "a"}, {"say": "b"}]
    with pytest.raises(DataError) as caught:
        list(normalize(iter(lines), registry=registry, line_no=lambda: 2))
    assert caught.value.line == 2
    assert "careless: a value of the wrong type makes a bad finish event" in caught.value.message
    assert "'usage.input_tokens' must be a number, not a list" in caught.value.message
    passed = list(normalize(iter(lines), registry=registry, on_error="pass"))
    assert passed[-1]["type"] == "error" and passed[-1]["code"] == "bad-input"
    assert [e for e in passed if e["type"] == "finish"] == []


def test_a_plugin_s_bad_event_off_the_hot_path_is_bad_input_on_its_line() -> None:
    """The first line takes the long way (its dialect is detected): the event it makes is checked."""
    registry = _careless_registry([{"type": "text-delta", "id": "t", "delta": 7}], [])
    with pytest.raises(DataError) as caught:
        list(normalize(iter([{"say": "a"}]), registry=registry, line_no=lambda: 1))
    assert caught.value.line == 1
    assert "makes a bad text-delta event: 'delta' must be a string, not an integer" in caught.value.message


def test_the_command_says_which_line_and_writes_what_came_before(tmp_path: Path) -> None:
    """A recording whose text block opens with an object for its text: the command stops there,
    with exit 65 and one line, after the events of the lines before it; convert alike."""
    from ..conftest import run_cli

    lines = [
        {"type": "message_start", "message": {"id": "m1", "type": "message", "role": "assistant", "model": "c",
                                              "content": [], "usage": {"input_tokens": 1, "output_tokens": 0}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": {"a": 1}}},
    ]  # fmt: skip
    wire = b"".join(b"event: %s\ndata: %s\n\n" % (e["type"].encode(), orjson.dumps(e)) for e in lines)
    path = tmp_path / "bad.sse"
    path.write_bytes(wire)
    raws = run_cli("fetch", "--replay", str(path))
    assert raws.returncode == 0
    done = run_cli("normalize", input=raws.stdout)
    assert done.returncode == 65
    assert [orjson.loads(line)["type"] for line in done.stdout.splitlines()] == ["start"]
    assert done.stderr.decode().strip().splitlines() == [
        "streamkit normalize: line 2: anthropic: content_block.text is a dict, expected a string"
    ]
    converted = run_cli("convert", "--to", "openai-chat", str(path))
    assert converted.returncode == 65
    assert b"line 2: anthropic: content_block.text is a dict" in converted.stderr
    assert b"Traceback" not in converted.stderr and b"internal error" not in converted.stderr


OK = [{"type": "text-delta", "id": "t", "delta": "ok"}]
NOT_TEXT = [{"type": "text-delta", "id": "t", "delta": {"text": "no"}}]
LINES = [
    orjson.dumps({"type": "raw", "dialect": "careless", "event": None, "data": {"say": say}}) + b"\n"
    for say in "abcd"
]


def _loop(registry: Any) -> tuple[list[Any], DataError | None]:
    """The command's loop (``write_normalized``) over ``LINES``: the deltas it wrote, and its error."""
    import io

    from streamkit.ndjson import EventWriter, read_events
    from streamkit.stages.normalize import write_normalized

    reader = read_events(io.BytesIO(b"".join(LINES)), check=True, unchecked="raw")
    out = io.BytesIO()
    error = None
    try:
        write_normalized(reader, EventWriter(out, reader.pending), lambda ev: None, registry=registry,
                         dialect="careless")  # fmt: skip
    except DataError as exc:
        error = exc
    return [orjson.loads(line)["delta"] for line in out.getvalue().splitlines()], error


def _generator(registry: Any) -> tuple[list[Any], DataError | None]:
    """The same through the stage's generator (the library's way, and ``convert``'s)."""
    seen: list[Any] = []
    try:
        for event in normalize((orjson.loads(line) for line in LINES), registry=registry, dialect="careless",
                               line_no=lambda: len(seen) + 1):  # fmt: skip
            seen.append(event["delta"])
    except DataError as exc:
        return seen, exc
    return seen, None


@pytest.mark.parametrize("way", [_generator, _loop], ids=["generator", "command"])
def test_a_plugin_s_bad_event_on_the_hot_path_is_bad_input_on_its_line(way: Any) -> None:
    """Lines after the first take the hot path: a plugin normalizer that does not say it checks
    types has its events checked there too; the good lines before the bad one are written."""
    written, error = way(_careless_registry(OK, [], bad_at=3, bad=NOT_TEXT))
    assert written == ["ok", "ok"]
    assert error is not None and error.line == 3
    assert (
        "careless: a value of the wrong type makes a bad text-delta event: 'delta' must be a string"
        in str(error.message)
    )


@pytest.mark.parametrize("way", [_generator, _loop], ids=["generator", "command"])
def test_a_normalizer_that_says_it_checks_types_is_taken_at_its_word_on_the_hot_path(way: Any) -> None:
    """``checks_types`` (the built-ins'): the events of its hot path are not checked again (the
    sweep, :func:`streamkit.testing.wrong_types`, holds it to its word); its first line, off the
    hot path, is checked all the same."""
    written, error = way(_careless_registry(OK, [], claims=True, bad_at=3, bad=NOT_TEXT))
    assert error is None and written == ["ok", "ok", {"text": "no"}, "ok"]
    written, error = way(_careless_registry(OK, [], claims=True, bad_at=1, bad=NOT_TEXT))
    assert written == [] and error is not None and error.line == 1


def test_every_first_party_normalizer_says_it_checks_types() -> None:
    """The built-in dialects and the first-party plugins are the ones the sweeps above hold to
    ``checks_types`` (a normalizer that did not say so would be checked, and slower, for nothing)."""
    from streamkit.plugins import default_registry

    ours = {
        name: dialect
        for name, dialect in default_registry().dialects().items()
        if type(dialect).__module__.split(".")[0] in ("streamkit", "streamkit_bedrock", "streamkit_cohere")
    }
    assert {"openai-chat", "anthropic", "gemini", "ollama", "openai-responses", "openai-assistants"} <= set(
        ours
    )
    assert [name for name, dialect in ours.items() if not dialect.normalizer().checks_types] == []
