"""Canonical conversations → ConverseStream requests, signed with AWS Signature Version 4 by
botocore (the library the AWS SDKs for Python use).

Where: ``POST {base}/model/{modelId}/converse-stream`` (the model id percent-encoded: ARNs and
inference profiles hold ``:`` and ``/``). The base URL: ``--base-url``, ``STREAMKIT_BASE_URL``,
``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``, ``AWS_ENDPOINT_URL`` (botocore's own variables), else
``https://bedrock-runtime.{region}.amazonaws.com``.

Credentials, as every AWS tool finds them (botocore's chain): ``AWS_ACCESS_KEY_ID`` /
``AWS_SECRET_ACCESS_KEY`` / ``AWS_SESSION_TOKEN``, ``AWS_PROFILE`` and the shared
``~/.aws/credentials`` and ``~/.aws/config`` files (SSO, assumed roles, processes), container
and instance roles. The region: ``AWS_REGION``, ``AWS_DEFAULT_REGION``, the profile's; for a
custom base URL, the region its ``bedrock-runtime.REGION.`` host names wins, then those, then
``us-east-1``. A Bedrock API key (``AWS_BEARER_TOKEN_BEDROCK``, or ``--key-file``) is sent as
``Authorization: Bearer`` instead, unsigned, as botocore does.

The signature covers the exact bytes ``fetch`` sends (``orjson.dumps`` of the body, which is
deterministic) and is valid for five minutes: a retry within that reuses it. The secret key and
the session token never leave the signing; the headers carry the access key id (not a secret),
the signature and the session token, and are redacted from messages like any key.

The body:

* ``messages`` alternate user / assistant (consecutive messages of one side are merged): user
  ``text``, images as ``image`` blocks (png, jpeg, gif, webp; base64 ``bytes``), documents
  (pdf, csv, doc(x), xls(x), html, txt, md) as ``document`` blocks; assistant ``text``,
  ``reasoningContent`` (text with its ``signature``, or ``redactedContent``, as the normalizer
  kept them: Bedrock wants them back when thinking and tools are used), ``toolUse``; tool results
  as ``toolResult`` blocks (``json`` when the output is an object or list, else ``text``;
  ``status: error`` for a failed tool).
* ``system``: ``[{"text": ...}]``; ``toolConfig.tools``: ``toolSpec`` with ``inputSchema.json``.
* options: ``max_tokens``, ``temperature``, ``top_p``, ``stop`` → ``inferenceConfig``;
  ``tool_choice`` → ``toolConfig.toolChoice`` (``auto``, ``any`` for ``required``, ``tool``;
  ``none`` leaves the tools out); ``top_k`` and ``reasoning_budget`` (Anthropic models'
  ``thinking``) → ``additionalModelRequestFields``. Any other option is a native top-level field
  (``guardrailConfig``, ``performanceConfig``, ...).

What ConverseStream cannot take is left out with one warning per kind.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlsplit

import orjson

from streamkit.conversation import is_approval, system_text, tool_parameters
from streamkit.dialects.web_search import split_tools
from streamkit.errors import UsageError

SIGNING_NAME = "bedrock"
_HOST_REGION = re.compile(r"bedrock-runtime(?:-fips)?\.([a-z0-9-]+)\.")
_IMAGES = {"image/png": "png", "image/jpeg": "jpeg", "image/gif": "gif", "image/webp": "webp"}
_DOCUMENTS = {"application/pdf": "pdf", "text/csv": "csv", "application/msword": "doc",
              "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
              "application/vnd.ms-excel": "xls", "text/html": "html", "text/plain": "txt", "text/markdown": "md",
              "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx"}  # fmt: skip
_INFERENCE = {
    "max_tokens": "maxTokens",
    "temperature": "temperature",
    "top_p": "topP",
    "stop": "stopSequences",
}


class _Drops:
    def __init__(self) -> None:
        self.kinds: dict[str, int] = {}

    def add(self, what: str) -> None:
        self.kinds[what] = self.kinds.get(what, 0) + 1

    def warn(self) -> None:
        from streamkit import diagnostics

        for what, count in self.kinds.items():
            diagnostics.warn(f"bedrock cannot send {what} ({count}); left out of the request")


def _session() -> Any:
    import botocore.session

    return botocore.session.get_session()


def _aws(call: Any, *args: Any) -> Any:
    """``call(*args)``, a botocore configuration error (a profile that does not exist, partial
    credentials, a config file that does not parse) as a usage error naming it."""
    from botocore.exceptions import BotoCoreError

    try:
        return call(*args)
    except BotoCoreError as exc:
        raise UsageError(f"bedrock: the AWS configuration: {exc}") from None


def _region(session: Any) -> str | None:
    import os

    return os.environ.get("AWS_REGION") or _aws(session.get_config_variable, "region") or None


def default_base_url() -> str:
    region = _region(_session())
    if not region:
        raise UsageError(
            "no AWS region for bedrock: set AWS_REGION (or a profile's region), or pass --base-url"
        )
    return f"https://bedrock-runtime.{region}.amazonaws.com"


def stream_url(base_url: str, model: str) -> str:
    return f"{base_url.rstrip('/')}/model/{quote(model, safe='')}/converse-stream"


def signed_headers(url: str, payload: bytes, headers: dict[str, str]) -> dict[str, str]:
    """``headers`` plus the SigV4 ones (``Authorization``, ``X-Amz-Date``, and
    ``X-Amz-Security-Token`` for temporary credentials) for a POST of ``payload`` to ``url``."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    session = _session()
    credentials = _aws(session.get_credentials)
    if credentials is None:
        raise UsageError("no AWS credentials for bedrock: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                         "or AWS_PROFILE, or AWS_BEARER_TOKEN_BEDROCK")  # fmt: skip
    found = _HOST_REGION.search(urlsplit(url).hostname or "")
    region = (found.group(1) if found else None) or _region(session) or "us-east-1"
    request = AWSRequest(method="POST", url=url, data=payload, headers=dict(headers))
    SigV4Auth(_aws(credentials.get_frozen_credentials), SIGNING_NAME, region).add_auth(request)
    return {str(k): str(v) for k, v in request.headers.items()}


def _file_block(part: dict[str, Any], drops: _Drops) -> dict[str, Any] | None:
    media = str(part.get("media_type") or "")
    data = part.get("data")
    if not isinstance(data, str) or not data:
        drops.add("files given by URL (Bedrock takes bytes)")
        return None
    if media in _IMAGES:
        return {"image": {"format": _IMAGES[media], "source": {"bytes": data}}}
    if media in _DOCUMENTS:
        name = re.sub(r"[^A-Za-z0-9 ()\[\]-]", "-", str(part.get("filename") or "document"))[:200]
        return {"document": {"format": _DOCUMENTS[media], "name": name, "source": {"bytes": data}}}
    drops.add(f"{media or 'untyped'} files")
    return None


def _user_blocks(content: Any, drops: _Drops) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"text": content}] if content else []
    blocks: list[dict[str, Any]] = []
    for part in content or ():
        if part.get("type") == "text" and part.get("text"):
            blocks.append({"text": part["text"]})
        elif part.get("type") == "file":
            block = _file_block(part, drops)
            if block is not None:
                blocks.append(block)
    return blocks


