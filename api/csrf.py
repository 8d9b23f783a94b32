"""Cross-site request forgery guard for the GraphQL endpoint.

A web page the user visits can make the browser POST a form to http://127.0.0.1:8000 with
no preflight, as long as the body is a "simple" one: `multipart/form-data`,
`application/x-www-form-urlencoded` or `text/plain`. File uploads are multipart, so an
upload mutation could be forged. Such requests must carry a header a form cannot set,
which makes the browser ask first (and Model Shelf sends no CORS approval). This is the
rule Apollo Server applies, with the same header names, so upload clients that already
send `Apollo-Require-Preflight` work unchanged.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from api.json_errors import send_error

SIMPLE_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded", "text/plain")
PREFLIGHT_HEADERS = (b"graphql-preflight", b"apollo-require-preflight", b"x-apollo-operation-name")


class RequirePreflight:
    def __init__(self, app: ASGIApp, path: str) -> None:
        self.app = app
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == self.path and _forgeable(scope):
            await _refuse(send)
            return
        await self.app(scope, receive, send)


def _forgeable(scope: Scope) -> bool:
    headers = dict(scope["headers"])
    if scope["method"] != "POST":
        return False
    content_type = headers.get(b"content-type", b"").decode("latin-1").split(";")[0].strip().lower()
    simple = content_type in SIMPLE_TYPES or not content_type
    return simple and not any(headers.get(name) for name in PREFLIGHT_HEADERS)


async def _refuse(send: Send) -> None:
    message = (
        "This request could come from another web site. Send it with a "
        "`GraphQL-Preflight: 1` header (or `Apollo-Require-Preflight: true`)."
    )
    await send_error(send, 400, message, "PREFLIGHT_REQUIRED")
