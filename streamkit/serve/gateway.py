"""``serve --upstream``: every request answered live by an upstream of one dialect.

The client's request, already parsed into a canonical conversation by its own dialect, becomes
the upstream dialect's request (its ``build_request``, as for ``fetch``), is sent through
:class:`~streamkit.upstream.AsyncFetch` (the same retries before the first byte and timeouts as
``fetch``), and the upstream's raw events are normalized one by one into canonical events, which
the application encodes in the client's dialect as they come: never buffered to the end.

* Models: the client's model passes through, unless ``-m`` forces one or a ``--model-map
  GLOB=MODEL`` (first match wins, shell-style globs) maps it.
* Keys: the upstream key comes from the gateway's own options and environment, as for ``fetch``;
  with ``--forward-key``, from the key the client presented. Keys are never logged or echoed.
* Errors: an upstream HTTP error before the first byte is answered with its status and
  ``Retry-After`` in the client's error shape; one that cannot be reached is a 502. A failure
  mid-stream (a drop, a stall past ``--read-timeout``) is an ``error`` event, which the client's
  encoder writes as its dialect's in-stream error after everything already sent.
* A client that hangs up closes the upstream request (the response's body iterator is closed).
"""

from __future__ import annotations

import fnmatch
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from .. import diagnostics
from ..dialects.base import Endpoint
from ..stages.normalize import check_made, failure
from .sources import Answer, Call, HTTPError
from .tool_names import fitted, named_back


@dataclass
class ModelMap:
    """Which upstream model a client's model name becomes."""

    forced: str | None = None
    rules: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def parse(cls, forced: str | None, pairs: tuple[str, ...]) -> ModelMap:
        from ..errors import UsageError

        rules = []
        for pair in pairs:
            glob, sep, model = pair.partition("=")
            if not sep or not glob or not model:
                raise UsageError(f"--model-map expects GLOB=MODEL, got {pair!r}")
            rules.append((glob, model))
        return cls(forced, rules)

    def __call__(self, model: str | None) -> str | None:
        if self.forced:
            return self.forced
        for glob, target in self.rules:
            if model is not None and fnmatch.fnmatchcase(model, glob):
                return target
        return model

    def names(self) -> list[str]:
        """The model names this map can produce (for a model listing without the upstream's)."""
        names = [self.forced] if self.forced else [target for _, target in self.rules]
        return list(dict.fromkeys(names))


def _previous_response_id(conversation: dict[str, Any]) -> str | None:
    """The ``previous_response_id`` a Responses request named (kept by its parser)."""
    pm = conversation.get("provider_metadata")
    own = pm.get("openai-responses") if isinstance(pm, dict) else None
    body = own.get("body") if isinstance(own, dict) else None
    value = body.get("previous_response_id") if isinstance(body, dict) else None
    return value if isinstance(value, str) and value else None


