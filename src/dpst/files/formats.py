"""Formats and bit depths beyond what Pillow reads and writes: 16-bit colour PNG and TIFF (Pillow reads
them as 8-bit), HEIC/HEIF (pillow-heif), camera raw files (rawpy, i.e. LibRaw); and the two writers
dpst owns, PNG and TIFF at 8 or 16 bits with an ICC profile, EXIF and XMP.

Decoders and encoders only: no policy (that is :mod:`dpst.io`'s), no file writing (bytes out).
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import MissingExtra, first_line
from .metadata import exif_ifd0

# Raw files LibRaw develops, by suffix (a DNG is also a TIFF: without this Pillow would read its preview).
RAW_SUFFIXES = frozenset(
    ".dng .cr2 .cr3 .crw .nef .nrw .arw .srf .sr2 .raf .orf .rw2 .rwl .pef .srw .x3f .3fr .fff .iiq "
    ".erf .kdc .dcr .mrw .mos .raw".split()
)
HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"})
AVIF_BRANDS = frozenset({b"avif", b"avis"})
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def need(module: str, what: str):
    """Import ``module`` of the ``dpst[photo]`` extra; MissingExtra naming ``what`` needs it."""
    try:
        return __import__(module)
    except ImportError:
        raise MissingExtra("photo", what) from None


def container(head: bytes) -> str:
    """``"HEIF"``, ``"AVIF"`` or ``""``, from the first 12 bytes of a file (an ISO-BMFF ``ftyp``
    box's brand)."""
    if head[4:8] != b"ftyp":
        return ""
    brand = head[8:12]
    return "HEIF" if brand in HEIF_BRANDS else "AVIF" if brand in AVIF_BRANDS else ""


def open_heif(name: str = "") -> None:
    """Let Pillow open and write HEIC/HEIF (pillow-heif's plugin, registered once); MissingExtra naming
    the file ``name`` without pillow-heif."""
    pillow_heif = need("pillow_heif", f"{name}: reading HEIC/HEIF photos" if name else "HEIC/HEIF")
    if "HEIF" not in Image.OPEN:
        pillow_heif.register_heif_opener()


def wide_png(head: bytes) -> bool:
    """A 16-bit colour PNG (RGB, RGBA or grey with alpha), from its first 26 bytes: the PNGs Pillow
    reads at 8 bits.  (16-bit grey it reads in full.)"""
    return head[:8] == PNG_SIGNATURE and head[24] == 16 and head[25] in (2, 4, 6)


def wide_tiff(im: Image.Image) -> bool:
    """An RGB TIFF with more than 8 bits a sample (16-bit, 32-bit, float): Pillow reads it at 8 bits."""
    tags = getattr(im, "tag_v2", {})
    bits = tags.get(258) or (8,)
    bits = bits if isinstance(bits, tuple) else (bits,)
    return im.format == "TIFF" and tags.get(262) == 2 and max(bits) > 8


def decode_wide(path: Path, kind: str) -> np.ndarray:
    """The pixels of a 16-bit colour PNG (``kind`` "PNG") or a wide RGB TIFF ("TIFF") as float32
    (H, W, C) in [0, 1], C = 2, 3 or 4 (alpha last), at full precision (imagecodecs, tifffile)."""
    if kind == "PNG":
        codecs = need("imagecodecs", "reading all 16 bits of a 16-bit PNG")
        a = codecs.png_decode(path.read_bytes())
    else:
        tifffile = need("tifffile", "reading all the bits of a 16-bit TIFF")
        with tifffile.TiffFile(path) as tif:
            page = tif.pages[0]
            a = page.asarray()
            if page.axes.startswith("S"):  # planar: one plane a sample
                a = np.moveaxis(a, 0, -1)
    a = a.reshape(*a.shape[:2], -1)
    if a.dtype.kind == "f":
        return np.clip(np.nan_to_num(a.astype(np.float32)), 0.0, 1.0)
    return (a / float(np.iinfo(a.dtype).max)).astype(np.float32)


def develop_raw(path: Path, name: str, max_pixels: int | None) -> np.ndarray:
    """A camera raw file developed by LibRaw (rawpy): demosaicked, with the camera's white balance, into
    linear sRGB at 16 bits, then given sRGB's tone curve in float.  Returns float32 (H, W, 3) in [0, 1],
    upright (LibRaw applies the camera's orientation).  ValueError for a file LibRaw does not know or
    cannot decode; MissingExtra without rawpy."""
    rawpy = need("rawpy", f"{name}: reading camera raw files")
    try:
        with rawpy.imread(str(path)) as raw:
            h, w = raw.sizes.height, raw.sizes.width
            if max_pixels and h * w > max_pixels:
                raise ValueError(f"{name}: image too large (over {max_pixels} pixels)")
            linear = raw.postprocess(
                use_camera_wb=True, output_bps=16, gamma=(1, 1), output_color=rawpy.ColorSpace.sRGB
            )
    except rawpy.LibRawFileUnsupportedError:
        raise ValueError(
            f"{name}: not a raw file LibRaw {rawpy.libraw_version} knows "
            "(a camera it does not support, or not a raw file)"
        ) from None
    except (rawpy.LibRawError, OSError) as exc:
        raise ValueError(f"{name}: cannot develop the raw file ({_libraw_words(exc)})") from None
    return srgb_encode(linear.astype(np.float32) / 65535.0)


def _libraw_words(exc: BaseException) -> str:
    text = first_line(exc)
    return text[2:-1] if text.startswith(("b'", 'b"')) else text


def srgb_encode(linear: np.ndarray) -> np.ndarray:
    """sRGB's tone curve (IEC 61966-2-1) on linear values in [0, 1]."""
    x = np.clip(linear, 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055).astype(np.float32)


def orient(a: np.ndarray, orientation: int) -> np.ndarray:
    """An (H, W, ...) array turned upright by its EXIF ``orientation`` (1-8), as
    ``PIL.ImageOps.exif_transpose`` turns an image."""
    turns = {
        2: lambda x: x[:, ::-1],
        3: lambda x: x[::-1, ::-1],
        4: lambda x: x[::-1],
        5: lambda x: np.swapaxes(x, 0, 1),
        6: lambda x: np.rot90(x, -1),
        7: lambda x: np.swapaxes(x, 0, 1)[::-1, ::-1],
        8: lambda x: np.rot90(x, 1),
    }
    return np.ascontiguousarray(turns[orientation](a)) if orientation in turns else a


# --- writers ------------------------------------------------------------------------------------------


def encode_png(a: np.ndarray, icc: bytes | None, exif: bytes | None, xmp: bytes | None) -> bytes:
    """A PNG of uint8 or uint16 (H, W, 3) pixels, with the profile (iCCP), EXIF (eXIf) and XMP (iTXt
    ``XML:com.adobe.xmp``) given.  Every row is filtered "Up" (vectorised; smooth photos compress well)."""
    h, w, c = a.shape
    depth = 16 if a.dtype == np.uint16 else 8
    rows = np.ascontiguousarray(a.astype(">u2") if depth == 16 else a).view(np.uint8).reshape(h, -1)
    up = np.diff(rows, axis=0, prepend=np.zeros((1, rows.shape[1]), np.uint8))  # wraps mod 256
    data = np.concatenate([np.full((h, 1), 2, np.uint8), up], axis=1).tobytes()
    chunks = [(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, {1: 0, 3: 2}[c], 0, 0, 0))]
    if icc:
        chunks.append((b"iCCP", b"ICC profile\x00\x00" + zlib.compress(icc)))
    if exif:
        chunks.append((b"eXIf", exif))
    if xmp:
        chunks.append((b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + xmp))
    packed = zlib.compress(data, 6)
    step = 1 << 30
    chunks += [(b"IDAT", packed[i : i + step]) for i in range(0, len(packed), step)]
    chunks.append((b"IEND", b""))
    body = (struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d)) for t, d in chunks)
    return PNG_SIGNATURE + b"".join(body)


