"""A shot's look carried to all its frames: one 3D LUT fitted on the keyframe and its restyled result
(:func:`dpst.ops.lut.fit_table`), put on every frame of the shot.

A pointwise colour map of the input cannot flicker or crawl: where the input is stable in time, so
is the output, and a moving object keeps its colours.  The price is that the look is global within a
shot (the same input colour always gives the same output); docs/video.md measures what that costs
against the keyframe's full, region-aware result.

For speed the trilinear LUT is expanded once per shot into a dense table of all 2²⁴ 8-bit colours
(packed as uint32, 64 MB), so a frame is one table look-up per pixel: trilinear interpolation on a
lattice is separable, so the expansion is three 1D linear interpolations, one axis at a time.
"""

from __future__ import annotations

import numpy as np

from ..ops.lut import fit_table


def linear_weights(n: int, levels: int = 256) -> np.ndarray:
    """(levels, n) float32: row v holds the 1D linear interpolation weights of input v / (levels - 1)
    on a lattice of n points over [0, 1]."""
    p = np.arange(levels, dtype=np.float64) / (levels - 1) * (n - 1)
    i0 = np.minimum(p.astype(np.int64), n - 2)
    f = p - i0
    w = np.zeros((levels, n))
    w[np.arange(levels), i0] = 1 - f
    w[np.arange(levels), i0 + 1] += f
    return w.astype(np.float32)


def dense_table(table: np.ndarray) -> np.ndarray:
    """(2²⁴,) uint32: entry ``(r << 16) | (g << 8) | b`` packs the 8-bit output ``(R << 16) | (G << 8)
    | B`` of the trilinear LUT ``table`` (N, N, N, 3) at the 8-bit input (r, g, b), rounded."""
    t = np.asarray(table, dtype=np.float32)
    n = t.shape[0]
    w = linear_weights(n)
    along_r = (w @ t.reshape(n, -1)).reshape(256, n, n * 3)  # 256, N (g), N (b) x 3
    out = np.empty(1 << 24, np.uint32)
    for r in range(256):
        sl = (w @ along_r[r]).reshape(256 * n, 3)  # (g, b) on 256 x N, 3
        sl = np.matmul(w, sl.reshape(256, n, 3))  # 256 (g), 256 (b), 3
        q = np.clip(sl * 255.0 + 0.5, 0, 255).astype(np.uint32)
        out[r << 16 : (r + 1) << 16] = ((q[..., 0] << 16) | (q[..., 1] << 8) | q[..., 2]).ravel()
    return out


def apply_dense(dense: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """An (H, W, 3) uint8 frame through a :func:`dense_table`: (H, W, 3) uint8."""
    f = frame.astype(np.uint32)
    packed = dense[(f[..., 0] << 16) | (f[..., 1] << 8) | f[..., 2]]
    out = np.empty(frame.shape, np.uint8)
    out[..., 0] = packed >> 16
    out[..., 1] = (packed >> 8) & 255
    out[..., 2] = packed & 255
    return out


def fit_look(
    keyframe: np.ndarray, result: np.ndarray, size: int, smoothness: float, anchor: float
) -> np.ndarray:
    """The shot's LUT (N, N, N, 3): fitted to the keyframe (H, W, 3) and its restyled result (same
    shape; both uint8 or float in [0, 1])."""
    k, r = (np.asarray(a, np.float32) / (255.0 if a.dtype == np.uint8 else 1.0) for a in (keyframe, result))
    if k.shape != r.shape:
        raise ValueError(f"keyframe {k.shape} and its result {r.shape} must have the same shape")
    return fit_table(k, r, size, smoothness, anchor)
