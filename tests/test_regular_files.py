"""Copies of real sparse files: the same bytes, and the holes still holes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from domain.filesystem.regular_files import NotARegularFile, copy_sparsely, open_regular, read_all

MIB = 1024**2


def sparse_file(path: Path) -> bytes:
    """Data, a 64 MiB hole, data, and a 64 MiB hole at the end; returns the data parts."""
    with path.open("wb") as file:
        file.write(b"head" * MIB)
        file.seek(68 * MIB)
        file.write(b"tail" * MIB)
        file.truncate(136 * MIB)
    return b"head" * MIB + b"tail" * MIB


def test_a_sparse_file_is_copied_byte_for_byte_without_writing_its_holes(tmp_path: Path) -> None:
    source_path = tmp_path / "source"
    sparse_file(source_path)
    with open_regular(source_path) as source:
        copy_sparsely(source, tmp_path / "copy", source.size)
    copy = tmp_path / "copy"
    assert copy.read_bytes() == source_path.read_bytes()
    assert copy.stat().st_blocks * 512 < 16 * MIB  # the 128 MiB of holes cost nothing


def test_a_prefix_is_copied_and_nothing_after_it(tmp_path: Path) -> None:
    source_path = tmp_path / "source"
    sparse_file(source_path)
    with open_regular(source_path) as source:
        copy_sparsely(source, tmp_path / "copy", 70 * MIB)
    assert (tmp_path / "copy").read_bytes() == source_path.read_bytes()[: 70 * MIB]


def test_a_copy_of_a_file_shorter_than_asked_stops_at_its_end(tmp_path: Path) -> None:
    (tmp_path / "source").write_bytes(b"x" * 1000)
    with open_regular(tmp_path / "source") as source:
        copy_sparsely(source, tmp_path / "copy", 5000)
        assert read_all(source) == b"x" * 1000
    assert (tmp_path / "copy").read_bytes() == b"x" * 1000


@pytest.mark.parametrize(("make", "kind"), [("fifo", "a named pipe"), ("dir", "a folder")])
def test_only_regular_files_are_opened(tmp_path: Path, make: str, kind: str) -> None:
    path = tmp_path / "thing"
    if make == "fifo":
        os.mkfifo(path)
    else:
        path.mkdir()
    with pytest.raises(NotARegularFile) as refused, open_regular(path):
        pass
    assert refused.value.kind == kind
