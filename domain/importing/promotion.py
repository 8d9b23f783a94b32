"""Stage 2: importing one pending model (`importAModel`), and resolving a conflict.

1. One operation at a time per pending id: a second call gets `PendingImportBusy` at once.
2. The pending row is loaded and its file hashed — unless the digest cached on the row
   was computed for the file's current size and mtime, so answering a conflict and calling
   again never reads the file twice.
3. Under a lock on the digest (two pending imports with the same content, imported at the
   same time: exactly one creates the model, the other meets it):
   - no model has the digest: CREATE it from the pending row;
   - one has, and no strategy was given: report the `Conflict`, change nothing;
   - OVERRIDE: every column takes the pending value, tags are the union, the pending
     images replace the gallery from seq 0 upward (later seqs stay);
   - MERGE: columns and meta by `merge_rules`, tags are the union, pending images are
     appended unless the gallery already has their content;
   - DELETE: the pending import goes, the model is untouched;
   - the model's file is MISSING (the last scan of its folder saw it gone) and no
     strategy, or MERGE, was given: the file has MOVED. The model merges as MERGE does and
     takes the pending import's path; not a conflict, since it is the same file.
4. Everything a step changes commits in one transaction with the gallery rewrite (see
   `domain.images.gallery`), then the pending originals are removed. A failure leaves the state
   before or the state after, never a half: no model whose gallery points at missing files,
   no pending row lost. A pending image that cannot be decoded is reported, not fatal.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

import aiosqlite

from domain.errors import (
    ImageRejected,
    ModelPathTaken,
    PendingImportBusy,
    PendingImportNotFound,
)
from domain.images.gallery import Gallery, Keep, Put, Slot
from domain.images.pipeline import EncodedImage, encode_tiers
from domain.importing.hashing import FileDigest, Hasher, Progress
from domain.importing.merge_rules import merge_meta, merge_value
from domain.locks import KeyedLocks
from domain.records import FileStatus, Model, PendingImage, PendingImport, SampleImage
from domain.store import Store
from domain.store.legacy import images_owed_to_pending
from domain.store.models import (
    get_model,
    insert_model,
    later_than,
    link_model_tags,
    model_in,
    other_model_at,
    update_model,
)
from domain.store.pending import (
    HashCache,
    delete_pending,
    get_pending,
    hash_cache,
    images_of_pending,
    pending_tag_ids,
    save_hash_cache,
)
from domain.workers import Workers


class Strategy(StrEnum):
    OVERRIDE = "override"
    MERGE = "merge"
    DELETE = "delete"


class ImportAction(StrEnum):
    CREATED = "created"
    OVERRIDDEN = "overridden"
    MERGED = "merged"
    DELETED = "deleted"
    MOVED = "moved"


@dataclass(frozen=True, slots=True)
class ImageProblem:
    """A pending image that could not be promoted; the import went on without it."""

    file_name: str
    message: str


@dataclass(frozen=True, slots=True)
class Imported:
    sha256: str
    action: ImportAction
    model: Model
    image_problems: list[ImageProblem]


@dataclass(frozen=True, slots=True)
class Conflict:
    """The library already has a model with the pending file's digest; nothing changed."""

    sha256: str
    existing: Model
    pending: PendingImport


@dataclass(frozen=True, slots=True)
class ForJob:
    """How a job imports: it waits for a manual call on the same id instead of being told
    `Locked`, follows the bytes hashed, and writes its item's outcome in the transaction
    that commits the import (so the item is done exactly when the import is)."""

    job_id: int
    record: Callable[[aiosqlite.Connection, Imported], Awaitable[None]]
    on_progress: Progress | None = None
    on_digest: Callable[[], None] | None = None  # hashing is over; pictures are encoded next
    on_writing: Callable[[], None] | None = None  # from here on the import is being written


