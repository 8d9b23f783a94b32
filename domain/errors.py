"""Errors a caller can act on.

Every error here carries a message written for the person who sent the request: the API
shows it as it is, while any other exception is masked as an internal error.
"""

from __future__ import annotations

from domain.records import Model, Tag

# A bad value is quoted in its error message only this far: a 1 MB value must not come back
# whole, and the start of a value is what tells a person which one it was.
QUOTE_LIMIT = 60


def quoted(value: object, limit: int = QUOTE_LIMIT) -> str:
    """`value` as Python quotes it (repr), cut to its first `limit` characters when longer,
    with how long it really was."""
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]!r}… ({len(value):,} characters)"
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"


class UserError(Exception):
    """A request the caller can correct; `code` lets scripts tell the kinds apart."""

    code = "BAD_USER_INPUT"


class InvalidValue(UserError):
    """An argument whose value the operation cannot take (blank, too long, malformed);
    `field` names the argument, so a form can show the message beside it."""

    code = "INVALID_INPUT"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class InvalidSha256(UserError):
    """A value that is not a SHA-256 digest (64 hexadecimal characters)."""

    code = "INVALID_SHA256"


class InvalidPageRequest(UserError):
    """A page size out of range, or a cursor this list did not hand out."""

    code = "INVALID_PAGE_REQUEST"


class InvalidFilter(UserError):
    """A list filter that cannot be applied as given."""

    code = "INVALID_FILTER"


class InvalidPath(UserError):
    """A path a user sent that no file can have: empty, holding a NUL byte or text no file
    name can be, a `~` that names no home folder, or longer than the system allows."""

    code = "INVALID_PATH"


class StoreError(Exception):
    """The library database cannot be used: too new, not ours, or SQLite too old."""


class ImageRejected(UserError):
    """A sample image the pipeline refuses; nothing was written for it."""

    code = "IMAGE_REJECTED"


class NotAnImage(ImageRejected):
    """Bytes that are not a raster image we read (SVG, HTML, text, an unknown format)."""

    code = "NOT_AN_IMAGE"


class ImageTooLarge(ImageRejected):
    """An image whose pixel count is beyond the limit: refused before decoding, because a
    small file can declare enough pixels to exhaust memory (a decompression bomb)."""

    code = "IMAGE_TOO_LARGE"


class CorruptImage(ImageRejected):
    """A file that claims an image format but cannot be decoded: truncated or damaged."""

    code = "CORRUPT_IMAGE"


class ModelNotFound(UserError):
    """No model in the library has this digest."""

    code = "MODEL_NOT_FOUND"

    def __init__(self, sha256: str) -> None:
        super().__init__(f"The library has no model with SHA-256 {sha256}.")
        self.sha256 = sha256


class ModelsNotFound(UserError):
    """Some of the digests a bulk edit names are no model of the library: the edit is
    refused whole, so a script never half-applies a list it got wrong."""

    code = "MODELS_NOT_FOUND"

    def __init__(self, sha256s: list[str], count: int) -> None:
        listed = ", ".join(sha256s)
        more = f" and {count - len(sha256s):,} more" if count > len(sha256s) else ""
        super().__init__(
            f"The library has no model with {count:,} of these SHA-256s ({listed}{more}); "
            "nothing was changed."
        )
        self.sha256s, self.count = sha256s, count


class EditConflict(UserError):
    """The model changed since the client read it (its `updatedAt` is not the one the client
    expected): writing now would silently undo the other change, so nothing was written."""

    code = "EDIT_CONFLICT"

    def __init__(self, current: Model) -> None:
        super().__init__(
            f"The model {current.sha256} was changed at {current.updated_at.isoformat()}, "
            "after you read it; nothing was written. Review the current model and apply your "
            "change to it again."
        )
        self.current = current


class SampleImageNotFound(UserError):
    """The model's gallery has no picture at this seq."""

    code = "SAMPLE_IMAGE_NOT_FOUND"

    def __init__(self, sha256: str, seq: int, count: int) -> None:
        super().__init__(
            f"The gallery of {sha256} has {count} picture(s) (seq 0 to {count - 1}); "
            f"there is none at seq {seq}."
            if count
            else f"The gallery of {sha256} is empty; there is no picture at seq {seq}."
        )
        self.sha256, self.seq = sha256, seq


class DuplicateImage(UserError):
    """The gallery already holds this very picture (same source bytes)."""

    code = "DUPLICATE_IMAGE"

    def __init__(self, sha256: str, seq: int) -> None:
        super().__init__(f"The gallery of {sha256} already holds this picture, at seq {seq}.")
        self.sha256, self.seq = sha256, seq


class LegacyImportError(UserError):
    """Stage 1 cannot start with these inputs; nothing was written."""

    code = "LEGACY_IMPORT_REFUSED"


class LegacyDbNotFound(LegacyImportError):
    code = "LEGACY_DB_NOT_FOUND"


class NotALegacyDb(LegacyImportError):
    """A file that is not SQLite, or SQLite without the legacy app's tables."""

    code = "NOT_A_LEGACY_DB"


