"""Stage 1, part 1: the legacy rows to import, each turned into a plan by the rules of
`legacy_rules`, with its model file and images looked for.

Blocking: run on the workers.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from domain.legacy_identity import row_digest
from domain.legacy_reader import LegacyLibrary, LegacyModelRow, read_legacy_library
from domain.legacy_report import MigrationReport
from domain.legacy_rules import (
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


class ImageIndex:
    """The legacy image folder, listed once: file name → file (exact, else ignoring case)."""

    def __init__(self, folder: Path | None) -> None:
        self.exact: dict[str, Path] = {}
        self.folded: dict[str, Path] = {}
        if folder is None:
            return
        for root, dirs, files in os.walk(folder):
            dirs.sort()  # the same name in two folders: the first in sorted order wins
            for name in sorted(files):
                path = Path(root) / name
                self.exact.setdefault(name, path)
                self.folded.setdefault(name.casefold(), path)

    def find(self, name: str) -> Path | None:
        return self.exact.get(name) or self.folded.get(name.casefold())


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
    """Part 1's blocking work for the rows to import: look for each model file and image,
    and apply the rules to every row. Rows imported before are not looked at again."""
    index = ImageIndex(images_dir)
    missing_files = _rows_without_file(rows)
    now_ms = round(time.time() * 1000)
    planned = []
    for row in rows:
        issues = report.issues
        cleaned = clean_meta(row.id, row.extra_json, row.meta_json)
        issues += cleaned.issues
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
                meta=cleaned.meta,
                legacy_tag_ids=library.tag_ids.get(row.id, []),
                images=_found_images(row.id, cleaned.image_refs, index, images_dir, report),
            )
        )
    return planned


def _found_images(
    legacy_id: int,
    refs: list[str],
    index: ImageIndex,
    images_dir: Path | None,
    report: MigrationReport,
) -> list[Path]:
    found = []
    for name in unique_file_names(refs):
        path = index.find(name)
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
