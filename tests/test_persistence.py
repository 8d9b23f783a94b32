"""What the library holds survives a restart of the server."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import running_shelf
from tests.seed import add_model, add_pending, add_tags

EVERYTHING = """
{
  models { totalCount nodes { sha256 name sizeBytes meta tags { name } sampleImages { seq } } }
  pendingImports { nodes { id sha256 tags { name } images { filename } } }
  tags { id name color }
}
"""


async def test_data_is_there_after_a_restart(data_dir: Path) -> None:
    async with running_shelf(data_dir) as shelf:
        (tag,) = await add_tags(shelf.store, "keeper", color="#123456")
        await add_model(
            shelf.store, "big", size_bytes=12 * 1024**3, meta={"k": [1, 2]}, tags=[tag], images=2
        )
        await add_pending(shelf.store, 77, tags=[tag], images=1)
        before = await shelf.data(EVERYTHING)

    async with running_shelf(data_dir) as shelf:
        after = await shelf.data(EVERYTHING)

    assert after == before
    assert after["models"]["nodes"][0]["sizeBytes"] == 12 * 1024**3
    assert after["tags"] == [{"id": tag.id, "name": "keeper", "color": "#123456"}]


async def test_a_clean_shutdown_leaves_no_write_ahead_log_behind(data_dir: Path) -> None:
    async with running_shelf(data_dir) as shelf:
        await add_model(shelf.store, "m")
        db_path = shelf.config.db_path
    assert db_path.is_file()
    assert not Path(f"{db_path}-wal").exists()
