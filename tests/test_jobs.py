"""Jobs over GraphQL: importPending with every kind of item, pause, resume, cancel, queueing."""

from __future__ import annotations

import asyncio
import hashlib
import time
from pathlib import Path
from typing import Any

from domain.records import Model
from domain.store.models import insert_model
from tests.conftest import Shelf
from tests.images import BLUE, RED, encode, solid
from tests.seed import EPOCH, pending_file

JOB = """
  id kind state total done created overridden merged deleted conflicts failed skipped
  bytesTotal bytesDone error strategy startedAt finishedAt secondsLeft
  inFlight { pendingId name bytesHashed hashing }
  items { nodes { pendingId outcome message sha256 } }
"""
IMPORT_PENDING = f"""
mutation($ids: [Int!], $strategy: ConflictStrategy) {{
  importPending(ids: $ids, strategy: $strategy) {{
    __typename ... on JobStarted {{ job {{ {JOB} }} }} ... on Problem {{ code message }}
  }}
}}
"""
CONTROL = """
mutation($id: ID!) {{
  {field}(id: $id) {{ __typename ... on Job {{ id state }} ... on Problem {{ code message }} }}
}}
"""
GET_JOB = f"query($id: ID!) {{ job(id: $id) {{ {JOB} }} }}"


def picture(color: tuple[int, int, int]) -> bytes:
    return encode(solid((64, 48), color), "PNG")


async def start(shelf: Shelf, **variables: Any) -> dict[str, Any]:
    result = (await shelf.data(IMPORT_PENDING, **variables))["importPending"]
    assert result["__typename"] == "JobStarted", result
    job: dict[str, Any] = result["job"]
    return job


async def control(shelf: Shelf, field: str, job_id: str) -> dict[str, Any]:
    result: dict[str, Any] = (await shelf.data(CONTROL.format(field=field), id=job_id))[field]
    return result


async def job_of(shelf: Shelf, job_id: str) -> dict[str, Any]:
    job: dict[str, Any] = (await shelf.data(GET_JOB, id=job_id))["job"]
    return job


