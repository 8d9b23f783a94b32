"""Stage 1 over GraphQL: a legacy library with every quirk, imported once and only once."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Shelf
from tests.images import BLUE, GREEN, RED, YELLOW, close, encode, solid
from tests.legacy import LegacyRow, create_legacy_db
from tests.seed import add_tags

MIGRATE = """
mutation($db: String!, $images: String) {
  migrateLegacyDb(legacyDbPath: $db, legacyImagesDir: $images) {
    __typename
    ... on MigrationReport {
      modelsImported pendingCreated tagsImported imagesConverted imagesCopied imagesMissing
      imagesFailed duplicates alreadyImported nothingNew legacyImagesDir
      issues { legacyId kind message }
      issueCounts { kind count }
    }
    ... on MigrationAlreadyRunning { jobId }
    ... on Problem { code message }
  }
}
"""
LIBRARY = """
{
  models(first: 100) {
    nodes { sha256 name path type sizeBytes createdAt meta tags { id name }
            sampleImages { seq url } }
  }
  pendingImports(first: 100) {
    nodes { id name sha256 meta tags { id name } images { seq filename url } }
  }
  tags { id name color }
}
"""

ADD_ROW = (
    "INSERT INTO models (id, path, name, type, hash_hex, created_at)"
    " VALUES (?, ?, 'x', 'vae', '', 0)"
)
SHA_A = hashlib.sha256(b"model a").hexdigest()
SHA_B = hashlib.sha256(b"model b").hexdigest()
SHA_C = hashlib.sha256(b"model c").hexdigest()
TAGS = [
    (1, "lora", None),
    (2, "checkpoint", "#ff0000"),
    (5, "style", "#00ff00"),
    (9, "anime", None),
]


def picture(color: tuple[int, int, int], format: str = "PNG") -> bytes:
    return encode(solid((64, 48), color), format)


def legacy_library(folder: Path, **options: Any) -> Path:
    """A legacy database beside its `images/` folder, with every quirk LEGACY.md lists."""
    images = folder / "images"
    images.mkdir(parents=True)
    (images / "model_1_red.png").write_bytes(picture(RED))
    (images / "blue photo.jpg").write_bytes(picture(BLUE, "JPEG"))
    (images / "green.png").write_bytes(picture(GREEN))
    (images / "pending_2.png").write_bytes(picture(YELLOW))
    (images / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    (images / "Mixed_Case.PNG").write_bytes(picture(GREEN))
    rows = [
        LegacyRow(
            1,
            "/models/loras/a.safetensors",
            hash_hex=SHA_A,
            size_bytes=7 * 1024**3,
            tags=[1, 5],
            extra={
                "description": "first",
                "images": [
                    "/media/model_1_red.png",
                    "/media/model_1_red.png?again=1",
                    "C:\\legacy\\images\\blue%20photo.jpg",
                    "/home/me/images/green.png",
                ],
            },
        ),
        LegacyRow(
            2,
            "C:\\models\\loras\\b.safetensors",
            tags=[1],
            extra={"images": ["/media/pending_2.png"]},
        ),
        LegacyRow(3, "/copies/a.safetensors", hash_hex=f"  {SHA_A.upper()} ", tags=[9]),
        LegacyRow(
            4,
            "/models/c.safetensors",
            hash_hex=SHA_B,
            extra="{not json",
            meta_json='{"from": "meta"}',
        ),
        LegacyRow(
            5,
            "/models/d.safetensors",
            hash_hex=SHA_C,
            type="Checkpoint",
            name="Dee",
            extra={"images": ["/media/missing.png", "/media/broken.png", "/media/mixed_case.png"]},
        ),
        LegacyRow(
            6,
            "/models/e.safetensors",
            hash_hex="xyz",
            extra={"image": "/media/green.png", "preview": "x"},
        ),
        LegacyRow(8, "/models/f.safetensors", tags=[2, 42]),
    ]
    return create_legacy_db(folder / "hikaze_mm.sqlite3", rows, TAGS, **options)


async def migrate(shelf: Shelf, db: Path, images: Path | None = None) -> dict[str, Any]:
    variables = {"db": str(db), "images": None if images is None else str(images)}
    result: dict[str, Any] = (await shelf.data(MIGRATE, **variables))["migrateLegacyDb"]
    return result


def fingerprint(folder: Path) -> dict[str, str]:
    """Every file below `folder` with the digest of its bytes."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


