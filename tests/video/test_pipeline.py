from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("cv2")

from dpst.video import carry, pipeline, track  # noqa: E402
from tests.video.conftest import clips  # noqa: E402, F401
from tests.video.test_track import _texture  # noqa: E402


def test_video_settings_are_checked_where_they_are_made():
    assert pipeline.VideoSettings().look == "local"
    with pytest.raises(ValueError, match="--look"):
        pipeline.VideoSettings(look="flow")
    with pytest.raises(ValueError, match="--local-radius"):
        pipeline.VideoSettings(local_radius=0.0)
    with pytest.raises(ValueError, match="--sharp-radius"):
        pipeline.VideoSettings(sharp_radius=-0.1)
    with pytest.raises(ValueError, match="--sharp-tracked"):
        pipeline.VideoSettings(sharp_tracked=1.5)


def _shot(n=5, dx=2):
    """A shot of a texture moving left, whose keyframe result is darker on the left half than on the
    right: a look no single LUT can give (both halves hold the same colours)."""
    h, w = 90, 160
    wide = (64 + _texture(h, w + 2 * n * dx) // 2).astype(np.uint8)  # mid-tones: 64-191
    frames = [np.ascontiguousarray(wide[:, dx * t : dx * t + w]) for t in range(n)]
    key = n // 2
    gain = np.where(np.arange(w) < w // 2, 0.6, 1.0)[None, :, None]
    result = (frames[key] * gain + 0.5).astype(np.uint8)
    shot = pipeline.Shot(0, n, key, keyframe=frames[key], result=result)
    shot.table = carry.fit_look(shot.keyframe, shot.result, 17, 1e-4, 0.1)
    shot.small = [track.shrink(f, track.track_size(h, w)) for f in frames]
    return shot, frames, gain


def test_look_local_keeps_the_keyframes_regional_look_and_lut_does_not():
    shot, frames, gain = _shot()
    pipeline.carry_local([shot], pipeline.VideoSettings(look="lut"))
    assert shot.local is None
    pipeline.carry_local([shot], pipeline.VideoSettings(look="local"))
    assert shot.local is not None and shot.local.shape == (12, 90, 160)
    tracks = track.track_positions(shot.small, shot.key)  # as render follows them
    dense = carry.dense_table(shot.table)
    t = 0  # two frames from the keyframe: the scene has moved 4 px
    lut_only = carry.apply_dense(dense, frames[t]).astype(float)
    maps = track.maps_at(shot.local, *tracks[t])
    local = track.apply_local(carry.apply_dense(dense, frames[t]), maps).astype(float)
    want = frames[t] * gain
    left, right = slice(10, 60), slice(100, 150)  # away from the boundary, which moves with the scene
    err = {
        name: max(np.abs(out[:, s] - want[:, s]).mean() for s in (left, right))
        for name, out in (("local", local), ("lut", lut_only))
    }
    assert err["local"] < 5 and err["lut"] > 15, err  # the LUT splits the difference: 0.8x on both sides


def test_lut_scope_clip_gives_every_shot_one_lut_weighted_by_length():
    # shot a (40 frames) darkens, shot b (10 frames) brightens, the same colours: one LUT for both
    # lands nearer shot a's look, as a fit over all frames would; each shot alone keeps its own
    frame = (64 + _texture(60, 80) // 2).astype(np.uint8)
    dark, bright = (frame * 0.7 + 0.5).astype(np.uint8), np.minimum(frame * 1.2 + 0.5, 255).astype(np.uint8)
    shots = [
        pipeline.Shot(0, 40, 20, keyframe=frame, result=dark),
        pipeline.Shot(40, 50, 45, keyframe=frame, result=bright),
    ]
    for s in shots:
        s.table = carry.fit_look(s.keyframe, s.result, 9, 1e-4, 0.1)
    own = [s.table.copy() for s in shots]
    pipeline.carry_look(shots, pipeline.VideoSettings(look="lut", lut_scope="shot"))
    assert all(np.array_equal(s.table, t) for s, t in zip(shots, own))
    pipeline.carry_look(shots, pipeline.VideoSettings(look="lut", lut_scope="clip"))
    assert shots[0].table is shots[1].table
    out = carry.apply_dense(carry.dense_table(shots[0].table), frame).astype(float)
    gain = out.mean() / frame.mean()
    assert abs(gain - (40 * 0.7 + 10 * 1.2) / 50) < 0.03, gain  # 0.8: the shots' looks by their length
    one = [pipeline.Shot(0, 5, 2, keyframe=frame, result=dark)]
    one[0].table = own[0]
    pipeline.share_look(one)
    assert one[0].table is own[0]  # a clip of one shot keeps its LUT
    with pytest.raises(ValueError, match="--lut-scope"):
        pipeline.VideoSettings(lut_scope="scene")



def test_sharp_maps_on_a_well_tracked_shot_keep_the_look_closer_and_a_poorly_tracked_one_keeps_smooth():
    shot, frames, gain = _shot()
    pipeline.carry_local([shot], pipeline.VideoSettings(sharp_radius=0.015, sharp_tracked=0.8))
    tracks = track.track_positions(shot.small, shot.key)
    assert pipeline.shot_maps(shot, tracks) is shot.sharp and 0.9 < shot.tracked <= 1.0
    dense = carry.dense_table(shot.table)
    key = carry.apply_dense(dense, frames[shot.key])
    want = frames[shot.key] * gain
    edge = slice(60, 100)  # around the keyframe's left/right boundary, which sharp windows follow closely
    err = {
        name: np.abs(track.apply_local(key, maps).astype(float)[:, edge] - want[:, edge]).mean()
        for name, maps in (("sharp", shot.sharp), ("smooth", shot.local))
    }
    assert err["sharp"] < 0.6 * err["smooth"], err
    shot.sharp_tracked = shot.tracked + 0.01  # fewer pixels tracked than the bar asks: the smooth maps
    assert pipeline.shot_maps(shot, tracks) is shot.local
    pipeline.carry_local([shot], pipeline.VideoSettings(sharp_radius=0.0))
    assert shot.sharp is None and pipeline.shot_maps(shot, tracks) is shot.local


def test_tracked_share_is_one_for_a_still_shot_and_lower_when_the_scene_leaves_the_frame():
    still = [(64 + _texture(30, 40) // 2).astype(np.uint8)] * 3
    assert track.tracked_share(track.track_positions(still, 1)) == 1.0
    shot, _, _ = _shot(n=9, dx=4)  # 4 px a frame: the frames at the ends have moved 16 px
    assert track.tracked_share(track.track_positions(shot.small, shot.key)) < 0.99


def test_restyle_video_reports_each_step_through_callbacks_and_prints_nothing(clips, tmp_path, capfd):  # noqa: F811
    import dpst
    from dpst.api import Stylizer
    from dpst.neural.vgg import random_weights
    from dpst.video import io as vio
    from tests.conftest import photo

    config = dpst.Config(size=48, iterations=2, stage2=False, filter=False, masks="none")
    seen, steps, phases = [], [], []
    out = tmp_path / "out.mp4"
    shots = pipeline.restyle_video(
        clips / "carphone_pristine.mp4",
        photo(40, 40, 1),
        out,
        Stylizer(config, weights=random_weights()),
        callback=seen.append,
        step_callback=steps.append,
        on_phase=phases.append,
    )
    assert capfd.readouterr() == ("", "")
    assert vio.probe(out).frames == 120 and sum(s.end - s.start for s in shots) == 120
    assert [p.phase for p in seen][0] == "scan" and seen[-1] == pipeline.VideoProgress("render", 120, 120)
    keys = [p for p in seen if p.phase == "keyframe"]
    assert keys[-1].done == keys[-1].total == len(shots) and len(steps) == 2 * len(shots) and phases
    assert all(s.table is not None and s.local is not None for s in shots)


def test_every_video_setting_is_declared_with_help_and_the_encoder_preset_is_checked():
    from dataclasses import fields

    for f in fields(pipeline.VideoSettings):
        assert len(f.metadata["help"]) > 5 and f.metadata["group"] == pipeline.VIDEO_GROUP
    with pytest.raises(ValueError, match="^--encoder-preset 'fastest': use one of ultrafast"):
        pipeline.VideoSettings(encoder_preset="fastest")
    with pytest.raises(ValueError, match="^--crf: expected a whole number"):
        pipeline.VideoSettings(crf=18.5)
