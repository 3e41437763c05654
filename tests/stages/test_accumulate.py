"""accumulate: whole texts and arguments, one message per response, linear, idempotent."""

from __future__ import annotations

import io
import itertools
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamkit.canonical import CANONICAL_TYPES
from streamkit.cli.outcome import Outcome
from streamkit.errors import DataError
from streamkit.ndjson import EventWriter, read_events, write_events
from streamkit.stages.accumulate import accumulate, write_accumulated
from streamkit.stages.fetch import replay
from streamkit.stages.normalize import normalize

from ..conftest import ndjson, run_cli
from ..test_ndjson import Trickle


def stream(text_parts: list[str], arg_parts: list[str]) -> list[dict]:
    events = [{"type": "start", "id": "r1", "model": "m"}, {"type": "text-start", "id": "t0"}]
    events += [{"type": "text-delta", "id": "t0", "delta": p} for p in text_parts]
    events += [
        {"type": "text-end", "id": "t0"},
        {"type": "tool-input-start", "id": "call_1", "tool_name": "f"},
    ]
    events += [{"type": "tool-input-delta", "id": "call_1", "delta": p} for p in arg_parts]
    events += [
        {"type": "tool-input-end", "id": "call_1"},
        {"type": "tool-call", "tool_call_id": "call_1", "tool_name": "f"},
    ]
    events += [
        {"type": "finish", "finish_reason": "tool-calls", "usage": {"input_tokens": 1, "output_tokens": 2}}
    ]
    return events


def splits(text: str) -> st.SearchStrategy[list[str]]:
    return st.lists(st.integers(min_value=0, max_value=len(text)), max_size=10).map(
        lambda cuts: [text[a:b] for a, b in zip([0, *sorted(cuts)], [*sorted(cuts), len(text)])]
    )


@given(st.text(max_size=50).flatmap(lambda t: st.tuples(st.just(t), splits(t))),
       st.dictionaries(st.text(max_size=5), st.integers(min_value=-(2**63), max_value=2**63 - 1), max_size=3))  # fmt: skip
def test_any_split_gives_the_whole(text_split: tuple[str, list[str]], args: dict) -> None:
    import orjson

    text, parts = text_split
    arguments = orjson.dumps(args).decode()
    cut = len(arguments) // 2
    out = list(accumulate(stream(parts, [arguments[:cut], arguments[cut:]])))
    (end,) = [e for e in out if e["type"] == "text-end"]
    (call,) = [e for e in out if e["type"] == "tool-call"]
    (message,) = [e for e in out if e["type"] == "message"]
    assert end["text"] == text
    assert call["arguments"] == arguments and call["input"] == args
    assert message["content"][0] == {"type": "text", "text": text}
    assert message["content"][1]["input"] == args
    assert message["finish_reason"] == "tool-calls" and message["usage"]["output_tokens"] == 2


def test_final_writes_only_messages_and_errors() -> None:
    events = stream(["a"], ["{}"])
    events.insert(3, {"type": "error", "message": "boom"})
    assert [e["type"] for e in accumulate(events, final=True)] == ["error", "message"]


def test_a_cut_off_response_still_gets_its_message() -> None:
    events = [{"type": "start", "id": "r"}, {"type": "text-start", "id": "t"}, {"type": "text-delta", "id": "t", "delta": "half"},
              {"type": "error", "message": "connection dropped"}]  # fmt: skip
    (message,) = [e for e in accumulate(events) if e["type"] == "message"]
    assert message["content"] == [{"type": "text", "text": "half"}] and message["finish_reason"] == "error"


def test_deltas_without_a_start_are_not_lost() -> None:
    events = [{"type": "text-delta", "id": "t", "delta": "a"}, {"type": "reasoning-delta", "id": "r", "delta": "b"},
              {"type": "tool-input-delta", "id": "c", "delta": "{}"}, {"type": "tool-call", "tool_call_id": "c", "tool_name": "f"}]  # fmt: skip
    (message,) = [e for e in accumulate(events) if e["type"] == "message"]
    assert [(p["type"], p.get("text") or p.get("arguments")) for p in message["content"]] == [
        ("text", "a"),
        ("reasoning", "b"),
        ("tool-call", "{}"),
    ]


