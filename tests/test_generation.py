"""Reading generation parameters from real images, built in memory the way each tool saves them."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import ExifTags, Image, PngImagePlugin

from domain.images.generation import MAX_RAW_JSON_CHARS, MAX_TEXT_CHARS, read_generation

INFOTEXT = (
    "a photo of a cat, <lora:foo:0.8>\n"
    "Negative prompt: blurry, lowres\n"
    "Steps: 30, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 1234567890, Size: 512x768, "
    "Model hash: abcdef1234, Model: sd_xl_base_1.0, Denoising strength: 0.4, Hires upscale: 2, "
    'Lora hashes: "foo: 123abc, bar: 456def", Version: v1.6.0'
)

INFOTEXT_PARSED: dict[str, Any] = {
    "source": "a1111",
    "prompt": "a photo of a cat, <lora:foo:0.8>",
    "negativePrompt": "blurry, lowres",
    "steps": 30,
    "sampler": "DPM++ 2M Karras",
    "cfgScale": 7.0,
    "seed": 1234567890,
    "seedText": str(1234567890),
    "width": 512,
    "height": 768,
    "model": "sd_xl_base_1.0",
    "modelHash": "abcdef1234",
    "params": {
        "Steps": "30",
        "Sampler": "DPM++ 2M Karras",
        "CFG scale": "7",
        "Seed": "1234567890",
        "Size": "512x768",
        "Model hash": "abcdef1234",
        "Model": "sd_xl_base_1.0",
        "Denoising strength": "0.4",
        "Hires upscale": "2",
        "Lora hashes": "foo: 123abc, bar: 456def",
        "Version": "v1.6.0",
    },
    "raw": INFOTEXT,
}

# The graph ComfyUI's default text-to-image workflow executes, as its SaveImage node writes it.
COMFYUI_PROMPT: dict[str, Any] = {
    "3": {
        "inputs": {
            "seed": 156680208700286,
            "seedText": str(156680208700286),
            "steps": 20,
            "cfg": 8,
            "sampler_name": "euler",
            "scheduler": "normal",
            "denoise": 1,
            "model": ["4", 0],
            "positive": ["6", 0],
            "negative": ["7", 0],
            "latent_image": ["5", 0],
        },
        "class_type": "KSampler",
        "_meta": {"title": "KSampler"},
    },
    "4": {
        "inputs": {"ckpt_name": "v1-5-pruned-emaonly.safetensors"},
        "class_type": "CheckpointLoaderSimple",
        "_meta": {"title": "Load Checkpoint"},
    },
    "5": {
        "inputs": {"width": 512, "height": 768, "batch_size": 1},
        "class_type": "EmptyLatentImage",
        "_meta": {"title": "Empty Latent Image"},
    },
    "6": {
        "inputs": {"text": "beautiful scenery, purple galaxy bottle", "clip": ["4", 1]},
        "class_type": "CLIPTextEncode",
        "_meta": {"title": "CLIP Text Encode (Prompt)"},
    },
    "7": {
        "inputs": {"text": "text, watermark", "clip": ["4", 1]},
        "class_type": "CLIPTextEncode",
        "_meta": {"title": "CLIP Text Encode (Prompt)"},
    },
    "8": {
        "inputs": {"samples": ["3", 0], "vae": ["4", 2]},
        "class_type": "VAEDecode",
        "_meta": {"title": "VAE Decode"},
    },
    "9": {
        "inputs": {"filename_prefix": "ComfyUI", "images": ["8", 0]},
        "class_type": "SaveImage",
        "_meta": {"title": "Save Image"},
    },
}

# The editor's graph for the same workflow, trimmed to two of its nodes.
COMFYUI_WORKFLOW: dict[str, Any] = {
    "last_node_id": 9,
    "last_link_id": 9,
    "nodes": [
        {
            "id": 3,
            "type": "KSampler",
            "pos": [863, 186],
            "size": [315, 262],
            "flags": {},
            "order": 4,
            "mode": 0,
            "inputs": [
                {"name": "model", "type": "MODEL", "link": 1},
                {"name": "positive", "type": "CONDITIONING", "link": 4},
                {"name": "negative", "type": "CONDITIONING", "link": 6},
                {"name": "latent_image", "type": "LATENT", "link": 2},
            ],
            "outputs": [{"name": "LATENT", "type": "LATENT", "links": [7], "slot_index": 0}],
            "properties": {"Node name for S&R": "KSampler"},
            "widgets_values": [156680208700286, "randomize", 20, 8, "euler", "normal", 1],
        },
        {
            "id": 6,
            "type": "CLIPTextEncode",
            "pos": [415, 186],
            "size": [422, 164],
            "flags": {},
            "order": 2,
            "mode": 0,
            "inputs": [{"name": "clip", "type": "CLIP", "link": 3}],
            "outputs": [
                {"name": "CONDITIONING", "type": "CONDITIONING", "links": [4], "slot_index": 0}
            ],
            "properties": {"Node name for S&R": "CLIPTextEncode"},
            "widgets_values": ["beautiful scenery, purple galaxy bottle"],
        },
    ],
    "links": [[4, 6, 0, 3, 1, "CONDITIONING"], [7, 3, 0, 8, 0, "LATENT"]],
    "groups": [],
    "config": {},
    "extra": {"ds": {"scale": 1, "offset": [0, 0]}},
    "version": 0.4,
}

COMFYUI_FIELDS: dict[str, Any] = {
    "source": "comfyui",
    "prompt": "beautiful scenery, purple galaxy bottle",
    "negativePrompt": "text, watermark",
    "steps": 20,
    "sampler": "euler",
    "scheduler": "normal",
    "cfgScale": 8.0,
    "seed": 156680208700286,
    "seedText": str(156680208700286),
    "model": "v1-5-pruned-emaonly.safetensors",
    "width": 512,
    "height": 768,
}


def reopen(image: Image.Image, format: str, **params: Any) -> Image.Image:
    """Save to memory and open again, as the pipeline will receive the file."""
    buffer = io.BytesIO()
    image.save(buffer, format, **params)
    buffer.seek(0)
    return Image.open(buffer)


def png_with_text(chunks: dict[str, str], kind: str = "tEXt") -> Image.Image:
    """A PNG whose text chunks are all of one kind: `tEXt`, `zTXt` or `iTXt`."""
    info = PngImagePlugin.PngInfo()
    for key, value in chunks.items():
        if kind == "iTXt":
            info.add_itxt(key, value)
        else:
            info.add_text(key, value, zip=kind == "zTXt")
    return reopen(Image.new("RGB", (8, 8)), "PNG", pnginfo=info)


def with_user_comment(format: str, comment: bytes | str) -> Image.Image:
    """A JPEG or WebP whose EXIF holds this UserComment, as A1111 saves them."""
    exif = Image.Exif()
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.UserComment] = comment
    image = reopen(Image.new("RGB", (8, 8)), format, exif=exif.tobytes())
    assert image.format == format
    assert image.getexif().get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.UserComment] == comment
    return image


def infotext_only(text: str) -> dict[str, Any] | None:
    """What a PNG carrying just this A1111 `parameters` chunk reads as."""
    return read_generation(png_with_text({"parameters": text}))


# A1111 text chunks


@pytest.mark.parametrize("kind", ["tEXt", "zTXt", "iTXt"])
def test_a1111_parameters_chunk_is_parsed_in_every_chunk_kind(kind: str) -> None:
    assert read_generation(png_with_text({"parameters": INFOTEXT}, kind)) == INFOTEXT_PARSED


def test_a1111_text_outside_latin_1_is_read_from_an_itxt_chunk() -> None:
    text = "ein Kätzchen 🐱, 猫\nSteps: 20, Sampler: Euler a, CFG scale: 6.5, Seed: 7"

    assert read_generation(png_with_text({"parameters": text}, "iTXt")) == {
        "source": "a1111",
        "prompt": "ein Kätzchen 🐱, 猫",
        "steps": 20,
        "sampler": "Euler a",
        "cfgScale": 6.5,
        "seed": 7,
        "seedText": str(7),
        "params": {"Steps": "20", "Sampler": "Euler a", "CFG scale": "6.5", "Seed": "7"},
        "raw": text,
    }


def test_multi_line_prompt_without_negative_prompt() -> None:
    text = (
        "masterpiece, best quality,\n"
        "a castle on a hill: at dusk\n"
        "(detailed:1.2)\n"
        "Steps: 25, Sampler: Euler a, Schedule type: Karras, CFG scale: 5.5, Seed: -1, "
        "Size: 1024x1024"
    )

    assert infotext_only(text) == {
        "source": "a1111",
        "prompt": "masterpiece, best quality,\na castle on a hill: at dusk\n(detailed:1.2)",
        "steps": 25,
        "sampler": "Euler a",
        "scheduler": "Karras",
        "cfgScale": 5.5,
        "seed": -1,
        "seedText": str(-1),
        "width": 1024,
        "height": 1024,
        "params": {
            "Steps": "25",
            "Sampler": "Euler a",
            "Schedule type": "Karras",
            "CFG scale": "5.5",
            "Seed": "-1",
            "Size": "1024x1024",
        },
        "raw": text,
    }


def test_multi_line_negative_prompt_and_empty_prompt() -> None:
    text = "Negative prompt: bad hands,\nextra fingers\nSteps: 20, Sampler: Euler, Seed: 1"

    parsed = infotext_only(text)

    assert parsed is not None
    assert parsed["prompt"] == ""
    assert parsed["negativePrompt"] == "bad hands,\nextra fingers"


def test_quoted_values_keep_their_commas_colons_and_escaped_quotes() -> None:
    text = (
        "portrait\n"
        'Steps: 20, ADetailer prompt: "a \\"smiling\\" face, blue eyes", '
        'Lora hashes: "foo: 123abc, bar: 456def", Sampler: Euler, '
        'TI hashes: "broken\\q, still kept", Version: f2.0.1'
    )

    parsed = infotext_only(text)

    assert parsed is not None
    assert parsed["params"] == {
        "Steps": "20",
        "ADetailer prompt": 'a "smiling" face, blue eyes',
        "Lora hashes": "foo: 123abc, bar: 456def",
        "Sampler": "Euler",
        "TI hashes": '"broken\\q, still kept"',  # not valid JSON: kept as written, as A1111 does
        "Version": "f2.0.1",
    }
    assert parsed["sampler"] == "Euler"


def test_numbers_that_do_not_parse_stay_only_in_params() -> None:
    text = "cat\nSteps: many, CFG scale: nan, Seed: 1_000, Size: 512 x 768, Sampler: Euler"

    assert infotext_only(text) == {
        "source": "a1111",
        "prompt": "cat",
        "sampler": "Euler",
        "params": {
            "Steps": "many",
            "CFG scale": "nan",
            "Seed": "1_000",
            "Size": "512 x 768",
            "Sampler": "Euler",
        },
        "raw": text,
    }


def test_parameters_chunk_without_a_settings_line_is_kept_as_raw_text() -> None:
    text = "just some words: nothing else\nno settings, here"

    assert infotext_only(text) == {"source": "a1111", "raw": text}


def test_blank_parameters_chunk_is_no_generation() -> None:
    assert infotext_only(" \n ") is None


def test_infotext_longer_than_the_cap_is_cut_and_marked() -> None:
    text = "x" * (MAX_TEXT_CHARS + 10) + "\nSteps: 20, Sampler: Euler, Seed: 1"

    assert infotext_only(text) == {
        "source": "a1111",
        "raw": "x" * MAX_TEXT_CHARS,
        "truncated": True,
    }


@pytest.mark.timeout(10)
@pytest.mark.parametrize("line", [" " * 60_000 + "x", "x" + " " * 60_000 + "x", "ab" * 30_000])
def test_hostile_settings_line_is_read_in_linear_time(line: str) -> None:
    # A1111's own settings pattern takes tens of seconds on each of these.
    assert infotext_only("prompt\n" + line) == {"source": "a1111", "raw": "prompt\n" + line}


# A1111 EXIF UserComment


UNICODE_HEADER = b"UNICODE\0"


@pytest.mark.parametrize("format", ["JPEG", "WEBP"])
@pytest.mark.parametrize(
    "comment",
    [
        UNICODE_HEADER + INFOTEXT.encode("utf-16-be"),
        UNICODE_HEADER + INFOTEXT.encode("utf-16-le"),
        UNICODE_HEADER + INFOTEXT.encode("utf-16"),  # with a byte-order mark
        b"ASCII\0\0\0" + INFOTEXT.encode("ascii"),
        b"\0" * 8 + INFOTEXT.encode("utf-8") + b"\0\0",
        INFOTEXT.encode("utf-8"),  # no charset header at all
        INFOTEXT,  # written as an EXIF ASCII string
    ],
    ids=["utf16-be", "utf16-le", "utf16-bom", "ascii", "undefined", "headerless", "str"],
)
def test_a1111_user_comment_is_parsed(format: str, comment: bytes | str) -> None:
    assert read_generation(with_user_comment(format, comment)) == INFOTEXT_PARSED


def test_user_comment_outside_ascii_is_decoded() -> None:
    text = "雪の中の猫 🐱\nSteps: 20, Sampler: Euler a, Seed: 42"
    image = with_user_comment("JPEG", UNICODE_HEADER + text.encode("utf-16-be"))

    parsed = read_generation(image)

    assert parsed is not None
    assert (parsed["prompt"], parsed["seed"], parsed["raw"]) == ("雪の中の猫 🐱", 42, text)


def test_camera_user_comment_is_no_generation() -> None:
    comment = b"ASCII\0\0\0Holiday in Lisbon, 2019"

    assert read_generation(with_user_comment("JPEG", comment)) is None


@pytest.mark.parametrize("junk", [bytes(range(256)) * 4, b"\xff\xfe\x00\xd8" * 300])
def test_binary_junk_in_user_comment_is_no_generation(junk: bytes) -> None:
    assert read_generation(with_user_comment("WEBP", UNICODE_HEADER + junk)) is None
    assert read_generation(with_user_comment("JPEG", junk)) is None


def test_unreadable_exif_is_no_generation() -> None:
    image = reopen(Image.new("RGB", (8, 8)), "WEBP", exif=b"MM\0*\0\0\0\x08\xff\xff")

    assert image.info["exif"] == b"MM\0*\0\0\0\x08\xff\xff"
    assert read_generation(image) is None


# ComfyUI


def comfyui_png(**chunks: str) -> Image.Image:
    return png_with_text(chunks)


def test_comfyui_graph_is_kept_and_its_settings_extracted() -> None:
    image = comfyui_png(prompt=json.dumps(COMFYUI_PROMPT), workflow=json.dumps(COMFYUI_WORKFLOW))

    assert read_generation(image) == {
        **COMFYUI_FIELDS,
        "raw": {"prompt": COMFYUI_PROMPT, "workflow": COMFYUI_WORKFLOW},
    }


def test_comfyui_advanced_sampler_with_a_computed_prompt() -> None:
    graph: dict[str, Any] = {
        "10": {
            "class_type": "KSamplerAdvanced",
            "inputs": {
                "noise_seed": 2**63 + 5,
                "steps": 30,
                "cfg": 4.5,
                "sampler_name": "dpmpp_2m",
                "scheduler": "karras",
                "positive": ["11", 0],
                "negative": ["12", 0],
            },
        },
        "11": {"class_type": "CLIPTextEncode", "inputs": {"text": ["20", 0]}},
        "12": {"class_type": "CLIPTextEncodeSDXL", "inputs": {"text": "ugly"}},
    }

    assert read_generation(comfyui_png(prompt=json.dumps(graph))) == {
        "source": "comfyui",
        "negativePrompt": "ugly",
        "steps": 30,
        "sampler": "dpmpp_2m",
        "scheduler": "karras",
        "cfgScale": 4.5,
        "seed": 2**63 + 5,
        "seedText": str(2**63 + 5),
        "raw": {"prompt": graph},
    }


def test_comfyui_workflow_alone_is_kept() -> None:
    image = comfyui_png(workflow=json.dumps(COMFYUI_WORKFLOW))

    assert read_generation(image) == {"source": "comfyui", "raw": {"workflow": COMFYUI_WORKFLOW}}


def test_comfyui_invalid_json_is_kept_as_text() -> None:
    image = comfyui_png(prompt='{"3": {"class_type": "KSampler"', workflow="[1, 2,")

    assert read_generation(image) == {
        "source": "comfyui",
        "raw": {"prompt": '{"3": {"class_type": "KSampler"', "workflow": "[1, 2,"},
    }


@pytest.mark.parametrize(
    "text",
    [
        '{"3": {"class_type": "KSampler", "inputs": {"cfg": NaN}}}',
        '{"3": {"class_type": "KSampler", "inputs": {"cfg": 1e999}}}',
        "[" * 100 + "]" * 100,
        "[" * 100_000,
    ],
    ids=["nan", "overflow", "deep", "deeper-than-the-stack"],
)
def test_comfyui_json_that_is_not_strict_or_shallow_is_kept_as_text(text: str) -> None:
    parsed = read_generation(comfyui_png(prompt=text))

    assert parsed == {"source": "comfyui", "raw": {"prompt": text}}
    json.dumps(parsed, allow_nan=False)


def test_comfyui_malformed_graph_yields_only_what_is_well_formed() -> None:
    graph: dict[str, Any] = {
        "1": "not a node",
        "2": {"class_type": "KSampler", "inputs": {"steps": True, "cfg": "7", "seed": 10**30}},
        "3": {"class_type": "KSampler", "inputs": {"steps": 99}},  # only the first sampler counts
        "4": {"class_type": "EmptyLatentImage", "inputs": [512, 512]},
        "5": {"class_type": ["CheckpointLoaderSimple"], "inputs": {"ckpt_name": "x"}},
        "6": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "real.ckpt"}},
    }
    graph["2"]["inputs"] |= {"positive": ["404", 0], "negative": [["6"], 0]}

    assert read_generation(comfyui_png(prompt=json.dumps(graph))) == {
        "source": "comfyui",
        "model": "real.ckpt",
        "raw": {"prompt": graph},
    }


def test_comfyui_oversized_workflow_is_dropped_first() -> None:
    workflow = {**COMFYUI_WORKFLOW, "extra": {"note": "n" * MAX_RAW_JSON_CHARS}}
    image = comfyui_png(prompt=json.dumps(COMFYUI_PROMPT), workflow=json.dumps(workflow))

    assert read_generation(image) == {
        **COMFYUI_FIELDS,
        "raw": {"prompt": COMFYUI_PROMPT},
        "truncated": True,
    }


def test_comfyui_oversized_prompt_is_dropped_but_its_settings_kept() -> None:
    prompt = {**COMFYUI_PROMPT, "99": {"class_type": "Note", "inputs": {"text": "n" * 300_000}}}
    image = comfyui_png(prompt=json.dumps(prompt), workflow=json.dumps(COMFYUI_WORKFLOW))

    assert read_generation(image) == {**COMFYUI_FIELDS, "raw": {}, "truncated": True}


def test_a1111_chunk_wins_over_comfyui_chunks() -> None:
    image = png_with_text({"parameters": INFOTEXT, "prompt": json.dumps(COMFYUI_PROMPT)})

    assert read_generation(image) == INFOTEXT_PARSED


# NovelAI


def test_novelai_image() -> None:
    settings = {
        "prompt": "1girl, snow",
        "steps": 28,
        "height": 1216,
        "width": 832,
        "scale": 5,
        "seed": 3108291410,
        "seedText": str(3108291410),
        "sampler": "k_euler_ancestral",
        "noise_schedule": "karras",
        "uc": "lowres, bad anatomy",
        "signed_hash": "abc==",
    }
    image = png_with_text(
        {
            "Title": "NovelAI generated image",
            "Description": "1girl, snow",
            "Software": "NovelAI",
            "Source": "NovelAI Diffusion V4 4F49EC75",
            "Comment": json.dumps(settings),
        }
    )

    assert read_generation(image) == {
        "source": "novelai",
        "prompt": "1girl, snow",
        "negativePrompt": "lowres, bad anatomy",
        "steps": 28,
        "sampler": "k_euler_ancestral",
        "scheduler": "karras",
        "cfgScale": 5.0,
        "seed": 3108291410,
        "seedText": str(3108291410),
        "width": 832,
        "height": 1216,
        "model": "NovelAI Diffusion V4 4F49EC75",
        "raw": {"Description": "1girl, snow", "Comment": settings},
    }


def test_comment_chunks_from_other_software_are_no_generation() -> None:
    image = png_with_text({"Comment": '{"steps": 20}', "Description": "my photo"})

    assert read_generation(image) is None


# Nothing to read


@pytest.mark.parametrize("format", ["PNG", "JPEG", "WEBP"])
def test_image_without_metadata_is_no_generation(format: str) -> None:
    assert read_generation(reopen(Image.new("RGB", (8, 8)), format)) is None


def test_reading_leaves_the_pixels_undecoded() -> None:
    # The pixels of this PNG are cut short: decoding them would fail, reading metadata must not.
    buffer = io.BytesIO()
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "someone")  # every reader is tried, and none finds anything
    Image.new("RGB", (64, 64)).save(buffer, "PNG", pnginfo=info)
    image = Image.open(io.BytesIO(buffer.getvalue()[:-20]))

    assert read_generation(image) is None
    with pytest.raises(OSError, match="truncated"):
        image.load()


@settings(max_examples=200, deadline=None)
@given(
    chunks=st.dictionaries(
        st.sampled_from(["parameters", "prompt", "workflow", "Software", "Comment"]),
        st.one_of(st.text(), st.binary(), st.just("NovelAI"), st.just('{"3": [')),
    ),
    exif=st.one_of(st.none(), st.binary()),
)
def test_any_metadata_reads_as_strict_json_or_none(
    chunks: dict[str, str | bytes], exif: bytes | None
) -> None:
    image = Image.new("RGB", (1, 1))
    image.info.update(chunks)
    if exif is not None:
        image.info["exif"] = b"Exif\0\0MM\0*\0\0\0\x08" + exif

    parsed = read_generation(image)

    assert parsed is None or parsed["source"] in ("a1111", "comfyui", "novelai")
    json.dumps(parsed, allow_nan=False)


def test_a_seed_past_2_53_is_also_given_as_exact_text() -> None:
    """JavaScript reads JSON numbers as doubles; the text keeps every digit."""
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "cat\nSteps: 20, Seed: 18446744073709551615, Size: 64x64")
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, "PNG", pnginfo=info)
    found = read_generation(Image.open(io.BytesIO(buffer.getvalue())))
    assert found is not None
    assert found["seed"] == 2**64 - 1 and found["seedText"] == "18446744073709551615"