async def test_a_legacy_library_is_carried_over_losing_nothing(
    shelf: Shelf, tmp_path: Path
) -> None:
    legacy = tmp_path / "legacy"
    db = legacy_library(legacy)
    before = fingerprint(legacy)

    report = await migrate(shelf, db)

    assert report["__typename"] == "MigrationReport"
    assert report["legacyImagesDir"] == str(legacy / "images")  # found beside the database
    counts = {
        key: report[key]
        for key in ("modelsImported", "pendingCreated", "tagsImported", "duplicates")
    }
    assert counts == {"modelsImported": 3, "pendingCreated": 4, "tagsImported": 4, "duplicates": 1}
    assert report["imagesConverted"] == 4  # red, blue, green for row 1; Mixed_Case for row 5
    assert report["imagesCopied"] == 2  # rows 2 and 6
    assert report["imagesMissing"] == 2 and report["imagesFailed"] == 1  # missing.png, "x"
    kinds = {(issue["legacyId"], issue["kind"]) for issue in report["issues"]}
    assert {
        (4, "INVALID_JSON"),
        (5, "MISSING_IMAGE"),
        (5, "UNDECODABLE_IMAGE"),
        (6, "INVALID_HASH"),
        (8, "UNKNOWN_TAG"),
        (1, "MISSING_MODEL_FILE"),
    } <= kinds
    assert report["issueCounts"] == [
        {"kind": kind, "count": sum(issue["kind"] == kind for issue in report["issues"])}
        for kind in sorted({issue["kind"] for issue in report["issues"]})
    ]
    assert {"kind": "MISSING_MODEL_FILE", "count": 7} in report["issueCounts"]
    assert fingerprint(legacy) == before  # not a byte of the legacy folder changed

    library = await shelf.data(LIBRARY)
    models = {model["sha256"]: model for model in library["models"]["nodes"]}
    first = models[SHA_A]
    assert first["name"] == "a.safetensors" and first["sizeBytes"] == 7 * 1024**3
    assert first["meta"] == {"description": "first"}
    assert [tag["name"] for tag in first["tags"]] == ["lora", "style"]
    assert [image["seq"] for image in first["sampleImages"]] == [0, 1, 2]
    colors = await shelf.colors(first["sampleImages"])
    assert all(map(close, colors, [RED, BLUE, GREEN]))  # in listed order, the repeat once
    assert first["createdAt"].startswith("2023-11-14")
    assert models[SHA_B]["meta"] == {"from": "meta"}
    assert models[SHA_C]["type"] == "checkpoint" and models[SHA_C]["name"] == "Dee"
    assert len(models[SHA_C]["sampleImages"]) == 1

    pending = {row["id"]: row for row in library["pendingImports"]["nodes"]}
    assert sorted(pending) == [2, 3, 6, 8]  # legacy ids kept
    assert pending[3]["sha256"] == SHA_A  # the duplicate, with its digest known
    assert pending[2]["sha256"] is None and pending[6]["sha256"] is None
    assert [tag["name"] for tag in pending[3]["tags"]] == ["anime"]
    assert [tag["name"] for tag in pending[8]["tags"]] == ["checkpoint"]
    (copied,) = pending[2]["images"]
    response = await shelf.client.get(copied["url"])
    assert response.content == (legacy / "images" / "pending_2.png").read_bytes()
    assert response.headers["content-type"] == "image/png"
    assert pending[6]["meta"] == {}

    assert library["tags"] == [
        {"id": 9, "name": "anime", "color": None},
        {"id": 2, "name": "checkpoint", "color": "#ff0000"},
        {"id": 1, "name": "lora", "color": None},
        {"id": 5, "name": "style", "color": "#00ff00"},
    ]


