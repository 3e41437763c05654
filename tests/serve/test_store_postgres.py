"""Two gateway processes sharing one real PostgreSQL (``--store postgresql://...``), each in front of
its own scripted upstream: a response started through one is retrieved, continued with
``previous_response_id``, resumed mid-stream (following the live events the other process writes,
woken by LISTEN/NOTIFY), cancelled and deleted through the other. The official openai client
talks to both over loopback; a throwaway PostgreSQL server runs in a temporary folder.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ndjson
from tests.serve.postgres import postgres_dsn
from tests.serve.test_gateway import gateway
from tests.serve.test_store import LONG, SLOW, _events, client, wait_for

openai = pytest.importorskip("openai")


@pytest.fixture(scope="module")
def dsn() -> Iterator[str]:
    with postgres_dsn() as found:
        yield found


def two(tmp_path: Path, dsn: str, script: list[Any], stack: ExitStack,
        upstream_options: tuple[str, ...] = ()) -> list[tuple[Any, Path]]:  # fmt: skip
    """Two gateways on one PostgreSQL, each with its own upstream: [(client, upstream log)] x 2."""
    out = []
    for name in ("a", "b"):
        folder = tmp_path / name
        folder.mkdir()
        url, log = stack.enter_context(
            gateway("openai-chat", folder, "--store", dsn, script=script, upstream_options=upstream_options)
        )
        out.append((stack.enter_context(client(url)), log))
    return out


def test_a_response_made_by_one_gateway_is_retrieved_and_continued_through_another(
    tmp_path: Path, dsn: str
) -> None:
    script = [{"text": "Paris is in France."}, {"text": "About 2 million."}]
    with ExitStack() as stack:
        (a, log_a), (b, log_b) = two(tmp_path, dsn, script, stack)
        first = a.responses.create(model="m", input="Where is Paris?")
        got = b.responses.retrieve(first.id)
        items = b.responses.input_items.list(first.id)
        second = b.responses.create(model="m", input="How many people?", previous_response_id=first.id)
        back = a.responses.retrieve(second.id)
    assert got.output_text == "Paris is in France." and got.status == "completed"
    assert items.data[0].content[0].text == "Where is Paris?"
    assert back.output_text == "Paris is in France." or back.output_text == "About 2 million."
    assert len(ndjson(log_a.read_bytes())) == 1
    (sent,) = ndjson(log_b.read_bytes())  # b's upstream got the whole conversation, rebuilt by b
    assert [m["content"] for m in sent["messages"]] == [
        "Where is Paris?",
        "Paris is in France.",
        "How many people?",
    ]


def test_a_stream_started_on_one_gateway_is_resumed_live_on_another(tmp_path: Path, dsn: str) -> None:
    with ExitStack() as stack:
        (a, _), (b, _) = two(tmp_path, dsn, [{"text": LONG}], stack, upstream_options=SLOW)
        stream = a.responses.create(model="m", input="Talk", background=True, stream=True)
        head = _events(stream, 8)
        stream.close()
        response_id = head[0].response.id
        running = b.responses.retrieve(response_id).status
        began = time.monotonic()
        resumed = _events(
            b.responses.retrieve(response_id, stream=True, starting_after=head[-1].sequence_number)
        )
        followed = time.monotonic() - began
        whole = _events(a.responses.retrieve(response_id, stream=True))
    assert running == "in_progress"  # still running on a while b followed it
    assert followed > 0.3  # b waited for events a was still writing (60 words, 20 ms each)
    sequence = [e.sequence_number for e in head + resumed]
    assert sequence == list(range(len(sequence)))
    assert [e.model_dump() for e in head + resumed] == [e.model_dump() for e in whole]
    assert resumed[-1].type == "response.completed" and resumed[-1].response.output_text == LONG


# Makes the store's write of a response's move from queued to in_progress take a second, as a
# busy database would: what a client is sent must not overtake what the store says.
SLOW_START = """
CREATE OR REPLACE FUNCTION streamkit_test_slow_start() RETURNS trigger AS $$
BEGIN
    IF OLD.status = 'queued' AND NEW.status = 'in_progress' THEN
        PERFORM pg_sleep(1);
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER streamkit_test_slow_start BEFORE UPDATE ON streamkit_responses
    FOR EACH ROW EXECUTE FUNCTION streamkit_test_slow_start();
