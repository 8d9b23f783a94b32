"""Stage 2 over GraphQL: every branch of importAModel, with real model files and images."""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path
from typing import Any

from tests.conftest import Shelf
from tests.images import BLUE, GREEN, RED, YELLOW, encode, same_colors, solid
from tests.seed import add_tags, pending_file

IMPORT = """
mutation($id: Int!, $strategy: ConflictStrategy) {
  importAModel(id: $id, strategy: $strategy) {
    __typename
    ... on ImportResult {
      sha256 actionTaken imageProblems { filename message }
      model { sha256 path name type sizeBytes meta tags { name } sampleImages { seq url } }
    }
    ... on Conflict { sha256 existing { name path } pending { id sha256 } }
    ... on Locked { id }
    ... on Problem { code message }
    ... on ModelFileProblem { path }
  }
}
"""
MODEL = """
query($sha: String!) {
  model(sha256: $sha) { path name type sizeBytes meta tags { name } sampleImages { seq url } }
}
"""
PENDING = "query($id: Int!) { pendingImport(id: $id) { id sha256 images { filename } } }"


def picture(color: tuple[int, int, int]) -> bytes:
    return encode(solid((64, 48), color), "PNG")


async def import_a_model(
    shelf: Shelf, pending_id: int, strategy: str | None = None
) -> dict[str, Any]:
    result: dict[str, Any] = (await shelf.data(IMPORT, id=pending_id, strategy=strategy))[
        "importAModel"
    ]
    return result


async def test_a_new_file_becomes_a_model(shelf: Shelf, tmp_path: Path) -> None:
    style, anime = await add_tags(shelf.store, "style", "anime")
    content = os.urandom(300_000)
    await pending_file(
        shelf,
        tmp_path,
        7,
        content,
        images=[picture(RED), picture(BLUE)],
        tags=[style, anime],
        meta={"description": "d"},
        name="Seven",
    )

    result = await import_a_model(shelf, 7)

    sha = hashlib.sha256(content).hexdigest()
    assert result["__typename"] == "ImportResult" and result["actionTaken"] == "CREATED"
    assert result["sha256"] == sha and result["imageProblems"] == []
    model = (await shelf.data(MODEL, sha=sha))["model"]
    assert model["name"] == "Seven" and model["path"] == str(tmp_path / "file7.safetensors")
    assert model["sizeBytes"] == 300_000 and model["meta"] == {"description": "d"}
    assert [tag["name"] for tag in model["tags"]] == ["anime", "style"]
    assert same_colors(await shelf.colors(model["sampleImages"]), [RED, BLUE])
    assert (await shelf.data(PENDING, id=7))["pendingImport"] is None
    assert list(shelf.config.pending_images_dir.iterdir()) == []


async def test_an_unknown_id_and_a_missing_or_unreadable_file_change_nothing(
    shelf: Shelf, tmp_path: Path
) -> None:
    assert (await import_a_model(shelf, 404))["__typename"] == "PendingImportNotFound"
    pending = await pending_file(shelf, tmp_path, 1, b"x", images=[picture(RED)])
    Path(pending.path).unlink()
    missing = await import_a_model(shelf, 1)
    assert (missing["__typename"], missing["code"]) == ("ModelFileProblem", "MODEL_FILE_MISSING")
    assert missing["path"] == pending.path
    Path(pending.path).mkdir()
    unreadable = await import_a_model(shelf, 1)
    assert unreadable["code"] == "MODEL_FILE_UNREADABLE"
    still = (await shelf.data(PENDING, id=1))["pendingImport"]
    assert still == {"id": 1, "sha256": None, "images": [{"filename": "1_0.png"}]}


async def test_a_known_digest_is_a_conflict_that_changes_nothing(
    shelf: Shelf, tmp_path: Path
) -> None:
    content = os.urandom(100_000)
    await pending_file(shelf, tmp_path, 1, content, name="first")
    await import_a_model(shelf, 1)
    await pending_file(shelf, tmp_path / "copy", 2, content, images=[picture(RED)], name="second")

    conflict = await import_a_model(shelf, 2)

    sha = hashlib.sha256(content).hexdigest()
    assert conflict["__typename"] == "Conflict" and conflict["sha256"] == sha
    assert conflict["existing"]["name"] == "first"
    assert conflict["pending"] == {"id": 2, "sha256": sha}
    assert (await shelf.data(PENDING, id=2))["pendingImport"]["sha256"] == sha  # remembered
    assert (await shelf.data(MODEL, sha=sha))["model"]["name"] == "first"