async def test_a_second_run_imports_nothing_twice(shelf: Shelf, tmp_path: Path) -> None:
    db = legacy_library(tmp_path / "legacy")
    await migrate(shelf, db)
    library_before = await shelf.data(LIBRARY)
    files_before = fingerprint(shelf.config.images_dir)

    again = await migrate(shelf, db)

    assert again["nothingNew"] is True and again["alreadyImported"] == 7
    assert again["modelsImported"] == again["pendingCreated"] == again["imagesConverted"] == 0
    assert again["tagsImported"] == again["imagesMissing"] == 0
    assert again["issues"] == []  # the rows skipped are not looked at again
    assert await shelf.data(LIBRARY) == library_before
    assert fingerprint(shelf.config.images_dir) == files_before


async def test_rows_added_to_the_legacy_database_later_are_imported_by_the_next_run(
    shelf: Shelf, tmp_path: Path
) -> None:
    db = legacy_library(tmp_path / "legacy")
    await migrate(shelf, db)
    with sqlite3.connect(db) as raw:
        raw.execute(ADD_ROW, (20, "/new"))
    raw.close()
    again = await migrate(shelf, db)
    assert again["pendingCreated"] == 1 and again["alreadyImported"] == 7


async def test_tags_meet_the_library_s_own(shelf: Shelf, tmp_path: Path) -> None:
    await add_tags(shelf.store, "Style", "other")  # ids 1 and 2, taken
    db = legacy_library(tmp_path / "legacy")
    report = await migrate(shelf, db)
    tags = {tag["name"]: tag["id"] for tag in (await shelf.data(LIBRARY))["tags"]}
    assert tags["Style"] == 1  # "style" maps to the library's tag, whatever its case
    assert tags["anime"] == 9 and tags["checkpoint"] not in (1, 2) and tags["lora"] not in (1, 2)
    changed = [issue["message"] for issue in report["issues"] if issue["kind"] == "TAG_ID_CHANGED"]
    assert len(changed) == 2 and report["tagsImported"] == 3


async def test_ids_and_sizes_past_what_clients_hold_are_renumbered_and_dropped(
    shelf: Shelf, tmp_path: Path
) -> None:
    """GraphQL's Int is 32 bits and a JavaScript number exact to 2^53: a legacy column past
    them would break every list holding the row, so the row is kept under a new id."""
    await add_tags(shelf.store, "ink")  # id 1, which the legacy tag "style" had
    fits = 2**31 - 1
    rows = [
        LegacyRow(fits, "/models/fits.safetensors", size_bytes=2**53, tags=[2**31]),
        LegacyRow(2**31, "/models/big.safetensors", size_bytes=2**53 - 1),
        LegacyRow(2**40, "/models/huge.safetensors", tags=[1]),
    ]
    db = create_legacy_db(
        tmp_path / "legacy.sqlite3", rows, [(1, "style", None), (2**31, "anime", None)]
    )

    report = await migrate(shelf, db, None)
    library = await shelf.data(
        "{ pendingImports(first: 10) { nodes { id path sizeBytes tags { id name } } }"
        " tags { id name } }"
    )

    # The lowest free ids go to the renumbered rows, as no id above 2^31 - 1 is free.
    assert library["pendingImports"]["nodes"] == [
        {"id": 1, "path": "/models/big.safetensors", "sizeBytes": 2**53 - 1, "tags": []},
        {
            "id": 2,
            "path": "/models/huge.safetensors",
            "sizeBytes": 1234,
            "tags": [{"id": 2, "name": "style"}],
        },
        {
            "id": fits,
            "path": "/models/fits.safetensors",
            "sizeBytes": None,
            "tags": [{"id": 3, "name": "anime"}],
        },
    ]
    assert library["tags"] == [
        {"id": 3, "name": "anime"},
        {"id": 1, "name": "ink"},
        {"id": 2, "name": "style"},
    ]
    changed = [
        (i["legacyId"], i["kind"]) for i in report["issues"] if i["kind"].endswith("_ID_CHANGED")
    ]
    assert changed == [
        (None, "TAG_ID_CHANGED"),
        (None, "TAG_ID_CHANGED"),
        (2**31, "PENDING_ID_CHANGED"),
        (2**40, "PENDING_ID_CHANGED"),
    ]


