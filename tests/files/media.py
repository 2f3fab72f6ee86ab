"""Photographers' files made by the tests themselves: ICC profiles built from their published primaries,
16-bit photos in them, JPEGs with EXIF and XMP, and a minimal DNG.  Nothing is downloaded or copied.

- Adobe RGB (1998): primaries, D65 white and gamma 563/256 from Adobe's specification of the space;
- Display P3: the DCI-P3 primaries with D65 white and sRGB's tone curve (Apple's definition);
- sRGB: LittleCMS's built-in profile (Pillow's ``ImageCms.createProfile("sRGB")``).

Profiles are written by LittleCMS through imagecodecs (the ``dpst[photo]`` extra): tests that need them
skip without it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms
from PIL.TiffImagePlugin import IFDRational

from dpst.files.formats import encode_png

D65 = [0.3127, 0.3290, 1.0]


def codecs():
    return pytest.importorskip("imagecodecs")


def srgb_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def adobe_rgb_icc() -> bytes:
    primaries = [0.64, 0.33, 1.0, 0.21, 0.71, 1.0, 0.15, 0.06, 1.0]
    return codecs().cms_profile("rgb", whitepoint=D65, primaries=primaries, gamma=563 / 256)


def display_p3_icc() -> bytes:
    x = np.linspace(0.0, 1.0, 4096)  # a table: fewer points and LittleCMS inverts its toe poorly
    curve = np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)  # sRGB's, decoded
    primaries = [0.680, 0.320, 1.0, 0.265, 0.690, 1.0, 0.150, 0.060, 1.0]
    return codecs().cms_profile(
        "rgb", whitepoint=D65, primaries=primaries, transferfunction=np.round(curve * 65535).astype(np.uint16)
    )


def with_class(icc: bytes, device_class: bytes = b"", space: bytes = b"") -> bytes:
    """A profile's header edited: its device class (bytes 12-15) or colour space (16-19)."""
    b = bytearray(icc)
    if device_class:
        b[12:16] = device_class
    if space:
        b[16:20] = space
    return bytes(b)


def in_profile(rgb: np.ndarray, icc: bytes) -> np.ndarray:
    """sRGB float pixels converted into the space of ``icc`` (float, LittleCMS)."""
    out = codecs().cms_transform(
        np.ascontiguousarray(rgb, np.float32), srgb_icc(), icc, colorspace="rgb", outcolorspace="rgb"
    )
    return np.clip(out.reshape(rgb.shape), 0.0, 1.0)


def png16(path: Path, rgb: np.ndarray, icc: bytes | None = None) -> Path:
    """A 16-bit colour PNG of float pixels (already in the space of ``icc``)."""
    path.write_bytes(encode_png(np.round(rgb * 65535).astype(np.uint16), icc, None, None))
    return path


