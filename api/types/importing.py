"""The types of Stage 2, `importAModel`: its strategies, its result and its conflict."""

from __future__ import annotations

from enum import Enum

import strawberry

from api.enums import domain_enum
from api.types.model import Model
from api.types.pending import PendingImport
from domain.importing import promotion

domain_enum(
    promotion.Strategy,
    name="ConflictStrategy",
    description="What to do when the library already has a model with the pending file's SHA-256.",
    values={
        promotion.Strategy.OVERRIDE: "The pending values and images replace the model's.",
        promotion.Strategy.MERGE: "The pending values fill the model's gaps; its new images "
        "are appended.",
        promotion.Strategy.DELETE: "The pending import is dropped; the model stays as it is.",
    },
)


@strawberry.enum(description="What importAModel did.")
class ImportAction(Enum):
    CREATED = strawberry.enum_value("created", description="A new model was made.")
    OVERRIDDEN = strawberry.enum_value(
        "overridden", description="The model took the pending values."
    )
    MERGED = strawberry.enum_value(
        "merged", description="The pending values filled the model's gaps."
    )
    DELETED = strawberry.enum_value("deleted", description="The pending import was dropped.")
    MOVED = strawberry.enum_value(
        "moved",
        description="The model's file was missing and this is it, under a new path: the model "
        "moved there (merged as MERGE does); not a conflict.",
    )


@strawberry.type(description="A pending image that could not be made part of the gallery.")
class ImportImageProblem:
    filename: str = strawberry.field(description="The pending image's file name.")
    message: str = strawberry.field(description="Why it was left out.")


@strawberry.type(description="The pending import was imported; it no longer exists.")
class ImportResult:
    sha256: str = strawberry.field(description="The model file's SHA-256.")
    action_taken: ImportAction = strawberry.field(description="What was done.")
    model: Model = strawberry.field(description="The model as it is now.")
    image_problems: list[ImportImageProblem] = strawberry.field(
        description="Pending images left out because they could not be decoded."
    )

    @classmethod
    def of(cls, imported: promotion.Imported) -> ImportResult:
        return cls(
            sha256=imported.sha256,
            action_taken=ImportAction(imported.action.value),
            model=Model.of(imported.model),
            image_problems=[
                ImportImageProblem(filename=p.file_name, message=p.message)
                for p in imported.image_problems
            ],
        )


@strawberry.type(
    description="The library already has a model with this SHA-256; nothing changed. Call "
    "importAModel again with a strategy (the file is not hashed again)."
)
class Conflict:
    sha256: str = strawberry.field(description="The shared SHA-256.")
    existing: Model = strawberry.field(description="The model the library has.")
    pending: PendingImport = strawberry.field(
        description="The pending import, its digest now known."
    )

    @classmethod
    def of(cls, conflict: promotion.Conflict) -> Conflict:
        return cls(
            sha256=conflict.sha256,
            existing=Model.of(conflict.existing),
            pending=PendingImport.of(conflict.pending),
        )


def present(outcome: promotion.Imported | promotion.Conflict) -> ImportResult | Conflict:
    return (
        Conflict.of(outcome)
        if isinstance(outcome, promotion.Conflict)
        else ImportResult.of(outcome)
    )