async def test_answering_a_conflict_does_not_read_the_file_again(
    shelf: Shelf, tmp_path: Path
) -> None:
    content = os.urandom(2_000_000)
    await pending_file(shelf, tmp_path, 1, content)
    await import_a_model(shelf, 1)
    pending = await pending_file(shelf, tmp_path / "copy", 2, content)
    hasher = shelf.app.state.hasher
    read_before = hasher.bytes_read
    assert (await import_a_model(shelf, 2))["__typename"] == "Conflict"
    assert hasher.bytes_read == read_before + len(content)  # hashed once

    retry = await import_a_model(shelf, 2, "MERGE")

    assert retry["actionTaken"] == "MERGED"
    assert hasher.bytes_read == read_before + len(content)  # and never again
    assert Path(pending.path).exists()


async def test_a_file_changed_after_the_conflict_is_hashed_again(
    shelf: Shelf, tmp_path: Path
) -> None:
    content = os.urandom(50_000)
    await pending_file(shelf, tmp_path, 1, content)
    await import_a_model(shelf, 1)
    pending = await pending_file(shelf, tmp_path / "copy", 2, content)
    assert (await import_a_model(shelf, 2))["__typename"] == "Conflict"

    Path(pending.path).write_bytes(content + b"more")  # new size and mtime
    result = await import_a_model(shelf, 2, "MERGE")

    assert result["actionTaken"] == "CREATED"  # different content now: no conflict at all
    assert result["sha256"] == hashlib.sha256(content + b"more").hexdigest()


async def conflicting_pair(shelf: Shelf, tmp_path: Path) -> str:
    """A model with tags, meta and a 3-picture gallery, and pending import 2 with the same
    file, other values, a tag of its own and 2 pictures (one the gallery already has)."""
    red, blue = await add_tags(shelf.store, "red", "blue")
    content = os.urandom(10_000)
    await pending_file(
        shelf,
        tmp_path,
        1,
        content,
        tags=[red],
        name="model",
        images=[picture(RED), picture(BLUE), picture(GREEN)],
        meta={"description": "", "prompts": {"positive": "cat"}, "links": ["a"]},
    )
    await import_a_model(shelf, 1)
    await pending_file(
        shelf,
        tmp_path / "copy",
        2,
        content,
        tags=[blue],
        name="pending",
        images=[picture(YELLOW), picture(GREEN)],
        meta={
            "description": "filled",
            "prompts": {"positive": "dog", "negative": "blur"},
            "links": ["b"],
        },
    )
    return hashlib.sha256(content).hexdigest()


async def test_override_takes_every_pending_value_and_its_images_from_seq_0(
    shelf: Shelf, tmp_path: Path
) -> None:
    sha = await conflicting_pair(shelf, tmp_path)
    result = await import_a_model(shelf, 2, "OVERRIDE")
    assert result["actionTaken"] == "OVERRIDDEN"
    model = (await shelf.data(MODEL, sha=sha))["model"]
    assert model["name"] == "pending" and model["path"] == str(
        tmp_path / "copy" / "file2.safetensors"
    )
    assert model["meta"] == {
        "description": "filled",
        "prompts": {"positive": "dog", "negative": "blur"},
        "links": ["b"],
    }
    assert [tag["name"] for tag in model["tags"]] == ["blue", "red"]
    # yellow and green take seqs 0 and 1; red, blue and green were there; green would repeat.
    assert same_colors(await shelf.colors(model["sampleImages"]), [YELLOW, GREEN])
    assert (await shelf.data(PENDING, id=2))["pendingImport"] is None


async def test_merge_fills_gaps_and_appends_new_pictures(shelf: Shelf, tmp_path: Path) -> None:
    sha = await conflicting_pair(shelf, tmp_path)
    result = await import_a_model(shelf, 2, "MERGE")
    assert result["actionTaken"] == "MERGED"
    model = (await shelf.data(MODEL, sha=sha))["model"]
    assert model["name"] == "model" and model["path"] == str(tmp_path / "file1.safetensors")
    assert model["meta"] == {
        "description": "filled",
        "prompts": {"positive": "cat", "negative": "blur"},
        "links": ["a", "b"],
    }
    assert [tag["name"] for tag in model["tags"]] == ["blue", "red"]
    assert same_colors(await shelf.colors(model["sampleImages"]), [RED, BLUE, GREEN, YELLOW])
    assert list(shelf.config.pending_images_dir.iterdir()) == []


