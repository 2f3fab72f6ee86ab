"""Reading photos and masks, writing results: every failure is one clear ValueError/FileNotFoundError.

Photos are read into sRGB (an embedded ICC profile converted), at the precision of the file (16-bit
PNG and TIFF in full), with what the result should keep of them (:class:`PhotoInfo`); results are
written in the content photo's colour space, bit depth and metadata (:func:`save_photo`,
:class:`PhotoSettings`).  The pieces are in :mod:`dpst.files`; docs/photographers.md says what is
kept, converted and dropped, format by format.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import BinaryIO, ClassVar

import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError, features

from .errors import MissingExtra, first_line
from .files.formats import (
    RAW_SUFFIXES,
    container,
    decode_wide,
    develop_raw,
    encode_png,
    encode_tiff,
    need,
    open_heif,
    orient,
    wide_png,
    wide_tiff,
)
from .files.metadata import Metadata, for_result, read_metadata
from .files.profiles import array_to_srgb, image_to_srgb, profile_space, quantise, srgb_profile, srgb_to
from .ops.palette import PALETTE_NAMES, UNLABELLED, labels_from_colors
from .settings import check_settings, setting

MIN_SIDE = 32
MAX_OFF_PALETTE = 0.1  # share of a mask's pixels off the palette above which load_mask warns
WRITABLE = {
    ".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF", ".webp": "WEBP",
    ".heic": "HEIF", ".heif": "HEIF", ".avif": "AVIF",
}  # fmt: skip
WIDE = ("PNG", "TIFF")  # the formats dpst writes at 16 bits
OUTPUT = "output file: colour profile, bit depth, metadata (docs/photographers.md)"


@dataclass(frozen=True)
class PhotoSettings:
    """How a result file is written.  Every field is a CLI flag (``--output-profile``, ...)."""

    FLAG_PREFIX: ClassVar[str] = "--"

    output_profile: str = setting(
        "content",
        "colour space of the result: content (the content photo's own, its ICC profile embedded; sRGB "
        "for an untagged photo) or srgb (converted to sRGB, with sRGB's profile where the photo had one)",
        choices=("content", "srgb"),
        group=OUTPUT,
    )
    bit_depth: int = setting(
        0,
        "bits per channel of a .png or .tif result, 8 or 16; 0 = the content photo's (16 for a 16-bit "
        "PNG or TIFF and a raw file)",
        min=8,
        max=16,
        also=(0,),
        group=OUTPUT,
    )
    jpeg_quality: int = setting(
        95,
        "quality (1-100) of a .jpg result, written with full-resolution colour (4:4:4); also of .webp, "
        ".avif and .heic results",
        min=1,
        max=100,
        group=OUTPUT,
    )
    strip_metadata: bool = setting(
        False, "write no EXIF and no XMP in the result (its colour profile stays)", group=OUTPUT
    )
    keep_gps: bool = setting(
        False,
        "keep the content photo's GPS position in the result's EXIF and XMP (else it is dropped; why: "
        "docs/photographers.md)",
        group=OUTPUT,
    )

    def __post_init__(self) -> None:
        check_settings(self)
        if self.bit_depth not in (0, 8, 16):
            raise ValueError(f"--bit-depth {self.bit_depth}: use 8 or 16 (0 = the content photo's)")


@dataclass(frozen=True)
class PhotoInfo:
    """What a photo file holds besides its pixels, for its result to keep."""

    name: str  # the path, or what the photo is (``"content"``), for messages
    format: str = ""  # "JPEG", "PNG", "TIFF", "HEIF", "AVIF", "WEBP", "RAW", ...; "" for arrays and images
    depth: int = 8  # bits per channel the pixels were read with: 8, or 16 (16-bit, float and raw files)
    profile: bytes | None = None  # the embedded ICC profile; None: sRGB
    space: str = ""  # the profile's colour space: "RGB", "GRAY", "CMYK", "Lab"; "" without one
    metadata: Metadata = Metadata()


@dataclass(frozen=True, eq=False)
class Photo:
    """A photo read by :func:`read_photo`: its pixels in sRGB and what its file holds besides."""

    rgb: np.ndarray  # float32 (H, W, 3) sRGB in [0, 1], upright
    info: PhotoInfo


ImageLike = str | os.PathLike | Image.Image | np.ndarray | Photo


def _check_file(path: Path) -> None:
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if path.is_dir():
        raise ValueError(f"{path}: is a folder, not an image")
    if not path.is_file():
        raise ValueError(f"{path}: not a regular file")
    if path.stat().st_size == 0:
        raise ValueError(f"{path}: empty file (0 bytes), not an image")


def open_image(path: str | os.PathLike, load: bool = True) -> Image.Image:
    """Open and decode an image file (its first frame, for animations and multi-page files), with the
    file closed again.  Every failure is a ValueError/FileNotFoundError naming the file; images over
    ``PIL.Image.MAX_IMAGE_PIXELS`` are refused before they are decoded.  HEIC/HEIF needs the
    ``dpst[photo]`` extra (MissingExtra without it).  ``load=False``: only the header is read (size,
    mode, profile, metadata); the caller closes the image."""
    path = Path(path)
    _check_file(path)
    with open(path, "rb") as fh:
        kind = container(fh.read(12))
    if kind == "HEIF":
        open_heif(str(path))
    elif kind == "AVIF" and not features.check("avif"):
        raise MissingExtra("photo", f"{path}: reading AVIF photos (Pillow 11.3 or later)")
    try:
        with warnings.catch_warnings():
            # Between 1x and 2x the pixel limit PIL only warns; treat it as the error it is.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(path)
            if load:
                with im:
                    im.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValueError(f"{path}: image too large (over {Image.MAX_IMAGE_PIXELS} pixels)") from None
    except UnidentifiedImageError:
        raise ValueError(f"{path}: not an image file PIL can read") from None
    except (OSError, SyntaxError, EOFError, ValueError, RuntimeError) as exc:
        # PIL reports broken files as all four; pillow-heif a truncated HEIC as a RuntimeError
        raise ValueError(f"{path}: cannot read image ({first_line(exc)})") from None
    return im


def read_photo(src: ImageLike, what: str = "image") -> Photo:
    """A photo from a path, PIL image or array, in sRGB at the precision of its file, with what its
    file holds besides (:class:`PhotoInfo`).  Arrays are sRGB; a PIL image's ``icc_profile`` is used.

    Files: EXIF orientation applied; an embedded ICC profile converted to sRGB (LittleCMS: RGB, grey,
    CMYK and Lab profiles; a corrupt profile, a device link, an abstract or named-colour profile, or one
    that does not match the pixels is a ValueError naming the reason); 16-bit PNG and TIFF read in full
    (16-bit colour needs the ``dpst[photo]`` extra, else it is read at 8 bits with a warning); HEIC/HEIF,
    AVIF and camera raw files (developed by LibRaw with the camera's white balance) with the extra;
    alpha composited on white."""
    if isinstance(src, Photo):
        return src
    if isinstance(src, np.ndarray):
        return Photo(_from_array(src), PhotoInfo(what))
    if isinstance(src, Image.Image):
        return _from_image(src, what, src.format or "")
    if isinstance(src, (str, os.PathLike)):
        return _read_file(Path(src))
    raise ValueError(f"{what}: expected a path, a PIL image or an array, got {type(src).__name__}")


def _read_file(path: Path) -> Photo:
    name = str(path)
    _check_file(path)
    if path.suffix.lower() in RAW_SUFFIXES:
        rgb = develop_raw(path, name, Image.MAX_IMAGE_PIXELS)
        return Photo(rgb, PhotoInfo(name, "RAW", 16, metadata=_raw_metadata(path)))
    with open(path, "rb") as fh:
        head = fh.read(32)
    im = open_image(path, load=False)
    with im:
        kind = "PNG" if wide_png(head) else "TIFF" if wide_tiff(im) else ""
        if kind:
            try:
                a = decode_wide(path, kind)
            except MissingExtra as exc:
                warnings.warn(f"{name}: read at 8 bits a channel: {exc}", stacklevel=4)
                kind = ""
            except (ValueError, OSError, RuntimeError, IndexError) as exc:
                raise ValueError(f"{path}: cannot read image ({first_line(exc)})") from None
        if kind:
            info = _info(im, name, kind, 16)
            return Photo(_wide_to_srgb(orient(a, im.getexif().get(0x0112, 1)), info), info)
        try:
            im.load()
        except (OSError, SyntaxError, EOFError, ValueError, RuntimeError) as exc:
            raise ValueError(f"{path}: cannot read image ({first_line(exc)})") from None
        return _from_image(im, name, im.format or "")


def _raw_metadata(path: Path) -> Metadata:
    """The EXIF of a raw file where Pillow can read it (the TIFF-based raws: DNG, NEF, ARW, CR2...)."""
    try:
        with Image.open(path) as im:
            return read_metadata(im)
    except Exception:  # many raw formats are nothing Pillow opens: no metadata then
        return Metadata()


def _info(im: Image.Image, name: str, fmt: str, depth: int) -> PhotoInfo:
    icc = im.info.get("icc_profile") or None
    space = profile_space(icc, name) if icc else ""
    return PhotoInfo(name, fmt, depth, icc, space, read_metadata(im))


def _from_image(im: Image.Image, name: str, fmt: str) -> Photo:
    """An opened, loaded image as a :class:`Photo`: upright, alpha on white, in sRGB."""
    wide = im.mode.startswith("I;16") or im.mode == "F" or (im.mode == "I" and _i_max(im) > 255)
    info = _info(im, name, fmt, 16 if wide else 8)
    im = ImageOps.exif_transpose(im)
    if im.mode.startswith("I") or im.mode == "F":
        return Photo(_wide_to_srgb(_grey(im)[..., None], info), info)
    im = _flatten(im)
    if info.space == "RGB" and im.mode == "L":  # grey pixels under an RGB profile: grey in that space
        im = im.convert("RGB")
    if info.profile is not None:
        im = image_to_srgb(im, info.profile, name)
    elif im.mode == "LAB":
        im = ImageCms.profileToProfile(
            im, ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB"), outputMode="RGB"
        )
    return Photo(np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0, info)


def _i_max(im: Image.Image) -> int:
    return int(np.asarray(im).max(initial=0))


def _grey(im: Image.Image) -> np.ndarray:
    """A 16-bit, 32-bit or float grey image as float (H, W) in [0, 1]."""
    if im.mode.startswith("I;16"):
        return np.asarray(im, dtype=np.float64) / 65535.0
    a = np.asarray(im, dtype=np.float64)
    if im.mode == "I":
        # 32-bit ints: most often 8-bit data converted up, else 16-bit; there is no bit depth to read.
        a = a / (65535.0 if a.max(initial=0) > 255 else 255.0)
    return np.clip(np.nan_to_num(a), 0.0, 1.0)


def _flatten(im: Image.Image) -> Image.Image:
    """Alpha (a band or a transparent colour) composited on white; the image in "RGB", "L", "CMYK" or
    "LAB", the modes a profile converts from."""
    grey = im.mode in ("1", "L", "LA", "La")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info:
        rgba = im.convert("RGBA")
        im = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
        return im.convert("L" if grey else "RGB")
    if im.mode in ("RGB", "L", "CMYK", "LAB"):
        return im
    return im.convert("L" if grey else "RGB")


def _wide_to_srgb(a: np.ndarray, info: PhotoInfo) -> np.ndarray:
    """Float (H, W, C) pixels (C = 1 grey, 2 grey and alpha, 3 RGB, 4 RGBA) as float32 sRGB (H, W, 3):
    alpha on white, the profile converted at full precision (at 8 bits, with a warning, without the
    ``dpst[photo]`` extra's imagecodecs)."""
    a = np.asarray(a, dtype=np.float32)
    if a.shape[2] in (2, 4):
        a = a[..., :-1] * a[..., -1:] + (1 - a[..., -1:])
    if info.profile is None or (info.space == "RGB" and a.shape[2] == 1):
        a = np.repeat(a, 3, axis=2) if a.shape[2] == 1 else a
    if info.profile is None:
        return a
    try:
        return array_to_srgb(a, info.profile, info.name)
    except MissingExtra as exc:
        warnings.warn(f"{info.name}: its colours converted at 8 bits a channel: {exc}", stacklevel=5)
    mode = "L" if a.shape[2] == 1 else "RGB"
    im = Image.fromarray(quantise(a[..., 0] if mode == "L" else a, 8), mode)
    return np.asarray(image_to_srgb(im, info.profile, info.name), dtype=np.float32) / 255.0


def as_rgb(im: Image.Image) -> Image.Image | np.ndarray:
    """The loading policy of masks (:func:`load_mask`): as a photo's, but no colour profile is applied
    (a mask's colours are codes).

    EXIF orientation is applied; alpha (an alpha band or a transparent colour) is composited on white;
    grayscale, palette, CMYK and other 8-bit modes become an 8-bit ``"RGB"`` image.  16-bit and float
    grayscale come back as a float64 (H, W, 3) array in [0, 1] instead, at full precision."""
    im = ImageOps.exif_transpose(im)
    if im.mode.startswith("I") or im.mode == "F":
        return np.repeat(_grey(im)[..., None], 3, axis=2)
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info:
        rgba = im.convert("RGBA")
        im = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    return im.convert("RGB")


def _to_rgb(im: Image.Image) -> np.ndarray:
    """Any PIL image → float32 H×W×3 in [0, 1], by the policy of :func:`as_rgb`."""
    rgb = as_rgb(im)
    if isinstance(rgb, np.ndarray):
        return rgb.astype(np.float32)
    return np.asarray(rgb, dtype=np.float32) / 255.0


def _from_array(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or a.shape[2] not in (1, 3, 4):
        raise ValueError(f"an image array must be H×W, H×W×3 or H×W×4, got shape {a.shape}")
    if a.dtype == np.uint8:
        a = a.astype(np.float32) / 255.0
    elif a.dtype == np.uint16:
        a = a.astype(np.float32) / 65535.0
    else:
        a = a.astype(np.float32)
        if not np.isfinite(a).all() or a.min() < 0 or a.max() > 1:
            raise ValueError("a float image array must hold finite values in [0, 1]")
    if a.shape[2] == 4:
        a = a[..., :3] * a[..., 3:] + (1 - a[..., 3:])
    return np.repeat(a, 3, axis=2) if a.shape[2] == 1 else a


def _read_rgb(src: ImageLike, what: str) -> tuple[np.ndarray, str]:
    """A mask's path, PIL image or array as float (H, W, 3) in [0, 1], by :func:`as_rgb`'s policy, and
    the name that messages use for it."""
    if isinstance(src, Photo):
        return src.rgb, src.info.name
    if isinstance(src, np.ndarray):
        return _from_array(src), what
    if isinstance(src, Image.Image):
        return _to_rgb(src), what
    if isinstance(src, (str, os.PathLike)):
        return _to_rgb(open_image(src)), str(src)
    raise ValueError(f"{what}: expected a path, a PIL image or an array, got {type(src).__name__}")


def load_image(src: ImageLike, what: str = "image") -> np.ndarray:
    """Read a photo from a path, PIL image, array or :class:`Photo` as float32 (H, W, 3) sRGB in [0, 1]
    (:func:`read_photo`: its profile converted, EXIF orientation applied; grayscale, palette, CMYK,
    16-bit and alpha images converted)."""
    photo = read_photo(src, what)
    rgb, name = photo.rgb, photo.info.name
    if min(rgb.shape[:2]) < MIN_SIDE:
        raise ValueError(
            f"{name}: image too small ({rgb.shape[1]}×{rgb.shape[0]}); at least {MIN_SIDE} px a side"
        )
    return rgb


def load_mask(src: ImageLike, what: str = "mask") -> np.ndarray:
    """A colour-coded mask as uint8 (H, W, 3), read like a photo (:func:`as_rgb`) but without the
    photo checks' minimum size.

    A mask with no pixel in any of the nine palette colours is refused: it would guide nothing.  One
    where over ``MAX_OFF_PALETTE`` of the pixels are far from every palette colour (anti-aliased edges
    are about 1%) gets a warning: those pixels take no style guidance."""
    rgb, name = _read_rgb(src, what)
    mask = np.round(rgb * 255).astype(np.uint8)
    _check_palette(mask, name)
    return mask


def _check_palette(mask: np.ndarray, name: str) -> None:
    step = max(1, int(np.sqrt(mask.shape[0] * mask.shape[1] / 2**18)))  # judge ~256k pixels, not all
    off = float((labels_from_colors(mask[::step, ::step]) == UNLABELLED).mean())
    if off == 1.0 and (step == 1 or (labels_from_colors(mask) == UNLABELLED).all()):
        raise ValueError(
            f"{name}: no pixel of the mask is one of the nine mask colours ({', '.join(PALETTE_NAMES)}); "
            "draw its regions in those"
        )
    if off > MAX_OFF_PALETTE:
        warnings.warn(
            f"{name}: {off:.0%} of the mask's pixels are none of the nine mask colours "
            f"({', '.join(PALETTE_NAMES)}); they get no style guidance",
            stacklevel=3,
        )


STROKE_ALPHA = 128  # in a strokes image, pixels at least this opaque are painted


def load_strokes(src: ImageLike, what: str = "mask") -> np.ndarray | None:
    """Strokes, when ``src`` is a strokes image: a mask with an alpha channel in which some pixels are
    fully transparent.  Returns (H, W) int64 label ids, each painted pixel (alpha >= 128) labelled by
    its nearest palette colour (black and white included), the rest ``UNLABELLED`` (-1); ``None`` when
    ``src`` is an ordinary mask (then read it with :func:`load_mask`)."""
    if isinstance(src, (str, os.PathLike)):
        im, name = open_image(src), str(src)
    elif isinstance(src, Image.Image):
        im, name = src, what
    elif isinstance(src, np.ndarray):
        if src.ndim != 3 or src.shape[2] != 4:
            return None
        a = src if src.dtype == np.uint8 else np.round(np.clip(src, 0, 1) * 255).astype(np.uint8)
        im, name = Image.fromarray(a, "RGBA"), what
    else:
        return None
    im = ImageOps.exif_transpose(im)
    if not (im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info):
        return None
    rgba = np.asarray(im.convert("RGBA"))
    alpha = rgba[..., 3]
    if alpha.min() > 0:
        return None
    labels = labels_from_colors(rgba[..., :3], tol=np.inf)
    labels[alpha < STROKE_ALPHA] = UNLABELLED
    if (labels == UNLABELLED).all():
        raise ValueError(f"{name}: a strokes image (transparent background) with no stroke painted in it")
    return labels


def resize(rgb: np.ndarray, height: int, width: int) -> np.ndarray:
    """High-quality resize of a float (H, W, 3) image (Lanczos when shrinking, bicubic when growing)."""
    if rgb.shape[:2] == (height, width):
        return rgb
    shrink = height * width < rgb.shape[0] * rgb.shape[1]
    chans = [
        np.asarray(
            Image.fromarray(rgb[..., c]).resize(
                (width, height), Image.Resampling.LANCZOS if shrink else Image.Resampling.BICUBIC
            )
        )
        for c in range(3)
    ]
    return np.clip(np.stack(chans, -1), 0.0, 1.0)


def fit_long_side(height: int, width: int, long_side: int) -> tuple[int, int]:
    """(h, w) with the long side equal to ``long_side``, aspect kept."""
    s = long_side / max(height, width)
    return max(1, round(height * s)), max(1, round(width * s))


def resize_long_side(rgb: np.ndarray, long_side: int) -> np.ndarray:
    """:func:`resize` to a long side of ``long_side`` px, aspect kept."""
    return resize(rgb, *fit_long_side(*rgb.shape[:2], long_side))


def to_pil(rgb: np.ndarray) -> Image.Image:
    return Image.fromarray(np.round(np.clip(rgb, 0, 1) * 255).astype(np.uint8), "RGB")


def check_output(path: str | os.PathLike, inputs: tuple = (), depth: int = 0) -> Path:
    """Fail early, before any computation, if ``path`` cannot be written as an image (at ``depth`` bits
    a channel, when given)."""
    out = Path(path)
    fmt = WRITABLE.get(out.suffix.lower())
    if fmt is None:
        raise ValueError(
            f"{out}: unsupported output type {out.suffix or '(none)'}; use one of {', '.join(WRITABLE)}"
        )
    if depth == 16 and fmt not in WIDE:
        raise ValueError(f"{out}: --bit-depth 16 is for .png and .tif results; {fmt} is written at 8 bits")
    if fmt == "HEIF":
        need("pillow_heif", f"{out}: writing HEIC")
    elif fmt == "AVIF" and not features.check("avif"):
        raise MissingExtra("photo", f"{out}: writing AVIF (Pillow 11.3 or later)")
    check_writable(out)
    for src in inputs:
        if isinstance(src, (str, os.PathLike)) and Path(src).exists() and out.exists():
            if os.path.samefile(src, out):
                raise ValueError(f"{out}: output would overwrite an input")
    return out


def check_writable(out: Path) -> None:
    """Fail early if the file ``out`` cannot be made: its folder is missing or read-only, or ``out``
    is a folder."""
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
        if existing is not None and not existing.is_dir():
            raise ValueError(f"{out}: {existing} is a file, not a folder; give an output in a folder")
        raise ValueError(f"{out}: output folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"{out}: output folder {folder} is not writable")
    if out.is_dir():
        raise ValueError(f"{out}: is a folder; give a file name")


def write_atomic(path: str | os.PathLike, data: bytes | Callable[[BinaryIO], None]) -> Path:
    """Write ``path`` atomically: a temporary file in the same folder, flushed to disk, then renamed
    over ``path``.  Readers see the old file or the whole new one, never half a file, and an
    interrupted or failed write leaves no temporary behind.  ``data``: bytes, or a function that
    writes into the open binary file."""
    out = Path(path)
    folder = out.parent if str(out.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            if callable(data):
                data(fh)
            else:
                fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


def save_image(image: Image.Image | np.ndarray, path: str | os.PathLike) -> Path:
    """Write an image atomically (see :func:`write_atomic`), in the format its suffix names, as 8-bit
    sRGB without a profile or metadata (masks, snapshots; a result: :func:`save_photo`)."""
    return save_photo(image, path)


def save_photo(
    image: Image.Image | np.ndarray,
    path: str | os.PathLike,
    like: Photo | PhotoInfo | None = None,
    settings: PhotoSettings = PhotoSettings(),
) -> Path:
    """Write a result atomically (see :func:`write_atomic`) in the format its suffix names: ``image``
    (float (H, W, 3) sRGB in [0, 1], or an RGB PIL image) in the colour space, bit depth and with the
    metadata of the photo it was made from, ``like`` (:func:`encode_photo`)."""
    out = check_output(path, depth=settings.bit_depth)
    return write_atomic(out, encode_photo(image, out.suffix, like, settings))


def encode_photo(
    image: Image.Image | np.ndarray,
    suffix: str,
    like: Photo | PhotoInfo | None = None,
    settings: PhotoSettings = PhotoSettings(),
) -> bytes:
    """The bytes of a result file of type ``suffix`` (".png", ".jpg", ...), by ``settings``:

    - colour: in the RGB colour space of ``like``'s profile, embedded (``output_profile`` "content");
      in sRGB, with sRGB's profile embedded where ``like`` had a profile (``"srgb"``, and for a grey,
      CMYK or Lab profile); untagged sRGB for an untagged photo;
    - depth: ``bit_depth``, else ``like``'s, for PNG and TIFF; 8 bits for the other formats;
    - metadata: ``like``'s EXIF and XMP, as :func:`dpst.files.metadata.for_result` changes them (GPS
      only with ``keep_gps``; a Software tag naming dpst even where the photo had no EXIF); none with
      ``strip_metadata``, without ``like``, or when ``like`` was not read from a file."""
    fmt = WRITABLE[suffix.lower()]
    if settings.bit_depth == 16 and fmt not in WIDE:
        raise ValueError(f"--bit-depth 16 is for .png and .tif results; {fmt} is written at 8 bits")
    info = like.info if isinstance(like, Photo) else like
    rgb = np.asarray(image.convert("RGB"), np.float32) / 255.0 if isinstance(image, Image.Image) else image
    depth = (settings.bit_depth or (info.depth if info else 8)) if fmt in WIDE else 8
    icc, srgb = None, True
    if info is not None and info.profile is not None:
        if settings.output_profile == "content" and info.space == "RGB":
            pixels, icc, srgb = srgb_to(rgb, info.profile, depth), info.profile, False
        else:
            pixels, icc = quantise(rgb, depth), srgb_profile()
    else:
        pixels = quantise(rgb, depth)
    meta = Metadata()
    if info is not None and info.format and not settings.strip_metadata:  # from a file: its metadata
        meta = for_result(info.metadata, (rgb.shape[1], rgb.shape[0]), settings.keep_gps, srgb)
    if fmt == "PNG":
        return encode_png(pixels, icc, meta.exif, meta.xmp)
    if fmt == "TIFF":
        return encode_tiff(pixels, icc, meta.exif, meta.xmp)
    return _encode_pillow(pixels, fmt, icc, meta, settings.jpeg_quality)


def _encode_pillow(pixels: np.ndarray, fmt: str, icc: bytes | None, meta: Metadata, quality: int) -> bytes:
    """JPEG, WebP, AVIF and HEIC (pillow-heif) through Pillow, with full-resolution colour (4:4:4)."""
    kw: dict = {"quality": quality}
    kw |= {"JPEG": {"subsampling": 0}, "AVIF": {"subsampling": "4:4:4"}, "HEIF": {"chroma": 444}}.get(fmt, {})
    if fmt == "HEIF":
        open_heif()
    if icc:
        kw["icc_profile"] = icc
    if meta.exif:
        exif = Image.Exif()
        exif.load(meta.exif)
        kw["exif"] = exif
    if meta.xmp:
        kw["xmp"] = meta.xmp
    buf = BytesIO()
    Image.fromarray(pixels, "RGB").save(buf, format=fmt, **kw)
    return buf.getvalue()
