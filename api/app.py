"""The Starlette application: GraphQL at /graphql, with the store opened for the app's life."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from api.context import Context, Loaders
from api.schema import schema
from domain.config import Config
from domain.store import Store
from domain.store.database import StatementHook


class GraphQLApp(GraphQL[Context, None]):
    """Strawberry's ASGI app, handing each request the store and fresh DataLoaders."""

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket | None
    ) -> Context:
        store: Store = request.app.state.store
        http_response = response if isinstance(response, Response) else None
        return Context(
            request=request,
            response=http_response,
            store=store,
            loaders=Loaders.for_request(store),
        )


def create_app(config: Config, *, on_statement: StatementHook | None = None) -> Starlette:
    """Build the app for the library at `config.data_dir`; the store opens on startup and
    closes on shutdown, so a stopped server leaves a checkpointed, closed database."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        config.create_folders()
        app.state.store = await Store.open(config.db_path, on_statement=on_statement)
        try:
            yield
        finally:
            await app.state.store.close()

    graphql = GraphQLApp(schema, graphql_ide="graphiql")
    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
        ],
        lifespan=lifespan,
    )
    app.state.config = config
    return app
