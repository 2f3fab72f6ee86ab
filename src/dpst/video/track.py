"""The keyframe's *local* look carried along optical flow, on top of the shot's LUT (:mod:`.carry`).

A global LUT maps one input colour to one output colour everywhere, so it cannot give the sky and
the street of a frame the two looks the keyframe's full, region-aware result gave them.  What it
misses is smooth in space: on the keyframe, the result is close to a *local* affine colour map of
the LUT's output, ``result(x) ≈ A(x) lut(key)(x) + b(x)``, with ``A`` (3×3) and ``b`` (3) the
guided-filter coefficients (He et al. 2010) of a window a few percent of the frame wide, averaged
over the windows (so they vary smoothly).  Those 12 coefficient maps are small (computed on a frame
:data:`TRACK_SIDE` px on its long side) and they move with the scene: every other frame of the shot
reads them where its pixels were in the keyframe, following the optical flow from frame to frame
(OpenCV's DIS, as the warping-error metric does) outward from the keyframe in both directions.
Pixels the flow loses (occluded, or new in the frame) take the coefficients of the tracked pixels
around them (normalised Gaussian convolution), and the identity (the LUT alone) far from any.

Positions, not coefficients, are carried from frame to frame, so the maps are resampled once per
frame, not blurred a little more at every step.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..ops.guided import guided_coefficients
from ..ops.tensor import to_tensor
from .metrics import _cv2, pair_flow

TRACK_SIDE = 160  # the coefficient maps and the flow that carries them: this many px on the long side
EPS = 1e-3  # the guided filter's regulariser (colours in [0, 1])
FILL_SIGMA = 0.08  # lost pixels are filled from tracked ones within about this fraction of the long side
IDENTITY = np.r_[np.eye(3).ravel(), np.zeros(3)].astype(np.float32)  # A row-major, then b


def track_size(height: int, width: int) -> tuple[int, int]:
    """(h, w) of the tracking grid of a frame (H, W): TRACK_SIDE on the long side, never larger."""
    s = min(1.0, TRACK_SIDE / max(height, width))
    return max(2, round(height * s)), max(2, round(width * s))


def shrink(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """An (H, W, 3) uint8 frame reduced to ``size`` (h, w) by area averaging, uint8."""
    cv2 = _cv2()
    if frame.shape[:2] == tuple(size):
        return np.ascontiguousarray(frame)
    return cv2.resize(np.ascontiguousarray(frame), (size[1], size[0]), interpolation=cv2.INTER_AREA)


def fit_local(base: np.ndarray, result: np.ndarray, radius: float) -> np.ndarray:
    """(12, h, w) float32 coefficient maps (module docstring) such that ``A(x) base(x) + b(x)``
    approximates ``result`` on the tracking grid.  base, result: (h, w, 3) uint8 or float in [0, 1]
    at the grid's size (the LUT's output and the full result, shrunk); radius: the window's radius as
    a fraction of the grid's long side."""
    g, r = (
        to_tensor(np.asarray(a, np.float32) / (255.0 if a.dtype == np.uint8 else 1.0)) for a in (base, result)
    )
    if g.shape != r.shape:
        raise ValueError(f"base {tuple(g.shape)} and result {tuple(r.shape)} must have the same shape")
    rad = max(1, round(radius * max(g.shape[-2:])))
    a, b = guided_coefficients(g.double(), r.double(), rad, EPS)
    h, w = g.shape[-2:]
    return torch.cat([a.reshape(9, h, w), b.reshape(3, h, w)]).float().numpy()


