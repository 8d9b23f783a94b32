"""A scan in a real server process, killed with SIGKILL mid-way: after a restart it resumes
by itself and every file comes in exactly once."""

from __future__ import annotations

import signal
import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.scan_trees import safetensors
from tests.server import free_port, start_server, wait_until_up

SCAN = "mutation($p: [String!]!) { scanFolders(paths: $p) { ... on JobStarted { job { id } } } }"
STATE = "query($id: ID!) { job(id: $id) { state total found scanReport { found known } } }"
FOLDERS, FILES_PER_FOLDER = 100, 300  # enough that a scan takes a while to write


def post(url: str, query: str, **variables: Any) -> dict[str, Any]:
    response = httpx.post(url, json={"query": query, "variables": variables}, timeout=60)
    data: dict[str, Any] = response.json()["data"]
    return data


def lora_folders(root: Path) -> int:
    header = safetensors({"ss_base_model_version": "sd_v1"})
    for folder in range(FOLDERS):
        (root / f"set{folder:03}").mkdir(parents=True)
        for n in range(FILES_PER_FOLDER):
            (root / f"set{folder:03}" / f"lora{n:03}.safetensors").write_bytes(header)
    return FOLDERS * FILES_PER_FOLDER


@pytest.mark.timeout(300)
def test_a_scan_killed_mid_way_resumes_after_a_restart_each_file_once(tmp_path: Path) -> None:
    files = lora_folders(tmp_path / "models" / "loras")
    data_dir, port = tmp_path / "library", free_port()
    url = f"http://127.0.0.1:{port}/graphql"
    options = ("--port", str(port), "--data-dir", str(data_dir), "--log-level", "warning")
    server = start_server(*options)
    try:
        wait_until_up(url, server)
        job_id = post(url, SCAN, p=[str(tmp_path / "models")])["scanFolders"]["job"]["id"]
        deadline = time.monotonic() + 60
        while post(url, STATE, id=job_id)["job"]["total"] == 0:  # the first batch is in
            assert time.monotonic() < deadline
        server.send_signal(signal.SIGKILL)
        server.communicate(timeout=30)
    finally:
        server.kill()
    with sqlite3.connect(data_dir / "library.db") as db:
        before = db.execute("SELECT count(*) FROM pending_import").fetchone()[0]
        state = db.execute("SELECT state FROM jobs WHERE id = ?", (job_id,)).fetchone()[0]
    assert 0 < before < files and state == "RUNNING"  # killed in the middle of the walk

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

    assert job["found"] == job["total"] == files
    # The resumed walk found the rest, and knew what the first one had written.
    assert job["scanReport"] == {"found": files - before, "known": before}
    with sqlite3.connect(data_dir / "library.db") as db:
        assert db.execute("SELECT count(DISTINCT path) FROM pending_import").fetchone()[0] == files
        assert db.execute("SELECT count(*) FROM job_items").fetchone()[0] == files
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