def _assistant_blocks(content: Any, drops: _Drops) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"text": content}] if content else []
    blocks: list[dict[str, Any]] = []
    for part in content or ():
        kind = part.get("type")
        meta = (part.get("provider_metadata") or {}).get("bedrock") or {}
        if kind == "text" and part.get("text"):
            blocks.append({"text": part["text"]})
        elif kind == "reasoning":
            if meta.get("redacted_data"):
                blocks.append({"reasoningContent": {"redactedContent": meta["redacted_data"]}})
            elif meta.get("signature"):
                text = {"text": part.get("text") or "", "signature": meta["signature"]}
                blocks.append({"reasoningContent": {"reasoningText": text}})
            else:
                drops.add("reasoning without a Bedrock signature")
        elif kind == "tool-call" and not part.get("provider_executed"):
            value = part.get("input")
            if not isinstance(value, dict):
                try:
                    value = orjson.loads(part.get("arguments") or "{}")
                except orjson.JSONDecodeError:
                    value = None
            if not isinstance(value, dict):
                drops.add("tool-call arguments that are not a JSON object (sent as {})")
                value = {}
            blocks.append(
                {
                    "toolUse": {
                        "toolUseId": part.get("tool_call_id"),
                        "name": part.get("tool_name"),
                        "input": value,
                    }
                }
            )
        elif kind in ("tool-call", "tool-result"):
            drops.add("provider-executed tools")
        elif kind == "file":
            drops.add("files in assistant turns")
    return blocks


