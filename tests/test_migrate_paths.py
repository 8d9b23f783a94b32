"""Stage 1's two path arguments as users type them: every path no file can have, and every
path the system will not let us look at, is a typed refusal that writes nothing."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Shelf
from tests.test_migrate_legacy import LIBRARY, MIGRATE, legacy_library


def long_name(tmp_path: Path) -> str:
    return str(tmp_path / ("n" * 300))


def long_path(tmp_path: Path) -> str:
    return str(tmp_path / "/".join(["d" * 50] * 100))  # 5,100 characters, each name short


# (what the user sends, a word the message must hold)
UNUSABLE: dict[str, tuple[Callable[[Path], str], str]] = {
    "empty": (lambda tmp: "", "empty"),
    "blank": (lambda tmp: "   ", "empty"),
    "NUL byte": (lambda tmp: str(tmp / "a\0b.sqlite3"), "NUL"),
    "unknown user": (lambda tmp: "~unknownuser/x.sqlite3", "~unknownuser"),
    "~+": (lambda tmp: "~+/x.sqlite3", "~+"),
    "300-character name": (long_name, "300"),
    "5,000-character path": (long_path, "long"),
}


async def refused(shelf: Shelf, db: str, images: str | None) -> dict[str, Any]:
    # As ASCII JSON: a lone surrogate travels as its \u escape, as browsers send it.
    request = {"query": MIGRATE, "variables": {"db": db, "images": images}}
    response = await shelf.client.post(
        "/graphql", content=json.dumps(request), headers={"content-type": "application/json"}
    )
    body = response.json()
    assert "errors" not in body, body["errors"]  # never an internal error
    result: dict[str, Any] = body["data"]["migrateLegacyDb"]
    assert result["__typename"] == "MigrationRefused", result
    library = await shelf.data(LIBRARY)
    assert library["models"]["nodes"] == library["pendingImports"]["nodes"] == library["tags"] == []
    return result


@pytest.mark.parametrize("case", UNUSABLE)
@pytest.mark.parametrize("argument", ["legacyDbPath", "legacyImagesDir"])
async def test_a_path_no_file_can_have_is_refused_saying_why(
    shelf: Shelf, tmp_path: Path, case: str, argument: str
) -> None:
    make, word = UNUSABLE[case]
    value = make(tmp_path)
    db = legacy_library(tmp_path / "legacy")
    if argument == "legacyDbPath":
        result = await refused(shelf, value, None)
        assert "legacy database" in result["message"]
    else:
        result = await refused(shelf, str(db), value)
        assert "images folder" in result["message"]
    assert result["code"] == "INVALID_PATH"
    assert word in result["message"]
    assert len(result["message"]) < 400  # a long value is quoted by a short prefix only


async def test_a_symlink_loop_is_refused_as_unreadable(shelf: Shelf, tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    result = await refused(shelf, str(tmp_path / "a"), None)
    assert result["code"] == "LEGACY_PATH_UNREADABLE"
    assert "symbolic links" in result["message"] and str(tmp_path) in result["message"]

    db = legacy_library(tmp_path / "legacy")
    result = await refused(shelf, str(db), str(tmp_path / "a" / "images"))
    assert result["code"] == "LEGACY_PATH_UNREADABLE"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file whatever its mode")
async def test_a_file_the_server_may_not_read_is_refused_as_access_denied(
    shelf: Shelf, tmp_path: Path
) -> None:
    db = legacy_library(tmp_path / "legacy")
    db.chmod(0)
    try:
        result = await refused(shelf, str(db), None)
    finally:
        db.chmod(0o644)
    assert result["code"] == "LEGACY_ACCESS_DENIED"


async def test_a_tilde_path_names_the_home_folder(
    shelf: Shelf, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    legacy_library(tmp_path / "legacy")
    body = await shelf.post(MIGRATE, db="~/legacy/hikaze_mm.sqlite3", images="~/legacy/images")
    report = body["data"]["migrateLegacyDb"]
    assert report["__typename"] == "MigrationReport" and report["modelsImported"] == 3
    assert report["legacyImagesDir"] == str(tmp_path / "legacy" / "images")
