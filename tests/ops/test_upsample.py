"""dpst.ops.upsample: smoke, shapes, exceptions, gradcheck, naive reference, properties.

The first tests check one upsampling against ``F.interpolate`` of the coefficients and a global colour
map; the battery after them checks against a pixel-by-pixel reference (down- and up-sizing, more
result channels), gradients, and properties over random sizes.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from dpst.ops.guided import guided_coefficients, guided_filter
from dpst.ops.upsample import affine_upsample

from . import _reference as ref
from ._reference import PROPERTY, global_map, rand


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


@st.composite
def upsample_inputs(draw) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A random ``(content_full, content_small, result_small)``: any full size, 1..3 result channels."""
    b, c = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    hf, wf = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    seed = draw(st.integers(0, 2**16))
    return rand(b, 3, hf, wf, seed=seed), rand(b, 3, h, w, seed=seed + 1), rand(b, c, h, w, seed=seed + 2)


class TestAffineUpsample:
    def test_smoke(self) -> None:
        out = affine_upsample(rand(1, 3, 9, 11), rand(1, 3, 5, 6, seed=1), rand(1, 3, 5, 6, seed=2), 1, 1e-2)
        assert isinstance(out, torch.Tensor)
        assert out.shape == (1, 3, 9, 11) and out.dtype == torch.float64
        assert torch.isfinite(out).all()

    @pytest.mark.parametrize(
        ("b", "c", "small", "full"),
        [(2, 1, (5, 6), (10, 12)), (1, 5, (4, 4), (3, 9)), (3, 2, (1, 5), (7, 1))],
    )
    def test_cardinality(self, b: int, c: int, small: tuple, full: tuple) -> None:
        out = affine_upsample(rand(b, 3, *full), rand(b, 3, *small, seed=1), rand(b, c, *small, seed=2))
        assert out.shape == (b, c, *full)

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            (
                {"content_full": torch.rand(1, 3, 9, 9).double()},
                "content_full and content_small must share dtype",
            ),
            ({"content_full": torch.rand(3, 9, 9)}, r"content_full must have shape \(B, C, H, W\)"),
            ({"content_full": torch.rand(1, 3, 0, 9)}, "content_full is empty"),
            (
                {"content_small": torch.rand(1, 1, 5, 5)},
                "affine_upsample: content_small must have 3 channels",
            ),
            ({"result_small": torch.rand(1, 3, 5, 5).double()}, "must share dtype and device"),
            ({"radius": 0}, "radius must be an integer >= 1"),
            ({"eps": -1.0}, "eps must be a finite number > 0"),
            ({"tile_rows": 0}, "tile_rows must be an integer >= 1"),
        ],
    )
    def test_exception(self, kwargs: dict, match: str) -> None:
        args = {
            "content_full": torch.rand(1, 3, 9, 9),
            "content_small": torch.rand(1, 3, 5, 5),
            "result_small": torch.rand(1, 3, 5, 5),
        }
        with pytest.raises(ValueError, match=match):
            affine_upsample(**{**args, **kwargs})

    @pytest.mark.parametrize("tile_rows", [256, 2])
    def test_gradcheck(self, tile_rows: int) -> None:
        full = rand(1, 3, 5, 7, seed=3).requires_grad_()
        small = rand(1, 3, 3, 4, seed=4).requires_grad_()
        result = rand(1, 2, 3, 4, seed=5).requires_grad_()
        assert torch.autograd.gradcheck(
            lambda f, s, r: affine_upsample(f, s, r, 1, 0.05, tile_rows=tile_rows),
            (full, small, result),
            eps=1e-6,
            atol=1e-5,
        )

    @pytest.mark.parametrize(
        ("full", "radius", "tile_rows"), [((9, 13), 1, 4), ((3, 4), 2, 1), ((5, 6), 1, 256)]
    )
    def test_equals_naive_reference(self, full: tuple, radius: int, tile_rows: int) -> None:
        # up-, down- and same-size, B = 2, two result channels
        content_full, small, result = (
            rand(2, 3, *full, seed=6),
            rand(2, 3, 5, 6, seed=7),
            rand(2, 2, 5, 6, seed=8),
        )
        got = affine_upsample(content_full, small, result, radius, 1e-2, tile_rows=tile_rows)
        for i in range(2):
            a, b = ref.guided_coefficients(small[i].numpy(), result[i].numpy(), radius, 1e-2)
            a_up = ref.bilinear(a.reshape(6, 5, 6), full).reshape(2, 3, *full)
            expected = np.einsum("cghw,ghw->chw", a_up, content_full[i].numpy()) + ref.bilinear(b, full)
            np.testing.assert_allclose(got[i].numpy(), expected, rtol=0, atol=1e-10)

    @PROPERTY
    @given(inputs=upsample_inputs(), radius=st.integers(1, 3), eps=st.sampled_from([1e-4, 1e-2]))
    def test_property_at_the_same_size_it_is_the_guided_filter(
        self, inputs: tuple, radius: int, eps: float
    ) -> None:
        _, small, result = inputs
        torch.testing.assert_close(
            affine_upsample(small, small, result, radius, eps), guided_filter(small, result, radius, eps)
        )

    @PROPERTY
    @given(inputs=upsample_inputs(), value=st.floats(-1.0, 2.0), tile_rows=st.integers(1, 12))
    def test_property_constant_result_stays_constant(
        self, inputs: tuple, value: float, tile_rows: int
    ) -> None:
        full, small, result = inputs
        got = affine_upsample(full, small, torch.full_like(result, value), tile_rows=tile_rows)
        torch.testing.assert_close(got, torch.full_like(got, value), rtol=0, atol=1e-9)

    @PROPERTY
    @given(inputs=upsample_inputs(), alpha=st.floats(-2.0, 2.0), tile_rows=st.integers(1, 12))
    def test_property_linear_in_result_and_tile_invariant(
        self, inputs: tuple, alpha: float, tile_rows: int
    ) -> None:
        full, small, result = inputs
        other = result.flip(-1)
        lhs = affine_upsample(full, small, alpha * result + other, tile_rows=tile_rows)
        rhs = alpha * affine_upsample(full, small, result) + affine_upsample(full, small, other)
        torch.testing.assert_close(lhs, rhs, rtol=0, atol=1e-8)
