"""``dpst video``: end to end with a tiny random network, bad input, and a real Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from dpst.cli import main
from tests.cli.conftest import sigint_default
from tests.conftest import save_photo
from tests.video.conftest import clips  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--size", "48", "--iterations", "4", "--no-stage2", "--no-filter", "--masks", "none", "-q"]


def test_a_clip_is_restyled_with_its_rate_aspect_and_length(clips, tmp_path, tiny_weights_file):  # noqa: F811
    from dpst.video import io as vio

    style = save_photo(tmp_path / "style.png")
    out = tmp_path / "out.mp4"
    args = [
        str(clips / "carphone_pristine.mp4"),
        str(style),
        "-o",
        str(out),
        "--weights",
        str(tiny_weights_file),
    ]
    assert main(["video", *args, *TINY]) == 0
    info = vio.probe(out)
    assert (info.frames, info.width, info.height) == (120, 176, 144)
    assert info.rate == Fraction(30000, 1001) and info.sample_aspect == Fraction(128, 117)


def test_save_keyframes_writes_one_per_shot(clips, tmp_path, capsys):  # noqa: F811
    style = save_photo(tmp_path / "style.png")
    args = ["video", str(clips / "bikes.mp4"), str(style), "-o", str(tmp_path / "o.mp4")]
    assert main([*args, "--save-keyframes", str(tmp_path / "keys"), "-q"]) == 0
    assert sorted(p.name for p in (tmp_path / "keys").iterdir()) == [f"shot{k:02d}.png" for k in range(1, 7)]
    assert not (tmp_path / "o.mp4").exists()
    mask = tmp_path / "m.png"
    save_photo(mask)
    code = main([*args, "--content-mask", str(mask), "--style-mask", str(mask), "-q"])
    err = capsys.readouterr().err
    assert code == 2 and "6 shots but 1 content masks" in err


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda d: d / "missing.mp4", "no such file"),
        (lambda d: (d / "notes.mp4").write_text("hello\n") and d / "notes.mp4", "not a video"),
        (lambda d: save_photo(d / "photo.png"), "a still image"),
    ],
)
def test_bad_input_is_exit_2_with_one_line(tmp_path, capsys, make, words):
    pytest.importorskip("av")
    style = save_photo(tmp_path / "style.png")
    code = main(["video", str(make(tmp_path)), str(style), "-o", str(tmp_path / "out.mp4")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and words in err
    assert not (tmp_path / "out.mp4").exists()


def test_a_bad_output_name_is_refused_before_any_work(clips, tmp_path, capsys):  # noqa: F811
    style = save_photo(tmp_path / "style.png")
    assert main(["video", str(clips / "bikes.mp4"), str(style), "-o", str(tmp_path / "o.gif")]) == 2
    assert "write the video as .mp4, .mov, .mkv" in capsys.readouterr().err


# Holds each frame a moment, standing for a long clip, so SIGINT lands while frames are written, and
# says on stderr when a few frames have been restyled (the test interrupts then, not after a fixed
# time that a loaded machine may not reach the first frame in).
WRAPPER = textwrap.dedent(
    """
    import sys, time
    import dpst.video.carry as carry

    real = carry.apply_dense
    done = [0]

    def slow(dense, frame):
        time.sleep(0.05)
        done[0] += 1
        if done[0] == 5:
            print("[test] 5 frames restyled", file=sys.stderr, flush=True)
        return real(dense, frame)

    carry.apply_dense = slow
    from dpst.cli import main
    sys.exit(main(sys.argv[1:]))
    """
)


def test_ctrl_c_while_writing_leaves_a_playable_file(clips, tmp_path, tiny_weights_file):  # noqa: F811
    from dpst.video import io as vio

    style = save_photo(tmp_path / "style.png")
    out = tmp_path / "out.mp4"
    cmd = [
        sys.executable,
        "-c",
        WRAPPER,
        "video",
        str(clips / "bigbuckbunny.mp4"),
        str(style),
        "-o",
        str(out),
        "--weights",
        str(tiny_weights_file),
        *TINY[:-1],
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stderr=subprocess.PIPE, text=True, env=env, preexec_fn=sigint_default
    )
    seen, deadline = "", time.time() + 120
    while "[test] 5 frames restyled" not in seen and time.time() < deadline:
        seen += proc.stderr.read(1)
    assert "[test] 5 frames restyled" in seen, seen  # 127 frames, 6 s at the least, are left to write
    proc.send_signal(signal.SIGINT)
    err = seen + proc.communicate(timeout=60)[1]
    assert proc.returncode == 130, err
    assert "interrupted; wrote the first" in err
    info = vio.probe(out)
    assert 0 < info.frames < 132 and info.has_audio and (info.width, info.height) == (1280, 720)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_without_opencv_the_local_look_is_one_line_naming_the_extra(clips, tmp_path, capsys, monkeypatch):  # noqa: F811
    style = save_photo(tmp_path / "style.png")
    out = tmp_path / "out.mp4"
    monkeypatch.setitem(sys.modules, "cv2", None)  # import cv2 raises ImportError
    code = main(["video", str(clips / "carphone_pristine.mp4"), str(style), "-o", str(out), "-q"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "pip install 'dpst[video]'" in err[0], err
    assert not out.exists()


def test_lut_scope_clip_shares_one_lut_over_the_shots_of_a_real_clip(clips, tmp_path, tiny_weights_file):  # noqa: F811
    from dpst.video import io as vio

    style = save_photo(tmp_path / "style.png")
    outs = {}
    for scope in ("shot", "clip"):
        out = outs[scope] = tmp_path / f"{scope}.mp4"
        args = [str(clips / "bikes.mp4"), str(style), "-o", str(out), "--weights", str(tiny_weights_file)]
        assert main(["video", *args, *TINY, "--look", "lut", "--lut-scope", scope]) == 0
        assert vio.probe(out).frames == 250
    # the colours shots 1 and 2 (either side of bikes' first cut, frame 30) share: with one LUT for
    # the clip they come out the same in both (up to H.264), with a LUT per shot they need not
    frames = {k: [f for _, f in vio.read_frames(p)] for k, p in outs.items()}
    inputs = [f for _, f in vio.read_frames(clips / "bikes.mp4")]

    def spread(look):  # how differently shots 1 and 2 map the colours they share (mean over a 16^3 grid)
        maps = []
        for lo, hi in ((0, 30), (30, 76)):
            src = np.concatenate([inputs[t].reshape(-1, 3) for t in range(lo, hi, 5)]).astype(int) // 16
            dst = np.concatenate([look[t].reshape(-1, 3) for t in range(lo, hi, 5)]).astype(float)
            cell = src[:, 0] * 256 + src[:, 1] * 16 + src[:, 2]
            n = np.bincount(cell, minlength=4096)
            sums = np.stack([np.bincount(cell, dst[:, c], minlength=4096) for c in range(3)], 1)
            maps.append((sums / np.maximum(n, 1)[:, None], n))
        both = (maps[0][1] > 50) & (maps[1][1] > 50)
        return np.abs(maps[0][0][both] - maps[1][0][both]).mean()

    assert spread(frames["clip"]) < 0.5 * spread(frames["shot"])