class Promoter:
    def __init__(
        self, store: Store, gallery: Gallery, hasher: Hasher, pending_dir: Path, workers: Workers
    ) -> None:
        self._store = store
        self._gallery = gallery
        self._hasher = hasher
        self._pending_dir = pending_dir
        self._workers = workers
        self._pending_locks = KeyedLocks()
        self._digest_locks = KeyedLocks()
        self._claims: dict[int, int] = {}  # pending id → the job that will import it

    def claim(self, job_id: int, pending_ids: Iterable[int]) -> None:
        """Hold these pending imports for a job: `importAModel` on them answers `Locked`."""
        self._claims.update(dict.fromkeys(pending_ids, job_id))

    def release(self, job_id: int) -> None:
        self._claims = {key: job for key, job in self._claims.items() if job != job_id}

    def claimant(self, pending_id: int) -> int | None:
        """The job holding this pending import, if one does."""
        return self._claims.get(pending_id)

    async def import_a_model(
        self, pending_id: int, strategy: Strategy | None, job: ForJob | None = None
    ) -> Imported | Conflict:
        async with self.holding(pending_id, job):
            pending = await get_pending(self._store, pending_id)
            if pending is None:
                raise PendingImportNotFound(pending_id)
            await self.refuse_while_stage_1_owes_images(pending_id)
            digest = await self._digest_of(pending, job)
            if job is not None and job.on_digest is not None:
                job.on_digest()
            pending = replace(pending, sha256=digest.sha256)
            async with self._digest_locks.hold(digest.sha256):
                existing = await get_model(self._store, digest.sha256)
                if existing is not None and strategy is None and not await self._gone(existing):
                    return Conflict(digest.sha256, existing, pending)
                if existing is not None and strategy is Strategy.DELETE:
                    deleted = Imported(digest.sha256, ImportAction.DELETED, existing, [])
                    await self._forget(pending, deleted, job)
                    return deleted
                return await self._promote(pending, digest, existing, strategy, job)

    def holding(
        self, pending_id: int, job: ForJob | None = None
    ) -> AbstractAsyncContextManager[None]:
        """One operation at a time per pending id (an import, or an edit or deletion of it,
        `domain.editing.pending`): a job waits its turn, a person is told `Locked`, as is
        anyone asking for a pending import a job holds."""
        if job is not None:
            return self._pending_locks.hold(pending_id)
        holder = self._claims.get(pending_id)
        if holder is not None:
            raise PendingImportBusy(
                pending_id,
                f"Pending import {pending_id} is held by job {holder}; "
                "pause or cancel the job to import it by hand.",
            )
        return self._pending_locks.hold_now(pending_id, PendingImportBusy(pending_id))

    async def refuse_while_stage_1_owes_images(self, pending_id: int) -> None:
        """Its legacy images not all copied yet: importing now would lose the rest."""
        owed = await images_owed_to_pending(self._store, pending_id)
        if owed:
            raise PendingImportBusy(
                pending_id,
                f"The legacy import still owes pending import {pending_id} {owed} image(s): "
                "wait for it to finish (or run migrateLegacyDb again if it was cut short).",
            )

    async def _gone(self, model: Model) -> bool:
        """Whether a scan saw the model's file gone: the pending file with its digest is then
        the same file, moved. Only a scan's word counts, never a look at the path now: a
        library carried over from another machine has every path missing here, and its
        conflicts are still for the user to decide."""
        return model.file_status is FileStatus.MISSING

    async def _digest_of(self, pending: PendingImport, job: ForJob | None) -> FileDigest:
        """The file's digest, from the row's cache when it was computed for this very file."""
        stamp = await self._hasher.stamp(pending.path)
        cached = await hash_cache(self._store, pending.id)
        if cached is not None and (cached.size_bytes, cached.mtime_ns) == (
            stamp.size_bytes,
            stamp.mtime_ns,
        ):
            return FileDigest(cached.sha256, stamp)
        digest = await self._hasher.digest(pending.path, job.on_progress if job else None)
        async with self._store.transaction() as conn:
            cache = HashCache(digest.sha256, digest.stamp.size_bytes, digest.stamp.mtime_ns)
            await save_hash_cache(conn, pending.id, cache)
        return digest

    async def _promote(
        self,
        pending: PendingImport,
        digest: FileDigest,
        existing: Model | None,
        strategy: Strategy | None,
        job: ForJob | None,
    ) -> Imported:
        originals = await images_of_pending(self._store, [pending.id])
        encoded, problems = await self._encode(originals[pending.id])
        moving = existing is not None and strategy in (None, Strategy.MERGE)
        moving = moving and existing is not None and await self._gone(existing)
        _writing(job)
        async with self._gallery.editing(digest.sha256) as current:
            slots = _slots(current, encoded, _action(existing, strategy, moving))
            rewrite = await self._gallery.prepare(digest.sha256, current, slots)
            try:
                async with self._store.transaction() as conn:
                    # Read again under the writer: an edit (updateModel, setModelTags) or a
                    # deleteModel may have landed while the pictures were encoded. The import
                    # merges into the model as it is now, never over it. (The gallery cannot
                    # have changed: `editing` holds it.)
                    existing = await model_in(conn, digest.sha256)
                    action = _action(existing, strategy, moving)
                    model = _promoted_model(pending, digest, existing, action)
                    imported = Imported(digest.sha256, action, model, problems)
                    await self._write_model(conn, model, action)
                    await link_model_tags(
                        conn, model.sha256, await pending_tag_ids(conn, pending.id)
                    )
                    await self._gallery.commit(conn, rewrite)
                    await delete_pending(conn, pending.id)
                    if job is not None:
                        await job.record(conn, imported)
            except BaseException as error:
                await self._gallery.discard(rewrite, error)
                raise
        await self._workers.run(remove_originals, self._pending_dir, originals[pending.id])
        return imported

    async def _forget(self, pending: PendingImport, deleted: Imported, job: ForJob | None) -> None:
        originals = await images_of_pending(self._store, [pending.id])
        _writing(job)
        async with self._store.transaction() as conn:
            await delete_pending(conn, pending.id)
            if job is not None:
                await job.record(conn, deleted)
        await self._workers.run(remove_originals, self._pending_dir, originals[pending.id])

    async def _write_model(
        self, conn: aiosqlite.Connection, model: Model, action: ImportAction
    ) -> None:
        other = await other_model_at(conn, model.path, model.sha256)
        if other is not None:
            raise ModelPathTaken(model.path, other)
        if action is ImportAction.CREATED:
            await insert_model(conn, model)
        else:
            await update_model(conn, model)

    async def _encode(
        self, originals: list[PendingImage]
    ) -> tuple[list[EncodedImage], list[ImageProblem]]:
        """Every pending image as WebP tiers, in parallel; the ones that fail are reported."""
        results = await asyncio.gather(
            *(
                self._workers.run(_encode_file, self._pending_dir / image.file_name)
                for image in originals
            ),
            return_exceptions=True,
        )
        encoded: list[EncodedImage] = []
        problems: list[ImageProblem] = []
        for image, result in zip(originals, results, strict=True):
            if isinstance(result, EncodedImage):
                encoded.append(result)
            elif isinstance(result, ImageRejected | OSError):
                problems.append(ImageProblem(image.file_name, str(result)))
            else:
                raise result
        return encoded, problems


