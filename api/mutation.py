"""The `Mutation` root: each resolver hands its arguments to one domain operation and
returns its result, or the typed problem that stopped it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, cast

import strawberry
from starlette.datastructures import UploadFile
from strawberry.file_uploads import Upload

from api.context import Context
from api.tag_mutation import TagMutation
from api.types.editing import (
    ModelChanges,
    ModelDeleted,
    ModelsTagged,
    ModelUpdated,
    PendingImportChanges,
    PendingImportDeleted,
    PendingImportUpdated,
)
from api.types.gallery import SampleImageDeleted, SampleImageSaved
from api.types.importing import Conflict, ImportResult, present
from api.types.jobs import Job, JobIdArgument, JobStarted, job_id
from api.types.migration import MigrationReport
from api.types.problems import (
    DiskFull,
    DuplicateImage,
    EditConflict,
    ImageRejected,
    InvalidInput,
    JobFinished,
    JobNotFound,
    JobStopped,
    Locked,
    MigrationAlreadyRunning,
    MigrationRefused,
    ModelFileProblem,
    ModelNotFound,
    ModelPathTaken,
    ModelsNotFound,
    PendingImportNotFound,
    SampleImageNotFound,
    TagNotFound,
    outcome,
)
from domain.importing.promotion import Strategy
from domain.jobs import model as domain_jobs
from domain.jobs.model import JobKind

Info = strawberry.Info[Context, None]

SampleImageResult = Annotated[
    SampleImageSaved
    | ModelNotFound
    | SampleImageNotFound
    | ImageRejected
    | DuplicateImage
    | DiskFull
    | InvalidInput,
    strawberry.union("SampleImageResult", description="A saved picture, or why it was not saved."),
]
DeleteSampleImageResult = Annotated[
    SampleImageDeleted | ModelNotFound | SampleImageNotFound | DiskFull | InvalidInput,
    strawberry.union(
        "DeleteSampleImageResult", description="The deletion, or why it did not happen."
    ),
]

_SHA256 = "The SHA-256 of the model whose gallery changes (any letter case)."
_IMAGE = (
    "The picture, as a GraphQL multipart upload: PNG, JPEG, WebP, GIF, BMP or TIFF, "
    "up to 64 megapixels."
)


async def _control(
    change: Callable[[int], Awaitable[domain_jobs.Job]], id: strawberry.ID
) -> JobControlResult:
    async def changed() -> domain_jobs.Job:
        return await change(job_id(id))

    return cast(JobControlResult, await outcome(changed(), Job.of))


async def read_upload(upload: Upload) -> bytes:
    """The whole upload (the request's size cap bounds it), its spooled file closed at once."""
    file = cast(UploadFile, upload)  # what Strawberry hands over on Starlette
    try:
        return await file.read()
    finally:
        await file.close()


MigrateLegacyDbResult = Annotated[
    MigrationReport | MigrationRefused | MigrationAlreadyRunning | JobStopped | DiskFull,
    strawberry.union(
        "MigrateLegacyDbResult", description="The import's report, or why it did not run."
    ),
]


ImportAModelResult = Annotated[
    ImportResult
    | Conflict
    | Locked
    | PendingImportNotFound
    | ModelFileProblem
    | ModelPathTaken
    | DiskFull,
    strawberry.union(
        "ImportAModelResult",
        description="The import, the conflict to resolve, or why it did not run.",
    ),
]


ImportPendingResult = Annotated[
    JobStarted | InvalidInput | DiskFull,
    strawberry.union("ImportPendingResult", description="The job started, or why it did not."),
]
ScanFoldersResult = Annotated[
    JobStarted | InvalidInput | DiskFull,
    strawberry.union("ScanFoldersResult", description="The scan started, or why it did not."),
]
JobControlResult = Annotated[
    Job | JobNotFound | JobFinished | DiskFull,
    strawberry.union(
        "JobControlResult", description="The job as it is now, or why it could not be changed."
    ),
]
UpdateModelResult = Annotated[
    ModelUpdated | EditConflict | ModelNotFound | ModelPathTaken | InvalidInput | DiskFull,
    strawberry.union("UpdateModelResult", description="The changed model, or why it was not."),
]
SetModelTagsResult = Annotated[
    ModelUpdated | ModelNotFound | TagNotFound | InvalidInput | DiskFull,
    strawberry.union("SetModelTagsResult", description="The retagged model, or why it was not."),
]
TagModelsResult = Annotated[
    ModelsTagged | ModelsNotFound | TagNotFound | InvalidInput | DiskFull,
    strawberry.union("TagModelsResult", description="The models that changed, or why none did."),
]
DeleteModelResult = Annotated[
    ModelDeleted | ModelNotFound | InvalidInput | DiskFull,
    strawberry.union("DeleteModelResult", description="The deleted model, or why it was not."),
]
UpdatePendingImportResult = Annotated[
    PendingImportUpdated | PendingImportNotFound | Locked | TagNotFound | InvalidInput | DiskFull,
    strawberry.union(
        "UpdatePendingImportResult", description="The changed pending import, or why it was not."
    ),
]
DeletePendingImportResult = Annotated[
    PendingImportDeleted | PendingImportNotFound | Locked | DiskFull,
    strawberry.union(
        "DeletePendingImportResult", description="The deleted pending import, or why it was not."
    ),
]
_EDITED_SHA256 = "The SHA-256 of the model to change (any letter case)."
_PENDING_ID = "The pending import's id."

# Enough for any pending list a person can choose; omit `ids` for every pending import.
MAX_JOB_IDS = 100_000


@strawberry.type(description="Changing the library.")
class Mutation(TagMutation):
    @strawberry.mutation(
        description="Import many pending models in the background, as a job: each goes through "
        "importAModel's rules. Without `strategy`, conflicts stay pending (their digest known) "
        "and are listed on the job. While another job runs, this one is QUEUED behind it. "
        "Follow it with the `job` query or subscription."
    )
    async def import_pending(
        self,
        info: Info,
        ids: Annotated[
            list[int] | None,
            strawberry.argument(
                description="The pending imports to import; every pending import there is "
                "when the job starts, when omitted. Unknown ids are listed as SKIPPED."
            ),
        ] = None,
        strategy: Annotated[
            Strategy | None,
            strawberry.argument(description="How to resolve every conflict; null to leave them."),
        ] = None,
    ) -> ImportPendingResult:
        if ids is not None and len(ids) > MAX_JOB_IDS:
            return InvalidInput(
                code="INVALID_INPUT",
                message=f"`ids` lists at most {MAX_JOB_IDS:,} pending imports; omit it for all.",
            )
        params = {"ids": ids, "strategy": None if strategy is None else strategy.value}
        submitted = info.context.jobs.submit(JobKind.IMPORT_PENDING, params)
        result = await outcome(submitted, lambda job: JobStarted(job=Job.of(job)))
        return cast(ImportPendingResult, result)

    @strawberry.mutation(
        description="Look for new model files: a SCAN job walks the folders (and every folder "
        "under them; symbolic links followed, loops and unreadable folders listed as issues) "
        "and makes each model file (.safetensors .sft .ckpt .pt .pth .bin .gguf .onnx, its "
        "first bytes checked) the library does not know by path a pending import: name from "
        "the file name, type from its ComfyUI or A1111 folder, what its header says in "
        "`meta.fileHeader` and `baseModel`. Files the library knows cost one stat: their "
        "`fileStatus` is refreshed (MISSING when gone). The report is the job's `scanReport`."
    )
    async def scan_folders(
        self,
        info: Info,
        paths: Annotated[
            list[str],
            strawberry.argument(description="The folders to walk, absolute (`~` expands)."),
        ],
        import_found: Annotated[
            bool | None,
            strawberry.argument(
                description="Go on to import what was found, as importPending does (conflicts "
                "stay pending; a missing model's file found elsewhere moves the model: MOVED). "
                "False when omitted or null."
            ),
        ] = None,
    ) -> ScanFoldersResult:
        started = info.context.scans.start(paths, bool(import_found))
        result = await outcome(started, lambda job: JobStarted(job=Job.of(job)))
        return cast(ScanFoldersResult, result)

    @strawberry.mutation(
        description="Pause a job: items still hashing or encoding their pictures are "
        "abandoned (they start again on resume), items being written finish. Answers once "
        "the job has stopped."
    )
    async def pause_job(self, info: Info, id: JobIdArgument) -> JobControlResult:
        return await _control(info.context.jobs.pause, id)

    @strawberry.mutation(description="Resume a paused job (it may queue behind a running one).")
    async def resume_job(self, info: Info, id: JobIdArgument) -> JobControlResult:
        return await _control(info.context.jobs.resume, id)

    @strawberry.mutation(
        description="Cancel a job: what it has done stays done, every item it had not done "
        "stays pending as it was."
    )
    async def cancel_job(self, info: Info, id: JobIdArgument) -> JobControlResult:
        return await _control(info.context.jobs.cancel, id)

    @strawberry.mutation(
        description="Stage 2: hash a pending import's file and make it a library model. When the "
        "library already has that SHA-256, the answer is a Conflict unless `strategy` says how "
        "to resolve it. A second call for the same id while one runs gets Locked."
    )
    async def import_a_model(
        self,
        info: Info,
        id: Annotated[int, strawberry.argument(description="The pending import's id.")],
        strategy: Annotated[
            Strategy | None,
            strawberry.argument(description="How to resolve a conflict; null to be asked."),
        ] = None,
    ) -> ImportAModelResult:
        result = await outcome(info.context.promoter.import_a_model(id, strategy), present)
        return cast(ImportAModelResult, result)

    @strawberry.mutation(
        description="Stage 1: import a legacy (v1) library once. Reads the legacy database "
        "read-only (from a private copy) and its images folder; returns the report when "
        "images are done too. Running it again imports nothing twice; a run that was cut short "
        "is completed. The work is a LEGACY_MIGRATION job: follow it with `jobs`, `job(id:)`, "
        "the `job` subscription or the `legacyMigration` query; pause, resume or cancel it like "
        "any job. A call for the database of an unfinished legacy job nobody waits for (one "
        "resumed after a restart) takes it over and answers its report."
    )
    async def migrate_legacy_db(
        self,
        info: Info,
        legacy_db_path: Annotated[
            str, strawberry.argument(description="The legacy database file (hikaze_mm.sqlite3).")
        ],
        legacy_images_dir: Annotated[
            str | None,
            strawberry.argument(
                description="The legacy images folder; `images/` beside the database when omitted."
            ),
        ] = None,
    ) -> MigrateLegacyDbResult:
        run = info.context.legacy_migration.migrate(legacy_db_path, legacy_images_dir)
        return cast(MigrateLegacyDbResult, await outcome(run, MigrationReport.of))

    @strawberry.mutation(
        description="Add a picture to the end of a model's gallery. It is stored as WebP in three "
        "tiers; generation parameters found in it are kept, all other metadata is dropped."
    )
    async def add_sample_image(
        self,
        info: Info,
        sha256: Annotated[str, strawberry.argument(description=_SHA256)],
        image: Annotated[Upload, strawberry.argument(description=_IMAGE)],
    ) -> SampleImageResult:
        source = await read_upload(image)
        result = await outcome(info.context.gallery.add(sha256, source), SampleImageSaved.of)
        return cast(SampleImageResult, result)

    @strawberry.mutation(
        description="Put a picture at `seq` in place of the one there (seq equal to the "
        "gallery's length appends). Its URLs change, so caches never show the old one."
    )
    async def replace_sample_image(
        self,
        info: Info,
        sha256: Annotated[str, strawberry.argument(description=_SHA256)],
        seq: Annotated[int, strawberry.argument(description="The seq to replace.")],
        image: Annotated[Upload, strawberry.argument(description=_IMAGE)],
    ) -> SampleImageResult:
        source = await read_upload(image)
        result = await outcome(info.context.gallery.put(sha256, seq, source), SampleImageSaved.of)
        return cast(SampleImageResult, result)

    @strawberry.mutation(
        description="Delete the picture at `seq`; every later picture moves down by one, so the "
        "gallery stays gapless."
    )
    async def delete_sample_image(
        self,
        info: Info,
        sha256: Annotated[str, strawberry.argument(description=_SHA256)],
        seq: Annotated[int, strawberry.argument(description="The seq to delete.")],
    ) -> DeleteSampleImageResult:
        result = await outcome(info.context.gallery.delete(sha256, seq), SampleImageDeleted.of)
        return cast(DeleteSampleImageResult, result)

    @strawberry.mutation(
        description="Change a model's name, type, path or meta. With `expectedUpdatedAt` (the "
        "`updatedAt` the client last read), a model changed since answers EditConflict with "
        "the current model and nothing is written. A change moves `updatedAt` forward; an "
        "edit that changes nothing leaves it."
    )
    async def update_model(
        self,
        info: Info,
        sha256: Annotated[str, strawberry.argument(description=_EDITED_SHA256)],
        changes: Annotated[ModelChanges, strawberry.argument(description="What to change.")],
        expected_updated_at: Annotated[
            datetime | None,
            strawberry.argument(
                description="The model's `updatedAt` as the client read it; omit to write "
                "whatever happened since."
            ),
        ] = None,
    ) -> UpdateModelResult:
        editor = info.context.model_editor
        work = editor.update(sha256, changes.to_domain(), expected_updated_at)
        return cast(UpdateModelResult, await outcome(work, ModelUpdated.of))

    @strawberry.mutation(
        description="Give a model exactly these tags (a change of the model: `updatedAt` moves "
        "when its tags do)."
    )
    async def set_model_tags(
        self,
        info: Info,
        sha256: Annotated[str, strawberry.argument(description=_EDITED_SHA256)],
        tag_ids: Annotated[
            list[int], strawberry.argument(description="The tag ids; [] for no tags.")
        ],
    ) -> SetModelTagsResult:
        work = info.context.model_editor.set_tags(sha256, tag_ids)
        return cast(SetModelTagsResult, await outcome(work, ModelUpdated.of))

    @strawberry.mutation(
        description="Add tags to and take tags from up to 10,000 models in one transaction. "
        "Any unknown digest refuses the whole call (ModelsNotFound). Only models whose tags "
        "change count, and only their `updatedAt` moves."
    )
    async def tag_models(
        self,
        info: Info,
        sha256s: Annotated[
            list[str], strawberry.argument(description="The models' SHA-256s (at most 10,000).")
        ],
        add: Annotated[
            list[int] | None, strawberry.argument(description="Tag ids every model gets.")
        ] = None,
        remove: Annotated[
            list[int] | None,
            strawberry.argument(description="Tag ids every model loses (none also in `add`)."),
        ] = None,
    ) -> TagModelsResult:
        work = info.context.model_editor.retag(sha256s, add, remove)
        return cast(TagModelsResult, await outcome(work, ModelsTagged.of))

    @strawberry.mutation(
        description="Delete a model from the library with its tag links and its gallery (rows "
        "and WebP files). The model file itself is never touched."
    )
    async def delete_model(
        self, info: Info, sha256: Annotated[str, strawberry.argument(description=_EDITED_SHA256)]
    ) -> DeleteModelResult:
        work = info.context.model_editor.delete(sha256)
        return cast(DeleteModelResult, await outcome(work, ModelDeleted.of))

    @strawberry.mutation(
        description="Correct a pending import before importing it. Locked while it is being "
        "imported or a job holds it."
    )
    async def update_pending_import(
        self,
        info: Info,
        id: Annotated[int, strawberry.argument(description=_PENDING_ID)],
        changes: Annotated[
            PendingImportChanges, strawberry.argument(description="What to change.")
        ],
    ) -> UpdatePendingImportResult:
        work = info.context.pending_editor.update(id, changes.to_domain())
        return cast(UpdatePendingImportResult, await outcome(work, PendingImportUpdated.of))

    @strawberry.mutation(
        description="Drop a pending import with its original images; the model file is never "
        "touched. Locked while it is being imported or a job holds it."
    )
    async def delete_pending_import(
        self, info: Info, id: Annotated[int, strawberry.argument(description=_PENDING_ID)]
    ) -> DeletePendingImportResult:
        work = info.context.pending_editor.delete(id)
        return cast(DeletePendingImportResult, await outcome(work, PendingImportDeleted.of))
