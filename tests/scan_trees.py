"""Model folders for the scan tests: real files whose first bytes are what real model
files start with (a safetensors header written to its spec, GGUF's magic, a zip, a pickle)."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

KOHYA = {
    "ss_base_model_version": "sdxl_base_v1-0",
    "ss_network_dim": "32",
    "ss_tag_frequency": json.dumps({"10_person": {"smiling": 4}}),
}


def safetensors(metadata: dict[str, str] | None = None, tensor_bytes: int = 16) -> bytes:
    """A .safetensors file as the format's spec lays it out: an 8-byte little-endian header
    length, the JSON header (tensors' dtype, shape and offsets, and `__metadata__`), then the
    tensor data."""
    header: dict[str, Any] = {
        "weight": {"dtype": "U8", "shape": [tensor_bytes], "data_offsets": [0, tensor_bytes]}
    }
    if metadata is not None:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + bytes(tensor_bytes)


def gguf() -> bytes:
    """A GGUF v3 file with no tensors and one string key: general.architecture = llama."""
    key, value = b"general.architecture", b"llama"
    pair = struct.pack("<Q", len(key)) + key + struct.pack("<I", 8)
    pair += struct.pack("<Q", len(value)) + value
    return b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + pair


ZIP = b"PK\x03\x04" + bytes(60)  # a PyTorch checkpoint is a zip archive
PICKLE = b"\x80\x02" + bytes(30)  # …or, in the old format, a pickle


def write(path: Path, content: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def comfyui_tree(root: Path) -> dict[str, str]:
    """A ComfyUI `models` folder with a file of every model extension (nested folders
    among them), files that are not models, a symbolic-link loop, a hidden folder, and a
    file that is not what its name says. Answers each model file's path → expected type."""
    models = root / "models"
    expected = {
        write(
            models / "checkpoints" / "sdxl" / "base.safetensors", safetensors(KOHYA)
        ): "checkpoint",
        write(models / "checkpoints" / "old.ckpt", ZIP): "checkpoint",
        write(models / "loras" / "people" / "anna.safetensors", safetensors(KOHYA)): "lora",
        write(
            models / "loras" / "style.sft",
            safetensors({"modelspec.architecture": "flux-1-dev/lora"}),
        ): "lora",
        write(models / "vae" / "kl.pt", ZIP): "vae",
        write(models / "embeddings" / "neg.pt", PICKLE): "embedding",
        write(models / "upscale_models" / "x4.pth", ZIP): "upscaler",
        write(models / "unet" / "q4.gguf", gguf()): "unet",
        write(models / "clip" / "t5.bin", bytes(64)): "clip",
        write(models / "controlnet" / "canny.onnx", bytes(64)): "controlnet",
    }
    write(models / "loras" / "people" / "anna.png", b"\x89PNG not a model")
    write(models / "loras" / "notes.txt", b"trigger: anna")
    write(models / ".cache" / "hidden.safetensors", safetensors())
    write(models / "loras" / "fake.safetensors", b"<html>not a model</html>")
    (models / "loras" / "people" / "loop").symlink_to(models / "loras", target_is_directory=True)
    return {str(path): kind for path, kind in expected.items()}
