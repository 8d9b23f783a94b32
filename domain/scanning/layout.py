"""A model's type from the folder it sits in, for the folder layouts users keep: ComfyUI's
`models/<kind>/` and AUTOMATIC1111's `models/<Kind>/`. Sub-folders are common (`loras/sdxl/`),
so the nearest folder of the path that names a kind decides."""

from __future__ import annotations

from pathlib import Path

# Folder name (lower case) → type. ComfyUI's folder_paths names, and A1111's.
FOLDER_TYPES = {
    "checkpoints": "checkpoint",
    "stable-diffusion": "checkpoint",  # A1111: models/Stable-diffusion
    "loras": "lora",
    "lora": "lora",  # A1111: models/Lora
    "lycoris": "lora",  # LyCORIS files load as LoRAs everywhere
    "vae": "vae",
    "vae_approx": "vae",
    "embeddings": "embedding",
    "textual_inversion": "embedding",
    "hypernetworks": "hypernetwork",
    "controlnet": "controlnet",
    "t2i_adapter": "controlnet",  # ComfyUI keeps T2I adapters with ControlNets
    "upscale_models": "upscaler",
    "esrgan": "upscaler",  # A1111: models/ESRGAN, RealESRGAN, …
    "realesrgan": "upscaler",
    "swinir": "upscaler",
    "clip": "clip",
    "text_encoders": "clip",  # ComfyUI's newer name for the same folder
    "clip_vision": "clip_vision",
    "unet": "unet",
    "diffusion_models": "unet",  # ComfyUI's newer name for `unet`: one folder for both
    "style_models": "style_model",
    "gligen": "gligen",
    "ipadapter": "ipadapter",
    "photomaker": "photomaker",
    "insightface": "insightface",
    "diffusers": "diffusers",
}


def type_from_folders(path: Path, root: Path) -> str | None:
    """The type the nearest folder between the file and `root` (included) names, in any
    case; None when none does (the caller picks a default)."""
    for folder in path.parents:
        kind = FOLDER_TYPES.get(folder.name.lower())
        if kind is not None:
            return kind
        if folder == root or folder == folder.parent:
            return None
    return None
