from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageCms

from dpst.files.profiles import array_to_srgb, image_to_srgb, profile_space, srgb_profile, srgb_to
from tests.files.media import adobe_rgb_icc, display_p3_icc, in_profile, plane, srgb_icc, with_class


@pytest.mark.parametrize("make", [adobe_rgb_icc, display_p3_icc])
def test_float_round_trip_through_a_wide_space_is_exact(make):
    icc = make()
    rgb = plane(40, 50).astype(np.float32)
    there = in_profile(rgb, icc)
    assert np.abs(there - rgb).max() > 0.01  # the encodings differ
    back = array_to_srgb(there, icc, "p")
    assert np.abs(back - rgb).max() < 5e-4  # no 8-bit rounding on the way (1/255 = 4e-3)


def test_float_and_8bit_conversions_agree():
    icc = adobe_rgb_icc()
    a = (plane(30, 40) * 255).round().astype(np.uint8)
    by_pillow = np.asarray(image_to_srgb(Image.fromarray(a), icc, "p"), np.float32) / 255
    by_float = array_to_srgb(a.astype(np.float32) / 255, icc, "p")
    assert np.abs(by_pillow - by_float).max() <= 1 / 255 + 1e-6


@pytest.mark.parametrize("depth", [8, 16])
def test_srgb_to_inverts_array_to_srgb(depth):
    icc = display_p3_icc()
    rgb = plane(20, 30).astype(np.float32)
    out = srgb_to(rgb, icc, depth)
    assert out.dtype == (np.uint8 if depth == 8 else np.uint16)
    back = array_to_srgb(out.astype(np.float32) / (255 if depth == 8 else 65535), icc, "p")
    # one 8-bit step of a wide space is up to 3 of sRGB's in saturated dark colours; 16 bits: none
    assert np.abs(back - rgb).max() < (4 / 255 if depth == 8 else 1e-3)


def test_spaces_and_refusals():
    assert profile_space(srgb_profile(), "p") == "RGB"
    with pytest.raises(ValueError, match="p: its embedded ICC colour profile is corrupt"):
        profile_space(b"not a profile at all" * 10, "p")
    with pytest.raises(ValueError, match="device link"):
        profile_space(with_class(srgb_icc(), device_class=b"link"), "p")
    with pytest.raises(ValueError, match="abstract profile"):
        profile_space(with_class(srgb_icc(), device_class=b"abst"), "p")
    lab = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()  # LittleCMS's: abstract
    with pytest.raises(ValueError, match="abstract profile"):
        image_to_srgb(Image.new("RGB", (4, 4)), lab, "p")
    with pytest.raises(ValueError, match="for Lab colours but its pixels are RGB"):
        image_to_srgb(Image.new("RGB", (4, 4)), with_class(srgb_icc(), space=b"Lab "), "p")
    cmyk = with_class(srgb_icc(), space=b"CMYK")
    with pytest.raises(ValueError, match="for CMYK colours but its pixels are RGB"):
        array_to_srgb(np.zeros((4, 4, 3), np.float32), cmyk, "p")