async def test_an_explicit_images_folder_and_a_missing_one(shelf: Shelf, tmp_path: Path) -> None:
    db = legacy_library(tmp_path / "legacy")
    moved = tmp_path / "elsewhere"
    (tmp_path / "legacy" / "images").rename(moved)
    report = await migrate(shelf, db, moved)
    assert report["imagesConverted"] == 4 and report["legacyImagesDir"] == str(moved)


async def test_without_any_images_folder_images_are_missing_not_fatal(
    shelf: Shelf, tmp_path: Path
) -> None:
    db = legacy_library(tmp_path / "legacy")
    (tmp_path / "legacy" / "images").rename(tmp_path / "gone")
    report = await migrate(shelf, db)
    assert report["modelsImported"] == 3 and report["imagesMissing"] == 9
    assert report["legacyImagesDir"] is None


async def test_a_legacy_database_still_open_in_wal_mode_is_read_whole(
    shelf: Shelf, tmp_path: Path
) -> None:
    db = legacy_library(tmp_path / "legacy", wal=True)
    writer = sqlite3.connect(db)  # the old app, still running: its last rows live in the WAL
    writer.execute("PRAGMA wal_autocheckpoint = 0")
    writer.execute(ADD_ROW, (30, "/late"))
    writer.commit()
    try:
        assert (tmp_path / "legacy" / "hikaze_mm.sqlite3-wal").stat().st_size > 0
        report = await migrate(shelf, db)
    finally:
        writer.close()
    assert report["pendingCreated"] == 5


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        ("missing", "LEGACY_DB_NOT_FOUND"),
        ("folder", "LEGACY_DB_NOT_FOUND"),
        ("text", "NOT_A_LEGACY_DB"),
        ("other sqlite", "NOT_A_LEGACY_DB"),
        ("missing images", "LEGACY_IMAGES_DIR_NOT_FOUND"),
    ],
)
async def test_bad_inputs_are_refused_and_write_nothing(
    shelf: Shelf, tmp_path: Path, setup: str, code: str
) -> None:
    db, images = tmp_path / "hikaze_mm.sqlite3", None
    if setup == "folder":
        db.mkdir()
    elif setup == "text":
        db.write_text("hello" * 1000)
    elif setup == "other sqlite":
        with sqlite3.connect(db) as raw:
            raw.execute("CREATE TABLE models (id INTEGER PRIMARY KEY, path TEXT)")
        raw.close()
    elif setup == "missing images":
        legacy_library(tmp_path / "legacy")
        db, images = tmp_path / "legacy" / "hikaze_mm.sqlite3", tmp_path / "nope"

    result = await migrate(shelf, db, images)

    assert result["__typename"] == "MigrationRefused" and result["code"] == code, result
    assert str(tmp_path) in result["message"]
    library = await shelf.data(LIBRARY)
    assert library["models"]["nodes"] == library["pendingImports"]["nodes"] == library["tags"] == []


