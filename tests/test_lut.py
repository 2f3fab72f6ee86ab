"""Looks as LUTs: dpst.fit_lut, dpst.load_lut, Lut.apply / save, and a real consumer (ffmpeg)."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
from PIL import Image

import dpst
from dpst.lut import Lut, LutSettings
from dpst.ops.lut import identity_table
from tests.conftest import photo
from tests.ops.test_lut import FOREIGN, look


@pytest.fixture(scope="module")
def pair() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    content = np.clip(photo(96, 128, 0) + rng.uniform(-0.2, 0.2, (96, 128, 3)), 0, 1).astype(np.float32)
    return content, look(content).astype(np.float32)


def test_fit_lut_recovers_a_look_and_says_how_it_was_made(pair):
    content, result = pair
    lut = dpst.fit_lut(content, result, size=17)
    assert isinstance(lut, dpst.Lut) and lut.size == 17
    out = lut.apply(content)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32 and out.shape == content.shape
    assert lut.fit_rms < 1.0 and np.sqrt(np.mean((out - result) ** 2)) * 255 == pytest.approx(
        lut.fit_rms, abs=1e-3
    )
    assert lut.comments[0].startswith("made by dpst") and "smoothness 0.0001" in lut.comments[0]
    assert "colours in and out are sRGB" in lut.comments[1]  # the header says which space it maps


def test_fit_lut_takes_images_of_other_sizes_and_apply_returns_pil_for_pil(pair):
    content, result = pair
    small = Image.fromarray((result[::2, ::2] * 255).round().astype(np.uint8))
    lut = dpst.fit_lut(content, small, size=9)  # the content is resized to the result's size
    assert isinstance(lut.apply(small), Image.Image) and lut.apply(small).size == small.size


def test_save_then_load_round_trips_and_writes_atomically(tmp_path, pair):
    lut = dpst.fit_lut(*pair, size=9, title="test look")
    path = lut.save(tmp_path / "look.cube")
    assert [p.name for p in tmp_path.iterdir()] == ["look.cube"]  # no temporary left behind
    back = dpst.load_lut(path)
    assert back.title == "test look" and back.size == 9
    assert np.abs(back.table - np.round(lut.table, 6)).max() < 1e-12
    assert back.to_cube().splitlines()[-729:] == lut.to_cube().splitlines()[-729:]


def test_a_foreign_cube_file_is_read_and_applied(tmp_path):
    (tmp_path / "film.cube").write_bytes(FOREIGN.encode())
    lut = dpst.load_lut(tmp_path / "film.cube")
    black_and_red = np.zeros((32, 32, 3), np.float32)
    black_and_red[:, 16:, 0] = 1.0
    out = lut.apply(black_and_red)
    assert np.allclose(out[0, 0], 0) and np.allclose(out[0, 31], [1.0, 0.1, 0.0])


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda d: d / "none.cube", FileNotFoundError, "no such file"),
        (lambda d: d, ValueError, "not a regular file"),
        (
            lambda d: (d / "1d.cube").write_text("LUT_1D_SIZE 2\n0 0 0\n1 1 1\n") and d / "1d.cube",
            ValueError,
            "1d.cube: line 1",
        ),
    ],
)
def test_load_lut_errors_name_the_file(tmp_path, make, error, message):
    with pytest.raises(error, match=message):
        dpst.load_lut(make(tmp_path))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"size": 1}, "--lut-size 1"),
        ({"size": 66}, "--lut-size"),
        ({"smoothness": 0.0}, "--lut-smoothness"),
        ({"anchor": -1.0}, "--lut-anchor"),
        ({"size": 3.5}, "whole number"),
        ({"smoothness": True}, "a number"),
    ],
)
def test_settings_are_checked_where_made(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LutSettings(**kwargs)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"table": np.zeros((3, 3, 2, 3))}, "shape"),
        ({"table": identity_table(2), "domain": np.ones((2, 3))}, "domain"),
    ],
)
def test_a_lut_checks_its_table_and_domain(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Lut(**kwargs)


def test_save_refuses_a_name_that_is_not_cube(tmp_path):
    with pytest.raises(ValueError, match="ending in .cube"):
        Lut(identity_table(2)).save(tmp_path / "look.png")


# --- a real consumer: ffmpeg's lut3d filter ------------------------------------------------------------


def _ffmpeg_apply(cube, src, dst) -> np.ndarray:
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")  # the test extra: pip install imageio-ffmpeg
    # PNG in, PNG out, rgb24 end to end: lut3d takes packed RGB, so no conversion (no YUV) is inserted;
    # ffmpeg logs any it inserts at -v verbose, and the identity test below would see one too
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "verbose", "-y", "-i", str(src)]
    cmd += ["-vf", f"lut3d=file={cube}:interp=trilinear", "-pix_fmt", "rgb24", str(dst)]
    run = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=60)
    assert "auto-inserting filter" not in run.stderr
    with Image.open(dst) as im:
        assert im.mode == "RGB"
        return np.asarray(im, dtype=np.float64)


@pytest.fixture(scope="module")
def noisy_png(tmp_path_factory):
    rng = np.random.default_rng(1)
    path = tmp_path_factory.mktemp("ffmpeg") / "in.png"
    Image.fromarray((rng.uniform(0, 1, (96, 128, 3)) * 255).astype(np.uint8)).save(path)
    return path


def test_ffmpeg_reads_our_identity_cube_exactly(tmp_path, noisy_png):
    Lut(identity_table(33), title="identity", comments=("a comment",)).save(tmp_path / "id.cube")
    out = _ffmpeg_apply(tmp_path / "id.cube", noisy_png, tmp_path / "out.png")
    assert np.array_equal(out, np.asarray(Image.open(noisy_png), dtype=np.float64))


@pytest.mark.parametrize("size", [17, 33])
def test_ffmpeg_lut3d_trilinear_matches_our_apply_within_1_level_rms(tmp_path, pair, noisy_png, size):
    lut = dpst.fit_lut(*pair, size=size, title="a look")
    lut.save(tmp_path / "look.cube")
    theirs = _ffmpeg_apply(tmp_path / "look.cube", noisy_png, tmp_path / "out.png")
    ours = np.asarray(lut.apply(noisy_png), dtype=np.float64)  # rounded to 8 bits, as written
    rms = np.sqrt(np.mean((theirs - ours) ** 2))
    assert rms < 1.0, rms  # measured 0.71 at both sizes: ffmpeg truncates to 8 bits where dpst rounds
    assert np.abs(theirs - ours).max() <= 1.0
    exact = lut.apply(np.asarray(Image.open(noisy_png), dtype=np.float32) / 255) * 255
    # the same trilinear map, truncated: every value is floor(ours), up to float32 rounding at a level
    assert ((theirs == np.floor(exact - 1e-3)) | (theirs == np.floor(exact + 1e-3))).all()
