"""Filtering either list (models, pending imports) by what a scan learnt of its files."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain.errors import InvalidFilter
from domain.records import FileStatus

MAX_BASE_MODEL_CHARS = 200  # as `domain.scanning.headers` keeps it


@dataclass(frozen=True, slots=True)
class FileFilter:
    """What both lists (models, pending imports) filter their files by: the status a scan
    saw, and the base model the file's header names. A base model is a machine string
    ("sdxl_base_v1-0", "flux-1-dev/lora"), so it matches exactly, after trimming: the
    index on it serves the match."""

    status: FileStatus | None = None
    base_model: str | None = None

    @classmethod
    def of(cls, status: FileStatus | None, base_model: str | None) -> FileFilter:
        base_model = (base_model or "").strip() or None
        if base_model is not None and len(base_model) > MAX_BASE_MODEL_CHARS:
            raise InvalidFilter(
                f"`baseModel` holds at most {MAX_BASE_MODEL_CHARS} characters; "
                f"got {len(base_model):,}."
            )
        return cls(status, base_model)

    def clauses(self) -> tuple[list[str], list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if self.status is not None:
            clauses.append("file_status = ?")
            params.append(self.status.value)
        if self.base_model is not None:
            clauses.append("base_model = ?")
            params.append(self.base_model)
        return clauses, params