def test_accumulating_twice_changes_nothing() -> None:
    once = list(accumulate(stream(["x", "y"], ["{}"])))
    assert list(accumulate(once)) == once


def test_client_tool_results_after_the_message_are_not_part_of_it() -> None:
    events = [
        *stream(["a"], ["{}"]),
        {"type": "tool-result", "tool_call_id": "call_1", "tool_name": "f", "output": "ok"},
    ]
    out = list(accumulate(events))
    assert out[-1]["type"] == "tool-result"
    (message,) = [e for e in out if e["type"] == "message"]
    assert [p["type"] for p in message["content"]] == ["text", "tool-call"]


def test_unknown_events_pass_through() -> None:
    odd = {"type": "x-custom", "n": 1}
    assert odd in list(accumulate([odd]))


def test_400k_fragments() -> None:
    """400k argument fragments fold correctly (``make bench`` measures that it takes well under a second)."""
    events = [{"type": "start", "id": "r"}]
    for c in range(4):
        events.append({"type": "tool-input-start", "id": f"c{c}", "tool_name": "f"})
        events.append({"type": "tool-input-delta", "id": f"c{c}", "delta": '{"a":"'})
        events += [{"type": "tool-input-delta", "id": f"c{c}", "delta": "xy"}] * 99_998
        events.append({"type": "tool-input-delta", "id": f"c{c}", "delta": '"}'})
        events.append({"type": "tool-call", "tool_call_id": f"c{c}", "tool_name": "f"})
    events.append({"type": "finish", "finish_reason": "tool-calls"})
    (message,) = list(accumulate(events, final=True))
    assert [len(p["input"]["a"]) for p in message["content"]] == [199_996] * 4


# --- long blocks: fragments are folded as they come ---------------------------------------------


def test_a_block_of_many_fragments_is_whole_and_in_order() -> None:
    """Past several folds (FOLD fragments each), in a text block, a reasoning block and a tool
    call's arguments at once, interleaved: each is its own fragments joined in order."""
    from streamkit.stages.accumulate import FOLD

    n = FOLD * 3 + 17
    events: list[dict] = [{"type": "start", "id": "r1", "model": "m"}, {"type": "text-start", "id": "t"},
                          {"type": "reasoning-start", "id": "r"}, {"type": "tool-input-start", "id": "c", "tool_name": "f"}]  # fmt: skip
    for i in range(n):
        events.append({"type": "text-delta", "id": "t", "delta": f"<{i}>"})
        events.append({"type": "reasoning-delta", "id": "r", "delta": f"[{i}]"})
        events.append({"type": "tool-input-delta", "id": "c", "delta": f"{i},"})
    events += [{"type": "text-end", "id": "t"}, {"type": "reasoning-end", "id": "r"},
               {"type": "tool-call", "tool_call_id": "c", "tool_name": "f"}, {"type": "finish", "finish_reason": "stop"}]  # fmt: skip
    (message,) = [e for e in accumulate(events) if e["type"] == "message"]
    text, reasoning, call = message["content"]
    assert text["text"] == "".join(f"<{i}>" for i in range(n))
    assert reasoning["text"] == "".join(f"[{i}]" for i in range(n))
    assert call["arguments"] == "".join(f"{i}," for i in range(n))


