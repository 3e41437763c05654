"""Images a model made, across dialects: a Gemini image model's ``inlineData`` part (a canonical
``file``) is a Responses ``image_generation_call`` item, and a Responses image generation's result
is a Gemini ``inlineData`` part; each read back as it was. Streams checked against the official
SDKs' types, and through a real gateway in front of a Gemini upstream with the openai client."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import orjson
import pytest

from streamkit.stages.fetch import replay
from streamkit.stages.normalize import normalize
from streamkit.stages.render import render
from tests.conftest import events_of, messages
from tests.dialects.gemini.chunks import validate_chunk

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n not really an image").decode()
WEBP = base64.b64encode(b"RIFF....WEBPVP8 not really either").decode()


def gemini_wire(*parts: dict[str, Any]) -> bytes:
    """A Gemini image model's answer: text, then each part in a chunk of its own."""
    head = {"responseId": "r1", "modelVersion": "gemini-2.5-flash-image"}
    chunks: list[dict[str, Any]] = [
        {"candidates": [{"content": {"role": "model", "parts": [part]}}], **head}
        for part in ({"text": "Here is a cat."}, *parts)
    ]
    chunks[-1]["candidates"][0]["finishReason"] = "STOP"
    chunks[-1]["usageMetadata"] = {"promptTokenCount": 3, "candidatesTokenCount": 5, "totalTokenCount": 8}
    return b"".join(b"data: " + orjson.dumps(c) + b"\r\n\r\n" for c in chunks)


def canonical(wire: bytes) -> list[dict[str, Any]]:
    return list(normalize(replay(io.BytesIO(wire))))


def rendered(events: list[dict[str, Any]], to: str) -> list[dict[str, Any]]:
    return [raw["data"] for raw in replay(io.BytesIO(b"".join(render(iter(events), format=to))))]


