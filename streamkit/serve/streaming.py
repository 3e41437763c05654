"""A streamed HTTP answer that notices the client hanging up, even while nothing is being sent.

starlette's ``StreamingResponse`` notices a disconnect only when the next chunk cannot be sent
(with ASGI 2.4 servers), so a gateway waiting on a stalled upstream would hold the upstream request
open long after its client left. :class:`EventStreamResponse` sends the chunks and listens for
``http.disconnect`` side by side; whichever ends first cancels the other, and the body iterator is
closed either way, which closes the upstream request behind it.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import StreamingResponse


class DropConnection(Exception):
    """Raised by a body iterator to cut the connection (``serve --drop-after``): the server closes
    the socket mid-stream, as a failing upstream would. Logged as nothing (see ``serve.run``)."""


class EventStreamResponse(StreamingResponse):
    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        import anyio

        try:
            async with anyio.create_task_group() as group:

                async def stream() -> None:
                    try:
                        await self.stream_response(send)
                    except OSError:  # the client went away mid-send
                        pass
                    group.cancel_scope.cancel()

                group.start_soon(stream)
                await self.listen_for_disconnect(receive)
                group.cancel_scope.cancel()
        finally:
            close = getattr(self.body_iterator, "aclose", None)
            if close is not None:
                with anyio.CancelScope(shield=True):
                    await close()
