"""A model's gallery: its pictures' files and index rows, changed together and safely.

Every change (add, replace, delete, and Stage 2's create / override / merge) is one
*rewrite*: the caller says what the gallery must hold, seq by seq — a picture it already
has (`Keep`, from its current seq) or a new one (`Put`) — and the rewrite does the rest.
Deleting the model removes the whole gallery through the same journal (`remove_all`).

Rules every rewrite keeps:
- New pictures are encoded before anything is locked or written: a rejected image changes
  nothing, and encoding runs in parallel across models.
- One rewrite at a time per model (a keyed lock); its rows change in the caller's
  transaction, so they commit or vanish with the caller's other rows.
- No index row ever points to a file that does not exist. New tier files are written under
  temporary names (flushed) before the transaction. Seqs the gallery did not have yet get
  their files renamed into place before the commit; a transaction that fails removes them
  again, and a crash there leaves files no row names, which `recover()` sweeps away. Seqs
  that rows already point to change through the `file_moves` journal: written in the same
  transaction as the rows, carried out right after the commit, and replayed by `recover()`
  if a crash came in between. A picture that moves to a lower seq is hard-linked under a
  temporary name first, so every move has a source of its own and replaying them is safe
  in any state.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite

from domain.errors import DuplicateImage, ModelNotFound, SampleImageNotFound
from domain.filesystem.writes import (
    TEMP_PREFIX,
    link_beside,
    place,
    sync_folder,
    temp_path_beside,
    write_durably,
)
from domain.images.pipeline import EncodedImage, encode_tiers
from domain.images.tiers import Quality, tier_file_name
from domain.importing.hashing import normalize_sha256
from domain.locks import KeyedLocks
from domain.records import ImageTier, SampleImage
from domain.store import Store
from domain.store.file_moves import FileMove, forget_moves, owed_moves, plan_moves
from domain.store.gallery import all_gallery_keys, gallery_of, replace_gallery
from domain.store.models import model_exists, touch_model
from domain.store.pending import all_pending_image_names
from domain.workers import Workers

_TIER_FILE = re.compile(r"(?P<sha256>[0-9a-f]{64})_(?P<seq>[0-9]+)_(?:high|medium|low)\.webp")


@dataclass(frozen=True, slots=True)
class Keep:
    """A picture the gallery has, taken from its current seq."""

    seq: int


@dataclass(frozen=True, slots=True)
class Put:
    """A new picture."""

    encoded: EncodedImage


Slot = Keep | Put


@dataclass(slots=True)
class Rewrite:
    """A rewrite prepared for one gallery: its files staged, ready to commit."""

    sha256: str
    current: list[SampleImage]
    slots: list[Slot]
    temp_files: dict[tuple[int, Quality], Path] = field(default_factory=dict)  # (new seq, tier)
    placed: list[Path] = field(default_factory=list)  # new seqs' files, put in place by commit


@dataclass(frozen=True, slots=True)
class RecoveryReport:
    """What `recover()` did at startup to finish or undo work a crash interrupted."""

    moves_replayed: int = 0
    temp_files_removed: int = 0
    orphan_tier_files_removed: int = 0
    orphan_pending_originals_removed: int = 0

    def actions(self) -> list[str]:
        """One line for each kind of thing done, for the log; none when there was nothing
        to do. A recovery removes files: whoever reads the log must see that it did."""
        lines = [
            (self.moves_replayed, "replayed {} gallery file move(s) committed but not done"),
            (self.temp_files_removed, "removed {} temporary file(s) of unfinished writes"),
            (
                self.orphan_tier_files_removed,
                "removed {} tier file(s) no gallery row names (placed, never committed)",
            ),
            (
                self.orphan_pending_originals_removed,
                "removed {} pending original(s) no pending import lists",
            ),
        ]
        return [text.format(count) for count, text in lines if count]


class Gallery:
    """The galleries of the library, over the image folder and the `sample_images` index."""

    def __init__(self, store: Store, images_dir: Path, workers: Workers) -> None:
        self._store = store
        self._dir = images_dir
        self._workers = workers
        self._locks = KeyedLocks()

    async def pictures(self, sha256: str) -> list[SampleImage]:
        """The gallery in seq order."""
        async with self._store.read() as conn:
            return await gallery_of(conn, normalize_sha256(sha256))

    # The three edits of one picture -----------------------------------------------------

    async def add(self, sha256: str, source: bytes) -> SampleImage:
        """Append a picture at the next free seq."""
        sha256, encoded = await self._encode_for(sha256, source)
        async with self.editing(sha256) as current:
            _refuse_duplicate(current, encoded, sha256, replacing=None)
            slots: list[Slot] = [*(Keep(image.seq) for image in current), Put(encoded)]
            return (await self._rewrite_model(sha256, current, slots))[-1]

    async def put(self, sha256: str, seq: int, source: bytes) -> SampleImage:
        """Put a picture at `seq`, replacing the one there; `seq` equal to the gallery's
        length appends."""
        sha256, encoded = await self._encode_for(sha256, source)
        async with self.editing(sha256) as current:
            if not 0 <= seq <= len(current):
                raise SampleImageNotFound(sha256, seq, len(current))
            _refuse_duplicate(current, encoded, sha256, replacing=seq)
            slots: list[Slot] = [Keep(image.seq) for image in current]
            slots[seq : seq + 1] = [Put(encoded)]
            return (await self._rewrite_model(sha256, current, slots))[seq]

    async def delete(self, sha256: str, seq: int) -> str:
        """Remove the picture at `seq`; later pictures move down by one. Returns the model's
        digest in canonical form."""
        sha256 = normalize_sha256(sha256)
        await self._require_model(sha256)
        async with self.editing(sha256) as current:
            if not 0 <= seq < len(current):
                raise SampleImageNotFound(sha256, seq, len(current))
            await self._rewrite_model(
                sha256, current, [Keep(i.seq) for i in current if i.seq != seq]
            )
        return sha256

    # The general rewrite ----------------------------------------------------------------

    @asynccontextmanager
    async def editing(self, sha256: str) -> AsyncIterator[list[SampleImage]]:
        """Hold the gallery of `sha256` for a rewrite and give its current pictures. Moves
        owed by an earlier change are carried out first (they must never run after a newer
        change to the same files), and the rewrite's own ones when the block ends."""
        async with self._locks.hold(sha256):
            await self._settle(sha256)
            try:
                async with self._store.read() as conn:
                    yield await gallery_of(conn, sha256)
            finally:
                await self._settle(sha256)

    async def prepare(
        self, sha256: str, current: list[SampleImage], slots: Sequence[Slot]
    ) -> Rewrite:
        """Stage the files of a rewrite (inside `editing`, before the transaction)."""
        rewrite = Rewrite(sha256, current, list(slots))
        await self._workers.run(self._stage, rewrite)
        return rewrite

    async def commit(self, conn: aiosqlite.Connection, rewrite: Rewrite) -> list[SampleImage]:
        """Write the rewrite's rows and file moves in the caller's transaction (the model row
        must exist in it). Call `discard` if the transaction then fails."""
        images = _final_rows(rewrite)
        await replace_gallery(conn, rewrite.sha256, images)
        await self._workers.run(self._publish_new_seqs, rewrite)
        await plan_moves(conn, rewrite.sha256, _moves(rewrite))
        return images

    async def remove_all(
        self, conn: aiosqlite.Connection, sha256: str, current: list[SampleImage]
    ) -> None:
        """Plan the removal of every file of the gallery (inside `editing`) in the caller's
        transaction, the one that removes its rows (deleting the model): the journal has the
        files removed when `editing` ends, or by `recover()` after a crash."""
        await plan_moves(
            conn,
            sha256,
            [(tier_file_name(sha256, image.seq, q), None) for image in current for q in Quality],
        )

    async def discard(self, rewrite: Rewrite, error: BaseException) -> None:
        """Remove the files of a rewrite whose transaction raised `error`: its temporary
        files, and the new seqs' files `commit` had put in place when `error` is an ordinary
        exception, which the store raises only for a transaction that did not commit (a full
        disk at the commit, say). A cancellation may have struck while the commit went on
        regardless: those files stay for `recover()` to judge at the next start."""
        placed = rewrite.placed if isinstance(error, Exception) else []
        await self._workers.run(_unlink_all, [*rewrite.temp_files.values(), *placed])

    async def recover(self) -> RecoveryReport:
        """Finish what a crash interrupted, at startup, before any gallery operation: carry
        out owed file moves, then remove temporary files and files no row names."""
        moves = await owed_moves(self._store)
        await self._carry_out(moves)
        temp = await self._workers.run(self._remove_stray_temp_files)
        async with self._store.read() as conn:
            gallery_keys = await all_gallery_keys(conn)
            pending_names = await all_pending_image_names(conn)
        tiers = await self._workers.run(self._remove_orphan_tiers, gallery_keys)
        originals = await self._workers.run(self._remove_orphan_originals, pending_names)
        return RecoveryReport(len(moves), temp, tiers, originals)

    async def _rewrite_model(
        self, sha256: str, current: list[SampleImage], slots: list[Slot]
    ) -> list[SampleImage]:
        rewrite = await self.prepare(sha256, current, slots)
        try:
            async with self._store.transaction() as conn:
                if not await model_exists(conn, sha256):
                    raise ModelNotFound(sha256)
                images = await self.commit(conn, rewrite)
                await touch_model(conn, sha256)
        except BaseException as error:
            await self.discard(rewrite, error)
            raise
        return images

    async def _encode_for(self, sha256: str, source: bytes) -> tuple[str, EncodedImage]:
        """The canonical digest and the encoded picture, checking the model exists first:
        the cheap refusal before the costly work, and no lock held while encoding."""
        sha256 = normalize_sha256(sha256)
        await self._require_model(sha256)
        return sha256, await self._workers.run(encode_tiers, source)

    async def _require_model(self, sha256: str) -> None:
        async with self._store.read() as conn:
            if not await model_exists(conn, sha256):
                raise ModelNotFound(sha256)

    async def _settle(self, sha256: str) -> None:
        await self._carry_out(await owed_moves(self._store, sha256))

    async def _carry_out(self, moves: list[FileMove]) -> None:
        if not moves:
            return
        await self._workers.run(self._move_files, moves)
        async with self._store.transaction() as conn:
            await forget_moves(conn, moves)

    # Blocking file work below: run only on the workers.

    def _stage(self, rewrite: Rewrite) -> None:
        """Write each new picture's tiers, and link each picture that moves, under temporary
        names; on failure remove what was written."""
        try:
            for seq, slot in enumerate(rewrite.slots):
                for quality in Quality:
                    final = self._dir / tier_file_name(rewrite.sha256, seq, quality)
                    if isinstance(slot, Put):
                        temp = temp_path_beside(final)
                        write_durably(temp, slot.encoded.tier(quality).data)
                    elif slot.seq != seq:
                        source = self._dir / tier_file_name(rewrite.sha256, slot.seq, quality)
                        temp = link_beside(source, final)
                    else:
                        continue
                    rewrite.temp_files[seq, quality] = temp
        except BaseException:
            _unlink_all(rewrite.temp_files.values())
            raise

    def _publish_new_seqs(self, rewrite: Rewrite) -> None:
        """Seqs no row pointed to before: their files go into place before the commit."""
        for (seq, quality), temp in list(rewrite.temp_files.items()):
            if seq >= len(rewrite.current):
                final = self._dir / tier_file_name(rewrite.sha256, seq, quality)
                place(temp, final)
                rewrite.placed.append(final)
                del rewrite.temp_files[seq, quality]
        sync_folder(self._dir)

    def _move_files(self, moves: list[FileMove]) -> None:
        for move in moves:
            source = self._dir / move.source
            if move.target is None:
                source.unlink(missing_ok=True)
            elif source.exists():  # already moved when a replay repeats it
                source.replace(self._dir / move.target)
        sync_folder(self._dir)

    def _remove_stray_temp_files(self) -> int:
        strays = list(self._dir.rglob(f"{TEMP_PREFIX}*"))  # pending originals' folder too
        for stray in strays:
            stray.unlink(missing_ok=True)
        return len(strays)

    def _remove_orphan_tiers(self, gallery_keys: set[tuple[str, int]]) -> int:
        """Tier files no row names: left by a crash between placing files and committing."""
        return _unlink_counted(
            path
            for path in self._dir.iterdir()
            if (match := _TIER_FILE.fullmatch(path.name))
            and (match["sha256"], int(match["seq"])) not in gallery_keys
        )

    def _remove_orphan_originals(self, pending_names: set[str]) -> int:
        """Pending originals no row lists: copied by a legacy import that died before its
        commit, or left by a Stage 2 import that died before removing them."""
        pending_dir = self._dir / "pending"
        if not pending_dir.is_dir():
            return 0
        return _unlink_counted(p for p in pending_dir.iterdir() if p.name not in pending_names)


