"""Stage 1, part 1: the legacy rows to import, each turned into a plan by the rules of
`rules`, with its model file and images looked for.

Blocking: run on the workers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from domain.legacy.identity import row_digest
from domain.legacy.image_search import (
    MAX_SEARCH_DEPTH,
    MAX_SEARCH_ENTRIES,
    ImageSearch,
    find_images,
)
from domain.legacy.reader import LegacyLibrary, LegacyModelRow, read_legacy_library
from domain.legacy.report import MigrationReport
from domain.legacy.rules import (
    Issue,
    clean_meta,
    created_at_ms,
    display_name,
    legacy_hash,
    model_type,
    size_bytes,
    unique_file_names,
)


@dataclass(slots=True)
class PlannedRow:
    """One legacy row, cleaned, before the library's state decides what it becomes."""

    legacy_id: int
    sha256: str | None
    path: str
    name: str
    type: str
    size_bytes: int | None
    created_at_ms: int
    meta: dict[str, object]
    legacy_tag_ids: list[int]
    images: list[Path]


def read_with_digests(db_path: Path) -> tuple[LegacyLibrary, dict[int, int]]:
    """The legacy library, and the digest of each row (legacy id → digest)."""
    library = read_legacy_library(db_path)
    digests = {row.id: row_digest(row.id, row.path, row.created_at) for row in library.rows}
    return library, digests


def _rows_without_file(rows: list[LegacyModelRow]) -> set[int]:
    return {row.id for row in rows if not _file_exists(row.path)}


def _file_exists(path: str) -> bool:
    try:
        return Path(path).is_file()
    except (OSError, ValueError):  # a NUL byte or an over-long name: not a file we can find
        return False


def plan_rows(
    library: LegacyLibrary,
    rows: list[LegacyModelRow],
    images_dir: Path | None,
    report: MigrationReport,
) -> list[PlannedRow]:
    """Part 1's blocking work for the rows to import: look for each model file and for the
    images they list (`image_search`: only those, each name once), and apply the rules to
    every row. Rows imported before are not looked at again."""
    cleaned = {row.id: clean_meta(row.id, row.extra_json, row.meta_json) for row in rows}
    names = {row_id: unique_file_names(meta.image_refs) for row_id, meta in cleaned.items()}
    search = find_images(images_dir, (name for listed in names.values() for name in listed))
    if search.limited and images_dir is not None:
        report.issues.append(_search_limited(images_dir, search, names))
    missing_files = _rows_without_file(rows)
    now_ms = round(time.time() * 1000)
    planned = []
    for row in rows:
        issues = report.issues
        issues += cleaned[row.id].issues
        sha256 = legacy_hash(row.hash_hex)
        if sha256 is None and (row.hash_hex or "").strip():
            issues.append(
                Issue(
                    row.id,
                    "INVALID_HASH",
                    f"hash_hex {row.hash_hex!r} is not a SHA-256; the file will be hashed again.",
                )
            )
        if row.id in missing_files:
            issues.append(
                Issue(row.id, "MISSING_MODEL_FILE", f"{row.path} does not exist (any more).")
            )
        planned.append(
            PlannedRow(
                legacy_id=row.id,
                sha256=sha256,
                path=row.path,
                name=display_name(row.name, row.path),
                type=model_type(row.type),
                size_bytes=size_bytes(row.size_bytes),
                created_at_ms=created_at_ms(row.id, row.created_at, now_ms, issues),
                meta=cleaned[row.id].meta,
                legacy_tag_ids=library.tag_ids.get(row.id, []),
                images=_found_images(row.id, names[row.id], search, images_dir, report),
            )
        )
    return planned


def _search_limited(images_dir: Path, search: ImageSearch, names: dict[int, list[str]]) -> Issue:
    missing = {name for listed in names.values() for name in listed} - set(search.found)
    bound = (
        f"after {MAX_SEARCH_ENTRIES:,} entries"
        if search.stopped_at_entries
        else f"at {MAX_SEARCH_DEPTH} levels of folders"
    )
    return Issue(
        None,
        "IMAGE_SEARCH_LIMITED",
        f"The search below {images_dir} for {len(missing):,} listed image(s) not found there "
        f"stopped {bound}, a bound that keeps a folder such as / from being walked whole. "
        "If they are below it, give legacyImagesDir the folder that holds them.",
    )


def _found_images(
    legacy_id: int,
    names: list[str],
    search: ImageSearch,
    images_dir: Path | None,
    report: MigrationReport,
) -> list[Path]:
    found = []
    for name in names:
        path = search.found.get(name)
        if path is None:
            report.images_missing += 1
            where = (
                "no legacy images folder was given or found"
                if images_dir is None
                else f"not in {images_dir}"
            )
            report.issues.append(Issue(legacy_id, "MISSING_IMAGE", f"{name}: {where}."))
        else:
            found.append(path)
    return found
