"""What a model file says about itself, read from its first bytes, never its tensors.

- safetensors: an 8-byte length, then a JSON header whose `__metadata__` object holds
  strings: kohya's training keys (`ss_*`) and Stability's `modelspec.*`. The base model is
  `modelspec.architecture`, else `ss_base_model_version`. Values are kept as the file
  stores them (kohya's `ss_tag_frequency` is itself JSON text: a client parses it if it
  wants it).
- GGUF (v2 and v3): the key-value section after the fixed header. Scalars, strings and
  short arrays are kept; long arrays (a tokenizer's 150,000 tokens) are skipped over and
  kept as their length. The base model is `general.architecture`.

Everything is bounded, because the file is anybody's: at most `MAX_HEADER_READ` bytes of
header are read, a value over `MAX_VALUE_BYTES` is left out (and named in `omitted`), and
a header that does not parse is a `problem`, not an exception. Non-finite numbers become
null: the library stores JSON.
"""

from __future__ import annotations

import math
import os
import struct
from dataclasses import dataclass
from typing import Any

from domain import strict_json
from domain.scanning.formats import HEAD_BYTES, format_of, looks_like

MAX_HEADER_READ = 16 * 1024 * 1024  # real LoRA headers are a few hundred KiB
FIRST_READ = 4096  # a page: a short header in one read; more would copy holes of sparse files
MAX_VALUE_BYTES = 64 * 1024
MAX_BASE_MODEL_CHARS = 200
MAX_GGUF_KEYS = 10_000
SHORT_ARRAY = 64  # GGUF arrays up to this long are kept


@dataclass(frozen=True, slots=True)
class FileFacts:
    problem: str | None  # why the first bytes or the header could not be taken in
    format: str | None  # None: not the format its name says (not a model file)
    metadata: dict[str, Any] | None = None
    base_model: str | None = None
    omitted: tuple[str, ...] = ()  # keys whose values were too large to keep


class _Malformed(Exception):
    """The header breaks its format's rules."""


def read_facts(path: str, size: int) -> FileFacts:
    """The facts of one file: one open, and one read of its first `FIRST_READ` bytes (which
    hold a whole header but for the largest), a second one for the rest when they do not."""
    name = path.rpartition("/")[2]
    claimed = format_of(name)
    try:
        # Non-blocking: a file swapped for a FIFO since the walk must not hang the scan.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as error:
        return FileFacts(f"The file cannot be opened: {error.strerror}.", claimed)
    try:
        head = os.pread(fd, FIRST_READ, 0)
        refused = looks_like(name, head[:HEAD_BYTES], size)
        if refused is not None:
            return FileFacts(refused, None)
        if claimed == "safetensors":
            return _safetensors(fd, head)
        if claimed == "gguf":
            return _gguf(fd)
        return FileFacts(None, claimed)
    except OSError as error:
        return FileFacts(f"The file cannot be read: {error.strerror}.", claimed)
    except _Malformed as error:
        return FileFacts(f"The {claimed} header cannot be read: {error}.", claimed)
    finally:
        os.close(fd)


# safetensors ------------------------------------------------------------------------


def _safetensors(fd: int, head: bytes) -> FileFacts:
    (length,) = struct.unpack_from("<Q", head)
    if length > MAX_HEADER_READ:
        raise _Malformed(f"it is {length:,} bytes, more than the {MAX_HEADER_READ:,} read")
    text = head[8 : 8 + length]
    if len(text) < length:
        text += os.pread(fd, length - len(text), 8 + len(text))
    if len(text) < length:
        raise _Malformed("the file ends inside it")
    try:
        header = strict_json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise _Malformed(f"it is not JSON ({error})") from None
    if not isinstance(header, dict):
        raise _Malformed("it is not a JSON object")
    stored = header.get("__metadata__", {})
    if not isinstance(stored, dict) or not all(isinstance(v, str) for v in stored.values()):
        raise _Malformed("its __metadata__ is not an object of strings")
    metadata, omitted = _bounded(stored)
    base = metadata.get("modelspec.architecture") or metadata.get("ss_base_model_version")
    return FileFacts(None, "safetensors", metadata, _base_model(base), omitted)


# GGUF -------------------------------------------------------------------------------

_SCALARS = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}
_STRING, _ARRAY = 8, 9


class _Reader:
    """Sequential reads from a file descriptor, buffered, never past `MAX_HEADER_READ`."""

    def __init__(self, fd: int, offset: int) -> None:
        self._fd, self._offset = fd, offset
        self._buffer, self._at = b"", 0

    def take(self, count: int) -> bytes:
        if self._offset + self._at + count > MAX_HEADER_READ:
            raise _Malformed(f"its metadata runs past the {MAX_HEADER_READ:,} bytes read")
        if self._at + count > len(self._buffer):
            self._offset += self._at
            self._buffer = os.pread(self._fd, max(count, 1 << 16), self._offset)
            self._at = 0
            if len(self._buffer) < count:
                raise _Malformed("the file ends inside it")
        data = self._buffer[self._at : self._at + count]
        self._at += count
        return data

    def unpack(self, layout: str) -> Any:
        return struct.unpack(layout, self.take(struct.calcsize(layout)))[0]

    def string(self) -> bytes:
        return self.take(self.unpack("<Q"))


def _gguf(fd: int) -> FileFacts:
    reader = _Reader(fd, 4)
    version = reader.unpack("<I")
    if version not in (2, 3):
        raise _Malformed(f"version {version} is not one this reads (2 or 3)")
    reader.unpack("<Q")  # the tensor count
    keys = reader.unpack("<Q")
    if keys > MAX_GGUF_KEYS:
        raise _Malformed(f"it claims {keys:,} keys")
    stored: dict[str, Any] = {}
    for _ in range(keys):
        key = _text(reader.string())
        stored[key] = _gguf_value(reader, reader.unpack("<I"))
    metadata, omitted = _bounded(stored)
    return FileFacts(
        None, "gguf", metadata, _base_model(metadata.get("general.architecture")), omitted
    )


def _gguf_value(reader: _Reader, kind: int) -> Any:
    if kind in _SCALARS:
        return _finite(reader.unpack(_SCALARS[kind]))
    if kind == _STRING:
        return _text(reader.string())
    if kind != _ARRAY:
        raise _Malformed(f"a value has the unknown type {kind}")
    element, count = reader.unpack("<I"), reader.unpack("<Q")
    if element == _ARRAY:
        raise _Malformed("an array holds arrays")
    if count <= SHORT_ARRAY:
        return [_gguf_value(reader, element) for _ in range(count)]
    if element in _SCALARS:  # skipped whole: its size is known
        reader.take(count * struct.calcsize(_SCALARS[element]))
    else:
        for _ in range(count):
            _gguf_value(reader, element)
    return {"arrayLength": count}


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise _Malformed("a string is not UTF-8") from None


def _finite(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


# Both -------------------------------------------------------------------------------


def _bounded(stored: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The metadata to keep, and the keys left out for their size."""
    kept, omitted = {}, []
    for key, value in stored.items():
        if len(str(value).encode("utf-8", "replace")) > MAX_VALUE_BYTES:
            omitted.append(key)
        else:
            kept[key] = value
    return kept, tuple(omitted)


def _base_model(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())[:MAX_BASE_MODEL_CHARS]
    return text or None
