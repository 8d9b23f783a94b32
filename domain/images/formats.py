"""Telling raster image formats apart by their first bytes, never by a file's name."""

from __future__ import annotations

# (magic bytes at offset 0, media type); WebP is RIFF with "WEBP" at offset 8.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
)
SNIFF_BYTES = 16


def raster_media_type(head: bytes) -> str | None:
    """The media type of a raster image starting with `head`, or None for anything else
    (SVG, HTML, text: formats a browser could run script in)."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    for magic, media_type in _SIGNATURES:
        if head.startswith(magic):
            return media_type
    return None