def _final_rows(rewrite: Rewrite) -> list[SampleImage]:
    by_seq = {image.seq: image for image in rewrite.current}
    now = datetime.now(UTC)
    return [
        replace(by_seq[slot.seq], seq=seq)
        if isinstance(slot, Keep)
        else _index_row(rewrite.sha256, seq, slot.encoded, now)
        for seq, slot in enumerate(rewrite.slots)
    ]


def _moves(rewrite: Rewrite) -> list[tuple[str, str | None]]:
    """Renames onto seqs that rows already named, then deletions of seqs the gallery no
    longer has (never a rename target, so the order is safe to replay)."""
    moves: list[tuple[str, str | None]] = [
        (temp.name, tier_file_name(rewrite.sha256, seq, quality))
        for (seq, quality), temp in sorted(rewrite.temp_files.items())
    ]
    moves += [
        (tier_file_name(rewrite.sha256, seq, quality), None)
        for seq in range(len(rewrite.slots), len(rewrite.current))
        for quality in Quality
    ]
    return moves


def _index_row(sha256: str, seq: int, encoded: EncodedImage, now: datetime) -> SampleImage:
    high = encoded.tier(Quality.HIGH)
    return SampleImage(
        sha256=sha256,
        seq=seq,
        width=high.width,
        height=high.height,
        source_digest=encoded.source_digest,
        generation=encoded.generation,
        created_at=now,
        tiers=tuple(ImageTier(t.quality, t.width, t.height, len(t.data)) for t in encoded.tiers),
    )


def _refuse_duplicate(
    gallery: list[SampleImage], encoded: EncodedImage, sha256: str, replacing: int | None
) -> None:
    for image in gallery:
        if image.source_digest == encoded.source_digest and image.seq != replacing:
            raise DuplicateImage(sha256, image.seq)


def _unlink_all(paths: Iterable[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def _unlink_counted(paths: Iterable[Path]) -> int:
    removed = list(paths)  # listed whole first: never unlink while iterating the folder
    _unlink_all(removed)
    return len(removed)
