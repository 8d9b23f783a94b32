"""The generation parameters that Stable Diffusion tools embed in the images they save.

Sample images come straight from AUTOMATIC1111 (and its forks Forge and SD.Next), ComfyUI or
NovelAI, carrying the prompt, seed and settings that made them. The image pipeline re-encodes
every sample to WebP and drops all metadata, so `read_generation` reads those parameters first;
the gallery keeps them as `SampleImage.generation`.

Every image here is untrusted. A reader that does not understand what it finds returns None,
or keeps the text as it found it, and never raises: an odd sample must not block an import.
The result is strict JSON (no NaN or Infinity, whose `json.dumps` spelling SQLite's
`json_valid` and JSON clients both refuse) and bounded in size (see the caps below).

Only `image.info` is read, never `image.text` or `image.getexif()`: both of those can decode the
whole picture first, and the pipeline should decide when pixels are decoded, not this module.
The tools write their chunks before the pixel data, where `Image.open` has already found them.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from PIL import ExifTags, Image

from domain import strict_json
from domain.records import JsonObject

_Info = Mapping[str | tuple[int, int], Any]

MAX_TEXT_CHARS = 64 * 1024
"""The most A1111 infotext kept, and the longest prompt kept from any tool.

Real infotext runs to a few thousand characters, so only a hostile or foreign payload reaches
this. Each gallery row holds its image's parameters, and a gallery page loads many rows: one
image must not make its row balloon."""

MAX_RAW_JSON_CHARS = 256 * 1024
"""The most serialized JSON kept in `raw` for a ComfyUI or NovelAI image.

The ComfyUI editor graph (`workflow`) holds node positions, colors and notes and can run to
megabytes; it goes first when the whole exceeds this, then the executed graph (`prompt`).
The fields already extracted from the graph are kept either way."""

_MAX_JSON_CHARS = 4 * MAX_RAW_JSON_CHARS
"""Longer JSON chunks are not parsed at all: they could never be kept, and parsing costs."""

_MAX_JSON_DEPTH = 64
"""Graphs nest a handful of levels. A deeper document is kept as text, because parsing and
re-serializing it recurses once per level and could exhaust the stack of a later caller."""

_MAX_COMMENT_BYTES = 4 * MAX_TEXT_CHARS
"""Enough bytes of an EXIF UserComment for `MAX_TEXT_CHARS` characters in any encoding."""


def read_generation(image: Image.Image) -> JsonObject | None:
    """The generation parameters embedded in a just-opened image, or None when it has none.

    The result always has `source` ("a1111", "comfyui" or "novelai") and `raw`, what the tool
    wrote: the infotext string for A1111; for the others, an object of the tool's chunks by
    name, each parsed when it is JSON.
    When the tool's data could be read, it also has the settings under shared camelCase names:
    `prompt`, `negativePrompt`, `steps`, `sampler`, `scheduler`, `cfgScale`, `seed`, `width`,
    `height`, `model` and, for A1111, `modelHash` and `params` (every setting, as text).
    `truncated` is true when the stored data is incomplete because it exceeded a cap.
    `seedText` repeats `seed` as a string: seeds run to 2^64, and JavaScript clients read
    JSON numbers as doubles, exact only up to 2^53.

    A1111 text chunks are tried first: ComfyUI nodes that also write one do so on purpose,
    and it is the format other tools (and users) already read."""
    for reader in (_from_a1111_text, _from_comfyui, _from_novelai, _from_exif_user_comment):
        found = reader(image.info)
        if found is not None:
            if isinstance(found.get("seed"), int):
                found["seedText"] = str(found["seed"])
            return found
    return None


# AUTOMATIC1111, Forge, SD.Next

# A1111's own pattern, with two changes that keep it linear on hostile lines: no leading `\s*`
# and keys of at most 64 characters. (The original takes tens of seconds on 64 KiB of letters.)
_SETTING = re.compile(r'(\w[\w \-/]{1,63}):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')
_INT = re.compile(r"-?[0-9]{1,20}")
_DECIMAL = re.compile(r"-?[0-9]{1,10}(?:\.[0-9]{1,10})?")
_SIZE = re.compile(r"([0-9]{1,6})x([0-9]{1,6})")
_NEGATIVE_PROMPT = "Negative prompt:"


def _from_a1111_text(info: _Info) -> JsonObject | None:
    """A1111 writes its infotext to a PNG text chunk named `parameters`.

    The chunk's name says what it holds, so text without a settings line is still kept."""
    text = _text_value(info.get("parameters"))
    return None if text is None else _parse_infotext(text, keep_bare_text=True)


