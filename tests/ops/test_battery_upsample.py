"""Battery for dpst.ops.upsample: smoke, shapes, exceptions, gradcheck, naive reference, properties.

test_upsample.py already checks one upsampling against ``F.interpolate`` of the coefficients and a
global colour map; this file checks against a pixel-by-pixel reference (down- and up-sizing, more
result channels), gradients, and properties over random sizes.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from dpst.ops.guided import guided_filter
from dpst.ops.upsample import affine_upsample

from . import _reference as ref
from ._reference import PROPERTY, rand


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
