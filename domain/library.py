"""What a client can ask of the library: one function per question, checked and normalized.

The API layer calls these and nothing below them, so every rule about input (page sizes,
cursors, digest spelling, filter normalization) lives here once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from domain.importing.hashing import normalize_sha256
from domain.pagination import Page, SortDirection
from domain.records import FileStatus, Model, ModelTypeCount, PendingImport, Tag
from domain.store import Store, duplicates, models, pending, tags
from domain.store.duplicates import DuplicateGroup
from domain.store.file_filter import FileFilter
from domain.store.models import ModelFilter, ModelSort


async def list_models(
    store: Store,
    *,
    first: int | None,
    after: str | None,
    search: str | None = None,
    tag_ids: Iterable[int] | None = None,
    type: str | None = None,
    path: str | None = None,
    sort: ModelSort | None = None,
    direction: SortDirection | None = None,
    file_status: FileStatus | None = None,
    base_model: str | None = None,
) -> Page[Model]:
    """A page of models in the given order (by name, ascending, when none is given),
    narrowed by the given filters. `after` must be a cursor of that same order."""
    order = models.ORDERS[sort or ModelSort.NAME, direction or SortDirection.ASC]
    files = FileFilter.of(file_status, base_model)
    filters = ModelFilter.of(search, tag_ids, type, path, files)
    request = models.models_page_request(order, first, after)
    return await models.page_models(store, filters, order, request)


async def list_model_types(store: Store) -> list[ModelTypeCount]:
    """Every model type in the library with its model count, by type name (a sidebar's
    list: alphabetical is where a person looks for a type; types are stored lower case)."""
    return await models.count_models_by_type(store)


async def find_model_at(store: Store, path: str) -> Model | None:
    """The model recorded at `path`, matched as stored (`models.lookup_paths` says why and
    what is refused); None when no model is there."""
    return await models.get_model_at(store, models.lookup_paths(path))


async def find_model(store: Store, sha256: str) -> Model | None:
    """The model with this digest, in any letter case; None when the library lacks it."""
    return await models.get_model(store, normalize_sha256(sha256))


async def find_models(store: Store, sha256s: Sequence[str]) -> list[Model]:
    """The models with these (canonical) digests that exist, in digest order."""
    return await models.models_with(store, sha256s)


async def list_pending_imports(
    store: Store,
    *,
    first: int | None,
    after: str | None,
    file_status: FileStatus | None = None,
    base_model: str | None = None,
) -> Page[PendingImport]:
    """A page of pending imports in id order, narrowed by what scans saw of their files."""
    request = pending.pending_page_request(first, after)
    return await pending.page_pending(store, request, FileFilter.of(file_status, base_model))


async def list_duplicates(
    store: Store, *, first: int | None, after: str | None
) -> Page[DuplicateGroup]:
    """A page of the digests more than one file has, most bytes freed first."""
    return await duplicates.page_duplicates(store, duplicates.duplicates_page_request(first, after))


async def find_pending_import(store: Store, pending_id: int) -> PendingImport | None:
    return await pending.get_pending(store, pending_id)


async def list_tags(store: Store) -> list[Tag]:
    return await tags.list_tags(store)
