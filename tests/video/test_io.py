from __future__ import annotations

import dataclasses
from fractions import Fraction
from itertools import islice

import av
import numpy as np
import pytest

from dpst.video import io as vio


def _frames(path):
    return list(vio.read_frames(path))


def test_carphone_round_trip_keeps_rate_count_pts_and_pixel_aspect(clips, tmp_path):
    src = clips / "carphone_pristine.mp4"
    info = vio.probe(src)
    assert (info.width, info.height, info.frames) == (176, 144, 120)
    assert info.rate == Fraction(30000, 1001) and info.sample_aspect == Fraction(128, 117)
    out = vio.write_video(tmp_path / "c.mp4", src, vio.read_frames(src, info), info)
    back = vio.probe(out)
    assert (back.width, back.height, back.frames, back.rate) == (176, 144, 120, info.rate)
    assert back.sample_aspect == Fraction(128, 117) and back.time_base == info.time_base
    a, b = _frames(src), _frames(out)
    assert [p for p, _ in a] == [p for p, _ in b]
    diff = np.stack([x.astype(np.float64) - y for (_, x), (_, y) in zip(a, b)])
    # H.264 at crf 18 changes pixels a little, but no colour shifts: the mean difference is ~0
    assert np.abs(diff).mean() < 4 and np.abs(diff.mean(axis=(0, 1, 2))).max() < 0.8


def test_audio_is_kept(clips, tmp_path):
    src = clips / "bigbuckbunny.mp4"
    info = vio.probe(src)
    assert info.has_audio and (info.width, info.height, info.rate) == (1280, 720, 25)
    short = dataclasses.replace(info, frames=10)
    out = vio.write_video(tmp_path / "b.mp4", src, islice(vio.read_frames(src, info), 10), short)
    with av.open(str(out)) as c:
        assert c.streams.audio and c.streams.audio[0].codec_context.name == "aac"
        assert c.streams.audio[0].codec_context.sample_rate == 48000
        samples = sum(f.samples for f in c.decode(audio=0))
    assert samples > 48000 * 0.3  # 10 frames at 25 fps is 0.4 s; nothing was re-encoded away
    assert vio.probe(out).frames == 10


@pytest.mark.parametrize("colorspace, color_range", [(1, 1), (1, 2), (5, 1), (6, 2)])
def test_colour_tags_are_kept_and_colours_do_not_shift(clips, tmp_path, colorspace, color_range):
    src = clips / "carphone_pristine.mp4"
    info = dataclasses.replace(
        vio.probe(src),
        colorspace=colorspace,
        color_range=color_range,
        color_primaries=1,
        color_trc=1,
        frames=5,
    )
    frames = list(islice(vio.read_frames(src), 5))
    out = vio.write_video(tmp_path / "t.mp4", src, iter(frames), info)
    back = vio.probe(out)
    assert (back.colorspace, back.color_range, back.color_primaries, back.color_trc) == (
        colorspace,
        color_range,
        1,
        1,
    )
    again = _frames(out)
    diff = np.stack([x.astype(np.float64) - y for (_, x), (_, y) in zip(frames, again)])
    assert np.abs(diff.mean(axis=(0, 1, 2))).max() < 0.8 and np.abs(diff).mean() < 4


def test_ctrl_c_leaves_a_playable_file_of_the_frames_done(clips, tmp_path):
    src = clips / "bigbuckbunny.mp4"
    info = vio.probe(src)

    def frames():
        for i, f in enumerate(vio.read_frames(src, info)):
            if i == 7:
                raise KeyboardInterrupt
            yield f

    with pytest.raises(vio.Interrupted) as stop:
        vio.write_video(tmp_path / "part.mp4", src, frames(), info)
    assert stop.value.frames == 7
    back = vio.probe(tmp_path / "part.mp4")
    assert back.frames == 7 and back.has_audio
    assert not [p for p in tmp_path.iterdir() if p.name != "part.mp4"]  # no temporary left


def test_bad_inputs_are_one_clear_error(tmp_path):
    pytest.importorskip("av")
    with pytest.raises(FileNotFoundError, match="no such file"):
        vio.probe(tmp_path / "missing.mp4")
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n")
    with pytest.raises(ValueError, match="not a video"):
        vio.probe(text)
    with pytest.raises(ValueError, match="write the video as"):
        vio.check_video_output(tmp_path / "out.avi", text)
    with pytest.raises(ValueError, match="is the input clip"):
        vio.check_video_output(text, text)
