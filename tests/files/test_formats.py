from __future__ import annotations

from io import BytesIO

import numpy as np
import pytest
from PIL import Image, ImageOps

from dpst.files.formats import (
    container,
    decode_wide,
    develop_raw,
    encode_png,
    encode_tiff,
    orient,
    srgb_encode,
)
from dpst.files.metadata import Metadata, for_result
from tests.files.media import camera_exif, dng, plane, srgb_icc


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orient_turns_as_pillow_does(orientation):
    a = np.arange(5 * 7 * 3, dtype=np.uint8).reshape(5, 7, 3)
    im = Image.fromarray(a)
    ex = Image.Exif()
    ex[0x0112] = orientation
    im.info["exif"] = ex.tobytes()
    expected = np.asarray(ImageOps.exif_transpose(im))
    assert np.array_equal(orient(a, orientation), expected)


@pytest.mark.parametrize(
    "depth, encode", [(8, encode_png), (16, encode_png), (8, encode_tiff), (16, encode_tiff)]
)
def test_writers_round_trip_pixels_profile_and_metadata(tmp_path, depth, encode):
    top, dtype = (255, np.uint8) if depth == 8 else (65535, np.uint16)
    a = np.round(plane(37, 53) * top).astype(dtype)
    meta = for_result(Metadata(camera_exif(1).tobytes()[6:], b"<x>hi</x>"), (53, 37), True, True)
    path = tmp_path / ("o.png" if encode is encode_png else "o.tif")
    path.write_bytes(encode(a, srgb_icc(), meta.exif, meta.xmp))
    kind = "PNG" if encode is encode_png else "TIFF"
    back = decode_wide(path, kind) if depth == 16 else np.asarray(Image.open(path), np.float32) / 255
    assert np.array_equal(np.round(back * top).astype(dtype), a)
    with Image.open(path) as im:
        assert im.info["icc_profile"] == srgb_icc()
        ex = im.getexif()
        assert ex[0x010F] == "Canon" and ex.get_ifd(0x8825)[1] == "N" and ex.get_ifd(0x8769)[0xA002] == 53
        xmp = im.tag_v2.get(700) if kind == "TIFF" else im.info.get("xmp")
        assert xmp in (b"<x>hi</x>", "<x>hi</x>")


def test_a_big_tiff_is_written_in_strips(tmp_path):
    pytest.importorskip("tifffile")
    a = np.round(plane(700, 900) * 65535).astype(np.uint16)  # 3.8 MB: four strips
    (tmp_path / "o.tif").write_bytes(encode_tiff(a, None, None, None))
    with Image.open(tmp_path / "o.tif") as im:
        assert len(im.tag_v2[273]) > 1
    assert np.array_equal(np.round(decode_wide(tmp_path / "o.tif", "TIFF") * 65535), a)


def test_containers():
    assert container(b"\0\0\0\x18ftypheic") == "HEIF" and container(b"\0\0\0\x18ftypavif") == "AVIF"
    assert container(b"\x89PNG\r\n\x1a\n\0\0\0\0") == ""


def test_raw_is_developed_with_the_camera_white_balance(tmp_path):
    pytest.importorskip("rawpy")
    rgb = develop_raw(dng(tmp_path / "t.dng"), "t.dng", None)
    assert rgb.shape == (64, 96, 3) and rgb.dtype == np.float32
    middle = rgb[8:-8, 8:-8].reshape(-1, 3).mean(0)
    assert np.ptp(middle) < 0.02 * middle.mean()  # grey again: the camera's neutral was applied
    levels = len(np.unique(np.round(rgb[..., 1] * 65535)))
    assert levels > 256  # developed at 16 bits
    assert srgb_encode(np.array([0.0, 0.0031308, 1.0])).tolist() == pytest.approx(
        [0.0, 0.04045, 1.0], abs=1e-4
    )


def test_raw_errors(tmp_path):
    pytest.importorskip("rawpy")
    (tmp_path / "junk.cr2").write_bytes(b"II*\0" + bytes(200))
    with pytest.raises(ValueError, match="junk.cr2: not a raw file LibRaw .* knows"):
        develop_raw(tmp_path / "junk.cr2", "junk.cr2", None)
    with pytest.raises(ValueError, match="too large"):
        develop_raw(dng(tmp_path / "t.dng"), "t.dng", 100)


def test_heif_writes_and_reads(tmp_path):
    pytest.importorskip("pillow_heif")
    from dpst.files.formats import open_heif

    open_heif()
    buf = BytesIO()
    Image.fromarray(np.round(plane(32, 48) * 255).astype(np.uint8)).save(buf, "HEIF", quality=95)
    assert container(buf.getvalue()[:12]) == "HEIF"
