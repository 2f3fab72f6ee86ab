from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from dpst.ops.guided import guided_coefficients
from dpst.ops.upsample import affine_upsample

# a fixed, well-conditioned colour map O = A I + b that keeps [0, 1] images near [0, 1]
A = torch.tensor([[0.6, 0.2, 0.1], [-0.1, 0.7, 0.2], [0.1, -0.2, 0.8]], dtype=torch.float64)


B = torch.tensor([0.1, 0.15, 0.12], dtype=torch.float64)


def rand(*shape: int, seed: int = 0, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64).to(dtype)


def global_map(img: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,bjhw->bihw", A.to(img.dtype), img) + B.to(img.dtype)[:, None, None]


def window(y: int, x: int, r: int, h: int, w: int) -> list[tuple[int, int]]:
    return [
        (i, j)
        for i in range(max(0, y - r), min(h, y + r + 1))
        for j in range(max(0, x - r), min(w, x + r + 1))
    ]


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


def naive_local_affine(
    out: np.ndarray, guide: np.ndarray, radius: int, edge: float, f: int, reg: float
) -> np.ndarray:
    """The docstring of local_affine_filter, literally: 4x4 ridge fits, then a 2-D joint bilateral."""
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


def test_affine_upsample_matches_interpolated_coefficients_and_is_tile_invariant() -> None:
    full = rand(2, 3, 31, 26, seed=14)
    small = F.adaptive_avg_pool2d(full, (12, 10))
    result_small = rand(2, 3, 12, 10, seed=15)
    got = affine_upsample(full, small, result_small, radius=2, eps=1e-3)
    assert got.shape == (2, 3, 31, 26)
    a, b = guided_coefficients(small, result_small, 2, 1e-3)
    coef = F.interpolate(
        torch.cat([a.flatten(1, 2), b], 1), size=(31, 26), mode="bilinear", align_corners=False
    )
    expected = (coef[:, :9].unflatten(1, (3, 3)) * full[:, None]).sum(2) + coef[:, 9:]
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-12)
    torch.testing.assert_close(
        affine_upsample(full, small, result_small, radius=2, eps=1e-3, tile_rows=4), got
    )


def test_affine_upsample_reproduces_a_global_colour_map() -> None:
    full = rand(1, 3, 60, 45, seed=16)
    small = F.adaptive_avg_pool2d(full, (20, 15))  # 3x3 averages of noise: per-channel variance ~0.01
    got = affine_upsample(full, small, global_map(small))
    # the ridge eps = 1e-4 against that variance biases A by ~1%, applied to the full-size pixels'
    # departures from the small-size means (~0.3): measured max 9.8e-3, mean 2.5e-3
    err = (got - global_map(full)).abs()
    assert err.max() < 3e-2 and err.mean() < 5e-3
    err = (affine_upsample(full, small, global_map(small), eps=1e-10) - global_map(full)).abs()
    assert err.max() < 1e-6
