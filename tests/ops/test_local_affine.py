from __future__ import annotations

import numpy as np
import pytest
import torch

from dpst.ops.local_affine import local_affine_filter
from tests.ops._reference import global_map, naive_local_affine, rand


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


def test_local_affine_residual_is_the_metric_on_tensors() -> None:
    """Same numbers as dpst.metrics.affine_rms up to the border (clipped windows against reflected)."""
    from dpst.metrics import affine_rms
    from dpst.ops.local_affine import local_affine_residual

    rng = np.random.default_rng(0)
    content = rng.random((40, 50, 3))
    y = np.clip(content @ rng.random((3, 3)) * 0.7 + 0.1 + 0.05 * rng.random((40, 50, 3)), 0, 1)
    t = lambda a: torch.from_numpy(a.transpose(2, 0, 1)[None].copy())  # noqa: E731
    ours = local_affine_residual(t(content), t(y))
    assert ours == pytest.approx(affine_rms(content, y), rel=0.03)
    # a global affine map of the photo leaves only the ridge's bias (eps), far below the noisy map's
    mapped = content @ np.diag([0.5, 0.8, 0.6]) + 0.1
    clean = local_affine_residual(t(content), t(mapped))
    assert clean == pytest.approx(affine_rms(content, mapped), rel=0.03)
    assert clean < 0.25 * ours
