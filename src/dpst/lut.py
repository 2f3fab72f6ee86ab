"""A look as a 3D LUT: :func:`fit_lut` fits one to a photo and its restyled result, :class:`Lut` applies
it to other photos and saves it as a ``.cube`` file that graders, editors and ffmpeg read
(docs/lut.md).  The math is :mod:`dpst.ops.lut`; this module adds images, files and the defaults.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import ClassVar

import numpy as np
from PIL import Image

from . import io
from .ops.lut import apply_table, fit_table, format_cube, parse_cube
from .settings import check_settings, setting

CUBE_SUFFIX = ".cube"


LUT_GROUP = "LUT settings (docs/lut.md)"


@dataclass(frozen=True)
class LutSettings:
    """How a LUT is fitted.  Every field is a CLI flag (``--lut-size``, ...)."""

    FLAG_PREFIX: ClassVar[str] = "--lut-"

    size: int = setting(
        33,
        "lattice points per axis of the .cube LUT (17, 33 and 65 are the usual sizes)",
        min=2,
        max=65,
        group=LUT_GROUP,
    )
    smoothness: float = setting(
        1e-4,
        "weight of the LUT's smoothness prior (second derivatives in colour space): larger is smoother "
        "and further from the result; docs/lut.md",
        above=0,
        group=LUT_GROUP,
    )
    anchor: float = setting(
        0.1,
        "pull of the colours the photo does not have toward the look's overall (affine) colour map",
        min=0,
        group=LUT_GROUP,
    )

    def __post_init__(self) -> None:
        check_settings(self)


@dataclass(frozen=True, eq=False)
class Lut:
    """A 3D LUT: ``table`` (N, N, N, 3) float64 in [0, 1], ``table[r, g, b]`` the output colour at
    lattice point (r, g, b) / (N - 1) of ``domain`` (a (2, 3) array: minimum and maximum input)."""

    table: np.ndarray
    domain: np.ndarray = field(default_factory=lambda: np.array([[0.0] * 3, [1.0] * 3]))
    title: str = ""
    comments: tuple[str, ...] = ()
    fit_rms: float | None = None  # of a fitted LUT: RMS from the result it was fitted to, 8-bit levels

    def __post_init__(self) -> None:
        t, d = np.asarray(self.table, dtype=np.float64), np.asarray(self.domain, dtype=np.float64)
        if t.ndim != 4 or t.shape[3] != 3 or len(set(t.shape[:3])) != 1 or not 2 <= t.shape[0] <= 256:
            raise ValueError(f"a LUT table must have shape (N, N, N, 3) with N from 2 to 256, got {t.shape}")
        if d.shape != (2, 3) or not (d[1] > d[0]).all():
            raise ValueError("a LUT's domain is a (2, 3) array: minimum and maximum input, maximum > minimum")
        object.__setattr__(self, "table", t)
        object.__setattr__(self, "domain", d)

    @property
    def size(self) -> int:
        return self.table.shape[0]

    def apply(self, image: io.ImageLike) -> Image.Image | np.ndarray:
        """``image`` (a path, PIL image or array, read like a photo) in this look, by trilinear
        interpolation: a float32 (H, W, 3) array in [0, 1] for an array, else an RGB PIL image."""
        rgb = io.load_image(image, "image")
        out = np.clip(apply_table(self.table, rgb, self.domain), 0.0, 1.0)
        return out if isinstance(image, np.ndarray) else io.to_pil(out)

    def to_cube(self) -> str:
        """The text of the .cube file (red changing fastest, 6 decimals)."""
        return format_cube(self.table, self.title, self.comments, self.domain)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the LUT as a .cube file, atomically (:func:`dpst.io.write_atomic`)."""
        return io.write_atomic(check_cube_output(path), self.to_cube().encode("utf-8"))


def fit_lut(
    content: io.ImageLike,
    result: io.ImageLike,
    size: int = LutSettings.size,
    smoothness: float = LutSettings.smoothness,
    anchor: float = LutSettings.anchor,
    *,
    title: str = "",
    comments: tuple[str, ...] = (),
) -> Lut:
    """The 3D LUT that best turns ``content`` into ``result`` (a photo and its restyled version;
    paths, PIL images or arrays), colour for colour, smoothly: see :mod:`dpst.ops.lut`.  Both are read
    in sRGB (:func:`dpst.io.read_photo`), so the LUT maps sRGB to sRGB, as its header says.  The content
    is resized to the result's size when they differ.  Its comments say how it was made and how far
    it is from the result (RMS over the pixels, in 8-bit levels)."""
    s = LutSettings(size, smoothness, anchor)
    res = io.load_image(result, "result")
    src = io.resize(io.load_image(content, "content"), *res.shape[:2])
    table = fit_table(src, res, s.size, s.smoothness, s.anchor)
    rms = float(np.sqrt(np.mean((apply_table(table, src) - res) ** 2))) * 255
    made = (
        f"made by dpst {_version()}: a {s.size}^3 LUT fitted to a photo and its restyled result by "
        f"regularised least squares (smoothness {s.smoothness:g}, anchor {s.anchor:g})",
        "colours in and out are sRGB (IEC 61966-2-1): apply it to sRGB pixels (dpst apply converts a "
        "photo with another ICC profile to sRGB first, and its result back)",
        f"RMS difference from the result it was fitted to: {rms:.2f} of 255 (trilinear)",
    )
    return Lut(table, title=title, comments=(*made, *comments), fit_rms=rms)


def load_lut(path: str | os.PathLike) -> Lut:
    """A 3D ``.cube`` LUT file (this one's or another tool's; 1D LUTs are refused)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if not path.is_file():
        raise ValueError(f"{path}: not a regular file, not a .cube LUT")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        if b"\0" in data:
            raise UnicodeDecodeError("utf-8", data, 0, 1, "a NUL byte")
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a text file; a .cube LUT is text") from None
    try:
        table, domain, title = parse_cube(text)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    return Lut(table, domain, title)


def check_cube_output(path: str | os.PathLike) -> Path:
    """Fail early, before any work, if ``path`` cannot be written as a .cube file."""
    out = Path(path)
    if out.suffix.lower() != CUBE_SUFFIX:
        raise ValueError(f"{out}: a LUT is written as a .cube file; give a name ending in .cube")
    io.check_writable(out)
    return out


def _version() -> str:
    try:
        return version("dpst")
    except PackageNotFoundError:
        return "(not installed)"
