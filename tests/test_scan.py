"""`scanFolders` over HTTP on real folders: what a scan makes of a model folder, a rescan
that opens nothing, files that move, vanish or change, and folders it must refuse."""

from __future__ import annotations

import asyncio
import os
import shutil
import struct
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Shelf
from tests.scan_trees import KOHYA, comfyui_tree, safetensors, write

SCAN = """
mutation($paths: [String!]!, $importFound: Boolean) {
  scanFolders(paths: $paths, importFound: $importFound) {
    __typename
    ... on JobStarted { job { id kind } }
    ... on Problem { code message }
  }
}
"""
JOB = """
query($id: ID!) {
  job(id: $id) {
    state error total done found created moved conflicts failed
    scanReport { filesSeen found known changed missing issueCount issues { path kind message } }
  }
}
"""
PENDING = """
{ pendingImports(first: 500) { nodes { id path name type sizeBytes baseModel fileStatus meta } } }
"""
MODELS = "{ models(first: 500) { nodes { sha256 path fileStatus baseModel type } } }"


async def scan(shelf: Shelf, *folders: Path, import_found: bool = False) -> dict[str, Any]:
    """Run a scan to its end; answer the job as the `job` query shows it."""
    paths = [str(folder) for folder in folders]
    started = (await shelf.data(SCAN, paths=paths, importFound=import_found))["scanFolders"]
    assert started["__typename"] == "JobStarted", started
    assert started["job"]["kind"] == "SCAN"
    for _ in range(1000):
        job: dict[str, Any] = (await shelf.data(JOB, id=started["job"]["id"]))["job"]
        if job["state"] in ("COMPLETED", "FAILED", "CANCELLED"):
            assert job["state"] == "COMPLETED", job
            return job
        await asyncio.sleep(0.02)
    raise AssertionError("the scan did not end")


async def pending(shelf: Shelf) -> dict[str, dict[str, Any]]:
    nodes = (await shelf.data(PENDING))["pendingImports"]["nodes"]
    return {node["path"]: node for node in nodes}


async def models(shelf: Shelf) -> dict[str, dict[str, Any]]:
    nodes = (await shelf.data(MODELS))["models"]["nodes"]
    return {node["path"]: node for node in nodes}


def kinds(job: dict[str, Any]) -> dict[str, str]:
    return {issue["path"]: issue["kind"] for issue in job["scanReport"]["issues"]}


async def test_a_comfyui_folder_becomes_pending_imports_typed_by_their_folders(
    shelf: Shelf, tmp_path: Path
) -> None:
    expected = comfyui_tree(tmp_path)
    job = await scan(shelf, tmp_path / "models")

    found = await pending(shelf)
    assert {path: node["type"] for path, node in found.items()} == expected
    assert job["found"] == job["total"] == job["done"] == len(expected)
    report = job["scanReport"]
    assert report["found"] == len(expected) and report["known"] == report["missing"] == 0
    base = found[str(tmp_path / "models" / "loras" / "people" / "anna.safetensors")]
    assert base["name"] == "anna" and base["fileStatus"] == "PRESENT"
    assert base["sizeBytes"] == Path(base["path"]).stat().st_size
    assert base["baseModel"] == "sdxl_base_v1-0"
    header = base["meta"]["fileHeader"]
    assert header["format"] == "safetensors"
    assert header["metadata"]["ss_network_dim"] == KOHYA["ss_network_dim"]
    flux = found[str(tmp_path / "models" / "loras" / "style.sft")]
    assert flux["baseModel"] == "flux-1-dev/lora"
    assert found[str(tmp_path / "models" / "unet" / "q4.gguf")]["baseModel"] == "llama"
    # Not models, or not what their names say, or where a scan does not look:
    issues = kinds(job)
    assert issues[str(tmp_path / "models" / "loras" / "fake.safetensors")] == "NOT_A_MODEL"
    assert "LOOP" in issues.values()
    assert not any(".cache" in path or path.endswith((".png", ".txt")) for path in found)


