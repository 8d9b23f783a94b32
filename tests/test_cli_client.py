"""The client subcommands of `modelshelf`, run as scripts run them: a real CLI process
against a real server process, output and exit statuses included."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.legacy import BROKEN, LegacyRow, create_legacy_db, pictured_legacy_library
from tests.seed import digest, seed_pending_files
from tests.server import free_port, running_server

CONTROL_CHARACTERS = ("\r", "\x1b")  # a progress bar's; none when the output is not a terminal


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run `modelshelf ARGS` as a script would: no terminal, nothing on stdin."""
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


def json_of(run: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(run.stdout)  # one document, nothing around it


def test_pending_lists_the_pending_imports(tmp_path: Path) -> None:
    seed_pending_files(tmp_path / "lib", tmp_path / "files", [b"one", b"two"])
    with running_server(tmp_path / "lib") as url:
        as_json = cli("pending", "--json", "--url", url)
        as_table = cli("pending", "--url", url)
    assert as_json.returncode == 0 and as_json.stderr == ""
    document = json_of(as_json)
    assert document["totalCount"] == 2
    assert [(p["id"], p["name"]) for p in document["pendingImports"]] == [
        (1, "model1.safetensors"),
        (2, "model2.safetensors"),
    ]
    assert as_table.returncode == 0
    header, *rows = as_table.stdout.splitlines()
    assert header.split() == ["ID", "NAME", "TYPE", "SIZE", "SHA256", "PATH"]
    assert [row.split()[:2] for row in rows] == [
        ["1", "model1.safetensors"],
        ["2", "model2.safetensors"],
    ]


def test_import_all_follows_the_job_to_its_end(tmp_path: Path) -> None:
    seed_pending_files(tmp_path / "lib", tmp_path / "files", [b"one" * 1000, b"two" * 1000])
    with running_server(tmp_path / "lib") as url:
        run = cli("import", "--all", "--json", "--url", url)
        left = json_of(cli("pending", "--json", "--url", url))
        jobs = json_of(cli("jobs", "--json", "--url", url))["jobs"]
        jobs_table = cli("jobs", "--url", url).stdout.splitlines()
        shown = cli("job", "1", "--url", url)
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""  # --json: no progress either
    job = json_of(run)
    assert job["kind"] == "IMPORT_PENDING" and job["state"] == "COMPLETED"
    assert (job["done"], job["total"], job["created"], job["conflicts"]) == (2, 2, 2, 0)
    assert job["problems"] == []
    assert left["totalCount"] == 0
    assert [j["id"] for j in jobs] == [job["id"]]
    assert jobs_table[0].split() == [
        "ID",
        "KIND",
        "STATE",
        "DONE",
        "CONFLICTS",
        "FAILED",
        "CREATED",
    ]
    assert jobs_table[1].split()[:4] == ["1", "IMPORT_PENDING", "COMPLETED", "2/2"]
    assert shown.returncode == 0 and "Job 1 (IMPORT_PENDING) completed: 2/2 items" in shown.stdout


def test_a_conflict_is_exit_1_and_a_strategy_resolves_it(tmp_path: Path) -> None:
    seed_pending_files(tmp_path / "lib", tmp_path / "files", [b"new", b"known"], models=[b"known"])
    with running_server(tmp_path / "lib") as url:
        first = cli("import", "--all", "--url", url)  # people's output, not a terminal
        pending = json_of(cli("pending", "--json", "--url", url))["pendingImports"]
        second = cli("import", "2", "--strategy", "merge", "--json", "--url", url)
    assert first.returncode == 1, first.stderr
    assert "1 created" in first.stdout and "1 conflicts" in first.stdout
    assert "conflict: #2 model2.safetensors" in first.stdout
    assert "import job 1:" in first.stderr  # plain progress lines
    for char in CONTROL_CHARACTERS:
        assert char not in first.stdout + first.stderr
    assert [(p["id"], p["sha256"]) for p in pending] == [(2, hashlib.sha256(b"known").hexdigest())]
    assert second.returncode == 0, second.stderr
    assert json_of(second)["merged"] == 1


def test_pausing_an_unknown_job_is_refused(tmp_path: Path) -> None:
    with running_server(tmp_path / "lib") as url:
        pause = cli("job", "41", "--pause", "--url", url)
        show = cli("job", "41", "--json", "--url", url)
    assert pause.returncode == 2 and pause.stdout == ""
    assert "cannot pause job 41" in pause.stderr and "no job with id 41" in pause.stderr
    assert show.returncode == 2 and show.stdout == "" and "no job with id 41" in show.stderr


def test_an_unreachable_server_is_exit_2() -> None:
    url = f"http://127.0.0.1:{free_port()}/graphql"
    for command in (["jobs"], ["pending", "--json"], ["import", "--all"], ["job", "1"]):
        run = cli(*command, "--url", url)
        assert run.returncode == 2, command
        assert run.stdout == "" and "cannot reach the Model Shelf server" in run.stderr
        assert "Traceback" not in run.stderr


def test_bad_usage_is_exit_2() -> None:
    for command in (
        ["import"],  # neither ids nor --all
        ["import", "1", "--all"],
        ["import", "--all", "--strategy", "keep"],
        ["job"],
        ["job", "1", "--pause", "--cancel"],
        ["migrate"],
    ):
        run = cli(*command, "--url", "http://127.0.0.1:9/graphql")
        assert run.returncode == 2, command
        assert run.stdout == "" and "usage:" in run.stderr


def test_migrate_shows_progress_and_the_report(tmp_path: Path) -> None:
    rows = [
        LegacyRow(1, "/m/a.safetensors", hash_hex=digest("a"), tags=[1]),
        LegacyRow(2, "/m/b.safetensors", hash_hex=digest("b")),
        LegacyRow(3, "/m/c.safetensors"),  # no hash: a pending import
    ]
    legacy = create_legacy_db(tmp_path / "hikaze_mm.sqlite3", rows, [(1, "anime", None)])
    with running_server(tmp_path / "lib") as url:
        run = cli("migrate", str(legacy), "--url", url)
        again = cli("migrate", str(legacy), "--json", "--url", url)
        jobs = json_of(cli("jobs", "--json", "--url", url))["jobs"]
    assert run.returncode == 0, run.stderr
    assert "2 models, 1 pending imports" in run.stdout and "1 tags" in run.stdout
    for char in CONTROL_CHARACTERS:
        assert char not in run.stdout + run.stderr
    assert again.returncode == 0, again.stderr
    report = json_of(again)
    assert report["__typename"] == "MigrationReport" and report["nothingNew"] is True
    assert {job["kind"] for job in jobs} == {"LEGACY_MIGRATION"}


def test_a_migration_the_server_refuses_is_exit_2(tmp_path: Path) -> None:
    not_legacy = tmp_path / "notes.sqlite3"
    not_legacy.write_text("not a database")
    with running_server(tmp_path / "lib") as url:
        run = cli("migrate", str(not_legacy), "--url", url)
    assert run.returncode == 2 and run.stdout == ""
    assert "the legacy import did not finish" in run.stderr


def test_ctrl_c_without_a_terminal_pauses_the_import(tmp_path: Path) -> None:
    files, data_dir = tmp_path / "files", tmp_path / "lib"
    seed_pending_files(data_dir, files, [b""] * 6)
    for n in range(1, 7):  # holes: slow to hash, nothing on disk
        with (files / f"model{n}.safetensors").open("wb") as file:
            file.truncate(1024**3 + n)
    with running_server(data_dir) as url:
        follower = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "import", "--all", "--url", url],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert follower.stderr is not None
        first_line = follower.stderr.readline()  # it is following the job
        time.sleep(0.5)
        follower.send_signal(signal.SIGINT)
        out, err = follower.communicate(timeout=60)
        job = json_of(cli("job", "1", "--json", "--url", url))
    assert "import job 1:" in first_line
    assert follower.returncode == 1, err
    assert "Asking the server to pause job 1" in err
    assert "paused" in out and "modelshelf job 1 --resume" in out
    assert job["state"] == "PAUSED" and job["done"] < 6


def test_a_migration_with_broken_images_shows_progress_and_exits_1(tmp_path: Path) -> None:
    legacy = pictured_legacy_library(tmp_path / "legacy", width=300)
    with running_server(tmp_path / "lib") as url:
        run = cli("migrate", str(legacy), "--url", url)
    assert run.returncode == 1, run.stderr
    assert "legacy import:" in run.stderr  # plain progress lines, then the report
    assert f"{len(BROKEN)} failed" in run.stdout and "UNDECODABLE_IMAGE" in run.stdout
    for char in CONTROL_CHARACTERS:
        assert char not in run.stdout + run.stderr