"""


def test_a_background_response_is_in_progress_elsewhere_once_its_client_has_events(
    tmp_path: Path, dsn: str
) -> None:
    import psycopg

    with ExitStack() as stack:
        (a, _), (b, _) = two(tmp_path, dsn, [{"text": LONG}], stack, upstream_options=SLOW)
        with psycopg.connect(dsn, autocommit=True) as db:
            db.execute(SLOW_START)
            try:
                stream = a.responses.create(model="m", input="Talk", background=True, stream=True)
                head = _events(stream, 3)
                stream.close()
                status = b.responses.retrieve(head[0].response.id).status
            finally:
                db.execute("DROP TRIGGER streamkit_test_slow_start ON streamkit_responses")
                db.execute("DROP FUNCTION streamkit_test_slow_start()")
    assert status == "in_progress"


def test_a_background_response_is_cancelled_through_another_gateway(tmp_path: Path, dsn: str) -> None:
    with ExitStack() as stack:
        (a, _), (b, _) = two(tmp_path, dsn, [{"text": LONG * 3}], stack, upstream_options=SLOW)
        made = a.responses.create(model="m", input="Talk", background=True)
        wait_for(lambda: b.responses.retrieve(made.id).status == "in_progress")
        cancelled = b.responses.cancel(made.id)
        stopped = wait_for(lambda: (r := a.responses.retrieve(made.id)).status == "cancelled" and r, 10)
        count = len(_events(a.responses.retrieve(made.id, stream=True)))
        time.sleep(0.5)
        later = len(_events(b.responses.retrieve(made.id, stream=True)))
    assert cancelled.status == "cancelled" and stopped.status == "cancelled"
    assert count == later  # a stopped writing: no event came after the cancel settled
    assert count < 180


def test_a_response_deleted_through_one_gateway_is_gone_from_the_other(tmp_path: Path, dsn: str) -> None:
    with ExitStack() as stack:
        (a, _), (b, _) = two(tmp_path, dsn, [{"text": "x"}, {"text": "y"}], stack)
        made = a.responses.create(model="m", input="hi")
        b.responses.delete(made.id)
        with pytest.raises(openai.NotFoundError):
            a.responses.retrieve(made.id)
        with pytest.raises(openai.NotFoundError) as caught:
            a.responses.create(model="m", input="and?", previous_response_id=made.id)
    assert caught.value.code == "previous_response_not_found"


def test_a_keys_response_is_its_own_through_every_gateway(tmp_path: Path, dsn: str) -> None:
    """Two gateways with the same ``--client-keys`` on one PostgreSQL: a response Alice made
    through one is hers through the other too, and Bob's 404 there."""
    keys = tmp_path / "keys"
    keys.write_text("sk-alice-0123456789\nsk-bob-9876543210\n")
    with ExitStack() as stack:
        urls = []
        for name in ("a", "b"):
            folder = tmp_path / name
            folder.mkdir()
            url, _ = stack.enter_context(
                gateway(
                    "openai-chat",
                    folder,
                    "--store",
                    dsn,
                    "--client-keys",
                    str(keys),
                    script=[{"text": "hers"}],
                )
            )
            urls.append(url)
        alice_a, alice_b = (stack.enter_context(client(url, "sk-alice-0123456789")) for url in urls)
        bob_b = stack.enter_context(client(urls[1], "sk-bob-9876543210"))
        made = alice_a.responses.create(model="m", input="hi")
        assert alice_b.responses.retrieve(made.id).output_text == "hers"
        with pytest.raises(openai.NotFoundError):
            bob_b.responses.retrieve(made.id)
        with pytest.raises(openai.NotFoundError):
            bob_b.responses.delete(made.id)
        assert alice_b.responses.retrieve(made.id).status == "completed"


@pytest.mark.parametrize("stop", ["SIGTERM", "SIGINT"])
def test_sigterm_stops_serve_as_ctrl_c_does_with_every_response_stored(
    stop: str, dsn: str, tmp_path: Path
) -> None:
    """``docker stop`` and systemd send SIGTERM: the answers under way end, what the store has
    queued is written, exit 143 (130 for Ctrl-C). uvicorn raised the SIGTERM again before the
    store was closed, and the process died with 213 of 256 responses just streamed unwritten."""
    import concurrent.futures
    import signal
    import subprocess

    import httpx
    import orjson

    from tests.conftest import STREAMKIT

    script = tmp_path / "script.json"
    script.write_bytes(orjson.dumps([{"text": "word " * 300}] * 200))

    def start() -> tuple[subprocess.Popen[bytes], str]:
        proc = subprocess.Popen([str(STREAMKIT), "serve", "-d", "openai-responses", "--script", str(script), "--port",
                                 "0", "--store", dsn], stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
        assert proc.stdout is not None
        return proc, proc.stdout.readline().decode().strip()

    def created(url: str) -> str:
        # each client reads only the response's start and leaves: its background run goes on
        body = {"model": "m", "input": "hi", "stream": True}
        with httpx.stream("POST", f"{url}/v1/responses", json=body, timeout=30) as answer:
            for line in answer.iter_lines():
                if line.startswith("data: "):
                    return str(orjson.loads(line[6:])["response"]["id"])
        raise AssertionError("no response.created")

    proc, url = start()
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        ids = list(pool.map(lambda _: created(url), range(128)))
    proc.send_signal(getattr(signal, stop))
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == (143 if stop == "SIGTERM" else 130) and b"Traceback" not in err, err
    proc, url = start()
    try:
        with httpx.Client() as http:
            statuses = [http.get(f"{url}/v1/responses/{i}").json().get("status") for i in ids]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    assert statuses == ["completed"] * len(ids)
