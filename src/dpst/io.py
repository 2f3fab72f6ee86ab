"""Reading photos and masks, writing results: every failure is one clear ValueError/FileNotFoundError."""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import first_line
from .ops.palette import PALETTE_NAMES, UNLABELLED, labels_from_colors

ImageLike = str | os.PathLike | Image.Image | np.ndarray
MIN_SIDE = 32
MAX_OFF_PALETTE = 0.1  # share of a mask's pixels off the palette above which load_mask warns
WRITABLE = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF", ".webp": "WEBP"}


def open_image(path: str | os.PathLike) -> Image.Image:
    """Open and decode an image file (its first frame, for animations and multi-page files), with the
    file closed again.  Every failure is a ValueError/FileNotFoundError naming the file; images over
    ``PIL.Image.MAX_IMAGE_PIXELS`` are refused before they are decoded."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if path.is_dir():
        raise ValueError(f"{path}: is a folder, not an image")
    if not path.is_file():
        raise ValueError(f"{path}: not a regular file")
    if path.stat().st_size == 0:
        raise ValueError(f"{path}: empty file (0 bytes), not an image")
    try:
        with warnings.catch_warnings():
            # Between 1x and 2x the pixel limit PIL only warns; treat it as the error it is.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                im.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValueError(f"{path}: image too large (over {Image.MAX_IMAGE_PIXELS} pixels)") from None
    except UnidentifiedImageError:
        raise ValueError(f"{path}: not an image file PIL can read") from None
    except (OSError, SyntaxError, EOFError, ValueError) as exc:  # PIL reports broken files as all four
        raise ValueError(f"{path}: cannot read image ({first_line(exc)})") from None
    return im


def as_rgb(im: Image.Image) -> Image.Image | np.ndarray:
    """The loading policy shared by :func:`load_image`, :func:`load_mask` and :func:`dpst.metrics.score`.

    EXIF orientation is applied; alpha (an alpha band or a transparent colour) is composited on white;
    grayscale, palette, CMYK and other 8-bit modes become an 8-bit ``"RGB"`` image.  16-bit and float
    grayscale come back as a float64 (H, W, 3) array in [0, 1] instead, at full precision.  (Pillow
    itself reads 16-bit *colour* PNGs as 8-bit RGB.)"""
    im = ImageOps.exif_transpose(im)
    if im.mode.startswith("I;16"):
        a = np.asarray(im, dtype=np.float64) / 65535.0
    elif im.mode == "I":
        # 32-bit ints: most often 8-bit data converted up, else 16-bit; there is no bit depth to read.
        a = np.asarray(im, dtype=np.float64)
        a = a / (65535.0 if a.max(initial=0) > 255 else 255.0)
    elif im.mode == "F":
        a = np.nan_to_num(np.asarray(im, dtype=np.float64))
    else:
        if im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info:
            rgba = im.convert("RGBA")
            im = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
        return im.convert("RGB")
    return np.repeat(np.clip(a, 0.0, 1.0)[..., None], 3, axis=2)


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
    """A path, PIL image or array as float (H, W, 3) in [0, 1], by the loading policy, and the name
    that messages use for it."""
    if isinstance(src, np.ndarray):
        return _from_array(src), what
    if isinstance(src, Image.Image):
        return _to_rgb(src), what
    if isinstance(src, (str, os.PathLike)):
        return _to_rgb(open_image(src)), str(src)
    raise ValueError(f"{what}: expected a path, a PIL image or an array, got {type(src).__name__}")


def load_image(src: ImageLike, what: str = "image") -> np.ndarray:
    """Read a photo from a path, PIL image or array as float32 (H, W, 3) RGB in [0, 1].

    Honours EXIF orientation; grayscale, palette, CMYK, 16-bit and alpha images are converted."""
    rgb, name = _read_rgb(src, what)
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


def check_output(path: str | os.PathLike, inputs: tuple = ()) -> Path:
    """Fail early, before any computation, if ``path`` cannot be written as an image."""
    out = Path(path)
    fmt = WRITABLE.get(out.suffix.lower())
    if fmt is None:
        raise ValueError(
            f"{out}: unsupported output type {out.suffix or '(none)'}; use one of {', '.join(WRITABLE)}"
        )
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
    """Write an image atomically (see :func:`write_atomic`), in the format its suffix names."""
    out = check_output(path)
    im = to_pil(image) if isinstance(image, np.ndarray) else image.convert("RGB")
    fmt = WRITABLE[out.suffix.lower()]
    return write_atomic(out, lambda fh: im.save(fh, format=fmt, **({"quality": 95} if fmt == "JPEG" else {})))