def test_peak_memory_of_accumulate_stays_near_the_message_size() -> None:
    """8 MB of text in 1-9 character deltas (1.6 million events) through the CLI: its peak RSS
    (VmHWM, read once the message is out) grows by at most 3x the text (plus 4 MiB of slack) over an
    idle accumulate: the folded pieces and the joined text, then the text and the line orjson grows
    for it. Unfolded, each fragment kept ~60 bytes: 16x the text."""
    import subprocess
    import threading
    from pathlib import Path

    from tests.conftest import STREAMKIT

    def peak_of(lines: list[bytes]) -> tuple[int, bytes]:
        with subprocess.Popen([str(STREAMKIT), "accumulate", "--final"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:  # fmt: skip
            assert proc.stdin is not None and proc.stdout is not None

            def feed() -> None:
                assert proc.stdin is not None
                proc.stdin.writelines(lines)
                proc.stdin.flush()

            writer = threading.Thread(target=feed)
            writer.start()
            out = proc.stdout.readline()  # the message: the whole stream has been read
            status = Path(f"/proc/{proc.pid}/status").read_text()
            writer.join()
            proc.stdin.close()
            proc.wait(timeout=60)
        hwm = int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1])
        return hwm * 1024, out

    head = [b'{"type":"start","id":"r","model":"m"}\n', b'{"type":"text-start","id":"t"}\n']
    tail = [b'{"type":"text-end","id":"t"}\n', b'{"type":"finish","finish_reason":"stop"}\n']
    idle, _ = peak_of([*head, *tail])
    words = [b"abcdefghi"[: 1 + i % 9] for i in range(9)]
    deltas, size = [], 0
    while size < 8 * 2**20:
        word = words[len(deltas) % 9]
        deltas.append(b'{"type":"text-delta","id":"t","delta":"' + word + b'"}\n')
        size += len(word)
    peak, out = peak_of([*head, *deltas, *tail])
    assert len(orjson.loads(out)["content"][0]["text"]) == size
    assert peak - idle <= 3 * size + 4 * 2**20, (
        f"peak {peak / 2**20:.0f} MiB, idle {idle / 2**20:.0f} MiB, text {size / 2**20:.0f} MiB"
    )


# --- the command's loop (write_accumulated) against the generator -------------------------------

DATA = Path(__file__).parents[1] / "data"
RECORDINGS = sorted(p for p in DATA.glob("*/*") if not p.name.endswith(".expected.ndjson"))


def _canonical_lines(path: Path) -> list[bytes]:
    with open(path, "rb") as source:
        events = normalize(replay(source, dialect=path.parent.name), dialect=path.parent.name)
        return [orjson.dumps(e) + b"\n" for e in events]


def _both(data: bytes, pieces: list[int], capsys: pytest.CaptureFixture[str], *, final: bool = False,
          on_error: str = "fail") -> list[Any]:  # fmt: skip
    """What the generator and what the command's loop make of the same bytes read in the same
    pieces: (bytes written, the error the stream ends in, the exception, stderr). Under the
    generator the outcome sees every event, written or not: with ``final`` too, a retry's
    ``start`` supersedes the error before it."""
    results = []
    for loop in (False, True):
        cuts = sorted({0, len(data), *(p % (len(data) + 1) for p in pieces)})
        reader = read_events(Trickle([data[a:b] for a, b in itertools.pairwise(cuts)]), check=True,
                             on_error=on_error)  # type: ignore[arg-type]  # fmt: skip
        out = io.BytesIO()
        writer = EventWriter(out, reader.pending, CANONICAL_TYPES)
        outcome = Outcome(())
        raised = None
        try:
            if loop:
                write_accumulated(reader, writer, outcome.see, final=final)
            else:
                outcome = Outcome(accumulate(reader))
                write_events(
                    (e for e in outcome if not final or e.get("type") in ("message", "error")), writer
                )
        except DataError as exc:
            raised = str(exc)
        results.append((out.getvalue(), outcome.error, raised, capsys.readouterr().err))
    return results