async def test_delete_drops_the_pending_import_and_leaves_the_model(
    shelf: Shelf, tmp_path: Path
) -> None:
    sha = await conflicting_pair(shelf, tmp_path)
    before = (await shelf.data(MODEL, sha=sha))["model"]
    result = await import_a_model(shelf, 2, "DELETE")
    assert result["actionTaken"] == "DELETED" and result["model"]["name"] == "model"
    assert (await shelf.data(MODEL, sha=sha))["model"] == before
    assert (await shelf.data(PENDING, id=2))["pendingImport"] is None
    assert list(shelf.config.pending_images_dir.iterdir()) == []


async def test_a_corrupt_pending_image_is_reported_and_the_import_goes_on(
    shelf: Shelf, tmp_path: Path
) -> None:
    await pending_file(
        shelf,
        tmp_path,
        3,
        b"model",
        images=[picture(RED), b"\x89PNG\r\n\x1a\nbroken", picture(BLUE)],
    )
    result = await import_a_model(shelf, 3)
    assert result["actionTaken"] == "CREATED"
    assert [p["filename"] for p in result["imageProblems"]] == ["3_1.png"]
    assert same_colors(await shelf.colors(result["model"]["sampleImages"]), [RED, BLUE])


async def test_a_second_call_for_the_same_id_is_locked(shelf: Shelf, tmp_path: Path) -> None:
    await pending_file(shelf, tmp_path, 5, os.urandom(64 * 1024 * 1024))
    first, second = await asyncio.gather(import_a_model(shelf, 5), import_a_model(shelf, 5))
    assert sorted([first["__typename"], second["__typename"]]) == ["ImportResult", "Locked"]
    locked = first if first["__typename"] == "Locked" else second
    assert locked["id"] == 5 and locked["code"] == "LOCKED"


async def test_two_files_with_the_same_content_at_once_make_one_model(
    shelf: Shelf, tmp_path: Path
) -> None:
    content = os.urandom(8 * 1024 * 1024)
    await pending_file(shelf, tmp_path / "a", 1, content, images=[picture(RED)])
    await pending_file(shelf, tmp_path / "b", 2, content, images=[picture(BLUE)])
    results = await asyncio.gather(import_a_model(shelf, 1), import_a_model(shelf, 2))
    assert sorted(r["__typename"] for r in results) == ["Conflict", "ImportResult"]
    models = await shelf.data("{ models { totalCount } pendingImports { totalCount } }")
    assert models["models"]["totalCount"] == 1 and models["pendingImports"]["totalCount"] == 1


async def test_a_file_replaced_in_place_is_a_typed_problem(shelf: Shelf, tmp_path: Path) -> None:
    """The library has a model at a path; the file there now has other content."""
    pending = await pending_file(shelf, tmp_path, 1, b"version one")
    await import_a_model(shelf, 1)
    await pending_file(shelf, tmp_path / "elsewhere", 2, b"version two", images=[picture(RED)])
    async with shelf.store.transaction() as conn:  # as Stage 1 records a legacy row's path
        await conn.execute("UPDATE pending_import SET path = ? WHERE id = 2", (pending.path,))
    Path(pending.path).write_bytes(b"version two")

    result = await import_a_model(shelf, 2)

    assert result["__typename"] == "ModelPathTaken" and result["code"] == "MODEL_PATH_TAKEN"
    assert (await shelf.data(PENDING, id=2))["pendingImport"]["images"] == [{"filename": "2_0.png"}]
    assert (await shelf.data("{ models { totalCount } }"))["models"]["totalCount"] == 1
    assert (shelf.config.pending_images_dir / "2_0.png").exists()
    assert not list(shelf.config.images_dir.glob("*.webp"))


async def test_a_pending_import_still_owed_legacy_images_is_locked(
    shelf: Shelf, tmp_path: Path
) -> None:
    await pending_file(shelf, tmp_path, 4, b"model")
    async with shelf.store.transaction() as conn:  # what a cut-short legacy import leaves
        await conn.execute(
            "INSERT INTO legacy_sources (id, path, first_run_at, last_run_at)"
            " VALUES (1, '/l', 0, 0)"
        )
        await conn.execute(
            "INSERT INTO legacy_image_tasks"
            " (source_id, legacy_id, position, source_path, pending_id)"
            " VALUES (1, 4, 0, '/l/images/a.png', 4)"
        )
    result = await import_a_model(shelf, 4)
    assert result["__typename"] == "Locked" and "legacy import still owes" in result["message"]
    assert (await shelf.data(PENDING, id=4))["pendingImport"] is not None
