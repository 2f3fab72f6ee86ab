"""EXIF and XMP: read from the content photo, carried to its result (docs/photographers.md).

What the result's EXIF keeps: the descriptive tags of IFD0 (camera make and model, date, artist,
copyright, description, resolution, rating, Windows' XP tags) and the whole Exif sub-IFD (exposure,
lens, dates, ...), less the maker notes (camera-private blocks whose inner offsets break when they
move) and the interoperability pointer; GPS only when asked.  What changes: Orientation is 1 (the
pixels are upright), Software names dpst and its version, the pixel dimensions are the result's, and
ColorSpace says sRGB when the result is written in sRGB.  Dropped: the thumbnail (it would show the
photo before the look), the structure tags of a TIFF source (dpst writes its own).  XMP is kept as
text, with the same changes made to its ``tiff:``/``exif:`` fields (and its ``exif:GPS*`` fields
removed unless GPS is kept).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

from PIL import Image

from ..errors import first_line

ORIENTATION, SOFTWARE, EXIF_IFD, GPS_IFD = 0x0112, 0x0131, 0x8769, 0x8825
COLOR_SPACE, PIXEL_X, PIXEL_Y, MAKER_NOTE, INTEROP_IFD = 0xA001, 0xA002, 0xA003, 0x927C, 0xA005
# IFD0 tags that describe the photo (the rest of a TIFF's IFD0 is its structure: dpst writes its own)
DESCRIPTIVE = frozenset(
    {
        0x010E, 0x010F, 0x0110, ORIENTATION, 0x011A, 0x011B, 0x0128, SOFTWARE, 0x0132, 0x013B,
        0x013C, 0x4746, 0x4749, 0x8298, EXIF_IFD, GPS_IFD, 0x9C9B, 0x9C9C, 0x9C9D, 0x9C9E, 0x9C9F,
    }
)  # fmt: skip


@dataclass(frozen=True)
class Metadata:
    """A photo's EXIF (the TIFF-structured block, without JPEG's ``Exif\\0\\0`` prefix) and XMP (the
    packet's bytes); None where it has none."""

    exif: bytes | None = None
    xmp: bytes | None = None


def read_metadata(im: Image.Image) -> Metadata:
    """The EXIF and XMP of an opened image (JPEG, PNG, TIFF, WebP, HEIC, AVIF: as Pillow and
    pillow-heif expose them).  An EXIF block Pillow cannot parse is left out."""
    exif = None
    try:
        parsed = im.getexif()
        if len(parsed) or parsed.get_ifd(EXIF_IFD):
            exif = parsed.tobytes()[6:]
    except Exception:  # broken EXIF is common, and never worth refusing a photo for
        exif = None
    xmp = im.info.get("xmp") or im.info.get("XML:com.adobe.xmp")
    if xmp is None and hasattr(im, "tag_v2"):
        xmp = im.tag_v2.get(700)  # TIFF
    if isinstance(xmp, str):
        xmp = xmp.encode("utf-8")
    return Metadata(exif or None, bytes(xmp) if xmp else None)


def software() -> str:
    """What the results' Software tag says: ``dpst <version>``."""
    try:
        return f"dpst {version('dpst')}"
    except PackageNotFoundError:
        return "dpst"


def for_result(meta: Metadata, size: tuple[int, int], keep_gps: bool, srgb: bool) -> Metadata:
    """The metadata of a result of ``size`` (width, height) made from a photo with ``meta``: see the
    module's docstring.  ``srgb``: the result is written in sRGB (EXIF ColorSpace 1)."""
    return Metadata(
        _exif_for_result(meta.exif, size, keep_gps, srgb), _xmp_for_result(meta.xmp, size, keep_gps)
    )


def exif_ifd0(exif: bytes | None) -> Image.Exif:
    """A parsed EXIF block (empty for None), its sub-IFDs loaded, for a writer to add its tags to."""
    parsed = Image.Exif()
    if exif:
        parsed.load(b"Exif\x00\x00" + exif)
        for ifd in (EXIF_IFD, GPS_IFD):
            if ifd in parsed:
                parsed[ifd] = dict(parsed.get_ifd(ifd))
    return parsed


def _exif_for_result(exif: bytes | None, size: tuple[int, int], keep_gps: bool, srgb: bool) -> bytes:
    try:
        src = exif_ifd0(exif)
    except Exception as exc:
        raise ValueError(f"cannot carry the photo's EXIF ({first_line(exc)}); use --strip-metadata") from None
    out = Image.Exif()
    out.endian = src.endian or "<"  # the source's byte order where it has one
    for tag, value in src.items():
        if tag in DESCRIPTIVE and not (tag == GPS_IFD and not keep_gps):
            out[tag] = value
    out[ORIENTATION] = 1
    out[SOFTWARE] = software()
    sub = {k: v for k, v in dict(out.get(EXIF_IFD) or {}).items() if k not in (MAKER_NOTE, INTEROP_IFD)}
    sub[PIXEL_X], sub[PIXEL_Y] = size
    if srgb:
        sub[COLOR_SPACE] = 1
    out[EXIF_IFD] = sub
    return out.tobytes()[6:]


def _xmp_for_result(xmp: bytes | None, size: tuple[int, int], keep_gps: bool) -> bytes | None:
    if not xmp:
        return None
    text = xmp.decode("utf-8", errors="replace")
    if not keep_gps:
        text = re.sub(r'\s+exif:GPS\w+\s*=\s*"[^"]*"', "", text)
        text = re.sub(r"\s*<exif:(GPS\w+)\b[^>]*?(/>|>.*?</exif:\1>)", "", text, flags=re.S)
    fields = {"tiff:Orientation": 1, "tiff:ImageWidth": size[0], "tiff:ImageLength": size[1]}
    fields |= {"exif:PixelXDimension": size[0], "exif:PixelYDimension": size[1]}
    for name, value in fields.items():
        text = re.sub(rf'({name}\s*=\s*")[^"]*(")', rf"\g<1>{value}\g<2>", text)
        text = re.sub(rf"(<{name}>)[^<]*(</{name}>)", rf"\g<1>{value}\g<2>", text)
    return text.encode("utf-8")
