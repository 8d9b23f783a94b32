"""Where the library lives: flag, then environment, then ./data; folders made on start."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.config import DATA_DIR_ENV, Config
from tests.conftest import running_shelf


def test_the_flag_wins_over_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "from-env"))
    assert Config.resolve(tmp_path / "from-flag").data_dir == tmp_path / "from-flag"


def test_the_environment_wins_over_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "from-env"))
    assert Config.resolve(None).data_dir == tmp_path / "from-env"


def test_the_default_is_data_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    config = Config.resolve(None)
    assert config.data_dir == tmp_path / "data"
    assert config.db_path == tmp_path / "data" / "library.db"


def test_a_relative_dir_is_fixed_at_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = Config.resolve("lib")
    monkeypatch.chdir("/")
    assert config.data_dir == tmp_path / "lib"


async def test_starting_creates_the_library_and_its_image_folders(tmp_path: Path) -> None:
    data_dir = tmp_path / "nested" / "data"
    async with running_shelf(data_dir):
        assert (data_dir / "library.db").is_file()
        assert (data_dir / "images").is_dir()
        assert (data_dir / "images" / "pending").is_dir()
