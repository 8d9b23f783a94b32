"""Strawberry's ASGI view, made to refuse malformed requests with GraphQL-shaped errors.

Strawberry answers a request it cannot parse with a plain-text body, or, for several
malformed bodies, with a bare HTTP 500. This view reads every request through
`api.request_parsing` and answers each refusal as `{"errors": [{"message", "extensions":
{"code"}}]}` with its 4xx status, the shape the request guards in front already use.
"""

from __future__ import annotations

import json
from typing import Any

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLRequestData

from api.context import Context, Loaders
from api.json_errors import error_response
from api.playground.page import page_response
from api.request_parsing import (
    RequestRefused,
    code_of,
    is_json,
    media_type,
    operation_of,
    place_files,
    read_json,
    refuse_subscriptions,
)


class GraphQLView(GraphQL[Context, None]):
    """GraphQL over HTTP and websockets, handing each request the library and fresh loaders."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response = await self.run(request)
        except HTTPException as refusal:
            response = error_response(refusal.status_code, refusal.reason, code_of(refusal))
        finally:
            await request.close()  # the spooled files of a multipart body, used or not
        await response(scope, receive, send)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket | None
    ) -> Context:
        state = request.app.state
        return Context(
            request=request,
            response=response if isinstance(response, Response) else None,
            store=state.store,
            gallery=state.gallery,
            migrator=state.migrator,
            legacy_migration=state.legacy_migration,
            scans=state.scans,
            promoter=state.promoter,
            jobs=state.jobs,
            model_editor=state.model_editor,
            pending_editor=state.pending_editor,
            loaders=Loaders.for_request(state.store),
        )

    async def render_graphql_ide(self, request: Request) -> Response:
        """Our own GraphiQL page: Strawberry's loads its scripts from a CDN."""
        return page_response()

    def parse_json(self, data: str | bytes) -> Any:
        return read_json(data)

    def decode_json(self, data: str | bytes) -> object:
        """For websocket messages: a refusal there is invalid JSON, which the protocol
        handler answers by closing with 4400."""
        try:
            return read_json(data)
        except RequestRefused as refusal:
            raise json.JSONDecodeError(refusal.reason, "", 0) from None

    async def parse_http_body(self, request: AsyncHTTPRequestAdapter) -> GraphQLRequestData:
        media = media_type(request.content_type)
        if request.method == "GET":
            data = self.parse_query_params(request.query_params)
        elif is_json(media):
            data = self.parse_json(await request.get_body())
        elif media == "multipart/form-data":
            data = await self.parse_multipart(request)
        else:
            raise RequestRefused(
                "Send the operation as application/json (multipart/form-data for uploads).",
                "UNSUPPORTED_MEDIA_TYPE",
                415,
            )
        operation = operation_of(data)
        refuse_subscriptions(operation)
        return operation

    async def parse_multipart(self, request: AsyncHTTPRequestAdapter) -> Any:
        try:
            form = await request.get_form_data()
        except (MultiPartException, ValueError) as error:
            raise RequestRefused(
                f"The multipart body cannot be read: {error}.", "INVALID_MULTIPART"
            ) from None
        operations, file_map = form.form.get("operations"), form.form.get("map", "{}")
        if not isinstance(operations, str) or not isinstance(file_map, str):
            raise RequestRefused(
                "A multipart request needs the fields `operations` and `map` (JSON text), "
                "as the GraphQL multipart request spec says.",
                "INVALID_MULTIPART",
            )
        return place_files(self.parse_json(operations), self.parse_json(file_map), form.files)
