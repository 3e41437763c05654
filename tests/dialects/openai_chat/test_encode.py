"""The openai-chat encoder: what it writes validates as, and reads back through, the official SDK."""

from __future__ import annotations

import io

import orjson
import pytest
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletionChunk

from streamkit.dialects.openai_chat import ChatEncoder
from streamkit.stages.accumulate import accumulate
from streamkit.stages.fetch import replay
from streamkit.stages.render import render
from tests.conftest import DATA, events_of, messages

CASES = DATA / "openai-chat"


def of_type(events: list[dict], kind: str) -> list[dict]:
    return [e for e in events if e["type"] == kind]


ALL_CASES = sorted(CASES.glob("*.sse"))


def wire_chunks(wire: bytes) -> list:
    return [ev["data"] for ev in replay(io.BytesIO(wire))]


@pytest.mark.parametrize("case", ALL_CASES, ids=[c.stem for c in ALL_CASES])
def test_every_encoded_chunk_validates_as_the_sdk_chunk_type(case) -> None:
    wire = b"".join(render(iter(events_of(case)), format="openai-chat"))
    chunks = wire_chunks(wire)
    assert chunks[-1] == "[DONE]"
    for chunk in chunks:
        if isinstance(chunk, dict) and "error" not in chunk:
            ChatCompletionChunk.model_validate(chunk)


@pytest.mark.parametrize(
    "case", ["usage-chunk", "parallel-tools", "reasoning-content", "tool-whole", "refusal"]
)
def test_the_official_accumulator_reads_what_we_encode(case: str) -> None:
    """openai's own ChatCompletionStreamState, fed our chunks, ends with our message."""
    events = events_of(CASES / f"{case}.sse")
    (ours,) = messages(events)
    state = ChatCompletionStreamState()
    for chunk in wire_chunks(b"".join(render(iter(events), format="openai-chat"))):
        if isinstance(chunk, dict):
            state.handle_chunk(ChatCompletionChunk.model_validate(chunk))
    message = state.get_final_completion().choices[0].message
    text = "".join(p["text"] for p in ours["content"] if p["type"] == "text" and not p.get("refusal"))
    refusal = "".join(p["text"] for p in ours["content"] if p["type"] == "text" and p.get("refusal"))
    assert (message.content or "") == text
    assert (message.refusal or "") == refusal
    theirs = [
        (c.id, c.function.name, orjson.loads(c.function.arguments or "{}")) for c in message.tool_calls or []
    ]
    assert theirs == [
        (p["tool_call_id"], p["tool_name"], p["input"]) for p in ours["content"] if p["type"] == "tool-call"
    ]


def test_encoding_only_final_messages() -> None:
    """accumulate --final | render -f openai-chat: a message alone is a whole response."""
    finals = list(accumulate(iter(events_of(CASES / "parallel-tools.sse")), final=True))
    again = events_of(b"".join(render(iter(finals), format="openai-chat")))
    assert [c["tool_call_id"] for c in of_type(again, "tool-call")] == ["call_x", "call_y", "call_z"]
    assert messages(again)[0]["usage"]["total_tokens"] == 70


def test_encoder_warns_about_what_chat_cannot_express(capsys: pytest.CaptureFixture[str]) -> None:
    encoder = ChatEncoder()
    encoder.feed({"type": "start", "id": "r", "model": "m"})
    assert encoder.feed({"type": "source", "source_type": "document", "id": "d1", "title": "doc"}) == []
    encoder.feed({"type": "finish", "finish_reason": "stop"})
    encoder.close()
    assert "cannot express document sources (1); dropped" in capsys.readouterr().err


def _final_audio(wire: bytes) -> tuple[object, dict]:
    """openai's own ChatCompletionStreamState over our chunks: the final message's content and audio."""
    state = ChatCompletionStreamState()
    for chunk in wire_chunks(wire):
        if isinstance(chunk, dict):
            state.handle_chunk(ChatCompletionChunk.model_validate(chunk))
    message = state.get_final_completion().choices[0].message
    return message.content, message.audio.model_dump() if message.audio is not None else {}


