"""Following a job to its end by polling, and what Ctrl-C does meanwhile.

Polling `job(id:)` over plain HTTP keeps the CLI on the standard library (the `job`
subscription would need a websocket client); a few requests a second cost the server
nothing next to hashing gigabytes.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from api.client.graphql_http import ClientError, GraphQLClient
from api.client.operations import CONTROL, JOB
from api.client.output import Progress

POLL_SECONDS = 0.25
FINAL_STATES = frozenset({"COMPLETED", "CANCELLED", "FAILED"})


def follow_job(client: GraphQLClient, job_id: str, progress: Progress) -> dict[str, Any]:
    """Show the job's progress until it ends or is paused (by anyone, or by a full disk);
    answer it as it was then. Ctrl-C asks whether to pause or cancel it."""
    while True:
        try:
            job = current_job(client, job_id)
            progress.update(job)
            if job["state"] in FINAL_STATES or job["state"] == "PAUSED":
                progress.finish()
                return job
            time.sleep(POLL_SECONDS)
        except KeyboardInterrupt:
            stopped = interrupt(client, job_id, progress)
            if stopped is not None:
                return stopped


def current_job(client: GraphQLClient, job_id: str) -> dict[str, Any]:
    """The job as it is now; one that vanished is the server's doing, said as such."""
    job: dict[str, Any] | None = client.execute(JOB, id=job_id)["job"]
    if job is None:
        raise ClientError(f"job {job_id} is gone from the server", status=1)
    return job


def interrupt(client: GraphQLClient, job_id: str, progress: Progress) -> dict[str, Any] | None:
    """Ctrl-C while following: pause or cancel the job as the user says (pause when nobody
    can be asked); None when they choose to go on watching."""
    progress.finish()
    choice = _ask() if sys.stdin.isatty() and sys.stderr.isatty() else "pause"
    if choice == "continue":
        return None
    progress.say(f"Asking the server to {choice} job {job_id}…")
    control_job(client, job_id, choice)
    job = current_job(client, job_id)
    progress.update(job)
    progress.finish()
    return job


def control_job(client: GraphQLClient, job_id: str, verb: str) -> dict[str, Any]:
    """Pause, resume or cancel a job; the job as it is after, or ClientError saying why not
    (no such job: status 2; it had already ended: status 1)."""
    result: dict[str, Any] = client.execute(CONTROL[verb], id=job_id)[f"{verb}Job"]
    kind = result["__typename"]
    if kind == "Job":
        return result
    status = 2 if kind == "JobNotFound" else 1
    raise ClientError(f"cannot {verb} job {job_id}: {result['message']}", status=status)


def _ask() -> str:
    """'pause', 'cancel' or 'continue', as the person at the terminal answers."""
    prompt = "Pause or cancel the job? [P]ause / [c]ancel / [w]atch on: "
    try:
        answer = input(prompt).strip().lower()
    except (KeyboardInterrupt, EOFError):  # a second Ctrl-C: do the safe thing
        return "pause"
    if answer.startswith("c"):
        return "cancel"
    if answer.startswith("w"):
        return "continue"
    return "pause"
