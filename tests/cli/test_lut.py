"""``dpst lut``, ``dpst apply`` and ``dpst ... --lut``: what they write, and their one-line errors."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import dpst
from dpst.cli import main
from dpst.lut import Lut
from dpst.ops.lut import identity_table
from tests.cli.test_stylize import FAST
from tests.conftest import save_photo


@pytest.fixture
def pair(tmp_path):
    return save_photo(tmp_path / "c.png", 48, 64, 0), save_photo(tmp_path / "s.png", 40, 40, 1)


@pytest.fixture
def fast(tiny_weights_file):
    return [*FAST, "--masks", "none", "--weights", str(tiny_weights_file)]


@pytest.fixture
def cube(tmp_path) -> Lut:
    """A darkening look saved as tmp/look.cube."""
    lut = Lut(identity_table(9) * 0.5)
    lut.save(tmp_path / "look.cube")
    return lut


def _run(capsys, argv) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    return code, capsys.readouterr().err


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_lut_writes_only_the_cube(tmp_path, pair, fast, capsys):
    before = set(tmp_path.iterdir())
    code, err = _run(capsys, ["lut", *pair, "-o", tmp_path / "look.cube", "--lut-size", "17", *fast])
    assert code == 0, err
    assert set(tmp_path.iterdir()) - before == {tmp_path / "look.cube"}
    lut = dpst.load_lut(tmp_path / "look.cube")
    assert lut.size == 17 and lut.title == "dpst: c.png in the look of s.png"
    text = (tmp_path / "look.cube").read_text()
    assert "# made by dpst" in text and "--preset default, masks none" in text


def test_stylize_with_lut_writes_the_result_and_its_look(tmp_path, pair, fast, capsys):
    out, look = tmp_path / "o.png", tmp_path / "look.cube"
    code, err = _run(capsys, [*pair, "-o", out, "--lut", look, "--lut-size", "9", *fast])
    assert code == 0, err
    result = np.asarray(Image.open(out), dtype=np.float64)
    through_lut = np.asarray(dpst.load_lut(look).apply(pair[0]), dtype=np.float64)
    assert through_lut.shape == result.shape == (48, 64, 3)
    assert np.sqrt(np.mean((through_lut - result) ** 2)) < 12  # the look, not the identity
    assert np.sqrt(np.mean((through_lut - np.asarray(Image.open(pair[0]))) ** 2)) > 12


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--lut", "look.txt"], "ending in .cube"),
        (["--lut", "no/look.cube"], "does not exist"),
        (["--lut", "l.cube", "--lut-size", "1"], "--lut-size 1"),
        (["--lut", "l.cube", "--lut-smoothness", "0"], "--lut-smoothness 0"),
        (["--lut", "l.cube", "--lut-size", "x"], "--lut-size: invalid int value"),
    ],
)
def test_bad_lut_flags_are_one_line_before_any_work(tmp_path, pair, fast, capsys, extra, message):
    before = set(tmp_path.rglob("*"))
    extra = [str(tmp_path / e) if e.endswith((".txt", ".cube")) else e for e in extra]
    code, err = _run(capsys, [*pair, "-o", tmp_path / "o.png", *fast, *extra])
    assert code == 2 and message in _one_line(err)
    assert set(tmp_path.rglob("*")) == before


def test_lut_command_checks_its_output_first(tmp_path, pair, fast, capsys):
    code, err = _run(capsys, ["lut", *pair, "-o", tmp_path / "look.png", *fast])
    assert code == 2 and "ending in .cube" in _one_line(err)


def test_ctrl_c_in_lut_writes_nothing(tmp_path, pair, fast, capsys, monkeypatch):
    import dpst.neural.lbfgs

    real = dpst.neural.lbfgs.LBFGS.step
    calls = {"n": 0}

    def step(self, closure):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(self, closure)

    monkeypatch.setattr(dpst.neural.lbfgs.LBFGS, "step", step)
    before = set(tmp_path.iterdir())
    code, err = _run(capsys, ["lut", *pair, "-o", tmp_path / "look.cube", *fast, "--iterations", "5"])
    assert code == 130 and "nothing written" in err
    assert set(tmp_path.iterdir()) == before


def test_apply_writes_each_photo_under_its_name_and_makes_the_folder(tmp_path, pair, cube, capsys):
    jpg = tmp_path / "b.jpg"
    Image.open(pair[1]).save(jpg, quality=95)
    outdir = tmp_path / "new" / "looks"
    code, err = _run(capsys, ["apply", tmp_path / "look.cube", pair[0], jpg, "-o", outdir])
    assert code == 0, err
    assert sorted(p.name for p in outdir.iterdir()) == ["b.jpg", "c.png"]
    photo = np.asarray(Image.open(pair[0]), dtype=np.float64)
    assert (
        np.abs(np.asarray(Image.open(outdir / "c.png"), dtype=np.float64) - photo * 0.5).max() <= 0.5 + 1e-9
    )
    assert Image.open(outdir / "b.jpg").format == "JPEG" and Image.open(outdir / "b.jpg").size == (40, 40)
    assert err.count("wrote") == 2


def test_apply_reads_a_foreign_cube(tmp_path, pair, capsys):
    from tests.ops.test_lut import FOREIGN

    (tmp_path / "film.cube").write_bytes(FOREIGN.encode())
    code, err = _run(capsys, ["apply", tmp_path / "film.cube", pair[0], "-o", tmp_path / "out", "-q"])
    assert code == 0 and err == ""
    assert Image.open(tmp_path / "out" / "c.png").size == (64, 48)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d, c: ["apply", d / "look.cube", d / "none.png", "-o", d / "out"], "none.png: no such file"),
        (lambda d, c: ["apply", d / "none.cube", c, "-o", d / "out"], "none.cube: no such file"),
        (lambda d, c: ["apply", d / "look.cube", c, "-o", d], "would overwrite it"),
        (lambda d, c: ["apply", d / "look.cube", c, "-o", c], "is a file, not a folder"),
        (lambda d, c: ["apply", d / "look.cube", c, d / "sub" / "c.png", "-o", d / "out"], "same file name"),
        (lambda d, c: ["apply", d / "look.cube", _bmp(d), "-o", d / "out"], "would be a .bmp file"),
        (
            lambda d, c: ["apply", _text(d, "1d.cube", "LUT_1D_SIZE 2\n0 0 0\n1 1 1\n"), c, "-o", d / "out"],
            "1D LUT",
        ),
        (lambda d, c: ["apply", c, c, "-o", d / "out"], "not a text file"),
        (lambda d, c: ["apply", d / "look.cube", "-o", d / "out"], "the following arguments are required"),
    ],
)
def test_apply_errors_are_one_line_exit_2_nothing_written(tmp_path, pair, cube, capsys, make, message):
    (tmp_path / "sub").mkdir()
    save_photo(tmp_path / "sub" / "c.png")
    argv = make(tmp_path, pair[0])
    before = set(tmp_path.rglob("*"))
    code, err = _run(capsys, argv)
    assert code == 2 and message in _one_line(err)
    assert set(tmp_path.rglob("*")) == before


def _bmp(folder):
    Image.new("RGB", (40, 40)).save(folder / "x.bmp")
    return folder / "x.bmp"


def _text(folder, name, text):
    (folder / name).write_text(text)
    return folder / name


def test_help_shows_the_lut_settings_and_defaults(capsys):
    for argv in (["lut", "--help"], ["--help"]):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 0
        out = capsys.readouterr().out
        assert "--lut-size N" in out and "(default: 33)" in out and "--lut-smoothness X" in out
    with pytest.raises(SystemExit):
        main(["apply", "--help"])
    assert "LOOK.cube" in capsys.readouterr().out
