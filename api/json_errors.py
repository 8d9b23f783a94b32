"""GraphQL-shaped error responses for requests refused before GraphQL sees them."""

from __future__ import annotations

import json

from starlette.responses import Response
from starlette.types import Send


def error_body(message: str, code: str) -> bytes:
    """`{"errors": [{"message", "extensions": {"code"}}]}`: what GraphQL clients expect an
    error to look like, whatever refused the request."""
    return json.dumps({"errors": [{"message": message, "extensions": {"code": code}}]}).encode()


def error_response(status: int, message: str, code: str) -> Response:
    return Response(error_body(message, code), status_code=status, media_type="application/json")


async def send_error(send: Send, status: int, message: str, code: str) -> None:
    """Answer with an error body straight through ASGI (for the middlewares in front)."""
    body = error_body(message, code)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
