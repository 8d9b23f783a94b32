"""`duplicates` and the file filters of `models` and `pendingImports`, over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from domain.records import FileStatus
from tests.conftest import Shelf
from tests.seed import add_model, add_pending, digest

GROUPS = """
query($first: Int, $after: String) {
  duplicates(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      sha256 copies bytesFreed
      files { path sizeBytes fileStatus model { sha256 } pendingImport { id } }
    }
  }
}
"""


async def every_group(shelf: Shelf, first: int) -> list[dict[str, Any]]:
    groups, after = [], None
    while True:
        page = (await shelf.data(GROUPS, first=first, after=after))["duplicates"]
        groups += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            return groups
        after = page["pageInfo"]["endCursor"]


async def test_a_model_and_its_pending_copies_are_one_group(shelf: Shelf) -> None:
    model = await add_model(shelf.store, "anna", size_bytes=1000)
    await add_pending(shelf.store, 1, sha256=model.sha256, size_bytes=1000)
    await add_pending(shelf.store, 2, sha256=model.sha256, size_bytes=None)
    await add_pending(shelf.store, 3, sha256=None)  # not hashed: its content is unknown
    await add_pending(shelf.store, 4, sha256=digest("unique"))  # hashed, one of a kind

    page = (await shelf.data(GROUPS))["duplicates"]
    assert page["totalCount"] == 1
    (group,) = page["nodes"]
    assert group["sha256"] == model.sha256 and group["copies"] == 3
    assert group["bytesFreed"] == 1000  # 1000 + 1000 + unknown, keeping the largest
    assert [file["model"] for file in group["files"]] == [{"sha256": model.sha256}, None, None]
    assert [f["pendingImport"] for f in group["files"][1:]] == [{"id": 1}, {"id": 2}]
    assert group["files"][0]["path"] == model.path


async def test_pending_imports_alone_can_be_duplicates(shelf: Shelf) -> None:
    same = digest("same content")
    await add_pending(shelf.store, 7, sha256=same, size_bytes=50)
    await add_pending(shelf.store, 3, sha256=same, size_bytes=50)
    (group,) = (await shelf.data(GROUPS))["duplicates"]["nodes"]
    assert [f["pendingImport"]["id"] for f in group["files"]] == [3, 7]
    assert group["bytesFreed"] == 50 and group["copies"] == 2


async def test_groups_come_most_bytes_freed_first_and_page_without_gaps(shelf: Shelf) -> None:
    expected = []
    for n in range(23):
        sha = digest(f"content {n}")
        size = (n % 5) * 100  # ties, broken by the digest
        for copy in range(2 + n % 3):
            await add_pending(shelf.store, 100 * n + copy + 1, sha256=sha, size_bytes=size)
        expected.append(((1 + n % 3) * size, sha))
    expected.sort(key=lambda key: (-key[0], key[1]))

    for first in (1, 4, 50):
        groups = await every_group(shelf, first)
        assert [(g["bytesFreed"], g["sha256"]) for g in groups] == expected


@pytest.mark.parametrize(
    ("first", "after"), [(-1, None), (501, None), (10, "not-a-cursor"), (10, "W10")]
)
async def test_a_bad_page_request_is_refused(shelf: Shelf, first: int, after: str | None) -> None:
    error = await shelf.error(GROUPS, first=first, after=after)
    assert error["extensions"]["code"] == "INVALID_PAGE_REQUEST"


async def test_a_page_of_groups_costs_three_statements(shelf: Shelf) -> None:
    for n in range(10):
        model = await add_model(shelf.store, f"m{n}")
        await add_pending(shelf.store, n + 1, sha256=model.sha256)
    shelf.statements.clear()
    page = (await shelf.data(GROUPS, first=10))["duplicates"]
    assert len(page["nodes"]) == 10
    assert len(shelf.statements) == 3, shelf.statements


async def test_the_lists_filter_by_file_status_and_base_model(shelf: Shelf) -> None:
    gone = await add_model(shelf.store, "gone", file_status=FileStatus.MISSING)
    await add_model(shelf.store, "here", base_model="sdxl_base_v1-0")
    await add_pending(shelf.store, 1, file_status=FileStatus.CHANGED, base_model="sd_v1")
    await add_pending(shelf.store, 2, base_model="sdxl_base_v1-0")

    def names(data: dict[str, Any], key: str) -> list[Any]:
        return [node["name"] for node in data[key]["nodes"]]

    query = "query($s: FileStatus, $b: String) { models(fileStatus: $s, baseModel: $b) "
    query += "{ totalCount nodes { name } } pendingImports(fileStatus: $s, baseModel: $b) "
    query += "{ totalCount nodes { name } } }"
    missing = await shelf.data(query, s="MISSING")
    assert names(missing, "models") == [gone.name] and names(missing, "pendingImports") == []
    sdxl = await shelf.data(query, b=" sdxl_base_v1-0 ")
    assert names(sdxl, "models") == ["here"]
    assert names(sdxl, "pendingImports") == ["pending_2.safetensors"]
    changed = await shelf.data(query, s="CHANGED", b="sd_v1")
    assert changed["pendingImports"]["totalCount"] == 1 and changed["models"]["totalCount"] == 0
    assert (await shelf.data(query, b="SDXL_BASE_V1-0"))["models"]["totalCount"] == 0  # exact


async def test_a_base_model_filter_is_bounded(shelf: Shelf) -> None:
    error = await shelf.error(
        "query($b: String) { models(baseModel: $b) { totalCount } }", b="x" * 201
    )
    assert error["extensions"]["code"] == "INVALID_FILTER"