def _from_exif_user_comment(info: _Info) -> JsonObject | None:
    """JPEG and WebP have no text chunks, so A1111 writes its infotext to EXIF UserComment.

    Cameras and photo editors write comments there too, so only text that ends in a
    settings line is taken as generation parameters."""
    comment = _user_comment(info.get("exif"))
    return None if comment is None else _parse_infotext(comment, keep_bare_text=False)


def _parse_infotext(text: str, *, keep_bare_text: bool) -> JsonObject | None:
    """Parse A1111 infotext: prompt lines, an optional `Negative prompt:` section, then one
    line of `key: value` settings.

    Text without that settings line is not infotext; with `keep_bare_text` it is returned as
    `raw` alone, the prompt left unguessed, so clients still see what the image carried."""
    text = text.strip().strip("\0")
    if not text:
        return None
    kept = text[:MAX_TEXT_CHARS]
    *lines, last_line = kept.split("\n")
    params = _settings(last_line)
    if params is None and not keep_bare_text:
        return None
    result: JsonObject = {"source": "a1111"}
    if params is not None:
        result |= _prompts(lines) | _a1111_fields(params) | {"params": params}
    result["raw"] = kept
    if len(kept) < len(text):
        result["truncated"] = True
    return result


def _settings(line: str) -> dict[str, str] | None:
    """The `key: value` pairs of a settings line, or None when the line is not one.

    Like A1111, a line needs three pairs to count; a prompt line with a colon or two stays
    a prompt line. Values that hold commas are written as JSON strings."""
    pairs = _SETTING.findall(line)
    if len(pairs) < 3:
        return None
    return {key.strip(): _unquote(value) for key, value in pairs}


def _unquote(value: str) -> str:
    """The text of a quoted value; as A1111 does, a quoted value that is not valid JSON stays
    as written."""
    if len(value) < 2 or not (value.startswith('"') and value.endswith('"')):
        return value.strip()
    try:
        unquoted = json.loads(value)
    except ValueError:
        return value
    return unquoted if isinstance(unquoted, str) else value


def _prompts(lines: list[str]) -> JsonObject:
    """Lines before `Negative prompt:` are the prompt; that line's rest and the lines after it
    are the negative prompt, absent when the marker is."""
    prompt: list[str] = []
    negative: list[str] | None = None
    for line in (line.strip() for line in lines):
        if negative is not None:
            negative.append(line)
        elif line.startswith(_NEGATIVE_PROMPT):
            negative = [line.removeprefix(_NEGATIVE_PROMPT).strip()]
        else:
            prompt.append(line)
    fields: JsonObject = {"prompt": "\n".join(prompt)}
    if negative is not None:
        fields["negativePrompt"] = "\n".join(negative)
    return fields


def _a1111_fields(params: dict[str, str]) -> JsonObject:
    """The settings every tool shares, typed; a value that does not parse stays in `params`."""
    width, height = _parse_size(params.get("Size"))
    return _present(
        {
            "steps": _parse_int(params.get("Steps")),
            "sampler": params.get("Sampler") or None,
            "scheduler": params.get("Schedule type") or None,
            "cfgScale": _parse_decimal(params.get("CFG scale")),
            "seed": _parse_int(params.get("Seed")),
            "width": width,
            "height": height,
            "model": params.get("Model") or None,
            "modelHash": params.get("Model hash") or None,
        }
    )


def _parse_int(text: str | None) -> int | None:
    """Plain decimal digits only: `int()` would also take `1_000`, spaces and other scripts."""
    return int(text) if text is not None and _INT.fullmatch(text) else None


def _parse_decimal(text: str | None) -> float | None:
    """A plain decimal; `float()` would also take `nan` and `inf`, which JSON cannot hold."""
    return float(text) if text is not None and _DECIMAL.fullmatch(text) else None


def _parse_size(text: str | None) -> tuple[int | None, int | None]:
    """`Size: 512x768` is width by height."""
    match = _SIZE.fullmatch(text) if text is not None else None
    return (int(match[1]), int(match[2])) if match else (None, None)


# EXIF UserComment

_UNICODE = b"UNICODE\0"
_PLAIN_HEADERS = (b"ASCII\0\0\0", b"\0" * 8)


