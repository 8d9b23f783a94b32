"""What Stage 1 makes of each legacy row: every rule of ../shared/LEGACY.md, as pure functions.

Nothing here reads files or databases, so each rule is tested on its own.
"""

from __future__ import annotations

import json
import ntpath
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from domain.records import JsonObject

IMAGE_KEYS = ("images", "image", "preview")
_HEX64 = re.compile(r"[0-9a-f]{64}")
# The newest timestamp a row may carry (year 9999), in milliseconds: beyond it dates break.
MAX_EPOCH_MS = 253_402_300_799_000


@dataclass(frozen=True, slots=True)
class Issue:
    """Something about one legacy row that the user should know; it never stops a run."""

    legacy_id: int | None
    kind: str
    message: str


@dataclass(slots=True)
class CleanMeta:
    meta: JsonObject
    image_refs: list[str] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)


def legacy_hash(hash_hex: str | None) -> str | None:
    """The row's SHA-256 in canonical form, or None for "never hashed": empty, or anything
    that is not 64 hex digits once trimmed and lower-cased."""
    candidate = (hash_hex or "").strip().lower()
    return candidate if _HEX64.fullmatch(candidate) else None


def clean_meta(legacy_id: int, extra_json: str | None, meta_json: str | None) -> CleanMeta:
    """The new `meta`: the legacy `extra_json` object, with the legacy `meta_json` keys
    filling in what it lacks, without any image key. The image references are returned
    apart, in listed order: images live in the gallery, not in metadata."""
    result = CleanMeta(meta={})
    extra = _json_object(legacy_id, "extra_json", extra_json, result.issues)
    legacy_meta = _json_object(legacy_id, "meta_json", meta_json, result.issues)
    result.meta = {**legacy_meta, **extra}
    for source in (extra, legacy_meta):
        result.image_refs += image_refs(source)
    for key in IMAGE_KEYS:
        result.meta.pop(key, None)
    return result


def image_refs(data: JsonObject) -> list[str]:
    """The image references of one JSON object: the `images` list, then `image`, then
    `preview`; non-strings are skipped."""
    refs: list[str] = []
    listed = data.get("images")
    if isinstance(listed, list):
        refs += [item for item in listed if isinstance(item, str)]
    elif isinstance(listed, str):
        refs.append(listed)
    refs += [data[key] for key in ("image", "preview") if isinstance(data.get(key), str)]
    return refs


def image_file_name(ref: str) -> str | None:
    """The file name an image reference points at: the last segment of a URL
    (`/media/model_12_1700000000000_preview.png?v=2`), a Windows path
    (`C:\\images\\a.png`) or a POSIX path, percent-decoding included; None when there is
    no usable name."""
    text = ref.strip()
    if not text:
        return None
    if "://" in text or text.startswith("/"):  # a URL or a URL path: drop query and fragment
        text = urlsplit(text).path if "://" in text else text.split("?")[0].split("#")[0]
    name = unquote(ntpath.basename(text.replace("/", "\\")))
    if name in ("", ".", "..") or "/" in name or "\\" in name or "\0" in name:
        return None
    return name


def unique_file_names(refs: list[str]) -> list[str]:
    """Each referenced file once, in first-listed order: the same image listed twice is
    one gallery image."""
    names = (image_file_name(ref) for ref in refs)
    return list(dict.fromkeys(name for name in names if name is not None))


def display_name(name: str | None, path: str) -> str:
    """The legacy name, or the file name of the path when the row has none."""
    cleaned = (name or "").strip()
    return cleaned or ntpath.basename(path.replace("/", "\\")) or path


def model_type(value: str | None) -> str:
    return (value or "").strip().lower() or "other"


# No file is 8 PiB; a size past what a JavaScript client holds exactly is a broken column.
MAX_SIZE_BYTES = 2**53 - 1


def size_bytes(value: Any) -> int | None:
    """The row's size, or None (unknown until the file is hashed) when it is not one."""
    if isinstance(value, int) and 0 <= value <= MAX_SIZE_BYTES:
        return value
    return None


def created_at_ms(legacy_id: int, value: Any, now_ms: int, issues: list[Issue]) -> int:
    """The row's creation time, or now when it is not a usable time."""
    if isinstance(value, int) and 0 <= value <= MAX_EPOCH_MS:
        return value
    issues.append(
        Issue(legacy_id, "INVALID_DATE", f"created_at {value!r} is not a time; using now.")
    )
    return now_ms


def _refuse_constant(name: str) -> Any:
    """NaN and Infinity are not JSON; SQLite's json_valid would refuse the whole row."""
    raise ValueError(f"{name} is not a JSON value")


def _json_object(legacy_id: int, column: str, text: str | None, issues: list[Issue]) -> JsonObject:
    if text is None or not text.strip():
        return {}
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        issues.append(
            Issue(legacy_id, "INVALID_JSON", f"{column} is not valid JSON; kept as {{}}.")
        )
        return {}
    if value is None:
        return {}
    if not isinstance(value, dict):
        issues.append(
            Issue(legacy_id, "INVALID_JSON", f"{column} is JSON but not an object; kept as {{}}.")
        )
        return {}
    return value
