"""The `Query` root: each resolver parses its arguments, asks `domain.library` one question
and converts the answer."""

from __future__ import annotations

from typing import Annotated

import strawberry

from api.context import Context
from api.types.connection import Connection
from api.types.duplicates import DuplicateGroup
from api.types.jobs import Job, JobIdArgument, job_id
from api.types.migration import MigrationProgress
from api.types.model import Model, ModelTypeCount
from api.types.pending import PendingImport
from api.types.tag import Tag
from domain import library
from domain.errors import JobNotFound
from domain.pagination import SortDirection
from domain.records import FileStatus
from domain.store.models import ModelSort

Info = strawberry.Info[Context, None]

_FIRST = "How many rows to return: 0 to 500, 50 when omitted."
_AFTER = "Return the rows after this cursor (an `endCursor` or edge `cursor` of this list)."
_SHA256 = "The SHA-256 of the model file; upper case and surrounding spaces are accepted."
_PENDING_ID = "The pending import's id (the legacy row id)."
_SEARCH = "Keep models whose name contains this text, ignoring case."
_TAG_IDS = "Keep models that carry every one of these tags."
_TYPE = "Keep models of this type (checkpoint, lora, …), ignoring case."
_FILE_STATUS = "Keep the files with this status, as the last scan of their folder saw them."
_BASE_MODEL = (
    "Keep the files whose header names this base model, exactly (after trimming), e.g. "
    "`sdxl_base_v1-0`; at most 200 characters."
)
_PATH = (
    "Keep the model at exactly this absolute path, as the library records it (no case "
    "folding, no `/` for `\\`); a relative or empty path is an INVALID_PATH error."
)
_SORT = "What to order by; NAME when omitted. A cursor belongs to one order and direction."
_DIRECTION = "Which way; ASC when omitted. Unknown sizes come last either way."


@strawberry.type(description="Reading the library.")
class Query:
    @strawberry.field(
        description="Models page by page, by name (ignoring case) unless `sort` says otherwise."
    )
    async def models(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description=_FIRST)] = None,
        after: Annotated[str | None, strawberry.argument(description=_AFTER)] = None,
        search: Annotated[str | None, strawberry.argument(description=_SEARCH)] = None,
        tag_ids: Annotated[list[int] | None, strawberry.argument(description=_TAG_IDS)] = None,
        type: Annotated[str | None, strawberry.argument(description=_TYPE)] = None,
        path: Annotated[str | None, strawberry.argument(description=_PATH)] = None,
        sort: Annotated[ModelSort | None, strawberry.argument(description=_SORT)] = None,
        direction: Annotated[
            SortDirection | None, strawberry.argument(description=_DIRECTION)
        ] = None,
        file_status: Annotated[
            FileStatus | None, strawberry.argument(description=_FILE_STATUS)
        ] = None,
        base_model: Annotated[str | None, strawberry.argument(description=_BASE_MODEL)] = None,
    ) -> Connection[Model]:
        page = await library.list_models(
            info.context.store,
            first=first,
            after=after,
            search=search,
            tag_ids=tag_ids,
            type=type,
            path=path,
            sort=sort,
            direction=direction,
            file_status=file_status,
            base_model=base_model,
        )
        return Connection.of(page, await Model.many(info, page.items))

    @strawberry.field(
        description="Every model type in the library with its model count, by type name."
    )
    async def model_types(self, info: Info) -> list[ModelTypeCount]:
        counted = await library.list_model_types(info.context.store)
        return [ModelTypeCount.of(each) for each in counted]

    @strawberry.field(
        description="The model at exactly this file path, or null when the library has none "
        "there. Paths are matched as the library records them (no case folding, no `/` for "
        "`\\`); a relative or empty path is an error."
    )
    async def model_by_path(
        self,
        info: Info,
        path: Annotated[str, strawberry.argument(description="The model file's absolute path.")],
    ) -> Model | None:
        model = await library.find_model_at(info.context.store, path)
        return None if model is None else Model.of(model)

    @strawberry.field(
        description="The model with this SHA-256 (any letter case), or null when the library "
        "has none. A value that is not 64 hexadecimal characters is an error."
    )
    async def model(
        self, info: Info, sha256: Annotated[str, strawberry.argument(description=_SHA256)]
    ) -> Model | None:
        model = await library.find_model(info.context.store, sha256)
        return None if model is None else Model.of(model)

    @strawberry.field(description="Models waiting to be imported, in id order, page by page.")
    async def pending_imports(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description=_FIRST)] = None,
        after: Annotated[str | None, strawberry.argument(description=_AFTER)] = None,
        file_status: Annotated[
            FileStatus | None, strawberry.argument(description=_FILE_STATUS)
        ] = None,
        base_model: Annotated[str | None, strawberry.argument(description=_BASE_MODEL)] = None,
    ) -> Connection[PendingImport]:
        page = await library.list_pending_imports(
            info.context.store,
            first=first,
            after=after,
            file_status=file_status,
            base_model=base_model,
        )
        return Connection.of(page, await PendingImport.many(info, page.items))

    @strawberry.field(
        description="Every SHA-256 more than one file of the library has (a model and pending "
        "imports whose digest is known, or several pending imports), most bytes freed first; "
        "ties by SHA-256. A pending import's digest is known once it was hashed."
    )
    async def duplicates(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description=_FIRST)] = None,
        after: Annotated[str | None, strawberry.argument(description=_AFTER)] = None,
    ) -> Connection[DuplicateGroup]:
        page = await library.list_duplicates(info.context.store, first=first, after=after)
        return Connection.of(page, [DuplicateGroup.of(group) for group in page.items])

    @strawberry.field(description="The pending import with this id, or null when there is none.")
    async def pending_import(
        self, info: Info, id: Annotated[int, strawberry.argument(description=_PENDING_ID)]
    ) -> PendingImport | None:
        pending = await library.find_pending_import(info.context.store, id)
        return None if pending is None else PendingImport.of(pending)

    @strawberry.field(
        description="How far the current legacy import is, or how the last one ended; null when "
        "none has run since the server started."
    )
    def legacy_migration(self, info: Info) -> MigrationProgress | None:
        progress = info.context.migrator.progress
        return None if progress is None else MigrationProgress.of(progress)

    @strawberry.field(description="The job with this id, or null when there is none.")
    async def job(
        self,
        info: Info,
        id: JobIdArgument,
    ) -> Job | None:
        try:
            number = job_id(id)
        except JobNotFound:
            return None
        job = await info.context.jobs.job(number)
        return None if job is None else Job.of(job)

    @strawberry.field(description="Every job, newest first, page by page.")
    async def jobs(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description=_FIRST)] = None,
        after: Annotated[str | None, strawberry.argument(description=_AFTER)] = None,
    ) -> Connection[Job]:
        page = await info.context.jobs.jobs(first, after)
        return Connection.of(page, [Job.of(job) for job in page.items])

    @strawberry.field(description="Every tag, by name.")
    async def tags(self, info: Info) -> list[Tag]:
        return [Tag.of(tag) for tag in await library.list_tags(info.context.store)]
