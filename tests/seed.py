"""Putting rows into a library the way later stages will: through the store's own writes."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path
from typing import TYPE_CHECKING, Any

from domain.images.tiers import Quality, tier_sizes
from domain.records import (
    FileStatus,
    ImageTier,
    Model,
    PendingImage,
    PendingImport,
    SampleImage,
    Tag,
)
from domain.store import Store
from domain.store.gallery import insert_sample_image
from domain.store.models import insert_model, link_model_tags
from domain.store.pending import insert_pending, insert_pending_image, link_pending_tags
from domain.store.tags import insert_tag

if TYPE_CHECKING:  # only for the type: conftest builds the app, this module only fills it
    from tests.conftest import Shelf

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
_serial = count()


def tiers_of(width: int, height: int) -> tuple[ImageTier, ...]:
    """The tiers the pipeline would record for a HIGH tier of this size."""
    sizes = tier_sizes((width, height))
    return tuple(ImageTier(q, *sizes[q], 10_000 // (i + 1)) for i, q in enumerate(Quality))


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


async def add_tags(store: Store, *names: str, color: str | None = None) -> list[Tag]:
    async with store.transaction() as conn:
        return [await insert_tag(conn, name, color) for name in names]


async def add_model(
    store: Store,
    name: str,
    *,
    type: str = "lora",
    size_bytes: int | None = 123_456,
    meta: dict[str, Any] | None = None,
    tags: Sequence[Tag] = (),
    images: int = 0,
    file_status: FileStatus = FileStatus.PRESENT,
    base_model: str | None = None,
) -> Model:
    """Add a model named `name` with `images` gallery rows; its digest derives from its name."""
    serial = next(_serial)
    moment = EPOCH + timedelta(seconds=serial)
    model = Model(
        sha256=digest(f"model {name} {serial}"),
        path=f"/models/{type}/{name}.{serial}.safetensors",
        name=name,
        type=type,
        size_bytes=size_bytes,
        created_at=moment,
        updated_at=moment,
        meta=meta or {},
        file_status=file_status,
        base_model=base_model,
    )
    async with store.transaction() as conn:
        await insert_model(conn, model)
        await link_model_tags(conn, model.sha256, [tag.id for tag in tags])
        for seq in range(images):
            await insert_sample_image(
                conn,
                SampleImage(
                    sha256=model.sha256,
                    seq=seq,
                    width=1024 - seq,
                    height=1536,
                    source_digest=digest(f"image {model.sha256} {seq}"),
                    generation={"seed": seq} if seq % 2 else None,
                    created_at=moment,
                    tiers=tiers_of(1024 - seq, 1536),
                ),
            )
    return model


async def add_pending(
    store: Store,
    pending_id: int,
    *,
    name: str | None = None,
    sha256: str | None = None,
    tags: Sequence[Tag] = (),
    images: int = 0,
    size_bytes: int | None = 7 * 1024**3,
    file_status: FileStatus = FileStatus.PRESENT,
    base_model: str | None = None,
) -> PendingImport:
    pending = PendingImport(
        id=pending_id,
        path=f"C:\\ComfyUI\\models\\loras\\pending_{pending_id}.safetensors",
        name=name or f"pending_{pending_id}.safetensors",
        type="lora",
        size_bytes=size_bytes,
        created_at=EPOCH,
        meta={"description": f"pending {pending_id}"},
        sha256=sha256,
        file_status=file_status,
        base_model=base_model,
    )
    async with store.transaction() as conn:
        await insert_pending(conn, pending)
        await link_pending_tags(conn, pending_id, [tag.id for tag in tags])
        for seq in range(images):
            image = PendingImage(pending_id, seq, f"{pending_id}_{seq}.png", 1000 + seq)
            await insert_pending_image(conn, image)
    return pending


async def pending_file(
    shelf: Shelf,
    folder: Path,
    pending_id: int,
    content: bytes,
    *,
    images: Sequence[bytes] = (),
    tags: Sequence[Tag] = (),
    meta: dict[str, Any] | None = None,
    name: str | None = None,
) -> PendingImport:
    """A pending import whose model file and original images exist on disk."""
    path = folder / f"file{pending_id}.safetensors"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    pending = PendingImport(
        pending_id, str(path), name or path.name, "lora", 1, EPOCH, meta or {}, None
    )
    async with shelf.store.transaction() as conn:
        await insert_pending(conn, pending)
        await link_pending_tags(conn, pending_id, [tag.id for tag in tags])
        for seq, data in enumerate(images):
            file_name = f"{pending_id}_{seq}.png"
            (shelf.config.pending_images_dir / file_name).write_bytes(data)
            await insert_pending_image(conn, PendingImage(pending_id, seq, file_name, len(data)))
    return pending


def seed_pending_files(
    data_dir: Path, files: Path, contents: list[bytes], *, models: Sequence[bytes] = ()
) -> None:
    """Pending imports 1, 2, … whose files hold `contents`, and library models whose
    digests are those of `models` (a pending file with the same bytes is a conflict)."""
    files.mkdir(parents=True, exist_ok=True)
    pending = []
    for pending_id, content in enumerate(contents, start=1):
        path = files / f"model{pending_id}.safetensors"
        path.write_bytes(content)
        pending.append(
            PendingImport(pending_id, str(path), path.name, "lora", len(content), EPOCH, {}, None)
        )

    async def write() -> None:
        (data_dir / "images" / "pending").mkdir(parents=True, exist_ok=True)
        store = await Store.open(data_dir / "library.db")
        try:
            async with store.transaction() as conn:
                for row in pending:
                    await insert_pending(conn, row)
                for n, content in enumerate(models):
                    sha = hashlib.sha256(content).hexdigest()
                    model = Model(
                        sha, f"/lib/m{n}.safetensors", f"m{n}", "lora", 1, EPOCH, EPOCH, {}
                    )
                    await insert_model(conn, model)
        finally:
            await store.close()

    asyncio.run(write())