def _user_comment(exif: object) -> str | None:
    """The UserComment of raw EXIF bytes, as text; None when there is none or it is unreadable.

    A fresh `Image.Exif` reads the bytes, so the image's own EXIF cache is left untouched."""
    if not isinstance(exif, bytes):
        return None
    reader = Image.Exif()
    try:
        reader.load(exif)
        value = reader.get_ifd(ExifTags.IFD.Exif).get(ExifTags.Base.UserComment)
    except Exception:  # Pillow's EXIF reader fails on bad data with many types, even Exception
        return None
    if isinstance(value, bytes):
        return _decode_user_comment(value)
    return value if isinstance(value, str) else None


def _decode_user_comment(data: bytes) -> str:
    """UserComment starts with an 8-byte charset header; some writers leave it out."""
    header, body = data[:8], data[8 : 8 + _MAX_COMMENT_BYTES]
    if header == _UNICODE:
        text = _decode_utf16(body)
    elif header in _PLAIN_HEADERS:
        text = body.decode("utf-8", "replace")
    else:
        text = data[:_MAX_COMMENT_BYTES].decode("utf-8", "replace")
    return text.rstrip("\0")


def _decode_utf16(body: bytes) -> str:
    """EXIF does not say which byte order UNICODE uses. A byte-order mark settles it;
    otherwise the zero bytes do: text that is mostly ASCII has a zero high byte in every
    unit, first in big-endian and second in little-endian. A1111 writes big-endian (through
    piexif), so a tie goes that way."""
    if body[:2] in (codecs.BOM_UTF16_BE, codecs.BOM_UTF16_LE):
        return body.decode("utf-16", "replace")
    little_endian = body[1::2].count(0) > body[0::2].count(0)
    return body.decode("utf-16-le" if little_endian else "utf-16-be", "replace")


# ComfyUI


def _from_comfyui(info: _Info) -> JsonObject | None:
    """ComfyUI saves two JSON chunks: `prompt`, the graph it executed (API format, which the
    settings come from), and `workflow`, the editor's graph. Both are kept in `raw`, parsed
    when they are JSON and as text otherwise."""
    chunks = _chunks(info, ("prompt", "workflow"))
    if not chunks:
        return None
    raw = {key: _parse_json(text) for key, text in chunks.items()}
    graph = raw.get("prompt")
    fields = _comfyui_fields(graph) if isinstance(graph, dict) else {}
    return {"source": "comfyui", **fields, **_capped_raw(raw, drop_first=("workflow", "prompt"))}


def _comfyui_fields(graph: dict[str, Any]) -> JsonObject:
    """The settings of the first sampler in the graph, the prompts it is wired to, the
    checkpoint and the latent size. Anything missing or malformed is left out."""
    sampler = _first_inputs(graph, lambda class_type: "KSampler" in class_type)
    checkpoint = _first_inputs(graph, lambda class_type: class_type == "CheckpointLoaderSimple")
    latent = _first_inputs(graph, lambda class_type: class_type == "EmptyLatentImage")
    return _present(
        {
            "prompt": _linked_text(graph, sampler.get("positive")),
            "negativePrompt": _linked_text(graph, sampler.get("negative")),
            "steps": _as_int(sampler.get("steps")),
            "sampler": _as_text(sampler.get("sampler_name")),
            "scheduler": _as_text(sampler.get("scheduler")),
            "cfgScale": _as_float(sampler.get("cfg")),
            "seed": _as_int(sampler.get("seed", sampler.get("noise_seed"))),
            "model": _as_text(checkpoint.get("ckpt_name")),
            "width": _as_int(latent.get("width")),
            "height": _as_int(latent.get("height")),
        }
    )


def _first_inputs(graph: dict[str, Any], matches: Callable[[str], bool]) -> dict[str, Any]:
    """The inputs of the first node whose `class_type` matches; empty when none does."""
    for node in graph.values():
        if matches(_class_type(node)):
            return _inputs(node)
    return {}


def _linked_text(graph: dict[str, Any], link: object) -> str | None:
    """The text of the `CLIPTextEncode` node an input is linked to. A link is
    `[node_id, output_index]`; text that is itself a link (computed elsewhere) is skipped."""
    if not (isinstance(link, list) and len(link) == 2 and isinstance(link[0], str | int)):
        return None
    node = graph.get(str(link[0]))
    if not _class_type(node).startswith("CLIPTextEncode"):
        return None
    return _as_text(_inputs(node).get("text"))


