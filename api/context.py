"""What every resolver of one request shares: the store and that request's DataLoaders.

Loaders live for one request only, so a batch never serves data that another request
has since changed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.dataloader import DataLoader

from domain.editing.models import ModelEditor
from domain.editing.pending import PendingEditor
from domain.images.gallery import Gallery
from domain.importing.promotion import Promoter
from domain.jobs.legacy_migration import LegacyMigrationWork
from domain.jobs.runner import JobRunner
from domain.jobs.scan import ScanWork
from domain.legacy.migrator import LegacyMigrator
from domain.records import PendingImage, SampleImage, Tag
from domain.store import Store
from domain.store.gallery import galleries_of
from domain.store.pending import images_of_pending
from domain.store.tags import model_counts_of_tags, tags_of_models, tags_of_pending

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def _batched(
    store: Store, fetch: Callable[[Store, Sequence[K]], Awaitable[Mapping[K, V]]]
) -> DataLoader[K, V]:
    """A loader that answers all the keys asked for during one tick with one `fetch`."""

    async def load(keys: list[K]) -> list[V]:
        found = await fetch(store, keys)
        return [found[key] for key in keys]

    return DataLoader(load_fn=load)


@dataclass(slots=True)
class Loaders:
    model_tags: DataLoader[str, list[Tag]]
    pending_tags: DataLoader[int, list[Tag]]
    galleries: DataLoader[str, list[SampleImage]]
    pending_images: DataLoader[int, list[PendingImage]]
    tag_model_counts: DataLoader[int, int]

    @classmethod
    def for_request(cls, store: Store) -> Loaders:
        return cls(
            model_tags=_batched(store, tags_of_models),
            pending_tags=_batched(store, tags_of_pending),
            galleries=_batched(store, galleries_of),
            pending_images=_batched(store, images_of_pending),
            tag_model_counts=_batched(store, model_counts_of_tags),
        )


@dataclass(slots=True)
class Context:
    request: Request | WebSocket
    response: Response | None
    store: Store
    gallery: Gallery
    migrator: LegacyMigrator  # its progress (legacyMigration)
    legacy_migration: LegacyMigrationWork  # runs it as a job (migrateLegacyDb)
    scans: ScanWork  # scanFolders
    promoter: Promoter
    jobs: JobRunner
    model_editor: ModelEditor  # updateModel, setModelTags, tagModels, deleteModel
    pending_editor: PendingEditor  # updatePendingImport, deletePendingImport
    loaders: Loaders
