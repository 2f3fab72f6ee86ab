"""Colour profiles (ICC): a photo's pixels converted to sRGB for the work, the result converted back to
the photo's own colour space; both through LittleCMS.

Two bindings of the one engine: Pillow's ``ImageCms`` (every install) converts 8-bit images, as
``shared/eval/photometrics.py`` does before it scores; ``imagecodecs``' (the ``dpst[photo]`` extra)
converts float pixels, so that a 16-bit photo and a 16-bit result are never rounded to 8 bits on the
way.  The rendering intent is LittleCMS's default, perceptual (the same as relative colorimetric for
the matrix profiles of cameras and displays: sRGB, Adobe RGB, Display P3, ProPhoto).
"""

from __future__ import annotations

import functools
from io import BytesIO

import numpy as np
from PIL import Image, ImageCms

from ..errors import MissingExtra, first_line

# Profiles that do not say what a photo's colours are, so there is nothing to convert from.
_NOT_A_SPACE = {
    "link": "a device link (a conversion between two other colour spaces, not a colour space)",
    "abst": "an abstract profile (an effect on colours, not a colour space)",
    "nmcl": "a named-colour profile (a list of spot colours, not a colour space)",
}
SPACE_OF_MODE = {"RGB": "RGB", "L": "GRAY", "CMYK": "CMYK", "LAB": "Lab"}


@functools.cache
def srgb_profile() -> bytes:
    """The sRGB profile dpst embeds where it writes sRGB to a tagged photo's result (LittleCMS's
    built-in sRGB, ICC v4)."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def profile_space(icc: bytes, name: str) -> str:
    """The colour space of the ICC profile ``icc`` ("RGB", "GRAY", "CMYK", "Lab", ...), after checking
    that it is a profile a photo can be converted from.  ValueError naming the photo ``name`` when the
    profile is corrupt, or a device link, abstract or named-colour profile."""
    try:
        p = ImageCms.ImageCmsProfile(BytesIO(icc)).profile
        cls, space = p.device_class, p.xcolor_space.strip()
    except (OSError, ImageCms.PyCMSError, ValueError, TypeError, AttributeError) as exc:
        raise ValueError(
            f"{name}: its embedded ICC colour profile is corrupt ({first_line(exc)}); re-export the photo "
            "with a valid profile, or without one (read as sRGB)"
        ) from None
    if cls in _NOT_A_SPACE:
        raise ValueError(
            f"{name}: its embedded ICC profile is {_NOT_A_SPACE[cls]}; dpst cannot convert the photo to "
            "sRGB from it: re-export the photo in an RGB colour space"
        )
    return space


def check_profile(icc: bytes, space: str, name: str) -> None:
    """``icc`` is a valid profile (:func:`profile_space`) for pixels in ``space``; ValueError otherwise."""
    got = profile_space(icc, name)
    if got != space:
        raise ValueError(
            f"{name}: its embedded ICC profile is for {got} colours but its pixels are {space}; "
            "re-export the photo with a matching profile"
        )


def image_to_srgb(im: Image.Image, icc: bytes, name: str) -> Image.Image:
    """An 8-bit ``"RGB"``, ``"L"`` or ``"CMYK"`` image in the colour space of ``icc``, as an 8-bit sRGB
    ``"RGB"`` image (Pillow's ImageCms)."""
    check_profile(icc, SPACE_OF_MODE.get(im.mode, im.mode), name)
    try:
        src = ImageCms.ImageCmsProfile(BytesIO(icc))
        return ImageCms.profileToProfile(im, src, ImageCms.createProfile("sRGB"), outputMode="RGB")
    except ImageCms.PyCMSError as exc:
        raise ValueError(
            f"{name}: LittleCMS cannot convert its colours to sRGB ({first_line(exc)})"
        ) from None


def array_to_srgb(a: np.ndarray, icc: bytes, name: str) -> np.ndarray:
    """Float (H, W, 1) grey or (H, W, 3) RGB pixels in [0, 1] in the colour space of ``icc`` as float32
    (H, W, 3) sRGB in [0, 1], without rounding (imagecodecs' LittleCMS; out-of-gamut colours clipped)."""
    space = "GRAY" if a.shape[2] == 1 else "RGB"
    check_profile(icc, space, name)
    codecs = _imagecodecs("converting a 16-bit photo's colours at full precision")
    try:
        out = codecs.cms_transform(
            np.ascontiguousarray(a, np.float32),
            icc,
            srgb_profile(),
            colorspace=space.lower(),
            outcolorspace="rgb",
        )
    except codecs.CmsError as exc:
        raise ValueError(
            f"{name}: LittleCMS cannot convert its colours to sRGB ({first_line(exc)})"
        ) from None
    return np.clip(out.reshape(*a.shape[:2], 3), 0.0, 1.0).astype(np.float32)


def srgb_to(rgb: np.ndarray, icc: bytes, depth: int) -> np.ndarray:
    """Float (H, W, 3) sRGB in [0, 1] in the RGB colour space of ``icc`` (a profile :func:`profile_space`
    accepted), as uint8 (``depth`` 8) or uint16 (16) pixels.  Converted in float by imagecodecs when it is
    installed; else, at 8 bits only, by Pillow's ImageCms (rounded to 8 bits before and after)."""
    try:
        codecs = _imagecodecs("writing a 16-bit result in the content photo's colour profile")
    except MissingExtra:
        if depth != 8:
            raise
        im = Image.fromarray(np.round(np.clip(rgb, 0, 1) * 255).astype(np.uint8), "RGB")
        out = ImageCms.profileToProfile(
            im, ImageCms.createProfile("sRGB"), ImageCms.ImageCmsProfile(BytesIO(icc)), outputMode="RGB"
        )
        return np.asarray(out)
    x = codecs.cms_transform(
        np.ascontiguousarray(rgb, np.float32), srgb_profile(), icc, colorspace="rgb", outcolorspace="rgb"
    )
    return quantise(x.reshape(rgb.shape), depth)


def quantise(x: np.ndarray, depth: int) -> np.ndarray:
    """Float pixels in [0, 1] (clipped) as uint8 (``depth`` 8) or uint16 (16), rounded to nearest."""
    top, dtype = (255, np.uint8) if depth == 8 else (65535, np.uint16)
    return np.round(np.clip(x, 0.0, 1.0) * top).astype(dtype)


def _imagecodecs(what: str):
    try:
        import imagecodecs
    except ImportError:
        raise MissingExtra("photo", what) from None
    return imagecodecs