def test_audio_output_goes_back_as_delta_audio() -> None:
    """chat -> canonical -> chat keeps the audio: transcript fragments, one data chunk, the id once,
    the expiry last (clients join delta.audio field by field)."""
    events = events_of(CASES / "audio.sse")
    (ours,) = messages(events)
    expected = {
        "id": "audio_6a1b2c3d4e5f",
        "data": ours["content"][1]["data"],
        "expires_at": 1700003600,
        "transcript": "Hello there!",
    }
    wire = b"".join(render(iter(events), format="openai-chat"))
    deltas = [c["choices"][0]["delta"] for c in wire_chunks(wire) if isinstance(c, dict) and c["choices"]]
    audio = [d["audio"] for d in deltas if "audio" in d]
    assert audio == [
        {"id": "audio_6a1b2c3d4e5f", "transcript": "Hello"},
        {"transcript": " there!"},
        {"data": expected["data"]},
        {"expires_at": 1700003600},
    ]
    assert not any("content" in d for d in deltas)
    assert _final_audio(wire) == (None, expected)
    # only the final message (accumulate --final | render -f openai-chat): the same audio
    finals = list(accumulate(iter(events), final=True))
    assert _final_audio(b"".join(render(iter(finals), format="openai-chat"))) == (None, expected)


def test_audio_from_another_dialect_gets_an_id_and_other_files_are_dropped(
    capsys: pytest.CaptureFixture[str],
) -> None:
    encoder = ChatEncoder()
    chunks = encoder.feed({"type": "start", "id": "r", "model": "m"})
    chunks += encoder.feed({"type": "file", "media_type": "audio/wav", "data": "UklGRg=="})
    chunks += encoder.feed({"type": "file", "media_type": "application/pdf", "data": "JVBE"})
    chunks += encoder.feed({"type": "file", "media_type": "audio/mpeg", "data": "https://x.test/a.mp3"})
    chunks += encoder.feed({"type": "finish", "finish_reason": "stop"})
    encoder.close()
    (audio,) = [c["choices"][0]["delta"]["audio"] for _, c in chunks if isinstance(c, dict) and c["choices"]
                and "audio" in c["choices"][0]["delta"]]  # fmt: skip
    assert audio["id"].startswith("audio_") and audio["data"] == "UklGRg=="
    assert (
        "openai-chat cannot express files other than audio and generated images (2); dropped"
        in capsys.readouterr().err
    )


@pytest.mark.parametrize("target", ["anthropic", "ollama", "openai-responses"])
def test_encoders_without_audio_output_say_they_drop_it(target: str) -> None:
    from tests.conftest import run_cli

    result = run_cli("convert", "--to", target, str(CASES / "audio.sse"))
    assert result.returncode == 0
    assert f"{target} cannot express files".encode() in result.stderr and b"(1); dropped" in result.stderr
    assert b"Hello" in result.stdout and b" there!" in result.stdout  # the transcript stays, as text


def test_other_dialects_hidden_reasoning_is_counted_as_dropped() -> None:
    from tests.conftest import run_cli

    for case in (
        DATA / "anthropic" / "redacted-thinking.sse",
        DATA / "openai-responses" / "reasoning-encrypted.sse",
    ):
        result = run_cli("convert", "--to", "openai-chat", str(case))
        assert result.returncode == 0
        assert (
            b"openai-chat cannot express redacted or encrypted reasoning from other dialects (1); dropped"
            in result.stderr
        )


def _serve(wire: bytes):
    import httpx

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=wire)

    return httpx.Client(transport=httpx.MockTransport(handler))


