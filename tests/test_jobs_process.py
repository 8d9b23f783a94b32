"""Jobs in a real server process: live progress over the websocket, and a kill -9 mid-job."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import websockets

from domain.records import PendingImport
from domain.store import Store
from domain.store.pending import insert_pending
from tests.legacy import MODELS, pictured_legacy_library
from tests.seed import EPOCH
from tests.server import free_port, start_server, wait_until_up

START = "mutation { importPending { ... on JobStarted { job { id } } } }"
WATCH = "subscription($id: ID!) { job(id: $id) { state done total bytesDone bytesTotal } }"
STATE = "query($id: ID!) { job(id: $id) { state done total created } }"
MIGRATE = "mutation($db: String!) { migrateLegacyDb(legacyDbPath: $db) { __typename } }"
GIB = 1024**3


def seed_sparse_pending(data_dir: Path, files: Path, sizes: list[int]) -> None:
    """Pending imports whose files are holes of distinct sizes (so distinct digests): slow
    to hash, nothing on disk."""
    files.mkdir(parents=True, exist_ok=True)
    pending = []
    for pending_id, size in enumerate(sizes, start=1):
        path = files / f"model{pending_id}.safetensors"
        with path.open("wb") as file:
            file.truncate(size)
        pending.append(
            PendingImport(pending_id, str(path), path.name, "lora", size, EPOCH, {}, None)
        )

    async def write() -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        (data_dir / "images" / "pending").mkdir(parents=True, exist_ok=True)
        store = await Store.open(data_dir / "library.db")
        try:
            async with store.transaction() as conn:
                for row in pending:
                    await insert_pending(conn, row)
        finally:
            await store.close()

    asyncio.run(write())


def post(url: str, query: str, **variables: Any) -> dict[str, Any]:
    response = httpx.post(url, json={"query": query, "variables": variables}, timeout=60)
    data: dict[str, Any] = response.json()["data"]
    return data


def test_the_subscription_streams_progress_and_ends_with_the_job(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "library", free_port()
    seed_sparse_pending(data_dir, tmp_path / "models", [GIB + i for i in range(3)])
    server = start_server(
        "--port", str(port), "--data-dir", str(data_dir), "--log-level", "warning"
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/graphql", server)
        job_id = post(f"http://127.0.0.1:{port}/graphql", START)["importPending"]["job"]["id"]
        updates, ending = asyncio.run(_watch(f"ws://127.0.0.1:{port}/graphql", job_id))
    finally:
        server.terminate()
        server.communicate(timeout=30)

    assert updates[-1]["state"] == "COMPLETED" and ending == {"id": "1", "type": "complete"}
    assert updates[-1]["done"] == updates[-1]["total"] == 3
    progress = [update["bytesDone"] for update in updates]
    assert progress == sorted(progress) and len(set(progress)) > 3  # it moved, forwards
    assert updates[-1]["bytesDone"] == updates[-1]["bytesTotal"]


async def _watch(url: str, job_id: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    updates: list[dict[str, Any]] = []
    async with websockets.connect(
        url, subprotocols=[websockets.Subprotocol("graphql-transport-ws")]
    ) as socket:
        await socket.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await socket.recv())["type"] == "connection_ack"
        payload = {"query": WATCH, "variables": {"id": job_id}}
        await socket.send(json.dumps({"type": "subscribe", "id": "1", "payload": payload}))
        while True:
            message = json.loads(await asyncio.wait_for(socket.recv(), 60))
            if message["type"] != "next":
                return updates, message
            updates.append(message["payload"]["data"]["job"])


def test_a_job_killed_mid_way_finishes_after_a_restart_each_item_once(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "library", free_port()
    url = f"http://127.0.0.1:{port}/graphql"
    sizes = [GIB // 2 + i for i in range(8)]
    seed_sparse_pending(data_dir, tmp_path / "models", sizes)
    options = ("--port", str(port), "--data-dir", str(data_dir), "--log-level", "warning")
    server = start_server(*options)
    try:
        wait_until_up(url, server)
        job_id = post(url, START)["importPending"]["job"]["id"]
        deadline = time.monotonic() + 60
        while post(url, STATE, id=job_id)["job"]["done"] < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        server.send_signal(signal.SIGKILL)
        server.communicate(timeout=30)
    finally:
        server.kill()
    with sqlite3.connect(data_dir / "library.db") as db:
        done_before = db.execute(
            "SELECT count(*) FROM job_items WHERE outcome IS NOT NULL"
        ).fetchone()[0]
    assert 3 <= done_before < len(sizes)  # killed in the middle

    server = start_server(*options)
    try:
        wait_until_up(url, server)
        deadline = time.monotonic() + 120
        while (job := post(url, STATE, id=job_id)["job"])["state"] != "COMPLETED":
            assert time.monotonic() < deadline, job
            time.sleep(0.1)
    finally:
        server.terminate()
        server.communicate(timeout=30)

    assert job == {"state": "COMPLETED", "done": 8, "total": 8, "created": 8}
    with sqlite3.connect(data_dir / "library.db") as db:
        assert db.execute("SELECT count(*) FROM models").fetchone()[0] == 8
        assert db.execute("SELECT count(*) FROM pending_import").fetchone()[0] == 0
        outcomes = db.execute("SELECT outcome, count(*) FROM job_items GROUP BY outcome").fetchall()
        assert outcomes == [("CREATED", 8)]
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_legacy_migration_streams_its_rows_and_images(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "library", free_port()
    db = pictured_legacy_library(tmp_path / "legacy", width=500)
    url = f"http://127.0.0.1:{port}/graphql"
    server = start_server(
        "--port", str(port), "--data-dir", str(data_dir), "--log-level", "warning"
    )
    try:
        wait_until_up(url, server)
        migration = threading.Thread(target=post, args=(url, MIGRATE), kwargs={"db": str(db)})
        migration.start()
        deadline = time.monotonic() + 30
        while not (jobs := post(url, "{ jobs { nodes { id } } }")["jobs"]["nodes"]):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        updates, ending = asyncio.run(_watch(url.replace("http", "ws"), jobs[0]["id"]))
        migration.join(timeout=60)
    finally:
        server.terminate()
        server.communicate(timeout=30)

    assert ending["type"] == "complete" and updates[-1]["state"] == "COMPLETED"
    done = [update["done"] for update in updates]
    # Going forwards, with progress in between (how much depends on the machine's speed: the
    # subscription tells at most four times a second).
    assert done == sorted(done) and len(set(done)) >= 3
    assert updates[-1]["done"] == updates[-1]["total"] > MODELS  # its rows and its images
