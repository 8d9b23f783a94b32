"""Correcting and dropping pending imports over GraphQL: updatePendingImport,
deletePendingImport, their typed failures, and Locked while an import or a job holds one."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from domain.editing import pending as pending_editing
from tests.conftest import Shelf, running_shelf
from tests.images import BLUE, RED
from tests.seed import add_tags, pending_file
from tests.test_jobs import control, picture, sparse_file, start, until, until_hashing

PROBLEM = "... on Problem { code message } ... on InvalidInput { field }"
UPDATE = f"""
mutation($id: Int!, $changes: PendingImportChanges!) {{
  updatePendingImport(id: $id, changes: $changes) {{
    __typename
    ... on PendingImportUpdated {{ pendingImport {{ id name type meta tags {{ id }} path }} }}
    ... on PendingImportNotFound {{ id }}
    ... on Locked {{ id }}
    ... on TagNotFound {{ id }}
    {PROBLEM}
  }}
}}
"""
DELETE = """
mutation($id: Int!) {
  deletePendingImport(id: $id) {
    __typename
    ... on PendingImportDeleted { id }
    ... on PendingImportNotFound { id }
    ... on Locked { id }
    ... on Problem { code message }
  }
}
"""
IMPORT = "mutation($id: Int!) { importAModel(id: $id) { __typename } }"


async def library(shelf: Shelf) -> dict[str, Any]:
    """Every row a pending edit could touch, and every pending original."""
    tables = ["pending_import", "pending_model_tags", "pending_images", "tags", "models"]
    rows: dict[str, list[Any]] = {
        t: [tuple(r) for r in await shelf.store.fetch_all(f"SELECT * FROM {t}")] for t in tables
    }
    rows["files"] = sorted(p.name for p in shelf.config.pending_images_dir.iterdir())
    return rows


async def update(shelf: Shelf, pending_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = (await shelf.data(UPDATE, id=pending_id, changes=changes))[
        "updatePendingImport"
    ]
    return result


async def delete(shelf: Shelf, pending_id: int) -> dict[str, Any]:
    result: dict[str, Any] = (await shelf.data(DELETE, id=pending_id))["deletePendingImport"]
    return result


async def test_update_pending_import_changes_name_type_tags_and_meta(
    shelf: Shelf, tmp_path: Path
) -> None:
    a, b, c = await add_tags(shelf.store, "a", "b", "c")
    pending = await pending_file(
        shelf, tmp_path, 7, b"model", tags=[a, b], meta={"keep": 1, "drop": {"x": 1}}
    )
    result = await update(
        shelf,
        7,
        {
            "name": " Better name ",
            "type": " VAE ",
            "tags": [c.id, b.id],
            "metaPatch": {"drop": None},
        },
    )
    assert result["__typename"] == "PendingImportUpdated", result
    assert result["pendingImport"] == {
        "id": 7,
        "name": "Better name",
        "type": "vae",
        "meta": {"keep": 1},
        "tags": [{"id": b.id}, {"id": c.id}],
        "path": pending.path,
    }
    replaced = await update(shelf, 7, {"meta": {"new": True}, "tags": []})
    assert replaced["pendingImport"]["meta"] == {"new": True}
    assert replaced["pendingImport"]["tags"] == []
    assert replaced["pendingImport"]["name"] == "Better name"  # left out: kept

    # The edit is what gets imported.
    imported = await shelf.data(
        "mutation { importAModel(id: 7) { ... on ImportResult { model { name type meta } } } }"
    )
    assert imported["importAModel"]["model"] == {
        "name": "Better name",
        "type": "vae",
        "meta": {"new": True},
    }


async def test_update_pending_import_failures_are_typed_and_change_nothing(
    shelf: Shelf, tmp_path: Path
) -> None:
    tag = (await add_tags(shelf.store, "t"))[0]
    await pending_file(shelf, tmp_path, 3, b"model", tags=[tag], images=[picture(RED)])
    before = await library(shelf)
    cases: list[tuple[int, dict[str, Any], str, str, str | None]] = [
        (99, {"name": "x"}, "PendingImportNotFound", "PENDING_IMPORT_NOT_FOUND", None),
        (3, {"name": "ok", "tags": [tag.id, 404]}, "TagNotFound", "TAG_NOT_FOUND", None),
        (3, {"name": " "}, "InvalidInput", "INVALID_INPUT", "name"),
        (3, {"type": None}, "InvalidInput", "INVALID_INPUT", "type"),
        (3, {"tags": None}, "InvalidInput", "INVALID_INPUT", "tags"),
        (3, {"meta": "text"}, "InvalidInput", "INVALID_INPUT", "meta"),
        (3, {"meta": {}, "metaPatch": {}}, "InvalidInput", "INVALID_INPUT", "metaPatch"),
    ]
    for pending_id, changes, typename, code, field in cases:
        result = await update(shelf, pending_id, changes)
        assert (result["__typename"], result["code"]) == (typename, code), (changes, result)
        assert result["message"] and result.get("field") == field
        if typename == "TagNotFound":
            assert result["id"] == 404
    assert await library(shelf) == before


async def test_delete_pending_import_removes_it_and_its_originals_not_its_file(
    shelf: Shelf, tmp_path: Path
) -> None:
    tag = (await add_tags(shelf.store, "t"))[0]
    gone = await pending_file(shelf, tmp_path, 1, b"one", tags=[tag], images=[picture(RED)] * 2)
    await pending_file(shelf, tmp_path, 2, b"two", images=[picture(BLUE)])

    assert await delete(shelf, 1) == {"__typename": "PendingImportDeleted", "id": 1}

    assert (await shelf.data("{ pendingImport(id: 1) { id } }"))["pendingImport"] is None
    left = await library(shelf)
    assert left["files"] == ["2_0.png"]
    assert [row[0] for row in left["pending_import"]] == [2]
    assert left["pending_model_tags"] == []
    assert [row[:3] for row in left["tags"]] == [(tag.id, "t", None)]
    assert Path(gone.path).read_bytes() == b"one"  # the model file is never touched

    before = await library(shelf)
    missing = await delete(shelf, 1)
    assert (missing["__typename"], missing["code"], missing["id"]) == (
        "PendingImportNotFound",
        "PENDING_IMPORT_NOT_FOUND",
        1,
    )
    assert await library(shelf) == before


class PowerCut(Exception):
    """Stands for the process dying where it is raised."""


async def test_a_crash_before_the_originals_go_is_finished_at_the_next_start(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_shelf(data_dir) as shelf:
        await pending_file(shelf, tmp_path, 1, b"one", images=[picture(RED), picture(BLUE)])
        await pending_file(shelf, tmp_path, 2, b"two", images=[picture(BLUE)])

        def die(*_: object) -> None:
            raise PowerCut

        with monkeypatch.context() as patch:
            patch.setattr(pending_editing, "remove_originals", die)
            body = await shelf.post(DELETE, id=1)
        assert body["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
        assert (await shelf.data("{ pendingImport(id: 1) { id } }"))["pendingImport"] is None
        assert len(list(shelf.config.pending_images_dir.iterdir())) == 3  # not removed yet

    async with running_shelf(data_dir) as shelf:
        assert sorted(p.name for p in shelf.config.pending_images_dir.iterdir()) == ["2_0.png"]


async def test_locked_while_the_pending_import_is_being_imported(
    shelf: Shelf, tmp_path: Path
) -> None:
    big = await pending_file(shelf, tmp_path, 1, b"", images=[picture(RED)])
    sparse_file(Path(big.path), 64 * 1024**3)  # a minute of hashing
    importing = asyncio.create_task(shelf.data(IMPORT, id=1))
    while not shelf.app.state.hasher.bytes_read:
        await asyncio.sleep(0.01)
    before = await library(shelf)

    for result in (await update(shelf, 1, {"name": "renamed"}), await delete(shelf, 1)):
        assert (result["__typename"], result["code"], result["id"]) == ("Locked", "LOCKED", 1)
    assert await library(shelf) == before

    sparse_file(Path(big.path), 1024)  # the file changed under the hash: the import stops
    assert (await importing)["importAModel"]["__typename"] == "ModelFileProblem"
    after = await update(shelf, 1, {"name": "renamed"})
    assert after["__typename"] == "PendingImportUpdated"  # free again once it ended


async def test_locked_while_a_job_holds_the_pending_import(shelf: Shelf, tmp_path: Path) -> None:
    big = await pending_file(shelf, tmp_path, 1, b"")
    sparse_file(Path(big.path), 64 * 1024**3)  # a minute of hashing
    await pending_file(shelf, tmp_path, 2, b"waiting its turn", images=[picture(RED)])
    job = await start(shelf, ids=[1, 2])
    await until_hashing(shelf, job["id"])
    before = await library(shelf)

    for pending_id in (1, 2):
        for result in (
            await update(shelf, pending_id, {"name": "renamed"}),
            await delete(shelf, pending_id),
        ):
            assert (result["__typename"], result["id"]) == ("Locked", pending_id), result
            assert f"job {job['id']}" in result["message"]
    assert await library(shelf) == before

    await control(shelf, "cancelJob", job["id"])
    await until(shelf, job["id"], "CANCELLED")
    # Released with the job (item 2 may have been imported beside the long hash meanwhile).
    assert (await update(shelf, 1, {"name": "renamed"}))["__typename"] == "PendingImportUpdated"
    assert (await delete(shelf, 1))["__typename"] == "PendingImportDeleted"
