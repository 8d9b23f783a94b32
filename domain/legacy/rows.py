"""Stage 1, part 2: what the planned rows become in the library, written in the caller's
transaction with the ledger rows that make a second run skip them and the images they owe."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar

import aiosqlite

from domain.ids import IdSpace, why_renumbered
from domain.legacy.plan import PlannedRow
from domain.legacy.reader import LegacyTag
from domain.legacy.report import MigrationReport
from domain.legacy.rules import Issue
from domain.records import Model, PendingImport, from_epoch_ms
from domain.store.legacy import plan_image_tasks, record_rows
from domain.store.models import all_model_keys, insert_models, link_many_model_tags
from domain.store.pending import all_pending_keys, insert_many_pending, link_many_pending_tags
from domain.store.tags import all_tags, insert_tag
from domain.tag_names import tag_name_key

Owner = TypeVar("Owner")


@dataclass(slots=True)
class Placement:
    models: list[PlannedRow] = field(default_factory=list)
    pending: list[tuple[int, PlannedRow]] = field(default_factory=list)  # (pending id, row)
    refused: list[int] = field(default_factory=list)  # legacy ids that became issues


async def import_tags(
    conn: aiosqlite.Connection, tags: list[LegacyTag], report: MigrationReport
) -> dict[int, int]:
    """Legacy tag id → library tag id. A name the library has maps to its tag; a new name
    keeps its legacy id unless another tag holds it or clients could not hold it.

    "The library has" means ignoring case in every script (`domain.tag_names`), as the
    library's own names are unique. The legacy app's names were unique only byte for byte,
    so two legacy tags may fold to one name ("straße" and "strasse"): the first in id order
    makes the tag, the later ones map to it (their models and pending imports carry it) and
    each is listed as a `TAG_MERGED` issue, since a distinction the old app showed is gone.
    A later run finds the tag already in the library and lists nothing again."""
    by_key = {tag_name_key(tag.name): tag for tag in await all_tags(conn)}
    ids = IdSpace((tag.id for tag in by_key.values()), (tag.id for tag in tags))
    made_now: dict[int, LegacyTag] = {}  # library tag id → the legacy tag that made it
    mapping: dict[int, int] = {}
    for legacy in tags:
        match = by_key.get(tag_name_key(legacy.name))
        if match is None:
            match = await insert_tag(conn, legacy.name, legacy.color, ids.claim(legacy.id))
            by_key[tag_name_key(match.name)] = match
            made_now[match.id] = legacy
            report.tags_imported += 1
            if match.id != legacy.id:
                report.issues.append(
                    Issue(
                        None,
                        "TAG_ID_CHANGED",
                        f"Tag {legacy.name!r}: {why_renumbered(legacy.id)}; it is now {match.id}.",
                    )
                )
        elif match.id in made_now:
            maker = made_now[match.id]
            report.issues.append(
                Issue(
                    None,
                    "TAG_MERGED",
                    f"Tag {legacy.name!r} (legacy id {legacy.id}) is the same name as "
                    f"{maker.name!r} (legacy id {maker.id}) ignoring letter case: both are "
                    f"now the tag {match.name!r} ({match.id}).",
                )
            )
        mapping[legacy.id] = match.id
    return mapping


async def place_rows(
    conn: aiosqlite.Connection, rows: list[PlannedRow], report: MigrationReport
) -> Placement:
    """Decide what each new row becomes, given what the library already holds. The lowest
    legacy id of a digest becomes the model; later ones, and digests the library already
    has, become pending imports with the digest known (Stage 2 reports the conflict)."""
    model_shas, model_paths = await all_model_keys(conn)
    pending_ids, pending_paths = await all_pending_keys(conn)
    ids = IdSpace(pending_ids, (row.legacy_id for row in rows))
    placement = Placement()
    for row in rows:  # in legacy id order
        if row.sha256 is not None and row.sha256 not in model_shas and row.path not in model_paths:
            placement.models.append(row)
            model_shas.add(row.sha256)
            model_paths.add(row.path)
            continue
        if row.sha256 is not None:
            report.duplicates += 1
        if row.path in pending_paths:
            placement.refused.append(row.legacy_id)
            report.issues.append(
                Issue(row.legacy_id, "ALREADY_PENDING", f"{row.path} is already a pending import.")
            )
            continue
        pending_id = ids.claim(row.legacy_id)
        if pending_id != row.legacy_id:
            report.issues.append(
                Issue(
                    row.legacy_id,
                    "PENDING_ID_CHANGED",
                    f"{why_renumbered(row.legacy_id)}; the pending import is {pending_id}.",
                )
            )
        pending_paths.add(row.path)
        placement.pending.append((pending_id, row))
    return placement


async def write_placed(
    conn: aiosqlite.Connection,
    source_id: int,
    placement: Placement,
    tag_ids: dict[int, int],
    digests: dict[int, int],
    report: MigrationReport,
) -> None:
    await insert_models(conn, (_model(row) for row in placement.models))
    await link_many_model_tags(
        conn, _links(((r.sha256 or "", r) for r in placement.models), tag_ids, report)
    )
    await insert_many_pending(
        conn, (_pending(pending_id, row) for pending_id, row in placement.pending)
    )
    await link_many_pending_tags(conn, _links(placement.pending, tag_ids, report))
    outcomes = (
        [(r.legacy_id, "model") for r in placement.models]
        + [(r.legacy_id, "pending") for _, r in placement.pending]
        + [(legacy_id, "issue") for legacy_id in placement.refused]
    )
    await record_rows(
        conn, source_id, [(legacy_id, kind, digests[legacy_id]) for legacy_id, kind in outcomes]
    )
    await plan_image_tasks(
        conn,
        source_id,
        [
            (r.legacy_id, i, str(p), r.sha256, None)
            for r in placement.models
            for i, p in enumerate(r.images)
        ]
        + [
            (r.legacy_id, i, str(p), None, pid)
            for pid, r in placement.pending
            for i, p in enumerate(r.images)
        ],
    )
    report.models_imported = len(placement.models)
    report.pending_created = len(placement.pending)


def _links(
    owners: Iterable[tuple[Owner, PlannedRow]], tag_ids: dict[int, int], report: MigrationReport
) -> list[tuple[Owner, int]]:
    """(owner, library tag id) for every legacy tag link of these rows."""
    links = []
    for owner, row in owners:
        for legacy_tag in row.legacy_tag_ids:
            if legacy_tag in tag_ids:
                links.append((owner, tag_ids[legacy_tag]))
            else:
                report.issues.append(
                    Issue(
                        row.legacy_id,
                        "UNKNOWN_TAG",
                        f"The row links tag id {legacy_tag}, which does not exist.",
                    )
                )
    return links


def _model(row: PlannedRow) -> Model:
    created = from_epoch_ms(row.created_at_ms)
    return Model(
        sha256=row.sha256 or "",
        path=row.path,
        name=row.name,
        type=row.type,
        size_bytes=row.size_bytes,
        created_at=created,
        updated_at=created,
        meta=row.meta,
    )


def _pending(pending_id: int, row: PlannedRow) -> PendingImport:
    return PendingImport(
        id=pending_id,
        path=row.path,
        name=row.name,
        type=row.type,
        size_bytes=row.size_bytes,
        created_at=from_epoch_ms(row.created_at_ms),
        meta=row.meta,
        sha256=row.sha256,
    )
