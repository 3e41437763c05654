"""streamkit-bedrock: Amazon Bedrock ConverseStream, both ways.

A streamkit dialect plugin written as any outside author would: it uses only streamkit's public
API (``Dialect``, ``Normalizer``, ``Encoder``, ``hookimpl``, :mod:`streamkit.canonical`,
:mod:`streamkit.errors`) and is found through its ``streamkit`` entry point.

``normalize`` reads ConverseStream (its docstring says what becomes of each event), ``encode``
writes it, ``wire`` holds what both need: the event and exception names, stop reasons, usage.
``request`` builds ConverseStream requests and signs them with SigV4 through botocore (imported
only when a request is made).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from streamkit import Dialect, hookimpl
from streamkit.dialects.base import Endpoint, Request

from .wire import EVENTS, EXCEPTIONS, NAME

if TYPE_CHECKING:
    from .encode import BedrockEncoder
    from .normalize import BedrockNormalizer

__all__ = ["Bedrock", "BedrockEncoder", "BedrockNormalizer", "register_dialects"]


class Bedrock(Dialect):
    name = NAME
    description = (
        "Amazon Bedrock ConverseStream (binary AWS event-stream frames, or its decoded events as JSON lines)"
    )
    framing = "eventstream"
    #: (a toolSpec name: 64 letters, digits, ``_`` and ``-`` at most)
    tool_name_pattern = r"[a-zA-Z0-9_-]{1,64}"
    base_url_env = ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "AWS_ENDPOINT_URL")  # botocore's own
    #: a Bedrock API key, sent as a bearer token instead of signing (as botocore does)
    api_key_env = ("AWS_BEARER_TOKEN_BEDROCK",)
    serve_paths = ("/model/{model_id:path}/converse-stream",)

    @property
    def default_base_url(self) -> str:  # type: ignore[override]
        """The regional endpoint (the region from AWS_REGION, AWS_DEFAULT_REGION or the profile)."""
        from .request import default_base_url

        return default_base_url()

    def build_request(
        self, conversation: dict[str, Any] | None, endpoint: Endpoint, *, body: Any = None
    ) -> Request:
        """``POST {base}/model/{id}/converse-stream``, signed with SigV4 (see :mod:`.request`)."""
        import orjson

        from streamkit.errors import UsageError

        from .request import converse_body, signed_headers, stream_url

        conversation = conversation or {"messages": []}
        model = endpoint.model or conversation.get("model")
        if not model:
            raise UsageError('no model: pass -m MODEL (a Bedrock model id), put "model" in the conversation, '
                             "or set STREAMKIT_MODEL")  # fmt: skip
        if body is None:
            body = converse_body(conversation)
        url = stream_url(endpoint.base_url, model)
        headers = {"Content-Type": "application/json", "Accept": "application/vnd.amazon.eventstream"}
        if endpoint.api_key:
            headers["Authorization"] = f"Bearer {endpoint.api_key}"
        else:  # signed over the exact bytes fetch sends
            headers = signed_headers(url, orjson.dumps(body), headers)
        return Request(url, body, headers, framing="eventstream")

    def sniff(self, data: Any, event: str | None = None) -> bool:
        if event is not None:
            return event in EVENTS or event in EXCEPTIONS
        if type(data) is not dict or len(data) != 1:
            return False
        ((key, value),) = data.items()
        return (key in EVENTS or key in EXCEPTIONS) and isinstance(value, dict)

    # the directions are imported when first used: every command loads this plugin to know the
    # dialect's name and sniff, and few of them read or write Bedrock
    def normalizer(self, **options: Any) -> BedrockNormalizer:
        from .normalize import BedrockNormalizer

        return BedrockNormalizer(**options)

    def encoder(self, **options: Any) -> BedrockEncoder:
        from .encode import BedrockEncoder

        return BedrockEncoder(**options)


@hookimpl
def register_dialects(register: Callable[[Dialect], None]) -> None:
    register(Bedrock())


def __getattr__(name: str) -> Any:
    """``BedrockEncoder`` and ``BedrockNormalizer`` stay importable from here, loaded on first use."""
    if name == "BedrockEncoder":
        from .encode import BedrockEncoder

        return BedrockEncoder
    if name == "BedrockNormalizer":
        from .normalize import BedrockNormalizer

        return BedrockNormalizer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
