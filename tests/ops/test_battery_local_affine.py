"""Battery for dpst.ops.local_affine: smoke, shapes, exceptions, gradcheck, naive reference, properties.

test_local_affine.py already checks the naive reference on one 7x8 image (B = 1, reg 1e-3), one constant
image, a global colour map, batch/tile/dtype agreement and a step edge; this file adds batches against
the reference, radii past the image, gradients and properties over random inputs.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from dpst.ops.local_affine import local_affine_filter

from . import _reference as ref
from ._reference import PROPERTY, rand


@st.composite
def filter_inputs(draw) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """A random ``(output, guide, kwargs)`` on images of at most 6x6, guide possibly quantised (flat)."""
    b, h, w = draw(st.integers(1, 2)), draw(st.integers(1, 6)), draw(st.integers(1, 6))
    seed = draw(st.integers(0, 2**16))
    guide = rand(b, 3, h, w, seed=seed)
    levels = draw(st.sampled_from([0, 1, 3]))  # 0: continuous; 1: two flat levels per channel
    if levels:
        guide = torch.round(guide * levels) / levels
    kwargs = {
        "radius": draw(st.integers(0, 3)),
        "edge": draw(st.sampled_from([0.05, 0.2, 1.0])),
        "fit_radius": draw(st.integers(1, 2)),
        "reg": draw(st.sampled_from([1e-4, 1e-2])),
        "tile_rows": draw(st.integers(1, 7)),
    }
    return rand(b, 3, h, w, seed=seed + 1), guide, kwargs


class TestLocalAffineFilter:
    def test_smoke(self) -> None:
        guide, out = rand(1, 3, 5, 6, seed=0), rand(1, 3, 5, 6, seed=1)
        res = local_affine_filter(out, guide, radius=2, edge=0.1)
        assert isinstance(res, torch.Tensor)
        assert res.shape == out.shape and res.dtype == out.dtype
        assert torch.isfinite(res).all()

    @pytest.mark.parametrize(("b", "h", "w"), [(1, 1, 6), (2, 5, 1), (3, 4, 7)])
    def test_cardinality(self, b: int, h: int, w: int) -> None:
        res = local_affine_filter(rand(b, 3, h, w, seed=2), rand(b, 3, h, w, seed=3), radius=2, edge=0.1)
        assert res.shape == (b, 3, h, w)

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"guide": torch.rand(1, 1, 5, 6)}, r"local_affine_filter: guide must have 3 channels"),
            ({"fit_radius": 0}, "fit_radius must be an integer >= 1, got 0"),
            ({"reg": 0.0}, "reg must be a finite number > 0, got 0.0"),
            ({"radius": 1.0}, "radius must be an integer >= 0, got 1.0"),
            ({"edge": float("inf")}, "edge must be a finite number > 0"),
            ({"tile_rows": -3}, "tile_rows must be an integer >= 1, got -3"),
            ({"output": torch.rand(2, 3, 5, 6)}, r"guide \(1, 3, 5, 6\) and output \(2, 3, 5, 6\) must have"),
            ({"output": torch.rand(1, 3, 5, 6).double()}, "must share dtype and device"),
            ({"guide": "photo.png"}, "guide must be a torch.Tensor, got str"),
        ],
    )
    def test_exception(self, kwargs: dict, match: str) -> None:
        args = {"output": torch.rand(1, 3, 5, 6), "guide": torch.rand(1, 3, 5, 6)}
        with pytest.raises(ValueError, match=match):
            local_affine_filter(**{**args, **kwargs})

    @pytest.mark.parametrize("tile_rows", [128, 2])
    def test_gradcheck(self, tile_rows: int) -> None:
        guide = rand(1, 3, 4, 5, seed=4).requires_grad_()
        out = rand(1, 3, 4, 5, seed=5).requires_grad_()
        assert torch.autograd.gradcheck(
            lambda o, g: local_affine_filter(o, g, 1, 0.5, 1, 1e-2, tile_rows=tile_rows),
            (out, guide),
            eps=1e-6,
            atol=1e-5,
        )

    @pytest.mark.parametrize(
        ("radius", "edge", "fit_radius", "reg", "tile_rows"),
        [(2, 0.2, 1, 1e-2, 1), (6, 0.5, 1, 1e-3, 2), (1, 0.05, 2, 1e-1, 128), (0, 0.1, 4, 1e-2, 3)],
    )
    def test_equals_naive_reference(
        self, radius: int, edge: float, fit_radius: int, reg: float, tile_rows: int
    ) -> None:
        # B = 2 (items filtered separately), radii and fit windows up to past the 5x6 image
        guide, out = rand(2, 3, 5, 6, seed=6), rand(2, 3, 5, 6, seed=7)
        got = local_affine_filter(out, guide, radius, edge, fit_radius, reg, tile_rows=tile_rows)
        for i in range(2):
            expected = ref.local_affine(out[i].numpy(), guide[i].numpy(), radius, edge, fit_radius, reg)
            np.testing.assert_allclose(got[i].numpy(), expected, rtol=0, atol=1e-10)

    @PROPERTY
    @given(inputs=filter_inputs(), value=st.floats(0.0, 1.0))
    def test_property_constant_output_is_unchanged(self, inputs: tuple, value: float) -> None:
        _, guide, kwargs = inputs
        const = torch.full_like(guide, value)
        torch.testing.assert_close(local_affine_filter(const, guide, **kwargs), const, rtol=0, atol=1e-9)

    @PROPERTY
    @given(inputs=filter_inputs(), alpha=st.floats(-2.0, 2.0), beta=st.floats(-2.0, 2.0))
    def test_property_linear_in_output(self, inputs: tuple, alpha: float, beta: float) -> None:
        # the fits are linear in O and the bilateral weights depend on the guide only
        out, guide, kwargs = inputs
        other = out.roll(1, -1)
        lhs = local_affine_filter(alpha * out + beta * other, guide, **kwargs)
        rhs = alpha * local_affine_filter(out, guide, **kwargs) + beta * local_affine_filter(
            other, guide, **kwargs
        )
        torch.testing.assert_close(lhs, rhs, rtol=0, atol=1e-8)

    @PROPERTY
    @given(inputs=filter_inputs())
    def test_property_flips_and_transpose(self, inputs: tuple) -> None:
        # square windows, clipped symmetrically, and an isotropic spatial kernel
        out, guide, kwargs = inputs
        res = local_affine_filter(out, guide, **kwargs)
        for dims in ([-1], [-2]):
            torch.testing.assert_close(
                local_affine_filter(out.flip(dims), guide.flip(dims), **kwargs), res.flip(dims)
            )
        t = lambda x: x.transpose(-1, -2)  # noqa: E731
        torch.testing.assert_close(local_affine_filter(t(out), t(guide), **kwargs), t(res))
