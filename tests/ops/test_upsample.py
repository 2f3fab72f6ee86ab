from __future__ import annotations

import torch
import torch.nn.functional as F

from dpst.ops.guided import guided_coefficients
from dpst.ops.upsample import affine_upsample
from tests.ops._reference import global_map, rand


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
