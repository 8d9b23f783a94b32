"""The inputs and success members of the model and pending-import edits.

Every success member carries the changed objects with their keys (`Model.sha256`,
`PendingImport.id`), so a normalized cache (Apollo Client, urql) updates without a refetch;
a deletion answers the key of what is gone, for the client to evict.
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.scalars import JSON

from api.context import Context
from api.types.model import Model
from api.types.pending import PendingImport
from domain import library, records
from domain.editing import models as editing
from domain.editing.meta import MISSING
from domain.editing.pending import PendingEdit

_LEFT_OUT = "Left out: unchanged."
_META = (
    "A whole new `meta` object, replacing the old one. Not together with `metaPatch`. " + _LEFT_OUT
)
_META_PATCH = (
    "Changes to `meta` as a JSON Merge Patch (RFC 7386): each key given replaces the old "
    "value, `null` removes the key, and an object merges into an object key by key. "
    "Not together with `meta`. " + _LEFT_OUT
)


def _given(value: Any) -> Any:
    """A field the client left out, as the domain says it (null stays null: refused there)."""
    return MISSING if value is strawberry.UNSET else value


@strawberry.input(
    description="What updateModel changes; every field is optional, null is refused. Text is "
    "trimmed."
)
class ModelChanges:
    name: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="The display name: one line, 1 to 512 characters. " + _LEFT_OUT,
    )
    type: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="The kind of model, stored in lower case: 1 to 64 characters. " + _LEFT_OUT,
    )
    path: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Where the file is: an absolute path, that no other model has. Nothing "
        "needs to exist there (see ModelUpdated.fileExists). " + _LEFT_OUT,
    )
    meta: JSON | None = strawberry.field(default=strawberry.UNSET, description=_META)
    meta_patch: JSON | None = strawberry.field(default=strawberry.UNSET, description=_META_PATCH)

    def to_domain(self) -> editing.ModelEdit:
        return editing.ModelEdit(
            name=_given(self.name),
            type=_given(self.type),
            path=_given(self.path),
            meta=_given(self.meta),
            meta_patch=_given(self.meta_patch),
        )


@strawberry.input(
    description="What updatePendingImport changes; every field is optional, null is refused. "
    "Text is trimmed."
)
class PendingImportChanges:
    name: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="The display name: one line, 1 to 512 characters. " + _LEFT_OUT,
    )
    type: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="The kind of model, stored in lower case: 1 to 64 characters. " + _LEFT_OUT,
    )
    tags: list[int] | None = strawberry.field(
        default=strawberry.UNSET,
        description="The ids of the tags it will carry: exactly these ([] for none). " + _LEFT_OUT,
    )
    meta: JSON | None = strawberry.field(default=strawberry.UNSET, description=_META)
    meta_patch: JSON | None = strawberry.field(default=strawberry.UNSET, description=_META_PATCH)

    def to_domain(self) -> PendingEdit:
        return PendingEdit(
            name=_given(self.name),
            type=_given(self.type),
            tags=_given(self.tags),
            meta=_given(self.meta),
            meta_patch=_given(self.meta_patch),
        )


@strawberry.type(description="A model was changed (or already was as asked).")
class ModelUpdated:
    model: Model = strawberry.field(
        description="The model as it is now: its `updatedAt` is the one to send as the next "
        "edit's `expectedUpdatedAt`."
    )
    file_exists: bool = strawberry.field(
        description="Whether a file is at the model's path now. Reported, never required: a "
        "model can be pointed at where its file will be."
    )

    @classmethod
    def of(cls, updated: editing.Updated) -> ModelUpdated:
        return cls(model=Model.of(updated.model), file_exists=updated.file_exists)


@strawberry.type(description="Tags were added to or taken from many models at once.")
class ModelsTagged:
    changed_sha256s: list[str] = strawberry.field(
        description="The models whose tags changed, in digest order (the others already were "
        "as asked; their `updatedAt` did not move)."
    )

    @strawberry.field(description="How many models changed.")
    def changed_count(self) -> int:
        return len(self.changed_sha256s)

    @strawberry.field(
        description="The models that changed, in digest order, for a normalized cache to "
        "take (select only what it shows: there may be 10,000)."
    )
    async def changed(self, info: strawberry.Info[Context, None]) -> list[Model]:
        models = await library.find_models(info.context.store, self.changed_sha256s)
        return await Model.many(info, models)

    @classmethod
    def of(cls, retagged: editing.Retagged) -> ModelsTagged:
        return cls(changed_sha256s=retagged.changed)


@strawberry.type(description="A model was deleted with its gallery; its file was not touched.")
class ModelDeleted:
    sha256: str = strawberry.field(description="The deleted model's digest (evict it).")

    @classmethod
    def of(cls, sha256: str) -> ModelDeleted:
        return cls(sha256=sha256)


@strawberry.type(description="A pending import was changed.")
class PendingImportUpdated:
    pending_import: PendingImport = strawberry.field(description="The pending import as it is now.")

    @classmethod
    def of(cls, pending: records.PendingImport) -> PendingImportUpdated:
        return cls(pending_import=PendingImport.of(pending))


@strawberry.type(
    description="A pending import was deleted with its original images; the model file was "
    "not touched."
)
class PendingImportDeleted:
    id: int = strawberry.field(description="The deleted pending import's id (evict it).")

    @classmethod
    def of(cls, pending_id: int) -> PendingImportDeleted:
        return cls(id=pending_id)
