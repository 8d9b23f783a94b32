"""Which files are model files: by the name first, then by the first bytes where the
format has a signature, so a web page saved as `x.safetensors` is not taken for a model."""

from __future__ import annotations

import struct

MODEL_EXTENSIONS = frozenset(
    (".safetensors", ".sft", ".ckpt", ".pt", ".pth", ".bin", ".gguf", ".onnx")
)
SAFETENSORS = frozenset((".safetensors", ".sft"))
TORCH = frozenset((".ckpt", ".pt", ".pth"))
HEAD_BYTES = 16  # enough for every signature below
# The safetensors spec bounds the header at 100 MB.
MAX_SAFETENSORS_HEADER = 100_000_000


def extension(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


def is_model_name(name: str) -> bool:
    return extension(name) in MODEL_EXTENSIONS


def format_of(name: str) -> str:
    """The format a model file's name claims."""
    suffix = extension(name)
    if suffix in SAFETENSORS:
        return "safetensors"
    if suffix in TORCH:
        return "pytorch"
    return suffix.lstrip(".")


def looks_like(name: str, head: bytes, size: int) -> str | None:
    """None when the first bytes agree with the name; else why not, for people. `.onnx`
    (a protobuf) and `.bin` (raw weights of any kind) have no signature: they pass."""
    suffix = extension(name)
    if size == 0:
        return "The file is empty."
    if suffix in SAFETENSORS:
        return _safetensors(head, size)
    if suffix == ".gguf":
        return None if head.startswith(b"GGUF") else "Not a GGUF file: it lacks the GGUF magic."
    if suffix in TORCH:
        if head.startswith(b"PK\x03\x04") or (
            len(head) > 1 and head[0] == 0x80 and 2 <= head[1] <= 5
        ):
            return None
        return "Not a PyTorch file: neither a zip archive nor a pickle."
    return None


def _safetensors(head: bytes, size: int) -> str | None:
    if len(head) < 9:
        return "Not a safetensors file: too short for a header."
    (length,) = struct.unpack_from("<Q", head)
    if not 2 <= length <= MAX_SAFETENSORS_HEADER or length + 8 > size:
        return f"Not a safetensors file: its header length ({length:,} bytes) does not fit."
    if head[8:9] != b"{":
        return "Not a safetensors file: its header is not a JSON object."
    return None
