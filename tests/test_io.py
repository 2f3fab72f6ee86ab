from __future__ import annotations

import os
import warnings
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dpst import io
from tests.conftest import photo


def _save(tmp_path, name, im):
    p = tmp_path / name
    im.save(p)
    return p


@pytest.mark.parametrize("mode", ["L", "LA", "RGBA", "P", "CMYK", "I;16"])
def test_modes_become_rgb(tmp_path, mode):
    rgb = Image.fromarray((photo(40, 50) * 255).astype(np.uint8))
    im = rgb.convert(mode) if mode != "I;16" else rgb.convert("L").convert(mode)
    ext = "tif" if mode == "CMYK" else "png"
    out = io.load_image(_save(tmp_path, f"x.{ext}", im))
    assert out.shape == (40, 50, 3) and out.dtype == np.float32
    assert 0 <= out.min() and out.max() <= 1


def test_16bit_scaled_to_unit_range(tmp_path):
    a = np.full((40, 40), 65535, np.uint16)
    a[:, :20] = 32768
    out = io.load_image(_save(tmp_path, "x.png", Image.fromarray(a)))
    assert out.max() == pytest.approx(1.0) and out.min() == pytest.approx(0.5, abs=1e-3)


def test_exif_orientation_is_honoured(tmp_path):
    im = Image.fromarray((photo(40, 60) * 255).astype(np.uint8))
    exif = im.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    p = tmp_path / "r.jpg"
    im.save(p, exif=exif)
    assert io.load_image(p).shape == (60, 40, 3)


def test_arrays_and_pil_accepted():
    a = photo(40, 40)
    assert np.allclose(io.load_image(a), a)
    assert io.load_image((a * 255).astype(np.uint8)).shape == (40, 40, 3)
    assert io.load_image(Image.fromarray((a * 255).astype(np.uint8))).shape == (40, 40, 3)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        io.load_image(a * 3)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p, "no such file"),
        (lambda p: (p.write_text("not an image"), p)[1], "not an image"),
        (lambda p: (Image.new("RGB", (20, 100)).save(p, format="PNG"), p)[1], "too small"),
    ],
)
def test_bad_inputs(tmp_path, make, message):
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        io.load_image(make(tmp_path / "bad.png"))


def test_decompression_bomb(tmp_path, monkeypatch):
    p = _save(tmp_path, "big.png", Image.new("RGB", (100, 100)))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 6000)  # 10000 px is 1.7× the limit: PIL only warns
    with pytest.raises(ValueError, match="too large"):
        io.load_image(p)


def test_check_output(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        io.check_output(tmp_path / "nope" / "o.png")
    with pytest.raises(ValueError, match="unsupported"):
        io.check_output(tmp_path / "o.gifx")
    src = _save(tmp_path, "in.png", Image.new("RGB", (40, 40)))
    with pytest.raises(ValueError, match="overwrite an input"):
        io.check_output(src, (src,))
    assert io.check_output(tmp_path / "o.jpg") == tmp_path / "o.jpg"


def test_save_is_atomic_and_leaves_no_temp(tmp_path, monkeypatch):
    out = tmp_path / "o.png"
    io.save_image(photo(40, 40), out)
    assert Image.open(out).size == (40, 40)
    before = out.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", boom)  # the temporary file is written, then the disk fills
    for name in ("o.png", "o.jpg"):  # dpst's own PNG writer, and Pillow's JPEG one
        target = tmp_path / name
        with pytest.raises(OSError):
            io.save_image(photo(40, 40, seed=1), target)
    assert out.read_bytes() == before  # the old file is intact
    assert [p.name for p in tmp_path.iterdir()] == ["o.png"]  # no temp left behind


def test_fit_long_side():
    assert io.fit_long_side(467, 700, 350) == (234, 350)
    assert io.fit_long_side(700, 530, 100) == (100, 76)


def test_16bit_is_full_precision_even_when_dark(tmp_path):
    # A 16-bit file is 16-bit whatever its brightest pixel: a dark frame must stay dark, and keep
    # levels that 8 bits would merge.
    a = np.arange(40 * 40, dtype=np.uint16).reshape(40, 40) // 8  # 0..199 of 65535
    out = io.load_image(_save(tmp_path, "dark.png", Image.fromarray(a)))
    np.testing.assert_allclose(out[..., 0], a / 65535.0, rtol=1e-6)
    assert len(np.unique(out)) == 200


def test_transparent_colour_is_composited_on_white(tmp_path):
    im = Image.fromarray((photo(40, 40) * 255).astype(np.uint8))
    im.putpixel((0, 0), (10, 20, 30))
    im.info["transparency"] = (10, 20, 30)  # a tRNS colour key: no alpha band, still transparent
    out = io.load_image(_save(tmp_path, "key.png", im))
    assert out[0, 0].tolist() == [1.0, 1.0, 1.0]


def test_animated_gif_reads_the_first_frame_and_closes_the_file(tmp_path):
    frames = [Image.new("RGB", (40, 40), c) for c in ((255, 0, 0), (0, 0, 255))]
    p = tmp_path / "a.gif"
    frames[0].save(p, save_all=True, append_images=frames[1:])
    out = io.load_image(p)
    assert out[0, 0].tolist() == [1.0, 0.0, 0.0]
    fds = Path("/proc/self/fd")
    if fds.is_dir():  # PIL keeps multi-frame files open after load(); we must not
        assert str(p) not in {os.path.realpath(fds / fd) for fd in os.listdir(fds)}


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: (p.write_bytes(b""), p)[1], "empty file"),
        (lambda p: (p.write_bytes(_png_bytes()[:200]), p)[1], "cannot read image"),  # truncated
        (lambda p: (p.write_bytes(_broken_chunk(_png_bytes())), p)[1], "cannot read image"),  # SyntaxError
        (lambda p: (p.mkdir(), p)[1], "is a folder"),
    ],
)
def test_broken_files_are_one_value_error(tmp_path, make, message):
    with pytest.raises(ValueError, match=message):
        io.load_image(make(tmp_path / "bad.png"))


