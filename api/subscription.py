"""The `Subscription` root: live progress over the graphql-transport-ws protocol."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from api.context import Context
from api.types.jobs import Job, JobIdArgument, job_id

Info = strawberry.Info[Context, None]


@strawberry.type(description="Following the library as it changes.")
class Subscription:
    @strawberry.subscription(
        description="The job now, then each time it changes: at once on a change of state, at "
        "most about four times a second for progress. Completes after the job has ended."
    )
    async def job(
        self,
        info: Info,
        id: JobIdArgument,
    ) -> AsyncGenerator[Job, None]:
        async for job in info.context.jobs.watch(job_id(id)):
            yield Job.of(job)
