"""Photographers' files through the commands (docs/photographers.md): colour profiles, 16 bits, EXIF and
XMP, HEIC/AVIF and raw files; with a tiny random network.  Test media: tests/files/media.py."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dpst import io
from dpst.cli import main
from dpst.files.metadata import software
from tests.conftest import photo
from tests.files.media import (
    XMP,
    adobe_rgb_icc,
    camera_jpeg,
    display_p3_icc,
    dng,
    identity_cube,
    in_profile,
    plane,
    png16,
)

FAST = ["--size", "48", "--iterations", "2", "--no-stage2", "--no-filter", "--masks", "none", "-q"]


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def style(tmp_path) -> Path:
    Image.fromarray(np.round(photo(40, 40, 1) * 255).astype(np.uint8)).save(tmp_path / "s.png")
    return tmp_path / "s.png"


def _rms(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a.astype(np.float64) - b) ** 2)))


# --- colour profiles ------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [adobe_rgb_icc, display_p3_icc], ids=["Adobe RGB", "Display P3"])
def test_a_tagged_photo_gives_the_result_of_its_srgb_twin_in_its_own_space(tmp_path, run, style, make):
    icc = make()
    srgb = (photo(48, 64, 0) * 0.8 + 0.1).astype(np.float64)
    plain = png16(tmp_path / "srgb.png", srgb)
    tagged = png16(tmp_path / "tagged.png", in_profile(srgb, icc), icc)
    assert _rms(io.read_photo(tagged).rgb, srgb) < 0.5 / 255  # read back into sRGB
    for content, out in ((plain, "o_srgb.png"), (tagged, "o_tagged.png")):
        code, err = run(content, style, "-o", tmp_path / out)
        assert code == 0, err
    a, b = io.read_photo(tmp_path / "o_srgb.png"), io.read_photo(tmp_path / "o_tagged.png")
    assert b.info.profile == icc and a.info.profile is None  # written in the photo's own space
    assert a.info.depth == b.info.depth == 16
    assert _rms(a.rgb, b.rgb) < 1 / 255  # once both are in sRGB, the same result
    with Image.open(tmp_path / "o_tagged.png") as im:  # and its pixels are not sRGB's
        raw = np.asarray(im.convert("RGB"), np.float64) / 255
    assert _rms(raw, a.rgb) > 2 / 255
    code, err = run(tagged, style, "-o", tmp_path / "o_conv.png", "--output-profile", "srgb")
    converted = io.read_photo(tmp_path / "o_conv.png")
    assert code == 0 and converted.info.profile == io.srgb_profile() and _rms(converted.rgb, a.rgb) < 1 / 255


def test_score_reads_a_tagged_photo_in_srgb(tmp_path):
    from dpst.metrics import score

    icc = adobe_rgb_icc()
    srgb = photo(48, 64, 0).astype(np.float64)
    Image.fromarray(np.round(srgb * 255).astype(np.uint8)).save(tmp_path / "c.png")
    tagged8 = np.round(in_profile(srgb, icc) * 255).astype(np.uint8)
    Image.fromarray(tagged8).save(tmp_path / "c_adobe.png", icc_profile=icc)
    out = photo(48, 64, 3)
    plain = score(tmp_path / "c.png", tmp_path / "c.png", out, gram=False)
    tagged = score(tmp_path / "c_adobe.png", tmp_path / "c_adobe.png", out, gram=False)
    assert tagged["affine_rms"] == pytest.approx(plain["affine_rms"], rel=0.05)
    assert tagged["style_swd"] == pytest.approx(plain["style_swd"], rel=0.1, abs=0.3)


# --- bit depth ------------------------------------------------------------------------------------


def test_a_16_bit_gradient_keeps_its_levels_in_png_and_tiff(tmp_path, run, style):
    content = png16(tmp_path / "ramp.png", plane(120, 160))
    assert len(np.unique(io.read_photo(content).rgb[..., 0])) > 4000  # read with its low bits
    levels = {}
    for out, extra in (("o.png", ()), ("o.tif", ()), ("o8.png", ("--bit-depth", "8"))):
        code, err = run(content, style, "-o", tmp_path / out, *extra)
        assert code == 0, err
        with Image.open(tmp_path / out) as im:
            stored = io.read_photo(tmp_path / out)
            assert stored.info.depth == (8 if out == "o8.png" else 16) and im.format in ("PNG", "TIFF")
        levels[out] = len(np.unique(np.round(stored.rgb[..., 0] * 65535)))
    assert levels["o.png"] > 4000 and levels["o.tif"] > 4000 and levels["o8.png"] <= 256


def test_bit_depth_16_is_refused_for_jpeg_before_anything_runs(tmp_path, run, style):
    content = png16(tmp_path / "ramp.png", plane(48, 64))
    code, err = run(content, style, "-o", tmp_path / "o.jpg", "--bit-depth", "16")
    assert code == 2 and "--bit-depth 16 is for .png and .tif" in err and not (tmp_path / "o.jpg").exists()


def test_jpeg_quality_and_full_colour_resolution(tmp_path, run, style):
    content = tmp_path / "c.png"
    Image.fromarray(np.round(photo(48, 64, 0) * 255).astype(np.uint8)).save(content)
    sizes = {}
    for q in (95, 40):
        code, err = run(content, style, "-o", tmp_path / f"o{q}.jpg", "--jpeg-quality", q)
        assert code == 0, err
        with Image.open(tmp_path / f"o{q}.jpg") as im:
            assert im.layer[0][1:3] == im.layer[1][1:3] == (1, 1)  # 4:4:4: chroma not subsampled
        sizes[q] = (tmp_path / f"o{q}.jpg").stat().st_size
    assert sizes[40] < sizes[95]


# --- metadata -------------------------------------------------------------------------------------


def _upright() -> np.ndarray:
    """An 8-bit picture that shows which way is up: red top-left corner, the rest smooth."""
    a = np.round(photo(48, 64, 2) * 200).astype(np.uint8)
    a[:12, :16] = (250, 20, 20)
    return a


def test_exif_and_xmp_are_carried_and_the_pixels_are_upright(tmp_path, capsys):
    content = camera_jpeg(tmp_path / "cam.jpg", _upright())  # stored sideways, orientation 6
    cube = identity_cube(tmp_path / "id.cube")
    assert main(["apply", str(cube), str(content), "-o", str(tmp_path / "out"), "-q"]) == 0
    out = tmp_path / "out" / "cam.jpg"
    with Image.open(out) as im:
        pixels, ex, xmp = np.asarray(im.convert("RGB")), im.getexif(), im.info.get("xmp", b"")
    assert pixels.shape == (48, 64, 3) and np.abs(pixels.astype(int) - _upright()).mean() < 6
    assert pixels[:8, :8, 0].mean() > 220 and pixels[-8:, -8:, 0].mean() < 150  # the red corner top-left
    assert (ex[0x0112], ex[0x0131], ex[0x010F], ex[0x0110], ex[0x8298]) == (
        1, software(), "Canon", "EOS R5", "(c) A. Photographer"
    )  # fmt: skip
    sub = ex.get_ifd(0x8769)
    assert sub[0x9003] == "2024:05:01 09:59:58" and float(sub[0x829A]) == 1 / 250
    assert (sub[0xA002], sub[0xA003]) == (64, 48)
    assert not ex.get_ifd(0x8825) and b"GPS" not in xmp  # the position is dropped by default
    assert b"A. Photographer" in xmp and b'tiff:Orientation="1"' in xmp

    assert main(["apply", str(cube), str(content), "-o", str(tmp_path / "gps"), "-q", "--keep-gps"]) == 0
    with Image.open(tmp_path / "gps" / "cam.jpg") as im:
        assert im.getexif().get_ifd(0x8825)[1] == "N" and b"exif:GPSLatitude" in im.info["xmp"]

    args = ["apply", str(cube), str(content), "-o", str(tmp_path / "bare"), "-q", "--strip-metadata"]
    assert main(args) == 0
    with Image.open(tmp_path / "bare" / "cam.jpg") as im:
        assert not im.getexif() and "xmp" not in im.info
        assert np.abs(np.asarray(im.convert("RGB")).astype(int) - _upright()).mean() < 6


def test_stylize_carries_metadata_and_profile(tmp_path, run, style):
    icc = adobe_rgb_icc()
    content = camera_jpeg(tmp_path / "cam.jpg", _upright(), icc=icc)
    code, err = run(content, style, "-o", tmp_path / "o.tif")
    assert code == 0, err
    with Image.open(tmp_path / "o.tif") as im:
        ex = im.getexif()
        assert im.size == (64, 48) and im.info["icc_profile"] == icc
        assert ex[0x0112] == 1 and ex[0x010F] == "Canon" and ex[0x0131] == software()
        assert b"A. Photographer" in im.tag_v2[700]


def test_batch_writes_results_like_their_photos(tmp_path, capsys, tiny_weights_file, style):
    folder = tmp_path / "in"
    folder.mkdir()
    icc = display_p3_icc()
    camera_jpeg(folder / "cam.jpg", _upright(), icc=icc)
    png16(folder / "deep.png", plane(48, 64))
    out = tmp_path / "out"
    argv = ["batch", "--content", str(folder), "--style", str(style), "-o", str(out), "--workers", "0"]
    assert main([*argv, *FAST, "--weights", str(tiny_weights_file)]) == 0, capsys.readouterr().err
    cam, deep = io.read_photo(out / "cam__s.png"), io.read_photo(out / "deep__s.png")
    assert cam.info.profile == icc and cam.info.depth == 8 and deep.info.depth == 16
    with Image.open(out / "cam__s.png") as im:
        assert im.getexif()[0x010F] == "Canon" and b"GPS" not in im.info["xmp"]


# --- formats --------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt, suffix", [("HEIF", ".heic"), ("AVIF", ".avif")])
def test_heic_and_avif_are_read_and_written(tmp_path, run, style, fmt, suffix):
    if fmt == "HEIF":
        pytest.importorskip("pillow_heif")
        from dpst.files.formats import open_heif

        open_heif()
    else:
        from PIL import features

        if not features.check("avif"):
            pytest.skip("this Pillow has no AVIF")
    icc = display_p3_icc()
    upright = np.round(plane(48, 64) * 255).astype(np.uint8)  # smooth: lossy coding keeps it closely
    content = tmp_path / f"c{suffix}"
    xmp = XMP.replace(b'tiff:Orientation="6"', b'tiff:Orientation="1"')  # Pillow turns by XMP's too
    full = {"chroma": 444} if fmt == "HEIF" else {"subsampling": "4:4:4"}
    Image.fromarray(upright).save(content, fmt, quality=95, icc_profile=icc, xmp=xmp, **full)
    read = io.read_photo(content)
    expect = io.read_photo(_tagged_png(tmp_path, upright, icc)).rgb
    assert read.info.profile == icc and _rms(read.rgb, expect) < 4 / 255  # lossy, but the same picture
    code, err = run(content, style, "-o", tmp_path / f"o{suffix}")
    assert code == 0, err
    back = io.read_photo(tmp_path / f"o{suffix}")
    assert back.info.profile == icc and back.rgb.shape == (48, 64, 3)
    assert b"A. Photographer" in back.info.metadata.xmp


def _tagged_png(tmp_path: Path, rgb8: np.ndarray, icc: bytes) -> Path:
    Image.fromarray(rgb8).save(tmp_path / "ref.png", icc_profile=icc)
    return tmp_path / "ref.png"


def test_a_raw_file_is_developed_and_its_result_is_16_bit(tmp_path, run, style, capsys):
    pytest.importorskip("rawpy")
    raw = dng(tmp_path / "cam.dng", 64, 96)
    read = io.read_photo(raw)
    assert read.info.format == "RAW" and read.info.depth == 16
    code, err = run(raw, style, "-o", tmp_path / "o.png")
    assert code == 0, err
    assert io.read_photo(tmp_path / "o.png").info.depth == 16
    cube = identity_cube(tmp_path / "id.cube")
    assert main(["apply", str(cube), str(raw), "-o", str(tmp_path / "out"), "-q"]) == 0
    graded = io.read_photo(tmp_path / "out" / "cam.tif")  # a raw file's result is a TIFF
    assert graded.info.depth == 16 and _rms(graded.rgb, read.rgb) < 1 / 255


def test_without_the_extra_a_heic_or_raw_photo_is_one_line_naming_it(tmp_path, run, style, monkeypatch):
    heic = tmp_path / "c.heic"
    heic.write_bytes(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic" + bytes(64))
    raw = tmp_path / "c.cr3"
    raw.write_bytes(bytes(64))
    monkeypatch.setitem(sys.modules, "pillow_heif", None)  # as if not installed: import fails
    monkeypatch.setitem(sys.modules, "rawpy", None)
    for content in (heic, raw):
        code, err = run(content, style, "-o", tmp_path / "o.png")
        assert code == 2 and len(err.strip().splitlines()) == 1, err
        assert "pip install 'dpst[photo]'" in err and str(content) in err
    assert not (tmp_path / "o.png").exists()