async def test_a_second_migration_while_one_runs_is_refused(shelf: Shelf, tmp_path: Path) -> None:
    db = legacy_library(tmp_path / "legacy")
    answers = await asyncio.gather(migrate(shelf, db), migrate(shelf, db))
    report, refused = sorted(answers, key=lambda answer: answer["__typename"] != "MigrationReport")
    assert report["__typename"] == "MigrationReport" and report["modelsImported"] == 3
    assert refused["__typename"] == "MigrationAlreadyRunning"
    assert refused["code"] == "MIGRATION_ALREADY_RUNNING"
    assert (
        refused["jobId"]
        == (await shelf.data("{ jobs { nodes { id } } }"))["jobs"]["nodes"][0]["id"]
    )


async def test_progress_can_be_followed_while_it_runs(shelf: Shelf, tmp_path: Path) -> None:
    assert (await shelf.data("{ legacyMigration { phase } }"))["legacyMigration"] is None
    db = legacy_library(tmp_path / "legacy")
    seen: list[dict[str, Any]] = []

    async def watch() -> None:
        for _ in range(2000):
            progress = (
                await shelf.data(
                    "{ legacyMigration "
                    "{ phase running rowsTotal rowsDone imagesTotal imagesDone } }"
                )
            )["legacyMigration"]
            if progress is not None:
                seen.append(progress)
                if not progress["running"]:
                    return
            await asyncio.sleep(0.001)

    await asyncio.gather(migrate(shelf, db), watch())
    assert seen[-1] == {
        "phase": "DONE",
        "running": False,
        "rowsTotal": 7,
        "rowsDone": 7,
        "imagesTotal": 7,
        "imagesDone": 7,
    }
    assert any(progress["running"] for progress in seen)


async def test_importing_a_pending_model_while_stage_1_copies_its_images(
    shelf: Shelf, tmp_path: Path
) -> None:
    """Stage 2 asked for a pending import whose originals Stage 1 is still copying: Locked
    until they are all there, and neither stage breaks or loses an image."""
    legacy = tmp_path / "legacy"
    (legacy / "images").mkdir(parents=True)
    rows = []
    for row_id in range(1, 13):
        model_file = tmp_path / "models" / f"m{row_id}.safetensors"
        model_file.parent.mkdir(exist_ok=True)
        model_file.write_bytes(f"model {row_id}".encode())
        names = [f"p{row_id}_{n}.png" for n in range(3)]
        for n, name in enumerate(names):
            (legacy / "images" / name).write_bytes(
                encode(solid((900, 700), (row_id * 9, n * 60, 90)), "PNG")
            )
        rows.append(LegacyRow(row_id, str(model_file), extra={"images": names}))
    db = create_legacy_db(legacy / "hikaze_mm.sqlite3", rows, [])
    imported: list[dict[str, Any]] = []

    async def import_during_images() -> None:
        while True:
            progress = (await shelf.data("{ legacyMigration { phase imagesDone } }"))[
                "legacyMigration"
            ]
            if progress and progress["phase"] == "IMAGES":
                break
            await asyncio.sleep(0.001)
        query = "mutation { importAModel(id: 12) { __typename } }"
        imported.append((await shelf.data(query))["importAModel"])

    report, _ = await asyncio.gather(migrate(shelf, db), import_during_images())

    assert report["__typename"] == "MigrationReport" and report["pendingCreated"] == 12
    assert imported == [{"__typename": "Locked"}] or imported == [{"__typename": "ImportResult"}]
    if imported == [{"__typename": "Locked"}]:
        again = "mutation { importAModel(id: 12) { __typename } }"
        assert (await shelf.data(again))["importAModel"] == {"__typename": "ImportResult"}
    model = (await shelf.data("{ models { nodes { sampleImages { seq } } } }"))["models"]["nodes"]
    assert model == [{"sampleImages": [{"seq": 0}, {"seq": 1}, {"seq": 2}]}]  # all three
    counts = await shelf.data("{ models { totalCount } pendingImports { totalCount } }")
    assert counts["models"]["totalCount"] == 1 and counts["pendingImports"]["totalCount"] == 11
    owed = await shelf.store.fetch_one("SELECT count(*) FROM legacy_image_tasks")
    assert owed is not None and owed[0] == 0