def _writing(job: ForJob | None) -> None:
    """Tell the job the import is past its last step that can be abandoned: a pause now
    lets it finish (its write is quick) rather than cut it short."""
    if job is not None and job.on_writing is not None:
        job.on_writing()


def _action(existing: Model | None, strategy: Strategy | None, moving: bool) -> ImportAction:
    if existing is None:
        return ImportAction.CREATED
    if strategy is Strategy.OVERRIDE:
        return ImportAction.OVERRIDDEN
    return ImportAction.MOVED if moving else ImportAction.MERGED


def _promoted_model(
    pending: PendingImport, digest: FileDigest, existing: Model | None, action: ImportAction
) -> Model:
    # Later than the model's last change even when the clock is not (see `later_than`), so a
    # client's `expectedUpdatedAt` from before the import is stale after it.
    now = datetime.now(UTC) if existing is None else later_than(existing.updated_at)
    incoming = Model(
        sha256=digest.sha256,
        path=pending.path,
        name=pending.name,
        type=pending.type,
        size_bytes=digest.stamp.size_bytes,  # measured now, truer than what was recorded
        created_at=pending.created_at,
        updated_at=now,
        meta=pending.meta,
        base_model=pending.base_model,
        hashed_mtime_ns=digest.stamp.mtime_ns,
    )
    if existing is None:
        return incoming
    if action is ImportAction.OVERRIDDEN:
        return replace(incoming, created_at=existing.created_at)
    merged = Model(
        sha256=existing.sha256,
        path=merge_value(existing.path, incoming.path),
        name=merge_value(existing.name, incoming.name),
        type=merge_value(existing.type, incoming.type),
        size_bytes=merge_value(existing.size_bytes, incoming.size_bytes),
        created_at=existing.created_at,
        updated_at=now,
        meta=merge_meta(existing.meta, incoming.meta),
        file_status=existing.file_status,
        base_model=merge_value(existing.base_model, incoming.base_model),
        hashed_mtime_ns=existing.hashed_mtime_ns,
    )
    if action is ImportAction.MOVED:  # the file is the pending one's, where it is now
        return replace(
            merged,
            path=incoming.path,
            size_bytes=incoming.size_bytes,
            file_status=FileStatus.PRESENT,
            hashed_mtime_ns=incoming.hashed_mtime_ns,
        )
    return merged


def _slots(
    current: list[SampleImage], encoded: list[EncodedImage], action: ImportAction
) -> list[Slot]:
    """The gallery each action leaves, seq by seq."""
    unique = _first_of_each(encoded)
    if action in (ImportAction.MERGED, ImportAction.MOVED):
        have = {image.source_digest for image in current}
        return [
            *(Keep(image.seq) for image in current),
            *(Put(e) for e in unique if e.source_digest not in have),
        ]
    placed = {image.source_digest for image in unique}
    kept = [
        Keep(image.seq) for image in current[len(unique) :] if image.source_digest not in placed
    ]
    return [*(Put(image) for image in unique), *kept]


def _first_of_each(encoded: list[EncodedImage]) -> list[EncodedImage]:
    """The pictures in order, each content once (the same picture listed twice is one)."""
    first: dict[str, EncodedImage] = {}
    for image in encoded:
        first.setdefault(image.source_digest, image)
    return list(first.values())


def _encode_file(path: Path) -> EncodedImage:
    return encode_tiers(path.read_bytes())


def remove_originals(folder: Path, images: list[PendingImage]) -> None:
    """Remove pending originals whose rows are gone (committed): a crash before this leaves
    files no row lists, which `Gallery.recover()` removes at the next start."""
    for image in images:
        (folder / image.file_name).unlink(missing_ok=True)
