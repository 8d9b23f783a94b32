"""Editing a model: its fields (`update`), its tags (`set_tags`, `retag` for many at once),
and deleting it (`delete`). Each is one transaction that checks what it needs and writes,
so what it answers is what committed.

Decisions a client can rely on:
- `updatedAt` moves with every change of the model: a field, its tags, its gallery. It is
  what `expected_updated_at` is checked against (two tabs never silently undo each other),
  so it always moves forward, even twice in one millisecond (`touch_models`). An edit that
  changes nothing writes nothing and leaves `updatedAt` as it was: saving an unchanged form
  twice is harmless, and does not make every other open form stale.
- A stale `expected_updated_at` is an `EditConflict` carrying the current model, even when
  the edit would change nothing: the client's view is out of date either way.
- `retag` refuses the whole call when any digest is no model (`ModelsNotFound`, listing
  some): a script's list is right or wrong as a whole, and nothing is half-applied.
- An unknown tag id is `TagNotFound` (the lowest of them), nothing written.
- Deleting a model removes its row, links and gallery rows in one transaction with the
  planned removal of its tier files (`Gallery.remove_all`); the files go after the commit,
  or at the next start after a crash. The model file itself is never touched.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from domain.editing.meta import MISSING, Missing, edited_meta
from domain.editing.tag_choice import refuse_unknown_tags, tag_choice
from domain.editing.values import model_name, model_path, model_type
from domain.errors import (
    EditConflict,
    InvalidSha256,
    InvalidValue,
    ModelNotFound,
    ModelPathTaken,
    ModelsNotFound,
)
from domain.images.gallery import Gallery
from domain.importing.hashing import normalize_sha256
from domain.records import Model
from domain.store import Store
from domain.store.models import (
    delete_model,
    later_than,
    missing_models,
    model_in,
    other_model_at,
    touch_model,
    touch_models,
    update_model,
)
from domain.store.tag_links import retag_models, set_model_tags
from domain.workers import Workers

# One call tags a whole library view (a search of thousands of LoRAs), not a whole
# library twice over: ten thousand digests are about 700 KB of request.
MAX_RETAGGED_MODELS = 10_000
# Digests listed in a `ModelsNotFound`: enough to find the mistake, never a whole list back.
SHOWN_MISSING = 20


@dataclass(frozen=True, slots=True)
class ModelEdit:
    """What to change; a field left `MISSING` keeps its value (see `domain.editing.values`
    and `domain.editing.meta` for what each may be)."""

    name: str | Missing | None = MISSING
    type: str | Missing | None = MISSING
    path: str | Missing | None = MISSING
    meta: Any = MISSING
    meta_patch: Any = MISSING


@dataclass(frozen=True, slots=True)
class Updated:
    """The model as the edit left it, and whether a file is at its path now (reported,
    never required: a model whose file moved is fixed before the file is back)."""

    model: Model
    file_exists: bool


@dataclass(frozen=True, slots=True)
class Retagged:
    """The models whose tags changed (the others already were as asked), by digest."""

    changed: list[str]


class ModelEditor:
    def __init__(self, store: Store, gallery: Gallery, workers: Workers) -> None:
        self._store = store
        self._gallery = gallery
        self._workers = workers

    async def update(
        self, sha256: str, edit: ModelEdit, expected_updated_at: datetime | None = None
    ) -> Updated:
        sha256 = normalize_sha256(sha256)
        name = _given(edit.name, model_name)
        type = _given(edit.type, model_type)
        path: str | Missing = MISSING
        if not isinstance(edit.path, Missing):
            path = await self._workers.run(model_path, edit.path)
        async with self._store.transaction() as conn:
            current = await self._current(conn, sha256, expected_updated_at)
            edited = replace(
                current,
                name=current.name if isinstance(name, Missing) else name,
                type=current.type if isinstance(type, Missing) else type,
                path=current.path if isinstance(path, Missing) else path,
                meta=edited_meta(current.meta, edit.meta, edit.meta_patch),
            )
            if edited.path != current.path:
                other = await other_model_at(conn, edited.path, sha256)
                if other is not None:
                    raise ModelPathTaken(
                        edited.path,
                        other,
                        f"The library has another model (SHA-256 {other}) at {edited.path}; "
                        "a path names one model. Nothing was changed.",
                    )
            if edited != current:
                edited = replace(edited, updated_at=later_than(current.updated_at))
                await update_model(conn, edited)
        return Updated(edited, await self._workers.run(_is_file, edited.path))

    async def set_tags(self, sha256: str, tag_ids: list[int]) -> Updated:
        """Make `tag_ids` exactly the model's tags."""
        sha256 = normalize_sha256(sha256)
        tag_ids = tag_choice(tag_ids, "tagIds")
        async with self._store.transaction() as conn:
            await self._current(conn, sha256, None)
            await refuse_unknown_tags(conn, tag_ids)
            if await set_model_tags(conn, sha256, tag_ids):
                await touch_model(conn, sha256)
            model = await model_in(conn, sha256)
        assert model is not None  # read in the transaction that found it
        return Updated(model, await self._workers.run(_is_file, model.path))

    async def retag(
        self, sha256s: list[str], add: list[int] | None, remove: list[int] | None
    ) -> Retagged:
        """Add `add` to and take `remove` from every model of `sha256s`, in one transaction
        of a fixed number of statements however many models it names."""
        if len(sha256s) > MAX_RETAGGED_MODELS:
            raise InvalidValue(
                "sha256s",
                f"`sha256s` lists {len(sha256s):,} models; one call tags at most "
                f"{MAX_RETAGGED_MODELS:,}.",
            )
        digests = list(dict.fromkeys(_digest(value) for value in sha256s))
        added, removed = tag_choice(add or [], "add"), tag_choice(remove or [], "remove")
        both = sorted(set(added) & set(removed))
        if both:
            raise InvalidValue(
                "remove", f"Tag {both[0]} is both in `add` and in `remove`: say which one."
            )
        async with self._store.transaction() as conn:
            missing, count = await missing_models(conn, digests, SHOWN_MISSING)
            if count:
                raise ModelsNotFound(missing, count)
            await refuse_unknown_tags(conn, [*added, *removed])
            changed = await retag_models(conn, digests, added, removed)
            if changed:
                await touch_models(conn, changed)
        return Retagged(changed)

    async def delete(self, sha256: str) -> str:
        """Remove the model and its gallery (never its file); its canonical digest."""
        sha256 = normalize_sha256(sha256)
        async with self._gallery.editing(sha256) as current, self._store.transaction() as conn:
            if await model_in(conn, sha256) is None:
                raise ModelNotFound(sha256)
            await self._gallery.remove_all(conn, sha256, current)
            await delete_model(conn, sha256)
        return sha256

    async def _current(
        self, conn: aiosqlite.Connection, sha256: str, expected_updated_at: datetime | None
    ) -> Model:
        model = await model_in(conn, sha256)
        if model is None:
            raise ModelNotFound(sha256)
        if expected_updated_at is not None and _ms(expected_updated_at) != _ms(model.updated_at):
            raise EditConflict(model)
        return model


def _given(value: str | Missing | None, clean: Any) -> Any:
    return MISSING if isinstance(value, Missing) else clean(value)


def _ms(moment: datetime) -> int:
    """A moment in epoch milliseconds (the store's precision); a time without a zone is UTC."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return round(aware.timestamp() * 1000)


def _digest(value: str) -> str:
    try:
        return normalize_sha256(value)
    except InvalidSha256 as error:
        raise InvalidValue("sha256s", str(error)) from None


def _is_file(path: str) -> bool:
    """Whether a regular file is at `path` (following links); False for any error."""
    try:
        return Path(path).is_file()
    except (OSError, ValueError):
        return False
