from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dpst.ops.local_affine import local_affine_filter

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


@pytest.mark.parametrize(
    ("radius", "edge", "fit_radius", "tile_rows"), [(3, 0.1, 1, 64), (2, 0.3, 1, 2), (0, 0.1, 2, 3)]
)
def test_local_affine_filter_equals_naive_reference(
    radius: int, edge: float, fit_radius: int, tile_rows: int
) -> None:
    guide, out = rand(1, 3, 7, 8, seed=6), rand(1, 3, 7, 8, seed=7)
    expected = naive_local_affine(out[0].numpy(), guide[0].numpy(), radius, edge, fit_radius, 1e-3)
    got = local_affine_filter(out, guide, radius, edge, fit_radius, 1e-3, tile_rows=tile_rows)
    np.testing.assert_allclose(got[0].numpy(), expected, rtol=0, atol=1e-10)


def test_local_affine_filter_constant_image_is_unchanged() -> None:
    guide = rand(1, 3, 24, 20, seed=8)
    const = torch.full_like(guide, 0.4)
    torch.testing.assert_close(local_affine_filter(const, guide), const, rtol=0, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_local_affine_filter_keeps_a_global_colour_map(dtype: torch.dtype) -> None:
    # uniform noise: every 3x3 window has a well-conditioned colour covariance (typ. ~0.08 per channel)
    guide = rand(1, 3, 24, 20, seed=9, dtype=dtype)
    target = global_map(guide)
    err = (local_affine_filter(target, guide) - target).abs()
    # the ridge reg/n = 1.1e-4 shrinks each fit by ~reg/(n lambda_min) (~1e-3 here, up to ~2e-2 in
    # the worst-conditioned windows); measured max 6.4e-3, mean 3.8e-4
    assert err.max() < 1.5e-2 and err.mean() < 1.5e-3
    # and the residue is that ridge: with a tiny one the map comes back almost exactly
    err = (local_affine_filter(target, guide, reg=1e-8) - target).abs()
    assert err.max() < (1e-4 if dtype == torch.float32 else 2e-6)  # measured 3e-5 and 5e-7


def test_local_affine_filter_batch_tiles_and_dtypes_agree() -> None:
    guide, out = rand(2, 3, 19, 17, seed=10), rand(2, 3, 19, 17, seed=11)
    ref = local_affine_filter(out, guide, radius=4, edge=0.2)
    assert ref.shape == out.shape
    torch.testing.assert_close(local_affine_filter(out[1:], guide[1:], radius=4, edge=0.2), ref[1:])
    torch.testing.assert_close(local_affine_filter(out, guide, radius=4, edge=0.2, tile_rows=5), ref)
    got32 = local_affine_filter(out.float(), guide.float(), radius=4, edge=0.2)
    assert got32.dtype == torch.float32
    torch.testing.assert_close(got32.double(), ref, rtol=0, atol=1e-4)


def test_local_affine_filter_preserves_a_step_edge() -> None:
    # two flat halves of the guide; the output is a smooth ramp: the filter must not blur across
    guide = torch.zeros(1, 3, 12, 12, dtype=torch.float64)
    guide[..., 6:] = 1.0
    out = torch.linspace(0, 1, 12, dtype=torch.float64).expand(1, 3, 12, 12).contiguous()
    res = local_affine_filter(out, guide, radius=4, edge=0.05)
    assert (res[..., :6].amax() < res[..., 6:].amin()).item()
