"""Each dialect's official client running a two-request tool loop against a base URL.

``tool_loop(dialect, url, stream)`` asks QUESTION with the get_weather tool, expects a call to it,
answers it with RESULT, and returns what the client saw: the calls of the first answer (name and
arguments) and the text of the second. Each driver uses only its SDK's public API, streamed
(``stream=True`` and the SDK's own stream helpers) or whole.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

QUESTION = "What's the weather in Paris?"
RESULT = "18 degrees and sunny"
KEY = "sk-client-key-0123456789"
TOOL = {
    "name": "get_weather",
    "description": "The weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


@dataclass
class Seen:
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    text: str = ""


def tool_loop(dialect: str, url: str, stream: bool, model: str = "client-model", key: str = KEY) -> Seen:
    return DRIVERS[dialect](url, stream, model, key)


def _closing(client: Any) -> Any:
    """The client, closed when the loop is done (its connections are real sockets)."""
    import contextlib

    return contextlib.closing(client)


def _chat(url: str, stream: bool, model: str, key: str) -> Seen:
    import openai

    with _closing(openai.OpenAI(api_key=key, base_url=f"{url}/v1", max_retries=0)) as client:
        return _chat_loop(client, stream, model)


def _chat_loop(client: Any, stream: bool, model: str) -> Seen:
    tools = [{"type": "function", "function": TOOL}]
    messages: list[Any] = [{"role": "user", "content": QUESTION}]

    def ask() -> Any:
        if stream:
            with client.chat.completions.stream(model=model, messages=messages, tools=tools) as s:
                for _ in s:
                    pass
                return s.get_final_completion().choices[0].message
        return client.chat.completions.create(model=model, messages=messages, tools=tools).choices[0].message

    seen = Seen()
    first = ask()
    calls = first.tool_calls or []
    seen.calls = [(c.function.name, json.loads(c.function.arguments)) for c in calls]
    messages.append(first.model_dump(exclude_none=True))
    messages += [{"role": "tool", "tool_call_id": c.id, "content": RESULT} for c in calls]
    seen.text = ask().content or ""
    return seen


def _responses(url: str, stream: bool, model: str, key: str) -> Seen:
    import openai

    with _closing(openai.OpenAI(api_key=key, base_url=f"{url}/v1", max_retries=0)) as client:
        return _responses_loop(client, stream, model)


def _responses_loop(client: Any, stream: bool, model: str) -> Seen:
    tools = [{"type": "function", **TOOL}]
    items: list[Any] = [{"role": "user", "content": QUESTION}]

    def ask() -> Any:
        if stream:
            with client.responses.stream(model=model, input=items, tools=tools, store=False) as s:
                for _ in s:
                    pass
                return s.get_final_response()
        return client.responses.create(model=model, input=items, tools=tools, store=False)

    seen = Seen()
    first = ask()
    calls = [item for item in first.output if item.type == "function_call"]
    seen.calls = [(c.name, json.loads(c.arguments)) for c in calls]
    items += [item.model_dump(exclude_none=True) for item in first.output]
    items += [{"type": "function_call_output", "call_id": c.call_id, "output": RESULT} for c in calls]
    seen.text = ask().output_text
    return seen


def _anthropic(url: str, stream: bool, model: str, key: str) -> Seen:
    import anthropic

    with _closing(anthropic.Anthropic(api_key=key, base_url=url, max_retries=0)) as client:
        return _anthropic_loop(client, stream, model)


def _anthropic_loop(client: Any, stream: bool, model: str) -> Seen:
    tools = [{"name": TOOL["name"], "description": TOOL["description"], "input_schema": TOOL["parameters"]}]
    messages: list[Any] = [{"role": "user", "content": QUESTION}]

    def ask() -> Any:
        if stream:
            with client.messages.stream(model=model, max_tokens=1024, messages=messages, tools=tools) as s:
                for _ in s:
                    pass
                return s.get_final_message()
        return client.messages.create(model=model, max_tokens=1024, messages=messages, tools=tools)

    seen = Seen()
    first = ask()
    calls = [b for b in first.content if b.type == "tool_use"]
    seen.calls = [(c.name, dict(c.input)) for c in calls]
    messages.append(
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]}
    )
    messages.append(
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": c.id, "content": RESULT} for c in calls],
        }
    )
    seen.text = "".join(b.text for b in ask().content if b.type == "text")
    return seen


def _gemini(url: str, stream: bool, model: str, key: str) -> Seen:
    from google import genai
    from google.genai import types

    with genai.Client(api_key=key, http_options=types.HttpOptions(base_url=url)) as client:
        return _gemini_loop(client, stream, model)


def _gemini_loop(client: Any, stream: bool, model: str) -> Seen:
    from google.genai import types

    config = types.GenerateContentConfig(
        tools=[types.Tool(function_declarations=[types.FunctionDeclaration(**TOOL)])],
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )
    contents: list[Any] = [types.Content(role="user", parts=[types.Part.from_text(text=QUESTION)])]

    def ask() -> tuple[list[Any], str]:
        parts: list[Any] = []
        if stream:
            for chunk in client.models.generate_content_stream(model=model, contents=contents, config=config):
                for candidate in chunk.candidates or ():
                    parts += (candidate.content.parts or []) if candidate.content else []
        else:
            response = client.models.generate_content(model=model, contents=contents, config=config)
            parts = list(response.candidates[0].content.parts or [])
        return parts, "".join(p.text for p in parts if p.text and not p.thought)

    seen = Seen()
    parts, _ = ask()
    calls = [p.function_call for p in parts if p.function_call]
    seen.calls = [(c.name, dict(c.args or {})) for c in calls]
    contents.append(types.Content(role="model", parts=parts))
    contents.append(types.Content(role="user", parts=[
        types.Part(function_response=types.FunctionResponse(id=c.id, name=c.name, response={"result": RESULT})) for c in calls]))  # fmt: skip
    _, seen.text = ask()
    return seen


def _ollama(url: str, stream: bool, model: str, key: str) -> Seen:
    import ollama

    with ollama.Client(host=url, headers={"Authorization": f"Bearer {key}"}) as client:
        return _ollama_loop(client, stream, model)


def _ollama_loop(client: Any, stream: bool, model: str) -> Seen:
    import ollama

    tools = [{"type": "function", "function": TOOL}]
    messages: list[Any] = [{"role": "user", "content": QUESTION}]

    def ask() -> Any:
        if not stream:
            return client.chat(model=model, messages=messages, tools=tools, stream=False).message
        content, calls = "", []
        for chunk in client.chat(model=model, messages=messages, tools=tools, stream=True):
            content += chunk.message.content or ""
            calls += chunk.message.tool_calls or []
        return ollama.Message(role="assistant", content=content, tool_calls=calls or None)

    seen = Seen()
    first = ask()
    calls = first.tool_calls or []
    seen.calls = [(c.function.name, dict(c.function.arguments)) for c in calls]
    messages.append(first)
    messages += [{"role": "tool", "tool_name": c.function.name, "content": RESULT} for c in calls]
    seen.text = ask().content or ""
    return seen


DRIVERS = {
    "openai-chat": _chat,
    "openai-responses": _responses,
    "anthropic": _anthropic,
    "gemini": _gemini,
    "ollama": _ollama,
}
