"""The Starlette application: GraphQL at /graphql, with the store opened for the app's life."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route, WebSocketRoute

from api.body_limit import MAX_REQUEST_BYTES, BodySizeLimit
from api.csrf import RequirePreflight
from api.graphql_view import GraphQLView
from api.images import routes as image_routes
from api.playground.page import assets as playground_assets
from api.schema import schema
from domain.config import Config
from domain.editing.models import ModelEditor
from domain.editing.pending import PendingEditor
from domain.images.gallery import Gallery
from domain.importing.hashing import Hasher
from domain.importing.promotion import Promoter
from domain.jobs.import_pending import ImportPendingWork
from domain.jobs.legacy_migration import LegacyMigrationWork
from domain.jobs.model import JobKind
from domain.jobs.runner import JobRunner
from domain.jobs.scan import ScanWork
from domain.legacy.migrator import LegacyMigrator
from domain.store import Store
from domain.store.database import StatementHook
from domain.workers import Workers

logger = logging.getLogger("modelshelf")


def create_app(config: Config, *, on_statement: StatementHook | None = None) -> Starlette:
    """Build the app for the library at `config.data_dir`; the store opens on startup and
    closes on shutdown, so a stopped server leaves a checkpointed, closed database."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        config.create_folders()
        # Closed in the reverse order, each even when one before it fails: the database
        # is always closed (and checkpointed) last.
        async with AsyncExitStack() as closing:
            store = await Store.open(config.db_path, on_statement=on_statement)
            closing.push_async_callback(store.close)
            image_workers = Workers("images")
            closing.callback(image_workers.shutdown)
            # Hashing has workers of its own: a 20 GB hash must not hold up image encoding.
            hash_workers = Workers("hash")
            closing.callback(hash_workers.shutdown)
            gallery = Gallery(store, config.images_dir, image_workers)
            migrator = LegacyMigrator(store, gallery, config, image_workers)
            closing.push_async_callback(migrator.close)
            hasher = Hasher(hash_workers)
            promoter = Promoter(store, gallery, hasher, config.pending_images_dir, image_workers)
            # A scan's walk holds a thread for the whole scan: one of its own, closed after
            # the jobs are (closing it first would wait for a walk that waits for the loop).
            scan_workers = Workers("scan", count=1)
            closing.callback(scan_workers.shutdown)
            jobs = JobRunner(store)
            closing.push_async_callback(jobs.close)
            concurrency = hash_workers.count + image_workers.count
            jobs.register(JobKind.IMPORT_PENDING, ImportPendingWork(store, promoter, concurrency))
            legacy_migration = LegacyMigrationWork(store, migrator, jobs, image_workers)
            jobs.register(JobKind.LEGACY_MIGRATION, legacy_migration)
            import_found = ImportPendingWork(store, promoter, concurrency)
            scans = ScanWork(store, jobs, import_found, image_workers, scan_workers)
            jobs.register(JobKind.SCAN, scans)
            for action in (await gallery.recover()).actions():
                logger.warning("Recovering from an interrupted run: %s.", action)
            app.state.store, app.state.gallery, app.state.migrator = store, gallery, migrator
            app.state.hasher, app.state.promoter, app.state.jobs = hasher, promoter, jobs
            app.state.legacy_migration, app.state.scans = legacy_migration, scans
            app.state.model_editor = ModelEditor(store, gallery, image_workers)
            app.state.pending_editor = PendingEditor(
                store, promoter, config.pending_images_dir, image_workers
            )
            jobs.start()  # a job left running by the last process resumes now
            yield

    graphql = GraphQLView(schema, graphql_ide="graphiql", multipart_uploads_enabled=True)
    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            *image_routes,
            playground_assets(),
        ],
        middleware=[
            Middleware(BodySizeLimit, limit=MAX_REQUEST_BYTES),
            Middleware(RequirePreflight, path="/graphql"),
        ],
        lifespan=lifespan,
    )
    app.state.config = config
    return app
