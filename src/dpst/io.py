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

ImageLike = str | os.PathLike | Image.Image | np.ndarray
MIN_SIDE = 32
WRITABLE = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF", ".webp": "WEBP"}


def _open(path: Path) -> Image.Image:
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if path.is_dir():
        raise ValueError(f"{path}: is a folder, not an image")
    try:
        with warnings.catch_warnings():
            # Between 1x and 2x the pixel limit PIL only warns; treat it as the error it is.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(path)
            im.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValueError(f"{path}: image too large (over {Image.MAX_IMAGE_PIXELS} pixels)") from None
    except UnidentifiedImageError:
        raise ValueError(f"{path}: not an image file PIL can read") from None
    except OSError as exc:
        raise ValueError(f"{path}: cannot read image ({exc})") from None
    return im


def _to_rgb(im: Image.Image) -> np.ndarray:
    """Any PIL mode → float32 H×W×3 in [0, 1].  Alpha is composited on white."""
    im = ImageOps.exif_transpose(im)
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        a = np.asarray(im, dtype=np.float32)
        a = a / (65535.0 if a.max() > 255 else 255.0)
        return np.repeat(np.clip(a, 0, 1)[..., None], 3, axis=2)
    if im.mode == "F":
        a = np.asarray(im, dtype=np.float32)
        return np.repeat(np.clip(a, 0, 1)[..., None], 3, axis=2)
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(bg, rgba)
    return np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0


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


def load_image(src: ImageLike, what: str = "image") -> np.ndarray:
    """Read a photo from a path, PIL image or array as float32 (H, W, 3) RGB in [0, 1].

    Honours EXIF orientation; grayscale, palette, CMYK, 16-bit and alpha images are converted."""
    if isinstance(src, np.ndarray):
        rgb = _from_array(src)
        name = what
    elif isinstance(src, Image.Image):
        rgb, name = _to_rgb(src), what
    elif isinstance(src, (str, os.PathLike)):
        rgb, name = _to_rgb(_open(Path(src))), str(src)
    else:
        raise ValueError(f"{what}: expected a path, a PIL image or an array, got {type(src).__name__}")
    if min(rgb.shape[:2]) < MIN_SIDE:
        raise ValueError(
            f"{name}: image too small ({rgb.shape[1]}×{rgb.shape[0]}); at least {MIN_SIDE} px a side"
        )
    return rgb


def load_mask(src: ImageLike) -> np.ndarray:
    """A colour-coded mask as uint8 (H, W, 3), without the photo checks' minimum size."""
    if isinstance(src, (str, os.PathLike)):
        im = _open(Path(src))
        return np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    rgb = _from_array(src) if isinstance(src, np.ndarray) else _to_rgb(src)
    return np.round(rgb * 255).astype(np.uint8)


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
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise ValueError(f"{out}: output folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"{out}: output folder {folder} is not writable")
    if out.is_dir():
        raise ValueError(f"{out}: is a folder; give a file name")
    for src in inputs:
        if isinstance(src, (str, os.PathLike)) and Path(src).exists() and out.exists():
            if os.path.samefile(src, out):
                raise ValueError(f"{out}: output would overwrite an input")
    return out


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
