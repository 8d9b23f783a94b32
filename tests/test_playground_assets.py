"""The playground's page and files as the server hands them out, and the tool that
re-fetches the pinned files from the npm registry."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from api.playground.vendored import MANIFEST, VENDOR, packages, problems, subresource_integrity
from tests.conftest import Shelf

TOOL = Path(__file__).resolve().parent.parent / "tools" / "playground_assets.py"
BROWSER = {"Accept": "text/html"}


async def test_the_page_forbids_everything_but_this_server(shelf: Shelf) -> None:
    response = await shelf.client.get("/graphql", headers=BROWSER)
    assert response.status_code == 200
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in response.headers["content-security-policy"].split(";")
    )
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == policy["style-src"] == policy["connect-src"] == "'self'"
    assert response.headers["referrer-policy"] == "no-referrer"


async def test_every_file_of_the_page_comes_from_the_server_with_its_hash(shelf: Shelf) -> None:
    page = (await shelf.client.get("/graphql", headers=BROWSER)).text
    loaded = re.findall(r'(?:src|href)="([^"]+)" integrity="([^"]+)"', page)
    assert len(loaded) == 6  # React, ReactDOM, GraphiQL's script and stylesheet, and ours
    assert not re.search(r"https?://|//", page.replace("<!doctype html>", ""))
    for path, integrity in loaded:
        assert path.startswith("playground/")
        served = await shelf.client.get(f"/{path}")
        assert served.status_code == 200, path
        assert subresource_integrity(served.content) == integrity, path


async def test_the_files_folder_serves_nothing_outside_itself(shelf: Shelf) -> None:
    for path in ("/playground/../library.db", "/playground/%2e%2e/library.db", "/playground/"):
        assert (await shelf.client.get(path)).status_code == 404, path


def test_the_vendored_files_are_the_pinned_ones_with_their_licences() -> None:
    assert problems() == []
    for package in packages():
        licence = (VENDOR / package.folder / package.licence).read_text(encoding="utf-8")
        assert "Permission is hereby granted" in licence  # all three are MIT


def refetch(tmp_path: Path, manifest: dict[str, object]) -> subprocess.CompletedProcess[str]:
    (tmp_path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return subprocess.run(
        [
            sys.executable,
            str(TOOL),
            "--manifest",
            str(tmp_path / "manifest.json"),
            "--vendor",
            str(tmp_path / "vendor"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.timeout(360)  # about 5 MB from the npm registry
def test_the_refetched_files_are_byte_for_byte_the_vendored_ones(tmp_path: Path) -> None:
    run = refetch(tmp_path, json.loads(MANIFEST.read_text(encoding="utf-8")))
    assert run.returncode == 0, run.stderr
    assert problems(tmp_path / "vendor") == []


@pytest.mark.parametrize("tampered", ["integrity", "file"])
@pytest.mark.timeout(360)
def test_a_file_that_is_not_the_pinned_one_is_refused_and_nothing_is_written(
    tmp_path: Path, tampered: str
) -> None:
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    react = manifest["packages"][0]
    if tampered == "integrity":
        react["integrity"] = "sha512-" + "A" * 86 + "=="
    else:
        react["files"]["LICENSE"] = subresource_integrity(b"another licence")
    (tmp_path / "vendor").mkdir()
    (tmp_path / "vendor" / "kept").write_text("as it was")
    run = refetch(tmp_path, manifest)
    assert run.returncode == 1
    assert "react@18.3.1" in run.stderr and "nothing was changed" in run.stderr
    assert [path.name for path in (tmp_path / "vendor").iterdir()] == ["kept"]