@pytest.fixture
def opened_under(tmp_path: Path) -> Iterator[list[str]]:
    """Every file the process opens under `tmp_path/models` from now on, by any thread
    (Python's `open` audit event: builtins.open, os.open, io.open)."""
    opened: list[str] = []
    watching = [True]
    root = str(tmp_path / "models")

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if watching[0] and event == "open" and isinstance(args[0], str | bytes | Path):
            path = os.fsdecode(args[0])
            if path.startswith(root):
                opened.append(path)

    sys.addaudithook(hook)  # hooks cannot be removed: this one stops listening instead
    yield opened
    watching[0] = False


async def test_a_rescan_with_nothing_new_opens_no_file(
    shelf: Shelf, tmp_path: Path, opened_under: list[str]
) -> None:
    expected = comfyui_tree(tmp_path)
    await scan(shelf, tmp_path / "models")
    assert opened_under  # the first scan reads every new file's first bytes
    opened_under.clear()

    job = await scan(shelf, tmp_path / "models")
    assert opened_under == []
    assert job["found"] == job["total"] == 0
    assert job["scanReport"]["known"] == len(expected)
    assert len(await pending(shelf)) == len(expected)


async def test_a_malformed_header_is_an_issue_and_the_file_still_comes_in(
    shelf: Shelf, tmp_path: Path
) -> None:
    text = b'{"__metadata__": {"ss_base_model_version": oops}}'
    broken = write(
        tmp_path / "loras" / "broken.safetensors",
        struct.pack("<Q", len(text)) + text + bytes(16),
    )
    cut = write(tmp_path / "loras" / "cut.safetensors", safetensors(KOHYA)[:40])
    job = await scan(shelf, tmp_path / "loras")
    assert kinds(job) == {str(broken): "BAD_HEADER", str(cut): "NOT_A_MODEL"}
    found = await pending(shelf)
    assert list(found) == [str(broken)]
    assert found[str(broken)]["baseModel"] is None and found[str(broken)]["meta"] == {}


async def test_a_path_that_is_not_utf8_is_an_issue_not_a_crash(
    shelf: Shelf, tmp_path: Path
) -> None:
    folder = tmp_path / "loras"
    folder.mkdir()
    # A name that is not UTF-8, as Python spells it: the undecodable byte as a surrogate.
    write(folder / os.fsdecode(b"caf\xe9.safetensors"), safetensors())
    write(folder / "fine.safetensors", safetensors())
    job = await scan(shelf, folder)
    assert list(await pending(shelf)) == [str(folder / "fine.safetensors")]
    assert list(kinds(job).values()) == ["NOT_UTF8"]


async def test_importing_what_a_scan_found_makes_models(shelf: Shelf, tmp_path: Path) -> None:
    write(tmp_path / "loras" / "a.safetensors", safetensors(KOHYA, tensor_bytes=100))
    write(tmp_path / "loras" / "b.safetensors", safetensors(tensor_bytes=200))
    job = await scan(shelf, tmp_path / "loras", import_found=True)
    assert job["created"] == job["total"] == job["done"] == 2 and job["found"] == 0
    library = await models(shelf)
    assert set(library) == {str(tmp_path / "loras" / n) for n in ("a.safetensors", "b.safetensors")}
    assert library[str(tmp_path / "loras" / "a.safetensors")]["baseModel"] == "sdxl_base_v1-0"
    assert await pending(shelf) == {}


async def test_a_moved_file_takes_its_model_along(shelf: Shelf, tmp_path: Path) -> None:
    old = write(tmp_path / "loras" / "anna.safetensors", safetensors(KOHYA, tensor_bytes=300))
    await scan(shelf, tmp_path / "loras", import_found=True)
    (sha256,) = [model["sha256"] for model in (await models(shelf)).values()]

    new = tmp_path / "loras" / "people" / "anna-v1.safetensors"
    new.parent.mkdir()
    shutil.move(old, new)
    job = await scan(shelf, tmp_path / "loras", import_found=True)

    assert job["moved"] == 1 and job["conflicts"] == job["created"] == 0
    assert job["scanReport"]["missing"] == 1  # the old path, seen gone on the way
    library = await models(shelf)
    assert list(library) == [str(new)]
    assert library[str(new)]["sha256"] == sha256 and library[str(new)]["fileStatus"] == "PRESENT"
    assert await pending(shelf) == {}


