"""The `PendingImport` type and its original images (`PendingImage`)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from api.context import Context
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
    id: int = strawberry.field(description="The pending import's id: the legacy row id, kept.")
    path: str = strawberry.field(
        description="Where the model file was, as the legacy app recorded it."
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

    @strawberry.field(description="The tags the model will carry once imported, by name.")
    async def tags(self, info: strawberry.Info[Context, None]) -> list[Tag]:
        return [Tag.of(tag) for tag in await info.context.loaders.pending_tags.load(self.id)]

    @strawberry.field(
        description="The original images that will become the model's gallery, in seq order."
    )
    async def images(self, info: strawberry.Info[Context, None]) -> list[PendingImage]:
        return [PendingImage.of(i) for i in await info.context.loaders.pending_images.load(self.id)]

    @classmethod
    def of(cls, pending: records.PendingImport) -> PendingImport:
        return cls(
            id=pending.id,
            path=pending.path,
            name=pending.name,
            type=pending.type,
            size_bytes=BigInt(pending.size_bytes) if pending.size_bytes is not None else None,
            created_at=pending.created_at,
            meta=JSON(pending.meta),
            sha256=pending.sha256,
        )