def _class_type(node: object) -> str:
    class_type = node.get("class_type") if isinstance(node, dict) else None
    return class_type if isinstance(class_type, str) else ""


def _inputs(node: object) -> dict[str, Any]:
    inputs = node.get("inputs") if isinstance(node, dict) else None
    return inputs if isinstance(inputs, dict) else {}


# NovelAI


def _from_novelai(info: _Info) -> JsonObject | None:
    """NovelAI marks its images `Software: NovelAI`, with the prompt in `Description`, the
    model in `Source` and the settings as a JSON object in `Comment`. The mark is required:
    other software writes `Comment` and `Description` chunks of its own."""
    if _text_value(info.get("Software")) != "NovelAI":
        return None
    raw: dict[str, Any] = _chunks(info, ("Description", "Comment"))
    if "Comment" in raw:
        raw["Comment"] = _parse_json(raw["Comment"])
    settings = raw.get("Comment")
    if not isinstance(settings, dict):
        settings = {}
    fields = _present(
        {
            "prompt": _as_text(raw.get("Description")) or _as_text(settings.get("prompt")),
            "negativePrompt": _as_text(settings.get("uc")),
            "steps": _as_int(settings.get("steps")),
            "sampler": _as_text(settings.get("sampler")),
            "scheduler": _as_text(settings.get("noise_schedule")),
            "cfgScale": _as_float(settings.get("scale")),
            "seed": _as_int(settings.get("seed")),
            "width": _as_int(settings.get("width")),
            "height": _as_int(settings.get("height")),
            "model": _as_text(_text_value(info.get("Source"))),
        }
    )
    return {
        "source": "novelai",
        **fields,
        **_capped_raw(raw, drop_first=("Comment", "Description")),
    }


# Shared


def _text_value(value: object) -> str | None:
    """A metadata value as plain text (PNG chunks arrive as `str` subclasses, some formats
    give bytes); None when it is blank or not text at all."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str) or not value.strip():
        return None
    return str(value)


def _chunks(info: _Info, keys: tuple[str, ...]) -> dict[str, str]:
    """The text chunks among `keys` that the image has, by name."""
    found = {key: _text_value(info.get(key)) for key in keys}
    return {key: text for key, text in found.items() if text is not None}


def _parse_json(text: str) -> Any:
    """The JSON value of a chunk, or the text itself when it is not strict, reasonably small
    and shallow JSON (NaN, Infinity and out-of-range numbers are refused, as JSON does)."""
    if len(text) > _MAX_JSON_CHARS:
        return text
    try:
        value = strict_json.loads(text)
    except ValueError:
        return text
    return text if strict_json.nests_deeper_than(value, _MAX_JSON_DEPTH) else value


def _capped_raw(raw: dict[str, Any], *, drop_first: tuple[str, ...]) -> JsonObject:
    """`raw` (with `truncated` when something was dropped), dropping entries in the given
    order while it serializes to more than `MAX_RAW_JSON_CHARS`."""
    kept = dict(raw)
    for key in drop_first:
        if len(json.dumps(kept)) <= MAX_RAW_JSON_CHARS:
            break
        kept.pop(key, None)
    return {"raw": kept, "truncated": True} if len(kept) < len(raw) else {"raw": kept}


_INT_LIMIT = 10**20


def _as_int(value: object) -> int | None:
    """A JSON integer of at most 20 digits, as seeds (64-bit in ComfyUI) are. JSON allows
    thousands of digits, and `bool` is an `int` in Python but not in JSON."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < _INT_LIMIT:
        return value
    return None


def _as_float(value: object) -> float | None:
    """A JSON number as a float. Parsed JSON holds no NaN or infinities, and an integer
    past `_INT_LIMIT` is refused before `float()` could overflow on it."""
    if isinstance(value, float):
        return value
    integer = _as_int(value)
    return None if integer is None else float(integer)


def _as_text(value: object) -> str | None:
    """A non-empty string of at most `MAX_TEXT_CHARS`: a longer one is not a real prompt."""
    if isinstance(value, str) and value and len(value) <= MAX_TEXT_CHARS:
        return value
    return None


def _present(fields: JsonObject) -> JsonObject:
    """The fields that were found: a missing setting is absent rather than null."""
    return {key: value for key, value in fields.items() if value is not None}
