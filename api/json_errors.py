"""GraphQL-shaped error responses for requests refused before GraphQL sees them."""

from __future__ import annotations

import json

from starlette.types import Send


async def send_error(send: Send, status: int, message: str, code: str) -> None:
    """Answer with `{"errors": [{"message", "extensions": {"code"}}]}`, as GraphQL clients
    expect an error to look, whatever refused the request."""
    body = json.dumps({"errors": [{"message": message, "extensions": {"code": code}}]}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
