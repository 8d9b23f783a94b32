"""Where Model Shelf keeps its data, and the folders it needs there."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DATA_DIR_ENV = "MODELSHELF_DATA_DIR"
DEFAULT_DATA_DIR = Path("data")


@dataclass(frozen=True, slots=True)
class Config:
    """The paths of one library. Everything the server writes lives below `data_dir`."""

    data_dir: Path

    @property
    def db_path(self) -> Path:
        return self.data_dir / "library.db"

    @property
    def images_dir(self) -> Path:
        return self.data_dir / "images"

    @property
    def pending_images_dir(self) -> Path:
        return self.images_dir / "pending"

    @classmethod
    def resolve(cls, data_dir: str | os.PathLike[str] | None = None) -> Config:
        """Pick the data dir: an explicit value (the `--data-dir` flag) wins, then the
        environment variable, then `./data`. Made absolute now, so that a later `chdir`
        cannot move the library out from under the server."""
        chosen = data_dir or os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR
        return cls(data_dir=Path(chosen).expanduser().resolve())

    def create_folders(self) -> None:
        """Create the data dir and its image folders; a no-op when they exist."""
        self.pending_images_dir.mkdir(parents=True, exist_ok=True)