def _png_bytes() -> bytes:
    buf = BytesIO()
    Image.fromarray((photo(40, 50) * 255).astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def _broken_chunk(data: bytes) -> bytes:
    """The PNG with the length of its first IDAT chunk wrong: PIL raises SyntaxError, not OSError."""
    at = data.index(b"IDAT") - 4
    return data[:at] + b"\x00\x00\x00\x01" + data[at + 4 :]


def test_check_output_under_a_regular_file(tmp_path):
    f = tmp_path / "somefile.txt"
    f.write_text("x")
    for out in (f / "out.png", f / "deeper" / "out.png"):
        with pytest.raises(ValueError, match="somefile.txt is a file, not a folder"):
            io.check_output(out)


def _palette_mask(h: int = 40, w: int = 40) -> np.ndarray:
    m = np.zeros((h, w, 3), np.uint8)
    m[:, : w // 2] = (0, 0, 255)
    m[:, w // 2 :] = (0, 255, 0)
    return m


def test_mask_in_palette_colours_is_read_silently(tmp_path):
    m = _palette_mask()
    m[:, 19:21] = (0, 128, 128)  # an anti-aliased edge: 5% of the pixels, unlabelled, no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = io.load_mask(_save(tmp_path, "m.png", Image.fromarray(m)))
    assert out.dtype == np.uint8 and (out == m).all()


def test_mask_partly_off_palette_warns(tmp_path):
    m = _palette_mask()
    m[:20] = (200, 120, 40)  # half the mask in a colour far from all nine
    with pytest.warns(UserWarning, match="50% of the mask's pixels are none of the nine mask colours"):
        io.load_mask(_save(tmp_path, "m.png", Image.fromarray(m)))


def test_mask_without_palette_colours_is_refused(tmp_path):
    p = _save(tmp_path, "m.png", Image.fromarray(np.full((40, 40, 3), (200, 120, 40), np.uint8)))
    with pytest.raises(ValueError, match="m.png: no pixel of the mask is one of the nine mask colours"):
        io.load_mask(p)
    with pytest.raises(ValueError, match="mask: no pixel"):
        io.load_mask(np.full((40, 40, 3), (0.8, 0.47, 0.16)))


def test_mask_honours_exif_and_alpha_like_photos(tmp_path):
    m = Image.fromarray(_palette_mask(30, 50))
    exif = Image.Exif()
    exif[0x0112] = 6
    p = tmp_path / "m.png"
    m.save(p, exif=exif)
    assert io.load_mask(p).shape == (50, 30, 3)
    rgba = Image.fromarray(_palette_mask()).convert("RGBA")
    rgba.putalpha(0)  # fully transparent: white, as a photo's alpha would be
    assert (io.load_mask(rgba) == 255).all()


# --- photographers' files (docs/photographers.md; more in tests/files and tests/cli/test_photos.py) ---


def test_a_16_bit_colour_png_keeps_its_low_bits(tmp_path):
    pytest.importorskip("imagecodecs")
    from tests.files.media import plane, png16

    rgb = np.round(plane(40, 50) * 65535) / 65535
    read = io.read_photo(png16(tmp_path / "deep.png", rgb))
    assert read.info.depth == 16 and np.abs(read.rgb - rgb).max() < 1e-6  # every bit
    assert not np.allclose(read.rgb * 255, np.round(read.rgb * 255), atol=1e-3)  # not 8-bit levels


def test_a_16_bit_tiff_from_another_writer_is_read_in_full(tmp_path):
    tifffile = pytest.importorskip("tifffile")
    from tests.files.media import plane

    a = np.round(plane(40, 50) * 65535).astype(np.uint16)
    tifffile.imwrite(tmp_path / "t.tif", a, photometric="rgb", compression="zlib")
    read = io.read_photo(tmp_path / "t.tif")
    assert read.info.depth == 16 and np.array_equal(np.round(read.rgb * 65535), a)


def test_without_the_extra_16_bit_colour_is_read_at_8_bits_with_a_warning(tmp_path, monkeypatch):
    import sys

    from dpst.files.formats import encode_png

    a = np.round(photo(40, 50) * 65535).astype(np.uint16)
    (tmp_path / "deep.png").write_bytes(encode_png(a, None, None, None))
    monkeypatch.setitem(sys.modules, "imagecodecs", None)
    with pytest.warns(UserWarning, match=r"read at 8 bits a channel: .*pip install 'dpst\[photo\]'"):
        read = io.read_photo(tmp_path / "deep.png")
    assert read.info.depth == 8 and np.abs(read.rgb - a / 65535).max() < 1 / 255


def test_photo_settings_are_checked_where_made():
    assert io.PhotoSettings().output_profile == "content"
    with pytest.raises(ValueError, match="--bit-depth 12: use 8 or 16"):
        io.PhotoSettings(bit_depth=12)
    with pytest.raises(ValueError, match="--jpeg-quality 0"):
        io.PhotoSettings(jpeg_quality=0)
    with pytest.raises(ValueError, match="--output-profile 'p3'"):
        io.PhotoSettings(output_profile="p3")


def test_an_untagged_photo_stays_untagged_and_an_array_has_no_metadata(tmp_path):
    out = io.save_photo(photo(40, 40), tmp_path / "o.png", io.read_photo(photo(40, 40)))
    with Image.open(out) as im:
        assert "icc_profile" not in im.info and not im.getexif() and im.mode == "RGB"


def test_a_grey_photo_with_a_grey_profile_is_converted(tmp_path):
    codecs = pytest.importorskip("imagecodecs")
    grey = codecs.cms_profile("gray", gamma=1.0)  # linear: mid-grey 0.5 is sRGB 0.735
    Image.new("L", (40, 40), 128).save(tmp_path / "g.png", icc_profile=grey)
    read = io.read_photo(tmp_path / "g.png")
    assert read.info.space == "GRAY" and abs(float(read.rgb.mean()) - 0.737) < 0.01
    out = io.save_photo(read.rgb, tmp_path / "o.png", read)  # a colour result: written in sRGB
    with Image.open(out) as im:
        assert im.info["icc_profile"] == io.srgb_profile()


def test_grey_pixels_under_an_rgb_profile_are_grey_in_that_space(tmp_path):
    codecs = pytest.importorskip("imagecodecs")
    primaries = [0.64, 0.33, 1.0, 0.30, 0.60, 1.0, 0.15, 0.06, 1.0]  # sRGB's, with a linear tone curve
    linear = codecs.cms_profile("rgb", whitepoint=[0.3127, 0.3290, 1.0], primaries=primaries, gamma=1.0)
    Image.new("L", (40, 40), 128).save(tmp_path / "g.jpg", icc_profile=linear, quality=100)
    rgb = io.read_photo(tmp_path / "g.jpg").rgb
    assert np.ptp(rgb.mean((0, 1))) < 2 / 255 and abs(float(rgb.mean()) - 0.737) < 0.01  # linear 0.5
