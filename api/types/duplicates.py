"""`Query.duplicates`: the files of the library that hold the same content."""

from __future__ import annotations

import strawberry

from api.scalars import BigInt
from api.types.model import Model
from api.types.pending import PendingImport
from domain import records
from domain.store import duplicates


@strawberry.type(description="One file of a duplicate group: a model's, or a pending import's.")
class DuplicateFile:
    path: str = strawberry.field(description="Where the file is, as the library records it.")
    size_bytes: BigInt | None = strawberry.field(description="Its size in bytes, when known.")
    file_status: records.FileStatus = strawberry.field(
        description="Whether it is still there, as the last scan of its folder saw."
    )
    model: Model | None = strawberry.field(description="The model this file is, or null.")
    pending_import: PendingImport | None = strawberry.field(
        description="The pending import this file is, or null."
    )


@strawberry.type(
    description="A SHA-256 that more than one file of the library has: a model and pending "
    "imports of the same content, or pending imports alone. Resolve it with importAModel and a "
    "strategy (DELETE drops a pending copy from the library; no file is ever deleted)."
)
class DuplicateGroup:
    sha256: str = strawberry.field(description="The content's SHA-256.")
    copies: int = strawberry.field(description="How many files have it (2 or more).")
    bytes_freed: BigInt = strawberry.field(
        description="The bytes that keeping one copy would free: every copy's size but the "
        "largest's (an unknown size counts as 0)."
    )
    files: list[DuplicateFile] = strawberry.field(
        description="The files: the model's first, then the pending imports' by id."
    )

    @classmethod
    def of(cls, group: duplicates.DuplicateGroup) -> DuplicateGroup:
        files = [] if group.model is None else [_model_file(group.model)]
        files += [_pending_file(pending) for pending in group.pending]
        return cls(
            sha256=group.sha256,
            copies=group.copies,
            bytes_freed=BigInt(group.bytes_freed),
            files=files,
        )


def _size(size: int | None) -> BigInt | None:
    return None if size is None else BigInt(size)


def _model_file(model: records.Model) -> DuplicateFile:
    return DuplicateFile(
        path=model.path,
        size_bytes=_size(model.size_bytes),
        file_status=model.file_status,
        model=Model.of(model),
        pending_import=None,
    )


def _pending_file(pending: records.PendingImport) -> DuplicateFile:
    return DuplicateFile(
        path=pending.path,
        size_bytes=_size(pending.size_bytes),
        file_status=pending.file_status,
        model=None,
        pending_import=PendingImport.of(pending),
    )
