"""The `PendingImport` type and its original images (`PendingImage`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from api.context import Context
from api.prefetch import Resolved, prefetch, prefetched_or_loaded, requested_fields
from api.scalars import BigInt
from api.types.tag import Tag
from api.urls import pending_image_url
from domain import records


@strawberry.type(
    description="An original image of a pending import, kept byte for byte until it is imported."
)
class PendingImage:
    seq: int = strawberry.field(
        description="The image's place among the pending model's images, from 0."
    )
    filename: str = strawberry.field(
        description="The stored file's name under the pending image folder."
    )
    size_bytes: BigInt = strawberry.field(description="The file size in bytes.")

    @strawberry.field(description="Where to fetch the original bytes.")
    def url(self) -> str:
        return pending_image_url(self.filename)

    @classmethod
    def of(cls, image: records.PendingImage) -> PendingImage:
        return cls(seq=image.seq, filename=image.file_name, size_bytes=BigInt(image.size_bytes))


@strawberry.type(
    description="A model file waiting to be imported: carried over from the legacy app but not "
    "yet hashed, or hashed and in conflict with a model the library already has."
)
class PendingImport:
    id: int = strawberry.field(
        description="The pending import's id (one from the legacy app keeps its legacy row id)."
    )
    path: str = strawberry.field(
        description="Where the model file is: as the legacy app recorded it, or where a scan "
        "found it."
    )
    name: str = strawberry.field(description="The display name, usually the file name.")
    type: str = strawberry.field(
        description="The kind of model in lower case: checkpoint, lora, vae, …"
    )
    size_bytes: BigInt | None = strawberry.field(
        description="The file size in bytes as last recorded, when known; may exceed 2^31."
    )
    created_at: datetime = strawberry.field(description="When the legacy app first saw the file.")
    meta: JSON = strawberry.field(description="Free-form metadata as a JSON object.")
    sha256: str | None = strawberry.field(
        description="The file's SHA-256 when already known (for example a duplicate of a "
        "library model), else null until the import hashes it."
    )
    file_status: records.FileStatus = strawberry.field(
        description="Whether the file is still at `path`, as the last scan of its folder saw "
        "(CHANGED: not the file its known SHA-256 was computed for)."
    )
    base_model: str | None = strawberry.field(
        description="The base model the file's own header names, as on Model, or null."
    )

    # Set when the resolver that produced this row prefetched them (see api.prefetch).
    prefetched_tags: strawberry.Private[list[Tag] | None] = None
    prefetched_images: strawberry.Private[list[PendingImage] | None] = None

    @strawberry.field(
        description="The tags the model will carry once imported, by name.", graphql_type=list[Tag]
    )
    def tags(self, info: strawberry.Info[Context, None]) -> Resolved[list[Tag]]:
        loader = info.context.loaders.pending_tags
        return prefetched_or_loaded(self.prefetched_tags, loader, self.id, Tag.of)

    @strawberry.field(
        description="The original images that will become the model's gallery, in seq order.",
        graphql_type=list[PendingImage],
    )
    def images(self, info: strawberry.Info[Context, None]) -> Resolved[list[PendingImage]]:
        loader = info.context.loaders.pending_images
        return prefetched_or_loaded(self.prefetched_images, loader, self.id, PendingImage.of)

    @classmethod
    async def many(
        cls, info: strawberry.Info[Context, None], pending: Sequence[records.PendingImport]
    ) -> list[PendingImport]:
        """Convert a page of pending imports with the relations the client asked for
        prefetched."""
        wanted, loaders = requested_fields(info), info.context.loaders
        keys = [row.id for row in pending]
        tags = await prefetch(wanted, "tags", loaders.pending_tags, keys, Tag.of)
        images = await prefetch(wanted, "images", loaders.pending_images, keys, PendingImage.of)
        return [
            cls.of(row, tags=row_tags, images=row_images)
            for row, row_tags, row_images in zip(pending, tags, images, strict=True)
        ]

    @classmethod
    def of(
        cls,
        pending: records.PendingImport,
        *,
        tags: list[Tag] | None = None,
        images: list[PendingImage] | None = None,
    ) -> PendingImport:
        return cls(
            id=pending.id,
            path=pending.path,
            name=pending.name,
            type=pending.type,
            size_bytes=BigInt(pending.size_bytes) if pending.size_bytes is not None else None,
            created_at=pending.created_at,
            meta=JSON(pending.meta),
            sha256=pending.sha256,
            file_status=pending.file_status,
            base_model=pending.base_model,
            prefetched_tags=tags,
            prefetched_images=images,
        )