async def until(shelf: Shelf, job_id: str, *states: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = await job_of(shelf, job_id)
        if job["state"] in states:
            return job
        await asyncio.sleep(0.02)
    raise AssertionError(f"job {job_id} never reached {states}: {job}")


async def until_hashing(shelf: Shelf, job_id: str) -> dict[str, Any]:
    """The job once its first item has started hashing."""
    while True:
        job = await until(shelf, job_id, "RUNNING")
        if job["inFlight"] and job["inFlight"][0]["bytesHashed"]:
            return job
        await asyncio.sleep(0.02)


async def until_encoding(shelf: Shelf, job_id: str) -> dict[str, Any]:
    """The job once its first item has its digest and is encoding its pictures."""
    while True:
        job = await until(shelf, job_id, "RUNNING")
        if job["inFlight"] and not job["inFlight"][0]["hashing"]:
            return job
        await asyncio.sleep(0.01)


def sparse_file(path: Path, size: int) -> None:
    """A file of `size` bytes of holes: slow to hash (about 2 GB/s), nothing on disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as file:
        file.truncate(size)


async def pending_count(shelf: Shelf) -> int:
    count: int = (await shelf.data("{ pendingImports { totalCount } }"))["pendingImports"][
        "totalCount"
    ]
    return count


async def test_a_job_imports_every_kind_of_item_once(shelf: Shelf, tmp_path: Path) -> None:
    files = tmp_path / "models"
    await pending_file(shelf, files, 1, b"first model", images=[picture(RED)])
    await pending_file(shelf, files, 2, b"second model", images=[picture(BLUE), b"not a picture"])
    conflicting = await pending_file(shelf, files, 3, b"a model the library has")
    missing = await pending_file(shelf, files, 4, b"soon gone")
    Path(missing.path).unlink()
    await _a_model_with_content(shelf, b"a model the library has", files / "kept.safetensors")

    job = await start(shelf, ids=[1, 2, 3, 4, 99])
    assert job["kind"] == "IMPORT_PENDING" and job["state"] in ("QUEUED", "RUNNING")
    job = await until(shelf, job["id"], "COMPLETED")

    assert (job["total"], job["done"]) == (5, 5)
    counts = {k: job[k] for k in ("created", "conflicts", "failed", "skipped", "merged")}
    assert counts == {"created": 2, "conflicts": 1, "failed": 1, "skipped": 1, "merged": 0}
    outcomes = {item["pendingId"]: item for item in job["items"]["nodes"]}
    assert outcomes[99]["outcome"] == "SKIPPED"
    assert outcomes[4]["outcome"] == "FAILED" and "does not exist" in outcomes[4]["message"]
    assert outcomes[2]["outcome"] == "CREATED" and "2_1.png" in outcomes[2]["message"]
    assert outcomes[3]["outcome"] == "CONFLICT" and outcomes[3]["sha256"]
    assert job["finishedAt"] and job["startedAt"] and job["inFlight"] == []
    # The conflict and the missing file stay pending, the conflict with its digest known.
    left = await shelf.data("{ pendingImports { nodes { id sha256 } } }")
    assert left["pendingImports"]["nodes"] == [
        {"id": conflicting.id, "sha256": outcomes[3]["sha256"]},
        {"id": missing.id, "sha256": None},
    ]
    models = await shelf.data("{ models { nodes { name sampleImages { seq } } } }")
    galleries = {m["name"]: len(m["sampleImages"]) for m in models["models"]["nodes"]}
    assert galleries == {"file1.safetensors": 1, "file2.safetensors": 1, "kept": 0}


async def test_a_strategy_answers_every_conflict(shelf: Shelf, tmp_path: Path) -> None:
    await pending_file(shelf, tmp_path, 1, b"shared", meta={"description": "from pending"})
    await _a_model_with_content(shelf, b"shared", tmp_path / "kept.safetensors")
    job = await start(shelf, strategy="MERGE")
    job = await until(shelf, job["id"], "COMPLETED")
    assert (job["merged"], job["conflicts"], job["strategy"]) == (1, 0, "MERGE")
    assert await pending_count(shelf) == 0


async def test_without_ids_a_job_takes_every_pending_import_when_it_starts(
    shelf: Shelf, tmp_path: Path
) -> None:
    for pending_id in (5, 6, 7):
        await pending_file(shelf, tmp_path, pending_id, f"model {pending_id}".encode())
    job = await until(shelf, (await start(shelf))["id"], "COMPLETED")
    assert (job["total"], job["created"]) == (3, 3)


async def test_pause_abandons_a_long_hash_and_resume_finishes_it(
    shelf: Shelf, tmp_path: Path
) -> None:
    big = await pending_file(shelf, tmp_path, 1, b"")
    sparse_file(Path(big.path), 64 * 1024**3)  # a minute of hashing
    job = await start(shelf)
    running = await until_hashing(shelf, job["id"])

    asked = time.monotonic()
    paused = await control(shelf, "pauseJob", running["id"])
    assert paused == {"__typename": "Job", "id": job["id"], "state": "PAUSED"}
    assert time.monotonic() - asked < 1.0
    assert await pending_count(shelf) == 1
    hashed = shelf.app.state.hasher.bytes_read
    await asyncio.sleep(0.3)
    assert shelf.app.state.hasher.bytes_read == hashed  # the hash really stopped

    sparse_file(Path(big.path), 1024**2)  # make the rest quick
    resumed = await control(shelf, "resumeJob", job["id"])
    assert resumed["state"] in ("QUEUED", "RUNNING")
    done = await until(shelf, job["id"], "COMPLETED")
    assert done["created"] == 1 and await pending_count(shelf) == 0


async def test_pause_abandons_pictures_being_encoded(shelf: Shelf, tmp_path: Path) -> None:
    # Seconds of encoding: four 30-megapixel PNGs (each decoded, scaled and encoded anew).
    slow = encode(solid((6000, 5000), RED), "PNG")
    await pending_file(shelf, tmp_path, 1, b"small model", images=[slow] * 4)
    job = await start(shelf)
    await until_encoding(shelf, job["id"])

    paused = await control(shelf, "pauseJob", job["id"])
    assert paused["state"] == "PAUSED"
    # Not left to finish: nothing imported, the pending import and its pictures as they were.
    assert await pending_count(shelf) == 1
    assert (await shelf.data("{ models { totalCount } }"))["models"]["totalCount"] == 0
    assert len(list(shelf.config.pending_images_dir.iterdir())) == 4
    assert (await job_of(shelf, job["id"]))["done"] == 0

    await control(shelf, "resumeJob", job["id"])
    done = await until(shelf, job["id"], "COMPLETED")
    assert done["created"] == 1 and await pending_count(shelf) == 0
    models = await shelf.data("{ models { nodes { sampleImages { seq } } } }")
    assert models["models"]["nodes"] == [{"sampleImages": [{"seq": 0}]}]  # one content, once


async def test_an_edit_made_while_an_import_encodes_is_merged_into_not_overwritten(
    shelf: Shelf, tmp_path: Path
) -> None:
    slow = encode(solid((6000, 5000), RED), "PNG")  # seconds of encoding
    await pending_file(shelf, tmp_path, 1, b"shared", images=[slow, slow], meta={"a": 1})
    kept = await _a_model_with_content(shelf, b"shared", tmp_path / "kept.safetensors")
    job = await start(shelf, strategy="MERGE")
    await until_encoding(shelf, job["id"])

    edited = await shelf.data(
        "mutation($sha: String!) { updateModel(sha256: $sha, changes: "
        '{ name: "renamed meanwhile", metaPatch: { b: 2 } }) { __typename } }',
        sha=kept.sha256,
    )
    assert edited == {"updateModel": {"__typename": "ModelUpdated"}}
    assert (await until(shelf, job["id"], "COMPLETED"))["merged"] == 1

    model = (
        await shelf.data(
            "query($sha: String!) { model(sha256: $sha) { name meta sampleImages { seq } } }",
            sha=kept.sha256,
        )
    )["model"]
    assert model == {
        "name": "renamed meanwhile",
        "meta": {"b": 2, "a": 1},
        "sampleImages": [{"seq": 0}],
    }


async def test_a_model_deleted_while_an_import_encodes_is_created_again(
    shelf: Shelf, tmp_path: Path
) -> None:
    slow = encode(solid((6000, 5000), RED), "PNG")
    await pending_file(shelf, tmp_path, 1, b"shared", images=[slow, slow])
    kept = await _a_model_with_content(shelf, b"shared", tmp_path / "kept.safetensors")
    job = await start(shelf, strategy="MERGE")
    await until_encoding(shelf, job["id"])

    deleted = await shelf.data(
        "mutation($sha: String!) { deleteModel(sha256: $sha) { __typename } }", sha=kept.sha256
    )
    assert deleted == {"deleteModel": {"__typename": "ModelDeleted"}}
    done = await until(shelf, job["id"], "COMPLETED")
    assert (done["created"], done["merged"], done["failed"]) == (1, 0, 0)
    model = (
        await shelf.data(
            "query($sha: String!) { model(sha256: $sha) { name sampleImages { seq } } }",
            sha=kept.sha256,
        )
    )["model"]
    assert model == {"name": "file1.safetensors", "sampleImages": [{"seq": 0}]}


async def test_cancel_leaves_what_is_left_pending(shelf: Shelf, tmp_path: Path) -> None:
    big = await pending_file(shelf, tmp_path, 1, b"")
    sparse_file(Path(big.path), 64 * 1024**3)
    job = await start(shelf)
    await until(shelf, job["id"], "RUNNING")
    cancelled = await control(shelf, "cancelJob", job["id"])
    assert cancelled["state"] == "CANCELLED"
    assert await pending_count(shelf) == 1
    again = await control(shelf, "resumeJob", job["id"])
    assert again["__typename"] == "JobFinished" and again["code"] == "JOB_FINISHED"


async def test_control_of_an_unknown_job_is_typed(shelf: Shelf) -> None:
    for field in ("pauseJob", "resumeJob", "cancelJob"):
        for job_id in ("12345", "not-an-id", "²"):
            result = await control(shelf, field, job_id)
            assert result["__typename"] == "JobNotFound", result
    assert (await shelf.data('{ job(id: "nope") { id } }'))["job"] is None


async def test_a_second_job_queues_behind_the_running_one(shelf: Shelf, tmp_path: Path) -> None:
    big = await pending_file(shelf, tmp_path, 1, b"")
    sparse_file(Path(big.path), 64 * 1024**3)
    await pending_file(shelf, tmp_path, 2, b"small")
    first = await start(shelf, ids=[1])
    await until(shelf, first["id"], "RUNNING")
    second = await start(shelf, ids=[2])
    assert second["state"] == "QUEUED"
    await control(shelf, "cancelJob", first["id"])
    done = await until(shelf, second["id"], "COMPLETED")
    assert done["created"] == 1
    listed = await shelf.data("{ jobs { totalCount nodes { id state } } }")
    assert [job["id"] for job in listed["jobs"]["nodes"]] == [second["id"], first["id"]]


async def test_import_a_model_on_an_id_the_job_holds_is_locked(
    shelf: Shelf, tmp_path: Path
) -> None:
    big = await pending_file(shelf, tmp_path, 1, b"")
    sparse_file(Path(big.path), 64 * 1024**3)
    await pending_file(shelf, tmp_path, 2, b"waiting its turn")
    job = await start(shelf)
    await until_hashing(shelf, job["id"])
    for pending_id in (1, 2):  # the one hashing, and one it has not reached yet
        result = await shelf.data(
            "mutation($id: Int!) "
            "{ importAModel(id: $id) { __typename ... on Locked { message } } }",
            id=pending_id,
        )
        assert result["importAModel"]["__typename"] == "Locked"
        assert f"job {job['id']}" in result["importAModel"]["message"]
    await control(shelf, "cancelJob", job["id"])
    sparse_file(Path(big.path), 1024**2)  # released: a person may import it now
    imported = await shelf.data("mutation { importAModel(id: 1) { __typename } }")
    assert imported["importAModel"]["__typename"] == "ImportResult"


async def _a_model_with_content(shelf: Shelf, content: bytes, path: Path) -> Model:
    path.write_bytes(content)
    model = Model(
        hashlib.sha256(content).hexdigest(),
        str(path),
        "kept",
        "lora",
        len(content),
        EPOCH,
        EPOCH,
        {},
    )
    async with shelf.store.transaction() as conn:
        await insert_model(conn, model)
    return model