@pytest.mark.parametrize("case", ["parallel-tools", "reasoning-content", "refusal", "usage-chunk"])
def test_the_official_client_streams_what_we_write(case: str) -> None:
    """openai's client.chat.completions.stream(), served our bytes, ends with our message."""
    import openai

    events = events_of(CASES / f"{case}.sse")
    (ours,) = messages(events)
    wire = b"".join(render(iter(events), format="openai-chat"))
    client = openai.OpenAI(api_key="sk-test", base_url="http://upstream.test/v1", http_client=_serve(wire))
    with client.chat.completions.stream(
        model="gpt-test", messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        deltas = [e.delta for e in stream if e.type == "content.delta"]
        final = stream.get_final_completion()
    message = final.choices[0].message
    text = "".join(p["text"] for p in ours["content"] if p["type"] == "text" and not p.get("refusal"))
    assert (message.content or "") == text == "".join(deltas)
    assert [
        (c.id, c.function.name, c.function.parsed_arguments or orjson.loads(c.function.arguments))
        for c in message.tool_calls or []
    ] == [
        (p["tool_call_id"], p["tool_name"], p["input"]) for p in ours["content"] if p["type"] == "tool-call"
    ]
    assert (
        final.choices[0].finish_reason == {"stop": "stop", "tool-calls": "tool_calls"}[ours["finish_reason"]]
    )
    if ours.get("usage"):
        assert final.usage.total_tokens == ours["usage"]["total_tokens"]


def test_an_error_before_its_final_message_stays_inside_that_response() -> None:
    """accumulate --final writes the error before the message; the encoder keeps both."""
    finals = list(accumulate(iter(events_of(CASES / "error-mid-stream.sse")), final=True))
    assert [e["type"] for e in finals] == ["error", "message"]
    again = events_of(b"".join(render(iter(finals), format="openai-chat")))
    (message,) = messages(again)
    assert (
        message["content"] == [{"type": "text", "text": "Partial answer"}]
        and message["finish_reason"] == "error"
    )
    assert [e["message"] for e in of_type(again, "error")] == [
        "The server had an error while processing your request."
    ]


# --- the answer options of a gateway request ---------------------------------------------------


def _encode(events: list[dict], **options: object) -> list:
    encoder = ChatEncoder(**options)
    out = [wire for event in events for wire in encoder.feed(event)]
    return [data for _, data in [*out, *encoder.close()]]


def _usage_chunks(chunks: list) -> list:
    return [c for c in chunks if isinstance(c, dict) and not c["choices"] and c.get("usage")]


@pytest.mark.parametrize(("include_usage", "expected"), [(None, 1), (True, 1), (False, 0)])
def test_the_usage_chunk_only_when_asked(include_usage: bool | None, expected: int) -> None:
    """A gateway client that did not ask (``stream_options.include_usage``) gets none, as from OpenAI."""
    events = events_of(CASES / "usage-chunk.sse")
    assert len(_usage_chunks(_encode(events, include_usage=include_usage))) == expected


def test_a_call_to_a_declared_custom_tool_is_a_custom_tool_call() -> None:
    """The call travelled as a function taking ``{"input": ...}``: it comes back as the custom
    call the client declared, in one chunk, and the official client reads its input."""
    events = [
        {"type": "start", "id": "r1", "model": "m"},
        {"type": "tool-input-start", "id": "c1", "tool_name": "apply_patch"},
        {"type": "tool-input-delta", "id": "c1", "delta": '{"input": "*** Begin'},
        {"type": "tool-input-delta", "id": "c1", "delta": ' Patch"}'},
        {"type": "tool-input-end", "id": "c1"},
        {"type": "tool-call", "tool_call_id": "c1", "tool_name": "apply_patch",
         "arguments": '{"input": "*** Begin Patch"}', "input": {"input": "*** Begin Patch"}},
        {"type": "tool-input-start", "id": "c2", "tool_name": "f"},
        {"type": "tool-input-delta", "id": "c2", "delta": "{}"},
        {"type": "tool-call", "tool_call_id": "c2", "tool_name": "f", "arguments": "{}", "input": {}},
        {"type": "finish", "finish_reason": "tool-calls"},
    ]  # fmt: skip
    chunks = _encode(events, custom_tools=["apply_patch"])
    calls = [
        tc
        for c in chunks
        if isinstance(c, dict) and c["choices"]
        for tc in c["choices"][0]["delta"].get("tool_calls", ())
    ]
    assert calls[0] == {
        "index": 0,
        "id": "c1",
        "type": "custom",
        "custom": {"name": "apply_patch", "input": "*** Begin Patch"},
    }
    assert calls[1]["type"] == "function" and calls[1]["index"] == 1
    # the SDK's chunk type knows only function calls (openai/openai-openapi#576): its client reads
    # the custom one leniently, as it reads OpenAI's own
    import openai

    from streamkit.framing import frame

    wire = b"".join(frame("sse", None, c) for c in chunks)
    client = openai.OpenAI(api_key="sk-test", base_url="http://upstream.test/v1", http_client=_serve(wire))
    stream = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    (first, *_) = [tc for chunk in stream for choice in chunk.choices for tc in choice.delta.tool_calls or ()]
    assert first.type == "custom" and first.model_extra["custom"] == {
        "name": "apply_patch",
        "input": "*** Begin Patch",
    }  # type: ignore[comparison-overlap, index]


def test_the_request_s_model_when_the_stream_names_none() -> None:
    chunks = _encode(
        [{"type": "start"}, {"type": "text-delta", "id": "t", "delta": "x"}], model="gpt-4o", n=2
    )
    assert {c["model"] for c in chunks if isinstance(c, dict)} == {"gpt-4o"}
