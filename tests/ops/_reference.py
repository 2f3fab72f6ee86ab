"""Naive references for the ops battery: plain loops and dense numpy, written from the papers' formulas.

Slow on purpose (one window or one pixel at a time) and only ever run on tiny inputs (~5x6).
"""

from __future__ import annotations

import math
import os

import numpy as np
import torch
from hypothesis import settings

# the property tests' budget: a handful of examples each keeps tests/ops well under a minute on 2 cores;
# DPST_PROPERTY_EXAMPLES=500 for a deeper search
PROPERTY = settings(
    max_examples=int(os.environ.get("DPST_PROPERTY_EXAMPLES", "20")), deadline=None, database=None
)


def rand(*shape: int, seed: int = 0, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64).to(dtype)


def window(y: int, x: int, r: int, h: int, w: int) -> list[tuple[int, int]]:
    """The pixels of the ``(2r+1)^2`` window centred on ``(y, x)``, clipped to an ``h x w`` image."""
    return [
        (i, j)
        for i in range(max(0, y - r), min(h, y + r + 1))
        for j in range(max(0, x - r), min(w, x + r + 1))
    ]


def box_mean(x: np.ndarray, r: int) -> np.ndarray:
    """Mean over clipped windows, pixel by pixel; ``x (..., H, W)``."""
    h, w = x.shape[-2:]
    out = np.zeros_like(x, dtype=np.float64)
    for y in range(h):
        for xx in range(w):
            px = window(y, xx, r, h, w)
            out[..., y, xx] = np.mean([x[..., i, j] for i, j in px], axis=0)
    return out


def guided_coefficients(
    guide: np.ndarray, src: np.ndarray, r: int, eps: float
) -> tuple[np.ndarray, np.ndarray]:
    """He et al. 2010, window by window: mean-filtered ``A (C, G, H, W)`` and ``b (C, H, W)``.

    ``guide (G, H, W)``, ``src (C, H, W)``; each window's ridge fit by ``np.linalg.solve``.
    """
    g, h, w = guide.shape
    c = src.shape[0]
    a = np.zeros((c, g, h, w))
    b = np.zeros((c, h, w))
    for y in range(h):
        for x in range(w):
            px = window(y, x, r, h, w)
            gi = np.array([guide[:, i, j] for i, j in px])  # n, G
            pi = np.array([src[:, i, j] for i, j in px])  # n, C
            dg, dp = gi - gi.mean(0), pi - pi.mean(0)
            ak = np.linalg.solve(dg.T @ dg / len(px) + eps * np.eye(g), dg.T @ dp / len(px)).T  # C, G
            a[:, :, y, x] = ak
            b[:, y, x] = pi.mean(0) - ak @ gi.mean(0)
    return box_mean(a, r), box_mean(b, r)


def guided_filter(guide: np.ndarray, src: np.ndarray, r: int, eps: float) -> np.ndarray:
    """``q_i = mean(a)^T I_i + mean(b)``; ``guide (G, H, W)``, ``src (C, H, W)`` -> ``(C, H, W)``."""
    a, b = guided_coefficients(guide, src, r, eps)
    return np.einsum("cghw,ghw->chw", a, guide) + b


def local_affine(
    out: np.ndarray, guide: np.ndarray, radius: int, edge: float, f: int, reg: float
) -> np.ndarray:
    """The docstring of ``local_affine_filter``, literally: 4x4 ridge fits, then a 2-D joint bilateral."""
    _, h, w = guide.shape
    coef = np.zeros((h, w, 4, 3))
    for y in range(h):
        for x in range(w):
            px = window(y, x, f, h, w)
            m = np.array([[*guide[:, i, j], 1.0] for i, j in px])
            s = np.array([out[:, i, j] for i, j in px])
            coef[y, x] = np.linalg.solve(m.T @ m + reg * np.diag([1.0, 1, 1, 0]), m.T @ s)
    res = np.zeros(out.shape)
    two_var_s = 2 * (radius / 3) ** 2 if radius else 1.0  # radius 0: only the centre, weight 1
    for y in range(h):
        for x in range(w):
            num, den = np.zeros((4, 3)), 0.0
            for i, j in window(y, x, radius, h, w):
                d = np.mean((guide[:, y, x] - guide[:, i, j]) ** 2)
                wt = math.exp(-((i - y) ** 2 + (j - x) ** 2) / two_var_s) * math.exp(-d / (2 * edge**2))
                num, den = num + wt * coef[i, j], den + wt
            res[:, y, x] = np.array([*guide[:, y, x], 1.0]) @ (num / den)
    return res


