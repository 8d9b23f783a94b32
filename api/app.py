"""The Starlette application: GraphQL at /graphql, with the store opened for the app's life."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from api.body_limit import MAX_REQUEST_BYTES, BodySizeLimit
from api.context import Context, Loaders
from api.csrf import RequirePreflight
from api.images import routes as image_routes
from api.schema import schema
from domain.config import Config
from domain.gallery import Gallery
from domain.hashing import Hasher
from domain.legacy_import import LegacyMigrator
from domain.promotion import Promoter
from domain.store import Store
from domain.store.database import StatementHook
from domain.workers import Workers

logger = logging.getLogger("modelshelf")


class GraphQLApp(GraphQL[Context, None]):
    """Strawberry's ASGI app, handing each request the store and fresh DataLoaders."""

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket | None
    ) -> Context:
        state = request.app.state
        http_response = response if isinstance(response, Response) else None
        return Context(
            request=request,
            response=http_response,
            store=state.store,
            gallery=state.gallery,
            migrator=state.migrator,
            promoter=state.promoter,
            loaders=Loaders.for_request(state.store),
        )


def create_app(config: Config, *, on_statement: StatementHook | None = None) -> Starlette:
    """Build the app for the library at `config.data_dir`; the store opens on startup and
    closes on shutdown, so a stopped server leaves a checkpointed, closed database."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        config.create_folders()
        store = await Store.open(config.db_path, on_statement=on_statement)
        image_workers = Workers("images")
        gallery = Gallery(store, config.images_dir, image_workers)
        migrator = LegacyMigrator(store, gallery, config, image_workers)
        # Hashing has workers of its own: a 20 GB hash must not hold up image encoding.
        hash_workers = Workers("hash")
        hasher = Hasher(hash_workers)
        promoter = Promoter(store, gallery, hasher, config.pending_images_dir, image_workers)
        try:
            for action in (await gallery.recover()).actions():
                logger.warning("Recovering from an interrupted run: %s.", action)
            app.state.store, app.state.gallery, app.state.migrator = store, gallery, migrator
            app.state.hasher, app.state.promoter = hasher, promoter
            yield
        finally:
            await migrator.close()
            image_workers.shutdown()
            hash_workers.shutdown()
            await store.close()

    graphql = GraphQLApp(schema, graphql_ide="graphiql", multipart_uploads_enabled=True)
    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            *image_routes,
        ],
        middleware=[
            Middleware(BodySizeLimit, limit=MAX_REQUEST_BYTES),
            Middleware(RequirePreflight, path="/graphql"),
        ],
        lifespan=lifespan,
    )
    app.state.config = config
    return app