def _tool_result(message: dict[str, Any]) -> dict[str, Any]:
    output = message.get("output")
    content = [{"json": output}] if isinstance(output, (dict, list)) else [
        {"text": output if isinstance(output, str) else orjson.dumps(output).decode()}]  # fmt: skip
    result: dict[str, Any] = {"toolUseId": message["tool_call_id"], "content": content}
    if message.get("is_error"):
        result["status"] = "error"
    return {"toolResult": result}


def converse_messages(conversation: dict[str, Any], drops: _Drops) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for message in conversation.get("messages") or ():
        role = message.get("role")
        if role == "system":
            continue
        if role == "tool":
            if is_approval(message):
                drops.add("answers to approval requests")
                continue
            role, blocks = "user", [_tool_result(message)]
        elif role == "assistant":
            blocks = _assistant_blocks(message.get("content"), drops)
        else:
            blocks = _user_blocks(message.get("content"), drops)
        if not blocks:
            continue
        if out and out[-1]["role"] == role:
            out[-1]["content"] += blocks
        else:
            out.append({"role": role, "content": blocks})
    for message in out:  # tool results first in a user turn, as the API wants
        message["content"].sort(key=lambda block: "toolResult" not in block)
    return out


def _options(options: dict[str, Any], body: dict[str, Any], drops: _Drops) -> None:
    inference: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in options.items():
        if key in _INFERENCE:
            inference[_INFERENCE[key]] = [value] if key == "stop" and isinstance(value, str) else value
        elif key == "top_k":
            extra["top_k"] = value
        elif key == "reasoning_budget":
            extra["thinking"] = {"type": "enabled", "budget_tokens": value}
        elif key == "tool_choice":
            tools = body.get("toolConfig")
            if value == "none":
                body.pop("toolConfig", None)
            elif tools is not None and value == "required":
                tools["toolChoice"] = {"any": {}}
            elif tools is not None and isinstance(value, dict) and value.get("name"):
                if any(spec["toolSpec"]["name"] == value["name"] for spec in tools["tools"]):
                    tools["toolChoice"] = {"tool": {"name": value["name"]}}
                else:  # (a tool left out, such as the web search: the API refuses a choice of none)
                    drops.add(f"a tool_choice naming {value['name']}, which is not sent")
        elif key in ("seed", "frequency_penalty", "presence_penalty", "parallel_tool_calls", "response_format",
                     "reasoning_effort"):  # fmt: skip
            drops.add(key)
        else:
            body[key] = value  # a native field
    if inference:
        body["inferenceConfig"] = {**inference, **(body.get("inferenceConfig") or {})}
    if extra:
        body["additionalModelRequestFields"] = {**extra, **(body.get("additionalModelRequestFields") or {})}


def converse_body(conversation: dict[str, Any]) -> dict[str, Any]:
    """The ConverseStream body for a canonical conversation (the model goes in the URL)."""
    drops = _Drops()
    body: dict[str, Any] = {"messages": converse_messages(conversation, drops)}
    system = system_text(conversation)
    if system:
        body["system"] = [{"text": system}]
    tools, _ = split_tools(conversation.get("tools"), drops)
    if tools:
        specs = [{"toolSpec": {"name": t["name"], "description": t.get("description") or t["name"],
                               "inputSchema": {"json": tool_parameters(t)}}} for t in tools]  # fmt: skip
        body["toolConfig"] = {"tools": specs}
    _options(dict(conversation.get("options") or {}), body, drops)
    drops.warn()
    return body