def test_a_gemini_image_is_a_responses_image_generation_call_and_back(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from openai.types.responses import ResponseStreamEvent
    from pydantic import TypeAdapter

    events = canonical(gemini_wire({"inlineData": {"mimeType": "image/png", "data": PNG}}))
    wire = rendered(events, "openai-responses")
    adapter: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
    typed = [adapter.validate_python(d) for d in wire]
    (final,) = [e.response for e in typed if e.type == "response.completed"]
    kinds = [item.type for item in final.output]
    assert kinds == ["message", "image_generation_call"]
    image = final.output[1]
    assert image.result == PNG and image.status == "completed"
    assert [e.type for e in typed if "image_generation" in e.type] == [
        "response.image_generation_call.in_progress",
        "response.image_generation_call.generating",
        "response.image_generation_call.completed",
    ]
    assert "cannot express" not in capsys.readouterr().err
    # read back, and written as Gemini again: the same image part
    back = rendered(canonical(b"".join(render(iter(events), format="openai-responses"))), "gemini")
    parts = [
        p
        for chunk in back
        for c in chunk.get("candidates") or ()
        for p in c.get("content", {}).get("parts", ())
    ]
    assert {"inlineData": {"mimeType": "image/png", "data": PNG}} in parts
    for chunk in back:
        validate_chunk(chunk)


def test_a_responses_image_generation_is_a_gemini_image_part_streamed_and_whole(
    capsys: pytest.CaptureFixture[str],
) -> None:
    item = {"id": "ig_1", "type": "image_generation_call", "status": "completed", "result": WEBP,
            "output_format": "webp", "size": "1024x1024"}  # fmt: skip
    created = {"id": "resp_1", "object": "response", "created_at": 1, "model": "gpt-image", "output": []}
    wire = [
        {"type": "response.created", "sequence_number": 0, "response": {**created, "status": "in_progress"}},
        {"type": "response.output_item.added", "sequence_number": 1, "output_index": 0,
         "item": {"id": "ig_1", "type": "image_generation_call", "status": "in_progress"}},
        {"type": "response.image_generation_call.generating", "sequence_number": 2, "output_index": 0,
         "item_id": "ig_1"},
        {"type": "response.output_item.done", "sequence_number": 3, "output_index": 0, "item": item},
        {"type": "response.completed", "sequence_number": 4,
         "response": {**created, "status": "completed", "output": [item]}},
    ]  # fmt: skip
    sse = b"".join(b"event: " + d["type"].encode() + b"\ndata: " + orjson.dumps(d) + b"\n\n" for d in wire)
    events = canonical(sse)
    chunks = rendered(events, "gemini")
    parts = [
        p
        for chunk in chunks
        for c in chunk.get("candidates") or ()
        for p in c.get("content", {}).get("parts", ())
    ]
    assert parts == [{"inlineData": {"mimeType": "image/webp", "data": WEBP}}]
    for chunk in chunks:
        validate_chunk(chunk)
    from streamkit.dialects.gemini.whole import whole_response

    whole = whole_response(messages(events_of(sse)))
    assert whole["candidates"][0]["content"]["parts"] == [
        {"inlineData": {"mimeType": "image/webp", "data": WEBP}}
    ]
    assert "provider-executed" not in capsys.readouterr().err  # (neither the call nor the result dropped)


@pytest.mark.parametrize(
    "part",
    [
        {"fileData": {"mimeType": "image/png", "fileUri": "https://example.com/cat.png"}},
        {"inlineData": {"mimeType": "application/pdf", "data": PNG}},
        {"inlineData": {"mimeType": "image/png", "data": PNG}, "thought": True},
    ],
    ids=["a-url", "not-an-image", "a-thought-draft"],
)
def test_a_file_that_is_no_generated_image_is_dropped_saying_so(
    part: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    final = rendered(canonical(gemini_wire(part)), "openai-responses")[-1]["response"]
    assert [item["type"] for item in final["output"]] == ["message"]
    assert "files other than generated images" in capsys.readouterr().err


def test_an_openai_client_asks_a_gemini_upstream_for_images_and_gets_them(tmp_path: Path) -> None:
    """``serve --upstream gemini`` in front of a Gemini image model (a recording served by ``serve
    --replay``): the official openai client's ``image_generation`` tool asks Gemini for images
    (``responseModalities``), and its ``responses.create`` gets the image as an
    ``image_generation_call``, whole and streamed, with the text beside it."""
    openai = pytest.importorskip("openai")
    from streamkit.testing import serving
    from tests.conftest import ndjson

    recording, log = tmp_path / "image.sse", tmp_path / "upstream.ndjson"
    recording.write_bytes(gemini_wire({"inlineData": {"mimeType": "image/png", "data": PNG}}))
    with (
        serving("-d", "gemini", "--replay", str(recording), str(recording), "--log-requests", str(log)) as up,
        serving("--upstream", "gemini", "--base-url", up, "--store", "none") as url,
        openai.OpenAI(api_key="sk-test", base_url=f"{url}/v1", max_retries=0) as client,
    ):
        tools = [{"type": "image_generation"}]
        whole = client.responses.create(model="gemini-2.5-flash-image", input="Draw a cat.", tools=tools)
        with client.responses.stream(
            model="gemini-2.5-flash-image", input="Draw a cat.", tools=tools
        ) as stream:
            streamed = stream.get_final_response()
    for response in (whole, streamed):
        assert response.output_text == "Here is a cat."
        (image,) = [item for item in response.output if item.type == "image_generation_call"]
        assert image.result == PNG
    sent = ndjson(log.read_bytes())
    assert [body["generationConfig"]["responseModalities"] for body in sent] == [["TEXT", "IMAGE"]] * 2
    assert all("tools" not in body for body in sent)


def test_a_gemini_client_asks_a_responses_upstream_for_images_and_gets_them(tmp_path: Path) -> None:
    """The other way: google-genai's ``response_modalities=["TEXT", "IMAGE"]`` through ``serve
    --upstream openai-responses`` is the upstream's ``image_generation`` tool, and the image the
    upstream made comes back as an ``inline_data`` part holding its bytes."""
    genai = pytest.importorskip("google.genai")
    from google.genai import types

    from streamkit.testing import serving
    from tests.conftest import ndjson

    item = {"id": "ig_1", "type": "image_generation_call", "status": "completed", "result": WEBP,
            "output_format": "webp"}  # fmt: skip
    created = {"id": "resp_1", "object": "response", "created_at": 1, "model": "gpt-5", "output": []}
    wire = [
        {"type": "response.created", "sequence_number": 0, "response": {**created, "status": "in_progress"}},
        {"type": "response.output_item.done", "sequence_number": 1, "output_index": 0, "item": item},
        {"type": "response.completed", "sequence_number": 2,
         "response": {**created, "status": "completed", "output": [item]}},
    ]  # fmt: skip
    recording, log = tmp_path / "image.sse", tmp_path / "upstream.ndjson"
    recording.write_bytes(
        b"".join(b"event: " + d["type"].encode() + b"\ndata: " + orjson.dumps(d) + b"\n\n" for d in wire)
    )
    with (
        serving("-d", "openai-responses", "--replay", str(recording), "--log-requests", str(log)) as up,
        serving("--upstream", "openai-responses", "--base-url", f"{up}/v1", "--store", "none") as url,
        genai.Client(api_key="k", http_options=types.HttpOptions(base_url=url)) as client,
    ):
        config = types.GenerateContentConfig(response_modalities=["TEXT", "IMAGE"])
        answer = client.models.generate_content(model="gpt-5", contents="Draw a cat.", config=config)
    (part,) = answer.candidates[0].content.parts
    assert part.inline_data.mime_type == "image/webp"
    assert part.inline_data.data == base64.b64decode(WEBP)
    (sent,) = ndjson(log.read_bytes())
    assert sent["tools"] == [{"type": "image_generation"}]


def chat_wire(*deltas: dict[str, Any]) -> bytes:
    """A Chat Completions stream as OpenRouter sends an image model's answer."""
    head = {
        "id": "gen-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "google/gemini-2.5-flash-image",
    }
    chunks = [
        {**head, "choices": [{"index": 0, "delta": {"role": "assistant", **delta}, "finish_reason": None}]}
        for delta in deltas
    ]
    chunks.append({**head, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    return b"".join(b"data: " + orjson.dumps(c) + b"\n\n" for c in chunks) + b"data: [DONE]\n\n"


def test_openrouters_chat_images_are_files_and_go_back_as_they_came() -> None:
    """OpenRouter's (and Vercel AI Gateway's) ``delta.images`` are canonical files: a Responses
    client gets an ``image_generation_call``, a Gemini one an ``inlineData`` part, and written as
    Chat again they are the same ``images`` entries (streamed, and in the whole completion),
    chunks the official SDK's type takes."""
    from openai.types.chat import ChatCompletionChunk

    url = f"data:image/png;base64,{PNG}"
    wire = chat_wire(
        {"content": "Here is a cat."}, {"images": [{"type": "image_url", "image_url": {"url": url}}]}
    )
    events = canonical(wire)
    (image,) = [e for e in events if e["type"] == "file"]
    assert (image["media_type"], image["data"]) == ("image/png", PNG)
    final = rendered(events, "openai-responses")[-1]["response"]
    assert [i["result"] for i in final["output"] if i["type"] == "image_generation_call"] == [PNG]
    gemini = rendered(events, "gemini")
    assert {"inlineData": {"mimeType": "image/png", "data": PNG}} in [
        p
        for chunk in gemini
        for c in chunk.get("candidates") or ()
        for p in c.get("content", {}).get("parts", ())
    ]
    again = rendered(events, "openai-chat")
    for chunk in again:
        if isinstance(chunk, dict):
            ChatCompletionChunk.model_validate(chunk)
    images = [
        i for c in again if isinstance(c, dict) for ch in c["choices"] for i in ch["delta"].get("images", ())
    ]
    assert images == [{"type": "image_url", "image_url": {"url": url}}]
    from streamkit.dialects.openai_chat.whole import whole_completion

    whole = whole_completion(messages(events_of(wire)))
    assert whole["choices"][0]["message"]["images"] == images


def test_a_chat_client_asks_a_gemini_upstream_for_images_as_openrouter_clients_do(tmp_path: Path) -> None:
    """An OpenAI client speaking OpenRouter's dialect (``modalities: ["image", "text"]``) through
    ``serve --upstream gemini``: Gemini is asked for images, and the completion's message holds
    them as ``images``, whole and streamed."""
    openai = pytest.importorskip("openai")
    from streamkit.testing import serving
    from tests.conftest import ndjson

    recording, log = tmp_path / "image.sse", tmp_path / "upstream.ndjson"
    recording.write_bytes(gemini_wire({"inlineData": {"mimeType": "image/png", "data": PNG}}))
    ask = {"modalities": ["image", "text"]}
    with (
        serving("-d", "gemini", "--replay", str(recording), str(recording), "--log-requests", str(log)) as up,
        serving("--upstream", "gemini", "--base-url", up) as url,
        openai.OpenAI(api_key="sk-test", base_url=f"{url}/v1", max_retries=0) as client,
    ):
        said = [{"role": "user", "content": "Draw a cat."}]
        whole = client.chat.completions.create(model="gemini-2.5-flash-image", messages=said, extra_body=ask)
        streamed = client.chat.completions.create(model="gemini-2.5-flash-image", messages=said, extra_body=ask,
                                                  stream=True)  # fmt: skip
        deltas = [(c.choices[0].delta.model_extra or {}).get("images") for c in streamed if c.choices]
    url = f"data:image/png;base64,{PNG}"
    assert whole.choices[0].message.content == "Here is a cat."
    assert whole.choices[0].message.model_extra["images"] == [
        {"type": "image_url", "image_url": {"url": url}}
    ]
    assert [d for d in deltas if d] == [[{"type": "image_url", "image_url": {"url": url}}]]
    assert [b["generationConfig"]["responseModalities"] for b in ndjson(log.read_bytes())] == [
        ["TEXT", "IMAGE"]
    ] * 2


@pytest.mark.parametrize(
    ("images", "says"),
    [
        (5, "delta.images is a number, expected a list"),
        ([5], "an entry of delta.images has no image_url.url"),
        ([{"type": "image_url", "image_url": {"url": 7}}], "an entry of delta.images has no image_url.url"),
    ],
)
def test_chat_images_of_the_wrong_shape_are_a_one_line_error_naming_the_line(images: Any, says: str) -> None:
    from tests.conftest import run_cli

    wire = chat_wire({"content": "Hi."}, {"images": images})
    result = run_cli("normalize", input=b"".join(orjson.dumps(r) + b"\n" for r in replay(io.BytesIO(wire))))
    assert result.returncode == 65
    assert result.stderr.decode().strip().endswith(f"openai-chat: {says}")
    assert b"Traceback" not in result.stderr and b"Hi." in result.stdout  # (what came before is written)
