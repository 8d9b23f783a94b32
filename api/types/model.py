"""The `Model` type and its gallery (`SampleImage`, `ImageQuality`)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from api.context import Context
from api.enums import domain_enum
from api.prefetch import Resolved, prefetch, prefetched_or_loaded, requested_fields
from api.scalars import BigInt
from api.types.tag import Tag
from api.urls import sample_image_url
from domain import records
from domain.images.tiers import Quality, gallery_name
from domain.store.models import ModelSort

domain_enum(
    Quality,
    name="ImageQuality",
    description="A tier of a sample image.",
    values={
        Quality.HIGH: "At most 2 megapixels, and at most 16,383 pixels a side (WebP's limit).",
        Quality.MEDIUM: "About 2/3 of HIGH's width and height.",
        Quality.LOW: "About 1/3 of HIGH's width and height.",
    },
)

domain_enum(
    records.FileStatus,
    name="FileStatus",
    description="Whether a file is still where the library says, as the last scan of its "
    "folder saw it (scanFolders). A file never scanned since it entered the library is PRESENT.",
    values={
        records.FileStatus.PRESENT: "At its path, as it was when hashed (or found).",
        records.FileStatus.MISSING: "Not at its path. Scanning the folder it moved to, and "
        "importing it there, moves the model (MOVED).",
        records.FileStatus.CHANGED: "At its path, but its size or modification time are not "
        "the ones it had when it was hashed: its SHA-256 may no longer be its content's.",
    },
)

domain_enum(
    ModelSort,
    name="ModelSort",
    description="What the model list is ordered by. Models that tie are ordered by their "
    "SHA-256, in the same direction, so every order is total and pages never overlap.",
    values={
        ModelSort.NAME: "By name, ignoring case.",
        ModelSort.CREATED_AT: "By when the model entered the library (or the legacy app).",
        ModelSort.UPDATED_AT: "By when the model was last changed.",
        ModelSort.SIZE: "By file size. Models of unknown size come last in both directions.",
    },
)


@strawberry.type(description="A model type the library holds, with how many models have it.")
class ModelTypeCount:
    type: str = strawberry.field(description="The type, in lower case: checkpoint, lora, …")
    count: int = strawberry.field(description="How many models of the library have this type.")

    @classmethod
    def of(cls, counted: records.ModelTypeCount) -> ModelTypeCount:
        return cls(type=counted.type, count=counted.count)


@strawberry.type(description="One stored quality of a sample image.")
class ImageTier:
    quality: Quality = strawberry.field(description="Which tier this is.")
    width: int = strawberry.field(description="Width in pixels.")
    height: int = strawberry.field(description="Height in pixels.")
    size_bytes: BigInt | None = strawberry.field(description="The WebP file's size in bytes.")
    url: str = strawberry.field(description="Where to fetch this tier (cacheable for good).")


@strawberry.type(description="One picture of a model's gallery, stored as WebP in three tiers.")
class SampleImage:
    seq: int = strawberry.field(
        description="The picture's place in the gallery, from 0 and without gaps."
    )
    width: int = strawberry.field(description="The width of the HIGH tier, in pixels.")
    height: int = strawberry.field(description="The height of the HIGH tier, in pixels.")
    generation: JSON | None = strawberry.field(
        description="The generation parameters found in the source image (prompt, negative "
        "prompt, steps, sampler, cfg, seed, size, model, and the raw text; `seedText` holds "
        "the seed exactly, past what a JSON number keeps in JavaScript), or null."
    )
    sha256: strawberry.Private[str]
    source_digest: strawberry.Private[str]
    stored_tiers: strawberry.Private[tuple[records.ImageTier, ...]]

    @strawberry.field(description="Every tier with its size: HIGH, MEDIUM, LOW.")
    def tiers(self) -> list[ImageTier]:
        return [
            ImageTier(
                quality=tier.quality,
                width=tier.width,
                height=tier.height,
                size_bytes=None if tier.size_bytes is None else BigInt(tier.size_bytes),
                url=sample_image_url(self.sha256, self.seq, tier.quality, self.source_digest),
            )
            for tier in self.stored_tiers
        ]

    @strawberry.field(
        description="The file name clients use for this picture: `<sha256>_<seq>.webp`."
    )
    def filename(self) -> str:
        return gallery_name(self.sha256, self.seq)

    @strawberry.field(
        description="Where to fetch one tier. The URL changes when another picture takes this "
        "seq, so it may be cached for good."
    )
    def url(
        self,
        quality: Annotated[
            Quality | None,
            strawberry.argument(description="The tier to fetch; HIGH when omitted or null."),
        ] = Quality.HIGH,
    ) -> str:
        chosen = Quality.HIGH if quality is None else quality
        return sample_image_url(self.sha256, self.seq, chosen, self.source_digest)

    @classmethod
    def of(cls, image: records.SampleImage) -> SampleImage:
        return cls(
            seq=image.seq,
            width=image.width,
            height=image.height,
            generation=None if image.generation is None else JSON(image.generation),
            sha256=image.sha256,
            source_digest=image.source_digest,
            stored_tiers=image.tiers,
        )


@strawberry.type(description="A model file in the library, known by the SHA-256 of its content.")
class Model:
    sha256: str = strawberry.field(
        description="The SHA-256 of the file: 64 lower-case hexadecimal characters."
    )
    path: str = strawberry.field(description="Where the file was last seen, as an absolute path.")
    name: str = strawberry.field(description="The display name, usually the file name.")
    type: str = strawberry.field(
        description="The kind of model in lower case: checkpoint, lora, vae, embedding, …"
    )
    size_bytes: BigInt | None = strawberry.field(
        description="The file size in bytes, when known; may exceed 2^31."
    )
    created_at: datetime = strawberry.field(
        description="When the model entered the library (or the legacy app)."
    )
    updated_at: datetime = strawberry.field(description="When the model was last changed.")
    meta: JSON = strawberry.field(
        description="Free-form metadata as a JSON object: description, prompts, links, params…"
    )
    file_status: records.FileStatus = strawberry.field(
        description="Whether the file is still at `path`, as the last scan of its folder saw."
    )
    base_model: str | None = strawberry.field(
        description="The base model the file's own header names (safetensors: "
        "`modelspec.architecture`, else kohya's `ss_base_model_version`; GGUF: "
        "`general.architecture`), or null."
    )

    # Set when the resolver that produced this model prefetched them (see api.prefetch).
    prefetched_tags: strawberry.Private[list[Tag] | None] = None
    prefetched_gallery: strawberry.Private[list[SampleImage] | None] = None

    @strawberry.field(description="The model's tags, by name.", graphql_type=list[Tag])
    def tags(self, info: strawberry.Info[Context, None]) -> Resolved[list[Tag]]:
        loader = info.context.loaders.model_tags
        return prefetched_or_loaded(self.prefetched_tags, loader, self.sha256, Tag.of)

    @strawberry.field(
        description="The model's gallery, in seq order; empty when it has none.",
        graphql_type=list[SampleImage],
    )
    def sample_images(self, info: strawberry.Info[Context, None]) -> Resolved[list[SampleImage]]:
        loader = info.context.loaders.galleries
        return prefetched_or_loaded(self.prefetched_gallery, loader, self.sha256, SampleImage.of)

    @classmethod
    async def many(
        cls, info: strawberry.Info[Context, None], models: Sequence[records.Model]
    ) -> list[Model]:
        """Convert a page of models with the relations the client asked for prefetched."""
        wanted, loaders = requested_fields(info), info.context.loaders
        keys = [model.sha256 for model in models]
        tags, galleries = await asyncio.gather(  # on two readers at once
            prefetch(wanted, "tags", loaders.model_tags, keys, Tag.of),
            prefetch(wanted, "sampleImages", loaders.galleries, keys, SampleImage.of),
        )
        return [
            cls.of(model, tags=model_tags, gallery=gallery)
            for model, model_tags, gallery in zip(models, tags, galleries, strict=True)
        ]

    @classmethod
    def of(
        cls,
        model: records.Model,
        *,
        tags: list[Tag] | None = None,
        gallery: list[SampleImage] | None = None,
    ) -> Model:
        return cls(
            sha256=model.sha256,
            path=model.path,
            name=model.name,
            type=model.type,
            size_bytes=BigInt(model.size_bytes) if model.size_bytes is not None else None,
            created_at=model.created_at,
            updated_at=model.updated_at,
            meta=JSON(model.meta),
            file_status=model.file_status,
            base_model=model.base_model,
            prefetched_tags=tags,
            prefetched_gallery=gallery,
        )