def plane(h: int, w: int) -> np.ndarray:
    """A smooth photo whose every pixel has its own value: tilted planes, each channel rising along x
    and, by a little less than one column's step, along y.  Float64 (H, W, 3) in [0.1, 0.9]."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    t = x / w + y / (w * h)
    return np.stack([0.1 + 0.8 * t, 0.9 - 0.7 * t, 0.3 + 0.4 * np.sqrt(t)], -1)


XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description rdf:about="" xmlns:tiff="http://ns.adobe.com/tiff/1.0/" '
    b'xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/" '
    b'tiff:Orientation="6" exif:GPSLatitude="52,30.5N" exif:PixelXDimension="40">'
    b"<exif:GPSLongitude>13,24.2E</exif:GPSLongitude>"
    b'<dc:rights><rdf:Alt><rdf:li xml:lang="x-default">(c) A. Photographer</rdf:li></rdf:Alt></dc:rights>'
    b"</rdf:Description></rdf:RDF></x:xmpmeta>"
)


def camera_exif(orientation: int = 1) -> Image.Exif:
    """EXIF as a camera writes it: make, model, date, copyright, exposure, a GPS position."""
    ex = Image.Exif()
    ex[0x010F], ex[0x0110], ex[0x0112] = "Canon", "EOS R5", orientation
    ex[0x8298], ex[0x0132] = "(c) A. Photographer", "2024:05:01 10:00:00"
    sub = ex.get_ifd(0x8769)
    sub[0x829A], sub[0x9003] = IFDRational(1, 250), "2024:05:01 09:59:58"
    sub[0x927C] = b"CANON private maker note"
    gps = ex.get_ifd(0x8825)
    gps[1], gps[2] = "N", (IFDRational(52, 1), IFDRational(30, 1), IFDRational(30, 1))
    gps[3], gps[4] = "E", (IFDRational(13, 1), IFDRational(24, 1), IFDRational(12, 1))
    return ex


def camera_jpeg(path: Path, upright: np.ndarray, orientation: int = 6, icc: bytes | None = None) -> Path:
    """A JPEG of the 8-bit ``upright`` picture stored turned as a camera held sideways stores it
    (orientation 6: the pixels are rotated 90 degrees anticlockwise), with EXIF and XMP."""
    stored = np.rot90(upright, 1) if orientation == 6 else upright
    kw = {"icc_profile": icc} if icc else {}
    Image.fromarray(np.ascontiguousarray(stored)).save(
        path, quality=98, subsampling=0, exif=camera_exif(orientation), xmp=XMP, **kw
    )
    return path


def identity_cube(path: Path, n: int = 2) -> Path:
    """A 3D LUT that changes nothing."""
    lines = [f"LUT_3D_SIZE {n}"]
    for b in range(n):
        for g in range(n):
            for r in range(n):
                lines.append(f"{r / (n - 1):.6f} {g / (n - 1):.6f} {b / (n - 1):.6f}")
    path.write_text("\n".join(lines) + "\n")
    return path


def dng(path: Path, h: int = 64, w: int = 96, neutral: tuple[float, float, float] = (0.5, 1.0, 0.8)) -> Path:
    """A minimal DNG (Adobe's DNG 1.4 tags, written with tifffile): an RGGB Bayer mosaic of a flat grey
    scene as a camera whose red and blue channels are ``neutral`` times as sensitive as green records
    it, with that camera white balance (AsShotNeutral) and an identity colour matrix.  Developed with
    the camera's white balance it is grey again."""
    tifffile = pytest.importorskip("tifffile")
    y, x = np.mgrid[0:h, 0:w]
    level = 0.25 + 0.25 * x / w  # grey, brighter to the right
    gain = np.where(
        (y % 2 == 0) & (x % 2 == 0), neutral[0], np.where((y % 2 == 1) & (x % 2 == 1), neutral[2], 1.0)
    )
    black, white = 64, 4095
    mosaic = np.round(black + (white - black) * level * gain).astype(np.uint16)
    identity = tuple(v for a in (1, 0, 0, 0, 1, 0, 0, 0, 1) for v in (a * 10000, 10000))
    as_shot = tuple(v for a in neutral for v in (round(a * 10000), 10000))
    tags = [
        (50706, "B", 4, (1, 4, 0, 0), True),  # DNGVersion
        (50707, "B", 4, (1, 1, 0, 0), True),  # DNGBackwardVersion
        (50708, "s", 0, "dpst test camera", True),  # UniqueCameraModel
        (33421, "H", 2, (2, 2), True),  # CFARepeatPatternDim
        (33422, "B", 4, (0, 1, 1, 2), True),  # CFAPattern: R G / G B
        (50710, "B", 3, (0, 1, 2), True),  # CFAPlaneColor
        (50711, "H", 1, 1, True),  # CFALayout: rectangular
        (50714, "H", 1, black, True),  # BlackLevel
        (50717, "H", 1, white, True),  # WhiteLevel
        (50721, "2i", 9, identity, True),  # ColorMatrix1
        (50778, "H", 1, 21, True),  # CalibrationIlluminant1: D65
        (50728, "2I", 3, as_shot, True),  # AsShotNeutral
    ]
    tifffile.imwrite(path, mosaic, photometric=32803, extratags=tags, metadata=None, software=False)
    return path
