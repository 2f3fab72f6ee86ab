"""Temporal stability of a restyled clip: the warping error of Lai et al., "Learning Blind Video
Temporal Consistency" (ECCV 2018), eq. 8.

Optical flow is computed between consecutive *input* frames (OpenCV's DIS flow, the
``opencv-python-headless`` package of the video extra; :mod:`.track` follows the scene with the same
flow); pixels whose forward and backward flows disagree are occluded (the check of Sundaram et al.
2010, as in Ruder et al. 2016 and Lai et al.):

    |b(x) + f(x + b(x))|² > 0.01 (|b(x)|² + |f(x + b(x))|²) + 0.5

with ``b`` the flow from frame t to frame t-1 and ``f`` from t-1 to t.  The error of a pair is the
mean squared difference, over the non-occluded pixels and the 3 channels, of output frame t and output
frame t-1 warped onto it, on a 0-255 scale; pairs that straddle a cut are left out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import MissingExtra


def _cv2():
    try:
        import cv2
    except ImportError:
        raise MissingExtra("video", "optical flow (OpenCV)") from None
    return cv2


def _sample(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``image`` (H, W, C) float32 read at x + flow(x), bilinear, edges clamped."""
    cv2 = _cv2()
    h, w = flow.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(
        image, gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def pair_flow(prev: np.ndarray, cur: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(b, valid) for two (H, W, 3) uint8 input frames: b (H, W, 2) float32 the flow from ``cur``
    to ``prev`` (pixel x of cur is at x + b(x) in prev), valid (H, W) bool the pixels that pass the
    forward-backward check and land inside ``prev``."""
    cv2 = _cv2()
    g0, g1 = (cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_RGB2GRAY) for f in (prev, cur))
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    b = dis.calc(g1, g0, None)
    f = dis.calc(g0, g1, None)
    f_at = _sample(f, b)
    err = ((b + f_at) ** 2).sum(-1)
    valid = err <= 0.01 * ((b**2).sum(-1) + (f_at**2).sum(-1)) + 0.5
    h, w = b.shape[:2]
    gx, gy = np.meshgrid(np.arange(w), np.arange(h))
    x, y = gx + b[..., 0], gy + b[..., 1]
    return b, valid & (x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)


def flows(
    inputs: Sequence[np.ndarray], cuts: Sequence[int] = ()
) -> list[tuple[np.ndarray, np.ndarray] | None]:
    """:func:`pair_flow` of frames (t-1, t) for t = 1 .. T-1 (entry t-1), None where frame t starts
    a shot (``cuts``)."""
    cut = set(cuts)
    return [None if t in cut else pair_flow(inputs[t - 1], inputs[t]) for t in range(1, len(inputs))]


def warping_errors(outputs: Sequence[np.ndarray], pair_flows: Sequence) -> np.ndarray:
    """(T-1,) warping error of each pair (t-1, t) of ``outputs`` ((H, W, 3) uint8 or float in
    0-255), NaN where the pair is left out (a cut, or no valid pixel)."""
    if len(pair_flows) != len(outputs) - 1:
        raise ValueError(f"{len(outputs)} frames need {len(outputs) - 1} flows, got {len(pair_flows)}")
    errs = np.full(len(pair_flows), np.nan)
    for t, pf in enumerate(pair_flows, start=1):
        if pf is None:
            continue
        b, valid = pf
        if not valid.any():
            continue
        warped = _sample(np.asarray(outputs[t - 1], np.float32), b)
        diff = (np.asarray(outputs[t], np.float32) - warped)[valid]
        errs[t - 1] = float((diff**2).mean())
    return errs


def warping_error(
    outputs: Sequence[np.ndarray], inputs: Sequence[np.ndarray], cuts: Sequence[int] = ()
) -> float:
    """The clip's warping error (module docstring): the mean over its pairs, 0-255 scale."""
    if len(outputs) != len(inputs):
        raise ValueError(f"{len(outputs)} output frames for {len(inputs)} input frames")
    return float(np.nanmean(warping_errors(outputs, flows(inputs, cuts))))
