"""What a folder scan reports (`Job.scanReport`)."""

from __future__ import annotations

import strawberry

from domain.jobs import scan


@strawberry.type(description="Something a scan could not take in; none stops a scan.")
class ScanIssue:
    path: str = strawberry.field(description="The file or folder it is about.")
    kind: str = strawberry.field(
        description="What it is: LOOP (a symbolic link back into a folder being walked), "
        "UNREADABLE (a folder that cannot be listed), VANISHED (gone while walked), "
        "MISSING_FOLDER (a folder asked for that is not there), NOT_A_MODEL (its first bytes "
        "are not what its name says: left out), BAD_HEADER (its header cannot be read: still "
        "a pending import), NOT_UTF8 (its path cannot be stored: left out)."
    )
    message: str = strawberry.field(description="What happened, for people.")


@strawberry.type(description="What one scan saw under its folders.")
class ScanReport:
    files_seen: int = strawberry.field(
        description="Files with a model file's name (by extension) under the folders."
    )
    found: int = strawberry.field(description="New files, made pending imports.")
    known: int = strawberry.field(description="Files the library already knew by path.")
    changed: int = strawberry.field(
        description="Known files whose size or modification time changed since they were "
        "hashed (fileStatus CHANGED)."
    )
    missing: int = strawberry.field(
        description="Files the library knows under the folders that are gone (fileStatus MISSING)."
    )
    issue_count: int = strawberry.field(description="Every issue met, listed or not.")
    issues: list[ScanIssue] = strawberry.field(
        description=f"The first {scan.MAX_ISSUES_KEPT:,} issues, in the order they were met."
    )

    @classmethod
    def of(cls, report: scan.ScanReport) -> ScanReport:
        return cls(
            files_seen=report.files_seen,
            found=report.found,
            known=report.known,
            changed=report.changed,
            missing=report.missing,
            issue_count=report.issue_count,
            issues=[ScanIssue(path=i.path, kind=i.kind, message=i.message) for i in report.issues],
        )
