"""A model's type from the folder it sits in, for the folder layouts users keep: ComfyUI's
`models/<kind>/` and AUTOMATIC1111's `models/<Kind>/`. Sub-folders are common (`loras/sdxl/`),
so the nearest folder of the path that names a kind decides."""

from __future__ import annotations

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


def type_of_path(path: str) -> str | None:
    """The type the nearest folder of the whole (absolute, `/`-separated) path names: a
    scan of `models/loras/sdxl` still knows its files are LoRAs. On strings, not `Path`s:
    a scan asks this of every new file."""
    for folder in reversed(path.split("/")[:-1]):
        kind = FOLDER_TYPES.get(folder.lower())
        if kind is not None:
            return kind
    return None
