from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("cv2")

from dpst.video.metrics import flows, warping_error, warping_errors  # noqa: E402


def _texture(h=96, w=128, seed=0):
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    return gaussian_filter(rng.random((h, w + 40, 3)), (2, 2, 0))


def _clip(n=6, dx=2):
    """A smooth random texture panned dx pixels right per frame: the motion is known."""
    big = _texture()
    big = (big - big.min()) / (big.max() - big.min()) * 200 + 20
    return [np.ascontiguousarray(big[:, 40 - dx * t : 40 - dx * t + 128]).astype(np.uint8) for t in range(n)]


def test_a_stable_clip_has_a_small_warping_error():
    frames = _clip()
    assert warping_error(frames, frames) < 2.0
    # a pointwise map of a stable clip is stable too
    assert warping_error([255 - f for f in frames], frames) < 2.0


def test_flicker_is_measured_on_the_0_255_scale():
    frames = _clip()
    flicker = [np.clip(f.astype(np.float64) + (10 if t % 2 else 0), 0, 255) for t, f in enumerate(frames)]
    err = warping_error(flicker, frames)
    assert 90 < err < 115  # a 10-level jump every frame: 10² = 100, plus the flow's own error


def test_pairs_across_a_cut_are_left_out():
    frames = _clip()
    outputs = [f.astype(np.float64) + (0 if t < 3 else 50) for t, f in enumerate(frames)]
    errs = warping_errors(outputs, flows(frames, cuts=[3]))
    assert np.isnan(errs[2]) and np.nanmax(errs) < 2.0
    assert warping_errors(outputs, flows(frames))[2] > 1000
