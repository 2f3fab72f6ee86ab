from __future__ import annotations

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

    monkeypatch.setattr(Image.Image, "save", boom)
    with pytest.raises(OSError):
        io.save_image(photo(40, 40, seed=1), out)
    assert out.read_bytes() == before  # the old file is intact
    assert [p.name for p in tmp_path.iterdir()] == ["o.png"]  # no temp left behind


def test_fit_long_side():
    assert io.fit_long_side(467, 700, 350) == (234, 350)
    assert io.fit_long_side(700, 530, 100) == (100, 76)
