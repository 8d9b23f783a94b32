"""A cap on the size of a request body, so that an upload cannot fill the disk or memory.

The cap is checked against `Content-Length` before anything is read, and against the bytes
actually received for chunked bodies, which carry no length.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.json_errors import send_error

# The largest sample image we accept is 64 megapixels; as PNG that is rarely past 100 MiB.
MAX_REQUEST_BYTES = 128 * 1024 * 1024


class BodyTooLarge(Exception):
    pass


class BodySizeLimit:
    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge
            return message

        try:
            await self.app(scope, counting_receive, send)
        except BodyTooLarge:
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        message = f"The request is larger than {self.limit // 2**20} MiB."
        await send_error(send, 413, message, "REQUEST_TOO_LARGE")
