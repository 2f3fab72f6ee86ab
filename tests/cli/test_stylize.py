from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from dpst.cli import main
from dpst.config import Config
from tests.conftest import save_photo

FAST = ["--size", "48", "--iterations", "2", "--no-stage2", "--no-filter", "-q"]


@pytest.fixture
def pair(tmp_path):
    return save_photo(tmp_path / "c.png", 48, 64, 0), save_photo(tmp_path / "s.png", 40, 40, 1)


def _run(capsys, argv):
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    return code, err


def test_help_lists_settings_with_defaults(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for flag in (
        "--content-mask",
        "--style-mask",
        "--iterations",
        "--size",
        "--lambda",
        "--save-every",
        "-q",
        "--preset",
    ):
        assert flag in out
    assert "(default: 512)" in out


def test_preset_then_flags_on_top():
    from dpst.cli.common import config_from_args
    from dpst.cli.stylize import build_parser

    def cfg(*argv):
        return config_from_args(build_parser().parse_args(["c.png", "s.png", "-o", "o.png", *argv]))

    assert cfg() == Config()
    fast = cfg("--preset", "fast")
    assert fast == Config.preset("fast") and fast.size < Config().size
    mixed = cfg("--preset", "paper", "--iterations", "7", "--no-filter")
    assert (mixed.size, mixed.iterations, mixed.filter, mixed.init) == (700, 7, False, "noise")
    with pytest.raises(ValueError, match="--preset: invalid choice: 'slow'"):
        build_parser().parse_args(["c.png", "s.png", "-o", "o.png", "--preset", "slow"])


def test_python_dash_m_works(tmp_path):
    r = subprocess.run([sys.executable, "-m", "dpst", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "dpst" in r.stdout


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda d, c, s: [d / "missing.png", s, "-o", d / "o.png"], "no such file"),
        (
            lambda d, c, s: [(d / "t.png").write_text("x") and d / "t.png", s, "-o", d / "o.png"],
            "not an image",
        ),
        (lambda d, c, s: [c, s, "-o", d / "no" / "o.png"], "does not exist"),
        (lambda d, c, s: [c, s, "-o", c], "overwrite an input"),
        (lambda d, c, s: [c, s, "-o", d / "o.xyz"], "unsupported output"),
        (lambda d, c, s: [c, s, "-o", d / "o.png", "--content-mask", c], "both masks"),
    ],
)
def test_bad_input_one_line_exit_2_nothing_written(tmp_path, pair, capsys, tiny_weights_file, setup, message):
    before = set(tmp_path.rglob("*"))
    code, err = _run(capsys, [*setup(tmp_path, *pair), *FAST, "--weights", tiny_weights_file])
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    after = set(tmp_path.rglob("*")) - before
    assert all(p.name == "t.png" for p in after)


def test_tiny_image_rejected(tmp_path, pair, capsys, tiny_weights_file):
    small = tmp_path / "small.png"
    Image.new("RGB", (20, 60)).save(small)
    code, err = _run(
        capsys, [small, pair[1], "-o", tmp_path / "o.png", *FAST, "--weights", tiny_weights_file]
    )
    assert code == 2 and "too small" in err


def test_missing_weights_one_line(tmp_path, pair, capsys):
    code, err = _run(capsys, [*pair, "-o", tmp_path / "o.png", *FAST, "--weights", tmp_path / "none.pth"])
    assert code == 2 and "weights file not found" in err


def test_run_writes_output_and_snapshots(tmp_path, pair, capsys, tiny_weights_file):
    out = tmp_path / "o.jpg"
    args = [*pair, "-o", out, "--size", "48", "--iterations", "4", "--no-stage2", "--no-filter"]
    code, err = _run(capsys, [*args, "--save-every", "2", "--weights", tiny_weights_file])
    assert code == 0, err
    assert Image.open(out).size == (64, 48)  # the content photo's own size
    assert sorted(p.name for p in tmp_path.glob("o_s1_*.jpg")) == ["o_s1_0002.jpg", "o_s1_0004.jpg"]
    assert "stage 1" in err  # the progress bar


