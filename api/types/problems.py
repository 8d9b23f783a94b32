"""Failures a caller can act on, returned as members of a mutation's result union.

Each implements `Problem`, so a client can select `... on Problem { code message }` once and
still narrow to a specific type (by `__typename`) where it wants the details.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import Enum
from typing import TypeVar

import strawberry

# Domain enums become GraphQL enums in the module of their types (ConflictStrategy, which
# jobs use, in importing; JobState in jobs), which must run before a type here uses one:
# the tag mutations import this module before anything else does.
import api.types.importing
import api.types.jobs  # noqa: F401
from api.scalars import BigInt
from api.types.model import Model
from api.types.tag import Tag
from domain import errors
from domain.jobs.model import JobState


@strawberry.interface(description="Why an operation did not happen; nothing was changed.")
class Problem:
    code: str = strawberry.field(description="A stable code for scripts, e.g. MODEL_NOT_FOUND.")
    message: str = strawberry.field(description="What went wrong and what to do, for people.")


@strawberry.type(
    description="An argument is malformed, for example a SHA-256 that is not 64 hex digits."
)
class InvalidInput(Problem):
    field: str | None = strawberry.field(
        default=None,
        description="The argument whose value was refused (e.g. `name`, `color`), when one is.",
    )

    @classmethod
    def of(cls, error: errors.UserError) -> InvalidInput:
        field = error.field if isinstance(error, errors.InvalidValue) else None
        return cls(code=error.code, message=str(error), field=field)


@strawberry.type(description="The library has no model with this SHA-256.")
class ModelNotFound(Problem):
    sha256: str = strawberry.field(description="The digest that was looked for.")

    @classmethod
    def of(cls, error: errors.ModelNotFound) -> ModelNotFound:
        return cls(code=error.code, message=str(error), sha256=error.sha256)


@strawberry.type(
    description="Some of the SHA-256s a bulk edit names are no model of the library; the "
    "whole call was refused, nothing was changed."
)
class ModelsNotFound(Problem):
    sha256s: list[str] = strawberry.field(
        description="The first of the unknown digests (at most 20), in digest order."
    )
    count: int = strawberry.field(description="How many of the digests are unknown in all.")

    @classmethod
    def of(cls, error: errors.ModelsNotFound) -> ModelsNotFound:
        return cls(code=error.code, message=str(error), sha256s=error.sha256s, count=error.count)


@strawberry.type(
    description="The model changed after the client read it (its `updatedAt` is not the "
    "`expectedUpdatedAt` sent): nothing was written, so no other change is silently undone. "
    "Show `current`, and send the edit again with its `updatedAt` if it still applies."
)
class EditConflict(Problem):
    current: Model = strawberry.field(description="The model as it is now.")

    @classmethod
    def of(cls, error: errors.EditConflict) -> EditConflict:
        return cls(code=error.code, message=str(error), current=Model.of(error.current))


@strawberry.type(description="The model's gallery has no picture at this seq.")
class SampleImageNotFound(Problem):
    sha256: str = strawberry.field(description="The model's digest.")
    seq: int = strawberry.field(description="The seq that was asked for.")

    @classmethod
    def of(cls, error: errors.SampleImageNotFound) -> SampleImageNotFound:
        return cls(code=error.code, message=str(error), sha256=error.sha256, seq=error.seq)


@strawberry.enum(description="Why an image was refused.")
class ImageRejectionReason(Enum):
    NOT_AN_IMAGE = strawberry.enum_value(
        "NOT_AN_IMAGE", description="Not a raster image in a format Model Shelf reads."
    )
    TOO_LARGE = strawberry.enum_value(
        "IMAGE_TOO_LARGE", description="More pixels than the pipeline accepts (64 megapixels)."
    )
    CORRUPT = strawberry.enum_value("CORRUPT_IMAGE", description="Truncated or damaged image data.")


@strawberry.type(
    description="The uploaded file was refused by the image pipeline; nothing was written."
)
class ImageRejected(Problem):
    reason: ImageRejectionReason = strawberry.field(description="Why it was refused.")

    @classmethod
    def of(cls, error: errors.ImageRejected) -> ImageRejected:
        return cls(code=error.code, message=str(error), reason=ImageRejectionReason(error.code))


@strawberry.type(description="The gallery already holds this very picture.")
class DuplicateImage(Problem):
    seq: int = strawberry.field(description="Where the gallery holds it.")

    @classmethod
    def of(cls, error: errors.DuplicateImage) -> DuplicateImage:
        return cls(code=error.code, message=str(error), seq=error.seq)


@strawberry.type(
    description="The legacy import could not start with these inputs; nothing was written. "
    "Codes: INVALID_PATH (no file can have that path: empty, a NUL byte, a ~ naming no home "
    "folder, too long), LEGACY_DB_NOT_FOUND, NOT_A_LEGACY_DB, LEGACY_IMAGES_DIR_NOT_FOUND, "
    "LEGACY_ACCESS_DENIED (the server may not read it), LEGACY_PATH_UNREADABLE (any other "
    "refusal of the system: a loop of symbolic links, an I/O error)."
)
class MigrationRefused(Problem):
    @classmethod
    def of(cls, error: errors.UserError) -> MigrationRefused:
        return cls(code=error.code, message=str(error))


@strawberry.type(
    description="Another legacy import is under way (another caller waits for it, or it is of "
    "another database); follow it with `job(id:)` or the `legacyMigration` query."
)
class MigrationAlreadyRunning(Problem):
    job_id: strawberry.ID = strawberry.field(description="The job of the legacy import under way.")

    @classmethod
    def of(cls, error: errors.MigrationAlreadyRunning) -> MigrationAlreadyRunning:
        return cls(code=error.code, message=str(error), job_id=strawberry.ID(str(error.job_id)))


@strawberry.type(
    description="The job this call waited for was paused or cancelled (or the server is "
    "stopping) before it ended. What it did stays done; resumeJob, or calling again, goes on."
)
class JobStopped(Problem):
    job_id: strawberry.ID = strawberry.field(description="The job that stopped.")
    job_state: JobState = strawberry.field(
        description="The state it was left in (RUNNING when the server is stopping: it goes "
        "on at the next start)."
    )

    @classmethod
    def of(cls, error: errors.JobStopped) -> JobStopped:
        return cls(
            code=error.code,
            message=str(error),
            job_id=strawberry.ID(str(error.job_id)),
            job_state=JobState(error.state),
        )


@strawberry.type(description="Another call is importing this pending id; nothing was changed.")
class Locked(Problem):
    id: int = strawberry.field(description="The pending import's id.")

    @classmethod
    def of(cls, error: errors.PendingImportBusy) -> Locked:
        return cls(code=error.code, message=str(error), id=error.pending_id)


@strawberry.type(description="There is no pending import with this id.")
class PendingImportNotFound(Problem):
    id: int = strawberry.field(description="The id that was looked for.")

    @classmethod
    def of(cls, error: errors.PendingImportNotFound) -> PendingImportNotFound:
        return cls(code=error.code, message=str(error), id=error.pending_id)


@strawberry.type(
    description="The model file is missing or cannot be read (code MODEL_FILE_MISSING or "
    "MODEL_FILE_UNREADABLE); the pending import stays as it was."
)
class ModelFileProblem(Problem):
    path: str = strawberry.field(description="The model file's path.")

    @classmethod
    def of(cls, error: errors.ModelFileProblem) -> ModelFileProblem:
        return cls(code=error.code, message=str(error), path=error.path)


@strawberry.type(
    description="Another model is recorded at the pending file's path (the file there now has "
    "other content); nothing was changed."
)
class ModelPathTaken(Problem):
    path: str = strawberry.field(description="The path both claim.")
    other_sha256: str = strawberry.field(description="The SHA-256 of the model recorded there.")

    @classmethod
    def of(cls, error: errors.ModelPathTaken) -> ModelPathTaken:
        return cls(
            code=error.code, message=str(error), path=error.path, other_sha256=error.other_sha256
        )


@strawberry.type(description="There is no tag with this id.")
class TagNotFound(Problem):
    id: int = strawberry.field(description="The tag id that was looked for.")

    @classmethod
    def of(cls, error: errors.TagNotFound) -> TagNotFound:
        return cls(code=error.code, message=str(error), id=error.tag_id)


@strawberry.type(
    description="Another tag already has this name, ignoring letter case (in every script: "
    "`Straße` is `STRASSE`) and surrounding space; nothing was changed."
)
class TagNameTaken(Problem):
    name: str = strawberry.field(description="The name that was asked for, trimmed.")
    existing: Tag = strawberry.field(description="The tag that has the name.")

    @classmethod
    def of(cls, error: errors.TagNameTaken) -> TagNameTaken:
        return cls(
            code=error.code, message=str(error), name=error.name, existing=Tag.of(error.existing)
        )


@strawberry.type(description="There is no job with this id.")
class JobNotFound(Problem):
    id: strawberry.ID = strawberry.field(description="The id that was looked for.")

    @classmethod
    def of(cls, error: errors.JobNotFound) -> JobNotFound:
        return cls(code=error.code, message=str(error), id=strawberry.ID(str(error.job_id)))


@strawberry.type(description="The job has ended; it cannot be paused, resumed or cancelled.")
class JobFinished(Problem):
    job_state: JobState = strawberry.field(description="How it ended.")

    @classmethod
    def of(cls, error: errors.JobFinished) -> JobFinished:
        return cls(code=error.code, message=str(error), job_state=JobState(error.state))


@strawberry.type(
    description="The disk holding the library (or the user's quota on it) is full. Nothing "
    "half-written was kept: free some space and call again. A legacy import stopped here "
    "keeps what it had done and the next run finishes it."
)
class DiskFull(Problem):
    folder: str = strawberry.field(description="The folder that had no room (absolute path).")
    bytes_needed: BigInt | None = strawberry.field(
        description="The size of the write that did not fit, in bytes; null when unknown "
        "(the library database's own writes)."
    )

    @classmethod
    def of(cls, error: errors.DiskFull) -> DiskFull:
        needed = None if error.bytes_needed is None else BigInt(error.bytes_needed)
        return cls(code=error.code, message=str(error), folder=error.folder, bytes_needed=needed)


def problem_of(error: errors.UserError) -> Problem:
    """The union member for a domain error."""
    match error:
        case errors.ModelNotFound():
            return ModelNotFound.of(error)
        case errors.ModelsNotFound():
            return ModelsNotFound.of(error)
        case errors.EditConflict():
            return EditConflict.of(error)
        case errors.SampleImageNotFound():
            return SampleImageNotFound.of(error)
        case errors.ImageRejected():
            return ImageRejected.of(error)
        case errors.DuplicateImage():
            return DuplicateImage.of(error)
        case errors.LegacyImportError():
            return MigrationRefused.of(error)
        case errors.MigrationAlreadyRunning():
            return MigrationAlreadyRunning.of(error)
        case errors.PendingImportBusy():
            return Locked.of(error)
        case errors.PendingImportNotFound():
            return PendingImportNotFound.of(error)
        case errors.ModelFileProblem():
            return ModelFileProblem.of(error)
        case errors.ModelPathTaken():
            return ModelPathTaken.of(error)
        case errors.TagNotFound():
            return TagNotFound.of(error)
        case errors.TagNameTaken():
            return TagNameTaken.of(error)
        case errors.JobNotFound():
            return JobNotFound.of(error)
        case errors.JobFinished():
            return JobFinished.of(error)
        case errors.JobStopped():
            return JobStopped.of(error)

        case errors.DiskFull():
            return DiskFull.of(error)
        case _:
            return InvalidInput.of(error)


T = TypeVar("T")
R = TypeVar("R")


async def outcome(work: Awaitable[T], present: Callable[[T], R]) -> R | Problem:
    """Await a domain operation and present its result, or the problem that stopped it.

    The caller narrows the answer to its own result union (the problems an operation can
    meet are known to it, not to the type checker)."""
    try:
        result = await work
    except errors.UserError as error:
        return problem_of(error)
    return present(result)