async def test_a_moved_file_found_without_importing_moves_its_model_when_imported(
    shelf: Shelf, tmp_path: Path
) -> None:
    old = write(tmp_path / "a" / "anna.safetensors", safetensors(KOHYA, tensor_bytes=300))
    await scan(shelf, tmp_path / "a", import_found=True)
    new = tmp_path / "b" / "anna.safetensors"
    new.parent.mkdir()
    shutil.move(old, new)
    await scan(shelf, tmp_path / "a")  # sees the model's file gone
    assert (await models(shelf))[str(old)]["fileStatus"] == "MISSING"
    await scan(shelf, tmp_path / "b")  # finds the file, imports nothing
    (found,) = (await pending(shelf)).values()

    answer = await shelf.data(
        "mutation($id: Int!) { importAModel(id: $id) { __typename"
        " ... on ImportResult { actionTaken model { path fileStatus } } } }",
        id=found["id"],
    )
    result = answer["importAModel"]
    assert result["actionTaken"] == "MOVED"
    assert result["model"] == {"path": str(new), "fileStatus": "PRESENT"}


async def test_a_deleted_file_is_missing_and_a_rewritten_one_changed(
    shelf: Shelf, tmp_path: Path
) -> None:
    gone = write(tmp_path / "loras" / "gone.safetensors", safetensors(tensor_bytes=10))
    edited = write(tmp_path / "loras" / "edited.safetensors", safetensors(tensor_bytes=20))
    kept = write(tmp_path / "loras" / "kept.safetensors", safetensors(tensor_bytes=30))
    await scan(shelf, tmp_path / "loras", import_found=True)

    gone.unlink()
    with edited.open("ab") as file:
        file.write(b"more")
    job = await scan(shelf, tmp_path / "loras")

    statuses = {path: model["fileStatus"] for path, model in (await models(shelf)).items()}
    assert statuses == {str(gone): "MISSING", str(edited): "CHANGED", str(kept): "PRESENT"}
    report = job["scanReport"]
    assert (report["missing"], report["changed"], report["known"]) == (1, 1, 2)

    write(gone, safetensors(tensor_bytes=10))  # back where it was, as it was but its mtime
    await scan(shelf, tmp_path / "loras")
    assert (await models(shelf))[str(gone)]["fileStatus"] == "CHANGED"


async def test_a_scan_of_one_folder_leaves_the_files_of_others_alone(
    shelf: Shelf, tmp_path: Path
) -> None:
    inside = write(tmp_path / "loras" / "a.safetensors", safetensors())
    write(tmp_path / "loras-old" / "b.safetensors", safetensors(tensor_bytes=5))
    await scan(shelf, tmp_path / "loras", tmp_path / "loras-old", import_found=True)
    shutil.rmtree(tmp_path / "loras-old")
    await scan(shelf, tmp_path / "loras")  # "loras-old" shares a prefix, not a folder
    statuses = {path: model["fileStatus"] for path, model in (await models(shelf)).items()}
    assert statuses[str(inside)] == "PRESENT"
    assert statuses[str(tmp_path / "loras-old" / "b.safetensors")] == "PRESENT"


@pytest.mark.parametrize(
    ("paths", "says"),
    [
        ([], "at least one folder"),
        (["/no/such/folder"], "does not exist"),
        (["relative\0nul"], "NUL"),
        (["~nobody-here/models"], ""),
        ([str(Path(__file__))], "not a folder"),
        (["/tmp"] * 101, "at most 100"),
    ],
)
async def test_folders_that_cannot_be_scanned_are_refused_before_any_job(
    shelf: Shelf, paths: list[str], says: str
) -> None:
    answer = (await shelf.data(SCAN, paths=paths))["scanFolders"]
    assert answer["__typename"] == "InvalidInput", answer
    assert says in answer["message"]
    assert (await shelf.data("{ jobs { totalCount } }"))["jobs"]["totalCount"] == 0