def test_ctrl_c_writes_current_result(tmp_path, pair, capsys, tiny_weights_file, monkeypatch):
    import dpst.neural.lbfgs

    real = dpst.neural.lbfgs.LBFGS.step
    calls = {"n": 0}

    def step(self, closure):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(self, closure)

    monkeypatch.setattr(dpst.neural.lbfgs.LBFGS, "step", step)
    out = tmp_path / "o.png"
    code, err = _run(
        capsys,
        [
            *pair,
            "-o",
            out,
            *FAST[:2],
            "--iterations",
            "10",
            "--no-filter",
            "-q",
            "--weights",
            tiny_weights_file,
        ],
    )
    assert code == 130
    assert "interrupted" in err
    assert np.asarray(Image.open(out)).shape == (48, 64, 3)


def test_save_masks_writes_palette_masks_and_uses_them(tmp_path, pair, capsys, tiny_weights_file):
    from dpst.ops.palette import labels_from_colors

    folder = tmp_path / "new" / "masks"  # does not exist yet: made, as users expect
    out = tmp_path / "o.png"
    code, err = _run(
        capsys, [*pair, "-o", out, *FAST, "--weights", tiny_weights_file, "--save-masks", folder]
    )
    assert code == 0, err
    c_mask, s_mask = Image.open(folder / "c_mask.png"), Image.open(folder / "s_mask.png")
    assert c_mask.size == (64, 48) and s_mask.size == (40, 40)  # each photo's own size
    labels = labels_from_colors(np.asarray(c_mask))
    assert labels.min() >= 0  # every pixel is a palette colour
    assert out.is_file()


def test_save_masks_leaves_the_run_as_it_is_without_it(tmp_path, pair, capsys, tiny_weights_file):
    # stage 3 runs here only with the settings of dpst's own masks (its trigger is 0 there, 100 with
    # masks given), so a run that took the masks it saved for given ones would skip it
    common = [*pair, "--size", "32", "--iterations", "2", "--stage3-iterations", "1", "--stage3-texture",
              "100", "--stage3-texture-auto", "0", "--no-filter", "--weights", tiny_weights_file]  # fmt: skip
    plain, saved, given, again = (tmp_path / f"{n}.png" for n in ("plain", "saved", "given", "again"))
    assert _run(capsys, [*common, "-q", "-o", plain])[0] == 0
    code, err = _run(capsys, [*common, "-o", saved, "--save-masks", tmp_path / "m"])
    assert code == 0, err
    line = next(x for x in err.splitlines() if x.startswith("dpst: wrote"))
    flags = line.split(": add ")[1].split(" for the settings")[0].split()
    assert flags[0] == "--stage3-texture" and float(flags[1]) == 0
    masks = ["--content-mask", tmp_path / "m" / "c_mask.png", "--style-mask", tmp_path / "m" / "s_mask.png"]
    assert _run(capsys, [*common, "-q", "-o", given, *masks])[0] == 0
    assert _run(capsys, [*common, "-q", "-o", again, *masks, *flags])[0] == 0
    image = lambda path: np.asarray(Image.open(path)).astype(float)  # noqa: E731
    np.testing.assert_array_equal(image(saved), image(again))  # the flags it names: the same run
    assert not np.array_equal(image(saved), image(given))  # not the settings of masks given


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--content-mask", "m.png", "--style-mask", "m.png"], "masks were given"),
        (["--masks", "none"], "--masks auto"),
    ],
)
def test_save_masks_misuse_is_one_line(tmp_path, pair, capsys, tiny_weights_file, extra, message):
    Image.new("RGB", (64, 48)).save(tmp_path / "m.png")
    extra = [str(tmp_path / e) if e == "m.png" else e for e in extra]
    args = [*pair, "-o", tmp_path / "o.png", *FAST, "--weights", tiny_weights_file, "--save-masks", tmp_path]
    code, err = _run(capsys, [*args, *extra])
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o.png").exists()


def test_save_masks_under_a_regular_file_is_one_line(tmp_path, pair, capsys, tiny_weights_file):
    (tmp_path / "f").write_text("a file")
    out = tmp_path / "o.png"
    argv = [*pair, "-o", out, *FAST, "--weights", tiny_weights_file, "--save-masks", tmp_path / "f"]
    code, err = _run(capsys, argv)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "is a file" in err
    assert not out.exists()


