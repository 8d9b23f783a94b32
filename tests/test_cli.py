"""The `modelshelf` command, run as a user runs it: a real process on a real port."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest

from api.cli import main
from domain.config import DATA_DIR_ENV
from tests.server import free_port, start_server, wait_until_up

SCHEMA_FILE = Path(__file__).parent.parent / "schema.graphql"


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_serve_answers_on_localhost_and_stops_cleanly(tmp_path: Path, stop: signal.Signals) -> None:
    port = free_port()
    data_dir = tmp_path / "lib"
    server = start_server("--port", str(port), env={DATA_DIR_ENV: str(data_dir)})
    try:
        url = f"http://127.0.0.1:{port}/graphql"
        wait_until_up(url, server)
        response = httpx.post(url, json={"query": "{ models { totalCount } tags { id } }"})
        assert response.json() == {"data": {"models": {"totalCount": 0}, "tags": []}}
        server.send_signal(stop)
        output, _ = server.communicate(timeout=30)
    finally:
        server.kill()
    # uvicorn finishes open requests and the app's shutdown, then re-raises the signal so
    # that a process manager sees how it ended.
    assert server.returncode in (0, -stop), output
    assert str(data_dir) in output  # it says where the library is
    assert "Application shutdown complete" in output
    assert (data_dir / "library.db").is_file()
    assert not (data_dir / "library.db-wal").exists()  # the store was closed, not abandoned


def test_data_dir_flag_is_used(tmp_path: Path) -> None:
    port = free_port()
    server = start_server("--port", str(port), "--data-dir", str(tmp_path / "flagged"))
    try:
        wait_until_up(f"http://127.0.0.1:{port}/graphql", server)
        assert (tmp_path / "flagged" / "images" / "pending").is_dir()
    finally:
        server.terminate()
        server.communicate(timeout=30)


def test_export_schema_prints_the_committed_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export-schema"]) == 0
    assert capsys.readouterr().out == SCHEMA_FILE.read_text(encoding="utf-8")


def test_export_schema_writes_a_file(tmp_path: Path) -> None:
    target = tmp_path / "schema.graphql"
    assert main(["export-schema", "--output", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == SCHEMA_FILE.read_text(encoding="utf-8")


def test_a_library_that_cannot_be_opened_is_said_plainly(tmp_path: Path) -> None:
    (tmp_path / "library.db").write_text("these are not the bytes of a database")
    server = start_server("--port", str(free_port()), "--data-dir", str(tmp_path))
    output, _ = server.communicate(timeout=30)
    assert server.returncode == 2
    assert "cannot open its library" in output and "is not a SQLite database" in output
    assert "Traceback" not in output
