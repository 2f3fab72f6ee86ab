"""dpst batch: manifest parsing, the ledger (resume), failure isolation, the local pool and Ray."""

from __future__ import annotations

import pytest

from dpst.batch.runners import (
    import_ray,
)
from dpst.cli.batch import main
from tests.batch.conftest import _ledger, _photo


def test_a_corrupt_photo_fails_alone_and_the_exit_code_says_so(album, tmp_path, weights, fast, capsys):
    (album / "b.png").write_bytes(b"this is not a PNG")
    out = tmp_path / "out"
    argv = ["--content", str(album), "--style", str(album / "look.png"), "-o", str(out), "--workers", "0"]
    argv += ["--size", "48", "--iterations", "2", "--no-stage2", "--no-filter", "--weights", str(weights)]
    assert main(argv) == 1
    jobs = _ledger(out)["jobs"]
    assert jobs["b__look.png"]["status"] == "failed" and "not an image file" in jobs["b__look.png"]["error"]
    assert {k for k, v in jobs.items() if v["status"] == "done"} == {
        "a__look.png",
        "c__look.png",
        "look__look.png",
    }
    assert (out / "a__look.png").is_file() and not (out / "b__look.png").exists()
    err = capsys.readouterr().err
    assert "failed  " in err and "b.png" in err and "3 done, 0 skipped, 1 failed" in err
    _photo(album / "b.png", 1)  # fixed: the next run does only that one
    assert main(argv) == 0
    assert "1 done, 3 skipped, 0 failed" in capsys.readouterr().err


def test_main_returns_130_on_ctrl_c(album, tmp_path, monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("dpst.cli.batch.run_batch", interrupted)
    assert (
        main(["--content", str(album), "--style", str(album / "look.png"), "-o", str(tmp_path / "o")]) == 130
    )
    assert "run the same command to resume" in capsys.readouterr().err


def test_usage_errors(album, tmp_path):
    look = str(album / "look.png")
    with pytest.raises(ValueError, match="give a MANIFEST, or --content DIR"):
        main(["-o", str(tmp_path)])
    with pytest.raises(ValueError, match="needs --style"):
        main(["--content", str(album), "-o", str(tmp_path)])
    with pytest.raises(ValueError, match="same folder"):
        main(["--content", str(album), "--style", look, "-o", str(album)])
    with pytest.raises(ValueError, match="--workers must be 0"):
        main(["--content", str(album), "--style", look, "-o", str(tmp_path), "--workers", "-1"])
    with pytest.raises(ValueError, match="--weights .*: no such file"):
        main(["--content", str(album), "--style", look, "-o", str(tmp_path), "--weights", "nope.pth"])


def test_without_ray_the_error_says_how_to_install_it(album, tmp_path, monkeypatch, capsys):
    from dpst.cli import main as dpst_main

    monkeypatch.setitem(__import__("sys").modules, "ray", None)
    with pytest.raises(ValueError, match=r"pip install 'dpst\[ray\]'"):
        import_ray()
    argv = ["batch", "--content", str(album), "--style", str(album / "look.png"), "-o", str(tmp_path / "o")]
    assert dpst_main([*argv, "--ray", "auto"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--ray needs Ray" in err and not (tmp_path / "o").exists()