STRIP_BYTES = 1 << 20  # about 1 MiB of pixels a TIFF strip


def encode_tiff(a: np.ndarray, icc: bytes | None, exif: bytes | None, xmp: bytes | None) -> bytes:
    """A baseline TIFF of uint8 or uint16 (H, W, 3) pixels, Deflate-compressed in strips, with the profile
    (tag 34675), XMP (700) and EXIF (its IFD0 tags, Exif and GPS sub-IFDs) given.

    The directory is Pillow's EXIF writer's (the EXIF block is itself a TIFF), with the image's own
    tags added; the strips follow it."""
    h, w, c = a.shape
    depth = 16 if a.dtype == np.uint16 else 8
    ifd = exif_ifd0(exif)
    ifd.endian = ifd.endian or "<"
    rows = max(1, STRIP_BYTES // (w * c * depth // 8))
    ifd.update(
        {256: w, 257: h, 258: (depth,) * c, 259: 8, 262: 2 if c == 3 else 1, 277: c, 278: rows, 284: 1}
    )
    if icc:
        ifd[34675] = icc
    if xmp:
        ifd[700] = xmp
    samples = a.astype(("<" if ifd.endian == "<" else ">") + ("u2" if depth == 16 else "u1"))
    strips = [zlib.compress(samples[y : y + rows].tobytes(), 6) for y in range(0, h, rows)]
    ends = np.cumsum([0] + [len(s) for s in strips])
    ifd[279] = tuple(len(s) for s in strips)
    ifd[273] = tuple(int(v) for v in ends[:-1])
    head = ifd.tobytes()[6:]
    # Pillow's writer moves the strip offsets past its directory itself (it writes TIFFs with it);
    # should a version not, move them here.  Either way check where the first strip lands.
    first = _first_strip(head)
    if first != len(head):
        ifd[273] = tuple(int(v) + len(head) - first for v in ends[:-1])
        head = ifd.tobytes()[6:]
        if _first_strip(head) != len(head):
            raise RuntimeError("cannot place the TIFF's strips with this version of Pillow")
    return head + b"".join(strips)


def _first_strip(head: bytes) -> int:
    back = Image.Exif()
    back.load(head)
    offsets = back[273]
    return offsets[0] if isinstance(offsets, tuple) else offsets
