"""Correcting a pending import before it is imported (`update`), or dropping it (`delete`).

Both hold the pending import the way `importAModel` does (`Promoter.holding`): while it is
being imported, or a job holds it, the answer is `Locked` and nothing changes; an import
asked for while an edit runs is told `Locked` in turn.

Deleting removes the row, its tag links and its image rows in one transaction, then its
original images in `images/pending/`; the model file is never touched. The journal of
gallery moves (`file_moves`) names tier files of a gallery, so originals do not go through
it: a crash between the commit and the removal leaves originals no row lists, and
`Gallery.recover()` removes exactly those at the next start (as after an import).

A pending import has no `updatedAt`, so its edits have no `expectedUpdatedAt` check: it
is edited before an import, usually once, by the person about to import it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from domain.editing.meta import MISSING, Missing, edited_meta
from domain.editing.tag_choice import refuse_unknown_tags, tag_choice
from domain.editing.values import model_name, model_type
from domain.errors import PendingImportNotFound
from domain.importing.promotion import Promoter, remove_originals
from domain.records import PendingImport
from domain.store import Store
from domain.store.pending import delete_pending, pending_images_in, pending_in, update_pending
from domain.store.tag_links import set_pending_tags
from domain.workers import Workers


@dataclass(frozen=True, slots=True)
class PendingEdit:
    """What to change; a field left `MISSING` keeps its value. `tags` are tag ids: the
    pending import ends with exactly these."""

    name: str | Missing | None = MISSING
    type: str | Missing | None = MISSING
    tags: list[int] | Missing | None = MISSING
    meta: Any = MISSING
    meta_patch: Any = MISSING


class PendingEditor:
    def __init__(
        self, store: Store, promoter: Promoter, pending_dir: Path, workers: Workers
    ) -> None:
        self._store = store
        self._promoter = promoter
        self._pending_dir = pending_dir
        self._workers = workers

    async def update(self, pending_id: int, edit: PendingEdit) -> PendingImport:
        name = MISSING if isinstance(edit.name, Missing) else model_name(edit.name)
        type = MISSING if isinstance(edit.type, Missing) else model_type(edit.type)
        tags = MISSING if isinstance(edit.tags, Missing) else tag_choice(edit.tags, "tags")
        async with self._promoter.holding(pending_id), self._store.transaction() as conn:
            current = await pending_in(conn, pending_id)
            if current is None:
                raise PendingImportNotFound(pending_id)
            edited = replace(
                current,
                name=current.name if isinstance(name, Missing) else name,
                type=current.type if isinstance(type, Missing) else type,
                meta=edited_meta(current.meta, edit.meta, edit.meta_patch),
            )
            if edited != current:
                await update_pending(conn, edited)
            if not isinstance(tags, Missing):
                await refuse_unknown_tags(conn, tags)
                await set_pending_tags(conn, pending_id, tags)
        return edited

    async def delete(self, pending_id: int) -> int:
        """Drop the pending import and its original images; its id."""
        async with self._promoter.holding(pending_id):
            # Stage 1 still copying its originals would copy them for a row that is gone.
            await self._promoter.refuse_while_stage_1_owes_images(pending_id)
            async with self._store.transaction() as conn:
                if await pending_in(conn, pending_id) is None:
                    raise PendingImportNotFound(pending_id)
                originals = await pending_images_in(conn, pending_id)
                await delete_pending(conn, pending_id)
            await self._workers.run(remove_originals, self._pending_dir, originals)
        return pending_id