def _remap(maps: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """(C, h, w) maps read at positions ``pos`` (h, w, 2), bilinear, edges clamped.  One channel at a
    time, unlike :func:`dpst.video.metrics._sample`: OpenCV's remap takes at most 4 channels, and its
    multi-channel path rounds positions differently (up to 0.03 px a step, which adds up along a
    shot)."""
    cv2 = _cv2()
    out = np.empty_like(maps)
    for c in range(len(maps)):
        out[c] = cv2.remap(
            maps[c], pos[..., 0], pos[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
    return out


def _fill(maps: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``maps`` where ``valid``; elsewhere a Gaussian-weighted mean of the valid maps around, drawn
    toward the identity where few are near."""
    if valid.all():
        return maps
    cv2 = _cv2()
    h, w = valid.shape
    sigma = FILL_SIGMA * max(h, w)
    v = valid.astype(np.float32)
    wsum = cv2.GaussianBlur(v, (0, 0), sigma)
    prior = 0.02  # the identity's weight: it wins where the tracked pixels' weight falls below this
    out = maps.copy()
    for c in range(len(maps)):
        num = cv2.GaussianBlur(maps[c] * v, (0, 0), sigma) + prior * IDENTITY[c]
        out[c] = np.where(valid, maps[c], num / (wsum + prior))
    return out


def track_positions(frames: Sequence[np.ndarray], key: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Where each pixel of every frame of a shot was in the keyframe.  frames: the shot's frames on
    the tracking grid, (h, w, 3) uint8; key: the keyframe's index among them.  Returns per frame
    ``(pos, tracked)``: pos (h, w, 2) float32 keyframe coordinates (x, y), tracked (h, w) bool the
    pixels the flow has not lost on the way (module docstring)."""
    if not 0 <= key < len(frames):
        raise ValueError(f"keyframe {key} is not one of the shot's {len(frames)} frames")
    h, w = frames[0].shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    out: list[tuple[np.ndarray, np.ndarray] | None] = [None] * len(frames)
    out[key] = (np.stack([gx, gy], -1), np.ones((h, w), bool))
    for step in (1, -1):
        pos = out[key][0]  # type: ignore[index]
        alive = np.ones((h, w), np.float32)
        t = key + step
        while 0 <= t < len(frames):
            flow, ok = pair_flow(frames[t - step], frames[t])  # pixel x of frame t is at x + flow in t - step
            at = np.stack([gx + flow[..., 0], gy + flow[..., 1]], -1)
            pos = _remap(pos.transpose(2, 0, 1), at).transpose(1, 2, 0)
            alive = _remap(alive[None], at)[0] * ok
            out[t] = (np.ascontiguousarray(pos), alive > 0.5)
            t += step
    return out  # type: ignore[return-value]


def tracked_share(tracks: Sequence[tuple[np.ndarray, np.ndarray]]) -> float:
    """The share of a shot's pixels that the flow follows back to the keyframe, averaged over its
    frames (``tracks`` from :func:`track_positions`): 1 for a still shot, low where much is occluded or
    new."""
    return float(np.mean([tracked.mean() for _, tracked in tracks]))


def maps_at(coeffs: np.ndarray, pos: np.ndarray, tracked: np.ndarray) -> np.ndarray:
    """A frame's (12, h, w) maps: the keyframe's ``coeffs`` (:func:`fit_local`) read at ``pos``, lost
    pixels filled (:func:`track_positions` gives ``pos`` and ``tracked``)."""
    if coeffs.shape != (12, *pos.shape[:2]):
        raise ValueError(f"coefficient maps {coeffs.shape} do not match the frames' grid {pos.shape[:2]}")
    return _fill(_remap(coeffs, pos), tracked)


def apply_local(base: np.ndarray, coeffs: np.ndarray) -> np.ndarray:
    """``A(x) base(x) + b(x)``: base (H, W, 3) uint8 (a frame through the shot's LUT), coeffs the
    frame's (12, h, w) maps, upsampled bilinearly.  Returns (H, W, 3) uint8.

    Where the frame is at least 4x the maps' grid, the maps are upsampled to half the frame's size
    and each of the frame's 2x2 pixels reads the same value (within 1 level of full-size bilinear at
    720p, in half the time: the maps are smooth)."""
    H, W = base.shape[:2]
    h, w = coeffs.shape[-2:]
    f = 2 if min(H / h, W / w) >= 4 else 1
    c = torch.from_numpy(np.ascontiguousarray(coeffs, np.float32))[None]
    size = (-(-H // f), -(-W // f))
    if c.shape[-2:] != size:
        c = F.interpolate(c, size=size, mode="bilinear", align_corners=False)
    c = c[0]
    x = to_tensor(base)[0].mul_(1 / 255.0)
    out = torch.empty_like(x)
    for dy in range(f):
        for dx in range(f):
            xs, o = x[:, dy::f, dx::f], out[:, dy::f, dx::f]
            cs = c[:, : xs.shape[1], : xs.shape[2]]
            for i in range(3):
                o[i] = cs[3 * i] * xs[0] + cs[3 * i + 1] * xs[1] + cs[3 * i + 2] * xs[2] + cs[9 + i]
    return out.clamp_(0, 1).mul_(255).add_(0.5).to(torch.uint8).permute(1, 2, 0).contiguous().numpy()