class UpstreamSource:
    """Answers from a live upstream of one dialect, shared by every request of the gateway."""

    def __init__(self, dialect: Any, endpoint: Endpoint, *, models: ModelMap | None = None, forward_key: bool = False,
                 retries: int = 2, connect_timeout: float = 10.0, read_timeout: float = 60.0,
                 timeout: float | None = None, max_tool_rounds: int = 5) -> None:  # fmt: skip
        self.dialect = dialect
        self.endpoint = endpoint
        self.models = models or ModelMap()
        self.forward_key = forward_key
        self.retries = retries
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.timeout = timeout
        self.max_tool_rounds = max_tool_rounds  # rounds of MCP calls in one response (mcp_tools)
        self._client: Any = None

    @property
    def client(self) -> Any:
        """One ``httpx.AsyncClient`` for every request (its connections are pooled)."""
        if self._client is None:
            import httpx

            from ..upstream import tls_options

            timeout = httpx.Timeout(self.read_timeout, connect=self.connect_timeout)
            self._client = httpx.AsyncClient(timeout=timeout, limits=httpx.Limits(max_connections=None),
                                             **tls_options(self.endpoint.base_url))  # fmt: skip
        return self._client

    def warm_up(self) -> None:
        """Make ahead what the first request would otherwise wait for (``serve`` calls it before
        it answers, through :meth:`~streamkit.serve.app.Server.warm_up`): the client, with httpx
        and the SSL context it loads; a request built for a one-line conversation (the upstream
        dialect's request module; Bedrock's signing) and the decoder of its framing; the
        upstream dialect's normalizer; the modules that send a request and read its answer. Each
        part that fails is left for a request to meet."""
        import contextlib

        from ..upstream import AsyncFetch, Decoder  # noqa: F401
        from .mcp_tools import mcp_answer  # noqa: F401

        self.client  # noqa: B018  (made here, not in the first request)
        with contextlib.suppress(Exception):
            conversation = {
                "model": "warm-up",
                "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
            }
            Decoder(self.dialect.build_request(conversation, self.endpoint).framing)
        with contextlib.suppress(Exception):
            self.dialect.normalizer()

    def endpoint_for(self, call: Call) -> Endpoint:
        import dataclasses

        model = self.models(call.parsed.conversation.get("model"))
        if self.forward_key:  # the client's key, and none of the gateway's own credentials
            return dataclasses.replace(self.endpoint, api_key=call.key, auth_token=None, model=model)
        return dataclasses.replace(self.endpoint, model=model)

    async def answer(self, call: Call) -> Answer:
        from ..upstream import AsyncFetch
        from .app import warn_dropped
        from .mcp_tools import mcp_answer

        answered = await mcp_answer(self, call)  # MCP servers the request names: run here
        if answered is not None:
            return answered
        conversation = dict(call.parsed.conversation)
        earlier = _previous_response_id(conversation)
        if earlier and self.dialect.name != "openai-responses":
            # not rebuilt from the store (serve.responses does that over HTTP): the turns it names
            # are unknown here, and answering without them would be wrong
            message = f"Previous response with id '{earlier[:80]}' not found."
            return Answer(error=HTTPError(404, message, "previous_response_not_found"))
        warn_dropped(call.parsed, call.dialect.name, self.dialect.name)
        conversation, back = fitted(conversation, self.dialect.tool_name_pattern)
        if back:
            diagnostics.warn(f"{self.dialect.name} refuses some tool names the clients send (too long, or other "
                             "characters): sent under shorter names, and named back in the answers")  # fmt: skip
        endpoint = self.endpoint_for(call)
        request = self.dialect.build_request(conversation, endpoint)
        fetch = AsyncFetch(request, dialect=self.dialect.name, client=self.client, retries=self.retries,
                           connect_timeout=self.connect_timeout, read_timeout=self.read_timeout,
                           where=f"the upstream ({self.dialect.name})", timeout=self.timeout)  # fmt: skip
        raws = fetch.__aiter__()
        try:
            first = await raws.__anext__()
        except StopAsyncIteration:
            return Answer(error=HTTPError(502, f"the upstream ({self.dialect.name}) answered with nothing"))
        if first.get("type") == "error":
            await raws.aclose()  # type: ignore[attr-defined]
            status = first["status"] if isinstance(first.get("status"), int) else 502
            return Answer(
                error=HTTPError(
                    status, str(first.get("message")), first.get("code"), first.get("retry_after")
                )
            )
        return Answer(events=self._canonical(first, raws, fetch, back))

    async def _canonical(self, first: dict[str, Any], raws: AsyncIterator[dict[str, Any]],
                         fetch: Any, back: dict[str, str] | None = None) -> AsyncIterator[list[dict[str, Any]]]:  # fmt: skip
        """The upstream's raw events as canonical events, a batch per read of the upstream (the
        raw events already decoded from the same read join the batch: ``fetch.pending()``). A
        call the upstream sent without an id gets one unique to this response (see
        :attr:`~streamkit.dialects.base.Normalizer.call_id_prefix`)."""
        normalizer = self.dialect.normalizer()
        normalizer.call_id_prefix = f"call_{secrets.token_hex(4)}_"
        # what the next stage would check (here, an encoder), for a normalizer that does not
        # check the types of what it passes on, as normalize checks it (see check_made)
        checking = not normalizer.checks_types
        try:
            raw: dict[str, Any] | None = first
            batch: list[dict[str, Any]] = []
            while raw is not None:
                if raw.get("type") == "error":  # the stream broke: a drop, a stall
                    batch.append(raw)
                else:
                    try:
                        made = normalizer.feed(raw.get("data"), raw.get("event")) or []
                        if checking:
                            check_made(made)
                        if back:
                            named_back(made, back)
                    except Exception as exc:  # (a payload of the wrong type or shape, or a bug: raised again)
                        yield [*batch, self._unreadable(exc)]
                        return
                    batch += made
                if batch and not fetch.pending():
                    yield batch
                    batch = []
                try:
                    raw = await raws.__anext__()
                except StopAsyncIteration:
                    raw = None
            try:
                made = normalizer.close()
                check_made(made)
                if back:
                    named_back(made, back)
            except Exception as exc:
                yield [*batch, self._unreadable(exc)]
                return
            yield batch + made
        finally:
            await raws.aclose()  # type: ignore[attr-defined]

    def _unreadable(self, exc: Exception) -> dict[str, Any]:
        """The error event of an upstream stream the normalizer could not read (raises ``exc``
        again when it is no such thing: see :func:`~streamkit.stages.normalize.failure`)."""
        message = failure(self.dialect.name, exc)
        if message is None:
            raise exc
        return {"type": "error", "message": f"the upstream sent what streamkit cannot read: {message}"}

    async def model_ids(self) -> list[str]:
        """The upstream's models where it lists them, else the names the model map gives."""
        from .catalog import upstream_models

        try:
            ids = await upstream_models(self.client, self.dialect.name, self.endpoint)
        except Exception as exc:  # an upstream without a listing: the mapped names
            diagnostics.warn(f"the upstream lists no models ({type(exc).__name__}); listing the mapped names")
            ids = []
        return ids or self.models.names()

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
