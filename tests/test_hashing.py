"""Hashing model files: right digests, shared work, clear errors."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from domain.errors import ModelFileMissing, ModelFileUnreadable
from domain.importing.hashing import CHUNK_BYTES, Hasher, _hash_file, _stamp_of
from domain.workers import Workers


@pytest.fixture
async def hasher() -> AsyncIterator[Hasher]:
    workers = Workers("test-hash", count=2)
    yield Hasher(workers)
    workers.shutdown()


def a_file(folder: Path, size: int, seed: int = 0) -> Path:
    path = folder / f"model-{size}-{seed}.safetensors"
    block = hashlib.sha256(str(seed).encode()).digest() * (CHUNK_BYTES // 32 + 1)
    with path.open("wb") as file:
        written = 0
        while written < size:
            piece = block[: min(len(block), size - written)]
            file.write(piece)
            written += len(piece)
    return path


@pytest.mark.parametrize("size", [0, 1, CHUNK_BYTES - 1, CHUNK_BYTES, 3 * CHUNK_BYTES + 17])
@pytest.mark.parametrize("read_ahead", [False, True])
def test_the_digest_is_sha256_of_the_bytes(tmp_path: Path, size: int, read_ahead: bool) -> None:
    path = a_file(tmp_path, size)
    counted: list[int] = []
    digest = _hash_file(
        str(path), _stamp_of(str(path)), read_ahead=lambda: read_ahead, on_read=counted.append
    )
    assert digest.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert sum(counted) == size and digest.stamp.size_bytes == size


async def test_two_calls_for_the_same_file_share_one_computation(
    hasher: Hasher, tmp_path: Path
) -> None:
    path = a_file(tmp_path, 8 * CHUNK_BYTES)
    first, second = await asyncio.gather(hasher.digest(str(path)), hasher.digest(str(path)))
    assert first == second
    assert hasher.bytes_read == 8 * CHUNK_BYTES  # read once, not twice


async def test_a_changed_file_is_hashed_again(hasher: Hasher, tmp_path: Path) -> None:
    path = a_file(tmp_path, CHUNK_BYTES)
    before = await hasher.digest(str(path))
    path.write_bytes(b"other content")
    after = await hasher.digest(str(path))
    assert after.sha256 == hashlib.sha256(b"other content").hexdigest() != before.sha256


async def test_two_files_hash_at_once(hasher: Hasher, tmp_path: Path) -> None:
    paths = [a_file(tmp_path, 2 * CHUNK_BYTES, seed) for seed in range(4)]
    digests = await asyncio.gather(*(hasher.digest(str(path)) for path in paths))
    assert [d.sha256 for d in digests] == [
        hashlib.sha256(p.read_bytes()).hexdigest() for p in paths
    ]


async def test_missing_and_unreadable_files_are_told_apart(hasher: Hasher, tmp_path: Path) -> None:
    with pytest.raises(ModelFileMissing, match="does not exist"):
        await hasher.digest(str(tmp_path / "nope.safetensors"))
    with pytest.raises(ModelFileUnreadable, match="not a regular file"):
        await hasher.digest(str(tmp_path))
    with pytest.raises(ModelFileUnreadable):
        await hasher.digest("bad\0path")
    if os.geteuid() != 0:  # root reads anything
        locked = a_file(tmp_path, 10)
        locked.chmod(0)
        with pytest.raises(ModelFileUnreadable):
            await hasher.digest(str(locked))


def test_reading_ahead_can_stop_half_way_and_the_digest_stays_right(tmp_path: Path) -> None:
    """Another file starting to hash makes the read-ahead hand over mid-file."""
    path = a_file(tmp_path, 7 * CHUNK_BYTES + 5)
    asked = iter([True, True, True, False])  # the first ask decides to read ahead at all
    digest = _hash_file(
        str(path),
        _stamp_of(str(path)),
        read_ahead=lambda: next(asked, False),
        on_read=lambda _: None,
    )
    assert digest.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


async def test_progress_comes_a_few_times_a_second_and_adds_up(
    hasher: Hasher, tmp_path: Path
) -> None:
    path = tmp_path / "big.safetensors"
    with path.open("wb") as file:
        file.truncate(256 * CHUNK_BYTES)  # 1 GiB of holes: about half a second
    progress: list[int] = []
    await hasher.digest(str(path), on_progress=progress.append)
    assert sum(progress) == 256 * CHUNK_BYTES  # every byte told, the last ones at the end
    assert 1 < len(progress) < 256 / 4  # in batches, not once per chunk


async def test_a_hash_nobody_waits_for_stops_within_a_chunk(hasher: Hasher, tmp_path: Path) -> None:
    path = tmp_path / "huge.safetensors"
    with path.open("wb") as file:
        file.truncate(64 * 1024**3)  # 64 GiB of holes: minutes to hash, nothing on disk
    progress: list[int] = []
    waiting = asyncio.ensure_future(hasher.digest(str(path), on_progress=progress.append))
    while sum(progress) < 8 * CHUNK_BYTES:
        await asyncio.sleep(0.01)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await asyncio.sleep(0.5)  # far longer than a chunk takes
    stopped_at = hasher.bytes_read
    await asyncio.sleep(0.2)
    assert hasher.bytes_read == stopped_at < 64 * 1024**3


async def test_a_hash_one_caller_still_waits_for_goes_on(hasher: Hasher, tmp_path: Path) -> None:
    path = a_file(tmp_path, 16 * CHUNK_BYTES)
    first = asyncio.ensure_future(hasher.digest(str(path)))
    second = asyncio.ensure_future(hasher.digest(str(path)))
    await asyncio.sleep(0)
    first.cancel()
    digest = await second
    assert digest.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
