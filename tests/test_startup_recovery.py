"""Startup recovery says what it did: one warning per kind of action, with its count."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from domain.images.gallery import Gallery
from domain.images.tiers import Quality, tier_file_name
from tests.conftest import running_shelf
from tests.images import BLUE, GREEN, RED, same_colors
from tests.seed import add_model, add_pending, digest
from tests.test_gallery import add, colors_of_gallery, picture

PREFIX = "Recovering from an interrupted run: "


class PowerCut(Exception):
    """Stands for the process dying where it is raised."""


def die(*_: object) -> None:
    raise PowerCut


def recovery_lines(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    return [
        (record.levelno, record.getMessage())
        for record in caplog.records
        if record.name == "modelshelf" and record.getMessage().startswith(PREFIX)
    ]


async def test_every_recovery_action_is_logged_with_its_count(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_shelf(data_dir) as shelf:
        model = await add_model(shelf.store, "m")
        for color in (RED, BLUE, GREEN):
            await add(shelf, model.sha256, picture(color))
        await add_pending(shelf.store, 5, images=1)
        images, pending = shelf.config.images_dir, shelf.config.pending_images_dir
        (pending / "5_0.png").write_bytes(picture(RED))  # listed: it stays
        with monkeypatch.context() as patch:  # the delete commits, then the process dies
            patch.setattr(Gallery, "_move_files", die)
            with pytest.raises(PowerCut):
                await shelf.app.state.gallery.delete(model.sha256, 0)
        owed = await shelf.store.fetch_one("SELECT count(*) FROM file_moves")
        assert owed is not None and owed[0] > 0
        planted = {
            images / ".tmp-1-half.webp": b"half",
            images / ".tmp-2-half.webp": b"half",
            pending / ".tmp-3-half.png": b"half",
            images / tier_file_name(model.sha256, 7, Quality.LOW): b"orphan",
            images / tier_file_name(digest("gone"), 0, Quality.HIGH): b"orphan",
            pending / "99_0.png": b"orphan",
            pending / "5_1.png": b"orphan",
            pending / "6_0.jpg": b"orphan",
        }
        for path, data in planted.items():
            path.write_bytes(data)

    caplog.set_level(logging.WARNING, logger="modelshelf")
    async with running_shelf(data_dir) as shelf:
        assert recovery_lines(caplog) == [
            (
                logging.WARNING,
                f"{PREFIX}replayed {owed[0]} gallery file move(s) committed but not done.",
            ),
            (logging.WARNING, f"{PREFIX}removed 3 temporary file(s) of unfinished writes."),
            (
                logging.WARNING,
                f"{PREFIX}removed 2 tier file(s) no gallery row names (placed, never committed).",
            ),
            (logging.WARNING, f"{PREFIX}removed 3 pending original(s) no pending import lists."),
        ]
        assert not any(path.exists() for path in planted)
        assert [p.name for p in shelf.config.pending_images_dir.iterdir()] == ["5_0.png"]
        assert same_colors(await colors_of_gallery(shelf, model.sha256), [BLUE, GREEN])

    caplog.clear()
    async with running_shelf(data_dir):
        assert recovery_lines(caplog) == []  # nothing to do, nothing said
    assert not [r for r in caplog.records if r.name == "modelshelf"]