class LegacyImagesDirNotFound(LegacyImportError):
    code = "LEGACY_IMAGES_DIR_NOT_FOUND"


class LegacyPathInvalid(LegacyImportError, InvalidPath):
    """A legacy argument that is no usable path (see `InvalidPath`)."""

    code = InvalidPath.code


class LegacyPathUnreadable(LegacyImportError):
    """The system would not let Stage 1 look at a legacy path: an I/O error, a symbolic
    link loop, a file that cannot be opened for reading."""

    code = "LEGACY_PATH_UNREADABLE"


class LegacyAccessDenied(LegacyPathUnreadable):
    """The server's user may not read a legacy path (its permissions say no)."""

    code = "LEGACY_ACCESS_DENIED"


class MigrationAlreadyRunning(UserError):
    """Another legacy import is in progress; this one did not start."""

    code = "MIGRATION_ALREADY_RUNNING"

    def __init__(self, message: str, job_id: int) -> None:
        super().__init__(message)
        self.job_id = job_id


class PendingImportNotFound(UserError):
    code = "PENDING_IMPORT_NOT_FOUND"

    def __init__(self, pending_id: int) -> None:
        super().__init__(f"There is no pending import with id {pending_id}.")
        self.pending_id = pending_id


class PendingImportBusy(UserError):
    """Another operation holds this pending import; nothing was changed."""

    code = "LOCKED"

    def __init__(self, pending_id: int, reason: str = "") -> None:
        super().__init__(
            reason
            or f"Pending import {pending_id} is being imported or changed by another call; "
            "try again when it ends."
        )
        self.pending_id = pending_id


class ModelFileProblem(UserError):
    """The model file cannot be hashed; the pending import stays as it was."""

    code = "MODEL_FILE_PROBLEM"

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path


class ModelFileMissing(ModelFileProblem):
    code = "MODEL_FILE_MISSING"


class ModelFileUnreadable(ModelFileProblem):
    code = "MODEL_FILE_UNREADABLE"


class ModelPathTaken(UserError):
    """Another model of the library is recorded at the pending file's path: the file there
    was replaced by other content. Nothing was changed; the user decides which to keep."""

    code = "MODEL_PATH_TAKEN"

    def __init__(self, path: str, other_sha256: str, message: str | None = None) -> None:
        super().__init__(
            message
            or f"The library has another model (SHA-256 {other_sha256}) at {path}: the file "
            "there now has other content. Delete or move that model, or drop this pending "
            "import with strategy DELETE."
        )
        self.path, self.other_sha256 = path, other_sha256


class TagNotFound(UserError):
    code = "TAG_NOT_FOUND"

    def __init__(self, tag_id: int) -> None:
        super().__init__(f"There is no tag with id {tag_id}.")
        self.tag_id = tag_id


class TagNameTaken(UserError):
    """Another tag has this name, ignoring letter case (in any script) and surrounding
    space: two tags that read the same to people would split the models between them."""

    code = "TAG_NAME_TAKEN"

    def __init__(self, name: str, existing: Tag) -> None:
        super().__init__(
            f"The tag {existing.name!r} (id {existing.id}) already has the name {quoted(name)} "
            "ignoring letter case; use it, rename it, or merge into it with mergeTags."
        )
        self.name, self.existing = name, existing


class JobNotFound(UserError):
    code = "JOB_NOT_FOUND"

    def __init__(self, job_id: int | str) -> None:
        super().__init__(f"There is no job with id {quoted(job_id)}.")
        self.job_id = job_id


class JobFinished(UserError):
    """A finished job cannot be paused, resumed or cancelled."""

    code = "JOB_FINISHED"

    def __init__(self, job_id: int, state: str) -> None:
        super().__init__(f"Job {job_id} has ended ({state}); start a new one instead.")
        self.job_id, self.state = job_id, state


class JobStopped(UserError):
    """The job a caller waited for was paused or cancelled before it ended; what it did
    stays done."""

    code = "JOB_STOPPED"

    def __init__(self, job_id: int, state: str) -> None:
        then = {
            "PAUSED": "resumeJob goes on",
            "RUNNING": "the server is stopping, and the job goes on when it starts again",
        }.get(state, "a new call does the rest")
        super().__init__(f"Job {job_id} stopped ({state}) before it ended; {then}.")
        self.job_id, self.state = job_id, state


class DiskFull(UserError):
    """The disk, or the user's quota on it, has no room for what was being written. Not a
    bug but a state the user can change: nothing half-written was kept, so freeing space
    and trying again completes the operation (a legacy import resumes where it stopped)."""

    code = "DISK_FULL"

    def __init__(self, folder: str, bytes_needed: int | None, *, quota: bool = False) -> None:
        where = (
            f"The disk quota for {folder} is used up"
            if quota
            else f"The disk holding {folder} is full"
        )
        needed = "" if bytes_needed is None else f": {bytes_needed:,} more bytes did not fit"
        super().__init__(
            f"{where}{needed}. Free some space and try again; nothing half-written was kept."
        )
        self.folder, self.bytes_needed = folder, bytes_needed
