"""The tag mutations of the `Mutation` root (`api.mutation.Mutation` inherits them).

Each answers the changed `Tag` (clients' normalized caches key it by `id`), the deleted id,
or the typed problem that stopped it; nothing changes when a problem is answered."""

from __future__ import annotations

from typing import Annotated, cast

import strawberry

from api.context import Context
from api.types.problems import DiskFull, InvalidInput, TagNameTaken, TagNotFound, outcome
from api.types.tag import Tag
from domain.editing import tags
from domain.editing.tag_values import MAX_TAG_NAME

Info = strawberry.Info[Context, None]


@strawberry.type(
    description="A tag that was deleted, with its links to models and pending imports."
)
class TagDeleted:
    id: int = strawberry.field(description="The deleted tag's id (evict `Tag:<id>` from caches).")


CreateTagResult = Annotated[
    Tag | TagNameTaken | InvalidInput | DiskFull,
    strawberry.union("CreateTagResult", description="The new tag, or why it was not created."),
]
UpdateTagResult = Annotated[
    Tag | TagNotFound | TagNameTaken | InvalidInput | DiskFull,
    strawberry.union(
        "UpdateTagResult", description="The tag as it is now, or why it did not change."
    ),
]
DeleteTagResult = Annotated[
    TagDeleted | TagNotFound | DiskFull,
    strawberry.union("DeleteTagResult", description="The deletion, or why it did not happen."),
]
MergeTagsResult = Annotated[
    Tag | TagNotFound | InvalidInput | DiskFull,
    strawberry.union(
        "MergeTagsResult", description="The target tag after the merge, or why none happened."
    ),
]

_NAME = (
    f"The tag's name: trimmed, 1 to {MAX_TAG_NAME} characters, one line, unique ignoring "
    "letter case in every script."
)
_COLOR = "A colour as `#rrggbb` or `#rgb` (either case; answered as lower-case `#rrggbb`), or null."
_TAG_ID = "The tag's id."


@strawberry.type
class TagMutation:
    @strawberry.mutation(description="Create a tag.")
    async def create_tag(
        self,
        info: Info,
        name: Annotated[str, strawberry.argument(description=_NAME)],
        color: Annotated[str | None, strawberry.argument(description=_COLOR)] = None,
    ) -> CreateTagResult:
        created = tags.create_tag(info.context.store, name, color)
        return cast(CreateTagResult, await outcome(created, Tag.of))

    @strawberry.mutation(
        description="Rename or recolour a tag. An omitted argument keeps its value; `color: "
        "null` clears the colour, `name: null` is refused. A tag may take its own name in "
        "another letter case."
    )
    async def update_tag(
        self,
        info: Info,
        id: Annotated[int, strawberry.argument(description=_TAG_ID)],
        name: Annotated[
            str | None, strawberry.argument(description=_NAME + " Omit to keep it.")
        ] = strawberry.UNSET,
        color: Annotated[
            str | None, strawberry.argument(description=_COLOR + " Omit to keep it.")
        ] = strawberry.UNSET,
    ) -> UpdateTagResult:
        updated = tags.update_tag(
            info.context.store,
            id,
            name=tags.KEEP if name is strawberry.UNSET else name,
            color=tags.KEEP if color is strawberry.UNSET else color,
        )
        return cast(UpdateTagResult, await outcome(updated, Tag.of))

    @strawberry.mutation(
        description="Delete a tag; the models and pending imports that carried it keep "
        "everything else."
    )
    async def delete_tag(
        self, info: Info, id: Annotated[int, strawberry.argument(description=_TAG_ID)]
    ) -> DeleteTagResult:
        deleted = tags.delete_tag(info.context.store, id)
        return cast(DeleteTagResult, await outcome(deleted, lambda tag_id: TagDeleted(id=tag_id)))

    @strawberry.mutation(
        description="Merge tags into one: every model and pending import of the sources ends "
        "up carrying the target (once), and the sources are deleted. Answers the target; "
        "evict the sources from caches (`Tag:<id>`) and refetch models' tags that showed them."
    )
    async def merge_tags(
        self,
        info: Info,
        source_ids: Annotated[
            list[int],
            strawberry.argument(
                description=f"The tags to merge and delete (1 to {tags.MAX_MERGE_SOURCES:,}; "
                "not the target)."
            ),
        ],
        target_id: Annotated[int, strawberry.argument(description="The tag that remains.")],
    ) -> MergeTagsResult:
        merged = tags.merge_tags(info.context.store, source_ids, target_id)
        return cast(MergeTagsResult, await outcome(merged, Tag.of))
