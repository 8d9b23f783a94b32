"""What a client can ask of the library: one function per question, checked and normalized.

The API layer calls these and nothing below them, so every rule about input (page sizes,
cursors, digest spelling, filter normalization) lives here once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from domain.importing.hashing import normalize_sha256
from domain.pagination import Page
from domain.records import Model, PendingImport, Tag
from domain.store import Store, models, pending, tags
from domain.store.models import ModelFilter


async def list_models(
    store: Store,
    *,
    first: int | None,
    after: str | None,
    search: str | None = None,
    tag_ids: Iterable[int] | None = None,
    type: str | None = None,
) -> Page[Model]:
    """A page of models in name order, narrowed by the given filters."""
    request = models.models_page_request(first, after)
    return await models.page_models(store, ModelFilter.of(search, tag_ids, type), request)


async def find_model(store: Store, sha256: str) -> Model | None:
    """The model with this digest, in any letter case; None when the library lacks it."""
    return await models.get_model(store, normalize_sha256(sha256))


async def find_models(store: Store, sha256s: Sequence[str]) -> list[Model]:
    """The models with these (canonical) digests that exist, in digest order."""
    return await models.models_with(store, sha256s)


async def list_pending_imports(
    store: Store, *, first: int | None, after: str | None
) -> Page[PendingImport]:
    """A page of pending imports in id order."""
    return await pending.page_pending(store, pending.pending_page_request(first, after))


async def find_pending_import(store: Store, pending_id: int) -> PendingImport | None:
    return await pending.get_pending(store, pending_id)


async def list_tags(store: Store) -> list[Tag]:
    return await tags.list_tags(store)