def test_strokes_as_masks_and_save_masks_writes_them_completed(tmp_path, pair, capsys, tiny_weights_file):
    from dpst.ops.palette import PALETTE, labels_from_colors

    def strokes(h, w, left, right):
        a = np.zeros((h, w, 4), np.uint8)  # transparent: unpainted
        rows = slice(h // 3, 2 * h // 3)
        a[rows, 2:5, :3], a[rows, w - 5 : w - 2, :3] = PALETTE[left], PALETTE[right]
        a[rows, 2:5, 3] = a[rows, w - 5 : w - 2, 3] = 255
        return Image.fromarray(a, "RGBA")

    strokes(48, 64, 0, 3).save(tmp_path / "cs.png")
    strokes(40, 40, 0, 3).save(tmp_path / "ss.png")
    folder, out = tmp_path / "masks", tmp_path / "o.png"
    argv = [
        *pair,
        "-o",
        out,
        *FAST,
        "--weights",
        tiny_weights_file,
        "--save-masks",
        folder,
        "--masks",
        "none",
    ]
    masks = ["--content-mask", tmp_path / "cs.png", "--style-mask", tmp_path / "ss.png"]
    code, err = _run(capsys, [*argv, *masks])
    assert code == 0, err
    done = labels_from_colors(np.asarray(Image.open(folder / "c_mask.png")))
    assert done.shape == (48, 64) and set(np.unique(done)) == {0, 3}  # every pixel given a stroke's label
    rows = slice(48 // 3, 2 * 48 // 3)
    assert (done[rows, 2:5] == 0).all() and (done[rows, -5:-2] == 3).all()  # the strokes keep their labels
    # beside each stroke its label wins (the prior may give a far corner that looks like the other
    # stroke to it: this synthetic photo has no regions to follow)
    assert (done[:, :8] == 0).mean() > 0.9 and (done[:, -8:] == 3).mean() > 0.9
    assert out.is_file()


def test_strokes_correct_the_automatic_masks_and_save_masks_writes_them(
    tmp_path, pair, capsys, tiny_weights_file
):
    from dpst.ops.palette import PALETTE, labels_from_colors
    from dpst.segment import StrokeSettings

    argv = [*pair, *FAST, "--weights", tiny_weights_file, "--masks", "correspond"]
    code, err = _run(capsys, [*argv, "-o", tmp_path / "a.png", "--save-masks", tmp_path / "auto"])
    assert code == 0, err
    auto = labels_from_colors(np.asarray(Image.open(tmp_path / "auto" / "c_mask.png")))
    a = np.zeros((48, 64, 4), np.uint8)  # one stroke, of a colour the automatic masks do not use
    a[20:28, 30:33] = [*PALETTE[4], 255]
    Image.fromarray(a, "RGBA").save(tmp_path / "cs.png")
    out = tmp_path / "o.png"
    code, err = _run(
        capsys, [*argv, "-o", out, "--content-mask", tmp_path / "cs.png", "--save-masks", tmp_path / "f"]
    )
    assert code == 0, err
    fixed = labels_from_colors(np.asarray(Image.open(tmp_path / "f" / "c_mask.png")))
    assert (fixed[20:28, 30:33] == 4).all() and 4 not in auto  # the stroke's colour, where it was painted
    yy, xx = np.mgrid[0:48, 0:64]
    far = np.hypot(yy - 24, xx - 31) > StrokeSettings().reach * 64 + 4
    np.testing.assert_array_equal(fixed[far], auto[far])  # beyond its reach: the automatic masks
    style = labels_from_colors(np.asarray(Image.open(tmp_path / "f" / "s_mask.png")))
    auto_style = labels_from_colors(np.asarray(Image.open(tmp_path / "auto" / "s_mask.png")))
    np.testing.assert_array_equal(style, auto_style)  # no strokes there: the automatic mask
    assert out.is_file()


def test_verbose_says_what_was_chosen_for_the_photo(tmp_path, pair, capsys, tiny_weights_file):
    out = tmp_path / "o.png"
    argv = [*pair, "-o", out, "--size", "48", "--iterations", "2", "--masks", "none", "--f-radius", "3"]
    code, err = _run(capsys, [*argv, "-q", "--verbose", "--weights", tiny_weights_file])
    assert code == 0, err
    line = next(x for x in err.splitlines() if x.startswith("dpst: for this photo: "))
    assert "lambda " in line and "filtered" in line
    code, err = _run(capsys, [*argv, "-q", "--weights", tiny_weights_file])
    assert code == 0 and "for this photo" not in err