def _variants(lines: list[bytes]) -> dict[str, tuple[list[bytes], dict[str, Any]]]:
    middle = len(lines) // 2
    timed = [line[:-2] + b',"t":%d.5}\n' % i for i, line in enumerate(lines)]  # as a live fetch writes
    chosen = [line[:-2] + b',"choice":1}\n' for line in lines]  # every event of a second choice
    odd = [
        b"not json\n",
        b"\n",
        b"[1]\n",
        b'{ "type" : "x-unknown" , "n" : 123456789012345678901234567890 }\n',  # its own bytes
        b'{"type":"text-delta","id":"t","delta":5}\n',  # a wrong type
        b'{"type":"text-delta","id":7,"delta":"x"}\n',
        b'{"type":["text-delta"],"id":"t","delta":"x"}\n',  # (an unhashable type)
        b'{"type":"text-delta","id":"late","delta":"no start"}\n',
        b'{"type":"text-delta","id":"t","delta":"x","delta":"repeated"}\n',
        b'{"type":"tool-call","tool_call_id":"c9","tool_name":"f","arguments":"{"}\n',
        b'{"type":"error","message":"bad","code":"bad-input"}\n',
        b'{"type":"error","message":"overloaded"}\n',
    ]
    return {
        "plain": (lines, {}),
        "final": (lines, {"final": True}),
        "timed": (timed, {}),
        "choice": (lines + chosen, {}),
        "twice": (lines + lines, {"final": True}),
        "odd-pass": (lines[:middle] + odd + lines[middle:], {"on_error": "pass"}),
        "odd-skip": (lines[:middle] + odd + lines[middle:], {"on_error": "skip", "final": True}),
        "odd-fail": (lines[:middle] + odd[3:] + lines[middle:], {}),
    }


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_command_loop_writes_what_the_generator_does(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, (stream, options) in _variants(_canonical_lines(path)).items():
        data = b"".join(stream)
        for pieces in ([], [len(data) // 3, len(data) // 3 + 1, 2 * len(data) // 3]):
            generator, loop = _both(data, pieces, capsys, **options)
            assert loop == generator, (name, pieces)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    picks=st.lists(st.integers(0, 1_000_000), min_size=1, max_size=40),
    pieces=st.lists(st.integers(0, 1_000_000), max_size=6),
    on_error=st.sampled_from(["fail", "skip", "pass"]),
    final=st.booleans(),
)
def test_the_command_loop_and_the_generator_agree_on_any_mix_of_lines(
    picks: list[int], pieces: list[int], on_error: str, final: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    path = RECORDINGS[picks[0] % len(RECORDINGS)]
    pool = [*_canonical_lines(path), b"nope\n", b"[1]\n", b'{"type":"x","n":1}\n',
            b'{"type":"start","id":"r","model":"m"}\n', b'{"type":"error","message":"e"}\n',
            b'{"type":"text-delta","id":"t0","delta":"d","choice":2}\n', b'{"type":"finish","finish_reason":1}\n',
            b'{"type":{},"id":"t","delta":"x"}\n']  # fmt: skip
    data = b"".join(pool[p % len(pool)] for p in picks[1:])
    if data:
        generator, loop = _both(data, pieces, capsys, final=final, on_error=on_error)
        assert loop == generator


def test_a_retry_after_an_error_ends_final_accumulate_well() -> None:
    # the error a retried response met is superseded by the retry's start, with --final as without
    # (--final writes no start; the command once exited 1 there, as if the stream had failed)
    stream = b"".join(orjson.dumps(e) + b"\n" for e in [
        {"type": "start", "id": "r1", "model": "m"},
        {"type": "error", "message": "overloaded", "retryable": True},
        {"type": "start", "id": "r2", "model": "m"},
        {"type": "text-start", "id": "t0"},
        {"type": "text-delta", "id": "t0", "delta": "hel"},
        {"type": "text-delta", "id": "t0", "delta": "lo"},
        {"type": "text-end", "id": "t0"},
        {"type": "finish", "finish_reason": "stop"},
    ])  # fmt: skip
    for final in ([], ["--final"]):
        result = run_cli("accumulate", *final, input=stream)
        assert (result.returncode, result.stderr) == (0, b"")
        messages = [e for e in ndjson(result.stdout) if e["type"] == "message"]
        assert messages[-1]["content"][0] == {"type": "text", "text": "hello"}
    failed = run_cli("accumulate", "--final", input=stream + b'{"type":"error","message":"gone"}\n')
    assert failed.returncode == 1  # (quietly: its stdout is a pipe, whose reader says it)
