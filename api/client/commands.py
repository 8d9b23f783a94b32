"""The client subcommands: `migrate`, `import`, `jobs`, `job`, `pending`.

Each one is a script's view of the public GraphQL API. Exit status: 0 when the work was
done, 1 when it finished (or stopped) with failures, conflicts or a pause, 2 when the
request was refused or the server could not be reached (the message is on stderr).
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from api.client.follow import FINAL_STATES, POLL_SECONDS, control_job, follow_job, interrupt
from api.client.graphql_http import DEFAULT_URL, ClientError, GraphQLClient
from api.client.operations import IMPORT_PENDING, JOB, JOB_ITEMS, JOBS, MIGRATE, PENDING
from api.client.output import Progress, human_bytes, human_seconds, print_json, table

OK, UNFINISHED, REFUSED = 0, 1, 2
Command = Callable[[GraphQLClient, argparse.Namespace], int]


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the client subcommands to the `modelshelf` parser."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", default=DEFAULT_URL, help=f"the server (default {DEFAULT_URL})")
    common.add_argument("--json", action="store_true", help="print one JSON document, for scripts")

    migrate = commands.add_parser(
        "migrate", parents=[common], help="import a legacy library (Stage 1) into the server's"
    )
    migrate.add_argument("legacy_db", metavar="LEGACY_DB", help="the legacy hikaze_mm.sqlite3")
    migrate.add_argument("--images", metavar="DIR", help="its images folder (default: images/)")
    migrate.set_defaults(run=_runner(_migrate))

    importing = commands.add_parser(
        "import", parents=[common], help="import pending models (Stage 2) as a job"
    )
    importing.add_argument("ids", metavar="ID", type=int, nargs="*", help="pending import ids")
    importing.add_argument("--all", action="store_true", help="every pending import")
    importing.add_argument(
        "--strategy",
        choices=["override", "merge", "delete"],
        help="how to resolve a model already in the library (default: leave it pending)",
    )
    importing.set_defaults(run=_runner(_import), parser=importing)

    jobs = commands.add_parser("jobs", parents=[common], help="list the jobs, newest first")
    jobs.set_defaults(run=_runner(_jobs))

    job = commands.add_parser("job", parents=[common], help="show, pause, resume or cancel a job")
    job.add_argument("job_id", metavar="ID", help="the job's id")
    control = job.add_mutually_exclusive_group()
    for verb in ("pause", "resume", "cancel"):
        control.add_argument(
            f"--{verb}", dest="verb", action="store_const", const=verb, help=f"{verb} the job"
        )
    job.set_defaults(run=_runner(_job), verb=None)

    pending = commands.add_parser("pending", parents=[common], help="list the pending imports")
    pending.set_defaults(run=_runner(_pending))


def _runner(command: Command) -> Callable[[argparse.Namespace], int]:
    """Run a command with a client for --url; a refusal or an unreachable server is a
    message on stderr and its exit status, never a traceback."""

    def run(args: argparse.Namespace) -> int:
        try:
            return command(GraphQLClient(args.url), args)
        except ClientError as error:
            print(f"modelshelf: {error.message}", file=sys.stderr)
            return error.status
        except KeyboardInterrupt:
            print("modelshelf: interrupted", file=sys.stderr)
            return 130

    return run


# --- import ----------------------------------------------------------------------------------


def _import(client: GraphQLClient, args: argparse.Namespace) -> int:
    if bool(args.ids) == args.all:
        args.parser.error("give pending import ids or --all (not both)")
    strategy = args.strategy.upper() if args.strategy else None
    started = client.execute(IMPORT_PENDING, ids=args.ids or None, strategy=strategy)
    result = started["importPending"]
    if result["__typename"] != "JobStarted":
        status = UNFINISHED if result["__typename"] == "DiskFull" else REFUSED
        raise ClientError(f"the import did not start: {result['message']}", status=status)
    job_id = result["job"]["id"]
    progress = Progress(f"import job {job_id}", quiet=args.json)
    job = follow_job(client, job_id, progress)
    problems = _items(client, job_id, "CONFLICT") + _items(client, job_id, "FAILED")
    if args.json:
        print_json({**job, "problems": problems})
    else:
        print(_job_summary(job))
        for item in problems:
            print(
                f"  {item['outcome'].lower()}: #{item['pendingId']} {item['name']}: "
                f"{item['message'] or ''}".rstrip(": ")
            )
        if job["state"] == "PAUSED":
            print(f"Resume it with: modelshelf job {job_id} --resume")
    return OK if _clean(job) else UNFINISHED


def _items(client: GraphQLClient, job_id: str, outcome: str) -> list[dict[str, Any]]:
    """Every item of the job with this outcome, page after page."""
    items: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        page = client.execute(JOB_ITEMS, id=job_id, outcome=outcome, after=after)["job"]["items"]
        items.extend(page["nodes"])
        if not page["pageInfo"]["hasNextPage"]:
            return items
        after = page["pageInfo"]["endCursor"]


def _clean(job: dict[str, Any]) -> bool:
    """Done with nothing left for the user to look at."""
    return job["state"] == "COMPLETED" and not job["failed"] and not job["conflicts"]


def _job_summary(job: dict[str, Any]) -> str:
    counts = [
        f"{job[name]} {name}"
        for name in ("created", "merged", "overridden", "deleted", "skipped", "conflicts", "failed")
        if job[name]
    ]
    line = f"Job {job['id']} ({job['kind']}) {job['state'].lower()}: {job['done']}/{job['total']}"
    line += f" items, {human_bytes(job['bytesDone'])}"
    if counts:
        line += " — " + ", ".join(counts)
    if job.get("error"):
        line += f"\n  error: {job['error']}"
    return line


# --- jobs, job, pending ----------------------------------------------------------------------


def _jobs(client: GraphQLClient, args: argparse.Namespace) -> int:
    jobs = _all_pages(client, JOBS, "jobs")
    if args.json:
        print_json({"jobs": jobs})
        return OK
    if not jobs:
        print("No jobs.")
        return OK
    rows = [
        [
            job["id"],
            job["kind"],
            job["state"],
            f"{job['done']}/{job['total']}",
            str(job["conflicts"]),
            str(job["failed"]),
            job["createdAt"],
        ]
        for job in jobs
    ]
    print(table(["ID", "KIND", "STATE", "DONE", "CONFLICTS", "FAILED", "CREATED"], rows))
    return OK


def _job(client: GraphQLClient, args: argparse.Namespace) -> int:
    if args.verb is not None:
        job = control_job(client, args.job_id, args.verb)
    else:
        job = client.execute(JOB, id=args.job_id)["job"]
        if job is None:
            raise ClientError(f"there is no job with id {args.job_id}")
    if args.json:
        print_json(job)
    else:
        print(_job_summary(job))
        if job["state"] == "RUNNING":
            print(f"  time left: {human_seconds(job['secondsLeft'])}")
    return OK


def _pending(client: GraphQLClient, args: argparse.Namespace) -> int:
    pending = _all_pages(client, PENDING, "pendingImports")
    if args.json:
        print_json({"totalCount": len(pending), "pendingImports": pending})
        return OK
    if not pending:
        print("No pending imports.")
        return OK
    rows = [
        [
            str(item["id"]),
            item["name"],
            item["type"],
            human_bytes(item["sizeBytes"]),
            (item["sha256"] or "-")[:12],
            item["path"],
        ]
        for item in pending
    ]
    print(table(["ID", "NAME", "TYPE", "SIZE", "SHA256", "PATH"], rows))
    return OK


def _all_pages(client: GraphQLClient, query: str, field: str) -> list[dict[str, Any]]:
    """Every row of a connection, page after page."""
    rows: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        page = client.execute(query, after=after)[field]
        rows.extend(page["nodes"])
        if not page["pageInfo"]["hasNextPage"]:
            return rows
        after = page["pageInfo"]["endCursor"]


# --- migrate ---------------------------------------------------------------------------------


def _migrate(client: GraphQLClient, args: argparse.Namespace) -> int:
    # The server reads the paths: make them absolute here, where they were typed.
    db = str(Path(args.legacy_db).absolute())
    images = str(Path(args.images).absolute()) if args.images else None
    answer: dict[str, Any] = {}

    def call() -> None:
        # migrateLegacyDb answers only at the end: it runs beside the progress polling.
        try:
            answer["result"] = client.execute(MIGRATE, db=db, images=images)["migrateLegacyDb"]
        except ClientError as error:
            answer["error"] = error

    caller = threading.Thread(target=call, daemon=True)
    caller.start()
    progress = Progress("legacy import", quiet=args.json)
    job_id: str | None = None
    while caller.is_alive():
        try:
            job_id = job_id or _migration_job(client)
            if job_id is not None:
                progress.update(client.execute(JOB, id=job_id)["job"])
            caller.join(POLL_SECONDS)
        except KeyboardInterrupt:
            if job_id is not None:
                interrupt(client, job_id, progress)
            else:
                raise
    if job_id is not None:
        progress.update(client.execute(JOB, id=job_id)["job"])
    progress.finish()
    if "error" in answer:
        raise answer["error"]
    result = answer["result"]
    if result["__typename"] != "MigrationReport":
        status = REFUSED if result["__typename"].startswith("Migration") else UNFINISHED
        raise ClientError(f"the legacy import did not finish: {result['message']}", status=status)
    if args.json:
        print_json(result)
    else:
        print(_report_summary(result))
    return UNFINISHED if result["imagesFailed"] else OK


def _migration_job(client: GraphQLClient) -> str | None:
    """The unfinished LEGACY_MIGRATION job, the one this call started or took over (the
    server keeps at most one: any other call answers MigrationAlreadyRunning), or None
    until it exists."""
    page = client.execute(JOBS, after=None)["jobs"]["nodes"]  # newest first
    for job in page:
        if job["kind"] == "LEGACY_MIGRATION" and job["state"] not in FINAL_STATES:
            return str(job["id"])
    time.sleep(POLL_SECONDS / 5)
    return None


def _report_summary(report: dict[str, Any]) -> str:
    if report["nothingNew"]:
        return f"Nothing new: {report['legacyDbPath']} was imported before."
    lines = [
        f"Imported {report['legacyDbPath']}"
        + (f" (known before as {report['recognizedFrom']})" if report["recognizedFrom"] else ""),
        f"  {report['modelsImported']} models, {report['pendingCreated']} pending imports "
        f"({report['duplicates']} duplicates), {report['tagsImported']} tags; "
        f"{report['alreadyImported']} rows imported before",
        f"  images: {report['imagesConverted']} converted, {report['imagesCopied']} copied, "
        f"{report['imagesMissing']} missing, {report['imagesFailed']} failed",
        f"  took {human_seconds(report['rowsSeconds'])} for rows, "
        f"{human_seconds(report['imagesSeconds'])} for images",
    ]
    if report["issueCounts"]:
        counts = ", ".join(f"{c['count']} {c['kind']}" for c in report["issueCounts"])
        lines.append(f"  issues: {counts} (--json lists them)")
    return "\n".join(lines)