def bilinear(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``x (K, h, w)`` resized to ``size`` pixel by pixel, half-pixel centres (``align_corners=False``)."""

    def taps(dst: int, n_out: int, n_in: int) -> tuple[int, int, float]:
        src = max((dst + 0.5) * n_in / n_out - 0.5, 0.0)
        i0 = min(int(math.floor(src)), n_in - 1)
        return i0, min(i0 + 1, n_in - 1), src - i0

    (hh, ww), (_, h, w) = size, x.shape
    out = np.zeros((x.shape[0], hh, ww))
    for y in range(hh):
        y0, y1, ty = taps(y, hh, h)
        for xx in range(ww):
            x0, x1, tx = taps(xx, ww, w)
            top = (1 - tx) * x[:, y0, x0] + tx * x[:, y0, x1]
            bottom = (1 - tx) * x[:, y1, x0] + tx * x[:, y1, x1]
            out[:, y, xx] = (1 - ty) * top + ty * bottom
    return out


def matting_laplacian(img: np.ndarray, eps: float = 1e-7, r: int = 1) -> np.ndarray:
    """Levin et al. 2006, eq. 12, window by window into a dense ``(H*W, H*W)`` matrix."""
    h, w, _ = img.shape
    n = (2 * r + 1) ** 2
    lap = np.zeros((h * w, h * w))
    for y in range(r, h - r):
        for x in range(r, w - r):
            idx = [yy * w + xx for yy in range(y - r, y + r + 1) for xx in range(x - r, x + r + 1)]
            win = img[y - r : y + r + 1, x - r : x + r + 1].reshape(n, 3)
            centred = win - win.mean(axis=0)
            inv = np.linalg.inv(centred.T @ centred / n + eps / n * np.eye(3))
            lap[np.ix_(idx, idx)] += np.eye(n) - (1.0 + centred @ inv @ centred.T) / n
    return lap


def matting_energy(img: np.ndarray, alpha: np.ndarray, eps: float, r: int) -> float:
    """Levin et al. 2006, eq. 3: ``sum_k min_{a,b} sum_{i in w_k} (alpha_i - a^T I_i - b)^2 + eps |a|^2``.

    The cost the matting Laplacian was derived from (their theorem 1: it equals ``alpha^T L alpha``),
    each window's minimum found by a 4x4 least-squares solve.  ``img (H, W, 3)``, ``alpha (H, W)``.
    """
    h, w, _ = img.shape
    n = (2 * r + 1) ** 2
    total = 0.0
    for y in range(r, h - r):
        for x in range(r, w - r):
            m = np.column_stack([img[y - r : y + r + 1, x - r : x + r + 1].reshape(n, 3), np.ones(n)])
            s = alpha[y - r : y + r + 1, x - r : x + r + 1].reshape(-1)
            coef = np.linalg.solve(m.T @ m + eps * np.diag([1.0, 1, 1, 0]), m.T @ s)
            total += np.sum((s - m @ coef) ** 2) + eps * np.sum(coef[:3] ** 2)
    return float(total)


def srgb_to_lab_pixel(rgb: tuple[float, float, float]) -> tuple[float, float, float]:
    """CIELAB (D65) of one sRGB colour by the textbook formulas (IEC 61966-2-1, CIE 15), in scalars."""

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb)
    x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047
    y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b
    z = (0.0193339 * r + 0.1191920 * g + 0.9503041 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > (6 / 29) ** 3 else t / (3 * (6 / 29) ** 2) + 4 / 29

    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


# a fixed, well-conditioned colour map O = A I + b that keeps [0, 1] images near [0, 1]
A = torch.tensor([[0.6, 0.2, 0.1], [-0.1, 0.7, 0.2], [0.1, -0.2, 0.8]], dtype=torch.float64)


B = torch.tensor([0.1, 0.15, 0.12], dtype=torch.float64)


def global_map(img: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,bjhw->bihw", A.to(img.dtype), img) + B.to(img.dtype)[:, None, None]


def naive_guided_filter(guide: np.ndarray, src: np.ndarray, r: int, eps: float) -> np.ndarray:
    """He et al. 2010 window by window; guide (G, H, W), src (C, H, W); windows clipped to the image."""
    g, h, w = guide.shape
    a = np.zeros((h, w, src.shape[0], g))
    b = np.zeros((h, w, src.shape[0]))
    for y in range(h):
        for x in range(w):
            px = window(y, x, r, h, w)
            gi = np.array([guide[:, i, j] for i, j in px])  # n, G
            pi = np.array([src[:, i, j] for i, j in px])  # n, C
            cov = (gi - gi.mean(0)).T @ (gi - gi.mean(0)) / len(px)
            cross = (gi - gi.mean(0)).T @ (pi - pi.mean(0)) / len(px)  # G, C
            a[y, x] = np.linalg.solve(cov + eps * np.eye(g), cross).T
            b[y, x] = pi.mean(0) - a[y, x] @ gi.mean(0)
    out = np.zeros(src.shape)
    for y in range(h):
        for x in range(w):
            px = window(y, x, r, h, w)
            am = np.mean([a[i, j] for i, j in px], axis=0)
            bm = np.mean([b[i, j] for i, j in px], axis=0)
            out[:, y, x] = am @ guide[:, y, x] + bm
    return out


naive_local_affine = local_affine  # the name the older test files use
