"""The `Tag` type."""

from __future__ import annotations

import strawberry

from api.context import Context
from domain import records


@strawberry.type(description="A label that groups models, such as a model type or a style.")
class Tag:
    id: int = strawberry.field(description="The tag's id; legacy tags keep their old ids.")
    name: str = strawberry.field(description="The tag's name, unique regardless of letter case.")
    color: str | None = strawberry.field(
        description="A display color as the user chose it (for example `#ff8800`), or null."
    )

    @strawberry.field(
        description="How many library models carry the tag (pending imports not counted). "
        "Loaded for every tag of a response at once."
    )
    async def model_count(self, info: strawberry.Info[Context, None]) -> int:
        return await info.context.loaders.tag_model_counts.load(self.id)

    @classmethod
    def of(cls, tag: records.Tag) -> Tag:
        return cls(id=tag.id, name=tag.name, color=tag.color)
