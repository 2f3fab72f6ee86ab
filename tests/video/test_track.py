from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("cv2")

from dpst.video import track  # noqa: E402


def _texture(h=90, w=160, seed=0):
    """A smooth random texture (uint8 RGB) that optical flow can follow."""
    import cv2

    rng = np.random.default_rng(seed)
    noise = rng.random((h, w, 3)).astype(np.float32)
    return (np.clip(cv2.GaussianBlur(noise, (0, 0), 2.0) * 4 - 1.5, 0, 1) * 255).astype(np.uint8)


def test_identity_maps_leave_the_frame_as_it_is():
    base = _texture()
    maps = np.repeat(track.IDENTITY[:, None, None], 1, 1) * np.ones((12, 9, 16), np.float32)
    assert np.array_equal(track.apply_local(base, maps), base)


def test_fit_local_recovers_a_look_that_changes_across_the_frame():
    base = _texture()
    x = base / 255.0
    gain = np.linspace(0.6, 1.2, base.shape[1])[None, :, None]  # dark on the left, bright on the right
    result = np.clip(x * gain + 0.05, 0, 1)
    maps = track.fit_local(base, result, 0.06)
    got = track.apply_local(base, maps) / 255.0
    lut_alone = np.sqrt(np.mean((np.clip(x * gain.mean() + 0.05, 0, 1) - result) ** 2))
    rms = np.sqrt(np.mean((got - result) ** 2))
    assert rms < 0.01 and rms < lut_alone / 5


def test_the_maps_follow_the_scene_along_the_flow():
    h, w, dx = 90, 160, 3
    wide = _texture(h, w + 40)
    frames = [np.ascontiguousarray(wide[:, 20 + dx * t : 20 + dx * t + w]) for t in range(-3, 4)]
    key = 3  # the scene moves left by dx px a frame
    maps = np.ones((12, h, w), np.float32) * track.IDENTITY[:, None, None]
    maps[9, :, 70:90] += 0.3  # a brighter red band in the keyframe, at x 70-89
    tracks = track.track_positions(frames, key)
    assert len(tracks) == len(frames)
    tracked = [track.maps_at(maps, *tr) for tr in tracks]
    assert np.array_equal(tracked[key], maps)
    for t, m in enumerate(tracked):
        band = m[9, 20:70].mean(0) > 0.15  # rows away from the top and bottom edges
        centre = np.flatnonzero(band).mean()
        assert abs(centre - (79.5 - dx * (t - key))) < 1.5, (t, centre)


def test_lost_pixels_take_their_tracked_neighbours_and_far_ones_the_identity():
    h, w = 40, 200
    maps = np.ones((12, h, w), np.float32) * track.IDENTITY[:, None, None]
    maps[9] = 0.2  # every tracked pixel adds 0.2 to red
    valid = np.zeros((h, w), bool)
    valid[:, :20] = True
    out = track._fill(maps, valid)
    assert np.allclose(out[9][valid], 0.2)
    assert out[9][:, 21].mean() > 0.15  # beside the tracked pixels: nearly their maps
    assert abs(out[9][:, -1].mean()) < 0.01  # far from all of them: the LUT alone
    assert np.allclose(out[0][:, -1], 1.0, atol=1e-2) and np.allclose(out[1][:, -1], 0.0, atol=1e-2)


def test_bad_arguments_are_refused():
    frames = [_texture(), _texture(seed=1)]
    with pytest.raises(ValueError, match="keyframe"):
        track.track_positions(frames, 2)
    with pytest.raises(ValueError, match="keyframe"):
        track.track_positions(frames, -1)
    pos, ok = track.track_positions(frames, 0)[1]
    with pytest.raises(ValueError, match="grid"):
        track.maps_at(np.zeros((12, 45, 80), np.float32), pos, ok)
    with pytest.raises(ValueError, match="same shape"):
        track.fit_local(frames[0], frames[1][:45], 0.06)


def test_track_size_is_small_and_keeps_the_aspect():
    assert track.track_size(720, 1280) == (90, 160)
    assert track.track_size(144, 176) == (131, 160)
    assert track.track_size(60, 80) == (60, 80)  # never enlarged


def test_large_frames_read_the_maps_at_half_size_within_a_level():
    import torch
    import torch.nn.functional as F

    base = np.random.default_rng(3).integers(0, 256, (360, 640, 3), dtype=np.uint8)
    rng = np.random.default_rng(4)
    maps = (track.IDENTITY[:, None, None] + 0.1 * rng.standard_normal((12, 1, 1))).astype(np.float32)
    maps = (
        maps * np.linspace(0.8, 1.2, 160)[None, None, :].astype(np.float32) * np.ones((12, 90, 1), np.float32)
    )
    c = F.interpolate(torch.from_numpy(maps)[None], size=(360, 640), mode="bilinear", align_corners=False)[
        0
    ].numpy()
    x = base.transpose(2, 0, 1) / 255.0
    exact = np.stack([(c[3 * i : 3 * i + 3] * x).sum(0) + c[9 + i] for i in range(3)], -1)
    exact = np.clip(exact, 0, 1) * 255
    assert np.abs(track.apply_local(base, maps) - exact).max() <= 1.5
