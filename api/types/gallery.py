"""What the gallery mutations return on success."""

from __future__ import annotations

import strawberry

from api.context import Context
from api.types.model import Model, SampleImage
from domain import library, records


@strawberry.type(description="A picture was saved in a model's gallery.")
class SampleImageSaved:
    image: SampleImage = strawberry.field(description="The picture as saved, with its new URLs.")
    sha256: strawberry.Private[str]

    @strawberry.field(description="The model, with its gallery as it is now.")
    async def model(self, info: strawberry.Info[Context, None]) -> Model | None:
        return await _current_model(info, self.sha256)

    @classmethod
    def of(cls, image: records.SampleImage) -> SampleImageSaved:
        return cls(image=SampleImage.of(image), sha256=image.sha256)


@strawberry.type(description="A picture was deleted from a model's gallery.")
class SampleImageDeleted:
    sha256: str = strawberry.field(description="The model's digest.")

    @strawberry.field(description="The model, with its gallery as it is now.")
    async def model(self, info: strawberry.Info[Context, None]) -> Model | None:
        return await _current_model(info, self.sha256)

    @classmethod
    def of(cls, sha256: str) -> SampleImageDeleted:
        return cls(sha256=sha256)


async def _current_model(info: strawberry.Info[Context, None], sha256: str) -> Model | None:
    model = await library.find_model(info.context.store, sha256)
    return None if model is None else Model.of(model)
